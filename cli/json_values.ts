/**
 * Values as every `--json` output writes them (`ls`, `stat`, `du`, `df`,
 * `info`): the same attribute has the same JSON type and shape in each, and
 * one type whatever its value, so that a script (a jq filter) needs one
 * branch, never a second for the value that happens to be large.
 *
 * 1. Identifiers are strings, always. A 64-bit number that names or
 *    versions something is compared, never added: `fileid`,
 *    `mounted_on_fileid`, `change` (RFC 7530 §5.8.1.4), `retention_hold` (a
 *    mask of holds) in decimal; `fsid` and `change_policy` (pairs of 64-bit
 *    numbers, compared as a pair) as `"major:minor"`; a cookie or a
 *    verifier, were one printed, in decimal too. A number would be exact
 *    only up to 2^53 - 1 in the many readers that parse JSON numbers as
 *    doubles (JavaScript's `JSON.parse`, jq 1.6); rounded, an identifier
 *    names another object, so no identifier is ever a number, also when it
 *    is small. The state's identifiers (clientid, session, stateid) are
 *    strings in the form `--trace` prints them (`0x` and 16 hex digits for a
 *    clientid), so that a line of renew-watch's or simulate-reboot's JSON
 *    matches the trace and tshark.
 * 2. Sizes and counts are numbers, always: `size`, `space_used`,
 *    `space_*`, `files_*`, `maxread`, `maxwrite`, `maxfilesize`, du's
 *    `bytes`, df's figures, `nlink`, a duration in its unit (`info`'s
 *    `clock.timeDeltaNs`). Above 2^53 - 1 they are still numbers, written
 *    with all their digits (JSON.rawJSON): RFC 8259 §6 allows them, Python
 *    and jq 1.7 read them exactly, a reader of doubles gets the nearest
 *    double, a relative error below 2^-53 that does not matter for a
 *    quantity. Such values are limits more than files (Ganesha's
 *    `maxfilesize` is 2^63 - 1); a decimal string for them (as before)
 *    made every script that reads `.size` handle two types for a value
 *    nearly no file reaches. util-linux's `lsblk --json` and Go's
 *    encoding/json write 64-bit counts the same way.
 * 3. A time is `{ "seconds": n, "nseconds": n }`: nfstime4 as the server
 *    sent it (RFC 7530 §3.3.1, RFC 8881 §3.3.1), seconds since the epoch
 *    (negative before 1970) and nanoseconds 0 to 999,999,999, both
 *    numbers. Chosen over an RFC 3339 string because it is exact to the
 *    nanosecond the server keeps (a millisecond string orders two writes in
 *    the same millisecond wrongly, where `ls -t` orders them right), it
 *    holds every time the protocol can carry (RFC 3339 has no year before 0
 *    or after 9999), and scripts compute with it without parsing a date (jq
 *    has no parser for fractional seconds: `fromdateiso8601` refuses
 *    them): `now - .mtime.seconds` is the age. It is also the shape `stat
 *    --json` always had. jq orders objects by their keys' names, so sort by
 *    `sort_by(.mtime.seconds, .mtime.nseconds)`, not `sort_by(.mtime)`.
 * 4. Names, paths and other byte strings are text, with their exact bytes
 *    in base64 beside it when they are not UTF-8 ({@linkcode jsonByteString}).
 * 5. What is not known is `null` (where a field is always present).
 * @module
 */

import { Buffer } from "node:buffer";
import { displayByteString, encodeByteString, hasEscapedBytes } from "../lib/client/names.ts";
import type { NfsTime } from "../lib/client/types.ts";

/**
 * An identifier for JSON (rule 1): its decimal string, whatever its size.
 *
 * @example
 * ```ts
 * jsonId(2688260n); // "2688260"
 * ```
 */
export function jsonId(value: bigint): string {
  return value.toString();
}

/**
 * A pair of 64-bit numbers that identifies something (fsid4,
 * change_policy4) for JSON: `"major:minor"` in decimal, as `info` and
 * `stat`'s text show an fsid.
 */
export function jsonPair(value: { readonly major: bigint; readonly minor: bigint }): string {
  return `${value.major}:${value.minor}`;
}

/** What `JSON.stringify` writes as the text it holds (JSON.rawJSON, ES2025). */
type RawJson = { readonly rawJSON: string };

const rawJson = (JSON as unknown as { rawJSON?: (text: string) => RawJson }).rawJSON;

/**
 * A size or a count for JSON (rule 2): a number, also above 2^53 - 1,
 * where it is a raw JSON value that `JSON.stringify` writes with all its
 * digits. (A runtime without JSON.rawJSON writes the nearest double: still
 * a number, as any reader of doubles would read it.)
 *
 * @example
 * ```ts
 * JSON.stringify({ size: jsonCount(6n) }); // '{"size":6}'
 * JSON.stringify({ max: jsonCount(2n ** 63n - 1n) }); // '{"max":9223372036854775807}'
 * ```
 */
export function jsonCount(value: bigint): number | RawJson {
  const safe = BigInt(Number.MAX_SAFE_INTEGER);
  if ((value <= safe && value >= -safe) || rawJson === undefined) return Number(value);
  return rawJson(value.toString());
}

/** {@linkcode jsonCount} of a count that may be unknown: `null` then. */
export function jsonCountOrNull(value: bigint | undefined): number | RawJson | null {
  return value === undefined ? null : jsonCount(value);
}

/** A time for JSON (rule 3). */
export interface JsonTime {
  readonly seconds: number | RawJson;
  readonly nseconds: number;
}

/**
 * An nfstime4 for JSON (rule 3): `{ seconds, nseconds }` as sent.
 *
 * @example
 * ```ts
 * jsonTime({ seconds: 1796656286n, nseconds: 750244674 }); // { seconds: 1796656286, nseconds: 750244674 }
 * ```
 */
export function jsonTime(time: NfsTime): JsonTime {
  return { seconds: jsonCount(time.seconds), nseconds: time.nseconds };
}

/**
 * Nanoseconds since the epoch as a time for JSON (rule 3): the nfstime4
 * they came from (seconds rounded down, so that nseconds is 0 to
 * 999,999,999 also before 1970).
 *
 * @example
 * ```ts
 * jsonTimeNs(-250_000_000n); // { seconds: -1, nseconds: 750000000 }
 * ```
 */
export function jsonTimeNs(ns: bigint): JsonTime {
  const billion = 1_000_000_000n;
  let seconds = ns / billion;
  let nseconds = ns % billion;
  if (nseconds < 0n) {
    seconds -= 1n;
    nseconds += billion;
  }
  return { seconds: jsonCount(seconds), nseconds: Number(nseconds) };
}

/**
 * A byte string (lib/client/names.ts) for JSON as `{ [key]: text }`; when
 * it is not UTF-8 the text shows U+FFFD for each byte that is not, and
 * `<key>_bytes` holds its bytes in base64.
 *
 * @example
 * ```ts
 * jsonByteString("path", "/vfs/caf\udce9"); // { path: "/vfs/caf\ufffd", path_bytes: "L3Zmcy9jYWbp" }
 * ```
 */
export function jsonByteString(key: string, value: string): Record<string, string> {
  if (!hasEscapedBytes(value)) return { [key]: value };
  return {
    [key]: displayByteString(value),
    [`${key}_bytes`]: Buffer.from(encodeByteString(value)).toString("base64"),
  };
}
