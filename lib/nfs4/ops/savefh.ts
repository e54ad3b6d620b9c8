/**
 * SAVEFH: save the current file handle (RFC 7530 §16.30).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";

export const SAVEFH: OpCodec<void, void> = {
  opnum: Op.SAVEFH,
  name: "SAVEFH",
  encodeArgs() {},
  decodeArgs() {},
  encodeResult() {},
  decodeResult() {},
};

export function savefh(): Nfs4Op<void> {
  return bindOp(SAVEFH, undefined);
}
