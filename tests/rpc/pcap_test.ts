/**
 * PcapWriter (lib/rpc/pcap.ts) byte by byte: the global header, the packet
 * records, Ethernet, IPv4/IPv6 and TCP headers, per-direction sequence and
 * acknowledgement numbers, the handshake and FINs, segmentation of large
 * records; then the RecordTap hooks of RpcTransport and RpcServer, whose
 * capture tshark decodes with no malformed frame and one RPC message per
 * record.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ipv4Checksum, MAX_SEGMENT_PAYLOAD, parseAddress, PcapWriter } from "../../lib/rpc/pcap.ts";
import { RpcServer } from "../../lib/rpc/server.ts";
import type { RecordTap, TapConnectionInfo } from "../../lib/rpc/tap.ts";
import { RpcTransport } from "../../lib/rpc/transport.ts";
import { autoReply, FakeRpcServer } from "./_fake_server.ts";
import { tsharkFields, tsharkPath } from "../_tshark.ts";

// ------------------------------------------------------------ a pcap reader

interface Tcp {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  headerLength: number;
  window: number;
  options: Uint8Array;
  payload: Uint8Array;
}

interface Packet {
  seconds: number;
  fraction: number;
  caplen: number;
  origlen: number;
  dstMac: Uint8Array;
  srcMac: Uint8Array;
  etherType: number;
  /** The IP header's bytes. */
  ip: Uint8Array;
  src: Uint8Array;
  dst: Uint8Array;
  /** IPv4 total length, or IPv6 payload length + 40. */
  ipLength: number;
  tcp: Tcp;
}

interface Capture {
  magic: number;
  version: [number, number];
  snaplen: number;
  linkType: number;
  packets: Packet[];
}

function readCapture(bytes: Uint8Array): Capture {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const capture: Capture = {
    magic: view.getUint32(0, true),
    version: [view.getUint16(4, true), view.getUint16(6, true)],
    snaplen: view.getUint32(16, true),
    linkType: view.getUint32(20, true),
    packets: [],
  };
  let at = 24;
  while (at < bytes.length) {
    assert.ok(at + 16 <= bytes.length, "a whole packet header");
    const caplen = view.getUint32(at + 8, true);
    const origlen = view.getUint32(at + 12, true);
    const frame = bytes.subarray(at + 16, at + 16 + caplen);
    assert.equal(frame.length, caplen, "a whole packet");
    const fv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const etherType = fv.getUint16(12);
    const v6 = etherType === 0x86dd;
    const ipHeader = v6 ? 40 : (frame[14]! & 0x0f) * 4;
    const ip = frame.subarray(14, 14 + ipHeader);
    const t = 14 + ipHeader;
    const headerLength = (frame[t + 12]! >> 4) * 4;
    capture.packets.push({
      seconds: view.getUint32(at, true),
      fraction: view.getUint32(at + 4, true),
      caplen,
      origlen,
      dstMac: frame.subarray(0, 6),
      srcMac: frame.subarray(6, 12),
      etherType,
      ip,
      src: v6 ? ip.subarray(8, 24) : ip.subarray(12, 16),
      dst: v6 ? ip.subarray(24, 40) : ip.subarray(16, 20),
      ipLength: v6 ? fv.getUint16(18) + 40 : fv.getUint16(16),
      tcp: {
        srcPort: fv.getUint16(t),
        dstPort: fv.getUint16(t + 2),
        seq: fv.getUint32(t + 4),
        ack: fv.getUint32(t + 8),
        headerLength,
        flags: frame[t + 13]!,
        window: fv.getUint16(t + 14),
        options: frame.subarray(t + 20, t + headerLength),
        payload: frame.subarray(t + headerLength),
      },
    });
    at += 16 + caplen;
  }
  return capture;
}

const FIN = 0x01;
const SYN = 0x02;
const PSH = 0x08;
const ACK = 0x10;

/** A writer into memory with a fixed clock and fixed initial sequence numbers. */
function memoryWriter(
  options: { nanoseconds?: boolean; isn?: number[]; now?: () => number } = {},
): { writer: PcapWriter; bytes: () => Uint8Array; writes: Uint8Array[] } {
  const writes: Uint8Array[] = [];
  const isns = [...(options.isn ?? [1000, 5000, 2000, 6000])];
  const writer = new PcapWriter((b) => writes.push(b.slice()), {
    ...(options.nanoseconds ? { nanoseconds: true } : {}),
    now: options.now ?? (() => 1_700_000_000_123.4567),
    initialSequence: () => isns.shift() ?? 0,
  });
  return { writer, writes, bytes: () => Buffer.concat(writes) };
}

const V4: TapConnectionInfo = {
  local: { host: "127.0.0.1", port: 40000 },
  remote: { host: "127.0.0.2", port: 2049 },
  opener: "local",
};

function bytes(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

// ------------------------------------------------------------ byte layout

Deno.test("PcapWriter writes the classic pcap global header: microseconds, or nanoseconds when asked; Ethernet", () => {
  const micro = memoryWriter();
  assert.deepEqual(
    [...micro.bytes()],
    [
      0xd4,
      0xc3,
      0xb2,
      0xa1,
      2,
      0,
      4,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      4,
      0,
      1,
      0,
      0,
      0,
    ],
  );
  const nano = memoryWriter({ nanoseconds: true });
  const capture = readCapture(nano.bytes());
  assert.equal(capture.magic, 0xa1b23c4d);
  assert.deepEqual(capture.version, [2, 4]);
  assert.equal(capture.snaplen, 262144);
  assert.equal(capture.linkType, 1);
});

Deno.test("PcapWriter timestamps: seconds and microseconds (or nanoseconds) of the clock, never going back", () => {
  let now = 1_700_000_000_123.4567;
  const micro = memoryWriter({ now: () => now });
  const c = micro.writer.connect(V4);
  now -= 5; // a clock step back: packets keep the last time
  c.record("sent", [bytes(8)]);
  const packets = readCapture(micro.bytes()).packets;
  assert.deepEqual(packets.map((p) => [p.seconds, p.fraction]), [
    [1_700_000_000, 123456],
    [1_700_000_000, 123456],
    [1_700_000_000, 123456],
    [1_700_000_000, 123456],
  ]);
  const nano = memoryWriter({ nanoseconds: true, now: () => 1_700_000_000_123.25 });
  nano.writer.connect(V4);
  const first = readCapture(nano.bytes()).packets[0]!;
  assert.deepEqual([first.seconds, first.fraction], [1_700_000_000, 123_250_000]);
});

Deno.test("PcapWriter.connect() writes SYN, SYN-ACK, ACK from the side that opened, with MSS 65495 and window scale 14", () => {
  const { writer, bytes: all } = memoryWriter({ isn: [1000, 5000] });
  writer.connect(V4);
  const [syn, synAck, ack] = readCapture(all()).packets;
  assert.ok(syn && synAck && ack);
  assert.deepEqual([syn.tcp.srcPort, syn.tcp.dstPort], [40000, 2049]);
  assert.deepEqual([...syn.src], [127, 0, 0, 1]);
  assert.deepEqual([...syn.dst], [127, 0, 0, 2]);
  assert.deepEqual([syn.tcp.flags, syn.tcp.seq, syn.tcp.ack], [SYN, 1000, 0]);
  assert.deepEqual([...syn.tcp.options], [2, 4, 0xff, 0xd7, 1, 3, 3, 14]);
  assert.equal(syn.tcp.headerLength, 28);
  assert.deepEqual([synAck.tcp.srcPort, synAck.tcp.dstPort], [2049, 40000]);
  assert.deepEqual([synAck.tcp.flags, synAck.tcp.seq, synAck.tcp.ack], [SYN | ACK, 5000, 1001]);
  assert.deepEqual([...synAck.tcp.options], [2, 4, 0xff, 0xd7, 1, 3, 3, 14]);
  assert.deepEqual([ack.tcp.flags, ack.tcp.seq, ack.tcp.ack], [ACK, 1001, 5001]);
  assert.equal(ack.tcp.headerLength, 20);
  assert.equal(ack.tcp.window, 0xffff);
  // Made-up MACs, one per end, consistent in both directions.
  assert.deepEqual([...syn.srcMac], [...synAck.dstMac]);
  assert.deepEqual([...syn.dstMac], [...synAck.srcMac]);
  assert.notDeepEqual([...syn.srcMac], [...syn.dstMac]);
  assert.deepEqual(writer.counts, { records: 0, packets: 3, connections: 1 });
});

Deno.test("PcapWriter: a connection the peer opened (the 4.0 callback) starts with the peer's SYN", () => {
  const { writer, bytes: all } = memoryWriter({ isn: [1000, 5000] });
  writer.connect({ ...V4, opener: "remote" });
  const [syn, synAck] = readCapture(all()).packets;
  assert.deepEqual([syn!.tcp.srcPort, syn!.tcp.flags, syn!.tcp.seq], [2049, SYN, 5000]);
  assert.deepEqual([synAck!.tcp.srcPort, synAck!.tcp.flags, synAck!.tcp.ack], [
    40000,
    SYN | ACK,
    5001,
  ]);
});

Deno.test("PcapWriter: each record is one PSH-ACK packet carrying its bytes; seq counts each direction's bytes, ack what the other side sent; IPv4 lengths and header checksum right", () => {
  const { writer, bytes: all } = memoryWriter({ isn: [1000, 5000] });
  const c = writer.connect(V4);
  const call = bytes(100, 1);
  c.record("sent", [call.subarray(0, 4), call.subarray(4, 60), call.subarray(60)]);
  c.record("received", [bytes(40, 2)]);
  c.record("sent", [bytes(10, 3)]);
  c.record("sent", [bytes(20, 4)]);
  c.record("received", [bytes(30, 5)]);
  const packets = readCapture(all()).packets.slice(3);
  assert.equal(packets.length, 5);
  assert.deepEqual(
    packets.map((p) => [p.tcp.srcPort, p.tcp.seq, p.tcp.ack, p.tcp.flags, p.tcp.payload.length]),
    [
      [40000, 1001, 5001, PSH | ACK, 100],
      [2049, 5001, 1101, PSH | ACK, 40],
      [40000, 1101, 5041, PSH | ACK, 10],
      [40000, 1111, 5041, PSH | ACK, 20],
      [2049, 5041, 1131, PSH | ACK, 30],
    ],
  );
  assert.deepEqual([...packets[0]!.tcp.payload], [...call]);
  assert.deepEqual([...packets[4]!.tcp.payload], [...bytes(30, 5)]);
  for (const p of packets) {
    assert.equal(p.etherType, 0x0800);
    assert.equal(p.ipLength, 20 + 20 + p.tcp.payload.length);
    assert.equal(p.caplen, 14 + p.ipLength);
    assert.equal(p.origlen, p.caplen);
    assert.equal(p.ip[9], 6, "protocol TCP");
    assert.equal(ipv4Checksum(p.ip, 0), 0, "the header checksums to zero with its checksum");
    assert.equal(p.ip[6]! & 0x40, 0x40, "don't fragment");
  }
  // IP identification counts up per direction.
  assert.equal(
    new DataView(packets[3]!.ip.buffer, packets[3]!.ip.byteOffset).getUint16(4) -
      new DataView(packets[2]!.ip.buffer, packets[2]!.ip.byteOffset).getUint16(4),
    1,
  );
  assert.deepEqual(writer.counts, { records: 5, packets: 8, connections: 1 });
});

Deno.test(`PcapWriter: a record over ${MAX_SEGMENT_PAYLOAD} bytes is split into segments of at most that, PSH on the last, seq contiguous, IP total length right`, () => {
  const { writer, bytes: all } = memoryWriter({ isn: [1000, 5000] });
  const c = writer.connect(V4);
  const record = bytes(3 * MAX_SEGMENT_PAYLOAD + 3515, 9);
  // Chunk borders that do not match segment borders.
  c.record("received", [
    record.subarray(0, 4),
    record.subarray(4, 100_000),
    record.subarray(100_000),
  ]);
  c.record("sent", [bytes(MAX_SEGMENT_PAYLOAD, 1)]);
  c.record("sent", [bytes(MAX_SEGMENT_PAYLOAD + 1, 2)]);
  const packets = readCapture(all()).packets.slice(3);
  assert.deepEqual(
    packets.map((p) => [p.tcp.srcPort, p.tcp.seq, p.tcp.flags, p.tcp.payload.length]),
    [
      [2049, 5001, ACK, 65495],
      [2049, 5001 + 65495, ACK, 65495],
      [2049, 5001 + 2 * 65495, ACK, 65495],
      [2049, 5001 + 3 * 65495, PSH | ACK, 3515],
      [40000, 1001, PSH | ACK, 65495],
      [40000, 1001 + 65495, ACK, 65495],
      [40000, 1001 + 2 * 65495, PSH | ACK, 1],
    ],
  );
  assert.deepEqual(packets.map((p) => p.ipLength), [
    65535,
    65535,
    65535,
    3555,
    65535,
    65535,
    41,
  ]);
  assert.deepEqual([...Buffer.concat(packets.slice(0, 4).map((p) => p.tcp.payload))], [...record]);
  assert.ok(
    packets.every((p) => p.tcp.ack === (p.tcp.srcPort === 2049 ? 1001 : 5001 + record.length)),
  );
  assert.deepEqual(writer.counts, { records: 3, packets: 10, connections: 1 });
});

Deno.test("PcapWriter: sequence numbers wrap at 2^32", () => {
  const { writer, bytes: all } = memoryWriter({ isn: [0xffff_fff0, 7] });
  const c = writer.connect(V4);
  c.record("sent", [bytes(100)]);
  c.record("received", [bytes(4)]);
  const [, , ack, sent, received] = readCapture(all()).packets;
  assert.equal(ack!.tcp.seq, 0xffff_fff1);
  assert.equal(sent!.tcp.seq, 0xffff_fff1);
  assert.equal(received!.tcp.ack, (0xffff_fff1 + 100) % 2 ** 32);
});

Deno.test("PcapWriter: close() of a connection writes FIN-ACK, FIN-ACK, ACK; writer.close() ends those still open, once; nothing is written after", () => {
  const { writer, bytes: all } = memoryWriter({ isn: [1000, 5000, 2000, 6000] });
  const a = writer.connect(V4);
  const b = writer.connect({ ...V4, local: { host: "127.0.0.1", port: 40001 } });
  a.record("sent", [bytes(10)]);
  a.record("received", [bytes(20)]);
  a.close();
  a.close();
  a.record("sent", [bytes(10)]); // after its close: ignored
  writer.close();
  writer.close();
  b.record("sent", [bytes(10)]);
  writer.connect(V4).record("sent", [bytes(10)]);
  const packets = readCapture(all()).packets;
  const fins = packets.slice(8, 11);
  assert.deepEqual(
    fins.map((p) => [p.tcp.srcPort, p.tcp.flags, p.tcp.seq, p.tcp.ack]),
    [
      [40000, FIN | ACK, 1011, 5021],
      [2049, FIN | ACK, 5021, 1012],
      [40000, ACK, 1012, 5022],
    ],
  );
  const bFins = packets.slice(11);
  assert.deepEqual(
    bFins.map((p) => [p.tcp.srcPort, p.tcp.dstPort, p.tcp.flags]),
    [
      [40001, 2049, FIN | ACK],
      [2049, 40001, FIN | ACK],
      [40001, 2049, ACK],
    ],
  );
  assert.equal(packets.length, 14);
  assert.ok(writer.closed);
  assert.deepEqual(writer.counts, { records: 2, packets: 14, connections: 2 });
});

Deno.test("PcapWriter: IPv6 connections get IPv6 headers; IPv4-mapped addresses are written as IPv4", () => {
  const six = memoryWriter();
  const c = six.writer.connect({
    local: { host: "::1", port: 1 },
    remote: { host: "fe80::1%lo", port: 2049 },
    opener: "local",
  });
  c.record("sent", [bytes(100)]);
  const packets = readCapture(six.bytes()).packets;
  const p = packets[3]!;
  assert.equal(p.etherType, 0x86dd);
  assert.equal(p.ip[0]! >> 4, 6);
  assert.equal(p.ip[6], 6, "next header TCP");
  assert.equal(p.ipLength, 40 + 20 + 100);
  assert.equal(p.caplen, 14 + 40 + 20 + 100);
  assert.deepEqual([...p.src], [...new Uint8Array(15), 1]);
  assert.deepEqual([...p.dst], [0xfe, 0x80, ...new Uint8Array(13), 1]);
  const mapped = memoryWriter();
  mapped.writer.connect({
    local: { host: "::ffff:10.1.2.3", port: 1 },
    remote: { host: "::ffff:10.1.2.4", port: 2049 },
    opener: "local",
  });
  const m = readCapture(mapped.bytes()).packets[0]!;
  assert.equal(m.etherType, 0x0800);
  assert.deepEqual([...m.src], [10, 1, 2, 3]);
});

Deno.test("parseAddress(): IPv4, IPv6 with :: and zones, IPv4-mapped, brackets; anything else is 0.0.0.0", () => {
  assert.deepEqual([...parseAddress("192.168.1.20")], [192, 168, 1, 20]);
  assert.deepEqual([...parseAddress("::ffff:192.168.1.20")], [192, 168, 1, 20]);
  assert.deepEqual([...parseAddress("[::1]")], [...new Uint8Array(15), 1]);
  assert.deepEqual(
    [...parseAddress("2001:db8::8:800:200c:417a")],
    [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 8, 8, 0, 0x20, 0x0c, 0x41, 0x7a],
  );
  assert.deepEqual([...parseAddress("::")], [...new Uint8Array(16)]);
  assert.deepEqual([...parseAddress("64:ff9b::1.2.3.4")].slice(12), [1, 2, 3, 4]);
  for (const junk of ["", "localhost", "1.2.3", "256.1.1.1", "1::2::3", "1:2:3:4:5:6:7:8:9"]) {
    assert.deepEqual([...parseAddress(junk)], [0, 0, 0, 0], junk);
  }
});

Deno.test("PcapWriter: a write that fails stops the capture, tells onError once and never throws into the caller", () => {
  const errors: Error[] = [];
  let writes = 0;
  const writer = new PcapWriter(() => {
    if (++writes > 2) throw new Error("Broken pipe (os error 32)");
  }, { onError: (e) => errors.push(e) });
  const c = writer.connect(V4); // header was write 1, handshake write 2
  c.record("sent", [bytes(10)]);
  c.record("sent", [bytes(10)]);
  c.close();
  writer.connect(V4);
  writer.close();
  assert.deepEqual(errors.map((e) => e.message), ["Broken pipe (os error 32)"]);
  assert.equal(writes, 3);
  assert.equal(writer.error?.message, "Broken pipe (os error 32)");
  assert.deepEqual(writer.counts, { records: 0, packets: 3, connections: 1 });
});

Deno.test("PcapWriter: small packets of one record or handshake go out in one write; large segments one write each", () => {
  const { writer, writes } = memoryWriter();
  const c = writer.connect(V4);
  assert.equal(writes.length, 2); // global header, handshake
  c.record("sent", [bytes(3 * MAX_SEGMENT_PAYLOAD)]);
  assert.equal(writes.length, 5);
  c.close();
  assert.equal(writes.length, 6);
});

Deno.test("PcapWriter.open() creates the file whole at every step (header first), and close() adds the FINs", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nfs4-pcap-"));
  try {
    const file = path.join(dir, "a.pcap");
    const writer = PcapWriter.open(file);
    assert.equal(fs.statSync(file).size, 24);
    const c = writer.connect(V4);
    c.record("sent", [bytes(50)]);
    assert.equal(readCapture(fs.readFileSync(file)).packets.length, 4, "on disk before close");
    writer.close();
    assert.equal(readCapture(fs.readFileSync(file)).packets.length, 7);
    assert.throws(
      () => PcapWriter.open(path.join(dir, "missing", "b.pcap")),
      /ENOENT|No such file/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ------------------------------------------------------------ the hooks, and tshark

const tshark = tsharkPath;

/** A tap that counts records per direction and passes everything on. */
function countingTee(
  inner: RecordTap,
): RecordTap & { sent: number; received: number; opened: TapConnectionInfo[] } {
  const tee = {
    sent: 0,
    received: 0,
    opened: [] as TapConnectionInfo[],
    connect(info: TapConnectionInfo) {
      tee.opened.push(info);
      const c = inner.connect(info);
      return {
        record(direction: "sent" | "received", chunks: readonly Uint8Array[]) {
          tee[direction]++;
          c.record(direction, chunks);
        },
        close: () => c.close(),
      };
    },
  };
  return tee;
}

Deno.test({
  name:
    "RpcTransport with a tap: every call and reply is captured with its record mark, across a reconnect; tshark finds one RPC message per record, large ones reassembled, nothing malformed, no TCP analysis flags",
  ignore: !tshark,
  async fn() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nfs4-pcap-"));
    const file = path.join(dir, "t.pcap");
    const server = await FakeRpcServer.start(
      autoReply((call, w) => {
        // Echo the arguments back: large calls get large replies.
        w.writeOpaque(call.args.readOpaque());
      }),
    );
    const writer = PcapWriter.open(file);
    const tee = countingTee(writer);
    const transport = new RpcTransport({ host: "127.0.0.1", port: server.port, tap: tee });
    try {
      // NFS NULL with an opaque argument: tshark takes RPC only of programs
      // it knows, and NULL's dissector leaves the argument alone.
      const sizes = [0, 100, 70_000, 300_000, 1_000_000];
      for (const size of sizes) {
        const reply = await transport.call({
          program: 100003,
          version: 4,
          procedure: 0,
          args: (w) => w.writeOpaque(bytes(size)),
        });
        assert.equal(reply.reader.readOpaque().length, size);
      }
      // A reconnect: a second connection in the same file.
      const first = await server.connections.next();
      const lost = new Promise((resolve) => transport.addEventListener("disconnect", resolve));
      await first.destroy();
      await lost;
      await transport.call({
        program: 100003,
        version: 4,
        procedure: 0,
        args: (w) => w.writeOpaque(bytes(8)),
      });
      await transport.close();
      writer.close();
      assert.equal(tee.opened.length, 2);
      assert.equal(tee.opened[0]!.remote.port, server.port);
      assert.equal(tee.opened[0]!.opener, "local");
      assert.equal(tee.sent, 6);
      assert.equal(tee.received, 6);
      assert.equal(writer.counts.records, 12);

      const rows = await tsharkFields(file, ["-d", `tcp.port==${server.port},rpc`], [
        "frame.number",
        "rpc.xid",
        "rpc.msgtyp",
        "_ws.malformed",
        "tcp.analysis.flags",
        "_ws.expert.severity",
      ]);
      assert.equal(rows.length, writer.counts.packets, "tshark reads every packet");
      assert.deepEqual(rows.filter((r) => r[3] !== ""), [], "no malformed frame");
      assert.deepEqual(rows.filter((r) => r[4] !== ""), [], "no TCP analysis flag");
      const rpc = rows.filter((r) => r[1] !== "");
      assert.equal(rpc.length, tee.sent + tee.received, "one RPC message per record");
      assert.ok(rpc.every((r) => !r[1]!.includes(",")), "never two messages in one frame");
      assert.equal(rpc.filter((r) => r[2] === "0").length, 6);
      assert.equal(rpc.filter((r) => r[2] === "1").length, 6);
    } finally {
      await transport.close();
      writer.close();
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
});

Deno.test({
  name:
    "RpcServer with a tap (the 4.0 callback listener): the peer's SYN, its CALL and our REPLY are captured; tshark decodes them",
  ignore: !tshark,
  async fn() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nfs4-pcap-"));
    const file = path.join(dir, "cb.pcap");
    const writer = PcapWriter.open(file);
    const tee = countingTee(writer);
    const server = new RpcServer({ tap: tee });
    server.onCall(0x40000000, () => Promise.resolve((w) => w.writeUint(7)));
    const { port } = await server.listen("127.0.0.1", 0);
    // The "NFS server" calling back: a transport whose CALLs the listener answers.
    const caller = new RpcTransport({ host: "127.0.0.1", port });
    try {
      const reply = await caller.call({ program: 0x40000000, version: 1, procedure: 0 });
      assert.equal(reply.reader.readUint(), 7);
      await caller.close();
      await new Promise((r) => setTimeout(r, 50)); // the listener sees the close
      await server.close();
      writer.close();
      assert.equal(tee.opened.length, 1);
      assert.equal(tee.opened[0]!.opener, "remote");
      assert.equal(tee.opened[0]!.local.port, port);
      assert.deepEqual([tee.sent, tee.received], [1, 1]);
      const rows = await tsharkFields(file, ["-d", `tcp.port==${port},rpc`], [
        "tcp.srcport",
        "tcp.flags.syn",
        "rpc.msgtyp",
        "_ws.malformed",
        "tcp.analysis.flags",
      ]);
      assert.equal(rows[0]![0], String(tee.opened[0]!.remote.port), "the peer sent the SYN");
      assert.equal(rows[0]![1], "1");
      assert.deepEqual(rows.map((r) => r[2]).filter((t) => t !== ""), ["0", "1"]);
      assert.deepEqual(rows.filter((r) => r[3] !== "" || r[4] !== ""), []);
    } finally {
      await caller.close();
      await server.close();
      writer.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
});
