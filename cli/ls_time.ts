/**
 * The time column of `nfs4 ls -l`, as coreutils `ls` prints it:
 * `--time-style=locale` (the default: `Nov 21 10:50`, or `Nov 21  2023`
 * for times more than six months old or in the future), `full-iso`
 * (`--full-time`: `2024-11-21 10:50:03.123456789 +0000`), `long-iso`,
 * `iso`, and `+FORMAT` (date(1)'s conversions; `+OLD<newline>RECENT` gives
 * the two kinds of times their own formats). Times are nanoseconds since
 * the epoch, shown in an IANA time zone (the process's when not given).
 * Pure: "now" and the zone are parameters.
 * @module
 */

/** Half a mean Gregorian year, the "recent" window of `ls -l` (coreutils). */
export const SIX_MONTHS_MS = 31_556_952_000 / 2;

/** A parsed `--time-style`: the formats for old and for recent times. */
export interface TimeStyle {
  readonly old: string;
  readonly recent: string;
}

const NAMED_STYLES: Record<string, TimeStyle> = {
  "full-iso": { old: "%Y-%m-%d %H:%M:%S.%N %z", recent: "%Y-%m-%d %H:%M:%S.%N %z" },
  "long-iso": { old: "%Y-%m-%d %H:%M", recent: "%Y-%m-%d %H:%M" },
  "iso": { old: "%Y-%m-%d ", recent: "%m-%d %H:%M" },
  "locale": { old: "%b %e  %Y", recent: "%b %e %H:%M" },
};

/** The default style, `locale` (in the C and C.UTF-8 locales). */
export const LOCALE_STYLE: TimeStyle = NAMED_STYLES.locale!;

/**
 * Parses a `--time-style` (or `TIME_STYLE`) value: `full-iso`, `long-iso`,
 * `iso`, `locale`, or `+FORMAT`, each optionally prefixed with `posix-`
 * (which the C.UTF-8 locale honours). Undefined when it is none of these.
 */
export function parseTimeStyle(value: string): TimeStyle | undefined {
  let style = value;
  while (style.startsWith("posix-")) style = style.slice("posix-".length);
  if (style.startsWith("+")) {
    const formats = style.slice(1).split("\n");
    if (formats.length > 2) return undefined;
    return { old: formats[0]!, recent: formats[1] ?? formats[0]! };
  }
  return NAMED_STYLES[style];
}

/** Calendar fields of an instant in a time zone. */
export interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday. */
  weekday: number;
  /** Offset from UTC in minutes (east positive). */
  offset: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();

function dateFormat(timeZone: string | undefined, zoneName: "longOffset" | "short") {
  const key = `${timeZone ?? ""}/${zoneName}`;
  let format = formats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      ...(timeZone !== undefined ? { timeZone } : {}),
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      weekday: "short",
      hourCycle: "h23",
      timeZoneName: zoneName,
    });
    formats.set(key, format);
  }
  return format;
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const WEEKDAY_NAMES = [
  "Sunday",
  "Monday",
  "Tuesday",
  "Wednesday",
  "Thursday",
  "Friday",
  "Saturday",
];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTH_NAMES = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/**
 * The broken-down times already computed, by zone and second: a directory's
 * entries often share a few (a tree unpacked or copied at once), and
 * `formatToParts` is the dearest step of `ls -l`.
 */
const FIELDS_CACHE = new Map<string, Readonly<Fields>>();
const FIELDS_CACHE_MAX = 4096;

function fieldsOf(ms: number, timeZone: string | undefined): Readonly<Fields> {
  const key = `${timeZone ?? ""} ${ms}`;
  const cached = FIELDS_CACHE.get(key);
  if (cached) return cached;
  if (FIELDS_CACHE.size >= FIELDS_CACHE_MAX) FIELDS_CACHE.clear();
  const fields = Object.freeze(computeFields(ms, timeZone));
  FIELDS_CACHE.set(key, fields);
  return fields;
}

function computeFields(ms: number, timeZone: string | undefined): Fields {
  const fields = timeZone === undefined
    ? localFields(ms)
    : timeZone === "UTC"
    ? utcFields(ms)
    : undefined;
  return fields ?? zoneFields(ms, timeZone);
}

/**
 * Fields in UTC from Date's UTC getters: what Intl gives for `UTC`
 * (tests/cli/ls_time_test.ts holds them to it), without loading the time
 * zone database (the first local or Intl time costs ~4 ms of CPU). Undefined
 * outside the years 1-9999, which {@linkcode zoneFields} does.
 */
export function utcFields(ms: number): Fields | undefined {
  const date = new Date(ms);
  const year = date.getUTCFullYear();
  if (!(year >= 1 && year <= 9999)) return undefined;
  return {
    year,
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
    weekday: date.getUTCDay(),
    offset: 0,
  };
}

/** The zone names that are UTC itself, as TZ or /etc/localtime's link name them. */
const UTC_NAMES = /^(?:Etc\/)?UTC$/;

/**
 * `"UTC"` when this process's own time zone is UTC as the runtime finds it
 * (TZ unset and `/etc/localtime` a link to zoneinfo's `UTC` or `Etc/UTC`, or
 * TZ naming one of those), else undefined (the zone the runtime finds): a
 * listing in a process on UTC (servers, containers, the bench) then never
 * loads the time zone database. `localtimeLink` reads `/etc/localtime`'s
 * link (undefined when it is none).
 */
export function utcProcessZone(
  tz: string | undefined,
  localtimeLink: () => string | undefined,
): "UTC" | undefined {
  if (tz !== undefined) return UTC_NAMES.test(tz) ? "UTC" : undefined;
  const link = localtimeLink();
  const at = link?.lastIndexOf("zoneinfo/") ?? -1;
  return link !== undefined && at >= 0 && UTC_NAMES.test(link.slice(at + "zoneinfo/".length))
    ? "UTC"
    : undefined;
}

/**
 * Fields in the process's own zone, from Date's local getters: the host's
 * zone rules, as Intl's default zone uses, at a fraction of the cost of
 * `formatToParts` (`ls -l` of 10,000 files whose times differ, binary:
 * 0.05-0.07 CPU-s and 6 MB less; no Intl formatter is built at all). Undefined outside
 * the years 1-9999 and where the offset is not whole minutes (local mean
 * time in some zones before 1972): {@linkcode zoneFields} does those.
 * tests/cli/ls_time_local_test.ts holds the two to each other in zones
 * with half-hour, negative and southern summer times.
 */
export function localFields(ms: number): Fields | undefined {
  const date = new Date(ms);
  const year = date.getFullYear();
  const offset = -date.getTimezoneOffset();
  if (!(year >= 1 && year <= 9999) || !Number.isInteger(offset)) return undefined;
  return {
    year,
    month: date.getMonth() + 1,
    day: date.getDate(),
    hour: date.getHours(),
    minute: date.getMinutes(),
    second: date.getSeconds(),
    weekday: date.getDay(),
    offset: offset === 0 ? 0 : offset, // never -0
  };
}

/** Fields in `timeZone` (the process's when undefined) through Intl. */
export function zoneFields(ms: number, timeZone: string | undefined): Fields {
  const parts: Record<string, string> = {};
  for (const part of dateFormat(timeZone, "longOffset").formatToParts(new Date(ms))) {
    if (part.type !== "literal") parts[part.type] = part.value;
  }
  // "GMT", "GMT+01:00", "GMT-05:30", and local mean time's "GMT+05:21:10"
  // (its seconds dropped, as GNU date's %z drops them; this read 0 before).
  const m = /^GMT(?:([+-])(\d{2}):?(\d{2})?(?::?\d{2})?)?$/.exec(parts.timeZoneName ?? "GMT");
  const offset = m?.[1] === undefined ? 0 : (m[1] === "-" ? -1 : 1) *
    (Number(m[2]) * 60 + Number(m[3] ?? 0));
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: WEEKDAYS.indexOf(parts.weekday ?? ""),
    offset,
  };
}

function zoneAbbreviation(ms: number, timeZone: string | undefined): string {
  const part = dateFormat(timeZone, "short").formatToParts(new Date(ms))
    .find((p) => p.type === "timeZoneName");
  return part?.value ?? "UTC";
}

const NS_PER_S = 1_000_000_000n;

/** Splits nanoseconds since the epoch into whole seconds (floor) and nanoseconds. */
function split(ns: bigint): { seconds: bigint; nanos: number } {
  let seconds = ns / NS_PER_S;
  let nanos = ns % NS_PER_S;
  if (nanos < 0n) {
    seconds -= 1n;
    nanos += NS_PER_S;
  }
  return { seconds, nanos: Number(nanos) };
}

function dayOfYear(f: Fields): number {
  return Math.round(
    (Date.UTC(f.year, f.month - 1, f.day) - Date.UTC(f.year, 0, 1)) / 86_400_000,
  ) + 1;
}

/**
 * Formats `ns` (nanoseconds since the epoch) with strftime conversions as
 * GNU date(1) knows them: `%Y %C %y %m %d %e %j %H %k %I %l %M %S %N %p %P
 * %a %A %b %h %B %u %w %s %z %:z %Z %F %T %R %D %r %c %x %X %n %t %%`, with
 * the flags `-` (no padding), `_` (spaces), `0` (zeros) and a width (for
 * `%N`, the number of digits). Anything else is copied.
 */
export function strftime(format: string, ns: bigint, timeZone?: string): string {
  const { seconds, nanos } = split(ns);
  const ms = Number(seconds) * 1000;
  const f = fieldsOf(ms, timeZone);
  let out = "";
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch !== "%" || i + 1 >= format.length) {
      out += ch;
      continue;
    }
    const start = i;
    let flag = "";
    while ("-_0^#".includes(format[i + 1] ?? "") && i + 1 < format.length) flag = format[++i]!;
    let widthText = "";
    while (/[0-9]/.test(format[i + 1] ?? "")) widthText += format[++i];
    let colon = false;
    if (format[i + 1] === ":" && format[i + 2] === "z") {
      colon = true;
      i++;
    }
    const conv = format[++i];
    const width = widthText === "" ? undefined : Number(widthText);
    const num = (value: number, digits: number, pad: "0" | " " = "0") => {
      const padChar = flag === "_" ? " " : flag === "0" ? "0" : pad;
      const text = String(value);
      if (flag === "-") return text;
      return text.padStart(width ?? digits, padChar);
    };
    const str = (text: string) => {
      const shown = flag === "^" ? text.toUpperCase() : text;
      return width === undefined ? shown : shown.padStart(width, flag === "0" ? "0" : " ");
    };
    const hour12 = f.hour % 12 === 0 ? 12 : f.hour % 12;
    switch (conv) {
      case "Y":
        out += num(f.year, 1);
        break;
      case "C":
        out += num(Math.floor(f.year / 100), 2);
        break;
      case "y":
        out += num(((f.year % 100) + 100) % 100, 2);
        break;
      case "m":
        out += num(f.month, 2);
        break;
      case "d":
        out += num(f.day, 2);
        break;
      case "e":
        out += num(f.day, 2, " ");
        break;
      case "j":
        out += num(dayOfYear(f), 3);
        break;
      case "H":
        out += num(f.hour, 2);
        break;
      case "k":
        out += num(f.hour, 2, " ");
        break;
      case "I":
        out += num(hour12, 2);
        break;
      case "l":
        out += num(hour12, 2, " ");
        break;
      case "M":
        out += num(f.minute, 2);
        break;
      case "S":
        out += num(f.second, 2);
        break;
      case "N": {
        const digits = String(nanos).padStart(9, "0");
        out += width === undefined ? digits : digits.slice(0, width).padEnd(width, "0");
        break;
      }
      case "p":
        out += str(f.hour < 12 ? "AM" : "PM");
        break;
      case "P":
        out += str(f.hour < 12 ? "am" : "pm");
        break;
      case "a":
        out += str(WEEKDAYS[f.weekday] ?? "?");
        break;
      case "A":
        out += str(WEEKDAY_NAMES[f.weekday] ?? "?");
        break;
      case "b":
      case "h":
        out += str(MONTHS[f.month - 1] ?? "?");
        break;
      case "B":
        out += str(MONTH_NAMES[f.month - 1] ?? "?");
        break;
      case "u":
        out += num(f.weekday === 0 ? 7 : f.weekday, 1);
        break;
      case "w":
        out += num(f.weekday, 1);
        break;
      case "s":
        out += seconds.toString();
        break;
      case "z": {
        const sign = f.offset < 0 ? "-" : "+";
        const abs = Math.abs(f.offset);
        const hh = String(Math.floor(abs / 60)).padStart(2, "0");
        const mm = String(abs % 60).padStart(2, "0");
        out += colon ? `${sign}${hh}:${mm}` : `${sign}${hh}${mm}`;
        break;
      }
      case "Z":
        out += str(zoneAbbreviation(ms, timeZone));
        break;
      case "F":
        out += strftime("%Y-%m-%d", ns, timeZone);
        break;
      case "T":
      case "X":
        out += strftime("%H:%M:%S", ns, timeZone);
        break;
      case "R":
        out += strftime("%H:%M", ns, timeZone);
        break;
      case "D":
      case "x":
        out += strftime("%m/%d/%y", ns, timeZone);
        break;
      case "r":
        out += strftime("%I:%M:%S %p", ns, timeZone);
        break;
      case "c":
        out += strftime("%a %b %e %H:%M:%S %Y", ns, timeZone);
        break;
      case "n":
        out += "\n";
        break;
      case "t":
        out += "\t";
        break;
      case "%":
        out += "%";
        break;
      default:
        // Not a conversion we know: copy it as written.
        out += format.slice(start, i + 1);
    }
  }
  return out;
}

/** Options for time formatting: the instant "now", an IANA zone (default: local), the style. */
export interface TimeOptions {
  readonly now: Date;
  readonly timeZone?: string | undefined;
  readonly style?: TimeStyle | undefined;
}

/**
 * An `ls -l` time (`ns`: nanoseconds since the epoch, `?` when unknown):
 * the style's recent format when within the last six months, else its old
 * format (also for times in the future).
 *
 * @example
 * ```ts
 * formatLsTime(1709647620_000_000_000n, { now: new Date("2024-04-01Z"), timeZone: "UTC" });
 * // "Mar  5 14:07"
 * ```
 */
export function formatLsTime(ns: bigint | undefined, options: TimeOptions): string {
  if (ns === undefined) return "?";
  const style = options.style ?? LOCALE_STYLE;
  const ms = Number(ns / 1_000_000n);
  const now = options.now.getTime();
  // coreutils compares to the nanosecond; a millisecond is as close as "now" gets here.
  const recent = now - SIX_MONTHS_MS < ms && ns < BigInt(now) * 1_000_000n;
  return strftime(recent ? style.recent : style.old, ns, options.timeZone);
}

/**
 * {@linkcode formatLsTime} for one listing, remembering what it printed
 * for each second: a directory's files share few seconds (a tree unpacked
 * or copied at once), and a style without `%N` prints the same text for
 * every instant of a second (recent and old ones apart).
 */
export function lsTimeFormatter(options: TimeOptions): (ns: bigint | undefined) => string {
  const style = options.style ?? LOCALE_STYLE;
  // %N (in any of its forms) shows less than a second: nothing to share.
  if (style.old.includes("N") || style.recent.includes("N")) {
    return (ns) => formatLsTime(ns, options);
  }
  const now = options.now.getTime();
  const nowNs = BigInt(now) * 1_000_000n;
  // formatLsTime()'s "recent" is `now - SIX_MONTHS_MS < ms`, ms being the
  // nanoseconds truncated to milliseconds: when that threshold is not
  // negative, the same as ns >= (threshold + 1) ms, with no division.
  const threshold = now - SIX_MONTHS_MS;
  const recentFrom = Number.isSafeInteger(threshold) && threshold >= 0
    ? BigInt(threshold + 1) * 1_000_000n
    : undefined;
  const recentTexts = new Map<bigint, string>();
  const oldTexts = new Map<bigint, string>();
  // The last file's second, when one text holds for all of it: files next
  // to each other in a listing often share one.
  let lastFrom = 0n;
  let lastTo = 0n;
  let lastText = "";
  // The texts of whole seconds in which neither edge (six months ago, now)
  // falls, by second as a Number: found from the time's Number value, with
  // no BigInt arithmetic, when that value is clearly inside one second.
  const wholeSeconds = new Map<number, string>();
  const firstRecentMs = threshold + 1;
  let lastSecond = NaN;
  let lastSecondText = "";
  return (ns) => {
    if (ns === undefined) return "?";
    // Number(ns) is within 2^-52 of ns; far enough from a second's edges,
    // its second is ns's second. (second * 1e9 is exact below 2^53 / 1953125 s.)
    const approx = Number(ns);
    const second = Math.floor(approx / 1e9);
    const within = approx - second * 1e9;
    if (
      within >= 1e6 && within <= 1e9 - 1e6 && Math.abs(second) < 4e9 &&
      recentFrom !== undefined
    ) {
      if (second === lastSecond) return lastSecondText;
      const fromMs = second * 1000;
      const toMs = fromMs + 1000;
      if (
        (firstRecentMs <= fromMs || firstRecentMs >= toMs) && (now <= fromMs || now >= toMs)
      ) {
        let text = wholeSeconds.get(second);
        if (text === undefined) {
          const recent = fromMs >= firstRecentMs && fromMs < now;
          text = strftime(recent ? style.recent : style.old, ns, options.timeZone);
          wholeSeconds.set(second, text);
        }
        lastSecond = second;
        lastSecondText = text;
        return text;
      }
    }
    if (ns >= lastFrom && ns < lastTo) return lastText;
    const recent =
      (recentFrom !== undefined ? ns >= recentFrom : threshold < Number(ns / 1_000_000n)) &&
      ns < nowNs;
    const { seconds } = split(ns);
    const texts = recent ? recentTexts : oldTexts;
    let text = texts.get(seconds);
    if (text === undefined) {
      text = strftime(recent ? style.recent : style.old, ns, options.timeZone);
      texts.set(seconds, text);
    }
    // One text for the whole second unless six months ago or now falls inside it.
    const from = seconds * 1_000_000_000n;
    const to = from + 1_000_000_000n;
    if (recentFrom !== undefined && outside(recentFrom, from, to) && outside(nowNs, from, to)) {
      lastFrom = from;
      lastTo = to;
      lastText = text;
    }
    return text;
  };
}

/**
 * Whether `edge` is outside the second [`from`, `to`). (Not a closure in
 * the formatter, which runs once per file: a closure over its variables
 * would make a scope object at every call.)
 */
function outside(edge: bigint, from: bigint, to: bigint): boolean {
  return edge <= from || edge >= to;
}

/** Nanoseconds since the epoch of a Date (for times known only to the millisecond). */
export function dateToNanoseconds(date: Date | undefined): bigint | undefined {
  if (date === undefined || Number.isNaN(date.getTime())) return undefined;
  return BigInt(date.getTime()) * 1_000_000n;
}
