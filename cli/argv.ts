/**
 * The command line as the exact bytes the user typed.
 *
 * `Deno.args` and `process.argv` (Deno and Bun alike) decode each argument
 * as UTF-8 and put U+FFFD for bytes that are not UTF-8, so a local name like
 * `$'lat\xe9in1'` would reach the commands as another name (`lat\ufffdin1`,
 * which does not exist). On Linux `/proc/self/cmdline` holds the arguments
 * as bytes, NUL-separated, the program's own arguments last. Each argument
 * the runtime decoded lossily is replaced by the same argument from there,
 * decoded as a byte string (lib/client/names.ts: bytes that are not UTF-8
 * kept as escapes), but only when decoding those bytes lossily gives exactly
 * the runtime's string, so an argument is never swapped for another.
 * Elsewhere, or when /proc cannot be read, the arguments stay as given.
 * @module
 */

import { readFileSync } from "node:fs";
import { decodeByteString } from "../lib/client/names.ts";
import { splitNul } from "../lib/os/libc.ts";

const lossy = new TextDecoder("utf-8");

/**
 * `argv` (the program's arguments, without runtime and script) with every
 * argument that held bytes that are not UTF-8 recovered from `cmdline`
 * (the contents of /proc/self/cmdline, read when not given).
 *
 * @example
 * ```ts
 * const cmdline = new Uint8Array([0x6e, 0, 0x6c, 0xe9, 0]); // "n", "l\xe9"
 * exactArgv(["l\ufffd"], cmdline); // ["l\udce9"]
 * ```
 */
export function exactArgv(argv: readonly string[], cmdline?: Uint8Array): string[] {
  if (!argv.some((arg) => arg.includes("\ufffd"))) return [...argv];
  const bytes = cmdline ?? readCmdline();
  if (!bytes) return [...argv];
  const entries = splitNul(bytes);
  if (entries.length < argv.length) return [...argv];
  const tail = entries.slice(entries.length - argv.length);
  return argv.map((arg, i) => {
    const raw = tail[i]!;
    return arg.includes("\ufffd") && lossy.decode(raw) === arg ? decodeByteString(raw) : arg;
  });
}

function readCmdline(): Uint8Array | undefined {
  try {
    return new Uint8Array(readFileSync("/proc/self/cmdline"));
  } catch {
    return undefined;
  }
}
