/**
 * The file-level API the commands use: plain data types.
 * @module
 */

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
  /** For symlinks, when it was read. */
  readonly linkTarget?: string | undefined;
  /** Device numbers for block and char devices. */
  readonly rdev?: { readonly major: number; readonly minor: number } | undefined;
}

/** Which NFSv4 minor version to speak. */
export type VersionChoice = "4.0" | "4.1" | "4.2" | "auto";
