/**
 * DELEGRETURN: return a delegation (RFC 7530 §16.6).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeStateid, encodeStateid, type Stateid } from "../types.ts";

export const DELEGRETURN: OpCodec<Stateid, void> = {
  opnum: Op.DELEGRETURN,
  name: "DELEGRETURN",
  encodeArgs: encodeStateid,
  decodeArgs: decodeStateid,
  encodeResult() {},
  decodeResult() {},
};

export function delegreturn(stateid: Stateid): Nfs4Op<void> {
  return bindOp(DELEGRETURN, stateid);
}
