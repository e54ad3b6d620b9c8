/**
 * FREE_STATEID: free a stateid the server revoked or that holds no locks,
 * NFSv4.1 (RFC 8881 §18.38).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeStateid, encodeStateid, type Stateid } from "../types.ts";

export const FREE_STATEID: OpCodec<Stateid, void> = {
  opnum: Op.FREE_STATEID,
  name: "FREE_STATEID",
  encodeArgs: encodeStateid,
  decodeArgs: decodeStateid,
  encodeResult() {},
  decodeResult() {},
};

export function freeStateid(stateid: Stateid): Nfs4Op<void> {
  return bindOp(FREE_STATEID, stateid);
}
