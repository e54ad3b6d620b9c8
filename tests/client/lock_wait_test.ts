/**
 * lockWithWait(): the polling policy for a lock held by someone else, with a
 * fake file and a fake clock (no server, no sleeping).
 */

import assert from "node:assert/strict";
import type { LockHolder, LockRange } from "../../lib/client/api.ts";
import { LockConflictError } from "../../lib/client/errors.ts";
import { type LockDenial, LockWaitDeadline, lockWithWait } from "../../lib/client/lock_wait.ts";
import { FakeClock } from "../../lib/state/clock.ts";

const RANGE: LockRange = { type: "write", offset: 0n, length: 0xffff_ffff_ffff_ffffn };
const HOLDER: LockHolder = {
  type: "write",
  offset: 0n,
  length: 0xffff_ffff_ffff_ffffn,
  clientid: 0x6b01n,
  owner: "lock-p1-1",
};

/** A file whose LOCK is denied until `freeAt` (fake ms), recording each try. */
class FakeFile {
  readonly clock: FakeClock;
  freeAt: number;
  readonly tries: { at: number; blocking: boolean | undefined }[] = [];
  readonly unlocks: LockRange[] = [];
  /** Set to make the next LOCK wait for this promise before answering. */
  gate: Promise<void> | undefined;
  error: Error | undefined;

  constructor(clock: FakeClock, freeAt: number) {
    this.clock = clock;
    this.freeAt = freeAt;
  }

  async lock(_range: LockRange, options: { blocking?: boolean } = {}): Promise<void> {
    this.tries.push({ at: this.clock.now(), blocking: options.blocking });
    if (this.gate) await this.gate;
    if (this.error) throw this.error;
    if (this.clock.now() < this.freeAt) throw new LockConflictError("/vfs/f", HOLDER);
  }

  unlock(range: LockRange): Promise<void> {
    this.unlocks.push(range);
    return Promise.resolve();
  }
}

/** Settles a promise without awaiting it, to look at it after the clock moved. */
function track<T>(promise: Promise<T>) {
  const state: { done: boolean; value?: T; error?: unknown } = { done: false };
  promise.then(
    (value) => Object.assign(state, { done: true, value }),
    (error) => Object.assign(state, { done: true, error }),
  );
  return state;
}

Deno.test("lockWithWait() takes a free lock with one blocking LOCK", async () => {
  const clock = new FakeClock();
  const file = new FakeFile(clock, 0);
  const result = await lockWithWait(file, RANGE, { clock });
  assert.deepEqual(result, { attempts: 1, waitedMs: 0, woken: false });
  assert.deepEqual(file.tries, [{ at: 0, blocking: true }]);
});

Deno.test("lockWithWait() backs off from 100 ms doubling to 2 s until the lock is free", async () => {
  const clock = new FakeClock();
  const file = new FakeFile(clock, 6_000);
  const denials: LockDenial[] = [];
  const state = track(lockWithWait(file, RANGE, { clock, onDenied: (d) => denials.push(d) }));
  await clock.advance(10_000);
  assert.ok(state.done);
  assert.equal(state.error, undefined);
  assert.deepEqual(
    file.tries.map((t) => t.at),
    [0, 100, 300, 700, 1500, 3100, 5100, 7100],
  );
  assert.ok(file.tries.every((t) => t.blocking === true), "READW_LT/WRITEW_LT on every try");
  assert.deepEqual(denials.map((d) => d.delayMs), [100, 200, 400, 800, 1600, 2000, 2000]);
  assert.deepEqual(denials.map((d) => d.attempt), [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(denials[0]!.holder.owner, "lock-p1-1");
  assert.deepEqual(state.value, { attempts: 8, waitedMs: 7100, woken: false });
});

Deno.test("lockWithWait() gives up at the deadline with the holder", async () => {
  const clock = new FakeClock();
  const file = new FakeFile(clock, Infinity);
  const denials: LockDenial[] = [];
  const state = track(
    lockWithWait(file, RANGE, { clock, timeoutMs: 1_000, onDenied: (d) => denials.push(d) }),
  );
  await clock.advance(999);
  assert.equal(state.done, false);
  await clock.advance(1);
  assert.ok(state.done);
  assert.ok(state.error instanceof LockConflictError);
  assert.equal(state.error.holder.owner, "lock-p1-1");
  // A fresh refusal: nothing to say about when it came.
  assert.equal(state.error.answeredAtMs, undefined);
  // The last pause is cut so that the last try has its least room (100 ms)
  // before the deadline; its refusal is the answer at the deadline.
  assert.deepEqual(file.tries.map((t) => t.at), [0, 100, 300, 700, 900]);
  assert.deepEqual(denials.map((d) => d.delayMs), [100, 200, 400, 200, 0]);
});

Deno.test("lockWithWait() with timeoutMs 0 tries once, non-blocking", async () => {
  const clock = new FakeClock();
  const file = new FakeFile(clock, Infinity);
  await assert.rejects(lockWithWait(file, RANGE, { clock, timeoutMs: 0 }), LockConflictError);
  assert.deepEqual(file.tries, [{ at: 0, blocking: false }]);
  assert.equal(clock.pending, 0, "no timer left behind");
});

Deno.test("lockWithWait() stops when the signal aborts during a pause", async () => {
  const clock = new FakeClock();
  const file = new FakeFile(clock, Infinity);
  const stop = new AbortController();
  const state = track(lockWithWait(file, RANGE, { clock, signal: stop.signal }));
  await clock.advance(150);
  stop.abort(new Error("SIGINT received"));
  await clock.advance(0);
  assert.ok(state.done);
  assert.equal((state.error as Error).message, "SIGINT received");
  await clock.advance(10_000);
  assert.equal(file.tries.length, 2, "no try after the abort");
  assert.equal(clock.pending, 0);
});

Deno.test("lockWithWait() gives back a lock taken by a try in flight when aborted", async () => {
  const clock = new FakeClock();
  const file = new FakeFile(clock, 0);
  let answer!: () => void;
  file.gate = new Promise((resolve) => (answer = resolve));
  const stop = new AbortController();
  const state = track(lockWithWait(file, RANGE, { clock, signal: stop.signal }));
  await clock.advance(0);
  stop.abort(new Error("SIGTERM received"));
  answer();
  await clock.advance(0);
  assert.ok(state.done);
  assert.equal((state.error as Error).message, "SIGTERM received");
  assert.deepEqual(file.unlocks, [RANGE], "LOCKU of the lock taken after the abort");
});

Deno.test("lockWithWait() does not start when the signal has already aborted", async () => {
  const clock = new FakeClock();
  const file = new FakeFile(clock, 0);
  await assert.rejects(
    lockWithWait(file, RANGE, { clock, signal: AbortSignal.abort(new Error("stop")) }),
    /stop/,
  );
  assert.equal(file.tries.length, 0);
});

Deno.test("lockWithWait() tries again at once when woken (CB_NOTIFY_LOCK)", async () => {
  const clock = new FakeClock();
  const file = new FakeFile(clock, Infinity);
  const listeners = new Set<() => void>();
  const wake = (listener: () => void) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  const state = track(lockWithWait(file, RANGE, { clock, wake }));
  await clock.advance(1_000); // tries at 0, 100, 300, 700; pausing until 1500
  assert.equal(listeners.size, 1);
  file.freeAt = 0;
  for (const listener of listeners) listener();
  await clock.advance(0);
  assert.ok(state.done);
  assert.deepEqual(state.value, { attempts: 5, waitedMs: 1_000, woken: true });
  assert.deepEqual(file.tries.map((t) => t.at), [0, 100, 300, 700, 1000]);
  assert.equal(listeners.size, 0, "unsubscribed");
});

Deno.test("lockWithWait() keeps a wake-up that came while a try was in flight", async () => {
  const clock = new FakeClock();
  const file = new FakeFile(clock, Infinity);
  let notify!: () => void;
  const wake = (listener: () => void) => {
    notify = listener;
    return () => {};
  };
  let answer!: () => void;
  file.gate = new Promise((resolve) => (answer = resolve));
  const state = track(lockWithWait(file, RANGE, { clock, wake }));
  await clock.advance(0);
  notify(); // the lock was freed while the LOCK that will be denied was on the wire
  file.gate = undefined;
  answer();
  await clock.advance(0);
  assert.deepEqual(file.tries.map((t) => t.at), [0, 0], "no pause after the denial");
  assert.equal(state.done, false);
  await clock.advance(100);
  assert.deepEqual(file.tries.map((t) => t.at), [0, 0, 100], "then back to polling");
});

Deno.test("lockWithWait() passes other errors through at once", async () => {
  const clock = new FakeClock();
  const file = new FakeFile(clock, 0);
  file.error = new Error("Permission denied (NFS4ERR_OPENMODE)");
  await assert.rejects(lockWithWait(file, RANGE, { clock }), /NFS4ERR_OPENMODE/);
  assert.equal(file.tries.length, 1);
});

Deno.test("lockWithWait(): the deadline stops a try in flight, and giving up names the last holder", async () => {
  const clock = new FakeClock();
  const file = new FakeFile(clock, Infinity);
  // After the first refusal, each LOCK hangs until its signal aborts (a
  // server that stopped answering, or GRACE being waited out).
  const lock = file.lock.bind(file);
  file.lock = async (
    range: LockRange,
    options: { blocking?: boolean; signal?: AbortSignal } = {},
  ) => {
    if (file.tries.length === 0) return await lock(range, options);
    file.tries.push({ at: clock.now(), blocking: options.blocking });
    await new Promise<void>((_, reject) => {
      options.signal?.addEventListener("abort", () => reject(options.signal!.reason), {
        once: true,
      });
    });
  };
  const state = track(lockWithWait(file, RANGE, { clock, timeoutMs: 1_000 }));
  await clock.advance(1_500);
  assert.ok(state.done, "gave up at the deadline");
  assert.ok(state.error instanceof LockConflictError, String(state.error));
  assert.deepEqual((state.error as LockConflictError).holder, HOLDER);
  // Said to be the refusal of 0 ms into the wait, not a fresh answer.
  assert.equal((state.error as LockConflictError).answeredAtMs, 0);
  assert.equal(file.tries.length, 2);
});

Deno.test("lockWithWait(): a deadline with no answer at all is a LockWaitDeadline, not a conflict", async () => {
  const clock = new FakeClock();
  const file = new FakeFile(clock, Infinity);
  file.lock = (_range: LockRange, options: { blocking?: boolean; signal?: AbortSignal } = {}) => {
    file.tries.push({ at: clock.now(), blocking: options.blocking });
    return new Promise<void>((_, reject) => {
      options.signal?.addEventListener("abort", () => reject(options.signal!.reason), {
        once: true,
      });
    });
  };
  const state = track(lockWithWait(file, RANGE, { clock, timeoutMs: 3_000 }));
  await clock.advance(3_500);
  assert.ok(state.done);
  assert.ok(state.error instanceof LockWaitDeadline, String(state.error));
  assert.match(
    (state.error as Error).message,
    /^gave up after 3\.0 s: the server did not answer in time$/,
  );
});

/**
 * Waits for a lock that is never free, each LOCK answered `answerMs(n)` ms
 * (fake) after its n-th try (from 1) starts, until `timeoutMs`; a try still
 * in flight at the deadline would be stopped there (its signal aborted).
 * Returns when each try started and which were stopped in flight.
 */
async function waitOutDeadline(
  timeoutMs: number,
  answerMs: (attempt: number) => number,
): Promise<{ starts: number[]; stopped: number[] }> {
  const clock = new FakeClock();
  const file = new FakeFile(clock, Infinity);
  const lock = file.lock.bind(file);
  const starts: number[] = [];
  const stopped: number[] = [];
  file.lock = async (range: LockRange, options: { blocking?: boolean; signal?: AbortSignal }) => {
    const at = clock.now();
    starts.push(at);
    await clock.sleep(answerMs(starts.length));
    if (options.signal?.aborted) stopped.push(at);
    return await lock(range, options);
  };
  const state = track(lockWithWait(file, RANGE, { clock, timeoutMs }));
  await clock.advance(timeoutMs);
  assert.ok(state.done);
  assert.ok(state.error instanceof LockConflictError, String(state.error));
  return { starts, stopped };
}

Deno.test("lockWithWait(): the last try starts twice the slowest try (at least 100 ms) before the deadline, so it is answered, not abandoned", async () => {
  // Each LOCK takes 40 ms to be answered.
  const { starts, stopped } = await waitOutDeadline(1_000, () => 40);
  // Tries at 0, 140, 380, 820 (pauses of 100, 200, 400 after 40 ms answers),
  // then a pause cut to 40 ms so that the last try (900) has the least room
  // (100 ms, more than twice 40) and is answered at 940, before the deadline;
  // before, it was made at 1000 and stopped in flight.
  assert.deepEqual(starts, [0, 140, 380, 820, 900]);
  assert.deepEqual(stopped, [], "no try was in flight at the deadline");
});

Deno.test("lockWithWait(): the last try's room is twice the slowest try, not the quickest: after one quick answer and slower ones, no try is left in flight at the deadline (a LOCK stopped in flight may have been granted)", async () => {
  // The first LOCK is answered in 10 ms, the others (a loaded server) in 300.
  const { starts, stopped } = await waitOutDeadline(1_500, (n) => n === 1 ? 10 : 300);
  // Tries at 0 (answered at 10), 110 (at 410), 610 (at 910); then no room
  // for one more (twice 300 ms before 1,500). With twice the quickest (100
  // ms of room) a fourth went at 1,310 and was stopped in flight at 1,500.
  assert.deepEqual(starts, [0, 110, 610]);
  assert.deepEqual(stopped, [], "no try was in flight at the deadline");
});

Deno.test("lockWithWait(): a first try that waited out the grace period does not end the wait early", async () => {
  const clock = new FakeClock();
  const file = new FakeFile(clock, Infinity);
  const lock = file.lock.bind(file);
  const starts: number[] = [];
  file.lock = async (range: LockRange, options: { blocking?: boolean; signal?: AbortSignal }) => {
    starts.push(clock.now());
    // The first LOCK is answered after 15 s (the state manager waited out
    // NFS4ERR_GRACE), the others at once.
    if (starts.length === 1) await clock.sleep(15_000);
    return await lock(range, options);
  };
  const state = track(lockWithWait(file, RANGE, { clock, timeoutMs: 30_000 }));
  await clock.advance(30_000);
  assert.ok(state.done);
  assert.ok(state.error instanceof LockConflictError, String(state.error));
  // Polled on until the deadline, not given up after the first answer.
  assert.ok(starts.length > 5, `tries at ${starts}`);
  assert.ok(starts.at(-1)! > 28_000, `tries at ${starts}`);
});

Deno.test("lockWithWait(): a try not sent by its own deadline (SendWaitTimeoutError: every session slot busy, RFC 8881 §2.10.6) is tried again until the wait's deadline, then named", async () => {
  const { SendWaitTimeoutError } = await import("../../lib/state/manager.ts");
  const clock = new FakeClock();
  const file = new FakeFile(clock, 0);
  file.error = new SendWaitTimeoutError("srv", 8_000, { slots: 1 });
  const waiting = track(lockWithWait(file, RANGE, { clock, timeoutMs: 5_000 }));
  await clock.advance(1_000);
  assert.ok(!waiting.done);
  file.error = undefined;
  await clock.advance(3_000);
  assert.equal(waiting.done, true);
  assert.equal(waiting.error, undefined);
  assert.ok(file.tries.length >= 2);

  const stuck = new FakeFile(clock, 0);
  stuck.error = new SendWaitTimeoutError("srv", 8_000, { slots: 1 });
  const start = clock.now();
  const failing = track(lockWithWait(stuck, RANGE, { clock, timeoutMs: 5_000 }));
  await clock.advance(6_000);
  assert.ok(failing.error instanceof LockWaitDeadline, String(failing.error));
  assert.equal(
    failing.error.message,
    "the lock was not granted in 5.0 s: every session slot was held by requests waiting for replies",
  );
  assert.ok(clock.now() - start >= 5_000);
});
