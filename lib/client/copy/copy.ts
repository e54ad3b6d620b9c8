/**
 * The entry point of the copy engine: `copy()` with the operand rules of
 * coreutils `cp`, and copies to stdout.
 * @module
 */

import { NfsError } from "../../nfs4/errors.ts";
import { Nfs4Status as S } from "../../nfs4/status.ts";
import type { NfsUrl } from "../url.ts";
import {
  CopyError,
  type CopyOptions,
  type CopySummary,
  LocalFileError,
  type Location,
} from "./options.ts";
import { isSpecial, type Side, type Writer } from "./side.ts";
import { CopyRun, type CopyRunOptions } from "./run.ts";
import { copyFile, type Endpoint } from "./file.ts";
import { canonical, copyTree, isWithin, keepSymlink } from "./tree.ts";
import { copySpecial, linkOrCopy } from "./nodes.ts";
import { localFs } from "./local_fs.ts";

/**
 * How long an aborted copy waits for the operations it gave up on before
 * returning (its caller then closes the clients); well inside the 1.5 s a
 * signal leaves for releasing state.
 */
const ABANDONED_SETTLE_MS = 1000;

/**
 * Copies `sources` to `dest` as `cp [-r] [-p] [-f] [-n] SOURCE... DEST` does:
 * into `dest` when it is an existing directory (several sources need one),
 * else to `dest` itself. Failures of single files or directories go to
 * `onError` and the rest is still copied; a failure that makes the whole
 * command meaningless (several sources and no directory) is thrown.
 * Stopped (`signal`), it throws the signal's reason once what it began has
 * settled, after reporting through `onError` each temporary that may be
 * left and each destination left incomplete (`leftovers`, options.ts).
 *
 * @example
 * ```ts
 * import { copy, Nfs4Client, parseLocation } from "../../../mod.ts";
 *
 * await using client = await Nfs4Client.connect({ host: "127.0.0.1", port: 2049 });
 * const summary = await copy([parseLocation("./photos")], parseLocation("nfs://127.0.0.1/vfs/"), {
 *   recursive: true,
 *   preserve: true,
 *   connect: () => Promise.resolve(client),
 *   onError: (error) => console.error(error),
 * });
 * console.log(`${summary.files} files, ${summary.bytes} bytes`);
 * ```
 */
export function copy(
  sources: readonly Location[],
  dest: Location,
  options: CopyOptions,
): Promise<CopySummary> {
  return copyWith(sources, dest, options);
}

/**
 * {@linkcode copy} with what only this toolkit asks of it
 * (CopyRunOptions.writeDirectly: mv's temporary).
 *
 * @internal For move.ts.
 */
export async function copyWith(
  sources: readonly Location[],
  dest: Location,
  options: CopyRunOptions,
): Promise<CopySummary> {
  const started = performance.now();
  const run = new CopyRun(options);
  try {
    await copyAll(run, sources, dest);
  } catch (e) {
    // A failure before any file (a server that cannot be reached, several
    // sources and no directory) is reported like the others: the caller
    // still gets its summary. Only an abort is thrown.
    run.fail(e, undefined, dest.kind === "nfs" ? dest.url : undefined);
  } finally {
    await run.settleAbandoned(ABANDONED_SETTLE_MS);
    run.summary.seconds = (performance.now() - started) / 1000;
    const signal = options.signal;
    // What the stop left (a temporary whose REMOVE got no answer in the
    // release window): said now, unless the caller took it already.
    if (signal?.aborted) {
      for (const left of run.leftovers.take(signal.reason)) run.reportLeft(left);
    }
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
  if (run.options.writeDirectly && !destStat) run.writeDirectlyAt(to.side, to.path);
  // `DST/` names a directory (a symlink to one is followed, as the stat did).
  const mustBeDirectory = namesDirectory(dest);
  if (mustBeDirectory && destStat && !intoDirectory) {
    throw notDirectory(to.side, to.path, dest.text);
  }
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
    let sourceUrl: NfsUrl | undefined;
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
      sourceUrl = from.side.url;
      // Plain cp follows a symlink operand (-H); -r copies it as a symlink
      // (-P) unless -H or -L; `SRC/` names a directory: a symlink to one is
      // followed, anything else is not a directory.
      const sourceIsDirectory = namesDirectory(source);
      const stat = await from.side.stat(from.path, run.follows(true) || sourceIsDirectory);
      if (!stat) {
        throw notFound(from.side, from.path, source.text);
      }
      if (sourceIsDirectory && stat.kind !== "directory") {
        throw notDirectory(from.side, from.path, source.text);
      }
      if (mustBeDirectory && !destStat && stat.kind !== "directory") {
        // `cp FILE nonexistent/`: a file cannot be created under a directory's name.
        throw /\/\.$/.test(dest.text)
          ? notFound(to.side, to.path, dest.text)
          : notDirectory(to.side, to.path, dest.text);
      }
      let target = to.path;
      if (destStat && intoDirectory && stat.kind === "directory" && namesContents(source)) {
        // `cp -r DIR/. DST/`: DIR's contents, merged into DST itself.
        target = destStat.path;
      } else if (destStat && intoDirectory) {
        const name = from.side.basename(from.path.replace(/\/+$/, ""));
        if (name === "" || name === "." || name === "..") {
          throw new CopyError(`cannot copy '${source.text}' into a directory: it has no name`, {
            url: from.side.url,
          });
        }
        if (to.side.kind === "local" && name.includes("/")) {
          // A server's name with a `/` in it (`%2F`, lib/client/names.ts)
          // is no local name: joined, it would name another directory's file.
          throw new CopyError(
            `cannot copy '${source.text}' into '${dest.text}': a local file name cannot hold '/'`,
            { url: from.side.url },
          );
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
        const copied = await linkOrCopy(
          run,
          stat,
          destination,
          () => keepSymlink(run, from.side, { ...stat, path: from.path }, destination),
        );
        if (copied) {
          run.summary.symlinks++;
          await run.copied(from.side, from.path, to.side, target);
        } else {
          run.summary.skipped++;
        }
        continue;
      }
      if (isSpecial(stat.kind) && run.options.recursive) {
        // -r, -a: recreated, as cp -R does (never opened).
        if (
          await linkOrCopy(
            run,
            stat,
            destination,
            () => copySpecial(run, from.side, stat, destination),
          )
        ) {
          run.summary.specials++;
          await run.copied(from.side, from.path, to.side, target);
        } else {
          run.summary.skipped++;
        }
        continue;
      }
      if (
        from.side.kind === "local" && (stat.kind === "fifo" || stat.kind === "char")
      ) {
        // Without -r, cp reads a fifo or character device named as an
        // operand (`cp <(cmd) URL`, POSIX cp: "copy the contents"), as
        // stdin is read: no size known before the end, no holes looked
        // for, no source-changed check (it cannot be read twice), and a
        // new file's mode is 0666 less the umask.
        run.bytesTotal = undefined;
        run.filesTotal++;
        run.current = source.text;
        run.progress();
        const stream = await openStream(run, from.path, source.text);
        let copied: boolean;
        try {
          copied = await copyFile(
            run,
            { kind: "stdin", chunks: stream.chunks, shownAs: source.text },
            destination,
          );
        } finally {
          await stream.close();
        }
        run.filesDone++;
        if (copied) run.summary.files++;
        else run.summary.skipped++;
        continue;
      }
      if (stat.kind !== "file") {
        // Without -r cp would read a fifo or device: not over NFS (OPEN
        // takes regular files); a local socket cannot be opened, and a
        // block device is not read whole by accident.
        throw new CopyError(
          `${source.text}: not a regular file, directory or symlink (${stat.kind}); use -r to recreate it`,
          { url: from.side.url },
        );
      }
      run.filesTotal++;
      run.bytesTotal = run.bytesTotal === undefined
        ? undefined
        : run.bytesTotal + Number(stat.size ?? 0n);
      run.current = source.text;
      run.progress();
      const copied = await linkOrCopy(
        run,
        stat,
        destination,
        () => copyFile(run, { kind: "side", at: from, stat }, destination),
      );
      run.filesDone++;
      if (copied) run.summary.files++;
      else run.summary.skipped++;
    } catch (e) {
      // Not about the (local) destination: then the source's server, which
      // a download's failure is about.
      run.fail(e, side, sourceUrl);
    }
  }
}

/** Whether an operand ends in `/` or `/.`: it then names a directory (POSIX.1-2017 §4.13). */
function namesDirectory(location: Location): boolean {
  if (location.kind === "nfs") return location.url.trailingSlash;
  if (location.kind === "local") return /\/\.?$/.test(location.path);
  return false;
}

/**
 * Whether `location`, as typed, ends in `.` as its last name (`DIR/.`,
 * `DIR/./`, `.`): into an existing directory, cp copies what it names, a
 * directory, as that directory itself (its contents merged into it), not
 * under a name of its own (which `.` is not). An NFS URL's path has lost
 * its `.` once parsed: the text says it.
 */
function namesContents(location: Location): boolean {
  if (location.kind === "stdio") return false;
  const typed = location.kind === "nfs" ? location.text : location.path;
  return /(^|\/)\.\/*$/.test(typed);
}

/** "No such file or directory", naming the operand as typed (`text`). */
function notFound(side: Side, path: string, text = side.display(path)): Error {
  if (side.kind === "nfs") {
    return new NfsError(S.NFS4ERR_NOENT, "LOOKUP", { path: text });
  }
  return new LocalFileError(text, Object.assign(new Error("not found"), { code: "ENOENT" }));
}

/** "Not a directory", naming the operand as typed (`text`). */
function notDirectory(side: Side, _path: string, text: string): Error {
  if (side.kind === "nfs") {
    return new NfsError(S.NFS4ERR_NOTDIR, "LOOKUP", { path: text });
  }
  return new LocalFileError(text, Object.assign(new Error("not a directory"), { code: "ENOTDIR" }));
}

async function* emptyChunks(): AsyncIterable<Uint8Array> {}

/**
 * Local fifo or character device `path` (named `shownAs` by the user),
 * opened before anything is changed (one that cannot be read leaves the
 * destination as it was), its data read from the start to its end of file
 * one chunk at a time: read(2) without an offset, as a pipe takes no
 * pread. Opening a fifo waits for a writer, as cp's open does; a stop ends
 * the wait. The caller closes it.
 */
async function openStream(
  run: CopyRun,
  path: string,
  shownAs: string,
): Promise<{ chunks: AsyncIterable<Uint8Array>; close: () => Promise<void> }> {
  const opening = localFs.open(path, "r");
  let handle: Awaited<typeof opening>;
  try {
    handle = await run.abortable(opening);
  } catch (e) {
    // Stopped while it waited for a writer: closed once it opens, if ever.
    opening.then((opened) => opened.close()).catch(() => undefined);
    throw run.options.signal?.aborted ? e : new LocalFileError(shownAs, e);
  }
  const size = run.tuning.chunkSize;
  async function* chunks(): AsyncIterable<Uint8Array> {
    for (;;) {
      run.checkAbort();
      const buffer = new Uint8Array(size);
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, 0, size, null));
      } catch (e) {
        throw new LocalFileError(shownAs, e);
      }
      if (bytesRead === 0) return;
      // A pipe gives what was written so far: no whole chunk kept for it.
      yield bytesRead === size ? buffer : buffer.slice(0, bytesRead);
    }
  }
  return { chunks: chunks(), close: () => handle.close().catch(() => undefined) };
}

async function copyToStdout(run: CopyRun, source: Location): Promise<void> {
  const stdout = run.options.stdout;
  if (!stdout) throw new CopyError("no stdout to copy to");
  const writer: Writer = {
    chunkSize: run.tuning.chunkSize,
    write: async (chunk, done) => {
      await stdout.write(chunk); // resolves once the bytes are taken
      done?.();
    },
    hole: () => Promise.reject(new Error("stdout has no holes")),
    chown: () => Promise.resolve(),
    finish: () => Promise.resolve(),
    abort: () => Promise.resolve(),
  };
  if (source.kind === "stdio") {
    await run.pump(run.options.stdin ?? emptyChunks(), writer);
    run.summary.files++;
    await run.copied(undefined, "-", undefined, "-");
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
    await run.copied(from.side, from.path, undefined, "-");
  } catch (e) {
    if ((e as Error)?.name === "BrokenPipeError") throw e;
    run.fail(e, from.side);
  }
}
