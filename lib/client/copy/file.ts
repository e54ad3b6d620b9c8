/**
 * Copying one file or symlink: through a temporary name in the destination's
 * directory, renamed onto the final name once its data is durable and its
 * attributes are set.
 * @module
 */

import { NfsError } from "../../nfs4/errors.ts";
import { CopyError, LocalFileError } from "./options.ts";
import type { Reader, Side, Stat } from "./side.ts";
import { type CopyRun, finalAttrs, temporaryName } from "./run.ts";

export interface Endpoint {
  readonly side: Side;
  readonly path: string;
}

/** Where the data of one file comes from. */
type FileSource =
  | { readonly kind: "side"; readonly at: Endpoint; readonly stat: Stat }
  | { readonly kind: "stdin"; readonly chunks: AsyncIterable<Uint8Array> };

const STDIN_STAT: Stat = {
  kind: "file",
  size: undefined,
  mode: 0o666,
  mtime: undefined,
  atime: undefined,
  id: undefined,
  path: "-",
};

/**
 * Copies one regular file to `dest` on a side: checks the destination like
 * cp, writes a temporary next to it, renames it into place. Returns false
 * when `noClobber` left an existing file alone.
 */
export async function copyFile(run: CopyRun, source: FileSource, dest: Endpoint): Promise<boolean> {
  const { side } = dest;
  let target = dest.path;
  let existing = await side.stat(target, false);
  if (existing?.kind === "symlink") {
    // cp writes through a symlink at the destination.
    const followed = await side.stat(target, true);
    if (!followed) {
      throw new CopyError(`not writing through dangling symlink '${side.display(target)}'`, {
        url: side.url,
      });
    }
    existing = followed;
    target = followed.path;
  }
  const sourceStat = source.kind === "side" ? source.stat : STDIN_STAT;
  if (existing) {
    if (existing.kind === "directory") {
      throw new CopyError(
        `cannot overwrite directory '${side.display(target)}' with non-directory`,
        { url: side.url },
      );
    }
    if (source.kind === "side" && existing.id !== undefined && existing.id === sourceStat.id) {
      throw new CopyError(
        `'${source.at.side.display(source.at.path)}' and '${
          side.display(target)
        }' are the same file`,
        { url: side.url },
      );
    }
    if (run.options.noClobber) return false;
    try {
      await side.checkWritable(target);
    } catch (e) {
      if (!run.options.force || side.isNotFound(e)) throw e;
      // -f: remove what cannot be opened, then copy as if it never was.
      await side.remove(target);
      existing = undefined;
    }
  }
  const attrs = finalAttrs(run, sourceStat, existing);
  // The source first: one that cannot be read costs no temporary.
  let reader: Reader | undefined;
  let chunks: AsyncIterable<Uint8Array>;
  if (source.kind === "side") {
    reader = await run.abortable(
      source.at.side.openReader(source.at.path, source.stat, run.tuning.chunkSize),
    );
    chunks = reader.chunks();
  } else {
    chunks = source.chunks;
  }
  const temp = side.join(side.dirname(target), temporaryName(side.basename(target)));
  const creating = side.create(temp);
  creating.catch(() => undefined); // a failure is seen below, or does not matter after an abort
  let placed = false;
  try {
    const writer = await run.abortable(creating).catch((e) => {
      throw renamePath(e, side, temp, target);
    });
    const open = reader;
    if (open) writer.useSource?.((offset, length) => open.readAt(offset, length));
    const size = await run.pump(chunks, writer);
    await run.abortable(writer.finish(attrs, size));
    if (run.options.noClobber) {
      placed = await run.abortable(side.renameNoReplace(temp, target, writer));
      return placed;
    }
    await run.abortable(side.rename(temp, target));
    placed = true;
    return true;
  } catch (e) {
    throw renamePath(e, side, temp, target);
  } finally {
    if (!placed) {
      // Also when an abort came while the temporary was being created: it
      // goes first, it is what must not stay behind.
      await quietly(creating.then(async (writer) => {
        await quietly(side.remove(temp));
        await quietly(writer.abort());
      }));
    }
    if (reader) await quietly(reader.close());
  }
}

/** How long cleanup after a failure may wait for a server (which may be gone). */
const CLEANUP_TIMEOUT_MS = 5000;

/**
 * Waits for `promise` at most `CLEANUP_TIMEOUT_MS`, ignoring its failure:
 * cleanup after a failure must not hold the command up when a server is gone.
 */
async function quietly(promise: Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CLEANUP_TIMEOUT_MS);
  });
  try {
    await Promise.race([promise.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A failure about the temporary is reported as being about the destination. */
function renamePath(error: unknown, side: Side, temp: string, target: string): unknown {
  if (error instanceof NfsError && error.path !== undefined) {
    if (error.path === temp) return error.withPath(target);
    if (error.path === side.display(temp)) return error.withPath(side.display(target));
  }
  if (error instanceof LocalFileError && error.path === temp) {
    return new LocalFileError(target, error.cause);
  }
  return error;
}

/** Recreates a symlink at `dest` (through a temporary name, so it appears at once). */
export async function copySymlink(run: CopyRun, target: string, dest: Endpoint): Promise<boolean> {
  const { side } = dest;
  const existing = await side.stat(dest.path, false);
  if (existing) {
    if (existing.kind === "directory") {
      throw new CopyError(
        `cannot overwrite directory '${side.display(dest.path)}' with non-directory`,
        { url: side.url },
      );
    }
    if (run.options.noClobber) return false;
  }
  const temp = side.join(side.dirname(dest.path), temporaryName(side.basename(dest.path)));
  try {
    await side.symlink(temp, target);
  } catch (e) {
    throw renamePath(e, side, temp, dest.path);
  }
  try {
    if (run.options.noClobber) return await side.renameNoReplace(temp, dest.path);
    await side.rename(temp, dest.path);
    return true;
  } catch (e) {
    await quietly(side.remove(temp));
    throw renamePath(e, side, temp, dest.path);
  }
}

/** One step of a tree copy, in the order they are done (directories first). */
