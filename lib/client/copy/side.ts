/**
 * What a copy reads from and writes to: a `Side` (the local file system or
 * one NFS server's), its readers and writers, and the attributes they share.
 * @module
 */

import type { Segment } from "./sparse.ts";
import { Buffer } from "node:buffer";
import type { NfsTime } from "../../nfs4/types.ts";
import type { FileKind } from "../types.ts";
import type { NfsUrl } from "../url.ts";
import type { OwnerKind } from "./owners.ts";

/** Attributes of a file, the same for local and NFS files. */
export interface Stat {
  readonly kind: FileKind;
  readonly size: bigint | undefined;
  /** Permission bits (07777). */
  readonly mode: number | undefined;
  readonly mtime: NfsTime | undefined;
  readonly atime: NfsTime | undefined;
  /**
   * Identity for "same file" checks (device and inode, or server, export,
   * fsid where the server gives it, and fileid: nfs_side.ts fileIdentity).
   */
  readonly id: string | undefined;
  /**
   * The file's number on its file system (a local inode, an NFS fileid):
   * with its size and mtime, how a local file and a file of a server are
   * known to be one file seen both ways (file.ts seenBothWays).
   */
  readonly inode?: bigint | undefined;
  /** The path, with symlinks resolved when they were followed. */
  readonly path: string;
  readonly linkTarget?: string | undefined;
  /** Hard links to the file (an overwrite of a file with more than one is done in place). */
  readonly nlink?: number | undefined;
  /**
   * Owner and group as this side names them (local: the decimal uid and
   * gid; NFS: the server's owner strings, `1000` or `user@domain`): what an
   * overwrite gives back to the file it replaces, on the same side.
   */
  readonly owner?: string | undefined;
  readonly group?: string | undefined;
  /** Bytes allocated on disk (local: blocks × 512; NFS: space_used); less than size when sparse. */
  readonly allocated?: bigint | undefined;
  /** Device numbers of a block or character device. */
  readonly rdev?: { readonly major: number; readonly minor: number } | undefined;
  /**
   * A listed entry whose attributes the server could not get (READDIR's
   * rdattr_error): the error to report for it, its path named; its kind is
   * then unknown, and it is not copied.
   */
  readonly attrError?: unknown;
}

export interface DirEntry extends Stat {
  readonly name: string;
}

/** Owner and group as a side names them (undefined: leave as created, or not known). */
export interface Ownership {
  readonly owner?: string | undefined;
  readonly group?: string | undefined;
}

/** Times and mode to give a copy. */
export interface FinalAttrs {
  /** Undefined: leave the mode as it is (an in-place overwrite without `-p`). */
  readonly mode: number | undefined;
  readonly mtime?: NfsTime | undefined;
  readonly atime?: NfsTime | undefined;
  /**
   * `--preserve=ownership`: the source's owner and group as the destination
   * names them (see {@linkcode Side.ownerName}); set before the mode, whose
   * set-id bits a change of owner would clear.
   */
  readonly owner?: string | undefined;
  readonly group?: string | undefined;
}

/** Reads one file start to end; each chunk is the caller's to keep. */
export interface Reader {
  chunks(): AsyncIterable<Uint8Array>;
  /**
   * The file as data and holes, when the source can say where its holes
   * are without reading them (NFSv4.2 SEEK); undefined otherwise.
   */
  segments?(): AsyncIterable<Segment>;
  /** Reads `length` bytes at `offset` again (for a resend after a server restart). */
  readAt(offset: bigint, length: number): Promise<Uint8Array>;
  /**
   * Whether the file changed while it was read, once read to its end: its
   * size, mtime or ctime now differ from those it had when opened. Absent
   * where the side cannot tell (a server's file).
   */
  changedWhileRead?(): Promise<boolean>;
  close(): Promise<void>;
}

/** Reads again what was read before; the source must still hold it. */
export type Reread = (offset: bigint, length: number) => Promise<Uint8Array>;

/** Writes one file from the start; `write` takes ownership of the chunk. */
export interface Writer {
  /** The size of write the destination prefers (sources read in it). */
  readonly chunkSize: number;
  /**
   * Writes `chunk` (it may return before the bytes are out). `done`, when
   * given, is called once the writer no longer holds `chunk`, so its buffer
   * may be reused; a writer that may keep it (NFS: until COMMIT) never calls it.
   */
  write(chunk: Uint8Array, done?: () => void): Promise<void>;
  /**
   * Leaves the next `length` bytes unwritten (a hole: they read as zeros
   * once `finish` has set the size). Only for a file that was empty.
   */
  hole(length: number): Promise<void>;
  /**
   * Gives the file `owner` and `group` (as this side names them), before
   * its data is written: a temporary that replaces a file gets the owner of
   * the file it replaces, or the copy is done in place when it cannot.
   * With `onRefused`, a writer whose file is made only with its data
   * (nfs_create.ts) may give them then, in the same request, and calls
   * `onRefused` from `finish` if they are refused (for the attributes to
   * finish with instead); any other writer gives them now and throws.
   */
  chown(
    owner: string | undefined,
    group: string | undefined,
    onRefused?: OwnerRefusal,
  ): Promise<void>;
  /**
   * Empties a file {@linkcode Side.openExisting} opened where the open
   * itself did not (NFS: the OPEN, then this SETATTR of size 0): the first
   * change to the file, so that a copy knows from when on it is
   * incomplete. Resolves at once when there is nothing to empty.
   */
  empty?(): Promise<void>;
  /** Makes the data durable (NFS: committed), sets `attrs`, closes. */
  finish(attrs: FinalAttrs, size: bigint): Promise<void>;
  /** Stops without finishing; the caller removes the file. */
  abort(): Promise<void>;
  /**
   * For a writer whose file is made only when its data is there: starts
   * nothing more and, once what is in flight has settled, says whether
   * anything was made (the caller has no file to remove when not).
   */
  settle?(): Promise<"nothing made" | "made">;
  /**
   * The source can be read again: the writer need not keep data it may
   * have to send again (NFS: uncommitted WRITEs), so memory stays small.
   */
  useSource?(reread: Reread): void;
  /**
   * Once finished: the owner and group the server answered it holds after
   * the owner given by {@linkcode chown}, when the writer's own requests
   * asked (a GETATTR of `owner` and `owner_group` after that SETATTR, in
   * the same COMPOUND); undefined when they did not. The copy reads them
   * back otherwise (Side.ownership), to compare with what it gave.
   */
  heldOwnership?(): Ownership | undefined;
}

/**
 * What a copy does when the owner it gives a new file is refused: warns (or
 * throws, for a failure that is not a refusal) and says the attributes to
 * finish the file with instead.
 */
export type OwnerRefusal = (error: unknown, attrs: FinalAttrs) => Promise<FinalAttrs>;

/** How {@linkcode Side.create} makes a copy's temporary. */
export interface CreateOptions {
  /**
   * Made at once, not when its data is there (NFSv4.1's one COMPOUND,
   * nfs_create.ts): it is to replace an existing file, and a directory that
   * refuses it, or the owner it is to be given, must be known as such
   * before any data is read (the copy then writes the file itself in
   * place). A new file's owner is given with its data (chown's `onRefused`).
   */
  readonly atOnce?: boolean;
  /**
   * The file's final path (beside the temporary), when the copy will give
   * it that name only while the name is free (`renameNoReplace`): a file
   * made in one COMPOUND may take it in the same COMPOUND (nfs_create.ts),
   * and `renameNoReplace` then only finishes what is left.
   */
  readonly placeAs?: string;
}

/** A file system a copy reads from or writes to: the local one or one NFS server's. */
export interface Side {
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
  /**
   * Creates `path` (which must not exist) for writing: at once, or (NFSv4.1,
   * unless `options.atOnce`) when its data is there, the writer then
   * sending its OPEN with them (nfs_create.ts).
   */
  create(path: string, options?: CreateOptions): Promise<Writer>;
  /**
   * Opens the existing file `path` for writing in place, emptied first (as
   * `cp` opens with O_TRUNC): by the open itself, or, where that takes a
   * request of its own (NFS), by the writer's {@linkcode Writer.empty}. The
   * file keeps its inode, owner, group, mode and hard links. A failed open
   * changed nothing. `special`: `path` is a fifo or a device, written into as
   * a stream, as `cp` does (one write after the other, no holes, no size
   * set); only the local side has such files to write into.
   */
  openExisting(path: string, special?: boolean): Promise<Writer>;
  /** The block size holes are found in (zero blocks of it are not written). */
  readonly holeBlock: number;
  mkdir(path: string, mode: number): Promise<void>;
  symlink(path: string, target: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /**
   * Puts `from` at `to` unless `to` exists (then false); `from` is gone
   * either way. `readOwnership`: the owner and group `writer`'s file holds
   * are wanted afterwards ({@linkcode ownership}); a side that sends a
   * request of the file for this anyway may ask them in it.
   */
  renameNoReplace(
    from: string,
    to: string,
    writer?: Writer,
    readOwnership?: boolean,
  ): Promise<boolean>;
  remove(path: string): Promise<void>;
  /** Can an existing file be opened for writing? Throws the reason when not. */
  checkWritable(path: string): Promise<void>;
  /**
   * Why the existing file `path` must be written into rather than replaced
   * by a renamed temporary, which would not be the same file: it has
   * extended attributes (an ACL, user.*) a new file would not
   * have, or it is a mount root (a bind-mounted file), which rename(2)
   * refuses (EBUSY). Undefined when a temporary can replace it. Absent:
   * never.
   */
  writtenInPlace?(path: string): Promise<"extended attributes" | "mount root" | undefined>;
  setAttrs(
    path: string,
    attrs: { mode?: number | undefined; mtime?: NfsTime; atime?: NfsTime },
    follow: boolean,
  ): Promise<void>;
  /**
   * Whether files on this side can be given a mode (permission bits): false
   * only when the file system `dir` is on is known not to support it (NFS:
   * `mode` missing from its supported_attrs, an ACL-only volume). Such a
   * copy sends no mode, and says so once (preserve.ts modeSettable).
   * Absent: always.
   */
  supportsMode?(dir: string): Promise<boolean>;
  /** Whether a failure means "does not exist". */
  isNotFound(error: unknown): boolean;
  /** Whether a failure means "exists already". */
  isExists(error: unknown): boolean;
  /**
   * Whether a failure means "not allowed" (EACCES, EPERM; NFS4ERR_ACCESS,
   * PERM, BADOWNER): a temporary that cannot be created or given the old
   * owner makes an overwrite go in place.
   */
  isDenied(error: unknown): boolean;
  /**
   * Gives `path` an owner and group as this side names them (undefined
   * leaves one as it is); `follow` false changes a symlink itself. Throws
   * when refused (not permitted, or a name the server does not know).
   */
  setOwner(
    path: string,
    owner: string | undefined,
    group: string | undefined,
    follow: boolean,
  ): Promise<void>;
  /**
   * The owner and group `path` holds now (of the file `writer` wrote, when
   * given: by its handle, or as a request of it already read them), as this
   * side names them: what a copy compares with those it gave
   * (preserve.ts ownershipKept), since a server may answer a SETATTR of
   * `owner` and `owner_group` NFS4_OK, both in its attrsset (RFC 7530
   * §16.32.4), and hold others: its anonymous ids, under root_squash or
   * all_squash. Absent where a change of owner is refused when it is not
   * made (the local side: chown(2) fails EPERM).
   */
  ownership?(path: string, follow: boolean, writer?: Writer): Promise<Ownership>;
  /**
   * The name this side gives an owner (`kind` "user") or group that the
   * side of kind `from` calls `text`; undefined when it has none.
   */
  ownerName(text: string, kind: OwnerKind, from: "local" | "nfs"): Promise<string | undefined>;
  /** Creates a fifo, socket or device `path` (which must not exist) with permission bits `mode`. */
  mknod(
    path: string,
    kind: SpecialKind,
    mode: number,
    rdev: { major: number; minor: number } | undefined,
  ): Promise<void>;
  /** Makes `path` (which must not exist) a hard link to the existing `existing`. */
  link(existing: string, path: string): Promise<void>;
  /**
   * While a tree at `resolvedPath` (a directory's `Stat.path` as `stat`
   * gave it, symlinks resolved) is written or removed: no path into it
   * follows a symlink inside it (`Nfs4ClientApi.guardTree`,
   * lib/client/tree_guard.ts). Returns the function that ends the guard;
   * undefined where paths are not walked by this client (the local side).
   */
  guardTree?(resolvedPath: string): (() => void) | undefined;
}

/** The kinds of special file a copy recreates. */
export type SpecialKind = "fifo" | "socket" | "char" | "block";

/** Whether `kind` is a special file (recreated, not read). */
export function isSpecial(kind: FileKind): kind is SpecialKind {
  return kind === "fifo" || kind === "socket" || kind === "char" || kind === "block";
}

/**
 * A buffer that is about to be filled: not zeroed first (a gigabyte of
 * zeroing is a tenth of a second of CPU the copy does not need).
 */
export function uninitialized(size: number): Uint8Array {
  return Buffer.allocUnsafe(size);
}

export function timeFromDate(date: Date | undefined): NfsTime | undefined {
  if (!date) return undefined;
  const ms = date.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds: BigInt(seconds), nseconds: (ms - seconds * 1000) * 1_000_000 };
}

export function timeFromNs(ns: bigint): NfsTime {
  const seconds = ns >= 0n ? ns / 1_000_000_000n : -((-ns + 999_999_999n) / 1_000_000_000n);
  return { seconds, nseconds: Number(ns - seconds * 1_000_000_000n) };
}

export function timeToSeconds(t: NfsTime): number {
  return Number(t.seconds) + t.nseconds / 1e9;
}
