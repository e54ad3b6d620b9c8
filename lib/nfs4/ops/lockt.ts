/**
 * LOCKT: test for a conflicting lock without taking one (RFC 7530 §16.11).
 * A conflict fails with NFS4ERR_DENIED and a LOCK4denied `detail`.
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { Nfs4Status } from "../status.ts";
import { decodeStateOwner, encodeStateOwner, type StateOwner } from "../types.ts";
import { decodeLockDenied, encodeLockDenied, LOCK_TYPES, type LockDenied } from "./lock.ts";

/** LOCKT4args. */
export interface LocktArgs {
  readonly locktype: number;
  readonly offset: bigint;
  readonly length: bigint;
  readonly owner: StateOwner;
}

export const LOCKT: OpCodec<LocktArgs, void> = {
  opnum: Op.LOCKT,
  name: "LOCKT",
  encodeArgs(w, args) {
    w.writeInt(args.locktype);
    w.writeUhyper(args.offset);
    w.writeUhyper(args.length);
    encodeStateOwner(w, args.owner);
  },
  decodeArgs(r) {
    const locktype = r.readEnum(LOCK_TYPES, "nfs_lock_type4");
    const offset = r.readUhyper();
    const length = r.readUhyper();
    const owner = decodeStateOwner(r);
    return { locktype, offset, length, owner };
  },
  encodeResult() {},
  decodeResult() {},
  encodeFailure(w, status, detail) {
    if (status !== Nfs4Status.NFS4ERR_DENIED) return;
    if (detail === undefined) throw new TypeError("LOCKT NFS4ERR_DENIED needs a LockDenied detail");
    encodeLockDenied(w, detail as LockDenied);
  },
  decodeFailure(r, status) {
    return status === Nfs4Status.NFS4ERR_DENIED ? decodeLockDenied(r) : undefined;
  },
};

export function lockt(args: LocktArgs): Nfs4Op<void> {
  return bindOp(LOCKT, args);
}
