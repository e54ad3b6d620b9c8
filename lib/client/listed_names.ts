/**
 * The names a server lists in a directory, held to what a name can be
 * before anything acts on them.
 * @module
 */

import { displayByteString } from "../nfs4/names.ts";

/**
 * What is wrong with `name` as one entry of a directory listing, or
 * undefined when it is a name. An empty name, or one holding `/` or a NUL
 * byte, is no single path component: handed on, `dir/a/b` would be looked
 * up as two components (a `cp -r` to a local directory would write, an
 * `rm -r` would remove, somewhere else than the entry listed), and `..`
 * would leave the directory. The Linux VFS fails a listing with such a name
 * (EIO, fs/readdir.c verify_dirent_name); `.` and `..` themselves are not
 * entries NFSv4 lists (RFC 7530 §16.24, RFC 8881 §18.23) and are dropped
 * by {@linkcode checkListedNames}.
 */
export function listedNameProblem(name: string): string | undefined {
  if (name === "") return "an empty name";
  if (name.includes("/")) return "a name holding '/'";
  if (name.includes("\0")) return "a name holding a NUL byte";
  return undefined;
}

/**
 * `entries` without `.` and `..`; throws, naming the directory and the
 * name, at an entry whose name is not one ({@linkcode listedNameProblem}).
 */
export function checkListedNames<T extends { readonly name: string }>(
  dir: string,
  entries: readonly T[],
): readonly T[] {
  let dots = 0;
  for (const entry of entries) {
    const name = entry.name;
    if (name === "." || name === "..") {
      dots++;
      continue;
    }
    const problem = listedNameProblem(name);
    if (problem !== undefined) {
      throw new Error(
        `${dir}: the server listed an entry with ${problem} (${
          JSON.stringify(displayByteString(name))
        }): not a file name (I/O error)`,
      );
    }
  }
  return dots === 0 ? entries : entries.filter((e) => e.name !== "." && e.name !== "..");
}
