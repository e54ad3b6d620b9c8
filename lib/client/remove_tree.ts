/**
 * Removing files and trees through the {@linkcode Nfs4ClientApi}: what
 * `nfs4 rm -r`, `rmdir` and `find -delete` need: whatever is there now.
 *
 * The walk is depth first. Each directory is read to the end (READDIR until
 * eof) before anything in it is removed: a READDIR cookie may no longer
 * name the same position once entries have gone (RFC 7530 §16.24 leaves it
 * to the server), so removing while reading could skip entries. A failure
 * at one entry is reported and the walk goes on with its siblings; the
 * directories above it are then kept (they cannot be empty), without
 * another error for them, as coreutils `rm` does. Symbolic links are never
 * followed: a link is removed, not what it points to.
 *
 * Every entry is reached again by its path (the API reads and removes by
 * path, not by filehandle), so a directory someone replaces by a symlink
 * after it was listed would be read and emptied through the link. The top
 * of a directory tree is therefore guarded while it is removed
 * (`guardTree`, lib/client/tree_guard.ts): the client's walk then refuses
 * to follow a symlink inside it, and the entry fails with NFS4ERR_SYMLINK
 * (reported, its directories kept) instead of reaching outside the tree.
 *
 * `mv` across file systems removes its source with move_tree.ts instead,
 * and must: it removes exactly the entries its check verified, from the
 * listing the check made (on a local side or an NFS one), never a fresh
 * READDIR, so that an entry that appeared meanwhile stays. What the two
 * share, "a directory goes once everything in it went", is a few lines;
 * what differs is what each is for (rm's prompts, `-f`, REMOVEs in
 * parallel; mv's fixed list and local rmdir of names that are not UTF-8).
 * @module
 */

import type { Nfs4ClientApi } from "./api.ts";
import { NfsError, PathError } from "./errors.ts";
import { hasStatus } from "./has_status.ts";
import type { FileInfo } from "./types.ts";
import { listDirectory } from "./walk.ts";
import { Nfs4Status } from "../nfs4/status.ts";

/** What removing needs of a client. */
export type RemovingClient = Pick<Nfs4ClientApi, "stat" | "readdir" | "remove" | "guardTree">;

/** One object the walk meets. */
export interface TreeEntry {
  /** Its path as the client's methods take it (the top may end in `/`). */
  readonly path: string;
  /** The names from the top of the walk down to it (empty for the top). */
  readonly names: readonly string[];
  /** What is known of it: READDIR's attributes for entries, a stat for the top. */
  readonly info: FileInfo;
}

/** How {@linkcode removeTree} proceeds and reports. */
export interface RemoveTreeOptions {
  /**
   * Asked before going into a directory that has entries (`"descend"`) and
   * before removing anything (`"remove"`; for a directory once it is empty).
   * A `false` keeps the entry, and so every directory above it (`rm -i`).
   */
  readonly confirm?: (entry: TreeEntry, step: "descend" | "remove") => Promise<boolean>;
  /** Called once `entry` is gone (`rm -v`). */
  readonly onRemoved?: (entry: TreeEntry) => void | Promise<void>;
  /**
   * A failure at `entry` (REMOVE refused, a directory that cannot be read).
   * Its siblings are still removed; the directories above it are kept.
   * Throwing from here ends the walk with that error.
   */
  readonly onError: (err: unknown, entry: TreeEntry) => void | Promise<void>;
  /**
   * An entry that is already gone counts as removed (`rm -f`): NFS4ERR_NOENT,
   * or NFS4ERR_STALE when its path no longer leads anywhere (a directory
   * above it was removed meanwhile). Without it, the latter is reported as
   * {@linkcode DirectoryGoneError}.
   */
  readonly ignoreMissing?: boolean;
  /** Aborting stops the walk before its next operation, with the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * REMOVEs of the non-directories of one directory in flight at once
   * (default {@linkcode DEFAULT_CONCURRENCY}; 1 with `confirm`).
   */
  readonly concurrency?: number;
}

/** REMOVEs in flight at once by default: enough to hide the round trips. */
export const DEFAULT_CONCURRENCY = 8;

/** `dir` + `/` + `name`, for a `dir` that may end in `/`. */
export function childPath(dir: string, name: string): string {
  return `${dir.replace(/\/+$/, "")}/${name}`;
}

/**
 * Removes `top` and, when it is a directory, everything in it, depth first.
 * `top.info` says what it is (a stat that did not follow a final symlink,
 * or followed it when the path ends in `/`). Resolves to whether `top` is
 * gone. Only the options' `onError` hears of failures. A directory `top`
 * is guarded while it is removed: the walk follows no symlink inside it
 * (see the module documentation).
 *
 * @example
 * ```ts
 * const info = await client.stat("/vfs/old");
 * await removeTree(client, { path: "/vfs/old", names: [], info }, {
 *   onError: (err) => console.error(String(err)),
 * });
 * ```
 */
export async function removeTree(
  client: RemovingClient,
  top: TreeEntry,
  options: RemoveTreeOptions,
): Promise<boolean> {
  // `info.path` is the top as the client resolved it (symlinks above it,
  // or the one `link/` names, already followed: the user's choice).
  const release = top.info.kind === "directory" ? client.guardTree?.(top.info.path) : undefined;
  try {
    return await removeEntry(client, top, options);
  } finally {
    release?.();
  }
}

async function removeEntry(
  client: RemovingClient,
  entry: TreeEntry,
  options: RemoveTreeOptions,
  walkedAgain = false,
): Promise<boolean> {
  options.signal?.throwIfAborted();
  // A stale handle where the path still leads to something: that entry
  // once more from its path (see failed()).
  const again = walkedAgain ? undefined : () => removeEntry(client, entry, options, true);
  let info = entry.info;
  if (info.kind === "unknown") {
    // The server did not say what it is: ask, so a directory is emptied first.
    try {
      info = await client.stat(entry.path);
      entry = { ...entry, info };
    } catch (err) {
      return await failed(client, err, entry, options, again);
    }
  }
  if (info.kind === "directory") {
    let children: FileInfo[];
    try {
      children = await listDirectory(client, entry.path);
    } catch (err) {
      return await failed(client, err, entry, options, again);
    }
    if (children.length > 0) {
      if (options.confirm && !await options.confirm(entry, "descend")) return false;
      const entries = children.map((child) => ({
        path: childPath(entry.path, child.name),
        names: [...entry.names, child.name],
        info: child,
      }));
      // Files, symlinks and the like several at a time (each REMOVE is a
      // round trip), then the directories one by one, depth first, so no
      // more than one directory's listing is being removed at once. With
      // prompts (or a width of 1): one at a time, in READDIR order.
      const width = options.confirm ? 1 : Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
      const leaves = width === 1
        ? []
        : entries.filter((e) => e.info.kind !== "directory" && e.info.kind !== "unknown");
      const rest = entries.filter((e) => !leaves.includes(e));
      let emptied = true;
      let next = 0;
      let stop = false;
      const worker = async () => {
        while (!stop && next < leaves.length) {
          try {
            const removed = await removeEntry(client, leaves[next++]!, options);
            emptied &&= removed;
          } catch (err) {
            stop = true; // the others take no new entry
            throw err;
          }
        }
      };
      // Every worker has stopped before an error ends the walk: nothing
      // goes on being removed behind the caller's back.
      const settled = await Promise.allSettled(
        Array.from({ length: Math.min(width, leaves.length) }, worker),
      );
      for (const outcome of settled) if (outcome.status === "rejected") throw outcome.reason;
      for (const one of rest) {
        const removed = await removeEntry(client, one, options);
        emptied &&= removed;
      }
      // Something inside stays, so this directory must too (no second error).
      if (!emptied) return false;
    }
  }
  if (options.confirm && !await options.confirm(entry, "remove")) return false;
  options.signal?.throwIfAborted();
  try {
    await removePath(client, entry.path, info.kind === "directory");
  } catch (err) {
    return await failed(client, err, entry, options, again);
  }
  await options.onRemoved?.(entry);
  return true;
}

async function failed(
  client: RemovingClient,
  err: unknown,
  entry: TreeEntry,
  options: RemoveTreeOptions,
  again: (() => Promise<boolean>) | undefined,
): Promise<boolean> {
  if (options.signal?.aborted) throw options.signal.reason;
  if (options.ignoreMissing && hasStatus(err, "NFS4ERR_NOENT")) return true;
  if (err instanceof NfsError && err.statusName === "NFS4ERR_STALE") {
    if (await isGone(client, entry)) {
      // A handle on the way to the entry went stale because a directory
      // above it was removed meanwhile (another `rm -r` of the same tree):
      // the entry went with it, as ENOENT would say on a local disk.
      if (options.ignoreMissing) return true;
      err = new DirectoryGoneError(err);
    } else if (again) {
      // The path still leads to something (a server's name cache that has
      // not caught up with a removal in progress: Ganesha's, at times):
      // walked again once, as the Linux VFS retries a path call on ESTALE.
      // The operation the stale handle was for did not run (RFC 7530
      // §4.2.3: the handle no longer names an object).
      return await again();
    }
  }
  await options.onError(err, entry);
  return false;
}

/**
 * Whether `entry` is no longer there, asked by its path after a stale
 * handle (NFS4ERR_STALE, RFC 7530 §4.2.3: the object the handle named was
 * removed): only a LOOKUP's NFS4ERR_NOENT or NFS4ERR_NOTDIR on the way
 * counts, so a handle stale for another reason (an export changed on the
 * server) stays the failure it is.
 */
async function isGone(client: RemovingClient, entry: TreeEntry): Promise<boolean> {
  try {
    await client.stat(entry.path.replace(/\/+$/, "") || "/");
    return false;
  } catch (err) {
    return hasStatus(err, "NFS4ERR_NOENT", "NFS4ERR_NOTDIR");
  }
}

/**
 * An entry met through a stale handle whose path then no longer leads
 * anywhere: a directory above it was removed while the walk was in it.
 * Said as coreutils would say it (`No such file or directory`), keeping
 * the NFS status the server answered.
 */
export class DirectoryGoneError extends NfsError {
  /** `stale`, the NFS4ERR_STALE met, told as the entry being gone. */
  constructor(stale: NfsError) {
    super(stale.status, stale.op, {
      path: stale.path,
      cause: stale,
      opIndex: stale.opIndex,
      answeredResend: stale.answeredResend,
    });
    this.message = `${stale.path ?? stale.op}: No such file or directory: ` +
      `a directory above it was removed meanwhile (${stale.statusName})`;
  }
}

/**
 * REMOVE of `path` itself (`directory`: what was found there is one). A
 * path ending in `/` must name a directory that is not a symlink (as
 * rmdir(2) of `link/` fails with ENOTDIR): REMOVE takes a name, and would
 * remove the link. `find link/ -delete` needs this too.
 */
export async function removePath(
  client: RemovingClient,
  path: string,
  directory: boolean,
): Promise<void> {
  const bare = path.replace(/\/+$/, "");
  if (bare !== path && bare !== "") {
    if (!directory || (await client.stat(bare)).kind !== "directory") {
      throw new NfsError(Nfs4Status.NFS4ERR_NOTDIR, "REMOVE", { path });
    }
  }
  await client.remove(bare === "" ? path : bare);
}

/**
 * Removes the empty directory `path` and nothing else (`rmdir`): anything
 * but a directory fails with NFS4ERR_NOTDIR before REMOVE is sent (REMOVE
 * would take a file as well, RFC 7530 §16.25). A symlink, even to a
 * directory, is not one (`link/` naming a directory: "Symbolic link not
 * followed", as coreutils says); a directory with entries gives
 * NFS4ERR_NOTEMPTY.
 */
export async function removeDirectory(
  client: Pick<Nfs4ClientApi, "stat" | "remove">,
  path: string,
): Promise<void> {
  const bare = path.replace(/\/+$/, "");
  const info = await client.stat(bare === "" ? "/" : bare);
  if (info.kind === "symlink" && bare !== path) {
    // `link/` that names a directory: rmdir(2) refuses it; coreutils says why.
    const target = await client.stat(path).catch(() => undefined);
    if (target?.kind === "directory") throw new PathError(path, "Symbolic link not followed");
  }
  if (info.kind !== "directory") {
    throw new NfsError(Nfs4Status.NFS4ERR_NOTDIR, "REMOVE", { path });
  }
  await client.remove(bare === "" ? path : bare);
}
