/**
 * `nfs4 find URL... [expression]`: walk trees and act on what matches, like
 * GNU find with the subset of its expression that people use
 * (cli/find_expr.ts parses and evaluates it).
 *
 * Each starting URL is walked depth first (lib/client/walk.ts) with what
 * READDIR returns: no GETATTR per entry, symlinks never followed. Each path
 * is printed as the starting URL as typed followed by `/NAME` for each name
 * below it, every name percent-encoded as `joinUrl` does (`a b` → `a%20b`,
 * `%` → `%25`), so that every line is a URL nfs4 reads back as exactly that
 * file (`find … -print0 | xargs -0 nfs4 rm`). `-name`, `-iname` and `-path`
 * match the names' bytes; `-path` sees the starting URL as typed followed
 * by the names as they are (decoded).
 *
 * A directory that cannot be read is one line on stderr
 * (`nfs4: URL: Permission denied (NFS4ERR_ACCESS)`) and the walk goes on;
 * the exit status is then 1, as find's. `-delete` removes in post-order
 * (REMOVE; a directory only once it is empty) and refuses a starting point
 * that is the root of an export or of the server's pseudo file system;
 * while it runs, no symlink inside the tree is followed
 * (lib/client/tree_guard.ts), so a directory replaced by one after it was
 * listed fails with NFS4ERR_SYMLINK instead of losing what the link points
 * to.
 * @module
 */

import type { Nfs4ClientApi } from "../lib/client/api.ts";
import { isFileSystemRoot } from "../lib/client/fs_root.ts";
import { removePath } from "../lib/client/remove_tree.ts";
import { encodeByteString } from "../lib/client/names.ts";
import type { FileInfo } from "../lib/client/types.ts";
import { encodeComponent, type NfsUrl, parseNfsUrl, urlPath } from "../lib/client/url.ts";
import { walk, type WalkEntry } from "../lib/client/walk.ts";
import type { CliContext, CommandSession } from "./context.ts";
import {
  evaluate,
  type FindActions,
  type FindCommand,
  type FindFile,
  parseFindArgs,
} from "./find_expr.ts";
import { readGlobalOptions, type RootCommand } from "./globals.ts";
import { LineBatch, urlBelow } from "./walk_output.ts";

const HELP = `
Expression (GNU find's, this subset; default action -print):
  tests    -name GLOB, -iname GLOB, -path GLOB, -type f|d|l|p|s|b|c (or a
           comma list: -type f,l), -size [+-]N[cwbkMG] (sizes rounded up to
           whole units; no unit: 512-byte blocks), -mtime [+-]N (days),
           -mmin [+-]N (minutes), -newer URL, -empty, -true, -false
  actions  -print, -print0, -delete (implies -depth), -prune, -quit
  options  -maxdepth N, -mindepth N, -depth
  operators ( EXPR ), ! EXPR, -not EXPR, EXPR -a EXPR, EXPR -and EXPR,
           EXPR EXPR, EXPR -o EXPR, EXPR -or EXPR, EXPR , EXPR

Output:
  Each path is the starting URL as typed followed by /NAME for each name
  below it, percent-encoded (a space is %20, a '%' is %25, a byte that is
  not UTF-8 is %XX), so every line is a URL that names exactly that file:
  find ... -print0 | xargs -0 nfs4 rm  never reaches another one. (GNU find
  prints the names' raw bytes instead.) Glob patterns match the names'
  bytes as fnmatch(3) in the C locale: ? is one byte; -path matches the
  starting URL as typed followed by /NAME with the names as they are.

Examples:
  $ nfs4 find nfs://server/export/src -name '*.c'
  $ nfs4 find nfs://server/export -type d -name .git -prune -o -type f -print
  $ nfs4 find nfs://server/export/logs -mtime +30 -name '*.log' -delete
  $ nfs4 find nfs://server/export -size +100M -print0 | xargs -0 nfs4 ls -l
  $ nfs4 find nfs://server/export/tmp -mindepth 1 -empty -delete
`;

/** Adds `find` to the program. */
export function registerFind(program: RootCommand, ctx: CliContext): void {
  program
    .command("find")
    .description("search for files in trees (like find)")
    .usage("[options] URL... [expression]")
    .argument("[args...]", "starting URLs, then the expression")
    // The expression's words (-name, -o, !) are not options of ours: they
    // reach the action as they were typed, in order.
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption("--help", "show help")
    .addHelpText("after", HELP)
    .action(async (args, _opts, cmd) => {
      const globals = readGlobalOptions(cmd.optsWithGlobals());
      const command = parseFindArgs(args, { now: nowNs(ctx) });
      // Every URL is checked before anything is done: a typo is a usage error.
      const starts = command.starts.map(parseNfsUrl);
      const references = new Map(command.references.map((r) => [r, parseNfsUrl(r)]));
      for (const warning of command.warnings) ctx.error(warning);
      const session = ctx.session(globals);
      try {
        await findUrls(session, starts, command, references);
      } finally {
        await session.close();
      }
    });
}

function nowNs(ctx: CliContext): bigint {
  return BigInt(ctx.io.now().getTime()) * 1_000_000n;
}

/**
 * Runs the find `command` on each of `starts`: the `-newer` references
 * (`references`, by their text) are looked up first; a failure there ends
 * the command (as with find), a failure at a starting point or below is
 * reported and the rest still done.
 */
export async function findUrls(
  session: CommandSession,
  starts: readonly NfsUrl[],
  command: FindCommand,
  references: ReadonlyMap<string, NfsUrl>,
): Promise<void> {
  const times = new Map<string, bigint>();
  for (const [text, url] of references) {
    try {
      const info = await (await session.client(url)).stat(urlPath(url));
      const mtime = mtimeNs(info);
      if (mtime === undefined) {
        throw new Error(`${url.text}: the server gave no modification time`);
      }
      times.set(text, mtime);
    } catch (err) {
      session.report(err, url);
      return;
    }
  }
  const out = new LineBatch(session.out);
  try {
    for (const start of starts) {
      const quit = await findOne(session, start, command, times, out);
      if (quit) break;
    }
  } finally {
    await out.flush();
  }
}

/** Walks one starting point; true when `-quit` ended the command. */
async function findOne(
  session: CommandSession,
  start: NfsUrl,
  command: FindCommand,
  times: ReadonlyMap<string, bigint>,
  out: LineBatch,
): Promise<boolean> {
  let client: Nfs4ClientApi;
  try {
    // What the starts before printed goes out before any message of this one.
    await out.flush();
    client = await session.client(start);
    // -delete would empty a whole export. The start is not followed (find -P)
    // unless it ends in `/`.
    const path = urlPath(start);
    if (command.deletes && await isFileSystemRoot(client, path, { follow: path.endsWith("/") })) {
      session.report(
        new Error(
          `${start.text}: refusing to -delete in the root of an export; ` +
            "name a directory inside it",
        ),
      );
      return false;
    }
  } catch (err) {
    session.report(err, start);
    return false;
  }
  const prefix = start.text.replace(/\/+$/, "");
  const startName = start.components.at(-1) ?? "/";
  let current: WalkEntry | undefined;

  const textOf = (names: readonly string[]): string =>
    names.length === 0
      ? start.text
      : prefix + names.map((name) => "/" + encodeComponent(name)).join("");

  const actions: FindActions = {
    print: (file, terminator) => out.add(textOf((file as EntryFile).entry.names) + terminator),
    delete: async (file) => {
      const entry = (file as EntryFile).entry;
      try {
        // The start as typed: `link/` names the directory a symlink points
        // to, whose contents go; the link itself stays ("Not a directory").
        const path = entry.depth === 0 ? urlPath(start) : entry.path;
        await removePath(client, path, entry.info.kind === "directory");
        return true;
      } catch (err) {
        await out.flush();
        session.report(err, urlBelow(start, entry.names));
        return false;
      }
    },
    isEmptyDirectory: async (file) => {
      const entry = (file as EntryFile).entry;
      try {
        for await (const _ of client.readdir(entry.path)) return false;
        return true;
      } catch (err) {
        await out.flush();
        session.report(err, urlBelow(start, entry.names));
        return false;
      }
    },
    prune: (file) => (file as EntryFile).entry.prune(),
    referenceTime: (reference) => times.get(reference),
  };

  try {
    const walker = walk(client, urlPath(start), {
      order: command.depthFirst ? "post" : "pre",
      // -delete reaches each entry again by its path: nothing inside the
      // tree is followed meanwhile (a symlink that replaced a directory
      // since it was listed would lead the REMOVEs out of the tree).
      guardTree: command.deletes,
      ...(command.maxDepth !== undefined ? { maxDepth: command.maxDepth } : {}),
    });
    for await (const item of walker) {
      if (item.kind === "failure") {
        await out.flush();
        session.report(item.error, urlBelow(start, item.names));
        continue;
      }
      current = item;
      if (item.depth < command.minDepth) continue;
      const file = new EntryFile(item, startName, start.text);
      const { quit } = await evaluate(command.expr, file, actions);
      if (quit) return true;
    }
  } catch (err) {
    await out.flush();
    // The start itself (the walk's first step) or a failure that ends the walk.
    session.report(err, current ? urlBelow(start, current.names) : start);
  }
  return false;
}

/** The modification time in nanoseconds (from the Date when the server's nanoseconds are not known). */
function mtimeNs(info: FileInfo): bigint | undefined {
  if (info.mtimeNs !== undefined) return info.mtimeNs;
  return info.mtime ? BigInt(info.mtime.getTime()) * 1_000_000n : undefined;
}

/** One walked entry as the expression sees it. */
class EntryFile implements FindFile {
  readonly name: Uint8Array;
  readonly kind: FileInfo["kind"];
  readonly size: bigint | undefined;
  readonly mtimeNs: bigint | undefined;
  #path: Uint8Array | undefined;

  constructor(
    readonly entry: WalkEntry,
    startName: string,
    readonly startText: string,
  ) {
    this.name = encodeByteString(entry.names.at(-1) ?? startName);
    this.kind = entry.info.kind;
    this.size = entry.info.size;
    this.mtimeNs = mtimeNs(entry.info);
  }

  path(): Uint8Array {
    if (this.#path === undefined) {
      // As printed: the start as typed, or without its trailing slashes
      // when names follow (`dir/` gives `dir/x`).
      const start = this.entry.names.length === 0
        ? this.startText
        : this.startText.replace(/\/+$/, "");
      this.#path = encodeByteString(
        start + this.entry.names.map((name) => "/" + name).join(""),
      );
    }
    return this.#path;
  }
}
