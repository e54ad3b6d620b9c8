import assert from "node:assert/strict";
import { SAME_STOP_MS, StopSignalRepeats } from "../../cli/stop_signal.ts";

Deno.test("stop signals: a SIGTERM or SIGHUP soon after the first SIGTERM is the same stop (timeout(1) sends two)", () => {
  let now = 0;
  const repeats = new StopSignalRepeats(() => now);
  assert.equal(repeats.isRepeat("SIGTERM"), false, "the first");
  now = 20;
  assert.equal(repeats.isRepeat("SIGTERM"), true);
  assert.equal(repeats.isRepeat("SIGHUP"), true);
  now = SAME_STOP_MS;
  assert.equal(repeats.isRepeat("SIGTERM"), false, "a second later: a second request");
});

Deno.test("stop signals: a Ctrl-C is never a repeat, nor anything after one", () => {
  let now = 0;
  const afterTerm = new StopSignalRepeats(() => now);
  afterTerm.isRepeat("SIGTERM");
  now = 5;
  assert.equal(afterTerm.isRepeat("SIGINT"), false);
  const afterInt = new StopSignalRepeats(() => now);
  afterInt.isRepeat("SIGINT");
  assert.equal(afterInt.isRepeat("SIGINT"), false);
  assert.equal(afterInt.isRepeat("SIGTERM"), false);
});

Deno.test("stop signals: after a Ctrl-C (nfs4 shell: it stopped a verb only), timeout(1)'s two SIGTERMs are still one stop", () => {
  let now = 0;
  const repeats = new StopSignalRepeats(() => now);
  assert.equal(repeats.isRepeat("SIGINT"), false);
  now = 5_000;
  assert.equal(repeats.isRepeat("SIGTERM"), false, "the first SIGTERM");
  now = 5_020;
  assert.equal(repeats.isRepeat("SIGTERM"), true, "its repeat");
});
