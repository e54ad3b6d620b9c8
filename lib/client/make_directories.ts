/**
 * Making directories through the {@linkcode Nfs4ClientApi} as mkdir(1)
 * does (`nfs4 mkdir`, and anything that needs `mkdir -p`): one CREATE
 * NF4DIR per directory (RFC 7530 §16.4), parents made from the deepest
 * existing one down, and the set-id and sticky bits set afterwards the way
 * gnulib's make_dir_parents does.
 *
 * Modes are exact: NFS applies no umask, so the caller passes what the
 * umask leaves. A server may drop set-id bits on CREATE (Linux's mkdir(2)
 * ignores them, and Ganesha's VFS export passes the mode to it): they are
 * set again with SETATTR.
 * @module
 */

import type { Nfs4ClientApi } from "./api.ts";
import { NfsError } from "./errors.ts";
import { hasStatus } from "./has_status.ts";
import { Nfs4Status } from "../nfs4/status.ts";

/** What making directories needs of a client. */
export type MakingClient = Pick<Nfs4ClientApi, "stat" | "mkdir" | "setattrPath">;

/** Modes of {@linkcode makeDirectories}. */
export interface MakeDirectoriesOptions {
  /** The mode of the directory itself (07777). */
  readonly mode: number;
  /**
   * The bits `mode` decides (gnulib's mode_bits); bits outside it are left
   * as the server made them (an inherited set-group-ID bit). Default: all.
   */
  readonly modeBits?: number;
  /** Make missing parents with `parentMode` (`mkdir -p`); an existing directory is then fine. */
  readonly parents?: boolean;
  /** The mode of parents made (`-p`). */
  readonly parentMode?: number;
  /** Called with each path made, parents first (`mkdir -v`). */
  readonly onCreated?: (path: string) => void | Promise<void>;
}

/**
 * CREATE the directory `path` with `mode`. A name that exists fails with
 * NFS4ERR_EXIST even where the server would refuse the CREATE for another
 * reason first (Ganesha's pseudo file system answers NFS4ERR_ROFS; a
 * directory we may not write, NFS4ERR_ACCESS): as mkdir(2), which looks the
 * name up first.
 */
export async function makeDirectory(
  client: MakingClient,
  path: string,
  mode: number,
): Promise<void> {
  try {
    await client.mkdir(path, mode);
  } catch (err) {
    if (!hasStatus(err, "NFS4ERR_ROFS", "NFS4ERR_ACCESS", "NFS4ERR_PERM")) throw err;
    const exists = await client.stat(path).then(() => true, () => false);
    if (exists) throw new NfsError(Nfs4Status.NFS4ERR_EXIST, "CREATE", { path, cause: err });
    throw err;
  }
}

/**
 * Makes the directory `path` (absolute from the pseudo-fs root), and with
 * `parents` the missing directories above it. Resolves to whether `path`
 * was made (false: it existed, with `parents`). Special bits: when `mode`
 * has the sticky bit or `modeBits` covers a set-id bit, the directory's
 * mode is then made `(mode it got & ~modeBits) | mode` with SETATTR, as
 * coreutils chmods after mkdir(2). An existing directory (`parents`) is
 * left as it is, its mode too, as coreutils leaves it (gnulib's
 * make_dir_parents with preserve_existing): `mkdir -p -m 1777` of a 0755
 * directory must not make it world-writable.
 *
 * @example
 * ```ts
 * await makeDirectories(client, "/vfs/a/b/c", { mode: 0o755, parents: true, parentMode: 0o755 });
 * ```
 */
export async function makeDirectories(
  client: MakingClient,
  path: string,
  options: MakeDirectoriesOptions,
): Promise<boolean> {
  const components = path.split("/").filter((c) => c !== "" && c !== ".");
  const modeBits = options.modeBits ?? 0o7777;
  const setSpecialBits = async () => {
    if (((modeBits & 0o6000) | (options.mode & 0o1000)) === 0) return;
    const current = (await client.stat(path, { follow: true })).mode ?? 0;
    const wanted = (current & ~modeBits & 0o7777) | (options.mode & 0o7777);
    if (wanted !== current) await client.setattrPath(path, { mode: wanted }, { follow: true });
  };
  if (!options.parents) {
    if (components.length === 0) {
      throw new NfsError(Nfs4Status.NFS4ERR_EXIST, "CREATE", { path });
    }
    await makeDirectory(client, path, options.mode);
    await options.onCreated?.(path);
    await setSpecialBits();
    return true;
  }
  const prefix = (n: number) => "/" + components.slice(0, n).join("/");
  // The deepest path that exists (symlinks followed): made from there down.
  let existing = components.length;
  for (; existing > 0; existing--) {
    try {
      const info = await client.stat(prefix(existing), { follow: true });
      // Something else by the name itself (a file, a dangling symlink is
      // NOENT): its CREATE says so (NFS4ERR_EXIST).
      if (info.kind !== "directory" && existing === components.length) existing--;
      break;
    } catch (err) {
      // Missing, or under something that is not a directory: look higher
      // (the CREATE below that says what is wrong).
      if (!hasStatus(err, "NFS4ERR_NOENT", "NFS4ERR_NOTDIR")) throw err;
    }
  }
  if (existing === components.length) return false;
  for (let n = existing + 1; n <= components.length; n++) {
    const dir = prefix(n);
    const last = n === components.length;
    try {
      await makeDirectory(client, dir, last ? options.mode : options.parentMode ?? options.mode);
    } catch (err) {
      // Made meanwhile by someone else: fine when it is a directory.
      if (!hasStatus(err, "NFS4ERR_EXIST")) throw err;
      const info = await client.stat(dir, { follow: true }).catch(() => undefined);
      if (info?.kind !== "directory") throw err;
      if (last) return false;
      continue;
    }
    await options.onCreated?.(dir);
  }
  await setSpecialBits();
  return true;
}
