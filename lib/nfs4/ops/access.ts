/**
 * ACCESS: which of the requested access rights the caller has on the current
 * file handle (RFC 7530 §16.1).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";

/** ACCESS4resok: the bits the server could check, and those granted. */
export interface AccessResult {
  readonly supported: number;
  readonly access: number;
}

export const ACCESS: OpCodec<number, AccessResult> = {
  opnum: Op.ACCESS,
  name: "ACCESS",
  encodeArgs(w, access) {
    w.writeUint(access);
  },
  decodeArgs(r) {
    return r.readUint();
  },
  encodeResult(w, result) {
    w.writeUint(result.supported);
    w.writeUint(result.access);
  },
  decodeResult(r) {
    const supported = r.readUint();
    const access = r.readUint();
    return { supported, access };
  },
};

/** ACCESS with a mask of `AccessMask.ACCESS4_*` bits. */
export function access(mask: number): Nfs4Op<AccessResult> {
  return bindOp(ACCESS, mask);
}
