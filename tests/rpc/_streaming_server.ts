/**
 * A server for tests/rpc/_ffi_streaming_check.ts, run as a process of its
 * own so that it answers while the client's main thread waits in poll(2)
 * (an in-process server would wait with it). Prints its port, then answers
 * each CALL in turn with an opaque of the length it asks for, as the call's
 * arguments say: `size`, `delayMs` before the reply, `splitAt` and `pauseMs`
 * (the reply's first `splitAt` bytes, a pause, the rest), and `signalPid`
 * (when not 0, sent SIGINT a fifth of the way into the pause).
 */

import process from "node:process";
import { FakeRpcServer, frame, successReply } from "./_fake_server.ts";

function pattern(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const server = await FakeRpcServer.start((connection) => {
  (async () => {
    for (;;) {
      const call = await Promise.race([connection.calls.next(), connection.closed]);
      if (!call) return;
      const [size, delayMs, splitAt, pauseMs, signalPid] = Array.from(
        { length: 5 },
        () => call.args.readUint(),
      ) as [number, number, number, number, number];
      if (delayMs > 0) await sleep(delayMs);
      const whole = frame(successReply(call.xid, (w) => w.writeOpaque(pattern(size))));
      if (splitAt === 0) {
        connection.sendRaw(whole);
        continue;
      }
      connection.sendRaw(whole.subarray(0, splitAt));
      if (signalPid !== 0) {
        setTimeout(() => process.kill(signalPid, "SIGINT"), pauseMs / 5);
      }
      await sleep(pauseMs);
      connection.sendRaw(whole.subarray(splitAt));
    }
  })();
});
console.log(server.port);
process.stdin.resume();
process.stdin.on("end", () => server.close().then(() => process.exit(0)));
