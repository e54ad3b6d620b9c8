/**
 * Pure formatting for `nfs4 ls`, following GNU coreutils `ls` in a UTF-8
 * locale (`LC_ALL=C.UTF-8`): name order (by bytes), mode strings, sizes
 * (`-h`), the `-C` column layout, the `-l` row layout with widths computed
 * over a whole listing, the `total` line, and the `--json` record. Nothing
 * here does I/O; "now" and the time zone are parameters. Names arrive
 * already quoted (ls_quote.ts), times are formatted by ls_time.ts.
 * @module
 */

import { encodeByteString } from "../lib/client/names.ts";
import type { FileInfo, FileKind } from "../lib/client/types.ts";
import { dateToNanoseconds, lsTimeFormatter, type TimeOptions } from "./ls_time.ts";
import { printableOwner } from "./ls_owners.ts";
import {
  jsonByteString,
  jsonCountOrNull,
  jsonId,
  type JsonTime,
  jsonTimeNs,
} from "./json_values.ts";

/**
 * Orders names by their bytes, as `ls` does in the C and C.UTF-8 locales.
 * For well-formed strings code point order is UTF-8 byte order (UTF-16 code
 * unit order is not: surrogate pairs sort below U+E000..U+FFFF, hence the
 * adjustment); a name holding bytes that are not UTF-8 is compared by its
 * bytes.
 */
export function compareNames(a: string, b: string): number {
  if (!a.isWellFormed() || !b.isWellFormed()) return compareBytes(a, b);
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

function compareBytes(a: string, b: string): number {
  const x = encodeByteString(a);
  const y = encodeByteString(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    if (x[i] !== y[i]) return x[i]! - y[i]!;
  }
  return x.length - y.length;
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
  // A listing has few distinct modes: each is spelled once.
  if (Number.isInteger(mode) && mode >= 0 && mode <= 0o7777) {
    const known = (MODE_STRINGS[kind] ??= [])[mode];
    if (known !== undefined) return known;
    return MODE_STRINGS[kind]![mode] = spellMode(type, mode);
  }
  return spellMode(type, mode);
}

/** Mode strings already spelled, by kind and mode. */
const MODE_STRINGS: Partial<Record<FileKind, string[]>> = {};

function spellMode(type: string, mode: number): string {
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
  // Printable ASCII (nearly every name, number and owner) is one column a
  // character; the rest is looked at code point by code point.
  let width = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0x7f) return width + codePointsWidth(text.slice(i));
    if (unit >= 0x20) width++;
  }
  return width;
}

function codePointsWidth(text: string): number {
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

function padEndWidth(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - displayWidth(text)));
}

/** The narrowest column `ls -C` lays out (coreutils MIN_COLUMN_WIDTH). */
const MIN_COLUMN_WIDTH = 3;

/**
 * `ls -C`: names down the columns, as many columns as fit in `lineWidth`,
 * each column as wide as its widest name plus two spaces and at least 3
 * (coreutils `calculate_columns`: a layout fits when its line is shorter
 * than the width). Returns the lines, without newlines. `lineWidth` 0
 * means no limit.
 */
export function layoutColumns(names: readonly string[], lineWidth: number): string[] {
  const n = names.length;
  if (n === 0) return [];
  const widths = names.map(displayWidth);
  const maxIndex = Math.ceil(lineWidth / MIN_COLUMN_WIDTH);
  const maxCols = maxIndex > 0 && maxIndex < n ? maxIndex : n;

  let cols = 1;
  let colWidths: number[] = [Math.max(...widths)];
  for (let c = maxCols; c > 1; c--) {
    const rows = Math.ceil(n / c);
    const candidate: number[] = new Array<number>(c).fill(MIN_COLUMN_WIDTH);
    let grew = false;
    for (let i = 0; i < n; i++) {
      const col = Math.floor(i / rows);
      const real = widths[i]! + (col === c - 1 ? 0 : 2);
      if (candidate[col]! < real) {
        candidate[col] = real;
        grew = true;
      }
    }
    const lineLength = candidate.reduce((a, b) => a + b, 0);
    if (!grew || lineWidth === 0 || lineLength < lineWidth) {
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

const SIZE_UNITS = "KMGTPEZYRQ";

/**
 * A size as `ls -h` prints it (powers of 1024, rounded up): below 1024 the
 * number itself, below 10 units one decimal (`1.1K`, `9.9M`), else a whole
 * number (`23M`, `1.0G` for 1023.1M).
 *
 * @example
 * ```ts
 * humanSize(1025n);       // "1.1K"
 * humanSize(10239n);      // "10K"
 * humanSize(1048575n);    // "1.0M"
 * ```
 */
export function humanSize(bytes: bigint): string {
  if (bytes < 1024n) return bytes.toString();
  let exponent = 0;
  let unit = 1n;
  while (bytes >= unit * 1024n && exponent < SIZE_UNITS.length) {
    unit *= 1024n;
    exponent++;
  }
  const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b;
  const tenths = ceilDiv(bytes * 10n, unit);
  if (tenths < 100n) {
    return `${tenths / 10n}.${tenths % 10n}${SIZE_UNITS[exponent - 1]}`;
  }
  const whole = ceilDiv(bytes, unit);
  if (whole === 1024n && exponent < SIZE_UNITS.length) return `1.0${SIZE_UNITS[exponent]}`;
  return `${whole}${SIZE_UNITS[exponent - 1]}`;
}

/** Which of a file's times `-l` shows and `-t` sorts by (`-u`, `-c`, `--time`). */
export type TimeField = "mtime" | "atime" | "ctime";

/** A file's time, to the nanosecond when the server sent it so. */
export function timeOf(info: FileInfo, field: TimeField): bigint | undefined {
  switch (field) {
    case "mtime":
      return info.mtimeNs ?? dateToNanoseconds(info.mtime);
    case "atime":
      return info.atimeNs ?? dateToNanoseconds(info.atime);
    case "ctime":
      return info.ctimeNs ?? dateToNanoseconds(info.ctime);
  }
}

/** One row of `ls -l`: the file and the texts to print for it. */
export interface LongEntry {
  readonly info: FileInfo;
  /**
   * The name as printed: quoted, with the space `ls` puts before an
   * unquoted name when others are quoted, or the operand URL for files
   * named on the command line.
   */
  readonly name: string;
  /** The symlink target to print after ` -> `, when known. */
  readonly target?: string | undefined;
  /** `-F`'s indicator after the name (for a symlink, after its target). */
  readonly indicator?: string | undefined;
  /** The owner and group columns; the server's strings when not given. */
  readonly owner?: string | undefined;
  readonly group?: string | undefined;
  /** The file's own texts, when made ahead with the same options ({@linkcode longCellMaker}). */
  readonly cells?: LongCells | undefined;
}

/** The texts of one `-l` row that depend on that file alone. */
export interface LongCells {
  /** `-i`'s fileid; empty without `-i`. */
  readonly inode: string;
  readonly mode: string;
  readonly nlink: string;
  /** The size; undefined for a device, which shows its major and minor instead. */
  readonly size: string | undefined;
  readonly major: string;
  readonly minor: string;
  readonly time: string;
}

/** How `-l` rows are laid out beyond the time: `-h`, `-i`, `-u`/`-c`. */
export interface LongOptions extends TimeOptions {
  readonly human?: boolean | undefined;
  readonly inode?: boolean | undefined;
  readonly time?: TimeField | undefined;
}

function fieldText(value: string | number | bigint | undefined): string {
  return value === undefined ? "?" : String(value);
}

/** An owner or group as sent, shown safely ({@linkcode printableOwner}). */
function ownerText(value: string | undefined): string {
  return value === undefined ? "?" : printableOwner(value);
}

function isDevice(info: FileInfo): boolean {
  return (info.kind === "block" || info.kind === "char") && info.rdev !== undefined;
}

/** The size column of one file: bytes, or `-h` units. */
function sizeText(size: bigint | undefined, human: boolean | undefined): string {
  if (size === undefined) return "?";
  if (human) return humanSize(size);
  // The same digits, without a BigInt's conversion when the Number is exact.
  const number = Number(size);
  return Number.isSafeInteger(number) ? String(number) : size.toString();
}

/** `-i`'s column: the fileid, `?` when unknown. */
export function inodeText(info: FileInfo): string {
  return fieldText(info.fileid);
}

/** A user or group column cell: numbers right-aligned, names left-aligned (coreutils). */
function alignId(text: string, width: number): string {
  return /^[0-9]+$/.test(text) ? text.padStart(width) : padEndWidth(text, width);
}

/**
 * The {@linkcode LongCells} of files for one `ls -l` run: what
 * {@linkcode formatLongRows} would make, made as a listing arrives (while
 * the server produces its next page). Its time texts are remembered per
 * second (lsTimeFormatter).
 */
export function longCellMaker(options: LongOptions): (info: FileInfo) => LongCells {
  const make = longRowMaker(options);
  return (info) => make(info, ownerText(info.owner), ownerText(info.group));
}

/** A file's `-l` texts with its owner and group columns, as {@linkcode LongListing.add} keeps them. */
export interface LongRow extends LongCells {
  readonly owner: string;
  readonly group: string;
}

/** Makes a file's {@linkcode LongRow} from its attributes and its owner and group columns. */
export type LongRowMaker = (info: FileInfo, owner: string, group: string) => LongRow;

/** {@linkcode longCellMaker}'s rows with the owner and group columns given. */
export function longRowMaker(options: LongOptions): LongRowMaker {
  const field = options.time ?? "mtime";
  const formatTime = lsTimeFormatter(options);
  const { inode, human } = options;
  // Files next to each other mostly have the same kind and mode, links,
  // size and shown time (a minute, for recent files): their texts are
  // taken from the file before, and when all are the same, so is the row
  // (a row is never changed), with nothing made.
  let last: LongRow | undefined;
  let lastKind: FileKind | undefined;
  let lastMode: number | undefined;
  let lastNlink: number | undefined = -1;
  let lastSize: bigint | undefined = -1n;
  return (info, owner, group) => {
    if (inode || isDevice(info)) {
      const device = isDevice(info);
      return {
        inode: inode ? inodeText(info) : "",
        mode: modeString(info.kind, info.mode),
        nlink: fieldText(info.nlink),
        size: device ? undefined : sizeText(info.size, human),
        major: device ? String(info.rdev!.major) : "",
        minor: device ? String(info.rdev!.minor) : "",
        time: formatTime(timeOf(info, field)),
        owner,
        group,
      };
    }
    const time = formatTime(timeOf(info, field));
    if (last !== undefined) {
      if (
        info.kind === lastKind && info.mode === lastMode && info.nlink === lastNlink &&
        info.size === lastSize && time === last.time && owner === last.owner &&
        group === last.group
      ) {
        return last;
      }
    }
    const kind = info.kind;
    const mode = kind === lastKind && info.mode === lastMode && last !== undefined
      ? last.mode
      : modeString(kind, info.mode);
    const nlink = info.nlink === lastNlink && last !== undefined
      ? last.nlink
      : fieldText(info.nlink);
    const size = info.size === lastSize && last !== undefined
      ? last.size
      : sizeText(info.size, human);
    lastKind = kind;
    lastMode = info.mode;
    lastNlink = info.nlink;
    lastSize = info.size;
    return last = { inode: "", mode, nlink, size, major: "", minor: "", time, owner, group };
  };
}

/** Spaces to pad with, by count. */
const SPACES: string[] = [""];

/** `count` spaces. */
function spaces(count: number): string {
  while (SPACES.length <= count) SPACES.push(SPACES[SPACES.length - 1] + " ");
  return SPACES[count]!;
}

/** `text` right-aligned in `width` columns (`text` printable ASCII: its width is its length). */
function padLeft(text: string, width: number): string {
  const missing = width - text.length;
  return missing <= 0 ? text : spaces(missing) + text;
}

/** Files whose `spaceUsed` is below this (1 TiB) are counted as Numbers: exact, and no BigInt per file. */
const NUMBER_SPACE = 1n << 40n;

/**
 * The `-l` rows of one listing, made as its files arrive (while the server
 * produces the next READDIR page): {@linkcode add} makes a file's texts and
 * keeps the columns' widths and the `total` up to date, so that once the
 * last file is in, {@linkcode row} only pads and joins, in whatever order
 * the listing is then sorted. The rows are {@linkcode formatLongRows}'s.
 */
export class LongListing {
  readonly #options: LongOptions;
  #make: LongRowMaker | undefined;
  #inodeWidth = 0;
  #nlinkWidth = 0;
  #ownerWidth = 0;
  #groupWidth = 0;
  #majorWidth = 0;
  #minorWidth = 0;
  #plainSizeWidth = 0;
  #timeWidth = 0;
  #devices = 0;
  #someTime = false;
  /** The row measured last (rows next to each other are often the same row: longRowMaker()). */
  #lastAdded: LongRow | undefined;
  /** The last owner, group and time text measured, and their widths (runs of equal texts). */
  #lastOwner: string | undefined;
  #lastGroup: string | undefined;
  #lastTime: string | undefined;
  readonly #widths = new Map<string, number>();
  /** Space used in 512-byte blocks: below 2^53 as a Number, the rest as a BigInt. */
  #blocks = 0;
  #bigBlocks = 0n;
  /** The padded owner and group cells, by text, once the widths are final. */
  readonly #ownerCells = new Map<string, string>();
  readonly #groupCells = new Map<string, string>();
  /** What {@linkcode row} works out once per listing: undefined until it is called. */
  #layout: { sizeWidth: number; deviceWidth: number; unknownTime: string } | undefined;
  /** The last row's texts before its size, and what they were made of (rows share them). */
  #lastRow: LongRow | undefined;
  #lastPrefix = "";

  /** `make`: the {@linkcode longRowMaker} of `options` to use (one per run shares its time texts). */
  constructor(options: LongOptions, make?: LongRowMaker) {
    this.#options = options;
    this.#make = make;
  }

  /**
   * Adds a file: its texts (`cells` when made ahead by
   * {@linkcode longCellMaker} with the same options), with the owner and
   * group columns as printed (the server's strings when not given).
   */
  add(info: FileInfo, owner?: string, group?: string, cells?: LongCells): LongRow {
    if (this.#layout !== undefined) {
      // Rows were made: the widths may change now.
      this.#layout = undefined;
      this.#lastRow = undefined;
      this.#ownerCells.clear();
      this.#groupCells.clear();
    }
    owner ??= ownerText(info.owner);
    group ??= ownerText(info.group);
    const row: LongRow = cells === undefined
      ? (this.#make ??= longRowMaker(this.#options))(info, owner, group)
      : {
        inode: cells.inode,
        mode: cells.mode,
        nlink: cells.nlink,
        size: cells.size,
        major: cells.major,
        minor: cells.minor,
        time: cells.time,
        owner,
        group,
      };
    if (row !== this.#lastAdded) this.#measure(row);
    const space = info.spaceUsed;
    if (space !== undefined) {
      if (space < NUMBER_SPACE && space >= 0n) {
        // Exact: a Number below 2^40 divided by 512 and rounded up.
        this.#blocks += Math.ceil(Number(space) / 512);
        if (this.#blocks > 2 ** 52) {
          this.#bigBlocks += BigInt(this.#blocks);
          this.#blocks = 0;
        }
      } else {
        this.#bigBlocks += (space + 511n) / 512n;
      }
    }
    return row;
  }

  /** Widens the columns for `row`'s texts (the row added before needs nothing more). */
  #measure(row: LongRow): void {
    this.#lastAdded = row;
    if (row.inode.length > this.#inodeWidth) this.#inodeWidth = row.inode.length;
    if (row.nlink.length > this.#nlinkWidth) this.#nlinkWidth = row.nlink.length;
    if (row.owner !== this.#lastOwner) {
      this.#lastOwner = row.owner;
      const width = this.#widthOf(row.owner);
      if (width > this.#ownerWidth) this.#ownerWidth = width;
    }
    if (row.group !== this.#lastGroup) {
      this.#lastGroup = row.group;
      const width = this.#widthOf(row.group);
      if (width > this.#groupWidth) this.#groupWidth = width;
    }
    if (row.size === undefined) {
      this.#devices++;
      if (row.major.length > this.#majorWidth) this.#majorWidth = row.major.length;
      if (row.minor.length > this.#minorWidth) this.#minorWidth = row.minor.length;
    } else if (row.size.length > this.#plainSizeWidth) {
      this.#plainSizeWidth = row.size.length;
    }
    if (row.time !== this.#lastTime) {
      this.#lastTime = row.time;
      if (row.time !== "?") this.#someTime = true;
      const width = this.#widthOf(row.time);
      if (width > this.#timeWidth) this.#timeWidth = width;
    }
  }

  #widthOf(text: string): number {
    let width = this.#widths.get(text);
    if (width === undefined) this.#widths.set(text, width = displayWidth(text));
    return width;
  }

  /** Space used by the files added, in 512-byte blocks (as `st_blocks`), each rounded up. */
  get blocks512(): bigint {
    return this.#bigBlocks + BigInt(this.#blocks);
  }

  /** The `total` line of the files added: 1K blocks, or (`-h`) units. */
  totalLine(human: boolean | undefined): string {
    const blocks = this.blocks512;
    return `total ${human ? humanSize(blocks * 512n) : (blocks + 1n) / 2n}`;
  }

  /**
   * The row of a file added, once all are: `shown` is what follows the time
   * (the name, ` -> target` for a symlink, `-F`'s indicator).
   */
  row(row: LongRow, shown: string): string {
    const parts: string[] = [];
    this.rowInto(parts, row, shown);
    return parts.join("");
  }

  /**
   * {@linkcode row}'s text, as pieces pushed onto `parts` (joined by the
   * caller with others, the engine makes one string of them all: no
   * intermediate string per row).
   */
  rowInto(parts: string[], row: LongRow, shown: string): void {
    const layout = this.#layout ??= this.#finish();
    const last = this.#lastRow;
    // Rows next to each other mostly share mode, links, owner and group.
    let prefix: string;
    if (
      row === last ||
      last !== undefined && row.mode === last.mode && row.nlink === last.nlink &&
        row.owner === last.owner && row.group === last.group && row.inode === last.inode
    ) {
      prefix = this.#lastPrefix;
    } else {
      prefix = (this.#options.inode ? padLeft(row.inode, this.#inodeWidth) + " " : "") +
        row.mode + " " +
        padLeft(row.nlink, this.#nlinkWidth) + " " +
        aligned(this.#ownerCells, row.owner, this.#ownerWidth) + " " +
        aligned(this.#groupCells, row.group, this.#groupWidth) + " ";
      this.#lastRow = row;
      this.#lastPrefix = prefix;
    }
    parts.push(prefix);
    const { sizeWidth, deviceWidth } = layout;
    if (row.size !== undefined) {
      const missing = sizeWidth - row.size.length;
      if (missing > 0) parts.push(spaces(missing));
      parts.push(row.size);
    } else {
      parts.push(
        padLeft(row.major, this.#majorWidth + sizeWidth - deviceWidth) + ", " +
          padLeft(row.minor, this.#minorWidth),
      );
    }
    parts.push(" ", row.time === "?" ? layout.unknownTime : row.time, " ", shown);
  }

  /** The widths that follow from all the files added. */
  #finish(): { sizeWidth: number; deviceWidth: number; unknownTime: string } {
    const deviceWidth = this.#devices > 0 ? this.#majorWidth + 2 + this.#minorWidth : 0;
    return {
      deviceWidth,
      sizeWidth: Math.max(deviceWidth, this.#plainSizeWidth),
      // An unknown time is padded to the width the others have (coreutils: the expected width).
      unknownTime: padLeft("?", this.#someTime ? this.#timeWidth : 12),
    };
  }
}

/** Each distinct owner or group aligned once (a column has one width). */
function aligned(cells: Map<string, string>, text: string, width: number): string {
  let cell = cells.get(text);
  if (cell === undefined) cells.set(text, cell = alignId(text, width));
  return cell;
}

/**
 * `ls -l` rows (without the `total` line): inode (`-i`), mode, links,
 * owner, group, size (`major, minor` for devices), time, name and
 * ` -> target`, with the widths computed over all `entries` as coreutils
 * does. Unknown fields print as `?`.
 */
export function formatLongRows(entries: readonly LongEntry[], options: LongOptions): string[] {
  const listing = new LongListing(options);
  const rows = entries.map((e) => listing.add(e.info, e.owner, e.group, e.cells));
  return entries.map(({ info, name, target, indicator }, i) =>
    listing.row(
      rows[i]!,
      (info.kind === "symlink" && target !== undefined ? `${name} -> ${target}` : name) +
        (indicator ?? ""),
    )
  );
}

/** Space used by the listed files in 512-byte blocks (as `st_blocks`), each rounded up. */
function blocks512(infos: Iterable<FileInfo>): bigint {
  let blocks = 0n;
  for (const info of infos) {
    if (info.spaceUsed !== undefined) blocks += (info.spaceUsed + 511n) / 512n;
  }
  return blocks;
}

/**
 * The `total` of `ls -l`: space used by the listed files in 1024-byte
 * blocks, counted as 512-byte blocks per file (like `st_blocks`) and
 * rounded up.
 */
export function totalBlocks(infos: Iterable<FileInfo>): bigint {
  return (blocks512(infos) + 1n) / 2n;
}

/** The `total` line of `ls -l`, in 1K blocks or (`-h`) in units (`total 8.0K`). */
export function totalLine(infos: Iterable<FileInfo>, human: boolean | undefined): string {
  const list = [...infos];
  return `total ${human ? humanSize(blocks512(list) * 512n) : totalBlocks(list)}`;
}

/**
 * A time for JSON (cli/json_values.ts rule 3): `{ seconds, nseconds }`, to
 * the nanosecond the server sent; null when unknown.
 */
function jsonTimeOf(ns: bigint | undefined, date: Date | undefined): JsonTime | null {
  const exact = ns ?? dateToNanoseconds(date);
  return exact === undefined ? null : jsonTimeNs(exact);
}

/**
 * A byte string for JSON ({@linkcode jsonByteString}), `{ [key]: null }`
 * when unknown.
 */
function jsonName(key: string, value: string | undefined | null): Record<string, unknown> {
  return value === undefined || value === null ? { [key]: null } : jsonByteString(key, value);
}

/**
 * The `ls --json` record of one entry (one line of NDJSON), its values as
 * every `--json` writes them (cli/json_values.ts). Unknown attributes are
 * `null`; `size` and `spaceUsed` are numbers (all their digits above
 * 2^53 - 1); `fileid` is always a decimal string; `atime`, `mtime`, `ctime`
 * are `{ seconds, nseconds }`. A name, path or target holding bytes that
 * are not UTF-8 shows them as U+FFFD and adds `name_bytes`, `path_bytes` or
 * `target_bytes`: the exact bytes in base64. `url` is exact as it is
 * (percent-encoded).
 */
export function jsonRecord(
  info: FileInfo,
  url: string,
  target?: string | undefined,
): Record<string, unknown> {
  return {
    ...jsonName("name", info.name),
    ...jsonName("path", info.path),
    url,
    type: info.kind,
    mode: info.mode ?? null,
    modeString: modeString(info.kind, info.mode),
    nlink: info.nlink ?? null,
    owner: info.owner ?? null,
    group: info.group ?? null,
    size: jsonCountOrNull(info.size),
    spaceUsed: jsonCountOrNull(info.spaceUsed),
    atime: jsonTimeOf(info.atimeNs, info.atime),
    mtime: jsonTimeOf(info.mtimeNs, info.mtime),
    ctime: jsonTimeOf(info.ctimeNs, info.ctime),
    fileid: info.fileid === undefined ? null : jsonId(info.fileid),
    ...(info.kind === "symlink" ? jsonName("target", target ?? info.linkTarget ?? null) : {}),
    ...(isDevice(info) && info.rdev !== undefined
      ? { rdev: { major: info.rdev.major, minor: info.rdev.minor } }
      : {}),
  };
}
