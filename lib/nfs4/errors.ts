/**
 * Errors of the NFSv4 operation layer.
 *
 * An `NfsError` carries the protocol status, the operation that returned it
 * and, once the client layer knows it, the path the user named. What a status
 * means for recovery is not decided here (see lib/state/error_table.ts).
 * @module
 */

import { statusMessage, statusName } from "./status.ts";

/** An operation in a COMPOUND returned a status other than NFS4_OK. */
export class NfsError extends Error {
  /** The nfsstat4 value. */
  readonly status: number;
  /** Its symbolic name, e.g. `NFS4ERR_NOENT`. */
  readonly statusName: string;
  /** The operation that failed, e.g. `LOOKUP`. */
  readonly op: string;
  /** The path or URL the user named, when known. */
  readonly path: string | undefined;
  /** Extra decoded data that came with the failure (LOCK4denied, clientaddr). */
  readonly detail: unknown;
  /** Position of the failed op in the COMPOUND, when known. */
  readonly opIndex: number | undefined;
  /**
   * The status answered a request sent again after an earlier transmission
   * got no reply that the server could repeat (4.0: any resend; 4.1: a
   * call run again after its resend met a lost session or
   * NFS4ERR_RETRY_UNCACHED_REP, lib/state/manager.ts run()): the first may
   * have run, and this status may describe the state it left (a RENAME
   * resent after it ran: NFS4ERR_NOENT). The caller must look the outcome
   * up rather than take the status at its word.
   */
  readonly answeredResend: boolean;

  /** The status `status` (nfsstat4) that operation `op` answered; `options.path` names what it was for. */
  constructor(
    status: number,
    op: string,
    options: {
      path?: string | undefined;
      detail?: unknown;
      cause?: unknown;
      opIndex?: number | undefined;
      answeredResend?: boolean | undefined;
    } = {},
  ) {
    const name = statusName(status);
    const where = options.path ?? op;
    super(`${where}: ${statusMessage(status)} (${name})`, { cause: options.cause });
    this.name = "NfsError";
    this.status = status;
    this.statusName = name;
    this.op = op;
    this.path = options.path;
    this.detail = options.detail;
    this.opIndex = options.opIndex;
    this.answeredResend = options.answeredResend ?? false;
  }

  /** The same error, naming `path` (the client layer knows it, the op layer does not). */
  withPath(path: string): NfsError {
    if (this.path === path) return this;
    return new NfsError(this.status, this.op, {
      path,
      detail: this.detail,
      cause: this,
      opIndex: this.opIndex,
      answeredResend: this.answeredResend,
    });
  }
}

/** A reply that does not match what was sent (wrong op number, too many results). */
export class Nfs4ProtocolError extends Error {
  /** A reply that does not match its request, as `message` says. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "Nfs4ProtocolError";
  }
}
