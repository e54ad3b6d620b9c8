/**
 * SETCLIENTID_CONFIRM: confirm a client ID, NFSv4.0 only (RFC 7530 §16.34).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeVerifier, encodeVerifier, type Verifier } from "../types.ts";

/** SETCLIENTID_CONFIRM4args. */
export interface SetclientidConfirmArgs {
  readonly clientid: bigint;
  readonly confirm: Verifier;
}

export const SETCLIENTID_CONFIRM: OpCodec<SetclientidConfirmArgs, void> = {
  opnum: Op.SETCLIENTID_CONFIRM,
  name: "SETCLIENTID_CONFIRM",
  encodeArgs(w, args) {
    w.writeUhyper(args.clientid);
    encodeVerifier(w, args.confirm);
  },
  decodeArgs(r) {
    const clientid = r.readUhyper();
    const confirm = decodeVerifier(r);
    return { clientid, confirm };
  },
  encodeResult() {},
  decodeResult() {},
};

export function setclientidConfirm(args: SetclientidConfirmArgs): Nfs4Op<void> {
  return bindOp(SETCLIENTID_CONFIRM, args);
}
