/**
 * The trace's time base as a command sees it. Trace events carry the
 * seconds since their client's tracer started (lib/state/trace.ts), a start
 * the client API does not tell; a command that prints lines of its own
 * among the events (renew-watch's `watch` and `verdict` objects), or must
 * say what happened before or after one of its own acts (the shell's
 * `trace` mode changes), needs the same time base.
 *
 * The tracer delivers an event to its sinks as it emits it, synchronously
 * (Tracer.emit), so `performance.now()` when a sink receives it, less the
 * event's time, is the tracer's start to within the few microseconds of the
 * delivery. A summary of a READ or WRITE run is delivered after its time
 * (at the next event): the smallest difference seen is the estimate.
 * @module
 */

import type { TraceEvent } from "../lib/client/trace.ts";

/** Learns the trace's start from the events a sink receives. */
export class TraceClock {
  readonly #now: () => number;
  /** Before any event: the clock's creation (as close to the client's start as the command knows). */
  readonly #created: number;
  /** The trace's start on `now`'s clock (ms), once an event was seen. */
  #startMs: number | undefined;

  /** `now`: the clock the tracer uses, in milliseconds (`performance.now()`, its default). */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
    this.#created = now();
  }

  /** Called with each event as the sink receives it. */
  see(event: TraceEvent): void {
    const start = this.#now() - event.time * 1000;
    if (this.#startMs === undefined || start < this.#startMs) this.#startMs = start;
  }

  /** Now, in the trace's seconds (since this clock was created, while no event was seen). */
  seconds(): number {
    return (this.#now() - (this.#startMs ?? this.#created)) / 1000;
  }
}

/**
 * When the COMPOUND (or the run of READs or WRITEs) an `ops` event tells was
 * sent, in trace seconds: the event's time is its reply's (the run's last),
 * and `ms` is how long it took (the whole run's).
 */
export function opsSentAt(event: TraceEvent): number {
  const ms = event.data?.ms;
  return event.time - (typeof ms === "number" ? ms / 1000 : 0);
}
