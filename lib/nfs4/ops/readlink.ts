/**
 * READLINK: read the target of the current symbolic link (RFC 7530 §16.25).
 * @module
 */

import { Limits, Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";

export const READLINK: OpCodec<void, string> = {
  opnum: Op.READLINK,
  name: "READLINK",
  encodeArgs() {},
  decodeArgs() {},
  encodeResult(w, link) {
    w.writeString(link, Limits.linkText);
  },
  decodeResult(r) {
    return r.readString(Limits.linkText);
  },
};

export function readlink(): Nfs4Op<string> {
  return bindOp(READLINK, undefined);
}
