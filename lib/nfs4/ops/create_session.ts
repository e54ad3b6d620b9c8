/**
 * CREATE_SESSION: create a session for a client ID, NFSv4.1 (RFC 8881
 * §18.36).
 * @module
 */

import type { XdrReader, XdrWriter } from "../../xdr/mod.ts";
import { Limits, Op, RpcGssService, SecFlavor } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeSessionId, encodeSessionId, type SessionId } from "../types.ts";

/** channel_attrs4: the limits of one channel. `rdmaIrd` only for RDMA. */
export interface ChannelAttrs {
  readonly headerPadSize: number;
  readonly maxRequestSize: number;
  readonly maxResponseSize: number;
  readonly maxResponseSizeCached: number;
  readonly maxOperations: number;
  readonly maxRequests: number;
  readonly rdmaIrd?: number;
}

/** authsys_parms (RFC 5531 §A.2), as carried in callback_sec_parms4. */
export interface AuthSysParms {
  readonly stamp: number;
  readonly machineName: string;
  readonly uid: number;
  readonly gid: number;
  readonly gids: readonly number[];
}

/**
 * callback_sec_parms4: the credentials the server uses on the backchannel.
 * RPCSEC_GSS is decoded so that a reply carrying it can be read; this client
 * only sends AUTH_NONE and AUTH_SYS.
 */
export type CallbackSecParms =
  | { readonly flavor: typeof SecFlavor.AUTH_NONE }
  | { readonly flavor: typeof SecFlavor.AUTH_SYS; readonly sys: AuthSysParms }
  | {
    readonly flavor: typeof SecFlavor.RPCSEC_GSS;
    readonly service: number;
    readonly handleFromServer: Uint8Array;
    readonly handleFromClient: Uint8Array;
  };

/** CREATE_SESSION4args. `flags` holds `CreateSessionFlags.*` bits. */
export interface CreateSessionArgs {
  readonly clientid: bigint;
  readonly sequence: number;
  readonly flags: number;
  readonly foreChannel: ChannelAttrs;
  readonly backChannel: ChannelAttrs;
  readonly cbProgram: number;
  readonly secParms: readonly CallbackSecParms[];
}

/** CREATE_SESSION4resok. */
export interface CreateSessionResult {
  readonly sessionid: SessionId;
  readonly sequence: number;
  readonly flags: number;
  readonly foreChannel: ChannelAttrs;
  readonly backChannel: ChannelAttrs;
}

const SEC_FLAVORS: ReadonlySet<number> = new Set(Object.values(SecFlavor));
const GSS_SERVICES: ReadonlySet<number> = new Set(Object.values(RpcGssService));
/** authsys_parms limits (RFC 5531). */
const MACHINE_NAME_MAX = 255;
const GIDS_MAX = 16;

export function encodeChannelAttrs(w: XdrWriter, attrs: ChannelAttrs): void {
  w.writeUint(attrs.headerPadSize);
  w.writeUint(attrs.maxRequestSize);
  w.writeUint(attrs.maxResponseSize);
  w.writeUint(attrs.maxResponseSizeCached);
  w.writeUint(attrs.maxOperations);
  w.writeUint(attrs.maxRequests);
  w.writeArray(attrs.rdmaIrd === undefined ? [] : [attrs.rdmaIrd], (w, v) => w.writeUint(v), 1);
}

export function decodeChannelAttrs(r: XdrReader): ChannelAttrs {
  const headerPadSize = r.readUint();
  const maxRequestSize = r.readUint();
  const maxResponseSize = r.readUint();
  const maxResponseSizeCached = r.readUint();
  const maxOperations = r.readUint();
  const maxRequests = r.readUint();
  const [rdmaIrd] = r.readArray((r) => r.readUint(), 1);
  const attrs = {
    headerPadSize,
    maxRequestSize,
    maxResponseSize,
    maxResponseSizeCached,
    maxOperations,
    maxRequests,
  };
  return rdmaIrd === undefined ? attrs : { ...attrs, rdmaIrd };
}

/** callback_sec_parms4<>, shared with BACKCHANNEL_CTL. */
export function encodeCallbackSecParms(w: XdrWriter, list: readonly CallbackSecParms[]): void {
  w.writeArray(list, (w, p) => {
    w.writeUint(p.flavor);
    if (p.flavor === SecFlavor.AUTH_SYS) {
      w.writeUint(p.sys.stamp);
      w.writeString(p.sys.machineName, MACHINE_NAME_MAX);
      w.writeUint(p.sys.uid);
      w.writeUint(p.sys.gid);
      w.writeArray(p.sys.gids, (w, g) => w.writeUint(g), GIDS_MAX);
    } else if (p.flavor === SecFlavor.RPCSEC_GSS) {
      w.writeEnum(p.service);
      w.writeOpaque(p.handleFromServer, Limits.smallOpaque);
      w.writeOpaque(p.handleFromClient, Limits.smallOpaque);
    }
  }, Limits.callbackSecParms);
}

export function decodeCallbackSecParms(r: XdrReader): CallbackSecParms[] {
  return r.readArray((r): CallbackSecParms => {
    const flavor = r.readEnum(SEC_FLAVORS, "callback_sec_parms4 flavor");
    if (flavor === SecFlavor.AUTH_SYS) {
      const stamp = r.readUint();
      const machineName = r.readString(MACHINE_NAME_MAX);
      const uid = r.readUint();
      const gid = r.readUint();
      const gids = r.readArray((r) => r.readUint(), GIDS_MAX);
      return { flavor, sys: { stamp, machineName, uid, gid, gids } };
    }
    if (flavor === SecFlavor.RPCSEC_GSS) {
      const service = r.readEnum(GSS_SERVICES, "rpc_gss_svc_t");
      const handleFromServer = r.readOpaque(Limits.smallOpaque).slice();
      const handleFromClient = r.readOpaque(Limits.smallOpaque).slice();
      return { flavor, service, handleFromServer, handleFromClient };
    }
    return { flavor: SecFlavor.AUTH_NONE };
  }, Limits.callbackSecParms);
}

export const CREATE_SESSION: OpCodec<CreateSessionArgs, CreateSessionResult> = {
  opnum: Op.CREATE_SESSION,
  name: "CREATE_SESSION",
  encodeArgs(w, args) {
    w.writeUhyper(args.clientid);
    w.writeUint(args.sequence);
    w.writeUint(args.flags);
    encodeChannelAttrs(w, args.foreChannel);
    encodeChannelAttrs(w, args.backChannel);
    w.writeUint(args.cbProgram);
    encodeCallbackSecParms(w, args.secParms);
  },
  decodeArgs(r) {
    const clientid = r.readUhyper();
    const sequence = r.readUint();
    const flags = r.readUint();
    const foreChannel = decodeChannelAttrs(r);
    const backChannel = decodeChannelAttrs(r);
    const cbProgram = r.readUint();
    const secParms = decodeCallbackSecParms(r);
    return { clientid, sequence, flags, foreChannel, backChannel, cbProgram, secParms };
  },
  encodeResult(w, result) {
    encodeSessionId(w, result.sessionid);
    w.writeUint(result.sequence);
    w.writeUint(result.flags);
    encodeChannelAttrs(w, result.foreChannel);
    encodeChannelAttrs(w, result.backChannel);
  },
  decodeResult(r) {
    const sessionid = decodeSessionId(r);
    const sequence = r.readUint();
    const flags = r.readUint();
    const foreChannel = decodeChannelAttrs(r);
    const backChannel = decodeChannelAttrs(r);
    return { sessionid, sequence, flags, foreChannel, backChannel };
  },
};

export function createSession(args: CreateSessionArgs): Nfs4Op<CreateSessionResult> {
  return bindOp(CREATE_SESSION, args);
}
