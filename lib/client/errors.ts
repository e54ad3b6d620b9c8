/**
 * Errors the file-level client adds to those of the layers below.
 * @module
 */

import { NfsError } from "../nfs4/errors.ts";
import { ClientClosedError } from "../state/manager.ts";

/** The errors commands tell apart, re-exported so they need not reach below the client API. */
export { NfsError };
export { BadStateError } from "../state/open_state.ts";
import { Nfs4Status } from "../nfs4/status.ts";
/** Status numbers by name, for a command that says what the server would (rmdir of `a/.`). */
export { Nfs4Status };
import type { LockHolder } from "./api.ts";
import { formatRange } from "../state/open_state.ts";

/**
 * Whether a SEEK (NFSv4.2, optional: RFC 7862 §15.11) failed only because
 * the server does not offer it: NFS4ERR_NOTSUPP for the operation, or
 * NFS4ERR_UNION_NOTSUPP for the arm of the union asked (RFC 7862 §11: the
 * operation is supported, `sa_what`'s value is not; a server may seek data
 * but not holes). Either way the caller reads instead.
 */
export function isSeekUnsupported(e: unknown): e is NfsError {
  return e instanceof NfsError &&
    (e.status === Nfs4Status.NFS4ERR_NOTSUPP || e.status === Nfs4Status.NFS4ERR_UNION_NOTSUPP);
}

/** LOCK or LOCKT found a conflicting lock (NFS4ERR_DENIED): who holds it. */
export class LockConflictError extends NfsError {
  /** Who holds the conflicting lock, as the server (or LOCKT after it) named it. */
  readonly holder: LockHolder;
  /**
   * Set when this is an earlier refusal given again as the answer because
   * no later answer came before the deadline (lock_wait.ts): how long into
   * the wait the server said it (ms). The holder named may have let go since
   * (or lost its lock to a server restart the last try waited through).
   */
  readonly answeredAtMs: number | undefined;

  /** The refusal of a lock on `path` that `holder` stands in the way of. */
  constructor(
    path: string,
    holder: LockHolder,
    options: { cause?: unknown; answeredAtMs?: number } = {},
  ) {
    super(Nfs4Status.NFS4ERR_DENIED, "LOCK", { path, detail: holder, cause: options.cause });
    this.name = "LockConflictError";
    this.holder = holder;
    this.answeredAtMs = options.answeredAtMs;
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
  /** The server's host, as connect() was given it. */
  readonly host: string;
  /** The server's port. */
  readonly port: number;

  /** `minorVersions` each refused by `server`; `cause`: the last refusal. */
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
 * Linux's MAXSYMLINKS), or it is not a client path at all (relative, or
 * empty: lib/client/arguments.ts `checkPath`). The message is
 * `PATH: reason` (`"": reason` for the empty path).
 */
export class PathError extends Error {
  /** The path the user named. */
  readonly path: string;

  /** `path` refused for `reason` (the message's second half). */
  constructor(path: string, reason: string) {
    super(`${shownPath(path)}: ${reason}`);
    this.name = "PathError";
    this.path = path;
  }
}

/** A path as a message starts with it: `""` for the empty one, which would show as nothing. */
export function shownPath(path: string): string {
  return path === "" ? '""' : path;
}

/**
 * A call through an open file (OpenFile, WritableFile) after that handle's
 * own close() was called: refused at once, nothing sent. Another handle of
 * the same file is not affected.
 */
export class FileClosedError extends Error {
  /** The path the file was opened by. */
  readonly path: string;

  /** A call through the closed handle of `path`. */
  constructor(path: string) {
    super(`${path}: file closed (close() was called on this handle)`);
    this.name = "FileClosedError";
    this.path = path;
  }
}

export { AttributesNotSetError } from "../nfs4/attrs_set.ts";

/**
 * The {@linkcode ClientClosedError} of a call made after `crash()` (naming
 * `path`, else the server): the same class, callers catch it alike, but
 * its message says what happened; close() was not called, and nothing was
 * released.
 */
export function crashedError(server: string, path: string | undefined): ClientClosedError {
  const error = new ClientClosedError(server, { path });
  error.message = `${path ?? server}: client crashed (crash() was called)`;
  return error;
}

/** `lock-p1234-1` when the owner bytes are printable text, else hex. */
export function formatOwner(bytes: Uint8Array): string {
  const printable = bytes.every((b) => b >= 0x20 && b < 0x7f);
  if (printable && bytes.length > 0) return new TextDecoder().decode(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The owner Ganesha puts in LOCK4denied when it does not know the holder. */
const MADE_UP_OWNERS = new Set(["ganesha_unknown_owner"]);

const UINT64_MAX = 0xffff_ffff_ffff_ffffn;

/**
 * Whether a LOCK4denied (RFC 7530 §16.10.4: "the conflicting lock") can
 * describe a real holder of a lock conflicting with `requested`: a client
 * ID other than 0 (what Ganesha sends for "nobody"; client IDs it hands
 * out carry its boot time), an owner that is not a placeholder, a range that
 * fits in 64 bits and overlaps the one asked for, and a type that conflicts
 * (two shared locks never do). A newer Ganesha fails all of these at once
 * on a refused blocking LOCK (`ganesha_unknown_owner`, client ID 0, on 4.0
 * ranges never filled in).
 */
export function plausibleHolder(
  holder: LockHolder,
  requested: { readonly type: "read" | "write"; readonly offset: bigint; readonly length: bigint },
): boolean {
  if (holder.clientid === 0n || holder.owner === "" || MADE_UP_OWNERS.has(holder.owner)) {
    return false;
  }
  if (holder.type === "read" && requested.type === "read") return false;
  const end = (offset: bigint, length: bigint) =>
    length === UINT64_MAX ? UINT64_MAX + 1n : offset + length;
  if (holder.length !== UINT64_MAX && end(holder.offset, holder.length) > UINT64_MAX + 1n) {
    return false;
  }
  return holder.offset < end(requested.offset, requested.length) &&
    requested.offset < end(holder.offset, holder.length);
}

/**
 * `exclusive lock on bytes 0- held by lock owner lock-p42-1 (client 0x…)`;
 * for a holder the server did not name (`unknown`),
 * `a conflicting lock held by an unknown holder (the server did not say who)`.
 */
export function describeLockHolder(holder: LockHolder): string {
  if (holder.unknown) {
    return "a conflicting lock held by an unknown holder (the server did not say who)";
  }
  const kind = holder.type === "read" ? "shared" : "exclusive";
  return `${kind} lock on bytes ${
    formatRange(holder.offset, holder.length)
  } held by lock owner ${holder.owner} (client 0x${
    holder.clientid.toString(16).padStart(16, "0")
  })`;
}

/**
 * close() released all it could, but not everything: what is left (a CLOSE
 * or DESTROY_SESSION the server did not answer) stays on the server until
 * this client's lease ends there.
 */
export class StateNotReleasedError extends Error {
  /** The server, as `host:port`. */
  readonly server: string;
  /** What was not released, each with why. */
  readonly left: readonly { what: string; why: string }[];

  /** `left`'s items: what was not released, and why (an error's message). */
  constructor(server: string, left: readonly { what: string; why: string }[]) {
    // One reason, said once (a server gone fails each step alike), and
    // without the server's name the line starts with.
    const reasons = new Map<string, string[]>();
    for (const { what, why } of left) {
      const reason = why.startsWith(`${server}: `) ? why.slice(server.length + 2) : why;
      reasons.set(reason, [...reasons.get(reason) ?? [], what]);
    }
    const told = [...reasons].map(([why, what]) => `${what.join(", ")} (${why})`);
    super(
      `${server}: not released: ${told.join("; ")}; the server frees it when this client's ` +
        "lease ends",
    );
    this.name = "StateNotReleasedError";
    this.server = server;
    this.left = left;
  }
}

/**
 * What a file handle wrote with less than FILE_SYNC4 (`write()`'s default,
 * UNSTABLE4) is not known to be on the server's stable storage, so a
 * server restart may have lost it, though every write() succeeded: the
 * COMMIT that close() sent returned a write verifier other than the one
 * the WRITEs returned (the server restarted in between: RFC 7530 §16.3.4,
 * §16.36.4; RFC 8881 §18.3.3, §18.32.3), or it failed, or none could be
 * sent (the client was closing or interrupted). The file was closed all
 * the same. Write the data again, and COMMIT it (or write it with
 * `"file"`), before taking it to be there.
 *
 * @example
 * ```ts ignore
 * try {
 *   await file.close();
 * } catch (e) {
 *   if (e instanceof WriteNotCommittedError) console.error(`${e.path}: write it again`);
 *   throw e;
 * }
 * ```
 */
export class WriteNotCommittedError extends Error {
  /** The path the file was opened by. */
  readonly path: string;
  /** The byte ranges not known to be on stable storage, in file order. */
  readonly ranges: readonly { readonly offset: bigint; readonly length: bigint }[];
  /** What a program that maps errors to errno values tells its user (as the kernel's close()). */
  readonly code = "EIO";

  /** `reason`: why they are not known committed (the verifiers, or the COMMIT's failure). */
  constructor(
    path: string,
    ranges: readonly { readonly offset: bigint; readonly length: bigint }[],
    reason: string,
    options: { cause?: unknown } = {},
  ) {
    const bytes = ranges.reduce((sum, r) => sum + r.length, 0n);
    const where = ranges.length === 1
      ? `at offset ${ranges[0]!.offset}`
      : `in ${ranges.length} ranges from offset ${ranges[0]?.offset ?? 0n}`;
    super(
      `${path}: ${bytes} bytes written unstable ${where} not committed: ${reason}; ` +
        "they may be lost (write them again)",
      options,
    );
    this.name = "WriteNotCommittedError";
    this.path = path;
    this.ranges = ranges;
  }
}
