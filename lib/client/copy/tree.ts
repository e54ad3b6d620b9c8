/**
 * Copying a directory tree (`cp -r`): plan, directories first, small files
 * several at a time, directory attributes fixed last.
 * @module
 */

import * as fs from "node:fs/promises";
import * as nodePath from "node:path";
import type { NfsTime } from "../../nfs4/types.ts";
import { CopyError } from "./options.ts";
import type { DirEntry, Side, Stat } from "./side.ts";
import type { CopyRun } from "./run.ts";
import { copyFile, copySymlink, type Endpoint } from "./file.ts";

interface PlanItem {
  readonly source: string;
  readonly dest: string;
  readonly stat: Stat;
}

/** Lists the tree under `root` (pre-order, names sorted); unreadable directories are reported. */
async function planTree(
  run: CopyRun,
  side: Side,
  root: string,
  rootStat: Stat,
  dest: string,
  destSide: Side,
): Promise<PlanItem[]> {
  const items: PlanItem[] = [{ source: root, dest, stat: rootStat }];
  const visit = async (dir: string, destDir: string): Promise<void> => {
    const entries: DirEntry[] = [];
    try {
      for await (const entry of side.list(dir)) entries.push(entry);
    } catch (e) {
      run.fail(e, side);
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      run.checkAbort();
      const item = {
        source: side.join(dir, entry.name),
        dest: destSide.join(destDir, entry.name),
        stat: entry,
      };
      items.push(item);
      if (entry.kind === "directory") await visit(item.source, item.dest);
    }
  };
  await visit(root, dest);
  return items;
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

/** A directory whose mode and times are set once its contents are in place. */
interface DirFixup {
  readonly path: string;
  readonly mode: number | undefined;
  readonly mtime?: NfsTime | undefined;
  readonly atime?: NfsTime | undefined;
}

export async function copyTree(
  run: CopyRun,
  from: Endpoint,
  rootStat: Stat,
  to: Endpoint,
): Promise<void> {
  const items = await planTree(run, from.side, from.path, rootStat, to.path, to.side);
  for (const item of items) {
    if (item.stat.kind === "file") {
      run.filesTotal++;
      if (run.bytesTotal !== undefined) run.bytesTotal += Number(item.stat.size ?? 0n);
    }
  }
  run.progress();
  const failedDirs: string[] = [];
  const fixups: DirFixup[] = [];
  const under = (path: string) =>
    failedDirs.some((dir) => path.startsWith(dir.endsWith("/") ? dir : dir + "/"));
  const report = (e: unknown) => run.fail(e, from.side.kind === "nfs" ? from.side : to.side);
  // Directories are made in order, before anything goes into them; files and
  // symlinks are copied a few at a time.
  const pool = new TaskPool(run.tuning.parallelFiles);
  let warmedUp = false;
  try {
    for (const item of items) {
      run.checkAbort();
      if (under(item.source)) continue;
      const src: Endpoint = { side: from.side, path: item.source };
      const dst: Endpoint = { side: to.side, path: item.dest };
      switch (item.stat.kind) {
        case "directory":
          try {
            const fixup = await makeDirectory(run, item.stat, dst);
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
              if (await copyFile(run, { kind: "side", at: src, stat: item.stat }, dst)) {
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
        default:
          report(
            new CopyError(
              `${
                from.side.display(item.source)
              }: not a regular file, directory or symlink (${item.stat.kind}); skipped`,
              { url: from.side.url },
            ),
          );
      }
    }
  } finally {
    // Even after an abort: each copy in flight removes its temporary.
    await pool.drain().catch(() => undefined);
  }
  await pool.drain();
  // Modes and times last, deepest first: adding entries changes a directory's mtime.
  for (const fixup of fixups.reverse()) {
    run.checkAbort();
    try {
      await to.side.setAttrs(fixup.path, {
        mode: fixup.mode,
        ...(fixup.mtime && fixup.atime ? { mtime: fixup.mtime, atime: fixup.atime } : {}),
      }, true);
    } catch (e) {
      run.fail(e, to.side);
    }
  }
}

/** A symlink of a tree: recreated, with its own times under -p when the target side can. */
async function copyTreeSymlink(
  run: CopyRun,
  side: Side,
  item: PlanItem,
  dst: Endpoint,
): Promise<void> {
  const target = item.stat.linkTarget ?? await side.readlink(item.source);
  if (!await copySymlink(run, target, dst)) {
    run.summary.skipped++;
    return;
  }
  run.summary.symlinks++;
  if (run.preserve && item.stat.mtime && item.stat.atime) {
    // Times of the link itself; not every server or file system can.
    await dst.side.setAttrs(dst.path, {
      mtime: item.stat.mtime,
      atime: item.stat.atime,
    }, false).catch(() => undefined);
  }
}

/** Creates (or reuses) a destination directory; what to set on it at the end. */
async function makeDirectory(
  run: CopyRun,
  source: Stat,
  dest: Endpoint,
): Promise<DirFixup | undefined> {
  const { side } = dest;
  const existing = await side.stat(dest.path, true);
  const sourceMode = source.mode ?? 0o755;
  const mode = run.preserve ? sourceMode : sourceMode & 0o777 & ~run.umask;
  const times = run.preserve && source.mtime && source.atime
    ? { mtime: source.mtime, atime: source.atime }
    : {};
  if (existing) {
    if (existing.kind !== "directory") {
      throw new CopyError(
        `cannot overwrite non-directory '${side.display(dest.path)}' with directory`,
        { url: side.url },
      );
    }
    // An existing directory is merged into; only -p changes it.
    return run.preserve ? { path: dest.path, mode, ...times } : undefined;
  }
  // Writable by us while its contents are copied; the real mode comes last.
  await side.mkdir(dest.path, mode | 0o700);
  run.summary.directories++;
  const needsFix = run.preserve || (mode & 0o700) !== 0o700 || side.kind === "local";
  return needsFix ? { path: dest.path, mode, ...times } : undefined;
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
  if (side.kind !== "local") return path;
  try {
    return await fs.realpath(path);
  } catch {
    const parent = await fs.realpath(nodePath.dirname(path)).catch(() =>
      nodePath.resolve(nodePath.dirname(path))
    );
    return nodePath.join(parent, nodePath.basename(path));
  }
}
