/**
 * A fault-injecting TCP proxy for the tests (issue 14): it sits between the
 * nfs4 client and a server (Ganesha from `tests/_server.ts`, or any RPC
 * server on loopback), forwards every byte as it came, and on request breaks
 * the connection in the ways real networks and servers do.
 *
 * It listens on 127.0.0.1 on a free port and opens one connection to the
 * target per client connection. Both directions are read as ONC RPC records
 * (RFC 5531 §11, `tests/_fault_proxy_wire.ts`): a record is held until it is
 * complete, inspected, and then forwarded with its original fragmenting, so
 * faults act per RPC message: the client's CALLs are parsed down to the
 * COMPOUND's operations (and a 4.1 SEQUENCE's session, slot and seqid), the
 * server's REPLYs are matched to them by xid on the same connection. CALLs
 * the server sends on the 4.1 backchannel and the client's REPLYs to them
 * pass through untouched and never count as replies.
 *
 * Faults, each armed and disarmed while traffic flows:
 * - {@linkcode FaultProxy.cutAfterBytes}: close both sides once N bytes went
 *   one way (or both ways together), N fixed or drawn from a seed; the seed
 *   and N are logged so a failing run can be repeated;
 * - {@linkcode FaultProxy.stall}: hold one or both directions for S seconds,
 *   then release what was held, in order;
 * - {@linkcode FaultProxy.dropReply}, {@linkcode FaultProxy.dropReplyAndCut},
 *   {@linkcode FaultProxy.delayReply}: act on the reply to a COMPOUND that
 *   contains a given operation (the first, or the nth, or several);
 * - {@linkcode FaultProxy.cutEveryKthReply}: close the connection at every
 *   K-th reply;
 * - {@linkcode FaultProxy.setMode}: `silent` (accept, read, never answer),
 *   `garbage` (answer every call with random bytes, a random record or a
 *   malformed reply), `dead` (reset every connection).
 *
 * What it records: records and bytes per direction, every COMPOUND with its
 * ops in order and what became of its reply ({@linkcode FaultProxy.compounds},
 * {@linkcode FaultProxy.opCount}), and every 4.1 (session, slot, seqid) with a
 * hash of the request after SEQUENCE ({@linkcode FaultProxy.assertSlotSeqidsUnique}).
 *
 * Bounds: only the configured loopback target is ever connected to; one
 * incomplete record per direction is buffered; what a stall or a blocked
 * socket holds past `maxHeldBytes` pauses reading from the sender instead of
 * growing; every timer belongs to a stall, a delayed reply or a connection
 * and is cleared by {@linkcode FaultProxy.close}.
 *
 * @example
 * ```ts
 * await withServer(async (server) => {
 *   await using proxy = await FaultProxy.start({ target: server });
 *   proxy.dropReply("RENAME");
 *   const r = await nfs4(["cp", "./f", `${proxy.url}/vfs/f`]);
 *   assert.equal(proxy.opCount("RENAME"), 1);
 *   proxy.assertSlotSeqidsUnique();
 * });
 * ```
 * @module
 */

import { connect as netConnect, createServer, type Server, type Socket } from "node:net";
import { NFS4_PROGRAM, NFSPROC4_COMPOUND, Op, opName } from "../lib/nfs4/constants.ts";
import { statusName } from "../lib/nfs4/status.ts";
import { SUCCESS, writeAcceptedReply } from "../lib/rpc/mod.ts";
import { XdrReader, XdrWriter } from "../lib/xdr/mod.ts";
import {
  type CompoundArgsInfo,
  frameRecord,
  freshSeed,
  parseCompoundArgs,
  randomInt,
  type RawRecord,
  readRpcMessage,
  RecordFramer,
  seededRandom,
  type SequenceInfo,
  SlotRecorder,
  type SlotViolation,
} from "./_fault_proxy_wire.ts";

export { SlotRecorder, type SlotUse, type SlotViolation } from "./_fault_proxy_wire.ts";

/** Client to server, or server to client. */
export type Direction = "toServer" | "toClient";
/** The name of an NFSv4 operation, as in `Op`. */
export type OpName = keyof typeof Op;
/**
 * `forward`: a proxy. `silent`: connections are accepted and read, nothing is
 * forwarded or answered. `garbage`: every CALL is answered by the proxy with
 * rubbish. `dead`: every connection is reset, new ones at once.
 */
export type ProxyMode = "forward" | "silent" | "garbage" | "dead";
/**
 * What `garbage` mode answers: raw random bytes (no record mark: the client
 * reads a random record length), a record of random bytes, a REPLY with the
 * call's xid, accepted, SUCCESS, followed by random bytes instead of
 * COMPOUND4res; `mixed` picks one of the three per call.
 */
export type GarbageKind = "bytes" | "record" | "reply" | "mixed";

/** Options of {@linkcode FaultProxy.start}. */
export interface FaultProxyOptions {
  /** Where to forward: a loopback address (anything else is refused). A `TestServer` fits. */
  readonly target: { readonly host: string; readonly port: number };
  /** Seed of the proxy's own random choices (garbage); default fresh, logged when first used. */
  readonly seed?: number;
  /** Where log lines go (faults armed and fired, seeds); default `console.error`. */
  readonly log?: (line: string) => void;
  /** Also log every record (direction, xid, ops). */
  readonly trace?: boolean;
  /** The mode to start in; default `forward`. */
  readonly mode?: ProxyMode;
  /** What `garbage` mode answers; default `mixed`. */
  readonly garbage?: GarbageKind;
  /** How a cut closes the client's side: `fin` (default) or `rst` (a reset). */
  readonly cutWith?: "fin" | "rst";
  /** The largest record accepted; a larger one cuts its connection. Default 16 MiB. */
  readonly maxRecordSize?: number;
  /** Bytes held per connection and direction before the sender is paused; default 8 MiB. */
  readonly maxHeldBytes?: number;
  /** COMPOUNDs kept in {@linkcode FaultProxy.compounds}; default 100,000. */
  readonly maxLog?: number;
}

/** What became of a reply. */
export type ReplyFate = "forwarded" | "dropped" | "delayed" | "cut" | "discarded";

/** The server's reply to a COMPOUND, as far as the proxy read it. */
export interface CompoundReplyInfo {
  /** The COMPOUND's nfsstat4 when the RPC was accepted with SUCCESS. */
  readonly status?: number;
  /** Its name (`NFS4_OK`, `NFS4ERR_DELAY`, ...). */
  readonly statusName?: string;
  readonly fate: ReplyFate;
  /** Milliseconds since the proxy started. */
  readonly at: number;
}

/** One COMPOUND the client sent. */
export interface CompoundCall {
  /** Its place among the COMPOUNDs seen, from 0. */
  readonly index: number;
  /** The proxy's connection number, from 1. */
  readonly connection: number;
  readonly xid: number;
  /** Milliseconds since the proxy started. */
  readonly at: number;
  readonly tag: string;
  readonly minorVersion: number;
  readonly opnums: readonly number[];
  /** The op names in order (`SEQUENCE`, `PUTFH`, `READ`). */
  readonly ops: readonly string[];
  /** SEQUENCE's session, slot and seqid on 4.1 (`rest` is not kept). */
  readonly sequence?: Omit<SequenceInfo, "rest">;
  /** Bytes of the RPC message. */
  readonly bytes: number;
  /** Why the arguments could not be read to the end, if they could not. */
  readonly parseError?: string;
  /** The reply, once one came (the last one, if a resend got another). */
  reply?: CompoundReplyInfo;
}

/** Records and bytes that went one way. */
export interface DirectionStats {
  /** Complete records received from the sender. */
  records: number;
  /** Bytes received from the sender. */
  bytes: number;
  /** Bytes written on to the receiver. */
  forwardedBytes: number;
}

/** Counters since the proxy started. */
export interface ProxyStats {
  /** Client connections accepted (reset ones in `dead` mode included). */
  connections: number;
  /** Connections cut by a fault or by {@linkcode FaultProxy.cutAll}. */
  cuts: number;
  toServer: DirectionStats;
  toClient: DirectionStats;
  /** CALLs from the client. */
  calls: number;
  /** REPLYs from the server. */
  replies: number;
  /** CALLs from the server (the 4.1 backchannel). */
  callbacks: number;
  /** REPLYs from the client (to callbacks). */
  callbackReplies: number;
  droppedReplies: number;
  delayedReplies: number;
  /** Answers made up in `garbage` mode. */
  garbageAnswers: number;
  /** Records that were not readable as RPC messages. */
  unparsed: number;
}

/** A fault that was armed: how often it acted; disarm it with `cancel()`. */
export interface FaultHandle {
  /** Times it acted. */
  readonly fired: number;
  /** Resolves the first time it acts. */
  readonly firstFired: Promise<void>;
  /** Disarms it (a stall releases what it held). */
  cancel(): void;
}

/** A byte cut: {@linkcode FaultProxy.cutAfterBytes}. */
export interface ByteCutHandle extends FaultHandle {
  /** The seed N was drawn from, when it was drawn. */
  readonly seed: number | undefined;
  /** The current N: the bytes after which the next cut happens. */
  readonly bytes: number;
  /** Every N so far, in order. */
  readonly draws: readonly number[];
}

/** A reply fault: how many calls it matched so far. */
export interface ReplyFaultHandle extends FaultHandle {
  /** COMPOUNDs that matched (whether or not they were chosen). */
  readonly matched: number;
}

/** Which COMPOUNDs a reply fault looks at, and which of them it takes. */
export interface ReplyMatch {
  /** The COMPOUND contains this op (any of these); omit to match every COMPOUND. */
  readonly op?: OpName | number | readonly (OpName | number)[];
  /** A further condition. */
  readonly match?: (call: CompoundCall) => boolean;
  /** The first matching COMPOUND taken is the nth (default 1). */
  readonly nth?: number;
  /** How many matching COMPOUNDs are taken, one after another (default 1). */
  readonly times?: number;
}

/** A reply fault: the action and what it applies to. */
export interface ReplyRule extends ReplyMatch {
  /**
   * `drop`: the reply is never forwarded, the connection stays. `drop-and-cut`:
   * the connection is cut instead of forwarding it. `delay`: it is forwarded
   * `delayMs` later (replies after it are not held back). `rewrite`: the
   * record `rewrite` returns is forwarded instead (a server that says
   * something else; the record mark is the caller's to keep right).
   */
  readonly action: "drop" | "drop-and-cut" | "delay" | "rewrite";
  readonly delayMs?: number;
  /** For `rewrite`: the record as forwarded, from the record as received (mark included). */
  readonly rewrite?: (record: Uint8Array) => Uint8Array;
}

/** Options of {@linkcode FaultProxy.cutAfterBytes}. */
export interface ByteCutOptions {
  /** The bytes counted: one direction, or both added together. */
  readonly direction: Direction | "both";
  /** N itself; otherwise N is drawn from `seed` between `min` and `max`. */
  readonly bytes?: number;
  /** Default: a fresh seed (logged). */
  readonly seed?: number;
  /** Default 0. */
  readonly min?: number;
  /** Required when `bytes` is not given. */
  readonly max?: number;
  /**
   * Cuts to make (default 1): after each, the count starts again with the
   * next N (fixed, or the next draw from the same seed).
   */
  readonly times?: number;
}

/** Options of {@linkcode FaultProxy.cutEveryKthReply}. */
export interface KthReplyOptions {
  /** Forward the K-th reply and cut after it (true), or cut instead of forwarding it (default). */
  readonly deliver?: boolean;
  /** Stop after this many cuts (default: no limit). */
  readonly limit?: number;
}

/** Options of {@linkcode FaultProxy.stall}. */
export interface StallOptions {
  readonly direction: Direction | "both";
  /** How long; `Infinity` holds until `cancel()`, `resume()` or `close()`. */
  readonly seconds: number;
}

const DIRECTIONS: readonly Direction[] = ["toServer", "toClient"];
const PENDING_MAX = 10_000;

/** The fault behind a handle; the handle's getters read it. */
class Fault {
  fired = 0;
  cancelled = false;
  readonly firstFired: Promise<void>;
  #resolve!: () => void;
  readonly #onCancel: () => void;

  constructor(onCancel: () => void = () => {}) {
    this.#onCancel = onCancel;
    this.firstFired = new Promise((resolve) => this.#resolve = resolve);
  }

  fire(): void {
    this.fired++;
    this.#resolve();
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.#onCancel();
  }
}

class ByteCut extends Fault {
  count = 0;
  limit: number;
  readonly draws: number[] = [];
  constructor(
    readonly direction: Direction | "both",
    readonly seed: number | undefined,
    readonly next: () => number,
    readonly times: number,
    onCancel: () => void,
  ) {
    super(onCancel);
    this.limit = next();
    this.draws.push(this.limit);
  }
  applies(direction: Direction): boolean {
    return this.direction === "both" || this.direction === direction;
  }
}

class ReplyFault extends Fault {
  matched = 0;
  taken = 0;
  readonly ops: ReadonlySet<number> | undefined;
  constructor(readonly rule: ReplyRule, onCancel: () => void) {
    super(onCancel);
    const ops = rule.op === undefined ? undefined : [rule.op].flat();
    this.ops = ops && new Set(ops.map((op) => typeof op === "number" ? op : Op[op]));
  }
  describe(): string {
    const what = this.ops ? [...this.ops].map(opName).join("|") : "any COMPOUND";
    const which = (this.rule.nth ?? 1) === 1 ? "first" : ordinal(this.rule.nth ?? 1);
    const times = this.rule.times ?? 1;
    const action = this.rule.action === "delay"
      ? `delay ${this.rule.delayMs} ms`
      : this.rule.action;
    return `${action} the ${which} reply to ${what}${times === 1 ? "" : ` (${times} times)`}`;
  }
}

class KthReply extends Fault {
  count = 0;
  constructor(
    readonly k: number,
    readonly deliver: boolean,
    readonly limit: number,
    onCancel: () => void,
  ) {
    super(onCancel);
  }
}

class Stall extends Fault {
  timer: ReturnType<typeof setTimeout> | undefined;
  constructor(readonly directions: readonly Direction[], onCancel: () => void) {
    super(onCancel);
  }
}

/** A call waiting for its reply on one connection. */
interface Pending {
  readonly call: CompoundCall | undefined;
  readonly fault: ReplyFault | undefined;
}

/** One client connection and its connection to the target. */
class Link {
  server: Socket | undefined;
  serverReady = false;
  closed = false;
  /** Sockets not yet closed. */
  open = 1;
  readonly done: Promise<void>;
  resolveDone!: () => void;
  readonly framers: Record<Direction, RecordFramer>;
  /** Bytes waiting to be written on, per direction (a stall, a connect). */
  readonly queues: Record<Direction, Uint8Array[]> = { toServer: [], toClient: [] };
  readonly queued: Record<Direction, number> = { toServer: 0, toClient: 0 };
  /** Delayed replies not yet queued. */
  readonly delayed: Record<Direction, number> = { toServer: 0, toClient: 0 };
  /** The sender of this direction sent FIN. */
  readonly ended: Record<Direction, boolean> = { toServer: false, toClient: false };
  readonly endSent: Record<Direction, boolean> = { toServer: false, toClient: false };
  /** The receiver's socket buffer is full. */
  readonly blocked: Record<Direction, boolean> = { toServer: false, toClient: false };
  /** Reading from this direction's sender is paused. */
  readonly paused: Record<Direction, boolean> = { toServer: false, toClient: false };
  readonly pending = new Map<number, Pending>();
  readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(readonly id: number, readonly client: Socket, maxRecordSize: number) {
    this.framers = {
      toServer: new RecordFramer(maxRecordSize),
      toClient: new RecordFramer(maxRecordSize),
    };
    this.done = new Promise((resolve) => this.resolveDone = resolve);
  }

  sender(direction: Direction): Socket | undefined {
    return direction === "toServer" ? this.client : this.server;
  }

  receiver(direction: Direction): Socket | undefined {
    return direction === "toServer" ? this.server : this.client;
  }
}

/**
 * The proxy. Start one per test with {@linkcode FaultProxy.start}, point the
 * client at {@linkcode FaultProxy.url} (or `port`), arm faults, and close it
 * (or `await using` it).
 */
export class FaultProxy {
  /** Where it listens. */
  readonly host = "127.0.0.1";
  readonly port: number;
  /** `nfs://127.0.0.1:PORT`: the target's exports through the proxy. */
  readonly url: string;
  readonly target: { readonly host: string; readonly port: number };
  /** Every 4.1 (session, slot, seqid) seen, with a hash of the request after SEQUENCE. */
  readonly slots = new SlotRecorder();

  readonly #server: Server;
  readonly #options: FaultProxyOptions;
  readonly #log: (line: string) => void;
  readonly #started = performance.now();
  readonly #links = new Set<Link>();
  #nextLink = 1;
  #mode: ProxyMode;
  #garbage: GarbageKind;
  #random: (() => number) | undefined;
  #byteCuts: ByteCut[] = [];
  #replyFaults: ReplyFault[] = [];
  #kth: KthReply | undefined;
  readonly #stalls = new Set<Stall>();
  readonly #compounds: CompoundCall[] = [];
  #logTruncated = false;
  #closing: Promise<void> | undefined;
  readonly #stats: ProxyStats = {
    connections: 0,
    cuts: 0,
    toServer: { records: 0, bytes: 0, forwardedBytes: 0 },
    toClient: { records: 0, bytes: 0, forwardedBytes: 0 },
    calls: 0,
    replies: 0,
    callbacks: 0,
    callbackReplies: 0,
    droppedReplies: 0,
    delayedReplies: 0,
    garbageAnswers: 0,
    unparsed: 0,
  };

  private constructor(server: Server, port: number, options: FaultProxyOptions) {
    this.#server = server;
    this.port = port;
    this.url = `nfs://127.0.0.1:${port}`;
    this.target = { host: options.target.host, port: options.target.port };
    this.#options = options;
    this.#log = options.log ?? ((line) => console.error(line));
    this.#mode = options.mode ?? "forward";
    this.#garbage = options.garbage ?? "mixed";
    server.on("connection", (socket: Socket) => this.#accept(socket));
  }

  /** Starts listening on 127.0.0.1 on a free port. */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const { host, port } = options.target;
    if (!isLoopback(host)) {
      throw new RangeError(`the fault proxy only forwards to loopback, not ${host}`);
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(`bad target port ${port}`);
    }
    const server = createServer({ allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("proxy has no port");
    return new FaultProxy(server, address.port, options);
  }

  // ------------------------------------------------------------ observing

  /** Counters (a copy). */
  get stats(): ProxyStats {
    return structuredClone(this.#stats);
  }

  /** Client connections open now. */
  get openConnections(): number {
    return this.#links.size;
  }

  /** Every COMPOUND the client sent, in order (up to `maxLog`). */
  get compounds(): readonly CompoundCall[] {
    return this.#compounds;
  }

  /** The COMPOUNDs that contained `op`. */
  compoundsWith(op: OpName | number): CompoundCall[] {
    this.#assertLogComplete();
    const opnum = typeof op === "number" ? op : Op[op];
    return this.#compounds.filter((c) => c.opnums.includes(opnum));
  }

  /** How many COMPOUNDs contained `op` (a resend counts again). */
  opCount(op: OpName | number): number {
    return this.compoundsWith(op).length;
  }

  /** Every slot/seqid that carried two different requests. */
  slotViolations(): SlotViolation[] {
    return this.slots.violations();
  }

  /** Fails when one (session, slot, seqid) carried two different requests (RFC 8881 §2.10.6.1-2). */
  assertSlotSeqidsUnique(): void {
    this.slots.assertUnique();
  }

  // --------------------------------------------------------------- faults

  /**
   * Cuts the connection (both sides) once N bytes went in `direction`,
   * counted from now across connections; the bytes up to N are delivered. N is
   * `bytes`, or drawn from `seed` (fresh when not given) between `min` and
   * `max`; the seed and every N are logged.
   */
  cutAfterBytes(options: ByteCutOptions): ByteCutHandle {
    const times = options.times ?? 1;
    let seed: number | undefined;
    let next: () => number;
    if (options.bytes !== undefined) {
      const bytes = options.bytes;
      if (!Number.isSafeInteger(bytes) || bytes < 0) {
        throw new RangeError(`bad byte count ${bytes}`);
      }
      next = () => bytes;
    } else {
      const min = options.min ?? 0;
      const max = options.max;
      if (max === undefined || !Number.isSafeInteger(max) || max < min || min < 0) {
        throw new RangeError("cutAfterBytes needs bytes, or max >= min >= 0");
      }
      seed = (options.seed ?? freshSeed()) >>> 0;
      const random = seededRandom(seed);
      next = () => randomInt(random, min, max);
    }
    const cut: ByteCut = new ByteCut(options.direction, seed, next, times, () => {
      this.#byteCuts = this.#byteCuts.filter((c) => c !== cut);
    });
    this.#byteCuts.push(cut);
    this.#note(`arm: cut ${cut.direction} after ${cut.limit} bytes${drawNote(cut)}`);
    return {
      get fired() {
        return cut.fired;
      },
      firstFired: cut.firstFired,
      cancel: () => cut.cancel(),
      seed,
      get bytes() {
        return cut.limit;
      },
      get draws() {
        return cut.draws;
      },
    };
  }

  /**
   * Holds `direction` (or both) for `seconds` from now: bytes that arrive are
   * kept, and released in order when the stall ends. New connections are held
   * too.
   */
  stall(options: StallOptions): FaultHandle {
    const directions = options.direction === "both" ? DIRECTIONS : [options.direction];
    if (!(options.seconds >= 0)) throw new RangeError(`bad stall time ${options.seconds}`);
    const stall: Stall = new Stall(directions, () => this.#endStall(stall));
    this.#stalls.add(stall);
    this.#note(`arm: stall ${options.direction} for ${options.seconds} s`);
    if (Number.isFinite(options.seconds)) {
      stall.timer = setTimeout(() => stall.cancel(), options.seconds * 1000);
    }
    stall.fire();
    return handle(stall);
  }

  /** Ends every stall now. */
  resume(): void {
    for (const stall of [...this.#stalls]) stall.cancel();
  }

  /** Never forwards the reply to the chosen COMPOUND (the first containing `op`); the connection stays. */
  dropReply(op: OpName | number, match: Omit<ReplyMatch, "op"> = {}): ReplyFaultHandle {
    return this.onReply({ ...match, op, action: "drop" });
  }

  /** Cuts the connection instead of forwarding the reply to the chosen COMPOUND. */
  dropReplyAndCut(op: OpName | number, match: Omit<ReplyMatch, "op"> = {}): ReplyFaultHandle {
    return this.onReply({ ...match, op, action: "drop-and-cut" });
  }

  /** Forwards the reply to the chosen COMPOUND `delayMs` later. */
  delayReply(
    op: OpName | number,
    delayMs: number,
    match: Omit<ReplyMatch, "op"> = {},
  ): ReplyFaultHandle {
    return this.onReply({ ...match, op, action: "delay", delayMs });
  }

  /**
   * Arms a reply fault. COMPOUNDs are matched as the client sends them, the
   * fault acts on the reply to a chosen one (on its connection, by xid); a
   * chosen COMPOUND whose connection closes first uses up its turn.
   */
  onReply(rule: ReplyRule): ReplyFaultHandle {
    if (rule.action === "delay" && !(rule.delayMs !== undefined && rule.delayMs >= 0)) {
      throw new RangeError("a delay needs delayMs >= 0");
    }
    if (rule.action === "rewrite" && rule.rewrite === undefined) {
      throw new RangeError("a rewrite needs its rewrite function");
    }
    const fault: ReplyFault = new ReplyFault(rule, () => {
      this.#replyFaults = this.#replyFaults.filter((f) => f !== fault);
    });
    this.#replyFaults.push(fault);
    this.#note(`arm: ${fault.describe()}`);
    return {
      get fired() {
        return fault.fired;
      },
      firstFired: fault.firstFired,
      cancel: () => fault.cancel(),
      get matched() {
        return fault.matched;
      },
    };
  }

  /**
   * Cuts the connection at every K-th reply from the server, counted from now
   * across connections (replies a reply fault took do not count; callbacks
   * are not replies). By default the K-th reply is lost with the connection.
   */
  cutEveryKthReply(k: number, options: KthReplyOptions = {}): FaultHandle {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`bad K ${k}`);
    this.#kth?.cancel();
    const kth: KthReply = new KthReply(
      k,
      options.deliver ?? false,
      options.limit ?? Infinity,
      () => {
        if (this.#kth === kth) this.#kth = undefined;
      },
    );
    this.#kth = kth;
    this.#note(
      `arm: cut at every ${ordinal(k)} reply (${kth.deliver ? "delivered" : "lost"}` +
        `${Number.isFinite(kth.limit) ? `, ${kth.limit} times` : ""})`,
    );
    return handle(kth);
  }

  /** Switches mode; see {@linkcode ProxyMode}. */
  setMode(mode: ProxyMode, garbage: GarbageKind = this.#garbage): void {
    this.#mode = mode;
    this.#garbage = garbage;
    this.#note(`mode ${mode}${mode === "garbage" ? ` (${garbage})` : ""}`);
    if (mode === "dead") {
      for (const link of [...this.#links]) this.#destroy(link, "rst");
    } else if (mode === "forward") {
      for (const link of this.#links) if (!link.server) this.#connectTarget(link);
    }
  }

  /** The current mode. */
  get mode(): ProxyMode {
    return this.#mode;
  }

  /** Cuts every open connection now. */
  cutAll(reason = "cutAll()"): void {
    for (const link of [...this.#links]) this.#cut(link, reason);
  }

  /** Disarms every fault, ends stalls and returns to `forward` mode. */
  clearFaults(): void {
    for (const cut of [...this.#byteCuts]) cut.cancel();
    for (const fault of [...this.#replyFaults]) fault.cancel();
    this.#kth?.cancel();
    this.resume();
    if (this.#mode !== "forward") this.setMode("forward");
  }

  /** Stops listening, closes every connection and clears every timer. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const stall of this.#stalls) clearTimeout(stall.timer);
      this.#stalls.clear();
      this.#byteCuts = [];
      this.#replyFaults = [];
      this.#kth = undefined;
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      const links = [...this.#links];
      for (const link of links) this.#destroy(link, "fin");
      await Promise.all(links.map((link) => link.done));
      await closed;
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ------------------------------------------------------------ connections

  #accept(socket: Socket): void {
    this.#stats.connections++;
    if (this.#closing || this.#mode === "dead") {
      socket.on("error", () => {});
      socket.resetAndDestroy();
      return;
    }
    const link = new Link(this.#nextLink++, socket, this.#options.maxRecordSize ?? 16 << 20);
    this.#links.add(link);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Uint8Array) => this.#receive(link, "toServer", chunk));
    socket.on("end", () => this.#senderEnded(link, "toServer"));
    socket.on("error", (e: Error) => this.#trace(`c${link.id} client: ${e.message}`));
    socket.on("close", (hadError: boolean) => this.#socketClosed(link, "client", hadError));
    this.#trace(`c${link.id} accepted from port ${socket.remotePort}`);
    if (this.#mode === "forward") this.#connectTarget(link);
  }

  #connectTarget(link: Link): void {
    if (link.closed || link.server) return;
    const server = netConnect({
      host: this.target.host,
      port: this.target.port,
      allowHalfOpen: true,
    });
    link.server = server;
    link.open++;
    server.setNoDelay(true);
    server.on("connect", () => {
      link.serverReady = true;
      this.#pump(link, "toServer");
    });
    server.on("data", (chunk: Uint8Array) => this.#receive(link, "toClient", chunk));
    server.on("end", () => this.#senderEnded(link, "toClient"));
    server.on("error", (e: Error) => this.#note(`c${link.id} target: ${e.message}`));
    server.on("close", (hadError: boolean) => this.#socketClosed(link, "server", hadError));
  }

  #senderEnded(link: Link, direction: Direction): void {
    link.ended[direction] = true;
    this.#pump(link, direction);
  }

  #socketClosed(link: Link, side: "client" | "server", hadError: boolean): void {
    link.open--;
    if (!link.closed) {
      if (hadError) {
        this.#destroy(link, "fin");
      } else {
        // A clean close: what was on its way to that side is lost, what goes
        // the other way is still delivered (and then ended).
        const lost: Direction = side === "client" ? "toClient" : "toServer";
        link.queues[lost] = [];
        link.queued[lost] = 0;
        const other: Direction = side === "client" ? "toServer" : "toClient";
        link.ended[other] = true;
        this.#pump(link, other);
      }
    }
    if (link.open === 0) {
      link.closed = true;
      this.#links.delete(link);
      link.resolveDone();
    }
  }

  /** Cuts a connection for a fault: both sides closed, whatever was queued lost. */
  #cut(link: Link, reason: string): void {
    if (link.closed) return;
    this.#stats.cuts++;
    this.#note(`c${link.id} cut: ${reason}`);
    this.#destroy(link, this.#options.cutWith ?? "fin");
  }

  #destroy(link: Link, how: "fin" | "rst"): void {
    if (link.closed) return;
    link.closed = true;
    for (const timer of link.timers) clearTimeout(timer);
    link.timers.clear();
    link.pending.clear();
    for (const direction of DIRECTIONS) {
      link.queues[direction] = [];
      link.queued[direction] = 0;
    }
    if (how === "rst" && !link.client.destroyed) link.client.resetAndDestroy();
    else link.client.destroy();
    link.server?.destroy();
    this.#links.delete(link);
    if (link.open === 0) link.resolveDone();
  }

  // ---------------------------------------------------------------- records

  #receive(link: Link, direction: Direction, chunk: Uint8Array): void {
    if (link.closed) return;
    this.#stats[direction].bytes += chunk.length;
    try {
      link.framers[direction].push(chunk, (record) => {
        if (!link.closed) this.#onRecord(link, direction, record);
      });
    } catch (e) {
      this.#cut(link, `${direction}: ${e instanceof Error ? e.message : e}`);
    }
  }

  #onRecord(link: Link, direction: Direction, record: RawRecord): void {
    this.#stats[direction].records++;
    const message = readRpcMessage(record.payload);
    if (direction === "toServer") this.#fromClient(link, record, message);
    else this.#fromServer(link, record, message);
  }

  #fromClient(link: Link, record: RawRecord, message: ReturnType<typeof readRpcMessage>): void {
    if (message.kind === "garbage") {
      this.#stats.unparsed++;
      this.#trace(`c${link.id} toServer unreadable record: ${message.error}`);
    } else if (message.kind === "reply") {
      this.#stats.callbackReplies++;
      this.#trace(`c${link.id} toServer callback REPLY xid 0x${hex32(message.xid)}`);
    } else {
      this.#stats.calls++;
      let call: CompoundCall | undefined;
      let fault: ReplyFault | undefined;
      if (
        message.program === NFS4_PROGRAM && message.version === 4 &&
        message.procedure === NFSPROC4_COMPOUND
      ) {
        const args = parseCompoundArgs(message.args);
        call = this.#logCompound(link, message.xid, args, record.payload.length);
        if (args.sequence) {
          this.slots.record({
            sessionId: args.sequence.sessionId,
            slotId: args.sequence.slotId,
            sequenceId: args.sequence.sequenceId,
            cachethis: args.sequence.cachethis,
            rest: args.sequence.rest,
            ops: args.ops,
            xid: message.xid,
            connection: link.id,
          });
        }
        fault = this.#chooseFault(call);
        this.#trace(`c${link.id} toServer ${describeCall(call)}`);
      } else {
        this.#trace(
          `c${link.id} toServer CALL xid 0x${hex32(message.xid)} ` +
            `program ${message.program} version ${message.version} procedure ${message.procedure}`,
        );
      }
      if (this.#mode === "forward" || this.#mode === "silent") {
        if (link.pending.size >= PENDING_MAX) {
          link.pending.delete(link.pending.keys().next().value!);
        }
        link.pending.set(message.xid, { call, fault });
      }
    }
    switch (this.#mode) {
      case "forward":
        this.#send(link, "toServer", record.raw);
        break;
      case "garbage":
        if (message.kind === "call") this.#answerGarbage(link, message.xid);
        break;
      default:
        break;
    }
  }

  #fromServer(link: Link, record: RawRecord, message: ReturnType<typeof readRpcMessage>): void {
    if (this.#mode !== "forward") {
      this.#trace(`c${link.id} toClient discarded (${this.#mode})`);
      return;
    }
    if (message.kind === "garbage") {
      this.#stats.unparsed++;
      this.#trace(`c${link.id} toClient unreadable record: ${message.error}`);
      this.#send(link, "toClient", record.raw);
      return;
    }
    if (message.kind === "call") {
      this.#stats.callbacks++;
      this.#trace(
        `c${link.id} toClient callback CALL xid 0x${hex32(message.xid)} ` +
          `program ${message.program} procedure ${message.procedure}`,
      );
      this.#send(link, "toClient", record.raw);
      return;
    }
    this.#stats.replies++;
    const pending = link.pending.get(message.xid);
    link.pending.delete(message.xid);
    const call = pending?.call;
    let status: number | undefined;
    if (call && message.results.length >= 4) status = new XdrReader(message.results).readUint();
    const what = call ? describeCall(call) : `xid 0x${hex32(message.xid)}`;
    const settle = (fate: ReplyFate) => {
      if (!call) return;
      call.reply = {
        ...(status !== undefined ? { status, statusName: statusName(status) } : {}),
        fate,
        at: this.#now(),
      };
    };
    this.#trace(
      `c${link.id} toClient REPLY ${what}${status !== undefined ? `: ${statusName(status)}` : ""}`,
    );
    const fault = pending?.fault;
    if (fault && !fault.cancelled) {
      fault.fire();
      const { action, delayMs = 0 } = fault.rule;
      if (action === "drop") {
        this.#stats.droppedReplies++;
        this.#note(`c${link.id} dropped the reply to ${what}`);
        settle("dropped");
      } else if (action === "drop-and-cut") {
        this.#stats.droppedReplies++;
        settle("cut");
        this.#cut(link, `instead of the reply to ${what}`);
      } else if (action === "rewrite") {
        this.#note(`c${link.id} rewrote the reply to ${what}`);
        settle("forwarded");
        this.#send(link, "toClient", fault.rule.rewrite!(record.raw));
      } else {
        this.#stats.delayedReplies++;
        this.#note(`c${link.id} delaying the reply to ${what} by ${delayMs} ms`);
        settle("delayed");
        link.delayed.toClient++;
        const timer = setTimeout(() => {
          link.timers.delete(timer);
          link.delayed.toClient--;
          this.#trace(`c${link.id} delayed reply to ${what} released`);
          this.#send(link, "toClient", record.raw);
        }, delayMs);
        link.timers.add(timer);
      }
      return;
    }
    const kth = this.#kth;
    if (kth && !kth.cancelled && ++kth.count % kth.k === 0) {
      kth.fire();
      if (kth.fired >= kth.limit) kth.cancel();
      const reason = `reply ${kth.count} (every ${ordinal(kth.k)}), ${what}`;
      if (kth.deliver) {
        settle("forwarded");
        this.#send(link, "toClient", record.raw);
        this.#cut(link, `after ${reason}`);
      } else {
        settle("cut");
        this.#cut(link, `instead of ${reason}`);
      }
      return;
    }
    settle("forwarded");
    this.#send(link, "toClient", record.raw);
  }

  #logCompound(link: Link, xid: number, args: CompoundArgsInfo, bytes: number): CompoundCall {
    const { sequence } = args;
    const call: CompoundCall = {
      index: this.#compounds.length,
      connection: link.id,
      xid,
      at: this.#now(),
      tag: args.tag,
      minorVersion: args.minorVersion,
      opnums: args.opnums,
      ops: args.ops,
      bytes,
      ...(sequence
        ? {
          sequence: {
            sessionId: sequence.sessionId,
            sequenceId: sequence.sequenceId,
            slotId: sequence.slotId,
            highestSlotId: sequence.highestSlotId,
            cachethis: sequence.cachethis,
          },
        }
        : {}),
      ...(args.error !== undefined ? { parseError: args.error } : {}),
    };
    if (this.#compounds.length < (this.#options.maxLog ?? 100_000)) this.#compounds.push(call);
    else this.#logTruncated = true;
    return call;
  }

  #chooseFault(call: CompoundCall): ReplyFault | undefined {
    let chosen: ReplyFault | undefined;
    for (const fault of this.#replyFaults) {
      if (fault.ops && !call.opnums.some((op) => fault.ops!.has(op))) continue;
      if (fault.rule.match && !fault.rule.match(call)) continue;
      fault.matched++;
      const nth = fault.rule.nth ?? 1;
      const times = fault.rule.times ?? 1;
      if (!chosen && fault.matched >= nth && fault.taken < times) {
        fault.taken++;
        chosen = fault;
        this.#note(`c${call.connection} chose ${describeCall(call)} to ${fault.describe()}`);
      }
    }
    return chosen;
  }

  #answerGarbage(link: Link, xid: number): void {
    if (!this.#random) {
      const seed = (this.#options.seed ?? freshSeed()) >>> 0;
      this.#note(`garbage seed ${seed}`);
      this.#random = seededRandom(seed);
    }
    const random = this.#random;
    const kinds = ["bytes", "record", "reply"] as const;
    const kind = this.#garbage === "mixed" ? kinds[randomInt(random, 0, 2)]! : this.#garbage;
    const noise = (min: number, max: number) => {
      const out = new Uint8Array(randomInt(random, min, max));
      for (let i = 0; i < out.length; i++) out[i] = randomInt(random, 0, 255);
      return out;
    };
    let bytes: Uint8Array;
    if (kind === "bytes") {
      bytes = noise(1, 64);
    } else if (kind === "record") {
      bytes = frameRecord(noise(0, 128));
    } else {
      const w = new XdrWriter();
      writeAcceptedReply(w, xid, SUCCESS);
      w.writeFixedOpaque(noise(0, 64));
      bytes = frameRecord(w.bytes().slice());
    }
    this.#stats.garbageAnswers++;
    this.#trace(`c${link.id} garbage (${kind}, ${bytes.length} bytes) for xid 0x${hex32(xid)}`);
    this.#send(link, "toClient", bytes);
  }

  // ----------------------------------------------------------------- output

  #send(link: Link, direction: Direction, bytes: Uint8Array): void {
    if (link.closed) return;
    link.queues[direction].push(bytes);
    link.queued[direction] += bytes.length;
    this.#pump(link, direction);
  }

  #stalled(direction: Direction): boolean {
    for (const stall of this.#stalls) if (stall.directions.includes(direction)) return true;
    return false;
  }

  /** Writes what is queued for `direction` unless it is held; applies byte cuts; ends when due. */
  #pump(link: Link, direction: Direction): void {
    if (link.closed) return;
    const receiver = link.receiver(direction);
    if (receiver?.destroyed) {
      // Nobody left to deliver to (that side closed): what was on its way is lost.
      link.queues[direction] = [];
      link.queued[direction] = 0;
    }
    const ready = direction === "toClient" || link.serverReady;
    if (ready && receiver && !receiver.destroyed && !this.#stalled(direction)) {
      const queue = link.queues[direction];
      while (queue.length > 0) {
        const chunk = queue.shift()!;
        link.queued[direction] -= chunk.length;
        let allow = chunk.length;
        let firing: ByteCut | undefined;
        for (const cut of this.#byteCuts) {
          if (!cut.applies(direction)) continue;
          const left = cut.limit - cut.count;
          if (left <= allow && (!firing || left < allow)) {
            allow = left;
            firing = cut;
          }
        }
        if (allow > 0) {
          if (!receiver.write(allow === chunk.length ? chunk : chunk.subarray(0, allow))) {
            this.#block(link, direction, receiver);
          }
          this.#stats[direction].forwardedBytes += allow;
          for (const cut of this.#byteCuts) if (cut.applies(direction)) cut.count += allow;
        }
        if (firing) {
          this.#fireByteCut(link, direction, firing);
          return;
        }
      }
      if (
        link.ended[direction] && link.delayed[direction] === 0 && !link.endSent[direction]
      ) {
        link.endSent[direction] = true;
        receiver.end();
      }
    }
    this.#flow(link, direction);
  }

  #fireByteCut(link: Link, direction: Direction, cut: ByteCut): void {
    cut.fire();
    const reason = `${cut.limit} bytes ${cut.direction}${drawNote(cut)}`;
    if (cut.fired >= cut.times) {
      cut.cancel();
    } else {
      cut.count = 0;
      cut.limit = cut.next();
      cut.draws.push(cut.limit);
      this.#note(`arm: next cut ${cut.direction} after ${cut.limit} bytes${drawNote(cut)}`);
    }
    this.#cut(link, `after ${reason} (while writing ${direction})`);
  }

  #block(link: Link, direction: Direction, receiver: Socket): void {
    if (link.blocked[direction]) return;
    link.blocked[direction] = true;
    receiver.once("drain", () => {
      link.blocked[direction] = false;
      this.#flow(link, direction);
    });
  }

  /** Pauses the sender while the receiver is blocked or too much is held; resumes it after. */
  #flow(link: Link, direction: Direction): void {
    const sender = link.sender(direction);
    if (link.closed || !sender || sender.destroyed) return;
    const hold = link.blocked[direction] ||
      link.queued[direction] > (this.#options.maxHeldBytes ?? 8 << 20);
    if (hold && !link.paused[direction]) {
      link.paused[direction] = true;
      sender.pause();
    } else if (!hold && link.paused[direction]) {
      link.paused[direction] = false;
      sender.resume();
    }
  }

  #endStall(stall: Stall): void {
    clearTimeout(stall.timer);
    if (!this.#stalls.delete(stall)) return;
    const held = [...this.#links].reduce(
      (sum, link) => sum + stall.directions.reduce((s, d) => s + link.queued[d], 0),
      0,
    );
    this.#note(`stall ${stall.directions.join("+")} ended, releasing ${held} bytes`);
    for (const link of [...this.#links]) for (const d of stall.directions) this.#pump(link, d);
  }

  // ---------------------------------------------------------------- logging

  #now(): number {
    return performance.now() - this.#started;
  }

  #assertLogComplete(): void {
    if (this.#logTruncated) {
      throw new Error(
        `more than ${this.#options.maxLog ?? 100_000} COMPOUNDs: the log is cut short`,
      );
    }
  }

  #note(message: string): void {
    this.#log(`fault-proxy :${this.port} ${(this.#now() / 1000).toFixed(3)} ${message}`);
  }

  #trace(message: string): void {
    if (this.#options.trace) this.#note(message);
  }
}

function handle(fault: Fault): FaultHandle {
  return {
    get fired() {
      return fault.fired;
    },
    firstFired: fault.firstFired,
    cancel: () => fault.cancel(),
  };
}

/** ` (seed S, draw 2 of 3)`: how to get this N again. */
function drawNote(cut: ByteCut): string {
  const parts = [];
  if (cut.seed !== undefined) parts.push(`seed ${cut.seed}`);
  if (cut.times > 1) parts.push(`draw ${cut.draws.length} of ${cut.times}`);
  return parts.length ? ` (${parts.join(", ")})` : "";
}

function describeCall(call: CompoundCall): string {
  const seq = call.sequence
    ? ` slot ${call.sequence.slotId} seqid ${call.sequence.sequenceId}` +
      (call.sequence.cachethis ? " cachethis" : "")
    : "";
  return `COMPOUND xid 0x${hex32(call.xid)} v4.${call.minorVersion} [${call.ops.join(" ")}]${seq}`;
}

/** `1st`, `2nd`, `3rd`, `4th`, `11th`, `22nd`. */
function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  const suffix = teen ? "th" : ["th", "st", "nd", "rd"][n % 10] ?? "th";
  return `${n}${suffix}`;
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, "0");
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
