/**
 * OPENATTR: make the named attribute directory of the current file handle
 * current (RFC 7530 §16.17).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";

export const OPENATTR: OpCodec<boolean, void> = {
  opnum: Op.OPENATTR,
  name: "OPENATTR",
  encodeArgs(w, createdir) {
    w.writeBool(createdir);
  },
  decodeArgs(r) {
    return r.readBool();
  },
  encodeResult() {},
  decodeResult() {},
};

export function openattr(createdir: boolean): Nfs4Op<void> {
  return bindOp(OPENATTR, createdir);
}
