/**
 * Telling one NFS status from the others, for code that treats a status as
 * an answer rather than a failure: a missing file under `rm -f`, a name
 * that exists for `mkdir -p`, a directory where `head` wanted a file.
 *
 * @example
 * ```ts
 * try {
 *   await client.stat(path);
 * } catch (err) {
 *   if (!hasStatus(err, "NFS4ERR_NOENT", "NFS4ERR_NOTDIR")) throw err;
 * }
 * ```
 * @module
 */

import type { Nfs4StatusName } from "../nfs4/status.ts";
import { NfsError } from "./errors.ts";

/** Whether `err` is an {@linkcode NfsError} with one of the statuses `names`. */
export function hasStatus(err: unknown, ...names: Nfs4StatusName[]): boolean {
  return err instanceof NfsError && (names as string[]).includes(err.statusName);
}
