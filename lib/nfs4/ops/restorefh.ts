/**
 * RESTOREFH: make the saved file handle current (RFC 7530 §16.29).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";

export const RESTOREFH: OpCodec<void, void> = {
  opnum: Op.RESTOREFH,
  name: "RESTOREFH",
  encodeArgs() {},
  decodeArgs() {},
  encodeResult() {},
  decodeResult() {},
};

export function restorefh(): Nfs4Op<void> {
  return bindOp(RESTOREFH, undefined);
}
