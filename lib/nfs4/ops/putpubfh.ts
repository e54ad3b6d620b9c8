/**
 * PUTPUBFH: set the current file handle to the server's public file handle
 * (RFC 7530 §16.21).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";

export const PUTPUBFH: OpCodec<void, void> = {
  opnum: Op.PUTPUBFH,
  name: "PUTPUBFH",
  encodeArgs() {},
  decodeArgs() {},
  encodeResult() {},
  decodeResult() {},
};

export function putpubfh(): Nfs4Op<void> {
  return bindOp(PUTPUBFH, undefined);
}
