/**
 * RECLAIM_COMPLETE: tell the server this client has finished reclaiming
 * state after its restart, NFSv4.1 (RFC 8881 §18.51).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";

export const RECLAIM_COMPLETE: OpCodec<boolean, void> = {
  opnum: Op.RECLAIM_COMPLETE,
  name: "RECLAIM_COMPLETE",
  encodeArgs(w, oneFs) {
    w.writeBool(oneFs);
  },
  decodeArgs(r) {
    return r.readBool();
  },
  encodeResult() {},
  decodeResult() {},
};

/** RECLAIM_COMPLETE; `oneFs` true limits it to the current file handle's file system. */
export function reclaimComplete(oneFs = false): Nfs4Op<void> {
  return bindOp(RECLAIM_COMPLETE, oneFs);
}
