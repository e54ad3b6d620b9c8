/**
 * The file-level API the commands use: plain data types.
 * @module
 */

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
 * are `undefined` (unknown), never an error.
 */
export interface FileInfo {
  /** The last component (for the root of an URL, the last path component or `/`). */
  readonly name: string;
  /** The path from the pseudo-fs root, `/vfs/dir/name`. */
  readonly path: string;
  readonly kind: FileKind;
  /** Permission bits and set-id/sticky bits (07777), without the type. */
  readonly mode: number | undefined;
  readonly nlink: number | undefined;
  /** Owner as the server names it (`1000`, or `user@domain`). */
  readonly owner: string | undefined;
  readonly group: string | undefined;
  readonly size: bigint | undefined;
  readonly spaceUsed: bigint | undefined;
  readonly atime: Date | undefined;
  readonly mtime: Date | undefined;
  readonly ctime: Date | undefined;
  /**
   * The same times to the nanosecond, as the server sent them: nanoseconds
   * since the epoch (`ls -t` orders by them, `--full-time` prints them).
   */
  readonly atimeNs?: bigint | undefined;
  readonly mtimeNs?: bigint | undefined;
  readonly ctimeNs?: bigint | undefined;
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
  readonly filehandle: Uint8Array;
  /** The decoded values, by field (`timeModify`, `spaceTotal`, `fsid`...). */
  readonly values: import("../nfs4/attrs.ts").FileAttributes;
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
