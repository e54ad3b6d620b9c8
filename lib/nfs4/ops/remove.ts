/**
 * REMOVE: remove a name from the current directory (RFC 7530 §16.26).
 * @module
 */

import { Limits, Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { writeComponent } from "../names.ts";
import { type ChangeInfo, decodeChangeInfo, encodeChangeInfo } from "../types.ts";

export const REMOVE: OpCodec<string, ChangeInfo> = {
  opnum: Op.REMOVE,
  name: "REMOVE",
  encodeArgs(w, target) {
    writeComponent(w, target, "REMOVE");
  },
  decodeArgs(r) {
    return r.readString(Limits.name);
  },
  encodeResult: encodeChangeInfo,
  decodeResult: decodeChangeInfo,
};

export function remove(target: string): Nfs4Op<ChangeInfo> {
  return bindOp(REMOVE, target);
}
