/**
 * What the fault proxy (`tests/_fault_proxy.ts`) reads on the wire, kept apart
 * from its sockets and faults so each piece can be tested on bytes alone:
 *
 * - {@linkcode RecordFramer}: ONC RPC record marking (RFC 5531 §11) with the
 *   raw bytes kept, fragment headers included, so a record is forwarded
 *   exactly as it arrived (or cut inside it) while its joined payload is
 *   parsed;
 * - {@linkcode readRpcMessage}: the RPC header (RFC 5531 §9): xid, CALL or
 *   REPLY, program, version, procedure, accept status;
 * - {@linkcode parseCompoundArgs}: COMPOUND4args (RFC 7530 §16.2, RFC 8881
 *   §16.2): tag, minor version and the operations in order, each one's
 *   arguments skipped with the project's own codecs (`OP_CODECS`), and for a
 *   first op SEQUENCE its session, slot and sequence ID with the bytes that
 *   follow it;
 * - {@linkcode payloadOf}, {@linkcode plainResultAt}: a reply's data, and
 *   where one op's result is in it, for a test's rewrite of a reply (the
 *   rewritten payload framed again with {@linkcode frameRecord});
 * - {@linkcode SlotRecorder}: every NFSv4.1 (session, slot, seqid) with a hash
 *   of the request after SEQUENCE; one slot/seqid seen with two different
 *   requests is a violation (RFC 8881 §2.10.6.1-2: a retry is the same request
 *   byte for byte, a new request takes the next seqid);
 * - {@linkcode seededRandom}: a small reproducible generator for the faults.
 *
 * @example
 * ```ts
 * const framer = new RecordFramer();
 * framer.push(chunk, ({ raw, payload }) => {
 *   const message = readRpcMessage(payload);
 *   if (message.kind === "call" && message.procedure === 1) {
 *     const args = parseCompoundArgs(message.args);
 *     console.log(args.ops.join(" "));
 *   }
 * });
 * ```
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { XdrReader } from "../lib/xdr/mod.ts";
import {
  CALL,
  LAST_FRAGMENT,
  MAX_FRAGMENT_LENGTH,
  MSG_ACCEPTED,
  readCallBody,
  readMessageStart,
  readReplyBody,
  type ReplyBody,
  SUCCESS,
} from "../lib/rpc/mod.ts";
import { Limits, Op, opName } from "../lib/nfs4/constants.ts";
import { OP_CODECS } from "../lib/nfs4/registry.ts";
import type { SequenceArgs } from "../lib/nfs4/ops/sequence.ts";

// ------------------------------------------------------------ record marking

/** One record as it crossed the wire. */
export interface RawRecord {
  /** The record's bytes as received: fragment headers and data. */
  readonly raw: Uint8Array;
  /** The record's data: its fragments joined, headers removed. */
  readonly payload: Uint8Array;
}

/** A fragment header announced a record larger than the framer accepts. */
export class RecordTooLargeError extends RangeError {
  override name = "RecordTooLargeError";
}

/**
 * Splits a byte stream into records (RFC 5531 §11), keeping each record's
 * raw bytes. Chunks are held as given (not copied) until their record is
 * complete; a record inside one chunk is a view of it, one spread over several
 * chunks is joined once. At most one incomplete record is held, and no record
 * over `maxRecordSize` bytes of data: its header raises
 * {@linkcode RecordTooLargeError}.
 */
export class RecordFramer {
  readonly maxRecordSize: number;
  #chunks: Uint8Array[] = [];
  /** Bytes held in `#chunks`; offsets below are relative to the first held byte. */
  #held = 0;
  /** Where the next fragment header starts. */
  #fragmentAt = 0;
  /** Where the current fragment ends, or -1 while its header is awaited. */
  #fragmentEnd = -1;
  #last = false;
  #dataLength = 0;

  constructor(maxRecordSize = 16 * 1024 * 1024) {
    this.maxRecordSize = maxRecordSize;
  }

  /** Bytes of an incomplete record held. */
  get buffered(): number {
    return this.#held;
  }

  /** Feeds the next chunk; hands each completed record to `onRecord`, in order. */
  push(chunk: Uint8Array, onRecord: (record: RawRecord) => void): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#held += chunk.length;
    for (;;) {
      if (this.#fragmentEnd < 0) {
        if (this.#held - this.#fragmentAt < 4) return;
        const header = this.#uint32At(this.#fragmentAt);
        const length = header & MAX_FRAGMENT_LENGTH;
        this.#last = (header & LAST_FRAGMENT) !== 0;
        this.#dataLength += length;
        if (this.#dataLength > this.maxRecordSize) {
          throw new RecordTooLargeError(
            `record of more than ${this.#dataLength} bytes exceeds the maximum ${this.maxRecordSize}`,
          );
        }
        this.#fragmentEnd = this.#fragmentAt + 4 + length;
      }
      if (this.#held < this.#fragmentEnd) return;
      const end = this.#fragmentEnd;
      this.#fragmentAt = end;
      this.#fragmentEnd = -1;
      if (!this.#last) continue;
      const raw = this.#take(end);
      const payload = joinFragments(raw, this.#dataLength);
      this.#fragmentAt = 0;
      this.#dataLength = 0;
      onRecord({ raw, payload });
    }
  }

  #uint32At(offset: number): number {
    let value = 0;
    let need = 4;
    let at = offset;
    for (const chunk of this.#chunks) {
      if (at >= chunk.length) {
        at -= chunk.length;
        continue;
      }
      while (need > 0 && at < chunk.length) {
        value = value * 256 + chunk[at++]!;
        need--;
      }
      if (need === 0) break;
      at = 0;
    }
    return value;
  }

  /** Removes the first `count` held bytes and returns them contiguous. */
  #take(count: number): Uint8Array {
    const first = this.#chunks[0]!;
    let out: Uint8Array;
    if (first.length >= count) {
      out = first.subarray(0, count);
      if (first.length === count) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(count);
    } else {
      out = new Uint8Array(count);
      let filled = 0;
      while (filled < count) {
        const chunk = this.#chunks[0]!;
        const take = Math.min(chunk.length, count - filled);
        out.set(chunk.subarray(0, take), filled);
        filled += take;
        if (take === chunk.length) this.#chunks.shift();
        else this.#chunks[0] = chunk.subarray(take);
      }
    }
    this.#held -= count;
    return out;
  }
}

/** The data of a complete record's raw bytes (a view when it is one fragment). */
function joinFragments(raw: Uint8Array, dataLength: number): Uint8Array {
  if (raw.length === dataLength + 4) return raw.subarray(4);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Uint8Array(dataLength);
  let at = 0;
  let filled = 0;
  while (at < raw.length) {
    const length = view.getUint32(at) & MAX_FRAGMENT_LENGTH;
    out.set(raw.subarray(at + 4, at + 4 + length), filled);
    filled += length;
    at += 4 + length;
  }
  return out;
}

/** Frames `payload` as one record of a single last fragment. */
export function frameRecord(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, (LAST_FRAGMENT | payload.length) >>> 0);
  out.set(payload, 4);
  return out;
}

/**
 * A complete record's data, its fragments joined, in an array of its own
 * (at offset 0 of its buffer): what a reply's rewrite changes in place
 * before {@linkcode frameRecord} frames it again.
 */
export function payloadOf(raw: Uint8Array): Uint8Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const parts: Uint8Array[] = [];
  for (let at = 0; at < raw.length;) {
    const length = view.getUint32(at) & MAX_FRAGMENT_LENGTH;
    parts.push(raw.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let filled = 0;
  for (const part of parts) {
    out.set(part, filled);
    filled += part.length;
  }
  return out;
}

// ------------------------------------------------------------- RPC messages

/** An RPC message header, or what made it unreadable. */
export type RpcMessage =
  | {
    readonly kind: "call";
    readonly xid: number;
    readonly program: number;
    readonly version: number;
    readonly procedure: number;
    /** The procedure's arguments (a view of the payload). */
    readonly args: Uint8Array;
  }
  | {
    readonly kind: "reply";
    readonly xid: number;
    readonly body: ReplyBody;
    /** The procedure's results when the call was accepted with SUCCESS, else empty. */
    readonly results: Uint8Array;
  }
  | { readonly kind: "garbage"; readonly error: string };

/** Reads the RPC header of a record's payload (RFC 5531 §9); never throws. */
export function readRpcMessage(payload: Uint8Array): RpcMessage {
  const r = new XdrReader(payload);
  try {
    const { xid, msgType } = readMessageStart(r);
    if (msgType === CALL) {
      const body = readCallBody(r);
      return {
        kind: "call",
        xid,
        program: body.program,
        version: body.version,
        procedure: body.procedure,
        args: payload.subarray(r.offset),
      };
    }
    const body = readReplyBody(r);
    const success = body.replyStat === MSG_ACCEPTED && body.acceptStat === SUCCESS;
    return {
      kind: "reply",
      xid,
      body,
      results: success ? payload.subarray(r.offset) : new Uint8Array(),
    };
  } catch (e) {
    return { kind: "garbage", error: e instanceof Error ? e.message : String(e) };
  }
}

// --------------------------------------------------------- COMPOUND args

/** The SEQUENCE op that opens an NFSv4.1 COMPOUND, and what follows it. */
export interface SequenceInfo {
  /** The 16-byte session ID, lower-case hex. */
  readonly sessionId: string;
  readonly sequenceId: number;
  readonly slotId: number;
  readonly highestSlotId: number;
  readonly cachethis: boolean;
  /** The COMPOUND's arguments after SEQUENCE4args (a view of the payload). */
  readonly rest: Uint8Array;
}

/** What COMPOUND4args says. */
export interface CompoundArgsInfo {
  readonly tag: string;
  readonly minorVersion: number;
  /** The op count the request declared. */
  readonly declaredOps: number;
  /** The op numbers read, in order (all of them unless `error` is set). */
  readonly opnums: readonly number[];
  /** Their names (`OPEN`, `OP_99` for one this project has no codec for). */
  readonly ops: readonly string[];
  /** Present when the first op is SEQUENCE. */
  readonly sequence?: SequenceInfo;
  /** Why the arguments could not be read to the end, if they could not. */
  readonly error?: string;
}

/**
 * Reads COMPOUND4args: the tag, minor version and every op number, skipping
 * each op's arguments with its codec from `OP_CODECS`. An op without a codec
 * ends the list (nothing after it can be found); malformed arguments end it
 * with `error` set. Never throws.
 */
export function parseCompoundArgs(args: Uint8Array): CompoundArgsInfo {
  const r = new XdrReader(args);
  let tag = "";
  let minorVersion = -1;
  let declaredOps = 0;
  const opnums: number[] = [];
  let sequence: SequenceInfo | undefined;
  let error: string | undefined;
  try {
    tag = r.readString(Limits.tag);
    minorVersion = r.readUint();
    declaredOps = r.readUint();
    if (declaredOps > Limits.ops) throw new RangeError(`op count ${declaredOps} is implausible`);
    for (let i = 0; i < declaredOps; i++) {
      const opnum = r.readUint();
      opnums.push(opnum);
      const codec = OP_CODECS.get(opnum);
      if (!codec) {
        if (i + 1 < declaredOps) error = `no codec for ${opName(opnum)}: later ops unknown`;
        break;
      }
      const decoded = codec.decodeArgs(r);
      if (i === 0 && opnum === Op.SEQUENCE) {
        const seq = decoded as SequenceArgs;
        sequence = {
          sessionId: toHex(seq.sessionid),
          sequenceId: seq.sequenceid,
          slotId: seq.slotid,
          highestSlotId: seq.highestSlotid,
          cachethis: seq.cachethis,
          rest: args.subarray(r.offset),
        };
      }
    }
    if (error === undefined && opnums.length === declaredOps && r.remaining !== 0) {
      error = `${r.remaining} bytes after the last op`;
    }
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  const info: CompoundArgsInfo = {
    tag,
    minorVersion,
    declaredOps,
    opnums,
    ops: opnums.map(opName),
    ...(sequence ? { sequence } : {}),
    ...(error !== undefined ? { error } : {}),
  };
  return info;
}

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

// ------------------------------------------------ plain COMPOUND replies

/** A plain COMPOUND of `op` on a file: `PUTFH op`, after SEQUENCE on 4.1. */
export function isPlainCompound(ops: readonly string[], op: string): boolean {
  const rest = ops[0] === "SEQUENCE" ? ops.slice(1) : ops;
  return rest.length === 2 && rest[0] === "PUTFH" && rest[1] === op;
}

/**
 * Where the result of `op` (its resok, after its resop and status) starts
 * in the payload of a reply to a plain COMPOUND (`[SEQUENCE] PUTFH op`,
 * {@linkcode isPlainCompound}), for a rewrite to change it in place;
 * undefined when the call was not accepted or an op failed (RFC 5531 §9,
 * COMPOUND4res in RFC 7530 §16.2, RFC 8881 §16.2).
 */
export function plainResultAt(payload: Uint8Array, op: number): number | undefined {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  // xid, REPLY, MSG_ACCEPTED, verifier (flavor, length, body), SUCCESS.
  let at = 24 + ((view.getUint32(16) + 3) & ~3);
  if (view.getUint32(at - 4) !== 0 || view.getUint32(at) !== 0) return undefined; // not NFS4_OK
  at += 8 + ((view.getUint32(at + 4) + 3) & ~3) + 4; // status, tag, resarray's count
  for (;;) {
    const resop = view.getUint32(at);
    if (view.getUint32(at + 4) !== 0) return undefined;
    at += 8;
    if (resop === Op.SEQUENCE) at += 36; // SEQUENCE4resok
    else if (resop === op) return at;
    else assert.equal(resop, Op.PUTFH, `a ${opName(op)} COMPOUND's ops`);
  }
}

// --------------------------------------------------------- slot recorder

/** One request seen under a (session, slot, seqid). */
export interface SlotUse {
  readonly sessionId: string;
  readonly slotId: number;
  readonly sequenceId: number;
  readonly cachethis: boolean;
  /** SHA-256 of the request after SEQUENCE, lower-case hex. */
  readonly sha256: string;
  /** Length of the request after SEQUENCE. */
  readonly length: number;
  /** The COMPOUND's ops, SEQUENCE included. */
  readonly ops: readonly string[];
  readonly xid: number;
  /** The proxy's connection number. */
  readonly connection: number;
  /** Milliseconds since the recorder was made. */
  readonly at: number;
}

/** Two different requests under one (session, slot, seqid). */
export interface SlotViolation {
  readonly sessionId: string;
  readonly slotId: number;
  readonly sequenceId: number;
  /** The first request seen under it. */
  readonly first: SlotUse;
  /** A later, different one. */
  readonly second: SlotUse;
}

/** What {@linkcode SlotRecorder.record} takes. */
export interface SlotRequest {
  readonly sessionId: string;
  readonly slotId: number;
  readonly sequenceId: number;
  readonly cachethis?: boolean;
  /** The request after SEQUENCE4args. */
  readonly rest: Uint8Array;
  readonly ops?: readonly string[];
  readonly xid?: number;
  readonly connection?: number;
}

/**
 * Records every NFSv4.1 (session, slot, seqid) with a hash of the request
 * that followed SEQUENCE, and reports any that carried two different
 * requests. A byte-identical resend is a retry and allowed (RFC 8881
 * §2.10.6.1.3); anything else under the same seqid is a violation: the server
 * would take it for a retry and answer it from its reply cache (§2.10.6.1,
 * §2.10.6.2). Holds a hash per request, not the request.
 *
 * @example
 * ```ts
 * const recorder = new SlotRecorder();
 * recorder.record({ sessionId: "00…", slotId: 0, sequenceId: 1, rest: readAt0 });
 * recorder.record({ sessionId: "00…", slotId: 0, sequenceId: 1, rest: readAt4096 });
 * recorder.violations().length; // 1
 * ```
 */
export class SlotRecorder {
  readonly #started = performance.now();
  readonly #uses: SlotUse[] = [];
  /** Distinct requests per slot/seqid key, first first. */
  readonly #byKey = new Map<string, SlotUse[]>();
  readonly #violations: SlotViolation[] = [];

  /** Every request recorded, in order. */
  get uses(): readonly SlotUse[] {
    return this.#uses;
  }

  /** Records one request; returns the violation it makes, if it makes one. */
  record(request: SlotRequest): SlotViolation | undefined {
    const use: SlotUse = {
      sessionId: request.sessionId,
      slotId: request.slotId,
      sequenceId: request.sequenceId,
      cachethis: request.cachethis ?? false,
      sha256: createHash("sha256").update(request.rest).digest("hex"),
      length: request.rest.length,
      ops: request.ops ?? [],
      xid: request.xid ?? 0,
      connection: request.connection ?? 0,
      at: performance.now() - this.#started,
    };
    this.#uses.push(use);
    const key = `${use.sessionId}/${use.slotId}/${use.sequenceId}`;
    const seen = this.#byKey.get(key);
    if (!seen) {
      this.#byKey.set(key, [use]);
      return undefined;
    }
    if (seen.some((s) => s.sha256 === use.sha256 && s.length === use.length)) return undefined;
    seen.push(use);
    const violation: SlotViolation = {
      sessionId: use.sessionId,
      slotId: use.slotId,
      sequenceId: use.sequenceId,
      first: seen[0]!,
      second: use,
    };
    this.#violations.push(violation);
    return violation;
  }

  /** Every slot/seqid that carried two different requests, in the order found. */
  violations(): SlotViolation[] {
    return [...this.#violations];
  }

  /** Fails (AssertionError) when any slot/seqid carried two different requests. */
  assertUnique(): void {
    if (this.#violations.length === 0) return;
    assert.fail(
      `${this.#violations.length} slot/seqid pair(s) carried two different requests ` +
        `(RFC 8881 §2.10.6.1):\n` + this.#violations.map(describeViolation).join("\n"),
    );
  }
}

/** One line naming a violation: session, slot, seqid and both requests. */
export function describeViolation(v: SlotViolation): string {
  const use = (u: SlotUse) =>
    `xid 0x${u.xid.toString(16)} on connection ${u.connection} at ${u.at.toFixed(0)} ms: ` +
    `${u.ops.join(" ")} (${u.length} bytes after SEQUENCE, sha256 ${u.sha256.slice(0, 12)})`;
  return `session ${v.sessionId} slot ${v.slotId} seqid ${v.sequenceId}: ` +
    `${use(v.first)} / then ${use(v.second)}`;
}

// ---------------------------------------------------------------- random

/**
 * A reproducible generator of numbers in [0, 1) from a 32-bit seed
 * (mulberry32): the same seed gives the same faults.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer from `min` to `max`, both included. */
export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** A fresh 32-bit seed. */
export function freshSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}
