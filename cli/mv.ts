/**
 * `nfs4 mv [-f|-i|-n] [-v] [-T | -t DIR] SRC... DST`: move or rename files
 * and directories on one NFS server (RENAME), between servers, and between
 * a server and local paths (copy, verify, then remove the source), with the
 * semantics of coreutils `mv` (lib/client/move.ts does the work).
 * @module
 */

import process from "node:process";
import { Option } from "@commander-js/extra-typings";
import type { Location } from "../lib/client/copy/mod.ts";
import { Leftovers } from "../lib/client/copy/run.ts";
import { move, MoveError, type MoveEvent, type MoveSummary } from "../lib/client/move.ts";
import { parseNfsUrl } from "../lib/client/url.ts";
import type { CliContext, CommandSession } from "./context.ts";
import { describeError } from "./errors.ts";
import { type Ask, withStdinAsk } from "./prompt.ts";
import { quoted } from "./quoted.ts";
import { splitTargetOperands } from "./target_operands.ts";
import { currentUmask } from "./umask.ts";
import { readGlobalOptions, type RootCommand } from "./globals.ts";

/** What to do about an existing target: the last of -f, -i, -n given wins, as with mv. */
export type OverwriteMode = "force" | "interactive" | "no-clobber";

/** How `mv` was asked to move. */
export interface MvOptions {
  readonly overwrite: OverwriteMode;
  /** `-t DIR`: the destination is a directory to move into. */
  readonly targetDirectory: boolean;
  /** `-T`: the destination is the new name, even when it is a directory. */
  readonly noTargetDirectory: boolean;
  /** `-v`: print each step as mv does. */
  readonly verbose: boolean;
}

const HELP = `
Operands:
  Each SRC and DST is an nfs:// URL or a local path. As with mv: DST that is
  an existing directory (or a symlink to one, or -t DIR) receives the sources
  under their own names (several sources need one); otherwise DST is the new
  name. DST ending in / must be a directory.

Within one server (the same host:port) a move is one RENAME: atomic, and an
existing target (a file, or an empty directory for a directory) is replaced.

Across servers, to or from a local path, or between two exports of one
server (whose RENAME answers NFS4ERR_XDEV), the source is copied as cp -a
copies (mode, owner, times, hard links inside it, symlinks, special files)
to a temporary name beside the target, every file committed; the copy is
then read back and compared with the source byte for byte (SHA-256 of every
regular file, sizes, kinds, symlink targets); only then is it renamed onto
the target and the source removed. Anything that fails or differs before
that removes the temporary, keeps the source, says so on one line and exits
1. Ctrl-C does the same (exit 130).

Refused as by mv: a directory onto a file or a non-empty directory, a file
onto a directory, a file onto itself or another of its hard links ("are the
same file"), a directory into itself.

Overwriting:
  -f (the default) replaces without asking; -i asks "overwrite 'DST'?" on
  stderr and reads the answer from stdin (y or Y: yes; anything else or end
  of input: skip); -n never replaces. The last of -f, -i, -n wins.

Output:
  -v prints "renamed 'SRC' -> 'DST'" for a rename; across file systems
  "created directory 'DST'", "copied 'SRC' -> 'DST'" for each entry once the
  copy is verified and in place, then "removed 'SRC'" and
  "removed directory 'SRC'" as the source goes, as mv does.

Examples:
  $ nfs4 mv nfs://srv/export/a.txt nfs://srv/export/b.txt
  $ nfs4 mv -t nfs://srv/export/archive nfs://srv/export/a nfs://srv/export/b
  $ nfs4 mv -v ./report.pdf nfs://srv/export/docs/
  $ nfs4 mv nfs://old/export/data nfs://new/export/
`;

/** Adds `mv` to the program. */
export function registerMv(program: RootCommand, ctx: CliContext): void {
  // The options in the order given: the last of -f/-i/-n wins; -t and -T conflict.
  let overwrite: OverwriteMode = "force";
  let targetDirectory: string | undefined;
  let noTargetDirectory = false;
  program
    .command("mv")
    .description(
      "move (rename) files and directories on, to, from and between NFS servers (like mv)",
    )
    .usage("[options] SRC... DST\n       nfs4 mv [options] -t DIR SRC...")
    .argument("<operands...>", "SRC... DST: nfs:// URLs or local paths")
    .option("-f, --force", "do not ask before overwriting (the default)")
    .option("-i, --interactive", "ask before overwriting")
    .option("-n, --no-clobber", "never overwrite an existing file")
    .addOption(new Option("-t, --target-directory <DIR>", "move every SRC into DIR"))
    .addOption(new Option("-T, --no-target-directory", "treat DST as a normal file"))
    .addOption(
      new Option("-v", "print each rename, copy and removal (--verbose is the global option)"),
    )
    .on("option:force", () => overwrite = "force")
    .on("option:interactive", () => overwrite = "interactive")
    .on("option:no-clobber", () => overwrite = "no-clobber")
    .on("option:target-directory", (dir: string) => targetDirectory = dir)
    .on("option:no-target-directory", () => noTargetDirectory = true)
    .addHelpText("after", HELP)
    .action(async (operands, opts, cmd) => {
      const globals = readGlobalOptions(cmd.optsWithGlobals());
      const texts = splitTargetOperands(
        operands,
        { targetDirectory, noTargetDirectory },
        (first) => `missing destination file operand after '${first}'`,
      );
      // Every operand is checked before anything is done: a bad URL is a usage error.
      const sources = texts.sources.map(moveLocation);
      const dest = moveLocation(texts.dest);
      const session = ctx.session(globals);
      try {
        await withStdinAsk(ctx, (ask) =>
          mvCommand(session, sources, dest, {
            overwrite,
            targetDirectory: targetDirectory !== undefined,
            noTargetDirectory,
            verbose: opts.v === true,
          }, ask));
      } finally {
        await session.close();
      }
    });
}

/**
 * An operand of `mv` or `ln`: an `nfs://` URL (a malformed one is a usage
 * error) or a local path; `-` is a file named `-`, as for mv.
 */
export function moveLocation(text: string): Location {
  if (/^nfs:\/\//i.test(text)) return { kind: "nfs", url: parseNfsUrl(text), text };
  return { kind: "local", path: text, text };
}

/**
 * Moves `sources` to `dest`: each failure is reported on one line and the
 * other sources are still moved (the command then exits 1). `ask` answers
 * `-i`'s questions. Stopped by SIGINT or SIGTERM, it names on one line a
 * temporary copy it could not remove in the release window before the
 * command exits 130 (143); should the process exit first (the backstop, a
 * second signal), as it exits.
 */
export async function mvCommand(
  session: CommandSession,
  sources: readonly Location[],
  dest: Location,
  options: MvOptions,
  ask: Ask,
): Promise<MoveSummary> {
  const ctx = session.ctx;
  /** A move's temporary copy, from its start until it is in place or removed (move.ts). */
  const leftovers = new Leftovers();
  /** Names what is held, one line each: synchronous, for the moment of exit. */
  const sayLeftovers = () => {
    for (const left of leftovers.take(ctx.interruption.signal.reason)) {
      const url = left instanceof MoveError ? left.url : undefined;
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
  // After a signal the process exits 3 s on whatever still runs, and at
  // once on a second signal (cli/main.ts): what is held is named as it does.
  const onExit = () => {
    if (ctx.interruption.signal.aborted) sayLeftovers();
  };
  process.on("exit", onExit);
  try {
    return await move(sources, dest, {
      noClobber: options.overwrite === "no-clobber",
      ...(options.overwrite === "interactive"
        ? { confirm: (target: string) => ask(`overwrite ${quoted(target)}?`) }
        : {}),
      targetDirectory: options.targetDirectory,
      noTargetDirectory: options.noTargetDirectory,
      connect: (url) => session.client(url),
      // Lines go out as the move goes (in order); a closed stdout ends the
      // command quietly once the source being moved is done (run() exits 0).
      ...(options.verbose
        ? { onEvent: (event: MoveEvent) => session.out.post(describeEvent(event) + "\n") }
        : {}),
      stopBeforeNext: session.out.closed,
      onError: (err, url) => session.report(err, url),
      onWarning: (message) => ctx.error(`warning: ${message}`),
      signal: ctx.interruption.signal,
      leftovers,
      umask: currentUmask(),
    });
  } catch (e) {
    // Stopped: the move removed its temporary, or holds what it could not.
    if (ctx.interruption.signal.aborted) sayLeftovers();
    throw e;
  } finally {
    process.off("exit", onExit);
  }
}

/** A `-v` line, as coreutils mv prints it. */
export function describeEvent(event: MoveEvent): string {
  switch (event.kind) {
    case "renamed":
    case "copied":
      return `${event.kind} ${quoted(event.from)} -> ${quoted(event.to)}`;
    case "created directory":
      return `created directory ${quoted(event.to)}`;
    case "removed":
    case "removed directory":
      return `${event.kind} ${quoted(event.from)}`;
  }
}
