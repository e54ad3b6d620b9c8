/**
 * LOCKU: release a byte-range lock (RFC 7530 §16.12).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeStateid, encodeStateid, type Stateid } from "../types.ts";
import { LOCK_TYPES } from "./lock.ts";

/** LOCKU4args. */
export interface LockuArgs {
  readonly locktype: number;
  readonly seqid: number;
  readonly stateid: Stateid;
  readonly offset: bigint;
  readonly length: bigint;
}

export const LOCKU: OpCodec<LockuArgs, Stateid> = {
  opnum: Op.LOCKU,
  name: "LOCKU",
  encodeArgs(w, args) {
    w.writeInt(args.locktype);
    w.writeUint(args.seqid);
    encodeStateid(w, args.stateid);
    w.writeUhyper(args.offset);
    w.writeUhyper(args.length);
  },
  decodeArgs(r) {
    const locktype = r.readEnum(LOCK_TYPES, "nfs_lock_type4");
    const seqid = r.readUint();
    const stateid = decodeStateid(r);
    const offset = r.readUhyper();
    const length = r.readUhyper();
    return { locktype, seqid, stateid, offset, length };
  },
  encodeResult: encodeStateid,
  decodeResult: decodeStateid,
};

/** LOCKU; the result is the updated lock stateid. */
export function locku(args: LockuArgs): Nfs4Op<Stateid> {
  return bindOp(LOCKU, args);
}
