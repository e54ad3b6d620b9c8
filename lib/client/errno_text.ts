/**
 * The words of strerror(3) for the system error codes node:fs, node:net and
 * lib/os/libc.ts give (`ENOSPC` → "No space left on device"): how every
 * local failure is told, by the copy's {@linkcode LocalFileError}
 * (copy/options.ts) as by the CLI's stdout and trace-file errors, so that
 * each reads as coreutils would print it whatever runtime raised it (Deno's
 * message is "No space left on device (os error 28)", Node's and Bun's
 * "ENOSPC: no space left on device, write").
 * @module
 */

const ERRNO_TEXT: Readonly<Record<string, string>> = {
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
  EBADF: "Bad file descriptor",
};

/**
 * strerror(3)'s text for `code` (`"ENOSPC"`), or undefined for a code not
 * listed (or none).
 *
 * ```ts
 * errnoText("ENOSPC"); // "No space left on device"
 * ```
 */
export function errnoText(code: unknown): string | undefined {
  return typeof code === "string" && Object.hasOwn(ERRNO_TEXT, code) ? ERRNO_TEXT[code] : undefined;
}
