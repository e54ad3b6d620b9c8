/**
 * `nfs4 ls [-l] [-a] [-d] [-R] [-n] [-1|-C] [--json] URL...`: list
 * directories like coreutils `ls` in the C locale.
 *
 * As `ls` does: operands that are files are listed first, together, then
 * each directory under a `URL:` heading (headings only with several operands
 * or `-R`); names sort by UTF-8 bytes; on a terminal names go in columns
 * (control characters shown as `?`), elsewhere one per line; `-l` does not
 * follow a symlink named on the command line, plain `ls` lists the directory
 * a symlink points to. `-R` does not follow symlinks.
 *
 * `-a` adds `.` (the directory itself) and `..` (its parent, fetched only for
 * `-l`; at the root, the root). `--json` prints one object per entry and
 * never `.` or `..`. A URL that fails prints one line on stderr; the others
 * are still listed and the exit status is 1.
 * @module
 */

import type { Nfs4ClientApi } from "../lib/client/api.ts";
import type { FileInfo } from "../lib/client/types.ts";
import { joinUrl, type NfsUrl, parseNfsUrl } from "../lib/client/url.ts";
import type { CliContext, CommandSession } from "./context.ts";
import { readGlobalOptions, type RootCommand } from "./globals.ts";
import {
  compareNames,
  escapeForTerminal,
  formatLongRows,
  jsonRecord,
  layoutColumns,
  type LongEntry,
  totalBlocks,
} from "./ls_format.ts";

/** How `ls` was asked to list. */
export interface LsOptions {
  readonly long: boolean;
  readonly all: boolean;
  readonly directory: boolean;
  readonly recursive: boolean;
  readonly json: boolean;
  /** `-C` (true), `-1` (false), or by whether stdout is a terminal (undefined). */
  readonly columns: boolean | undefined;
}

const HELP = `
Output:
  Like coreutils ls in the C locale: names sorted by their UTF-8 bytes, one
  per line when stdout is not a terminal, in columns when it is (width from
  the terminal, else $COLUMNS, else 80). -l prints mode, links, owner, group
  (as the server names them: a number when it has no mapping, or
  user@domain), size (major, minor for devices), modification time in the
  local time zone, and name (-> target for symlinks), after a
  "total" line in 1 KiB blocks.

  --json prints one JSON object per line (NDJSON) per entry:
    name, path (from the server's root), url, type (file, directory, symlink,
    block, char, socket, fifo, ...), mode (number) and modeString, nlink,
    owner, group, size and spaceUsed (numbers, or decimal strings above
    2^53 - 1), atime, mtime, ctime (ISO 8601, UTC), fileid (decimal string),
    target (symlinks), rdev {major, minor} (devices). Unknown values are null.
    -a adds dotfiles but never . and ..

Examples:
  $ nfs4 ls nfs://127.0.0.1/vfs
  $ nfs4 ls -la nfs://[::1]:2050/vfs/dir
  $ nfs4 ls -R nfs://server/export
  $ nfs4 ls -d nfs://server/export/a nfs://server/export/b
  $ nfs4 ls --json nfs://server/export | jq -r 'select(.type == "file") | .name'
`;

/** Adds `ls` to the program. */
export function registerLs(program: RootCommand, ctx: CliContext): void {
  program
    .command("ls")
    .description("list directory contents (like ls)")
    .argument("<url...>", "nfs:// URLs of directories or files")
    .option("-l", "long listing: mode, links, owner, group, size, time, name")
    .option("-a, --all", "include names that start with '.', and . and ..")
    .option("-d, --directory", "list directories themselves, not their contents")
    .option("-R, --recursive", "list subdirectories recursively")
    .option("-n, --numeric-uid-gid", "like -l (owners print as the server gives them)")
    .option("-1", "one entry per line, even on a terminal")
    .option("-C", "entries in columns, even when not on a terminal")
    .option("--json", "one JSON object per entry per line (see below)")
    .addHelpText("after", HELP)
    .action(async (urls, opts, cmd) => {
      const globals = readGlobalOptions(cmd.optsWithGlobals());
      // Every URL is checked before anything is done: a typo is a usage error.
      const targets = urls.map(parseNfsUrl);
      const options: LsOptions = {
        long: opts.l === true || opts.numericUidGid === true,
        all: opts.all === true,
        directory: opts.directory === true,
        recursive: opts.recursive === true,
        json: opts.json === true,
        columns: opts.C === true ? true : opts["1"] === true ? false : undefined,
      };
      const session = ctx.session(globals);
      try {
        await listUrls(session, targets, options);
      } finally {
        await session.close();
      }
    });
}

/** An operand after its stat: listed as a file, or as a directory's contents. */
interface Operand {
  readonly url: NfsUrl;
  readonly info: FileInfo;
}

/** An entry to print: its attributes, its URL, and a symlink's target. */
interface Entry {
  readonly info: FileInfo;
  /** What to print as the name: the entry name, or the operand's URL. */
  readonly name: string;
  readonly url: NfsUrl;
  target?: string | undefined;
}

/** Lists `urls` as `ls` lists its operands. */
export async function listUrls(
  session: CommandSession,
  urls: readonly NfsUrl[],
  options: LsOptions,
): Promise<void> {
  const printer = new Printer(session, options);
  const files: Operand[] = [];
  const dirs: Operand[] = [];
  for (const url of urls) {
    try {
      const operand = await statOperand(await session.client(url), url, options);
      const asDirectory = !options.directory && operand.info.kind === "directory";
      (asDirectory ? dirs : files).push(operand);
    } catch (err) {
      session.report(err, url);
    }
  }
  files.sort((a, b) => compareNames(a.url.text, b.url.text));
  dirs.sort((a, b) => compareNames(a.url.text, b.url.text));

  if (files.length > 0) {
    await printer.entries(files.map(({ url, info }) => ({ info, name: url.text, url })), false);
    // A blank line separates the files from the directories after them.
    if (dirs.length > 0 && !options.json) await session.out.write("\n");
  }
  const headings = options.recursive || files.length > 0 || urls.length > 1;
  for (const dir of dirs) {
    await listDirectory(session, printer, dir, headings);
  }
}

/**
 * Stats an operand. `-l`, `-d` and `--json` describe a symlink itself;
 * otherwise a symlink to a directory is listed as that directory.
 */
async function statOperand(
  client: Nfs4ClientApi,
  url: NfsUrl,
  options: LsOptions,
): Promise<Operand> {
  const info = await client.stat(url.path, { follow: false });
  if (info.kind !== "symlink" || options.long || options.directory || options.json) {
    return { url, info };
  }
  try {
    const target = await client.stat(url.path, { follow: true });
    if (target.kind === "directory") return { url, info: target };
  } catch {
    // A dangling link is listed as the link.
  }
  return { url, info };
}

/** Lists a directory, and with `-R` its subdirectories, depth first in name order. */
async function listDirectory(
  session: CommandSession,
  printer: Printer,
  top: Operand,
  headings: boolean,
): Promise<void> {
  const client = await session.client(top.url);
  const stack: Operand[] = [top];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    const entries = await readEntries(session, client, dir, printer.options);
    // A directory that could not be read at all gets no section (coreutils
    // prints no heading and no `total` when opendir fails).
    if (entries === undefined) continue;
    if (headings) await printer.heading(dir.url);
    await printer.entries(entries, true);
    if (printer.options.recursive) {
      const subdirs = entries.filter((e) =>
        e.info.kind === "directory" && e.name !== "." && e.name !== ".."
      );
      for (let i = subdirs.length - 1; i >= 0; i--) {
        const { url, info } = subdirs[i]!;
        stack.push({ url, info });
      }
    }
  }
}

/** The path of the parent directory (`/` for `/`). */
function parentPath(path: string): string {
  const cut = path.lastIndexOf("/");
  return cut <= 0 ? "/" : path.slice(0, cut);
}

/**
 * The entries of a directory, filtered and sorted. A READDIR that fails
 * half-way is reported and what arrived is still listed, as `ls` does; one
 * that fails before anything arrived gives `undefined`.
 */
async function readEntries(
  session: CommandSession,
  client: Nfs4ClientApi,
  dir: Operand,
  options: LsOptions,
): Promise<Entry[] | undefined> {
  const entries: Entry[] = [];
  let received = 0;
  try {
    for await (const info of client.readdir(dir.url.path)) {
      received++;
      if (!options.all && info.name.startsWith(".")) continue;
      entries.push({ info, name: info.name, url: joinUrl(dir.url, info.name) });
    }
  } catch (err) {
    session.report(err, dir.url);
    if (received === 0) return undefined;
  }
  if (options.all && !options.json) {
    entries.push({ info: { ...dir.info, name: "." }, name: ".", url: dir.url });
    entries.push({ info: await parentInfo(client, dir, options), name: "..", url: dir.url });
  }
  return entries.sort((a, b) => compareNames(a.name, b.name));
}

/** `..` for `-a`: the parent's attributes for `-l`, else the directory's own (only the name prints). */
async function parentInfo(
  client: Nfs4ClientApi,
  dir: Operand,
  options: LsOptions,
): Promise<FileInfo> {
  const path = parentPath(dir.info.path);
  if (!options.long || path === dir.info.path) return { ...dir.info, name: ".." };
  try {
    return { ...(await client.stat(path, { follow: false })), name: ".." };
  } catch {
    return {
      ...dir.info,
      name: "..",
      path,
      mode: undefined,
      nlink: undefined,
      owner: undefined,
      group: undefined,
      size: undefined,
      spaceUsed: undefined,
      atime: undefined,
      mtime: undefined,
      ctime: undefined,
      fileid: undefined,
    };
  }
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Writes listings in the chosen format, keeping track of blank lines between sections. */
class Printer {
  readonly session: CommandSession;
  readonly options: LsOptions;
  /** Whether a directory listing has been printed (the next heading needs a blank line). */
  #listedDirectory = false;

  constructor(session: CommandSession, options: LsOptions) {
    this.session = session;
    this.options = options;
  }

  get #tty(): boolean {
    return this.session.out.isTTY;
  }

  #show(text: string): string {
    return this.#tty ? escapeForTerminal(text) : text;
  }

  /** `URL:`, after a blank line unless it is the first directory. */
  async heading(url: NfsUrl): Promise<void> {
    if (this.options.json) return;
    await this.session.out.write(`${this.#listedDirectory ? "\n" : ""}${this.#show(url.text)}:\n`);
  }

  /** One listing: the file operands together, or one directory's entries. */
  async entries(entries: Entry[], isDirectory: boolean): Promise<void> {
    const { options, session } = this;
    if (options.long || options.json) await this.#readLinks(entries);
    let lines: string[];
    if (options.json) {
      lines = entries.map((e) => JSON.stringify(jsonRecord(e.info, e.url.text, e.target)));
    } else if (options.long) {
      const rows: LongEntry[] = entries.map((e) => ({
        info: e.info,
        name: this.#show(e.name),
        target: e.target === undefined ? undefined : this.#show(e.target),
      }));
      lines = formatLongRows(rows, {
        now: session.ctx.io.now(),
        timeZone: session.ctx.io.timeZone,
      });
      if (isDirectory) lines.unshift(`total ${totalBlocks(entries.map((e) => e.info))}`);
    } else {
      const names = entries.map((e) => this.#show(e.name));
      lines = this.#columns() ? layoutColumns(names, this.#lineWidth()) : names;
    }
    await session.out.writeLines(lines);
    if (isDirectory) this.#listedDirectory = true;
  }

  #columns(): boolean {
    return this.options.columns ?? this.#tty;
  }

  #lineWidth(): number {
    const fromTerminal = this.session.out.columns;
    if (fromTerminal !== undefined) return fromTerminal;
    const fromEnv = Number(this.session.ctx.io.env.COLUMNS);
    return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : 80;
  }

  /** Fills in symlink targets the READDIR did not carry (READLINK, a few at a time). */
  async #readLinks(entries: Entry[]): Promise<void> {
    const links = entries.filter((e) => e.info.kind === "symlink");
    await eachLimited(links, 8, async (entry) => {
      if (entry.info.linkTarget !== undefined) {
        entry.target = entry.info.linkTarget;
        return;
      }
      try {
        const client = await this.session.client(entry.url);
        entry.target = await client.readlink(entry.info.path);
      } catch (err) {
        this.session.report(err, entry.url);
      }
    });
  }
}
