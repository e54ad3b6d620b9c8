/**
 * GETATTR: get attributes of the current file handle (RFC 7530 §16.7).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import {
  decodeBitmap,
  type DecodedFattr,
  decodeFattr,
  encodeBitmap,
  encodeFattrResult,
} from "../attrs.ts";

export const GETATTR: OpCodec<ReadonlySet<number>, DecodedFattr> = {
  opnum: Op.GETATTR,
  name: "GETATTR",
  encodeArgs: encodeBitmap,
  decodeArgs: decodeBitmap,
  encodeResult(w, result) {
    encodeFattrResult(w, result.attrs);
  },
  decodeResult: decodeFattr,
};

/** GETATTR of the given `Attr.*` ids; the result's `attrs` holds the values. */
export function getattr(ids: Iterable<number>): Nfs4Op<DecodedFattr> {
  return bindOp(GETATTR, new Set(ids));
}
