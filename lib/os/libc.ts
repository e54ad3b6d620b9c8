/**
 * The libc calls this toolkit needs to be exact about local files (and
 * madvise(2), for lib/os/executable_pages.ts; poll(2), for
 * lib/os/output_alive.ts), through the runtime's foreign
 * function interface: `Deno.dlopen` under Deno,
 * `bun:ffi` (reached with `process.getBuiltinModule`, not an import, so the
 * same source runs and compiles under both) under Bun.
 *
 * Why not node:fs: under Deno it is lossy where a copy must not be. A name
 * that is not UTF-8 cannot be listed (readdir, even with
 * `{ encoding: "buffer" }`, returns U+FFFD), nor reached (a Buffer path is
 * decoded to text first: `writeFile(Buffer.from([0x6c, 0xe9]))` creates
 * `l\xef\xbf\xbd`); `lstat(…, { bigint: true })` reports times in whole
 * milliseconds; `utimes` takes float seconds (about 240 ns steps today) and
 * sets a time before 1970 to now. Bun gets names and read times right but
 * its `utimes` has the same float and pre-1970 faults. Every call here takes
 * and gives the exact bytes of names (PEP 383 byte strings, see
 * lib/xdr/byte_string.ts) and times in nanoseconds.
 *
 * Linux with glibc only (the struct layouts below are the kernel's, the same
 * on every 64-bit architecture). {@linkcode libc} is undefined elsewhere, or
 * when FFI is not permitted, and callers fall back to node:fs
 * (local_fs.ts). Calls are synchronous: local metadata calls take
 * microseconds.
 * @module
 */

import process from "node:process";
import { decodeByteString, encodeByteString } from "../xdr/byte_string.ts";

/** A time to the nanosecond (the shape of nfstime4). */
export interface NfsTime {
  readonly seconds: bigint;
  readonly nseconds: number;
}

/** What statx(2) says of a file (the fields a copy uses). */
export interface RawStat {
  /** `st_mode`: type and permission bits. */
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly ino: bigint;
  readonly size: bigint;
  /** 512-byte blocks allocated. */
  readonly blocks: bigint;
  readonly atime: NfsTime;
  readonly mtime: NfsTime;
  readonly ctime: NfsTime;
  readonly rdev: { readonly major: number; readonly minor: number };
  readonly dev: { readonly major: number; readonly minor: number };
}

/** Exact local file system calls; paths are byte strings. Failures throw errors with `code`. */
export interface Libc {
  stat(path: string, follow: boolean): RawStat;
  /**
   * stat(), but undefined when nothing has that name (ENOENT), with no
   * error made for it: a copy asks this of every destination name, most of
   * them new.
   */
  statIfExists(path: string, follow: boolean): RawStat | undefined;
  /** The names in a directory, without `.` and `..`. */
  readdir(path: string): string[];
  readlink(path: string): string;
  realpath(path: string): string;
  /** open(2); the caller closes the descriptor. */
  open(path: string, flags: number, mode: number): number;
  /** close(2), its failure ignored (a descriptor only read, or given up on). */
  close(fd: number): void;
  /**
   * close(2) of a file written to: a failure (EIO, ENOSPC, EDQUOT: data the
   * file system could not keep) throws naming `path`. Either way the
   * descriptor is gone (Linux frees it even then): never close it again.
   */
  closeWritten(fd: number, path: string): void;
  /**
   * pread(2) into the whole of `buffer` (at most 1 GiB) from `position`:
   * the bytes read, 0 at the end; a failure names `path`.
   */
  pread(fd: number, buffer: Uint8Array, position: number, path: string): number;
  /**
   * pwrite(2) of the whole of `buffer` (at most 1 GiB) at `position`, once:
   * the bytes written (a short write is the caller's to go on with); a
   * failure names `path`. Interrupted before anything was written (EINTR),
   * it is made again.
   */
  pwrite(fd: number, buffer: Uint8Array, position: number, path: string): number;
  /** fstat(2) (statx with AT_EMPTY_PATH) of an open descriptor; a failure names `path`. */
  fstat(fd: number, path: string): RawStat;
  /**
   * Whether `path` itself (a symlink not followed) has an extended
   * attribute (llistxattr(2): user.*, a POSIX ACL, ...) other than an
   * SELinux label alone (`security.selinux`, which every file of a
   * labelling host has); false where the file system has none to give
   * (ENOTSUP) or the call fails.
   */
  hasXattrs(path: string): boolean;
  /**
   * Whether `path` itself is the root of a mount (a file bind-mounted over
   * another, STATX_ATTR_MOUNT_ROOT); undefined when the kernel does not say
   * (before Linux 5.8). A failure names `path`.
   */
  isMountRoot(path: string): boolean | undefined;
  /** fstatfs(2)'s `f_type`: the magic number of the file system `fd` is on; a failure names `path`. */
  fileSystemType(fd: number, path: string): number;
  /** ftruncate(2); a failure names `path`. */
  ftruncate(fd: number, size: number, path: string): void;
  /** fchmod(2); a failure names `path`. */
  fchmod(fd: number, mode: number, path: string): void;
  /** fchown(2); -1 leaves an id as it is; a failure names `path`. */
  fchown(fd: number, uid: number, gid: number, path: string): void;
  mkdir(path: string, mode: number): void;
  symlink(target: string, path: string): void;
  rename(from: string, to: string): void;
  link(from: string, to: string): void;
  unlink(path: string): void;
  chmod(path: string, mode: number): void;
  /** fchownat(2); -1 leaves an id as it is. */
  chown(path: string, uid: number, gid: number, follow: boolean): void;
  /** utimensat(2): exact to the nanosecond, before 1970 too. */
  utimens(path: string, atime: NfsTime, mtime: NfsTime, follow: boolean): void;
  /** mknod(2): a fifo, socket or device (`mode` holds the type bits). */
  mknod(path: string, mode: number, rdev: { major: number; minor: number }): void;
  access(path: string, mode: number): void;
  /**
   * flock(fd, LOCK_EX | LOCK_NB): true when this process now holds the
   * file's exclusive lock (kept until the descriptor is closed or the
   * process ends), false when another holds it.
   */
  tryLockExclusive(fd: number): boolean;
  /**
   * madvise(start, length, MADV_DONTNEED): unmaps the pages of a memory
   * range from the process (lib/os/executable_pages.ts says when that is safe).
   */
  dontNeed(start: bigint, length: bigint): void;
  /**
   * poll(2) of `fd` for nothing, without waiting: whether it reports
   * POLLERR or POLLHUP, which poll(2) reports whatever was asked for. The
   * write end of a pipe whose readers are all gone reports POLLERR (Linux
   * pipe_poll()), a Unix-domain stream socket whose peer has closed it
   * POLLHUP: the next write would fail with EPIPE (lib/os/output_alive.ts).
   * A TCP peer's FIN is not among them (POLLIN|POLLRDHUP only).
   */
  hungUp(fd: number): boolean;
}

/** open(2) flags (Linux, asm-generic and x86 alike). */
export const O = {
  RDONLY: 0,
  WRONLY: 1,
  RDWR: 2,
  CREAT: 0o100,
  EXCL: 0o200,
  TRUNC: 0o1000,
  NONBLOCK: 0o4000,
  DIRECTORY: 0o200000,
  NOFOLLOW: 0o400000,
  CLOEXEC: 0o2000000,
} as const;

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const ENOENT = 2;
const EINTR = 4;
const STATX_BASIC_STATS = 0x7ff;
/** stx_attributes: the file is the root of a mount (include/uapi/linux/stat.h). */
const STATX_ATTR_MOUNT_ROOT = 0x2000n;
const PATH_MAX = 4096;
/** The longest list of extended attribute names llistxattr(2) gives (linux/limits.h). */
const XATTR_LIST_MAX = 65536;

/** errno values (Linux) to the codes node:fs uses, so messages read the same. */
const ERRNO_CODES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  16: "EBUSY",
  17: "EEXIST",
  18: "EXDEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  26: "ETXTBSY",
  27: "EFBIG",
  28: "ENOSPC",
  30: "EROFS",
  31: "EMLINK",
  36: "ENAMETOOLONG",
  38: "ENOSYS",
  75: "EOVERFLOW",
  116: "ESTALE",
  39: "ENOTEMPTY",
  40: "ELOOP",
  32: "EPIPE",
  95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  100: "ENETDOWN",
  101: "ENETUNREACH",
  103: "ECONNABORTED",
  104: "ECONNRESET",
  105: "ENOBUFS",
  107: "ENOTCONN",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  112: "EHOSTDOWN",
  113: "EHOSTUNREACH",
  122: "EDQUOT",
};

/**
 * The code node:fs and node:net give an errno value (`ENOENT`,
 * `ECONNREFUSED` ...), `E<number>` for one not listed here. Also for
 * lib/rpc/socket_ffi.ts, whose errors must read as node:net's.
 */
export function errnoCode(errno: number): string {
  return ERRNO_CODES[errno] ?? `E${errno}`;
}

type ArgType = "i32" | "u32" | "u64" | "buf";
type ResultType = "i32" | "ptr";
type Signature = readonly [readonly ArgType[], ResultType];

const SIGNATURES = {
  __errno_location: [[], "ptr"],
  statx: [["i32", "buf", "i32", "u32", "buf"], "i32"],
  open: [["buf", "i32", "u32"], "i32"],
  close: [["i32"], "i32"],
  getdents64: [["i32", "buf", "u64"], "i32"],
  readlink: [["buf", "buf", "u64"], "i32"],
  realpath: [["buf", "buf"], "ptr"],
  mkdir: [["buf", "u32"], "i32"],
  symlink: [["buf", "buf"], "i32"],
  rename: [["buf", "buf"], "i32"],
  link: [["buf", "buf"], "i32"],
  unlink: [["buf"], "i32"],
  fchmodat: [["i32", "buf", "u32", "i32"], "i32"],
  fchownat: [["i32", "buf", "u32", "u32", "i32"], "i32"],
  utimensat: [["i32", "buf", "buf", "i32"], "i32"],
  mknod: [["buf", "u32", "u64"], "i32"],
  faccessat: [["i32", "buf", "i32", "i32"], "i32"],
  flock: [["i32", "i32"], "i32"],
  pread: [["i32", "buf", "u64", "u64"], "i32"],
  pwrite: [["i32", "buf", "u64", "u64"], "i32"],
  ftruncate: [["i32", "u64"], "i32"],
  fstatfs: [["i32", "buf"], "i32"],
  // ssize_t, a list's length: well within an i32.
  llistxattr: [["buf", "buf", "u64"], "i32"],
  fchmod: [["i32", "u32"], "i32"],
  fchown: [["i32", "u32", "u32"], "i32"],
  madvise: [["u64", "u64", "i32"], "i32"],
  poll: [["buf", "u64", "i32"], "i32"],
} as const satisfies Record<string, Signature>;

type Name = keyof typeof SIGNATURES;
type Fn = (...args: unknown[]) => unknown;

/** The runtime's FFI, reduced to what is used here. */
interface Ffi {
  readonly fns: Record<Name, Fn>;
  /** The int32 a pointer returned by a call points at. */
  readInt32(pointer: unknown): number;
  isNull(pointer: unknown): boolean;
}

interface DenoFfi {
  dlopen(path: string, symbols: Record<string, unknown>): { symbols: Record<string, Fn> };
  UnsafePointerView: new (pointer: unknown) => { getInt32(offset?: number): number };
}

interface DenoPermissions {
  readonly permissions?: { querySync?(descriptor: { name: "ffi" }): { state: string } };
}

interface BunFfi {
  dlopen(path: string, symbols: Record<string, unknown>): { symbols: Record<string, Fn> };
  read: { i32(pointer: unknown, offset?: number): number };
}

const LIBC_PATH = "libc.so.6";

function loadDeno(deno: DenoFfi): Ffi {
  const map = (t: ArgType | ResultType) => t === "buf" ? "buffer" : t === "ptr" ? "pointer" : t;
  const defs: Record<string, unknown> = {};
  for (const [name, [parameters, result]] of Object.entries(SIGNATURES)) {
    defs[name] = { parameters: parameters.map(map), result: map(result) };
  }
  const lib = deno.dlopen(LIBC_PATH, defs);
  return {
    fns: lib.symbols as Record<Name, Fn>,
    readInt32: (pointer) => new deno.UnsafePointerView(pointer).getInt32(0),
    isNull: (pointer) => pointer === null,
  };
}

function loadBun(bun: BunFfi): Ffi {
  const map = (t: ArgType | ResultType) => t === "buf" ? "ptr" : t;
  const defs: Record<string, unknown> = {};
  for (const [name, [args, returns]] of Object.entries(SIGNATURES)) {
    defs[name] = { args: args.map(map), returns: map(returns) };
  }
  const lib = bun.dlopen(LIBC_PATH, defs);
  return {
    fns: lib.symbols as Record<Name, Fn>,
    readInt32: (pointer) => bun.read.i32(pointer, 0),
    isNull: (pointer) => pointer === null || pointer === 0,
  };
}

function loadFfi(): Ffi | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    const deno = (globalThis as { Deno?: Partial<DenoFfi> & DenoPermissions }).Deno;
    if (typeof deno?.dlopen === "function" && deno.UnsafePointerView) {
      // Not granted: node:fs, rather than Deno asking on the terminal mid-copy.
      if (deno.permissions?.querySync?.({ name: "ffi" }).state !== "granted") return undefined;
      return loadDeno(deno as DenoFfi);
    }
    const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown })
      .getBuiltinModule;
    if ("Bun" in globalThis && typeof getBuiltin === "function") {
      const bun = getBuiltin("bun:ffi") as BunFfi | undefined;
      if (bun && typeof bun.dlopen === "function") return loadBun(bun);
    }
  } catch {
    // No FFI permission, no glibc, a missing symbol: node:fs it is.
  }
  return undefined;
}

/** A path as the NUL-terminated bytes libc takes. */
function cPath(path: string): Uint8Array {
  const bytes = encodeByteString(path);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** The empty C string (statx of the descriptor itself, AT_EMPTY_PATH). */
const EMPTY_C_STRING = new Uint8Array(1);

/**
 * The NUL-terminated strings of `bytes` (the form of `/proc/self/cmdline`
 * and `/proc/self/environ`), as views without their NULs; a last one
 * without its NUL too, and empty ones between two NULs.
 */
export function splitNul(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (let end = bytes.indexOf(0); end !== -1; end = bytes.indexOf(0, start)) {
    out.push(bytes.subarray(start, end));
    start = end + 1;
  }
  if (start < bytes.length) out.push(bytes.subarray(start));
  return out;
}

/** The bytes before the first NUL. */
function cString(buffer: Uint8Array): Uint8Array {
  const end = buffer.indexOf(0);
  return buffer.subarray(0, end === -1 ? buffer.length : end);
}

function timespecs(atime: NfsTime, mtime: NfsTime): Uint8Array {
  const buffer = new Uint8Array(32);
  const view = new DataView(buffer.buffer);
  view.setBigInt64(0, atime.seconds, true);
  view.setBigInt64(8, BigInt(atime.nseconds), true);
  view.setBigInt64(16, mtime.seconds, true);
  view.setBigInt64(24, BigInt(mtime.nseconds), true);
  return buffer;
}

/**
 * A uid or gid as chown(2) takes it: -1 (leave it) as 0xffffffff; anything
 * that is not an integer from 0 to 0xfffffffe fails with EINVAL, as node:fs
 * refuses it (a wrapped 2^32 would make the file root's).
 */
function ownerId(id: number, path: string): number {
  if (id === -1) return 0xffffffff;
  if (Number.isInteger(id) && id >= 0 && id < 0xffffffff) return id;
  throw Object.assign(new Error(`EINVAL: no such owner id ${id}, chown '${path}'`), {
    code: "EINVAL",
    path,
  });
}

/** dev_t as glibc's makedev() builds it. */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) |
    (mi & 0xffn);
}

class FfiLibc implements Libc {
  readonly #ffi: Ffi;
  readonly #fn: Record<Name, Fn>;

  constructor(ffi: Ffi) {
    this.#ffi = ffi;
    this.#fn = ffi.fns;
  }

  #fail(syscall: string, path: string): never {
    const errno = this.#ffi.readInt32(this.#fn.__errno_location());
    const code = errnoCode(errno);
    throw Object.assign(new Error(`${code}: ${syscall} '${path}'`), {
      code,
      errno: -errno,
      syscall,
      path,
    });
  }

  /** Calls `name`; a result of -1 throws the errno. */
  #call(name: Name, path: string, ...args: unknown[]): number {
    const result = Number(this.#fn[name](...args));
    if (result === -1) this.#fail(name, path);
    return result;
  }

  stat(path: string, follow: boolean): RawStat {
    return this.#statx(AT_FDCWD, cPath(path), follow ? 0 : AT_SYMLINK_NOFOLLOW, path)!;
  }

  statIfExists(path: string, follow: boolean): RawStat | undefined {
    return this.#statx(AT_FDCWD, cPath(path), follow ? 0 : AT_SYMLINK_NOFOLLOW, path, true);
  }

  fstat(fd: number, path: string): RawStat {
    return this.#statx(fd, EMPTY_C_STRING, AT_EMPTY_PATH, path)!;
  }

  /** statx(2); with `absentIsUndefined`, ENOENT is undefined rather than thrown. */
  #statx(
    dirFd: number,
    cPathBytes: Uint8Array,
    flags: number,
    path: string,
    absentIsUndefined = false,
  ): RawStat | undefined {
    const buffer = new Uint8Array(256);
    const result = Number(this.#fn.statx(dirFd, cPathBytes, flags, STATX_BASIC_STATS, buffer));
    if (result === -1) {
      if (absentIsUndefined && this.#ffi.readInt32(this.#fn.__errno_location()) === ENOENT) {
        return undefined;
      }
      this.#fail("statx", path);
    }
    const v = new DataView(buffer.buffer);
    const time = (at: number): NfsTime => ({
      seconds: v.getBigInt64(at, true),
      nseconds: v.getUint32(at + 8, true),
    });
    return {
      nlink: v.getUint32(16, true),
      uid: v.getUint32(20, true),
      gid: v.getUint32(24, true),
      mode: v.getUint16(28, true),
      ino: v.getBigUint64(32, true),
      size: v.getBigUint64(40, true),
      blocks: v.getBigUint64(48, true),
      atime: time(64),
      ctime: time(96),
      mtime: time(112),
      rdev: { major: v.getUint32(128, true), minor: v.getUint32(132, true) },
      dev: { major: v.getUint32(136, true), minor: v.getUint32(140, true) },
    };
  }

  readdir(path: string): string[] {
    const fd = this.open(path, O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0);
    const names: string[] = [];
    try {
      const buffer = new Uint8Array(64 * 1024);
      const view = new DataView(buffer.buffer);
      for (;;) {
        const n = this.#call("getdents64", path, fd, buffer, BigInt(buffer.length));
        if (n === 0) break;
        // struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16, d_type u8, d_name.
        for (let at = 0; at < n;) {
          const reclen = view.getUint16(at + 16, true);
          const name = cString(buffer.subarray(at + 19, at + reclen));
          at += reclen;
          if (name.length === 1 && name[0] === 0x2e) continue;
          if (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e) continue;
          names.push(decodeByteString(name.slice()));
        }
      }
    } finally {
      this.close(fd);
    }
    return names;
  }

  readlink(path: string): string {
    const buffer = new Uint8Array(PATH_MAX + 1);
    const n = this.#call("readlink", path, cPath(path), buffer, BigInt(buffer.length));
    if (n > PATH_MAX) {
      throw Object.assign(new Error(`ENAMETOOLONG: readlink '${path}'`), {
        code: "ENAMETOOLONG",
        path,
      });
    }
    return decodeByteString(buffer.slice(0, n));
  }

  realpath(path: string): string {
    const buffer = new Uint8Array(PATH_MAX + 1);
    const result = this.#fn.realpath(cPath(path), buffer);
    if (this.#ffi.isNull(result)) this.#fail("realpath", path);
    return decodeByteString(cString(buffer).slice());
  }

  open(path: string, flags: number, mode: number): number {
    return this.#call("open", path, cPath(path), flags, mode);
  }

  close(fd: number): void {
    this.#fn.close(fd);
  }

  closeWritten(fd: number, path: string): void {
    if (Number(this.#fn.close(fd)) !== -1) return;
    // EINTR: closed all the same, and nothing was lost.
    if (this.#ffi.readInt32(this.#fn.__errno_location()) !== EINTR) this.#fail("close", path);
  }

  pread(fd: number, buffer: Uint8Array, position: number, path: string): number {
    return this.#call("pread", path, fd, buffer, BigInt(buffer.length), BigInt(position));
  }

  pwrite(fd: number, buffer: Uint8Array, position: number, path: string): number {
    for (;;) {
      const result = Number(
        this.#fn.pwrite(fd, buffer, BigInt(buffer.length), BigInt(position)),
      );
      if (result !== -1) return result;
      if (this.#ffi.readInt32(this.#fn.__errno_location()) !== EINTR) this.#fail("pwrite", path);
    }
  }

  fileSystemType(fd: number, path: string): number {
    // struct statfs: f_type, a long, first (120 bytes in all on 64-bit Linux).
    const buffer = new Uint8Array(256);
    this.#call("fstatfs", path, fd, buffer);
    return Number(new DataView(buffer.buffer).getBigUint64(0, true));
  }

  isMountRoot(path: string): boolean | undefined {
    const buffer = new Uint8Array(256);
    this.#call(
      "statx",
      path,
      AT_FDCWD,
      cPath(path),
      AT_SYMLINK_NOFOLLOW,
      STATX_BASIC_STATS,
      buffer,
    );
    const v = new DataView(buffer.buffer);
    // stx_attributes_mask (offset 56): the attributes this kernel and file system report.
    if ((v.getBigUint64(56, true) & STATX_ATTR_MOUNT_ROOT) === 0n) return undefined;
    return (v.getBigUint64(8, true) & STATX_ATTR_MOUNT_ROOT) !== 0n;
  }

  hasXattrs(path: string): boolean {
    const name = cPath(path);
    // A size of 0 asks only the length of the list of names.
    const length = Number(this.#fn.llistxattr(name, EMPTY_C_STRING, 0n));
    if (length <= 0) return false;
    const list = new Uint8Array(Math.min(length, XATTR_LIST_MAX));
    const got = Number(this.#fn.llistxattr(name, list, BigInt(list.length)));
    // Grown since (ERANGE): there are some.
    if (got < 0) return true;
    // Names, each ended by a NUL. The SELinux label alone is not counted:
    // on a host that labels every file every file has one, and a new file
    // gets its directory's default label, most often the same.
    return new TextDecoder().decode(list.subarray(0, got)).split("\0")
      .some((n) => n !== "" && n !== "security.selinux");
  }

  ftruncate(fd: number, size: number, path: string): void {
    this.#call("ftruncate", path, fd, BigInt(size));
  }

  fchmod(fd: number, mode: number, path: string): void {
    this.#call("fchmod", path, fd, mode);
  }

  fchown(fd: number, uid: number, gid: number, path: string): void {
    this.#call("fchown", path, fd, ownerId(uid, path), ownerId(gid, path));
  }

  mkdir(path: string, mode: number): void {
    this.#call("mkdir", path, cPath(path), mode);
  }

  symlink(target: string, path: string): void {
    this.#call("symlink", path, cPath(target), cPath(path));
  }

  rename(from: string, to: string): void {
    this.#call("rename", to, cPath(from), cPath(to));
  }

  link(from: string, to: string): void {
    this.#call("link", to, cPath(from), cPath(to));
  }

  unlink(path: string): void {
    this.#call("unlink", path, cPath(path));
  }

  chmod(path: string, mode: number): void {
    this.#call("fchmodat", path, AT_FDCWD, cPath(path), mode, 0);
  }

  chown(path: string, uid: number, gid: number, follow: boolean): void {
    this.#call(
      "fchownat",
      path,
      AT_FDCWD,
      cPath(path),
      ownerId(uid, path),
      ownerId(gid, path),
      follow ? 0 : AT_SYMLINK_NOFOLLOW,
    );
  }

  utimens(path: string, atime: NfsTime, mtime: NfsTime, follow: boolean): void {
    this.#call(
      "utimensat",
      path,
      AT_FDCWD,
      cPath(path),
      timespecs(atime, mtime),
      follow ? 0 : AT_SYMLINK_NOFOLLOW,
    );
  }

  mknod(path: string, mode: number, rdev: { major: number; minor: number }): void {
    this.#call("mknod", path, cPath(path), mode, makedev(rdev.major, rdev.minor));
  }

  access(path: string, mode: number): void {
    this.#call("faccessat", path, AT_FDCWD, cPath(path), mode, 0);
  }

  tryLockExclusive(fd: number): boolean {
    const LOCK_EX = 2;
    const LOCK_NB = 4;
    if (Number(this.#fn.flock(fd, LOCK_EX | LOCK_NB)) === 0) return true;
    const errno = this.#ffi.readInt32(this.#fn.__errno_location());
    if (errno === 11) return false; // EWOULDBLOCK: another holds it
    this.#fail("flock", `fd ${fd}`);
  }

  dontNeed(start: bigint, length: bigint): void {
    const MADV_DONTNEED = 4;
    this.#call("madvise", `0x${start.toString(16)}`, start, length, MADV_DONTNEED);
  }

  hungUp(fd: number): boolean {
    const POLLERR = 0x8;
    const POLLHUP = 0x10;
    // struct pollfd { int fd; short events = 0; short revents; }
    const pollfd = new Uint8Array(8);
    const view = new DataView(pollfd.buffer);
    view.setInt32(0, fd, true);
    for (;;) {
      const n = Number(this.#fn.poll(pollfd, 1n, 0));
      if (n !== -1) break;
      if (this.#ffi.readInt32(this.#fn.__errno_location()) !== EINTR) {
        this.#fail("poll", `fd ${fd}`);
      }
    }
    return (view.getInt16(6, true) & (POLLERR | POLLHUP)) !== 0;
  }
}

let loaded: { libc: Libc | undefined } | undefined;

/**
 * The exact libc calls, or undefined where they cannot be made (not Linux
 * with glibc, or FFI not permitted). Loaded once.
 *
 * @example
 * ```ts
 * libc()?.utimens("f", { seconds: -1n, nseconds: 5 }, { seconds: -1n, nseconds: 5 }, true);
 * ```
 */
export function libc(): Libc | undefined {
  if (!loaded) {
    const ffi = loadFfi();
    loaded = { libc: ffi ? new FfiLibc(ffi) : undefined };
  }
  return loaded.libc;
}
