/**
 * The client API's checks of what it is given, made before anything is
 * sent. A number its field's XDR type cannot hold (an offset below 0 or
 * past 2^64-1, a count that is not a whole uint32, a mode with more than
 * the permission bits) and a path that does not start at the pseudo-fs
 * root are the caller's mistakes: refused at once, naming the argument and
 * the path, rather than failing deep in the encoder (an `XdrError` with a
 * byte offset) or, for a relative path, being read from the root anyway.
 *
 * @example
 * ```ts
 * checkInteger("/vfs/f", "read offset", -1n, UINT64);
 * // RangeError: /vfs/f: read offset must be a non-negative integer below 2^64, got -1
 * ```
 * @module
 */

import { AUTH_SYS_MAX_GIDS } from "../rpc/auth.ts";
import { PathError, shownPath } from "./errors.ts";

/** What an argument may hold: its JavaScript type and its largest value. */
export interface IntegerRange {
  readonly type: "bigint" | "number";
  readonly max: bigint;
  /** `max` as a number, for a `number` argument (compared as the READ path runs: no conversion each time). */
  readonly maxNumber: number;
  /** How a message says the range (`a non-negative integer below 2^64`). */
  readonly text: string;
}

/** An offset, a length, a size: XDR `uint64_t` (offset4, length4). */
export const UINT64: IntegerRange = {
  type: "bigint",
  max: (1n << 64n) - 1n,
  maxNumber: Number.MAX_SAFE_INTEGER,
  text: "a non-negative integer below 2^64",
};

/** A byte count: XDR `uint32_t` (count4). */
export const UINT32: IntegerRange = {
  type: "number",
  max: 0xffff_ffffn,
  maxNumber: 0xffff_ffff,
  text: "a non-negative integer below 2^32",
};

/**
 * Permission bits: the 12 bits of `mode4` that RFC 7530 §5.8.2.15 and RFC
 * 8881 §5.8.2.15 define (set-user-ID, set-group-ID, sticky, rwx × 3).
 */
export const MODE: IntegerRange = {
  type: "number",
  max: 0o7777n,
  maxNumber: 0o7777,
  text: "an integer from 0 to 0o7777",
};

/**
 * Throws unless `value` is an integer in `range`: a `TypeError` for a
 * value of the wrong type (a number where a bigint is wanted), a
 * `RangeError` for one outside it (negative, fractional, NaN, too large).
 * The message is `PATH: WHAT must be RANGE, got VALUE`.
 */
export function checkInteger(
  path: string,
  what: string,
  value: unknown,
  range: IntegerRange,
): void {
  const type = typeof value;
  if (type !== range.type) {
    throw new TypeError(
      `${shownPath(path)}: ${what} must be a ${range.type}, got ${shown(value)} (${type})`,
    );
  }
  const fits = typeof value === "bigint"
    ? value >= 0n && value <= range.max
    : Number.isInteger(value) && (value as number) >= 0 && (value as number) <= range.maxNumber;
  if (!fits) {
    throw new RangeError(`${shownPath(path)}: ${what} must be ${range.text}, got ${shown(value)}`);
  }
}

/**
 * Throws unless `path` is a client path (lib/client/names.ts): a string
 * that starts with `/`, the pseudo-fs root. A relative one (`vfs/x`, `""`)
 * names nothing this client could resolve it from; taken from the root it
 * would act on what the caller may not have meant, and later messages
 * would name a path that is not one. {@linkcode PathError}.
 */
export function checkPath(path: unknown): void {
  if (typeof path !== "string") {
    throw new TypeError(`path must be a string, got ${shown(path)} (${typeof path})`);
  }
  if (!path.startsWith("/")) {
    throw new PathError(
      path,
      "not an absolute path (client paths start at the server's pseudo-fs root, as " +
        `${JSON.stringify(`/${path}`)})`,
    );
  }
}

function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return String(value);
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** The longest `timeoutMs`: a day, as `--timeout` takes at most 86400 s. */
export const MAX_TIMEOUT_MS = 86_400_000;

/**
 * Throws unless `options` can be connected with (Nfs4Client.connect, before
 * anything is sent): `host` a non-empty string, `port` an integer from 1
 * to 65535, `timeoutMs` (when given) a number of milliseconds from 1 to
 * {@linkcode MAX_TIMEOUT_MS}, as the CLI's `--timeout` (0.001 s to 86400
 * s: 0 would mean no limit at all), `recoveryTimeoutMs` at least 1 ms and
 * finite, the AUTH_SYS ids unsigned 32-bit integers, `version` one of the
 * choices. A `TypeError` for a value of the wrong type, a `RangeError`
 * for one outside its range; the message names the option.
 */
export function checkConnectOptions(options: {
  readonly host: unknown;
  readonly port: unknown;
  readonly version?: unknown;
  readonly timeoutMs?: unknown;
  readonly recoveryTimeoutMs?: unknown;
  readonly uid?: unknown;
  readonly gid?: unknown;
  readonly gids?: unknown;
}): void {
  if (typeof options.host !== "string") {
    throw new TypeError(
      `host must be a string, got ${shown(options.host)} (${typeof options.host})`,
    );
  }
  if (options.host === "") throw new RangeError('host must be a host name or address, got ""');
  connectNumber("port", options.port, 1, 65535, true);
  if (options.timeoutMs !== undefined) {
    connectNumber("timeoutMs", options.timeoutMs, 1, MAX_TIMEOUT_MS, false, " (0.001 s to a day)");
  }
  if (options.recoveryTimeoutMs !== undefined) {
    connectNumber(
      "recoveryTimeoutMs",
      options.recoveryTimeoutMs,
      1,
      Number.MAX_SAFE_INTEGER,
      false,
    );
  }
  if (options.uid !== undefined) connectNumber("uid", options.uid, 0, 0xffff_ffff, true);
  if (options.gid !== undefined) connectNumber("gid", options.gid, 0, 0xffff_ffff, true);
  if (options.gids !== undefined) {
    if (!Array.isArray(options.gids)) {
      throw new TypeError(`gids must be an array of group ids, got ${shown(options.gids)}`);
    }
    if (options.gids.length > AUTH_SYS_MAX_GIDS) {
      throw new RangeError(
        `gids must hold at most ${AUTH_SYS_MAX_GIDS} groups (AUTH_SYS), got ${options.gids.length}`,
      );
    }
    options.gids.forEach((g, i) => connectNumber(`gids[${i}]`, g, 0, 0xffff_ffff, true));
  }
  const version = options.version;
  if (version !== undefined && !VERSIONS.includes(version as string)) {
    throw new RangeError(
      `version must be one of ${VERSIONS.map((v) => JSON.stringify(v)).join(", ")}, got ${
        shown(version)
      }`,
    );
  }
}

const VERSIONS: readonly string[] = ["auto", "4.0", "4.1", "4.2"];

function connectNumber(
  name: string,
  value: unknown,
  min: number,
  max: number,
  integer: boolean,
  note = "",
): void {
  if (typeof value !== "number") {
    throw new TypeError(`${name} must be a number, got ${shown(value)} (${typeof value})`);
  }
  if (!(value >= min && value <= max) || (integer && !Number.isInteger(value))) {
    const what = integer ? "an integer" : "a number";
    throw new RangeError(
      `${name} must be ${what} from ${min} to ${max}${note}, got ${shown(value)}`,
    );
  }
}
