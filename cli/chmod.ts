/**
 * `nfs4 chmod [-R] [-v|-c] [-f] MODE URL...`: change permission bits with
 * SETATTR of `mode`, as coreutils 9 `chmod` changes them.
 *
 * MODE is octal or symbolic with GNU's exact semantics (lib/client/mode.ts:
 * `X`, `s`, `t`, `g=u`, the umask when no `ugoa` is given, the set-id bits
 * of directories that short octal modes keep). A symlink named on the
 * command line is followed; `-R` walks each directory with READDIR (the
 * modes come from its attributes, no GETATTR per entry), changing a
 * directory before its contents, and leaves symlinks met on the way alone,
 * as GNU chmod does. `-v` and `-c` print coreutils' lines with the URL for
 * the file name; `-f` prints no failures (the exit status still says 1).
 * @module
 */

import { Option } from "@commander-js/extra-typings";
import type { FileInfo } from "../lib/client/types.ts";
import {
  applyModeSpec,
  type ModeSpec,
  octalMode,
  parseModeSpec,
  permissionString,
} from "../lib/client/mode.ts";
import { type NfsUrl, parseNfsUrl, urlPath, UsageError } from "../lib/client/url.ts";
import type { Nfs4ClientApi } from "../lib/client/api.ts";
import {
  changeTree,
  changeUrls,
  followFailure,
  reportFailure,
  type Verbosity,
} from "./change_walk.ts";
import type { CliContext, CommandSession } from "./context.ts";
import { quoted } from "./quoted.ts";
import { currentUmask } from "./umask.ts";
import { readGlobalOptions, type RootCommand } from "./globals.ts";

const HELP = `
MODE is octal (644, 2775, 00755) or symbolic, [ugoa]*([-+=]([rwxXst]*|[ugo]))+
in a comma-separated list (u+x, go-w, a=rX, g=u, u+s), exactly as GNU chmod
reads it: without u, g, o or a the umask limits the change; X is execute for
directories and files that already have an execute bit; an octal mode of up
to 4 digits keeps a directory's set-user-ID and set-group-ID bits unless it
sets them (5 digits clear them). A mode starting with - goes after --
(nfs4 chmod -- -w URL), or is written a-w.

A symlink named on the command line is followed (its target changes). With
-R, symlinks met in the tree are left alone. SETATTR needs the file's owner
(or root on the server); the server's refusal is reported per file
(Operation not permitted (NFS4ERR_PERM)) and the others are still changed.

Examples:
  $ nfs4 chmod 640 nfs://server/export/secret.txt
  $ nfs4 chmod -R u+rwX,go-w nfs://server/export/www
  $ nfs4 chmod -v g+s nfs://server/export/shared
  mode of 'nfs://server/export/shared' changed from 0755 (rwxr-xr-x) to 2755 (rwxr-sr-x)
  $ nfs4 chmod --reference nfs://server/export/a nfs://server/export/b
`;

/** How `chmod` was asked to work. */
export interface ChmodOptions {
  /** `-R`: every file and directory below each directory named. */
  readonly recursive: boolean;
  /** `-v` (every file), `-c` (files whose mode changed), or nothing. */
  readonly verbosity: Verbosity;
  /** `-f`: no message for a failure. */
  readonly silent: boolean;
  /** The umask for modes without `ugoa` (the process's). */
  readonly umask: number;
}

/** Adds `chmod` to the program. */
export function registerChmod(program: RootCommand, ctx: CliContext): void {
  program
    .command("chmod")
    .description("change file mode bits (like chmod)")
    .usage("[options] MODE URL...\n       nfs4 chmod [options] --reference REF_URL URL...")
    .argument("<mode-or-url>", "MODE (octal or symbolic), or the first URL with --reference")
    .argument("[url...]", "nfs:// URLs of files and directories")
    .option("-R, --recursive", "change files and directories below each directory too")
    .option("-v", "print a line for every file (--verbose is the global option)")
    .option("-c, --changes", "print a line for every file whose mode changes")
    .option("-f, --silent", "print no message for a file that cannot be changed")
    .addOption(new Option("--quiet", "same as --silent").hideHelp())
    .option("--reference <REF_URL>", "use the mode of REF_URL instead of MODE")
    .addHelpText("after", HELP)
    .action(async (first, rest, opts, cmd) => {
      const globals = readGlobalOptions(cmd.optsWithGlobals());
      const operands = opts.reference !== undefined ? [first, ...rest] : rest;
      if (operands.length === 0) {
        throw new UsageError(`missing operand after '${first}'`);
      }
      const spec = opts.reference !== undefined ? undefined : parseModeSpec(first);
      const reference = opts.reference !== undefined ? parseNfsUrl(opts.reference) : undefined;
      const urls = operands.map(parseNfsUrl);
      const options: ChmodOptions = {
        recursive: opts.recursive === true,
        verbosity: opts.v ? "high" : opts.changes ? "changes" : "off",
        silent: opts.silent === true || opts.quiet === true,
        umask: currentUmask(),
      };
      const session = ctx.session(globals);
      try {
        let mode = spec;
        if (reference) {
          // As GNU: a reference that cannot be read ends the command.
          const client = await session.client(reference);
          const info = await client.stat(urlPath(reference), { follow: true });
          if (info.mode === undefined) {
            throw new Error(`${reference.text}: the server did not give its mode`);
          }
          mode = parseModeSpec("0" + octalMode(info.mode));
        }
        await chmodUrls(session, mode!, urls, options);
      } finally {
        await session.close();
      }
    });
}

/**
 * Changes the mode of each of `urls` (and, with `-R`, what is below them)
 * as `spec` says. Failures are reported per file and the rest goes on.
 */
export async function chmodUrls(
  session: CommandSession,
  spec: ModeSpec,
  urls: readonly NfsUrl[],
  options: ChmodOptions,
): Promise<void> {
  const couldNotAccess = async (url: NfsUrl) => {
    if (options.verbosity === "high") {
      await session.out.write(`${quoted(url.text)} could not be accessed\n`);
    }
  };
  await changeUrls(session, urls, options.silent, (url) =>
    changeTree(session, url, {
      recursive: options.recursive,
      silent: options.silent,
      // A symlink named is followed; those met below are left alone (chmodOne).
      follow: "start",
      order: "pre",
      startFailure: followFailure,
      // A directory that could not be read was changed, or tried, before.
      unreachable: couldNotAccess,
      change: (client, entry, path, at) =>
        chmodOne(
          session,
          client,
          { info: entry.info, path, url: at, follow: entry.depth === 0 },
          spec,
          options,
        ),
    }));
}

async function chmodOne(
  session: CommandSession,
  client: Nfs4ClientApi,
  target: { info: FileInfo; path: string; url: NfsUrl; follow: boolean },
  spec: ModeSpec,
  options: ChmodOptions,
): Promise<void> {
  const { info, path, url } = target;
  const name = quoted(url.text);
  const say = (line: string) => session.out.write(line + "\n");
  if (info.kind === "symlink") {
    // Met in a -R walk: neither the link (which has no mode of its own) nor its target.
    if (options.verbosity === "high") {
      await say(`neither symbolic link ${name} nor referent has been changed`);
    }
    return;
  }
  if (info.mode === undefined) {
    reportFailure(
      session,
      new Error(`${url.text}: the server did not give its mode`),
      url,
      options.silent,
    );
    return;
  }
  const old = info.mode;
  const mode = applyModeSpec(spec, old, info.kind === "directory", options.umask);
  const show = (m: number) => `${octalMode(m)} (${permissionString(m)})`;
  try {
    await client.setattrPath(path, { mode }, { follow: target.follow });
  } catch (err) {
    reportFailure(session, err, url, options.silent);
    if (options.verbosity === "high") {
      await say(`failed to change mode of ${name} from ${show(old)} to ${show(mode)}`);
    }
    return;
  }
  if (options.verbosity === "off") return;
  // Set-id and sticky bits may be dropped quietly (a group we are not in):
  // what the server has decides whether the mode changed, as in coreutils.
  let now = mode;
  if ((mode & 0o7000) !== 0) {
    try {
      now = (await client.stat(path, { follow: target.follow })).mode ?? mode;
    } catch (err) {
      reportFailure(session, err, url, options.silent);
      now = old;
    }
  }
  if (((old ^ now) & 0o7777) !== 0) {
    await say(`mode of ${name} changed from ${show(old)} to ${show(mode)}`);
  } else if (options.verbosity === "high") {
    await say(`mode of ${name} retained as ${show(mode)}`);
  }
}
