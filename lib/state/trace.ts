/**
 * State-manager trace events: what `--trace` prints and what library users
 * receive through `onTrace`. Every event comes from lib/state; commands only
 * print them.
 *
 * Text form, one line each, relative seconds first:
 * ```
 *   2.031 state  +SESSION_RESET  (SEQUENCE -> NFS4ERR_BADSESSION)
 * ```
 * JSON form: one object per line, `{"t":2.031,"cat":"state","event":"+SESSION_RESET",...}`.
 * @module
 */

/** What an event is about. */
export type TraceCategory =
  | "state" // a cl_state flag set (+NAME) or cleared (-NAME)
  | "step" // a state-manager step started or finished
  | "clid" // client ID established, confirmed, destroyed
  | "sess" // session created, destroyed, slot table changes
  | "lease" // renewals and lease expiry
  | "owner" // open and lock owners, seqids
  | "open" // open stateids
  | "lock" // lock stateids and ranges
  | "deleg" // delegations
  | "cb" // callbacks received
  | "conn" // the TCP connection to the server
  | "retry" // an operation waiting and retrying (DELAY, GRACE)
  | "error"; // an operation failed for good

export interface TraceEvent {
  /** Seconds since the client was created. */
  readonly time: number;
  readonly category: TraceCategory;
  /** Short name: `+SESSION_RESET`, `RENEW ok`, `OPEN reclaimed`. */
  readonly event: string;
  /** Why, or the result: `SEQUENCE -> NFS4ERR_BADSESSION`, `rtt 0.4 ms, lease left 58.1 s`. */
  readonly detail?: string;
  /** Structured fields for `--trace=json` and API users. */
  readonly data?: Readonly<Record<string, unknown>>;
}

export type TraceSink = (event: TraceEvent) => void;

/** `  2.031 state  +SESSION_RESET  (SEQUENCE -> NFS4ERR_BADSESSION)` */
export function formatTraceText(event: TraceEvent): string {
  const time = event.time.toFixed(3).padStart(8);
  const head = `${time} ${event.category.padEnd(5)} ${event.event}`;
  return event.detail ? `${head}  (${event.detail})` : head;
}

/** One JSON object, bigints as decimal strings, byte arrays as hex. */
export function formatTraceJson(event: TraceEvent): string {
  return JSON.stringify(
    {
      t: Number(event.time.toFixed(6)),
      cat: event.category,
      event: event.event,
      ...(event.detail ? { detail: event.detail } : {}),
      ...event.data,
    },
    (_key, value) => {
      if (typeof value === "bigint") return value.toString();
      if (value instanceof Uint8Array) {
        return Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("");
      }
      return value;
    },
  );
}

/** Emits events stamped with time relative to a start instant. */
export class Tracer {
  readonly #sinks: TraceSink[] = [];
  readonly #start: number;
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now(), sink?: TraceSink) {
    this.#now = now;
    this.#start = now();
    if (sink) this.#sinks.push(sink);
  }

  /** Adds a receiver of events. */
  subscribe(sink: TraceSink): () => void {
    this.#sinks.push(sink);
    return () => {
      const i = this.#sinks.indexOf(sink);
      if (i >= 0) this.#sinks.splice(i, 1);
    };
  }

  get active(): boolean {
    return this.#sinks.length > 0;
  }

  /** An instant of the same clock as trace time: `12.345 s` since the start. */
  at(instant: number): string {
    return `${((instant - this.#start) / 1000).toFixed(3)} s`;
  }

  emit(
    category: TraceCategory,
    event: string,
    detail?: string,
    data?: Record<string, unknown>,
  ): void {
    if (this.#sinks.length === 0) return;
    const time = (this.#now() - this.#start) / 1000;
    const e: TraceEvent = {
      time,
      category,
      event,
      ...(detail !== undefined ? { detail } : {}),
      ...(data !== undefined ? { data } : {}),
    };
    for (const sink of this.#sinks) sink(e);
  }
}
