/**
 * `nfs4 mkdir [-p] [-m MODE] [-v] URL...`: make directories (CREATE
 * NF4DIR, RFC 7530 §16.4), with the semantics of GNU coreutils `mkdir`.
 *
 * - Without `-m` a directory gets 0777 less this process's umask, as
 *   mkdir(2) would give it (the server applies no umask of its own).
 * - `-m MODE` is octal or symbolic (`u=rwx,g=rx`, `a+t`), taken from 0777
 *   as coreutils does, and is the mode exactly. Set-user-ID, set-group-ID
 *   and sticky bits asked for (or cleared with 5-digit octal) are set with
 *   a SETATTR after the CREATE, as coreutils chmods after mkdir(2): a
 *   server may drop them on CREATE as Linux's mkdir(2) does.
 * - `-p` creates the missing parents with 0777 less the umask, plus u+wx
 *   (so they can be entered and written), and is fine with an existing
 *   directory (a symlink to one too). Without it an existing name fails
 *   with "File exists".
 * - `-v` prints `mkdir: created directory 'URL'` on stdout for each
 *   directory made, parents included.
 * @module
 */

import { makeDirectories } from "../lib/client/make_directories.ts";
import { adjustMode, parseModeSpec } from "../lib/client/mode.ts";
import { type NfsUrl, parseNfsUrl, urlForPath } from "../lib/client/url.ts";
import type { CliContext, CommandSession } from "./context.ts";
import { readGlobalOptions, type RootCommand } from "./globals.ts";
import { quoted } from "./quoted.ts";
import { currentUmask } from "./umask.ts";

const HELP = `
Modes:
  Without -m a new directory gets 0777 less the umask. -m takes what chmod
  takes (755, u=rwx,g=rx, a+t), from a=rwx; set-id and sticky bits are set
  after the CREATE. -p creates missing parents with 0777 less the umask,
  plus u+wx, and accepts an existing directory.

Examples:
  $ nfs4 mkdir nfs://127.0.0.1/vfs/new
  $ nfs4 mkdir -p -m 0700 nfs://server/export/a/b/private
  $ nfs4 mkdir -pv nfs://server/export/x/y
  mkdir: created directory 'nfs://server/export/x'
  mkdir: created directory 'nfs://server/export/x/y'
`;

/** How `mkdir` was asked to make directories. */
export interface MkdirOptions {
  /** `-p`: make missing parents; an existing directory is no error. */
  readonly parents: boolean;
  /** `-m MODE` as given (octal or symbolic); undefined for 0777 less the umask. */
  readonly mode?: string | undefined;
  /** `-v`: a line for each directory made. */
  readonly verbose: boolean;
  /** The umask in force (default: this process's). */
  readonly umask?: number;
}

/** Adds `mkdir` to the program. */
export function registerMkdir(program: RootCommand, ctx: CliContext): void {
  program
    .command("mkdir")
    .description("make directories (like mkdir)")
    .argument("<url...>", "nfs:// URLs of the directories to make")
    .option("-p, --parents", "make parent directories as needed; no error if existing")
    .option("-m, --mode <MODE>", "set the mode (as in chmod), not a=rwx less the umask")
    .option("-v", "print a line for each directory made (--verbose is the global option)")
    .addHelpText("after", HELP)
    .action(async (urls, opts, cmd) => {
      const globals = readGlobalOptions(cmd.optsWithGlobals());
      const targets = urls.map(parseNfsUrl);
      // A bad mode is a usage error before anything is made.
      if (opts.mode !== undefined) parseModeSpec(opts.mode);
      const session = ctx.session(globals);
      try {
        await mkdirUrls(session, targets, {
          parents: opts.parents === true,
          mode: opts.mode,
          verbose: opts.v === true,
        });
      } finally {
        await session.close();
      }
    });
}

/** Makes each of `urls`; failures are reported and the rest still made. */
export async function mkdirUrls(
  session: CommandSession,
  urls: readonly NfsUrl[],
  options: MkdirOptions,
): Promise<void> {
  const umask = options.umask ?? currentUmask();
  // Without -m: what mkdir(2) would leave of 0777 (only permission bits decided).
  let mode = 0o777 & ~umask;
  let modeBits = 0o777;
  if (options.mode !== undefined) {
    ({ mode, modeBits } = adjustMode(parseModeSpec(options.mode), 0o777, true, umask));
  }
  // What mkdir -p gives the parents it makes (coreutils: the umask less u+wx).
  const parentMode = 0o777 & ~(umask & ~0o300);
  for (const url of urls) {
    try {
      await mkdirOne(session, url, { ...options, mode, modeBits, parentMode });
    } catch (err) {
      session.report(err, url);
    }
  }
}

interface Modes {
  readonly parents: boolean;
  readonly verbose: boolean;
  readonly mode: number;
  readonly modeBits: number;
  readonly parentMode: number;
}

async function mkdirOne(session: CommandSession, url: NfsUrl, options: Modes): Promise<void> {
  const client = await session.client(url);
  await makeDirectories(client, url.path, {
    mode: options.mode,
    modeBits: options.modeBits,
    parents: options.parents,
    parentMode: options.parentMode,
    onCreated: async (path) => {
      if (!options.verbose) return;
      const text = path === url.path ? url.text : urlForPath(url, path);
      await session.out.write(`mkdir: created directory ${quoted(text)}\n`);
    },
  });
}
