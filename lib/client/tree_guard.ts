/**
 * The tree guard: while a command changes a tree (`rm -r`, `chmod -R`,
 * `chown -R`, `find -delete`, the removal of an `mv` source, a `cp -r`
 * destination), the client's path walk follows no symlink inside that tree.
 *
 * Why: those commands list a directory, then reach each entry again by its
 * path, and a path walk follows the symlinks it meets, as POSIX path
 * resolution does (POSIX.1-2017 §4.13). Another user who replaces a
 * directory of the tree by a symlink between the listing and the
 * operations on its entries (`sub` → `/export/etc`) would have every later
 * SETATTR, REMOVE or CREATE on `sub/x` land on `/export/etc/x`: a byte
 * changed that the command was not asked to change. coreutils avoids this
 * with fts(3) and `openat`/`unlinkat` on directory descriptors, Linux offers
 * `RESOLVE_BENEATH`/`RESOLVE_NO_SYMLINKS` in openat2(2); NFSv4 has no such
 * LOOKUP flag (a LOOKUP of a symlink's name simply returns the symlink, RFC
 * 7530 §16.13), so the walk itself refuses.
 *
 * A guarded tree is named by its resolved path (symlinks above it already
 * replaced by their targets, as `stat()` gives it in `FileInfo.path`), and
 * compared with the names the walk has resolved so far, so it holds however
 * a path into the tree is spelled. Its top counts too: it was a directory
 * when it was resolved, so a symlink there now replaced it. What is refused
 * is a symlink walked through as a directory (in the middle of a path), or
 * followed at the end of one where the client follows on its own (the
 * directory of a REMOVE or CREATE, a READDIR, an OPEN). Symlinks only named
 * (removed, `lstat`, changed themselves) are not followed and stay allowed,
 * and so is a final symlink whose caller asked `stat` or `setattrPath` to
 * follow it: commands do that only for an entry their listing showed as a
 * symlink (`chown -R -H` dereferencing, as GNU chown does; `cp` writing
 * through one, as coreutils does), never for one listed as a directory.
 * The check costs a prefix comparison per symlink the walk is about to
 * follow, nothing per ordinary component.
 * @module
 */

import { NfsError } from "../nfs4/errors.ts";
import { Nfs4Status } from "../nfs4/status.ts";
import { pathOfNames } from "./names.ts";

/**
 * A symlink inside a tree being changed, met where the walk would have
 * followed it: refused (NFS4ERR_SYMLINK, as a LOOKUP through a symlink is
 * answered, RFC 7530 §16.13.5). `path` names what was asked for; `link` is
 * the symlink as the walk resolved it. The message is
 * `PATH: Symbolic link not followed: 'TOP/…/LINK' is a symlink inside the tree being changed (NFS4ERR_SYMLINK)`.
 */
export class SymlinkInTreeError extends NfsError {
  /** The symlink met, as walked (`/export/shared/sub`). */
  readonly link: string;
  /** The symlink named from the guarded tree's top (`shared/sub`), as the message says it. */
  readonly inTree: string;

  /** The walk of `path` met the symlink `link` (`inTree` from the guarded tree's top). */
  constructor(path: string, link: string, inTree: string, options: { cause?: unknown } = {}) {
    super(Nfs4Status.NFS4ERR_SYMLINK, "LOOKUP", { path, cause: options.cause });
    this.name = "SymlinkInTreeError";
    this.link = link;
    this.inTree = inTree;
    this.message = `${path}: Symbolic link not followed: '${inTree}' is a symlink inside ` +
      `the tree being changed (${this.statusName})`;
  }

  /** The same refusal naming `path` (what the caller asked for), the explanation kept. */
  override withPath(path: string): NfsError {
    if (this.path === path) return this;
    return new SymlinkInTreeError(path, this.link, this.inTree, { cause: this });
  }
}

/**
 * The trees guarded now, each counted (several operands may guard the same
 * one, and each lets go once).
 */
export class TreeGuards {
  readonly #trees = new Map<string, { readonly names: readonly string[]; count: number }>();

  /** Whether any tree is guarded (the walk asks nothing more when none is). */
  get active(): boolean {
    return this.#trees.size > 0;
  }

  /**
   * Guards the tree whose resolved components are `names` until the
   * returned function is called (calling it again does nothing).
   */
  add(names: readonly string[]): () => void {
    // Keyed as a client path: a name holding '/' is no two names (names.ts).
    const key = pathOfNames(names);
    const tree = this.#trees.get(key) ?? { names: [...names], count: 0 };
    tree.count++;
    this.#trees.set(key, tree);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--tree.count === 0) this.#trees.delete(key);
    };
  }

  /**
   * The guarded tree that `link` (a symlink's resolved components, its own
   * name last) is at the top of or inside, if any: the names of the tree.
   */
  holding(link: readonly string[]): readonly string[] | undefined {
    for (const { names } of this.#trees.values()) {
      if (names.length <= link.length && names.every((name, i) => name === link[i])) {
        return names;
      }
    }
    return undefined;
  }
}

/**
 * The refusal for following the symlink `link` (resolved components)
 * inside the guarded tree `tree`, while walking `path`.
 */
export function symlinkInTree(
  path: string,
  link: readonly string[],
  tree: readonly string[],
): SymlinkInTreeError {
  const inTree = link.slice(Math.max(0, tree.length - 1)).join("/");
  return new SymlinkInTreeError(path, pathOfNames(link), inTree);
}
