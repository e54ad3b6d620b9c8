/**
 * `nfs4 stat --format` / `--printf`: the conversions of GNU coreutils
 * `stat -c` (coreutils 9.1), applied to what an NFSv4 server says of an
 * object. A format is compiled once ({@linkcode compileStatFormat}: an
 * invalid directive such as `%5%` is a usage error) and rendered for each
 * object ({@linkcode renderStatFormat}). Nothing here does I/O.
 *
 * As in coreutils, a directive is `%` [flags `'-+ #0I`] [width] [`.`
 * precision] conversion, and the flags a conversion keeps depend on its
 * kind, as printf(3) would apply them: strings keep `-` (width and
 * precision count bytes, the precision truncates), signed numbers `'-+ 0`,
 * unsigned ones `'-0`, octal and hex `-#0`. The epoch-second conversions
 * (`%X %Y %Z %W`) take a precision as a number of fraction digits (`%.Y`:
 * nine) and the width covers the whole number, as `stat` does it, odd
 * corners included. An unknown conversion prints `?`; `%%` and a lone `%`
 * at the end print `%`.
 *
 * What the NFS attributes give (what cannot be the same as on a local
 * file system is said so in `nfs4 stat --help`):
 *
 * | conv.         | NFS attribute                                                        |
 * | ------------- | -------------------------------------------------------------------- |
 * | `%n` `%N`     | the URL as typed (`%N` quoted, `-> target` for a symlink)            |
 * | `%s`          | size                                                                 |
 * | `%b` `%B`     | space_used / 512 (rounded up), 512                                   |
 * | `%a` `%A` `%f`| mode (octal, `-rw-r--r--`, raw hex with the type bits of `type`)     |
 * | `%F`          | type, in the words of GNU stat (`regular empty file`, `fifo`, ...)   |
 * | `%h`          | numlinks                                                             |
 * | `%u` `%U`     | owner: its uid (a number as sent, `name@domain` through this host's  |
 * |               | users; else the string as sent, control characters as `?`), the     |
 * |               | local user name (`UNKNOWN` when none)                                |
 * | `%g` `%G`     | owner_group, likewise                                                |
 * | `%i`          | fileid                                                               |
 * | `%X %Y %Z %W` | time_access, time_modify, time_metadata, time_create (0 if unknown)  |
 * | `%x %y %z %w` | the same as `2024-01-02 03:04:05.123456789 +0000` (`%w`: `-`)        |
 * | `%d` `%D`     | the fsid as a device number (major, minor), `%Hd` `%Ld` its parts    |
 * | `%r %R %t %T` | rawdev (`%Hr` `%Lr` major and minor)                                 |
 * | `%o`          | the I/O size a Linux mount would use: maxwrite, at most 1 MiB        |
 * | `%m`          | the path of the file system's root on the server (the export), its   |
 * |               | control characters as `?`                                            |
 * @module
 */

import { InvalidArgumentError } from "@commander-js/extra-typings";
import { decodeByteString, encodeByteString } from "../lib/client/names.ts";
import type { FileKind, NfsTime } from "../lib/client/types.ts";
import { modeString } from "./ls_format.ts";
import { printableOwner } from "./ls_owners.ts";
import { quoteName, type QuotingStyle } from "./ls_quote.ts";
import { strftime } from "./ls_time.ts";

/** What the conversions show of one object; `undefined` is unknown (printed `?`). */
export interface StatObject {
  /** `%n`: the name as typed (the URL). */
  readonly name: string;
  readonly kind: FileKind;
  /** Permission bits and set-id/sticky bits (07777). */
  readonly mode: number | undefined;
  readonly nlink: number | undefined;
  /** The owner's uid, or the server's string when it maps to no id. */
  readonly uid: bigint | string | undefined;
  /** The local user with that uid. */
  readonly user: string | undefined;
  readonly gid: bigint | string | undefined;
  readonly group: string | undefined;
  readonly size: bigint | undefined;
  /** Bytes allocated (space_used). */
  readonly spaceUsed: bigint | undefined;
  readonly fileid: bigint | undefined;
  readonly atime: NfsTime | undefined;
  readonly mtime: NfsTime | undefined;
  readonly ctime: NfsTime | undefined;
  /** time_create; unknown prints `-` (`%w`) and 0 (`%W`), as GNU stat does. */
  readonly btime: NfsTime | undefined;
  /** `%o`. */
  readonly ioSize: bigint | undefined;
  readonly fsid: { readonly major: bigint; readonly minor: bigint } | undefined;
  readonly rdev: { readonly major: number; readonly minor: number } | undefined;
  /** A symlink's target, for `%N`. */
  readonly linkTarget: string | undefined;
  /** `%m`, when it was looked up. */
  readonly mountPoint?: string | undefined;
}

/** One piece of a compiled format. */
type Piece =
  | { readonly text: string }
  | {
    /** Flags, width and precision as written between `%` and the conversion. */
    readonly spec: string;
    /** `H` or `L` before `d` or `r`. */
    readonly modifier: "" | "H" | "L";
    readonly conversion: string;
  };

/** A format ready to render, with the warnings its escapes gave. */
export interface StatFormat {
  readonly pieces: readonly Piece[];
  /** Printed after each object (`\n` for `--format`, nothing for `--printf`). */
  readonly trailer: string;
  /** Conversions used (to skip look-ups nobody asked for, such as `%m`). */
  readonly conversions: ReadonlySet<string>;
  /** `warning: unrecognized escape '\q'` and the like, as GNU stat prints them. */
  readonly warnings: readonly string[];
}

/** `--terse`, as coreutils 9.1 prints it without SELinux. */
export const TERSE_FORMAT = "%n %s %b %f %u %g %D %i %h %t %T %X %Y %Z %W %o\n";

const FLAGS = "'-+ #0I";
const DIGITS = /[0-9]/;

/**
 * Compiles `format`. `escapes` interprets backslash escapes (`--printf`:
 * `\n \t \\ \" \a \b \e \f \r \v`, `\NNN` octal, `\xHH` hex) and prints no
 * newline after each object; without it (`--format`) backslashes are
 * literal and a newline follows. Throws InvalidArgumentError for a `%`
 * with flags or a width before `%` or the end (`%5%`), as GNU stat refuses.
 */
export function compileStatFormat(format: string, escapes: boolean): StatFormat {
  const pieces: Piece[] = [];
  const conversions = new Set<string>();
  const warnings: string[] = [];
  let text = "";
  const flush = () => {
    if (text !== "") pieces.push({ text });
    text = "";
  };
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch === "%") {
      let j = i + 1;
      while (j < format.length && FLAGS.includes(format[j]!)) j++;
      while (j < format.length && DIGITS.test(format[j]!)) j++;
      if (format[j] === ".") {
        j++;
        while (j < format.length && DIGITS.test(format[j]!)) j++;
      }
      const spec = format.slice(i + 1, j);
      const conv = format[j];
      if (conv === undefined || conv === "%") {
        if (spec !== "") {
          throw new InvalidArgumentError(`'%${spec}${conv ?? ""}': invalid directive`);
        }
        text += "%";
        i = conv === undefined ? j - 1 : j;
        continue;
      }
      let modifier: "" | "H" | "L" = "";
      let conversion = conv;
      if ((conv === "H" || conv === "L") && (format[j + 1] === "d" || format[j + 1] === "r")) {
        modifier = conv;
        conversion = format[j + 1]!;
        j++;
      }
      flush();
      pieces.push({ spec, modifier, conversion });
      conversions.add(conversion);
      i = j;
      continue;
    }
    if (ch === "\\" && escapes) {
      const next = format[i + 1];
      if (next === undefined) {
        warnings.push("warning: backslash at end of format");
        text += "\\";
        continue;
      }
      if (/[0-7]/.test(next)) {
        let value = 0;
        let k = i + 1;
        for (; k < format.length && k < i + 4 && /[0-7]/.test(format[k]!); k++) {
          value = value * 8 + Number(format[k]);
        }
        text += byteText(value & 0xff);
        i = k - 1;
        continue;
      }
      if (next === "x" && /[0-9a-fA-F]/.test(format[i + 2] ?? "")) {
        let k = i + 2;
        let value = 0;
        for (; k < format.length && k < i + 4 && /[0-9a-fA-F]/.test(format[k]!); k++) {
          value = value * 16 + parseInt(format[k]!, 16);
        }
        text += byteText(value);
        i = k - 1;
        continue;
      }
      const simple = SIMPLE_ESCAPES[next];
      if (simple !== undefined) {
        text += simple;
      } else {
        warnings.push(`warning: unrecognized escape '\\${next}'`);
        text += next;
      }
      i++;
      continue;
    }
    text += ch;
  }
  flush();
  return { pieces, trailer: escapes ? "" : "\n", conversions, warnings };
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: "\x07",
  b: "\b",
  e: "\x1b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  '"': '"',
  "\\": "\\",
};

/** One byte as text: ASCII as it is, others as the byte string of that byte. */
function byteText(byte: number): string {
  return byte < 0x80 ? String.fromCharCode(byte) : decodeByteString(Uint8Array.of(byte));
}

/** How objects are rendered. */
export interface RenderOptions {
  /** IANA zone for `%x %y %z %w`; the process's local zone when undefined. */
  readonly timeZone?: string | undefined;
  /** `%N`'s quoting (GNU: `$QUOTING_STYLE`, else shell-escape-always). */
  readonly quoting?: QuotingStyle | undefined;
}

/** The text `format` gives for `obj`, its trailer included. */
export function renderStatFormat(
  format: StatFormat,
  obj: StatObject,
  options: RenderOptions = {},
): string {
  let out = "";
  for (const piece of format.pieces) {
    out += "text" in piece ? piece.text : convert(piece, obj, options);
  }
  return out + format.trailer;
}

/** A directive's flags, width and precision. */
interface Spec {
  readonly flags: string;
  readonly width: number | undefined;
  readonly precision: number | undefined;
}

function parseSpec(spec: string, allowed: string): Spec {
  let i = 0;
  let flags = "";
  while (i < spec.length && FLAGS.includes(spec[i]!)) {
    if (allowed.includes(spec[i]!)) flags += spec[i];
    i++;
  }
  let widthText = "";
  while (i < spec.length && DIGITS.test(spec[i]!)) widthText += spec[i++];
  let precision: number | undefined;
  if (spec[i] === ".") {
    precision = Number(spec.slice(i + 1) || "0");
  }
  return { flags, width: widthText === "" ? undefined : Number(widthText), precision };
}

/** printf's padding of `body` (sign and prefix first, then digits) to the width. */
function pad(sign: string, digits: string, spec: Spec, zeroAllowed: boolean): string {
  const body = sign + digits;
  const width = spec.width ?? 0;
  if (body.length >= width) return body;
  if (spec.flags.includes("-")) return body.padEnd(width, " ");
  if (zeroAllowed && spec.flags.includes("0")) {
    return sign + digits.padStart(width - sign.length, "0");
  }
  return body.padStart(width, " ");
}

/** printf `%d` / `%u` / `%o` / `%x` of `value` with the flags of `specText` kept in `allowed`. */
function printfInteger(
  specText: string,
  value: bigint,
  conv: "d" | "u" | "o" | "x",
): string {
  const allowed = conv === "d" ? "'-+ 0" : conv === "u" ? "'-0" : "-#0";
  const spec = parseSpec(specText, allowed);
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  let digits = magnitude.toString(conv === "o" ? 8 : conv === "x" ? 16 : 10);
  if (spec.precision !== undefined) {
    digits = spec.precision === 0 && magnitude === 0n ? "" : digits.padStart(spec.precision, "0");
  }
  let prefix = "";
  if (spec.flags.includes("#")) {
    if (conv === "o" && !digits.startsWith("0")) digits = "0" + digits;
    if (conv === "x" && magnitude !== 0n) prefix = "0x";
  }
  let sign = "";
  if (conv === "d") {
    sign = negative ? "-" : spec.flags.includes("+") ? "+" : spec.flags.includes(" ") ? " " : "";
  }
  return pad(sign + prefix, digits, spec, spec.precision === undefined);
}

/** printf `%s`: width and precision in bytes; the precision truncates. */
function printfString(specText: string, value: string): string {
  const spec = parseSpec(specText, "-");
  let bytes = encodeByteString(value);
  if (spec.precision !== undefined && bytes.length > spec.precision) {
    bytes = bytes.subarray(0, spec.precision);
    value = decodeByteString(bytes);
  }
  const width = spec.width ?? 0;
  if (bytes.length >= width) return value;
  const fill = " ".repeat(width - bytes.length);
  return spec.flags.includes("-") ? value + fill : fill + value;
}

/** `-0` for the seconds of a time between -1 and 0 (GNU prints `%.0f` of -0.25). */
function minusZero(specText: string): string {
  const spec = parseSpec(specText, "'-+ 0");
  return pad("-", "0", spec, true);
}

/**
 * Seconds since the epoch with `spec`'s precision as fraction digits, as
 * GNU stat's `%X %Y %Z %W` print them: the width covers the whole number
 * (the seconds get what the point and the fraction leave), a time before
 * 1970 rounds toward minus infinity in its digits (`-0.750` for 0.25 s
 * before the epoch), and a `-` flag pads after the fraction.
 */
function epochSeconds(specText: string, time: NfsTime): string {
  const dot = specText.indexOf(".");
  let secondsSpec = specText;
  let width = 0;
  let precision = 0;
  if (dot >= 0) {
    secondsSpec = specText.slice(0, dot);
    const after = specText.slice(dot + 1);
    // At most what a C int holds, and no more than a sane number of digits.
    precision = DIGITS.test(after[0] ?? "") ? Math.min(Number(after), 1_000_000) : 9;
    if (precision > 0 && dot > 0 && DIGITS.test(specText[dot - 1]!)) {
      let p = dot - 1;
      while (p > 0 && DIGITS.test(specText[p - 1]!)) p--;
      width = Number(specText.slice(p, dot));
      if (width > 1) {
        if (specText[p] === "0") p++;
        secondsSpec = specText.slice(0, p);
        const withoutPoint = width - 1;
        if (withoutPoint > 1) {
          const forSeconds = withoutPoint - precision;
          if (forSeconds > 1) {
            const head = specText.slice(0, p);
            const leftAdjust = head.includes("-");
            secondsSpec = head.replaceAll("-", "") + (leftAdjust ? "" : String(forSeconds));
          }
        }
      }
    }
  }
  let divisor = 1;
  for (let i = precision; i < 9; i++) divisor *= 10;
  let fraction = Math.floor(time.nseconds / divisor);
  let seconds = time.seconds;
  let negativeZero = false;
  if (seconds < 0n && time.nseconds !== 0) {
    const modulus = 1_000_000_000 / divisor;
    fraction = modulus - fraction - (time.nseconds % divisor !== 0 ? 1 : 0);
    if (fraction !== 0) seconds += 1n;
    negativeZero = seconds === 0n;
  }
  const whole = negativeZero ? minusZero(secondsSpec) : printfInteger(secondsSpec, seconds, "d");
  if (precision === 0) return whole;
  const digits = Math.min(precision, 9);
  const trailingZeros = precision - digits;
  const trailingWidth = whole.length < width && 1 < width - whole.length
    ? width - whole.length - 1 - digits
    : 0;
  // printf("%-*.*d", trailingWidth, trailingZeros, 0): a negative width pads on the left too.
  const trailing = "0".repeat(trailingZeros).padEnd(Math.abs(trailingWidth), " ");
  return whole + "." + String(fraction).padStart(digits, "0") + trailing;
}

/** Nanoseconds since the epoch of an NFS time. */
export function nfsTimeNs(time: NfsTime): bigint {
  return time.seconds * 1_000_000_000n + BigInt(time.nseconds);
}

/** `2024-01-02 03:04:05.123456789 +0000`, as GNU stat's `%y` in `timeZone`. */
export function humanTime(time: NfsTime, timeZone?: string): string {
  return strftime("%Y-%m-%d %H:%M:%S.%N %z", nfsTimeNs(time), timeZone);
}

const TYPE_BITS: Partial<Record<FileKind, number>> = {
  file: 0o100000,
  directory: 0o040000,
  symlink: 0o120000,
  block: 0o060000,
  char: 0o020000,
  fifo: 0o010000,
  socket: 0o140000,
};

/** The file type in the words of GNU stat's `%F` and `rm -i` (gnulib file_type()). */
export function fileTypeText(kind: FileKind, size: bigint | undefined): string {
  switch (kind) {
    case "file":
      return size === 0n ? "regular empty file" : "regular file";
    case "directory":
      return "directory";
    case "symlink":
      return "symbolic link";
    case "block":
      return "block special file";
    case "char":
      return "character special file";
    case "fifo":
      return "fifo";
    case "socket":
      return "socket";
    default:
      return "weird file";
  }
}

/** glibc's makedev(): a 64-bit dev_t from a major and a minor of up to 32 bits. */
function makedev(major: bigint, minor: bigint): bigint {
  return ((major & 0xfffff000n) << 32n) | ((major & 0xfffn) << 8n) |
    ((minor & 0xffffff00n) << 12n) | (minor & 0xffn);
}

const ONE_MIB = 1n << 20n;

function convert(
  piece: { spec: string; modifier: "" | "H" | "L"; conversion: string },
  obj: StatObject,
  options: RenderOptions,
): string {
  const { spec, modifier } = piece;
  const str = (value: string | undefined) => printfString(spec, value ?? "?");
  const num = (value: bigint | number | undefined, conv: "d" | "u" | "o" | "x") =>
    value === undefined ? str("?") : printfInteger(spec, BigInt(value), conv);
  // An owner that maps to no id is the server's string: no control character reaches a terminal.
  const id = (value: bigint | string | undefined) =>
    typeof value === "string" ? str(printableOwner(value)) : num(value, "u");
  const epoch = (time: NfsTime | undefined) =>
    time === undefined ? str("?") : epochSeconds(spec, time);
  const human = (time: NfsTime | undefined) =>
    str(time === undefined ? undefined : humanTime(time, options.timeZone));
  const quote = (name: string) =>
    quoteName(name, { style: options.quoting ?? "shell-escape-always" }).text;
  switch (piece.conversion) {
    case "n":
      return str(obj.name);
    case "N": {
      const name = str(quote(obj.name));
      if (obj.kind !== "symlink") return name;
      return `${name} -> ${str(obj.linkTarget === undefined ? "?" : quote(obj.linkTarget))}`;
    }
    case "s":
      return num(obj.size, "d");
    case "b":
      return num(obj.spaceUsed === undefined ? undefined : (obj.spaceUsed + 511n) / 512n, "u");
    case "B":
      return num(512n, "u");
    case "a":
      return num(obj.mode === undefined ? undefined : obj.mode & 0o7777, "o");
    case "A":
      return str(modeString(obj.kind, obj.mode));
    case "f":
      return num(obj.mode === undefined ? undefined : (TYPE_BITS[obj.kind] ?? 0) | obj.mode, "x");
    case "F":
      return str(fileTypeText(obj.kind, obj.size));
    case "h":
      return num(obj.nlink, "u");
    case "u":
      return id(obj.uid);
    case "U":
      return str(obj.uid === undefined ? undefined : obj.user ?? "UNKNOWN");
    case "g":
      return id(obj.gid);
    case "G":
      return str(obj.gid === undefined ? undefined : obj.group ?? "UNKNOWN");
    case "i":
      return num(obj.fileid, "u");
    case "m":
      // A path on the server, symlinks followed: the server's text too.
      return str(obj.mountPoint === undefined ? undefined : printableOwner(obj.mountPoint));
    case "o":
      return num(
        obj.ioSize === undefined ? undefined : obj.ioSize < ONE_MIB ? obj.ioSize : ONE_MIB,
        "u",
      );
    case "d": {
      const fsid = obj.fsid;
      if (fsid === undefined) return str("?");
      if (modifier === "H") return num(fsid.major, "u");
      if (modifier === "L") return num(fsid.minor, "u");
      return num(makedev(fsid.major, fsid.minor), "u");
    }
    case "D":
      return num(obj.fsid && makedev(obj.fsid.major, obj.fsid.minor), "x");
    case "r": {
      const rdev = obj.rdev;
      if (rdev === undefined) return str("?");
      if (modifier === "H") return num(rdev.major, "u");
      if (modifier === "L") return num(rdev.minor, "u");
      return num(makedev(BigInt(rdev.major), BigInt(rdev.minor)), "u");
    }
    case "R":
      return num(obj.rdev && makedev(BigInt(obj.rdev.major), BigInt(obj.rdev.minor)), "x");
    case "t":
      return num(obj.rdev?.major, "x");
    case "T":
      return num(obj.rdev?.minor, "x");
    case "x":
      return human(obj.atime);
    case "X":
      return epoch(obj.atime);
    case "y":
      return human(obj.mtime);
    case "Y":
      return epoch(obj.mtime);
    case "z":
      return human(obj.ctime);
    case "Z":
      return epoch(obj.ctime);
    case "w":
      return str(obj.btime === undefined ? "-" : humanTime(obj.btime, options.timeZone));
    case "W":
      return epochSeconds(spec, obj.btime ?? { seconds: 0n, nseconds: 0 });
    default:
      // %C (an SELinux context) and anything else GNU stat does not know.
      return "?";
  }
}
