/**
 * `nfs4 cat URL...`: copy files to stdout, byte for byte, in order.
 *
 * Each file is opened for reading (OPEN share READ, deny NONE), streamed
 * with several READs in flight, and closed. A chunk is written and the write
 * awaited before the next one is taken, so memory stays constant whatever
 * the file size and a slow reader slows the reads down. A URL that fails (a
 * directory, a missing file) prints one line on stderr and the next URL is
 * still copied; the exit status is then 1. When stdout closes early
 * (`nfs4 cat … | head -c1`), `cat` stops quietly with status 0.
 * @module
 */

import { type NfsUrl, parseNfsUrl, urlPath } from "../lib/client/url.ts";
import type { CliContext, CommandSession } from "./context.ts";
import { readGlobalOptions, type RootCommand } from "./globals.ts";

const HELP = `
Examples:
  $ nfs4 cat nfs://127.0.0.1/vfs/hello.txt
  $ nfs4 cat nfs://server/export/a nfs://server/export/b > both
  $ nfs4 cat nfs://[::1]:2050/vfs/big.iso | sha256sum
`;

/** Adds `cat` to the program. */
export function registerCat(program: RootCommand, ctx: CliContext): void {
  program
    .command("cat")
    .description("copy files to stdout (like cat)")
    .argument("<url...>", "nfs:// URLs of files")
    .addHelpText("after", HELP)
    .action(async (urls, _opts, cmd) => {
      const globals = readGlobalOptions(cmd.optsWithGlobals());
      const targets = urls.map(parseNfsUrl);
      const session = ctx.session(globals);
      try {
        await catUrls(session, targets);
      } finally {
        await session.close();
      }
    });
}

/** Copies each of `urls` to stdout; failures are reported and skipped. */
export async function catUrls(session: CommandSession, urls: readonly NfsUrl[]): Promise<void> {
  for (const url of urls) {
    try {
      await catOne(session, url);
    } catch (err) {
      session.report(err, url); // rethrows a closed stdout
    }
  }
}

async function catOne(session: CommandSession, url: NfsUrl): Promise<void> {
  const client = await session.client(url);
  // `file/` is not a directory (ENOTDIR), `dir/` is one (EISDIR), as for cat(1).
  const file = await client.openRead(urlPath(url));
  let done = false;
  try {
    for await (const chunk of file.chunks()) {
      await session.out.write(chunk);
    }
    done = true;
  } finally {
    if (done) {
      await file.close();
    } else {
      // The error that stopped the copy is the one to report.
      await file.close().catch(() => {});
    }
  }
}
