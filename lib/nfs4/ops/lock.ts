/**
 * LOCK: create or extend a byte-range lock (RFC 7530 §16.10, RFC 8881
 * §18.10). The first lock of a lock-owner on a file names the open stateid
 * (`open_to_lock_owner4`); later ones name the lock stateid
 * (`exist_lock_owner4`). A conflict fails with NFS4ERR_DENIED and a
 * LOCK4denied body describing the holder, returned as the error's `detail`.
 * @module
 */

import type { XdrReader, XdrWriter } from "../../xdr/mod.ts";
import { LockType, Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { Nfs4ProtocolError } from "../errors.ts";
import { Nfs4Status } from "../status.ts";
import {
  decodeStateid,
  decodeStateOwner,
  encodeStateid,
  encodeStateOwner,
  formatStateid,
  sameStateOther,
  type Stateid,
  type StateOwner,
} from "../types.ts";

/** locker4 with new_lock_owner TRUE: open_to_lock_owner4. */
export interface OpenToLockOwner {
  readonly newLockOwner: true;
  readonly openSeqid: number;
  readonly openStateid: Stateid;
  readonly lockSeqid: number;
  readonly lockOwner: StateOwner;
}

/** locker4 with new_lock_owner FALSE: exist_lock_owner4. */
export interface ExistLockOwner {
  readonly newLockOwner: false;
  readonly lockStateid: Stateid;
  readonly lockSeqid: number;
}

export type Locker = OpenToLockOwner | ExistLockOwner;

/** LOCK4args. `length` of `NFS4_UINT64_MAX` means to the end of file. */
export interface LockArgs {
  readonly locktype: number;
  readonly reclaim: boolean;
  readonly offset: bigint;
  readonly length: bigint;
  readonly locker: Locker;
}

/** LOCK4denied: the conflicting lock (with LOCK and LOCKT's NFS4ERR_DENIED). */
export interface LockDenied {
  readonly offset: bigint;
  readonly length: bigint;
  readonly locktype: number;
  readonly owner: StateOwner;
}

/** nfs_lock_type4 values. */
export const LOCK_TYPES: ReadonlySet<number> = new Set(Object.values(LockType));

export function encodeLockDenied(w: XdrWriter, d: LockDenied): void {
  w.writeUhyper(d.offset);
  w.writeUhyper(d.length);
  w.writeInt(d.locktype);
  encodeStateOwner(w, d.owner);
}

export function decodeLockDenied(r: XdrReader): LockDenied {
  const offset = r.readUhyper();
  const length = r.readUhyper();
  const locktype = r.readEnum(LOCK_TYPES, "nfs_lock_type4");
  const owner = decodeStateOwner(r);
  return { offset, length, locktype, owner };
}

export const LOCK: OpCodec<LockArgs, Stateid> = {
  opnum: Op.LOCK,
  name: "LOCK",
  encodeArgs(w, args) {
    w.writeInt(args.locktype);
    w.writeBool(args.reclaim);
    w.writeUhyper(args.offset);
    w.writeUhyper(args.length);
    const locker = args.locker;
    w.writeBool(locker.newLockOwner);
    if (locker.newLockOwner) {
      w.writeUint(locker.openSeqid);
      encodeStateid(w, locker.openStateid);
      w.writeUint(locker.lockSeqid);
      encodeStateOwner(w, locker.lockOwner);
    } else {
      encodeStateid(w, locker.lockStateid);
      w.writeUint(locker.lockSeqid);
    }
  },
  decodeArgs(r) {
    const locktype = r.readEnum(LOCK_TYPES, "nfs_lock_type4");
    const reclaim = r.readBool();
    const offset = r.readUhyper();
    const length = r.readUhyper();
    let locker: Locker;
    if (r.readBool()) {
      const openSeqid = r.readUint();
      const openStateid = decodeStateid(r);
      const lockSeqid = r.readUint();
      const lockOwner = decodeStateOwner(r);
      locker = { newLockOwner: true, openSeqid, openStateid, lockSeqid, lockOwner };
    } else {
      const lockStateid = decodeStateid(r);
      const lockSeqid = r.readUint();
      locker = { newLockOwner: false, lockStateid, lockSeqid };
    }
    return { locktype, reclaim, offset, length, locker };
  },
  encodeResult: encodeStateid,
  decodeResult(r, args) {
    const stateid = decodeStateid(r);
    checkLockStateid(stateid, args);
    return stateid;
  },
  encodeFailure(w, status, detail) {
    if (status !== Nfs4Status.NFS4ERR_DENIED) return;
    if (detail === undefined) throw new TypeError("LOCK NFS4ERR_DENIED needs a LockDenied detail");
    encodeLockDenied(w, detail as LockDenied);
  },
  decodeFailure(r, status) {
    return status === Nfs4Status.NFS4ERR_DENIED ? decodeLockDenied(r) : undefined;
  },
};

/**
 * A lock stateid is a stateid of its own: never a special one (`other` all
 * zeros or all ones, RFC 8881 §8.2.3, RFC 7530 §9.1.4.3: the server hands
 * none of those out), never the open stateid it was made from (RFC 7530
 * §9.1.4, RFC 8881 §8.2.1: each stateid's `other` names one piece of
 * state). Believed, one would be sent as the lock's stateid in WRITE and
 * LOCKU: I/O outside the lock, or an unlock of the open.
 */
function checkLockStateid(stateid: Stateid, args: LockArgs | undefined): void {
  const other = stateid.other;
  if (other.every((b) => b === 0) || other.every((b) => b === 0xff)) {
    throw new Nfs4ProtocolError(
      `LOCK returned the special stateid ${formatStateid(stateid)} as the lock stateid`,
    );
  }
  const locker = args?.locker;
  if (locker?.newLockOwner && sameStateOther(stateid, locker.openStateid)) {
    throw new Nfs4ProtocolError(
      `LOCK returned the open stateid ${formatStateid(stateid)} as the lock stateid`,
    );
  }
}

/** LOCK; the result is the lock stateid. NFS4ERR_DENIED carries a {@linkcode LockDenied}. */
export function lock(args: LockArgs): Nfs4Op<Stateid> {
  return bindOp(LOCK, args);
}
