/**
 * Dates as `touch -d` and `touch -t` take them, to the nanosecond.
 *
 * `-d` ({@linkcode parseDateSpec}) takes a subset of what GNU's
 * parse_datetime() does, the forms scripts use:
 *
 * - `now`: the moment of the change (for `touch`, the server's clock);
 * - `@SECONDS[.FRACTION]`: seconds since the epoch, negative too
 *   (`@1700000000`, `@-1.5`);
 * - ISO 8601 dates and times: `YYYY-MM-DD`, then optionally ` ` or `T` and
 *   `hh:mm`, `hh:mm:ss` or `hh:mm:ss.FRACTION` (`,` also separates a
 *   fraction; up to 9 digits count, more are cut), then optionally a zone:
 *   `Z`, `UTC`, `GMT`, `+hh`, `+hhmm`, `+hh:mm` (or `-`), with or without a
 *   space before it. Month, day and the time fields may have one digit.
 *   Without a zone the time is local, in the time zone given (else the
 *   process's, i.e. `TZ`), as coreutils reads it.
 *
 * Anything else (relative items such as `yesterday` or `+1 day`, month
 * names, `24:00`, second 60) is refused with a {@linkcode UsageError}.
 *
 * `-t` ({@linkcode parseTouchStamp}) is POSIX's `[[CC]YY]MMDDhhmm[.ss]`,
 * exactly as GNU touch reads it: a two-digit year 69–99 is 19YY, 00–68
 * 20YY; no year is the current one; `.60` is the next second.
 *
 * @example
 * ```ts
 * parseDateSpec("2024-01-02T03:04:05.5Z"); // { seconds: 1704164645n, nseconds: 500000000 }
 * parseTouchStamp("202401020304.05", { timeZone: "UTC" }); // { seconds: 1704164645n, nseconds: 0 }
 * ```
 * @module
 */

import { UsageError } from "./url.ts";

/** A point in time: seconds since the epoch and nanoseconds (0–999999999), as nfstime4. */
export interface Timestamp {
  readonly seconds: bigint;
  readonly nseconds: number;
}

/** What the date means: a time, or "now" (set by the server at the change). */
export type DateSpec = Timestamp | "now";

/** Where local times are read. */
export interface DateContext {
  /** IANA time zone for local times; the process's (`TZ`) when undefined. */
  readonly timeZone?: string | undefined;
  /** The current time, for `-t` without a year (default: the clock). */
  readonly now?: Date | undefined;
}

const ISO = new RegExp(
  "^(\\d{4})-(\\d{1,2})-(\\d{1,2})" +
    "(?:[T ](\\d{1,2}):(\\d{1,2})(?::(\\d{1,2})(?:[.,](\\d+))?)?)?" +
    "(?: ?(Z|UTC|GMT|[+-]\\d{2}(?::?\\d{2})?))?$",
  "i",
);
const EPOCH = /^@([+-]?)(\d+)(?:[.,](\d+))?$/;
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const STAMP = /^(\d{8}|\d{10}|\d{12})(?:\.(\d{2}))?$/;

/** Nanoseconds from the digits after the point (more than 9 are cut, as GNU does). */
function fraction(digits: string | undefined): number {
  return digits === undefined ? 0 : Number(digits.slice(0, 9).padEnd(9, "0"));
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** The zone's offset from UTC at `utcMs`, in milliseconds (east positive). */
function zoneOffsetMs(utcMs: number, timeZone: string | undefined): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    ...(timeZone !== undefined ? { timeZone } : {}),
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
    era: "short",
  }).formatToParts(new Date(utcMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const era = parts.find((p) => p.type === "era")?.value;
  const wall = new Date(0);
  wall.setUTCFullYear(
    era === "BC" || era === "B" ? 1 - get("year") : get("year"),
    get("month") - 1,
    get("day"),
  );
  wall.setUTCHours(get("hour"), get("minute"), get("second"), 0);
  return wall.getTime() - Math.floor(utcMs / 1000) * 1000;
}

/**
 * Seconds since the epoch of a local time in `timeZone`, as mktime() finds
 * it: the offset in force at that moment (in a gap the earlier offset is
 * tried first, as glibc does with tm_isdst = -1).
 */
function localSeconds(
  fields: {
    year: number;
    month: number;
    day: number;
    hour: number;
    minute: number;
    second: number;
  },
  timeZone: string | undefined,
): number | undefined {
  const wall = new Date(0);
  wall.setUTCFullYear(fields.year, fields.month - 1, fields.day);
  wall.setUTCHours(fields.hour, fields.minute, fields.second, 0);
  const wallMs = wall.getTime();
  // Two rounds find the offset in force at the resulting instant.
  let guess = wallMs - zoneOffsetMs(wallMs, timeZone);
  guess = wallMs - zoneOffsetMs(guess, timeZone);
  // A time the clocks skipped (a daylight-saving gap) is no time there:
  // refused, as parse_datetime() and posixtime() refuse it.
  if (guess + zoneOffsetMs(guess, timeZone) !== wallMs) return undefined;
  return Math.floor(guess / 1000);
}

function checkFields(
  text: string,
  what: string,
  f: { year: number; month: number; day: number; hour: number; minute: number; second: number },
  maxSecond: number,
): void {
  if (
    f.month < 1 || f.month > 12 || f.day < 1 || f.day > daysInMonth(f.year, f.month) ||
    f.hour > 23 || f.minute > 59 || f.second > maxSecond
  ) {
    throw new UsageError(`invalid ${what}: '${text}'`);
  }
}

/**
 * Parses a `touch -d` date (see the module documentation); throws
 * {@linkcode UsageError} `invalid date format: 'TEXT'` for anything else.
 */
export function parseDateSpec(text: string, context: DateContext = {}): DateSpec {
  const trimmed = text.trim();
  if (/^now$/i.test(trimmed)) return "now";
  const epoch = EPOCH.exec(trimmed);
  if (epoch) {
    const [, sign, whole, frac] = epoch;
    let seconds = BigInt(whole!);
    let nseconds = fraction(frac);
    if (sign === "-") {
      seconds = -seconds;
      if (nseconds > 0) {
        seconds -= 1n;
        nseconds = 1_000_000_000 - nseconds;
      }
    }
    // A time the protocol cannot carry (nfstime4's seconds are an int64,
    // RFC 7530 §3.3.1) is a bad date here, not a failed SETATTR later.
    if (seconds < INT64_MIN || seconds > INT64_MAX) {
      throw new UsageError(`invalid date format: '${text}'`);
    }
    return { seconds, nseconds };
  }
  const iso = ISO.exec(trimmed);
  if (!iso) {
    throw new UsageError(
      `invalid date format: '${text}' (nfs4 takes 'now', '@SECONDS' and ISO 8601 dates such as '2024-01-02 03:04:05.5 +01:00')`,
    );
  }
  const [, y, mo, d, h, mi, s, frac, zone] = iso;
  const fields = {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: Number(h ?? 0),
    minute: Number(mi ?? 0),
    second: Number(s ?? 0),
  };
  checkFields(text, "date", fields, 59);
  let seconds: number;
  if (zone === undefined) {
    const local = localSeconds(fields, context.timeZone);
    if (local === undefined) throw new UsageError(`invalid date: '${text}' (no such local time)`);
    seconds = local;
  } else {
    const utc = new Date(0);
    utc.setUTCFullYear(fields.year, fields.month - 1, fields.day);
    utc.setUTCHours(fields.hour, fields.minute, fields.second, 0);
    let offsetMinutes = 0;
    const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
    if (z) {
      const hours = Number(z[2]);
      const minutes = Number(z[3] ?? 0);
      if (hours > 24 || minutes > 59) throw new UsageError(`invalid date: '${text}'`);
      offsetMinutes = (z[1] === "-" ? -1 : 1) * (hours * 60 + minutes);
    }
    seconds = utc.getTime() / 1000 - offsetMinutes * 60;
  }
  return { seconds: BigInt(seconds), nseconds: fraction(frac) };
}

/**
 * Parses a `touch -t` stamp, `[[CC]YY]MMDDhhmm[.ss]`, in local time; throws
 * {@linkcode UsageError} `invalid date format: 'TEXT'` as GNU touch does.
 */
export function parseTouchStamp(text: string, context: DateContext = {}): Timestamp {
  const m = STAMP.exec(text);
  const bad = () => new UsageError(`invalid date format: '${text}'`);
  if (!m) throw bad();
  const digits = m[1]!;
  const rest = digits.slice(-8);
  let year: number;
  if (digits.length === 12) {
    year = Number(digits.slice(0, 4));
  } else if (digits.length === 10) {
    const yy = Number(digits.slice(0, 2));
    year = yy >= 69 ? 1900 + yy : 2000 + yy;
  } else {
    const now = context.now ?? new Date();
    const offset = zoneOffsetMs(now.getTime(), context.timeZone);
    year = new Date(now.getTime() + offset).getUTCFullYear();
  }
  const fields = {
    year,
    month: Number(rest.slice(0, 2)),
    day: Number(rest.slice(2, 4)),
    hour: Number(rest.slice(4, 6)),
    minute: Number(rest.slice(6, 8)),
    second: Number(m[2] ?? 0),
  };
  try {
    checkFields(text, "date format", fields, 60);
  } catch {
    throw bad();
  }
  // POSIX: second 60 is the next second, in any zone.
  const leap = fields.second === 60 ? 1 : 0;
  const seconds = localSeconds({ ...fields, second: fields.second - leap }, context.timeZone);
  if (seconds === undefined) throw bad();
  return { seconds: BigInt(seconds + leap), nseconds: 0 };
}
