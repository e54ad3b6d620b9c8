/**
 * CLOSE: release the share reservation of an open stateid (RFC 7530 §16.2,
 * RFC 8881 §18.2).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeStateid, encodeStateid, type Stateid } from "../types.ts";

/** CLOSE4args. `seqid` is the open-owner's sequence (ignored by NFSv4.1 servers). */
export interface CloseArgs {
  readonly seqid: number;
  readonly stateid: Stateid;
}

export const CLOSE: OpCodec<CloseArgs, Stateid> = {
  opnum: Op.CLOSE,
  name: "CLOSE",
  encodeArgs(w, args) {
    w.writeUint(args.seqid);
    encodeStateid(w, args.stateid);
  },
  decodeArgs(r) {
    const seqid = r.readUint();
    const stateid = decodeStateid(r);
    return { seqid, stateid };
  },
  encodeResult: encodeStateid,
  decodeResult: decodeStateid,
};

/** CLOSE; the result is the (now invalid) open stateid. */
export function close(args: CloseArgs): Nfs4Op<Stateid> {
  return bindOp(CLOSE, args);
}
