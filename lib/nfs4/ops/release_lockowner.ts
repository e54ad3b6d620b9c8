/**
 * RELEASE_LOCKOWNER: free the server's state for a lock-owner, NFSv4.0 only
 * (RFC 7530 §16.37).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeStateOwner, encodeStateOwner, type StateOwner } from "../types.ts";

export const RELEASE_LOCKOWNER: OpCodec<StateOwner, void> = {
  opnum: Op.RELEASE_LOCKOWNER,
  name: "RELEASE_LOCKOWNER",
  encodeArgs: encodeStateOwner,
  decodeArgs: decodeStateOwner,
  encodeResult() {},
  decodeResult() {},
};

export function releaseLockowner(owner: StateOwner): Nfs4Op<void> {
  return bindOp(RELEASE_LOCKOWNER, owner);
}
