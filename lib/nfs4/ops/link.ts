/**
 * LINK: create a hard link to the saved file handle in the current directory
 * (RFC 7530 §16.9).
 * @module
 */

import { Limits, Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { writeComponent } from "../names.ts";
import { type ChangeInfo, decodeChangeInfo, encodeChangeInfo } from "../types.ts";

export const LINK: OpCodec<string, ChangeInfo> = {
  opnum: Op.LINK,
  name: "LINK",
  encodeArgs(w, newName) {
    writeComponent(w, newName, "LINK");
  },
  decodeArgs(r) {
    return r.readString(Limits.name);
  },
  encodeResult: encodeChangeInfo,
  decodeResult: decodeChangeInfo,
};

/** LINK (SAVED_FH: source; CURRENT_FH: target directory). */
export function link(newName: string): Nfs4Op<ChangeInfo> {
  return bindOp(LINK, newName);
}
