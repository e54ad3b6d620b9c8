/**
 * Where the file system holding a path starts: the path, from the server's
 * pseudo-fs root, of its topmost directory with the same fsid (RFC 7530
 * §5.8.1.9, RFC 8881 §5.8.1.9): an export such as `/vfs` on Ganesha, what
 * a mount of `HOST:/vfs` would show as its source (`nfs4 df`, `%m` of
 * `nfs4 stat`); and whether a path is such a root, which `rm -r`, `rmdir -p`
 * and `find -delete` will not remove.
 * @module
 */

import { NfsError } from "../nfs4/errors.ts";
import type { Nfs4ClientApi } from "./api.ts";
import type { AttributeReport, Fsid } from "./types.ts";

function sameFsid(a: Fsid | undefined, b: Fsid | undefined): boolean {
  return a !== undefined && b !== undefined && a.major === b.major && a.minor === b.minor;
}

/** `/a/b/c` → `/a/b`; `/a` → `/`; `/` → undefined. */
function parentPath(path: string): string | undefined {
  const trimmed = path.replace(/\/+$/, "");
  if (trimmed === "") return undefined;
  const slash = trimmed.lastIndexOf("/");
  return slash <= 0 ? "/" : trimmed.slice(0, slash);
}

/**
 * The path of the root of the file system holding the object of `report`
 * (its `info.path`, symlinks already resolved): its ancestors are asked for
 * their fsid from the bottom up, and the last one with the same fsid is the
 * root. Undefined when the server does not give fsids. An ancestor the
 * server refuses to describe (an NFS error) ends the walk where it is: the
 * answer is then the highest directory known to be on the same file
 * system. Other failures (a dead server, an interrupt) are thrown.
 */
export async function fileSystemRoot(
  client: Nfs4ClientApi,
  report: AttributeReport,
): Promise<string | undefined> {
  const fsid = report.values.fsid;
  if (fsid === undefined) return undefined;
  let root = report.info.kind === "directory" ? report.info.path : parentPath(report.info.path);
  if (root === undefined) return "/";
  if (root !== report.info.path) {
    // The object is not a directory: its directory is on its file system (a
    // file is never a mount point of its own on an NFS server).
    const dir = await attributesOf(client, root);
    if (!sameFsid(dir?.values.fsid, fsid)) return report.info.path;
  }
  for (;;) {
    const parent = parentPath(root);
    if (parent === undefined) return root;
    const above = await attributesOf(client, parent);
    if (!sameFsid(above?.values.fsid, fsid)) return root;
    root = parent;
  }
}

/**
 * Whether `path` is the root of the pseudo file system or of an export: an
 * object whose fsid differs from its parent's (RFC 7530 §7.7: each export
 * is a file system of its own). A final symlink is followed unless `follow`
 * is false (it is then judged itself: a symlink is never a root); the
 * parent is that of the path the object really has, after symlinks.
 * Without fsids only the pseudo-fs root is known to be one.
 */
export async function isFileSystemRoot(
  client: Pick<Nfs4ClientApi, "attributes">,
  path: string,
  options: { readonly follow?: boolean } = {},
): Promise<boolean> {
  const self = await client.attributes(path, { follow: options.follow ?? true });
  const parent = parentPath(self.info.path);
  if (parent === undefined) return true;
  const above = await client.attributes(parent, { follow: true });
  const a = self.values.fsid;
  const b = above.values.fsid;
  if (a === undefined || b === undefined) return false;
  return !sameFsid(a, b);
}

async function attributesOf(
  client: Nfs4ClientApi,
  path: string,
): Promise<AttributeReport | undefined> {
  try {
    return await client.attributes(path, { follow: false });
  } catch (err) {
    if (err instanceof NfsError) return undefined;
    throw err;
  }
}
