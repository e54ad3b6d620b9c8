/**
 * OPEN_DOWNGRADE: reduce the share access and deny of an open (RFC 7530
 * §16.19).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeStateid, encodeStateid, type Stateid } from "../types.ts";

/** OPEN_DOWNGRADE4args. */
export interface OpenDowngradeArgs {
  readonly stateid: Stateid;
  readonly seqid: number;
  readonly shareAccess: number;
  readonly shareDeny: number;
}

export const OPEN_DOWNGRADE: OpCodec<OpenDowngradeArgs, Stateid> = {
  opnum: Op.OPEN_DOWNGRADE,
  name: "OPEN_DOWNGRADE",
  encodeArgs(w, args) {
    encodeStateid(w, args.stateid);
    w.writeUint(args.seqid);
    w.writeUint(args.shareAccess);
    w.writeUint(args.shareDeny);
  },
  decodeArgs(r) {
    const stateid = decodeStateid(r);
    const seqid = r.readUint();
    const shareAccess = r.readUint();
    const shareDeny = r.readUint();
    return { stateid, seqid, shareAccess, shareDeny };
  },
  encodeResult: encodeStateid,
  decodeResult: decodeStateid,
};

/** OPEN_DOWNGRADE; the result is the updated open stateid. */
export function openDowngrade(args: OpenDowngradeArgs): Nfs4Op<Stateid> {
  return bindOp(OPEN_DOWNGRADE, args);
}
