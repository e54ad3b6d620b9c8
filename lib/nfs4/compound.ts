/**
 * COMPOUND (RFC 7530 §14.2, §15.2; RFC 8881 §16.2, §18).
 *
 * Each operation lives in `ops/<name>.ts` as an {@linkcode OpCodec}: a paired
 * encoder and decoder for its arguments and results (both directions, so the
 * same code serves this client and the scripted servers in tests). A request
 * is a list of {@linkcode Nfs4Op} values made by the op files' factories; the
 * reply is decoded against that list, checking that every result's op number
 * is the one sent, and read back typed by position:
 *
 * @example
 * ```ts
 * const ops = [putrootfh(), lookup("vfs"), getfh()] as const;
 * const reply = await channel.compound({ minorVersion: 0, ops });
 * const [, , fh] = compoundResults(reply, ops); // fh: Uint8Array
 * ```
 *
 * The SEQUENCE that NFSv4.1 puts first is added by the session layer, not by
 * callers.
 * @module
 */

import { XdrError, type XdrReader, type XdrWriter } from "../xdr/mod.ts";
import { Limits, Op, opName } from "./constants.ts";
import { Nfs4ProtocolError, NfsError } from "./errors.ts";
import { Nfs4Status } from "./status.ts";

/**
 * The codec of one operation: arguments and results in both directions.
 * `decodeResult` reads the body that follows NFS4_OK; `decodeFailure` reads
 * the body that some errors carry (LOCK4denied with NFS4ERR_DENIED, the
 * client address with NFS4ERR_CLID_INUSE) and returns `undefined` for the
 * statuses that carry none. A reply is decoded knowing the request's
 * arguments (`args`), so that a result can be held to them (a READ returns
 * no more than it asked for).
 */
export interface OpCodec<A, R> {
  readonly opnum: number;
  readonly name: string;
  encodeArgs(w: XdrWriter, args: A): void;
  decodeArgs(r: XdrReader): A;
  encodeResult(w: XdrWriter, result: R): void;
  decodeResult(r: XdrReader, args?: A): R;
  encodeFailure?(w: XdrWriter, status: number, detail: unknown): void;
  decodeFailure?(r: XdrReader, status: number): unknown;
}

/** One operation of a request, with its arguments bound. */
export interface Nfs4Op<R> {
  readonly opnum: number;
  readonly name: string;
  readonly args: unknown;
  readonly codec: OpCodec<unknown, R>;
  /** Phantom field carrying the result type; never set. */
  readonly __result?: R;
}

/** Binds arguments to a codec: what each op file's factory returns. */
export function bindOp<A, R>(codec: OpCodec<A, R>, args: A): Nfs4Op<R> {
  return { opnum: codec.opnum, name: codec.name, args, codec: codec as OpCodec<unknown, R> };
}

/**
 * `op`, telling `seen` its result as the reply is decoded: a COMPOUND that
 * stops at a later op still shows what the earlier ones returned
 * (lib/state/small_file.ts and small_upload.ts use it to know, after a
 * failure, which state-changing ops the server ran).
 */
export function tapped<R>(op: Nfs4Op<R>, seen: (value: R) => void): Nfs4Op<R> {
  const codec = op.codec;
  return {
    ...op,
    codec: {
      ...codec,
      decodeResult(r, args) {
        const value = codec.decodeResult(r, args);
        seen(value);
        return value;
      },
    },
  };
}

/** A list of bound operations. */
export type OpList = readonly Nfs4Op<unknown>[];

/** The result types of an op list, by position. */
export type ResultsOf<T extends OpList> = {
  -readonly [K in keyof T]: T[K] extends Nfs4Op<infer R> ? R : never;
};

/** COMPOUND4args. */
export interface CompoundRequest<T extends OpList = OpList> {
  readonly tag?: string;
  readonly minorVersion: number;
  readonly ops: T;
}

/** The outcome of one operation in a reply. */
export interface OpOutcome {
  readonly opnum: number;
  readonly name: string;
  readonly status: number;
  /** The decoded result when `status` is NFS4_OK. */
  readonly value?: unknown;
  /** Data that came with a failure (see {@linkcode OpCodec.decodeFailure}). */
  readonly detail?: unknown;
}

/** COMPOUND4res, decoded. */
export interface CompoundReply {
  readonly status: number;
  readonly tag: string;
  readonly outcomes: readonly OpOutcome[];
}

export function encodeCompound(w: XdrWriter, request: CompoundRequest): void {
  if (request.tag) w.writeString(request.tag, Limits.tag);
  else w.writeUint(0); // the empty tag
  w.writeUint(request.minorVersion);
  w.writeUint(request.ops.length);
  for (const op of request.ops) {
    w.writeUint(op.opnum);
    op.codec.encodeArgs(w, op.args);
  }
}

const NFS_PROGRAM = { label: "COMPOUND", opName };

/**
 * Decodes COMPOUND4res against the ops that were sent. Every result's op
 * number must match the op sent at that position (a server that does not know
 * an op answers OP_ILLEGAL with NFS4ERR_OP_ILLEGAL, which is accepted as a
 * failure); the reply must not hold more results than ops sent, and must be
 * consumed exactly. A reply is held to what RFC 7530 §15.2 (RFC 8881 §16.2.3)
 * says of COMPOUND, so that no op is taken as done on a reply that does not
 * say so: evaluation stops at the first op that fails, so only the last
 * result may fail; a COMPOUND whose status is NFS4_OK answers every op sent,
 * each with NFS4_OK (a hostile or broken server's `NFS4_OK` with results
 * missing would otherwise pass a REMOVE or an OPEN_CONFIRM as done, or leave
 * a caller a result of `undefined`).
 */
export function decodeCompoundReply(
  r: XdrReader,
  ops: OpList,
  program: { readonly label: string; readonly opName: (opnum: number) => string } = NFS_PROGRAM,
): CompoundReply {
  const status = r.readUint();
  const tag = r.readString(Limits.tag);
  const count = r.readUint();
  if (count > ops.length) {
    throw new Nfs4ProtocolError(
      `${program.label} reply has ${count} results for ${ops.length} ops`,
    );
  }
  const outcomes: OpOutcome[] = [];
  for (let i = 0; i < count; i++) {
    const op = ops[i]!;
    const resop = r.readUint();
    const opStatus = r.readUint();
    if (i > 0 && outcomes[i - 1]!.status !== Nfs4Status.NFS4_OK) {
      throw new Nfs4ProtocolError(
        `${program.label} reply goes on after result ${i - 1} failed (${outcomes[i - 1]!.status})`,
      );
    }
    if (resop !== op.opnum) {
      // OP_ILLEGAL and CB_ILLEGAL are both 10044, as is the status that goes
      // with them (NFS4ERR_OP_ILLEGAL): with any other there is no telling
      // what the server did with the op.
      if (resop === Op.ILLEGAL && opStatus === Nfs4Status.NFS4ERR_OP_ILLEGAL) {
        outcomes.push({ opnum: resop, name: program.opName(resop), status: opStatus });
        continue;
      }
      throw new Nfs4ProtocolError(
        resop === Op.ILLEGAL
          ? `${program.label} result ${i} is ${program.opName(resop)} with status ${opStatus}`
          : `${program.label} result ${i} is for ${program.opName(resop)}, expected ${op.name}`,
      );
    }
    if (opStatus === Nfs4Status.NFS4_OK) {
      outcomes.push({
        opnum: resop,
        name: op.name,
        status: opStatus,
        value: op.codec.decodeResult(r, op.args),
      });
    } else {
      const detail = op.codec.decodeFailure?.(r, opStatus);
      outcomes.push(
        detail === undefined
          ? { opnum: resop, name: op.name, status: opStatus }
          : { opnum: resop, name: op.name, status: opStatus, detail },
      );
    }
  }
  r.assertEnd();
  const last = outcomes.at(-1);
  if (status === Nfs4Status.NFS4_OK && (count !== ops.length || (last && last.status !== status))) {
    throw new Nfs4ProtocolError(
      last && last.status !== status
        ? `${program.label} status NFS4_OK differs from its last result's ${last.status}`
        : `${program.label} reply says NFS4_OK with ${count} results for ${ops.length} ops`,
    );
  }
  if (status !== Nfs4Status.NFS4_OK && last && last.status !== status) {
    // RFC 7530 §15.2: the COMPOUND status is that of the last op evaluated.
    throw new Nfs4ProtocolError(
      `COMPOUND status ${status} differs from its last result's ${last.status}`,
    );
  }
  return { status, tag, outcomes };
}

/** Encodes COMPOUND4res: what a scripted server sends. */
export function encodeCompoundReply(
  w: XdrWriter,
  reply: CompoundReply,
  codecs: ReadonlyMap<number, OpCodec<unknown, unknown>>,
): void {
  w.writeUint(reply.status);
  w.writeString(reply.tag, Limits.tag);
  w.writeUint(reply.outcomes.length);
  for (const outcome of reply.outcomes) {
    w.writeUint(outcome.opnum);
    w.writeUint(outcome.status);
    const codec = codecs.get(outcome.opnum);
    if (outcome.status === Nfs4Status.NFS4_OK) {
      if (!codec) throw new Nfs4ProtocolError(`no codec for ${opName(outcome.opnum)}`);
      codec.encodeResult(w, outcome.value);
    } else {
      // Some failures always carry a body (SETATTR's attrsset), so the codec
      // is asked even without a detail.
      codec?.encodeFailure?.(w, outcome.status, outcome.detail);
    }
  }
}

/**
 * Decodes COMPOUND4args with the given codecs: what a scripted server reads.
 * An unknown op number stops decoding (RFC 7530 §15.2: the server answers it
 * with OP_ILLEGAL); it is returned as an op with `name` `ILLEGAL`.
 */
export function decodeCompoundRequest(
  r: XdrReader,
  codecs: ReadonlyMap<number, OpCodec<unknown, unknown>>,
): CompoundRequest {
  const tag = r.readString(Limits.tag);
  const minorVersion = r.readUint();
  const at = r.offset;
  const count = r.readUint();
  if (count > Limits.ops) {
    throw new XdrError(`COMPOUND op count ${count} exceeds maximum ${Limits.ops}`, at);
  }
  const ops: Nfs4Op<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const opnum = r.readUint();
    const codec = opnum === Op.ILLEGAL ? undefined : codecs.get(opnum);
    if (!codec) {
      // Nothing after an unknown op can be parsed: it is the last one.
      ILLEGAL_CODEC.decodeArgs(r);
      ops.push({ opnum: Op.ILLEGAL, name: "ILLEGAL", args: opnum, codec: ILLEGAL_CODEC });
      return { tag, minorVersion, ops };
    }
    ops.push({ opnum, name: codec.name, args: codec.decodeArgs(r), codec } as Nfs4Op<unknown>);
  }
  r.assertEnd();
  return { tag, minorVersion, ops };
}

const ILLEGAL_CODEC: OpCodec<unknown, unknown> = {
  opnum: Op.ILLEGAL,
  name: "ILLEGAL",
  encodeArgs() {},
  decodeArgs(r) {
    // The rest of the request cannot be parsed once an op is unknown.
    r.rest();
    return undefined;
  },
  encodeResult() {},
  decodeResult() {
    return undefined;
  },
};

/**
 * The results of a fully successful reply, typed by position. When an op
 * failed, throws {@linkcode NfsError} for it (with any failure detail).
 */
export function compoundResults<T extends OpList>(reply: CompoundReply, ops: T): ResultsOf<T> {
  // Loops rather than findIndex() and map(): no closure per reply.
  const outcomes = reply.outcomes;
  for (let index = 0; index < outcomes.length; index++) {
    const failed = outcomes[index]!;
    if (failed.status !== Nfs4Status.NFS4_OK) {
      throw new NfsError(failed.status, failed.name, { detail: failed.detail, opIndex: index });
    }
  }
  if (reply.status !== Nfs4Status.NFS4_OK) {
    throw new NfsError(reply.status, "COMPOUND");
  }
  if (outcomes.length !== ops.length) {
    throw new Nfs4ProtocolError(
      `COMPOUND reply has ${outcomes.length} results for ${ops.length} ops`,
    );
  }
  const values: unknown[] = new Array(outcomes.length);
  for (let i = 0; i < outcomes.length; i++) values[i] = outcomes[i]!.value;
  return values as ResultsOf<T>;
}

/** The first failed outcome, if any. */
export function firstFailure(reply: CompoundReply): OpOutcome | undefined {
  return reply.outcomes.find((o) => o.status !== Nfs4Status.NFS4_OK);
}
