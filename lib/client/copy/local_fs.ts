/**
 * The local file system as a copy needs it: names as exact bytes (PEP 383
 * byte strings), times to the nanosecond (before 1970 too), owners, special
 * files and hard links.
 *
 * Metadata goes through libc (libc.ts) where the runtime offers FFI, which
 * is exact; data goes through node:fs file handles (a name that is not UTF-8
 * is opened by libc and the handle taken from `/proc/self/fd/N`, the same
 * open file). Where there is no FFI, node:fs with these limits: names that
 * are not UTF-8 are refused with EILSEQ under Deno (whose node:fs would
 * reach another name), times are read as node:fs reports them (whole
 * milliseconds under Deno), and times are set with GNU `touch -d @S.N`,
 * which is exact; fifos and devices are made with `mknod`/`mkfifo` and
 * sockets by binding one.
 * @module
 */

import { Buffer } from "node:buffer";
import * as fs from "node:fs/promises";
import { type BigIntStats, constants as fsConstants } from "node:fs";
import { encodeByteString, hasEscapedBytes } from "../../nfs4/names.ts";
import type { NfsTime } from "../../nfs4/types.ts";
import type { FileKind } from "../types.ts";
import { libc, O, type RawStat } from "../../os/libc.ts";
import { builtin } from "../../os/builtins.ts";
import { type SpecialKind, timeFromNs } from "./side.ts";

/** What a copy needs to know of a local file. */
export interface LocalStat {
  readonly kind: FileKind;
  /** Permission, set-id and sticky bits (07777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly nlink: number;
  readonly size: bigint;
  /** 512-byte blocks allocated. */
  readonly blocks: bigint;
  readonly atime: NfsTime;
  readonly mtime: NfsTime;
  /** `major:minor` of the file system, with `ino` the file's identity. */
  readonly dev: string;
  readonly ino: bigint;
  /** Device numbers of a block or character device. */
  readonly rdev: { readonly major: number; readonly minor: number };
}

const TYPE_BITS: Record<SpecialKind, number> = {
  fifo: 0o010000,
  char: 0o020000,
  block: 0o060000,
  socket: 0o140000,
};

function kindOfMode(mode: number): FileKind {
  switch (mode & 0o170000) {
    case 0o100000:
      return "file";
    case 0o040000:
      return "directory";
    case 0o120000:
      return "symlink";
    case 0o010000:
      return "fifo";
    case 0o140000:
      return "socket";
    case 0o060000:
      return "block";
    case 0o020000:
      return "char";
    default:
      return "unknown";
  }
}

function fromRaw(raw: RawStat): LocalStat {
  return {
    kind: kindOfMode(raw.mode),
    mode: raw.mode & 0o7777,
    uid: raw.uid,
    gid: raw.gid,
    nlink: raw.nlink,
    size: raw.size,
    blocks: raw.blocks,
    atime: raw.atime,
    mtime: raw.mtime,
    dev: `${raw.dev.major}:${raw.dev.minor}`,
    ino: raw.ino,
    rdev: raw.rdev,
  };
}

/** Linux's dev_t split into major and minor (glibc's gnu_dev_major/minor). */
function splitDev(dev: bigint): { major: number; minor: number } {
  return {
    major: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)),
    minor: Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn)),
  };
}

function fromNode(stats: BigIntStats): LocalStat {
  const dev = splitDev(stats.dev);
  return {
    kind: kindOfMode(Number(stats.mode)),
    mode: Number(stats.mode & 0o7777n),
    uid: Number(stats.uid),
    gid: Number(stats.gid),
    nlink: Number(stats.nlink),
    size: stats.size,
    blocks: stats.blocks,
    atime: timeFromNs(stats.atimeNs),
    mtime: timeFromNs(stats.mtimeNs),
    dev: `${dev.major}:${dev.minor}`,
    ino: stats.ino,
    rdev: splitDev(stats.rdev),
  };
}

/** A path node:fs reaches exactly: the string, or its bytes where the runtime takes them. */
function nodePath(path: string): string | Buffer {
  if (!hasEscapedBytes(path)) return path;
  if ("Deno" in globalThis) {
    // Deno's node:fs decodes a Buffer path to text: it would reach another name.
    throw Object.assign(
      new Error("a name that is not UTF-8 cannot be reached without FFI (--allow-ffi)"),
      { code: "EILSEQ" },
    );
  }
  return Buffer.from(encodeByteString(path));
}

/** Runs `fn` as if it were async, so a libc failure rejects like a node:fs one. */
export function sync<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
}

/** `@SECONDS.NANOSECONDS` for `touch -d`, exact for negative times too. */
export function touchTime(t: NfsTime): string {
  if (t.seconds >= 0n || t.nseconds === 0) {
    return `@${t.seconds}.${String(t.nseconds).padStart(9, "0")}`;
  }
  // -101 s + 0.876543211 s is -100.123456789 s.
  return `@-${-t.seconds - 1n}.${String(1_000_000_000 - t.nseconds).padStart(9, "0")}`;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    builtin("node:child_process").execFile(command, args, (error, _stdout, stderr) => {
      if (!error) return resolve();
      const text = String(stderr).trim().split("\n").at(-1) ?? "";
      reject(Object.assign(new Error(text || error.message), { cause: error }));
    });
  });
}

/** Open flags: for node:fs, for libc (Linux values), and to reopen a libc-opened file with. */
const OPEN_FLAGS: Record<string, { node: string | number; flags: number; reopen: string }> = {
  r: { node: "r", flags: O.RDONLY, reopen: "r" },
  "r+": { node: "r+", flags: O.RDWR, reopen: "r+" },
  wx: { node: "wx", flags: O.WRONLY | O.CREAT | O.EXCL, reopen: "r+" },
  w: { node: "w", flags: O.WRONLY | O.CREAT | O.TRUNC, reopen: "r+" },
  truncate: {
    node: fsConstants.O_WRONLY | fsConstants.O_TRUNC,
    flags: O.WRONLY | O.TRUNC,
    reopen: "r+",
  },
};

/** Exact local file system calls; every path is a byte string. */
export const localFs = {
  /** Whether names that are not UTF-8 and nanosecond times are exact here. */
  get exact(): boolean {
    return libc() !== undefined;
  },

  stat(path: string, follow: boolean): Promise<LocalStat> {
    const c = libc();
    if (c) return sync(() => fromRaw(c.stat(path, follow)));
    const p = nodePath(path);
    return (follow ? fs.stat(p, { bigint: true }) : fs.lstat(p, { bigint: true })).then(fromNode);
  },

  /** stat(), but undefined when nothing has that name (ENOENT). */
  async statIfExists(path: string, follow: boolean): Promise<LocalStat | undefined> {
    const c = libc();
    if (c) {
      const raw = await sync(() => c.statIfExists(path, follow));
      return raw && fromRaw(raw);
    }
    try {
      return await localFs.stat(path, follow);
    } catch (e) {
      if ((e as { code?: unknown })?.code === "ENOENT") return undefined;
      throw e;
    }
  },

  /** The names in a directory (not `.` and `..`), exact bytes. */
  async readdir(path: string): Promise<string[]> {
    const c = libc();
    if (c) return await sync(() => c.readdir(path));
    return await fs.readdir(nodePath(path));
  },

  async readlink(path: string): Promise<string> {
    const c = libc();
    if (c) return await sync(() => c.readlink(path));
    return await fs.readlink(nodePath(path));
  },

  async realpath(path: string): Promise<string> {
    const c = libc();
    if (c) return await sync(() => c.realpath(path));
    return await fs.realpath(nodePath(path));
  },

  /**
   * Opens a file for data: `r`, `r+`, `w` or `wx` as node:fs, or `truncate`
   * (write, emptied, never created). A name that is not UTF-8 is opened by
   * libc and reached through `/proc/self/fd/N`.
   */
  async open(
    path: string,
    flags: "r" | "r+" | "w" | "wx" | "truncate",
    mode = 0o666,
  ): Promise<fs.FileHandle> {
    const c = libc();
    const how = OPEN_FLAGS[flags]!;
    if (!c || !hasEscapedBytes(path)) return await fs.open(nodePath(path), how.node, mode);
    const fd = await sync(() => c.open(path, how.flags | O.CLOEXEC, mode));
    try {
      return await fs.open(`/proc/self/fd/${fd}`, how.reopen);
    } catch (e) {
      // A file this call made (O_EXCL) and cannot hand over goes again.
      if (flags === "wx") await sync(() => c.unlink(path)).catch(() => undefined);
      throw e;
    } finally {
      c.close(fd);
    }
  },

  async mkdir(path: string, mode: number): Promise<void> {
    const c = libc();
    if (c) return await sync(() => c.mkdir(path, mode));
    await fs.mkdir(nodePath(path), mode);
  },

  async symlink(target: string, path: string): Promise<void> {
    const c = libc();
    if (c) return await sync(() => c.symlink(target, path));
    await fs.symlink(nodePath(target), nodePath(path));
  },

  async rename(from: string, to: string): Promise<void> {
    const c = libc();
    if (c) return await sync(() => c.rename(from, to));
    await fs.rename(nodePath(from), nodePath(to));
  },

  /** A hard link `to` of `from` (EEXIST when `to` exists). */
  async link(from: string, to: string): Promise<void> {
    const c = libc();
    if (c) return await sync(() => c.link(from, to));
    await fs.link(nodePath(from), nodePath(to));
  },

  async unlink(path: string): Promise<void> {
    const c = libc();
    if (c) return await sync(() => c.unlink(path));
    await fs.unlink(nodePath(path));
  },

  async chmod(path: string, mode: number): Promise<void> {
    const c = libc();
    if (c) return await sync(() => c.chmod(path, mode));
    await fs.chmod(nodePath(path), mode);
  },

  /** Owner and group (-1 leaves one as it is); `follow` false changes a symlink itself. */
  async chown(path: string, uid: number, gid: number, follow: boolean): Promise<void> {
    const c = libc();
    if (c) return await sync(() => c.chown(path, uid, gid, follow));
    await (follow ? fs.chown : fs.lchown)(nodePath(path), uid, gid);
  },

  /**
   * Access and modification times, exact to the nanosecond and before 1970
   * too: utimensat(2) through libc; without FFI, GNU `touch -d @S.N` (not
   * node's utimes: float seconds, and pre-1970 times become "now").
   */
  async setTimes(path: string, atime: NfsTime, mtime: NfsTime, follow: boolean): Promise<void> {
    const c = libc();
    if (c) return await sync(() => c.utimens(path, atime, mtime, follow));
    const p = nodePath(path);
    if (typeof p !== "string") throw new Error(`${path}: cannot set times without FFI`);
    const noFollow = follow ? [] : ["-h"];
    await run("touch", [...noFollow, "-c", "-a", "-d", touchTime(atime), "--", p]);
    await run("touch", [...noFollow, "-c", "-m", "-d", touchTime(mtime), "--", p]);
  },

  /**
   * Makes a fifo, socket or device (mknod(2); without FFI coreutils
   * `mknod`/`mkfifo`, and a socket by binding one). `mode` is the permission bits.
   */
  async mknod(
    path: string,
    kind: SpecialKind,
    mode: number,
    rdev: { major: number; minor: number } = { major: 0, minor: 0 },
  ): Promise<void> {
    const c = libc();
    if (c) return await sync(() => c.mknod(path, TYPE_BITS[kind] | (mode & 0o7777), rdev));
    const p = nodePath(path);
    if (typeof p !== "string") throw new Error(`${path}: cannot create a special file without FFI`);
    const octal = (mode & 0o7777).toString(8);
    if (kind === "fifo") return await run("mkfifo", ["-m", octal, "--", p]);
    if (kind === "socket") return await bindSocket(p);
    const type = kind === "char" ? "c" : "b";
    await run("mknod", ["-m", octal, "--", p, type, String(rdev.major), String(rdev.minor)]);
  },

  async access(path: string, mode: number): Promise<void> {
    const c = libc();
    if (c) return await sync(() => c.access(path, mode));
    await fs.access(nodePath(path), mode);
  },

  /** W_OK for {@linkcode localFs.access}. */
  W_OK: fsConstants.W_OK,
};

/** A unix socket left on disk: bound, closed, not unlinked (checked). */
async function bindSocket(path: string): Promise<void> {
  const server = builtin("node:net").createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const st = await fs.lstat(path).catch(() => undefined);
  if (!st?.isSocket()) {
    throw Object.assign(
      new Error("cannot make a socket without FFI (--allow-ffi): the runtime removes it"),
      { code: "ENOTSUP" },
    );
  }
}
