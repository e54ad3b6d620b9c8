/**
 * `nfs4 cat URL...`: copy files to stdout, byte for byte, in order.
 *
 * Each file is opened for reading (OPEN share READ, deny NONE), streamed
 * with several READs in flight, and closed. A chunk is written and the write
 * awaited before the next one is taken, so memory stays constant whatever
 * the file size and a slow reader slows the reads down. A URL that fails (a
 * directory, a missing file) prints one line on stderr and the next URL is
 * still copied; the exit status is then 1. When stdout closes early
 * (`nfs4 cat … | head -c1`), `cat` stops quietly with status 0; when a
 * write to it fails otherwise (`> /dev/full`), `cat` stops there, as
 * cat(1) does: one line, `nfs4: write error: No space left on device`,
 * status 1, no further file opened.
 *
 * `--offset N` and `--length N` print a byte range of each file: READs
 * from byte N, never past `offset + length` (lib/client/byte_range.ts); an
 * offset at or past the end prints nothing, no length means to the end.
 * @module
 */

import { readFileSync } from "node:fs";
import { Option } from "@commander-js/extra-typings";
import { readRange } from "../lib/client/byte_range.ts";
import { localFs } from "../lib/client/copy/local_fs.ts";
import {
  DEFAULT_PREFETCH_BYTES,
  type OrderedSource,
  readInOrder,
} from "../lib/client/many_files.ts";
import { DirectoryHandles, openReadAhead, PrefetchedFile } from "../lib/client/small_file.ts";
import { type NfsUrl, parseNfsUrl, urlPath } from "../lib/client/url.ts";
import type { CliContext, CommandSession } from "./context.ts";
import { parseByteCount } from "./count_arg.ts";
import { readGlobalOptions, type RootCommand } from "./globals.ts";

const HELP = `
Examples:
  $ nfs4 cat nfs://127.0.0.1/vfs/hello.txt
  $ nfs4 cat nfs://server/export/a nfs://server/export/b > both
  $ nfs4 cat nfs://[::1]:2050/vfs/big.iso | sha256sum
  $ nfs4 cat --offset 1M --length 512 nfs://server/export/disk.img | od -A d -t x1

--offset and --length take the multipliers of head -c: b 512, kB 1000, K 1024,
MB 1000*1000, M 1024*1024, GB, G, ... (KiB = K, MiB = M).
`;

/** A byte range of each file: from `offset`, `length` bytes or (undefined) to the end. */
export interface CatRange {
  readonly offset: bigint;
  readonly length: bigint | undefined;
}

/** Adds `cat` to the program. */
export function registerCat(program: RootCommand, ctx: CliContext): void {
  program
    .command("cat")
    .description("copy files to stdout (like cat)")
    .argument("<url...>", "nfs:// URLs of files")
    .addOption(
      new Option("--offset <N>", "start at byte N (0 is the first)").argParser(parseByteCount),
    )
    .addOption(
      new Option("--length <N>", "print at most N bytes of each file").argParser(parseByteCount),
    )
    .addHelpText("after", HELP)
    .action(async (urls, opts, cmd) => {
      const globals = readGlobalOptions(cmd.optsWithGlobals());
      const targets = urls.map(parseNfsUrl);
      const range = opts.offset === undefined && opts.length === undefined
        ? undefined
        : { offset: opts.offset ?? 0n, length: opts.length };
      const session = ctx.session(globals);
      try {
        await catUrls(session, targets, range);
      } finally {
        await session.close();
      }
    });
}

/**
 * Copies each of `urls` (or the byte `range` of each) to stdout, in order;
 * failures are reported and skipped; a failed write to stdout is thrown
 * and ends the command. Several files are opened ahead, and
 * small ones read ahead, while the one before is written
 * (lib/client/many_files.ts).
 */
export async function catUrls(
  session: CommandSession,
  urls: readonly NfsUrl[],
  range?: CatRange,
): Promise<void> {
  // Several files: each read with its OPEN, from its directory's handle
  // walked once (for this cat only). One file gains nothing from that, and
  // a large one would be opened twice.
  const directories = urls.length > 1 ? new WeakMap<object, DirectoryHandles>() : undefined;
  const appending = (await appendedFile()) !== undefined;
  await readInOrder(urls, async (url) => {
    if (appending) await refuseIfOutput(session, url);
    return await openForCat(session, url, directories, range);
  }, {
    write: (chunk) => session.out.write(chunk),
    failed: (url, err) => session.report(err, url), // rethrows a closed stdout
  });
}

/** What identifies stdout's file, when stdout appends to a regular file. */
interface AppendedFile {
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
}

/** O_APPEND in /proc/self/fdinfo's octal `flags` (Linux). */
const O_APPEND = 0o2000;

/**
 * Stdout's file when it is a regular file opened to append (`>>`), else
 * undefined (or when that cannot be told: no /proc). Appending a file to
 * itself never ends, the file growing as fast as it is read.
 */
async function appendedFile(): Promise<AppendedFile | undefined> {
  try {
    const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync("/proc/self/fdinfo/1", "utf8"));
    if (!flags || (parseInt(flags[1]!, 8) & O_APPEND) === 0) return undefined;
    // statx(2) through the copy's local file system: mtime to the
    // nanosecond (node's fstat keeps milliseconds under Deno).
    const stats = await localFs.stat("/proc/self/fd/1", true);
    if (stats.kind !== "file") return undefined;
    const mtimeNs = stats.mtime.seconds * 1_000_000_000n + BigInt(stats.mtime.nseconds);
    return { ino: stats.ino, size: stats.size, mtimeNs };
  } catch {
    return undefined;
  }
}

/**
 * Fails `url` as GNU cat does ("input file is output file") when it is the
 * file stdout appends to, seen through the server: the export served from
 * this host, or a local mount of it. Its fileid is then the inode there,
 * and with the same size and mtime to the nanosecond it is told apart from
 * no other file (lib/client/copy/file.ts seenBothWays, for cp).
 */
async function refuseIfOutput(session: CommandSession, url: NfsUrl): Promise<void> {
  const client = await session.client(url);
  // Stdout as it is now, on both sides of the look at the server: files
  // before this one have grown it since the start (`cat other log >> log`),
  // and a write of ours may land between.
  const before = await appendedFile();
  const info = await client.stat(urlPath(url), { follow: true });
  const after = await appendedFile();
  const same = (output: AppendedFile | undefined) =>
    output !== undefined && info.fileid === output.ino && info.size === output.size &&
    info.mtimeNs === output.mtimeNs;
  if (same(before) || same(after)) throw new Error(`${url.text}: input file is output file`);
}

async function openForCat(
  session: CommandSession,
  url: NfsUrl,
  directories: WeakMap<object, DirectoryHandles> | undefined,
  range?: CatRange,
): Promise<OrderedSource> {
  const client = await session.client(url);
  if (range === undefined && directories) {
    let handles = directories.get(client);
    if (!handles) directories.set(client, handles = new DirectoryHandles());
    // A file read whole comes with its OPEN (one COMPOUND on NFSv4.1 for a
    // small file); `file/` is not a directory (ENOTDIR), `dir/` is one
    // (EISDIR), as for cat(1).
    const file = await openReadAhead(client, urlPath(url), {
      count: DEFAULT_PREFETCH_BYTES,
      directories: handles,
    });
    return {
      size: file.size,
      chunks: () => file.chunks(),
      close: () => file.close(),
      closedOnServer: file instanceof PrefetchedFile && file.complete,
    };
  }
  const file = await client.openRead(urlPath(url));
  if (range === undefined) {
    return { size: file.size, chunks: () => file.chunks(), close: () => file.close() };
  }
  let size: bigint | undefined;
  if (file.size !== undefined) {
    const left = file.size > range.offset ? file.size - range.offset : 0n;
    size = range.length !== undefined && range.length < left ? range.length : left;
  }
  return {
    size,
    chunks: () => readRange(file, range.offset, range.length),
    close: () => file.close(),
  };
}
