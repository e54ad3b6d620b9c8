/**
 * `nfs4 head [-c [-]N | -n [-]N] [-q|-v] [-z] URL...`: the first part of
 * files, with the semantics of GNU coreutils `head`.
 *
 * Only what is needed is read: `-c N` READs exactly the first N bytes,
 * `-n N` reads forward from one small READ (growing) and stops at the Nth
 * newline, `-c -N` reads the size OPEN returned less N, and `-n -N` finds
 * where the last N lines start by reading backwards from the end
 * (lib/client/byte_range.ts), then prints what comes before. Memory stays
 * bounded whatever the file size. With several URLs (or `-v`) each file's
 * part comes after a `==> URL <==` header, as GNU head prints them; a URL
 * that fails prints one line on stderr and the next is still read (exit 1).
 * @module
 */

import { Option } from "@commander-js/extra-typings";
import type { OpenFile } from "../lib/client/api.ts";
import { headLines, lastLinesStart, readRange, sizeOf } from "../lib/client/byte_range.ts";
import { type NfsUrl, parseNfsUrl, urlPath } from "../lib/client/url.ts";
import type { CliContext, CommandSession } from "./context.ts";
import { parseHeadCount } from "./count_arg.ts";
import { readGlobalOptions, type RootCommand } from "./globals.ts";
import {
  Headers,
  headersWanted,
  isDirectoryError,
  lastOfEachWins,
  type PartOptions,
  settlePartOptions,
} from "./head_tail.ts";

const HELP = `
NUM may have a multiplier: b 512, kB 1000, K 1024, MB 1000*1000, M 1024*1024,
GB, G, and so on for T, P, E (KiB = K, MiB = M, ...). Of -c and -n the last
given wins; -n 10 is the default.

Examples:
  $ nfs4 head nfs://127.0.0.1/vfs/log.txt
  $ nfs4 head -n 3 nfs://server/export/a.csv nfs://server/export/b.csv
  $ nfs4 head -c 1K nfs://server/export/big.iso | od -c
  $ nfs4 head -n -1 nfs://server/export/data.csv     # all but the last line
`;

/**
 * What `head` prints of each file: `count` bytes or lines; with sign `-`,
 * all but the last that many.
 */
export type HeadOptions = PartOptions;

/** GNU head's default: the first 10 lines. */
export const DEFAULT_HEAD: HeadOptions = {
  unit: "lines",
  count: { sign: "", value: 10n },
  headers: "auto",
  delimiter: 0x0a,
};

/** Adds `head` to the program. */
export function registerHead(program: RootCommand, ctx: CliContext): void {
  const cmd = program
    .command("head")
    .description("print the first part of files (like head)")
    .argument("<url...>", "nfs:// URLs of files")
    .addOption(
      new Option("-c, --bytes <[-]NUM>", "the first NUM bytes; with -, all but the last NUM")
        .argParser((v) => parseHeadCount(v, "bytes")),
    )
    .addOption(
      new Option("-n, --lines <[-]NUM>", "the first NUM lines (10); with -, all but the last NUM")
        .argParser((v) => parseHeadCount(v, "lines")),
    )
    .option("-q, --quiet", "never print headers giving the URLs")
    .addOption(new Option("--silent", "same as -q").hideHelp())
    .option("-v", "always print headers (--verbose is the global option)")
    .option("-z, --zero-terminated", "lines end with NUL, not newline")
    .addHelpText("after", HELP);
  lastOfEachWins(cmd);
  cmd.action(async (urls, opts, command) => {
    const globals = readGlobalOptions(command.optsWithGlobals());
    const options: HeadOptions = settlePartOptions(command, opts, DEFAULT_HEAD);
    const targets = urls.map(parseNfsUrl);
    const session = ctx.session(globals);
    try {
      await headUrls(session, targets, options);
    } finally {
      await session.close();
    }
  });
}

/** Prints the first part of each of `urls`; failures are reported and the rest still printed. */
export async function headUrls(
  session: CommandSession,
  urls: readonly NfsUrl[],
  options: HeadOptions,
): Promise<void> {
  const headers = new Headers(session, headersWanted(options.headers, urls.length));
  for (const url of urls) {
    try {
      await headOne(session, url, options, headers);
    } catch (err) {
      session.report(err, url); // rethrows a closed stdout
    }
  }
}

async function headOne(
  session: CommandSession,
  url: NfsUrl,
  options: HeadOptions,
  headers: Headers,
): Promise<void> {
  const client = await session.client(url);
  let file: OpenFile;
  try {
    file = await client.openRead(urlPath(url));
  } catch (err) {
    if (isDirectoryError(err)) {
      // As GNU head: the header, then "Is a directory" when it reads, and
      // nothing at all to fail when it reads nothing (-c 0, -n 0).
      await headers.write(url);
      if (options.count.sign === "" && options.count.value === 0n) return;
    }
    throw err;
  }
  let done = false;
  try {
    await headers.write(url);
    for await (const chunk of headChunks(file, options)) await session.out.write(chunk);
    done = true;
  } finally {
    if (done) await file.close();
    else await file.close().catch(() => {}); // the error that stopped it is the one to report
  }
}

/** The bytes `head` prints of `file`, read as little as the options allow. */
export async function* headChunks(
  file: OpenFile,
  options: Pick<HeadOptions, "unit" | "count" | "delimiter">,
): AsyncGenerator<Uint8Array, void, undefined> {
  const { sign, value } = options.count;
  if (options.unit === "bytes") {
    if (sign === "") {
      yield* readRange(file, 0n, value);
    } else {
      const size = await sizeOf(file);
      if (size > value) yield* readRange(file, 0n, size - value);
    }
    return;
  }
  const lineOptions = { delimiter: options.delimiter };
  if (sign === "") {
    yield* headLines(file, value, lineOptions);
  } else {
    const size = await sizeOf(file);
    const last = await lastLinesStart(file, size, value, { ...lineOptions, keep: 0 });
    if (last.start > 0n) yield* readRange(file, 0n, last.start);
  }
}
