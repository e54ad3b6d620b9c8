/**
 * `nfs4 du [-s] [-h] [-a] [-c] [-k|-m|-b|-B SIZE] [--apparent-size]
 * [-d N] [--json] URL...`: the space trees use, like GNU du.
 *
 * Each URL is walked depth first (lib/client/walk.ts) with what READDIR
 * returns (no GETATTR per entry, symlinks never followed). A file counts
 * its `space_used` (what the server's file system allocated: st_blocks ×
 * 512 on a POSIX server), or its `size` with `--apparent-size`; a
 * directory counts its own and everything below it. A file with several
 * hard links (the same fsid and fileid) is counted once, where it is met first; with
 * several URLs every file and directory is counted once over all of them
 * (a URL inside another one adds nothing), as GNU du does; `-l` counts
 * every link.
 *
 * Output is `SIZE<TAB>URL` per directory, in post-order (a directory after
 * what is in it), `-a` adds files, `-d N` keeps lines N levels deep at
 * most, `-s` only the URLs themselves, `-c` a `total` line. SIZE is in
 * 1024-byte units rounded up (`-k`), 1 MiB (`-m`), bytes (`-b`, which is
 * also `--apparent-size`), `-B SIZE` units (`-BM` prints the unit after
 * the number), or human-readable with `-h` (`4.0K`, `23M`: powers of 1024,
 * rounded up, one decimal below 10). Of these, the last given wins, as in
 * du. URLs of entries are the URL as typed followed by each name
 * percent-encoded (lib/client/url.ts joinUrl), so each line names exactly
 * that directory.
 * @module
 */

import { InvalidArgumentError } from "@commander-js/extra-typings";
import type { FileInfo } from "../lib/client/types.ts";
import { type NfsUrl, parseNfsUrl, urlPath, UsageError } from "../lib/client/url.ts";
import { walk, type WalkEntry } from "../lib/client/walk.ts";
import type { CliContext, CommandSession } from "./context.ts";
import { readGlobalOptions, type RootCommand } from "./globals.ts";
import { jsonByteString, jsonCount } from "./json_values.ts";
import { humanSize } from "./ls_format.ts";
import { LineBatch, urlBelow } from "./walk_output.ts";

const HELP = `
Sizes:
  Disk usage is the space_used the server reports (its file system's
  allocated blocks), in 1024-byte units rounded up, as du -k; a hard-linked
  file (the same fileid) counts once. --apparent-size counts sizes instead.
  Of -h, -k, -m, -b and -B, the last one given wins.
  -B SIZE: a number of bytes with an optional unit K, M, G, T, P, E (powers
  of 1024; KiB too), KB, MB, ... (powers of 1000); a unit without a number
  (-BM) is printed after each size.

Output:
  SIZE<TAB>URL, a directory after its contents; the URL is the one typed
  followed by each name, percent-encoded (a space is %20, a '%' is %25), so
  every line names exactly one directory. --json prints one JSON object per
  line instead: url, path (from the server's root; path_bytes, base64, when
  it is not UTF-8), type, bytes (disk usage or apparent size in bytes,
  unrounded, a number: all its digits above 2^53 - 1); the -c line is
  {"total": true, "bytes": N}.

Examples:
  $ nfs4 du -sh nfs://server/export/home
  $ nfs4 du -h -d 1 nfs://server/export
  $ nfs4 du -ac --apparent-size nfs://server/export/src
  $ nfs4 du -s --json nfs://server/export | jq .bytes
`;

/** How sizes are printed. */
export type SizeFormat =
  | { readonly kind: "human" }
  | { readonly kind: "blocks"; readonly size: bigint; readonly suffix: string };

/** `nfs4 du`'s settings. */
export interface DuOptions {
  readonly apparentSize: boolean;
  readonly all: boolean;
  readonly summarize: boolean;
  readonly total: boolean;
  /** Lines deeper than this are not printed (the sums still count them). */
  readonly maxDepth: number;
  /** Count every hard link (`-l`). */
  readonly countLinks: boolean;
  readonly format: SizeFormat;
  readonly json: boolean;
}

const UNIT_LETTERS = "KMGTPEZYRQ";

/**
 * Parses a `-B`/`--block-size` value as GNU du does: `N`, `N` with a unit
 * (`K`, `M`, … powers of 1024, `KiB` too; `KB`, `MB`, … powers of 1000), or
 * a unit alone, which is then printed after every size (`-BM` → `3M`).
 *
 * @example
 * ```ts
 * parseBlockSize("1K");  // { kind: "blocks", size: 1024n, suffix: "" }
 * parseBlockSize("MB");  // { kind: "blocks", size: 1000000n, suffix: "MB" }
 * ```
 */
export function parseBlockSize(text: string): SizeFormat {
  const m = /^([0-9]*)(?:([KkMmGgTtPpEeZzYyRrQq])(iB|B)?)?$/.exec(text);
  if (!m || (m[1] === "" && m[2] === undefined)) {
    throw new InvalidArgumentError(
      "Expected a size such as 512, 4K, 1M, KB or MiB",
    );
  }
  const letter = m[2]?.toUpperCase();
  const exponent = letter === undefined ? 0 : UNIT_LETTERS.indexOf(letter) + 1;
  const base = m[3] === "B" ? 1000n : 1024n;
  const unit = base ** BigInt(exponent);
  const count = m[1] === "" ? 1n : BigInt(m[1]!);
  const size = count * unit;
  if (size === 0n) throw new InvalidArgumentError("Expected a size of at least 1");
  let suffix = "";
  if (m[1] === "" && letter !== undefined) {
    suffix = (m[3] === "B" && letter === "K" ? "k" : letter) + (m[3] ?? "");
  }
  return { kind: "blocks", size, suffix };
}

function parseDepth(text: string): number {
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new InvalidArgumentError("Expected a non-negative integer");
  }
  return Number(text);
}

/** A size as du prints it in `format`. */
export function formatSize(bytes: bigint, format: SizeFormat): string {
  if (format.kind === "human") return humanSize(bytes);
  return `${(bytes + format.size - 1n) / format.size}${format.suffix}`;
}

/** Adds `du` to the program. */
export function registerDu(program: RootCommand, ctx: CliContext): void {
  // -h, -k, -m, -b and -B set the size format; the last one given wins, so
  // their order is recorded as commander parses them.
  let format: SizeFormat = { kind: "blocks", size: 1024n, suffix: "" };
  let apparentFromBytes = false;
  const cmd = program
    .command("du")
    .description("estimate the space trees use (like du)")
    .argument("<url...>", "nfs:// URLs of directories or files")
    // -h is --human-readable here, as in du; help stays --help.
    .helpOption("--help", "show help")
    .option("-a, --all", "also print files, not only directories")
    .option("-s, --summarize", "print only a total for each URL")
    .option("-c, --total", "print a grand total at the end")
    .option("-h, --human-readable", "sizes as 1.1K, 23M, 5.0G (powers of 1024, rounded up)")
    .option("-k", "sizes in 1024-byte units (the default)")
    .option("-m", "sizes in 1 MiB units")
    .option("-b, --bytes", "apparent sizes in bytes (--apparent-size --block-size=1)")
    .option("-B, --block-size <size>", "sizes in units of SIZE (4K, 1M, MB, ...)", parseBlockSize)
    .option("--apparent-size", "count file sizes, not the space allocated to them")
    .option("-d, --max-depth <n>", "print lines at most N levels below each URL", parseDepth)
    .option("-l, --count-links", "count a file with several hard links each time it is met")
    .option("--json", "print one JSON object per line (NDJSON)")
    .addHelpText("after", HELP);
  cmd.on("option:human-readable", () => {
    format = { kind: "human" };
  });
  cmd.on("option:k", () => {
    format = { kind: "blocks", size: 1024n, suffix: "" };
  });
  cmd.on("option:m", () => {
    format = { kind: "blocks", size: 1024n * 1024n, suffix: "" };
  });
  cmd.on("option:bytes", () => {
    format = { kind: "blocks", size: 1n, suffix: "" };
    apparentFromBytes = true;
  });
  cmd.on("option:block-size", (value: string) => {
    format = parseBlockSize(value);
  });
  cmd.action(async (urls, opts, command) => {
    const globals = readGlobalOptions(command.optsWithGlobals());
    if (opts.summarize && opts.all) {
      throw new UsageError("du: cannot both summarize (-s) and show all entries (-a)");
    }
    if (opts.summarize && opts.maxDepth !== undefined && opts.maxDepth !== 0) {
      throw new UsageError(`du: summarizing (-s) conflicts with --max-depth=${opts.maxDepth}`);
    }
    const targets = urls.map(parseNfsUrl);
    const options: DuOptions = {
      apparentSize: opts.apparentSize === true || apparentFromBytes,
      all: opts.all === true,
      summarize: opts.summarize === true,
      total: opts.total === true,
      maxDepth: opts.summarize ? 0 : opts.maxDepth ?? Infinity,
      countLinks: opts.countLinks === true,
      format,
      json: opts.json === true,
    };
    const session = ctx.session(globals);
    try {
      await duUrls(session, targets, options);
    } finally {
      await session.close();
    }
  });
}

/**
 * Prints the usage of each of `urls`, then the total when asked. Failures
 * (a missing URL, a directory that cannot be read) are reported and the
 * rest still counted.
 */
export async function duUrls(
  session: CommandSession,
  urls: readonly NfsUrl[],
  options: DuOptions,
): Promise<bigint> {
  // With several URLs every object is remembered, so none counts twice
  // (GNU du's hash_all); with one, only files with several links.
  const counter = new Counter(urls.length > 1, options.countLinks);
  let total = 0n;
  for (const url of urls) {
    total += await duOne(session, url, options, counter);
  }
  if (options.total) {
    await session.out.write(
      options.json
        ? JSON.stringify({ total: true, bytes: jsonCount(total) }) + "\n"
        : `${formatSize(total, options.format)}\ttotal\n`,
    );
  }
  return total;
}

/** Which objects (by fsid and fileid) have been counted. */
class Counter {
  readonly #seen = new Set<string>();
  /** Directories left out because they were counted already. */
  readonly skipped = new WeakSet<WalkEntry>();

  constructor(readonly everything: boolean, readonly countLinks: boolean) {}

  /** Whether `info` is to be counted (false when it was counted before). */
  first(info: FileInfo): boolean {
    if (this.countLinks || info.fileid === undefined) return true;
    const remember = this.everything ||
      (info.kind !== "directory" && info.nlink !== undefined && info.nlink > 1);
    if (!remember) return true;
    // A fileid is unique within its file system only (RFC 7530 §5.8.1.9).
    const key = `${info.fsid ?? "?"}/${info.fileid}`;
    if (this.#seen.has(key)) return false;
    this.#seen.add(key);
    return true;
  }
}

async function duOne(
  session: CommandSession,
  url: NfsUrl,
  options: DuOptions,
  counter: Counter,
): Promise<bigint> {
  const lines = new LineBatch(session.out);
  /** sums[d]: what the entries at depth d of the directory being summed add up to. */
  const sums: bigint[] = [];
  let rootTotal = 0n;
  // space_used is RECOMMENDED, not REQUIRED (RFC 7530 §5.7): a server
  // without it is counted by size, as its best estimate, not as 0.
  const sizeOf = (info: FileInfo): bigint =>
    (options.apparentSize ? info.size : info.spaceUsed ?? info.size) ?? 0n;
  const print = async (entry: WalkEntry, bytes: bigint) => {
    const target = urlBelow(url, entry.names);
    await lines.add(
      options.json
        ? JSON.stringify({
          url: target.text,
          ...jsonByteString("path", target.path),
          type: entry.info.kind,
          bytes: jsonCount(bytes),
        }) + "\n"
        : `${formatSize(bytes, options.format)}\t${target.text}\n`,
    );
  };
  try {
    const client = await session.client(url);
    const walker = walk(client, urlPath(url), {
      order: "post",
      descend: (entry) => {
        if (!counter.first(entry.info)) {
          counter.skipped.add(entry);
          return false;
        }
        return true;
      },
    });
    for await (const item of walker) {
      if (item.kind === "failure") {
        await lines.flush();
        session.report(item.error, urlBelow(url, item.names));
        continue;
      }
      const { info, depth } = item;
      const isDirectory = info.kind === "directory";
      // A directory was counted (or not) when the walk was about to read it.
      if (isDirectory ? counter.skipped.has(item) : !counter.first(info)) continue;
      let bytes = sizeOf(info);
      if (isDirectory) {
        bytes += sums[depth + 1] ?? 0n;
        sums[depth + 1] = 0n;
      }
      sums[depth] = (sums[depth] ?? 0n) + bytes;
      if (depth === 0) rootTotal = bytes;
      if (depth === 0 || (depth <= options.maxDepth && (isDirectory || options.all))) {
        await print(item, bytes);
      }
    }
  } catch (err) {
    await lines.flush();
    session.report(err, url);
  }
  await lines.flush();
  return rootTotal;
}
