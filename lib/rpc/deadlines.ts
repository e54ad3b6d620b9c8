/**
 * Deadlines of many calls on one timer.
 *
 * A transport gives every call a deadline (30 s by default) and almost every
 * call is answered long before it. A runtime timer per call (created at the
 * send, cancelled at the reply) costs more than the rest of the call's
 * bookkeeping put together: in Deno a timer object, two ops and a cancel
 * per COMPOUND, ~4 us of a ~45 us call. {@linkcode DeadlineQueue} keeps the
 * deadlines in a list sorted by time and one runtime timer armed for the
 * earliest. Calls share a timeout, so a new deadline is nearly always the
 * latest and is appended; cancelling marks the entry, and the list is
 * compacted once cancelled entries outnumber live ones. The timer is never
 * cancelled on the way: when it fires it runs what is due, skips what was
 * cancelled and re-arms for the next live deadline.
 *
 * Deadlines fire in time order, those due at the same moment in the order
 * they were added, never before their time.
 *
 * @example
 * ```ts
 * const deadlines = new DeadlineQueue();
 * const entry = deadlines.add(30_000, () => console.log("timed out"));
 * deadlines.cancel(entry); // answered in time
 * deadlines.clear(); // nothing left armed (a closed transport)
 * ```
 * @module
 */

/** One deadline: its time and what runs then (gone once fired or cancelled). */
export interface Deadline {
  /** When it is due, on the queue's clock (ms). */
  readonly at: number;
  fire: ((arg: unknown) => void) | undefined;
  /**
   * What `fire` is called with; let go of once the deadline fires or is
   * cancelled (a cancelled entry stays in the queue until compacted, and must
   * not keep its call, and all the call reaches, alive meanwhile).
   */
  arg: unknown;
}

/** The clock and the one runtime timer a queue uses (injected by tests). */
export interface DeadlineTimers {
  /** Milliseconds, monotonic. */
  now(): number;
  /**
   * Calls `fn` after `ms` milliseconds, without keeping the process alive
   * (what is waited for keeps it alive: the socket). Returns a cancel.
   */
  arm(fn: () => void, ms: number): () => void;
}

/** The runtime's clock and timers. */
export const runtimeTimers: DeadlineTimers = {
  now: () => performance.now(),
  arm(fn, ms) {
    const id = setTimeout(fn, ms);
    // The timer outlives the calls it was armed for (it is not cancelled
    // when they are answered), so it must not keep the process alive: Node,
    // Bun and Deno's Node globals return a Timeout object, Deno's web
    // timers a number.
    if (typeof id === "number") {
      (globalThis as { Deno?: { unrefTimer?: (id: number) => void } }).Deno?.unrefTimer?.(id);
    } else {
      (id as unknown as { unref?: () => void }).unref?.();
    }
    return () => clearTimeout(id);
  },
};

/** Cancelled entries tolerated before the list is compacted (also at least the live ones). */
const COMPACT_MIN = 64;

/** Deadlines sorted by time, with one runtime timer for the earliest. */
export class DeadlineQueue {
  readonly #timers: DeadlineTimers;
  /** Sorted by `at` (ties in insertion order), from `#head` on. */
  #entries: Deadline[] = [];
  #head = 0;
  #live = 0;
  #cancelled = 0;
  /** The armed timer's cancel, and when it fires. */
  #disarm: (() => void) | undefined;
  #armedAt = Infinity;

  constructor(timers: DeadlineTimers = runtimeTimers) {
    this.#timers = timers;
  }

  /** Deadlines neither fired nor cancelled. */
  get size(): number {
    return this.#live;
  }

  /** Whether the runtime timer is armed. */
  get armed(): boolean {
    return this.#disarm !== undefined;
  }

  /**
   * Runs `fire(arg)` once `ms` milliseconds have passed, unless cancelled
   * first. The argument lets every deadline share one function (a
   * transport's calls do) instead of a closure made per deadline.
   */
  add<A>(ms: number, fire: (arg: A) => void, arg?: A): Deadline {
    const entry: Deadline = {
      at: this.#timers.now() + Math.max(0, ms),
      fire: fire as (arg: unknown) => void,
      arg,
    };
    const entries = this.#entries;
    const last = entries[entries.length - 1];
    if (entries.length === this.#head || last === undefined || last.at <= entry.at) {
      entries.push(entry);
    } else {
      // An earlier deadline than the latest (a call with a shorter timeout):
      // after every entry due at or before it, so ties keep their order.
      let low = this.#head;
      let high = entries.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (entries[middle]!.at <= entry.at) low = middle + 1;
        else high = middle;
      }
      entries.splice(low, 0, entry);
    }
    this.#live++;
    if (entry.at < this.#armedAt) this.#arm(entry.at);
    return entry;
  }

  /** Forgets `entry` (it will not fire); nothing if it already fired or was cancelled. */
  cancel(entry: Deadline): void {
    if (entry.fire === undefined) return;
    entry.fire = undefined;
    entry.arg = undefined;
    this.#live--;
    this.#cancelled++;
    if (this.#cancelled >= COMPACT_MIN && this.#cancelled > this.#live) this.#compact();
  }

  /** Cancels every deadline and the runtime timer. */
  clear(): void {
    for (let i = this.#head; i < this.#entries.length; i++) {
      this.#entries[i]!.fire = undefined;
      this.#entries[i]!.arg = undefined;
    }
    this.#entries = [];
    this.#head = 0;
    this.#live = 0;
    this.#cancelled = 0;
    this.#disarm?.();
    this.#disarm = undefined;
    this.#armedAt = Infinity;
  }

  #compact(): void {
    const kept: Deadline[] = [];
    for (let i = this.#head; i < this.#entries.length; i++) {
      const entry = this.#entries[i]!;
      if (entry.fire !== undefined) kept.push(entry);
    }
    this.#entries = kept;
    this.#head = 0;
    this.#cancelled = 0;
  }

  #arm(at: number): void {
    this.#disarm?.();
    this.#armedAt = at;
    this.#disarm = this.#timers.arm(() => this.#expire(), Math.max(0, at - this.#timers.now()));
  }

  /** The timer fired: runs what is due, then arms for the next live deadline. */
  #expire(): void {
    this.#disarm = undefined;
    this.#armedAt = Infinity;
    const now = this.#timers.now();
    for (;;) {
      const entry = this.#entries[this.#head];
      if (entry === undefined) break;
      if (entry.fire === undefined) {
        this.#dropHead();
        this.#cancelled--;
        continue;
      }
      if (entry.at > now) break;
      const { fire, arg } = entry;
      entry.fire = undefined;
      entry.arg = undefined;
      this.#dropHead();
      this.#live--;
      // It may add or cancel deadlines (it fails a call, which starts the next).
      fire(arg);
    }
    if (this.#head === this.#entries.length) {
      this.#entries = [];
      this.#head = 0;
    }
    const next = this.#entries[this.#head];
    if (next !== undefined && this.#disarm === undefined) this.#arm(next.at);
  }

  #dropHead(): void {
    this.#entries[this.#head++] = undefined as unknown as Deadline;
    // Drop the consumed front now and then rather than shifting every time.
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }
}
