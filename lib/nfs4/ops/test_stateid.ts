/**
 * TEST_STATEID: ask whether stateids are still valid, NFSv4.1 (RFC 8881
 * §18.48). The result holds one nfsstat4 per stateid sent.
 * @module
 */

import { Limits, Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeStateid, encodeStateid, type Stateid } from "../types.ts";

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
  decodeResult(r) {
    return r.readArray((r) => r.readUint(), Limits.stateids);
  },
};

export function testStateid(stateids: readonly Stateid[]): Nfs4Op<number[]> {
  return bindOp(TEST_STATEID, stateids);
}
