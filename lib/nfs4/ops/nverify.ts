/**
 * NVERIFY: fail with NFS4ERR_SAME when the attributes of the current file handle all equal the given ones (RFC 7530 §16.15).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeFattr, encodeFattrResult, type FileAttributes } from "../attrs.ts";

export const NVERIFY: OpCodec<FileAttributes, void> = {
  opnum: Op.NVERIFY,
  name: "NVERIFY",
  encodeArgs: encodeFattrResult,
  decodeArgs(r) {
    return decodeFattr(r).attrs;
  },
  encodeResult() {},
  decodeResult() {},
};

export function nverify(attrs: FileAttributes): Nfs4Op<void> {
  return bindOp(NVERIFY, attrs);
}
