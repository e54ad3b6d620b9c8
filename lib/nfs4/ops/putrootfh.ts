/**
 * PUTROOTFH: set the current file handle to the root of the server's pseudo
 * file system (RFC 7530 §16.22).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";

export const PUTROOTFH: OpCodec<void, void> = {
  opnum: Op.PUTROOTFH,
  name: "PUTROOTFH",
  encodeArgs() {},
  decodeArgs() {},
  encodeResult() {},
  decodeResult() {},
};

export function putrootfh(): Nfs4Op<void> {
  return bindOp(PUTROOTFH, undefined);
}
