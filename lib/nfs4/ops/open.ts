/**
 * OPEN: open (and possibly create) a regular file, taking a share
 * reservation and possibly a delegation (RFC 7530 §16.16, RFC 8881 §18.16).
 *
 * The claim names the file: by component name in the current directory
 * (CLAIM_NULL, CLAIM_DELEGATE_CUR, CLAIM_DELEGATE_PREV) or as the current
 * file handle (CLAIM_PREVIOUS and NFSv4.1's CLAIM_FH, CLAIM_DELEG_CUR_FH,
 * CLAIM_DELEG_PREV_FH). With `create` set the OPEN may create the file.
 * @module
 */

import type { XdrReader, XdrWriter } from "../../xdr/mod.ts";
import {
  CreateMode,
  DelegationType,
  LimitBy,
  Limits,
  Op,
  OpenClaimType,
  OpenType,
  WhyNoDelegation,
} from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { writeComponent } from "../names.ts";
import {
  decodeBitmap,
  decodeFattr,
  encodeBitmap,
  encodeFattr,
  type SettableAttributes,
} from "../attrs.ts";
import {
  type Ace,
  type ChangeInfo,
  decodeAce,
  decodeChangeInfo,
  decodeStateid,
  decodeStateOwner,
  decodeVerifier,
  encodeAce,
  encodeChangeInfo,
  encodeStateid,
  encodeStateOwner,
  encodeVerifier,
  type Stateid,
  type StateOwner,
  type Verifier,
} from "../types.ts";

/** createhow4: how OPEN4_CREATE creates. */
export type CreateHow =
  | {
    readonly mode: typeof CreateMode.UNCHECKED4 | typeof CreateMode.GUARDED4;
    readonly attrs: SettableAttributes;
  }
  | { readonly mode: typeof CreateMode.EXCLUSIVE4; readonly verifier: Verifier }
  | {
    readonly mode: typeof CreateMode.EXCLUSIVE4_1;
    readonly verifier: Verifier;
    readonly attrs: SettableAttributes;
  };

/** open_claim4: which file, and by what right. */
export type OpenClaim =
  | { readonly claim: typeof OpenClaimType.CLAIM_NULL; readonly file: string }
  | { readonly claim: typeof OpenClaimType.CLAIM_PREVIOUS; readonly delegateType: number }
  | {
    readonly claim: typeof OpenClaimType.CLAIM_DELEGATE_CUR;
    readonly delegateStateid: Stateid;
    readonly file: string;
  }
  | { readonly claim: typeof OpenClaimType.CLAIM_DELEGATE_PREV; readonly file: string }
  | { readonly claim: typeof OpenClaimType.CLAIM_FH }
  | {
    readonly claim: typeof OpenClaimType.CLAIM_DELEG_CUR_FH;
    readonly delegateStateid: Stateid;
  }
  | { readonly claim: typeof OpenClaimType.CLAIM_DELEG_PREV_FH };

/**
 * OPEN4args. `shareAccess` is `ShareAccess.OPEN4_SHARE_ACCESS_*` (with the
 * NFSv4.1 WANT bits); `create` absent means OPEN4_NOCREATE.
 */
export interface OpenArgs {
  readonly seqid: number;
  readonly shareAccess: number;
  readonly shareDeny: number;
  readonly owner: StateOwner;
  readonly create?: CreateHow;
  readonly claim: OpenClaim;
}

/** nfs_space_limit4: when a write delegation must flush on close. */
export type SpaceLimit =
  | { readonly limitBy: typeof LimitBy.NFS_LIMIT_SIZE; readonly filesize: bigint }
  | {
    readonly limitBy: typeof LimitBy.NFS_LIMIT_BLOCKS;
    readonly numBlocks: number;
    readonly bytesPerBlock: number;
  };

/**
 * open_delegation4. NONE_EXT (NFSv4.1) says why none was granted; with
 * WND4_CONTENTION it carries `serverWillPushDeleg`, with WND4_RESOURCE
 * `serverWillSignalAvail`.
 */
export type OpenDelegation =
  | { readonly type: typeof DelegationType.OPEN_DELEGATE_NONE }
  | {
    readonly type: typeof DelegationType.OPEN_DELEGATE_READ;
    readonly stateid: Stateid;
    readonly recall: boolean;
    readonly permissions: Ace;
  }
  | {
    readonly type: typeof DelegationType.OPEN_DELEGATE_WRITE;
    readonly stateid: Stateid;
    readonly recall: boolean;
    readonly spaceLimit: SpaceLimit;
    readonly permissions: Ace;
  }
  | {
    readonly type: typeof DelegationType.OPEN_DELEGATE_NONE_EXT;
    readonly why: number;
    readonly serverWillPushDeleg?: boolean;
    readonly serverWillSignalAvail?: boolean;
  };

/** OPEN4resok. `rflags` holds `OpenResultFlags.OPEN4_RESULT_*` bits. */
export interface OpenResult {
  readonly stateid: Stateid;
  readonly cinfo: ChangeInfo;
  readonly rflags: number;
  readonly attrset: ReadonlySet<number>;
  readonly delegation: OpenDelegation;
}

const CREATE_MODES: ReadonlySet<number> = new Set(Object.values(CreateMode));
const CLAIM_TYPES: ReadonlySet<number> = new Set(Object.values(OpenClaimType));
const OPEN_TYPES: ReadonlySet<number> = new Set(Object.values(OpenType));
const DELEGATION_TYPES: ReadonlySet<number> = new Set(Object.values(DelegationType));
const LIMIT_BYS: ReadonlySet<number> = new Set(Object.values(LimitBy));

function encodeCreateHow(w: XdrWriter, how: CreateHow): void {
  w.writeInt(how.mode);
  switch (how.mode) {
    case CreateMode.UNCHECKED4:
    case CreateMode.GUARDED4:
      encodeFattr(w, how.attrs);
      break;
    case CreateMode.EXCLUSIVE4:
      encodeVerifier(w, how.verifier);
      break;
    case CreateMode.EXCLUSIVE4_1:
      encodeVerifier(w, how.verifier);
      encodeFattr(w, how.attrs);
      break;
  }
}

function decodeCreateHow(r: XdrReader): CreateHow {
  const mode = r.readEnum(CREATE_MODES, "createmode4");
  switch (mode) {
    case CreateMode.UNCHECKED4:
    case CreateMode.GUARDED4:
      return { mode, attrs: decodeFattr(r).attrs as SettableAttributes };
    case CreateMode.EXCLUSIVE4:
      return { mode, verifier: decodeVerifier(r) };
    default: {
      const verifier = decodeVerifier(r);
      const attrs = decodeFattr(r).attrs as SettableAttributes;
      return { mode: CreateMode.EXCLUSIVE4_1, verifier, attrs };
    }
  }
}

/** open_claim4, also used by WANT_DELEGATION's deleg_claim4 arms. */
export function encodeOpenClaim(w: XdrWriter, claim: OpenClaim): void {
  w.writeInt(claim.claim);
  switch (claim.claim) {
    case OpenClaimType.CLAIM_NULL:
    case OpenClaimType.CLAIM_DELEGATE_PREV:
      writeComponent(w, claim.file, "OPEN");
      break;
    case OpenClaimType.CLAIM_PREVIOUS:
      w.writeInt(claim.delegateType);
      break;
    case OpenClaimType.CLAIM_DELEGATE_CUR:
      encodeStateid(w, claim.delegateStateid);
      writeComponent(w, claim.file, "OPEN");
      break;
    case OpenClaimType.CLAIM_DELEG_CUR_FH:
      encodeStateid(w, claim.delegateStateid);
      break;
  }
}

export function decodeOpenClaim(r: XdrReader): OpenClaim {
  const claim = r.readEnum(CLAIM_TYPES, "open_claim_type4");
  switch (claim) {
    case OpenClaimType.CLAIM_NULL:
    case OpenClaimType.CLAIM_DELEGATE_PREV:
      return { claim, file: r.readString(Limits.name) };
    case OpenClaimType.CLAIM_PREVIOUS:
      return { claim, delegateType: r.readEnum(DELEGATION_TYPES, "open_delegation_type4") };
    case OpenClaimType.CLAIM_DELEGATE_CUR: {
      const delegateStateid = decodeStateid(r);
      return { claim, delegateStateid, file: r.readString(Limits.name) };
    }
    case OpenClaimType.CLAIM_DELEG_CUR_FH:
      return { claim, delegateStateid: decodeStateid(r) };
    default:
      return { claim: claim as typeof OpenClaimType.CLAIM_FH };
  }
}

function encodeSpaceLimit(w: XdrWriter, limit: SpaceLimit): void {
  w.writeInt(limit.limitBy);
  if (limit.limitBy === LimitBy.NFS_LIMIT_SIZE) {
    w.writeUhyper(limit.filesize);
  } else {
    w.writeUint(limit.numBlocks);
    w.writeUint(limit.bytesPerBlock);
  }
}

function decodeSpaceLimit(r: XdrReader): SpaceLimit {
  const limitBy = r.readEnum(LIMIT_BYS, "limit_by4");
  if (limitBy === LimitBy.NFS_LIMIT_SIZE) return { limitBy, filesize: r.readUhyper() };
  const numBlocks = r.readUint();
  const bytesPerBlock = r.readUint();
  return { limitBy: LimitBy.NFS_LIMIT_BLOCKS, numBlocks, bytesPerBlock };
}

/** open_delegation4, shared with WANT_DELEGATION and CB_PUSH_DELEG. */
export function encodeOpenDelegation(w: XdrWriter, d: OpenDelegation): void {
  w.writeInt(d.type);
  switch (d.type) {
    case DelegationType.OPEN_DELEGATE_READ:
      encodeStateid(w, d.stateid);
      w.writeBool(d.recall);
      encodeAce(w, d.permissions);
      break;
    case DelegationType.OPEN_DELEGATE_WRITE:
      encodeStateid(w, d.stateid);
      w.writeBool(d.recall);
      encodeSpaceLimit(w, d.spaceLimit);
      encodeAce(w, d.permissions);
      break;
    case DelegationType.OPEN_DELEGATE_NONE_EXT:
      w.writeInt(d.why);
      if (d.why === WhyNoDelegation.WND4_CONTENTION) {
        w.writeBool(d.serverWillPushDeleg ?? false);
      } else if (d.why === WhyNoDelegation.WND4_RESOURCE) {
        w.writeBool(d.serverWillSignalAvail ?? false);
      }
      break;
  }
}

export function decodeOpenDelegation(r: XdrReader): OpenDelegation {
  const type = r.readEnum(DELEGATION_TYPES, "open_delegation_type4");
  switch (type) {
    case DelegationType.OPEN_DELEGATE_READ: {
      const stateid = decodeStateid(r);
      const recall = r.readBool();
      const permissions = decodeAce(r);
      return { type, stateid, recall, permissions };
    }
    case DelegationType.OPEN_DELEGATE_WRITE: {
      const stateid = decodeStateid(r);
      const recall = r.readBool();
      const spaceLimit = decodeSpaceLimit(r);
      const permissions = decodeAce(r);
      return { type, stateid, recall, spaceLimit, permissions };
    }
    case DelegationType.OPEN_DELEGATE_NONE_EXT: {
      const why = r.readInt();
      if (why === WhyNoDelegation.WND4_CONTENTION) {
        return { type, why, serverWillPushDeleg: r.readBool() };
      }
      if (why === WhyNoDelegation.WND4_RESOURCE) {
        return { type, why, serverWillSignalAvail: r.readBool() };
      }
      return { type, why };
    }
    default:
      return { type: DelegationType.OPEN_DELEGATE_NONE };
  }
}

export const OPEN: OpCodec<OpenArgs, OpenResult> = {
  opnum: Op.OPEN,
  name: "OPEN",
  encodeArgs(w, args) {
    w.writeUint(args.seqid);
    w.writeUint(args.shareAccess);
    w.writeUint(args.shareDeny);
    encodeStateOwner(w, args.owner);
    if (args.create) {
      w.writeInt(OpenType.OPEN4_CREATE);
      encodeCreateHow(w, args.create);
    } else {
      w.writeInt(OpenType.OPEN4_NOCREATE);
    }
    encodeOpenClaim(w, args.claim);
  },
  decodeArgs(r) {
    const seqid = r.readUint();
    const shareAccess = r.readUint();
    const shareDeny = r.readUint();
    const owner = decodeStateOwner(r);
    const opentype = r.readEnum(OPEN_TYPES, "opentype4");
    const create = opentype === OpenType.OPEN4_CREATE ? decodeCreateHow(r) : undefined;
    const claim = decodeOpenClaim(r);
    return create
      ? { seqid, shareAccess, shareDeny, owner, create, claim }
      : { seqid, shareAccess, shareDeny, owner, claim };
  },
  encodeResult(w, result) {
    encodeStateid(w, result.stateid);
    encodeChangeInfo(w, result.cinfo);
    w.writeUint(result.rflags);
    encodeBitmap(w, result.attrset);
    encodeOpenDelegation(w, result.delegation);
  },
  decodeResult(r) {
    const stateid = decodeStateid(r);
    const cinfo = decodeChangeInfo(r);
    const rflags = r.readUint();
    const attrset = decodeBitmap(r);
    const delegation = decodeOpenDelegation(r);
    return { stateid, cinfo, rflags, attrset, delegation };
  },
};

/**
 * OPEN. The opened file becomes the current file handle.
 *
 * @example
 * ```ts
 * open({
 *   seqid: 0,
 *   shareAccess: ShareAccess.OPEN4_SHARE_ACCESS_READ,
 *   shareDeny: ShareDeny.OPEN4_SHARE_DENY_NONE,
 *   owner: { clientid, owner: ownerBytes },
 *   claim: { claim: OpenClaimType.CLAIM_NULL, file: "notes.txt" },
 * });
 * ```
 */
export function open(args: OpenArgs): Nfs4Op<OpenResult> {
  return bindOp(OPEN, args);
}
