/**
 * DESTROY_CLIENTID: destroy a client ID that holds no state, NFSv4.1
 * (RFC 8881 §18.50).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";

export const DESTROY_CLIENTID: OpCodec<bigint, void> = {
  opnum: Op.DESTROY_CLIENTID,
  name: "DESTROY_CLIENTID",
  encodeArgs(w, clientid) {
    w.writeUhyper(clientid);
  },
  decodeArgs(r) {
    return r.readUhyper();
  },
  encodeResult() {},
  decodeResult() {},
};

export function destroyClientid(clientid: bigint): Nfs4Op<void> {
  return bindOp(DESTROY_CLIENTID, clientid);
}
