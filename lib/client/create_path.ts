/**
 * Where a file named through a dangling symlink is created: `touch link`
 * and `truncate -s N link`, when `link` points at nothing, create what it
 * points at (open(2) with O_CREAT follows the link), not a file in the
 * link's place. OPEN cannot follow a symlink (the server answers
 * NFS4ERR_SYMLINK), so the link chain is followed here, with READLINK.
 * @module
 */

import type { Nfs4ClientApi } from "./api.ts";
import { PathError } from "./errors.ts";
import { hasStatus } from "./has_status.ts";

/** Symlinks followed before giving up, as Linux's MAXSYMLINKS. */
const MAX_LINKS = 40;

/** The directory part of `path` (`/vfs/a/b` → `/vfs/a`). */
function parentOf(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const slash = trimmed.lastIndexOf("/");
  return slash <= 0 ? "/" : trimmed.slice(0, slash);
}

/**
 * The path at which a file named `path` is created: `path` itself, or,
 * when its last component is a symlink (to a symlink...) that leads
 * nowhere, the path of the missing file at the end of the chain. A
 * relative target is taken from the link's directory, an absolute one from
 * the pseudo-fs root (as the client's path walk does).
 *
 * @example
 * ```ts
 * // /vfs/dang -> nowhere
 * await creationPath(client, "/vfs/dang"); // "/vfs/nowhere"
 * ```
 */
export async function creationPath(client: Nfs4ClientApi, path: string): Promise<string> {
  let current = path;
  for (let links = 0; links <= MAX_LINKS; links++) {
    let info;
    try {
      info = await client.stat(current, { follow: false });
    } catch (err) {
      if (hasStatus(err, "NFS4ERR_NOENT")) return current;
      throw err;
    }
    if (info.kind !== "symlink") return current;
    const target = info.linkTarget ?? await client.readlink(current);
    const base = parentOf(current);
    current = target.startsWith("/") ? target : `${base === "/" ? "" : base}/${target}`;
  }
  throw new PathError(path, "Too many levels of symbolic links");
}
