/**
 * The process's file mode creation mask, for the commands that create or
 * change modes on the server as a local call would (`mkdir`, `touch`,
 * `truncate`, `chmod` without `ugoa`, `mv` across file systems): NFS
 * applies no umask of its own, so the client applies this one.
 * @module
 */

import process from "node:process";

/** The process's umask (read by setting it and putting it back); 022 when it cannot be read. */
export function currentUmask(): number {
  try {
    return process.umask();
  } catch {
    return 0o022;
  }
}
