/**
 * Operands, options, results and errors of a copy (`nfs4 cp`).
 * @module
 */

import type { Nfs4ClientApi } from "../api.ts";
import { type NfsUrl, parseNfsUrl } from "../url.ts";

/** One operand of a copy: a local path, stdin/stdout (`-`) or an `nfs://` URL. */
export type Location =
  | { readonly kind: "local"; readonly path: string; readonly text: string }
  | { readonly kind: "stdio"; readonly text: "-" }
  | { readonly kind: "nfs"; readonly url: NfsUrl; readonly text: string };

/**
 * The location an operand names: `-` is stdin or stdout, `nfs://…` an NFS
 * URL (a malformed one throws `UsageError`), anything else a local path.
 *
 * @example
 * ```ts
 * parseLocation("nfs://srv/vfs/a").kind; // "nfs"
 * parseLocation("./a").kind; // "local"
 * ```
 */
export function parseLocation(text: string): Location {
  if (text === "-") return { kind: "stdio", text: "-" };
  if (/^nfs:\/\//i.test(text)) return { kind: "nfs", url: parseNfsUrl(text), text };
  return { kind: "local", path: text, text };
}

/** Sizes and depths of the data path; the defaults suit a LAN or loopback. */
export interface CopyTuning {
  /** READs in flight per file (capped by the session's slots on 4.1). */
  readonly readDepth: number;
  /** WRITEs in flight per file. */
  readonly writeDepth: number;
  /** Unstable bytes written between COMMITs (and kept until committed). */
  readonly commitBytes: number;
  /** Chunk size for local reads and writes, when the other side does not decide. */
  readonly chunkSize: number;
  /** Small files of a tree copied at once (each costs round trips, not bandwidth). */
  readonly parallelFiles: number;
  /** Files up to this size count as small; a larger one is copied alone. */
  readonly smallFileBytes: number;
}

/**
 * Measured on loopback (scripts/bench.ts, 2 CPUs): more than 4 READs or
 * WRITEs of 1 MiB in flight bought nothing and cost memory; 4 MiB in flight
 * still covers the bandwidth-delay product of a LAN.
 */
export const DEFAULT_TUNING: CopyTuning = {
  readDepth: 4,
  writeDepth: 4,
  commitBytes: 32 * 1024 * 1024,
  chunkSize: 1024 * 1024,
  parallelFiles: 8,
  smallFileBytes: 4 * 1024 * 1024,
};

/** What is going on, for a progress display. */
export interface CopyProgress {
  /** Bytes of file data handed to destinations so far. */
  readonly bytesDone: number;
  /** Total bytes to copy when known (undefined while reading stdin). */
  readonly bytesTotal: number | undefined;
  readonly filesDone: number;
  readonly filesTotal: number;
  /** The file being copied, as the user would name it. */
  readonly current: string | undefined;
}

/** How to copy. */
export interface CopyOptions {
  /** `-r`: copy directories and their contents; symlinks are copied as symlinks. */
  readonly recursive?: boolean;
  /** `-p`: keep mode and access/modification times. */
  readonly preserve?: boolean;
  /** `-f`: an existing destination that cannot be opened for writing is removed first. */
  readonly force?: boolean;
  /** `-n`: never replace an existing destination (skipped, not an error). */
  readonly noClobber?: boolean;
  /** The client for the server of `url` (one per server, reused). */
  readonly connect: (url: NfsUrl) => Promise<Nfs4ClientApi>;
  /** Where `-` reads from. */
  readonly stdin?: AsyncIterable<Uint8Array>;
  /** Where `-` writes to; resolves once the chunk has been taken. */
  readonly stdout?: { write(chunk: Uint8Array): Promise<void> };
  /** Aborting stops the copy, removes the temporary and rejects with the reason. */
  readonly signal?: AbortSignal;
  /** Called as data moves (often: throttle what you draw). */
  readonly onProgress?: (progress: CopyProgress) => void;
  /**
   * A file or directory failed; the copy goes on with the rest. `url` is the
   * URL on whose server it failed (for messages), undefined for local paths.
   */
  readonly onError: (error: unknown, url: NfsUrl | undefined) => void;
  /** File mode creation mask applied without `preserve` (default 0o022). */
  readonly umask?: number;
  readonly tuning?: Partial<CopyTuning>;
}

/** What a copy did. */
export interface CopySummary {
  /** Regular files copied. */
  files: number;
  directories: number;
  symlinks: number;
  /** Bytes of file data copied. */
  bytes: number;
  /** Destinations left alone because of `noClobber`. */
  skipped: number;
  /** Failures reported through `onError`. */
  errors: number;
  seconds: number;
  /** WRITEs sent again because a COMMIT's verifier differed (server restart). */
  resentWrites: number;
}

/** A failure the copy itself detects (not an NFS status or a system error). */
export class CopyError extends Error {
  /** The server the failure concerns, for messages; undefined for local paths. */
  readonly url: NfsUrl | undefined;

  constructor(message: string, options: { url?: NfsUrl | undefined; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "CopyError";
    this.url = options.url;
  }
}

/** A local file system call failed: the message names the path, as strerror(3) would. */
export class LocalFileError extends Error {
  readonly code: string | undefined;
  readonly path: string;

  constructor(path: string, cause: unknown) {
    const code = (cause as { code?: unknown })?.code;
    const text = typeof code === "string" ? ERRNO_TEXT[code] : undefined;
    const fallback = cause instanceof Error ? cause.message : String(cause);
    super(`${path}: ${text ?? fallback}`, { cause });
    this.name = "LocalFileError";
    this.code = typeof code === "string" ? code : undefined;
    this.path = path;
  }
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "No such file or directory",
  EACCES: "Permission denied",
  EPERM: "Operation not permitted",
  EEXIST: "File exists",
  ENOTDIR: "Not a directory",
  EISDIR: "Is a directory",
  EROFS: "Read-only file system",
  ENOSPC: "No space left on device",
  EDQUOT: "Disk quota exceeded",
  ENAMETOOLONG: "File name too long",
  ELOOP: "Too many levels of symbolic links",
  EIO: "Input/output error",
  ENOTEMPTY: "Directory not empty",
  EINVAL: "Invalid argument",
  EMFILE: "Too many open files",
  EFBIG: "File too large",
  EXDEV: "Invalid cross-device link",
  EBUSY: "Device or resource busy",
  ETXTBSY: "Text file busy",
};
