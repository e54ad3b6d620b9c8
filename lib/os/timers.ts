/**
 * Timers of any length.
 *
 * `setTimeout` holds its delay in a signed 32-bit integer of milliseconds:
 * Node, Bun and Deno run a longer one (more than about 24.8 days) after 1 ms,
 * with a `TimeoutOverflowWarning` on stderr. Some waits here can be that
 * long: `nfs4 lock -w` takes up to a year, and a server's lease_time (a
 * 32-bit number of seconds, RFC 7530 §5.8.1.11) sets the renewal and
 * lease-expiry timers. Such a wait would have ended at once (a lock given
 * up on its first try, a renewal sent every millisecond). A long wait here
 * runs as a chain of runtime timers of at most {@linkcode MAX_TIMEOUT_MS}.
 *
 * And a hold of the event loop ({@linkcode holdEventLoop}) for a program
 * whose waits are all unref'd timers, which Bun spins on.
 * @module
 */

/** The longest delay one runtime timer takes: 2^31 - 1 ms. */
export const MAX_TIMEOUT_MS = 0x7fffffff;

/** The runtime's timers and clock, as {@linkcode setLongTimeout} uses them (tests inject their own). */
export interface TimerRuntime {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
  /** Milliseconds, monotonic. */
  now(): number;
}

const RUNTIME: TimerRuntime = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
  now: () => performance.now(),
};

/** Options of {@linkcode setLongTimeout}. */
export interface LongTimeoutOptions {
  /**
   * Whether the pending timer keeps the process alive (default true); false
   * unrefs it (Node, Bun and Deno's Node globals return a Timeout object to
   * unref, Deno's web timers a number).
   */
  readonly keepAlive?: boolean;
  /** For tests: timers and clock other than the runtime's. */
  readonly runtime?: TimerRuntime;
}

/**
 * Calls `fn` once `ms` milliseconds have passed, however many that is
 * (`Infinity`: never). Returns a cancel. A delay of at most
 * {@linkcode MAX_TIMEOUT_MS} is one runtime timer, as `setTimeout` is.
 *
 * @example
 * ```ts
 * const cancel = setLongTimeout(() => console.log("a month later"), 30 * 86_400_000);
 * cancel();
 * ```
 */
export function setLongTimeout(
  fn: () => void,
  ms: number,
  options: LongTimeoutOptions = {},
): () => void {
  const keepAlive = options.keepAlive ?? true;
  const runtime = options.runtime ?? RUNTIME;
  if (ms <= MAX_TIMEOUT_MS || Number.isNaN(ms)) {
    const id = runtime.setTimeout(fn, ms);
    if (!keepAlive) unref(id);
    return () => runtime.clearTimeout(id);
  }
  const end = runtime.now() + ms;
  let id: unknown;
  const arm = (wait: number): void => {
    if (wait === Infinity) return;
    id = runtime.setTimeout(step, Math.min(wait, MAX_TIMEOUT_MS));
    if (!keepAlive) unref(id);
  };
  const step = (): void => {
    const left = end - runtime.now();
    if (left > 0) arm(left);
    else fn();
  };
  arm(ms);
  return () => {
    if (id !== undefined) runtime.clearTimeout(id);
  };
}

function unref(id: unknown): void {
  if (typeof id === "number") {
    (globalThis as { Deno?: { unrefTimer?: (id: number) => void } }).Deno?.unrefTimer?.(id);
  } else {
    (id as unknown as { unref?: () => void }).unref?.();
  }
}

/** Starts and stops the one timer {@linkcode EventLoopHolds} keeps (tests inject their own). */
export interface HoldRuntime {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(id: unknown): void;
}

/** The period of the holding timer: its callback does nothing, and rarely. */
export const HOLD_INTERVAL_MS = 2 ** 30;

/**
 * Holds of the event loop, counted: one runtime timer that is not unref'd
 * runs while at least one hold lasts (see {@linkcode holdEventLoop}).
 */
export class EventLoopHolds {
  readonly #runtime: HoldRuntime;
  #count = 0;
  #timer: unknown;

  constructor(runtime: HoldRuntime) {
    this.#runtime = runtime;
  }

  /** Whether a hold lasts. */
  get held(): boolean {
    return this.#count > 0;
  }

  /** Takes a hold; the function returned lets go of it (once; again does nothing). */
  hold(): () => void {
    if (this.#count++ === 0) this.#timer = this.#runtime.setInterval(() => {}, HOLD_INTERVAL_MS);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#count > 0) return;
      this.#runtime.clearInterval(this.#timer);
      this.#timer = undefined;
    };
  }
}

const HOLDS = new EventLoopHolds({
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (id) => clearInterval(id as ReturnType<typeof setInterval>),
});

/**
 * Keeps the process's event loop held (a runtime timer that is not
 * unref'd) until the function returned is called: for a wait that the
 * program is waiting for and that is made only of unref'd timers.
 *
 * Why: Bun (1.4.5) keeps a process alive while its top-level await is
 * pending, but when nothing in its event loop is ref'd it never blocks in
 * epoll: the main thread polls its timers in a loop, at up to 100% of a
 * core and without a system call, until something ref'd appears. (Node
 * exits 13 then; Deno sleeps.) Measured: `await new Promise((r) =>
 * setTimeout(r, 3000).unref())` alone took 1.4-1.9 CPU-s of its 3 s under
 * Bun, 3 ms under Deno, and 2 ms under Bun with a hold. The state
 * manager's waits are unref'd timers (lib/state/clock.ts: a pending renewal
 * never keeps a program running), so an operation waiting to resend to a
 * server that has gone (the connection refused: no socket is left) spun:
 * `nfs4 tail -f` at 70-100 clock ticks a second for as long as the server
 * was down. Held, Bun sleeps in epoll until the next timer is due, unref'd
 * ones included. Holds are counted: the timer runs while any lasts.
 *
 * @example
 * ```ts
 * const release = holdEventLoop();
 * try {
 *   await new Promise((r) => setTimeout(r, 1_000).unref()); // asleep in Bun too
 * } finally {
 *   release();
 * }
 * ```
 */
export function holdEventLoop(): () => void {
  return HOLDS.hold();
}
