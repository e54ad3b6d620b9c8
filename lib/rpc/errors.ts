/**
 * Errors raised by the ONC RPC layer (RFC 5531).
 *
 * Callers catch these by class: {@linkcode RpcAcceptedError} and
 * {@linkcode RpcDeniedError} carry the server's reply status (§9,
 * `accept_stat`, `reject_stat`, `auth_stat`); the rest describe what went
 * wrong locally or on the connection. `retriable` says whether sending the
 * same call again (on a fresh connection) may succeed.
 *
 * @module
 */

import { authStatName } from "./auth.ts";
import {
  acceptStatName,
  AUTH_ERROR,
  type AuthErrorReply,
  MSG_ACCEPTED,
  type ReplyBody,
  RPC_MISMATCH,
  type RpcMismatchReply,
  SUCCESS,
  type VersionRange,
} from "./message.ts";

/** Options every RPC error accepts. */
export interface RpcErrorOptions extends ErrorOptions {
  /** Whether the same call may succeed if sent again; defaults to false. */
  retriable?: boolean;
}

/** Base class of every error the RPC layer raises. */
export class RpcError extends Error {
  /** Whether the same call may succeed if sent again (on a new connection). */
  readonly retriable: boolean;

  /** `options.retriable`: whether sending the call again may succeed (default false). */
  constructor(message: string, options?: RpcErrorOptions) {
    super(message, options);
    this.name = "RpcError";
    this.retriable = options?.retriable ?? false;
  }
}

/** What a call was addressed to, for error messages. */
export interface RpcCallTarget {
  xid: number;
  program: number;
  version: number;
  procedure: number;
}

function describeCall(call: RpcCallTarget): string {
  return `program ${call.program} version ${call.version} procedure ${call.procedure}`;
}

/**
 * The server accepted the call but did not run it successfully (MSG_ACCEPTED
 * with an `accept_stat` other than SUCCESS, §9).
 */
export class RpcAcceptedError extends RpcError {
  /** The `accept_stat` value. */
  readonly acceptStat: number;
  /** Its name, such as `PROG_MISMATCH`. */
  readonly acceptStatName: string;
  /** For PROG_MISMATCH: the versions of the program the server supports. */
  readonly mismatch: VersionRange | undefined;
  /** The call's transaction id. */
  readonly xid: number;
  /** The RPC program called (100003: NFS). */
  readonly program: number;
  /** The program version called (4: NFSv4). */
  readonly version: number;
  /** The procedure called (1: COMPOUND). */
  readonly procedure: number;

  /** The server's answer `acceptStat` to `call` (with the versions it has, for PROG_MISMATCH). */
  constructor(
    call: RpcCallTarget,
    acceptStat: number,
    mismatch?: VersionRange,
    options?: RpcErrorOptions,
  ) {
    const name = acceptStatName(acceptStat);
    const range = mismatch ? `, server supports versions ${mismatch.low} to ${mismatch.high}` : "";
    super(`server rejected ${describeCall(call)}: ${name}${range}`, options);
    this.name = "RpcAcceptedError";
    this.acceptStat = acceptStat;
    this.acceptStatName = name;
    this.mismatch = mismatch;
    this.xid = call.xid;
    this.program = call.program;
    this.version = call.version;
    this.procedure = call.procedure;
  }
}

/** The server refused the call (MSG_DENIED, §9). */
export class RpcDeniedError extends RpcError {
  /** The `reject_stat`: {@linkcode RPC_MISMATCH} or {@linkcode AUTH_ERROR}. */
  readonly rejectStat: number;
  /** For RPC_MISMATCH: the RPC versions the server supports. */
  readonly mismatch: VersionRange | undefined;
  /** For AUTH_ERROR: why the credential was refused. */
  readonly authStat: number | undefined;
  /** For AUTH_ERROR: the name of `authStat`, such as `AUTH_TOOWEAK`. */
  readonly authStatName: string | undefined;
  /** The call's transaction id. */
  readonly xid: number;
  /** The RPC program called (100003: NFS). */
  readonly program: number;
  /** The program version called (4: NFSv4). */
  readonly version: number;
  /** The procedure called (1: COMPOUND). */
  readonly procedure: number;

  /** The server's refusal `denial` of `call`. */
  constructor(
    call: RpcCallTarget,
    denial: Omit<RpcMismatchReply, "replyStat"> | Omit<AuthErrorReply, "replyStat">,
    options?: RpcErrorOptions,
  ) {
    const reason = denial.rejectStat === RPC_MISMATCH
      ? `RPC_MISMATCH, server supports RPC versions ${denial.mismatch.low} to ${denial.mismatch.high}`
      : `AUTH_ERROR ${authStatName(denial.authStat)}`;
    super(`server denied ${describeCall(call)}: ${reason}`, options);
    this.name = "RpcDeniedError";
    this.rejectStat = denial.rejectStat;
    this.mismatch = denial.rejectStat === RPC_MISMATCH ? denial.mismatch : undefined;
    this.authStat = denial.rejectStat === AUTH_ERROR ? denial.authStat : undefined;
    this.authStatName = this.authStat === undefined ? undefined : authStatName(this.authStat);
    this.xid = call.xid;
    this.program = call.program;
    this.version = call.version;
    this.procedure = call.procedure;
  }
}

/** No reply arrived within the call's timeout; the call is forgotten. */
export class RpcTimeoutError extends RpcError {
  /** The timeout that expired, in milliseconds. */
  readonly timeoutMs: number;

  /** No reply within `timeoutMs`; always retriable. */
  constructor(message: string, timeoutMs: number, options?: ErrorOptions) {
    super(message, { ...options, retriable: true });
    this.name = "RpcTimeoutError";
    this.timeoutMs = timeoutMs;
  }
}

/** `host:port`, with brackets around an IPv6 address. */
export function formatEndpoint(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The connection could not be made or was lost: refused, reset, closed by the
 * peer, timed out, or closed locally. Retriable unless the transport was
 * closed on purpose.
 */
export class RpcConnectionError extends RpcError {
  /** The server's host, as connected to. */
  readonly host: string;
  /** The server's port. */
  readonly port: number;
  /** The system error code behind it, such as `ECONNREFUSED`, when known. */
  readonly code: string | undefined;

  /** The connection to `endpoint` failed (its errno `code`, when known). */
  constructor(
    message: string,
    endpoint: { host: string; port: number; code?: string | undefined },
    options?: RpcErrorOptions,
  ) {
    super(message, { retriable: true, ...options });
    this.name = "RpcConnectionError";
    this.host = endpoint.host;
    this.port = endpoint.port;
    this.code = endpoint.code;
  }

  /**
   * Describes a socket error in words: "connection refused by
   * 127.0.0.1:2049", "connection reset by 127.0.0.1:2049", …
   */
  static fromSocketError(
    host: string,
    port: number,
    error: Error & { code?: unknown },
  ): RpcConnectionError {
    const at = formatEndpoint(host, port);
    const code = typeof error.code === "string" ? error.code : undefined;
    let message: string;
    switch (code) {
      case "ECONNREFUSED":
        message = `connection refused by ${at}`;
        break;
      case "ECONNRESET":
        message = `connection reset by ${at}`;
        break;
      case "EPIPE":
        message = `connection to ${at} broken (EPIPE)`;
        break;
      case "ETIMEDOUT":
        message = `connection to ${at} timed out`;
        break;
      case "EHOSTUNREACH":
      case "ENETUNREACH":
        message = `cannot reach ${at} (${code})`;
        break;
      case "ENOTFOUND":
      case "EAI_AGAIN":
      case "EAI_NONAME":
        message = `cannot resolve host ${host} (${code})`;
        break;
      default:
        message = `connection to ${at} failed: ${error.message}`;
    }
    return new RpcConnectionError(message, { host, port, code }, { cause: error });
  }
}

/**
 * A record exceeded the configured maximum record size (RFC 5531 §11). Raised
 * from the fragment header, before the record is buffered.
 */
export class RpcRecordTooLargeError extends RpcError {
  /** The size the record has reached or claims, in bytes. */
  readonly size: number;
  /** The configured maximum, in bytes. */
  readonly limit: number;

  /** A record of at least `size` bytes, past `limit`. */
  constructor(size: number, limit: number, options?: ErrorOptions) {
    super(`record of at least ${size} bytes exceeds the maximum of ${limit} bytes`, options);
    this.name = "RpcRecordTooLargeError";
    this.size = size;
    this.limit = limit;
  }
}

/**
 * A record came in more fragments than the decoder keeps for one record
 * (`MAX_FRAGMENTS_PER_RECORD`, lib/rpc/record_marking.ts). A kind of
 * {@linkcode RpcRecordTooLargeError}, handled alike: the stream cannot be
 * trusted further.
 */
export class RpcRecordTooFragmentedError extends RpcRecordTooLargeError {
  /** The most fragments a record may come in. */
  readonly fragmentLimit: number;

  /** A record of `size` bytes so far, in more than `fragmentLimit` fragments. */
  constructor(size: number, limit: number, fragmentLimit: number, options?: ErrorOptions) {
    super(size, limit, options);
    this.name = "RpcRecordTooFragmentedError";
    this.message =
      `record of ${size} bytes so far exceeds the maximum of ${fragmentLimit} fragments`;
    this.fragmentLimit = fragmentLimit;
  }
}

/** A reply could not be parsed; `cause` is usually the `XdrError`. */
export class RpcProtocolError extends RpcError {
  /** The xid of the malformed message, when it could be read. */
  readonly xid: number | undefined;

  /** A malformed message (its `xid` when it could be read). */
  constructor(message: string, xid?: number, options?: RpcErrorOptions) {
    super(message, options);
    this.name = "RpcProtocolError";
    this.xid = xid;
  }
}

/**
 * The error a reply stands for, or `undefined` for MSG_ACCEPTED with SUCCESS.
 * This is the one place where reply statuses become error classes.
 */
export function replyError(call: RpcCallTarget, reply: ReplyBody): RpcError | undefined {
  if (reply.replyStat === MSG_ACCEPTED) {
    if (reply.acceptStat === SUCCESS) return undefined;
    return new RpcAcceptedError(call, reply.acceptStat, reply.mismatch);
  }
  return new RpcDeniedError(call, reply);
}
