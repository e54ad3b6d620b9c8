/**
 * The local file system as a copy `Side` (node:fs).
 * @module
 */

import * as fs from "node:fs/promises";
import * as nodePath from "node:path";
import { type BigIntStats, constants as fsConstants } from "node:fs";
import type { NfsTime } from "../../nfs4/types.ts";
import type { FileKind } from "../types.ts";
import { CopyError, type CopyTuning, LocalFileError } from "./options.ts";
import {
  type DirEntry,
  type FinalAttrs,
  type Reader,
  type Side,
  type Stat,
  timeFromNs,
  timeToSeconds,
  uninitialized,
  type Writer,
} from "./side.ts";

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

export class LocalSide implements Side {
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
