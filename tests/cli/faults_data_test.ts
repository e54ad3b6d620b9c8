/**
 * Issue 14, "Prove it": bytes through a connection that is cut.
 *
 * 1. `nfs4 cp` up, `nfs4 cp` down and `nfs4 cat` of a 64 MiB file
 *    (`NFS4_FAULT_MIB`), `NFS4_FAULT_RUNS` seeded runs each (default 50) on
 *    NFSv4.0 and 4.1, through a proxy that cuts the connection after a
 *    seeded random number of bytes: toward the server, toward the client or
 *    counting both, one to three times per run. Each run's seed decides the
 *    direction, the number of cuts and every N (drawn up to the bytes that go
 *    that way in a clean run, so cuts land anywhere from the first SETCLIENTID
 *    or EXCHANGE_ID to the last CLOSE); the first seed is fresh unless
 *    `NFS4_FAULT_SEED` is given, and a failing seed is printed: repeat it with
 *    `NFS4_FAULT_SEED=S NFS4_FAULT_RUNS=1` (timing can shift which reply a
 *    byte count falls in, so a repeat is likely, not certain, to hit the same
 *    spot). Every run must end one of two ways:
 *    - exit 0, and the bytes are exact: `cat`'s stdout is the file (compared
 *      byte by byte as it arrives), a copy's destination has the source's
 *      SHA-256, and no `.NAME.nfs4-XXXXXX` temporary is left beside it;
 *    - exit 1 with one `nfs4: ` line naming the server, and nothing that
 *      looks complete: no file at the destination name and no temporary (cp
 *      documents that a failed copy removes it); for `cat`, every byte it
 *      printed is the file's (a prefix, never a wrong byte).
 *    Any other exit, a hang (killed after 90 s) or a 4.1 slot/seqid that
 *    carried two different requests fails the run.
 * 2. A 4.1 (and 4.0) `cat` of a multi-MiB file through a proxy that cuts
 *    the connection instead of every third reply completes byte-exact.
 *
 * Every test asserts `proxy.assertSlotSeqidsUnique()`.
 *
 * Time (2 cores, 64 MiB, 50 runs): about 22-28 s per command and version,
 * 2 min 40 s for the file; a run takes 0.4-1 s.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { randomInt, seededRandom } from "../_fault_proxy_wire.ts";
import type { Direction, ProxyStats } from "../_fault_proxy.ts";
import { hasGanesha, type TestServer, withServer } from "../_server.ts";
import { sha256File, tempDir, temporaries } from "./_cp.ts";
import {
  assertOneLineNamingServer,
  FAULT_BASE_SEED,
  FAULT_FILE_SIZE,
  FAULT_RUNS,
  randomBytes,
  RUN_KNOWN_BUGS,
  runNfs4,
  type RunResult,
  secs,
  startProxy,
  type Version,
  VERSIONS,
} from "./_faults.ts";
import { sha256 } from "./_spawn.ts";

/** Per call; a cut is seen at once (FIN), so this only bounds a real stall. */
const TIMEOUT_S = 10;
/** A run still going after this is killed and fails (the budget is 4 × 10 s). */
const KILL_AFTER_MS = 90_000;

type Kind = "cp up" | "cp down" | "cat";

/** What one seed decides. */
interface Plan {
  seed: number;
  direction: Direction | "both";
  times: number;
  /** The largest N drawn: the bytes that went that way in a clean run. */
  max: number;
}

/** One run that did not end as it must. */
interface Failure {
  plan: Plan;
  why: string;
  result: RunResult | undefined;
  draws: readonly number[];
  logs: string[];
}

/** Direction and number of cuts from the seed; N is drawn by the proxy from the same seed. */
function planFor(seed: number, bytes: Record<Direction, number>): Plan {
  const random = seededRandom((seed ^ 0x5bd1e995) >>> 0);
  const directions = ["toServer", "toClient", "both"] as const;
  const direction = directions[randomInt(random, 0, 2)]!;
  const max = direction === "both" ? bytes.toServer + bytes.toClient : bytes[direction];
  return { seed, direction, times: randomInt(random, 1, 3), max };
}

function describePlan(plan: Plan): string {
  return `seed ${plan.seed}: cut ${plan.direction} ${plan.times}x, N in [0, ${plan.max}]`;
}

/** The bytes of one run each way. */
function traffic(before: ProxyStats, after: ProxyStats): Record<Direction, number> {
  return {
    toServer: after.toServer.bytes - before.toServer.bytes,
    toClient: after.toClient.bytes - before.toClient.bytes,
  };
}

/** Where a kind of run reads and writes. */
interface Setup {
  /** The command's arguments, given the proxy's `/vfs` URL. */
  args(vfs: string): string[];
  /** Removes what a run left at the destination. */
  reset(): Promise<void>;
  /** Why the run's outcome is wrong, or undefined. */
  check(r: RunResult, port: number): Promise<string | undefined>;
}

async function exists(path: string): Promise<boolean> {
  return await fs.stat(path).then(() => true, () => false);
}

/** The checks of a copy: exact with exit 0, nothing complete-looking with exit 1. */
function copySetup(
  args: (vfs: string) => string[],
  destDir: string,
  sha: string,
): Setup {
  const dest = `${destDir}/dst.bin`;
  return {
    args,
    async reset() {
      await fs.rm(dest, { force: true });
      for (const t of await temporaries(destDir)) await fs.rm(`${destDir}/${t}`, { force: true });
    },
    async check(r, port) {
      const temps = await temporaries(destDir);
      if (r.code === 0) {
        if (!(await exists(dest))) return "exit 0 but no destination";
        const got = await sha256File(dest);
        if (got !== sha) return `exit 0 but the destination differs (sha256 ${got})`;
        if (temps.length) return `exit 0 but temporaries left: ${temps.join(" ")}`;
        return undefined;
      }
      if (r.code === 1) {
        if (await exists(dest)) return "exit 1 with a file at the destination name";
        if (temps.length) return `exit 1 with temporaries left: ${temps.join(" ")}`;
        try {
          assertOneLineNamingServer(r.stderr, port, "exit 1");
        } catch (e) {
          return (e as Error).message;
        }
        return undefined;
      }
      return `exit ${r.code}${r.signal ? ` (${r.signal})` : ""}${r.killed ? ", killed: hung" : ""}`;
    },
  };
}

function catSetup(): Setup {
  return {
    args: (vfs) => ["cat", `${vfs}/src.bin`],
    async reset() {},
    check(r, port) {
      if (r.firstMismatch !== undefined) {
        return Promise.resolve(
          `stdout differs from the file at byte ${r.firstMismatch} (exit ${r.code})`,
        );
      }
      if (r.code === 0) {
        return Promise.resolve(
          r.size === FAULT_FILE_SIZE ? undefined : `exit 0 after ${r.size} bytes`,
        );
      }
      if (r.code === 1) {
        try {
          assertOneLineNamingServer(r.stderr, port, "exit 1");
        } catch (e) {
          return Promise.resolve((e as Error).message);
        }
        return Promise.resolve(undefined);
      }
      return Promise.resolve(
        `exit ${r.code}${r.signal ? ` (${r.signal})` : ""}${r.killed ? ", killed: hung" : ""}`,
      );
    },
  };
}

/** The seeded runs of one kind on one version. */
async function seededCuts(server: TestServer, kind: Kind, vers: Version): Promise<void> {
  const local = await tempDir("nfs4-faults-");
  try {
    const data = randomBytes(FAULT_FILE_SIZE);
    const sha = sha256(data);
    let setup: Setup;
    let expect: Uint8Array | undefined;
    if (kind === "cp up") {
      await fs.writeFile(`${local}/src.bin`, data);
      setup = copySetup(
        (vfs) => ["cp", `${local}/src.bin`, `${vfs}/dst.bin`],
        server.exportDir,
        sha,
      );
    } else if (kind === "cp down") {
      await fs.writeFile(`${server.exportDir}/src.bin`, data);
      setup = copySetup((vfs) => ["cp", `${vfs}/src.bin`, `${local}/dst.bin`], local, sha);
    } else {
      await fs.writeFile(`${server.exportDir}/src.bin`, data);
      setup = catSetup();
      expect = data;
    }
    const argsFor = (
      vfs: string,
    ) => ["--vers", vers, "--timeout", String(TIMEOUT_S), ...setup.args(vfs)];
    const run = (vfs: string) =>
      runNfs4(argsFor(vfs), { killAfterMs: KILL_AFTER_MS, ...(expect ? { expect } : {}) });

    // A clean run: it must be exact, and it says how many bytes go each way.
    let bytes: Record<Direction, number>;
    {
      await using f = await startProxy(server);
      const before = f.proxy.stats;
      const r = await run(f.vfs);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await setup.check(r, f.proxy.port), undefined);
      bytes = traffic(before, f.proxy.stats);
      f.proxy.assertSlotSeqidsUnique();
      await setup.reset();
    }

    const failures: Failure[] = [];
    let exit0 = 0;
    let exit1 = 0;
    let cuts = 0;
    let slowest = { ms: 0, seed: 0 };
    const started = performance.now();
    for (let i = 0; i < FAULT_RUNS; i++) {
      const plan = planFor((FAULT_BASE_SEED + i) >>> 0, bytes);
      await using f = await startProxy(server);
      const cut = f.proxy.cutAfterBytes({
        direction: plan.direction,
        seed: plan.seed,
        min: 0,
        max: plan.max,
        times: plan.times,
      });
      let result: RunResult | undefined;
      let why: string | undefined;
      try {
        result = await run(f.vfs);
        cut.cancel();
        cuts += cut.fired;
        why = await setup.check(result, f.proxy.port);
        if (!why && f.proxy.slotViolations().length) {
          try {
            f.proxy.assertSlotSeqidsUnique();
          } catch (e) {
            why = (e as Error).message;
          }
        }
        if (result.ms > slowest.ms) slowest = { ms: result.ms, seed: plan.seed };
        if (result.code === 0) exit0++;
        if (result.code === 1) exit1++;
      } catch (e) {
        why = `the test itself failed: ${e instanceof Error ? e.stack : e}`;
      }
      if (why) {
        failures.push({ plan, why, result, draws: [...cut.draws], logs: [...f.logs] });
        console.error(`${kind} ${vers} FAILED ${describePlan(plan)}: ${why}`);
      }
      await setup.reset();
    }
    const total = performance.now() - started;
    console.log(
      `${kind} --vers ${vers}, ${FAULT_FILE_SIZE / (1024 * 1024)} MiB: ${FAULT_RUNS} runs ` +
        `(seeds ${FAULT_BASE_SEED}..${(FAULT_BASE_SEED + FAULT_RUNS - 1) >>> 0}), ` +
        `${exit0} exit 0, ${exit1} exit 1, ${failures.length} failed, ${cuts} cuts, ` +
        `${secs(total)} s (clean run traffic: ${bytes.toServer} bytes to the server, ` +
        `${bytes.toClient} to the client; slowest run ${secs(slowest.ms)} s, seed ${slowest.seed})`,
    );
    for (const failure of failures) {
      console.error(`--- ${kind} ${vers} ${describePlan(failure.plan)}: ${failure.why}`);
      console.error(`    N drawn: ${failure.draws.join(", ")}`);
      if (failure.result) {
        console.error(
          `    exit ${failure.result.code} after ${secs(failure.result.ms)} s, ` +
            `${failure.result.size} bytes on stdout; stderr:\n${failure.result.stderr}`,
        );
      }
      for (const line of failure.logs.slice(-40)) console.error(`    ${line}`);
    }
    assert.deepEqual(
      failures.map((f) => f.plan.seed),
      [],
      `${kind} --vers ${vers}: failing seeds (repeat one with NFS4_FAULT_SEED=S NFS4_FAULT_RUNS=1)`,
    );
  } finally {
    await fs.rm(local, { recursive: true, force: true });
  }
}

/**
 * Runs that fail today, by `KIND VERS`; ignored until the bug is fixed
 * (`NFS4_FAULT_KNOWN_BUGS=1` runs them). None now: the 4.0 OPEN and RENAME
 * resent on a new connection (which Ganesha ran again) are settled by the
 * client (EXCLUSIVE4 temporaries, outcomes looked up).
 */
const KNOWN_BUGS: Readonly<Record<string, string>> = {};

for (const kind of ["cp up", "cp down", "cat"] as const) {
  for (const vers of VERSIONS) {
    const bug = KNOWN_BUGS[`${kind} ${vers}`];
    Deno.test({
      name: `nfs4 ${kind} --vers ${vers} through seeded connection cuts: ` +
        `byte-exact, or exit 1 with nothing complete-looking` +
        (bug ? ` (known bug: ${bug})` : ""),
      ignore: !hasGanesha || FAULT_RUNS === 0 || (bug !== undefined && !RUN_KNOWN_BUGS),
      sanitizeOps: false,
      sanitizeResources: false,
      fn: () => withServer((server) => seededCuts(server, kind, vers)),
    });
  }
}

for (const vers of VERSIONS) {
  Deno.test({
    name: `nfs4 cat --vers ${vers} through a connection cut instead of every 3rd reply ` +
      `completes byte-exact; no slot/seqid carries two requests`,
    ignore: !hasGanesha,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () =>
      withServer(async (server) => {
        const data = randomBytes(8 * 1024 * 1024 + 4321);
        await fs.writeFile(`${server.exportDir}/f.bin`, data);
        await using f = await startProxy(server);
        f.proxy.cutEveryKthReply(3);
        const r = await runNfs4(
          ["--vers", vers, "--timeout", String(TIMEOUT_S), "cat", `${f.vfs}/f.bin`],
          { expect: data, killAfterMs: KILL_AFTER_MS },
        );
        const stats = f.proxy.stats;
        console.log(
          `cat --vers ${vers} of ${data.length} bytes, every 3rd reply cut: exit ${r.code} ` +
            `in ${secs(r.ms)} s, ${stats.cuts} cuts, ${stats.connections} connections, ` +
            `${f.proxy.opCount("READ")} READ compounds`,
        );
        if (r.code !== 0 || r.firstMismatch !== undefined) f.dump();
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.firstMismatch, undefined, "every byte printed is the file's");
        assert.equal(r.size, data.length);
        assert.ok(stats.cuts >= 3, `the connection was cut (${stats.cuts} times)`);
        f.proxy.assertSlotSeqidsUnique();
      }),
  });
}
