/**
 * Fixtures for the `nfs4 simulate-reboot` black-box tests: a Ganesha server
 * that is stopped even after the drill restarted it from another process,
 * the restart command (the test-server script's `restart`), running the
 * drill with `--json --trace=json`, and decoding a capture of it with
 * tshark down to the fields that show a reclaim (OPEN claim type, LOCK
 * reclaim flag, RECLAIM_COMPLETE).
 *
 * ```ts
 * drillTest("server reboot", async (server) => {
 *   const run = await runDrill(server, "4.1", ["--restart-cmd", restartCommand(server)]);
 *   assert.equal(run.code, 0, run.stderr);
 * });
 * ```
 * @module
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs/promises";
import { join } from "node:path";
import { hasGanesha, type TestServer, type TestServerOptions } from "../_server.ts";
import { startTestServer } from "../../scripts/test_server.ts";
import { type Ended, ROOT, type Running, startNfs4 } from "./_lock.ts";
import { traceEvents, type TraceLine } from "./_spawn.ts";

export { ROOT };

/** The lease and grace most drills run with: short, so tests are quick. */
export const LEASE = 3;
export const GRACE = 5;

const SCRIPT = join(ROOT, "scripts/test_server.ts");

function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The command that reboots `server` (kill -9, start with the same recovery directory). */
export function restartCommand(server: TestServer): string {
  return `${quote(Deno.execPath())} run -A ${quote(SCRIPT)} restart --dir ${quote(server.dir)}`;
}

function run(file: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, (error, stdout, stderr) => {
      resolve({ code: error ? 1 : 0, output: stdout + stderr });
    });
  });
}

/**
 * A Deno.test with a fresh server. The drill restarts the server from its
 * own process, so the running ganesha.nfsd is no longer the one `server`
 * started: it is stopped through the script (which reads the pid file) as
 * well as through `server`.
 */
export function drillTest(
  name: string,
  fn: (server: TestServer) => Promise<void>,
  options: TestServerOptions & { ignore?: boolean } = {},
): void {
  const { ignore = false, ...serverOptions } = options;
  Deno.test({
    name,
    ignore: ignore || !hasGanesha,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const server = await startTestServer({
        leaseSeconds: LEASE,
        graceSeconds: GRACE,
        ...serverOptions,
      });
      let failed = true;
      lastRun = undefined;
      try {
        await fn(server);
        failed = false;
      } catch (e) {
        console.error(explainRun(lastRun));
        throw e;
      } finally {
        await run(Deno.execPath(), ["run", "-A", SCRIPT, "stop", "--dir", server.dir]);
        await server.stop();
        if (failed) console.error(`drillTest: server state kept in ${server.dir}`);
        else await fs.rm(server.dir, { recursive: true, force: true });
      }
    },
  });
}

/** One check of the report. */
export interface Check {
  name: string;
  status: "ok" | "fail" | "info";
  detail: string;
}

/** The `--json` report (the fields the tests read). */
export interface Report {
  mode: "server" | "client";
  url: string;
  minorVersion: number;
  range: string;
  failReclaim: string | null;
  /** The drill's file and what became of it (null: the drill stopped before it had one). */
  file: {
    url: string;
    path: string;
    origin: "directory" | "new" | "empty" | "forced";
    created: boolean;
    removed: boolean;
    truncated: boolean;
    written: string | null;
    cleanupError: string | null;
  } | null;
  /** `markerOffset`: a byte offset, a number (cli/json_values.ts rule 2). */
  setup: { path: string; created: boolean; marker: string; markerOffset: number };
  stateBefore: { clientId: string; ownerId: string; opens: unknown[] };
  restart: { command: string; code: number | null; ms: number; output: string } | null;
  timeline: { t: number; client: string; event: string; detail?: string }[];
  durations: Record<string, number | null>;
  recovery: {
    detectedBy: string | null;
    newClientId: string | null;
    newSession: string | null;
    reclaimed: string[];
    lost: string[];
    injected: string[];
    reclaimComplete: string | null;
    noGrace: boolean;
    graceRefusals: { client: string; op: string; count: number; waitedMs: number }[];
  };
  checks: Check[];
  stateAfter: {
    clientId: string;
    opens: { path: string; lost?: string; locks: { lost?: string }[] }[];
  };
  result: "recovered" | "partial" | "failed" | "interrupted";
  verdict: string;
}

/** A finished drill: exit status, the report, the trace events (main and observer). */
export interface DrillRun {
  readonly code: number;
  readonly report: Report;
  readonly events: TraceLine[];
  readonly stderr: string;
  readonly ms: number;
}

/** The drill's arguments for `server`'s file `name`, as `nfs4` takes them. */
export function drillArgs(
  server: TestServer,
  vers: "4.0" | "4.1",
  args: readonly string[],
  name = "drill",
): string[] {
  return [
    "--vers",
    vers,
    "--trace=json",
    "simulate-reboot",
    "--json",
    ...args,
    `${server.url}/vfs/${name}`,
  ];
}

/** Starts the drill (`--json --trace=json`) without waiting for it. */
export function startDrill(
  server: TestServer,
  vers: "4.0" | "4.1",
  args: readonly string[],
  name?: string,
): Running {
  return startNfs4(drillArgs(server, vers, args, name));
}

/** The last drill run, shown when a test fails. */
let lastRun: DrillRun | undefined;

/** What a failed test prints about the last drill: verdict, checks, restart, trace tail. */
function explainRun(run: DrillRun | undefined): string {
  if (!run) return "no drill ran to the end";
  const r = run.report;
  return [
    `drill exit ${run.code} after ${run.ms.toFixed(0)} ms: ${r.verdict}`,
    ...r.checks.map((c) => `  ${c.status} ${c.name}: ${c.detail}`),
    `restart: ${JSON.stringify(r.restart)}`,
    "stderr (tail):",
    ...run.stderr.trimEnd().split("\n").slice(-60),
  ].join("\n");
}

/** The report and events of a drill that ended. */
export function drillResult(ended: Ended): DrillRun {
  let report: Report;
  try {
    report = JSON.parse(ended.stdout) as Report;
  } catch {
    throw new Error(
      `no JSON report (exit ${ended.code}):\n${ended.stdout}\n${ended.stderr.slice(-3000)}`,
    );
  }
  lastRun = {
    code: ended.code,
    report,
    events: traceEvents(ended.stderr),
    stderr: ended.stderr,
    ms: ended.ms,
  };
  return lastRun;
}

/** Runs the drill to the end. */
export async function runDrill(
  server: TestServer,
  vers: "4.0" | "4.1",
  args: readonly string[],
  name?: string,
): Promise<DrillRun> {
  return drillResult(await startDrill(server, vers, args, name).done);
}

/** The check named `name` (it must be there). */
export function check(report: Report, name: string): Check {
  const found = report.checks.find((c) => c.name === name);
  assert.ok(found, `no check "${name}" in:\n${report.checks.map((c) => c.name).join("\n")}`);
  return found;
}

/** The main client's events (`client` is added by the drill), names only. */
export function mainEvents(events: readonly TraceLine[]): TraceLine[] {
  return events.filter((e) => e.client === "main");
}

/** `expected` appear in this order among `events` (anything in between). */
export function assertInOrder(events: readonly TraceLine[], expected: readonly string[]): void {
  let at = 0;
  for (const e of events) if (e.event === expected[at]) at++;
  assert.equal(
    at,
    expected.length,
    `expected in order: ${expected.join(" > ")}\ngot: ${events.map((e) => e.event).join(", ")}`,
  );
}

/** Reclaim-related fields of one NFS call (tshark). */
export interface ReclaimFrame {
  frame: number;
  /** Operation numbers of the COMPOUND. */
  ops: number[];
  /** open_claim_type4 of each OPEN (1 is CLAIM_PREVIOUS). */
  claimTypes: number[];
  /** The reclaim flag of each LOCK. */
  lockReclaims: boolean[];
  /** The session of the SEQUENCE (4.1), lower-case hex without separators. */
  session: string | undefined;
}

/** OPEN, LOCK and RECLAIM_COMPLETE operation numbers (RFC 7530 §16, RFC 8881 §18). */
export const OP = { LOCK: 12, OPEN: 18, RECLAIM_COMPLETE: 58 } as const;
/** open_claim_type4 CLAIM_PREVIOUS. */
export const CLAIM_PREVIOUS = 1;

/** The NFS calls in a capture with what shows a reclaim, decoded by tshark. */
export async function decodeReclaims(file: string, port: number): Promise<ReclaimFrame[]> {
  const fields = [
    "frame.number",
    "nfs.opcode",
    "nfs.open.claim_type",
    "nfs.lock.reclaim",
    "nfs.session_id4",
  ];
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      "tshark",
      [
        "-n",
        "-r",
        file,
        "-d",
        `tcp.port==${port},rpc`,
        "-Y",
        "rpc.msgtyp == 0 && nfs",
        "-T",
        "fields",
        ...fields.flatMap((f) => ["-e", f]),
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
        "-E",
        "separator=/t",
      ],
      { maxBuffer: 64 * 1024 * 1024 },
      (
        error,
        stdout,
        stderr,
      ) => (error ? reject(new Error(stderr || String(error))) : resolve(stdout)),
    );
  });
  const list = (text: string | undefined) => (text ?? "").split(",").filter((t) => t !== "");
  return out.split("\n").filter((l) => l !== "").map((line) => {
    const [frame, ops, claims, reclaims, session] = line.split("\t");
    return {
      frame: Number(frame),
      ops: list(ops).map(Number),
      claimTypes: list(claims).map(Number),
      lockReclaims: list(reclaims).map((v) => v === "1" || /^true$/i.test(v)),
      session: list(session)[0]?.replaceAll(":", "").toLowerCase(),
    };
  });
}
