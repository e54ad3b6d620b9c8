/**
 * State-manager trace events: what `--trace` prints and what library users
 * receive through `onTrace`. Every event comes from lib/state; commands only
 * print them.
 *
 * Text form, one line each, relative seconds first:
 * ```
 *   2.031 state  +SESSION_RESET  (SEQUENCE -> NFS4ERR_BADSESSION)
 *   2.034 ops   xid=0x1a2b3c4d slot=0 seq=5  SEQUENCE ok, PUTROOTFH ok, LOOKUP NFS4ERR_NOENT  (180 B -> 96 B, 0.31 ms)
 * ```
 * JSON form: one object per line, `{"t":2.031,"cat":"state","event":"+SESSION_RESET",...}`.
 *
 * The `ops` category (one event per COMPOUND sent or callback answered) is
 * delivered only to sinks that ask for it ({@linkcode TraceFilter}), and the
 * state manager builds nothing for it unless one does (`Tracer.wants`): a
 * 1 GiB read costs no event objects when nobody listens. For such a sink,
 * runs of successful READ or WRITE COMPOUNDs are summarised, one event a
 * second or per {@linkcode OPS_RUN_MAX} of them (`READ x512 ok  (512.0 MiB
 * in 1.02 s, ...)`), unless it asks for every one (`everyOp`); any other
 * COMPOUND, and any that failed, is its own event, after the run so far.
 * @module
 */

import { statusName } from "../nfs4/status.ts";

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
  | "error" // an operation failed for good
  | "server" // who the server is (EXCHANGE_ID's implementation id), once
  | "ops"; // one COMPOUND sent (or CB_COMPOUND answered): ops, statuses, bytes, time

/** Every category, in the order help lists them. */
export const TRACE_CATEGORIES: readonly TraceCategory[] = [
  "state",
  "step",
  "clid",
  "sess",
  "lease",
  "owner",
  "open",
  "lock",
  "deleg",
  "cb",
  "conn",
  "retry",
  "error",
  "server",
  "ops",
];

/** What a sink gets when it does not say: every category but `ops`. */
export const DEFAULT_TRACE_CATEGORIES: readonly TraceCategory[] = TRACE_CATEGORIES.filter(
  (c) => c !== "ops",
);

/**
 * Which events a sink wants. `server` (one line naming the server) is
 * delivered to every sink whatever it asks.
 */
export interface TraceFilter {
  /** The categories delivered; {@linkcode DEFAULT_TRACE_CATEGORIES} when absent. */
  readonly categories?: readonly TraceCategory[] | undefined;
  /** `ops`: every READ and WRITE COMPOUND its own event, never summarised. */
  readonly everyOp?: boolean | undefined;
}

/**
 * One thing the state manager did or saw: what `--trace` prints, one line
 * each ({@linkcode formatTraceText}, {@linkcode formatTraceJson}), and
 * what a {@linkcode TraceSink} receives.
 */
export interface TraceEvent {
  /** Seconds since the client was created. */
  readonly time: number;
  /** What it is about (`state`, `open`, `ops`...). */
  readonly category: TraceCategory;
  /** Short name: `+SESSION_RESET`, `RENEW ok`, `OPEN reclaimed`. */
  readonly event: string;
  /** Why, or the result: `SEQUENCE -> NFS4ERR_BADSESSION`, `rtt 0.4 ms, lease left 58.1 s`. */
  readonly detail?: string;
  /** Structured fields for `--trace=json` and API users. */
  readonly data?: Readonly<Record<string, unknown>>;
}

/**
 * Receives events; a `filter` on it says which (the default categories
 * otherwise). It is called synchronously, from inside the client's work
 * (a CLOSE, a lease renewal's timer): what it throws is kept from the
 * client, which goes on as if the sink had returned, and the sink is
 * dropped, told of no more events. The failure is reported once: an
 * `error` event `trace sink dropped` to the other sinks, and the error on
 * `console.error`. A sink that must not lose events catches its own errors.
 */
export type TraceSink = ((event: TraceEvent) => void) & { readonly filter?: TraceFilter };

/**
 * A sink that receives what `filter` asks for.
 * @example
 * ```ts
 * import { Nfs4Client } from "../../mod.ts";
 *
 * const client = await Nfs4Client.connect({
 *   host: "127.0.0.1",
 *   port: 2049,
 *   onTrace: filteredSink((e) => console.error(formatTraceText(e)), { categories: ["ops"] }),
 * });
 * await client.close();
 * ```
 */
export function filteredSink(
  sink: (event: TraceEvent) => void,
  filter: TraceFilter,
): TraceSink {
  return Object.assign((event: TraceEvent) => sink(event), { filter });
}

/** `  2.031 state  +SESSION_RESET  (SEQUENCE -> NFS4ERR_BADSESSION)` */
export function formatTraceText(event: TraceEvent): string {
  const time = event.time.toFixed(3).padStart(8);
  const head = `${time} ${event.category.padEnd(5)} ${visible(event.event)}`;
  return event.detail ? `${head}  (${visible(event.detail)})` : head;
}

/** C0 and C1 control characters and DEL. */
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * `text` with control characters written as `\xHH`: events carry what a
 * server sent (file names, link targets, its implementation name), and a
 * trace line is one line that sends nothing to the terminal but its text.
 */
export function visible(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/**
 * Fields of `data` that hold a 64-bit identifier as a bigint: in JSON, `0x`
 * and 16 hex digits, the form the text detail, renew-watch's JSON and
 * tshark give them (`"clientid":"0x6b16a81f0000000a"`).
 */
const HEX_ID_FIELDS: ReadonlySet<string> = new Set(["clientid"]);

/** `0x6b16a81f0000000a`: a 64-bit identifier as the text trace and tshark show it. */
function hexId(value: bigint): string {
  return `0x${BigInt.asUintN(64, value).toString(16).padStart(16, "0")}`;
}

/**
 * One JSON object: 64-bit identifiers (`clientid`) as `0x` and 16 hex
 * digits, other bigints (sizes, offsets) as decimal strings, byte arrays
 * (session ids) as hex, as the text detail shows them. Library users get
 * `data` as it is (`clientid` a bigint).
 */
export function formatTraceJson(event: TraceEvent): string {
  return JSON.stringify(
    {
      t: Number(event.time.toFixed(6)),
      cat: event.category,
      event: event.event,
      ...(event.detail ? { detail: event.detail } : {}),
      ...event.data,
    },
    (key, value) => {
      if (typeof value === "bigint") {
        return HEX_ID_FIELDS.has(key) ? hexId(value) : value.toString();
      }
      if (value instanceof Uint8Array) {
        return Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("");
      }
      return value;
    },
  );
}

/**
 * One COMPOUND as the state manager saw it go out and come back (or a
 * CB_COMPOUND the server sent and we answered), for the `ops` category.
 */
export interface CompoundTrace {
  /** `call`: we sent it; `callback`: the server did (CB_COMPOUND). */
  readonly direction: "call" | "callback";
  /** The RPC xid, when the channel tells it. */
  readonly xid?: number | undefined;
  /** 4.1 slot and sequence id (SEQUENCE or CB_SEQUENCE). */
  readonly slot?: number | undefined;
  /** Its slot's sequence id (4.1). */
  readonly seqid?: number | undefined;
  /** The operations sent, by name. */
  readonly ops: readonly string[];
  /** The reply's operations (those the server ran); none when no reply came. */
  readonly outcomes?: readonly {
    readonly name: string;
    readonly status: number;
    readonly value?: unknown;
  }[];
  /**
   * The reply's COMPOUND status: what a reply with no results says (the
   * server ran none of the ops: NFS4ERR_MINOR_VERS_MISMATCH, RFC 7530
   * §15.2 and RFC 8881 §15.1.3.5; a COMPOUND refused whole).
   */
  readonly status?: number | undefined;
  /** Why no reply came (timeout, connection lost, interrupted). */
  readonly error?: string;
  /** Bytes of the request's and the reply's RPC messages, when known. */
  readonly sentBytes?: number | undefined;
  /** Bytes of the reply's RPC message. */
  readonly receivedBytes?: number | undefined;
  /** From sending to the reply (or to giving up), in milliseconds. */
  readonly ms: number;
}

/** A summary event at most this many READ or WRITE COMPOUNDs long (or a second). */
export const OPS_RUN_MAX = 1024;
const OPS_RUN_MS = 1000;

/** `512 B`, `1.5 KiB`, `512.0 MiB`. */
function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** `0.31 ms`, `12.4 ms`, `2001 ms`. */
function formatMs(ms: number): string {
  return `${ms < 10 ? ms.toFixed(2) : ms < 1000 ? ms.toFixed(1) : ms.toFixed(0)} ms`;
}

function hexXid(xid: number): string {
  return `0x${xid.toString(16).padStart(8, "0")}`;
}

/** The data bytes a READ returned or a WRITE wrote, else undefined. */
function dataBytes(name: string, value: unknown): number | undefined {
  if (name === "READ") return (value as { data?: Uint8Array } | undefined)?.data?.length;
  if (name === "WRITE") return (value as { count?: number } | undefined)?.count;
  return undefined;
}

/** Operations that only frame a READ or WRITE (a run of them is summarised). */
const FRAMING = new Set(["SEQUENCE", "PUTFH"]);

/**
 * The READ or WRITE a successful plain I/O COMPOUND did (`[SEQUENCE,] PUTFH,
 * READ|WRITE`, all NFS4_OK), with its data bytes; else undefined.
 */
function bulkOf(c: CompoundTrace): { op: string; bytes: number } | undefined {
  if (c.direction !== "call" || !c.outcomes || c.outcomes.length !== c.ops.length) return undefined;
  let bulk: { op: string; bytes: number } | undefined;
  for (const o of c.outcomes) {
    if (o.status !== 0) return undefined;
    if (FRAMING.has(o.name)) continue;
    const bytes = bulk === undefined ? dataBytes(o.name, o.value) : undefined;
    if (bytes === undefined) return undefined;
    bulk = { op: o.name, bytes };
  }
  return bulk;
}

/**
 * Groups of ops folded when repeated: a small file's PUTFH..CLOSE is 6; a
 * path walk's LOOKUP GETFH GETATTR (3) is left as it was always told.
 */
const FOLD_MIN = 4;
const FOLD_MAX = 8;

/**
 * The same group of ops with the same statuses repeated back to back, as
 * several small files in one COMPOUND give (lib/state/small_file.ts), is
 * told once with its count: `3 x (PUTFH ok, OPEN ok, ..., CLOSE ok)`. The
 * JSON event keeps every op.
 */
function withRepeatsFolded(items: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < items.length;) {
    let best = { length: 1, times: 1 };
    for (let length = FOLD_MIN; length <= FOLD_MAX && i + 2 * length <= items.length; length++) {
      let times = 1;
      while (
        i + (times + 1) * length <= items.length &&
        items.slice(i + times * length, i + (times + 1) * length).every((x, k) =>
          x === items[i + k]
        )
      ) {
        times++;
      }
      if (times > 1 && length * times > best.length * best.times) best = { length, times };
    }
    const group = items.slice(i, i + best.length);
    out.push(
      best.times === 1
        ? group[0]!
        : `${best.times} x ${group.length === 1 ? group[0] : `(${group.join(", ")})`}`,
    );
    i += best.length * best.times;
  }
  return out;
}

/** The `ops` event of one COMPOUND. */
function compoundEvent(time: number, c: CompoundTrace): TraceEvent {
  const head = [
    ...(c.direction === "callback" ? ["callback"] : []),
    ...(c.xid !== undefined ? [`xid=${hexXid(c.xid)}`] : []),
    ...(c.slot !== undefined ? [`slot=${c.slot}`] : []),
    ...(c.seqid !== undefined ? [`seq=${c.seqid}`] : []),
  ].join(" ");
  const ops: { op: string; status?: string; bytes?: number }[] = [];
  let list: string;
  /** The COMPOUND's own status, told when no op has one: a reply without results. */
  let refused: string | undefined;
  if (c.outcomes?.length === 0 && c.ops.length > 0) {
    // Answered, but no op ran: the ops sent, and the COMPOUND's status.
    for (const op of c.ops) ops.push({ op });
    refused = c.status !== undefined && c.status !== 0 ? statusName(c.status) : undefined;
    list = `${c.ops.join(", ")} not run: ${
      refused !== undefined ? `COMPOUND ${refused}` : "no results"
    }`;
  } else if (c.outcomes) {
    list = withRepeatsFolded(c.outcomes.map((o) => {
      const bytes = o.status === 0 ? dataBytes(o.name, o.value) : undefined;
      ops.push({
        op: o.name,
        status: statusName(o.status),
        ...(bytes !== undefined ? { bytes } : {}),
      });
      return `${o.name} ${o.status === 0 ? "ok" : statusName(o.status)}`;
    })).join(", ");
    // A COMPOUND stops at its first failure: what was sent after it never ran.
    const notRun = c.ops.length - c.outcomes.length;
    if (notRun > 0 && c.outcomes.some((o) => o.status !== 0)) list += ` (${notRun} more not run)`;
  } else {
    for (const op of c.ops) ops.push({ op });
    // A callback not answered afresh says why in place of the statuses.
    list = `${c.ops.join(", ")}: ${
      c.direction === "callback" ? c.error ?? "not answered" : "no reply"
    }`;
  }
  const sizes = c.direction === "callback"
    ? [c.receivedBytes, c.sentBytes].every((n) => n !== undefined)
      ? `${formatBytes(c.receivedBytes!)} in -> ${formatBytes(c.sentBytes!)} out, `
      : ""
    : c.sentBytes !== undefined
    ? `${formatBytes(c.sentBytes)} -> ${
      c.receivedBytes !== undefined && c.outcomes ? formatBytes(c.receivedBytes) : "nothing"
    }, `
    : "";
  return {
    time,
    category: "ops",
    event: head ? `${head}  ${list}` : list,
    detail: `${sizes}${formatMs(c.ms)}${
      c.error !== undefined && c.direction === "call" ? `: ${c.error}` : ""
    }`,
    data: {
      ...(c.direction === "callback" ? { callback: true } : {}),
      ...(c.xid !== undefined ? { xid: hexXid(c.xid) } : {}),
      ...(c.slot !== undefined ? { slot: c.slot } : {}),
      ...(c.seqid !== undefined ? { seqid: c.seqid } : {}),
      ops,
      ...(refused !== undefined ? { status: refused } : {}),
      ...(c.sentBytes !== undefined ? { sent: c.sentBytes } : {}),
      ...(c.receivedBytes !== undefined && c.outcomes ? { received: c.receivedBytes } : {}),
      ms: Number(c.ms.toFixed(3)),
      ...(c.error !== undefined ? { error: c.error } : {}),
    },
  };
}

/** Successful READ (or WRITE) COMPOUNDs in a row, not yet told. */
interface OpsRun {
  readonly op: string;
  /** The first one's event: told as it is when the run stays one long. */
  readonly first: TraceEvent;
  /** When the first was sent, in trace seconds. */
  readonly start: number;
  end: number;
  count: number;
  bytes: number;
  sent: number;
  received: number;
  /**
   * The xids of the run's COMPOUNDs: the first one's, and the lowest and
   * highest as signed distances from it (xids count up per call, and may
   * wrap). The range is of the calls summarised, not of the replies in the
   * order they came: replies come back out of order, and a Wireshark filter
   * on `xid A..B` must find every READ counted.
   */
  readonly firstXid: number | undefined;
  xidLow: number;
  xidHigh: number;
}

/** The xid `distance` after `first` (mod 2^32), as the trace prints xids. */
function xidAt(first: number, distance: number): string {
  return hexXid((first + distance) >>> 0);
}

function runEvent(run: OpsRun): TraceEvent {
  if (run.count === 1) return run.first;
  const seconds = run.end - run.start;
  const first = run.firstXid;
  const low = first === undefined ? undefined : xidAt(first, run.xidLow);
  const high = first === undefined ? undefined : xidAt(first, run.xidHigh);
  return {
    time: run.end,
    category: "ops",
    event: `${run.op} x${run.count} ok`,
    detail: `${formatBytes(run.bytes)} in ${seconds.toFixed(2)} s, ${formatBytes(run.sent)} -> ${
      formatBytes(run.received)
    }${low !== undefined ? `, xid ${low}..${high}` : ""}`,
    data: {
      summary: true,
      op: run.op,
      count: run.count,
      bytes: run.bytes,
      sent: run.sent,
      received: run.received,
      ms: Number((seconds * 1000).toFixed(3)),
      ...(low !== undefined ? { xids: [low, high] } : {}),
    },
  };
}

/** One receiver and what it asked for. */
interface Subscription {
  readonly sink: TraceSink;
  readonly categories: ReadonlySet<TraceCategory>;
  readonly everyOp: boolean;
  run: OpsRun | undefined;
  /** Unsubscribed, or dropped after it threw: told nothing more. */
  dropped: boolean;
}

/**
 * Emits events stamped with time relative to a start instant. A sink that
 * throws is dropped (see {@linkcode TraceSink}): emitting never throws.
 */
export class Tracer {
  #subs: Subscription[] = [];
  readonly #start: number;
  readonly #now: () => number;
  #wantsOps = false;

  /** A tracer whose event times count from now (`now`: the clock, ms); `sink` subscribed first. */
  constructor(now: () => number = () => performance.now(), sink?: TraceSink) {
    this.#now = now;
    this.#start = now();
    if (sink) this.subscribe(sink);
  }

  /**
   * Adds a receiver of events: those its `filter` asks for (the default
   * categories, every one but `ops`, when it has none).
   */
  subscribe(sink: TraceSink): () => void {
    const filter = sink.filter;
    const sub: Subscription = {
      sink,
      categories: new Set([...(filter?.categories ?? DEFAULT_TRACE_CATEGORIES), "server"]),
      everyOp: filter?.everyOp === true,
      run: undefined,
      dropped: false,
    };
    this.#subs = [...this.#subs, sub];
    this.#wantsOps ||= sub.categories.has("ops");
    return () => {
      this.#tell(sub, undefined);
      this.#remove(sub);
    };
  }

  #remove(sub: Subscription): void {
    sub.dropped = true;
    this.#subs = this.#subs.filter((s) => s !== sub);
    this.#wantsOps = this.#subs.some((s) => s.categories.has("ops"));
  }

  /** Whether any sink is subscribed (none: emit() does nothing). */
  get active(): boolean {
    return this.#subs.length > 0;
  }

  /** Whether any receiver wants events of `category` (check before building costly ones). */
  wants(category: TraceCategory): boolean {
    if (category === "ops") return this.#wantsOps;
    return this.#subs.some((s) => s.categories.has(category));
  }

  /** An instant of the same clock as trace time: `12.345 s` since the start. */
  at(instant: number): string {
    return `${((instant - this.#start) / 1000).toFixed(3)} s`;
  }

  /** Sends an event of `category` to the sinks that want it: `event` its short name, `detail` why or the result, `data` structured fields. */
  emit(
    category: TraceCategory,
    event: string,
    detail?: string,
    data?: Record<string, unknown>,
  ): void {
    if (this.#subs.length === 0) return;
    const time = (this.#now() - this.#start) / 1000;
    const e: TraceEvent = {
      time,
      category,
      event,
      ...(detail !== undefined ? { detail } : {}),
      ...(data !== undefined ? { data } : {}),
    };
    for (const sub of this.#subs) {
      if (sub.categories.has(category)) this.#tell(sub, e);
    }
  }

  /**
   * One COMPOUND (`ops`): its own event, or part of a run of READs or
   * WRITEs told as one for receivers that did not ask for every one.
   */
  compound(c: CompoundTrace): void {
    if (!this.#wantsOps) return;
    const time = (this.#now() - this.#start) / 1000;
    const e = compoundEvent(time, c);
    const bulk = bulkOf(c);
    for (const sub of this.#subs) {
      if (!sub.categories.has("ops")) continue;
      if (sub.everyOp || !bulk) {
        this.#tell(sub, e);
        continue;
      }
      let run = sub.run;
      if (run && run.op !== bulk.op) {
        this.#tell(sub, undefined);
        run = undefined;
      }
      if (!run) {
        run = sub.run = {
          op: bulk.op,
          first: e,
          start: time - c.ms / 1000,
          end: time,
          count: 0,
          bytes: 0,
          sent: 0,
          received: 0,
          firstXid: c.xid,
          xidLow: 0,
          xidHigh: 0,
        };
      }
      run.end = time;
      run.count++;
      run.bytes += bulk.bytes;
      run.sent += c.sentBytes ?? 0;
      run.received += c.receivedBytes ?? 0;
      if (run.firstXid !== undefined && c.xid !== undefined) {
        // Signed 32-bit distance from the first: a run that crosses
        // 0xffffffff stays one range.
        const distance = (c.xid - run.firstXid) | 0;
        run.xidLow = Math.min(run.xidLow, distance);
        run.xidHigh = Math.max(run.xidHigh, distance);
      }
      if (run.count >= OPS_RUN_MAX || (run.end - run.start) * 1000 >= OPS_RUN_MS) {
        this.#tell(sub, undefined);
      }
    }
  }

  /** Tells every receiver the READs or WRITEs it has not been told yet (at the end). */
  flush(): void {
    for (const sub of this.#subs) this.#tell(sub, undefined);
  }

  /** Tells `sub` its pending run (if any), then `event` (if any). */
  #tell(sub: Subscription, event: TraceEvent | undefined): void {
    const run = sub.run;
    if (run) {
      sub.run = undefined;
      this.#deliver(sub, runEvent(run));
    }
    if (event) this.#deliver(sub, event);
  }

  /**
   * Calls the sink: one that throws is dropped, and the error never
   * reaches the client's work that emitted the event (it would fail a
   * CLOSE the server did, or escape a timer's callback as an uncaught
   * error). Reported once, as {@linkcode TraceSink} says.
   */
  #deliver(sub: Subscription, event: TraceEvent): void {
    if (sub.dropped) return;
    try {
      sub.sink(event);
    } catch (error) {
      this.#remove(sub);
      const what = `${event.category} ${event.event}`;
      try {
        console.error(`nfs4: a trace sink threw on "${what}"; it is told no more events:`, error);
      } catch {
        // stderr is gone too: the event below is all that can be said.
      }
      this.emit(
        "error",
        "trace sink dropped",
        `it threw on ${what}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
