/**
 * SETCLIENTID: establish a client ID and callback, NFSv4.0 only (RFC 7530
 * §16.33). When another client holds the ID it fails with
 * NFS4ERR_CLID_INUSE and the address in use as the error's `detail`.
 * @module
 */

import { NFS4_OPAQUE_LIMIT, Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { Nfs4Status } from "../status.ts";
import {
  decodeNetAddr,
  decodeVerifier,
  encodeNetAddr,
  encodeVerifier,
  type NetAddr,
  type Verifier,
} from "../types.ts";

/** nfs_client_id4: a boot verifier and a unique, stable client name. */
export interface NfsClientId {
  readonly verifier: Verifier;
  readonly id: Uint8Array;
}

/** cb_client4: where the server sends callbacks. */
export interface CbClient {
  readonly program: number;
  readonly location: NetAddr;
}

/** SETCLIENTID4args. */
export interface SetclientidArgs {
  readonly client: NfsClientId;
  readonly callback: CbClient;
  readonly callbackIdent: number;
}

/** SETCLIENTID4resok. */
export interface SetclientidResult {
  readonly clientid: bigint;
  readonly confirm: Verifier;
}

export const SETCLIENTID: OpCodec<SetclientidArgs, SetclientidResult> = {
  opnum: Op.SETCLIENTID,
  name: "SETCLIENTID",
  encodeArgs(w, args) {
    encodeVerifier(w, args.client.verifier);
    w.writeOpaque(args.client.id, NFS4_OPAQUE_LIMIT);
    w.writeUint(args.callback.program);
    encodeNetAddr(w, args.callback.location);
    w.writeUint(args.callbackIdent);
  },
  decodeArgs(r) {
    const verifier = decodeVerifier(r);
    const id = r.readOpaque(NFS4_OPAQUE_LIMIT).slice();
    const program = r.readUint();
    const location = decodeNetAddr(r);
    const callbackIdent = r.readUint();
    return { client: { verifier, id }, callback: { program, location }, callbackIdent };
  },
  encodeResult(w, result) {
    w.writeUhyper(result.clientid);
    encodeVerifier(w, result.confirm);
  },
  decodeResult(r) {
    const clientid = r.readUhyper();
    const confirm = decodeVerifier(r);
    return { clientid, confirm };
  },
  encodeFailure(w, status, detail) {
    if (status !== Nfs4Status.NFS4ERR_CLID_INUSE) return;
    if (detail === undefined) {
      throw new TypeError("SETCLIENTID NFS4ERR_CLID_INUSE needs a NetAddr detail");
    }
    encodeNetAddr(w, detail as NetAddr);
  },
  decodeFailure(r, status) {
    return status === Nfs4Status.NFS4ERR_CLID_INUSE ? decodeNetAddr(r) : undefined;
  },
};

/** SETCLIENTID; NFS4ERR_CLID_INUSE carries the {@linkcode NetAddr} in use. */
export function setclientid(args: SetclientidArgs): Nfs4Op<SetclientidResult> {
  return bindOp(SETCLIENTID, args);
}
