/**
 * The file-level API the commands use: plain data types.
 * @module
 */

// `AttributeValues` is the library's public name (mod.ts) for the decoder's
// own type, defined and documented once in lib/nfs4/attrs.ts.
import type { FileAttributes as AttributeValues } from "../nfs4/attrs.ts";
export type { AttributeValues };
export type { FileAttributes, Fsid, FsLocations } from "../nfs4/attrs.ts";
export type { NfsTime } from "../nfs4/types.ts";

/** The kind of a file, as `ls` and `--json` show it. */
export type FileKind =
  | "file"
  | "directory"
  | "symlink"
  | "block"
  | "char"
  | "socket"
  | "fifo"
  | "attrdir"
  | "namedattr"
  | "unknown";

/**
 * What the client knows of a file. Attributes the server does not support
 * are `undefined` (unknown), never an error. Sizes, file ids and the
 * nanosecond times are bigints (64-bit values), which `JSON.stringify`
 * refuses (`TypeError: Do not know how to serialize a BigInt`): give it a
 * replacer, as the CLI's `--json` does.
 *
 * @example
 * ```ts
 * import { Nfs4Client } from "../../mod.ts";
 *
 * await using client = await Nfs4Client.connect({ host: "127.0.0.1", port: 2049 });
 * const info = await client.stat("/vfs/hello.txt");
 * const json = JSON.stringify(info, (_key, v) => typeof v === "bigint" ? v.toString() : v);
 * console.log(info.kind, info.size, json);
 * ```
 */
export interface FileInfo {
  /** The last component (for the root of an URL, the last path component or `/`). */
  readonly name: string;
  /** The path from the pseudo-fs root, `/vfs/dir/name`. */
  readonly path: string;
  /** What it is: a regular file, a directory, a symlink... (NFSv4 `type`). */
  readonly kind: FileKind;
  /** Permission bits and set-id/sticky bits (07777), without the type. */
  readonly mode: number | undefined;
  /** Hard links to it (`numlinks`). */
  readonly nlink: number | undefined;
  /** Owner as the server names it (`1000`, or `user@domain`). */
  readonly owner: string | undefined;
  /** Group as the server names it (`1000`, or `group@domain`). */
  readonly group: string | undefined;
  /** Size in bytes. */
  readonly size: bigint | undefined;
  /** Bytes of storage it takes (`space_used`: less than `size` when sparse). */
  readonly spaceUsed: bigint | undefined;
  /** Last access (`time_access`), to the millisecond. */
  readonly atime: Date | undefined;
  /** Last change of its data (`time_modify`), to the millisecond. */
  readonly mtime: Date | undefined;
  /** Last change of its data or attributes (`time_metadata`), to the millisecond. */
  readonly ctime: Date | undefined;
  /**
   * The same times to the nanosecond, as the server sent them: nanoseconds
   * since the epoch (`ls -t` orders by them, `--full-time` prints them).
   */
  readonly atimeNs?: bigint | undefined;
  /** {@linkcode mtime} in nanoseconds since the epoch. */
  readonly mtimeNs?: bigint | undefined;
  /** {@linkcode ctime} in nanoseconds since the epoch. */
  readonly ctimeNs?: bigint | undefined;
  /** Its number within its file system (the inode number; unique only with `fsid`). */
  readonly fileid: bigint | undefined;
  /**
   * The file system it is on (fsid4 as `major:minor`): a fileid is unique
   * only within one (RFC 7530 §5.8.1.9), so identity is fsid and fileid.
   */
  readonly fsid?: string | undefined;
  /** The change attribute (RFC 7530 §5.8.1.4): differs after every change to the file. */
  readonly change?: bigint | undefined;
  /** For symlinks, when it was read. */
  readonly linkTarget?: string | undefined;
  /** Device numbers for block and char devices. */
  readonly rdev?: { readonly major: number; readonly minor: number } | undefined;
  /**
   * A listed entry whose attributes the server could not get (READDIR's
   * rdattr_error, RFC 7530 §5.8.1.12, RFC 8881 §5.8.1.12: NFS4ERR_MOVED for
   * a referral, NFS4ERR_ACCESS, NFS4ERR_IO...): that status; its other
   * attributes are then unknown.
   */
  readonly attrError?: number | undefined;
}

/** Which NFSv4 minor version to speak. */
export type VersionChoice = "4.0" | "4.1" | "4.2" | "auto";

/** Every attribute the server has for one object (`nfs4 stat`, `nfs4 df`). */
export interface AttributeReport {
  /** The usual view of the object, as `stat()` gives it. */
  readonly info: FileInfo;
  /** The object's filehandle, as the server gave it. */
  readonly filehandle: Uint8Array;
  /**
   * The decoded values, by field (`timeModify`, `spaceTotal`, `fsid`...),
   * each present when the server returned it (each is in
   * {@linkcode returned} too, by its RFC name).
   */
  readonly values: AttributeValues;
  /** Each attribute returned, in id order, named as the RFCs do (`time_modify`). */
  readonly returned: readonly {
    readonly id: number;
    readonly name: string;
    readonly value: unknown;
  }[];
  /** The server's supported_attrs, by name. */
  readonly supported: readonly string[];
  /**
   * Attributes the server says it supports but whose value is unknown: not
   * returned, refused when asked alone, or in a format this client does not
   * decode.
   */
  readonly unknown: readonly string[];
}
