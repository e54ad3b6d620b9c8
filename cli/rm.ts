/**
 * `nfs4 rm [-r] [-d] [-f] [-i|-I] [-v] [--no-preserve-root] URL...`: remove
 * files and trees (REMOVE, RFC 7530 §16.25) with the semantics of GNU
 * coreutils `rm`:
 *
 * - A directory needs `-r` (or `-d` when it is empty): otherwise
 *   `cannot remove 'URL': Is a directory`. Symlinks are removed, never
 *   followed; a URL ending in `/` names the directory a symlink points to
 *   (its contents go with `-r`, the link itself stays: "Not a directory").
 * - `-r` walks depth first (lib/client/remove_tree.ts): every directory is
 *   read to the end before its entries go; a failure is reported with the
 *   entry's URL and the rest is still removed, the directories above it
 *   kept. No symlink inside the tree is followed meanwhile, even one that
 *   replaced a directory after it was listed (lib/client/tree_guard.ts):
 *   its entries fail with NFS4ERR_SYMLINK, nothing outside the tree goes.
 * - `-r` refuses the pseudo-fs root and export roots (an fsid other than
 *   the parent's) unless `--no-preserve-root`, and a URL whose last
 *   component is `.` or `..` always: by the URL as typed, whatever the
 *   path resolved lexically to (`sl/x/..` is `sl`, even a symlink).
 * - `-f` says nothing of missing files and never prompts; `-i` asks
 *   before each removal, `-I` once before removing more than three URLs
 *   or recursively (answers read from stdin, `y`/`Y` for yes); the last of
 *   `-f`, `-i` and `-I` wins.
 * - `-v` prints `removed 'URL'` and `removed directory 'URL'` on stdout.
 * @module
 */

import { Option } from "@commander-js/extra-typings";
import type { Nfs4ClientApi } from "../lib/client/api.ts";
import { hasStatus } from "../lib/client/has_status.ts";
import { isFileSystemRoot } from "../lib/client/fs_root.ts";
import { removeDirectory, removeTree, type TreeEntry } from "../lib/client/remove_tree.ts";
import type { FileInfo } from "../lib/client/types.ts";
import {
  joinUrl,
  type NfsUrl,
  parseNfsUrl,
  urlDotEnding,
  urlPath,
  UsageError,
} from "../lib/client/url.ts";
import type { CliContext, CommandSession } from "./context.ts";
import { readGlobalOptions, type RootCommand } from "./globals.ts";
import { type Ask, withStdinAsk } from "./prompt.ts";
import { quoted } from "./quoted.ts";
import { fileTypeText } from "./stat_format.ts";

const HELP = `
Directories:
  -r removes a directory and everything in it, depth first; a failure is
  reported with the entry's URL and the rest still goes (the directories
  above it stay). Symlinks are removed, not followed. -r refuses the
  pseudo-fs root (nfs://HOST/) and export roots unless --no-preserve-root,
  and a URL ending in . or .. always.

Prompts:
  -i asks before each removal, -I once before removing more than three URLs
  or recursively; answers are lines read from stdin (y or Y is yes). -f
  never asks and says nothing of missing files. The last of -f, -i, -I wins.

Examples:
  $ nfs4 rm nfs://127.0.0.1/vfs/old.log
  $ nfs4 rm -rv nfs://server/export/build
  removed 'nfs://server/export/build/a.o'
  removed directory 'nfs://server/export/build'
  $ nfs4 rm -f nfs://server/export/maybe-there
`;

/** How `rm` was asked to remove. */
export interface RmOptions {
  /** `-r`/`-R`: directories and their contents. */
  readonly recursive: boolean;
  /** `-d`: empty directories. */
  readonly dir: boolean;
  /** `-f`: missing files are no error. */
  readonly force: boolean;
  /** `-i` (always), `-I` (once), or neither. */
  readonly interactive: "never" | "once" | "always";
  /** `-v`: a line for each removal. */
  readonly verbose: boolean;
  /** Refuse `-r` of the pseudo-fs root and export roots (default). */
  readonly preserveRoot: boolean;
}

/** Adds `rm` to the program. */
export function registerRm(program: RootCommand, ctx: CliContext): void {
  // Which of -f, -i, -I came last (coreutils: the last one wins).
  let prompting: RmOptions["interactive"] | undefined;
  let force = false;
  const rm = program
    .command("rm")
    .description("remove files and directories (like rm)")
    .argument("[url...]", "nfs:// URLs of the files and directories to remove")
    .option("-r, --recursive", "remove directories and their contents")
    .addOption(new Option("-R", "same as -r").hideHelp())
    .option("-d, --dir", "remove empty directories")
    .option("-f, --force", "ignore missing files, never prompt")
    .option("-i", "prompt before every removal")
    .option("-I", "prompt once before removing more than three URLs, or recursively")
    .option("-v", "print a line for each removal (--verbose is the global option)")
    .option("--preserve-root", "refuse -r of the pseudo-fs root and export roots (the default)")
    .option("--no-preserve-root", "do not treat the pseudo-fs root and export roots specially")
    .addHelpText("after", HELP);
  rm.on("option:force", () => {
    prompting = "never";
    force = true;
  });
  rm.on("option:i", () => void (prompting = "always"));
  rm.on("option:I", () => void (prompting = "once"));
  rm.action(async (urls, opts, cmd) => {
    const globals = readGlobalOptions(cmd.optsWithGlobals());
    const targets = urls.map(parseNfsUrl);
    if (targets.length === 0) {
      if (force) return;
      throw new UsageError("missing operand");
    }
    const options: RmOptions = {
      recursive: opts.recursive === true || opts.R === true,
      dir: opts.dir === true,
      force,
      interactive: prompting ?? "never",
      verbose: opts.v === true,
      preserveRoot: opts.preserveRoot !== false,
    };
    const session = ctx.session(globals);
    try {
      await withStdinAsk(ctx, (ask) => rmUrls(session, targets, options, ask));
    } finally {
      await session.close();
    }
  });
}

/**
 * Removes each of `urls` as `rm` does; failures are reported and the rest
 * still removed. `ask` answers the prompts of `-i` and `-I`.
 */
export async function rmUrls(
  session: CommandSession,
  urls: readonly NfsUrl[],
  options: RmOptions,
  ask: Ask,
): Promise<void> {
  if (options.interactive === "once" && (options.recursive || urls.length > 3)) {
    const n = urls.length;
    const what = `${n} argument${n === 1 ? "" : "s"}${options.recursive ? " recursively" : ""}`;
    if (!await ask(`remove ${what}?`)) return;
  }
  for (const url of urls) {
    try {
      await rmOne(session, url, options, ask);
    } catch (err) {
      session.report(err, url);
    }
  }
}

async function rmOne(
  session: CommandSession,
  url: NfsUrl,
  options: RmOptions,
  ask: Ask,
): Promise<void> {
  const client = await session.client(url);
  const path = urlPath(url);
  let info: FileInfo;
  try {
    // Not followed, unless the URL ends in / (then it must be a directory).
    info = await client.stat(path);
  } catch (err) {
    if (options.force && hasStatus(err, "NFS4ERR_NOENT", "NFS4ERR_NOTDIR")) return;
    throw err;
  }
  const top: TreeEntry = { path, names: [], info };
  const urlOf = (entry: TreeEntry) => entry.names.reduce(joinUrl, url);
  const confirm = options.interactive === "always"
    ? (entry: TreeEntry, step: "descend" | "remove") =>
      ask(
        step === "descend"
          ? `descend into directory ${quoted(urlOf(entry).text)}?`
          : `remove ${fileTypeText(entry.info.kind, entry.info.size)} ${
            quoted(urlOf(entry).text)
          }?`,
      )
    : undefined;
  const onRemoved = async (entry: TreeEntry) => {
    if (!options.verbose) return;
    const what = entry.info.kind === "directory" ? "removed directory" : "removed";
    await session.out.write(`${what} ${quoted(urlOf(entry).text)}\n`);
  };
  // A last component `.` or `..` is judged by the text typed, whatever the
  // stat found: the URL's path was resolved lexically (RFC 3986 §5.2.4), so
  // `sl/x/..` stat'ed `sl` itself, a symlink, where a local path would go
  // through it to a directory. POSIX rm: "If either of the files dot or
  // dot-dot are specified as the basename portion of an operand ... rm
  // shall write a diagnostic message ... and do nothing more with such
  // operands". Such an operand names a directory, so without -r or -d GNU
  // says "Is a directory" first.
  const namesDirectory = info.kind === "directory" || urlDotEnding(url) !== undefined;
  if (namesDirectory) {
    if (!options.recursive && !options.dir) {
      throw new Error(`cannot remove ${quoted(url.text)}: Is a directory`);
    }
    if (urlDotEnding(url) !== undefined) {
      throw new Error(
        `refusing to remove '.' or '..' directory: skipping ${quoted(url.text)}`,
      );
    }
    if (!options.recursive) {
      // -d: an empty directory, nothing inside it.
      if (confirm && !await confirm(top, "remove")) return;
      await removeDirectory(client, path);
      await onRemoved(top);
      return;
    }
    if (options.preserveRoot) await refuseRoot(client, url);
  }
  await removeTree(client, top, {
    ...(confirm ? { confirm } : {}),
    onRemoved,
    onError: (err, entry) => session.report(err, urlOf(entry)),
    ignoreMissing: options.force,
    signal: session.ctx.interruption.signal,
  });
}

/** `rm -r` of the pseudo-fs root or of an export root, without --no-preserve-root. */
async function refuseRoot(client: Nfs4ClientApi, url: NfsUrl): Promise<void> {
  const pseudoRoot = url.components.length === 0;
  if (!pseudoRoot && !await isFileSystemRoot(client, urlPath(url))) return;
  const which = pseudoRoot ? "the pseudo-fs root" : "an export root";
  throw new Error(
    `it is dangerous to operate recursively on ${quoted(url.text)} (${which}); ` +
      "use --no-preserve-root to override this failsafe",
  );
}
