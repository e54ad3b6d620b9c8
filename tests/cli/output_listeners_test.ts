/**
 * One 'error' listener per stream, however many commands write to it: `nfs4
 * shell` runs each verb with its own Output and Diagnostics over the same
 * process.stdout and process.stderr, and a listener per verb piled up for the
 * whole session (Node's MaxListenersExceededWarning after ten verbs).
 */

import assert from "node:assert/strict";
import { Diagnostics, Output, type WritableLike } from "../../cli/output.ts";

/** A stream that counts its 'error' listeners and keeps what is written. */
function countingStream() {
  const listeners: ((error: Error) => void)[] = [];
  const written: string[] = [];
  const stream: WritableLike = {
    write(chunk, callback) {
      written.push(String(chunk));
      callback?.();
      return true;
    },
    on(_event, listener) {
      listeners.push(listener);
      return stream;
    },
  };
  return { stream, listeners, written };
}

Deno.test("Diagnostics: twenty over one stream add one 'error' listener", () => {
  const { stream, listeners } = countingStream();
  for (let i = 0; i < 20; i++) new Diagnostics(stream).line(`verb ${i}`);
  assert.equal(listeners.length, 1);
});

Deno.test("Output: twenty over one stream add one 'error' listener", () => {
  const { stream, listeners } = countingStream();
  for (let i = 0; i < 20; i++) new Output(stream);
  assert.equal(listeners.length, 1);
});

Deno.test("Diagnostics: after the stream's 'error' event every Diagnostics over it drops its lines", () => {
  const { stream, listeners, written } = countingStream();
  const before = new Diagnostics(stream);
  before.line("one");
  for (const listener of listeners) listener(new Error("write EPIPE"));
  const after = new Diagnostics(stream);
  before.line("two");
  after.line("three");
  after.raw("four");
  assert.deepEqual(written, ["one\n"]);
});
