/**
 * The tree the `nfs4 find` and `nfs4 du` tests compare with GNU findutils
 * and coreutils: files of sizes around the units' edges, a sparse file,
 * times from the future to ten days old, every kind of file (fifo, socket,
 * a character device where the machine lets us make one), hard links
 * within and across directories, symlinks (to a file, to a directory,
 * dangling), nested and empty directories, and names with spaces, UTF-8,
 * a byte that is not UTF-8, `%41`, `*` and `[`. Also the helpers that turn
 * both tools' output into the same relative paths, and a small pool to run
 * commands side by side.
 *
 * ```ts
 * const root = `${server.exportDir}/t1`;
 * await buildTree(root);
 * const gnu = await gnuFind(root, ["-type", "f"]);
 * ```
 * @module
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { decodeByteString, encodeByteString } from "../../lib/client/names.ts";
import { parseNfsUrl } from "../../lib/client/url.ts";
import type { TestServer } from "../_server.ts";
import { createFile } from "./_coreutils.ts";
import { VERSIONS } from "./_cp.ts";

/** A name that is not UTF-8: `lat\xe9in1` (Latin-1 é). */
export const LATIN1_NAME = decodeByteString(
  new Uint8Array([0x6c, 0x61, 0x74, 0xe9, 0x69, 0x6e, 0x31]),
);

const DAY = 86400;

/** Seconds since the epoch, now. */
function nowSeconds(): number {
  return Date.now() / 1000;
}

/** A unix socket at `path` (bound, then closed: the file stays), through libc. */
function makeSocket(path: string): void {
  const lib = Deno.dlopen("libc.so.6", {
    socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
    bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
    close: { parameters: ["i32"], result: "i32" },
  });
  try {
    const fd = lib.symbols.socket(1, /* AF_UNIX */ 1, /* SOCK_STREAM */ 0);
    assert.ok(fd >= 0, "socket");
    const address = new Uint8Array(110);
    new DataView(address.buffer).setUint16(0, 1, true); // sun_family = AF_UNIX
    const bytes = new TextEncoder().encode(path);
    assert.ok(bytes.length < 108, "socket path too long");
    address.set(bytes, 2);
    assert.equal(lib.symbols.bind(fd, address, address.length), 0, "bind");
    lib.symbols.close(fd);
  } finally {
    lib.close();
  }
}

async function run(command: string, args: string[]): Promise<boolean> {
  const out = await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output();
  return out.success;
}

async function writeBytes(path: string, size: number, fill = 0x61): Promise<void> {
  await Deno.writeFile(path, new Uint8Array(size).fill(fill));
}

async function setTime(path: string, secondsAgo: number): Promise<void> {
  const t = nowSeconds() - secondsAgo;
  await Deno.utime(path, t, t);
}

/**
 * Builds the tree at `root` (which must not exist). Everything is made
 * before any NFS client looks at it (Ganesha caches directory contents).
 */
export async function buildTree(root: string): Promise<void> {
  await fs.mkdir(root);
  const dirs = ["a b", "sub", "sub/deep", "sub/deep/deeper", "emptydir", "plain"];
  for (const d of dirs) await fs.mkdir(`${root}/${d}`);
  const files: [string, number][] = [
    ["empty.txt", 0],
    ["one.txt", 1],
    ["half", 511],
    ["block", 512],
    ["block1", 513],
    ["kib", 1024],
    ["kib1", 1025],
    ["a b/c d.txt", 100],
    ["sub/deep/deeper/leaf.c", 2000],
    ["sub/deep/x.C", 3],
    ["sub/%41", 5],
    ["sub/hard1", 4000],
    ["café", 7],
    ["star*", 8],
    ["[br]", 9],
    ["plain/inner.txt", 10],
    ["ref", 20],
  ];
  for (const [name, size] of files) await writeBytes(`${root}/${name}`, size);
  // A megabyte and a bit (data), and a sparse file: 10 MiB with 4 KiB written.
  await writeBytes(`${root}/big.bin`, 1024 * 1024 + 1, 0x5a);
  const sparse = await Deno.open(`${root}/sparse`, { write: true, create: true });
  await sparse.truncate(10 * 1024 * 1024);
  await sparse.seek(5 * 1024 * 1024, Deno.SeekMode.Start);
  await sparse.write(new Uint8Array(4096).fill(1));
  sparse.close();
  createFile([`${root}/`, LATIN1_NAME], new Uint8Array(6).fill(0x62));
  // Hard links: in the same directory, and across directories.
  await Deno.link(`${root}/sub/hard1`, `${root}/sub/hard2`);
  await Deno.link(`${root}/sub/hard1`, `${root}/hardtop`);
  await Deno.symlink("one.txt", `${root}/link-to-file`);
  await Deno.symlink("sub", `${root}/link-to-dir`);
  await Deno.symlink("nowhere", `${root}/dangling`);
  assert.ok(await run("mkfifo", [`${root}/fifo`]), "mkfifo");
  makeSocket(`${root}/sock`);
  // A character device (the null device's numbers) where we may make one.
  await run("mknod", [`${root}/cdev`, "c", "1", "3"]);
  // Times, files first, directories last (their entries changed them).
  const ages: [string, number][] = [
    ["one.txt", 1800], // half an hour
    ["half", 1.5 * DAY],
    ["block", 3.5 * DAY],
    ["block1", 10 * DAY],
    ["kib", -DAY], // the future
    ["kib1", 0.25 * DAY],
    ["ref", 2 * DAY],
    ["a b/c d.txt", 5.5 * DAY],
    ["sub/deep/deeper/leaf.c", 20 * DAY],
    ["big.bin", 2.5 * DAY],
    ["sub/deep/deeper", 4.5 * DAY],
    ["sub/deep", 1.2 * DAY],
    ["emptydir", 7.5 * DAY],
  ];
  for (const [name, age] of ages) await setTime(`${root}/${name}`, age);
}

/** The environment both tools run in: bytes, not characters (fnmatch in the C locale). */
export const C_ENV: Record<string, string> = { LC_ALL: "C", TZ: "UTC" };

/** What a GNU tool printed. */
export interface ToolResult {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

/** Runs `command args` (optionally as uid/gid 1000, through setpriv) in the C locale. */
export async function tool(
  command: string,
  args: readonly string[],
  options: { asUser?: boolean; cwd?: string } = {},
): Promise<ToolResult> {
  const argv = options.asUser
    ? ["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", command, ...args]
    : [command, ...args];
  const out = await new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    env: C_ENV,
    stdout: "piped",
    stderr: "piped",
    ...(options.cwd ? { cwd: options.cwd } : {}),
  }).output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

/** Splits output at `separator` (newline or NUL) into byte strings, without the last separator. */
export function records(data: Uint8Array, separator: "\n" | "\0" = "\n"): string[] {
  const text = decodeByteString(data);
  if (text === "") return [];
  assert.ok(text.endsWith(separator), `output ends with ${JSON.stringify(separator)}`);
  return text.slice(0, -1).split(separator);
}

/** A GNU path under `root` as the part after it (`""` for root itself, else `/a/b`). */
export function relativeLocal(root: string, path: string): string {
  assert.ok(
    path === root || path.startsWith(`${root}/`),
    `${JSON.stringify(path)} is under ${root}`,
  );
  return path.slice(root.length);
}

/**
 * An nfs4 URL printed for an entry below the URL `start`, as the relative
 * path of its decoded names (`/a b/lat\xe9in1`). The line must parse back
 * (parseNfsUrl) to exactly those names: that is what makes it safe to pass
 * back to nfs4.
 */
export function relativeUrl(start: string, line: string): string {
  if (line === start) return "";
  const prefix = start.replace(/\/+$/, "");
  assert.ok(line.startsWith(`${prefix}/`), `${JSON.stringify(line)} starts with ${prefix}/`);
  const base = parseNfsUrl(start).components;
  const parsed = parseNfsUrl(line);
  assert.deepEqual(parsed.components.slice(0, base.length), [...base], line);
  // The text after the start is percent-encoded names, so '/' only separates
  // them (a trailing one, on an operand as typed, names a directory).
  const names = parsed.components.slice(base.length);
  const words = line.slice(prefix.length + 1).replace(/\/+$/, "").split("/");
  assert.equal(names.length, words.length, line);
  return names.map((name) => `/${name}`).join("");
}

/** Runs `tasks` at most `limit` at a time, in order of their results. */
export async function pool<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/**
 * A table of rows over the sample tree ({@linkcode buildTree}) in the
 * export, on 4.0 and 4.1: `compare` runs one row against GNU's tool (three
 * at a time) and returns nfs4's stderr, which must be empty.
 */
export async function compareTable<Row>(
  server: TestServer,
  rows: readonly Row[],
  compare: (root: string, url: string, version: string, row: Row) => Promise<{ stderr: string }>,
  label: (row: Row) => string,
): Promise<{ root: string; url: string }> {
  const root = `${server.exportDir}/tree`;
  await buildTree(root);
  const url = `${server.url}/vfs/tree`;
  for (const version of VERSIONS) {
    await pool(
      3,
      rows.map((row) => async () => {
        const { stderr } = await compare(root, url, version, row);
        assert.equal(stderr, "", `${label(row)} (${version}): stderr`);
      }),
    );
  }
  return { root, url };
}

/** Asserts each path in `paths` (relative, in output order) comes after everything below it. */
export function assertPostOrder(paths: readonly string[], what: string): void {
  const index = new Map(paths.map((p, i) => [p, i]));
  for (const [path, i] of index) {
    const parent = path === "" ? undefined : path.slice(0, path.lastIndexOf("/"));
    if (parent === undefined) continue;
    const at = index.get(parent);
    if (at !== undefined) assert.ok(at > i, `${what}: ${parent || "."} after ${path}`);
  }
}

/** `bytes` of a byte string, for messages. */
export function show(paths: Iterable<string>): string[] {
  return [...paths].map((p) => JSON.stringify(p)).sort();
}

export { encodeByteString };
