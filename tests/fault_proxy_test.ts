/**
 * The fault proxy of the test suite (tests/_fault_proxy.ts) on its own:
 * against in-process RPC servers (byte-level echo, the transport tests' fake
 * RPC server) for every fault, and against Ganesha for `nfs4 cat` through it
 * on NFSv4.0 and NFSv4.1.
 */

import assert from "node:assert/strict";
import { connect as netConnect, createServer, type Server, type Socket } from "node:net";
import * as fs from "node:fs";
import { encodeCompound, type Nfs4Op } from "../lib/nfs4/compound.ts";
import { NFS4_PROGRAM, NFSPROC4_COMPOUND } from "../lib/nfs4/constants.ts";
import { getfh } from "../lib/nfs4/ops/getfh.ts";
import { putfh } from "../lib/nfs4/ops/putfh.ts";
import { putrootfh } from "../lib/nfs4/ops/putrootfh.ts";
import { read } from "../lib/nfs4/ops/read.ts";
import { rename } from "../lib/nfs4/ops/rename.ts";
import { sequence } from "../lib/nfs4/ops/sequence.ts";
import { ANONYMOUS_STATEID } from "../lib/nfs4/types.ts";
import {
  RpcConnectionError,
  type RpcReply,
  RpcTimeoutError,
  RpcTransport,
  type RpcTransportOptions,
} from "../lib/rpc/mod.ts";
import { XdrWriter } from "../lib/xdr/mod.ts";
import { FaultProxy, type FaultProxyOptions } from "./_fault_proxy.ts";
import {
  frameRecord,
  parseCompoundArgs,
  readRpcMessage,
  RecordFramer,
  SlotRecorder,
} from "./_fault_proxy_wire.ts";
import { autoReply, FakeRpcServer } from "./rpc/_fake_server.ts";
import { serverTest } from "./_server.ts";
import { nfs4Hashed, sha256 } from "./cli/_spawn.ts";

// ------------------------------------------------------------------ helpers

/** A proxy whose log lines are kept in `logs` (and not printed). */
async function startProxy(
  target: { port: number },
  options: Partial<FaultProxyOptions> = {},
): Promise<{ proxy: FaultProxy; logs: string[] }> {
  const logs: string[] = [];
  const proxy = await FaultProxy.start({
    target: { host: "127.0.0.1", port: target.port },
    log: (line) => logs.push(line),
    ...options,
  });
  return { proxy, logs };
}

/** A TCP server that keeps every byte each connection sent and, with `echo`, sends it back. */
class ByteServer {
  readonly host = "127.0.0.1";
  readonly received: Uint8Array[][] = [];
  readonly sockets: Socket[] = [];
  readonly closed: Promise<void>[] = [];
  port = 0;
  readonly #server: Server;

  private constructor(echo: boolean) {
    this.#server = createServer((socket) => {
      const chunks: Uint8Array[] = [];
      this.received.push(chunks);
      this.sockets.push(socket);
      this.closed.push(new Promise((resolve) => socket.once("close", () => resolve())));
      socket.on("error", () => {});
      socket.on("data", (chunk: Uint8Array) => {
        chunks.push(new Uint8Array(chunk));
        if (echo) socket.write(chunk);
      });
    });
  }

  static async start(echo: boolean): Promise<ByteServer> {
    const server = new ByteServer(echo);
    await new Promise<void>((resolve) => server.#server.listen(0, "127.0.0.1", resolve));
    server.port = (server.#server.address() as { port: number }).port;
    return server;
  }

  bytes(connection = 0): Uint8Array {
    return concat(this.received[connection] ?? []);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(this.closed);
    await closed;
  }
}

/** A raw client connection that keeps what it receives and notes when it closes. */
async function rawClient(port: number): Promise<{
  socket: Socket;
  received: () => Uint8Array;
  closed: Promise<void>;
}> {
  const socket = netConnect({ host: "127.0.0.1", port });
  const chunks: Uint8Array[] = [];
  socket.on("data", (chunk: Uint8Array) => chunks.push(new Uint8Array(chunk)));
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  return { socket, received: () => concat(chunks), closed };
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `condition()` holds (polling), failing after `ms`. */
async function until(condition: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await delay(5);
  }
}

/** The proxy in front of the transport tests' fake RPC server, answering every CALL with NFS4_OK. */
async function withEchoRpc(
  fn: (ctx: {
    proxy: FaultProxy;
    logs: string[];
    server: FakeRpcServer;
    transport: RpcTransport;
  }) => Promise<void>,
  options: { proxy?: Partial<FaultProxyOptions>; transport?: Partial<RpcTransportOptions> } = {},
): Promise<void> {
  // Results: a COMPOUND4res with status NFS4_OK and no results, for any call.
  const server = await FakeRpcServer.start(autoReply((_call, w) => {
    w.writeUint(0).writeString("").writeUint(0);
  }));
  const { proxy, logs } = await startProxy(server, options.proxy);
  const transport = new RpcTransport({
    host: "127.0.0.1",
    port: proxy.port,
    callTimeoutMs: 2000,
    ...options.transport,
  });
  try {
    await fn({ proxy, logs, server, transport });
  } finally {
    await transport.close();
    await proxy.close();
    await server.close();
  }
}

const SESSION = new Uint8Array(16).map((_, i) => 0xa0 + i);

/** One COMPOUND through `transport`. */
function compound(
  transport: RpcTransport,
  ops: readonly Nfs4Op<unknown>[],
  options: { minorVersion?: number; timeoutMs?: number } = {},
): Promise<RpcReply> {
  return transport.call({
    program: NFS4_PROGRAM,
    version: 4,
    procedure: NFSPROC4_COMPOUND,
    args: (w) => encodeCompound(w, { minorVersion: options.minorVersion ?? 0, ops }),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
}

/** A 4.1 READ under slot `slotid`, seqid `sequenceid`. */
function seqRead(sequenceid: number, slotid: number, offset: number): Nfs4Op<unknown>[] {
  return [
    sequence({ sessionid: SESSION, sequenceid, slotid, highestSlotid: 7, cachethis: false }),
    putfh(new Uint8Array([1, 2, 3, 4])),
    read({ stateid: ANONYMOUS_STATEID, offset: BigInt(offset), count: 4096 }),
  ];
}

/** NFSPROC4_NULL through `transport`. */
function nullCall(transport: RpcTransport): Promise<RpcReply> {
  return transport.call({ program: NFS4_PROGRAM, version: 4, procedure: 0 });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail("expected a rejection");
}

/** A CALL message (not framed): a COMPOUND with `ops`. */
function callMessage(xid: number, ops: readonly Nfs4Op<unknown>[], minorVersion = 1): Uint8Array {
  const w = new XdrWriter();
  w.writeUint(xid).writeUint(0).writeUint(2).writeUint(NFS4_PROGRAM).writeUint(4)
    .writeUint(NFSPROC4_COMPOUND).writeUint(0).writeUint(0).writeUint(0).writeUint(0);
  encodeCompound(w, { minorVersion, ops });
  return w.bytes().slice();
}

// --------------------------------------------------------- wire (no sockets)

Deno.test("RecordFramer keeps raw bytes and joins fragments, however the stream is chunked", () => {
  const payload = callMessage(7, [putrootfh(), getfh()]);
  // Two fragments: the first 10 bytes, then the rest with the last-fragment bit.
  const first = new Uint8Array(4 + 10);
  new DataView(first.buffer).setUint32(0, 10);
  first.set(payload.subarray(0, 10), 4);
  const rest = frameRecord(payload.subarray(10));
  const stream = concat([first, rest, frameRecord(new Uint8Array([9, 9, 9, 9]))]);
  for (const size of [1, 3, 5, 7, stream.length]) {
    const framer = new RecordFramer();
    const records: { raw: Uint8Array; payload: Uint8Array }[] = [];
    for (let at = 0; at < stream.length; at += size) {
      framer.push(stream.subarray(at, at + size), (r) => records.push(r));
    }
    assert.equal(records.length, 2, `chunks of ${size}`);
    assert.deepEqual(concat(records.map((r) => r.raw)), stream);
    assert.deepEqual(records[0]!.payload, payload);
    assert.equal(framer.buffered, 0);
  }
  const call = readRpcMessage(payload);
  assert.ok(call.kind === "call");
  assert.equal(call.xid, 7);
  assert.deepEqual(parseCompoundArgs(call.args).ops, ["PUTROOTFH", "GETFH"]);
});

Deno.test("RecordFramer refuses a record over its maximum at the header", () => {
  const framer = new RecordFramer(100);
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, 0x80000000 + 101);
  assert.throws(() => framer.push(header, () => {}), /exceeds the maximum 100/);
});

Deno.test("parseCompoundArgs() reads SEQUENCE's session, slot, seqid and the request after it", () => {
  const message = callMessage(1, seqRead(5, 3, 8192));
  const call = readRpcMessage(message);
  assert.ok(call.kind === "call");
  const args = parseCompoundArgs(call.args);
  assert.equal(args.minorVersion, 1);
  assert.deepEqual(args.ops, ["SEQUENCE", "PUTFH", "READ"]);
  assert.equal(args.sequence?.sessionId, "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
  assert.equal(args.sequence?.slotId, 3);
  assert.equal(args.sequence?.sequenceId, 5);
  assert.equal(args.sequence?.highestSlotId, 7);
  // PUTFH (op, length, 4 bytes) and READ (op, stateid 16, offset 8, count 4).
  assert.equal(args.sequence?.rest.length, 4 + 4 + 4 + 4 + 16 + 8 + 4);
  assert.equal(args.error, undefined);
  const cut = parseCompoundArgs(call.args.subarray(0, call.args.length - 3));
  assert.deepEqual(cut.ops, ["SEQUENCE", "PUTFH", "READ"]);
  assert.match(cut.error ?? "", /truncated/);
});

Deno.test("SlotRecorder allows a byte-identical resend and reports a different request", () => {
  const recorder = new SlotRecorder();
  const a = new Uint8Array([1, 2, 3]);
  const b = new Uint8Array([1, 2, 4]);
  const s = "00".repeat(16);
  assert.equal(recorder.record({ sessionId: s, slotId: 0, sequenceId: 1, rest: a }), undefined);
  assert.equal(
    recorder.record({ sessionId: s, slotId: 0, sequenceId: 1, rest: a.slice() }),
    undefined,
  );
  assert.equal(recorder.record({ sessionId: s, slotId: 1, sequenceId: 1, rest: b }), undefined);
  assert.equal(recorder.record({ sessionId: s, slotId: 0, sequenceId: 2, rest: b }), undefined);
  const other = "11".repeat(16);
  assert.equal(recorder.record({ sessionId: other, slotId: 0, sequenceId: 1, rest: b }), undefined);
  recorder.assertUnique();
  const v = recorder.record({ sessionId: s, slotId: 0, sequenceId: 1, rest: b, xid: 9 });
  assert.ok(v);
  assert.equal(v.first.sha256, recorder.uses[0]!.sha256);
  assert.equal(v.second.xid, 9);
  assert.equal(recorder.violations().length, 1);
  assert.throws(() => recorder.assertUnique(), /slot 0 seqid 1/);
  assert.equal(recorder.uses.length, 6);
});

// ----------------------------------------------------------------- sockets

Deno.test("FaultProxy forwards records byte for byte both ways; a server's CALLs pass as callbacks", async () => {
  const echo = await ByteServer.start(true);
  const { proxy } = await startProxy(echo);
  try {
    const client = await rawClient(proxy.port);
    const message = callMessage(0x1234, [
      putrootfh(),
      getfh(),
      rename({ oldName: "a", newName: "b" }),
    ], 0);
    const twoFragments = concat([
      (() => {
        const f = new Uint8Array(4 + 8);
        new DataView(f.buffer).setUint32(0, 8);
        f.set(message.subarray(0, 8), 4);
        return f;
      })(),
      frameRecord(message.subarray(8)),
    ]);
    const stream = concat([twoFragments, frameRecord(callMessage(0x1235, seqRead(1, 0, 0)))]);
    // Odd pieces, so records straddle writes.
    for (let at = 0; at < stream.length; at += 13) {
      client.socket.write(stream.subarray(at, at + 13));
      await delay(1);
    }
    await until(() => client.received().length === stream.length, "the echo");
    assert.deepEqual(echo.bytes(), stream);
    assert.deepEqual(client.received(), stream);
    const stats = proxy.stats;
    assert.equal(stats.toServer.records, 2);
    assert.equal(stats.toServer.bytes, stream.length);
    assert.equal(stats.toServer.forwardedBytes, stream.length);
    assert.equal(stats.toClient.records, 2);
    assert.equal(stats.calls, 2);
    // The echoed CALLs came from the server: callbacks, not replies.
    assert.equal(stats.callbacks, 2);
    assert.equal(stats.replies, 0);
    assert.deepEqual(proxy.compounds.map((c) => c.ops), [
      ["PUTROOTFH", "GETFH", "RENAME"],
      ["SEQUENCE", "PUTFH", "READ"],
    ]);
    assert.equal(proxy.opCount("RENAME"), 1);
    assert.equal(proxy.compounds[1]!.sequence?.slotId, 0);
    client.socket.end();
    await client.closed;
    await until(() => proxy.openConnections === 0, "the connection to close");
  } finally {
    await proxy.close();
    await echo.close();
  }
});

Deno.test("FaultProxy.cutAfterBytes() delivers exactly N bytes to the server, then closes both sides", async () => {
  const sink = await ByteServer.start(false);
  const { proxy, logs } = await startProxy(sink);
  try {
    const cut = proxy.cutAfterBytes({ direction: "toServer", bytes: 1000 });
    const client = await rawClient(proxy.port);
    client.socket.write(frameRecord(new Uint8Array(3000).fill(7)));
    await client.closed;
    await sink.closed[0];
    assert.equal(sink.bytes().length, 1000);
    assert.equal(cut.fired, 1);
    assert.equal(proxy.stats.cuts, 1);
    assert.ok(logs.some((l) => /cut: after 1000 bytes toServer/.test(l)), logs.join("\n"));
    // Disarmed after one cut: the next connection passes.
    const again = await rawClient(proxy.port);
    again.socket.write(frameRecord(new Uint8Array(3000)));
    await until(() => sink.bytes(1).length === 3004, "the second connection's bytes");
    again.socket.destroy();
  } finally {
    await proxy.close();
    await sink.close();
  }
});

Deno.test("FaultProxy.cutAfterBytes({ times: 2 }) cuts two connections, counting each anew", async () => {
  const sink = await ByteServer.start(false);
  const { proxy } = await startProxy(sink);
  try {
    const cut = proxy.cutAfterBytes({ direction: "toServer", bytes: 100, times: 2 });
    for (let i = 0; i < 3; i++) {
      const client = await rawClient(proxy.port);
      client.socket.write(frameRecord(new Uint8Array(300)));
      if (i < 2) {
        await client.closed;
        await sink.closed[i];
        assert.equal(sink.bytes(i).length, 100, `connection ${i + 1}`);
      } else {
        await until(() => sink.bytes(i).length === 304, "the third connection's bytes");
        client.socket.destroy();
      }
    }
    assert.equal(cut.fired, 2);
    assert.deepEqual(cut.draws, [100, 100]);
  } finally {
    await proxy.close();
    await sink.close();
  }
});

Deno.test("FaultProxy.cutAfterBytes() draws N from a seed, logs both, and the same seed gives the same N", async () => {
  const echo = await ByteServer.start(true);
  const draws: number[] = [];
  try {
    for (let run = 0; run < 2; run++) {
      const { proxy, logs } = await startProxy(echo);
      try {
        const cut = proxy.cutAfterBytes({ direction: "toClient", seed: 4242, min: 100, max: 5000 });
        assert.equal(cut.seed, 4242);
        assert.ok(cut.bytes >= 100 && cut.bytes <= 5000);
        draws.push(cut.bytes);
        assert.ok(
          logs.some((l) => l.includes(`after ${cut.bytes} bytes (seed 4242)`)),
          logs.join("\n"),
        );
        const client = await rawClient(proxy.port);
        client.socket.write(frameRecord(new Uint8Array(8000).fill(1)));
        await client.closed;
        assert.equal(client.received().length, cut.bytes);
        assert.equal(proxy.stats.toClient.forwardedBytes, cut.bytes);
      } finally {
        await proxy.close();
      }
    }
    assert.equal(draws[0], draws[1]);
    // Without a seed, a fresh one is drawn and reported.
    const logs: string[] = [];
    await using proxy = await FaultProxy.start({ target: echo, log: (l) => logs.push(l) });
    const cut = proxy.cutAfterBytes({ direction: "both", max: 10, times: 3 });
    assert.equal(typeof cut.seed, "number");
    assert.ok(logs.some((l) => l.includes(`(seed ${cut.seed}, draw 1 of 3)`)), logs.join("\n"));
  } finally {
    await echo.close();
  }
});

Deno.test("FaultProxy.stall() holds replies for S seconds, then releases them in order", async () => {
  await withEchoRpc(async ({ proxy, transport }) => {
    await nullCall(transport);
    const stall = proxy.stall({ direction: "toClient", seconds: 0.3 });
    const started = performance.now();
    const replies = await Promise.all([nullCall(transport), nullCall(transport)]);
    const waited = performance.now() - started;
    assert.ok(waited >= 280, `waited ${waited} ms`);
    assert.ok(replies[0]!.xid < replies[1]!.xid || replies[0]!.xid > 0xfffffff0);
    assert.equal(stall.fired, 1);
    const fast = performance.now();
    await nullCall(transport);
    assert.ok(performance.now() - fast < 250, "no stall after it ended");
    // Both directions, ended early by resume().
    proxy.stall({ direction: "both", seconds: Infinity });
    const held = nullCall(transport);
    await delay(100);
    assert.ok(proxy.stats.toServer.forwardedBytes < proxy.stats.toServer.bytes, "the call is held");
    proxy.resume();
    await held;
  });
});

Deno.test("FaultProxy.dropReply() drops exactly the reply to the first COMPOUND with RENAME", async () => {
  await withEchoRpc(async ({ proxy, transport, logs }) => {
    const fault = proxy.dropReply("RENAME");
    await compound(transport, [putrootfh(), getfh()]);
    const lost = await rejection(
      compound(transport, [putrootfh(), rename({ oldName: "a", newName: "b" })], {
        timeoutMs: 300,
      }),
    );
    assert.ok(lost instanceof RpcTimeoutError, String(lost));
    await compound(transport, [putrootfh(), rename({ oldName: "a", newName: "b" })]);
    await compound(transport, [putrootfh(), getfh()]);
    assert.equal(fault.fired, 1);
    assert.equal(fault.matched, 2);
    const stats = proxy.stats;
    assert.equal(stats.connections, 1, "the connection was kept");
    assert.equal(stats.droppedReplies, 1);
    assert.equal(stats.replies, 4);
    assert.equal(proxy.opCount("RENAME"), 2);
    assert.deepEqual(proxy.compounds.map((c) => c.reply?.fate), [
      "forwarded",
      "dropped",
      "forwarded",
      "forwarded",
    ]);
    assert.equal(proxy.compounds[0]!.reply?.statusName, "NFS4_OK");
    assert.ok(logs.some((l) => /dropped the reply to COMPOUND .*RENAME/.test(l)), logs.join("\n"));
  });
});

Deno.test("FaultProxy.dropReplyAndCut() cuts the connection instead of the nth matching reply", async () => {
  await withEchoRpc(async ({ proxy, transport }) => {
    proxy.dropReplyAndCut("RENAME", { nth: 2 });
    const renameOps = [putrootfh(), rename({ oldName: "a", newName: "b" })];
    await compound(transport, renameOps);
    const lost = await rejection(compound(transport, renameOps));
    assert.ok(lost instanceof RpcConnectionError, String(lost));
    await compound(transport, renameOps);
    const stats = proxy.stats;
    assert.equal(stats.connections, 2);
    assert.equal(stats.cuts, 1);
    assert.deepEqual(proxy.compounds.map((c) => c.reply?.fate), ["forwarded", "cut", "forwarded"]);
  });
});

Deno.test("FaultProxy.delayReply() holds back only the chosen reply", async () => {
  await withEchoRpc(async ({ proxy, transport }) => {
    const fault = proxy.delayReply("RENAME", 400);
    const started = performance.now();
    const order: string[] = [];
    const slow = compound(transport, [putrootfh(), rename({ oldName: "a", newName: "b" })])
      .then(() => order.push("rename"));
    await delay(20);
    await compound(transport, [putrootfh(), getfh()]).then(() => order.push("getfh"));
    assert.ok(performance.now() - started < 380, "the other reply was not held");
    await slow;
    assert.ok(performance.now() - started >= 380);
    assert.deepEqual(order, ["getfh", "rename"]);
    assert.equal(fault.fired, 1);
    assert.equal(proxy.stats.delayedReplies, 1);
  });
});

Deno.test("FaultProxy.cutEveryKthReply(3) loses replies 3, 6 and 9 with their connections", async () => {
  await withEchoRpc(async ({ proxy, transport }) => {
    const kth = proxy.cutEveryKthReply(3);
    const outcomes: string[] = [];
    for (let i = 1; i <= 9; i++) {
      try {
        await nullCall(transport);
        outcomes.push("ok");
      } catch (e) {
        assert.ok(e instanceof RpcConnectionError, String(e));
        outcomes.push("cut");
      }
    }
    assert.deepEqual(outcomes, ["ok", "ok", "cut", "ok", "ok", "cut", "ok", "ok", "cut"]);
    assert.equal(kth.fired, 3);
    const stats = proxy.stats;
    assert.equal(stats.cuts, 3);
    assert.equal(stats.connections, 3);
    assert.equal(stats.replies, 9);
  });
});

Deno.test("FaultProxy.cutEveryKthReply(2, { deliver: true, limit: 1 }) delivers the 2nd reply, then cuts once", async () => {
  await withEchoRpc(async ({ proxy, transport }) => {
    const kth = proxy.cutEveryKthReply(2, { deliver: true, limit: 1 });
    await nullCall(transport);
    const disconnected = new Promise((resolve) =>
      transport.addEventListener("disconnect", resolve, { once: true })
    );
    await nullCall(transport);
    await disconnected;
    for (let i = 0; i < 4; i++) await nullCall(transport);
    assert.equal(kth.fired, 1);
    assert.equal(proxy.stats.connections, 2);
  });
});

Deno.test("FaultProxy records 4.1 slots and finds a different request under one slot/seqid", async () => {
  await withEchoRpc(async ({ proxy, transport }) => {
    await compound(transport, seqRead(1, 0, 0), { minorVersion: 1 });
    await compound(transport, seqRead(1, 0, 0), { minorVersion: 1 }); // a resend: allowed
    await compound(transport, seqRead(1, 1, 4096), { minorVersion: 1 });
    await compound(transport, seqRead(2, 0, 4096), { minorVersion: 1 });
    proxy.assertSlotSeqidsUnique();
    assert.deepEqual(
      proxy.slots.uses.map((u) => [u.slotId, u.sequenceId]),
      [[0, 1], [0, 1], [1, 1], [0, 2]],
    );
    // Slot 0 seqid 2 again, reading elsewhere: the server would replay the earlier reply.
    await compound(transport, seqRead(2, 0, 8192), { minorVersion: 1 });
    const violations = proxy.slotViolations();
    assert.equal(violations.length, 1);
    assert.equal(violations[0]!.slotId, 0);
    assert.equal(violations[0]!.sequenceId, 2);
    assert.throws(() => proxy.assertSlotSeqidsUnique(), /slot 0 seqid 2/);
  });
});

Deno.test("FaultProxy silent mode accepts and never answers; back to forward it answers again", async () => {
  await withEchoRpc(async ({ proxy, server, transport }) => {
    proxy.setMode("silent");
    const lost = await rejection(nullCall(transport));
    assert.ok(lost instanceof RpcTimeoutError, String(lost));
    assert.equal(server.accepted, 0, "nothing reached the server");
    assert.equal(proxy.stats.calls, 1);
    proxy.setMode("forward");
    await nullCall(transport);
    assert.equal(server.accepted, 1);
  }, { transport: { callTimeoutMs: 200 } });
});

Deno.test("FaultProxy garbage mode answers calls with a malformed reply or random records", async () => {
  await withEchoRpc(async ({ proxy, server, transport, logs }) => {
    proxy.setMode("garbage", "reply");
    const reply = await compound(transport, [putrootfh(), getfh()]);
    assert.ok(reply.reader.remaining <= 64, "random bytes instead of COMPOUND4res");
    proxy.setMode("garbage", "record");
    const lost = await rejection(nullCall(transport));
    assert.ok(lost instanceof Error);
    assert.equal(server.accepted, 0);
    assert.equal(proxy.stats.garbageAnswers, 2);
    assert.ok(logs.some((l) => l.includes("garbage seed 99")), logs.join("\n"));
  }, { proxy: { seed: 99 }, transport: { callTimeoutMs: 300 } });
});

Deno.test("FaultProxy dead mode resets connections, new ones too", async () => {
  await withEchoRpc(async ({ proxy, transport }) => {
    await nullCall(transport);
    proxy.setMode("dead");
    const lost = await rejection(nullCall(transport));
    assert.ok(lost instanceof RpcConnectionError, String(lost));
    assert.equal(proxy.openConnections, 0);
  });
});

Deno.test("FaultProxy passes the server's callbacks and the client's answers; they are not replies", async () => {
  await withEchoRpc(async ({ proxy, server, transport }) => {
    const kth = proxy.cutEveryKthReply(1);
    transport.onCall(0x40000000, () => Promise.resolve((w) => w.writeUint(5)));
    await transport.connect();
    const connection = await server.connections.next();
    connection.sendCall(0xcb000001, 0x40000000, 1, 1);
    const answer = await connection.replies.next();
    assert.equal(answer.xid, 0xcb000001);
    assert.equal(answer.results.readUint(), 5);
    const stats = proxy.stats;
    assert.equal(stats.callbacks, 1);
    assert.equal(stats.callbackReplies, 1);
    assert.equal(stats.replies, 0);
    assert.equal(kth.fired, 0);
  });
});

Deno.test("FaultProxy.close() ends stalls, delayed replies and connections (no timers left)", async () => {
  await withEchoRpc(async ({ proxy, transport }) => {
    proxy.delayReply("GETFH", 60_000);
    const pending = compound(transport, [putrootfh(), getfh()]).catch((e) => e);
    await until(() => proxy.stats.delayedReplies === 1, "the delayed reply");
    proxy.stall({ direction: "toClient", seconds: 60 });
    await proxy.close();
    assert.ok((await pending) instanceof RpcConnectionError);
    await assert.rejects(
      FaultProxy.start({ target: { host: "192.0.2.1", port: 2049 } }),
      /only forwards to loopback/,
    );
  });
});

// ------------------------------------------------------------------ Ganesha

serverTest(
  "nfs4 cat through FaultProxy is byte-exact on 4.0 and 4.1; 4.1 slots are recorded",
  async (server) => {
    const data = new Uint8Array(3 * 1024 * 1024 + 17);
    for (let at = 0; at < data.length; at += 65536) {
      crypto.getRandomValues(data.subarray(at, Math.min(data.length, at + 65536)));
    }
    fs.writeFileSync(`${server.exportDir}/f.bin`, data);
    for (const vers of ["4.0", "4.1"] as const) {
      const { proxy, logs } = await startProxy(server);
      try {
        const r = await nfs4Hashed(["--vers", vers, "cat", `${proxy.url}/vfs/f.bin`]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.size, data.length, vers);
        assert.equal(r.sha256, sha256(data), vers);
        const stats = proxy.stats;
        assert.equal(stats.toServer.forwardedBytes, stats.toServer.bytes, vers);
        assert.equal(stats.toClient.forwardedBytes, stats.toClient.bytes, vers);
        assert.ok(stats.toClient.bytes > data.length, vers);
        assert.equal(stats.cuts, 0, logs.join("\n"));
        assert.equal(proxy.opCount("OPEN"), 1, vers);
        assert.ok(proxy.opCount("READ") >= 1, vers);
        assert.equal(proxy.opCount("CLOSE"), 1, vers);
        assert.ok(proxy.compounds.every((c) => c.parseError === undefined), vers);
        assert.ok(proxy.compounds.every((c) => c.reply?.fate === "forwarded"), vers);
        if (vers === "4.0") {
          assert.equal(proxy.slots.uses.length, 0);
          assert.ok(proxy.compounds.every((c) => c.minorVersion === 0));
        } else {
          const sequenced = proxy.compounds.filter((c) => c.ops[0] === "SEQUENCE");
          assert.ok(sequenced.length >= 3, "SEQUENCE on the file's compounds");
          assert.equal(proxy.slots.uses.length, sequenced.length);
          const reads = proxy.compoundsWith("READ");
          assert.ok(reads.every((c) => c.sequence !== undefined));
          assert.equal(new Set(proxy.slots.uses.map((u) => u.sessionId)).size, 1);
          proxy.assertSlotSeqidsUnique();
        }
      } finally {
        await proxy.close();
      }
    }
  },
);
