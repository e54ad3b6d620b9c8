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

/**
 * Sizes and depths of the data path; the defaults ({@linkcode DEFAULT_TUNING})
 * suit a LAN or loopback. `CopyOptions.tuning` changes some of them.
 */
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

/**
 * Some of {@linkcode CopyTuning}'s sizes and depths; one left out, or
 * undefined, keeps its default.
 */
export type CopyTuningOverrides = {
  readonly [K in keyof CopyTuning]?: CopyTuning[K] | undefined;
};

/**
 * {@linkcode DEFAULT_TUNING} with what `overrides` sets. An undefined
 * value is no override (a spread would let it replace the default:
 * `{ commitBytes: flag ? Number(flag) : undefined }` under
 * `exactOptionalPropertyTypes`).
 *
 * @example
 * ```ts
 * tuningWith({ writeDepth: 8, readDepth: undefined }).readDepth; // 4
 * ```
 */
export function tuningWith(overrides: CopyTuningOverrides | undefined): CopyTuning {
  const tuning: { -readonly [K in keyof CopyTuning]: CopyTuning[K] } = { ...DEFAULT_TUNING };
  for (const key of Object.keys(tuning) as (keyof CopyTuning)[]) {
    const value = overrides?.[key];
    if (value === undefined) continue;
    // A depth or a chunk of 0 would never move a byte (a copy that never
    // ends); the byte thresholds may be 0 (no file is small, no listing kept).
    const least = TUNING_AT_LEAST_ZERO.has(key) ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < least) {
      throw new RangeError(
        `copy tuning ${key} must be an integer of at least ${least}, got ${String(value)}`,
      );
    }
    tuning[key] = value;
  }
  return tuning;
}

/** The tuning sizes that may be 0; every other must be at least 1. */
const TUNING_AT_LEAST_ZERO: ReadonlySet<keyof CopyTuning> = new Set([
  "commitBytes",
  "smallFileBytes",
  "keptListingBytes",
]);

/** What is going on, for a progress display. */
export interface CopyProgress {
  /** Bytes of file data handed to destinations so far. */
  readonly bytesDone: number;
  /** Total bytes to copy when known (undefined while reading stdin). */
  readonly bytesTotal: number | undefined;
  /** Files (and symlinks, special files) in place so far. */
  readonly filesDone: number;
  /** Files to copy, as far as the survey of the sources has counted. */
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

/**
 * Some of {@linkcode PreserveSet}'s attributes; one left out, or undefined,
 * is not kept.
 */
export type PreserveChoice = {
  readonly [K in keyof PreserveSet]?: boolean | undefined;
};

/**
 * How to copy. Every optional property takes `undefined` for absent (so
 * options built from flags compile under `exactOptionalPropertyTypes`),
 * in `tuning` and `preserve` too: an undefined size keeps its default.
 */
export interface CopyOptions {
  /**
   * `-r`: copy directories and their contents; symlinks are copied as
   * symlinks and fifos, sockets and devices recreated (not read).
   */
  readonly recursive?: boolean | undefined;
  /** `-p` (true: {@linkcode PRESERVE_P}) or `--preserve=LIST`. */
  readonly preserve?: boolean | PreserveChoice | undefined;
  /** Symlinks to follow; default `never` with `recursive`, else `command-line`. */
  readonly dereference?: Dereference | undefined;
  /** `-f`: an existing destination that cannot be opened for writing is removed first. */
  readonly force?: boolean | undefined;
  /** `-n`: never replace an existing destination (skipped, not an error). */
  readonly noClobber?: boolean | undefined;
  /** `-u`: copy only when the source is newer than the destination or it is missing. */
  readonly update?: boolean | undefined;
  /**
   * `--inplace`: overwrite an existing file by writing into it (no
   * temporary), as is done anyway when a temporary could not keep its
   * owner, group, mode or hard links.
   */
  readonly inplace?: boolean | undefined;
  /**
   * `--sparse=WHEN` (default `auto`): `auto` leaves zero blocks unwritten
   * (holes) when the source is sparse (fewer bytes allocated than its
   * size), `always` for every source, `never` writes every byte.
   */
  readonly sparse?: SparseMode | undefined;
  /** `-v`: called after each file, symlink or directory is in place, with both names as the user would write them. */
  readonly onCopied?: ((from: string, to: string) => void | Promise<void>) | undefined;
  /** Something was left out on purpose (a special file): said, counted, not an error. */
  readonly onWarning?: ((message: string, url: NfsUrl | undefined) => void) | undefined;
  /** The client for the server of `url` (one per server, reused). */
  readonly connect: (url: NfsUrl) => Promise<Nfs4ClientApi>;
  /** Where `-` reads from. */
  readonly stdin?: AsyncIterable<Uint8Array> | undefined;
  /** Where `-` writes to; resolves once the chunk has been taken. */
  readonly stdout?: { write(chunk: Uint8Array): Promise<void> } | undefined;
  /** Aborting stops the copy, removes the temporary and rejects with the reason. */
  readonly signal?: AbortSignal | undefined;
  /** Called as data moves (often: throttle what you draw). */
  readonly onProgress?: ((progress: CopyProgress) => void) | undefined;
  /**
   * A file or directory failed; the copy goes on with the rest. `url` is the
   * URL on whose server it failed (for messages), undefined for local paths.
   */
  readonly onError: (error: unknown, url: NfsUrl | undefined) => void;
  /** File mode creation mask applied without `preserve` (default 0o022). */
  readonly umask?: number | undefined;
  /** Sizes and depths of the data path: those given replace {@linkcode DEFAULT_TUNING}'s. */
  readonly tuning?: CopyTuningOverrides | undefined;
  /**
   * Where the copy keeps what it may leave behind when stopped (a
   * temporary whose removal was not answered, a destination written in
   * place and left incomplete): the caller's, so that it can name them at
   * the moment it gives up waiting after a stop (a new one when not given;
   * copy() reports what is left in it through `onError` when it returns
   * stopped).
   */
  readonly leftovers?: Leftovers | undefined;
}

/** One entry of {@linkcode Leftovers}: dropped once it is placed, removed, or said. */
export interface Leftover {
  /** It is no longer left: placed, removed, or said. */
  drop(): void;
}

/**
 * What a copy has made, or may have made, that is neither where it belongs
 * nor known to be gone: a temporary from the moment its create is started
 * (the reply may never come, and the server may have run it) until it is
 * placed or its removal is answered; a destination written in place from
 * the moment it may have been emptied until it is whole. A stop must name
 * them (README "Exit codes": 130/143 after releasing what could be released
 * in 1.5 s), and its last moment may come before the copy can say anything
 * itself (the release window's end, the backstop, a second Ctrl-C): so the
 * run keeps them here as they come and go, and {@linkcode take} says them
 * at once, each once, without waiting for anything.
 *
 * @example
 * ```ts
 * import { copy, Leftovers, Nfs4Client, parseLocation } from "../../../mod.ts";
 *
 * const client = await Nfs4Client.connect({ host: "127.0.0.1", port: 2049 });
 * const stop = new AbortController();
 * const leftovers = new Leftovers();
 * const copying = copy([parseLocation("big.iso")], parseLocation("nfs://127.0.0.1/vfs/"), {
 *   connect: () => Promise.resolve(client),
 *   onError: (error) => console.error(error),
 *   signal: stop.signal,
 *   leftovers,
 * });
 * stop.abort(new Error("stopped"));
 * // At the deadline after a stop: one line for each, then exit.
 * setTimeout(() => {
 *   for (const error of leftovers.take(stop.signal.reason)) console.error(error.message);
 * }, 1_500);
 * await copying.catch(() => {});
 * await client.close();
 * ```
 */
export class Leftovers {
  readonly #held = new Set<(stop: unknown) => Error>();

  /**
   * Holds one thing that may be left; `describe` says it (as the failure a
   * stop gave it: `stop`, the stop's reason) when it is taken. For the
   * copy engine.
   */
  hold(describe: (stop: unknown) => Error): Leftover {
    // A function of its own per entry: two alike are still two.
    const entry = (stop: unknown) => describe(stop);
    this.#held.add(entry);
    return { drop: () => void this.#held.delete(entry) };
  }

  /** How many are held. */
  get size(): number {
    return this.#held.size;
  }

  /** Each one held, described, in the order held; none is held after. */
  take(stop: unknown): Error[] {
    const entries = [...this.#held];
    this.#held.clear();
    return entries.map((describe) => describe(stop));
  }
}

/** What a copy did. */
export interface CopySummary {
  /** Regular files copied. */
  files: number;
  /** Directories made or merged into. */
  directories: number;
  /** Symlinks copied as symlinks. */
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
  /** How long the copy took. */
  seconds: number;
  /** WRITEs sent again because a COMMIT's verifier differed (server restart). */
  resentWrites: number;
}

/** A failure the copy itself detects (not an NFS status or a system error). */
export class CopyError extends Error {
  /** The server the failure concerns, for messages; undefined for local paths. */
  readonly url: NfsUrl | undefined;

  /** `url`: the server concerned, if any; `cause`: the failure behind it. */
  constructor(message: string, options: { url?: NfsUrl | undefined; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "CopyError";
    this.url = options.url;
  }
}

/**
 * A local source changed while it was read (its size is not the bytes read,
 * or its mtime or ctime moved since it was opened): what was read is no
 * copy of any state the file had, so it is not placed. The words are GNU
 * tar's, which checks the same after reading a file.
 */
export class SourceChangedError extends CopyError {
  /** `source`: the source as the user named it. */
  constructor(source: string) {
    super(`${source}: file changed as we read it`);
    this.name = "SourceChangedError";
  }
}

/**
 * An overwrite in place failed after the destination was emptied: it holds
 * part of the new data (the old is gone). `destination` names it as the
 * user would; the cause says why.
 */
export class IncompleteCopyError extends CopyError {
  /** The destination left incomplete, as the user named it. */
  readonly destination: string;

  /** `cause`: why the copy failed part-way. */
  constructor(destination: string, options: { url?: NfsUrl | undefined; cause: unknown }) {
    const why = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`${destination}: copy failed part-way, destination is incomplete: ${why}`, options);
    this.name = "IncompleteCopyError";
    this.destination = destination;
  }
}

/** A local file system call failed: the message names the path, as strerror(3) would. */
export class LocalFileError extends Error {
  /** The system error's code (`ENOENT`, `EACCES`...), when it had one. */
  readonly code: string | undefined;
  /** The local path, as the user named it. */
  readonly path: string;

  /** `cause`: the system call's error. */
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
