/**
 * BACKCHANNEL_CTL: change the callback program and credentials of the
 * backchannel, NFSv4.1 (RFC 8881 §18.33).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import {
  type CallbackSecParms,
  decodeCallbackSecParms,
  encodeCallbackSecParms,
} from "./create_session.ts";

/** BACKCHANNEL_CTL4args. */
export interface BackchannelCtlArgs {
  readonly cbProgram: number;
  readonly secParms: readonly CallbackSecParms[];
}

export const BACKCHANNEL_CTL: OpCodec<BackchannelCtlArgs, void> = {
  opnum: Op.BACKCHANNEL_CTL,
  name: "BACKCHANNEL_CTL",
  encodeArgs(w, args) {
    w.writeUint(args.cbProgram);
    encodeCallbackSecParms(w, args.secParms);
  },
  decodeArgs(r) {
    const cbProgram = r.readUint();
    const secParms = decodeCallbackSecParms(r);
    return { cbProgram, secParms };
  },
  encodeResult() {},
  decodeResult() {},
};

export function backchannelCtl(args: BackchannelCtlArgs): Nfs4Op<void> {
  return bindOp(BACKCHANNEL_CTL, args);
}
