/**
 * TEST_STATEID: ask whether stateids are still valid, NFSv4.1 (RFC 8881
 * §18.48). The result holds one nfsstat4 per stateid sent.
 * @module
 */

import { Limits, Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeStateid, encodeStateid, type Stateid } from "../types.ts";
import { XdrError } from "../../xdr/mod.ts";

export const TEST_STATEID: OpCodec<readonly Stateid[], number[]> = {
  opnum: Op.TEST_STATEID,
  name: "TEST_STATEID",
  encodeArgs(w, stateids) {
    w.writeArray(stateids, encodeStateid, Limits.stateids);
  },
  decodeArgs(r) {
    return r.readArray(decodeStateid, Limits.stateids, 16);
  },
  encodeResult(w, statuses) {
    w.writeArray(statuses, (w, s) => w.writeUint(s), Limits.stateids);
  },
  decodeResult(r, stateids) {
    const at = r.offset;
    const statuses = r.readArray((r) => r.readUint(), Limits.stateids);
    // One status per stateid sent (§18.48.3): a short answer would leave
    // a stateid's validity unknown, not confirmed.
    if (stateids !== undefined && statuses.length !== stateids.length) {
      throw new XdrError(
        `TEST_STATEID answered ${statuses.length} statuses for ${stateids.length} stateids`,
        at,
      );
    }
    return statuses;
  },
};

export function testStateid(stateids: readonly Stateid[]): Nfs4Op<number[]> {
  return bindOp(TEST_STATEID, stateids);
}
