/**
 * `nfs4 tail [-c [+]N | -n [+]N] [-f|-F] [-s SECONDS] [-q|-v] [-z] URL...`:
 * the last part of files, with the semantics of GNU coreutils `tail`.
 *
 * The end is read without the rest: `-c N` READs the last N bytes of the
 * size OPEN returned, `-n N` reads backwards from the end, a small block
 * first and larger ones after, until N newlines are found (a last line
 * without its newline counts as a line, as in GNU tail), and prints from
 * there (from the bytes it kept when they were few, else reading them again
 * forward). `+N` counts from the start: `-c +N` READs from byte N, `-n +N`
 * reads forward and prints from line N. Memory stays bounded whatever the
 * file size (lib/client/byte_range.ts).
 *
 * `-f` then follows: every `-s` seconds (1 by default) it asks the size and
 * times of each URL (one GETATTR through the walk of its path) and prints
 * what was appended, through the open it kept; a file cut shorter than what
 * was printed is "file truncated" on stderr and printed again from its
 * start, as GNU tail does. When the name no longer leads to the file opened
 * (renamed away, removed), `-f` keeps reading that open file, asking it
 * for more at each turn. `-F` follows the name instead, opening it anew
 * for each read (Ganesha answers a LOOKUP with a file still held open even
 * after another was renamed over it): a file replaced under it (a new
 * fileid) or coming back after being removed is printed from its start,
 * with GNU tail's messages. Following ends with
 * Ctrl-C (exit 130) or SIGTERM (143), after closing every open and the
 * session, so nothing is left on the server; and, as GNU tail's does, when
 * stdout is a pipe or socket whose reader has gone (asked with poll(2) at
 * each interval, lib/os/output_alive.ts, also while nothing is printed), as
 * on a write's EPIPE: the same closing, exit 0.
 * @module
 */

import { Option } from "@commander-js/extra-typings";
import type { Nfs4ClientApi, OpenFile } from "../lib/client/api.ts";
import { linesFrom, readRange, sizeOf, tailLines } from "../lib/client/byte_range.ts";
import { hasStatus } from "../lib/client/has_status.ts";
import type { FileInfo } from "../lib/client/types.ts";
import { type NfsUrl, parseNfsUrl, urlPath } from "../lib/client/url.ts";
import type { CliContext, CommandSession } from "./context.ts";
import { parseTailCount } from "./count_arg.ts";
import { describeError } from "./errors.ts";
import { parseSeconds, readGlobalOptions, type RootCommand } from "./globals.ts";
import {
  Headers,
  headersWanted,
  isDirectoryError,
  lastOfEachWins,
  type PartOptions,
  settlePartOptions,
} from "./head_tail.ts";
import { isStdoutFailure } from "./output.ts";

const HELP = `
NUM may have a multiplier: b 512, kB 1000, K 1024, MB 1000*1000, M 1024*1024,
GB, G, and so on for T, P, E (KiB = K, MiB = M, ...). Of -c and -n the last
given wins; -n 10 is the default. -f and -F follow until Ctrl-C (exit 130),
or until the program reading their pipe has exited (exit 0; checked every
-s interval, as GNU tail does, also while the file does not grow).

Examples:
  $ nfs4 tail nfs://127.0.0.1/vfs/log.txt
  $ nfs4 tail -n +2 nfs://server/export/data.csv      # all but the first line
  $ nfs4 tail -c 1M nfs://server/export/big.iso | sha256sum
  $ nfs4 tail -f -s 0.5 nfs://server/export/app.log   # follow; Ctrl-C ends it
  $ nfs4 tail -F nfs://server/export/app.log          # follow the name across rotations
`;

/** What `tail` prints of each file, and whether it follows. */
export interface TailOptions extends PartOptions {
  /** Follow after printing: the open file (`-f`) or the name (`-F`). */
  readonly follow: "descriptor" | "name" | undefined;
  /** Keep trying URLs that cannot be opened (`--retry`, implied by `-F`). */
  readonly retry: boolean;
  /** Seconds between looks at followed files (`-s`). */
  readonly intervalSeconds: number;
}

/** GNU tail's default: the last 10 lines, no following. */
export const DEFAULT_TAIL: TailOptions = {
  unit: "lines",
  count: { sign: "", value: 10n },
  headers: "auto",
  delimiter: 0x0a,
  follow: undefined,
  retry: false,
  intervalSeconds: 1,
};

/** Adds `tail` to the program. */
export function registerTail(program: RootCommand, ctx: CliContext): void {
  const cmd = program
    .command("tail")
    .description("print the last part of files, and follow them (like tail)")
    .argument("<url...>", "nfs:// URLs of files")
    .addOption(
      new Option("-c, --bytes <[+]NUM>", "the last NUM bytes; with +, from byte NUM on")
        .argParser((v) => parseTailCount(v, "bytes")),
    )
    .addOption(
      new Option("-n, --lines <[+]NUM>", "the last NUM lines (10); with +, from line NUM on")
        .argParser((v) => parseTailCount(v, "lines")),
    )
    .option("-f, --follow", "print what is appended, following the file opened, until Ctrl-C")
    .option("-F", "follow the name, across replacements and removals (-f --retry by name)")
    .option("--retry", "keep trying to open a URL that cannot be opened (with -F)")
    .addOption(
      new Option("-s, --sleep-interval <SECONDS>", "with -f/-F, look every SECONDS (1)")
        .argParser(parseSeconds),
    )
    .option("-q, --quiet", "never print headers giving the URLs")
    .addOption(new Option("--silent", "same as -q").hideHelp())
    .option("-v", "always print headers (--verbose is the global option)")
    .option("-z, --zero-terminated", "lines end with NUL, not newline")
    .addHelpText("after", HELP);
  // The last of -c/-n, of -q/-v and of -f/-F wins, as in GNU tail.
  lastOfEachWins(cmd);
  cmd
    .on("option:follow", () => cmd.setOptionValue("followHow", "descriptor"))
    .on("option:F", () => cmd.setOptionValue("followHow", "name"))
    .action(async (urls, opts, command) => {
      const globals = readGlobalOptions(command.optsWithGlobals());
      const follow = command.getOptionValue("followHow") as TailOptions["follow"];
      const options: TailOptions = {
        ...settlePartOptions(command, opts, DEFAULT_TAIL),
        follow,
        retry: opts.retry === true || follow === "name",
        intervalSeconds: opts.sleepInterval ?? DEFAULT_TAIL.intervalSeconds,
      };
      const targets = urls.map(parseNfsUrl);
      const session = ctx.session(globals);
      try {
        await tailUrls(session, targets, options);
      } finally {
        await session.close();
      }
    });
}

/** One URL being printed and followed. */
interface Followed {
  readonly url: NfsUrl;
  /** `-f`: the open kept and read from; never kept with `-F`, which opens to read. */
  file: OpenFile | undefined;
  /** `offset` and `fileid` describe a file being followed under this URL. */
  present: boolean;
  /** The next byte to print. */
  offset: bigint;
  /** What the last look saw, to tell a change. */
  fileid: bigint | undefined;
  mtimeNs: bigint | undefined;
  ctimeNs: bigint | undefined;
  /** The change attribute, when the server gives it: the surest sign of a change. */
  change: bigint | undefined;
  /** The URL could not be looked up, opened or read at the last look (said once). */
  inaccessible: boolean;
}

/**
 * Prints the last part of each of `urls`, then follows them when asked
 * (until interrupted); failures are reported and the rest still printed.
 */
export async function tailUrls(
  session: CommandSession,
  urls: readonly NfsUrl[],
  options: TailOptions,
): Promise<void> {
  const { sign, value } = options.count;
  // As GNU tail: nothing to print and nothing to follow, nothing opened.
  if (sign === "" && value === 0n && options.follow === undefined) return;
  const headers = new Headers(session, headersWanted(options.headers, urls.length));
  const followed: Followed[] = [];
  try {
    for (const url of urls) {
      const entry: Followed = {
        url,
        file: undefined,
        offset: 0n,
        fileid: undefined,
        mtimeNs: undefined,
        ctimeNs: undefined,
        change: undefined,
        present: false,
        inaccessible: false,
      };
      try {
        await tailOne(session, entry, options, headers);
      } catch (err) {
        session.report(err, url); // rethrows a closed stdout and an interruption
        entry.inaccessible = true;
      }
      if (options.follow !== undefined && (entry.present || options.retry)) {
        followed.push(entry);
      }
    }
    if (options.follow === undefined) return;
    if (followed.length === 0) {
      session.ctx.error("no files remaining");
      return;
    }
    await follow(session, followed, options, headers);
  } finally {
    for (const entry of followed) await entry.file?.close().catch(() => {});
  }
}

async function tailOne(
  session: CommandSession,
  entry: Followed,
  options: TailOptions,
  headers: Headers,
): Promise<void> {
  const client = await session.client(entry.url);
  let file: OpenFile;
  try {
    file = await client.openRead(urlPath(entry.url));
  } catch (err) {
    // As GNU tail: a directory gets its header, then fails when read.
    if (isDirectoryError(err)) await headers.write(entry.url);
    throw err;
  }
  let kept = false;
  try {
    await headers.write(entry.url);
    const progress = { offset: 0n };
    for await (const chunk of tailChunks(file, options, progress)) {
      await session.out.write(chunk);
    }
    entry.offset = progress.offset;
    if (options.follow !== undefined) {
      const info = await client.stat(urlPath(entry.url), { follow: true });
      entry.fileid = info.fileid;
      entry.present = true;
      note(entry, info);
      // -F opens the name anew to read (some servers, Ganesha among them,
      // keep answering a LOOKUP with a file held open after it was replaced).
      if (options.follow === "descriptor") {
        entry.file = file;
        kept = true;
      }
    }
  } finally {
    if (!kept) await file.close().catch(() => {});
  }
}

/**
 * The bytes `tail` prints of `file`, reading only the part printed (and,
 * for `-n N`, the blocks searched backwards for it). `progress.offset` ends
 * just past the last byte read for it: where following goes on.
 */
export async function* tailChunks(
  file: OpenFile,
  options: Pick<TailOptions, "unit" | "count" | "delimiter">,
  progress: { offset: bigint } = { offset: 0n },
): AsyncGenerator<Uint8Array, void, undefined> {
  const { sign, value } = options.count;
  const read = { delimiter: options.delimiter, progress };
  if (options.unit === "bytes") {
    if (sign === "+") {
      // +0 and +1 both start at the first byte.
      const start = value > 0n ? value - 1n : 0n;
      progress.offset = start;
      yield* readRange(file, start, undefined, read);
    } else {
      const size = await sizeOf(file);
      const start = size > value ? size - value : 0n;
      progress.offset = start;
      yield* readRange(file, start, size - start, read);
    }
    return;
  }
  if (sign === "+") {
    progress.offset = 0n;
    yield* linesFrom(file, value, read);
  } else {
    const size = await sizeOf(file);
    progress.offset = size;
    yield* tailLines(file, size, value, read);
  }
}

/** Keeps what a look at the file saw. */
function note(entry: Followed, info: FileInfo): void {
  entry.mtimeNs = info.mtimeNs;
  entry.ctimeNs = info.ctimeNs;
  entry.change = info.change;
}

/** Resolves after `ms`, or at once when `signal` is aborted. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Looks at every followed URL each interval and prints what was appended, until interrupted. */
async function follow(
  session: CommandSession,
  followed: Followed[],
  options: TailOptions,
  headers: Headers,
): Promise<void> {
  const stop = session.ctx.interruption.signal;
  const ms = Math.max(1, Math.round(options.intervalSeconds * 1000));
  for (;;) {
    // As GNU tail's check_output_alive() at each interval: a reader that
    // has gone (`nfs4 tail -f URL | head -1`) ends the command now, as a
    // write's EPIPE would, not at the next append, which may never come
    // (lib/os/output_alive.ts; a terminal or a file is never asked).
    session.out.throwIfReaderGone();
    await pause(ms, stop);
    stop.throwIfAborted();
    session.out.throwIfReaderGone();
    for (const entry of followed) {
      try {
        const client = await session.client(entry.url);
        if (options.follow === "name") await lookByName(session, client, entry, headers);
        else await lookAtOpen(session, client, entry, options, headers);
      } catch (err) {
        // A failed write to stdout (`> /dev/full`) or its reader gone ends
        // the command, whatever was said of the file before: it is no
        // failure of the file, which with -F or --retry would otherwise be
        // looked up again, printed again and fail again at every turn.
        if (isStdoutFailure(err)) throw err;
        // Said once (an interruption is rethrown). The open is given up;
        // with -F or --retry the name is looked up again at the next turn,
        // and the same file goes on where it was.
        if (stop.aborted) throw stop.reason;
        if (!entry.inaccessible) session.report(err, entry.url);
        entry.inaccessible = true;
        entry.mtimeNs = undefined; // look again, whatever the times say
        await entry.file?.close().catch(() => {});
        entry.file = undefined;
      }
    }
    if (!options.retry && followed.every((e) => e.file === undefined)) {
      session.ctx.error("no files remaining");
      return;
    }
  }
}

/**
 * Says once that `entry` cannot be looked up (`has become inaccessible`).
 * `keepPlace`: the look failed for another reason than the name being gone
 * (a timeout, ACCESS), which says nothing of the file: the same file seen
 * again goes on from where it was, as GNU tail's does.
 */
function lost(session: CommandSession, entry: Followed, why: string, keepPlace = false): void {
  if (!entry.inaccessible) session.ctx.error(`'${entry.url.text}' ${why}`);
  entry.inaccessible = true;
  if (!keepPlace) entry.present = false;
}

/**
 * `-F`: one look at the name. A new file under it (another fileid, or one
 * after none) is printed from its start; the same file, what was appended
 * (or all of it again, after "file truncated"). Each read opens the name
 * and closes it again.
 */
async function lookByName(
  session: CommandSession,
  client: Nfs4ClientApi,
  entry: Followed,
  headers: Headers,
): Promise<void> {
  const path = urlPath(entry.url);
  let info: FileInfo;
  try {
    info = await client.stat(path, { follow: true });
  } catch (err) {
    if (session.ctx.interruption.signal.aborted) throw session.ctx.interruption.signal.reason;
    lost(
      session,
      entry,
      `has become inaccessible: ${reason(session, err, entry.url)}`,
      !hasStatus(err, "NFS4ERR_NOENT"),
    );
    return;
  }
  if (info.kind !== "file") {
    lost(session, entry, "has been replaced with an untailable file");
    return;
  }
  if (!entry.present || (info.fileid !== undefined && info.fileid !== entry.fileid)) {
    const what = entry.present ? "been replaced" : "appeared";
    session.ctx.error(`'${entry.url.text}' has ${what};  following new file`);
    entry.present = true;
    entry.fileid = info.fileid;
    entry.offset = 0n;
    entry.mtimeNs = undefined;
  } else {
    // The same file, seen again after a look that failed: said once, as
    // GNU tail says it, and followed on from where it was.
    if (entry.inaccessible) session.ctx.error(`'${entry.url.text}' has become accessible`);
    entry.inaccessible = false;
    if (unchanged(entry, info)) return;
  }
  if (!truncated(session, entry, info)) return;
  const file = await client.openRead(path);
  try {
    await printFrom(session, entry, file, headers, info.size);
  } finally {
    await file.close().catch(() => {});
  }
  entry.inaccessible = false;
  note(entry, info);
}

/**
 * `-f`: one look at the open file. Its size and times come from its name
 * (GETATTR through the path); when the name leads elsewhere now (renamed
 * away, removed), the open file itself is asked for more with a READ. With
 * `--retry`, a URL that could not be opened is tried again.
 */
async function lookAtOpen(
  session: CommandSession,
  client: Nfs4ClientApi,
  entry: Followed,
  options: TailOptions,
  headers: Headers,
): Promise<void> {
  const path = urlPath(entry.url);
  let info: FileInfo | undefined;
  try {
    info = await client.stat(path, { follow: true });
  } catch (err) {
    if (session.ctx.interruption.signal.aborted) throw session.ctx.interruption.signal.reason;
    if (entry.file === undefined) {
      if (options.retry) {
        lost(session, entry, `has become inaccessible: ${reason(session, err, entry.url)}`);
      }
      return;
    }
    info = undefined; // the name is gone; the open file is still ours to read
  }
  if (entry.file === undefined) {
    if (!options.retry || info === undefined) return;
    if (info.kind !== "file") {
      lost(session, entry, "has been replaced with an untailable file");
      return;
    }
    entry.file = await client.openRead(path);
    if (!entry.present || (info.fileid !== undefined && info.fileid !== entry.fileid)) {
      session.ctx.error(`'${entry.url.text}' has appeared;  following new file`);
      entry.present = true;
      entry.fileid = info.fileid;
      entry.offset = 0n;
    }
    entry.mtimeNs = undefined;
  }
  const file = entry.file;
  if (info === undefined || (info.fileid !== undefined && info.fileid !== entry.fileid)) {
    await printFrom(session, entry, file, headers, undefined);
    entry.inaccessible = false;
    return;
  }
  if (unchanged(entry, info)) {
    entry.inaccessible = false;
    return;
  }
  if (truncated(session, entry, info)) await printFrom(session, entry, file, headers, info.size);
  entry.inaccessible = false;
  note(entry, info);
}

/** Whether `info` shows the file as it was when last printed. */
function unchanged(entry: Followed, info: FileInfo): boolean {
  // The change attribute moves with every change (RFC 7530 §5.8.1.4),
  // even one within the times' granularity; the times stand in without it.
  if (info.size !== entry.offset || entry.mtimeNs === undefined) return false;
  if (info.change !== undefined && entry.change !== undefined) return info.change === entry.change;
  return info.mtimeNs === entry.mtimeNs && info.ctimeNs === entry.ctimeNs;
}

/**
 * A file now shorter than what was printed is said to be truncated and
 * printed again from its start, as GNU tail does. True when there is
 * something to print.
 */
function truncated(session: CommandSession, entry: Followed, info: FileInfo): boolean {
  if (info.size !== undefined && info.size < entry.offset) {
    session.ctx.error(`${entry.url.text}: file truncated`);
    entry.offset = 0n;
  }
  return info.size === undefined || info.size > entry.offset;
}

/**
 * Prints `file` from `entry.offset` to `end` (to its end when undefined),
 * after a header when the last output was another file's; `entry.offset`
 * follows each chunk printed.
 */
async function printFrom(
  session: CommandSession,
  entry: Followed,
  file: OpenFile,
  headers: Headers,
  end: bigint | undefined,
): Promise<void> {
  const progress = { offset: entry.offset };
  const length = end === undefined ? undefined : end - entry.offset;
  for await (const chunk of readRange(file, entry.offset, length, { progress })) {
    if (headers.on && headers.last !== entry.url) await headers.write(entry.url);
    await session.out.write(chunk);
    entry.offset = progress.offset;
  }
}

/** The part of an error's message after the URL it names. */
function reason(session: CommandSession, err: unknown, url: NfsUrl): string {
  const line = describeError(err, false, { url, timeoutSeconds: session.globals.timeoutSeconds });
  return line.startsWith(`${url.text}: `) ? line.slice(url.text.length + 2) : line;
}
