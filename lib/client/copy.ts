/**
 * The copy engine behind `nfs4 cp`: files and trees between local paths,
 * stdin/stdout and NFS servers (one or two), with the semantics of
 * coreutils `cp`.
 *
 * Every regular file and symlink is written under a temporary name in the
 * destination's directory (`.NAME.nfs4-XXXXXX`) and renamed onto the final
 * name only once its data is durable and its attributes are set, so a copy
 * that fails or is interrupted never leaves a destination that looks
 * complete. The temporary is removed on failure.
 *
 * Writing to NFS (RFC 7530 §16.36, §16.3; RFC 8881 §18.32, §18.3): OPEN
 * creates the temporary (EXCLUSIVE4_1 on 4.1, GUARDED4 on 4.0); WRITEs go
 * out UNSTABLE4, several in flight, in the server's preferred size; every
 * {@linkcode CopyTuning.commitBytes} a COMMIT is sent and its verifier
 * compared with each WRITE's. The data of a window is kept until that
 * comparison succeeds: a WRITE whose verifier differs (the server restarted
 * and may have lost it) is sent again and the window committed again. At
 * most two windows are held (one committing, one filling), so memory is
 * bounded whatever the file size. A final SETATTR sets size, mode and, with
 * `preserve`, the times; then CLOSE and RENAME.
 *
 * Reading from NFS: READs of the server's `maxread`, several in flight (on
 * 4.1 no more than the session has slots for), handed on in order.
 *
 * @example
 * ```ts
 * const summary = await copy(
 *   [parseLocation("big.iso")],
 *   parseLocation("nfs://127.0.0.1/vfs/"),
 *   { connect: (url) => Nfs4Client.connect({ host: url.host, port: url.port }),
 *     onError: (err) => console.error(err) },
 * );
 * console.log(summary.bytes);
 * ```
 * @module
 */

import { Buffer } from "node:buffer";
import { type BigIntStats, constants as fsConstants } from "node:fs";
import * as fs from "node:fs/promises";
import * as nodePath from "node:path";
import type { SettableAttributes, SetTime } from "../nfs4/attrs.ts";
import { NfsError } from "../nfs4/errors.ts";
import { link } from "../nfs4/ops/link.ts";
import { putfh } from "../nfs4/ops/putfh.ts";
import { savefh } from "../nfs4/ops/savefh.ts";
import { Nfs4Status as S } from "../nfs4/status.ts";
import type { NfsTime } from "../nfs4/types.ts";
import type { Nfs4ClientApi, OpenFile, WritableFile } from "./api.ts";
import { Nfs4Client, NfsFile } from "./client.ts";
import type { FileInfo, FileKind } from "./types.ts";
import { type NfsUrl, parseNfsUrl, urlForPath } from "./url.ts";

// ------------------------------------------------------------ locations

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

// -------------------------------------------------------------- options

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

// ---------------------------------------------------------------- sides

/** Attributes of a file, the same for local and NFS files. */
interface Stat {
  readonly kind: FileKind;
  readonly size: bigint | undefined;
  /** Permission bits (07777). */
  readonly mode: number | undefined;
  readonly mtime: NfsTime | undefined;
  readonly atime: NfsTime | undefined;
  /** Identity for "same file" checks (device and inode, or server, export and fileid). */
  readonly id: string | undefined;
  /** The path, with symlinks resolved when they were followed. */
  readonly path: string;
  readonly linkTarget?: string | undefined;
}

interface DirEntry extends Stat {
  readonly name: string;
}

/** Times and mode to give a copy. */
interface FinalAttrs {
  readonly mode: number;
  readonly mtime?: NfsTime | undefined;
  readonly atime?: NfsTime | undefined;
}

/** Reads one file start to end; each chunk is the caller's to keep. */
interface Reader {
  chunks(): AsyncIterable<Uint8Array>;
  /** Reads `length` bytes at `offset` again (for a resend after a server restart). */
  readAt(offset: bigint, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Reads again what was read before; the source must still hold it. */
type Reread = (offset: bigint, length: number) => Promise<Uint8Array>;

/** Writes one file from the start; `write` takes ownership of the chunk. */
interface Writer {
  /** The size of write the destination prefers (sources read in it). */
  readonly chunkSize: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the data durable (NFS: committed), sets `attrs`, closes. */
  finish(attrs: FinalAttrs, size: bigint): Promise<void>;
  /** Stops without finishing; the caller removes the file. */
  abort(): Promise<void>;
  /**
   * The source can be read again: the writer need not keep data it may
   * have to send again (NFS: uncommitted WRITEs), so memory stays small.
   */
  useSource?(reread: Reread): void;
}

/** A file system a copy reads from or writes to: the local one or one NFS server's. */
interface Side {
  readonly kind: "local" | "nfs";
  /** The URL to name in messages about this side (undefined when local). */
  readonly url: NfsUrl | undefined;
  /** `path` as the user would write it: a local path or an URL. */
  display(path: string): string;
  join(dir: string, name: string): string;
  dirname(path: string): string;
  basename(path: string): string;
  /** Attributes, or undefined when nothing has that name. */
  stat(path: string, follow: boolean): Promise<Stat | undefined>;
  list(path: string): AsyncIterable<DirEntry>;
  readlink(path: string): Promise<string>;
  openReader(path: string, stat: Stat, chunkSize: number): Promise<Reader>;
  /** Creates `path` (which must not exist) for writing. */
  create(path: string): Promise<Writer>;
  mkdir(path: string, mode: number): Promise<void>;
  symlink(path: string, target: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Puts `from` at `to` unless `to` exists (then false); `from` is gone either way. */
  renameNoReplace(from: string, to: string, writer?: Writer): Promise<boolean>;
  remove(path: string): Promise<void>;
  /** Can an existing file be opened for writing? Throws the reason when not. */
  checkWritable(path: string): Promise<void>;
  setAttrs(
    path: string,
    attrs: { mode?: number | undefined; mtime?: NfsTime; atime?: NfsTime },
    follow: boolean,
  ): Promise<void>;
  /** Whether a failure means "does not exist". */
  isNotFound(error: unknown): boolean;
  /** Whether a failure means "exists already". */
  isExists(error: unknown): boolean;
}

/**
 * A buffer that is about to be filled: not zeroed first (a gigabyte of
 * zeroing is a tenth of a second of CPU the copy does not need).
 */
function uninitialized(size: number): Uint8Array {
  return Buffer.allocUnsafe(size);
}

function timeFromDate(date: Date | undefined): NfsTime | undefined {
  if (!date) return undefined;
  const ms = date.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds: BigInt(seconds), nseconds: (ms - seconds * 1000) * 1_000_000 };
}

function timeFromNs(ns: bigint): NfsTime {
  const seconds = ns >= 0n ? ns / 1_000_000_000n : -((-ns + 999_999_999n) / 1_000_000_000n);
  return { seconds, nseconds: Number(ns - seconds * 1_000_000_000n) };
}

function timeToSeconds(t: NfsTime): number {
  return Number(t.seconds) + t.nseconds / 1e9;
}

/** Wraps a node:fs failure so its message names `path` the way `cp` would. */
function localError(path: string, error: unknown): LocalFileError {
  return error instanceof LocalFileError ? error : new LocalFileError(path, error);
}

async function local<T>(path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw localError(path, e);
  }
}

function kindOf(stats: BigIntStats): FileKind {
  if (stats.isFile()) return "file";
  if (stats.isDirectory()) return "directory";
  if (stats.isSymbolicLink()) return "symlink";
  if (stats.isFIFO()) return "fifo";
  if (stats.isSocket()) return "socket";
  if (stats.isBlockDevice()) return "block";
  if (stats.isCharacterDevice()) return "char";
  return "unknown";
}

class LocalSide implements Side {
  readonly kind = "local" as const;
  readonly url = undefined;
  readonly #chunkSize: number;

  constructor(tuning: CopyTuning) {
    this.#chunkSize = tuning.chunkSize;
  }

  display(path: string): string {
    return path;
  }

  join(dir: string, name: string): string {
    return nodePath.join(dir, name);
  }

  dirname(path: string): string {
    return nodePath.dirname(path);
  }

  basename(path: string): string {
    return nodePath.basename(path);
  }

  async stat(path: string, follow: boolean): Promise<Stat | undefined> {
    let stats;
    try {
      stats = follow
        ? await fs.stat(path, { bigint: true })
        : await fs.lstat(path, { bigint: true });
    } catch (e) {
      if (this.isNotFound(e)) return undefined;
      throw localError(path, e);
    }
    const kind = kindOf(stats);
    let resolved = path;
    if (follow) resolved = await fs.realpath(path).catch(() => path);
    return {
      kind,
      size: stats.size,
      mode: Number(stats.mode & 0o7777n),
      mtime: timeFromNs(stats.mtimeNs),
      atime: timeFromNs(stats.atimeNs),
      id: `local:${stats.dev}:${stats.ino}`,
      path: resolved,
      ...(kind === "symlink" ? { linkTarget: await fs.readlink(path).catch(() => undefined) } : {}),
    };
  }

  async *list(path: string): AsyncIterable<DirEntry> {
    const names = await local(path, () => fs.readdir(path));
    for (const name of names) {
      const child = nodePath.join(path, name);
      const stat = await this.stat(child, false);
      if (stat) yield { ...stat, name };
    }
  }

  readlink(path: string): Promise<string> {
    return local(path, () => fs.readlink(path));
  }

  async openReader(path: string, _stat: Stat, chunkSize: number): Promise<Reader> {
    const handle = await local(path, () => fs.open(path, "r"));
    return {
      async *chunks() {
        let position = 0;
        // One read ahead: the next chunk is read while this one is written.
        const readAt = async (at: number) => {
          const buffer = uninitialized(chunkSize);
          const { bytesRead } = await handle.read(buffer, 0, chunkSize, at);
          return buffer.subarray(0, bytesRead);
        };
        let next = readAt(position);
        try {
          for (;;) {
            const chunk = await next.catch((e) => {
              throw localError(path, e);
            });
            if (chunk.length === 0) return;
            position += chunk.length;
            next = readAt(position);
            yield chunk;
          }
        } finally {
          await next.catch(() => undefined);
        }
      },
      async readAt(offset, length) {
        const buffer = uninitialized(length);
        let got = 0;
        while (got < length) {
          const { bytesRead } = await local(
            path,
            () => handle.read(buffer, got, length - got, Number(offset) + got),
          );
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return buffer.subarray(0, got);
      },
      close: () => handle.close(),
    };
  }

  async create(path: string): Promise<Writer> {
    const handle = await local(path, () => fs.open(path, "wx", 0o600));
    return new LocalWriter(handle, path, this.#chunkSize);
  }

  mkdir(path: string, mode: number): Promise<void> {
    return local(path, () => fs.mkdir(path, mode));
  }

  symlink(path: string, target: string): Promise<void> {
    return local(path, () => fs.symlink(target, path));
  }

  rename(from: string, to: string): Promise<void> {
    return local(to, () => fs.rename(from, to));
  }

  async renameNoReplace(from: string, to: string): Promise<boolean> {
    // link(2) fails with EEXIST when `to` exists: an atomic "create only".
    try {
      await fs.link(from, to);
    } catch (e) {
      if (this.isExists(e)) {
        await this.remove(from).catch(() => undefined);
        return false;
      }
      throw localError(to, e);
    }
    await this.remove(from);
    return true;
  }

  remove(path: string): Promise<void> {
    return local(path, () => fs.unlink(path));
  }

  checkWritable(path: string): Promise<void> {
    return local(path, () => fs.access(path, fsConstants.W_OK));
  }

  async setAttrs(
    path: string,
    attrs: { mode?: number | undefined; mtime?: NfsTime; atime?: NfsTime },
    follow: boolean,
  ): Promise<void> {
    await local(path, async () => {
      if (attrs.mode !== undefined && follow) await fs.chmod(path, attrs.mode);
      if (attrs.mtime && attrs.atime) {
        const a = timeToSeconds(attrs.atime);
        const m = timeToSeconds(attrs.mtime);
        await (follow ? fs.utimes(path, a, m) : fs.lutimes(path, a, m));
      }
    });
  }

  isNotFound(error: unknown): boolean {
    const code = (error as { code?: unknown })?.code;
    return code === "ENOENT";
  }

  isExists(error: unknown): boolean {
    return (error as { code?: unknown })?.code === "EEXIST";
  }
}

/**
 * Writes a local file with a few positional writes in flight, so the copy
 * into the page cache overlaps with the network (it runs on another thread).
 */
class LocalWriter implements Writer {
  readonly chunkSize: number;
  readonly #handle: fs.FileHandle;
  readonly #path: string;
  #position = 0;
  readonly #pending = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;

  constructor(handle: fs.FileHandle, path: string, chunkSize: number) {
    this.#handle = handle;
    this.#path = path;
    this.chunkSize = chunkSize;
  }

  #check(): void {
    if (this.#failure) throw localError(this.#path, this.#failure.error);
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#check();
    while (this.#pending.size >= LOCAL_WRITES_IN_FLIGHT) {
      await Promise.race(this.#pending);
      this.#check();
    }
    const position = this.#position;
    this.#position += chunk.length;
    const done: Promise<void> = this.#writeAll(chunk, position).catch((error) => {
      this.#failure ??= { error };
    });
    this.#pending.add(done);
    void done.then(() => this.#pending.delete(done));
  }

  async #writeAll(chunk: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < chunk.length) {
      const { bytesWritten } = await this.#handle.write(
        chunk,
        done,
        chunk.length - done,
        position + done,
      );
      done += bytesWritten;
    }
  }

  async finish(attrs: FinalAttrs): Promise<void> {
    await Promise.all(this.#pending);
    this.#check();
    await local(this.#path, async () => {
      await this.#handle.chmod(attrs.mode);
      await this.#handle.close();
      // By path: Deno's futimes rounds through a float and is off by a microsecond.
      if (attrs.mtime && attrs.atime) {
        await fs.utimes(this.#path, timeToSeconds(attrs.atime), timeToSeconds(attrs.mtime));
      }
    });
  }

  async abort(): Promise<void> {
    this.#failure ??= { error: new CopyError(`${this.#path}: copy aborted`) };
    await Promise.allSettled(this.#pending);
    await this.#handle.close().catch(() => undefined);
  }
}

/** Positional writes in flight to a local file. */
const LOCAL_WRITES_IN_FLIGHT = 4;

/** What an NfsFile has beyond the interface (sizes, and SETATTR of any settable attribute). */
type FileExtras = {
  readonly rsize?: number;
  readonly wsize?: number;
  setattr(attrs: SettableAttributes): Promise<void>;
};

const FILE_SYNC4 = 2;

class NfsSide implements Side {
  readonly kind = "nfs" as const;
  readonly url: NfsUrl;
  readonly client: Nfs4ClientApi;
  readonly #tuning: CopyTuning;
  readonly #onResend: (count: number) => void;

  constructor(
    client: Nfs4ClientApi,
    url: NfsUrl,
    tuning: CopyTuning,
    onResend: (count: number) => void,
  ) {
    this.client = client;
    this.url = url;
    this.#tuning = tuning;
    this.#onResend = onResend;
  }

  display(path: string): string {
    return urlForPath(this.url, path);
  }

  /**
   * An NfsError naming a path of this server, named by its full URL: with
   * two servers in one copy, the message must say which one.
   */
  #named(error: unknown): unknown {
    if (error instanceof NfsError && error.path?.startsWith("/")) {
      return error.withPath(this.display(error.path));
    }
    return error;
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.#named(e);
    }
  }

  join(dir: string, name: string): string {
    return dir === "/" ? `/${name}` : `${dir}/${name}`;
  }

  dirname(path: string): string {
    const at = path.lastIndexOf("/");
    return at <= 0 ? "/" : path.slice(0, at);
  }

  basename(path: string): string {
    return path.slice(path.lastIndexOf("/") + 1);
  }

  #stat(info: FileInfo, path: string): Stat {
    const exportName = info.path.split("/")[1] ?? "";
    return {
      kind: info.kind,
      size: info.size,
      mode: info.mode,
      mtime: timeFromDate(info.mtime),
      atime: timeFromDate(info.atime),
      id: info.fileid !== undefined
        ? `nfs:${this.url.host}:${this.url.port}:${exportName}:${info.fileid}`
        : undefined,
      path,
      linkTarget: info.linkTarget,
    };
  }

  async stat(path: string, follow: boolean): Promise<Stat | undefined> {
    try {
      const info = await this.client.stat(path, { follow });
      return this.#stat(info, info.path);
    } catch (e) {
      if (this.isNotFound(e)) return undefined;
      throw this.#named(e);
    }
  }

  async *list(path: string): AsyncIterable<DirEntry> {
    try {
      for await (const info of this.client.readdir(path)) {
        const entryPath = this.join(path, info.name);
        yield { ...this.#stat(info, entryPath), name: info.name };
      }
    } catch (e) {
      throw this.#named(e);
    }
  }

  readlink(path: string): Promise<string> {
    return this.#call(() => this.client.readlink(path));
  }

  async openReader(path: string, stat: Stat): Promise<Reader> {
    const file = await this.#call(() => this.client.openRead(path));
    const extras = file as unknown as Partial<FileExtras>;
    const rsize = extras.rsize ?? 1024 * 1024;
    const slots = this.client.describeState().slots;
    const depth = Math.max(
      1,
      Math.min(this.#tuning.readDepth, slots !== undefined ? slots - 1 : Infinity),
    );
    const size = file.size ?? stat.size;
    const named = (e: unknown) => this.#named(e);
    return {
      async *chunks() {
        try {
          yield* pipelinedRead(file, size, rsize, depth);
        } catch (e) {
          throw named(e);
        }
      },
      async readAt(offset, length) {
        const parts: Uint8Array[] = [];
        let got = 0;
        while (got < length) {
          const { data, eof } = await file.read(offset + BigInt(got), length - got).catch((e) => {
            throw named(e);
          });
          parts.push(data);
          got += data.length;
          if (eof || data.length === 0) break;
        }
        return parts.length === 1 ? parts[0]! : concat(parts, got);
      },
      close: () => file.close(),
    };
  }

  async create(path: string): Promise<Writer> {
    // EXCLUSIVE4_1 (RFC 8881 §18.16.3) survives a resent OPEN even after a
    // server restart and carries the mode; on 4.0 GUARDED4 (the OPEN's seqid
    // replay covers a resend). The temporary's name is ours alone either way.
    const exclusive = this.client.minorVersion >= 1;
    const file = await this.#call(() =>
      this.client.open(path, {
        access: "write",
        create: exclusive ? "exclusive" : "guarded",
        mode: 0o600,
      })
    );
    return new NfsWriter(file, {
      named: (e) => this.#named(e),
      depth: this.#tuning.writeDepth,
      commitBytes: this.#tuning.commitBytes,
      // The server keeps an exclusive create's verifier in the times until they are set.
      resetTimes: exclusive,
      onResend: this.#onResend,
    });
  }

  mkdir(path: string, mode: number): Promise<void> {
    return this.#call(() => this.client.mkdir(path, mode));
  }

  symlink(path: string, target: string): Promise<void> {
    return this.#call(() => this.client.symlink(path, target));
  }

  rename(from: string, to: string): Promise<void> {
    return this.#call(() =>
      this.client.rename(from, to).catch((e) => {
        throw e instanceof NfsError && e.path === from ? e.withPath(to) : e;
      })
    );
  }

  async renameNoReplace(from: string, to: string, writer?: Writer): Promise<boolean> {
    // LINK fails with NFS4ERR_EXIST when the name is taken (RFC 7530 §16.9):
    // the final name is created only if absent, as GUARDED4 would.
    const state = writer instanceof NfsWriter ? writer.state : undefined;
    if (state?.parentFh && this.client instanceof Nfs4Client) {
      const dirFh = state.parentFh;
      const manager = this.client.manager;
      try {
        await manager.run(() =>
          [putfh(state.fh), savefh(), putfh(dirFh), link(this.basename(to))] as const
        );
      } catch (e) {
        if (this.isExists(e)) {
          await this.remove(from).catch(() => undefined);
          return false;
        }
        if (!(e instanceof NfsError && e.status === S.NFS4ERR_NOTSUPP)) {
          throw e instanceof NfsError ? e.withPath(this.display(to)) : e;
        }
        // No hard links here: check, then rename (a narrow race remains).
        return await this.#checkThenRename(from, to);
      }
      await this.remove(from);
      return true;
    }
    return await this.#checkThenRename(from, to);
  }

  async #checkThenRename(from: string, to: string): Promise<boolean> {
    if (await this.stat(to, false)) {
      await this.remove(from).catch(() => undefined);
      return false;
    }
    await this.rename(from, to);
    return true;
  }

  remove(path: string): Promise<void> {
    return this.#call(() => this.client.remove(path));
  }

  async checkWritable(path: string): Promise<void> {
    const file = await this.#call(() => this.client.open(path, { access: "write" }));
    await file.close();
  }

  async setAttrs(
    path: string,
    attrs: { mode?: number | undefined; mtime?: NfsTime; atime?: NfsTime },
    follow: boolean,
  ): Promise<void> {
    await this.#call(() =>
      this.client.setattrPath(path, {
        ...(attrs.mode !== undefined ? { mode: attrs.mode } : {}),
        ...(attrs.mtime ? { timeModifySet: attrs.mtime } : {}),
        ...(attrs.atime ? { timeAccessSet: attrs.atime } : {}),
      }, { follow })
    );
  }

  isNotFound(error: unknown): boolean {
    return error instanceof NfsError && error.status === S.NFS4ERR_NOENT;
  }

  isExists(error: unknown): boolean {
    return error instanceof NfsError && error.status === S.NFS4ERR_EXIST;
  }
}

// ---------------------------------------------------------- NFS reading

/**
 * Streams `file` from the start with up to `depth` READs of `rsize` in
 * flight, in order. Past the known size one READ at a time confirms EOF; a
 * short READ (less than asked, not at EOF) drops the READs issued past it
 * and continues where its data ended. Memory: at most `depth` replies.
 */
export async function* pipelinedRead(
  file: Pick<OpenFile, "read">,
  size: bigint | undefined,
  rsize: number,
  depth: number,
): AsyncGenerator<Uint8Array> {
  let next = 0n;
  const inflight: {
    offset: bigint;
    count: number;
    result: Promise<{ data: Uint8Array; eof: boolean }>;
  }[] = [];
  const issue = () => {
    const result = file.read(next, rsize);
    result.catch(() => undefined); // observed when awaited
    inflight.push({ offset: next, count: rsize, result });
    next += BigInt(rsize);
  };
  try {
    for (;;) {
      while (
        inflight.length < depth && (size === undefined || next < size || inflight.length === 0)
      ) {
        issue();
      }
      const head = inflight.shift()!;
      const { data, eof } = await head.result;
      if (data.length > 0) yield data;
      if (eof || data.length === 0) return;
      if (data.length < head.count) {
        await Promise.allSettled(inflight.map((i) => i.result));
        inflight.length = 0;
        next = head.offset + BigInt(data.length);
      }
    }
  } finally {
    await Promise.allSettled(inflight.map((i) => i.result));
  }
}

// ---------------------------------------------------------- NFS writing

/**
 * One WRITE. Its data is kept until a COMMIT with the same verifier, unless
 * the source can be read again.
 */
interface Piece {
  readonly offset: bigint;
  readonly length: number;
  data: Uint8Array | undefined;
  verifier: string | undefined;
  /** FILE_SYNC4 given: on disk already, no COMMIT needed. */
  stable: boolean;
}

/** WRITEs between two COMMITs. */
interface Window {
  readonly pieces: Piece[];
  bytes: number;
  writes: Promise<void>[];
}

/** What {@linkcode NfsWriter} uses of a file opened for writing. */
export type WriteTarget = Pick<WritableFile, "path" | "write" | "commit" | "setattr" | "close">;

export interface NfsWriterOptions {
  /** WRITEs in flight. */
  readonly depth: number;
  /** Bytes per commit window. */
  readonly commitBytes: number;
  /** Set atime and mtime to the server's time at the end when not given. */
  readonly resetTimes?: boolean;
  /** Called with the number of WRITEs sent again after a verifier change. */
  readonly onResend?: (count: number) => void;
  /** COMMIT rounds for one window before giving up (a server restarting again and again). */
  readonly maxCommitRounds?: number;
  /** Rewrites a failure before it is thrown (to name the file by its URL). */
  readonly named?: (error: unknown) => unknown;
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = uninitialized(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/**
 * Writes a file opened for writing: UNSTABLE4 WRITEs of `wsize`, `depth` in
 * flight, COMMIT every `commitBytes`, verifiers checked and lost data sent
 * again (RFC 7530 §16.36.4 and §16.3.4: a changed verifier means the server
 * may have lost uncommitted data).
 */
export class NfsWriter implements Writer {
  readonly chunkSize: number;
  readonly #file: WriteTarget;
  readonly #options: NfsWriterOptions;
  #offset = 0n;
  #stage: Uint8Array | undefined;
  #staged = 0;
  readonly #inflight = new Set<Promise<void>>();
  #window: Window = { pieces: [], bytes: 0, writes: [] };
  #committing: Promise<void> = Promise.resolve();
  #failure: { error: unknown } | undefined;
  #reread: Reread | undefined;
  /** Counters, for tests and the trace. */
  readonly stats = { writes: 0, commits: 0, resent: 0 };

  constructor(file: WriteTarget, options: NfsWriterOptions) {
    this.#file = file;
    this.#options = options;
    this.chunkSize = (file as unknown as Partial<FileExtras>).wsize ?? 1024 * 1024;
  }

  /** The open state, when the file is an {@linkcode NfsFile}. */
  get state(): NfsFile["state"] | undefined {
    return this.#file instanceof NfsFile ? this.#file.state : undefined;
  }

  useSource(reread: Reread): void {
    this.#reread = reread;
  }

  #check(): void {
    if (this.#failure) {
      const { error } = this.#failure;
      throw this.#options.named ? this.#options.named(error) : error;
    }
  }

  async write(chunk: Uint8Array): Promise<void> {
    const size = this.chunkSize;
    let at = 0;
    while (at < chunk.length) {
      if (this.#staged === 0 && chunk.length - at >= size) {
        await this.#send(chunk.subarray(at, at + size));
        at += size;
        continue;
      }
      const stage = this.#stage ??= uninitialized(size);
      const take = Math.min(size - this.#staged, chunk.length - at);
      stage.set(chunk.subarray(at, at + take), this.#staged);
      this.#staged += take;
      at += take;
      if (this.#staged === size) {
        this.#stage = undefined;
        this.#staged = 0;
        await this.#send(stage);
      }
    }
  }

  async #waitForRoom(): Promise<void> {
    this.#check();
    while (this.#inflight.size >= this.#options.depth) {
      await Promise.race(this.#inflight);
      this.#check();
    }
  }

  async #send(data: Uint8Array): Promise<void> {
    await this.#waitForRoom();
    const piece: Piece = {
      offset: this.#offset,
      length: data.length,
      data,
      verifier: undefined,
      stable: false,
    };
    this.#offset += BigInt(data.length);
    const window = this.#window;
    window.pieces.push(piece);
    window.bytes += data.length;
    window.writes.push(this.#writePiece(piece, data));
    if (window.bytes >= this.#options.commitBytes) await this.#rotate();
  }

  #writePiece(piece: Piece, data: Uint8Array): Promise<void> {
    this.stats.writes++;
    const done: Promise<void> = this.#file.write(piece.offset, data, "unstable").then(
      (result) => {
        piece.verifier = hex(result.verifier);
        piece.stable = result.committed === FILE_SYNC4;
        // What the source can give again need not be kept.
        if (this.#reread) piece.data = undefined;
      },
      (error) => {
        this.#failure ??= { error };
      },
    );
    this.#inflight.add(done);
    void done.then(() => this.#inflight.delete(done));
    return done;
  }

  /** Starts committing the window being filled; waits for the one before (bounded memory). */
  async #rotate(): Promise<void> {
    const window = this.#window;
    this.#window = { pieces: [], bytes: 0, writes: [] };
    await this.#committing;
    this.#check();
    const committing = this.#commitWindow(window).catch((error) => {
      this.#failure ??= { error };
    });
    this.#committing = committing;
  }

  async #commitWindow(window: Window): Promise<void> {
    const maxRounds = this.#options.maxCommitRounds ?? 5;
    for (let round = 1;; round++) {
      await Promise.all(window.writes);
      this.#check();
      const unstable = window.pieces.filter((p) => !p.stable);
      if (unstable.length === 0) return;
      this.stats.commits++;
      const verifier = hex(await this.#file.commit());
      const lost = unstable.filter((p) => p.verifier !== verifier);
      if (lost.length === 0) return;
      if (round >= maxRounds) {
        throw new CopyError(
          `${this.#file.path}: the server's write verifier kept changing; ${lost.length} WRITEs not committed`,
        );
      }
      // The server restarted between these WRITEs and the COMMIT: send them again.
      this.stats.resent += lost.length;
      this.#options.onResend?.(lost.length);
      window.writes = [];
      for (const piece of lost) {
        const data = piece.data ?? await this.#reread!(piece.offset, piece.length);
        if (data.length !== piece.length) {
          throw new CopyError(
            `${this.#file.path}: the source changed while it was copied (resend after a server restart)`,
          );
        }
        await this.#waitForRoom();
        window.writes.push(this.#writePiece(piece, data));
      }
    }
  }

  async finish(attrs: FinalAttrs, size: bigint): Promise<void> {
    if (this.#staged > 0 && this.#stage) {
      const last = this.#stage.subarray(0, this.#staged);
      this.#stage = undefined;
      this.#staged = 0;
      await this.#send(last);
    }
    await this.#rotate();
    await this.#committing;
    this.#check();
    const setTime = (t: NfsTime | undefined): SetTime | undefined =>
      t ?? (this.#options.resetTimes ? "server" : undefined);
    const mtime = setTime(attrs.mtime);
    const atime = setTime(attrs.atime);
    const settable: SettableAttributes = {
      size,
      mode: attrs.mode,
      ...(mtime !== undefined ? { timeModifySet: mtime } : {}),
      ...(atime !== undefined ? { timeAccessSet: atime } : {}),
    };
    try {
      // NfsFile.setattr takes any settable attribute; the interface names size and mode.
      await (this.#file as unknown as FileExtras).setattr(settable);
      await this.#file.close();
    } catch (e) {
      throw this.#options.named ? this.#options.named(e) : e;
    }
  }

  async abort(): Promise<void> {
    this.#failure ??= { error: new CopyError(`${this.#file.path}: copy aborted`) };
    this.#stage = undefined;
    this.#window = { pieces: [], bytes: 0, writes: [] };
    await this.#file.close().catch(() => undefined);
  }
}

// ----------------------------------------------------------- the engine

/** A name no one else uses, in the same directory: `.NAME.nfs4-XXXXXX`. */
export function temporaryName(name: string): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const random = crypto.getRandomValues(new Uint8Array(6));
  const suffix = Array.from(random, (b) => alphabet[b % alphabet.length]).join("");
  // Keep the whole name within NAME_MAX (255 bytes).
  let base = name;
  const encoder = new TextEncoder();
  while (encoder.encode(base).length > 255 - 13 && base.length > 0) base = base.slice(0, -1);
  return `.${base}.nfs4-${suffix}`;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new CopyError("copy interrupted");
}

/** One copy run: options, sides, counters. */
class CopyRun {
  readonly options: CopyOptions;
  readonly tuning: CopyTuning;
  readonly summary: CopySummary = {
    files: 0,
    directories: 0,
    symlinks: 0,
    bytes: 0,
    skipped: 0,
    errors: 0,
    seconds: 0,
    resentWrites: 0,
  };
  readonly local: LocalSide;
  bytesTotal: number | undefined = 0;
  filesTotal = 0;
  filesDone = 0;
  current: string | undefined;
  readonly umask: number;

  constructor(options: CopyOptions) {
    this.options = options;
    this.tuning = { ...DEFAULT_TUNING, ...options.tuning };
    this.local = new LocalSide(this.tuning);
    this.umask = options.umask ?? 0o022;
  }

  get preserve(): boolean {
    return this.options.preserve === true;
  }

  checkAbort(): void {
    const signal = this.options.signal;
    if (signal?.aborted) throw abortReason(signal);
  }

  progress(): void {
    this.options.onProgress?.({
      bytesDone: this.summary.bytes,
      bytesTotal: this.bytesTotal,
      filesDone: this.filesDone,
      filesTotal: this.filesTotal,
      current: this.current,
    });
  }

  /** Reports a failure and goes on; once aborted, stops instead. */
  fail(error: unknown, side: Side | undefined): void {
    const signal = this.options.signal;
    if (signal?.aborted) throw abortReason(signal);
    this.summary.errors++;
    this.options.onError(error, error instanceof CopyError ? error.url : side?.url);
  }

  async side(location: Location): Promise<{ side: Side; path: string }> {
    if (location.kind === "local") return { side: this.local, path: location.path };
    if (location.kind === "nfs") {
      const client = await this.options.connect(location.url);
      const side = new NfsSide(client, location.url, this.tuning, (count) => {
        this.summary.resentWrites += count;
        if (client instanceof Nfs4Client) {
          client.tracer.emit("retry", "WRITE resend", `${count} WRITEs after a verifier change`);
        }
      });
      return { side, path: location.url.path };
    }
    throw new Error("stdin/stdout has no file system");
  }

  /** Waits for `promise`, giving up as soon as the copy is aborted. */
  async abortable<T>(promise: Promise<T>): Promise<T> {
    const signal = this.options.signal;
    if (!signal) return await promise;
    this.checkAbort();
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(abortReason(signal));
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([promise, aborted]);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Copies `chunks` into `writer`, counting bytes. */
  async pump(chunks: AsyncIterable<Uint8Array>, writer: Writer): Promise<bigint> {
    let total = 0n;
    const iterator = chunks[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await this.abortable(iterator.next());
        if (next.done) break;
        const chunk = next.value;
        await this.abortable(writer.write(chunk));
        total += BigInt(chunk.length);
        this.summary.bytes += chunk.length;
        this.progress();
      }
    } catch (e) {
      // Stop the source (its READs in flight are left to settle on their own).
      void iterator.return?.().catch(() => undefined);
      throw e;
    }
    return total;
  }
}

/** The attributes a new copy of a file gets. */
function finalAttrs(run: CopyRun, source: Stat, existing: Stat | undefined): FinalAttrs {
  const sourceMode = source.mode ?? 0o644;
  if (run.preserve) {
    return {
      mode: sourceMode,
      ...(source.mtime && source.atime ? { mtime: source.mtime, atime: source.atime } : {}),
    };
  }
  // Like cp: an existing destination keeps its mode; a new one gets the
  // source's permission bits less the umask.
  if (existing?.mode !== undefined) return { mode: existing.mode };
  return { mode: sourceMode & 0o777 & ~run.umask };
}

interface Endpoint {
  readonly side: Side;
  readonly path: string;
}

/** Where the data of one file comes from. */
type FileSource =
  | { readonly kind: "side"; readonly at: Endpoint; readonly stat: Stat }
  | { readonly kind: "stdin"; readonly chunks: AsyncIterable<Uint8Array> };

const STDIN_STAT: Stat = {
  kind: "file",
  size: undefined,
  mode: 0o666,
  mtime: undefined,
  atime: undefined,
  id: undefined,
  path: "-",
};

/**
 * Copies one regular file to `dest` on a side: checks the destination like
 * cp, writes a temporary next to it, renames it into place. Returns false
 * when `noClobber` left an existing file alone.
 */
async function copyFile(run: CopyRun, source: FileSource, dest: Endpoint): Promise<boolean> {
  const { side } = dest;
  let target = dest.path;
  let existing = await side.stat(target, false);
  if (existing?.kind === "symlink") {
    // cp writes through a symlink at the destination.
    const followed = await side.stat(target, true);
    if (!followed) {
      throw new CopyError(`not writing through dangling symlink '${side.display(target)}'`, {
        url: side.url,
      });
    }
    existing = followed;
    target = followed.path;
  }
  const sourceStat = source.kind === "side" ? source.stat : STDIN_STAT;
  if (existing) {
    if (existing.kind === "directory") {
      throw new CopyError(
        `cannot overwrite directory '${side.display(target)}' with non-directory`,
        { url: side.url },
      );
    }
    if (source.kind === "side" && existing.id !== undefined && existing.id === sourceStat.id) {
      throw new CopyError(
        `'${source.at.side.display(source.at.path)}' and '${
          side.display(target)
        }' are the same file`,
        { url: side.url },
      );
    }
    if (run.options.noClobber) return false;
    try {
      await side.checkWritable(target);
    } catch (e) {
      if (!run.options.force || side.isNotFound(e)) throw e;
      // -f: remove what cannot be opened, then copy as if it never was.
      await side.remove(target);
      existing = undefined;
    }
  }
  const attrs = finalAttrs(run, sourceStat, existing);
  // The source first: one that cannot be read costs no temporary.
  let reader: Reader | undefined;
  let chunks: AsyncIterable<Uint8Array>;
  if (source.kind === "side") {
    reader = await run.abortable(
      source.at.side.openReader(source.at.path, source.stat, run.tuning.chunkSize),
    );
    chunks = reader.chunks();
  } else {
    chunks = source.chunks;
  }
  const temp = side.join(side.dirname(target), temporaryName(side.basename(target)));
  const creating = side.create(temp);
  creating.catch(() => undefined); // a failure is seen below, or does not matter after an abort
  let placed = false;
  try {
    const writer = await run.abortable(creating).catch((e) => {
      throw renamePath(e, side, temp, target);
    });
    const open = reader;
    if (open) writer.useSource?.((offset, length) => open.readAt(offset, length));
    const size = await run.pump(chunks, writer);
    await run.abortable(writer.finish(attrs, size));
    if (run.options.noClobber) {
      placed = await run.abortable(side.renameNoReplace(temp, target, writer));
      return placed;
    }
    await run.abortable(side.rename(temp, target));
    placed = true;
    return true;
  } catch (e) {
    throw renamePath(e, side, temp, target);
  } finally {
    if (!placed) {
      // Also when an abort came while the temporary was being created: it
      // goes first, it is what must not stay behind.
      await quietly(creating.then(async (writer) => {
        await quietly(side.remove(temp));
        await quietly(writer.abort());
      }));
    }
    if (reader) await quietly(reader.close());
  }
}

/** How long cleanup after a failure may wait for a server (which may be gone). */
const CLEANUP_TIMEOUT_MS = 5000;

/**
 * Waits for `promise` at most `CLEANUP_TIMEOUT_MS`, ignoring its failure:
 * cleanup after a failure must not hold the command up when a server is gone.
 */
async function quietly(promise: Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CLEANUP_TIMEOUT_MS);
  });
  try {
    await Promise.race([promise.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A failure about the temporary is reported as being about the destination. */
function renamePath(error: unknown, side: Side, temp: string, target: string): unknown {
  if (error instanceof NfsError && error.path !== undefined) {
    if (error.path === temp) return error.withPath(target);
    if (error.path === side.display(temp)) return error.withPath(side.display(target));
  }
  if (error instanceof LocalFileError && error.path === temp) {
    return new LocalFileError(target, error.cause);
  }
  return error;
}

/** Recreates a symlink at `dest` (through a temporary name, so it appears at once). */
async function copySymlink(run: CopyRun, target: string, dest: Endpoint): Promise<boolean> {
  const { side } = dest;
  const existing = await side.stat(dest.path, false);
  if (existing) {
    if (existing.kind === "directory") {
      throw new CopyError(
        `cannot overwrite directory '${side.display(dest.path)}' with non-directory`,
        { url: side.url },
      );
    }
    if (run.options.noClobber) return false;
  }
  const temp = side.join(side.dirname(dest.path), temporaryName(side.basename(dest.path)));
  try {
    await side.symlink(temp, target);
  } catch (e) {
    throw renamePath(e, side, temp, dest.path);
  }
  try {
    if (run.options.noClobber) return await side.renameNoReplace(temp, dest.path);
    await side.rename(temp, dest.path);
    return true;
  } catch (e) {
    await quietly(side.remove(temp));
    throw renamePath(e, side, temp, dest.path);
  }
}

/** One step of a tree copy, in the order they are done (directories first). */
interface PlanItem {
  readonly source: string;
  readonly dest: string;
  readonly stat: Stat;
}

/** Lists the tree under `root` (pre-order, names sorted); unreadable directories are reported. */
async function planTree(
  run: CopyRun,
  side: Side,
  root: string,
  rootStat: Stat,
  dest: string,
  destSide: Side,
): Promise<PlanItem[]> {
  const items: PlanItem[] = [{ source: root, dest, stat: rootStat }];
  const visit = async (dir: string, destDir: string): Promise<void> => {
    const entries: DirEntry[] = [];
    try {
      for await (const entry of side.list(dir)) entries.push(entry);
    } catch (e) {
      run.fail(e, side);
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      run.checkAbort();
      const item = {
        source: side.join(dir, entry.name),
        dest: destSide.join(destDir, entry.name),
        stat: entry,
      };
      items.push(item);
      if (entry.kind === "directory") await visit(item.source, item.dest);
    }
  };
  await visit(root, dest);
  return items;
}

/**
 * Runs tasks with a bounded total weight in flight: small files share the
 * pool, a large one takes all of it (memory stays bounded). A task reports
 * its own failures; what it throws (an abort) is rethrown by `drain`.
 */
class TaskPool {
  readonly #limit: number;
  readonly #running = new Set<Promise<void>>();
  #load = 0;
  #failure: { error: unknown } | undefined;

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  /** Starts `task` once there is room for `weight` (at most the limit). */
  async run(weight: number, task: () => Promise<void>): Promise<void> {
    const w = Math.min(this.#limit, Math.max(1, weight));
    while (this.#running.size > 0 && this.#load + w > this.#limit) {
      await Promise.race(this.#running);
    }
    if (this.#failure) throw this.#failure.error;
    this.#load += w;
    const done: Promise<void> = task().catch((error) => {
      this.#failure ??= { error };
    });
    this.#running.add(done);
    void done.then(() => {
      this.#running.delete(done);
      this.#load -= w;
    });
  }

  /** Waits for every task; rethrows what one threw. */
  async drain(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running);
    if (this.#failure) throw this.#failure.error;
  }
}

/** A directory whose mode and times are set once its contents are in place. */
interface DirFixup {
  readonly path: string;
  readonly mode: number | undefined;
  readonly mtime?: NfsTime | undefined;
  readonly atime?: NfsTime | undefined;
}

async function copyTree(
  run: CopyRun,
  from: Endpoint,
  rootStat: Stat,
  to: Endpoint,
): Promise<void> {
  const items = await planTree(run, from.side, from.path, rootStat, to.path, to.side);
  for (const item of items) {
    if (item.stat.kind === "file") {
      run.filesTotal++;
      if (run.bytesTotal !== undefined) run.bytesTotal += Number(item.stat.size ?? 0n);
    }
  }
  run.progress();
  const failedDirs: string[] = [];
  const fixups: DirFixup[] = [];
  const under = (path: string) =>
    failedDirs.some((dir) => path.startsWith(dir.endsWith("/") ? dir : dir + "/"));
  const report = (e: unknown) => run.fail(e, from.side.kind === "nfs" ? from.side : to.side);
  // Directories are made in order, before anything goes into them; files and
  // symlinks are copied a few at a time.
  const pool = new TaskPool(run.tuning.parallelFiles);
  let warmedUp = false;
  try {
    for (const item of items) {
      run.checkAbort();
      if (under(item.source)) continue;
      const src: Endpoint = { side: from.side, path: item.source };
      const dst: Endpoint = { side: to.side, path: item.dest };
      switch (item.stat.kind) {
        case "directory":
          try {
            const fixup = await makeDirectory(run, item.stat, dst);
            if (fixup) fixups.push(fixup);
          } catch (e) {
            failedDirs.push(item.source);
            report(e);
          }
          break;
        case "file": {
          const size = Number(item.stat.size ?? 0n);
          // The first file goes alone: on 4.0 its OPEN confirms the open
          // owner, and OPENs racing a fresh owner's OPEN_CONFIRM fail with
          // NFS4ERR_BAD_STATEID (the state layer does not hold them back).
          const weight = size <= run.tuning.smallFileBytes && warmedUp ? 1 : Infinity;
          warmedUp = true;
          await pool.run(weight, async () => {
            run.current = from.side.display(item.source);
            run.progress();
            try {
              if (await copyFile(run, { kind: "side", at: src, stat: item.stat }, dst)) {
                run.summary.files++;
              } else {
                run.summary.skipped++;
              }
            } catch (e) {
              report(e);
            } finally {
              run.filesDone++;
            }
          });
          break;
        }
        case "symlink":
          await pool.run(1, async () => {
            try {
              await copyTreeSymlink(run, from.side, item, dst);
            } catch (e) {
              report(e);
            }
          });
          break;
        default:
          report(
            new CopyError(
              `${
                from.side.display(item.source)
              }: not a regular file, directory or symlink (${item.stat.kind}); skipped`,
              { url: from.side.url },
            ),
          );
      }
    }
  } finally {
    // Even after an abort: each copy in flight removes its temporary.
    await pool.drain().catch(() => undefined);
  }
  await pool.drain();
  // Modes and times last, deepest first: adding entries changes a directory's mtime.
  for (const fixup of fixups.reverse()) {
    run.checkAbort();
    try {
      await to.side.setAttrs(fixup.path, {
        mode: fixup.mode,
        ...(fixup.mtime && fixup.atime ? { mtime: fixup.mtime, atime: fixup.atime } : {}),
      }, true);
    } catch (e) {
      run.fail(e, to.side);
    }
  }
}

/** A symlink of a tree: recreated, with its own times under -p when the target side can. */
async function copyTreeSymlink(
  run: CopyRun,
  side: Side,
  item: PlanItem,
  dst: Endpoint,
): Promise<void> {
  const target = item.stat.linkTarget ?? await side.readlink(item.source);
  if (!await copySymlink(run, target, dst)) {
    run.summary.skipped++;
    return;
  }
  run.summary.symlinks++;
  if (run.preserve && item.stat.mtime && item.stat.atime) {
    // Times of the link itself; not every server or file system can.
    await dst.side.setAttrs(dst.path, {
      mtime: item.stat.mtime,
      atime: item.stat.atime,
    }, false).catch(() => undefined);
  }
}

/** Creates (or reuses) a destination directory; what to set on it at the end. */
async function makeDirectory(
  run: CopyRun,
  source: Stat,
  dest: Endpoint,
): Promise<DirFixup | undefined> {
  const { side } = dest;
  const existing = await side.stat(dest.path, true);
  const sourceMode = source.mode ?? 0o755;
  const mode = run.preserve ? sourceMode : sourceMode & 0o777 & ~run.umask;
  const times = run.preserve && source.mtime && source.atime
    ? { mtime: source.mtime, atime: source.atime }
    : {};
  if (existing) {
    if (existing.kind !== "directory") {
      throw new CopyError(
        `cannot overwrite non-directory '${side.display(dest.path)}' with directory`,
        { url: side.url },
      );
    }
    // An existing directory is merged into; only -p changes it.
    return run.preserve ? { path: dest.path, mode, ...times } : undefined;
  }
  // Writable by us while its contents are copied; the real mode comes last.
  await side.mkdir(dest.path, mode | 0o700);
  run.summary.directories++;
  const needsFix = run.preserve || (mode & 0o700) !== 0o700 || side.kind === "local";
  return needsFix ? { path: dest.path, mode, ...times } : undefined;
}

/** Whether `inner` is `outer` or below it on the same side. */
function isWithin(outer: Endpoint, inner: Endpoint): boolean {
  if (outer.side.kind !== inner.side.kind) return false;
  if (outer.side.url && inner.side.url) {
    const a = outer.side.url;
    const b = inner.side.url;
    if (a.host !== b.host || a.port !== b.port) return false;
  }
  const base = outer.path.endsWith("/") ? outer.path : outer.path + "/";
  return inner.path === outer.path || inner.path.startsWith(base);
}

/** `path` with symlinks resolved as far as it exists (local paths made absolute). */
async function canonical(side: Side, path: string): Promise<string> {
  if (side.kind !== "local") return path;
  try {
    return await fs.realpath(path);
  } catch {
    const parent = await fs.realpath(nodePath.dirname(path)).catch(() =>
      nodePath.resolve(nodePath.dirname(path))
    );
    return nodePath.join(parent, nodePath.basename(path));
  }
}

/**
 * Copies `sources` to `dest` as `cp [-r] [-p] [-f] [-n] SOURCE... DEST` does:
 * into `dest` when it is an existing directory (several sources need one),
 * else to `dest` itself. Failures of single files or directories go to
 * `onError` and the rest is still copied; a failure that makes the whole
 * command meaningless (several sources and no directory) is thrown.
 */
export async function copy(
  sources: readonly Location[],
  dest: Location,
  options: CopyOptions,
): Promise<CopySummary> {
  const started = performance.now();
  const run = new CopyRun(options);
  try {
    await copyAll(run, sources, dest);
  } finally {
    run.summary.seconds = (performance.now() - started) / 1000;
  }
  return run.summary;
}

async function copyAll(run: CopyRun, sources: readonly Location[], dest: Location): Promise<void> {
  if (dest.kind === "stdio") {
    if (sources.length !== 1) throw new CopyError("target '-' is not a directory");
    await copyToStdout(run, sources[0]!);
    return;
  }
  const to = await run.side(dest);
  const destStat = await to.side.stat(to.path, true);
  const intoDirectory = destStat?.kind === "directory";
  if (sources.length > 1 && !intoDirectory) {
    throw new CopyError(
      destStat
        ? `target '${dest.text}' is not a directory`
        : `target '${dest.text}': No such file or directory`,
      { url: to.side.url },
    );
  }
  // Totals for the progress display: the sizes of the operands (trees add theirs).
  run.bytesTotal = 0;
  for (const source of sources) {
    run.checkAbort();
    let side: Side | undefined;
    try {
      if (source.kind === "stdio") {
        side = to.side;
        if (intoDirectory) {
          throw new CopyError(
            `cannot copy stdin into directory '${dest.text}': name the destination file`,
            { url: to.side.url },
          );
        }
        run.bytesTotal = undefined;
        run.filesTotal++;
        run.current = "-";
        const ok = await copyFile(
          run,
          { kind: "stdin", chunks: run.options.stdin ?? emptyChunks() },
          to,
        );
        run.filesDone++;
        if (ok) run.summary.files++;
        else run.summary.skipped++;
        continue;
      }
      const from = await run.side(source);
      side = from.side;
      // Plain cp follows a symlink operand; -r copies it as a symlink.
      const stat = await from.side.stat(from.path, !run.options.recursive);
      if (!stat) {
        throw notFound(from.side, from.path);
      }
      let target = to.path;
      if (destStat && intoDirectory) {
        const name = from.side.basename(from.path.replace(/\/+$/, ""));
        if (name === "" || name === "." || name === "..") {
          throw new CopyError(`cannot copy '${source.text}' into a directory: it has no name`, {
            url: from.side.url,
          });
        }
        target = to.side.join(destStat.path, name);
      }
      const destination: Endpoint = { side: to.side, path: target };
      side = to.side;
      if (stat.kind === "directory") {
        side = from.side;
        if (!run.options.recursive) {
          throw new CopyError(`-r not specified; omitting directory '${source.text}'`, {
            url: from.side.url,
          });
        }
        const fromAbs = { side: from.side, path: await canonical(from.side, stat.path) };
        const toAbs = { side: to.side, path: await canonical(to.side, target) };
        if (isWithin(fromAbs, toAbs)) {
          throw new CopyError(
            `cannot copy a directory, '${source.text}', into itself, '${to.side.display(target)}'`,
            { url: from.side.url },
          );
        }
        await copyTree(run, from, stat, destination);
        continue;
      }
      if (stat.kind === "symlink") {
        const link = stat.linkTarget ?? await from.side.readlink(from.path);
        if (await copySymlink(run, link, destination)) run.summary.symlinks++;
        else run.summary.skipped++;
        continue;
      }
      if (stat.kind !== "file") {
        throw new CopyError(
          `${source.text}: not a regular file, directory or symlink (${stat.kind})`,
          { url: from.side.url },
        );
      }
      run.filesTotal++;
      run.bytesTotal = run.bytesTotal === undefined
        ? undefined
        : run.bytesTotal + Number(stat.size ?? 0n);
      run.current = source.text;
      run.progress();
      const copied = await copyFile(run, { kind: "side", at: from, stat }, destination);
      run.filesDone++;
      if (copied) run.summary.files++;
      else run.summary.skipped++;
    } catch (e) {
      run.fail(e, side);
    }
  }
}

function notFound(side: Side, path: string): Error {
  if (side.kind === "nfs") {
    return new NfsError(S.NFS4ERR_NOENT, "LOOKUP", { path: side.display(path) });
  }
  return new LocalFileError(path, Object.assign(new Error("not found"), { code: "ENOENT" }));
}

async function* emptyChunks(): AsyncIterable<Uint8Array> {}

async function copyToStdout(run: CopyRun, source: Location): Promise<void> {
  const stdout = run.options.stdout;
  if (!stdout) throw new CopyError("no stdout to copy to");
  const writer: Writer = {
    chunkSize: run.tuning.chunkSize,
    write: (chunk) => stdout.write(chunk),
    finish: () => Promise.resolve(),
    abort: () => Promise.resolve(),
  };
  if (source.kind === "stdio") {
    await run.pump(run.options.stdin ?? emptyChunks(), writer);
    run.summary.files++;
    return;
  }
  const from = await run.side(source);
  try {
    const stat = await from.side.stat(from.path, true);
    if (!stat) throw notFound(from.side, from.path);
    if (stat.kind === "directory") {
      throw new CopyError(`${source.text}: cannot copy a directory to stdout`, {
        url: from.side.url,
      });
    }
    run.filesTotal = 1;
    run.bytesTotal = Number(stat.size ?? 0n);
    run.current = source.text;
    const reader = await from.side.openReader(from.path, stat, run.tuning.chunkSize);
    try {
      await run.pump(reader.chunks(), writer);
    } finally {
      await reader.close().catch(() => undefined);
    }
    run.filesDone = 1;
    run.summary.files++;
  } catch (e) {
    if ((e as Error)?.name === "BrokenPipeError") throw e;
    run.fail(e, from.side);
  }
}
