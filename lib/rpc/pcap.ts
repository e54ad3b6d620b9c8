/**
 * A pcap capture of this process's own RPC traffic, written without root or
 * a capture library: a {@linkcode RecordTap} that turns every record the
 * transports send and receive into packets of a classic pcap file
 * (LINKTYPE_ETHERNET) that Wireshark and `tshark -r` decode as ONC RPC and
 * NFS.
 *
 * Each connection is given synthetic but consistent framing: Ethernet, IPv4
 * or IPv6 (an IPv4-mapped IPv6 address is written as IPv4) with the real
 * addresses and ports, and TCP with a sequence number per direction that
 * counts every byte of every record, and an acknowledgement number that
 * covers what the other side sent before. A connection starts with a
 * SYN / SYN-ACK / ACK handshake from the side that opened it (announcing a
 * maximum segment size of {@linkcode MAX_SEGMENT_PAYLOAD} and a window
 * scale of 14, so no window ever looks full) and ends with FIN, FIN, ACK,
 * so tshark's TCP analysis finds nothing to flag. A record larger than
 * {@linkcode MAX_SEGMENT_PAYLOAD} bytes is split into segments of at most
 * that size (PSH on its last one); one segment never carries parts of two
 * records, so each record is one RPC frame in Wireshark. IPv4 header
 * checksums are right; TCP checksums are 0 (Wireshark does not verify them
 * by default). No pure ACKs are made up: data acknowledges data.
 *
 * Writes are synchronous, a record at a time, so the file is whole (every
 * packet complete) at every moment: a command that fails, is interrupted or
 * exits on a signal leaves a file tshark reads to its last record; `close()`
 * only adds the FINs. Nothing stays in memory past its record's write.
 * When the file is a FIFO whose reader is slow, a write blocks the process
 * until the reader catches up (backpressure: the capture never grows
 * memory), and opening a FIFO waits until a reader has it open, as any
 * writer of a FIFO does. A write that fails (the reader went away: EPIPE)
 * stops the capture; the process goes on without it and `onError` is told
 * once.
 *
 * A record counts from the moment the transport queues it for the socket
 * (sent) or has all of it (received); its packets carry that time. A
 * received record that came in several fragments is written as one.
 *
 * @example
 * ```ts
 * import { RpcTransport } from "./transport.ts";
 *
 * const pcap = PcapWriter.open("/tmp/nfs.pcap");
 * const transport = new RpcTransport({ host: "127.0.0.1", port: 2049, tap: pcap });
 * await transport.call({ program: 100003, version: 4, procedure: 0 });
 * await transport.close();
 * pcap.close(); // then: tshark -r /tmp/nfs.pcap
 * ```
 * @module
 */

import { closeSync, openSync, writeSync } from "node:fs";
import type {
  ConnectionTap,
  RecordDirection,
  RecordTap,
  TapConnectionInfo,
  TapEndpoint,
} from "./tap.ts";

/** The most record bytes one packet carries (65535 - 20 bytes IPv4 - 20 bytes TCP). */
export const MAX_SEGMENT_PAYLOAD = 65495;
/** pcap magic for microsecond timestamps. */
export const PCAP_MAGIC_MICROSECONDS = 0xa1b2c3d4;
/** pcap magic for nanosecond timestamps. */
export const PCAP_MAGIC_NANOSECONDS = 0xa1b23c4d;
/** LINKTYPE_ETHERNET. */
export const LINKTYPE_ETHERNET = 1;
/** The snapshot length the file announces (no packet is cut short). */
export const PCAP_SNAPLEN = 262144;

const ETHERNET_HEADER = 14;
const IPV4_HEADER = 20;
const IPV6_HEADER = 40;
const TCP_HEADER = 20;
/** The SYN's options: MSS (kind 2, length 4), NOP, window scale (kind 3, length 3). */
const SYN_OPTIONS = 8;
const WINDOW_SCALE = 14;
const PACKET_HEADER = 16;
/** Packets of one record (or handshake) up to this size in all go out in one write. */
const JOIN_LIMIT = 64 * 1024;

const FIN = 0x01;
const SYN = 0x02;
const PSH = 0x08;
const ACK = 0x10;

/** The MAC addresses of the two ends (locally administered, made up). */
const LOCAL_MAC = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01] as const;
const REMOTE_MAC = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02] as const;

/** Options of {@linkcode PcapWriter}. */
export interface PcapWriterOptions {
  /** Nanosecond timestamps (magic 0xa1b23c4d); microseconds by default. */
  readonly nanoseconds?: boolean;
  /** The time of a packet, in milliseconds since the epoch (fractions kept). */
  readonly now?: () => number;
  /** Each connection's initial sequence number per direction; random by default. */
  readonly initialSequence?: () => number;
  /** Told once when a write fails (the capture then stops). */
  readonly onError?: (error: Error) => void;
}

/** What a written capture holds so far. */
export interface PcapCounts {
  /** Records written (sent and received). */
  readonly records: number;
  /** Packets written: segments of records, handshakes and FINs. */
  readonly packets: number;
  /** Connections seen. */
  readonly connections: number;
}

/**
 * Writes the records of every connection it is given to one pcap stream.
 * Use {@linkcode PcapWriter.open} for a file or FIFO; the constructor takes
 * any synchronous sink (tests).
 */
export class PcapWriter implements RecordTap {
  /** The file's timestamps are in nanoseconds (magic 0xa1b23c4d), else in microseconds. */
  readonly nanoseconds: boolean;
  readonly #sink: (bytes: Uint8Array) => void;
  readonly #now: () => number;
  readonly #isn: () => number;
  readonly #onError: ((error: Error) => void) | undefined;
  readonly #onClose: (() => void) | undefined;
  readonly #open = new Set<PcapConnection>();
  #failed: Error | undefined;
  #closed = false;
  #records = 0;
  #packets = 0;
  #connections = 0;
  #lastTime = 0;

  /**
   * A writer that hands each piece of the stream to `sink`, which must
   * consume it before returning. Writes the global header at once.
   */
  constructor(
    sink: (bytes: Uint8Array) => void,
    options: PcapWriterOptions = {},
    onClose?: () => void,
  ) {
    this.#sink = sink;
    this.nanoseconds = options.nanoseconds ?? false;
    this.#now = options.now ?? (() => performance.timeOrigin + performance.now());
    this.#isn = options.initialSequence ??
      (() => crypto.getRandomValues(new Uint32Array(1))[0] ?? 0);
    this.#onError = options.onError;
    this.#onClose = onClose;
    this.#emit(globalHeader(this.nanoseconds));
  }

  /**
   * Creates (or truncates) `path` and writes the global header. A FIFO is
   * opened for writing, which waits for its reader. Throws what opening
   * throws.
   */
  static open(path: string, options: PcapWriterOptions = {}): PcapWriter {
    const fd = openSync(path, "w");
    let fdOpen = true;
    const sink = (bytes: Uint8Array) => {
      let at = 0;
      while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
    };
    const closeFd = () => {
      if (!fdOpen) return;
      fdOpen = false;
      closeSync(fd);
    };
    try {
      return new PcapWriter(sink, options, closeFd);
    } catch (error) {
      closeFd();
      throw error;
    }
  }

  /** What was written so far. */
  get counts(): PcapCounts {
    return { records: this.#records, packets: this.#packets, connections: this.#connections };
  }

  /** The error that stopped the capture, if one did. */
  get error(): Error | undefined {
    return this.#failed;
  }

  /** Whether {@linkcode close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Starts a connection's stream with its handshake. */
  connect(info: TapConnectionInfo): ConnectionTap {
    if (this.#closed || this.#failed) return NO_TAP;
    this.#connections++;
    const connection = new PcapConnection(
      this.#output,
      info,
      this.#isn() >>> 0,
      this.#isn() >>> 0,
    );
    this.#open.add(connection);
    connection.handshake();
    return connection;
  }

  /**
   * Ends every connection still open (FINs) and closes the file. Idempotent;
   * synchronous, so it can run in a process 'exit' handler.
   */
  close(): void {
    if (this.#closed) return;
    for (const connection of [...this.#open]) connection.close();
    this.#closed = true;
    try {
      this.#onClose?.();
    } catch (error) {
      this.#fail(error);
    }
  }

  /**
   * close(), for `using` (TC39 explicit resource management; Deno, Bun,
   * TypeScript 5.2 and later): the capture ends when the block that
   * declared it ends, however it ends. Declared before the clients it
   * records (disposal runs in reverse), it is closed after them, so their
   * releases are in the file.
   *
   * @example
   * ```ts
   * import { Nfs4Client, PcapWriter } from "../../mod.ts";
   *
   * {
   *   using pcap = PcapWriter.open("/tmp/nfs.pcap");
   *   await using client = await Nfs4Client.connect({ host: "127.0.0.1", port: 2049, pcap });
   *   await client.stat("/vfs");
   * } // client closed (CLOSE, DESTROY_SESSION...), then the capture
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }

  /** What the connections use of the writer. */
  readonly #output: PcapOutput = {
    nanoseconds: () => this.nanoseconds,
    live: () => !this.#closed && !this.#failed,
    time: () => {
      const now = this.#now();
      if (now > this.#lastTime) this.#lastTime = now;
      return this.#lastTime;
    },
    write: (packets, records) => {
      let total = 0;
      for (const packet of packets) total += packet.length;
      if (packets.length > 1 && total <= JOIN_LIMIT) {
        if (!this.#emit(concat(packets))) return;
      } else {
        for (const packet of packets) if (!this.#emit(packet)) return;
      }
      this.#packets += packets.length;
      this.#records += records;
    },
    forget: (connection) => void this.#open.delete(connection),
  };

  #emit(bytes: Uint8Array): boolean {
    if (this.#failed || this.#closed) return false;
    try {
      this.#sink(bytes);
      return true;
    } catch (error) {
      this.#fail(error);
      return false;
    }
  }

  #fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = error instanceof Error ? error : new Error(String(error));
    this.#open.clear();
    try {
      this.#onClose?.();
    } catch {
      // already failing
    }
    this.#onError?.(this.#failed);
  }
}

/** The writer as its connections see it. */
interface PcapOutput {
  nanoseconds(): boolean;
  /** Whether writing goes on (not closed, not failed). */
  live(): boolean;
  /** The timestamp for the next packets: never earlier than the last. */
  time(): number;
  /**
   * Writes finished packets holding `records` records: small ones joined
   * into one write, large ones one write each (not copied again).
   */
  write(packets: readonly Uint8Array[], records: number): void;
  /** A connection ended. */
  forget(connection: PcapConnection): void;
}

/** A tap that ignores everything (a closed or failed writer). */
const NO_TAP: ConnectionTap = { record: () => {}, close: () => {} };

/** One direction of a connection: its addresses and where its bytes are. */
interface Side {
  readonly srcMac: readonly number[];
  readonly dstMac: readonly number[];
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  readonly srcPort: number;
  readonly dstPort: number;
  /** Sequence number of the next byte. */
  seq: number;
  /** IPv4 identification of the next packet. */
  ipId: number;
}

/** The packets of one connection. */
class PcapConnection implements ConnectionTap {
  readonly #writer: PcapOutput;
  readonly #v6: boolean;
  /** Packets from this process. */
  readonly #out: Side;
  /** Packets from the peer. */
  readonly #in: Side;
  readonly #opener: "local" | "remote";
  #closed = false;

  constructor(writer: PcapOutput, info: TapConnectionInfo, localIsn: number, remoteIsn: number) {
    this.#writer = writer;
    let local = parseAddress(info.local.host);
    let remote = parseAddress(info.remote.host);
    this.#v6 = local.length === 16 || remote.length === 16;
    if (this.#v6) {
      local = toIpv6(local);
      remote = toIpv6(remote);
    }
    this.#opener = info.opener;
    this.#out = side(LOCAL_MAC, REMOTE_MAC, local, remote, info.local, info.remote, localIsn);
    this.#in = side(REMOTE_MAC, LOCAL_MAC, remote, local, info.remote, info.local, remoteIsn);
  }

  /** SYN from the opener, SYN-ACK, ACK. */
  handshake(): void {
    const [a, b] = this.#opener === "local" ? [this.#out, this.#in] : [this.#in, this.#out];
    const time = this.#writer.time();
    const packets = [
      this.#packet(time, a, b, SYN, { syn: true }),
      this.#packet(time, b, a, SYN | ACK, { syn: true, ackPlus: 1 }),
      this.#packet(time, a, b, ACK, { seqPlus: 1, ackPlus: 1 }),
    ];
    a.seq = (a.seq + 1) >>> 0;
    b.seq = (b.seq + 1) >>> 0;
    this.#writer.write(packets, 0);
  }

  record(direction: RecordDirection, chunks: readonly Uint8Array[]): void {
    if (this.#closed || !this.#writer.live()) return;
    const [from, to] = direction === "sent" ? [this.#out, this.#in] : [this.#in, this.#out];
    const time = this.#writer.time();
    const packets: Uint8Array[] = [];
    // Segments of at most MAX_SEGMENT_PAYLOAD bytes, each gathered from the chunks.
    let segment: Uint8Array[] = [];
    let size = 0;
    const flush = (last: boolean) => {
      packets.push(
        this.#packet(time, from, to, last ? PSH | ACK : ACK, { payload: segment, size }),
      );
      from.seq = (from.seq + size) >>> 0;
      segment = [];
      size = 0;
    };
    for (const chunk of chunks) {
      let at = 0;
      while (at < chunk.length) {
        if (size === MAX_SEGMENT_PAYLOAD) flush(false);
        const take = Math.min(chunk.length - at, MAX_SEGMENT_PAYLOAD - size);
        segment.push(chunk.subarray(at, at + take));
        size += take;
        at += take;
      }
    }
    if (size === 0) return; // nothing at all: no record
    flush(true);
    this.#writer.write(packets, 1);
  }

  /** FIN from this process, FIN from the peer, the last ACK. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#writer.forget(this);
    if (!this.#writer.live()) return;
    const a = this.#out;
    const b = this.#in;
    const time = this.#writer.time();
    const packets = [
      this.#packet(time, a, b, FIN | ACK, {}),
      this.#packet(time, b, a, FIN | ACK, { ackPlus: 1 }),
      this.#packet(time, a, b, ACK, { seqPlus: 1, ackPlus: 1 }),
    ];
    a.seq = (a.seq + 1) >>> 0;
    b.seq = (b.seq + 1) >>> 0;
    this.#writer.write(packets, 0);
  }

  /**
   * One packet from `from` to `to`, carrying `payload` (`size` bytes in
   * all). Its sequence number is the sender's next plus `seqPlus`; its
   * acknowledgement, with ACK, the other side's next plus `ackPlus`. A SYN
   * carries the window scale option.
   */
  #packet(
    time: number,
    from: Side,
    to: Side,
    flags: number,
    options: {
      syn?: boolean;
      seqPlus?: number;
      ackPlus?: number;
      payload?: readonly Uint8Array[];
      size?: number;
    },
  ): Uint8Array {
    const size = options.size ?? 0;
    const ipHeader = this.#v6 ? IPV6_HEADER : IPV4_HEADER;
    const tcpHeader = TCP_HEADER + (options.syn ? SYN_OPTIONS : 0);
    const frame = ETHERNET_HEADER + ipHeader + tcpHeader + size;
    const bytes = new Uint8Array(PACKET_HEADER + frame);
    const view = new DataView(bytes.buffer);
    // Packet record header (little-endian, as the global header's magic).
    const [seconds, fraction] = splitTime(time, this.#writer.nanoseconds());
    view.setUint32(0, seconds, true);
    view.setUint32(4, fraction, true);
    view.setUint32(8, frame, true);
    view.setUint32(12, frame, true);
    // Ethernet.
    let at = PACKET_HEADER;
    bytes.set(from.dstMac, at);
    bytes.set(from.srcMac, at + 6);
    view.setUint16(at + 12, this.#v6 ? 0x86dd : 0x0800);
    at += ETHERNET_HEADER;
    // IP.
    if (this.#v6) {
      view.setUint32(at, 0x60000000);
      view.setUint16(at + 4, tcpHeader + size);
      bytes[at + 6] = 6; // TCP
      bytes[at + 7] = 64; // hop limit
      bytes.set(from.src, at + 8);
      bytes.set(from.dst, at + 24);
    } else {
      bytes[at] = 0x45;
      view.setUint16(at + 2, ipHeader + tcpHeader + size);
      view.setUint16(at + 4, from.ipId);
      from.ipId = (from.ipId + 1) & 0xffff;
      view.setUint16(at + 6, 0x4000); // don't fragment
      bytes[at + 8] = 64; // TTL
      bytes[at + 9] = 6; // TCP
      bytes.set(from.src, at + 12);
      bytes.set(from.dst, at + 16);
      view.setUint16(at + 10, ipv4Checksum(bytes, at));
    }
    at += ipHeader;
    // TCP.
    view.setUint16(at, from.srcPort);
    view.setUint16(at + 2, from.dstPort);
    view.setUint32(at + 4, (from.seq + (options.seqPlus ?? 0)) >>> 0);
    view.setUint32(at + 8, flags & ACK ? (to.seq + (options.ackPlus ?? 0)) >>> 0 : 0);
    bytes[at + 12] = (tcpHeader / 4) << 4;
    bytes[at + 13] = flags;
    view.setUint16(at + 14, 0xffff); // window (scaled by 2^14 after the handshake)
    if (options.syn) {
      bytes[at + 20] = 2; // MSS
      bytes[at + 21] = 4;
      view.setUint16(at + 22, MAX_SEGMENT_PAYLOAD);
      bytes[at + 24] = 1; // NOP
      bytes[at + 25] = 3; // window scale
      bytes[at + 26] = 3;
      bytes[at + 27] = WINDOW_SCALE;
    }
    at += tcpHeader;
    for (const piece of options.payload ?? []) {
      bytes.set(piece, at);
      at += piece.length;
    }
    return bytes;
  }
}

function side(
  srcMac: readonly number[],
  dstMac: readonly number[],
  src: Uint8Array,
  dst: Uint8Array,
  from: TapEndpoint,
  to: TapEndpoint,
  isn: number,
): Side {
  return {
    srcMac,
    dstMac,
    src,
    dst,
    srcPort: from.port & 0xffff,
    dstPort: to.port & 0xffff,
    seq: isn,
    ipId: isn & 0xffff,
  };
}

/** The pcap global header (little-endian). */
function globalHeader(nanoseconds: boolean): Uint8Array {
  const bytes = new Uint8Array(24);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, nanoseconds ? PCAP_MAGIC_NANOSECONDS : PCAP_MAGIC_MICROSECONDS, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setInt32(8, 0, true); // thiszone
  view.setUint32(12, 0, true); // sigfigs
  view.setUint32(16, PCAP_SNAPLEN, true);
  view.setUint32(20, LINKTYPE_ETHERNET, true);
  return bytes;
}

/** Whole seconds and the micro- or nanoseconds past them. */
function splitTime(ms: number, nanoseconds: boolean): [number, number] {
  const seconds = Math.floor(ms / 1000);
  const rest = ms - seconds * 1000;
  const fraction = nanoseconds
    ? Math.min(999_999_999, Math.floor(rest * 1e6))
    : Math.min(999_999, Math.floor(rest * 1e3));
  return [seconds >>> 0, fraction];
}

/** The one's-complement checksum of the 20-byte IPv4 header at `at` (checksum field 0). */
export function ipv4Checksum(bytes: Uint8Array, at: number): number {
  let sum = 0;
  for (let i = 0; i < IPV4_HEADER; i += 2) sum += (bytes[at + i]! << 8) | bytes[at + i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * The bytes of an IP address as a socket reports it: 4 for IPv4, 16 for
 * IPv6; an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) gives its IPv4
 * bytes. A zone (`%eth0`) is ignored. What does not parse is 0.0.0.0.
 */
export function parseAddress(host: string): Uint8Array {
  const v4 = parseIpv4(host);
  if (v4) return v4;
  const v6 = parseIpv6(host.replace(/^\[|\]$/g, "").replace(/%.*$/, ""));
  if (!v6) return new Uint8Array(4);
  const mapped = v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.slice(12) : v6;
}

function parseIpv4(host: string): Uint8Array | undefined {
  const parts = host.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^[0-9]{1,3}$/.test(part) || Number(part) > 255) return undefined;
    bytes[i] = Number(part);
  }
  return bytes;
}

function parseIpv6(host: string): Uint8Array | undefined {
  const halves = host.split("::");
  if (halves.length > 2) return undefined;
  const groups = (text: string): number[] | undefined => {
    if (text === "") return [];
    const out: number[] = [];
    const parts = text.split(":");
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (i === parts.length - 1 && part.includes(".")) {
        const v4 = parseIpv4(part);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
        out.push(parseInt(part, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

/** An address as 16 bytes: IPv4 as IPv4-mapped IPv6. */
function toIpv6(address: Uint8Array): Uint8Array {
  if (address.length === 16) return address;
  const bytes = new Uint8Array(16);
  bytes[10] = 0xff;
  bytes[11] = 0xff;
  bytes.set(address, 12);
  return bytes;
}
