/**
 * WANT_DELEGATION: ask for a delegation on the current file handle without
 * opening it, NFSv4.1 (RFC 8881 §18.49).
 * @module
 */

import { DelegationType, Op, OpenClaimType } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeOpenDelegation, encodeOpenDelegation, type OpenDelegation } from "./open.ts";

/** deleg_claim4. */
export type DelegClaim =
  | { readonly claim: typeof OpenClaimType.CLAIM_FH }
  | { readonly claim: typeof OpenClaimType.CLAIM_DELEG_PREV_FH }
  | { readonly claim: typeof OpenClaimType.CLAIM_PREVIOUS; readonly delegateType: number };

/** WANT_DELEGATION4args. `want` is `ShareAccess.OPEN4_SHARE_ACCESS_WANT_*` bits. */
export interface WantDelegationArgs {
  readonly want: number;
  readonly claim: DelegClaim;
}

const CLAIMS: ReadonlySet<number> = new Set([
  OpenClaimType.CLAIM_FH,
  OpenClaimType.CLAIM_DELEG_PREV_FH,
  OpenClaimType.CLAIM_PREVIOUS,
]);
const DELEGATION_TYPES: ReadonlySet<number> = new Set(Object.values(DelegationType));

export const WANT_DELEGATION: OpCodec<WantDelegationArgs, OpenDelegation> = {
  opnum: Op.WANT_DELEGATION,
  name: "WANT_DELEGATION",
  encodeArgs(w, args) {
    w.writeUint(args.want);
    w.writeInt(args.claim.claim);
    if (args.claim.claim === OpenClaimType.CLAIM_PREVIOUS) w.writeInt(args.claim.delegateType);
  },
  decodeArgs(r) {
    const want = r.readUint();
    const claim = r.readEnum(CLAIMS, "deleg_claim4");
    if (claim === OpenClaimType.CLAIM_PREVIOUS) {
      const delegateType = r.readEnum(DELEGATION_TYPES, "open_delegation_type4");
      return { want, claim: { claim, delegateType } };
    }
    return { want, claim: { claim: claim as typeof OpenClaimType.CLAIM_FH } };
  },
  encodeResult: encodeOpenDelegation,
  decodeResult: decodeOpenDelegation,
};

export function wantDelegation(args: WantDelegationArgs): Nfs4Op<OpenDelegation> {
  return bindOp(WANT_DELEGATION, args);
}
