/**
 * Helpers for the issue-14 acceptance tests that run `nfs4` through the
 * fault proxy (tests/_fault_proxy.ts): a proxy whose log is kept and shown
 * only when a run fails, the run count and base seed from the environment,
 * `nfs4` as a child that is compared byte by byte against what it should
 * print, timed and signalled, and the checks every such test makes.
 *
 * Environment:
 * - `NFS4_FAULT_RUNS`: seeded runs per test (default 50);
 * - `NFS4_FAULT_SEED`: the first seed (default: a fresh one, printed); run
 *   `i` uses seed `NFS4_FAULT_SEED + i`, so a failing seed S is repeated with
 *   `NFS4_FAULT_SEED=S NFS4_FAULT_RUNS=1`;
 * - `NFS4_FAULT_MIB`: the size of the file the seeded runs copy (default 64);
 * - `NFS4_FAULT_KNOWN_BUGS=1`: also run the cases ignored for a known bug.
 *
 * ```ts
 * await using f = await startProxy(server);
 * const r = await runNfs4(["cat", `${f.proxy.url}/vfs/f`], { expect: data });
 * f.proxy.assertSlotSeqidsUnique();
 * ```
 * @module
 */

import { Buffer } from "node:buffer";
import assert from "node:assert/strict";
import { freshSeed } from "../_fault_proxy_wire.ts";
import { FaultProxy, type FaultProxyOptions } from "../_fault_proxy.ts";
import type { TestServer } from "../_server.ts";
import { messageLines, ROOT } from "./_spawn.ts";

/** The minor versions every fault test runs on. */
export const VERSIONS = ["4.0", "4.1"] as const;
export type Version = (typeof VERSIONS)[number];

const MiB = 1024 * 1024;

function envNumber(name: string, fallback: number): number {
  const text = Deno.env.get(name);
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name}=${text}: not a number`);
  return value;
}

/** Seeded runs per test: `NFS4_FAULT_RUNS`, default 50 (as issue 14 asks). */
export const FAULT_RUNS: number = Math.floor(envNumber("NFS4_FAULT_RUNS", 50));

/** Bytes of the file the seeded runs copy: `NFS4_FAULT_MIB` MiB, default 64. */
export const FAULT_FILE_SIZE: number = Math.round(envNumber("NFS4_FAULT_MIB", 64) * MiB);

/** Run the cases marked as known bugs too (`NFS4_FAULT_KNOWN_BUGS=1`): they are ignored otherwise. */
export const RUN_KNOWN_BUGS: boolean = Deno.env.get("NFS4_FAULT_KNOWN_BUGS") === "1";

/** The seed of run 0: `NFS4_FAULT_SEED`, or a fresh one. */
export const FAULT_BASE_SEED: number = envNumber("NFS4_FAULT_SEED", freshSeed()) >>> 0;

/** A proxy in front of `server`, its log lines kept in `logs` (printed by {@linkcode ProxyFixture.dump}). */
export interface ProxyFixture extends AsyncDisposable {
  readonly proxy: FaultProxy;
  readonly logs: string[];
  /** `${proxy.url}/vfs`. */
  readonly vfs: string;
  /** Prints the kept log lines (from `from` on) to stderr, for a failure. */
  dump(from?: number): void;
}

/** Starts a {@linkcode FaultProxy} in front of `server`, keeping its log. */
export async function startProxy(
  server: TestServer,
  options: Partial<FaultProxyOptions> = {},
): Promise<ProxyFixture> {
  const logs: string[] = [];
  const proxy = await FaultProxy.start({
    target: { host: server.host, port: server.port },
    log: (line) => logs.push(line),
    ...options,
  });
  return {
    proxy,
    logs,
    vfs: `${proxy.url}/vfs`,
    dump(from = 0) {
      for (const line of logs.slice(from)) console.error(line);
    },
    [Symbol.asyncDispose]: () => proxy.close(),
  };
}

/** How one `nfs4` child ended, with its stdout compared or hashed. */
export interface RunResult {
  code: number;
  signal: Deno.Signal | null;
  stderr: string;
  /** Bytes written to stdout. */
  size: number;
  /** stdout as text, when it was at most 64 KiB. */
  stdout: string;
  /** With `expect`: the offset of the first byte that differed from it, if one did. */
  firstMismatch: number | undefined;
  /** Milliseconds from spawn to exit. */
  ms: number;
  /** Milliseconds from the signal (`signalAfterMs`) to exit. */
  msAfterSignal: number | undefined;
  /** It was still running at `killAfterMs` and was killed. */
  killed: boolean;
}

/** Options of {@linkcode runNfs4}. */
export interface RunOptions {
  /** What stdout must be, byte for byte (compared as it arrives; a prefix when it stops early). */
  readonly expect?: Uint8Array;
  /** Sends `signal` this long after the spawn. */
  readonly signalAfterMs?: number;
  /** Default SIGTERM. */
  readonly signal?: Deno.Signal;
  /** Sends `signal` when this resolves (instead of after a time). */
  readonly signalWhen?: Promise<unknown>;
  /** SIGKILLs a child still running this long after the spawn (default 180 s). */
  readonly killAfterMs?: number;
}

/**
 * Runs `nfs4 ...args` (`deno run -A cli/main.ts`) as a child. Its stdout is
 * compared against `expect` as it arrives (nothing is kept but 64 KiB), it
 * may be signalled, and it is killed when it outlives `killAfterMs` (a run
 * that hangs fails its test instead of the suite).
 */
export async function runNfs4(
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/main.ts", ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const expect = options.expect;
  let size = 0;
  let firstMismatch: number | undefined;
  const small: Uint8Array[] = [];
  const drain = (async () => {
    for await (const chunk of child.stdout) {
      if (expect && firstMismatch === undefined) {
        for (let i = 0; i < chunk.length; i++) {
          if (size + i >= expect.length || chunk[i] !== expect[size + i]) {
            firstMismatch = size + i;
            break;
          }
        }
      }
      size += chunk.length;
      if (size <= 1 << 16) small.push(chunk);
    }
  })();
  let exited = false;
  let signalledAt: number | undefined;
  let killed = false;
  const timers: ReturnType<typeof setTimeout>[] = [];
  const signal = () => {
    if (exited) return;
    signalledAt = performance.now();
    try {
      child.kill(options.signal ?? "SIGTERM");
    } catch { /* it just exited */ }
  };
  if (options.signalAfterMs !== undefined) timers.push(setTimeout(signal, options.signalAfterMs));
  options.signalWhen?.then(signal, () => {});
  timers.push(setTimeout(() => {
    if (exited) return;
    killed = true;
    try {
      child.kill("SIGKILL");
    } catch { /* it just exited */ }
  }, options.killAfterMs ?? 180_000));
  try {
    const [status, stderr] = await Promise.all([
      child.status.then((s) => {
        exited = true;
        return s;
      }),
      new Response(child.stderr).text(),
      drain,
    ]);
    const ended = performance.now();
    const stdout = size <= 1 << 16 ? new TextDecoder().decode(Buffer.concat(small)) : "";
    return {
      code: status.code,
      signal: status.signal,
      stderr,
      size,
      stdout,
      firstMismatch,
      ms: ended - started,
      msAfterSignal: signalledAt === undefined ? undefined : ended - signalledAt,
      killed,
    };
  } finally {
    for (const timer of timers) clearTimeout(timer);
  }
}

/**
 * Asserts `stderr` holds exactly one message line (trace lines apart), that
 * it starts `nfs4: ` and names the server of the URL (`127.0.0.1:PORT`, as
 * typed), and returns it.
 */
export function assertOneLineNamingServer(stderr: string, port: number, what: string): string {
  const lines = messageLines(stderr).filter((line) => !line.startsWith("fault-proxy "));
  assert.equal(lines.length, 1, `${what}: one message line, got:\n${stderr}`);
  const line = lines[0]!;
  assert.match(line, /^nfs4: /, `${what}: ${line}`);
  assert.ok(line.includes(`127.0.0.1:${port}`), `${what}: the message names the server: ${line}`);
  return line;
}

/** Random bytes, filled 64 KiB at a time. */
export function randomBytes(size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) {
    crypto.getRandomValues(data.subarray(at, Math.min(size, at + 65536)));
  }
  return data;
}

/** Waits until `condition()` holds, polling every 5 ms; fails after `ms`. */
export async function until(condition: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Seconds with one decimal, for the figures the tests print. */
export function secs(ms: number): string {
  return (ms / 1000).toFixed(1);
}
