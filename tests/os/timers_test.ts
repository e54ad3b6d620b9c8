/**
 * Timers of any length (lib/os/timers.ts): a delay past what one runtime
 * timer holds (2^31 - 1 ms) runs as a chain of timers, not after 1 ms as
 * `setTimeout` would run it.
 */

import assert from "node:assert/strict";
import { MAX_TIMEOUT_MS, setLongTimeout, type TimerRuntime } from "../../lib/os/timers.ts";

/** A runtime whose clock moves only when a timer is run. */
class FakeRuntime implements TimerRuntime {
  clock = 0;
  armed: { id: number; fn: () => void; at: number }[] = [];
  delays: number[] = [];
  #next = 1;

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.delays.push(ms);
    this.armed.push({ id, fn, at: this.clock + ms });
    return id;
  }

  clearTimeout(id: unknown): void {
    this.armed = this.armed.filter((t) => t.id !== id);
  }

  now(): number {
    return this.clock;
  }

  /** Runs the earliest timer, moving the clock to its time. */
  runNext(): void {
    this.armed.sort((a, b) => a.at - b.at);
    const timer = this.armed.shift()!;
    this.clock = timer.at;
    timer.fn();
  }
}

Deno.test("setLongTimeout: a delay of 30 days runs as a chain of timers of at most 2^31 - 1 ms, and fires once, at its time", () => {
  const runtime = new FakeRuntime();
  const thirtyDays = 30 * 86_400_000;
  let firedAt: number | undefined;
  setLongTimeout(() => (firedAt = runtime.clock), thirtyDays, { runtime });
  while (runtime.armed.length > 0) runtime.runNext();
  assert.equal(firedAt, thirtyDays);
  assert.deepEqual(runtime.delays, [MAX_TIMEOUT_MS, thirtyDays - MAX_TIMEOUT_MS]);
});

Deno.test("setLongTimeout: a delay that fits is one runtime timer; cancel stops a chain between its links", () => {
  const runtime = new FakeRuntime();
  setLongTimeout(() => {}, 1000, { runtime });
  assert.deepEqual(runtime.delays, [1000]);

  let fired = false;
  const cancel = setLongTimeout(() => (fired = true), 3 * MAX_TIMEOUT_MS, { runtime });
  runtime.armed = runtime.armed.filter((t) => t.at !== 1000);
  runtime.runNext();
  assert.equal(runtime.armed.length, 1);
  cancel();
  assert.equal(runtime.armed.length, 0);
  assert.equal(fired, false);
});

Deno.test("setLongTimeout: Infinity arms nothing", () => {
  const runtime = new FakeRuntime();
  setLongTimeout(() => {}, Infinity, { runtime });
  assert.deepEqual(runtime.delays, []);
});

Deno.test("setLongTimeout: with the runtime's timers, a delay past 2^31 - 1 ms does not fire at once", async () => {
  let fired = false;
  const cancel = setLongTimeout(() => (fired = true), MAX_TIMEOUT_MS + 1, { keepAlive: false });
  await new Promise((resolve) => setTimeout(resolve, 50));
  cancel();
  assert.equal(fired, false);
});
