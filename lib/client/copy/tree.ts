/**
 * Copying a directory tree (`cp -r`): walked twice, a survey (totals, the
 * directories that exist) and then the copy, which takes the survey's
 * listings of a tree on a server where it kept them; directories first,
 * small files several at a time, fifos, sockets and devices recreated, hard
 * links kept with `--preserve=links`, directory attributes fixed last.
 * @module
 */

import { CopyError } from "./options.ts";
import { NfsError } from "../../nfs4/errors.ts";
import { Nfs4Status as S } from "../../nfs4/status.ts";
import { PathError } from "../errors.ts";
import type { DirEntry, Side, Stat } from "./side.ts";
import type { CopyRun } from "./run.ts";
import { copyFile, copySymlink, type Endpoint } from "./file.ts";
import { localFs } from "./local_fs.ts";
import { basenamePath, dirnamePath, joinPath, resolvePath } from "./local_path.ts";
import { applyAttrs, keptTimes, type NodeAttrs, ownershipFor } from "./preserve.ts";
import { copySpecial, linkOrCopy } from "./nodes.ts";
import { KeptListings } from "./kept_listings.ts";

interface PlanItem {
  readonly source: string;
  readonly dest: string;
  readonly stat: Stat;
}

/** How {@linkcode walkTree} goes down a tree. */
interface WalkOptions {
  /** Told of what cannot be listed (an unreadable directory, `-L`'s dangling links, cycles). */
  readonly failed: (error: unknown) => void;
  /** A directory not to go into (its copy failed); asked when its turn comes. */
  readonly prune?: (source: string) => boolean;
  /**
   * Directories (by `Stat.id`) that may be entered: the ones the survey
   * found before anything was copied. A directory with an id not in it
   * appeared during the copy (the destination itself, reached through
   * another name), and is not entered, as a plan made before copying would
   * not have held it.
   */
  readonly known?: ReadonlySet<string> | undefined;
  /** Where the listings this walk reads are kept for a later one (the survey's). */
  readonly keepListings?: KeptListings | undefined;
  /** Listings an earlier walk kept, taken instead of listing again (the copy's). */
  readonly keptListings?: KeptListings | undefined;
}

/**
 * The tree under `root` in the order it is copied: pre-order, names
 * sorted, listed as the walk gets there (or taken from an earlier walk's
 * listings, kept_listings.ts, within their budget). Only the entries of the
 * directories on the way down are held, never the whole tree, so memory
 * does not grow with the number of files (a plan of every entry took ~1.2
 * KB per file: 12 MB for 10,000). With `-L` symlinks are replaced by what
 * they point to (a dangling one is reported; a directory that contains
 * itself is not entered again).
 */
async function* walkTree(
  run: CopyRun,
  side: Side,
  root: string,
  rootStat: Stat,
  dest: string,
  destSide: Side,
  options: WalkOptions,
): AsyncGenerator<PlanItem, void, undefined> {
  const follow = run.follows(false);
  async function* visit(
    dir: string,
    destDir: string,
    ancestors: readonly string[],
  ): AsyncGenerator<PlanItem, void, undefined> {
    let entries: (DirEntry | undefined)[] | undefined = options.keptListings?.take(dir);
    if (entries === undefined) {
      entries = [];
      try {
        for await (const entry of side.list(dir)) entries.push(entry);
      } catch (e) {
        options.failed(e);
        return;
      }
      entries.sort((a, b) => (a!.name < b!.name ? -1 : a!.name > b!.name ? 1 : 0));
      options.keepListings?.keep(dir, entries as DirEntry[]);
    }
    // One name twice in a listing (a broken or hostile server): which entry
    // is it? The first made could be a symlink the second is then copied
    // through. Nothing of the directory is copied.
    for (let i = 1; i < entries.length; i++) {
      if (entries[i]!.name === entries[i - 1]!.name) {
        options.failed(
          new CopyError(
            `${side.display(dir)}: listed ${JSON.stringify(entries[i]!.name)} twice; not copied`,
            { url: side.url },
          ),
        );
        return;
      }
    }
    for (let i = 0; i < entries.length; i++) {
      const listed = entries[i]!;
      entries[i] = undefined; // let each entry go once it is handed out
      run.checkAbort();
      const source = side.join(dir, listed.name);
      let entry: Stat = listed;
      if (follow && listed.kind === "symlink") {
        try {
          const target = await side.stat(source, true);
          if (!target) throw danglingError(side, source);
          entry = { ...target, path: source };
        } catch (e) {
          options.failed(e);
          continue;
        }
      }
      const item = { source, dest: destSide.join(destDir, listed.name), stat: entry };
      if (entry.kind === "directory" && entry.id !== undefined && ancestors.includes(entry.id)) {
        options.failed(
          new CopyError(`${side.display(source)}: directory cycle (contains itself); not copied`, {
            url: side.url,
          }),
        );
        continue;
      }
      if (
        entry.kind === "directory" && entry.id !== undefined && options.known &&
        !options.known.has(entry.id)
      ) {
        continue; // made by this copy: not part of the source as it was
      }
      yield item;
      if (entry.kind === "directory" && !options.prune?.(item.source)) {
        yield* visit(
          item.source,
          item.dest,
          entry.id !== undefined ? [...ancestors, entry.id] : ancestors,
        );
      }
    }
    entries = [];
  }
  yield { source: root, dest, stat: rootStat };
  if (!options.prune?.(root)) {
    yield* visit(root, dest, rootStat.id !== undefined ? [rootStat.id] : []);
  }
}

/** What the survey of a tree found before it is copied. */
interface Survey {
  readonly files: number;
  readonly bytes: number;
  /**
   * The ids of its directories (the ones a copy may enter); undefined when
   * some part could not be listed (then every directory may be entered: one
   * the survey missed must not be skipped without a word).
   */
  readonly directories: ReadonlySet<string> | undefined;
  /** What it listed, for the copy's walk to take. */
  readonly listings: KeptListings;
}

/**
 * Walks the tree once without copying: its files and bytes (the progress
 * display's totals), its directories' ids and, up to a budget, their
 * listings (for the copy's walk, {@linkcode KeptListings}).
 * Failures are left to the copy's own walk to report, in their place.
 */
async function surveyTree(
  run: CopyRun,
  side: Side,
  root: string,
  rootStat: Stat,
): Promise<Survey> {
  let files = 0;
  let bytes = 0;
  let complete = true;
  const directories = new Set<string>();
  const listings = new KeptListings(run.tuning.keptListingBytes);
  const walk = walkTree(run, side, root, rootStat, root, side, {
    failed: () => complete = false,
    ...(side.kind === "nfs" ? { keepListings: listings } : {}),
  });
  for await (const { stat } of walk) {
    if (stat.kind === "file") {
      files++;
      bytes += Number(stat.size ?? 0n);
    } else if (stat.kind === "directory" && stat.id !== undefined) {
      directories.add(stat.id);
    }
  }
  return { files, bytes, directories: complete ? directories : undefined, listings };
}

/** "No such file or directory" for a symlink that points nowhere (`-L`). */
function danglingError(side: Side, path: string): Error {
  return new CopyError(`cannot stat '${side.display(path)}': No such file or directory`, {
    url: side.url,
  });
}

/**
 * Runs tasks with a bounded total weight in flight: small files share the
 * pool, a large one takes all of it (memory stays bounded). A task reports
 * its own failures; what it throws (an abort) is rethrown by `drain`.
 */
class TaskPool {
  readonly #limit: number;
  readonly #running = new Set<Promise<void>>();
  #load = 0;
  #failure: { error: unknown } | undefined;

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  /** Starts `task` once there is room for `weight` (at most the limit). */
  async run(weight: number, task: () => Promise<void>): Promise<void> {
    const w = Math.min(this.#limit, Math.max(1, weight));
    while (this.#running.size > 0 && this.#load + w > this.#limit) {
      await Promise.race(this.#running);
    }
    if (this.#failure) throw this.#failure.error;
    this.#load += w;
    const done: Promise<void> = task().catch((error) => {
      this.#failure ??= { error };
    });
    this.#running.add(done);
    void done.then(() => {
      this.#running.delete(done);
      this.#load -= w;
    });
  }

  /** Waits for every task; rethrows what one threw. */
  async drain(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running);
    if (this.#failure) throw this.#failure.error;
  }
}

/** A directory whose owner, mode and times are set once its contents are in place. */
interface DirFixup extends NodeAttrs {
  readonly path: string;
  /** Keep a set-group-ID bit the directory got from its parent (the mode is not the source's). */
  readonly keepSetgid: boolean;
}

export async function copyTree(
  run: CopyRun,
  from: Endpoint,
  rootStat: Stat,
  to: Endpoint,
): Promise<void> {
  // Walked twice: once for the totals and the directories that exist, then
  // as it is copied, from the first walk's listings (as far as they were
  // kept; the rest are listed again).
  const survey = await surveyTree(run, from.side, from.path, rootStat);
  run.filesTotal += survey.files;
  if (run.bytesTotal !== undefined) run.bytesTotal += survey.bytes;
  run.progress();
  const failedDirs: string[] = [];
  const fixups: DirFixup[] = [];
  const items = walkTree(run, from.side, from.path, rootStat, to.path, to.side, {
    failed: (e) => run.fail(e, from.side),
    prune: (source) => failedDirs.includes(source),
    known: survey.directories,
    keptListings: survey.listings,
  });
  // The destination tree is guarded once its top is there, until its
  // directories' attributes are set: every file goes in by its path, and
  // none may follow a symlink inside the tree (one that replaced a
  // directory the copy made or merged into would take the files elsewhere).
  let release: (() => void) | undefined;
  try {
    await copyTreeItems(run, from, to, items, failedDirs, fixups, (guard) => release = guard);
    // Owners, modes and times last, deepest first: adding entries changes a
    // directory's mtime, and a directory given away may no longer take them.
    for (const fixup of fixups.reverse()) {
      run.checkAbort();
      try {
        let mode = fixup.mode;
        if (fixup.keepSetgid && mode !== undefined) {
          // cp leaves the set-group-ID bit a new directory inherits from its parent.
          const now = await to.side.stat(fixup.path, false);
          mode |= (now?.mode ?? 0) & 0o2000;
        }
        await applyAttrs(
          run,
          to.side,
          fixup.path,
          { ...fixup, mode },
          { shownAs: to.side.display(fixup.path), directory: true },
        );
      } catch (e) {
        run.fail(e, to.side);
      }
    }
  } finally {
    release?.();
  }
}

/**
 * Copies what `items` yields, the top first; `guarded` is given the
 * release of the destination's guard once its top directory is there.
 */
async function copyTreeItems(
  run: CopyRun,
  from: Endpoint,
  to: Endpoint,
  items: AsyncGenerator<PlanItem, void, undefined>,
  failedDirs: string[],
  fixups: DirFixup[],
  guarded: (release: (() => void) | undefined) => void,
): Promise<void> {
  const under = (path: string) =>
    failedDirs.some((dir) => path.startsWith(dir.endsWith("/") ? dir : dir + "/"));
  const report = (e: unknown) => run.fail(e, from.side.kind === "nfs" ? from.side : to.side);
  // Directories are made in order, before anything goes into them; files and
  // symlinks are copied a few at a time.
  const pool = new TaskPool(run.tuning.parallelFiles);
  let warmedUp = false;
  let first = true;
  try {
    for await (const item of items) {
      run.checkAbort();
      const isTop = first;
      first = false;
      if (under(item.source)) continue;
      const src: Endpoint = { side: from.side, path: item.source };
      const dst: Endpoint = { side: to.side, path: item.dest };
      switch (item.stat.kind) {
        case "directory":
          try {
            const fixup = await makeDirectory(
              run,
              from.side,
              item.stat,
              dst,
              from.side.display(item.source),
            );
            if (isTop && to.side.guardTree) {
              // The top, made or merged into: guarded as the client resolves
              // it, its own name not followed (makeDirectory took no symlink
              // for it; one put there since is not the tree, and guarding
              // where it points would let files follow it).
              const top = await to.side.stat(item.dest, false);
              if (top?.kind !== "directory") {
                throw new CopyError(
                  `cannot overwrite non-directory '${to.side.display(item.dest)}' with directory '${
                    from.side.display(item.source)
                  }'`,
                  { url: to.side.url },
                );
              }
              guarded(to.side.guardTree(top.path));
            }
            if (fixup) fixups.push(fixup);
          } catch (e) {
            failedDirs.push(item.source);
            report(e);
          }
          break;
        case "file": {
          const size = Number(item.stat.size ?? 0n);
          // The first file goes alone: on 4.0 its OPEN confirms the open
          // owner, and OPENs racing a fresh owner's OPEN_CONFIRM fail with
          // NFS4ERR_BAD_STATEID (the state layer does not hold them back).
          const weight = size <= run.tuning.smallFileBytes && warmedUp ? 1 : Infinity;
          warmedUp = true;
          await pool.run(weight, async () => {
            run.current = from.side.display(item.source);
            run.progress();
            try {
              const copied = await linkOrCopy(
                run,
                item.stat,
                dst,
                () => copyFile(run, { kind: "side", at: src, stat: item.stat }, dst),
              );
              if (copied) {
                run.summary.files++;
              } else {
                run.summary.skipped++;
              }
            } catch (e) {
              report(e);
            } finally {
              run.filesDone++;
            }
          });
          break;
        }
        case "symlink":
          await pool.run(1, async () => {
            try {
              await copyTreeSymlink(run, from.side, item, dst);
            } catch (e) {
              report(e);
            }
          });
          break;
        case "fifo":
        case "socket":
        case "char":
        case "block":
          // Recreated, as cp -r does (never opened: a fifo would block, a device be read).
          await pool.run(1, async () => {
            try {
              const copied = await linkOrCopy(
                run,
                item.stat,
                dst,
                () => copySpecial(run, from.side, item.stat, dst),
              );
              if (copied) {
                run.summary.specials++;
                await run.copied(from.side, item.source, dst.side, dst.path);
              } else {
                run.summary.skipped++;
              }
            } catch (e) {
              report(e);
            }
          });
          break;
        default:
          if (item.stat.attrError !== undefined) {
            // Listed, but its attributes could not be had (rdattr_error):
            // a failure, not a special file left out in silence.
            report(item.stat.attrError);
            break;
          }
          run.skipSpecial(
            `${
              from.side.display(item.source)
            }: not a regular file, directory or symlink (${item.stat.kind}); skipped`,
            from.side,
          );
      }
    }
  } finally {
    // Even after an abort: each copy in flight removes its temporary.
    await pool.drain().catch(() => undefined);
  }
  await pool.drain();
}

/** A symlink of a tree: recreated, with its own owner and times as kept. */
async function copyTreeSymlink(
  run: CopyRun,
  side: Side,
  item: PlanItem,
  dst: Endpoint,
): Promise<void> {
  const copied = await linkOrCopy(
    run,
    item.stat,
    dst,
    () => keepSymlink(run, side, item.stat, dst),
  );
  if (!copied) {
    run.summary.skipped++;
    return;
  }
  run.summary.symlinks++;
  await run.copied(side, item.source, dst.side, dst.path);
}

/**
 * Recreates the symlink `stat` describes at `dest` with its owner and times
 * (as kept) set on the link itself before it appears; times a side cannot
 * give a symlink are a warning.
 */
export async function keepSymlink(
  run: CopyRun,
  from: Side,
  stat: Stat,
  dest: Endpoint,
): Promise<boolean> {
  const target = stat.linkTarget ?? await from.readlink(stat.path);
  const shownAs = dest.side.display(dest.path);
  const attrs: NodeAttrs = {
    ...await ownershipFor(run, from, dest.side, stat, shownAs),
    ...keptTimes(run, from, stat, shownAs),
  };
  const keeps = attrs.owner !== undefined || attrs.group !== undefined || attrs.mtime;
  return await copySymlink(
    run,
    target,
    dest,
    keeps
      ? (temp) => applyAttrs(run, dest.side, temp, attrs, { shownAs, symlink: true })
      : undefined,
  );
}

/**
 * Creates (or reuses) a destination directory; what to set on it at the
 * end. Without `--preserve=mode` it gets the source's permission and
 * sticky bits less the umask (set-id bits are not copied, a set-group-ID
 * bit inherited from the parent stays), as cp makes it.
 */
async function makeDirectory(
  run: CopyRun,
  from: Side,
  source: Stat,
  dest: Endpoint,
  sourceName: string,
): Promise<DirFixup | undefined> {
  const { side } = dest;
  // Not followed: the name is this copy's (`DIR/NAME` under the directory
  // typed, or a name inside the tree), and a symlink there would take the
  // tree somewhere the user never named. GNU cp lstat()s the destination of
  // a directory (copy.c copy_internal) and says "cannot overwrite
  // non-directory" for a symlink; only the DIR typed was followed, by
  // copy().
  const existing = await side.stat(dest.path, false);
  const sourceMode = source.mode ?? 0o755;
  const keep = run.keep;
  const mode = keep.mode ? sourceMode : sourceMode & 0o1777 & ~run.umask;
  const attrs = {
    ...keptTimes(run, from, source, side.display(dest.path)),
    ...await ownershipFor(run, from, side, source, side.display(dest.path)),
  };
  const kept = keep.mode || keep.timestamps || keep.ownership;
  if (existing) {
    if (existing.kind !== "directory") {
      throw new CopyError(
        `cannot overwrite non-directory '${
          side.display(dest.path)
        }' with directory '${sourceName}'`,
        { url: side.url },
      );
    }
    // An existing directory is merged into; only -p (--preserve) changes it.
    // One this copy made for an earlier operand holds files now (`cp -r a/d
    // b/d DEST`): they are replaced as any existing file is.
    run.forgetDirectory(side, dest.path);
    if (!kept) return undefined;
    return { path: dest.path, mode: keep.mode ? mode : undefined, keepSetgid: false, ...attrs };
  }
  // Writable by us while its contents are copied; the real mode comes last.
  await side.mkdir(dest.path, (mode & 0o1777) | 0o700);
  run.madeDirectory(side, dest.path);
  run.summary.directories++;
  await run.copied(undefined, sourceName, side, dest.path);
  const needsFix = kept || (mode & 0o700) !== 0o700 || (mode & 0o1000) !== 0 ||
    side.kind === "local";
  return needsFix ? { path: dest.path, mode, keepSetgid: !keep.mode, ...attrs } : undefined;
}

/** Whether `inner` is `outer` or below it on the same side. */
export function isWithin(outer: Endpoint, inner: Endpoint): boolean {
  if (outer.side.kind !== inner.side.kind) return false;
  if (outer.side.url && inner.side.url) {
    const a = outer.side.url;
    const b = inner.side.url;
    if (a.host !== b.host || a.port !== b.port) return false;
  }
  const base = outer.path.endsWith("/") ? outer.path : outer.path + "/";
  return inner.path === outer.path || inner.path.startsWith(base);
}

/** `path` with symlinks resolved as far as it exists (local paths made absolute). */
export async function canonical(side: Side, path: string): Promise<string> {
  if (side.kind !== "local") return await resolvedOnServer(side, path);
  try {
    return await localFs.realpath(path);
  } catch {
    const parent = await localFs.realpath(dirnamePath(path)).catch(() =>
      resolvePath(dirnamePath(path))
    );
    return joinPath(parent, basenamePath(path));
  }
}

/**
 * `path` on a server with the symlinks of its nearest existing ancestor
 * resolved (that ancestor's path as the walk that followed them gives it),
 * the names below it joined on: what realpath(3) does locally, so that
 * `cp -r a la/sub/new`, `la` a link to `a`, is seen to be inside `a`. A
 * name on the way that is no directory, or a symlink loop, ends it: `path`
 * as it is (nothing can be made below such a name; the copy meets that
 * failure itself). Any other failure (a server that did not answer, a
 * status such as NFS4ERR_DELAY) fails the copy: the check is not passed
 * without an answer, or a directory could be copied into itself.
 */
async function resolvedOnServer(side: Side, path: string): Promise<string> {
  const below: string[] = [];
  for (let at = path;;) {
    let found: Stat | undefined;
    try {
      found = await side.stat(at, true);
    } catch (e) {
      if (endsTheWalk(e)) return path;
      throw e;
    }
    if (found) return below.reduceRight((dir, name) => side.join(dir, name), found.path);
    const up = side.dirname(at);
    if (up === at) return path;
    below.push(side.basename(at));
    at = up;
  }
}

/** A lookup's failure that says no directory can be below the name (resolvedOnServer). */
function endsTheWalk(e: unknown): boolean {
  if (e instanceof PathError) return true; // too many symbolic links (ELOOP)
  return e instanceof NfsError && NO_DIRECTORY_BELOW.has(e.status);
}

/** Statuses of a lookup that say the name is no directory to go through (endsTheWalk). */
const NO_DIRECTORY_BELOW: ReadonlySet<number> = new Set([
  S.NFS4ERR_NOTDIR,
  S.NFS4ERR_SYMLINK,
  S.NFS4ERR_NAMETOOLONG,
]);
