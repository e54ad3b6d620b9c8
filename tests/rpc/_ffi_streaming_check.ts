/**
 * Run by Bun (tests/rpc/socket_bun_test.ts spawns it): the FFI socket's
 * wait in poll(2) for a reply already on its way (`setStreamingReplyWait`,
 * lib/rpc/socket_ffi.ts), against a server in a process of its own
 * (tests/rpc/_streaming_server.ts). Prints one JSON line per check, as
 * _bun_socket_check.ts does.
 */

import { spawn } from "node:child_process";
import process from "node:process";
import { RpcTransport } from "../../lib/rpc/mod.ts";
import { setStreamingReplyWait } from "../../lib/rpc/socket_backend.ts";
import { ffiReadWaits } from "../../lib/rpc/socket_ffi.ts";

function report(check: string, ok: boolean, detail?: unknown): void {
  console.log(JSON.stringify({ check, ok, detail }));
}

/** The server's bytes (tests/rpc/_streaming_server.ts makes the same). */
function pattern(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}

function whole(answer: Uint8Array | Error, length: number): boolean {
  if (!(answer instanceof Uint8Array) || answer.length !== length) return false;
  const expected = pattern(length);
  for (let i = 0; i < length; i++) if (answer[i] !== expected[i]) return false;
  return true;
}

const server = spawn(process.execPath, ["tests/rpc/_streaming_server.ts"], {
  stdio: ["pipe", "pipe", "inherit"],
});
let serverExited = false;
const serverExit = new Promise((resolve) =>
  server.once("exit", () => {
    serverExited = true;
    resolve(undefined);
  })
);
const port = await new Promise<number>((resolve, reject) => {
  let text = "";
  server.stdout!.on("data", (chunk: Uint8Array) => {
    text += new TextDecoder().decode(chunk);
    if (text.includes("\n")) resolve(Number(text.trim()));
  });
  void serverExit.then(() => reject(new Error("the streaming server exited before its port")));
});

interface Shape {
  delayMs?: number;
  splitAt?: number;
  pauseMs?: number;
  signalPid?: number;
}

function ask(transport: RpcTransport, size: number, shape: Shape = {}) {
  return transport.call({
    program: 100003,
    version: 4,
    procedure: 1,
    args: (w) => {
      w.writeUint(size).writeUint(shape.delayMs ?? 0).writeUint(shape.splitAt ?? 0);
      w.writeUint(shape.pauseMs ?? 0).writeUint(shape.signalPid ?? 0);
    },
  }).then((r) => r.reader.readOpaque(64 << 20), (error) => error as Error);
}

/**
 * `count` replies of 1 MiB, four asked for at a time, each sent `delayMs`
 * after its call came; whether all came whole.
 */
async function stream(transport: RpcTransport, count: number, delayMs = 0): Promise<boolean> {
  let ok = true;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      ok = whole(await ask(transport, 1 << 20, { delayMs }), 1 << 20) && ok;
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return ok;
}

/** Runs `work` with a 5 ms interval ticking; returns its result and the longest gap between ticks. */
async function ticking<T>(work: () => Promise<T>): Promise<{ result: T; longestGap: number }> {
  let last = performance.now();
  let longestGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longestGap = Math.max(longestGap, now - last);
    last = now;
  }, 5);
  const result = await work();
  clearInterval(timer);
  return { result, longestGap: Math.round(Math.max(longestGap, performance.now() - last)) };
}

const transport = new RpcTransport({
  host: "127.0.0.1",
  port,
  maxRecordSize: 64 << 20,
  callTimeoutMs: 20_000,
});
report("the backend is ffi", transport.socketKind === "ffi", transport.socketKind);

/**
 * 8 replies to warm up (a bulk wake), then 64 streamed: whether all came
 * whole, and how the socket waited meanwhile (in poll(2), for SIGIO). The
 * server holds each streamed reply 3 ms, so the client has replies to wait
 * for however busy the machine is: unpaced, a slow client finds most of
 * them already there and waits a varying few times (15 to 49 seen).
 */
async function streamedWaits() {
  const warm = await stream(transport, 8);
  const before = ffiReadWaits();
  const streamed = await stream(transport, 64, 3);
  const after = ffiReadWaits();
  return {
    whole: warm && streamed,
    inPoll: after.inPoll - before.inPoll,
    forSignal: after.forSignal - before.forSignal,
  };
}

// Without the wait, a stream's replies are waited for by SIGIO: this also
// shows the socket is the signal-driven one, not Bun.connect.
{
  const waits = await streamedWaits();
  report(
    "without the wait, streamed replies are waited for by SIGIO",
    waits.whole && waits.inPoll === 0 && waits.forSignal >= 1,
    waits,
  );
}

// Streaming with a wait long enough that it never times out: once a wake
// has read a bulk record, the replies that follow are waited for in
// poll(2), not for SIGIO (a rare wake that reads too little to tell, a
// record mark split by a segment, still waits for a signal).
setStreamingReplyWait(5_000);
{
  const waits = await streamedWaits();
  report(
    "64 streamed replies of 1 MiB arrive whole, waited for in poll(2) rather than for SIGIO",
    waits.whole && waits.inPoll >= 16 && waits.forSignal <= 2,
    waits,
  );
}

// The wait holds the main thread for at most its bound: a reply that stops
// for 1 s in its middle, or that is 1 s in coming after bulk ones, leaves
// timers running (they run at least every bound, 20 ms, plus their turn).
/**
 * After a few streamed replies (the socket in bulk mode), asks for one of
 * `size` bytes shaped by `shape` with timers ticking: reports whether it
 * came whole and no gap between ticks reached `limitMs`.
 */
async function reportHeld(check: string, size: number, shape: Shape, limitMs: number) {
  await stream(transport, 4);
  const { result, longestGap } = await ticking(() => ask(transport, size, shape));
  report(check, whole(result, size) && longestGap < limitMs, {
    whole: whole(result, size),
    longestGap,
  });
}

setStreamingReplyWait(20);
await reportHeld(
  "a reply stalled in its middle holds timers for no longer than the bound",
  3 << 20,
  { splitAt: 1 << 20, pauseMs: 1_000 },
  400,
);
await reportHeld(
  "a reply slow to start after bulk ones holds timers for no longer than the bound",
  1 << 20,
  { delayMs: 1_000 },
  400,
);

// One bound for a turn's waits together: a reply 450 ms in coming, then
// stalled in its middle, holds timers for the bound (500 ms), not for the
// wait for its first bytes and then a whole bound more for its rest.
setStreamingReplyWait(500);
await reportHeld(
  "a reply slow to start and then stalled holds timers for one bound in all",
  3 << 20,
  { delayMs: 450, splitAt: 1 << 20, pauseMs: 1_500 },
  750,
);

// A signal ends the wait at once, whatever its bound: the server sends
// SIGINT 400 ms into a 2 s pause in the middle of a reply, and its handler
// runs long before the rest arrives (poll(2) is never restarted).
setStreamingReplyWait(10_000);
{
  await stream(transport, 4);
  let signalledAt = Infinity;
  const onInt = () => signalledAt = performance.now();
  process.once("SIGINT", onInt);
  const answer = await ask(transport, 3 << 20, {
    splitAt: 1 << 20,
    pauseMs: 2_000,
    signalPid: process.pid,
  });
  const answeredAt = performance.now();
  process.off("SIGINT", onInt);
  report(
    "SIGINT ends a wait in poll(2): its handler runs before the stalled reply's rest arrives",
    whole(answer, 3 << 20) && signalledAt < answeredAt - 1_000,
    { whole: whole(answer, 3 << 20), handledBeforeAnswer: Math.round(answeredAt - signalledAt) },
  );
}

// With another FFI socket open, nothing waits in poll(2): its replies would
// wait behind this one's.
{
  const other = new RpcTransport({ host: "127.0.0.1", port, maxRecordSize: 64 << 20 });
  const small = whole(await ask(other, 10), 10);
  await stream(transport, 4);
  const { result, longestGap } = await ticking(() =>
    ask(transport, 3 << 20, { splitAt: 1 << 20, pauseMs: 1_500 })
  );
  report(
    "with two sockets open, a stalled reply does not hold the main thread",
    small && whole(result, 3 << 20) && longestGap < 750,
    { small, whole: whole(result, 3 << 20), longestGap },
  );
  await other.close();
}

setStreamingReplyWait(0);
await transport.close();
server.stdin!.end();
if (!serverExited) await serverExit;
