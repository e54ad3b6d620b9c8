/**
 * RPC message headers (RFC 5531 §9, `rpc_msg`).
 *
 * A message is an xid and a `msg_type`. A CALL carries `call_body` (RPC
 * version 2, program, version, procedure, credential, verifier) followed by
 * the procedure's arguments; a REPLY carries `reply_body`: MSG_ACCEPTED with
 * a verifier and an `accept_stat` (the results follow on SUCCESS), or
 * MSG_DENIED with RPC_MISMATCH or AUTH_ERROR.
 *
 * The client encodes CALLs and decodes REPLYs; for the NFSv4.1 backchannel,
 * where the server sends CALLs on the client's connection, it also decodes
 * CALLs and encodes REPLYs. This module is a pure codec: turning a
 * non-success reply into an error is `replyError()` in `errors.ts`.
 *
 * @example
 * ```ts
 * const w = new XdrWriter();
 * writeCallHeader(w, { xid: 1, program: 100003, version: 4, procedure: 0 });
 * const r = new XdrReader(replyBytes);
 * const { xid, msgType } = readMessageStart(r);
 * const reply = readReplyBody(r); // r is now at the results when SUCCESS
 * ```
 * @module
 */

import { XdrError, type XdrReader, type XdrWriter } from "../xdr/mod.ts";
import {
  AUTH_NONE,
  authNone,
  MAX_AUTH_BYTES,
  type OpaqueAuth,
  readOpaqueAuth,
  writeOpaqueAuth,
} from "./auth.ts";

/** The only RPC protocol version (§9 `rpcvers`). */
export const RPC_VERSION = 2;

/** `msg_type` CALL (§9). */
export const CALL = 0;
/** `msg_type` REPLY (§9). */
export const REPLY = 1;

/** `reply_stat` MSG_ACCEPTED (§9). */
export const MSG_ACCEPTED = 0;
/** `reply_stat` MSG_DENIED (§9). */
export const MSG_DENIED = 1;

/** `accept_stat` (§9): the call ran. */
export const SUCCESS = 0;
/** `accept_stat` (§9): the program is not exported by the server. */
export const PROG_UNAVAIL = 1;
/** `accept_stat` (§9): the program version is not supported. */
export const PROG_MISMATCH = 2;
/** `accept_stat` (§9): the procedure is not supported. */
export const PROC_UNAVAIL = 3;
/** `accept_stat` (§9): the arguments could not be decoded. */
export const GARBAGE_ARGS = 4;
/** `accept_stat` (§9): e.g. a memory allocation failure on the server. */
export const SYSTEM_ERR = 5;

/** `reject_stat` (§9): the RPC version is not 2. */
export const RPC_MISMATCH = 0;
/** `reject_stat` (§9): the credential or verifier was refused. */
export const AUTH_ERROR = 1;

const MSG_TYPES: ReadonlySet<number> = new Set([CALL, REPLY]);
const REPLY_STATS: ReadonlySet<number> = new Set([MSG_ACCEPTED, MSG_DENIED]);
const REJECT_STATS: ReadonlySet<number> = new Set([RPC_MISMATCH, AUTH_ERROR]);

const ACCEPT_STAT_NAMES: Readonly<Record<number, string>> = {
  [SUCCESS]: "SUCCESS",
  [PROG_UNAVAIL]: "PROG_UNAVAIL",
  [PROG_MISMATCH]: "PROG_MISMATCH",
  [PROC_UNAVAIL]: "PROC_UNAVAIL",
  [GARBAGE_ARGS]: "GARBAGE_ARGS",
  [SYSTEM_ERR]: "SYSTEM_ERR",
};

/** The name of an `accept_stat`, such as `PROG_MISMATCH`, or `accept_stat <n>`. */
export function acceptStatName(stat: number): string {
  return ACCEPT_STAT_NAMES[stat] ?? `accept_stat ${stat}`;
}

/** A range of versions a server supports (§9 `mismatch_info`). */
export interface VersionRange {
  /** The lowest version supported. */
  low: number;
  /** The highest version supported. */
  high: number;
}

/** What a CALL header names (§9 `call_body` with its xid). */
export interface CallHeader {
  xid: number;
  program: number;
  version: number;
  procedure: number;
  credential: OpaqueAuth;
  verifier: OpaqueAuth;
}

/** The fields of a CALL header to encode; credential and verifier default to AUTH_NONE. */
export interface CallHeaderInit {
  xid: number;
  program: number;
  version: number;
  procedure: number;
  credential?: OpaqueAuth;
  verifier?: OpaqueAuth;
}

/**
 * Appends a CALL header: xid, CALL, rpcvers 2, program, version, procedure,
 * credential and verifier. The procedure's arguments follow.
 */
export function writeCallHeader(w: XdrWriter, header: CallHeaderInit): void {
  w.writeUint(header.xid)
    .writeEnum(CALL)
    .writeUint(RPC_VERSION)
    .writeUint(header.program)
    .writeUint(header.version)
    .writeUint(header.procedure);
  writeOpaqueAuth(w, header.credential ?? authNone());
  writeOpaqueAuth(w, header.verifier ?? authNone());
}

/** The xid and `msg_type` that open every message. */
export interface MessageStart {
  xid: number;
  /** {@linkcode CALL} or {@linkcode REPLY}. */
  msgType: number;
}

/**
 * Reads the xid and `msg_type`. Raises `XdrError` for a message shorter than
 * eight bytes or a `msg_type` other than CALL or REPLY (the xid is then
 * already read: `r.offset` is 4).
 */
export function readMessageStart(r: XdrReader): MessageStart {
  const xid = r.readUint();
  const msgType = readMessageType(r);
  return { xid, msgType };
}

/**
 * Reads the `msg_type` that follows the xid (what {@linkcode readMessageStart}
 * does after the xid, without an object for the two): CALL or REPLY, else
 * `XdrError`.
 */
export function readMessageType(r: XdrReader): number {
  return r.readEnum(MSG_TYPES, "msg_type");
}

/** A `call_body` (§9), with the RPC version the caller used. */
export interface CallBody {
  rpcVersion: number;
  program: number;
  version: number;
  procedure: number;
  credential: OpaqueAuth;
  verifier: OpaqueAuth;
}

/**
 * Reads a `call_body` (after {@linkcode readMessageStart}); the reader is left
 * at the procedure's arguments. An `rpcVersion` other than 2 is returned, not
 * rejected: the receiver answers it with RPC_MISMATCH.
 */
export function readCallBody(r: XdrReader): CallBody {
  const rpcVersion = r.readUint();
  const program = r.readUint();
  const version = r.readUint();
  const procedure = r.readUint();
  const credential = readOpaqueAuth(r);
  const verifier = readOpaqueAuth(r);
  return { rpcVersion, program, version, procedure, credential, verifier };
}

/** Reads a whole CALL header; raises `XdrError` if the message is not a CALL. */
export function readCallHeader(r: XdrReader): CallHeader & { rpcVersion: number } {
  const at = r.offset;
  const { xid, msgType } = readMessageStart(r);
  if (msgType !== CALL) throw new XdrError("expected a CALL message, got a REPLY", at + 4);
  return { xid, ...readCallBody(r) };
}

/** MSG_ACCEPTED (§9 `accepted_reply`); the results follow when SUCCESS. */
export interface AcceptedReply {
  replyStat: typeof MSG_ACCEPTED;
  verifier: OpaqueAuth;
  /** Any `accept_stat`; values this module does not know have a void arm. */
  acceptStat: number;
  /** Present for PROG_MISMATCH. */
  mismatch?: VersionRange;
}

/** MSG_DENIED with RPC_MISMATCH (§9 `rejected_reply`). */
export interface RpcMismatchReply {
  replyStat: typeof MSG_DENIED;
  rejectStat: typeof RPC_MISMATCH;
  mismatch: VersionRange;
}

/** MSG_DENIED with AUTH_ERROR (§9 `rejected_reply`). */
export interface AuthErrorReply {
  replyStat: typeof MSG_DENIED;
  rejectStat: typeof AUTH_ERROR;
  authStat: number;
}

/** A `reply_body` (§9). */
export type ReplyBody = AcceptedReply | RpcMismatchReply | AuthErrorReply;

function readRange(r: XdrReader): VersionRange {
  const low = r.readUint();
  const high = r.readUint();
  return { low, high };
}

/**
 * Reads a `reply_body` (after {@linkcode readMessageStart}). On SUCCESS the
 * reader is left at the procedure's results. Raises `XdrError` if malformed.
 */
export function readReplyBody(r: XdrReader): ReplyBody {
  const replyStat = r.readEnum(REPLY_STATS, "reply_stat");
  if (replyStat === MSG_ACCEPTED) {
    const verifier = readVerifier(r);
    const acceptStat = r.readEnum();
    if (acceptStat === PROG_MISMATCH) {
      return { replyStat, verifier, acceptStat, mismatch: readRange(r) };
    }
    return { replyStat, verifier, acceptStat };
  }
  const rejectStat = r.readEnum(REJECT_STATS, "reject_stat");
  if (rejectStat === RPC_MISMATCH) {
    return { replyStat: MSG_DENIED, rejectStat, mismatch: readRange(r) };
  }
  return { replyStat: MSG_DENIED, rejectStat: AUTH_ERROR, authStat: r.readEnum() };
}

/**
 * The verifier every reply of an AUTH_NONE or AUTH_SYS call carries: flavor
 * AUTH_NONE, empty body. One value for all of them (never modified), so a
 * reply's header makes no verifier object and no view of its own.
 */
const EMPTY_NONE_VERIFIER: OpaqueAuth = authNone();

/** `readOpaqueAuth`, with the empty AUTH_NONE verifier as the one shared value. */
function readVerifier(r: XdrReader): OpaqueAuth {
  const flavor = r.readEnum();
  const at = r.offset;
  const length = r.readUint();
  if (length === 0 && flavor === AUTH_NONE) return EMPTY_NONE_VERIFIER;
  if (length > MAX_AUTH_BYTES) {
    // As readOpaque() says it.
    throw new XdrError(`opaque length ${length} exceeds maximum ${MAX_AUTH_BYTES}`, at);
  }
  return { flavor, body: r.readFixedOpaque(length) };
}

/** Reads a whole REPLY header; raises `XdrError` if the message is not a REPLY. */
export function readReplyHeader(r: XdrReader): { xid: number } & ReplyBody {
  const at = r.offset;
  const { xid, msgType } = readMessageStart(r);
  if (msgType !== REPLY) throw new XdrError("expected a REPLY message, got a CALL", at + 4);
  return { xid, ...readReplyBody(r) };
}

/** Options of {@linkcode writeAcceptedReply}. */
export interface AcceptedReplyInit {
  /** Defaults to AUTH_NONE. */
  verifier?: OpaqueAuth;
  /** Required with PROG_MISMATCH. */
  mismatch?: VersionRange;
}

/**
 * Appends a MSG_ACCEPTED reply header with `acceptStat`; for SUCCESS the
 * caller appends the results next.
 */
export function writeAcceptedReply(
  w: XdrWriter,
  xid: number,
  acceptStat: number,
  init: AcceptedReplyInit = {},
): void {
  w.writeUint(xid).writeEnum(REPLY).writeEnum(MSG_ACCEPTED);
  writeOpaqueAuth(w, init.verifier ?? authNone());
  w.writeEnum(acceptStat);
  if (acceptStat === PROG_MISMATCH) {
    if (!init.mismatch) throw new TypeError("a PROG_MISMATCH reply needs a version range");
    w.writeUint(init.mismatch.low).writeUint(init.mismatch.high);
  }
}

/** Appends a MSG_DENIED reply: RPC_MISMATCH with a range, or AUTH_ERROR with an `auth_stat`. */
export function writeDeniedReply(
  w: XdrWriter,
  xid: number,
  denial: Omit<RpcMismatchReply, "replyStat"> | Omit<AuthErrorReply, "replyStat">,
): void {
  w.writeUint(xid).writeEnum(REPLY).writeEnum(MSG_DENIED).writeEnum(denial.rejectStat);
  if (denial.rejectStat === RPC_MISMATCH) {
    w.writeUint(denial.mismatch.low).writeUint(denial.mismatch.high);
  } else {
    w.writeEnum(denial.authStat);
  }
}
