/**
 * RENEW: renew the lease of a client ID, NFSv4.0 only (RFC 7530 §16.28).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";

export const RENEW: OpCodec<bigint, void> = {
  opnum: Op.RENEW,
  name: "RENEW",
  encodeArgs(w, clientid) {
    w.writeUhyper(clientid);
  },
  decodeArgs(r) {
    return r.readUhyper();
  },
  encodeResult() {},
  decodeResult() {},
};

export function renew(clientid: bigint): Nfs4Op<void> {
  return bindOp(RENEW, clientid);
}
