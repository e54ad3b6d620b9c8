/**
 * What the head, tail and cat-range tests share: the files they print
 * (empty, without a final newline, only newlines, long lines, 1 MiB + 1 of
 * random text lines, binary), GNU coreutils run on the same files in the
 * export's folder, and the comparison of its output with nfs4's, byte for
 * byte once the `==> URL <==` headers name the files as GNU's do.
 */

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs/promises";
import type { TestServer } from "../_server.ts";
import { exclusiveOpenStatus, nfs4, type Result } from "./_spawn.ts";

const MiB = 1 << 20;

/** Random printable lines of 0 to 120 bytes until exactly `size` bytes (no final newline maybe). */
function randomLines(size: number): Uint8Array {
  const out = new Uint8Array(size);
  const random = new Uint8Array(randomBytes(size));
  let at = 0;
  let left = 0;
  for (let i = 0; i < size; i++) {
    if (left === 0) {
      left = random[i]! % 121;
      if (at > 0) {
        out[at++] = 0x0a;
        continue;
      }
    }
    out[at++] = 0x20 + (random[i]! % 95);
    left--;
  }
  return out;
}

/** `count` lines of `length` bytes, and a last one of `tail` bytes without its newline. */
function longLines(count: number, length: number, tail: number): Uint8Array {
  const out = new Uint8Array(count * length + tail).fill(0x6c);
  for (let i = 1; i <= count; i++) out[i * length - 1] = 0x0a;
  return out;
}

/** Random bytes (newlines and NULs among them). */
function binary(size: number): Uint8Array {
  return new Uint8Array(randomBytes(size));
}

/** The files every table row prints, by name, in this order. */
export function makeFiles(): [string, Uint8Array][] {
  const enc = new TextEncoder();
  return [
    ["empty", new Uint8Array()],
    ["nonl", enc.encode("first line\nsecond line\nthird, without its newline")],
    ["newlines", enc.encode("\n\n\n\n\n\n\n")],
    ["long", longLines(4, 700 * 1024, 100 * 1024)],
    ["text", randomLines(MiB + 1)],
    ["binary", binary(300 * 1024)],
  ];
}

/** Writes `files` into `dir`. */
export async function writeFiles(dir: string, files: [string, Uint8Array][]): Promise<void> {
  for (const [name, data] of files) await fs.writeFile(`${dir}/${name}`, data);
}

/** What GNU coreutils printed. */
export interface GnuResult {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

/** Runs a coreutils command in `cwd` (names relative to it, as headers show them). */
export async function gnu(command: string, args: string[], cwd: string): Promise<GnuResult> {
  const out = await new Deno.Command(command, {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { LC_ALL: "C" },
  }).output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

/** Bytes as a string of the same length (one char per byte), for exact comparisons. */
export function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return s;
}

/**
 * Asserts nfs4's stdout is GNU's, byte for byte, after `==> BASE/NAME <==`
 * became `==> NAME <==` (BASE: the export's URL), and the same exit code.
 */
export function assertSameOutput(ours: Result, theirs: GnuResult, base: string, what: string) {
  const mine = latin1(ours.bytes).replaceAll(`==> ${base}/`, "==> ");
  const gnuOut = latin1(theirs.stdout);
  if (mine !== gnuOut) {
    const at = [...mine].findIndex((c, i) => c !== gnuOut[i]);
    assert.fail(
      `${what}: stdout differs from GNU's at byte ${
        at < 0 ? Math.min(mine.length, gnuOut.length) : at
      }` +
        ` (nfs4 ${mine.length} bytes, GNU ${gnuOut.length}); nfs4 stderr: ${ours.stderr}`,
    );
  }
  assert.equal(ours.code, theirs.code === 0 ? 0 : 1, `${what}: exit code; ${ours.stderr}`);
}

/**
 * The table both `head` and `tail` are held to, on 4.0 and 4.1: each of
 * `rows` run on every file of {@linkcode makeFiles} at once (headers) and
 * each of `single` on one file, as `nfs4 COMMAND` and as GNU's, outputs
 * compared byte for byte; nothing left open on the server afterwards.
 */
export async function compareWithGnu(
  server: TestServer,
  command: "head" | "tail",
  rows: readonly string[][],
  single: readonly [string[], string][],
): Promise<void> {
  const dir = server.exportDir;
  const files = makeFiles();
  await writeFiles(dir, files);
  const names = files.map(([name]) => name);
  const base = `${server.url}/vfs`;
  for (const vers of ["4.0", "4.1"] as const) {
    await inBatches(rows, 4, async (args) => {
      const what = `${command} ${args.join(" ")} (${vers})`;
      const ours = await nfs4([
        command,
        "--vers",
        vers,
        ...args,
        ...names.map((n) => `${base}/${n}`),
      ]);
      assertSameOutput(ours, await gnu(command, [...args, ...names], dir), base, what);
      assert.equal(ours.stderr, "", what);
    });
    await inBatches(single, 4, async ([args, name]) => {
      const what = `${command} ${args.join(" ")} ${name} (${vers})`;
      const ours = await nfs4([command, "--vers", vers, ...args, `${base}/${name}`]);
      assertSameOutput(ours, await gnu(command, [...args, name], dir), base, what);
    });
    for (const [name] of files) {
      assert.equal(await exclusiveOpenStatus(server, vers, `/vfs/${name}`), "NFS4_OK", name);
    }
  }
}

/**
 * The failures both `head` and `tail` must report as GNU's do, in the
 * export's folder `dir` (URL `base`) holding `a` (a file), `d` (a
 * directory) and `secret` (0600, root's): a missing file and a directory
 * among files (headers and exit 1 as GNU's, one line each), `a/`, and
 * `secret` for `--uid 1000`.
 */
export async function assertFailuresAsGnu(
  command: "head" | "tail",
  vers: string,
  dir: string,
  base: string,
): Promise<void> {
  // GNU: no header for a file it cannot open, a header for a directory, exit 1.
  const names = ["a", "nope", "d", "a"];
  const ours = await nfs4([
    command,
    "--vers",
    vers,
    "-n",
    "1",
    ...names.map((n) => `${base}/${n}`),
  ]);
  assertSameOutput(ours, await gnu(command, ["-n", "1", ...names], dir), base, `errors (${vers})`);
  assert.deepEqual(ours.stderr.trimEnd().split("\n"), [
    `nfs4: ${base}/nope: No such file or directory (NFS4ERR_NOENT)`,
    `nfs4: ${base}/d: Is a directory (NFS4ERR_ISDIR)`,
  ]);

  const slash = await nfs4([command, "--vers", vers, `${base}/a/`]);
  assert.equal(slash.code, 1);
  assert.equal(slash.stderr, `nfs4: ${base}/a/: Not a directory (NFS4ERR_NOTDIR)\n`);

  const denied = await nfs4([
    command,
    "--vers",
    vers,
    "--uid",
    "1000",
    "--gid",
    "1000",
    `${base}/secret`,
  ]);
  assert.equal(denied.code, 1, denied.stderr);
  assert.equal(denied.stdout, "");
  assert.equal(denied.stderr, `nfs4: ${base}/secret: Permission denied (NFS4ERR_ACCESS)\n`);
}

/**
 * Each of `rows` (options with a bad count) is a usage error: exit 2, one
 * line matching `message`, nothing on stdout; GNU's `command` refuses it
 * too (on `dir/a`).
 */
export async function assertBadCountsRefused(
  command: "head" | "tail",
  rows: readonly string[][],
  message: RegExp,
  dir: string,
  base: string,
): Promise<void> {
  for (const args of rows) {
    const what = `${command} ${args.join(" ")}`;
    const ours = await nfs4([command, ...args, `${base}/a`]);
    assert.equal(ours.code, 2, `${what}: ${ours.stderr}`);
    assert.equal(ours.stdout, "", what);
    assert.equal(ours.stderr.trimEnd().split("\n").length, 1, `${what}: one line`);
    assert.match(ours.stderr, message, what);
    assert.notEqual((await gnu(command, [...args, "a"], dir)).code, 0, `${what}: GNU refuses it`);
  }
}

/** Runs `fn` on each of `items`, `width` at a time (spawned commands in parallel, bounded). */
export async function inBatches<T>(
  items: readonly T[],
  width: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < items.length; i += width) {
    await Promise.all(items.slice(i, i + width).map(fn));
  }
}

/**
 * Bytes READ from the server, from `--trace=json,ops` lines: each READ in
 * a COMPOUND, and the runs of READs the trace sums up.
 */
export function bytesRead(traceLines: string): number {
  let total = 0;
  for (const line of traceLines.split("\n")) {
    if (!line.startsWith("{")) continue;
    const event = JSON.parse(line) as {
      cat?: string;
      summary?: boolean;
      op?: string;
      bytes?: number;
      ops?: { op: string; bytes?: number }[];
    };
    if (event.cat !== "ops") continue;
    if (event.summary) {
      if (event.op === "READ") total += event.bytes ?? 0;
      continue;
    }
    for (const op of event.ops ?? []) if (op.op === "READ") total += op.bytes ?? 0;
  }
  return total;
}

/** A command left running, whose output is gathered as it comes. */
export class Running {
  readonly child: Deno.ChildProcess;
  stdout = new Uint8Array();
  stderr = "";
  readonly #done: Promise<void>;

  constructor(command: string, args: string[], cwd: string) {
    const child = new Deno.Command(command, {
      args,
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", LC_ALL: "C" },
    }).spawn();
    this.child = child;
    const out = (async () => {
      for await (const chunk of child.stdout) {
        const next = new Uint8Array(this.stdout.length + chunk.length);
        next.set(this.stdout);
        next.set(chunk, this.stdout.length);
        this.stdout = next;
      }
    })();
    const err = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.stderr += chunk;
      }
    })();
    this.#done = Promise.all([out, err]).then(() => {});
  }

  /** Waits until `ok()` holds (checked every 50 ms), failing after `ms`. */
  async until(ok: () => boolean, what: string, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > deadline) {
        assert.fail(
          `${what}: not within ${ms} ms; stdout ${JSON.stringify(latin1(this.stdout))}, stderr ${
            JSON.stringify(this.stderr)
          }`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends `signal` and waits for the exit: its code and how long it took. */
  async stop(signal: Deno.Signal): Promise<{ code: number; ms: number }> {
    const started = performance.now();
    this.child.kill(signal);
    const status = await this.child.status;
    await this.#done;
    return { code: status.code, ms: performance.now() - started };
  }
}
