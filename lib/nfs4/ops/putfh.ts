/**
 * PUTFH: set the current file handle (RFC 7530 §16.20).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeFileHandle, encodeFileHandle, type FileHandle } from "../types.ts";

export const PUTFH: OpCodec<FileHandle, void> = {
  opnum: Op.PUTFH,
  name: "PUTFH",
  encodeArgs: encodeFileHandle,
  decodeArgs: decodeFileHandle,
  encodeResult() {},
  decodeResult() {},
};

export function putfh(fh: FileHandle): Nfs4Op<void> {
  return bindOp(PUTFH, fh);
}
