/**
 * Operands, options, results and errors of a copy (`nfs4 cp`).
 * @module
 */

import type { Nfs4ClientApi } from "../api.ts";
import { errnoText } from "../errno_text.ts";
import { type NfsUrl, parseNfsUrl, UsageError } from "../url.ts";

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
  /**
   * Estimated bytes of directory listings a tree's survey keeps for the
   * copy, a tree on a server only (kept_listings.ts); past them directories
   * are listed again.
   */
  readonly keptListingBytes: number;
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
  // About 10,000 entries of a listing from Ganesha: 12 MB of peak RSS at most.
  keptListingBytes: 5 * 1024 * 1024,
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

/** `--sparse=WHEN`, as in coreutils `cp`. */
export type SparseMode = "auto" | "always" | "never";

/** What `--preserve=LIST` keeps (coreutils' names; `all` is every one). */
export interface PreserveSet {
  /** Permission, set-id and sticky bits. */
  readonly mode: boolean;
  /** Owner and group (where permitted; a refusal is a warning). */
  readonly ownership: boolean;
  /** Access and modification times, to the nanosecond. */
  readonly timestamps: boolean;
  /** Hard links between the files copied. */
  readonly links: boolean;
}

/** `-p`: mode, ownership and timestamps. */
export const PRESERVE_P: PreserveSet = {
  mode: true,
  ownership: true,
  timestamps: true,
  links: false,
};

/** Nothing kept (plain `cp`). */
export const PRESERVE_NONE: PreserveSet = {
  mode: false,
  ownership: false,
  timestamps: false,
  links: false,
};

/** Every attribute `--preserve=all` (and `-a`) keeps. */
export const PRESERVE_ALL: PreserveSet = {
  mode: true,
  ownership: true,
  timestamps: true,
  links: true,
};

/**
 * Applies `--preserve=LIST` (`+LIST`) and `--no-preserve=LIST` (`-LIST`)
 * in the order given to `base`, as coreutils reads them: LIST is
 * comma-separated `mode`, `ownership`, `timestamps`, `links` or `all`.
 * `context` and `xattr` are not kept by NFSv4.0/4.1: asked for, they are a
 * usage error; `--no-preserve` of them, and `all`, pass.
 *
 * @example
 * ```ts
 * applyPreserveList(PRESERVE_ALL, ["-links"]).links; // false
 * ```
 */
export function applyPreserveList(base: PreserveSet, lists: readonly string[]): PreserveSet {
  const out = { ...base };
  for (const item of lists) {
    const on = item.startsWith("+");
    const option = on ? "--preserve" : "--no-preserve";
    for (const name of item.slice(1).split(",")) {
      switch (name) {
        case "mode":
        case "ownership":
        case "timestamps":
        case "links":
          out[name] = on;
          break;
        case "all":
          out.mode =
            out.ownership =
            out.timestamps =
            out.links =
              on;
          break;
        case "context":
        case "xattr":
          if (on) throw new UsageError(`${option}=${name}: not kept by NFSv4.0/4.1`);
          break;
        default:
          throw new UsageError(
            `invalid argument '${name}' for '${option}' (valid: mode, ownership, timestamps, links, all)`,
          );
      }
    }
  }
  return out;
}

/**
 * Which symlinks in the sources are followed: `never` (`-P`, `-d`; the
 * default with `-r`), `command-line` (`-H`; what plain `cp` does with its
 * operands) or `always` (`-L`).
 */
export type Dereference = "never" | "command-line" | "always";

/** How to copy. */
export interface CopyOptions {
  /**
   * `-r`: copy directories and their contents; symlinks are copied as
   * symlinks and fifos, sockets and devices recreated (not read).
   */
  readonly recursive?: boolean;
  /** `-p` (true: {@linkcode PRESERVE_P}) or `--preserve=LIST`. */
  readonly preserve?: boolean | Partial<PreserveSet>;
  /** Symlinks to follow; default `never` with `recursive`, else `command-line`. */
  readonly dereference?: Dereference;
  /** `-f`: an existing destination that cannot be opened for writing is removed first. */
  readonly force?: boolean;
  /** `-n`: never replace an existing destination (skipped, not an error). */
  readonly noClobber?: boolean;
  /** `-u`: copy only when the source is newer than the destination or it is missing. */
  readonly update?: boolean;
  /**
   * `--inplace`: overwrite an existing file by writing into it (no
   * temporary), as is done anyway when a temporary could not keep its
   * owner, group, mode or hard links.
   */
  readonly inplace?: boolean;
  /**
   * `--sparse=WHEN` (default `auto`): `auto` leaves zero blocks unwritten
   * (holes) when the source is sparse (fewer bytes allocated than its
   * size), `always` for every source, `never` writes every byte.
   */
  readonly sparse?: SparseMode;
  /** `-v`: called after each file, symlink or directory is in place, with both names as the user would write them. */
  readonly onCopied?: (from: string, to: string) => void | Promise<void>;
  /** Something was left out on purpose (a special file): said, counted, not an error. */
  readonly onWarning?: (message: string, url: NfsUrl | undefined) => void;
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
  /** Fifos, sockets and devices recreated. */
  specials: number;
  /** Bytes of file data copied. */
  bytes: number;
  /** Destinations left alone because of `noClobber` or `update`. */
  skipped: number;
  /** Special files (fifos, sockets, devices) left out, with a warning: not errors. */
  skippedSpecial: number;
  /** Attributes that could not be kept (an owner the server refused), each with a warning. */
  warnings: number;
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

/**
 * An overwrite in place failed after the destination was emptied: it holds
 * part of the new data (the old is gone). `destination` names it as the
 * user would; the cause says why.
 */
export class IncompleteCopyError extends CopyError {
  readonly destination: string;

  constructor(destination: string, options: { url?: NfsUrl | undefined; cause: unknown }) {
    const why = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`${destination}: copy failed part-way, destination is incomplete: ${why}`, options);
    this.name = "IncompleteCopyError";
    this.destination = destination;
  }
}

/** A local file system call failed: the message names the path, as strerror(3) would. */
export class LocalFileError extends Error {
  readonly code: string | undefined;
  readonly path: string;

  constructor(path: string, cause: unknown) {
    const code = (cause as { code?: unknown })?.code;
    const text = errnoText(code);
    const fallback = cause instanceof Error ? cause.message : String(cause);
    super(`${path}: ${text ?? fallback}`, { cause });
    this.name = "LocalFileError";
    this.code = typeof code === "string" ? code : undefined;
    this.path = path;
  }
}
