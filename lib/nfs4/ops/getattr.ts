/**
 * GETATTR: get attributes of the current file handle (RFC 7530 §16.7).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import {
  decodeBitmap,
  type DecodedFattr,
  encodeBitmap,
  encodeFattrResult,
  FattrDecoder,
} from "../attrs.ts";

/**
 * GETATTR replies of a path walk or a batch of files repeat a few bitmaps:
 * decoded with plans, exactly as decodeFattr() would (attrs.ts).
 */
const fattrs = new FattrDecoder();

export const GETATTR: OpCodec<ReadonlySet<number>, DecodedFattr> = {
  opnum: Op.GETATTR,
  name: "GETATTR",
  encodeArgs: encodeBitmap,
  decodeArgs: decodeBitmap,
  encodeResult(w, result) {
    encodeFattrResult(w, result.attrs);
  },
  decodeResult: (r) => fattrs.decode(r),
};

/** GETATTR of the given `Attr.*` ids; the result's `attrs` holds the values. */
export function getattr(ids: Iterable<number>): Nfs4Op<DecodedFattr> {
  return bindOp(GETATTR, new Set(ids));
}
