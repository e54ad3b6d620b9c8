/**
 * The entry point of the copy engine: `copy()` with the operand rules of
 * coreutils `cp`, and copies to stdout.
 * @module
 */

import { NfsError } from "../../nfs4/errors.ts";
import { Nfs4Status as S } from "../../nfs4/status.ts";
import {
  CopyError,
  type CopyOptions,
  type CopySummary,
  LocalFileError,
  type Location,
} from "./options.ts";
import type { Side, Writer } from "./side.ts";
import { CopyRun } from "./run.ts";
import { copyFile, copySymlink, type Endpoint } from "./file.ts";
import { canonical, copyTree, isWithin } from "./tree.ts";

/**
 * Copies `sources` to `dest` as `cp [-r] [-p] [-f] [-n] SOURCE... DEST` does:
 * into `dest` when it is an existing directory (several sources need one),
 * else to `dest` itself. Failures of single files or directories go to
 * `onError` and the rest is still copied; a failure that makes the whole
 * command meaningless (several sources and no directory) is thrown.
 */
export async function copy(
  sources: readonly Location[],
  dest: Location,
  options: CopyOptions,
): Promise<CopySummary> {
  const started = performance.now();
  const run = new CopyRun(options);
  try {
    await copyAll(run, sources, dest);
  } finally {
    run.summary.seconds = (performance.now() - started) / 1000;
  }
  return run.summary;
}

async function copyAll(
  run: CopyRun,
  sources: readonly Location[],
  dest: Location,
): Promise<void> {
  if (dest.kind === "stdio") {
    if (sources.length !== 1) throw new CopyError("target '-' is not a directory");
    await copyToStdout(run, sources[0]!);
    return;
  }
  const to = await run.side(dest);
  const destStat = await to.side.stat(to.path, true);
  const intoDirectory = destStat?.kind === "directory";
  if (sources.length > 1 && !intoDirectory) {
    throw new CopyError(
      destStat
        ? `target '${dest.text}' is not a directory`
        : `target '${dest.text}': No such file or directory`,
      { url: to.side.url },
    );
  }
  // Totals for the progress display: the sizes of the operands (trees add theirs).
  run.bytesTotal = 0;
  for (const source of sources) {
    run.checkAbort();
    let side: Side | undefined;
    try {
      if (source.kind === "stdio") {
        side = to.side;
        if (intoDirectory) {
          throw new CopyError(
            `cannot copy stdin into directory '${dest.text}': name the destination file`,
            { url: to.side.url },
          );
        }
        run.bytesTotal = undefined;
        run.filesTotal++;
        run.current = "-";
        const ok = await copyFile(
          run,
          { kind: "stdin", chunks: run.options.stdin ?? emptyChunks() },
          to,
        );
        run.filesDone++;
        if (ok) run.summary.files++;
        else run.summary.skipped++;
        continue;
      }
      const from = await run.side(source);
      side = from.side;
      // Plain cp follows a symlink operand; -r copies it as a symlink.
      const stat = await from.side.stat(from.path, !run.options.recursive);
      if (!stat) {
        throw notFound(from.side, from.path);
      }
      let target = to.path;
      if (destStat && intoDirectory) {
        const name = from.side.basename(from.path.replace(/\/+$/, ""));
        if (name === "" || name === "." || name === "..") {
          throw new CopyError(`cannot copy '${source.text}' into a directory: it has no name`, {
            url: from.side.url,
          });
        }
        target = to.side.join(destStat.path, name);
      }
      const destination: Endpoint = { side: to.side, path: target };
      side = to.side;
      if (stat.kind === "directory") {
        side = from.side;
        if (!run.options.recursive) {
          throw new CopyError(`-r not specified; omitting directory '${source.text}'`, {
            url: from.side.url,
          });
        }
        const fromAbs = { side: from.side, path: await canonical(from.side, stat.path) };
        const toAbs = { side: to.side, path: await canonical(to.side, target) };
        if (isWithin(fromAbs, toAbs)) {
          throw new CopyError(
            `cannot copy a directory, '${source.text}', into itself, '${to.side.display(target)}'`,
            { url: from.side.url },
          );
        }
        await copyTree(run, from, stat, destination);
        continue;
      }
      if (stat.kind === "symlink") {
        const link = stat.linkTarget ?? await from.side.readlink(from.path);
        if (await copySymlink(run, link, destination)) run.summary.symlinks++;
        else run.summary.skipped++;
        continue;
      }
      if (stat.kind !== "file") {
        throw new CopyError(
          `${source.text}: not a regular file, directory or symlink (${stat.kind})`,
          { url: from.side.url },
        );
      }
      run.filesTotal++;
      run.bytesTotal = run.bytesTotal === undefined
        ? undefined
        : run.bytesTotal + Number(stat.size ?? 0n);
      run.current = source.text;
      run.progress();
      const copied = await copyFile(run, { kind: "side", at: from, stat }, destination);
      run.filesDone++;
      if (copied) run.summary.files++;
      else run.summary.skipped++;
    } catch (e) {
      run.fail(e, side);
    }
  }
}

function notFound(side: Side, path: string): Error {
  if (side.kind === "nfs") {
    return new NfsError(S.NFS4ERR_NOENT, "LOOKUP", { path: side.display(path) });
  }
  return new LocalFileError(path, Object.assign(new Error("not found"), { code: "ENOENT" }));
}

async function* emptyChunks(): AsyncIterable<Uint8Array> {}

async function copyToStdout(run: CopyRun, source: Location): Promise<void> {
  const stdout = run.options.stdout;
  if (!stdout) throw new CopyError("no stdout to copy to");
  const writer: Writer = {
    chunkSize: run.tuning.chunkSize,
    write: (chunk) => stdout.write(chunk),
    finish: () => Promise.resolve(),
    abort: () => Promise.resolve(),
  };
  if (source.kind === "stdio") {
    await run.pump(run.options.stdin ?? emptyChunks(), writer);
    run.summary.files++;
    return;
  }
  const from = await run.side(source);
  try {
    const stat = await from.side.stat(from.path, true);
    if (!stat) throw notFound(from.side, from.path);
    if (stat.kind === "directory") {
      throw new CopyError(`${source.text}: cannot copy a directory to stdout`, {
        url: from.side.url,
      });
    }
    run.filesTotal = 1;
    run.bytesTotal = Number(stat.size ?? 0n);
    run.current = source.text;
    const reader = await from.side.openReader(from.path, stat, run.tuning.chunkSize);
    try {
      await run.pump(reader.chunks(), writer);
    } finally {
      await reader.close().catch(() => undefined);
    }
    run.filesDone = 1;
    run.summary.files++;
  } catch (e) {
    if ((e as Error)?.name === "BrokenPipeError") throw e;
    run.fail(e, from.side);
  }
}
