/**
 * A depth-first tree walk on {@linkcode Nfs4ClientApi}: what `nfs4 find`
 * and `nfs4 du` (and anything else that visits a tree) are built on.
 *
 * - Each directory is listed with READDIR, and what is known of each entry
 *   comes from the attributes READDIR returned with it: no GETATTR is sent
 *   per entry. Only the starting point is looked up (`stat`), and, when
 *   asked to follow symlinks, the symlinks met (`stat` with `follow`).
 * - A directory is listed completely before any of its entries is visited,
 *   in the server's READDIR order (as fts(3) does for find and du), so no
 *   READDIR cookie is held across a long sub-walk.
 * - Directories are yielded before their contents (`order: "pre"`, find's
 *   default) or after them (`"post"`: `find -depth`, du). In pre-order the
 *   consumer may {@linkcode WalkEntry.prune} a directory before it is read.
 * - Symlinks are never followed unless asked (`follow`); a directory that
 *   is one of its own ancestors (same fileid; a loop made by following
 *   symlinks, or a server that presents one) is reported, not entered.
 * - A directory that cannot be read is reported as a {@linkcode WalkFailure}
 *   and the walk goes on with the next entry, as find and du do. So is one
 *   whose listing names an entry twice ({@linkcode listDirectory}): a server
 *   whose READDIR cookies go round in a circle would otherwise fill memory
 *   forever.
 *
 * A failure to find the starting point itself is thrown by the iterator's
 * first `next()`, so the caller reports it as it reports any failure of a
 * URL. Breaking out of the loop ends the walk (`find -quit`).
 *
 * @example
 * ```ts
 * for await (const item of walk(client, "/vfs/src", { order: "post" })) {
 *   if (item.kind === "failure") console.error(item.path, item.error);
 *   else console.log(item.depth, item.path, item.info.spaceUsed);
 * }
 * ```
 * @module
 */

import { NfsError } from "../nfs4/errors.ts";
import type { Nfs4ClientApi } from "./api.ts";
import { hasStatus } from "./has_status.ts";
import { childPath } from "./names.ts";
import type { FileInfo } from "./types.ts";

/** How {@linkcode walk} goes through a tree. */
export interface WalkOptions {
  /**
   * `pre` (default): a directory is yielded before its contents; `post`:
   * after them (its contents are then final when it is seen).
   */
  readonly order?: "pre" | "post";
  /**
   * Nothing deeper than this is yielded, and directories at this depth are
   * not read (the starting point is depth 0): `find -maxdepth`. Default: no
   * limit.
   */
  readonly maxDepth?: number;
  /**
   * Which symlinks to follow: `never` (default; a symlink is an entry like
   * any other, `find -P`, `du -P`), `start` (only the starting point,
   * `-H`), `always` (every one, `-L`; a dangling symlink stays a symlink).
   */
  readonly follow?: "never" | "start" | "always";
  /**
   * Asked before a directory is read, in either order: false leaves it
   * unread (it is still yielded, without its contents). `du` uses it to
   * skip a directory it has already counted.
   */
  readonly descend?: (entry: WalkEntry) => boolean;
  /**
   * The walk is for a command that changes what it reaches (`chmod -R`,
   * `chown -R`, `find -delete`): the starting directory, as resolved, is
   * guarded while the walk lasts (`Nfs4ClientApi.guardTree`,
   * lib/client/tree_guard.ts), so neither the walk nor the command's own
   * calls on the paths it yields follow a symlink inside the tree (one may
   * have replaced a directory since it was listed). Not with `follow:
   * "always"`, which follows them on purpose. The guard ends when the walk
   * does: run to its end, or closed (`return()`, which a `for await` loop
   * calls when it breaks or throws).
   */
  readonly guardTree?: boolean;
}

/** One file or directory the walk reached. */
export interface WalkEntry {
  readonly kind: "entry";
  /**
   * What READDIR said of it (for the starting point, what `stat` said). A
   * followed symlink has the attributes of what it points to, with its own
   * name and path.
   */
  readonly info: FileInfo;
  /**
   * The path to hand to the client: the starting path (without a trailing
   * `/`) and the names below it, joined with `/` (a client path,
   * lib/client/names.ts).
   */
  readonly path: string;
  /** The names from the starting point down to this entry (empty for the start). */
  readonly names: readonly string[];
  /** 0 for the starting point, 1 for its entries, and so on. */
  readonly depth: number;
  /**
   * In pre-order: do not read this directory (`find -prune`). Has no effect
   * on anything else, nor in post-order (the contents were already walked).
   */
  prune(): void;
}

/** A directory that could not be read, or that would have closed a loop. */
export interface WalkFailure {
  readonly kind: "failure";
  /** The directory's path, as {@linkcode WalkEntry.path}. */
  readonly path: string;
  readonly names: readonly string[];
  readonly depth: number;
  /** Why: the client's error (an `NfsError` such as NFS4ERR_ACCESS), or a {@linkcode WalkLoopError}. */
  readonly error: unknown;
}

/** What the walk yields, in order. */
export type WalkItem = WalkEntry | WalkFailure;

/**
 * A directory that is its own ancestor (the same fileid): entering it would
 * never end. Carries both paths; its message starts with `path: `, as the
 * CLI's errors do.
 */
export class WalkLoopError extends Error {
  /** The directory not entered. */
  readonly path: string;
  /** The ancestor it is the same directory as. */
  readonly ancestor: string;

  constructor(path: string, ancestor: string) {
    super(`${path}: File system loop detected; it is the same directory as ${ancestor}`);
    this.name = "WalkLoopError";
    this.path = path;
    this.ancestor = ancestor;
  }
}

/**
 * A directory's listing named an entry twice: the server's READDIR went
 * back to where it had been (its cookies go round in a circle), and reading
 * on would never end. Its message starts with `path: `, as the CLI's errors do.
 */
export class ListingLoopError extends Error {
  /** The directory being listed. */
  readonly path: string;

  constructor(path: string, name: string) {
    super(`${path}: the server listed '${name}' twice (its READDIR goes round in a circle)`);
    this.name = "ListingLoopError";
    this.path = path;
  }
}

/**
 * Every entry of directory `path`, READDIR to the end, in the server's
 * order: what {@linkcode walk} and lib/client/remove_tree.ts read before
 * visiting or removing anything in a directory. A listing that names an
 * entry twice is a {@linkcode ListingLoopError}, so a server that loops
 * costs a failure, not all the memory there is.
 *
 * A directory whose handle the server calls stale or expired part way
 * through the listing (NFS4ERR_STALE, NFS4ERR_FHEXPIRED: replaced, a
 * volatile handle expired, a server restart) is listed once more from the
 * start: the client does not start a listing again once it handed entries
 * out (Nfs4Client.readdirPages), but nothing of this one was used yet, and
 * a new listing walks the path again. A second such failure is the
 * answer, naming the directory.
 */
export async function listDirectory(
  client: Pick<Nfs4ClientApi, "readdir">,
  path: string,
): Promise<FileInfo[]> {
  for (let listings = 0;; listings++) {
    const children: FileInfo[] = [];
    const names = new Set<string>();
    try {
      for await (const info of client.readdir(path)) {
        if (names.has(info.name)) throw new ListingLoopError(path, info.name);
        names.add(info.name);
        children.push(info);
      }
      return children;
    } catch (error) {
      // Before any entry came, the client's own walk again was the answer.
      const partWay = children.length > 0;
      if (listings > 0 || !partWay || !hasStatus(error, "NFS4ERR_STALE", "NFS4ERR_FHEXPIRED")) {
        throw error;
      }
    }
  }
}

/** `start` without trailing slashes (`/` stays `/`), to put names after. */
function basePath(start: string): string {
  const trimmed = start.replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed;
}

class Entry implements WalkEntry {
  readonly kind = "entry" as const;
  pruned = false;
  constructor(
    readonly info: FileInfo,
    readonly path: string,
    readonly names: readonly string[],
    readonly depth: number,
  ) {}
  prune(): void {
    this.pruned = true;
  }
}

/** A directory being walked: its entry and what READDIR listed in it. */
interface Frame {
  readonly entry: Entry;
  readonly children: readonly FileInfo[];
  next: number;
}

/**
 * Walks the tree at `start` (a client path; a trailing `/` follows a
 * symlink there, as the client's methods do), depth first. See the module
 * documentation.
 */
export async function* walk(
  client: Nfs4ClientApi,
  start: string,
  options: WalkOptions = {},
): AsyncGenerator<WalkItem, void, undefined> {
  const follow = options.follow ?? "never";
  const rootInfo = await client.stat(start, { follow: follow !== "never" });
  // `rootInfo.path` has the symlinks above the start (and the start itself
  // with -H or a trailing `/`) resolved: those the user chose to follow.
  const release = options.guardTree && follow !== "always" && rootInfo.kind === "directory"
    ? client.guardTree?.(rootInfo.path)
    : undefined;
  try {
    yield* walkFrom(client, start, rootInfo, options);
  } finally {
    release?.();
  }
}

/** {@linkcode walk} once its starting point is known (`rootInfo`). */
async function* walkFrom(
  client: Nfs4ClientApi,
  start: string,
  rootInfo: FileInfo,
  options: WalkOptions,
): AsyncGenerator<WalkItem, void, undefined> {
  const order = options.order ?? "pre";
  const maxDepth = options.maxDepth ?? Infinity;
  const follow = options.follow ?? "never";
  const stack: Frame[] = [];

  /**
   * Opens `entry`: reads it when it is a directory to go into (pushing a
   * frame), or yields the failure that stops it. Yields nothing else.
   */
  async function* open(entry: Entry): AsyncGenerator<WalkItem, boolean, undefined> {
    if (entry.info.kind !== "directory" || entry.depth >= maxDepth || entry.pruned) return false;
    if (options.descend && !options.descend(entry)) return false;
    const fileid = entry.info.fileid;
    if (fileid !== undefined) {
      // The same object: the same fileid on the same file system (an
      // export's root and a directory of another may share a fileid).
      const fsid = entry.info.fsid;
      const ancestor = stack.find((frame) =>
        frame.entry.info.fileid === fileid && frame.entry.info.fsid === fsid
      );
      if (ancestor) {
        yield failure(entry, new WalkLoopError(entry.path, ancestor.entry.path));
        return false;
      }
    }
    let children: FileInfo[];
    try {
      children = await listDirectory(client, entry.path);
    } catch (error) {
      yield failure(entry, error);
      return false;
    }
    stack.push({ entry, children, next: 0 });
    return true;
  }

  /** Visits `entry`: yields it (before or after its contents) and opens it. */
  async function* visit(entry: Entry): AsyncGenerator<WalkItem, void, undefined> {
    if (order === "pre") yield entry;
    const opened = yield* open(entry);
    if (!opened && order === "post") yield entry;
  }

  yield* visit(new Entry(rootInfo, basePath(start), [], 0));
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const info = frame.children[frame.next++];
    if (info === undefined) {
      stack.pop();
      if (order === "post") yield frame.entry;
      continue;
    }
    const path = childPath(frame.entry.path, info.name);
    const names = [...frame.entry.names, info.name];
    const depth = frame.entry.depth + 1;
    if (info.attrError !== undefined) {
      // Listed, but the server could not get its attributes (rdattr_error):
      // a failure to report, as find and du report a file they cannot stat,
      // not an entry of unknown kind walked past in silence.
      yield failure(
        new Entry(info, path, names, depth),
        new NfsError(info.attrError, "READDIR", { path }),
      );
      continue;
    }
    let seen = info;
    if (follow === "always" && info.kind === "symlink") {
      // Only a symlink that leads somewhere is replaced by what it points
      // to; a dangling one stays itself, as find -L and chmod -RL take it
      // (nothing there: NOENT, NOTDIR). Any other failure to look through
      // it (a loop, no permission, the server) is reported, not taken for
      // dangling: the tree behind it would be passed over in silence.
      try {
        const target = await client.stat(path, { follow: true });
        seen = { ...target, name: info.name, path: info.path };
      } catch (error) {
        if (!hasStatus(error, "NFS4ERR_NOENT", "NFS4ERR_NOTDIR")) {
          yield failure(new Entry(info, path, names, depth), error);
          continue;
        }
      }
    }
    yield* visit(new Entry(seen, path, names, depth));
  }
}

function failure(entry: WalkEntry, error: unknown): WalkFailure {
  return { kind: "failure", path: entry.path, names: entry.names, depth: entry.depth, error };
}
