/**
 * `deno task bench`: CPU time, speed and peak memory of `nfs4` next to
 * libnfs (and, where libnfs has no such tool, next to the local command on
 * the directory behind the export), against NFS-Ganesha on loopback.
 *
 * It starts a Ganesha of its own (scripts/test_server.ts), makes a file of
 * random data (1 GiB by default), and runs each case several times,
 * interleaving nfs4 and the other tool so that both see the same machine:
 * a copy from the server to a local file (`nfs4 cp` / `nfs-cp`), `cat` of it
 * to /dev/null (`nfs4 cat` / `nfs-cat`) and a copy to the server, on NFSv4.1
 * and 4.0 (libnfs speaks 4.0); then the many-files and start-up rows of
 * scripts/bench_files.ts. Each run is timed from spawn to exit (start-up
 * included, for both tools); its peak RSS and the CPU time it used (user +
 * system, all threads) come from GNU time, the server's CPU time during it
 * from /proc. CPU time is the steadier figure on a busy machine: wall time
 * also counts the server and whatever else runs. It prints a table of
 * medians, the targets of issue 19 and the CPU-bound ceiling of each read,
 * with the machine and its load average, and writes everything to
 * bench/results.json.
 *
 * nfs4 runs as the single binary (built with Bun, scripts/build.ts) and, for
 * the 1 GiB rows, also from its sources under Deno (`deno run`, rows marked
 * so): the two runtimes move bytes at different costs (Bun's sockets copy
 * each chunk once more), and both are what users run.
 *
 * To add a row (an `ls` or `cat` benchmark, say), add a {@linkcode BenchCase}
 * to {@linkcode CASES}: a title, the bytes it moves (for MB/s), the command
 * for nfs4 and, when libnfs has one, for libnfs; `prepare` runs before every
 * run (remove an output), `verify` after the first (check the output).
 *
 * ```
 * deno task bench                       # 1 GiB, 3 runs of each
 * deno task bench --quick               # 256 MiB, 3 runs: a first look
 * deno task bench --size 256MiB --runs 5 --cases read-4.1,cat-4.1,write-4.1
 * deno task bench --runtimes binary     # only the single binary
 * deno task bench --nfs4 dist/nfs4      # this command instead of both runtimes
 * ```
 *
 * Only `node:` APIs are used, as in the rest of scripts/.
 * @module
 */

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { startTestServer, type TestServer } from "./test_server.ts";
import { FILE_CASES } from "./bench_files.ts";
import { build } from "./build.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** What every case's commands are built from. */
export interface BenchContext {
  readonly server: TestServer;
  /**
   * A second Ganesha exporting the same directory with its default
   * attribute cache (Attr_Expiration_Time 60 instead of 0), for the rows
   * marked `server: "caching"`; started only when such a row runs.
   */
  readonly cachingServer?: TestServer | undefined;
  /** The command that runs nfs4 (`deno run -A cli/main.ts` or a binary). */
  readonly nfs4: readonly string[];
  /** A local directory for inputs and outputs (tmpfs when there is one). */
  readonly localDir: string;
  /** The local directory behind the server's `/vfs` export. */
  readonly exportDir: string;
  /** Size of the test file in bytes, and its name in both places. */
  readonly size: number;
  readonly file: string;
  /** SHA-256 of the test file. */
  readonly sha256: string;
}

/** One row of the table: the same job done by nfs4 and, when it can, by libnfs. */
export interface BenchCase {
  readonly id: string;
  readonly title: string;
  /** Bytes moved by one run (throughput is bytes / wall seconds). */
  bytes(ctx: BenchContext): number;
  ours(ctx: BenchContext): string[];
  theirs?(ctx: BenchContext): string[];
  /** Before every run of either tool (e.g. remove the previous output). */
  prepare?(ctx: BenchContext, tool: Tool): Promise<void>;
  /** After the first run of each tool: throws when the result is wrong. */
  verify?(ctx: BenchContext, tool: Tool): Promise<void>;
  /**
   * What the row measures, for the targets: a 1 GiB `cp` to a local file
   * ("read"), `cat` to /dev/null ("cat"), an upload ("write"); others are
   * judged by id (see {@linkcode evaluateTargets}).
   */
  readonly kind?: DataKind;
  /** What the other column runs, when not libnfs (e.g. "local ls -l"). */
  readonly theirsName?: string;
  /** Files one run handles (files per second are printed). */
  readonly files?: number;
  /**
   * "caching": the row runs against {@linkcode BenchContext.cachingServer}
   * (its data must be written before the server's first look at it).
   */
  readonly server?: "caching";
}

/** The rows that move one large file. */
export type DataKind = "read" | "cat" | "write";

export type Tool = "nfs4" | "libnfs";

/** One timed run. */
export interface Run {
  readonly seconds: number;
  /** Peak resident set size in KiB, when it could be measured. */
  readonly rssKiB: number | undefined;
  /** CPU seconds used (user + system), when GNU time measured them. */
  readonly cpuSeconds?: number | undefined;
  /** nfs4 cp --json's own measure of the copy (without start-up), when printed. */
  readonly copySeconds?: number | undefined;
  /** CPU seconds the server (Ganesha) used during the run, from /proc. */
  readonly serverCpuSeconds?: number | undefined;
}

export interface ToolResult {
  readonly runs: Run[];
  readonly medianSeconds: number;
  readonly mbPerSecond: number;
  readonly peakRssKiB: number | undefined;
  /** Median CPU seconds per run, when measured. */
  readonly medianCpuSeconds?: number | undefined;
  /** Median CPU seconds the server used per run, when measured. */
  readonly medianServerCpuSeconds?: number | undefined;
}

export interface CaseResult {
  readonly id: string;
  readonly title: string;
  readonly bytes: number;
  readonly ours: ToolResult;
  readonly theirs: ToolResult | undefined;
  /** ours / theirs throughput. */
  readonly ratio: number | undefined;
  /** Why libnfs has no figures for this case (it failed). */
  readonly theirsError?: string | undefined;
  /** What the row measures (see {@linkcode BenchCase.kind}). */
  readonly kind?: DataKind | undefined;
  /** What the other column ran, when not libnfs. */
  readonly theirsName?: string | undefined;
  /** Files one run handles. */
  readonly files?: number | undefined;
}

function libnfsUrl(ctx: BenchContext, name: string): string {
  return `nfs://127.0.0.1/vfs/${name}?version=4&nfsport=${ctx.server.port}`;
}

async function removeIfThere(file: string): Promise<void> {
  await fsp.rm(file, { force: true });
}

async function verifyCopy(ctx: BenchContext, file: string): Promise<void> {
  const st = await fsp.stat(file);
  if (st.size !== ctx.size) throw new Error(`${file}: ${st.size} bytes, expected ${ctx.size}`);
  const sha = await sha256File(file);
  if (sha !== ctx.sha256) throw new Error(`${file}: contents differ from the source`);
}

function readCase(vers: "4.0" | "4.1"): BenchCase {
  const out = (ctx: BenchContext, tool: Tool) => path.join(ctx.localDir, `read-${tool}.bin`);
  return {
    id: `read-${vers}`,
    title: `read  NFS → local (v${vers})`,
    kind: "read",
    bytes: (ctx) => ctx.size,
    ours: (ctx) => [
      ...ctx.nfs4,
      "--vers",
      vers,
      "cp",
      "--json",
      `${ctx.server.url}/vfs/${ctx.file}`,
      out(ctx, "nfs4"),
    ],
    theirs: (ctx) => ["nfs-cp", libnfsUrl(ctx, ctx.file), out(ctx, "libnfs")],
    prepare: (ctx, tool) => removeIfThere(out(ctx, tool)),
    verify: (ctx, tool) => verifyCopy(ctx, out(ctx, tool)),
  };
}

function catCase(vers: "4.0" | "4.1"): BenchCase {
  return {
    id: `cat-${vers}`,
    title: `cat   NFS → /dev/null (v${vers})`,
    kind: "cat",
    bytes: (ctx) => ctx.size,
    ours: (ctx) => [
      "sh",
      "-c",
      `${quote(ctx.nfs4)} --vers ${vers} cat '${ctx.server.url}/vfs/${ctx.file}' > /dev/null`,
    ],
    theirs: (ctx) => ["sh", "-c", `nfs-cat '${libnfsUrl(ctx, ctx.file)}' > /dev/null`],
  };
}

/** Words for `sh -c`, each quoted. */
export function quote(words: readonly string[]): string {
  return words.map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(" ");
}

function writeCase(vers: "4.0" | "4.1"): BenchCase {
  const name = (tool: Tool) => `write-${tool}.bin`;
  return {
    id: `write-${vers}`,
    title: `write local → NFS (v${vers})`,
    kind: "write",
    bytes: (ctx) => ctx.size,
    ours: (ctx) => [
      ...ctx.nfs4,
      "--vers",
      vers,
      "cp",
      "--json",
      path.join(ctx.localDir, ctx.file),
      `${ctx.server.url}/vfs/${name("nfs4")}`,
    ],
    theirs: (ctx) => ["nfs-cp", path.join(ctx.localDir, ctx.file), libnfsUrl(ctx, name("libnfs"))],
    prepare: (ctx, tool) => removeIfThere(path.join(ctx.exportDir, name(tool))),
    verify: (ctx, tool) => verifyCopy(ctx, path.join(ctx.exportDir, name(tool))),
  };
}

/** The long read's file, 16 times the bench's size (sparse: its holes cost the export nothing). */
const LONG_READ_FILE = "long-read.sparse";
const LONG_READ_TIMES = 16;

/**
 * `cat` of a file 16 times the bench's size (16 GiB by default) to
 * /dev/null (v4.1), against `nfs-cat`. Issue 19's peak RSS target holds for
 * a file "of any size", and the 1 GiB rows do not show what a long read adds
 * (the JIT's compiled code, the collector's larger cycles); its CPU per GiB
 * is that of a read whose start-up and compiling are spread thin. The file
 * is sparse, so the server reads holes: its CPU is not that of real data,
 * the client's work per byte is the same. Binary only (a `deno run` row
 * would add minutes to every run).
 */
function longCatCase(): BenchCase {
  const bytes = (ctx: BenchContext) => LONG_READ_TIMES * ctx.size;
  return {
    id: "cat-4.1-long",
    title: `cat   ${LONG_READ_TIMES} × the file, sparse → /dev/null (v4.1)`,
    bytes,
    ours: (ctx) => [
      "sh",
      "-c",
      `${quote(ctx.nfs4)} --vers 4.1 cat '${ctx.server.url}/vfs/${LONG_READ_FILE}' > /dev/null`,
    ],
    theirs: (ctx) => ["sh", "-c", `nfs-cat '${libnfsUrl(ctx, LONG_READ_FILE)}' > /dev/null`],
    prepare: async (ctx) => {
      const file = await fsp.open(path.join(ctx.exportDir, LONG_READ_FILE), "a");
      try {
        if ((await file.stat()).size !== bytes(ctx)) await file.truncate(bytes(ctx));
      } finally {
        await file.close();
      }
    },
  };
}

/** The rows, in the order they are printed. */
export const CASES: BenchCase[] = [
  readCase("4.1"),
  readCase("4.0"),
  catCase("4.1"),
  catCase("4.0"),
  writeCase("4.1"),
  writeCase("4.0"),
  longCatCase(),
  ...FILE_CASES,
];

/**
 * A data case with nfs4 run from its sources under Deno (`deno run -A
 * cli/main.ts`) instead of the binary: id `<id>+deno`.
 */
export function underDeno(c: BenchCase, deno: readonly string[]): BenchCase {
  return {
    ...c,
    id: `${c.id}+deno`,
    title: c.title.replace(/\)$/, ", deno run)"),
    ours: (ctx) => c.ours({ ...ctx, nfs4: deno }),
  };
}

/** Every row for these runtimes: a data case's Deno row follows its binary row. */
export function casesFor(runtimes: readonly ("binary" | "deno")[], deno: readonly string[]) {
  return CASES.flatMap((c) => [
    ...(runtimes.includes("binary") ? [c] : []),
    ...(runtimes.includes("deno") && c.kind ? [underDeno(c, deno)] : []),
  ]);
}

// ------------------------------------------------------------------ running

async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Uint8Array);
  }
  return hash.digest("hex");
}

async function writeRandomFile(file: string, size: number): Promise<string> {
  const hash = createHash("sha256");
  const handle = await fsp.open(file, "w");
  try {
    const piece = new Uint8Array(1 << 20);
    for (let done = 0; done < size;) {
      const n = Math.min(piece.length, size - done);
      for (let at = 0; at < n; at += 65536) {
        crypto.getRandomValues(piece.subarray(at, Math.min(n, at + 65536)));
      }
      const view = piece.subarray(0, n);
      hash.update(view);
      await handle.write(view);
      done += n;
    }
  } finally {
    await handle.close();
  }
  return hash.digest("hex");
}

const GNU_TIME = "/usr/bin/time";

/** Peak RSS (VmHWM) of a running process, in KiB. */
function vmHwm(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds (user + system, all threads) a process has used so far, from
 * /proc/PID/stat (in clock ticks of 1/100 s, the kernel's USER_HZ).
 */
function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/**
 * Runs `argv` to completion; wall time from spawn to exit, peak RSS, CPU
 * time, and the CPU time the server process `serverPid` used meanwhile.
 */
async function measure(
  argv: readonly string[],
  scratch: string,
  serverPid?: number,
): Promise<Run> {
  const serverBefore = serverPid === undefined ? undefined : processCpuSeconds(serverPid);
  const useTime = fs.existsSync(GNU_TIME);
  const timeFile = path.join(scratch, "time.txt");
  const full = useTime ? [GNU_TIME, "-o", timeFile, "-f", "%e %M %U %S", ...argv] : [...argv];
  const started = performance.now();
  const child = spawn(full[0]!, full.slice(1), {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Uint8Array) => {
    if (stdout.length < 65536) stdout += new TextDecoder().decode(chunk);
  });
  child.stderr.on("data", (chunk: Uint8Array) => {
    if (stderr.length < 65536) stderr += new TextDecoder().decode(chunk);
  });
  let polled: number | undefined;
  const poll = useTime ? undefined : setInterval(() => {
    const hwm = child.pid !== undefined ? vmHwm(child.pid) : undefined;
    if (hwm !== undefined) polled = Math.max(polled ?? 0, hwm);
  }, 20);
  const code = await new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (status) => resolve(status ?? 1));
  });
  const seconds = (performance.now() - started) / 1000;
  const serverAfter = serverPid === undefined ? undefined : processCpuSeconds(serverPid);
  const serverCpuSeconds = serverBefore !== undefined && serverAfter !== undefined
    ? Math.round((serverAfter - serverBefore) * 100) / 100
    : undefined;
  if (poll) clearInterval(poll);
  if (code !== 0) {
    throw new Error(`${argv.join(" ")} exited ${code}: ${stderr.trim()}`);
  }
  let rssKiB = polled;
  let cpuSeconds: number | undefined;
  if (useTime) {
    // The last line: the command's own output to the file comes first if any.
    const line = (await fsp.readFile(timeFile, "utf8")).trim().split("\n").at(-1) ?? "";
    const [, rss, user, system] = line.trim().split(/\s+/).map(Number);
    rssKiB = rss;
    if (user !== undefined && system !== undefined) cpuSeconds = user + system;
  }
  let copySeconds: number | undefined;
  try {
    const summary = JSON.parse(stdout.trim().split("\n").at(-1) ?? "");
    if (typeof summary.seconds === "number") copySeconds = summary.seconds;
  } catch {
    // not nfs4 cp --json
  }
  return { seconds, rssKiB, cpuSeconds, copySeconds, serverCpuSeconds };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function summarize(runs: Run[], bytes: number): ToolResult {
  const medianSeconds = median(runs.map((r) => r.seconds));
  const rss = runs.map((r) => r.rssKiB).filter((v): v is number => v !== undefined);
  const cpu = runs.map((r) => r.cpuSeconds).filter((v): v is number => v !== undefined);
  const serverCpu = runs.map((r) => r.serverCpuSeconds).filter((v): v is number => v !== undefined);
  return {
    runs,
    medianSeconds,
    mbPerSecond: bytes / medianSeconds / 1e6,
    peakRssKiB: rss.length > 0 ? Math.max(...rss) : undefined,
    medianCpuSeconds: cpu.length === runs.length ? median(cpu) : undefined,
    medianServerCpuSeconds: serverCpu.length === runs.length ? median(serverCpu) : undefined,
  };
}

function hasCommand(name: string): boolean {
  return (process.env.PATH ?? "").split(":").some((dir) => {
    try {
      fs.accessSync(path.join(dir, name), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

// ------------------------------------------------------------------- output

function mb(kib: number | undefined): string {
  return kib === undefined ? "-" : `${Math.round(kib / 1024)} MB`;
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

/** CPU seconds per GiB moved, from a run's median CPU time (or the server's). */
function cpuPerGiB(
  result: ToolResult | undefined,
  bytes: number,
  whose: "client" | "server" = "client",
): string {
  const cpu = whose === "client" ? result?.medianCpuSeconds : result?.medianServerCpuSeconds;
  return cpu === undefined ? "-" : `${(cpu / (bytes / 2 ** 30)).toFixed(2)} s`;
}

/** Seconds to two places, or "-". */
function secs(value: number | undefined): string {
  return value === undefined ? "-" : value.toFixed(2);
}

/**
 * The table: one row per case, medians, the speed ratio (the other's time
 * over nfs4's: above 1, nfs4 is faster), CPU time (per GiB for the 1 GiB
 * rows), the server's CPU time during nfs4's runs, files per second and peak
 * RSS. `other` names what nfs4 is compared with (libnfs unless the row says).
 */
export function formatTable(results: readonly CaseResult[]): string {
  const header = [
    "case",
    "other",
    "nfs4 s",
    "other s",
    "speed",
    "nfs4 CPU",
    "other CPU",
    "server CPU",
    "nfs4 files/s",
    "other files/s",
    "nfs4 RSS",
    "other RSS",
  ];
  const rows = results.map((r) => {
    const perGiB = r.bytes >= 2 ** 26;
    const cpu = (t: ToolResult | undefined, whose: "client" | "server" = "client") =>
      perGiB
        ? `${cpuPerGiB(t, r.bytes, whose)}/GiB`.replace("-/GiB", "-")
        : secs(whose === "client" ? t?.medianCpuSeconds : t?.medianServerCpuSeconds);
    const rate = (t: ToolResult | undefined) =>
      r.files && t ? (r.files / t.medianSeconds).toFixed(0) : "-";
    return [
      r.title,
      r.theirs || r.theirsError ? (r.theirsName ?? "libnfs") : "-",
      r.ours.medianSeconds.toFixed(2),
      r.theirs ? r.theirs.medianSeconds.toFixed(2) : r.theirsError ? "failed" : "-",
      r.ratio !== undefined ? `${r.ratio.toFixed(2)}x` : "-",
      cpu(r.ours),
      cpu(r.theirs),
      cpu(r.ours, "server"),
      rate(r.ours),
      rate(r.theirs),
      mb(r.ours.peakRssKiB),
      mb(r.theirs?.peakRssKiB),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => pad(cell, widths[i]!, i > 1)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** One target of issue 19, judged on a run. */
export interface Target {
  readonly name: string;
  readonly value: string;
  readonly pass: boolean;
}

/** Peak RSS allowed for the single binary copying or cat-ing one file. */
export const RSS_LIMIT_MB = 64;

/**
 * Issue 19's targets, from the rows of one run:
 * - each 1 GiB read (`cp` to a file, `cat` to /dev/null), as the binary and
 *   under Deno: client CPU at most 1.5x libnfs's, and at least 1.0x its speed;
 * - each upload: client CPU at most 1.5x that of our own read (`cp` the
 *   other way) of the same version and runtime;
 * - the binary's peak RSS for any of those at most 64 MB;
 * - the long read (`cat` of 16 times the file): client CPU at most 1.5x
 *   libnfs's, and the binary's peak RSS at most 64 MB;
 * - `cat` of 1,000 small files in one process: at least 10x the files per
 *   second of the `nfs-cat` loop;
 * - `ls -l` of 10,000 entries: within 1.5x the time of local `ls -l`.
 */
export function evaluateTargets(results: readonly CaseResult[]): Target[] {
  const targets: Target[] = [];
  const reads = results.filter((r) => r.kind === "read" || r.kind === "cat");
  const writes = results.filter((r) => r.kind === "write");
  for (const read of reads) {
    const ours = read.ours.medianCpuSeconds;
    const theirs = read.theirs?.medianCpuSeconds;
    if (ours !== undefined && theirs !== undefined && theirs > 0) {
      const ratio = ours / theirs;
      targets.push({
        name: `${read.id}: nfs4 CPU ≤ 1.5 × libnfs CPU`,
        value: `${ratio.toFixed(2)}x (${ours.toFixed(2)} s vs ${theirs.toFixed(2)} s)`,
        pass: ratio <= 1.5,
      });
    }
    if (read.ratio !== undefined) {
      targets.push({
        name: `${read.id}: nfs4 speed ≥ 1.0 × libnfs`,
        value: `${read.ratio.toFixed(2)}x`,
        pass: read.ratio >= 1.0,
      });
    }
  }
  for (const write of writes) {
    // Paired with the download of the same version by the same runtime.
    const read = results.find((r) => r.id === write.id.replace(/^write-/, "read-"));
    const ours = write.ours.medianCpuSeconds;
    const base = read?.ours.medianCpuSeconds;
    if (ours === undefined || base === undefined || base <= 0) continue;
    const ratio = ours / base;
    targets.push({
      name: `${write.id}: nfs4 write CPU ≤ 1.5 × nfs4 read CPU (${read!.id})`,
      value: `${ratio.toFixed(2)}x (${ours.toFixed(2)} s vs ${base.toFixed(2)} s)`,
      pass: ratio <= 1.5,
    });
  }
  for (const r of [...reads, ...writes]) {
    const peak = r.ours.peakRssKiB;
    if (peak === undefined || r.id.endsWith("+deno")) continue;
    targets.push({
      name: `${r.id}: binary peak RSS ≤ ${RSS_LIMIT_MB} MB`,
      value: mb(peak),
      pass: peak <= RSS_LIMIT_MB * 1024,
    });
  }
  const long = results.find((r) => r.id === "cat-4.1-long");
  if (long) {
    const ours = long.ours.medianCpuSeconds;
    const theirs = long.theirs?.medianCpuSeconds;
    if (ours !== undefined && theirs !== undefined && theirs > 0) {
      targets.push({
        name: `${long.id}: nfs4 CPU ≤ 1.5 × libnfs CPU`,
        value: `${(ours / theirs).toFixed(2)}x (${ours.toFixed(2)} s vs ${theirs.toFixed(2)} s)`,
        pass: ours / theirs <= 1.5,
      });
    }
    const peak = long.ours.peakRssKiB;
    if (peak !== undefined && !long.id.endsWith("+deno")) {
      targets.push({
        name: `${long.id}: binary peak RSS ≤ ${RSS_LIMIT_MB} MB`,
        value: mb(peak),
        pass: peak <= RSS_LIMIT_MB * 1024,
      });
    }
  }
  const catMany = results.find((r) => r.id === "cat-1000-one");
  if (catMany?.ratio !== undefined) {
    targets.push({
      name: "cat-1000-one: files/s ≥ 10 × a loop of nfs-cat",
      value: `${catMany.ratio.toFixed(2)}x`,
      pass: catMany.ratio >= 10,
    });
  }
  for (const id of ["ls-l-10k", "ls-l-10k-cached"]) {
    const ls = results.find((r) => r.id === id);
    if (!ls?.theirs) continue;
    const ratio = ls.ours.medianSeconds / ls.theirs.medianSeconds;
    targets.push({
      name: `${id}: time ≤ 1.5 × local ls -l`,
      value: `${ratio.toFixed(2)}x`,
      pass: ratio <= 1.5,
    });
  }
  return targets;
}

/**
 * What the CPU allows, for each read row: client and server share this
 * machine's `cpus`, so a run cannot be shorter than the CPU time both used
 * divided by the CPUs, however well the client overlaps its work. The best
 * ratio against libnfs's measured time that nfs4's CPU use allows, the one a
 * client using only libnfs's CPU time would get if it overlapped perfectly,
 * and the one of a client using no CPU at all (the server's work alone).
 */
export function cpuCeilings(results: readonly CaseResult[], cpus: number): string[] {
  const lines: string[] = [];
  for (const r of results) {
    const ours = r.ours.medianCpuSeconds;
    const server = r.ours.medianServerCpuSeconds;
    if (
      (r.kind !== "read" && r.kind !== "cat") || !r.theirs || ours === undefined ||
      server === undefined
    ) continue;
    const libnfsTime = r.theirs.medianSeconds;
    const best = (clientCpu: number) =>
      `${(libnfsTime / ((clientCpu + server) / cpus)).toFixed(2)}x`;
    const lean = r.theirs.medianCpuSeconds;
    lines.push(
      `  ${r.id}: nfs4 ${ours.toFixed(2)} + server ${server.toFixed(2)} CPU-s on ${cpus} CPUs: ` +
        `at best ${((ours + server) / cpus).toFixed(2)} s, ${best(ours)} libnfs; ` +
        (lean === undefined ? "" : `a client as lean as libnfs: ${best(lean)}; `) +
        `one using no CPU: ${best(0)}`,
    );
  }
  return lines;
}

// ---------------------------------------------------------------------- main

/** The 1-, 5- and 15-minute load averages, as uptime prints them. */
function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(", ");
}

/** CPUs, their model, memory and kernel, in a line. */
function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? "CPU"}, ` +
    `${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`;
}

function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|K|M|G)?$/i.exec(text.trim());
  if (!m) throw new Error(`bad size: ${text} (examples: 1GiB, 256MiB, 1048576)`);
  const unit = (m[2] ?? "B").toLowerCase();
  const factor = unit.startsWith("g")
    ? 2 ** 30
    : unit.startsWith("m")
    ? 2 ** 20
    : unit.startsWith("k")
    ? 2 ** 10
    : 1;
  return Math.round(Number(m[1]) * factor);
}

const USAGE = `Usage: deno task bench [options]

Options:
  --size SIZE        test file size (default 1GiB)
  --runs N           runs of each tool per case (default 3)
  --warmup N         uncounted rounds of every case first (default 1)
  --quick            a first look: --size 256MiB --runs 3 unless given
  --cases A,B        only these cases (${CASES.map((c) => c.id).join(", ")};
                     a copy's row under Deno is ID+deno, e.g. read-4.1+deno)
  --runtimes A,B     how nfs4 runs: binary (the single binary, built first)
                     and/or deno (the sources under deno run, 1 GiB copies
                     only); default binary,deno
  --nfs4 CMD         run nfs4 with this command instead (one runtime)
  --local-dir DIR    where local inputs and outputs go (default: a directory on
                     /dev/shm when it exists, else the temporary directory)
  --export-dir DIR   the directory behind the server's export (same default)
  --json PATH        where to write the results (default bench/results.json)
  -h, --help`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      size: { type: "string" },
      runs: { type: "string" },
      warmup: { type: "string" },
      quick: { type: "boolean" },
      cases: { type: "string" },
      nfs4: { type: "string" },
      runtimes: { type: "string", default: "binary,deno" },
      "local-dir": { type: "string" },
      "export-dir": { type: "string" },
      json: { type: "string", default: path.join(ROOT, "bench", "results.json") },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const size = parseSize(values.size ?? (values.quick ? "256MiB" : "1GiB"));
  const runs = Number(values.runs ?? "3");
  if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs must be a positive integer");
  const warmup = Number(values.warmup ?? "1");
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new Error("--warmup must be a non-negative integer");
  }
  const runtimes = values.runtimes.split(",").map((s) => s.trim()).filter(Boolean);
  for (const r of runtimes) {
    if (r !== "binary" && r !== "deno") throw new Error(`unknown runtime ${r} (binary, deno)`);
  }
  const deno = [process.execPath, "run", "-A", path.join(ROOT, "cli", "main.ts")];
  // With --nfs4 the command stands in for the binary: one runtime.
  const all = casesFor(
    values.nfs4 ? ["binary"] : runtimes as ("binary" | "deno")[],
    deno,
  );
  const wanted = values.cases?.split(",").map((s) => s.trim()).filter(Boolean);
  const cases = wanted ? all.filter((c) => wanted.includes(c.id)) : all;
  if (wanted && cases.length !== wanted.length) {
    throw new Error(`unknown case in --cases (known: ${all.map((c) => c.id).join(", ")})`);
  }
  // Like with like: libnfs's tools are native programs, so the single binary
  // is built and run first; the Deno rows show the sources' runtime.
  const builtBinary = !values.nfs4 && runtimes.includes("binary")
    ? build(path.join(os.tmpdir(), `nfs4-bench-bin-${process.pid}`)).outfile
    : undefined;
  const nfs4 = values.nfs4
    ? values.nfs4.split(" ").filter(Boolean)
    : builtBinary
    ? [builtBinary]
    : deno;
  const libnfs = hasCommand("nfs-cp");
  if (!libnfs) console.error("bench: nfs-cp (libnfs-utils) not found; nfs4 rows only");

  const base = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();
  const scratch = await fsp.mkdtemp(path.join(base, "nfs4-bench-"));
  const localDir = values["local-dir"] ?? path.join(scratch, "local");
  const exportDir = values["export-dir"] ?? path.join(scratch, "export");
  await fsp.mkdir(localDir, { recursive: true });
  await fsp.mkdir(exportDir, { recursive: true });
  await fsp.chmod(exportDir, 0o777);
  const stateDir = await fsp.mkdtemp(path.join(os.tmpdir(), "nfs4-bench-server-"));
  const server = await startTestServer({ dir: stateDir, exportDir });
  let cachingServer: TestServer | undefined;
  try {
    if (cases.some((c) => c.server === "caching")) {
      cachingServer = await startTestServer({
        dir: await fsp.mkdtemp(path.join(stateDir, "caching-")),
        exportDir,
        attrExpirationSeconds: 60,
      });
    }
    const file = "bench.bin";
    console.error(`bench: writing ${size} random bytes …`);
    const sha256 = await writeRandomFile(path.join(localDir, file), size);
    await fsp.copyFile(path.join(localDir, file), path.join(exportDir, file));
    const ctx: BenchContext = {
      server,
      cachingServer,
      nfs4,
      localDir,
      exportDir,
      size,
      file,
      sha256,
    };
    const loadBefore = loadAverage();
    const results = await runCases(ctx, cases, runs, libnfs, scratch, warmup);
    const targets = evaluateTargets(results);
    const table = formatTable(results);
    const onTmpfs = (await fsp.realpath(exportDir)).startsWith("/dev/shm");
    const header = `nfs4 bench: ${(size / 2 ** 20).toFixed(0)} MiB, median of ${runs} run(s) ` +
      `after ${warmup} warm-up round(s), ` +
      `Ganesha on 127.0.0.1:${server.port} (export ${onTmpfs ? "on tmpfs" : exportDir}), ` +
      `${machine()}; load average before ${loadBefore}, after ${loadAverage()}`;
    console.log(header);
    console.log(table);
    for (const r of results) {
      if (r.theirsError) {
        console.log(`  ${r.id}: ${r.theirsName ?? "libnfs"} failed: ${r.theirsError}`);
      }
    }
    if (targets.length > 0) {
      console.log("\ntargets (issue 19)");
      for (const t of targets) {
        console.log(`  ${t.pass ? "PASS" : "FAIL"}  ${t.name}: ${t.value}`);
      }
    }
    const ceilings = cpuCeilings(results, os.cpus().length);
    if (ceilings.length > 0) {
      console.log("\nCPU-bound ceilings (read rows)");
      for (const line of ceilings) console.log(line);
    }
    const report = {
      date: new Date().toISOString(),
      host: os.hostname(),
      machine: machine(),
      loadAverage: { before: loadBefore, after: loadAverage() },
      cpus: os.cpus().length,
      runtime: process.versions,
      size,
      runs,
      warmup,
      exportOnTmpfs: onTmpfs,
      cases: results,
      targets,
      cpuCeilings: cpuCeilings(results, os.cpus().length).map((l) => l.trim()),
    };
    await fsp.mkdir(path.dirname(values.json), { recursive: true });
    await fsp.writeFile(values.json, JSON.stringify(report, null, 2) + "\n");
    console.error(`bench: results in ${values.json}`);
    return 0;
  } finally {
    await cachingServer?.stop();
    await server.stop();
    await fsp.rm(scratch, { recursive: true, force: true });
    await fsp.rm(stateDir, { recursive: true, force: true });
    if (builtBinary) await fsp.rm(builtBinary, { force: true });
  }
}

/** `ctx` with the server the case runs against. */
function contextFor(ctx: BenchContext, c: BenchCase): BenchContext {
  if (c.server !== "caching") return ctx;
  if (!ctx.cachingServer) throw new Error(`${c.id}: no caching server was started`);
  return { ...ctx, server: ctx.cachingServer };
}

/**
 * Runs every case `runs` times per tool, nfs4 and libnfs taking turns, after
 * `warmup` rounds that are verified but not counted: the first copies after
 * the test file was written run much slower for both tools (the kernel is
 * still busy with the gigabytes just written to tmpfs).
 */
export async function runCases(
  ctx: BenchContext,
  cases: readonly BenchCase[],
  runs: number,
  libnfs: boolean,
  scratch: string,
  warmup = 0,
): Promise<CaseResult[]> {
  const ours = new Map<string, Run[]>();
  const theirs = new Map<string, Run[]>();
  const theirErrors = new Map<string, string>();
  for (let run = -warmup; run < runs; run++) {
    for (const c of cases) {
      const tools: Tool[] = libnfs && c.theirs && !theirErrors.has(c.id)
        ? ["nfs4", "libnfs"]
        : ["nfs4"];
      for (const tool of tools) {
        const caseCtx = contextFor(ctx, c);
        await c.prepare?.(caseCtx, tool);
        const argv = tool === "nfs4" ? c.ours(caseCtx) : c.theirs!(caseCtx);
        let result: Run;
        try {
          result = await measure(argv, scratch, caseCtx.server.pid);
          if (run === -warmup) await c.verify?.(ctx, tool);
        } catch (error) {
          // libnfs failing is a finding, not the end of the benchmark.
          if (tool === "nfs4") throw error;
          const message = error instanceof Error ? error.message : String(error);
          theirErrors.set(c.id, message);
          theirs.delete(c.id);
          const who = c.theirsName ?? "libnfs";
          console.error(`bench: ${c.id} ${who} failed; no ${who} figures for it: ${message}`);
          continue;
        }
        const list = tool === "nfs4" ? ours : theirs;
        if (run >= 0) list.set(c.id, [...(list.get(c.id) ?? []), result]);
        const mbps = c.bytes(ctx) / result.seconds / 1e6;
        const cpu =
          (result.cpuSeconds === undefined ? "" : `, CPU ${result.cpuSeconds.toFixed(2)} s`) +
          (result.serverCpuSeconds === undefined
            ? ""
            : `, server CPU ${result.serverCpuSeconds.toFixed(2)} s`);
        const who = tool === "nfs4" ? "nfs4" : c.theirsName ?? "libnfs";
        console.error(
          `bench: ${c.id} ${who} ${run < 0 ? "warm-up" : `run ${run + 1}`}: ` +
            `${result.seconds.toFixed(2)} s, ` +
            `${mbps.toFixed(0)} MB/s${cpu}, RSS ${mb(result.rssKiB)}`,
        );
      }
    }
  }
  return cases.map((c) => {
    const bytes = c.bytes(ctx);
    const o = summarize(ours.get(c.id)!, bytes);
    const t = theirs.has(c.id) ? summarize(theirs.get(c.id)!, bytes) : undefined;
    return {
      id: c.id,
      title: c.title,
      bytes,
      ours: o,
      theirs: t,
      // Speed of nfs4 over libnfs: above 1, nfs4 is faster (same bytes, so the time ratio).
      ratio: t ? t.medianSeconds / o.medianSeconds : undefined,
      ...(theirErrors.has(c.id) ? { theirsError: theirErrors.get(c.id) } : {}),
      kind: c.kind,
      ...(c.theirsName ? { theirsName: c.theirsName } : {}),
      ...(c.files ? { files: c.files } : {}),
    };
  });
}

if (import.meta.main ?? import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  try {
    process.exitCode = await main();
  } catch (error) {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
