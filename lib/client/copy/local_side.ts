/**
 * The local file system as a copy `Side`: metadata through local_fs.ts
 * (exact names, times and owners); data through libc on the main thread
 * where a regular file is on a local file system, else through node:fs
 * file handles and the thread pool.
 * @module
 */

import type * as fs from "node:fs/promises";
import { open as openHandle } from "node:fs/promises";
import { constants as fsConstants, fstatSync, readSync, statfsSync, writeSync } from "node:fs";
import type { NfsTime } from "../../nfs4/types.ts";
import { CopyError, type CopyTuning, LocalFileError } from "./options.ts";
import {
  type DirEntry,
  type FinalAttrs,
  type Reader,
  type Side,
  type SpecialKind,
  type Stat,
  uninitialized,
  type Writer,
} from "./side.ts";
import { localFs, sync } from "./local_fs.ts";
import { basenamePath, dirnamePath, joinPath } from "./local_path.ts";
import { localOwner, type OwnerKind } from "./owners.ts";
import { recordBuffers } from "../../rpc/socket_buffers.ts";
import { type Libc, libc, O } from "../../os/libc.ts";

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

/** A local file open for reading: positional reads, its state, and its close. */
interface ReadableFile {
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** What says whether it changed, from its descriptor (fstat). */
  state(): Promise<FileState>;
  close(): Promise<void>;
}

/**
 * What tells a file changed, as GNU tar compares it after reading one: its
 * size, and its mtime and ctime (to the nanosecond where the runtime gives
 * them). Only a regular file has a size to compare.
 */
interface FileState {
  readonly regular: boolean;
  readonly size: bigint;
  readonly mtime: string;
  readonly ctime: string;
}

/** Whether the file changed between `before` (at open) and `after` (read to its end). */
function changedWhileRead(before: FileState, after: FileState): boolean {
  if (!before.regular || !after.regular) return false;
  // Its size then and now, not the bytes read: a file of /proc or /sys says
  // 0 or 4096 whatever it holds, and is read to its end all the same.
  return after.size !== before.size || after.mtime !== before.mtime ||
    after.ctime !== before.ctime;
}

const timeText = (time: { seconds: bigint; nseconds: number }) =>
  `${time.seconds}.${time.nseconds}`;

/**
 * Opens `path` (a regular file when it was listed) to read its data. On a
 * local file system (see {@linkcode onLocalFileSystem}) the reads are made
 * on the main thread, where they cannot hang; elsewhere (NFS, FUSE,
 * anything unknown) they go through the thread pool, and so does the open of
 * anything that was not listed as a regular file (a fifo's open waits for
 * its writer).
 */
async function openForReading(path: string, stat: Stat): Promise<ReadableFile> {
  const inPlace = stat.kind === "file" ? openInPlace(path) : undefined;
  if (inPlace) return inPlace;
  const handle = await localFs.open(path, "r");
  const local = onLocalFileSystem(handle.fd);
  return {
    read: async (buffer, offset, length, position) =>
      local
        ? readSync(handle.fd, buffer, offset, length, position)
        : (await handle.read(buffer, offset, length, position)).bytesRead,
    state: async () => {
      const stats = await handle.stat({ bigint: true });
      return {
        regular: stats.isFile(),
        size: stats.size,
        mtime: String(stats.mtimeNs),
        ctime: String(stats.ctimeNs),
      };
    },
    close: () => handle.close(),
  };
}

/**
 * A regular file on a local file system opened, read and closed through
 * libc on the main thread, as the copy's metadata calls are made: no thread
 * pool round trip for the open and the close (`cp -r` of 10,000 small files
 * to a server, 16% less CPU). Undefined where there is no libc, where the
 * open fails (the thread pool's open then says why, or waits, as for a file
 * under a lease), or for a regular file elsewhere than on a local file
 * system (closed again, for the thread pool to open). O_NONBLOCK, so that a
 * fifo put in the file's place since it was listed does not hold the event
 * loop until a writer comes (on a regular file the flag changes nothing);
 * such a fifo or a device fails with ESPIPE, as a positional read of it
 * would. The descriptor is libc's own, read and closed by libc (Deno's
 * node:fs refused it: EBADF).
 */
function openInPlace(path: string): ReadableFile | undefined {
  const c = libc();
  if (!c) return undefined;
  let fd: number;
  try {
    fd = c.open(path, O.RDONLY | O.NONBLOCK | O.CLOEXEC, 0);
  } catch {
    // Whatever it is (a file under a lease answers EWOULDBLOCK here), the
    // thread pool's open says it, or waits as it should.
    return undefined;
  }
  let kind: "in place" | "elsewhere" | "not a file" = "elsewhere";
  try {
    const { mode, dev } = c.fstat(fd, path);
    kind = (mode & 0o170000) !== 0o100000
      ? "not a file"
      : onLocalDevice(`${dev.major}:${dev.minor}`, () => c.fileSystemType(fd, path))
      ? "in place"
      : "elsewhere";
  } catch {
    // Unsure: the thread pool's way.
  } finally {
    if (kind !== "in place") c.close(fd);
  }
  if (kind === "not a file") {
    // Listed as a file, now a fifo or a device: opening it again would wait
    // for another writer (this open has let one go); no position to read at.
    throw Object.assign(new Error(`ESPIPE: not a regular file any more, open '${path}'`), {
      code: "ESPIPE",
    });
  }
  if (kind !== "in place") return undefined;
  let open = true;
  return {
    read: (buffer, offset, length, position) =>
      Promise.resolve().then(() => {
        // A descriptor closed may already be another file's.
        if (!open) {
          throw Object.assign(new Error(`EBADF: read after close '${path}'`), { code: "EBADF" });
        }
        return c.pread(fd, buffer.subarray(offset, offset + length), position, path);
      }),
    state: () =>
      Promise.resolve().then(() => {
        if (!open) {
          throw Object.assign(new Error(`EBADF: fstat after close '${path}'`), { code: "EBADF" });
        }
        const { mode, size, mtime, ctime } = c.fstat(fd, path);
        return {
          regular: (mode & 0o170000) === 0o100000,
          size,
          mtime: timeText(mtime),
          ctime: timeText(ctime),
        };
      }),
    close: () =>
      Promise.resolve().then(() => {
        if (open) c.close(fd);
        open = false;
      }),
  };
}

/** A local file open for writing, as {@linkcode LocalWriter} writes it. */
export interface WritableFile {
  /**
   * How it is written: by libc on the main thread, by node:fs on the main
   * thread, or through the thread pool (see {@linkcode LocalWriter}).
   */
  readonly how: "libc" | "in place" | "thread pool";
  /** A positional write on the calling thread; undefined: through the thread pool. */
  readonly writeSync:
    | ((buffer: Uint8Array, offset: number, length: number, position: number) => number)
    | undefined;
  /** A write through the thread pool (`position` null: a stream's next bytes). */
  write(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number | null,
  ): Promise<number>;
  truncate(size: number): Promise<void>;
  chmod(mode: number): Promise<void>;
  /** -1 leaves an id as it is. */
  chown(uid: number, gid: number): Promise<void>;
  /** Closes the file; again, does nothing. */
  close(): Promise<void>;
}

/**
 * A node:fs handle as a {@linkcode WritableFile}: written in place (on the
 * calling thread) when `inPlace`, else through the thread pool.
 */
export function handleFile(handle: fs.FileHandle, inPlace: boolean): WritableFile {
  return {
    how: inPlace ? "in place" : "thread pool",
    writeSync: inPlace
      ? (buffer, offset, length, position) => writeSync(handle.fd, buffer, offset, length, position)
      : undefined,
    write: async (buffer, offset, length, position) =>
      (await handle.write(buffer, offset, length, position)).bytesWritten,
    truncate: (size) => handle.truncate(size),
    chmod: (mode) => handle.chmod(mode),
    chown: (uid, gid) => handle.chown(uid, gid),
    close: () => handle.close(),
  };
}

/** A node:fs handle as a {@linkcode WritableFile}, in place where its file system allows. */
function nodeFile(handle: fs.FileHandle): WritableFile {
  return handleFile(handle, onLocalFileSystem(handle.fd));
}

/**
 * Creates `path` (O_EXCL, mode 0600) to write a copy into. Where libc can be
 * called and the file is on a local file system (see
 * {@linkcode onLocalFileSystem}), the file is libc's: created, written,
 * truncated, given its mode and owner and closed on the main thread, with
 * no thread pool round trip for any of them (`cp -r` of 10,000 small files
 * from a server: a fifth less CPU). Elsewhere the descriptor is reopened
 * for node:fs (through `/proc/self/fd/N`) and the writes go through the
 * thread pool. The create itself is a metadata call on the main thread, as
 * the stat of the destination before it was.
 */
export async function createForWriting(
  path: string,
  reopen: (procPath: string) => Promise<fs.FileHandle> = (procPath) =>
    openHandle(procPath, fsConstants.O_WRONLY),
): Promise<WritableFile> {
  const c = libc();
  if (!c) {
    const handle = await localFs.open(path, "wx", 0o600);
    return nodeFile(handle);
  }
  const fd = c.open(path, O.WRONLY | O.CREAT | O.EXCL | O.CLOEXEC, 0o600);
  let local = false;
  try {
    const { dev } = c.fstat(fd, path);
    local = onLocalDevice(`${dev.major}:${dev.minor}`, () => c.fileSystemType(fd, path));
  } catch {
    // Unsure: the thread pool's way.
  }
  if (local) return libcFile(c, fd, path);
  let reopened: fs.FileHandle | undefined;
  try {
    // As it was made, write-only: a file system that refuses reading it
    // (an ACL of `u::-w-`) takes it all the same.
    reopened = await reopen(`/proc/self/fd/${fd}`);
  } catch {
    // No /proc: the file just made goes (nobody else knows of it), and
    // node:fs makes it again below.
  } finally {
    c.close(fd);
  }
  if (reopened) return handleFile(reopened, false);
  c.unlink(path);
  const handle = await localFs.open(path, "wx", 0o600);
  return nodeFile(handle);
}

/** libc's descriptor `fd` of `path` as a {@linkcode WritableFile}, written on the main thread. */
function libcFile(c: Libc, fd: number, path: string): WritableFile {
  let open = true;
  // A descriptor closed may already be another file's.
  const descriptor = (): number => {
    if (!open) {
      throw Object.assign(new Error(`EBADF: used after close '${path}'`), { code: "EBADF" });
    }
    return fd;
  };
  const writeSync = (buffer: Uint8Array, offset: number, length: number, position: number) =>
    c.pwrite(descriptor(), buffer.subarray(offset, offset + length), position, path);
  return {
    how: "libc",
    writeSync,
    write: (buffer, offset, length, position) =>
      sync(() => {
        // A regular file is written at a position; only a stream (a fifo,
        // a device: never libc's) has none.
        if (position === null) {
          throw Object.assign(new Error(`ESPIPE: a write at no position '${path}'`), {
            code: "ESPIPE",
          });
        }
        return writeSync(buffer, offset, length, position);
      }),
    truncate: (size) => sync(() => c.ftruncate(descriptor(), size, path)),
    chmod: (mode) => sync(() => c.fchmod(descriptor(), mode, path)),
    chown: (uid, gid) => sync(() => c.fchown(descriptor(), uid, gid, path)),
    close: () =>
      sync(() => {
        if (!open) return;
        open = false; // gone even when close(2) fails: never closed twice
        c.closeWritten(fd, path);
      }),
  };
}

export class LocalSide implements Side {
  readonly kind = "local" as const;
  readonly url = undefined;
  /** Most local file systems allocate in 4 KiB blocks; a smaller hole would be no hole. */
  readonly holeBlock = 4096;
  readonly #chunkSize: number;

  constructor(tuning: CopyTuning) {
    this.#chunkSize = tuning.chunkSize;
  }

  display(path: string): string {
    return path;
  }

  join(dir: string, name: string): string {
    // A name of a server may hold `/` (typed `%2F`: lib/client/names.ts);
    // here it would name a file in another directory than `dir`.
    if (name.includes("/")) {
      throw new CopyError(`'${name}': a local file name cannot hold '/'`);
    }
    return joinPath(dir, name);
  }

  dirname(path: string): string {
    return dirnamePath(path);
  }

  basename(path: string): string {
    return basenamePath(path);
  }

  async stat(path: string, follow: boolean): Promise<Stat | undefined> {
    let stats;
    try {
      stats = await localFs.statIfExists(path, follow);
    } catch (e) {
      throw localError(path, e);
    }
    if (!stats) return undefined;
    const kind = stats.kind;
    let resolved = path;
    if (follow) resolved = await localFs.realpath(path).catch(() => path);
    return {
      kind,
      size: stats.size,
      mode: stats.mode,
      mtime: stats.mtime,
      atime: stats.atime,
      id: `local:${stats.dev}:${stats.ino}`,
      inode: stats.ino,
      path: resolved,
      nlink: stats.nlink,
      owner: String(stats.uid),
      group: String(stats.gid),
      allocated: stats.blocks * 512n,
      ...(kind === "char" || kind === "block" ? { rdev: stats.rdev } : {}),
      ...(kind === "symlink"
        ? { linkTarget: await localFs.readlink(path).catch(() => undefined) }
        : {}),
    };
  }

  async *list(path: string): AsyncIterable<DirEntry> {
    const names = await local(path, () => localFs.readdir(path));
    for (const name of names) {
      const child = joinPath(path, name);
      const stat = await this.stat(child, false);
      if (stat) yield { ...stat, name };
    }
  }

  readlink(path: string): Promise<string> {
    return local(path, () => localFs.readlink(path));
  }

  async openReader(path: string, stat: Stat, chunkSize: number): Promise<Reader> {
    const file = await local(path, () => openForReading(path, stat));
    // As it was when opened: what its state once read is compared with.
    let opened: FileState;
    try {
      opened = await file.state();
    } catch (e) {
      await file.close().catch(() => undefined);
      throw localError(path, e);
    }
    const size = stat.size === undefined ? undefined : Number(stat.size);
    return {
      async *chunks() {
        let position = 0;
        // One read ahead: the next chunk is read while this one is written.
        const readAt = async (at: number) => {
          // Pooled: the writer says when it is done with the chunk, and the
          // buffer then carries a later one (lib/rpc/socket_buffers.ts).
          // No more than the file had (a small file takes a small buffer,
          // not a whole chunk's); at that size, a small read confirms the end.
          const want = size === undefined
            ? chunkSize
            : at >= size
            ? Math.min(chunkSize, EOF_PROBE)
            : Math.min(chunkSize, size - at);
          const buffer = recordBuffers.take(want);
          try {
            const bytesRead = await file.read(buffer, 0, want, at);
            return buffer.subarray(0, bytesRead);
          } catch (e) {
            recordBuffers.release(buffer);
            throw e;
          }
        };
        let next: Promise<Uint8Array> | undefined = readAt(position);
        try {
          for (;;) {
            const pending: Promise<Uint8Array> = next;
            next = undefined;
            const chunk = await pending.catch((e) => {
              throw localError(path, e);
            });
            if (chunk.length === 0) {
              recordBuffers.release(chunk); // the end: nobody else saw it
              return;
            }
            position += chunk.length;
            next = readAt(position);
            yield chunk;
          }
        } finally {
          // A read ahead nobody will take (the copy stopped early).
          const left = await next?.catch(() => undefined);
          if (left) recordBuffers.release(left);
        }
      },
      async readAt(offset, length) {
        const buffer = uninitialized(length);
        let got = 0;
        while (got < length) {
          const bytesRead = await local(
            path,
            () => file.read(buffer, got, length - got, Number(offset) + got),
          );
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return buffer.subarray(0, got);
      },
      changedWhileRead: async () => changedWhileRead(opened, await local(path, () => file.state())),
      close: () => file.close(),
    };
  }

  async create(path: string): Promise<Writer> {
    const file = await local(path, () => createForWriting(path));
    return new LocalWriter(file, path, this.#chunkSize);
  }

  async openExisting(path: string, special = false): Promise<Writer> {
    // O_TRUNC as cp does; no O_CREAT: a file removed meanwhile is not made anew.
    // (A fifo is opened through the thread pool: the open waits for a reader.)
    const handle = await local(path, () => localFs.open(path, "truncate"));
    if (special) return new LocalWriter(handleFile(handle, false), path, this.#chunkSize, true);
    return new LocalWriter(nodeFile(handle), path, this.#chunkSize);
  }

  mkdir(path: string, mode: number): Promise<void> {
    return local(path, () => localFs.mkdir(path, mode));
  }

  symlink(path: string, target: string): Promise<void> {
    return local(path, () => localFs.symlink(target, path));
  }

  rename(from: string, to: string): Promise<void> {
    return local(to, () => localFs.rename(from, to));
  }

  async renameNoReplace(from: string, to: string): Promise<boolean> {
    // link(2) fails with EEXIST when `to` exists: an atomic "create only".
    try {
      await localFs.link(from, to);
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
    return local(path, () => localFs.unlink(path));
  }

  checkWritable(path: string): Promise<void> {
    return local(path, () => localFs.access(path, localFs.W_OK));
  }

  async writtenInPlace(path: string): Promise<"extended attributes" | "mount root" | undefined> {
    const c = libc();
    // Without libc (not Linux, no FFI), no extended attributes are seen.
    if (c?.hasXattrs(path)) return "extended attributes";
    let mountRoot: boolean | undefined;
    try {
      mountRoot = c?.isMountRoot(path);
    } catch {
      // Unsure: as for an older kernel, the devices say.
    }
    if (mountRoot === undefined) {
      // A file bind-mounted from another file system is on another device
      // than its directory (one from the same file system is not told apart
      // this way; its rename then fails with EBUSY, the old file kept).
      const [file, dir] = await Promise.all([
        localFs.statIfExists(path, false).catch(() => undefined),
        localFs.statIfExists(dirnamePath(path), true).catch(() => undefined),
      ]);
      mountRoot = file !== undefined && dir !== undefined && file.dev !== dir.dev;
    }
    return mountRoot ? "mount root" : undefined;
  }

  async setAttrs(
    path: string,
    attrs: { mode?: number | undefined; mtime?: NfsTime; atime?: NfsTime },
    follow: boolean,
  ): Promise<void> {
    await local(path, async () => {
      if (attrs.mode !== undefined && follow) await localFs.chmod(path, attrs.mode);
      if (attrs.mtime && attrs.atime) {
        await localFs.setTimes(path, attrs.atime, attrs.mtime, follow);
      }
    });
  }

  async setOwner(
    path: string,
    owner: string | undefined,
    group: string | undefined,
    follow: boolean,
  ): Promise<void> {
    const id = (text: string | undefined) => text === undefined ? -1 : Number(text);
    await local(path, () => localFs.chown(path, id(owner), id(group), follow));
  }

  ownerName(text: string, kind: OwnerKind, from: "local" | "nfs"): Promise<string | undefined> {
    return from === "local" ? Promise.resolve(text) : localOwner(text, kind);
  }

  mknod(
    path: string,
    kind: SpecialKind,
    mode: number,
    rdev: { major: number; minor: number } | undefined,
  ): Promise<void> {
    return local(path, () => localFs.mknod(path, kind, mode, rdev));
  }

  link(existing: string, path: string): Promise<void> {
    return local(path, () => localFs.link(existing, path));
  }

  isNotFound(error: unknown): boolean {
    const code = (error as { code?: unknown })?.code;
    return code === "ENOENT";
  }

  isExists(error: unknown): boolean {
    return (error as { code?: unknown })?.code === "EEXIST";
  }

  isDenied(error: unknown): boolean {
    const code = (error as { code?: unknown })?.code;
    return code === "EACCES" || code === "EPERM";
  }
}

/**
 * Writes a local file: on a local file system in place, one positional
 * write after another on the calling thread (by libc, or by node:fs: the
 * {@linkcode WritableFile} says which); elsewhere with a few positional
 * writes in flight on the runtime's thread pool, so the copy into the page
 * cache overlaps with the network.
 *
 * Why two ways: a write handed to the thread pool costs the hand-off both
 * ways (0.1 CPU-s per GiB of a 1 GiB `cp` to tmpfs, in Bun and Deno alike)
 * and keeps its buffer (and up to three more) alive until it is done. But a
 * write that waits on its own, into a hard-mounted NFS or a FUSE file
 * system, must not hold the thread that answers Ctrl-C and keeps deadlines:
 * only the file systems in {@linkcode LOCAL_FILE_SYSTEMS} are written in
 * place, where a write waits at most for the page cache's throttling
 * (README, "Performance", says what this trades).
 */
export class LocalWriter implements Writer {
  readonly chunkSize: number;
  readonly #file: WritableFile;
  readonly #path: string;
  #position = 0;
  /** Where the data written ends (holes after it are made by the final truncate). */
  #dataEnd = 0;
  readonly #pending = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;
  /**
   * A fifo or a device: written as a stream, one write at a time at no
   * position (a fifo has none), holes as zeros, and no size set at the end.
   */
  readonly #stream: boolean;

  /**
   * `stream`: the file is a fifo or a device (opened for the thread pool:
   * a full pipe blocks a write).
   */
  constructor(file: WritableFile, path: string, chunkSize: number, stream = false) {
    this.#file = file;
    this.#path = path;
    this.chunkSize = chunkSize;
    this.#stream = stream;
  }

  #check(): void {
    if (this.#failure) throw localError(this.#path, this.#failure.error);
  }

  async write(chunk: Uint8Array, onWritten?: () => void): Promise<void> {
    this.#check();
    // A stream takes its writes in order: one at a time.
    const inFlight = this.#stream ? 1 : LOCAL_WRITES_IN_FLIGHT;
    while (this.#pending.size >= inFlight) {
      await Promise.race(this.#pending);
      this.#check();
    }
    const position = this.#position;
    this.#position += chunk.length;
    this.#dataEnd = this.#position;
    const writeSync = this.#stream ? undefined : this.#file.writeSync;
    if (writeSync) {
      try {
        for (let done = 0; done < chunk.length;) {
          const written = writeSync(chunk, done, chunk.length - done, position + done);
          if (written <= 0) {
            throw Object.assign(new Error("EIO: short write: 0 bytes"), { code: "EIO" });
          }
          done += written;
        }
      } catch (error) {
        this.#failure ??= { error };
      }
      onWritten?.();
      this.#check();
      return;
    }
    const done: Promise<void> = this.#writeAll(chunk, position).then(
      () => {
        this.#pending.delete(done);
        onWritten?.();
      },
      (error) => {
        this.#pending.delete(done);
        this.#failure ??= { error };
        onWritten?.();
      },
    );
    this.#pending.add(done);
  }

  async #writeAll(chunk: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < chunk.length) {
      const written = await this.#file.write(
        chunk,
        done,
        chunk.length - done,
        this.#stream ? null : position + done,
      );
      if (written <= 0) {
        throw Object.assign(new Error("EIO: short write: 0 bytes"), { code: "EIO" });
      }
      done += written;
    }
  }

  async hole(length: number): Promise<void> {
    this.#check();
    if (!this.#stream) {
      this.#position += length;
      return;
    }
    // A stream has no holes: its reader gets the zeros.
    for (let left = length; left > 0;) {
      const size = Math.min(left, this.chunkSize);
      await this.write(new Uint8Array(size));
      left -= size;
    }
  }

  async chown(owner: string | undefined, group: string | undefined): Promise<void> {
    this.#check();
    const id = (text: string | undefined) => text === undefined ? -1 : Number(text);
    await local(this.#path, () => this.#file.chown(id(owner), id(group)));
  }

  async finish(attrs: FinalAttrs, size: bigint): Promise<void> {
    await Promise.all(this.#pending);
    this.#check();
    await local(this.#path, async () => {
      // Holes at the end (and a file emptied in place) get their size here
      // (a stream has none to get).
      if (!this.#stream && BigInt(this.#dataEnd) !== size) {
        await this.#file.truncate(Number(size));
      }
      if (attrs.mode !== undefined) await this.#file.chmod(attrs.mode);
      await this.#file.close();
      // By path, to the nanosecond (futimes takes float seconds).
      if (attrs.mtime && attrs.atime) {
        await localFs.setTimes(this.#path, attrs.atime, attrs.mtime, true);
      }
    });
  }

  async abort(): Promise<void> {
    this.#failure ??= { error: new CopyError(`${this.#path}: copy aborted`) };
    await Promise.allSettled(this.#pending);
    await this.#file.close().catch(() => undefined);
  }
}

/** Bytes read to confirm the end of a file at the size it had (it may have grown). */
const EOF_PROBE = 64 * 1024;

/**
 * File systems (statfs `f_type`) whose writes wait on nothing but the local
 * kernel and its disks: ext2/3/4, XFS, Btrfs, F2FS, tmpfs, ramfs. A local
 * file elsewhere (NFS, CIFS, FUSE, anything unknown) is written through the
 * thread pool.
 */
export const LOCAL_FILE_SYSTEMS: ReadonlySet<number> = new Set([
  0xef53,
  0x58465342,
  0x9123683e,
  0xf2f52010,
  0x01021994,
  0x858458f6,
]);

/**
 * Whether the open file `fd` is a regular file on one of
 * {@linkcode LOCAL_FILE_SYSTEMS} (false when unsure). Not a FIFO or a device
 * even there: a write to one waits for its reader.
 */
export function onLocalFileSystem(fd: number): boolean {
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return false;
    return onLocalDevice(
      `dev ${stat.dev}`,
      () => Number(statfsSync(`/proc/self/fd/${fd}`).type),
    );
  } catch {
    return false;
  }
}

/**
 * Whether the file system of `device` is one of
 * {@linkcode LOCAL_FILE_SYSTEMS}; `fileSystemType` is statfs(2) of a file on
 * it. Asked each time the answer would be yes: device numbers are reused
 * after an unmount (a tmpfs's went to the overlay mounted next), and a
 * network mount taken for a local one would be written on the main thread.
 * A no is kept for a second, so that a copy to or from NFS or FUSE does not
 * send a STATFS per file; a local file system that took such a device's
 * number is then written through the thread pool for that second.
 */
function onLocalDevice(device: string, fileSystemType: () => number): boolean {
  const now = performance.now();
  const notLocalAt = notLocalDevices.get(device);
  if (notLocalAt !== undefined && now - notLocalAt < NOT_LOCAL_ANSWER_MS) return false;
  const local = LOCAL_FILE_SYSTEMS.has(fileSystemType());
  if (local) notLocalDevices.delete(device);
  else notLocalDevices.set(device, now);
  return local;
}

/** How long {@linkcode onLocalDevice} keeps a device's "not local". */
const NOT_LOCAL_ANSWER_MS = 1000;

/** Devices found not local, and when. */
const notLocalDevices = new Map<string, number>();

/** Positional writes in flight to a local file. */
const LOCAL_WRITES_IN_FLIGHT = 4;
