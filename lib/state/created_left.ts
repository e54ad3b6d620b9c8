/**
 * A file a create made whose open then failed before it was handed over,
 * and that could not be removed: {@linkcode CreatedFileLeftError} (the
 * client's open() and lib/state/files.ts setAfterCreate both throw it),
 * and {@linkcode leftBy}, which tells a failed removal that left it.
 * @module
 */

import { NfsError } from "../nfs4/errors.ts";
import { Nfs4Status as S } from "../nfs4/status.ts";

/**
 * A file that open() made (an exclusive create), whose open then failed
 * (the cause) before it was handed over, and that could not be removed
 * (`removal` says why): it is left on the server as `path`, or, when the
 * REMOVE's outcome is unknown (`surely` false: no answer, a stop), may be.
 */
export class CreatedFileLeftError extends Error {
  /** The file left on the server, as open() was given it. */
  readonly path: string;
  /** Why the open failed (the cause's message, without the path). */
  readonly reason: string;
  /** Why the file could not be removed. */
  readonly removal: string;
  /** The server refused the REMOVE (else its outcome is unknown). */
  readonly surely: boolean;

  /** The file made at `path` is left: `cause` why the open failed, `removal` why it was not removed. */
  constructor(path: string, options: { cause: unknown; removal: unknown }) {
    const reason = reasonOf(options.cause);
    const removal = reasonOf(options.removal);
    const surely = options.removal instanceof NfsError && !options.removal.answeredResend;
    const left = `made by this open, it ${surely ? "is" : "may be"} left on the server`;
    super(`${path}: ${reason}; ${left} (not removed: ${removal})`, { cause: options.cause });
    this.name = "CreatedFileLeftError";
    this.path = path;
    this.reason = reason;
    this.removal = removal;
    this.surely = surely;
  }
}

/** The message of `error`, without the path or op an NfsError's starts with. */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const where = error instanceof NfsError ? error.path ?? error.op : undefined;
  return where !== undefined && message.startsWith(`${where}: `)
    ? message.slice(where.length + 2)
    : message;
}

/**
 * Whether the REMOVE of a file open() made (Nfs4Client #unmake, files.ts setAfterCreate) that
 * failed with `error` left the file under its name: not when the name is
 * gone (NFS4ERR_NOENT; to a resend, its first run removed it) or is
 * another file now (VERIFY's NFS4ERR_NOT_SAME, RFC 7530 §16.35).
 */
export function leftBy(error: unknown): boolean {
  return !(error instanceof NfsError &&
    ((error.op === "LOOKUP" || error.op === "REMOVE") && error.status === S.NFS4ERR_NOENT ||
      error.op === "VERIFY" && error.status === S.NFS4ERR_NOT_SAME));
}
