/**
 * Pure formatting for `nfs4 ls`, following GNU coreutils `ls` in the C
 * locale: name order, mode strings, the six-months time rule, the `-C`
 * column layout and the `-l` row layout with widths computed over a whole
 * listing. Nothing here does I/O; "now" and the time zone are parameters.
 * @module
 */

import type { FileInfo, FileKind } from "../lib/client/types.ts";

/**
 * Orders names by their UTF-8 bytes, as `ls` does in the C locale. Code
 * point order is UTF-8 byte order; UTF-16 code unit order is not (surrogate
 * pairs sort below U+E000..U+FFFF), hence the adjustment.
 */
export function compareNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

const TYPE_CHARS: Record<FileKind, string> = {
  file: "-",
  directory: "d",
  symlink: "l",
  block: "b",
  char: "c",
  socket: "s",
  fifo: "p",
  attrdir: "d",
  namedattr: "-",
  unknown: "?",
};

/**
 * `ls -l`'s ten-character mode: type, then rwx for user, group and other,
 * with `s`/`S` for set-id (with/without execute) and `t`/`T` for sticky.
 * Unknown permissions print as `?????????`.
 *
 * @example
 * ```ts
 * modeString("directory", 0o1777); // "drwxrwxrwt"
 * modeString("file", 0o4644);      // "-rwSr--r--"
 * ```
 */
export function modeString(kind: FileKind, mode: number | undefined): string {
  const type = TYPE_CHARS[kind];
  if (mode === undefined) return type + "?????????";
  const bit = (mask: number, ch: string) => (mode & mask ? ch : "-");
  const exec = (x: number, special: number, set: string, unset: string) => {
    if (mode & special) return mode & x ? set : unset;
    return mode & x ? "x" : "-";
  };
  return type +
    bit(0o400, "r") + bit(0o200, "w") + exec(0o100, 0o4000, "s", "S") +
    bit(0o040, "r") + bit(0o020, "w") + exec(0o010, 0o2000, "s", "S") +
    bit(0o004, "r") + bit(0o002, "w") + exec(0o001, 0o1000, "t", "T");
}

/** Half a mean Gregorian year, the "recent" window of `ls -l` (coreutils). */
export const SIX_MONTHS_MS = 31_556_952_000 / 2;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Width of an `ls -l` date, `Jan  2 15:04` or `Jan  2  2006`. */
export const TIME_WIDTH = 12;

const dateFormats = new Map<string, Intl.DateTimeFormat>();

function dateFormat(timeZone: string | undefined): Intl.DateTimeFormat {
  const key = timeZone ?? "";
  let format = dateFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      ...(timeZone !== undefined ? { timeZone } : {}),
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      hourCycle: "h23",
    });
    dateFormats.set(key, format);
  }
  return format;
}

/** Calendar fields of `when` in `timeZone` (the process's zone when undefined). */
export function calendarFields(
  when: Date,
  timeZone?: string,
): { year: number; month: number; day: number; hour: number; minute: number } {
  const fields: Record<string, number> = {};
  for (const part of dateFormat(timeZone).formatToParts(when)) {
    if (part.type !== "literal") fields[part.type] = Number(part.value);
  }
  return {
    year: fields.year ?? NaN,
    month: fields.month ?? NaN,
    day: fields.day ?? NaN,
    hour: fields.hour ?? NaN,
    minute: fields.minute ?? NaN,
  };
}

/** Options for time formatting: the instant "now" and an IANA zone (default: local). */
export interface TimeOptions {
  readonly now: Date;
  readonly timeZone?: string | undefined;
}

/**
 * An `ls -l` time: `Mon DD HH:MM` when within the last six months, else
 * `Mon DD  YYYY` (also for times in the future); `?` when unknown.
 *
 * @example
 * ```ts
 * formatLsTime(new Date("2024-03-05T14:07:00Z"), { now: new Date("2024-04-01Z"), timeZone: "UTC" });
 * // "Mar  5 14:07"
 * ```
 */
export function formatLsTime(when: Date | undefined, options: TimeOptions): string {
  if (when === undefined || Number.isNaN(when.getTime())) return "?";
  const t = when.getTime();
  const now = options.now.getTime();
  const recent = now - SIX_MONTHS_MS < t && t < now;
  const f = calendarFields(when, options.timeZone);
  const month = MONTHS[f.month - 1] ?? "???";
  const day = String(f.day).padStart(2);
  if (recent) {
    return `${month} ${day} ${String(f.hour).padStart(2, "0")}:${
      String(f.minute).padStart(2, "0")
    }`;
  }
  return `${month} ${day}  ${f.year}`;
}

const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]$/u;

function isWide(cp: number): boolean {
  return (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd);
}

/**
 * Terminal columns `text` occupies: combining marks and format characters
 * 0, East Asian wide and fullwidth characters (and common emoji) 2, others 1.
 */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x7f) {
      width += cp >= 0x20 ? 1 : 0;
    } else if (ZERO_WIDTH.test(ch)) {
      // adds nothing
    } else {
      width += isWide(cp) ? 2 : 1;
    }
  }
  return width;
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * A name made safe for a terminal: control characters become `?`, as
 * `ls -q` (the traditional terminal default) prints them. Used only when
 * stdout is a terminal; pipes get the bytes unchanged.
 */
export function escapeForTerminal(name: string): string {
  return name.replace(CONTROL, "?");
}

function padEndWidth(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - displayWidth(text)));
}

/**
 * `ls -C`: names down the columns, as many columns as fit in `lineWidth`,
 * each column as wide as its widest name plus two spaces (coreutils
 * `calculate_columns`: a layout fits when its line is shorter than the
 * width). Returns the lines, without newlines. `lineWidth` 0 means no limit.
 */
export function layoutColumns(names: readonly string[], lineWidth: number): string[] {
  const n = names.length;
  if (n === 0) return [];
  const widths = names.map(displayWidth);
  const limit = lineWidth > 0 ? lineWidth : Infinity;
  const maxCols = Math.max(1, Math.min(n, lineWidth > 0 ? Math.floor(lineWidth / 3) : n));

  let cols = 1;
  let colWidths: number[] = [Math.max(...widths)];
  for (let c = maxCols; c > 1; c--) {
    const rows = Math.ceil(n / c);
    const candidate: number[] = new Array<number>(c).fill(0);
    for (let i = 0; i < n; i++) {
      const col = Math.floor(i / rows);
      const real = widths[i]! + (col === c - 1 ? 0 : 2);
      if (candidate[col]! < real) candidate[col] = real;
    }
    const lineLength = candidate.reduce((a, b) => a + b, 0);
    if (lineLength < limit) {
      cols = c;
      colWidths = candidate;
      break;
    }
  }

  const rows = Math.ceil(n / cols);
  const lines: string[] = [];
  for (let row = 0; row < rows; row++) {
    let line = "";
    for (let col = 0, i = row; i < n; col++, i += rows) {
      const name = names[i]!;
      line += i + rows < n ? padEndWidth(name, colWidths[col]!) : name;
    }
    lines.push(line);
  }
  return lines;
}

/** One row of `ls -l`: the file, the name to print, and a symlink's target. */
export interface LongEntry {
  readonly info: FileInfo;
  /** The name as printed (an entry name, or the operand URL for files named on the command line). */
  readonly name: string;
  /** The symlink target to print after ` -> `, when known. */
  readonly target?: string | undefined;
}

function fieldText(value: string | number | bigint | undefined): string {
  return value === undefined ? "?" : String(value);
}

function isDevice(info: FileInfo): boolean {
  return (info.kind === "block" || info.kind === "char") && info.rdev !== undefined;
}

/**
 * `ls -l` rows (without the `total` line): mode, links, owner, group, size
 * (`major, minor` for devices), time, name and ` -> target`, with the
 * widths computed over all `entries` as coreutils does. Owners and groups
 * print as the server names them; unknown fields print as `?`.
 */
export function formatLongRows(entries: readonly LongEntry[], options: TimeOptions): string[] {
  const rows = entries.map(({ info, name, target }) => ({
    mode: modeString(info.kind, info.mode),
    nlink: fieldText(info.nlink),
    owner: fieldText(info.owner),
    group: fieldText(info.group),
    size: isDevice(info) ? undefined : fieldText(info.size),
    major: isDevice(info) ? String(info.rdev!.major) : "",
    minor: isDevice(info) ? String(info.rdev!.minor) : "",
    time: formatLsTime(info.mtime, options),
    name: info.kind === "symlink" && target !== undefined ? `${name} -> ${target}` : name,
  }));
  type Row = (typeof rows)[number];
  const widest = (list: readonly Row[], pick: (r: Row) => string) =>
    list.reduce((w, r) => Math.max(w, displayWidth(pick(r))), 0);
  const devices = rows.filter((r) => r.size === undefined);
  const nlinkWidth = widest(rows, (r) => r.nlink);
  const ownerWidth = widest(rows, (r) => r.owner);
  const groupWidth = widest(rows, (r) => r.group);
  const majorWidth = widest(devices, (r) => r.major);
  const minorWidth = widest(devices, (r) => r.minor);
  const deviceWidth = devices.length > 0 ? majorWidth + 2 + minorWidth : 0;
  const sizeWidth = Math.max(deviceWidth, widest(rows, (r) => r.size ?? ""));

  return rows.map((r) => {
    const size = r.size !== undefined
      ? r.size.padStart(sizeWidth)
      : `${r.major.padStart(majorWidth + sizeWidth - deviceWidth)}, ${
        r.minor.padStart(minorWidth)
      }`;
    return [
      r.mode,
      r.nlink.padStart(nlinkWidth),
      padEndWidth(r.owner, ownerWidth),
      padEndWidth(r.group, groupWidth),
      size,
      r.time.padStart(TIME_WIDTH),
      r.name,
    ].join(" ");
  });
}

/**
 * The `total` of `ls -l`: space used by the listed files in 1024-byte
 * blocks, counted as 512-byte blocks per file (like `st_blocks`) and
 * rounded up.
 */
export function totalBlocks(infos: Iterable<FileInfo>): bigint {
  let blocks512 = 0n;
  for (const info of infos) {
    if (info.spaceUsed !== undefined) blocks512 += (info.spaceUsed + 511n) / 512n;
  }
  return (blocks512 + 1n) / 2n;
}

/** A number when it is exactly representable, else its decimal string. */
function jsonInteger(value: bigint | undefined): number | string | null {
  if (value === undefined) return null;
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value.toString();
}

function jsonTime(value: Date | undefined): string | null {
  return value === undefined || Number.isNaN(value.getTime()) ? null : value.toISOString();
}

/**
 * The `ls --json` record of one entry (one line of NDJSON). Unknown
 * attributes are `null`; `size` and `spaceUsed` are numbers up to 2^53 - 1
 * and decimal strings beyond; `fileid` is always a decimal string.
 */
export function jsonRecord(
  info: FileInfo,
  url: string,
  target?: string | undefined,
): Record<string, unknown> {
  return {
    name: info.name,
    path: info.path,
    url,
    type: info.kind,
    mode: info.mode ?? null,
    modeString: modeString(info.kind, info.mode),
    nlink: info.nlink ?? null,
    owner: info.owner ?? null,
    group: info.group ?? null,
    size: jsonInteger(info.size),
    spaceUsed: jsonInteger(info.spaceUsed),
    atime: jsonTime(info.atime),
    mtime: jsonTime(info.mtime),
    ctime: jsonTime(info.ctime),
    fileid: info.fileid === undefined ? null : info.fileid.toString(),
    ...(info.kind === "symlink" ? { target: target ?? info.linkTarget ?? null } : {}),
    ...(isDevice(info) && info.rdev !== undefined
      ? { rdev: { major: info.rdev.major, minor: info.rdev.minor } }
      : {}),
  };
}
