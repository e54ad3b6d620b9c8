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
