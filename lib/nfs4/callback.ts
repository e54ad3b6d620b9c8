/**
 * The NFSv4 callback program: CB_COMPOUND and its operations (RFC 7530
 * §17 (CB_NULL, CB_COMPOUND) and §18 (CB_GETATTR, CB_RECALL), RFC 8881 §20
 * (the NFSv4.1 callback operations)).
 *
 * The server calls the client: the client decodes CB_COMPOUND4args with
 * {@linkcode decodeCbCompoundRequest} and answers with
 * {@linkcode encodeCbCompoundReply}. The reverse directions
 * ({@linkcode encodeCbCompound}, {@linkcode decodeCbCompoundReply}) let tests
 * play the server. Every codec has the {@linkcode OpCodec} shape of the
 * forward channel's ops.
 *
 * An op number the client does not know (or a NFSv4.1 op in a minor version
 * 0 CB_COMPOUND) stops decoding: the rest of the arguments cannot be parsed.
 * It appears as a final op named `CB_ILLEGAL` whose `args` is the number
 * received; the client answers it with `illegalOutcome()` and stops (RFC 7530
 * §18.3, RFC 8881 §20.13).
 *
 * @example
 * ```ts
 * const request = decodeCbCompoundRequest(new XdrReader(body));
 * const outcomes = [];
 * for (const op of request.ops) {
 *   if (op.opnum === CbOp.CB_ILLEGAL) { outcomes.push(illegalOutcome()); break; }
 *   outcomes.push(handle(op)); // { opnum, name, status, value? }
 * }
 * encodeCbCompoundReply(w, { status: outcomes.at(-1)?.status ?? 0, tag: request.tag ?? "", outcomes });
 * ```
 * @module
 */

import { XdrError, type XdrReader, type XdrWriter } from "../xdr/mod.ts";
import { decodeBitmap, decodeFattr, encodeBitmap, encodeFattrResult } from "./attrs.ts";
import type { FileAttributes } from "./attrs.ts";
import {
  bindOp,
  type CompoundReply,
  decodeCompoundReply,
  encodeCompoundReply,
  type Nfs4Op,
  type OpCodec,
  type OpList,
  type OpOutcome,
} from "./compound.ts";
import { CbOp, cbOpName, LayoutRecallType, Limits, StableHow } from "./constants.ts";
import { decodeOpenDelegation, encodeOpenDelegation, type OpenDelegation } from "./ops/open.ts";
import { decodeSlotReply, encodeSlotReply, type SlotReply } from "./ops/sequence.ts";
import { Nfs4Status } from "./status.ts";
import {
  decodeFileHandle,
  decodeSessionId,
  decodeStateid,
  decodeStateOwner,
  decodeVerifier,
  encodeFileHandle,
  encodeSessionId,
  encodeStateid,
  encodeStateOwner,
  encodeVerifier,
  type FileHandle,
  type SessionId,
  type Stateid,
  type StateOwner,
  type Verifier,
} from "./types.ts";

// ------------------------------------------------------------ CB_GETATTR

/** CB_GETATTR4args: the server asks for the attributes of a file delegated for writing. */
export interface CbGetattrArgs {
  readonly fh: FileHandle;
  readonly attrRequest: ReadonlySet<number>;
}

/** CB_GETATTR (RFC 7530 §18.1, RFC 8881 §20.1); the result is the attributes sent back. */
export const CB_GETATTR: OpCodec<CbGetattrArgs, FileAttributes> = {
  opnum: CbOp.CB_GETATTR,
  name: "CB_GETATTR",
  encodeArgs(w, args) {
    encodeFileHandle(w, args.fh);
    encodeBitmap(w, args.attrRequest);
  },
  decodeArgs(r) {
    const fh = decodeFileHandle(r);
    const attrRequest = decodeBitmap(r);
    return { fh, attrRequest };
  },
  encodeResult: encodeFattrResult,
  decodeResult(r) {
    return decodeFattr(r).attrs;
  },
};

export function cbGetattr(args: CbGetattrArgs): Nfs4Op<FileAttributes> {
  return bindOp(CB_GETATTR, args);
}

// ------------------------------------------------------------- CB_RECALL

/** CB_RECALL4args: return the delegation `stateid` on `fh`. */
export interface CbRecallArgs {
  readonly stateid: Stateid;
  readonly truncate: boolean;
  readonly fh: FileHandle;
}

/** CB_RECALL (RFC 7530 §18.2, RFC 8881 §20.2). */
export const CB_RECALL: OpCodec<CbRecallArgs, void> = {
  opnum: CbOp.CB_RECALL,
  name: "CB_RECALL",
  encodeArgs(w, args) {
    encodeStateid(w, args.stateid);
    w.writeBool(args.truncate);
    encodeFileHandle(w, args.fh);
  },
  decodeArgs(r) {
    const stateid = decodeStateid(r);
    const truncate = r.readBool();
    const fh = decodeFileHandle(r);
    return { stateid, truncate, fh };
  },
  encodeResult() {},
  decodeResult() {},
};

export function cbRecall(args: CbRecallArgs): Nfs4Op<void> {
  return bindOp(CB_RECALL, args);
}

// ------------------------------------------------------- CB_LAYOUTRECALL

/** layoutrecall4: which layouts are recalled. */
export type LayoutRecall =
  | {
    readonly recallType: typeof LayoutRecallType.LAYOUTRECALL4_FILE;
    readonly fh: FileHandle;
    readonly offset: bigint;
    readonly length: bigint;
    readonly stateid: Stateid;
  }
  | {
    readonly recallType: typeof LayoutRecallType.LAYOUTRECALL4_FSID;
    readonly fsid: { readonly major: bigint; readonly minor: bigint };
  }
  | { readonly recallType: typeof LayoutRecallType.LAYOUTRECALL4_ALL };

/** CB_LAYOUTRECALL4args. This client holds no layouts and answers NFS4ERR_NOMATCHING_LAYOUT or NOTSUPP. */
export interface CbLayoutrecallArgs {
  readonly layoutType: number;
  readonly iomode: number;
  readonly changed: boolean;
  readonly recall: LayoutRecall;
}

const RECALL_TYPES: ReadonlySet<number> = new Set(Object.values(LayoutRecallType));

/** CB_LAYOUTRECALL (RFC 8881 §20.3). */
export const CB_LAYOUTRECALL: OpCodec<CbLayoutrecallArgs, void> = {
  opnum: CbOp.CB_LAYOUTRECALL,
  name: "CB_LAYOUTRECALL",
  encodeArgs(w, args) {
    w.writeInt(args.layoutType);
    w.writeInt(args.iomode);
    w.writeBool(args.changed);
    const recall = args.recall;
    w.writeInt(recall.recallType);
    if (recall.recallType === LayoutRecallType.LAYOUTRECALL4_FILE) {
      encodeFileHandle(w, recall.fh);
      w.writeUhyper(recall.offset);
      w.writeUhyper(recall.length);
      encodeStateid(w, recall.stateid);
    } else if (recall.recallType === LayoutRecallType.LAYOUTRECALL4_FSID) {
      w.writeUhyper(recall.fsid.major);
      w.writeUhyper(recall.fsid.minor);
    }
  },
  decodeArgs(r) {
    const layoutType = r.readInt();
    const iomode = r.readInt();
    const changed = r.readBool();
    const recallType = r.readEnum(RECALL_TYPES, "layoutrecall_type4");
    let recall: LayoutRecall;
    if (recallType === LayoutRecallType.LAYOUTRECALL4_FILE) {
      const fh = decodeFileHandle(r);
      const offset = r.readUhyper();
      const length = r.readUhyper();
      const stateid = decodeStateid(r);
      recall = { recallType, fh, offset, length, stateid };
    } else if (recallType === LayoutRecallType.LAYOUTRECALL4_FSID) {
      const major = r.readUhyper();
      const minor = r.readUhyper();
      recall = { recallType, fsid: { major, minor } };
    } else {
      recall = { recallType: LayoutRecallType.LAYOUTRECALL4_ALL };
    }
    return { layoutType, iomode, changed, recall };
  },
  encodeResult() {},
  decodeResult() {},
};

export function cbLayoutrecall(args: CbLayoutrecallArgs): Nfs4Op<void> {
  return bindOp(CB_LAYOUTRECALL, args);
}

// ------------------------------------------------------------- CB_NOTIFY

/** notify4: a mask of notification types and their values, left undecoded. */
export interface Notify {
  readonly mask: ReadonlySet<number>;
  readonly values: Uint8Array;
}

function encodeNotifyList(w: XdrWriter, list: readonly Notify[]): void {
  w.writeArray(list, (w, n) => {
    encodeBitmap(w, n.mask);
    w.writeOpaque(n.values, Limits.attrValues);
  }, Limits.notifications);
}

function decodeNotifyList(r: XdrReader): Notify[] {
  return r.readArray(
    (r) => {
      const mask = decodeBitmap(r);
      const values = r.readOpaque(Limits.attrValues).slice();
      return { mask, values };
    },
    Limits.notifications,
    8,
  );
}

/** CB_NOTIFY4args: directory change notifications (not interpreted by this client). */
export interface CbNotifyArgs {
  readonly stateid: Stateid;
  readonly fh: FileHandle;
  readonly changes: readonly Notify[];
}

/** CB_NOTIFY (RFC 8881 §20.4). */
export const CB_NOTIFY: OpCodec<CbNotifyArgs, void> = {
  opnum: CbOp.CB_NOTIFY,
  name: "CB_NOTIFY",
  encodeArgs(w, args) {
    encodeStateid(w, args.stateid);
    encodeFileHandle(w, args.fh);
    encodeNotifyList(w, args.changes);
  },
  decodeArgs(r) {
    const stateid = decodeStateid(r);
    const fh = decodeFileHandle(r);
    const changes = decodeNotifyList(r);
    return { stateid, fh, changes };
  },
  encodeResult() {},
  decodeResult() {},
};

export function cbNotify(args: CbNotifyArgs): Nfs4Op<void> {
  return bindOp(CB_NOTIFY, args);
}

// --------------------------------------------------------- CB_PUSH_DELEG

/** CB_PUSH_DELEG4args: the server offers a delegation the client wanted. */
export interface CbPushDelegArgs {
  readonly fh: FileHandle;
  readonly delegation: OpenDelegation;
}

/** CB_PUSH_DELEG (RFC 8881 §20.5). */
export const CB_PUSH_DELEG: OpCodec<CbPushDelegArgs, void> = {
  opnum: CbOp.CB_PUSH_DELEG,
  name: "CB_PUSH_DELEG",
  encodeArgs(w, args) {
    encodeFileHandle(w, args.fh);
    encodeOpenDelegation(w, args.delegation);
  },
  decodeArgs(r) {
    const fh = decodeFileHandle(r);
    const delegation = decodeOpenDelegation(r);
    return { fh, delegation };
  },
  encodeResult() {},
  decodeResult() {},
};

export function cbPushDeleg(args: CbPushDelegArgs): Nfs4Op<void> {
  return bindOp(CB_PUSH_DELEG, args);
}

// ------------------------------------ CB_RECALL_ANY, CB_RECALLABLE_OBJ_AVAIL

/** CB_RECALL_ANY4args: keep at most `objectsToKeep` of the types in `typeMask` (RecallAnyType bits). */
export interface CbRecallAnyArgs {
  readonly objectsToKeep: number;
  readonly typeMask: ReadonlySet<number>;
}

function encodeRecallAny(w: XdrWriter, args: CbRecallAnyArgs): void {
  w.writeUint(args.objectsToKeep);
  encodeBitmap(w, args.typeMask);
}

function decodeRecallAny(r: XdrReader): CbRecallAnyArgs {
  const objectsToKeep = r.readUint();
  const typeMask = decodeBitmap(r);
  return { objectsToKeep, typeMask };
}

/** CB_RECALL_ANY (RFC 8881 §20.6). */
export const CB_RECALL_ANY: OpCodec<CbRecallAnyArgs, void> = {
  opnum: CbOp.CB_RECALL_ANY,
  name: "CB_RECALL_ANY",
  encodeArgs: encodeRecallAny,
  decodeArgs: decodeRecallAny,
  encodeResult() {},
  decodeResult() {},
};

export function cbRecallAny(args: CbRecallAnyArgs): Nfs4Op<void> {
  return bindOp(CB_RECALL_ANY, args);
}

/** CB_RECALLABLE_OBJ_AVAIL (RFC 8881 §20.7): same arguments as CB_RECALL_ANY. */
export const CB_RECALLABLE_OBJ_AVAIL: OpCodec<CbRecallAnyArgs, void> = {
  opnum: CbOp.CB_RECALLABLE_OBJ_AVAIL,
  name: "CB_RECALLABLE_OBJ_AVAIL",
  encodeArgs: encodeRecallAny,
  decodeArgs: decodeRecallAny,
  encodeResult() {},
  decodeResult() {},
};

export function cbRecallableObjAvail(args: CbRecallAnyArgs): Nfs4Op<void> {
  return bindOp(CB_RECALLABLE_OBJ_AVAIL, args);
}

// -------------------------------------------------------- CB_RECALL_SLOT

/** CB_RECALL_SLOT (RFC 8881 §20.8): the argument is the new target highest slot id. */
export const CB_RECALL_SLOT: OpCodec<number, void> = {
  opnum: CbOp.CB_RECALL_SLOT,
  name: "CB_RECALL_SLOT",
  encodeArgs(w, targetHighestSlotid) {
    w.writeUint(targetHighestSlotid);
  },
  decodeArgs(r) {
    return r.readUint();
  },
  encodeResult() {},
  decodeResult() {},
};

export function cbRecallSlot(targetHighestSlotid: number): Nfs4Op<void> {
  return bindOp(CB_RECALL_SLOT, targetHighestSlotid);
}

// ----------------------------------------------------------- CB_SEQUENCE

/** referring_call4. */
export interface ReferringCall {
  readonly sequenceid: number;
  readonly slotid: number;
}

/** referring_call_list4: fore-channel calls of a session this callback relates to. */
export interface ReferringCallList {
  readonly sessionid: SessionId;
  readonly calls: readonly ReferringCall[];
}

/** CB_SEQUENCE4args. */
export interface CbSequenceArgs {
  readonly sessionid: SessionId;
  readonly sequenceid: number;
  readonly slotid: number;
  readonly highestSlotid: number;
  readonly cachethis: boolean;
  readonly referringCallLists: readonly ReferringCallList[];
}

/** CB_SEQUENCE4resok: the same slot fields as SEQUENCE4resok's. */
export type CbSequenceResult = SlotReply;

/** CB_SEQUENCE (RFC 8881 §20.9). */
export const CB_SEQUENCE: OpCodec<CbSequenceArgs, CbSequenceResult> = {
  opnum: CbOp.CB_SEQUENCE,
  name: "CB_SEQUENCE",
  encodeArgs(w, args) {
    encodeSessionId(w, args.sessionid);
    w.writeUint(args.sequenceid);
    w.writeUint(args.slotid);
    w.writeUint(args.highestSlotid);
    w.writeBool(args.cachethis);
    w.writeArray(args.referringCallLists, (w, list) => {
      encodeSessionId(w, list.sessionid);
      w.writeArray(list.calls, (w, call) => {
        w.writeUint(call.sequenceid);
        w.writeUint(call.slotid);
      }, Limits.referringCalls);
    }, Limits.referringCalls);
  },
  decodeArgs(r) {
    const sessionid = decodeSessionId(r);
    const sequenceid = r.readUint();
    const slotid = r.readUint();
    const highestSlotid = r.readUint();
    const cachethis = r.readBool();
    const referringCallLists = r.readArray(
      (r) => {
        const sessionid = decodeSessionId(r);
        const calls = r.readArray(
          (r) => {
            const sequenceid = r.readUint();
            const slotid = r.readUint();
            return { sequenceid, slotid };
          },
          Limits.referringCalls,
          8,
        );
        return { sessionid, calls };
      },
      Limits.referringCalls,
      20,
    );
    return { sessionid, sequenceid, slotid, highestSlotid, cachethis, referringCallLists };
  },
  // CB_SEQUENCE4resok is SEQUENCE4resok without the status flags.
  encodeResult: encodeSlotReply,
  decodeResult: decodeSlotReply,
};

export function cbSequence(args: CbSequenceArgs): Nfs4Op<CbSequenceResult> {
  return bindOp(CB_SEQUENCE, args);
}

// ---------------------------------------------------- CB_WANTS_CANCELLED

/** CB_WANTS_CANCELLED4args. */
export interface CbWantsCancelledArgs {
  readonly contendedWantsCancelled: boolean;
  readonly resourcedWantsCancelled: boolean;
}

/** CB_WANTS_CANCELLED (RFC 8881 §20.10). */
export const CB_WANTS_CANCELLED: OpCodec<CbWantsCancelledArgs, void> = {
  opnum: CbOp.CB_WANTS_CANCELLED,
  name: "CB_WANTS_CANCELLED",
  encodeArgs(w, args) {
    w.writeBool(args.contendedWantsCancelled);
    w.writeBool(args.resourcedWantsCancelled);
  },
  decodeArgs(r) {
    const contendedWantsCancelled = r.readBool();
    const resourcedWantsCancelled = r.readBool();
    return { contendedWantsCancelled, resourcedWantsCancelled };
  },
  encodeResult() {},
  decodeResult() {},
};

export function cbWantsCancelled(args: CbWantsCancelledArgs): Nfs4Op<void> {
  return bindOp(CB_WANTS_CANCELLED, args);
}

// -------------------------------------------------------- CB_NOTIFY_LOCK

/** CB_NOTIFY_LOCK4args: a lock `lockOwner` waited for on `fh` may now be free. */
export interface CbNotifyLockArgs {
  readonly fh: FileHandle;
  readonly lockOwner: StateOwner;
}

/** CB_NOTIFY_LOCK (RFC 8881 §20.11). */
export const CB_NOTIFY_LOCK: OpCodec<CbNotifyLockArgs, void> = {
  opnum: CbOp.CB_NOTIFY_LOCK,
  name: "CB_NOTIFY_LOCK",
  encodeArgs(w, args) {
    encodeFileHandle(w, args.fh);
    encodeStateOwner(w, args.lockOwner);
  },
  decodeArgs(r) {
    const fh = decodeFileHandle(r);
    const lockOwner = decodeStateOwner(r);
    return { fh, lockOwner };
  },
  encodeResult() {},
  decodeResult() {},
};

export function cbNotifyLock(args: CbNotifyLockArgs): Nfs4Op<void> {
  return bindOp(CB_NOTIFY_LOCK, args);
}

// ---------------------------------------------------- CB_NOTIFY_DEVICEID

/** CB_NOTIFY_DEVICEID (RFC 8881 §20.12): the argument is the notify4 list. */
export const CB_NOTIFY_DEVICEID: OpCodec<readonly Notify[], void> = {
  opnum: CbOp.CB_NOTIFY_DEVICEID,
  name: "CB_NOTIFY_DEVICEID",
  encodeArgs: encodeNotifyList,
  decodeArgs: decodeNotifyList,
  encodeResult() {},
  decodeResult() {},
};

export function cbNotifyDeviceid(changes: readonly Notify[]): Nfs4Op<void> {
  return bindOp(CB_NOTIFY_DEVICEID, changes);
}

// ------------------------------------------------------------ CB_OFFLOAD

/** write_response4 (RFC 7862 §15.1.5.1). */
export interface WriteResponse {
  readonly callbackId?: Stateid;
  readonly count: bigint;
  readonly committed: number;
  readonly writeverf: Verifier;
}

/** CB_OFFLOAD4args: an asynchronous COPY finished (`status` 0) or failed. */
export interface CbOffloadArgs {
  readonly fh: FileHandle;
  readonly stateid: Stateid;
  readonly status: number;
  /** With status NFS4_OK. */
  readonly response?: WriteResponse;
  /** With any other status. */
  readonly bytesCopied?: bigint;
}

const STABLE_HOWS: ReadonlySet<number> = new Set(Object.values(StableHow));

/** CB_OFFLOAD (RFC 7862 §16.1). */
export const CB_OFFLOAD: OpCodec<CbOffloadArgs, void> = {
  opnum: CbOp.CB_OFFLOAD,
  name: "CB_OFFLOAD",
  encodeArgs(w, args) {
    encodeFileHandle(w, args.fh);
    encodeStateid(w, args.stateid);
    w.writeUint(args.status);
    if (args.status === Nfs4Status.NFS4_OK) {
      const resp = args.response;
      if (!resp) throw new TypeError("CB_OFFLOAD with NFS4_OK needs a write response");
      w.writeArray(resp.callbackId ? [resp.callbackId] : [], encodeStateid, 1);
      w.writeUhyper(resp.count);
      w.writeEnum(resp.committed);
      encodeVerifier(w, resp.writeverf);
    } else {
      w.writeUhyper(args.bytesCopied ?? 0n);
    }
  },
  decodeArgs(r) {
    const fh = decodeFileHandle(r);
    const stateid = decodeStateid(r);
    const status = r.readUint();
    if (status !== Nfs4Status.NFS4_OK) {
      return { fh, stateid, status, bytesCopied: r.readUhyper() };
    }
    const [callbackId] = r.readArray(decodeStateid, 1);
    const count = r.readUhyper();
    const committed = r.readEnum(STABLE_HOWS, "stable_how4");
    const writeverf = decodeVerifier(r);
    const response = callbackId
      ? { callbackId, count, committed, writeverf }
      : { count, committed, writeverf };
    return { fh, stateid, status, response };
  },
  encodeResult() {},
  decodeResult() {},
};

export function cbOffload(args: CbOffloadArgs): Nfs4Op<void> {
  return bindOp(CB_OFFLOAD, args);
}

// ------------------------------------------------------------ CB_ILLEGAL

/**
 * CB_ILLEGAL (RFC 8881 §20.13): stands for an op number the client does not
 * know. Its `args` is the op number received; decoding it consumes the rest
 * of the request.
 */
export const CB_ILLEGAL: OpCodec<number, void> = {
  opnum: CbOp.CB_ILLEGAL,
  name: "CB_ILLEGAL",
  encodeArgs() {},
  decodeArgs(r) {
    r.rest();
    return CbOp.CB_ILLEGAL;
  },
  encodeResult() {},
  decodeResult() {},
};

/** The outcome that answers a CB_ILLEGAL op: NFS4ERR_OP_ILLEGAL. */
export function illegalOutcome(): OpOutcome {
  return { opnum: CbOp.CB_ILLEGAL, name: "CB_ILLEGAL", status: Nfs4Status.NFS4ERR_OP_ILLEGAL };
}

// --------------------------------------------------------------- registry

function entry<A, R>(codec: OpCodec<A, R>): [number, OpCodec<unknown, unknown>] {
  return [codec.opnum, codec as unknown as OpCodec<unknown, unknown>];
}

/** Every callback op codec, keyed by op number. */
export const CB_OP_CODECS: ReadonlyMap<number, OpCodec<unknown, unknown>> = new Map([
  entry(CB_GETATTR),
  entry(CB_RECALL),
  entry(CB_LAYOUTRECALL),
  entry(CB_NOTIFY),
  entry(CB_PUSH_DELEG),
  entry(CB_RECALL_ANY),
  entry(CB_RECALLABLE_OBJ_AVAIL),
  entry(CB_RECALL_SLOT),
  entry(CB_SEQUENCE),
  entry(CB_WANTS_CANCELLED),
  entry(CB_NOTIFY_LOCK),
  entry(CB_NOTIFY_DEVICEID),
  entry(CB_OFFLOAD),
  entry(CB_ILLEGAL),
]);

/** The callback ops of minor version 0 (RFC 7530 §18); the rest are illegal there. */
const MINOR0_OPS: ReadonlySet<number> = new Set([CbOp.CB_GETATTR, CbOp.CB_RECALL]);

// ----------------------------------------------------------- CB_COMPOUND

/** CB_COMPOUND4args. */
export interface CbCompoundRequest<T extends OpList = OpList> {
  readonly tag?: string;
  readonly minorVersion: number;
  readonly callbackIdent: number;
  readonly ops: T;
}

/** Encodes CB_COMPOUND4args: what a scripted server sends. */
export function encodeCbCompound(w: XdrWriter, request: CbCompoundRequest): void {
  w.writeString(request.tag ?? "", Limits.tag);
  w.writeUint(request.minorVersion);
  w.writeUint(request.callbackIdent);
  w.writeUint(request.ops.length);
  for (const op of request.ops) {
    w.writeUint(op.opnum);
    op.codec.encodeArgs(w, op.args);
  }
}

/**
 * Decodes CB_COMPOUND4args. An op number without a codec, or one not
 * defined for the request's minor version, ends the op list with a
 * `CB_ILLEGAL` op whose `args` is that number; nothing after it is read.
 * The input must otherwise be consumed exactly.
 */
export function decodeCbCompoundRequest(
  r: XdrReader,
  codecs: ReadonlyMap<number, OpCodec<unknown, unknown>> = CB_OP_CODECS,
): CbCompoundRequest {
  const tag = r.readString(Limits.tag);
  const minorVersion = r.readUint();
  const callbackIdent = r.readUint();
  const at = r.offset;
  const count = r.readUint();
  if (count > Limits.ops) {
    throw new XdrError(`CB_COMPOUND op count ${count} exceeds maximum ${Limits.ops}`, at);
  }
  const ops: Nfs4Op<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const opnum = r.readUint();
    const codec = opnum === CbOp.CB_ILLEGAL ? undefined : codecs.get(opnum);
    if (!codec || (minorVersion === 0 && !MINOR0_OPS.has(opnum))) {
      r.rest();
      ops.push(bindOp(CB_ILLEGAL, opnum) as Nfs4Op<unknown>);
      return { tag, minorVersion, callbackIdent, ops };
    }
    ops.push({ opnum, name: codec.name, args: codec.decodeArgs(r), codec });
  }
  r.assertEnd();
  return { tag, minorVersion, callbackIdent, ops };
}

/** Encodes CB_COMPOUND4res: the client's answer. Same layout as COMPOUND4res. */
export function encodeCbCompoundReply(w: XdrWriter, reply: CompoundReply): void {
  encodeCompoundReply(w, reply, CB_OP_CODECS);
}

/**
 * Decodes CB_COMPOUND4res against the ops sent (what a scripted server
 * reads): each result's op number must match the op at its position, or be
 * CB_ILLEGAL; there must not be more results than ops.
 */
export function decodeCbCompoundReply(r: XdrReader, ops: OpList): CompoundReply {
  return decodeCompoundReply(r, ops, { label: "CB_COMPOUND", opName: cbOpName });
}
