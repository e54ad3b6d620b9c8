/**
 * GNU coreutils `ls` as the reference for the `nfs4 ls` tests: run it on a
 * local folder, piped or on a terminal (under `script`), in the UTF-8 C
 * locale and UTC; and create files whose names are any bytes (node:fs under
 * Deno cannot: a Buffer path is decoded to text first), through libc.
 *
 * ```ts
 * createFile(`${dir}/`, [0x6c, 0xe9]);           // a file named "l\xe9"
 * const out = await coreutilsLs(["-l"], dir);    // what `ls -l` prints, as bytes
 * ```
 * @module
 */

import assert from "node:assert/strict";
import { decodeByteString, encodeByteString } from "../../lib/client/names.ts";

/** The environment both tools run in: the UTF-8 C locale, UTC. */
export const LS_ENV: Record<string, string> = { LC_ALL: "C.UTF-8", TZ: "UTC" };

/** A path or name as bytes: strings are UTF-8 (or byte strings), numbers are single bytes. */
export type ByteParts = (string | number | readonly number[] | Uint8Array)[];

/** Concatenates `parts` into bytes. */
export function bytesOf(...parts: ByteParts): Uint8Array {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === "string") out.push(...encodeByteString(part));
    else if (typeof part === "number") out.push(part);
    else out.push(...part);
  }
  return new Uint8Array(out);
}

/** The byte string (lib/client/names.ts) of `parts`: how nfs4 holds such a name. */
export function nameOf(...parts: ByteParts): string {
  return decodeByteString(bytesOf(...parts));
}

let libc:
  | Deno.DynamicLibrary<{
    open: { parameters: ["buffer", "i32", "u32"]; result: "i32" };
    write: { parameters: ["i32", "buffer", "usize"]; result: "isize" };
    close: { parameters: ["i32"]; result: "i32" };
    symlink: { parameters: ["buffer", "buffer"]; result: "i32" };
    mkdir: { parameters: ["buffer", "u32"]; result: "i32" };
    chmod: { parameters: ["buffer", "u32"]; result: "i32" };
  }>
  | undefined;

function lib() {
  libc ??= Deno.dlopen("libc.so.6", {
    open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
    write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
    close: { parameters: ["i32"], result: "i32" },
    symlink: { parameters: ["buffer", "buffer"], result: "i32" },
    mkdir: { parameters: ["buffer", "u32"], result: "i32" },
    chmod: { parameters: ["buffer", "u32"], result: "i32" },
  });
  return libc.symbols;
}

function cPath(...parts: ByteParts): Uint8Array<ArrayBuffer> {
  const path = bytesOf(...parts);
  const out = new Uint8Array(path.length + 1);
  out.set(path);
  return out;
}

const O_WRONLY = 0o1;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;

/** Creates (or truncates) the file at the byte path `path` holding `data`, with `mode`. */
export function createFile(path: ByteParts, data: Uint8Array = new Uint8Array(0), mode = 0o644) {
  const c = lib();
  const p = cPath(...path);
  const fd = c.open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
  assert.ok(fd >= 0, `open ${JSON.stringify(nameOf(...path))} failed`);
  const buffer = new Uint8Array(data);
  if (buffer.length > 0) {
    assert.equal(Number(c.write(fd, buffer, BigInt(buffer.length))), data.length);
  }
  c.close(fd);
  assert.equal(c.chmod(p, mode), 0);
}

/** Creates a symlink at the byte path `path` pointing at the bytes `target`. */
export function createSymlink(target: ByteParts, path: ByteParts): void {
  assert.equal(lib().symlink(cPath(...target), cPath(...path)), 0, "symlink");
}

/** Creates a directory at the byte path `path`. */
export function createDir(path: ByteParts, mode = 0o755): void {
  assert.equal(lib().mkdir(cPath(...path), mode), 0, "mkdir");
}

/** Quotes `arg` for sh. */
function shellWord(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * What coreutils `ls ARGS` prints in `cwd` (stdout bytes): piped, or with
 * `tty` on a terminal of `columns` columns (under script(1), whose line
 * ends `\r\n` are turned back into `\n`).
 */
export async function coreutilsLs(
  args: readonly string[],
  cwd: string,
  options: { tty?: boolean; columns?: number; env?: Record<string, string> } = {},
): Promise<Uint8Array> {
  const env = { ...LS_ENV, ...options.env };
  if (!options.tty) {
    const out = await new Deno.Command("ls", { args: [...args], cwd, env, stdout: "piped" })
      .output();
    return out.stdout;
  }
  const command = `stty cols ${options.columns ?? 80}; exec ls ${args.map(shellWord).join(" ")}`;
  const out = await new Deno.Command("script", {
    args: ["-qfc", command, "/dev/null"],
    cwd,
    env,
    stdin: "null",
    stdout: "piped",
  }).output();
  return withoutCarriageReturns(out.stdout);
}

/** `\r\n` as a terminal writes line ends, back to `\n`. */
export function withoutCarriageReturns(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0x0d && data[i + 1] === 0x0a) continue;
    out.push(data[i]!);
  }
  return new Uint8Array(out);
}

/** Splits output into lines (as byte strings), without the last newline. */
export function outputLines(data: Uint8Array): string[] {
  const text = decodeByteString(data);
  assert.ok(text === "" || text.endsWith("\n"), "output ends with a newline");
  return text === "" ? [] : text.slice(0, -1).split("\n");
}

/** Whether `script` (util-linux) and `stty` are here to give `ls` a terminal. */
export const hasScript: boolean = (() => {
  try {
    return new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();
