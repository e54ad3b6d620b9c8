/**
 * Errors the file-level client adds to those of the layers below.
 * @module
 */

import { NfsError } from "../nfs4/errors.ts";

/** The errors commands tell apart, re-exported so they need not reach below the client API. */
export { NfsError };
export { BadStateError } from "../state/open_state.ts";
import { Nfs4Status } from "../nfs4/status.ts";
import type { LockHolder } from "./api.ts";
import { formatRange } from "../state/open_state.ts";

/** LOCK or LOCKT found a conflicting lock (NFS4ERR_DENIED): who holds it. */
export class LockConflictError extends NfsError {
  readonly holder: LockHolder;

  constructor(path: string, holder: LockHolder, options: { cause?: unknown } = {}) {
    super(Nfs4Status.NFS4ERR_DENIED, "LOCK", { path, detail: holder, cause: options.cause });
    this.name = "LockConflictError";
    this.holder = holder;
  }
}

/**
 * The server serves none of the NFSv4 minor versions tried: each answered
 * NFS4ERR_MINOR_VERS_MISMATCH (RFC 7530 §15.2, RFC 8881 §15.1.3.5), e.g.
 * `--vers 4.1` against a server with 4.0 only.
 */
export class MinorVersionError extends NfsError {
  /** The minor versions tried, in order. */
  readonly minorVersions: readonly number[];
  readonly host: string;
  readonly port: number;

  constructor(
    minorVersions: readonly number[],
    server: { host: string; port: number },
    options: { cause?: unknown } = {},
  ) {
    super(Nfs4Status.NFS4ERR_MINOR_VERS_MISMATCH, "COMPOUND", { cause: options.cause });
    this.name = "MinorVersionError";
    this.minorVersions = minorVersions;
    this.host = server.host;
    this.port = server.port;
    const versions = minorVersions.map((minor) => `NFSv4.${minor}`).join(" or ");
    this.message = `server does not support ${versions} (${this.statusName})`;
  }
}

/**
 * The client gave up on `path` for a reason of its own, not a server
 * status: more than 40 symbolic links met while walking it (ELOOP, as
 * Linux's MAXSYMLINKS). The message is `PATH: reason`.
 */
export class PathError extends Error {
  /** The path the user named. */
  readonly path: string;

  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.name = "PathError";
    this.path = path;
  }
}

/** `lock-p1234-1` when the owner bytes are printable text, else hex. */
export function formatOwner(bytes: Uint8Array): string {
  const printable = bytes.every((b) => b >= 0x20 && b < 0x7f);
  if (printable && bytes.length > 0) return new TextDecoder().decode(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `exclusive lock on bytes 0- held by lock owner lock-p42-1 (client 0x…)`. */
export function describeLockHolder(holder: LockHolder): string {
  const kind = holder.type === "read" ? "shared" : "exclusive";
  return `${kind} lock on bytes ${
    formatRange(holder.offset, holder.length)
  } held by lock owner ${holder.owner} (client 0x${
    holder.clientid.toString(16).padStart(16, "0")
  })`;
}
