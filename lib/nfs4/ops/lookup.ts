/**
 * LOOKUP: look up one component name in the current directory and make its
 * file handle current (RFC 7530 §16.13).
 * @module
 */

import { Limits, Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { writeComponent } from "../names.ts";

export const LOOKUP: OpCodec<string, void> = {
  opnum: Op.LOOKUP,
  name: "LOOKUP",
  encodeArgs(w, name) {
    writeComponent(w, name, "LOOKUP");
  },
  decodeArgs(r) {
    return r.readString(Limits.name);
  },
  encodeResult() {},
  decodeResult() {},
};

/** LOOKUP of one component (`name` must not contain `/`). */
export function lookup(name: string): Nfs4Op<void> {
  return bindOp(LOOKUP, name);
}
