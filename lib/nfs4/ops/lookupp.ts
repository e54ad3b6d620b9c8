/**
 * LOOKUPP: make the parent of the current directory current (RFC 7530 §16.14).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";

export const LOOKUPP: OpCodec<void, void> = {
  opnum: Op.LOOKUPP,
  name: "LOOKUPP",
  encodeArgs() {},
  decodeArgs() {},
  encodeResult() {},
  decodeResult() {},
};

export function lookupp(): Nfs4Op<void> {
  return bindOp(LOOKUPP, undefined);
}
