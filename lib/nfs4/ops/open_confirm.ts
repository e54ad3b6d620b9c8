/**
 * OPEN_CONFIRM: confirm the first OPEN of an open-owner, NFSv4.0 only
 * (RFC 7530 §16.18).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeStateid, encodeStateid, type Stateid } from "../types.ts";

/** OPEN_CONFIRM4args. */
export interface OpenConfirmArgs {
  readonly stateid: Stateid;
  readonly seqid: number;
}

export const OPEN_CONFIRM: OpCodec<OpenConfirmArgs, Stateid> = {
  opnum: Op.OPEN_CONFIRM,
  name: "OPEN_CONFIRM",
  encodeArgs(w, args) {
    encodeStateid(w, args.stateid);
    w.writeUint(args.seqid);
  },
  decodeArgs(r) {
    const stateid = decodeStateid(r);
    const seqid = r.readUint();
    return { stateid, seqid };
  },
  encodeResult: encodeStateid,
  decodeResult: decodeStateid,
};

/** OPEN_CONFIRM; the result is the confirmed open stateid. */
export function openConfirm(args: OpenConfirmArgs): Nfs4Op<Stateid> {
  return bindOp(OPEN_CONFIRM, args);
}
