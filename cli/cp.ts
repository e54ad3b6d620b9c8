/**
 * `nfs4 cp [-r] [-p] [-f] [-n] [--progress|--no-progress] [--json] SRC... DST`:
 * copy files and trees between local paths, stdin/stdout (`-`) and NFS
 * servers, with the semantics of coreutils `cp` (lib/client/copy/mod.ts does the
 * work).
 *
 * A file is written under a temporary name next to its destination and
 * renamed into place once its data is committed, so an interrupted or failed
 * copy never leaves a destination that looks complete; Ctrl-C removes the
 * temporary and exits with status 130. An existing file that a temporary
 * cannot stand in for (hard links, an owner we may not give) is written in
 * place. A file or directory that fails is
 * reported on one line and the rest is still copied; the exit status is
 * then 1.
 * @module
 */

import { fstatSync } from "node:fs";
import process from "node:process";
import { Option } from "@commander-js/extra-typings";
import cliProgress from "cli-progress";
import prettyBytes from "pretty-bytes";
import {
  applyPreserveList,
  copy,
  CopyError,
  type CopyProgress,
  type CopySummary,
  type Dereference,
  EtaEstimator,
  LocalFileError,
  type Location,
  parseLocation,
  PRESERVE_ALL,
  PRESERVE_NONE,
  PRESERVE_P,
  type PreserveSet,
  type SparseMode,
} from "../lib/client/copy/mod.ts";
import { closedAtStart } from "../lib/os/closed_stdio.ts";
import { Leftovers } from "../lib/client/copy/run.ts";
import { UsageError } from "../lib/client/url.ts";
import type { CliContext, CommandSession } from "./context.ts";
import { describeError } from "./errors.ts";
import { quoteName } from "./ls_quote.ts";
import { readGlobalOptions, type RootCommand } from "./globals.ts";
import { isBrokenPipe, type WritableLike } from "./output.ts";

/** How `cp` was asked to copy. */
export interface CpOptions {
  readonly recursive: boolean;
  /** What `-p`, `-a`, `-d`, `--preserve` and `--no-preserve` asked to keep. */
  readonly preserve: PreserveSet;
  /** `-L`, `-H`, `-P`: which symlinks in the sources are followed (undefined: cp's default). */
  readonly dereference?: Dereference | undefined;
  readonly force: boolean;
  readonly noClobber: boolean;
  /** `-u`: only when the source is newer than the destination (or it is missing). */
  readonly update?: boolean;
  /** `-v`: `'SRC' -> 'DST'` for each file, symlink and new directory. */
  readonly listCopied?: boolean;
  /** `--inplace`: overwrite existing files by writing into them. */
  readonly inplace?: boolean;
  /** `--sparse=WHEN` (default auto). */
  readonly sparse?: SparseMode;
  /** `--progress` (true), `--no-progress` (false), or on a terminal only (undefined). */
  readonly progress: boolean | undefined;
  readonly json: boolean;
}

const HELP = `
Operands:
  Each SRC and DST is a local path, - (stdin as a source, stdout as the
  destination) or an nfs:// URL. NFS to NFS works on one server or across two.
  As with cp: DST that is an existing directory receives the sources under
  their own names (several sources need one); otherwise DST is the new name.

  A DST or SRC ending in / (or /.) must be a directory; a symlink to one is
  followed (cp -r link/ copies the directory it points to).

Safety:
  Each new file is written to .NAME.nfs4-XXXXXX in the destination directory
  and renamed onto NAME only when its data is committed (NFS COMMIT,
  verifiers checked, data resent if the server restarted) and its attributes
  are set. A failed or interrupted copy removes the temporary; Ctrl-C exits
  130.

Overwriting:
  An existing file keeps its owner, group, mode (without -p) and hard links,
  as with cp. It is replaced through a temporary when the temporary can be
  made the same (one link, its owner and group can be given, the directory is
  writable); otherwise, and with --inplace, it is written in place: emptied,
  written, its size set, committed. A failure then leaves it incomplete, and
  the message says so ("copy failed part-way, destination is incomplete").

Sparse files:
  --sparse=auto (default) leaves zero blocks unwritten (holes) when the source
  is sparse (fewer bytes allocated than its size); always: in every file;
  never: every byte is written. The size is set at the end (SETATTR or
  ftruncate). Holes are found by reading (NFSv4.0/4.1 have no SEEK).

Preserving (as coreutils cp):
  -p keeps mode, ownership and timestamps; -a is -dR --preserve=all (also hard
  links); --preserve=ATTRS and --no-preserve=ATTRS pick among mode,
  ownership, timestamps, links, all. Times are kept to the nanosecond, before
  1970 too. The owner is set before the mode; one the server or the system
  refuses, or that the server accepts and does not keep (read back: a
  squashing export gives its anonymous owner), is a warning per file (and
  the copy gets no set-id bits), not a failure. Owners go to the server as
  numbers, or as name@domain when its own owner strings carry a domain;
  name@domain from a server is looked up here.
  Without -p, new files get the source's mode less the umask (directories
  keep their sticky bit; set-id bits are not copied), stdin 0666 less the
  umask. -r recreates fifos, sockets and devices (devices need root);
  without -r a local fifo or character device is read as stdin is
  (cp <(cmd) URL, cp /dev/null URL), and an existing local one as DST is
  written into, never replaced.
  A server that accepts times for a symlink but does not set them (Ganesha's
  VFS export) is named in a warning per symlink.

Symlinks in SRC:
  -P never follows them (the default with -r), -H follows those named on the
  command line (the default without -r), -L follows all of them.

Names:
  Local names are bytes: one that is not UTF-8 is copied under its exact bytes,
  also when typed on the command line.

Output:
  -v prints 'SRC' -> 'DST' for each file, symlink and new directory once it is
  in place (on stdout; on stderr when stdout carries data or --json); a
  failure to write them (a full disk) is reported once, after the copy, and
  the exit status is 1. On a
  terminal, copies that take more than a moment show a progress bar (bytes,
  rate, ETA, current file) on stderr. --json prints one summary object on
  stdout, also when the copy failed early: {"files", "directories",
  "symlinks", "specials", "bytes", "skipped", "skippedSpecial", "warnings",
  "errors", "errorMessages", "seconds", "resentWrites"}. "specials" counts
  fifos, sockets and devices recreated, "skipped" files left alone by -n or
  -u, "skippedSpecial" special files left out of a tree, "warnings"
  attributes not kept (each with a warning); none of these are errors.

Examples:
  $ nfs4 cp big.iso nfs://127.0.0.1/vfs/
  $ nfs4 cp nfs://server/export/a.txt ./
  $ nfs4 cp -rp ./site nfs://server/export/www
  $ nfs4 cp -a nfs://server/export/home /backup/
  $ nfs4 cp -r nfs://old/export/data nfs://new/export/
  $ tar c dir | nfs4 cp - nfs://server/export/dir.tar
  $ nfs4 cp nfs://server/export/log.gz - | zcat | tail
`;

/** Adds `cp` to the program. */
export function registerCp(program: RootCommand, ctx: CliContext): void {
  program
    .command("cp")
    .description("copy files and directories to, from and between NFS servers (like cp)")
    .usage("[options] SRC... DST")
    .argument(
      "<operands...>",
      "SRC... DST: local paths, - (stdin as a source, stdout as the destination) or nfs:// URLs",
    )
    .option(
      "-r, --recursive",
      "copy directories recursively (symlinks copied as symlinks, fifos, sockets and devices recreated)",
    )
    .addOption(new Option("-R", "same as -r").hideHelp())
    .option("-a, --archive", "same as -dR --preserve=all (mode, ownership, timestamps, links)")
    .option("-p", "same as --preserve=mode,ownership,timestamps")
    .addOption(
      new Option(
        "--preserve [ATTRS]",
        "keep ATTRS: mode, ownership, timestamps, links, all (default: mode,ownership,timestamps)",
      ).argParser(collectPreserve("+")),
    )
    .addOption(
      new Option("--no-preserve <ATTRS>", "do not keep ATTRS").argParser(collectPreserve("-")),
    )
    .option("-d", "same as --no-dereference --preserve=links")
    .option("-L, --dereference", "follow every symlink in SRC")
    .option("-H", "follow symlinks named on the command line (what plain cp does)")
    .option("-P, --no-dereference", "never follow symlinks in SRC (the default with -r)")
    .option("-f, --force", "remove a destination that cannot be opened for writing, then copy")
    .option("-n, --no-clobber", "never overwrite an existing file")
    .option("-u, --update", "copy only when SRC is newer than DST or DST is missing")
    .addOption(
      new Option("-v", "print 'SRC' -> 'DST' for each copy (--verbose is the global option)"),
    )
    .option("--inplace", "overwrite existing files in place (keeps inode and links always)")
    .addOption(
      new Option("--sparse <WHEN>", "holes: auto (sparse sources), always or never")
        .choices(["auto", "always", "never"] as const)
        .default("auto" as const),
    )
    .addOption(new Option("--progress", "show a progress bar even when stderr is not a terminal"))
    .addOption(new Option("--no-progress", "never show a progress bar"))
    .option("--json", "print a JSON summary on stdout")
    .addHelpText("after", HELP)
    .action(async (operands, opts, cmd) => {
      const globals = readGlobalOptions(cmd.optsWithGlobals());
      const dst = operands.at(-1)!;
      if (operands.length < 2) {
        throw new UsageError(`missing destination file operand after '${dst}'`);
      }
      // Every operand is checked before anything is done: a bad URL is a usage error.
      const sources = operands.slice(0, -1).map(parseLocation);
      const dest = parseLocation(dst);
      // -a and -p first, then --preserve and --no-preserve in the order given.
      let keep: PreserveSet = opts.archive ? PRESERVE_ALL : PRESERVE_NONE;
      if (opts.p) keep = { ...PRESERVE_P, links: keep.links };
      if (opts.d) keep = { ...keep, links: true };
      // A bare --preserve arrives as the default list (normalizeArgv()); `true` only from tests.
      const lists = opts.preserve === true ? ["+mode,ownership,timestamps"] : opts.preserve ?? [];
      keep = applyPreserveList(keep, lists);
      const dereference: Dereference | undefined = opts.dereference === true
        ? "always"
        : opts.H
        ? "command-line"
        : opts.dereference === false || opts.archive || opts.d
        ? "never"
        : undefined;
      const options: CpOptions = {
        recursive: opts.recursive === true || opts.R === true || opts.archive === true,
        preserve: keep,
        dereference,
        force: opts.force === true,
        noClobber: opts.clobber === false,
        update: opts.update === true,
        listCopied: opts.v === true,
        inplace: opts.inplace === true,
        sparse: opts.sparse,
        progress: opts.progress,
        json: opts.json === true,
      };
      if (options.json && dest.kind === "stdio") {
        throw new UsageError("--json cannot be used when copying to stdout (-)");
      }
      if (sources.filter((s) => s.kind === "stdio").length > 1) {
        throw new UsageError("stdin (-) can be a source only once");
      }
      const session = ctx.session(globals);
      try {
        await cpCommand(session, sources, dest, options);
      } finally {
        await session.close();
      }
    });
}

/** Exit status after Ctrl-C (128 + SIGINT), as shells report it. */
const INTERRUPTED_STATUS = 130;
/**
 * How long cleanup may take after Ctrl-C before the process exits anyway:
 * the 3 s after the signal README "Deadlines and signals" gives every
 * command (cli/main.ts STOP_BACKSTOP_MS). Releasing itself ends 1.5 s
 * after the signal (the state manager's window).
 */
const INTERRUPT_GRACE_MS = 3000;
/**
 * `-v` lines not yet taken by stdout (its reader is slow or stalled) past
 * which the copy is asked to wait for them: a line per file would otherwise
 * pile up in memory for as long as the reader does not read.
 */
const LISTED_BACKLOG_BYTES = 64 * 1024;

/** The reason a copy was aborted by a signal. */
class InterruptedError extends Error {
  readonly signal: string;
  constructor(signal: string) {
    super(`interrupted by ${signal}`);
    this.name = "InterruptedError";
    this.signal = signal;
  }
}

/**
 * Runs the copy with a progress display and the signal handlers; prints the
 * `--json` summary. Ctrl-C (or SIGTERM) aborts: the temporary is removed,
 * the connections closed, and the command ends with 130 (143); undefined.
 * A temporary not known removed by then (its REMOVE unanswered in the
 * release window), or a destination written in place and left incomplete,
 * is named on one line each before the command ends, however it ends: the
 * copy reports them as it returns, and the backstop and a second signal,
 * which do not wait for it, name what the copy still holds
 * ({@linkcode Leftovers}).
 */
export async function cpCommand(
  session: CommandSession,
  sources: readonly Location[],
  dest: Location,
  options: CpOptions,
): Promise<CopySummary | undefined> {
  const ctx = session.ctx;
  const controller = new AbortController();
  const progress = new ProgressDisplay(ctx.io.stderr, options.progress);
  /** What the copy may leave behind at this moment (lib/client/copy/run.ts). */
  const leftovers = new Leftovers();
  /** Names, one line each, what the copy still holds: synchronous, for the moment of exit. */
  const sayLeftovers = () => {
    for (const left of leftovers.take(controller.signal.reason)) {
      progress.clearLine();
      const url = left instanceof CopyError ? left.url : undefined;
      ctx.error(
        describeError(left, session.globals.verbose, {
          url,
          timeoutSeconds: session.globals.timeoutSeconds,
        }),
        left,
        url,
      );
    }
  };
  const exitNow = (status: number) => {
    sayLeftovers();
    ctx.exitNow(status);
  };
  /** The exit after a stop should the cleanup hang; cleared when the command ends first. */
  let backstop: ReturnType<typeof setTimeout> | undefined;
  const onSignal = (signal: string) => {
    const status = signal === "SIGTERM" ? 143 : INTERRUPTED_STATUS;
    if (controller.signal.aborted) return exitNow(status); // a second Ctrl-C: now
    progress.abandon();
    controller.abort(new InterruptedError(signal));
    // Stop what is in flight now (a silent server must not hold the exit);
    // removing the temporary gets the clients' short release window.
    ctx.stopClients(signal === "SIGTERM" ? "SIGTERM" : "SIGINT");
    // Whatever happens to the cleanup, do not hang on a server that is gone.
    backstop = setTimeout(() => exitNow(status), INTERRUPT_GRACE_MS);
    backstop.unref?.();
  };
  ctx.ownsSignals = true;
  // Through the CLI's signal source: the process's signals, or nfs4 shell's
  // Ctrl-C for the verb it runs (where "exit" ends the verb, not the shell).
  const unsubscribe = ctx.io.signals?.((signal) => {
    onSignal(signal);
    return false;
  });
  let summary: CopySummary;
  // -v lines: stdout, unless it carries the data (`-`) or the JSON summary.
  const listTo = dest.kind === "stdio" || options.json ? "stderr" : "stdout";
  /** Why a -v line could not be written to stdout (a full disk), reported at the end. */
  let listFailure: unknown;
  const errorMessages: string[] = [];
  try {
    summary = await copy(sources, dest, {
      recursive: options.recursive,
      preserve: options.preserve,
      ...(options.dereference ? { dereference: options.dereference } : {}),
      force: options.force,
      noClobber: options.noClobber,
      ...(options.update ? { update: true } : {}),
      ...(options.inplace ? { inplace: true } : {}),
      ...(options.sparse ? { sparse: options.sparse } : {}),
      ...(options.listCopied
        ? {
          onCopied: (from: string, to: string) => {
            const line = `${quote(from)} -> ${quote(to)}`;
            progress.clearLine();
            if (listTo === "stdout") {
              // A reader gone (`cp -v … | head -1`) ends the copy quietly
              // after the file just listed, as coreutils' SIGPIPE would: the
              // copy stops (any temporary removed) and the command exits 0.
              // Another failure (`> /dev/full`) lets the copy finish and is
              // reported at its end, exit 1, as coreutils' cp does.
              session.out.write(line + "\n").catch((e) => {
                if (isBrokenPipe(e)) controller.abort(e);
                else listFailure ??= e;
              });
              // Every line is awaited before the command ends (below); past
              // the bound, the copy waits for room before its next file
              // (the engine awaits onCopied). Never rejects.
              if (session.out.pendingBytes > LISTED_BACKLOG_BYTES) {
                return session.out.room(LISTED_BACKLOG_BYTES);
              }
            } else ctx.diag.line(line);
          },
        }
        : {}),
      onWarning: (message) => {
        progress.clearLine();
        ctx.error(`warning: ${message}`);
      },
      connect: (url) => session.client(url),
      ...(sources.some((s) => s.kind === "stdio") ? { stdin: stdinChunks() } : {}),
      stdout: { write: (chunk) => session.out.write(chunk) },
      signal: controller.signal,
      leftovers,
      onProgress: (p) => progress.update(p),
      onError: (err, url) => {
        progress.clearLine();
        if (options.json) {
          errorMessages.push(describeError(err, false, {
            url,
            timeoutSeconds: session.globals.timeoutSeconds,
          }));
        }
        session.report(err, url);
      },
      umask: currentUmask(),
    });
    if (options.listCopied && listTo === "stdout") {
      // Every -v line out (or its failure known) before the command ends. A
      // reader slow to read holds the command here, where Ctrl-C still ends
      // it with 130 (the waiting writes give way: Output.abandon()).
      await session.out.drained();
      controller.signal.throwIfAborted();
    }
  } catch (err) {
    progress.stop();
    if (err instanceof InterruptedError) {
      // copy() removed the temporary, or named it (onError) when it could
      // not; anything it still holds is named now. Then say goodbye to the
      // servers, briefly.
      sayLeftovers();
      await within(session.close(), INTERRUPT_GRACE_MS / 2);
      ctx.exitStatus = err.signal === "SIGTERM" ? 143 : INTERRUPTED_STATUS;
      return;
    }
    throw err;
  } finally {
    unsubscribe?.();
    // The command ends here, its cleanup done (or given up on, bounded
    // above): the backstop has nothing left to bound. Left to run, it
    // outlived the command by up to 3 s, holding its context, and then
    // called exitNow for it: in nfs4 shell, which runs a command per verb
    // in one process, for a verb long ended.
    clearTimeout(backstop);
  }
  progress.stop();
  // The copy is done; the listing is not all out: exit 1 with one line.
  if (listFailure !== undefined) throw listFailure;
  if (options.json) {
    await session.out.write(
      JSON.stringify({
        files: summary.files,
        directories: summary.directories,
        symlinks: summary.symlinks,
        specials: summary.specials,
        bytes: summary.bytes,
        skipped: summary.skipped,
        skippedSpecial: summary.skippedSpecial,
        warnings: summary.warnings,
        errors: summary.errors,
        errorMessages,
        seconds: Number(summary.seconds.toFixed(3)),
        resentWrites: summary.resentWrites,
      }) + "\n",
    );
  }
  return summary;
}

/** Collects `--preserve=LIST` (`+`) and `--no-preserve=LIST` (`-`) in order, for applyPreserveList(). */
function collectPreserve(sign: "+" | "-") {
  return (value: string, previous: string[] | undefined): string[] => [
    ...(previous ?? []),
    sign + value,
  ];
}

/**
 * A name in a -v line as cp quotes it (coreutils' quoteaf: shell-escape,
 * always quoted): `'a b'`, `"it's"`, `'lat'$'\351''in1'` for a byte that is
 * not UTF-8.
 */
function quote(name: string): string {
  return quoteName(name, { style: "shell-escape-always" }).text;
}

/** Waits for `work`, for `ms` at most; the timer does not outlive the wait. */
async function within(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([work, new Promise<void>((resolve) => timer = setTimeout(resolve, ms))]);
  } finally {
    clearTimeout(timer);
  }
}

/** The process's umask (read by setting it and putting it back). */
function currentUmask(): number {
  try {
    return process.umask();
  } catch {
    return 0o022;
  }
}

async function* stdinChunks(): AsyncIterable<Uint8Array> {
  // Started with stdin closed (`<&-`): the runtime's /dev/null there would
  // read as an empty file and replace the destination with one. Fail as
  // read(2) on a closed descriptor would (coreutils' cat: "-: Bad file
  // descriptor"); the destination is left as it was.
  if (closedAtStart(0)) {
    throw new LocalFileError(
      "-",
      Object.assign(new Error("Bad file descriptor"), { code: "EBADF" }),
    );
  }
  // A failure to read stdin is a local file's, named as the user named it:
  // `cp - URL < DIR` says `nfs4: -: Is a directory`, as coreutils' cat
  // does, not the runtime's `EISDIR: illegal operation on a directory,
  // fstat` (Bun's process.stdin). Deno's process.stdin reads a directory
  // as empty, which would replace the destination with an empty file: a
  // directory is refused before anything is read, as read(2) refuses it.
  try {
    if (fstatSync(0).isDirectory()) {
      throw Object.assign(new Error("Is a directory"), { code: "EISDIR" });
    }
    for await (const chunk of process.stdin) {
      yield typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk as Uint8Array;
    }
  } catch (e) {
    throw e instanceof LocalFileError ? e : new LocalFileError("-", e);
  }
}

/** Shown only for copies that last longer than this. */
const PROGRESS_DELAY_MS = 1000;

/**
 * The progress bar on stderr: bytes, rate, ETA and, for trees, the current
 * file. Shown on a terminal once a copy has lasted a moment; with
 * `--progress` from the start, also when stderr is not a terminal (then one
 * line per second).
 */
export class ProgressDisplay {
  readonly #stream: WritableLike;
  /** cli-progress's writes dropped (see {@linkcode abandon}). */
  #muted = false;
  readonly #enabled: boolean;
  /** Asked for with --progress: shown from the start. */
  readonly #forced: boolean;
  readonly #started = Date.now();
  #bar: cliProgress.SingleBar | undefined;
  #last: CopyProgress | undefined;
  #stopped = false;
  /** Recent (time, bytes) samples for the rate. */
  #samples: { t: number; bytes: number }[] = [];
  /** Time left from files and bytes together (lib/client/copy/eta.ts). */
  readonly #eta = new EtaEstimator();

  constructor(stream: WritableLike, mode: boolean | undefined) {
    this.#stream = stream;
    this.#enabled = mode ?? stream.isTTY === true;
    this.#forced = mode === true;
  }

  update(progress: CopyProgress): void {
    if (!this.#enabled || this.#stopped) return;
    this.#last = progress;
    const now = Date.now();
    this.#eta.add({
      seconds: (now - this.#started) / 1000,
      files: progress.filesDone,
      bytes: progress.bytesDone,
    });
    const lastSample = this.#samples.at(-1);
    if (!lastSample || now - lastSample.t >= 200) {
      this.#samples.push({ t: now, bytes: progress.bytesDone });
      while (this.#samples.length > 2 && now - this.#samples[0]!.t > 5000) this.#samples.shift();
    }
    if (!this.#bar) {
      if (!this.#forced && now - this.#started < PROGRESS_DELAY_MS) return;
      this.#bar = this.#create();
      this.#bar.start(progress.bytesTotal ?? 0, progress.bytesDone);
    }
    if (progress.bytesTotal !== undefined) this.#bar.setTotal(progress.bytesTotal);
    this.#bar.update(progress.bytesDone);
  }

  #rate(): number {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (!first || !last || last.t === first.t) return 0;
    return ((last.bytes - first.bytes) * 1000) / (last.t - first.t);
  }

  #format(width: number): string {
    const p = this.#last;
    if (!p) return "";
    const rate = this.#rate();
    const parts: string[] = [];
    const total = p.bytesTotal;
    if (total !== undefined && total > 0) {
      const fraction = Math.min(1, p.bytesDone / total);
      const size = 20;
      const filled = Math.round(fraction * size);
      parts.push(`[${"=".repeat(filled)}${" ".repeat(size - filled)}]`);
      parts.push(`${Math.floor(fraction * 100)}%`.padStart(4));
      parts.push(`${prettyBytes(p.bytesDone)} / ${prettyBytes(total)}`);
    } else {
      parts.push(prettyBytes(p.bytesDone));
    }
    parts.push(`${prettyBytes(rate)}/s`);
    const left = total !== undefined && total > 0
      ? this.#eta.remaining(p.filesTotal - p.filesDone, total - p.bytesDone)
      : undefined;
    if (left !== undefined) parts.push(`ETA ${formatDuration(left)}`);
    if (p.filesTotal > 1) parts.push(`(${p.filesDone}/${p.filesTotal})`);
    let line = parts.join("  ");
    if (p.current !== undefined && p.filesTotal > 1) {
      const room = width - line.length - 3;
      if (room > 8) {
        const name = p.current.length > room ? "…" + p.current.slice(-(room - 1)) : p.current;
        line += `  ${name}`;
      }
    }
    return line.slice(0, Math.max(10, width - 1));
  }

  #create(): cliProgress.SingleBar {
    const real = this.#stream;
    // Through a gate, so that abandon() can stop the bar without its last
    // drawing (the terminal's writes all go through write(): readline's
    // cursorTo and clearLine too).
    const gated = {
      write: (chunk: string | Uint8Array) => this.#muted ? true : real.write(chunk),
      get isTTY() {
        return real.isTTY;
      },
      get columns() {
        return real.columns;
      },
    };
    return new cliProgress.SingleBar({
      stream: gated as unknown as cliProgress.Options["stream"],
      format: (_options, params) => this.#format(params.maxWidth),
      fps: 5,
      hideCursor: true,
      clearOnComplete: true,
      noTTYOutput: true,
      notTTYSchedule: 1000,
      linewrap: false,
    });
  }

  /** Clears the bar's line so a message can be printed; it is redrawn on the next update. */
  clearLine(): void {
    if (this.#bar && this.#stream.isTTY) this.#stream.write("\r\x1b[K");
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#bar?.stop();
  }

  /**
   * Stops the bar at an interrupt, drawing nothing more: cli-progress's
   * stop() draws the bar once more and moves the cursor back to where the
   * bar began (it saved it there), then clears below, which erased a
   * message printed meanwhile (`nfs4 shell`'s "interrupted by SIGINT").
   * The bar's own line is cleared, and the cursor shown again.
   */
  abandon(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (!this.#bar) return;
    this.#muted = true;
    try {
      this.#bar.stop();
    } finally {
      this.#muted = false;
    }
    // Show the cursor and line wrapping again (hideCursor, linewrap: false).
    if (this.#stream.isTTY) this.#stream.write("\r\x1b[K\x1b[?25h\x1b[?7h");
  }
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}
