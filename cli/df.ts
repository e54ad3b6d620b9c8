/**
 * `nfs4 df [-h] [-i] [-k] [--json] URL...`: the space and files of the file
 * system holding each URL, as GNU coreutils `df` shows a mounted one.
 *
 * One GETATTR of the object (the client's `attributes()`, a final symlink
 * followed as statvfs(2) does): space_total, space_free and space_avail in
 * bytes, files_total, files_free and files_avail. As `df` computes them:
 * Used is total - free, Available is what an unprivileged user may use
 * (space_avail), Use% is used / (used + available) rounded up; with `-i`,
 * IUsed is files_total - files_free, IFree is files_free and IUse% is
 * IUsed / (IUsed + IFree) rounded up. Sizes are 1K blocks rounded up, or
 * with `-h` powers of 1024 rounded up with one decimal below 10 (`1.1K`,
 * `23M`). What the server does not give is `-`. The Filesystem column is
 * `HOST:/path` of the file system's root (the export, found by fsid, as a
 * mount's source shows it); "Mounted on" is the URL as typed. A URL that
 * fails prints one line on stderr, the table shows the others (exit 1).
 * @module
 */

import { fileSystemRoot } from "../lib/client/fs_root.ts";
import type { AttributeReport } from "../lib/client/types.ts";
import { formatHost, type NfsUrl, parseNfsUrl, urlPath } from "../lib/client/url.ts";
import type { CliContext, CommandSession } from "./context.ts";
import { readGlobalOptions, type RootCommand } from "./globals.ts";
import { jsonCountOrNull } from "./json_values.ts";
import { humanSize } from "./ls_format.ts";

const HELP = `
Output:
  Like GNU df: Filesystem 1K-blocks Used Available Use% Mounted on, sizes
  rounded up; -h: Size Used Avail Use% in powers of 1024 (1.1K 23M 5.0G);
  -i: Inodes IUsed IFree IUse%. Use% is used / (used + available), rounded
  up. Filesystem is HOST:/path of the export holding the URL, "Mounted on"
  the URL as given. What the server does not report shows as -.

  --json prints one object per URL (an array for several): url, filesystem,
  space_total, space_free, space_avail, space_used (bytes),
  files_total, files_free, files_avail, files_used, use_percent,
  inode_use_percent: numbers (all their digits above 2^53 - 1), null
  where the server does not say.

Examples:
  $ nfs4 df nfs://127.0.0.1/vfs
  $ nfs4 df -h nfs://server/export nfs://server/other
  $ nfs4 df -i nfs://server/export/dir
  $ nfs4 df --json nfs://server/export | jq .space_avail
`;

/** How `nfs4 df` prints. */
export interface DfSettings {
  /** `-h`: powers of 1024. */
  readonly human: boolean;
  /** `-i`: files instead of space. */
  readonly inodes: boolean;
  readonly json: boolean;
}

/** Adds `df` to the program. */
export function registerDf(program: RootCommand, ctx: CliContext): void {
  // -h and -k: the last one given wins, as in df.
  let human = false;
  program
    .command("df")
    .description("report file system space usage (like df)")
    .argument("<url...>", "nfs:// URLs of anything on the file systems")
    // -h is --human-readable here, as in df; help stays --help.
    .helpOption("--help", "show help")
    .option("-h, --human-readable", "sizes in powers of 1024 (1.1K 23M 5.0G)")
    .option("-i, --inodes", "files (inodes) instead of space")
    .option("-k", "sizes in 1K blocks (the default)")
    .option("--json", "JSON: one object per URL (an array for several)")
    .addHelpText("after", HELP)
    .on("option:human-readable", () => void (human = true))
    .on("option:k", () => void (human = false))
    .action(async (urls, opts, cmd) => {
      const globals = readGlobalOptions(cmd.optsWithGlobals());
      const targets = urls.map(parseNfsUrl);
      const settings = { human, inodes: opts.inodes === true, json: opts.json === true };
      human = false;
      const session = ctx.session(globals);
      try {
        await dfUrls(session, targets, settings);
      } finally {
        await session.close();
      }
    });
}

/** What one URL's file system reports, in bytes and files. */
export interface DfFigures {
  readonly url: string;
  /** `HOST:/path` of the file system's root (or of the object when unknown). */
  readonly filesystem: string;
  readonly spaceTotal: bigint | undefined;
  readonly spaceFree: bigint | undefined;
  readonly spaceAvail: bigint | undefined;
  readonly filesTotal: bigint | undefined;
  readonly filesFree: bigint | undefined;
  readonly filesAvail: bigint | undefined;
}

/** Shows the file system of each of `urls`; failures are reported and skipped. */
export async function dfUrls(
  session: CommandSession,
  urls: readonly NfsUrl[],
  settings: DfSettings,
): Promise<void> {
  const rows: DfFigures[] = [];
  for (const url of urls) {
    try {
      const client = await session.client(url);
      const report = await client.attributes(urlPath(url), { follow: true });
      const root = await fileSystemRoot(client, report);
      rows.push(dfFigures(url, report, root));
    } catch (err) {
      session.report(err, url);
    }
  }
  if (settings.json) {
    if (rows.length === 0 && urls.length === 1) return;
    const objects = rows.map(dfJson);
    const value = urls.length === 1 ? objects[0] : objects;
    await session.out.write(JSON.stringify(value, null, 2) + "\n");
    return;
  }
  await session.out.writeLines(dfTable(rows, settings));
}

/** The figures of one report; `root` is the file system's root path, when found. */
export function dfFigures(
  url: NfsUrl,
  report: AttributeReport,
  root: string | undefined,
): DfFigures {
  const v = report.values;
  return {
    url: url.text,
    filesystem: `${formatHost(url.host)}:${root ?? report.info.path}`,
    spaceTotal: v.spaceTotal,
    spaceFree: v.spaceFree,
    spaceAvail: v.spaceAvail,
    filesTotal: v.filesTotal,
    filesFree: v.filesFree,
    filesAvail: v.filesAvail,
  };
}

function difference(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  return a === undefined || b === undefined ? undefined : a - b;
}

/**
 * `used / (used + available)` in percent rounded up, as df prints it; undefined
 * (`-`) when unknown or when both are zero.
 */
export function usePercent(
  used: bigint | undefined,
  available: bigint | undefined,
): bigint | undefined {
  if (used === undefined || available === undefined || used < 0n) return undefined;
  const whole = used + available;
  if (whole <= 0n) return undefined;
  return (used * 100n + whole - 1n) / whole;
}

/**
 * One number cell: `-h`'s form (powers of 1024, rounded up), or `plain`;
 * `-` when unknown, a leading `-` for a negative value (a server whose free
 * exceeds its total).
 */
function numberCell(
  value: bigint | undefined,
  human: boolean,
  plain: (value: bigint) => string,
): string {
  if (value === undefined) return "-";
  if (value < 0n) return "-" + numberCell(-value, human, plain);
  return human ? humanSize(value) : plain(value);
}

/** Bytes as 1K blocks rounded up (or `-h`). */
const sizeCell = (bytes: bigint | undefined, human: boolean) =>
  numberCell(bytes, human, (b) => ((b + 1023n) / 1024n).toString());

/** Files as a count (or `-h`). */
const countCell = (count: bigint | undefined, human: boolean) =>
  numberCell(count, human, (c) => c.toString());

function percentCell(percent: bigint | undefined): string {
  return percent === undefined ? "-" : `${percent}%`;
}

interface Column {
  readonly header: string;
  /** df's smallest width for the column. */
  readonly min: number;
  readonly align: "left" | "right";
}

/** The table as GNU df lays it out: each column as wide as its widest cell. */
export function dfTable(rows: readonly DfFigures[], settings: DfSettings): string[] {
  const { human } = settings;
  const columns: Column[] = settings.inodes
    ? [
      { header: "Filesystem", min: 14, align: "left" },
      { header: "Inodes", min: 5, align: "right" },
      { header: "IUsed", min: 5, align: "right" },
      { header: "IFree", min: 5, align: "right" },
      { header: "IUse%", min: 5, align: "right" },
      { header: "Mounted on", min: 0, align: "left" },
    ]
    : [
      { header: "Filesystem", min: 14, align: "left" },
      { header: human ? "Size" : "1K-blocks", min: 5, align: "right" },
      { header: "Used", min: 5, align: "right" },
      { header: human ? "Avail" : "Available", min: 5, align: "right" },
      { header: "Use%", min: 4, align: "right" },
      { header: "Mounted on", min: 0, align: "left" },
    ];
  const cells = rows.map((row) => {
    if (settings.inodes) {
      const used = difference(row.filesTotal, row.filesFree);
      return [
        row.filesystem,
        countCell(row.filesTotal, human),
        countCell(used, human),
        countCell(row.filesFree, human),
        percentCell(usePercent(used, row.filesFree)),
        row.url,
      ];
    }
    const used = difference(row.spaceTotal, row.spaceFree);
    return [
      row.filesystem,
      sizeCell(row.spaceTotal, human),
      sizeCell(used, human),
      sizeCell(row.spaceAvail, human),
      percentCell(usePercent(used, row.spaceAvail)),
      row.url,
    ];
  });
  const table = [columns.map((c) => c.header), ...cells];
  const widths = columns.map((c, i) => Math.max(c.min, ...table.map((r) => [...r[i]!].length)));
  return table.map((r) =>
    r.map((cell, i) => {
      const column = columns[i]!;
      if (i === r.length - 1) return cell; // the last column is not padded
      const width = widths[i]!;
      return column.align === "left" ? cell.padEnd(width) : cell.padStart(width);
    }).join(" ")
  );
}

/** The `--json` object of one URL. */
export function dfJson(row: DfFigures): Record<string, unknown> {
  const spaceUsed = difference(row.spaceTotal, row.spaceFree);
  const filesUsed = difference(row.filesTotal, row.filesFree);
  return {
    url: row.url,
    filesystem: row.filesystem,
    space_total: jsonCountOrNull(row.spaceTotal),
    space_free: jsonCountOrNull(row.spaceFree),
    space_avail: jsonCountOrNull(row.spaceAvail),
    space_used: jsonCountOrNull(spaceUsed),
    files_total: jsonCountOrNull(row.filesTotal),
    files_free: jsonCountOrNull(row.filesFree),
    files_avail: jsonCountOrNull(row.filesAvail),
    files_used: jsonCountOrNull(filesUsed),
    use_percent: jsonCountOrNull(usePercent(spaceUsed, row.spaceAvail)),
    inode_use_percent: jsonCountOrNull(usePercent(filesUsed, row.filesFree)),
  };
}
