/**
 * Values as the `--json` outputs write them (`du`, `df`, `stat`): 64-bit
 * numbers as JSON numbers when exact, else as decimal strings; names and
 * paths, byte strings, as text with their exact bytes beside it when they
 * are not UTF-8.
 * @module
 */

import { Buffer } from "node:buffer";
import { displayByteString, encodeByteString, hasEscapedBytes } from "../lib/client/names.ts";

/** A 64-bit number for JSON: a number when exact, else a decimal string. */
export function jsonInteger(value: bigint): number | string {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value.toString();
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
