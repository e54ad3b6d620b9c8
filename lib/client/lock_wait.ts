/**
 * Waiting for a byte-range lock held by someone else (RFC 7530 §9.4, RFC 8881
 * §9.6): the client polls. Each try is a LOCK with the blocking type
 * (READW_LT or WRITEW_LT), which tells the server this client is waiting and
 * lets a 4.1 server notify it with CB_NOTIFY_LOCK (RFC 8881 §20.11) when the
 * lock may be free. On NFS4ERR_DENIED the client pauses, 100 ms at first and
 * doubling up to 2 s, and tries again until the lock is taken, the deadline
 * passes or the caller gives up.
 *
 * The pause can be cut short by a wake-up hint (`wake`): the callback layer
 * will call it when CB_NOTIFY_LOCK arrives. Like the kernel's
 * nfs4_retry_setlk, a hint that came in while a try was in flight still ends
 * the pause that follows it, so a notification is never lost between a
 * denial and the sleep.
 *
 * @example
 * ```ts
 * const file = await client.open("/vfs/job.lock", { access: "write" });
 * const range = { type: "write", offset: 0n, length: NFS4_UINT64_MAX } as const;
 * try {
 *   await lockWithWait(file, range, { timeoutMs: 10_000 });
 * } catch (e) {
 *   if (e instanceof LockConflictError) console.log("held by", e.holder.owner);
 * }
 * ```
 * @module
 */

import type { LockHolder, LockRange, WritableFile } from "./api.ts";
import { LockConflictError } from "./errors.ts";
import type { Clock } from "../state/clock.ts";
import { setLongTimeout } from "../os/timers.ts";
import { operationSignal, withOperationSignal } from "../state/operation_scope.ts";

/**
 * The wait's deadline passed while a try had no answer (the server went
 * silent, or recovery took the time left): nothing was refused, nothing
 * taken. (A server that kept answering GRACE or DELAY is answered with
 * that status, before the deadline: RunOptions.answerWithinMs.)
 */
export class LockWaitDeadline extends Error {
  /** How long the wait lasted (ms). */
  readonly waitedMs: number;

  constructor(waitedMs: number) {
    super(`gave up after ${(waitedMs / 1000).toFixed(1)} s: the server did not answer in time`);
    this.name = "LockWaitDeadline";
    this.waitedMs = waitedMs;
  }
}

/** First pause after a denial. */
export const LOCK_RETRY_MIN_MS = 100;
/** Longest pause between tries. */
export const LOCK_RETRY_MAX_MS = 2_000;

/**
 * The least room the last try gets before the deadline, whatever the
 * slowest try took: on a loaded machine one answered in 3 ms may take 10
 * next time, and a 4.0 LOCK stopped in flight may have run (its open owner's
 * seqid then out of step: the file's CLOSE is refused, NFS4ERR_BAD_SEQID,
 * and the open stays until the lease ends). Seen in CI with a room of 6 ms.
 */
export const LOCK_LAST_TRY_MIN_ROOM_MS = 100;

/** Time for the waiting: the real clock by default, a `FakeClock` in tests. */
export type WaitClock = Pick<Clock, "now" | "setTimer">;

/** A hint that the lock may have become free; returns a function that unsubscribes. */
export type WakeSource = (listener: () => void) => () => void;

/** What each denial reports to `onDenied`. */
export interface LockDenial {
  /** Who holds the conflicting lock (LOCK4denied). */
  readonly holder: LockHolder;
  /** Tries so far, this one included (1 for the first). */
  readonly attempt: number;
  /** The pause before the next try, in ms; 0 when this was the last try. */
  readonly delayMs: number;
}

export interface LockWaitOptions {
  /**
   * How long to keep trying, in ms. `0` means one try with the non-blocking
   * type (READ_LT/WRITE_LT): fail at once. Undefined: wait until the lock is
   * taken or `signal` aborts.
   */
  readonly timeoutMs?: number | undefined;
  /** Stops the waiting; the promise then rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /** Ends a pause early (CB_NOTIFY_LOCK, later). */
  readonly wake?: WakeSource | undefined;
  /** Called after every denial, before the pause (for traces and progress). */
  readonly onDenied?: ((denial: LockDenial) => void) | undefined;
  /** First and longest pause (defaults: 100 ms and 2 s). */
  readonly minDelayMs?: number | undefined;
  readonly maxDelayMs?: number | undefined;
  readonly clock?: WaitClock | undefined;
}

/** How the lock was taken. */
export interface LockWaitResult {
  /** LOCKs sent, the successful one included. */
  readonly attempts: number;
  /** Time from the first try to the lock being held, in ms. */
  readonly waitedMs: number;
  /** Whether a wake-up hint ended any of the pauses. */
  readonly woken: boolean;
}

/** Real time, with timers that keep the process alive while it waits for a lock. */
const waitClock: WaitClock = {
  now: () => performance.now(),
  setTimer(fn, ms) {
    // -w takes up to a year, past what one runtime timer holds (lib/os/timers.ts).
    return { cancel: setLongTimeout(fn, ms) };
  },
};

/**
 * Takes `range` on `file`, waiting while another owner holds a conflicting
 * lock. Rejects with the last {@linkcode LockConflictError} (naming the
 * holder) when the deadline passes, with the signal's reason when aborted,
 * and with any other error of a try as it is.
 *
 * When `signal` aborts while a try is in flight, that try is allowed to
 * finish (the signal is a soft stop, lib/state/operation_scope.ts: it stops
 * a try before it is sent and in the state manager's waits, never a LOCK
 * the server may be running); if it took the lock, the lock is released
 * again (LOCKU) before the promise rejects, so an aborted wait never leaves
 * a lock behind. (`nfs4 lock` at SIGINT also stops its client: waits and
 * reads stop at once, but a LOCK in flight still gets the state manager's
 * release window to be answered, and is released like this.)
 *
 * The deadline is a hard stop: a try still in flight when it passes is
 * abandoned, and the server may have run it (a lock this client then does
 * not know of, freed when its lease ends). So the last try is made early
 * enough to be answered before the deadline: no later than twice the
 * slowest try so far (at least {@linkcode LOCK_LAST_TRY_MIN_ROOM_MS})
 * before it (a try's answer takes a round trip, and the next may be as slow
 * as the slowest; a try slower than the longest pause waited out the
 * server's grace period or NFS4ERR_DELAY and says nothing of the next, and
 * the room is at most the longest pause).
 */
export async function lockWithWait(
  file: Pick<WritableFile, "lock" | "unlock" | "noteLockWait">,
  range: LockRange,
  options: LockWaitOptions = {},
): Promise<LockWaitResult> {
  const clock = options.clock ?? waitClock;
  const minDelay = options.minDelayMs ?? LOCK_RETRY_MIN_MS;
  const maxDelay = Math.max(minDelay, options.maxDelayMs ?? LOCK_RETRY_MAX_MS);
  const signal = options.signal;
  const started = clock.now();
  const deadline = options.timeoutMs === undefined ? Infinity : started + options.timeoutMs;
  const blocking = options.timeoutMs !== 0;

  // A hint received at any time ends the next pause (or the current one).
  let hinted = false;
  let endPause: (() => void) | undefined;
  let woken = false;
  const unsubscribe = options.wake?.(() => {
    hinted = true;
    endPause?.();
  });

  // The last refusal: what giving up at the deadline reports, even when
  // the deadline stops a try in flight.
  let lastConflict: LockConflictError | undefined;
  /** When it came (ms into the wait). */
  let lastConflictAt = 0;
  // The caller's signal, with the soft stop of the work this runs in.
  const outer = operationSignal();
  const softStop = signal && outer && outer !== signal
    ? AbortSignal.any([signal, outer])
    : signal ?? outer;
  // The slowest a try was answered (ms), leaving out those slower than the
  // longest pause (they waited inside): twice it is the room the last one is
  // given before the deadline.
  let slowestTry = 0;
  const noteTry = (ms: number) => {
    if (ms <= maxDelay) slowestTry = Math.max(slowestTry, ms);
  };
  try {
    let delay = minDelay;
    for (let attempt = 1;; attempt++) {
      signal?.throwIfAborted();
      hinted = false;
      // The try itself stops at the deadline too: a LOCK the state manager
      // keeps retrying (GRACE, DELAY, recovery) must not outlast -w.
      // A single try (timeoutMs 0) has no deadline to stop it: it is the
      // answer, GRACE and DELAY included (noWait).
      const tryStop = new AbortController();
      const tryStart = clock.now();
      const left = deadline - tryStart;
      const timer = Number.isFinite(left) && blocking
        ? clock.setTimer(
          () => tryStop.abort(new LockWaitDeadline(clock.now() - started)),
          Math.max(0, left),
        )
        : undefined;
      const lockOnce = () =>
        file.lock(range, {
          blocking,
          signal: tryStop.signal,
          noWait: !blocking,
          // GRACE and DELAY waited out only while a LOCK after them can be
          // answered before the deadline stops it (nothing left in flight).
          ...(timer !== undefined ? { answerWithinMs: Math.max(0, left) } : {}),
        });
      try {
        await (softStop ? withOperationSignal(softStop, lockOnce) : lockOnce());
      } catch (e) {
        timer?.cancel();
        noteTry(clock.now() - tryStart);
        if (!(e instanceof LockConflictError)) {
          // The deadline stopped a try in flight: the answer is the last
          // refusal, said to be that (its holder may have let go since).
          if (e === tryStop.signal.reason && !signal?.aborted && lastConflict) {
            throw new LockConflictError(lastConflict.path ?? "", lastConflict.holder, {
              cause: lastConflict,
              answeredAtMs: lastConflictAt,
            });
          }
          throw e;
        }
        lastConflict = e;
        lastConflictAt = clock.now() - started;
        signal?.throwIfAborted();
        // The next try starts no later than twice the slowest try before
        // the deadline, so that its answer comes before it (a LOCK stopped
        // in flight may have been granted: a lock this client would not know
        // of). The quickest was used before: one slow answer among quick ones
        // then left the last try in flight at the deadline.
        const room = Math.min(Math.max(2 * slowestTry, LOCK_LAST_TRY_MIN_ROOM_MS), maxDelay);
        const left = deadline - clock.now() - room;
        const pause = left > 0 ? Math.min(delay, left) : 0;
        const denial = { holder: e.holder, attempt, delayMs: pause };
        file.noteLockWait?.(denial);
        options.onDenied?.(denial);
        if (pause <= 0) {
          // No room for another try: give up at the deadline, as asked, not
          // up to the last try's room before it.
          const rest = deadline - clock.now();
          if (Number.isFinite(rest) && rest > 0) {
            await sleep(clock, rest, signal, () => {}, () => false);
          }
          throw e;
        }
        const cut = await sleep(clock, pause, signal, (end) => (endPause = end), () => hinted);
        endPause = undefined;
        // A pause a hint cut short does not count towards the backoff.
        if (cut) woken = true;
        else delay = Math.min(delay * 2, maxDelay);
        continue;
      }
      timer?.cancel();
      if (signal?.aborted) {
        // Taken after the caller gave up: give it back.
        await file.unlock(range).catch(() => {});
        signal.throwIfAborted();
      }
      return { attempts: attempt, waitedMs: clock.now() - started, woken };
    }
  } finally {
    unsubscribe?.();
  }
}

/**
 * Pauses for `ms`; resolves `true` when a hint ended the pause early
 * (including one that arrived before it began), `false` after the full
 * pause. Rejects with the signal's reason when aborted.
 */
function sleep(
  clock: WaitClock,
  ms: number,
  signal: AbortSignal | undefined,
  setEnd: (end: () => void) => void,
  hinted: () => boolean,
): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    if (hinted()) return resolve(true);
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      timer.cancel();
      signal?.removeEventListener("abort", onAbort);
      outcome();
    };
    const onAbort = () => finish(() => reject(signal?.reason));
    const timer = clock.setTimer(() => finish(() => resolve(false)), ms);
    signal?.addEventListener("abort", onAbort, { once: true });
    setEnd(() => finish(() => resolve(true)));
  });
}
