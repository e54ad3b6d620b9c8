/**
 * EXCHANGE_ID: establish or confirm a client ID, NFSv4.1 (RFC 8881 §18.35).
 *
 * State protection: this client asks for SP4_NONE. SP4_MACH_CRED and SP4_SSV
 * are decoded in full in both directions, so a reply that grants them is
 * read correctly and the caller can refuse it.
 * @module
 */

import type { XdrReader, XdrWriter } from "../../xdr/mod.ts";
import { Limits, NFS4_OPAQUE_LIMIT, Op, StateProtectHow } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeBitmap, encodeBitmap } from "../attrs.ts";
import {
  decodeNfsTime,
  decodeVerifier,
  encodeNfsTime,
  encodeVerifier,
  type NfsTime,
  type Verifier,
} from "../types.ts";

/** client_owner4: a boot verifier and a unique, stable owner name. */
export interface ClientOwner {
  readonly verifier: Verifier;
  readonly ownerid: Uint8Array;
}

/** state_protect_ops4: op numbers that must (or may) use the machine credential. */
export interface StateProtectOps {
  readonly mustEnforce: ReadonlySet<number>;
  readonly mustAllow: ReadonlySet<number>;
}

/** state_protect4_a. */
export type StateProtectArgs =
  | { readonly how: typeof StateProtectHow.SP4_NONE }
  | { readonly how: typeof StateProtectHow.SP4_MACH_CRED; readonly ops: StateProtectOps }
  | {
    readonly how: typeof StateProtectHow.SP4_SSV;
    readonly ops: StateProtectOps;
    readonly hashAlgs: readonly Uint8Array[];
    readonly encrAlgs: readonly Uint8Array[];
    readonly window: number;
    readonly numGssHandles: number;
  };

/** state_protect4_r. */
export type StateProtectResult =
  | { readonly how: typeof StateProtectHow.SP4_NONE }
  | { readonly how: typeof StateProtectHow.SP4_MACH_CRED; readonly ops: StateProtectOps }
  | {
    readonly how: typeof StateProtectHow.SP4_SSV;
    readonly ops: StateProtectOps;
    readonly hashAlg: number;
    readonly encrAlg: number;
    readonly ssvLen: number;
    readonly window: number;
    readonly handles: readonly Uint8Array[];
  };

/** nfs_impl_id4. */
export interface ImplId {
  readonly domain: string;
  readonly name: string;
  readonly date: NfsTime;
}

/** server_owner4: servers with equal `majorId` may share client IDs (trunking). */
export interface ServerOwner {
  readonly minorId: bigint;
  readonly majorId: Uint8Array;
}

/** EXCHANGE_ID4args. `flags` holds `ExchangeIdFlags.*` bits. */
export interface ExchangeIdArgs {
  readonly clientOwner: ClientOwner;
  readonly flags: number;
  readonly stateProtect: StateProtectArgs;
  readonly implId?: ImplId;
}

/** EXCHANGE_ID4resok. */
export interface ExchangeIdResult {
  readonly clientid: bigint;
  readonly sequenceid: number;
  readonly flags: number;
  readonly stateProtect: StateProtectResult;
  readonly serverOwner: ServerOwner;
  readonly serverScope: Uint8Array;
  readonly implId?: ImplId;
}

const HOWS: ReadonlySet<number> = new Set(Object.values(StateProtectHow));

function encodeOps(w: XdrWriter, ops: StateProtectOps): void {
  encodeBitmap(w, ops.mustEnforce);
  encodeBitmap(w, ops.mustAllow);
}

function decodeOps(r: XdrReader): StateProtectOps {
  const mustEnforce = decodeBitmap(r);
  const mustAllow = decodeBitmap(r);
  return { mustEnforce, mustAllow };
}

function encodeOpaqueList(w: XdrWriter, list: readonly Uint8Array[]): void {
  w.writeArray(list, (w, item) => w.writeOpaque(item, Limits.smallOpaque), Limits.gssHandles);
}

function decodeOpaqueList(r: XdrReader): Uint8Array[] {
  return r.readArray((r) => r.readOpaque(Limits.smallOpaque).slice(), Limits.gssHandles);
}

function encodeImplId(w: XdrWriter, implId: ImplId | undefined): void {
  w.writeArray(implId ? [implId] : [], (w, id) => {
    w.writeString(id.domain, Limits.name);
    w.writeString(id.name, Limits.name);
    encodeNfsTime(w, id.date);
  }, 1);
}

function decodeImplId(r: XdrReader): ImplId | undefined {
  const [implId] = r.readArray((r) => {
    const domain = r.readString(Limits.name);
    const name = r.readString(Limits.name);
    const date = decodeNfsTime(r);
    return { domain, name, date };
  }, 1);
  return implId;
}

export const EXCHANGE_ID: OpCodec<ExchangeIdArgs, ExchangeIdResult> = {
  opnum: Op.EXCHANGE_ID,
  name: "EXCHANGE_ID",
  encodeArgs(w, args) {
    encodeVerifier(w, args.clientOwner.verifier);
    w.writeOpaque(args.clientOwner.ownerid, NFS4_OPAQUE_LIMIT);
    w.writeUint(args.flags);
    const sp = args.stateProtect;
    w.writeInt(sp.how);
    if (sp.how === StateProtectHow.SP4_MACH_CRED) {
      encodeOps(w, sp.ops);
    } else if (sp.how === StateProtectHow.SP4_SSV) {
      encodeOps(w, sp.ops);
      encodeOpaqueList(w, sp.hashAlgs);
      encodeOpaqueList(w, sp.encrAlgs);
      w.writeUint(sp.window);
      w.writeUint(sp.numGssHandles);
    }
    encodeImplId(w, args.implId);
  },
  decodeArgs(r) {
    const verifier = decodeVerifier(r);
    const ownerid = r.readOpaque(NFS4_OPAQUE_LIMIT).slice();
    const flags = r.readUint();
    const how = r.readEnum(HOWS, "state_protect_how4");
    let stateProtect: StateProtectArgs;
    if (how === StateProtectHow.SP4_MACH_CRED) {
      stateProtect = { how, ops: decodeOps(r) };
    } else if (how === StateProtectHow.SP4_SSV) {
      const ops = decodeOps(r);
      const hashAlgs = decodeOpaqueList(r);
      const encrAlgs = decodeOpaqueList(r);
      const window = r.readUint();
      const numGssHandles = r.readUint();
      stateProtect = { how, ops, hashAlgs, encrAlgs, window, numGssHandles };
    } else {
      stateProtect = { how: StateProtectHow.SP4_NONE };
    }
    const implId = decodeImplId(r);
    const args = { clientOwner: { verifier, ownerid }, flags, stateProtect };
    return implId ? { ...args, implId } : args;
  },
  encodeResult(w, result) {
    w.writeUhyper(result.clientid);
    w.writeUint(result.sequenceid);
    w.writeUint(result.flags);
    const sp = result.stateProtect;
    w.writeInt(sp.how);
    if (sp.how === StateProtectHow.SP4_MACH_CRED) {
      encodeOps(w, sp.ops);
    } else if (sp.how === StateProtectHow.SP4_SSV) {
      encodeOps(w, sp.ops);
      w.writeUint(sp.hashAlg);
      w.writeUint(sp.encrAlg);
      w.writeUint(sp.ssvLen);
      w.writeUint(sp.window);
      encodeOpaqueList(w, sp.handles);
    }
    w.writeUhyper(result.serverOwner.minorId);
    w.writeOpaque(result.serverOwner.majorId, NFS4_OPAQUE_LIMIT);
    w.writeOpaque(result.serverScope, NFS4_OPAQUE_LIMIT);
    encodeImplId(w, result.implId);
  },
  decodeResult(r) {
    const clientid = r.readUhyper();
    const sequenceid = r.readUint();
    const flags = r.readUint();
    const how = r.readEnum(HOWS, "state_protect_how4");
    let stateProtect: StateProtectResult;
    if (how === StateProtectHow.SP4_MACH_CRED) {
      stateProtect = { how, ops: decodeOps(r) };
    } else if (how === StateProtectHow.SP4_SSV) {
      const ops = decodeOps(r);
      const hashAlg = r.readUint();
      const encrAlg = r.readUint();
      const ssvLen = r.readUint();
      const window = r.readUint();
      const handles = decodeOpaqueList(r);
      stateProtect = { how, ops, hashAlg, encrAlg, ssvLen, window, handles };
    } else {
      stateProtect = { how: StateProtectHow.SP4_NONE };
    }
    const minorId = r.readUhyper();
    const majorId = r.readOpaque(NFS4_OPAQUE_LIMIT).slice();
    const serverScope = r.readOpaque(NFS4_OPAQUE_LIMIT).slice();
    const implId = decodeImplId(r);
    const result = {
      clientid,
      sequenceid,
      flags,
      stateProtect,
      serverOwner: { minorId, majorId },
      serverScope,
    };
    return implId ? { ...result, implId } : result;
  },
};

export function exchangeId(args: ExchangeIdArgs): Nfs4Op<ExchangeIdResult> {
  return bindOp(EXCHANGE_ID, args);
}
