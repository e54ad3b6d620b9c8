/**
 * BIND_CONN_TO_SESSION: associate the connection with a session's fore
 * and/or back channel, NFSv4.1 (RFC 8881 §18.34).
 * @module
 */

import { ChannelDirFromClient, ChannelDirFromServer, Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeSessionId, encodeSessionId, type SessionId } from "../types.ts";

/** BIND_CONN_TO_SESSION4args. `dir` is `ChannelDirFromClient.*`. */
export interface BindConnToSessionArgs {
  readonly sessionid: SessionId;
  readonly dir: number;
  readonly useConnInRdmaMode: boolean;
}

/** BIND_CONN_TO_SESSION4resok. `dir` is `ChannelDirFromServer.*`. */
export interface BindConnToSessionResult {
  readonly sessionid: SessionId;
  readonly dir: number;
  readonly useConnInRdmaMode: boolean;
}

const FROM_CLIENT: ReadonlySet<number> = new Set(Object.values(ChannelDirFromClient));
const FROM_SERVER: ReadonlySet<number> = new Set(Object.values(ChannelDirFromServer));

export const BIND_CONN_TO_SESSION: OpCodec<BindConnToSessionArgs, BindConnToSessionResult> = {
  opnum: Op.BIND_CONN_TO_SESSION,
  name: "BIND_CONN_TO_SESSION",
  encodeArgs(w, args) {
    encodeSessionId(w, args.sessionid);
    w.writeEnum(args.dir);
    w.writeBool(args.useConnInRdmaMode);
  },
  decodeArgs(r) {
    const sessionid = decodeSessionId(r);
    const dir = r.readEnum(FROM_CLIENT, "channel_dir_from_client4");
    const useConnInRdmaMode = r.readBool();
    return { sessionid, dir, useConnInRdmaMode };
  },
  encodeResult(w, result) {
    encodeSessionId(w, result.sessionid);
    w.writeEnum(result.dir);
    w.writeBool(result.useConnInRdmaMode);
  },
  decodeResult(r) {
    const sessionid = decodeSessionId(r);
    const dir = r.readEnum(FROM_SERVER, "channel_dir_from_server4");
    const useConnInRdmaMode = r.readBool();
    return { sessionid, dir, useConnInRdmaMode };
  },
};

export function bindConnToSession(args: BindConnToSessionArgs): Nfs4Op<BindConnToSessionResult> {
  return bindOp(BIND_CONN_TO_SESSION, args);
}
