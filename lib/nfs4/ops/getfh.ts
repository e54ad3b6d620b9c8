/**
 * GETFH: return the current file handle (RFC 7530 §16.8).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeFileHandle, encodeFileHandle, type FileHandle } from "../types.ts";

export const GETFH: OpCodec<void, FileHandle> = {
  opnum: Op.GETFH,
  name: "GETFH",
  encodeArgs() {},
  decodeArgs() {},
  encodeResult: encodeFileHandle,
  decodeResult: decodeFileHandle,
};

export function getfh(): Nfs4Op<FileHandle> {
  return bindOp(GETFH, undefined);
}
