/**
 * DESTROY_SESSION: destroy a session, NFSv4.1 (RFC 8881 §18.37).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeSessionId, encodeSessionId, type SessionId } from "../types.ts";

export const DESTROY_SESSION: OpCodec<SessionId, void> = {
  opnum: Op.DESTROY_SESSION,
  name: "DESTROY_SESSION",
  encodeArgs: encodeSessionId,
  decodeArgs: decodeSessionId,
  encodeResult() {},
  decodeResult() {},
};

export function destroySession(sessionid: SessionId): Nfs4Op<void> {
  return bindOp(DESTROY_SESSION, sessionid);
}
