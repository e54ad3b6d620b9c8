/**
 * GET_DIR_DELEGATION: ask for a directory delegation, NFSv4.1 (RFC 8881
 * §18.39). An NFS4_OK reply may still say the delegation is unavailable
 * (GDD4_UNAVAIL).
 * @module
 */

import { GddStatus, Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeBitmap, encodeBitmap } from "../attrs.ts";
import {
  decodeNfsTime,
  decodeStateid,
  decodeVerifier,
  encodeNfsTime,
  encodeStateid,
  encodeVerifier,
  type NfsTime,
  type Stateid,
  type Verifier,
} from "../types.ts";

/** GET_DIR_DELEGATION4args. */
export interface GetDirDelegationArgs {
  readonly signalDelegAvail: boolean;
  readonly notificationTypes: ReadonlySet<number>;
  readonly childAttrDelay: NfsTime;
  readonly dirAttrDelay: NfsTime;
  readonly childAttributes: ReadonlySet<number>;
  readonly dirAttributes: ReadonlySet<number>;
}

/** GET_DIR_DELEGATION4res_non_fatal. */
export type GetDirDelegationResult =
  | {
    readonly status: typeof GddStatus.GDD4_OK;
    readonly cookieverf: Verifier;
    readonly stateid: Stateid;
    readonly notification: ReadonlySet<number>;
    readonly childAttributes: ReadonlySet<number>;
    readonly dirAttributes: ReadonlySet<number>;
  }
  | { readonly status: typeof GddStatus.GDD4_UNAVAIL; readonly willSignalDelegAvail: boolean };

const GDD_STATUSES: ReadonlySet<number> = new Set(Object.values(GddStatus));

export const GET_DIR_DELEGATION: OpCodec<GetDirDelegationArgs, GetDirDelegationResult> = {
  opnum: Op.GET_DIR_DELEGATION,
  name: "GET_DIR_DELEGATION",
  encodeArgs(w, args) {
    w.writeBool(args.signalDelegAvail);
    encodeBitmap(w, args.notificationTypes);
    encodeNfsTime(w, args.childAttrDelay);
    encodeNfsTime(w, args.dirAttrDelay);
    encodeBitmap(w, args.childAttributes);
    encodeBitmap(w, args.dirAttributes);
  },
  decodeArgs(r) {
    const signalDelegAvail = r.readBool();
    const notificationTypes = decodeBitmap(r);
    const childAttrDelay = decodeNfsTime(r);
    const dirAttrDelay = decodeNfsTime(r);
    const childAttributes = decodeBitmap(r);
    const dirAttributes = decodeBitmap(r);
    return {
      signalDelegAvail,
      notificationTypes,
      childAttrDelay,
      dirAttrDelay,
      childAttributes,
      dirAttributes,
    };
  },
  encodeResult(w, result) {
    w.writeInt(result.status);
    if (result.status === GddStatus.GDD4_OK) {
      encodeVerifier(w, result.cookieverf);
      encodeStateid(w, result.stateid);
      encodeBitmap(w, result.notification);
      encodeBitmap(w, result.childAttributes);
      encodeBitmap(w, result.dirAttributes);
    } else {
      w.writeBool(result.willSignalDelegAvail);
    }
  },
  decodeResult(r) {
    const status = r.readEnum(GDD_STATUSES, "gddrnf4_status");
    if (status === GddStatus.GDD4_OK) {
      const cookieverf = decodeVerifier(r);
      const stateid = decodeStateid(r);
      const notification = decodeBitmap(r);
      const childAttributes = decodeBitmap(r);
      const dirAttributes = decodeBitmap(r);
      return { status, cookieverf, stateid, notification, childAttributes, dirAttributes };
    }
    return { status: GddStatus.GDD4_UNAVAIL, willSignalDelegAvail: r.readBool() };
  },
};

export function getDirDelegation(args: GetDirDelegationArgs): Nfs4Op<GetDirDelegationResult> {
  return bindOp(GET_DIR_DELEGATION, args);
}
