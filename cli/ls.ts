/**
 * `nfs4 ls [OPTION]... URL...`: list directories like coreutils `ls` in a
 * UTF-8 locale (`LC_ALL=C.UTF-8`).
 *
 * As `ls` does: operands that are files are listed first, together, then
 * each directory under a `URL:` heading (headings only with several operands
 * or `-R`); names sort by their bytes (or by time, size: ls_sort.ts); on a
 * terminal names go in columns and are quoted as a shell would need them
 * (ls_quote.ts), elsewhere one per line as their exact bytes; `-l`, `-d`
 * and `-F` do not follow a symlink named on the command line, plain `ls`
 * lists the directory a symlink points to; a URL ending in `/` names a
 * directory (a symlink to one is followed, a file fails with ENOTDIR).
 * `-R` does not follow symlinks.
 *
 * `-a` adds `.` (the directory itself) and `..` (its parent, fetched when
 * its attributes show; at the root, the root). `--json` prints one object
 * per entry and never `.` or `..`. A URL that fails prints one line on
 * stderr; the others are still listed and the exit status is 1.
 * @module
 */

import { readlinkSync } from "node:fs";
import process from "node:process";
import type { Nfs4ClientApi, ReaddirField } from "../lib/client/api.ts";
import { NfsError } from "../lib/client/errors.ts";
import type { FileInfo } from "../lib/client/types.ts";
import { joinUrl, type NfsUrl, parseNfsUrl, urlPath } from "../lib/client/url.ts";
import type { CliContext, CommandSession } from "./context.ts";
import { readGlobalOptions, type RootCommand } from "./globals.ts";
import {
  displayWidth,
  inodeText,
  jsonRecord,
  layoutColumns,
  LongListing,
  type LongOptions,
  type LongRow,
  type LongRowMaker,
  longRowMaker,
} from "./ls_format.ts";
import { addLsOptions, type LsSettings, settleLsOptions } from "./ls_options.ts";
import { type IdDatabase, NO_IDS, ownerColumn } from "./ls_owners.ts";
import { quoteName } from "./ls_quote.ts";
import { sortListing, sortsAsPlainString } from "./ls_sort.ts";
import { utcProcessZone } from "./ls_time.ts";

const HELP = `
Output:
  Like coreutils ls in a UTF-8 locale (LC_ALL=C.UTF-8): names sorted by
  their bytes; on a terminal in columns (width from the terminal, else
  $COLUMNS, else 80), quoted as a shell would need them ('a b',
  'lat'$'\\351''in1' for a byte that is not UTF-8); piped, one per line,
  each name's exact bytes. -l prints mode, links, owner, group (a number
  the server sends is shown as this host's user or group with that id,
  from /etc/passwd and /etc/group, as a mount would; -n keeps numbers),
  size (major, minor for devices), time in the local time zone, and name
  (-> target for symlinks), after a "total" line in 1 KiB blocks.
  A URL ending in / names a directory: a symlink to one is listed as it,
  anything else fails with "Not a directory".

  --json prints one JSON object per line (NDJSON) per entry:
    name, path (from the server's root), url, type (file, directory, symlink,
    block, char, socket, fifo, ...), mode (number) and modeString, nlink,
    owner, group, size and spaceUsed (numbers: all their digits above
    2^53 - 1), atime, mtime, ctime ({seconds, nseconds} since the epoch),
    fileid (decimal string), target (symlinks), rdev {major, minor}
    (devices). Unknown values are null.
    A name, path or target that is not valid UTF-8 shows each such byte as
    U+FFFD and comes with name_bytes, path_bytes or target_bytes: its exact
    bytes in base64. -a adds dotfiles but never . and ..

Examples:
  $ nfs4 ls nfs://127.0.0.1/vfs
  $ nfs4 ls -lh nfs://[::1]:2050/vfs/dir
  $ nfs4 ls -ltr nfs://server/export/logs
  $ nfs4 ls -lS --full-time nfs://server/export
  $ nfs4 ls -AF nfs://server/export/link-to-dir/
  $ nfs4 ls -R nfs://server/export
  $ nfs4 ls -d nfs://server/export/a nfs://server/export/b
  $ nfs4 ls --json nfs://server/export | jq -r 'select(.type == "file") | .name'
`;

/** Adds `ls` to the program. */
export function registerLs(program: RootCommand, ctx: CliContext): void {
  const cmd = program
    .command("ls")
    .description("list directory contents (like ls)")
    .argument("<url...>", "nfs:// URLs of directories or files")
    // -h is --human-readable here, as in ls; help stays --help.
    .helpOption("--help", "show help");
  const readOptions = addLsOptions(cmd);
  cmd
    .addHelpText("after", HELP)
    .action(async (urls, _opts, command) => {
      const globals = readGlobalOptions(command.optsWithGlobals());
      // Every URL is checked before anything is done: a typo is a usage error.
      const targets = urls.map(parseNfsUrl);
      const settings = settleLsOptions(readOptions(), {
        isTTY: ctx.out.isTTY,
        columns: ctx.out.columns,
        env: ctx.io.env,
      });
      const session = ctx.session(globals);
      try {
        await listUrls(session, targets, settings);
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
  /** What a symlink points to, for `-lF`'s indicator after the target. */
  targetInfo?: FileInfo | undefined;
  /** `-l`'s texts of this file, made as it was read. */
  row?: LongRow | undefined;
}

/**
 * An entry of a directory listing. Its URL is made when first wanted (a
 * symlink's READLINK, `--json`, a subdirectory of `-R`), not for each of
 * ten thousand files that only print their names.
 */
class ListedEntry implements Entry {
  readonly info: FileInfo;
  readonly name: string;
  readonly #directory: NfsUrl;
  #url: NfsUrl | undefined;
  target?: string | undefined;
  targetInfo?: FileInfo | undefined;
  row?: LongRow | undefined;

  constructor(info: FileInfo, directory: NfsUrl) {
    this.info = info;
    this.name = info.name;
    this.#directory = directory;
  }

  get url(): NfsUrl {
    return this.#url ??= joinUrl(this.#directory, this.name);
  }

  /** The name: sortListing() may sort entries by it natively (`namedByString`). */
  toString(): string {
    return this.name;
  }
}

/** `.` or `..` of `-a`: their URL is the directory's own. */
class DotEntry implements Entry {
  readonly info: FileInfo;
  readonly name: string;
  readonly url: NfsUrl;
  row?: LongRow | undefined;

  constructor(info: FileInfo, url: NfsUrl) {
    this.info = info;
    this.name = info.name;
    this.url = url;
  }

  toString(): string {
    return this.name;
  }
}

/** Lists `urls` as `ls` lists its operands. */
export async function listUrls(
  session: CommandSession,
  urls: readonly NfsUrl[],
  settings: LsSettings,
): Promise<void> {
  const printer = new Printer(session, settings);
  const files: Entry[] = [];
  const dirs: Operand[] = [];
  for (const url of urls) {
    try {
      const operand = await statOperand(await session.client(url), url, settings);
      if (!settings.directory && operand.info.kind === "directory") dirs.push(operand);
      else files.push({ info: operand.info, name: url.text, url });
    } catch (err) {
      session.report(err, url);
    }
  }
  sortListing(files, settings.sort);
  const sortedDirs = sortListing(dirs.map((d) => ({ ...d, name: d.url.text })), settings.sort);

  if (files.length > 0) {
    await printer.entries(files, false);
    // A blank line separates the files from the directories after them.
    if (dirs.length > 0 && !settings.json) await session.out.write("\n");
  }
  const headings = settings.recursive || files.length > 0 || urls.length > 1;
  for (const dir of sortedDirs) {
    await listDirectory(session, printer, dir, headings);
  }
}

/**
 * Stats an operand. A symlink named on the command line is listed as
 * itself, except when it points to a directory and neither `-l`, `-d`,
 * `-F` nor `--json` was given: then it is listed as that directory. A URL
 * ending in `/` always follows it (the client's path walk).
 */
async function statOperand(
  client: Nfs4ClientApi,
  url: NfsUrl,
  settings: LsSettings,
): Promise<Operand> {
  const info = await client.stat(urlPath(url), { follow: false });
  if (info.kind !== "symlink" || !settings.followOperandLinks) return { url, info };
  try {
    const target = await client.stat(url.path, { follow: true });
    if (target.kind === "directory") return { url, info: target };
  } catch {
    // A dangling link is listed as the link.
  }
  return { url, info };
}

/**
 * Directories `-R` reads ahead of the one being printed: the next ones in
 * listing order, READDIRs in flight at once over the session's slots
 * (their listings wait in memory, printed in order).
 */
const READ_AHEAD = 4;

/**
 * Entries read ahead and waiting to be printed past which no further
 * directory is read ahead (the next one to print always is): memory stays
 * bounded by about this many entries plus the directories in flight.
 */
const READ_AHEAD_ENTRIES = 50_000;

/** A directory's listing as read, and the failure to report when its turn comes. */
interface Listing {
  /** Undefined when nothing could be read (no section is printed). */
  readonly entries: Entry[] | undefined;
  readonly failure?: { readonly error: unknown } | undefined;
  /** What was made of the entries as they arrived (`-l`'s rows, the symlinks). */
  readonly made?: MadeAhead | undefined;
}

/**
 * Lists a directory, and with `-R` its subdirectories, depth first in
 * listing order. The next few directories to print are read while one is
 * printed; what is printed, and every failure, still comes in coreutils'
 * order.
 */
async function listDirectory(
  session: CommandSession,
  printer: Printer,
  top: Operand,
  headings: boolean,
): Promise<void> {
  const client = await session.client(top.url);
  const stack: Operand[] = [top];
  const reads = new Map<Operand, Promise<Listing>>();
  /** Entries of the listings read and not yet printed. */
  let waiting = 0;
  const readAhead = () => {
    for (let i = stack.length - 1; i >= 0 && i >= stack.length - READ_AHEAD; i--) {
      const dir = stack[i]!;
      if (reads.has(dir)) continue;
      if (i < stack.length - 1 && waiting >= READ_AHEAD_ENTRIES) break;
      const read = readEntries(client, dir, printer.settings, printer.madeAhead()).then(
        (listing) => {
          waiting += listing.entries?.length ?? 0;
          return listing;
        },
      );
      read.catch(() => {}); // awaited in turn; never left unhandled meanwhile
      reads.set(dir, read);
    }
  };
  // A plain listing asks nothing but each entry's type, as `ls` reads d_type.
  const asksAttributes = listingFields(printer.settings).length > 0;
  try {
    while (stack.length > 0) {
      readAhead();
      const dir = stack.pop()!;
      const { entries, failure, made } = await reads.get(dir)!;
      reads.delete(dir);
      waiting -= entries?.length ?? 0;
      if (failure) session.report(failure.error, dir.url);
      // A directory that could not be read at all gets no section (coreutils
      // prints no heading and no `total` when opendir fails).
      if (entries === undefined) continue;
      if (asksAttributes) {
        // Listed, but the server could not get its attributes (rdattr_error):
        // said as coreutils says a file it cannot stat (`cannot access`),
        // the entry still shown, with what is unknown as `?`.
        for (const entry of entries) {
          if (entry.info.attrError === undefined) continue;
          session.report(
            new NfsError(entry.info.attrError, "READDIR", { path: entry.info.path }),
            entry.url,
          );
        }
      }
      if (printer.settings.recursive) {
        const subdirs = entries.filter((e) =>
          e.info.kind === "directory" && e.name !== "." && e.name !== ".."
        );
        for (let i = subdirs.length - 1; i >= 0; i--) {
          const { url, info } = subdirs[i]!;
          stack.push({ url, info });
        }
        // The subdirectories are read while this one prints.
        readAhead();
      }
      if (headings) await printer.heading(dir.url);
      await printer.entries(entries, true, made);
    }
  } finally {
    // Stopped early (stdout closed, a failure): nothing left in flight.
    await Promise.allSettled(reads.values());
  }
}

/** The path of the parent directory (`/` for `/`). */
function parentPath(path: string): string {
  const cut = path.lastIndexOf("/");
  return cut <= 0 ? "/" : path.slice(0, cut);
}

/**
 * The entries of a directory, filtered and sorted. A READDIR that fails
 * half-way leaves what arrived to be listed and the failure to be
 * reported, as `ls` does; one that fails before anything arrived leaves
 * no entries. Nothing is printed here: the caller reports in order.
 */
async function readEntries(
  client: Nfs4ClientApi,
  dir: Operand,
  settings: LsSettings,
  made?: MadeAhead,
): Promise<Listing> {
  const entries: Entry[] = [];
  let received = 0;
  let failure: Listing["failure"];
  try {
    for await (const page of readdirPages(client, urlPath(dir.url), listingFields(settings))) {
      for (let i = 0; i < page.length; i++) {
        const info = page[i]!;
        received++;
        if (settings.show === "visible" && info.name.startsWith(".")) continue;
        const entry = new ListedEntry(info, dir.url);
        // Made while the next READDIR page is on its way.
        made?.add(entry);
        entries.push(entry);
      }
    }
  } catch (error) {
    failure = { error };
    if (received === 0) return { entries: undefined, failure };
  }
  if (settings.show === "all" && !settings.json) {
    // First, as a file system's directory order has them (seen with -U).
    const dot = new DotEntry({ ...dir.info, name: "." }, dir.url);
    const dotDot = new DotEntry(await parentInfo(client, dir, settings), dir.url);
    made?.add(dot);
    made?.add(dotDot);
    entries.unshift(dot, dotDot);
  }
  return {
    entries: sortListing(entries, settings.sort, {
      plainNames: made?.plainNames,
      namedByString: true,
    }),
    failure,
    made,
  };
}

/** A directory's entries a page at a time (one at a time from a client that only has `readdir`). */
async function* readdirPages(
  client: Nfs4ClientApi,
  path: string,
  fields: ReaddirField[],
): AsyncIterable<readonly FileInfo[]> {
  if (client.readdirPages) {
    yield* client.readdirPages(path, { fields });
    return;
  }
  for await (const info of client.readdir(path, { fields })) yield [info];
}

/**
 * What is printed or sorted by of each entry: all the server is asked for
 * (a smaller READDIR reply, less to decode).
 */
export function listingFields(settings: LsSettings): ReaddirField[] {
  if (settings.json) return [...JSON_FIELDS];
  const fields = new Set<ReaddirField>();
  if (settings.format === "long") {
    for (const field of LONG_FIELDS) fields.add(field);
    fields.add(settings.sort.time);
  }
  if (settings.inode) fields.add("fileid");
  if (settings.sort.key === "time") fields.add(settings.sort.time);
  if (settings.sort.key === "size") fields.add("size");
  // `-F`'s `*` for an executable file.
  if (settings.indicator === "classify") fields.add("mode");
  return [...fields];
}

/** What `--json` prints (jsonRecord()): every field but the fsid and change attribute. */
const JSON_FIELDS: readonly ReaddirField[] = [
  "mode",
  "nlink",
  "owner",
  "group",
  "size",
  "spaceUsed",
  "atime",
  "mtime",
  "ctime",
  "fileid",
  "rdev",
  "linkTarget",
];

/** What `-l` prints besides the time: `total` is the sum of spaceUsed. */
const LONG_FIELDS: readonly ReaddirField[] = [
  "mode",
  "nlink",
  "owner",
  "group",
  "size",
  "spaceUsed",
  "rdev",
  "linkTarget",
];

/** Whether `..`'s own attributes show: printed (-l, -i) or sorted by (-t, -S). */
function needsParentAttributes(settings: LsSettings): boolean {
  return settings.format === "long" || settings.inode || settings.sort.key === "time" ||
    settings.sort.key === "size";
}

/** `..` for `-a`: the parent's attributes when they show, else the directory's own (only the name prints). */
async function parentInfo(
  client: Nfs4ClientApi,
  dir: Operand,
  settings: LsSettings,
): Promise<FileInfo> {
  const path = parentPath(dir.info.path);
  if (!needsParentAttributes(settings) || path === dir.info.path) {
    return { ...dir.info, name: ".." };
  }
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
      atimeNs: undefined,
      mtimeNs: undefined,
      ctimeNs: undefined,
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

/**
 * `-F`'s indicator for a file of this kind and mode: `/` directory, `*`
 * executable regular file, `@` symlink, `|` FIFO, `=` socket (`slash`:
 * only `/`; `file-type`: no `*`).
 */
export function typeIndicator(info: FileInfo, style: LsSettings["indicator"]): string {
  if (style === "none") return "";
  if (info.kind === "file") {
    return style === "classify" && info.mode !== undefined && (info.mode & 0o111) !== 0 ? "*" : "";
  }
  if (info.kind === "directory") return "/";
  if (style === "slash") return "";
  if (info.kind === "symlink") return "@";
  if (info.kind === "fifo") return "|";
  if (info.kind === "socket") return "=";
  return "";
}

/**
 * What is made of a listing's entries as they arrive (while the server
 * produces the next READDIR page, rather than after the last): `-l`'s rows
 * with the columns' widths and the `total`, the symlinks (whose targets are
 * read before printing), whether every name sorts as a plain string and
 * whether any is quoted.
 */
class MadeAhead {
  readonly #settings: LsSettings;
  readonly #long: LongListing | undefined;
  readonly #owners: OwnerColumns | undefined;
  /** The symlinks (`-l`: their targets are read before printing). */
  readonly links: Entry[] = [];
  /** Whether every name's code units are in byte order (sortListing's fast comparison). */
  plainNames = true;
  /** Whether some name is quoted (`alignQuotes`: the others get a leading space). */
  someQuoted = false;

  constructor(settings: LsSettings, long?: LongListing, owners?: OwnerColumns) {
    this.#settings = settings;
    this.#long = long;
    this.#owners = owners;
  }

  add(entry: Entry): void {
    const { info, name } = entry;
    if (this.plainNames && !sortsAsPlainString(name)) this.plainNames = false;
    if (this.#long === undefined) return;
    const settings = this.#settings;
    if (settings.alignQuotes && !this.someQuoted && quoteName(name, settings.quoting).quoted) {
      this.someQuoted = true;
    }
    if (info.kind === "symlink") this.links.push(entry);
    const owners = this.#owners!;
    entry.row = this.#long.add(info, owners.user(info.owner), owners.group(info.group));
  }

  /** `-l`'s rows, when made. */
  get long(): LongListing | undefined {
    return this.#long;
  }
}

/** The owner and group columns (a listing has few owners: each is looked up once). */
class OwnerColumns {
  readonly #numeric: boolean;
  readonly #ids: () => IdDatabase;
  readonly #users = new Map<string | undefined, string>();
  readonly #groups = new Map<string | undefined, string>();

  constructor(numeric: boolean, ids: () => IdDatabase) {
    this.#numeric = numeric;
    this.#ids = ids;
  }

  user(sent: string | undefined): string {
    // Mostly the same owner as the file before: no lookup.
    if (sent === this.#lastUser && this.#lastUserText !== undefined) return this.#lastUserText;
    let text = this.#users.get(sent);
    if (text === undefined) {
      this.#users.set(sent, text = ownerColumn(sent, "user", this.#numeric, this.#ids()));
    }
    this.#lastUser = sent;
    return this.#lastUserText = text;
  }

  group(sent: string | undefined): string {
    if (sent === this.#lastGroup && this.#lastGroupText !== undefined) return this.#lastGroupText;
    let text = this.#groups.get(sent);
    if (text === undefined) {
      this.#groups.set(sent, text = ownerColumn(sent, "group", this.#numeric, this.#ids()));
    }
    this.#lastGroup = sent;
    return this.#lastGroupText = text;
  }

  /** The last owner and group asked for, and their columns. */
  #lastUser: string | undefined;
  #lastUserText: string | undefined;
  #lastGroup: string | undefined;
  #lastGroupText: string | undefined;
}

/** Where `/etc/localtime` links to, or undefined. */
function localtimeLink(): string | undefined {
  try {
    return readlinkSync("/etc/localtime");
  } catch {
    return undefined;
  }
}

/** Pieces of text written at once (`-l`'s rows, names one a line): tens of KiB. */
const CHUNK_PARTS = 8192;

/** Writes listings in the chosen format, keeping track of blank lines between sections. */
class Printer {
  readonly session: CommandSession;
  readonly settings: LsSettings;
  /** Whether a directory listing has been printed (the next heading needs a blank line). */
  #listedDirectory = false;
  /** `-l`'s options for this run: one "now" for all its listings. */
  #longOptions: LongOptions | undefined;
  #makeRow: LongRowMaker | undefined;
  #owners: OwnerColumns | undefined;

  constructor(session: CommandSession, settings: LsSettings) {
    this.session = session;
    this.settings = settings;
  }

  get #long(): LongOptions {
    const { settings } = this;
    const { io } = this.session.ctx;
    return this.#longOptions ??= {
      now: io.now(),
      // The process's zone (from its real environment: the zone it runs in),
      // named when it is UTC: no time zone database to load.
      timeZone: io.timeZone ?? utcProcessZone(process.env.TZ, localtimeLink),
      style: settings.timeStyle,
      human: settings.human,
      inode: settings.inode,
      time: settings.sort.time,
    };
  }

  get #ownerColumns(): OwnerColumns {
    return this.#owners ??= new OwnerColumns(
      this.settings.numeric,
      () => this.session.ctx.io.ids?.() ?? NO_IDS,
    );
  }

  /**
   * What to make of one listing's entries as they are read (undefined for
   * `--json`, which makes its records when printing).
   */
  madeAhead(): MadeAhead | undefined {
    const { settings } = this;
    if (settings.json) return undefined;
    if (settings.format !== "long") return new MadeAhead(settings);
    // One cell maker for the whole run: its time texts are shared by the listings.
    const make = this.#makeRow ??= longRowMaker(this.#long);
    return new MadeAhead(settings, new LongListing(this.#long, make), this.#ownerColumns);
  }

  /**
   * `URL:`, after a blank line unless it is the first directory. The URL
   * is quoted as names are, but its colons are syntax, not part of a name
   * (coreutils would quote a directory name holding ':').
   */
  async heading(url: NfsUrl): Promise<void> {
    if (this.settings.json) return;
    const text = quoteName(url.text, { ...this.settings.quoting, quoteThese: undefined }).text;
    await this.session.out.writeLines([`${this.#listedDirectory ? "\n" : ""}${text}:`]);
  }

  /**
   * One listing: the file operands together, or one directory's entries
   * (`made`: what was made of them as they were read).
   */
  async entries(entries: Entry[], isDirectory: boolean, made?: MadeAhead): Promise<void> {
    const { settings, session } = this;
    if (settings.json) {
      await this.#readLinks(
        entries.filter(isSymlink),
        settings.format === "long" && settings.indicator !== "none",
      );
      await session.out.writeLines(
        entries.map((e) => JSON.stringify(jsonRecord(e.info, e.url.text, e.target))),
      );
    } else if (settings.format === "long") {
      if (made === undefined) {
        made = this.madeAhead()!;
        for (const entry of entries) made.add(entry);
      }
      await this.#readLinks(made.links, settings.indicator !== "none");
      await this.#printLong(entries, made, isDirectory);
    } else if (
      settings.format !== "columns" && !settings.inode && settings.quoting.style === "literal" &&
      !settings.quoting.hideControl
    ) {
      await this.#printNames(entries);
    } else {
      const quoted = entries.map((e) => quoteName(e.name, settings.quoting));
      const someQuoted = settings.alignQuotes && quoted.some((q) => q.quoted);
      let cells = quoted.map((q, i) =>
        (someQuoted && !q.quoted ? " " : "") + q.text +
        typeIndicator(entries[i]!.info, settings.indicator)
      );
      if (settings.inode) {
        const inodes = entries.map((e) => inodeText(e.info));
        const width = inodes.reduce((w, text) => Math.max(w, displayWidth(text)), 0);
        cells = cells.map((cell, i) => `${inodes[i]!.padStart(width)} ${cell}`);
      }
      await session.out.writeLines(
        settings.format === "columns" ? layoutColumns(cells, settings.width) : cells,
      );
    }
    if (isDirectory) this.#listedDirectory = true;
  }

  /**
   * One name a line, as it is (quoting `literal`, as off a terminal), and
   * `-F`'s indicator: pieces joined by the engine per chunk, with no
   * quoting record, cell or line made per entry (what the general path
   * makes of a name that needs no quoting, in one string per chunk).
   */
  async #printNames(entries: readonly Entry[]): Promise<void> {
    const { settings, session } = this;
    const indicator = settings.indicator;
    const parts: string[] = [];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (indicator === "none") parts.push(e.name, "\n");
      else parts.push(e.name, typeIndicator(e.info, indicator), "\n");
      if (parts.length >= CHUNK_PARTS) {
        await session.out.write(parts.join(""));
        parts.length = 0;
      }
    }
    if (parts.length > 0) await session.out.write(parts.join(""));
  }

  /** `-l`: the `total` line (directories), then a row per entry, written in chunks. */
  async #printLong(entries: readonly Entry[], made: MadeAhead, isDirectory: boolean) {
    const { settings, session } = this;
    const long = made.long!;
    const { quoting, indicator } = settings;
    const literal = quoting.style === "literal" && !quoting.hideControl;
    const pad = settings.alignQuotes && made.someQuoted;
    // Rows gathered as pieces and joined by the engine every 64 KiB or so.
    const parts: string[] = isDirectory ? [long.totalLine(settings.human), "\n"] : [];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      let name: string;
      if (literal) {
        name = e.name;
      } else {
        const quoted = quoteName(e.name, quoting);
        name = pad && !quoted.quoted ? " " + quoted.text : quoted.text;
      }
      let shown: string;
      if (e.info.kind === "symlink" && e.target !== undefined) {
        shown = name + " -> " + quoteName(e.target, quoting).text +
          (e.targetInfo ? typeIndicator(e.targetInfo, indicator) : "");
      } else {
        shown = indicator === "none" ? name : name + typeIndicator(e.info, indicator);
      }
      long.rowInto(parts, e.row!, shown);
      parts.push("\n");
      if (parts.length >= CHUNK_PARTS) {
        await session.out.write(parts.join(""));
        // Emptied for the next chunk, not replaced: less for the collector.
        parts.length = 0;
      }
    }
    if (parts.length > 0) await session.out.write(parts.join(""));
  }

  /**
   * Fills in symlink targets the READDIR did not carry (READLINK, a few at
   * a time), and for `-lF` what each target is (its indicator follows it).
   */
  async #readLinks(links: readonly Entry[], classifyTargets: boolean): Promise<void> {
    await eachLimited(links, 8, async (entry) => {
      const client = await this.session.client(entry.url);
      if (entry.info.linkTarget !== undefined) {
        entry.target = entry.info.linkTarget;
      } else {
        try {
          entry.target = await client.readlink(entry.info.path);
        } catch (err) {
          this.session.report(err, entry.url);
        }
      }
      if (classifyTargets && entry.target !== undefined) {
        // A dangling link gets no indicator after its target.
        entry.targetInfo = await client.stat(entry.info.path, { follow: true }).catch(() =>
          undefined
        );
      }
    });
  }
}

function isSymlink(entry: Entry): boolean {
  return entry.info.kind === "symlink";
}
