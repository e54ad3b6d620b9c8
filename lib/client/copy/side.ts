/**
 * What a copy reads from and writes to: a `Side` (the local file system or
 * one NFS server's), its readers and writers, and the attributes they share.
 * @module
 */

import { Buffer } from "node:buffer";
import type { NfsTime } from "../../nfs4/types.ts";
import type { FileKind } from "../types.ts";
import type { NfsUrl } from "../url.ts";

/** Attributes of a file, the same for local and NFS files. */
export interface Stat {
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

export interface DirEntry extends Stat {
  readonly name: string;
}

/** Times and mode to give a copy. */
export interface FinalAttrs {
  readonly mode: number;
  readonly mtime?: NfsTime | undefined;
  readonly atime?: NfsTime | undefined;
}

/** Reads one file start to end; each chunk is the caller's to keep. */
export interface Reader {
  chunks(): AsyncIterable<Uint8Array>;
  /** Reads `length` bytes at `offset` again (for a resend after a server restart). */
  readAt(offset: bigint, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Reads again what was read before; the source must still hold it. */
export type Reread = (offset: bigint, length: number) => Promise<Uint8Array>;

/** Writes one file from the start; `write` takes ownership of the chunk. */
export interface Writer {
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
