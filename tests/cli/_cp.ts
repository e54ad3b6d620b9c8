/**
 * Helpers for the `nfs4 cp` tests: random files with their SHA-256, hashing
 * files in constant memory, running `nfs4` with a file on stdin or as a
 * child to signal, and snapshots of local trees to compare.
 *
 * ```ts
 * const dir = await tempDir();
 * const sha = await writeRandom(`${dir}/a`, 1024);
 * const r = await nfs4(["cp", `${dir}/a`, `${server.url}/vfs/a`]);
 * assert.equal(await sha256File(`${server.exportDir}/a`), sha);
 * ```
 * @module
 */

import { Buffer } from "node:buffer";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { hasGanesha, type TestServer, withServer } from "../_server.ts";
import { ROOT } from "./_spawn.ts";

/** Sizes every direction is tested with: empty, one byte, around 1 MiB (one WRITE), 256 MiB. */
export const SIZES: readonly number[] = [0, 1, 1024 * 1024 - 1, 1024 * 1024 + 1, 256 * 1024 * 1024];

/** The minor versions the integration tests run on. */
export const VERSIONS = ["4.0", "4.1"] as const;

/**
 * Like `serverTest` (tests/_server.ts), with the test context for steps: a
 * Deno.test on a fresh Ganesha, ignored where Ganesha cannot run.
 */
export function cpServerTest(
  name: string,
  fn: (server: TestServer, t: Deno.TestContext) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: !hasGanesha,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: (t) => withServer((server) => fn(server, t)),
  });
}

/** A fresh local directory (the caller removes it). */
export async function tempDir(prefix = "nfs4-cp-test-"): Promise<string> {
  return await fs.mkdtemp(path.join(Deno.env.get("TMPDIR") ?? "/tmp", prefix));
}

/** Writes `size` random bytes to `file` in 1 MiB pieces; returns their SHA-256 (hex). */
export async function writeRandom(file: string, size: number): Promise<string> {
  const hash = createHash("sha256");
  const handle = await fs.open(file, "w");
  try {
    const piece = new Uint8Array(1024 * 1024);
    for (let done = 0; done < size;) {
      const n = Math.min(piece.length, size - done);
      const view = piece.subarray(0, n);
      for (let at = 0; at < n; at += 65536) {
        crypto.getRandomValues(view.subarray(at, Math.min(n, at + 65536)));
      }
      hash.update(view);
      await handle.write(view, 0, n);
      done += n;
    }
  } finally {
    await handle.close();
  }
  return hash.digest("hex");
}

/** SHA-256 (hex) of a file, read in 1 MiB pieces. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  const handle = await fs.open(file, "r");
  try {
    const buffer = new Uint8Array(1024 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return hash.digest("hex");
}

/** `nfs4 ...args` as a child process, stdout and stderr piped, stdin as asked. */
export function spawnNfs4(
  args: readonly string[],
  options: { stdin?: "null" | "piped" } = {},
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/main.ts", ...args],
    cwd: ROOT,
    stdin: options.stdin ?? "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
}

/** What a finished child printed and how it ended; stdout hashed, not kept. */
export interface ChildResult {
  code: number;
  signal: string | null;
  stdoutSize: number;
  stdoutSha256: string;
  stdout: string;
  stderr: string;
}

/** Waits for `child`, hashing its stdout (its text kept only while small). */
export async function finish(child: Deno.ChildProcess): Promise<ChildResult> {
  const hash = createHash("sha256");
  let size = 0;
  const small: Uint8Array[] = [];
  const drain = (async () => {
    for await (const chunk of child.stdout) {
      hash.update(chunk);
      size += chunk.length;
      if (size <= 1 << 16) small.push(chunk);
    }
  })();
  const [status, stderr] = await Promise.all([
    child.status,
    new Response(child.stderr).text(),
    drain,
  ]);
  return {
    code: status.code,
    signal: status.signal,
    stdoutSize: size,
    stdoutSha256: hash.digest("hex"),
    stdout: size <= 1 << 16 ? new TextDecoder().decode(Buffer.concat(small)) : "",
    stderr,
  };
}

/** Runs `nfs4 ...args` with the contents of `file` on its stdin. */
export async function nfs4WithStdin(args: readonly string[], file: string): Promise<ChildResult> {
  const child = spawnNfs4(args, { stdin: "piped" });
  const feed = (async () => {
    const source = await fs.open(file, "r");
    try {
      const writer = child.stdin.getWriter();
      const buffer = new Uint8Array(256 * 1024);
      for (;;) {
        const { bytesRead } = await source.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        await writer.write(buffer.slice(0, bytesRead));
      }
      await writer.close();
    } finally {
      await source.close();
    }
  })();
  const [result] = await Promise.all([finish(child), feed]);
  return result;
}

/** One entry of a local tree, as the tree tests compare it. */
export interface TreeEntry {
  kind: "file" | "directory" | "symlink" | "other";
  /** Permission bits (not for symlinks). */
  mode: number | undefined;
  /** Modification time in whole milliseconds (not for symlinks). */
  mtimeMs: number | undefined;
  size: number | undefined;
  sha256?: string;
  target?: string;
}

/** Every entry under `root` by relative path (root itself as `.`). */
export async function snapshotTree(root: string): Promise<Map<string, TreeEntry>> {
  const out = new Map<string, TreeEntry>();
  const visit = async (rel: string): Promise<void> => {
    const full = rel === "." ? root : path.join(root, rel);
    const st = await fs.lstat(full);
    if (st.isSymbolicLink()) {
      out.set(rel, {
        kind: "symlink",
        mode: undefined,
        mtimeMs: undefined,
        size: undefined,
        target: await fs.readlink(full),
      });
      return;
    }
    const common = { mode: st.mode & 0o7777, mtimeMs: Math.floor(st.mtimeMs) };
    if (st.isDirectory()) {
      out.set(rel, { kind: "directory", ...common, size: undefined });
      for (const name of (await fs.readdir(full)).sort()) {
        await visit(rel === "." ? name : path.join(rel, name));
      }
    } else if (st.isFile()) {
      out.set(rel, { kind: "file", ...common, size: st.size, sha256: await sha256File(full) });
    } else {
      out.set(rel, { kind: "other", ...common, size: undefined });
    }
  };
  await visit(".");
  return out;
}

/** Asserts two snapshots have the same entries, kinds, modes, mtimes (ms) and contents. */
export function assertSameTree(
  actual: Map<string, TreeEntry>,
  expected: Map<string, TreeEntry>,
  options: { mtimes?: boolean; rootAttrs?: boolean } = {},
): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), "the same entries");
  for (const [rel, want] of expected) {
    const got = actual.get(rel)!;
    if (rel === "." && options.rootAttrs === false) continue;
    assert.equal(got.kind, want.kind, `${rel}: kind`);
    assert.equal(got.target, want.target, `${rel}: symlink target`);
    assert.equal(got.size, want.size, `${rel}: size`);
    assert.equal(got.sha256, want.sha256, `${rel}: contents`);
    if (want.kind !== "symlink") {
      assert.equal(got.mode?.toString(8), want.mode?.toString(8), `${rel}: mode`);
      if (options.mtimes !== false) assert.equal(got.mtimeMs, want.mtimeMs, `${rel}: mtime`);
    }
  }
}

/** Names in `dir` that look like a copy's temporaries (`.NAME.nfs4-XXXXXX`). */
export async function temporaries(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((name) => /^\..*\.nfs4-[A-Za-z0-9]{6}$/.test(name));
}

/** Polls `check` every 10 ms until it returns a value other than undefined. */
export async function waitFor<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The size of the first temporary in `dir`, once there is one of at least `minSize` bytes. */
export function temporaryOfSize(dir: string, minSize: number): Promise<string> {
  return waitFor(
    async () => {
      for (const name of await temporaries(dir)) {
        const st = await fs.stat(path.join(dir, name)).catch(() => undefined);
        if (st && st.size >= minSize) return name;
      }
      return undefined;
    },
    60_000,
    `a temporary of ${minSize} bytes in ${dir}`,
  );
}
