/**
 * cli/output.ts's account of writes nobody awaited: `pendingBytes`, `room()`
 * and `drained()` of an Output, `outputDrained()` of a stream, and a failed
 * write told as `write error: …` (StdoutWriteError).
 */

import assert from "node:assert/strict";
import {
  isBrokenPipe,
  Output,
  outputDrained,
  StdoutWriteError,
  type WritableLike,
} from "../../cli/output.ts";

/** A stream that takes each chunk only when told to (a reader that waits). */
class HeldStream implements WritableLike {
  readonly held: { chunk: string | Uint8Array; callback?: (error?: Error | null) => void }[] = [];
  readonly taken: string[] = [];
  /** Thrown by every write from now on (Deno's stdout throws ENOSPC). */
  throws: Error | undefined;

  write(chunk: string | Uint8Array, callback?: (error?: Error | null) => void): boolean {
    if (this.throws) throw this.throws;
    this.held.push(callback ? { chunk, callback } : { chunk });
    return false;
  }

  on(): this {
    return this;
  }

  /** Takes the oldest `n` chunks held. */
  take(n: number): void {
    for (const { chunk, callback } of this.held.splice(0, n)) {
      this.taken.push(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk));
      callback?.(null);
    }
  }
}

/** Whether `promise` has settled after the callbacks queued so far ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  return done;
}

Deno.test("Output counts writes nobody awaited until the stream takes them", async () => {
  const stream = new HeldStream();
  const out = new Output(stream);
  assert.equal(out.pendingBytes, 0);
  assert.ok(await settled(out.drained()));
  for (let i = 0; i < 10; i++) out.post(`line ${i}\n`);
  assert.equal(out.pendingBytes, 70);

  const room = out.room(21);
  const drained = out.drained();
  const ofStream = outputDrained(stream);
  assert.ok(!await settled(room));
  stream.take(6);
  assert.equal(out.pendingBytes, 28);
  assert.ok(!await settled(room));
  stream.take(1);
  assert.equal(out.pendingBytes, 21);
  assert.ok(await settled(room));
  assert.ok(!await settled(drained));
  assert.ok(!await settled(ofStream));
  stream.take(3);
  assert.ok(await settled(drained));
  assert.ok(await settled(ofStream));
  assert.equal(out.pendingBytes, 0);
  assert.equal(stream.taken.join(""), Array.from({ length: 10 }, (_, i) => `line ${i}\n`).join(""));
});

Deno.test("Output.abandon() ends the wait for writes a stalled reader never takes", async () => {
  const stream = new HeldStream();
  const out = new Output(stream);
  const written = out.write("held\n");
  written.catch(() => {});
  const drained = out.drained();
  assert.ok(!await settled(drained));
  out.abandon(new Error("interrupted"));
  assert.ok(await settled(drained));
  assert.equal(out.pendingBytes, 0);
  await assert.rejects(written, /interrupted/);
  assert.ok(await settled(outputDrained(stream)));
});

Deno.test("Output: a write that fails is a StdoutWriteError, 'write error: …', every time", async () => {
  const stream = new HeldStream();
  stream.throws = Object.assign(new Error("No space left on device (os error 28)"), {
    code: "ENOSPC",
  });
  const out = new Output(stream);
  for (let i = 0; i < 2; i++) {
    const error = await out.write("x\n").then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof StdoutWriteError);
    assert.equal(error.message, "write error: No space left on device");
    assert.equal(error.code, "ENOSPC");
    assert.ok(!isBrokenPipe(error));
  }
  assert.equal(out.pendingBytes, 0);
  assert.ok(await settled(out.drained()));
});

Deno.test("Outputs over one stream share one 'error' listener (each nfs4 shell verb makes an Output: a listener each was a leak and a MaxListenersExceededWarning after ten); the error still reaches every live Output", async () => {
  const listeners: ((error: Error) => void)[] = [];
  const stream: WritableLike = {
    write: () => false,
    on: (_event, listener) => void listeners.push(listener),
  };
  const outputs = Array.from({ length: 20 }, () => new Output(stream));
  assert.equal(listeners.length, 1);
  listeners[0]!(Object.assign(new Error("write EIO"), { code: "EIO" }));
  for (const output of outputs) {
    await assert.rejects(output.write("x"), StdoutWriteError);
  }
});
