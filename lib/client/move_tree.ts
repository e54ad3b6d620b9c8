/**
 * The trees of a move between file systems (`nfs4 mv` across servers, to or
 * from a local path, or across exports of one server): listing a source and
 * its copy, checking the copy against the source before the source may go,
 * putting back the times the check's reads changed, and removing a tree
 * bottom-up.
 *
 * The check is the rule that lets a move delete anything: the copy has the
 * same entries as the source (names, kinds), every regular file has the
 * same size and the same bytes (both read back to the end and compared by
 * SHA-256, the copy read from its server after its COMMIT), every symlink
 * the same target, every device the same numbers. Any difference, or any
 * failure to read either side, is a {@linkcode VerifyError}: the source
 * stays.
 *
 * Removal takes exactly the entries that were checked, deepest first
 * (children in name order, then their directory), never a fresh listing: an
 * entry that appeared in the source after the check is not removed, and the
 * directory holding it then fails "Directory not empty". This is why it is
 * not remove_tree.ts (`rm -r`), which removes what a READDIR finds now.
 * @module
 */

import * as fs from "node:fs/promises";
import { hasEscapedBytes } from "../nfs4/names.ts";
import { libc, O } from "../os/libc.ts";
import { dirnamePath } from "./copy/local_path.ts";
import { LocalFileError } from "./copy/options.ts";
import { builtin } from "../os/builtins.ts";
import { temporaryName } from "./copy/run.ts";
import type { Side, Stat } from "./copy/side.ts";

/** One entry of a tree, with its attributes as listed (before anything read it). */
export interface TreeNode {
  /** The path below the root, `/`-separated (`""` for the root). */
  readonly rel: string;
  /** The path on its side. */
  readonly path: string;
  readonly stat: Stat;
  /** A directory's entries, in name order (empty for anything else). */
  readonly children: readonly TreeNode[];
}

/** The copy differs from its source: the source must stay. */
export class VerifyError extends Error {
  /** The entry below the root that differs (`""` for the root itself). */
  readonly rel: string;
  readonly reason: string;

  constructor(rel: string, reason: string, options?: ErrorOptions) {
    super(`${rel === "" ? "." : rel}: ${reason}`, options);
    this.name = "VerifyError";
    this.rel = rel;
    this.reason = reason;
  }
}

/**
 * The tree under `path` (not following symlinks), each directory's entries
 * in name order; `stat` is the root's when already known. The attributes of
 * each entry are read before the entry itself is listed or read.
 */
export async function walkTree(side: Side, path: string, stat?: Stat): Promise<TreeNode> {
  const root = stat ?? await side.stat(path, false);
  if (!root) throw new VerifyError("", "no longer there");
  const visit = async (rel: string, at: string, st: Stat): Promise<TreeNode> => {
    if (st.kind !== "directory") return { rel, path: at, stat: st, children: [] };
    const entries = [];
    for await (const entry of side.list(at)) entries.push(entry);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const children: TreeNode[] = [];
    for (const entry of entries) {
      children.push(
        await visit(
          rel === "" ? entry.name : `${rel}/${entry.name}`,
          side.join(at, entry.name),
          entry,
        ),
      );
    }
    return { rel, path: at, stat: st, children };
  };
  return await visit("", path, root);
}

/** Every node, each directory before its entries (the order a copy makes them). */
export function preorder(node: TreeNode): TreeNode[] {
  const out: TreeNode[] = [];
  const visit = (n: TreeNode) => {
    out.push(n);
    for (const child of n.children) visit(child);
  };
  visit(node);
  return out;
}

/** Every node, each directory after its entries (the order they can be removed in). */
export function postorder(node: TreeNode): TreeNode[] {
  const out: TreeNode[] = [];
  const visit = (n: TreeNode) => {
    for (const child of n.children) visit(child);
    out.push(n);
  };
  visit(node);
  return out;
}

/** Where one tree lives. */
export interface TreeAt {
  readonly side: Side;
  readonly path: string;
}

/** Files read back at once while checking (each on both sides). */
const CHECK_PARALLEL = 4;

/**
 * Checks that the tree at `copy` is a faithful copy of the tree at `source`
 * (see the module comment); throws {@linkcode VerifyError} naming the first
 * difference, or the failure that kept a file from being read. Returns
 * both trees as listed, for the removal and the times.
 */
export async function verifyCopy(
  source: TreeAt,
  copy: TreeAt,
  options: { readonly chunkSize?: number; readonly signal?: AbortSignal } = {},
): Promise<{ source: TreeNode; copy: TreeNode }> {
  const chunkSize = options.chunkSize ?? 1024 * 1024;
  const [from, to] = await Promise.all([
    walkTree(source.side, source.path),
    walkTree(copy.side, copy.path).catch((e) => {
      throw new VerifyError("", `the copy cannot be listed: ${messageOf(e)}`, { cause: e });
    }),
  ]);
  const files: [TreeNode, TreeNode][] = [];
  const compare = async (a: TreeNode, b: TreeNode): Promise<void> => {
    options.signal?.throwIfAborted();
    const rel = a.rel;
    if (a.stat.kind !== b.stat.kind) {
      throw new VerifyError(rel, `a ${a.stat.kind} in the source, a ${b.stat.kind} in the copy`);
    }
    switch (a.stat.kind) {
      case "directory": {
        const copied = new Map(b.children.map((c) => [c.rel, c]));
        const extra = b.children.find((c) => !a.children.some((s) => s.rel === c.rel));
        for (const child of a.children) {
          const other = copied.get(child.rel);
          if (!other) throw new VerifyError(child.rel, "missing from the copy");
          await compare(child, other);
        }
        if (extra) throw new VerifyError(extra.rel, "in the copy but not in the source");
        return;
      }
      case "file":
        if (a.stat.size !== undefined && b.stat.size !== undefined && a.stat.size !== b.stat.size) {
          throw new VerifyError(
            rel,
            `size ${a.stat.size} in the source, ${b.stat.size} in the copy`,
          );
        }
        files.push([a, b]);
        return;
      case "symlink": {
        const [x, y] = await Promise.all([
          a.stat.linkTarget ?? source.side.readlink(a.path),
          b.stat.linkTarget ?? copy.side.readlink(b.path),
        ]);
        if (x !== y) throw new VerifyError(rel, "symlink targets differ");
        return;
      }
      case "char":
      case "block": {
        const x = a.stat.rdev;
        const y = b.stat.rdev;
        if (!x || !y || x.major !== y.major || x.minor !== y.minor) {
          throw new VerifyError(rel, "device numbers differ");
        }
        return;
      }
      default:
        return;
    }
  };
  await compare(from, to);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const [a, b] = files[next++]!;
      options.signal?.throwIfAborted();
      const [x, y] = await Promise.all([
        digest(source.side, a, chunkSize).catch((e) => {
          throw new VerifyError(a.rel, `cannot read the source: ${messageOf(e)}`, { cause: e });
        }),
        digest(copy.side, b, chunkSize).catch((e) => {
          throw new VerifyError(b.rel, `cannot read the copy back: ${messageOf(e)}`, { cause: e });
        }),
      ]);
      if (x.size !== y.size) {
        throw new VerifyError(a.rel, `${x.size} bytes in the source, ${y.size} in the copy`);
      }
      if (a.stat.size !== undefined && BigInt(x.size) !== a.stat.size) {
        throw new VerifyError(a.rel, "the source changed while it was moved");
      }
      if (x.sha256 !== y.sha256) throw new VerifyError(a.rel, "contents differ");
    }
  };
  await Promise.all(Array.from({ length: Math.min(CHECK_PARALLEL, files.length) }, worker));
  return { source: from, copy: to };
}

/** Size and SHA-256 of a file, read to its end. */
async function digest(
  side: Side,
  node: TreeNode,
  chunkSize: number,
): Promise<{ size: number; sha256: string }> {
  const reader = await side.openReader(node.path, node.stat, chunkSize);
  const hash = builtin("node:crypto").createHash("sha256");
  let size = 0;
  try {
    for await (const chunk of reader.chunks()) {
      hash.update(chunk);
      size += chunk.length;
    }
  } finally {
    await reader.close().catch(() => undefined);
  }
  return { size, sha256: hash.digest("hex") };
}

/**
 * Gives every file and directory of `tree` back the access and modification
 * times it was listed with (reading it back to check it moved its access
 * time); symlinks too on a local side (NFS servers may not set a symlink's
 * times, which the copy already warned of).
 */
export async function restoreTimes(side: Side, tree: TreeNode): Promise<void> {
  for (const node of postorder(tree)) {
    const { mtime, atime, kind } = node.stat;
    if (!mtime || !atime) continue;
    if (kind === "symlink" && side.kind !== "local") continue;
    await side.setAttrs(node.path, { mtime, atime }, false);
  }
}

/** What {@linkcode removeTree} did. */
export interface Removal {
  /** Entries removed. */
  removed: number;
  /** Failures (each reported); their directories were left alone. */
  failed: number;
}

/**
 * Removes the entries of `tree` deepest first; a directory is removed only
 * when each of its entries was. Each removal is told to `onRemoved`, each
 * failure to `onError`, and the rest goes on.
 */
export async function removeTree(
  side: Side,
  tree: TreeNode,
  handlers: {
    readonly onRemoved?: (node: TreeNode) => void;
    readonly onError: (error: unknown, node: TreeNode) => void;
    readonly signal?: AbortSignal | undefined;
    /**
     * Each entry is looked at again just before its removal and kept when it
     * is no longer what was listed ({@linkcode changedSince}): a move's
     * source, checked against its copy, must not lose a file written or
     * replaced since (an editor saving by write-then-rename).
     */
    readonly unchanged?: boolean;
  },
): Promise<Removal> {
  const result: Removal = { removed: 0, failed: 0 };
  const visit = async (node: TreeNode): Promise<boolean> => {
    let all = true;
    for (const child of node.children) {
      if (!await visit(child)) all = false;
    }
    if (!all) return false;
    handlers.signal?.throwIfAborted();
    try {
      if (handlers.unchanged) {
        const why = changedSince(node.stat, await side.stat(node.path, false));
        if (why !== undefined) throw new Error(why);
      }
      await removeEntry(side, node.path, node.stat.kind === "directory");
    } catch (e) {
      result.failed++;
      handlers.onError(e, node);
      return false;
    }
    result.removed++;
    handlers.onRemoved?.(node);
    return true;
  };
  await visit(tree);
  return result;
}

/**
 * Why `now` is no longer the entry listed as `was`, or undefined when it
 * still is: gone, another object (fileid or inode), another kind, or for
 * anything but a directory (whose mtime its own removals change) another
 * size or mtime. A window stays between this look and the REMOVE: NFSv4 has
 * no conditional REMOVE.
 */
export function changedSince(was: Stat, now: Stat | undefined): string | undefined {
  if (!now) return "gone since it was checked";
  if ((was.id !== undefined && now.id !== was.id) || now.kind !== was.kind) {
    return "replaced since it was copied and checked; kept";
  }
  if (was.kind === "directory") return undefined;
  const sameTime = was.mtime === undefined ||
    (now.mtime !== undefined && now.mtime.seconds === was.mtime.seconds &&
      now.mtime.nseconds === was.mtime.nseconds);
  if (now.size !== was.size || !sameTime) return "changed since it was copied and checked; kept";
  return undefined;
}

/** Removes one file, symlink or empty directory. */
export async function removeEntry(side: Side, path: string, directory: boolean): Promise<void> {
  if (side.kind === "local" && directory) await localRmdir(path);
  else await side.remove(path);
}

/**
 * rmdir(2) of a local directory. The copy engine's local calls (libc.ts)
 * have no rmdir, and node:fs cannot reach a name that is not UTF-8 (see
 * libc.ts): such a directory is renamed (by libc, exact bytes) to a UTF-8
 * name in its parent, which node:fs then reaches through the parent's
 * descriptor (`/proc/self/fd/N/NAME`), and is renamed back if it cannot be
 * removed.
 */
async function localRmdir(path: string): Promise<void> {
  const named = (e: unknown) => new LocalFileError(path, e);
  const c = libc();
  if (!c || !hasEscapedBytes(path)) {
    await fs.rmdir(path).catch((e) => {
      throw named(e);
    });
    return;
  }
  const parent = dirnamePath(path.replace(/\/+$/, ""));
  let fd: number;
  try {
    fd = c.open(parent, O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0);
  } catch (e) {
    throw named(e);
  }
  try {
    const stand = temporaryName("rmdir");
    const standIn = `${parent}/${stand}`;
    try {
      c.rename(path, standIn);
    } catch (e) {
      throw named(e);
    }
    try {
      await fs.rmdir(`/proc/self/fd/${fd}/${stand}`);
    } catch (e) {
      try {
        c.rename(standIn, path);
      } catch {
        // Put back by name failed too: the message says where it is.
        throw new LocalFileError(path, new Error(`cannot remove it; it is left as ${standIn}`));
      }
      throw named(e);
    }
  } finally {
    c.close(fd);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
