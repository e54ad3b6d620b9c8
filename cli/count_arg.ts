/**
 * Counts with multipliers, as GNU head and tail read `-c NUM` and `-n NUM`
 * (coreutils' xstrtoumax with the suffixes "bkKmMGTPEZYRQ0"): decimal
 * digits, optionally after blanks and a `+`, then at most one multiplier:
 * `b` 512, `K`/`k` 1024, `M`/`m` 1024², `G` 1024³, `T`, `P`, `E`, `Z`, `Y`,
 * `R`, `Q`; a letter followed by `B` (or `D`) means powers of 1000 (`kB`,
 * `MB`), by `iB` powers of 1024 (`KiB`). Values past 2^64 - 1 are refused,
 * as coreutils 9.1 does. Also used by `cat --offset/--length`.
 * @module
 */

import { InvalidArgumentError } from "@commander-js/extra-typings";

/** The largest count: 2^64 - 1 (uintmax_t). */
export const MAX_COUNT = 0xffff_ffff_ffff_ffffn;

const POWERS: Readonly<Record<string, number>> = {
  k: 1,
  K: 1,
  m: 2,
  M: 2,
  G: 3,
  T: 4,
  P: 5,
  E: 6,
  Z: 7,
  Y: 8,
  R: 9,
  Q: 10,
};

/** Why a count was refused. */
export type CountProblem = "invalid" | "too large";

/**
 * The value of `text` (`10`, `1K`, `2MB`, ` +5`), or why it is not one.
 *
 * @example
 * ```ts
 * parseCountValue("1KiB"); // 1024n
 * parseCountValue("1kB");  // 1000n
 * parseCountValue("1x");   // "invalid"
 * ```
 */
export function parseCountValue(text: string): bigint | CountProblem {
  const m = /^[ \t\n\v\f\r]*\+?([0-9]+)(.*)$/s.exec(text);
  if (!m) return "invalid";
  let value = BigInt(m[1]!);
  const suffix = m[2]!;
  if (suffix !== "") {
    let multiplier: bigint;
    if (suffix === "b") {
      multiplier = 512n;
    } else {
      const letter = suffix[0]!;
      const power = POWERS[letter];
      if (power === undefined) return "invalid";
      const rest = suffix.slice(1);
      let base: bigint;
      if (rest === "" || rest === "iB") base = 1024n;
      else if (rest === "B" || rest === "D") base = 1000n;
      else return "invalid";
      multiplier = base ** BigInt(power);
    }
    value *= multiplier;
  }
  return value > MAX_COUNT ? "too large" : value;
}

/** A count with the sign that came before it. */
export interface SignedCount {
  /** `-` (head: all but the last), `+` (tail: from the start), or none. */
  readonly sign: "" | "+" | "-";
  readonly value: bigint;
}

/** What a count counts, for messages: "bytes" or "lines". */
export type CountUnit = "bytes" | "lines";

/**
 * Commander prints `option '-n, --lines <[-]NUM>' argument '1x' is invalid.`
 * before this message (exit 2).
 */
function refuse(unit: CountUnit, problem: CountProblem): never {
  throw new InvalidArgumentError(
    problem === "too large"
      ? `Value too large: the number of ${unit} is at most ${MAX_COUNT}`
      : `Expected a number of ${unit}: digits, then a multiplier if any (b, kB, K, MB, M, GB, G, ...)`,
  );
}

/**
 * `head -c/-n` values: `[-]NUM` (a leading `-` means all but the last NUM).
 * Throws commander's InvalidArgumentError (exit 2).
 */
export function parseHeadCount(text: string, unit: CountUnit): SignedCount {
  const elide = text.startsWith("-");
  const value = parseCountValue(elide ? text.slice(1) : text);
  if (typeof value === "string") refuse(unit, value);
  return { sign: elide ? "-" : "", value };
}

/**
 * `tail -c/-n` values: `[+|-]NUM` (`+NUM` counts from the start, a `-` is
 * the default and means from the end). Throws InvalidArgumentError (exit 2).
 */
export function parseTailCount(text: string, unit: CountUnit): SignedCount {
  const sign = text.startsWith("+") ? "+" : text.startsWith("-") ? "-" : "";
  // As coreutils: a `-` is dropped, a `+` stays for the number's own sign.
  const value = parseCountValue(sign === "-" ? text.slice(1) : text);
  if (typeof value === "string") refuse(unit, value);
  return { sign: sign === "+" ? "+" : "", value };
}

/** `cat --offset/--length` values: NUM with the same multipliers (no sign). */
export function parseByteCount(text: string): bigint {
  const value = /^[0-9]/.test(text) ? parseCountValue(text) : "invalid";
  if (typeof value === "string") refuse("bytes", value);
  return value;
}
