/**
 * SETATTR: set attributes of the current file handle (RFC 7530 §16.32).
 *
 * SETATTR4res carries the bitmap of attributes set even when the op fails;
 * on failure it is the error's `detail`.
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import {
  decodeBitmap,
  decodeFattr,
  encodeBitmap,
  encodeFattr,
  type SettableAttributes,
} from "../attrs.ts";
import { decodeStateid, encodeStateid, type Stateid } from "../types.ts";

/** SETATTR4args. Use the anonymous stateid unless the size changes under an open. */
export interface SetattrArgs {
  readonly stateid: Stateid;
  readonly attrs: SettableAttributes;
}

export const SETATTR: OpCodec<SetattrArgs, ReadonlySet<number>> = {
  opnum: Op.SETATTR,
  name: "SETATTR",
  encodeArgs(w, args) {
    encodeStateid(w, args.stateid);
    encodeFattr(w, args.attrs);
  },
  decodeArgs(r) {
    const stateid = decodeStateid(r);
    const attrs = decodeFattr(r).attrs as SettableAttributes;
    return { stateid, attrs };
  },
  encodeResult: encodeBitmap,
  decodeResult: decodeBitmap,
  encodeFailure(w, _status, detail) {
    encodeBitmap(w, (detail as Iterable<number> | undefined) ?? []);
  },
  decodeFailure(r) {
    return decodeBitmap(r);
  },
};

/** SETATTR; the result is the set of attribute ids set. */
export function setattr(args: SetattrArgs): Nfs4Op<ReadonlySet<number>> {
  return bindOp(SETATTR, args);
}
