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
 * The deadline is the wait's own (`-w`), not the state manager's. Each try
 * goes through `StateManager.run()`, which gives up on an operation after
 * its own deadline (4 × `--timeout`): a try the server kept answering "not
 * now" until then (NFS4ERR_GRACE after a restart, NFS4ERR_DELAY: what
 * lib/state/error_table.ts waits out), or that waited that long for the
 * client's recovery (`RecoveryTimeoutError`, nothing of it run), is taken
 * like a refusal: a pause, then another try, until the wait's deadline.
 * RFC 7530 §9.6.2 asks this of a client that meets NFS4ERR_GRACE ("the
 * client should employ a retry mechanism for the request"; RFC 8881
 * §8.4.2.1). A wait that ends so fails with a {@linkcode LockWaitDeadline}
 * saying why the lock was not granted. A single try (`timeoutMs` 0) keeps
 * the status as its answer.
 *
 * @example
 * ```ts
 * import { LockConflictError, lockWithWait, Nfs4Client, NFS4_UINT64_MAX } from "../../mod.ts";
 *
 * await using client = await Nfs4Client.connect({ host: "127.0.0.1", port: 2049 });
 * await using file = await client.open("/vfs/job.lock", { access: "write" });
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
import { LockConflictError, Nfs4Status, NfsError } from "./errors.ts";
import { actionForStatus } from "../state/error_table.ts";
import type { ClientFlag } from "../state/flags.ts";
import { RecoveryTimeoutError, SendWaitTimeoutError } from "../state/manager.ts";
import { setLongTimeout } from "../os/timers.ts";
import { operationSignal, withOperationSignal } from "../state/operation_scope.ts";

/**
 * The wait's deadline passed and the lock was not granted, though nothing
 * refused it, and nothing was taken. Either a try had no answer (the server
 * went silent, or the client's recovery took the time left), or the last
 * answer only said "not now": that answer is the `cause` (an `NfsError` of
 * NFS4ERR_GRACE or NFS4ERR_DELAY, or a `RecoveryTimeoutError`), and the
 * message names it:
 * `the lock was not granted in 300.0 s: the server was in its grace period (NFS4ERR_GRACE)`.
 */
export class LockWaitDeadline extends Error {
  /** How long the wait lasted (ms). */
  readonly waitedMs: number;

  /** `cause`: the last answer, when it said "not now" (the message names it). */
  constructor(waitedMs: number, options: { cause?: unknown } = {}) {
    const waited = `${(waitedMs / 1000).toFixed(1)} s`;
    const why = notGrantedBecause(options.cause);
    super(
      why === undefined
        ? `gave up after ${waited}: the server did not answer in time`
        : `the lock was not granted in ${waited}: ${why}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "LockWaitDeadline";
    this.waitedMs = waitedMs;
  }
}

/** Why a wait whose last answer was `answer` (one that said "not now") ended without the lock. */
function notGrantedBecause(answer: unknown): string | undefined {
  if (answer instanceof SendWaitTimeoutError) {
    return answer.waitedFor === "slot"
      ? "every session slot was held by requests waiting for replies"
      : "the lock owner's earlier request was still waiting for its reply";
  }
  if (answer instanceof RecoveryTimeoutError) {
    const step = answer.step === undefined ? "" : ` (${answer.step})`;
    return `the client was still recovering its state with the server${step}`;
  }
  if (!(answer instanceof NfsError)) return undefined;
  return answer.status === Nfs4Status.NFS4ERR_GRACE
    ? `the server was in its grace period (${answer.statusName})`
    : `the server kept answering ${answer.statusName}`;
}

/**
 * Whether a try that failed with `e` only said "not now", so that a
 * blocking wait tries again (before its deadline): a status the error table
 * waits out with no bound of its own (NFS4ERR_GRACE, NFS4ERR_DELAY; not
 * NFS4ERR_FILE_OPEN, which it waits out only briefly), given back by the
 * state manager at its operation's deadline; or that deadline passing while
 * the client's recovery still ran (`RecoveryTimeoutError`).
 *
 * Not, as a rule, when the server may have run an earlier transmission of
 * the LOCK (`RecoveryTimeoutError.mayHaveRun`; a status answering a resend,
 * `NfsError.answeredResend`): it may hold a lock for this client that the
 * client does not know of. A LOCK sent after that is safe only as the same
 * request of the same lock owner: RFC 7530 §9.7 resends a lock request that
 * timed out as its state-owner's cached request, which the server answers
 * from its cache or runs; a lock owner's own locks never conflict with its
 * request (RFC 7530 §16.10.5, RFC 8881 §18.10.4; a server without POSIX
 * semantics may answer NFS4ERR_LOCK_RANGE). The next try here is not that
 * request. lib/state/files.ts lockFile keeps a first LOCK whose outcome is
 * unknown with its owner and range only for the close to settle
 * (LockState.unsettled), and that owner, out of step with the server
 * (retired: owners.ts), is not taken again: the try after takes a new lock
 * owner (a refused try's owner is kept for the next); a lock is its lock owner's (RFC 7530
 * §9.1.5), so the new owner's LOCKs would be refused by it as by another
 * process's, until the deadline (without -w, for ever), naming this process
 * as the holder and keeping that lock alive. (Nor would the same owner's
 * open_to_lock_owner4 do, unless it is the very retransmission:
 * NFS4ERR_BAD_SEQID, RFC 7530 §16.10.5.) So such an error is the answer: it
 * says the server may have run the LOCK. The close settles such a lock
 * (LOCKT, then the same LOCK of the same owner to learn its stateid, and
 * LOCKU: lib/state/procs.ts settleUnknownLocks); one it cannot settle, the
 * CLOSE meets (NFS4ERR_LOCKS_HELD), and `nfs4 lock` then leaves its client
 * ID to expire (RFC 8881 §18.50.3), which frees it.
 *
 * Unless the server has lost this client's state since, and with it any
 * lock that transmission took: a transmission that reached the new instance
 * carried the old one's ids and was refused. That is what a LOCK in flight
 * as the server restarts meets (on 4.0 every answer after its resend is
 * marked as answering it), and what these answers say: NFS4ERR_GRACE, which
 * a server answers in the grace period after it lost its locking state (RFC
 * 7530 §9.6.2, RFC 8881 §8.4.2); a recovery called for by
 * NFS4ERR_STALE_CLIENTID or NFS4ERR_STALE_STATEID (ids "invalidated by
 * reboot or restart", RFC 7530 §9.6.2), or at a step that follows the loss
 * of the client ID (lib/state/flags.ts PURGE_STATE, LEASE_EXPIRED,
 * RECLAIM_REBOOT; a lease that expired may leave courtesy locks, which the
 * server frees for a conflicting request, RFC 7530 §9.6.3.1).
 */
function onlyNotNow(e: unknown): boolean {
  if (e instanceof RecoveryTimeoutError) return !e.mayHaveRun || afterStateLoss(e);
  // Not sent (every session slot, or its owner, busy until the try's own
  // deadline): the same as a try that waited for recovery.
  if (e instanceof SendWaitTimeoutError) return !e.mayHaveRun;
  if (!(e instanceof NfsError) || e instanceof LockConflictError) return false;
  const action = actionForStatus(e.status);
  if (action.kind !== "delay" || action.maxWaitMs !== undefined) return false;
  return !e.answeredResend || e.status === Nfs4Status.NFS4ERR_GRACE;
}

/** The recovery steps that follow the loss of the client ID, and of its state (lib/state/flags.ts). */
const AFTER_CLIENT_ID_LOST: ReadonlySet<ClientFlag> = new Set<ClientFlag>([
  "PURGE_STATE",
  "LEASE_EXPIRED",
  "RECLAIM_REBOOT",
]);

/** Whether the recovery a try gave up waiting for is one after the server lost this client's state. */
function afterStateLoss(e: RecoveryTimeoutError): boolean {
  if (e.step !== undefined && AFTER_CLIENT_ID_LOST.has(e.step)) return true;
  const status = e.cause instanceof NfsError ? e.cause.status : undefined;
  return status === Nfs4Status.NFS4ERR_STALE_CLIENTID ||
    status === Nfs4Status.NFS4ERR_STALE_STATEID;
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

/**
 * Time for the waiting: the real clock by default, a `FakeClock` in tests
 * (lib/state/clock.ts's `Clock` is one).
 */
export interface WaitClock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Calls `fn` after `ms` milliseconds, unless cancelled first. */
  setTimer(fn: () => void, ms: number): { cancel(): void };
}

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

/** How {@linkcode lockWithWait} waits: how long, how to stop it, what to report. */
export interface LockWaitOptions {
  /**
   * How long to keep trying, in ms. `0` means one try with the non-blocking
   * type (READ_LT/WRITE_LT): fail at once, NFS4ERR_GRACE and NFS4ERR_DELAY
   * included. Undefined: wait until the lock is taken or `signal` aborts.
   */
  readonly timeoutMs?: number | undefined;
  /** Stops the waiting; the promise then rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /** Ends a pause early (CB_NOTIFY_LOCK, later). */
  readonly wake?: WakeSource | undefined;
  /** Called after every denial, before the pause (for traces and progress). */
  readonly onDenied?: ((denial: LockDenial) => void) | undefined;
  /** First pause after a denial, in ms (default 100); each next one doubles. */
  readonly minDelayMs?: number | undefined;
  /** Longest pause, in ms (default 2 s). */
  readonly maxDelayMs?: number | undefined;
  /** Time for the pauses and the deadline (default: the real clock). */
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
 * lock, and while the server says "not now" (NFS4ERR_GRACE, NFS4ERR_DELAY)
 * or the client's recovery outlasts a try (see the module's comment).
 * Rejects with the last {@linkcode LockConflictError} (naming the holder)
 * when the deadline passes after a refusal, with a
 * {@linkcode LockWaitDeadline} when it passes after a "not now" or with no
 * answer, with the signal's reason when aborted, and with any other error of
 * a try as it is.
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
 * server's grace period, NFS4ERR_DELAY or a recovery and says nothing of the
 * next, and the room is at most the longest pause).
 */
export async function lockWithWait(
  file: Pick<WritableFile, "lock" | "unlock" | "noteLockWait">,
  range: LockRange,
  options: LockWaitOptions = {},
): Promise<LockWaitResult> {
  const pacing = new TryPacing(options);
  const { clock, started, deadline } = pacing;
  const signal = options.signal;
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
  // The last answer, when it said "not now" and no refusal came after it:
  // what giving up at the deadline reports then.
  let lastNotNow: unknown;
  const softStop = withOuterStop(signal);
  /** Pauses `ms` before the next try (a hint may cut it short). */
  const pauseBeforeNextTry = async (ms: number) => {
    const cut = await sleep(clock, ms, signal, (end) => (endPause = end), () => hinted);
    endPause = undefined;
    // A pause a hint cut short does not count towards the backoff.
    pacing.paused(cut);
    if (cut) woken = true;
  };
  try {
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
        pacing.noteTry(clock.now() - tryStart);
        if (e instanceof LockConflictError) {
          lastConflict = e;
          lastConflictAt = clock.now() - started;
          lastNotNow = undefined;
          signal?.throwIfAborted();
          const pause = pacing.nextPause();
          const denial = { holder: e.holder, attempt, delayMs: pause };
          file.noteLockWait?.(denial);
          options.onDenied?.(denial);
          if (pause <= 0) {
            await pacing.untilDeadline(signal);
            throw e;
          }
          await pauseBeforeNextTry(pause);
          continue;
        }
        if (e === tryStop.signal.reason && !signal?.aborted) {
          // The deadline stopped a try in flight (or waiting for recovery):
          // the answer is the last one that came. A "not now" says so; a
          // refusal is said to be that (its holder may have let go since).
          if (lastNotNow !== undefined) {
            throw new LockWaitDeadline(clock.now() - started, { cause: lastNotNow });
          }
          if (lastConflict) {
            throw new LockConflictError(lastConflict.path ?? "", lastConflict.holder, {
              cause: lastConflict,
              answeredAtMs: lastConflictAt,
            });
          }
          throw e;
        }
        // A "not now" at the state manager's deadline (4 × --timeout) is
        // not the wait's answer while its own deadline is ahead: RFC 7530
        // §9.6.2 (NFS4ERR_GRACE: "the client should employ a retry
        // mechanism"; RFC 8881 §8.4.2.1), RFC 7530 §13.1.1.3 (NFS4ERR_DELAY).
        if (!blocking || !onlyNotNow(e)) throw e;
        lastNotNow = e;
        await pauseBeforeNextTry(await pacing.pauseAfterNotNow(e, softStop, signal));
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

/** How {@linkcode openWithWait} waits: as {@linkcode lockWithWait}. */
export type OpenWaitOptions = Pick<
  LockWaitOptions,
  "timeoutMs" | "signal" | "minDelayMs" | "maxDelayMs" | "clock"
>;

/**
 * Opens the file whose lock is to be waited for (`nfs4 lock`), within the
 * same wait: `open` is called with the time left (ms; undefined without a
 * deadline) as the OPEN's `answerWithinMs`, and called again, after the
 * same pauses as a refused LOCK, while the server only says "not now" (an
 * OPEN is refused NFS4ERR_GRACE too in the grace period, RFC 7530 §9.6.2,
 * RFC 8881 §8.4.2.1) or the client's recovery outlasts a try, until the
 * deadline: then it rejects with a {@linkcode LockWaitDeadline} naming the
 * last answer. `timeoutMs` 0 (`lock -n`): one try, its status the answer.
 * The answers tried again are those {@linkcode lockWithWait} tries again.
 * Each try runs under a soft stop at the deadline
 * (lib/state/operation_scope.ts): its waits end there, an OPEN in flight is
 * answered (its state kept), and no try starts without the room a LOCK
 * would be given.
 *
 * @example
 * ```ts
 * import { Nfs4Client } from "../../mod.ts";
 * import { openWithWait } from "./lock_wait.ts";
 *
 * await using client = await Nfs4Client.connect({ host: "127.0.0.1", port: 2049 });
 * await using file = await openWithWait(
 *   (within) =>
 *     client.open("/vfs/job.lock", {
 *       access: "write",
 *       ...(within === undefined ? {} : { answerWithinMs: within }),
 *     }),
 *   { timeoutMs: 300_000 },
 * );
 * ```
 */
export async function openWithWait<T>(
  open: (answerWithinMs: number | undefined) => Promise<T>,
  options: OpenWaitOptions = {},
): Promise<T> {
  if (options.timeoutMs === 0) return await open(0);
  const pacing = new TryPacing(options);
  const { clock, started, deadline } = pacing;
  const signal = options.signal;
  const softStop = withOuterStop(signal);
  let lastNotNow: unknown;
  for (;;) {
    signal?.throwIfAborted();
    const tryStop = new AbortController();
    const tryStart = clock.now();
    const left = deadline - tryStart;
    const timer = Number.isFinite(left)
      ? clock.setTimer(
        () =>
          tryStop.abort(
            new LockWaitDeadline(
              clock.now() - started,
              lastNotNow === undefined ? {} : { cause: lastNotNow },
            ),
          ),
        Math.max(0, left),
      )
      : undefined;
    const stop = softStop ? AbortSignal.any([softStop, tryStop.signal]) : tryStop.signal;
    try {
      return await withOperationSignal(
        stop,
        () => open(Number.isFinite(left) ? Math.max(0, left) : undefined),
      );
    } catch (e) {
      if (e === tryStop.signal.reason && !signal?.aborted) throw e;
      pacing.noteTry(clock.now() - tryStart);
      if (!onlyNotNow(e)) throw e;
      lastNotNow = e;
      const pause = await pacing.pauseAfterNotNow(e, softStop, signal);
      pacing.paused(await sleep(clock, pause, signal, () => {}, () => false));
    } finally {
      timer?.cancel();
    }
  }
}

/** The caller's signal, with the soft stop of the work this runs in (lib/state/operation_scope.ts). */
function withOuterStop(signal: AbortSignal | undefined): AbortSignal | undefined {
  const outer = operationSignal();
  return signal && outer && outer !== signal ? AbortSignal.any([signal, outer]) : signal ?? outer;
}

/**
 * When the tries of a wait go: the backoff between them, and the room the
 * last one is given before the deadline.
 */
class TryPacing {
  readonly clock: WaitClock;
  readonly started: number;
  readonly deadline: number;
  readonly #maxDelay: number;
  #delay: number;
  /**
   * The slowest a try was answered (ms), leaving out those slower than the
   * longest pause (they waited inside): twice it is the room the last one
   * is given before the deadline.
   */
  #slowestTry = 0;

  constructor(options: OpenWaitOptions) {
    this.clock = options.clock ?? waitClock;
    const minDelay = options.minDelayMs ?? LOCK_RETRY_MIN_MS;
    this.#maxDelay = Math.max(minDelay, options.maxDelayMs ?? LOCK_RETRY_MAX_MS);
    this.#delay = minDelay;
    this.started = this.clock.now();
    this.deadline = options.timeoutMs === undefined ? Infinity : this.started + options.timeoutMs;
  }

  /** A try took `ms` to be answered. */
  noteTry(ms: number): void {
    if (ms <= this.#maxDelay) this.#slowestTry = Math.max(this.#slowestTry, ms);
  }

  /**
   * The pause before the next try: the backoff, cut so that the next try
   * starts no later than twice the slowest try before the deadline, so that
   * its answer comes before it (a LOCK stopped in flight may have been
   * granted: a lock this client would not know of). The quickest was used
   * before: one slow answer among quick ones then left the last try in
   * flight at the deadline. 0: no room for another try.
   */
  nextPause(): number {
    const room = Math.min(
      Math.max(2 * this.#slowestTry, LOCK_LAST_TRY_MIN_ROOM_MS),
      this.#maxDelay,
    );
    const left = this.deadline - this.clock.now() - room;
    return left > 0 ? Math.min(this.#delay, left) : 0;
  }

  /** A pause ended; one a hint cut short does not count towards the backoff. */
  paused(cut: boolean): void {
    if (!cut) this.#delay = Math.min(this.#delay * 2, this.#maxDelay);
  }

  /** Waits out what is left of the wait: giving up comes at the deadline, as asked. */
  async untilDeadline(signal: AbortSignal | undefined): Promise<void> {
    const rest = this.deadline - this.clock.now();
    if (Number.isFinite(rest) && rest > 0) {
      await sleep(this.clock, rest, signal, () => {}, () => false);
    }
  }

  /**
   * After a try answered "not now" (`answer`, onlyNotNow): the pause before
   * the next one; with no room left for another, giving up at the deadline
   * with a {@linkcode LockWaitDeadline} naming `answer`. Ctrl-C (`softStop`,
   * with the work's own stop) wins over waiting on.
   */
  async pauseAfterNotNow(
    answer: unknown,
    softStop: AbortSignal | undefined,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    softStop?.throwIfAborted();
    const pause = this.nextPause();
    if (pause > 0) return pause;
    await this.untilDeadline(signal);
    throw new LockWaitDeadline(this.clock.now() - this.started, { cause: answer });
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
