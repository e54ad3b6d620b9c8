/**
 * What a tree holds besides files, directories and symlinks: fifos,
 * sockets and devices, recreated (mknod locally, CREATE on NFS), and hard
 * links between the files copied (`--preserve=links`).
 * @module
 */

import type { CopyRun } from "./run.ts";
import { isSpecial, type Side, type Stat } from "./side.ts";
import { type Endpoint, placeNode } from "./file.ts";
import { applyAttrs, keptTimes, ownershipFor } from "./preserve.ts";

/**
 * Recreates the fifo, socket or device `stat` describes at `dest` (mknod
 * locally, CREATE on NFS), through a temporary name, its owner, mode and
 * times set before it appears. Without `--preserve=mode` its mode is the
 * source's permission bits less the umask, as cp makes it.
 */
export async function copySpecial(
  run: CopyRun,
  from: Side,
  stat: Stat,
  dest: Endpoint,
): Promise<boolean> {
  const kind = stat.kind;
  if (!isSpecial(kind)) throw new Error(`${from.display(stat.path)}: not a special file`);
  const sourceMode = stat.mode ?? 0o644;
  const mode = run.keep.mode ? sourceMode : sourceMode & 0o777 & ~run.umask;
  const shownAs = dest.side.display(dest.path);
  const ownership = await ownershipFor(run, from, dest.side, stat, shownAs);
  return await placeNode(
    run,
    dest,
    (temp) => dest.side.mknod(temp, kind, mode & 0o777, stat.rdev),
    (temp) =>
      applyAttrs(
        run,
        dest.side,
        temp,
        {
          ...ownership,
          // mknod applies the umask and drops set-id bits: the mode is set again.
          mode,
          ...keptTimes(run, from, stat, shownAs),
        },
        { shownAs },
      ),
  );
}

/**
 * Copies a file that may be a hard link of one copied before (`stat.id`
 * seen already, more than one link, `--preserve=links`): then the copy is
 * a LINK (NFS) or link(2) to that one's copy, else `copy` runs and its
 * destination is remembered. Returns what `copy` would, true when linked.
 */
export async function linkOrCopy(
  run: CopyRun,
  stat: Stat,
  dest: Endpoint,
  copy: () => Promise<boolean>,
): Promise<boolean> {
  const id = stat.id;
  if (!run.keep.links || stat.kind === "directory" || (stat.nlink ?? 1) < 2 || id === undefined) {
    return await copy();
  }
  const earlier = run.links.get(id);
  if (earlier) {
    const first = await earlier;
    if (first !== undefined) {
      // Already a link of that copy (a tree copied again): nothing to do. A
      // RENAME between two links of one file would do nothing and leave the
      // temporary (RFC 7530 §16.26.4, rename(2)).
      const [there, copy] = await Promise.all([
        dest.side.stat(dest.path, false),
        dest.side.stat(first, false),
      ]);
      if (there?.id !== undefined && there.id === copy?.id) return true;
      return await placeNode(run, dest, (temp) => dest.side.link(first, temp));
    }
  }
  let settle!: (path: string | undefined) => void;
  run.links.set(id, new Promise((resolve) => settle = resolve));
  try {
    const copied = await copy();
    settle(copied ? dest.path : undefined);
    return copied;
  } catch (e) {
    settle(undefined);
    throw e;
  }
}
