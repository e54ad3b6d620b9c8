/**
 * Run by Bun (tests/rpc/socket_bun_test.ts spawns it): RpcTransport over
 * the Bun.connect backend (socket_bun.ts) against the in-process fake
 * server. Prints one JSON line per check: `{ "check": name, "ok": bool,
 * "detail": ... }`. Under Deno there is no Bun.connect, so these paths are
 * only reachable this way (and through the binary's own test).
 */

import net from "node:net";
import process from "node:process";
import { RpcConnectionError, RpcTransport } from "../../lib/rpc/mod.ts";
import {
  autoReply,
  type FakeConnection,
  FakeRpcServer,
  frame,
  successReply,
} from "./_fake_server.ts";

function report(check: string, ok: boolean, detail?: unknown): void {
  console.log(JSON.stringify({ check, ok, detail }));
}

function pattern(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 131 + (i >> 9)) & 0xff;
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * One call to an echo server with `bytes` as its argument (sent as a view of
 * them, not copied): the result's bytes, or the error the call failed with.
 */
function echoCall(transport: RpcTransport, bytes: Uint8Array): Promise<Uint8Array | Error> {
  return transport.call({
    program: 100003,
    version: 4,
    procedure: 1,
    args: (w) => w.writeOpaqueView(bytes),
  }).then((r) => r.reader.readOpaque(64 << 20), (error) => error as Error);
}

// An echo server: every CALL's opaque argument comes back as its result.
const echo = await FakeRpcServer.start(
  autoReply((call, w) => w.writeOpaque(call.args.readOpaque(64 << 20))),
);
const transport = new RpcTransport({
  host: "127.0.0.1",
  port: echo.port,
  maxRecordSize: 64 << 20,
});
// NFS4_SOCKET names the backend under test; unset, Bun's default on Linux is ffi.
const expectedKind = process.env.NFS4_SOCKET ?? "ffi";
report(
  `the backend in Bun is ${expectedKind}`,
  transport.socketKind === expectedKind,
  transport.socketKind,
);

// 12 MiB out and back: partial writes (the kernel takes less than asked,
// the rest waits for `drain`) and records spanning many socket reads.
const big = pattern(12 << 20);
const back = await echoCall(transport, big);
report(
  "a 12 MiB call and its 12 MiB reply arrive whole",
  back instanceof Uint8Array && equal(back, big),
  back instanceof Uint8Array ? back.length : String(back),
);

// Many calls in flight at once, each answered with its own bytes.
const sizes = Array.from({ length: 64 }, (_, i) => (i * 7919) % 200_000);
const answers = await Promise.all(sizes.map((size) => echoCall(transport, pattern(size))));
report(
  "64 pipelined calls get their own replies",
  answers.every((a, i) => a instanceof Uint8Array && equal(a, pattern(sizes[i]!))),
);
report(
  "the local address is reported",
  transport.localAddress === "127.0.0.1" && (transport.localPort ?? 0) > 0 &&
    transport.remotePort === echo.port,
  { local: transport.localAddress, port: transport.localPort, remote: transport.remotePort },
);
await transport.close();

/**
 * One call (sending `argument`) to a server that answers it with 3 MiB in
 * two parts 300 ms apart: the first MiB, then `then` (the rest, or the end
 * of the connection). `before` runs on each connection first. Returns the
 * call's outcome and how long it took (the deadline is 10 s).
 */
async function callAnsweredInTwo(
  argument: Uint8Array,
  then: (connection: FakeConnection, rest: Uint8Array) => unknown,
  before?: (connection: FakeConnection) => void,
): Promise<{ answer: Uint8Array | Error; took: number }> {
  const server = await FakeRpcServer.start((connection) => {
    before?.(connection);
    (async () => {
      const call = await Promise.race([connection.calls.next(), connection.closed]);
      if (!call) return;
      const whole = frame(successReply(call.xid, (w) => w.writeOpaque(pattern(3 << 20))));
      connection.sendRaw(whole.subarray(0, 1 << 20));
      await new Promise((resolve) => setTimeout(resolve, 300));
      await then(connection, whole.subarray(1 << 20));
    })();
  });
  const client = new RpcTransport({
    host: "127.0.0.1",
    port: server.port,
    maxRecordSize: 64 << 20,
    callTimeoutMs: 10_000,
  });
  const started = performance.now();
  const answer = await echoCall(client, argument);
  const took = performance.now() - started;
  await client.close();
  await server.close();
  return { answer, took };
}

// A server that does not read for a while, then answers in two halves with
// a pause between: the client's send finds no room (the rest must go out
// when the kernel says there is room again), and its read finds half a
// record (the rest must wake it when it comes). A wake-up lost on either
// side would leave the call waiting for its deadline.
{
  const { answer, took } = await callAnsweredInTwo(
    pattern(16 << 20),
    (connection, rest) => connection.sendRaw(rest),
    (connection) => {
      connection.socket.pause();
      setTimeout(() => connection.socket.resume(), 400);
    },
  );
  report(
    "a send that waits for room and a reply that comes in halves both wake the socket",
    answer instanceof Uint8Array && equal(answer, pattern(3 << 20)) && took < 5_000,
    { took: Math.round(took), error: answer instanceof Uint8Array ? undefined : String(answer) },
  );
}

// A server that stops in the middle of a large reply and closes: the client
// waits for the rest with the kernel told to signal only once it is all there
// (the FFI socket's low-water mark), and the end of the stream must wake it
// all the same: the call fails at once, retriable, not at its deadline.
{
  const { answer, took } = await callAnsweredInTwo(
    pattern(100),
    (connection) => connection.destroy(),
  );
  report(
    "a server that closes in the middle of a large reply fails the call at once",
    answer instanceof RpcConnectionError && answer.retriable && took < 5_000,
    { took: Math.round(took), answer: String(answer) },
  );
}

// A host name is looked up first.
const named = new RpcTransport({ host: "localhost", port: echo.port });
const namedReply = await echoCall(named, pattern(1000));
report(
  "a host name (localhost) is looked up and connected to",
  namedReply instanceof Uint8Array && equal(namedReply, pattern(1000)),
  namedReply instanceof Uint8Array ? namedReply.length : String(namedReply),
);
await named.close();

// IPv6: the address family follows the address.
const echo6 = await FakeRpcServer.start(
  autoReply((call, w) => w.writeOpaque(call.args.readOpaque(64 << 20))),
  "::1",
);
const overSix = new RpcTransport({ host: "[::1]", port: echo6.port });
const sixReply = await echoCall(overSix, pattern(3000));
report(
  "an IPv6 address ([::1]) is connected to, and its local address reported",
  sixReply instanceof Uint8Array && equal(sixReply, pattern(3000)) &&
    overSix.localAddress === "::1",
  {
    reply: sixReply instanceof Uint8Array ? sixReply.length : String(sixReply),
    local: overSix.localAddress,
  },
);
await overSix.close();
await echo6.close();
await echo.close();

// A connect that never completes ends at the connect timeout: a listening
// socket that never accepts, its queue filled first (Linux then drops the
// SYNs), made through FFI as node:net always accepts.
const { dlopen } = await import("bun:ffi");
const sys = dlopen("libc.so.6", {
  socket: { args: ["i32", "i32", "i32"], returns: "i32" },
  bind: { args: ["i32", "ptr", "u32"], returns: "i32" },
  listen: { args: ["i32", "i32"], returns: "i32" },
  getsockname: { args: ["i32", "ptr", "ptr"], returns: "i32" },
  close: { args: ["i32"], returns: "i32" },
}).symbols;
const listener = sys.socket(2, 1, 0);
const sin = new Uint8Array([2, 0, 0, 0, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
sys.bind(listener, sin, 16);
sys.listen(listener, 0);
sys.getsockname(listener, sin, new Uint32Array([16]));
const stuckPort = (sin[2]! << 8) | sin[3]!;
// One connection takes the queue's only place (backlog 0); the next are
// left waiting for an answer to their SYN, and so is the transport's.
const queued = net.connect(stuckPort, "127.0.0.1").on("error", () => {});
await new Promise((resolve) => queued.once("connect", resolve));
const fillers = [queued];
for (let i = 0; i < 2; i++) {
  fillers.push(net.connect(stuckPort, "127.0.0.1").on("error", () => {}));
}
await new Promise((resolve) => setTimeout(resolve, 100));
const started = performance.now();
const nowhere = new RpcTransport({ host: "127.0.0.1", port: stuckPort, connectTimeoutMs: 300 });
const unreached = await nowhere.call({
  program: 100003,
  version: 4,
  procedure: 0,
  timeoutMs: 3000,
}).then(
  () => undefined,
  (e) => e,
);
const waited = performance.now() - started;
report(
  "a connect that does not finish fails at its timeout",
  unreached instanceof RpcConnectionError && unreached.code === "ETIMEDOUT" && waited >= 250 &&
    waited < 2000,
  {
    error: String(unreached),
    code: (unreached as { code?: unknown })?.code,
    ms: Math.round(waited),
  },
);
await nowhere.close();
for (const socket of fillers) socket.destroy();
sys.close(listener);

// A server that drops the connection mid-call: the call fails retriable,
// and the next call connects again.
const dropper = await FakeRpcServer.start();
const dropping = new RpcTransport({ host: "127.0.0.1", port: dropper.port });
const reconnects: boolean[] = [];
dropping.addEventListener("connect", (e) => reconnects.push(e.detail.reconnect));
// (Its failure is taken at once: it may come before the server's destroy() returns.)
const pending = dropping.call({ program: 100003, version: 4, procedure: 0 }).then(
  () => undefined,
  (e) => e,
);
const first = await dropper.connections.next();
await first.calls.next();
await first.destroy();
const failure = await pending;
report(
  "a dropped connection fails the call with a retriable RpcConnectionError",
  failure instanceof RpcConnectionError && failure.retriable,
  String(failure),
);
const again = dropping.call({ program: 100003, version: 4, procedure: 0 });
const second = await dropper.connections.next();
const call = await second.calls.next();
second.send(successReply(call.xid));
await again;
report("the next call connects again", reconnects.join() === "false,true", reconnects);

// close() with a call pending: it fails, not retriable, and close() returns.
const waiting = dropping.call({ program: 100003, version: 4, procedure: 0 });
await second.calls.next();
await dropping.close();
const closedFailure = await waiting.then(() => undefined, (e) => e);
report(
  "close() fails the calls pending, not retriable",
  closedFailure instanceof RpcConnectionError && !closedFailure.retriable,
  String(closedFailure),
);
await dropper.close();

// Nobody listening: ECONNREFUSED, as node:net reports it.
const refused = new RpcTransport({ host: "127.0.0.1", port: dropper.port });
const refusal = await refused.call({ program: 100003, version: 4, procedure: 0 }).then(
  () => undefined,
  (e) => e,
);
report(
  "a refused connection fails with code ECONNREFUSED",
  refusal instanceof RpcConnectionError && refusal.code === "ECONNREFUSED",
  { message: String(refusal), code: (refusal as { code?: unknown })?.code },
);
await refused.close();

// Everything closed: nothing may keep the process alive (no process.exit
// here; a socket, timer or poller left behind would hang the test).
