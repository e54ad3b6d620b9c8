/**
 * `nfs4 rmdir [-p] [-v] [--ignore-fail-on-non-empty] URL...`: remove empty
 * directories, with the semantics of GNU coreutils `rmdir`.
 *
 * REMOVE (RFC 7530 §16.25) removes files as well as directories, so the
 * type is checked first (not followed): anything but a directory, a
 * symlink to one included, fails with "Not a directory" and is never
 * removed. A directory with entries fails with "Directory not empty"
 * (NFS4ERR_NOTEMPTY), which `--ignore-fail-on-non-empty` keeps quiet.
 * `-p` then removes each parent named in the URL, from the bottom up, and
 * stops below the export root (or the pseudo-fs root): the first failure
 * ends the chain. `-v` prints `rmdir: removing directory, 'URL'` on stdout
 * before each removal.
 * @module
 */

import type { Nfs4ClientApi } from "../lib/client/api.ts";
import { Nfs4Status, NfsError } from "../lib/client/errors.ts";
import { hasStatus } from "../lib/client/has_status.ts";
import { isFileSystemRoot } from "../lib/client/fs_root.ts";
import { pathOfNames } from "../lib/client/names.ts";
import { removeDirectory } from "../lib/client/remove_tree.ts";
import { type NfsUrl, parseNfsUrl, urlDotEnding, urlForPath, urlPath } from "../lib/client/url.ts";
import type { CliContext, CommandSession } from "./context.ts";
import { readGlobalOptions, type RootCommand } from "./globals.ts";
import { quoted } from "./quoted.ts";

const HELP = `
Only empty directories are removed: anything else, a symlink to a directory
included, fails with "Not a directory" and stays. -p removes the parents
named in the URL too, from the bottom up, stopping below the export root.

Examples:
  $ nfs4 rmdir nfs://127.0.0.1/vfs/empty
  $ nfs4 rmdir -pv nfs://server/export/a/b/c
  rmdir: removing directory, 'nfs://server/export/a/b/c'
  rmdir: removing directory, 'nfs://server/export/a/b'
  rmdir: removing directory, 'nfs://server/export/a'
`;

/** How `rmdir` was asked to remove. */
export interface RmdirOptions {
  /** `-p`: the parents named in the URL too, up to the export root. */
  readonly parents: boolean;
  /** `-v`: a line before each removal. */
  readonly verbose: boolean;
  /** `--ignore-fail-on-non-empty`: a directory with entries is no failure. */
  readonly ignoreNonEmpty: boolean;
}

/** Adds `rmdir` to the program. */
export function registerRmdir(program: RootCommand, ctx: CliContext): void {
  program
    .command("rmdir")
    .description("remove empty directories (like rmdir)")
    .argument("<url...>", "nfs:// URLs of the empty directories to remove")
    .option("-p, --parents", "remove the parents named in the URL too (not the export root)")
    .option("-v", "print a line for each directory removed (--verbose is the global option)")
    .option("--ignore-fail-on-non-empty", "say nothing of directories that are not empty")
    .addHelpText("after", HELP)
    .action(async (urls, opts, cmd) => {
      const globals = readGlobalOptions(cmd.optsWithGlobals());
      const targets = urls.map(parseNfsUrl);
      const session = ctx.session(globals);
      try {
        await rmdirUrls(session, targets, {
          parents: opts.parents === true,
          verbose: opts.v === true,
          ignoreNonEmpty: opts.ignoreFailOnNonEmpty === true,
        });
      } finally {
        await session.close();
      }
    });
}

/** Removes each of `urls` as `rmdir` does; failures are reported and the rest still done. */
export async function rmdirUrls(
  session: CommandSession,
  urls: readonly NfsUrl[],
  options: RmdirOptions,
): Promise<void> {
  for (const url of urls) {
    // The failure is reported with the URL of the directory that failed.
    let current = url;
    try {
      const dot = urlDotEnding(url);
      if (dot !== undefined) {
        // rmdir(2) of `a/.` fails with EINVAL and of `a/..` with ENOTEMPTY
        // (coreutils reports those); the URL's path names `a` itself, or
        // its parent, which must not be removed.
        const status = dot === "." ? "NFS4ERR_INVAL" : "NFS4ERR_NOTEMPTY";
        if (options.ignoreNonEmpty && dot === "..") continue;
        throw new NfsError(Nfs4Status[status], "REMOVE", { path: urlPath(url) });
      }
      const client = await session.client(url);
      if (!await removeOne(session, client, url, urlPath(url), options)) continue;
      if (!options.parents) continue;
      for (let n = url.components.length - 1; n > 0; n--) {
        const path = pathOfNames(url.components.slice(0, n));
        current = parseNfsUrl(urlForPath(url, path));
        if (await isFileSystemRoot(client, path)) break;
        if (!await removeOne(session, client, current, path, options)) break;
      }
    } catch (err) {
      session.report(err, current);
    }
  }
}

/** Removes one directory; false when it stays (not empty, and that is ignored). */
async function removeOne(
  session: CommandSession,
  client: Nfs4ClientApi,
  url: NfsUrl,
  path: string,
  options: RmdirOptions,
): Promise<boolean> {
  if (options.verbose) {
    await session.out.write(`rmdir: removing directory, ${quoted(url.text)}\n`);
  }
  try {
    await removeDirectory(client, path);
    return true;
  } catch (err) {
    // EXIST is the other word POSIX rmdir(2) allows for it; a server may pass it on.
    if (options.ignoreNonEmpty && hasStatus(err, "NFS4ERR_NOTEMPTY", "NFS4ERR_EXIST")) {
      return false;
    }
    throw err;
  }
}
