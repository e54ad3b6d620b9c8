/**
 * DELEGPURGE: purge delegations awaiting recovery (RFC 7530 §16.5).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";

export const DELEGPURGE: OpCodec<bigint, void> = {
  opnum: Op.DELEGPURGE,
  name: "DELEGPURGE",
  encodeArgs(w, clientid) {
    w.writeUhyper(clientid);
  },
  decodeArgs(r) {
    return r.readUhyper();
  },
  encodeResult() {},
  decodeResult() {},
};

export function delegpurge(clientid: bigint): Nfs4Op<void> {
  return bindOp(DELEGPURGE, clientid);
}
