/**
 * Time, injected: the state manager and the lease renewer take a `Clock`, so
 * tests drive renewal and grace waits with {@linkcode FakeClock} instead of
 * sleeping (the std FakeTime / MQTT.js KeepaliveManager idea).
 * @module
 */

import { outsideOperationScope } from "./operation_scope.ts";
import { setLongTimeout } from "../os/timers.ts";

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Calls `fn` after `ms` milliseconds, without keeping the process alive. */
  setTimer(fn: () => void, ms: number): TimerHandle;
  /** Resolves after `ms`; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function sleepWith(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      timer.cancel();
      reject(signal?.reason);
    };
    const timer = clock.setTimer(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The real clock. Timers are unref'd: a pending renewal never keeps a command running. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(fn, ms) {
    // A timer's work (renewal, lease expiry) is the manager's own, not that
    // of the operation that armed it (operation_scope.ts).
    // Of any length: a lease of up to 2^32 - 1 seconds sets these timers
    // (lib/os/timers.ts).
    const cancel = setLongTimeout(() => outsideOperationScope(fn), ms, { keepAlive: false });
    return { cancel };
  },
  sleep(ms, signal) {
    return sleepWith(systemClock, ms, signal);
  },
};

/**
 * A clock that moves only when told. `advance(ms)` runs every timer due, in
 * order, letting promise callbacks settle between them.
 */
export class FakeClock implements Clock {
  #now = 0;
  #seq = 0;
  #timers: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = [];

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }

  /** Timers not yet run or cancelled. */
  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    for (;;) {
      await settle();
      const due = this.#timers
        .filter((t) => !t.cancelled && t.at <= until)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.#timers.splice(this.#timers.indexOf(due), 1);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
    }
    this.#now = until;
    this.#timers = this.#timers.filter((t) => !t.cancelled);
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}
