/**
 * SECINFO: the security flavors the server accepts for a name in the
 * current directory (RFC 7530 §16.31). Consumes the current file handle.
 * @module
 */

import type { XdrReader, XdrWriter } from "../../xdr/mod.ts";
import { Limits, Op, RpcGssService, SecFlavor } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { writeComponent } from "../names.ts";

/** rpcsec_gss_info: the mechanism OID, QOP and service of an RPCSEC_GSS entry. */
export interface RpcsecGssInfo {
  readonly oid: Uint8Array;
  readonly qop: number;
  readonly service: number;
}

/** secinfo4: a flavor, with `gss` only for RPCSEC_GSS. */
export interface SecInfo {
  readonly flavor: number;
  readonly gss?: RpcsecGssInfo;
}

const GSS_SERVICES: ReadonlySet<number> = new Set(Object.values(RpcGssService));

/** SECINFO4resok, shared with SECINFO_NO_NAME. */
export function encodeSecinfoList(w: XdrWriter, list: readonly SecInfo[]): void {
  w.writeArray(list, (w, info) => {
    w.writeUint(info.flavor);
    if (info.flavor === SecFlavor.RPCSEC_GSS) {
      if (!info.gss) throw new TypeError("RPCSEC_GSS secinfo4 needs its gss info");
      w.writeOpaque(info.gss.oid, Limits.smallOpaque);
      w.writeUint(info.gss.qop);
      w.writeEnum(info.gss.service);
    }
  }, Limits.secinfo);
}

export function decodeSecinfoList(r: XdrReader): SecInfo[] {
  return r.readArray((r) => {
    const flavor = r.readUint();
    if (flavor !== SecFlavor.RPCSEC_GSS) return { flavor };
    const oid = r.readOpaque(Limits.smallOpaque).slice();
    const qop = r.readUint();
    const service = r.readEnum(GSS_SERVICES, "rpc_gss_svc_t");
    return { flavor, gss: { oid, qop, service } };
  }, Limits.secinfo);
}

export const SECINFO: OpCodec<string, SecInfo[]> = {
  opnum: Op.SECINFO,
  name: "SECINFO",
  encodeArgs(w, name) {
    writeComponent(w, name, "SECINFO");
  },
  decodeArgs(r) {
    return r.readString(Limits.name);
  },
  encodeResult: encodeSecinfoList,
  decodeResult: decodeSecinfoList,
};

export function secinfo(name: string): Nfs4Op<SecInfo[]> {
  return bindOp(SECINFO, name);
}
