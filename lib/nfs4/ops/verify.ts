/**
 * VERIFY: fail with NFS4ERR_NOT_SAME unless the attributes of the current file handle all equal the given ones (RFC 7530 §16.35).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeFattr, encodeFattrResult, type FileAttributes } from "../attrs.ts";

export const VERIFY: OpCodec<FileAttributes, void> = {
  opnum: Op.VERIFY,
  name: "VERIFY",
  encodeArgs: encodeFattrResult,
  decodeArgs(r) {
    return decodeFattr(r).attrs;
  },
  encodeResult() {},
  decodeResult() {},
};

export function verify(attrs: FileAttributes): Nfs4Op<void> {
  return bindOp(VERIFY, attrs);
}
