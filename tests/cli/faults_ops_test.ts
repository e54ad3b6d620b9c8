/**
 * Issue 14, "Prove it": a lost or late reply to a state-changing operation.
 *
 * For RENAME, OPEN, OPEN_CONFIRM (4.0 only), LOCK, REMOVE and CREATE, on
 * NFSv4.0 and 4.1, the reply to the first COMPOUND carrying the operation is
 * - `drop`: never forwarded, and every reply (RPC NULL's too) held 2.5 s
 *   from then on: the connection stays, but the client's call times out
 *   after `--timeout 1`, its RPC NULL after another second, and it breaks
 *   the connection and resends on a new one (RFC 7530 §3.1.1, RFC 8881
 *   §2.9.2: never on the connection the request went out on);
 * - `drop-and-cut`: replaced by cutting the connection (it reconnects and
 *   resends),
 * - `delay`: forwarded 1.7 s late, after the client's 1 s timeout: the
 *   server answers RPC NULL meanwhile, so the client waits on for the
 *   reply and does not send the request again.
 *
 * The command that issues the operation:
 * - OPEN, OPEN_CONFIRM, RENAME: `cp FILE URL` (OPEN creates the temporary,
 *   4.0 confirms its new open owner, RENAME puts it in place);
 * - REMOVE (and LINK, not in the issue's list): `cp -n FILE URL` (LINK onto
 *   the final name, REMOVE the temporary's name);
 * - CREATE: `cp -r DIR URL` (CREATE of the directory);
 * - LOCK: `nfs4 lock URL -- true`.
 *
 * Each must succeed exactly once:
 * - exit 0, no `nfs4:` message;
 * - the operation went out as one request: every COMPOUND carrying it has
 *   the same xid (and on 4.1 the same slot and seqid: the recorder finds no
 *   slot/seqid with two payloads); after `drop` and `drop-and-cut` it went
 *   out again (the fault made the client resend it), never twice on one
 *   connection; after `delay` it went out once;
 * - the effect is there once: the destination has the source's bytes, no
 *   `.NAME.nfs4-XXXXXX` temporary is left in the directory;
 * - no stray open: after the command, a second client's OPEN with share
 *   deny BOTH of the file it opened is granted;
 * - on 4.1, `--trace=json` shows `DESTROY_CLIENTID ok` and the server no
 *   longer knows the client ID (a probe's DESTROY_CLIENTID of it gives
 *   NFS4ERR_STALE_CLIENTID).
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import type { OpName } from "../_fault_proxy.ts";
import { hasGanesha, type TestServer, withServer } from "../_server.ts";
import { sha256File, tempDir, temporaries, writeRandom } from "./_cp.ts";
import {
  type ProxyFixture,
  RUN_KNOWN_BUGS,
  runNfs4,
  secs,
  startProxy,
  type Version,
  VERSIONS,
} from "./_faults.ts";
import {
  destroyClientIdStatus,
  exclusiveOpenStatus,
  messageLines,
  traceClientId,
  traceEvents,
} from "./_spawn.ts";

/** Per call: a dropped reply costs this much before the resend. */
const TIMEOUT_S = 1;
/** Past the client's timeout, well inside its retry budget (4 × 1 s). */
const DELAY_MS = 1700;

type Fate = "drop" | "drop-and-cut" | "delay";
const FATES: readonly Fate[] = ["drop", "drop-and-cut", "delay"];

/** What the test works with. */
interface Ctx {
  server: TestServer;
  /** A local directory with `src` (a file) and `tree/a` (a directory with a file). */
  local: string;
  srcSha: string;
}

/** One command that issues the operation, and how to check its effect. */
interface Scenario {
  /** The command's arguments for a destination (or lock file) `name` under `vfs`. */
  args(vfs: string, name: string, ctx: Ctx): string[];
  /** Run before the command (a lock file to exist). */
  before?(name: string, ctx: Ctx): Promise<void>;
  /** The effect is there exactly once. */
  check(name: string, ctx: Ctx): Promise<void>;
  /** The server path of the file the command opened (for the stray-open probe). */
  opened(name: string): string;
}

/** No `.NAME.nfs4-XXXXXX` of this destination is left in `dir`. */
async function assertNoTemporaries(dir: string, name: string): Promise<void> {
  const left = (await temporaries(dir)).filter((t) => t.startsWith(`.${name}.nfs4-`));
  assert.deepEqual(left, [], `no temporary of ${name} left in ${dir}`);
}

/** `cp FILE URL`: a new file, through a temporary. */
const COPY: Scenario = {
  args: (vfs, name, ctx) => ["cp", `${ctx.local}/src`, `${vfs}/${name}`],
  async check(name, ctx) {
    assert.equal(await sha256File(`${ctx.server.exportDir}/${name}`), ctx.srcSha, "the bytes");
    await assertNoTemporaries(ctx.server.exportDir, name);
  },
  opened: (name) => `/vfs/${name}`,
};

/** `cp -n FILE URL`: LINK onto the name, REMOVE of the temporary's name. */
const COPY_NO_CLOBBER: Scenario = {
  ...COPY,
  args: (vfs, name, ctx) => ["cp", "-n", `${ctx.local}/src`, `${vfs}/${name}`],
  async check(name, ctx) {
    await COPY.check(name, ctx);
    const st = await fs.stat(`${ctx.server.exportDir}/${name}`);
    assert.equal(st.nlink, 1, "one link: the temporary's name is gone");
  },
};

/** `cp -r DIR URL`: CREATE of the directory, then its file. */
const COPY_TREE: Scenario = {
  args: (vfs, name, ctx) => ["cp", "-r", `${ctx.local}/tree`, `${vfs}/${name}`],
  async check(name, ctx) {
    const dir = `${ctx.server.exportDir}/${name}`;
    assert.ok((await fs.stat(dir)).isDirectory(), "the directory");
    assert.deepEqual((await fs.readdir(dir)).sort(), ["a"], "its one file, nothing else");
    assert.equal(await sha256File(`${dir}/a`), ctx.srcSha, "the file's bytes");
    await assertNoTemporaries(ctx.server.exportDir, name);
  },
  opened: (name) => `/vfs/${name}/a`,
};

/** `lock URL -- true`: OPEN, LOCK, (true runs), LOCKU, CLOSE. */
const LOCK: Scenario = {
  args: (vfs, name) => ["lock", `${vfs}/${name}`, "--", "true"],
  async before(name, ctx) {
    await fs.writeFile(`${ctx.server.exportDir}/${name}`, "lock file\n");
  },
  async check(name, ctx) {
    assert.equal(
      await fs.readFile(`${ctx.server.exportDir}/${name}`, "utf8"),
      "lock file\n",
      "the lock file is untouched",
    );
  },
  opened: (name) => `/vfs/${name}`,
};

interface OpCase {
  op: OpName;
  versions: readonly Version[];
  scenario: Scenario;
}

const CASES: readonly OpCase[] = [
  { op: "OPEN", versions: VERSIONS, scenario: COPY },
  { op: "OPEN_CONFIRM", versions: ["4.0"], scenario: COPY },
  { op: "RENAME", versions: VERSIONS, scenario: COPY },
  { op: "LOCK", versions: VERSIONS, scenario: LOCK },
  { op: "REMOVE", versions: VERSIONS, scenario: COPY_NO_CLOBBER },
  { op: "LINK", versions: VERSIONS, scenario: COPY_NO_CLOBBER },
  { op: "CREATE", versions: VERSIONS, scenario: COPY_TREE },
];

/**
 * Cases that fail today, each with the bug; ignored until it is fixed
 * (`NFS4_FAULT_KNOWN_BUGS=1` runs them). None now. The 4.0 resends on a new
 * connection that Ganesha's per-connection duplicate request cache does not
 * know (so it runs them again) are settled by the client: the temporary is
 * created EXCLUSIVE4 (a resend finds it by its verifier), and a RENAME,
 * REMOVE or CREATE whose failure answered a resend is looked up.
 */
const KNOWN_BUGS: Readonly<Record<string, string>> = {};

function arm(f: ProxyFixture, op: OpName, fate: Fate) {
  switch (fate) {
    case "drop": {
      const fault = f.proxy.dropReply(op);
      void fault.firstFired.then(() => f.proxy.stall({ direction: "toClient", seconds: 2.5 }));
      return fault;
    }
    case "drop-and-cut":
      return f.proxy.dropReplyAndCut(op);
    case "delay":
      return f.proxy.delayReply(op, DELAY_MS);
  }
}

async function lostReply(ctx: Ctx, c: OpCase, vers: Version, fate: Fate): Promise<void> {
  const name = `${c.op.toLowerCase()}-${vers}-${fate}`;
  await c.scenario.before?.(name, ctx);
  await using f = await startProxy(ctx.server);
  const fault = arm(f, c.op, fate);
  const r = await runNfs4(
    [
      "--vers",
      vers,
      "--timeout",
      String(TIMEOUT_S),
      "--trace=json",
      ...c.scenario.args(f.vfs, name, ctx),
    ],
    { killAfterMs: 60_000 },
  );
  const what = `${c.op} ${fate} on ${vers}`;
  let ok = false;
  try {
    assert.equal(fault.fired, 1, `${what}: the fault acted once`);
    assert.deepEqual(messageLines(r.stderr), [], `${what}: no message`);
    assert.equal(r.code, 0, `${what}: exit 0`);
    const calls = f.proxy.compoundsWith(c.op);
    if (fate === "delay") {
      // The server answered RPC NULL: the request is waited for, not sent
      // again on its connection (RFC 7530 §3.1.1, RFC 8881 §2.9.2).
      assert.equal(calls.length, 1, `${what}: the request was not resent (${calls.length} sent)`);
    } else {
      assert.ok(calls.length >= 2, `${what}: the request was resent (${calls.length} sent)`);
    }
    const connections = calls.map((call) => call.connection);
    assert.equal(
      new Set(connections).size,
      connections.length,
      `${what}: never sent twice on one connection (${connections.join(", ")})`,
    );
    assert.deepEqual(
      [...new Set(calls.map((call) => call.xid))],
      [calls[0]!.xid],
      `${what}: every ${c.op} COMPOUND is the same request (one xid)`,
    );
    if (vers === "4.1") {
      const seqs = new Set(
        calls.map((call) => `${call.sequence?.slotId}/${call.sequence?.sequenceId}`),
      );
      assert.equal(seqs.size, 1, `${what}: one slot and seqid`);
      assert.ok(calls.every((call) => call.sequence?.cachethis), `${what}: sa_cachethis`);
    }
    f.proxy.assertSlotSeqidsUnique();
    await c.scenario.check(name, ctx);
    assert.equal(
      await exclusiveOpenStatus(ctx.server, vers, c.scenario.opened(name)),
      "NFS4_OK",
      `${what}: no open left on the server`,
    );
    if (vers === "4.1") {
      const events = traceEvents(r.stderr);
      const clid = events.filter((e) => e.cat === "clid").map((e) => e.event);
      assert.ok(clid.includes("DESTROY_CLIENTID ok"), `${what}: ${clid.join(", ")}`);
      assert.equal(
        await destroyClientIdStatus(ctx.server, traceClientId(events)),
        "NFS4ERR_STALE_CLIENTID",
        `${what}: the server no longer knows the client ID`,
      );
    }
    ok = true;
  } finally {
    if (!ok) {
      console.error(`--- ${what}: exit ${r.code} after ${secs(r.ms)} s`);
      console.error(
        r.stderr.split("\n").filter((l) =>
          !l.startsWith("{") || /"(retry|conn|sess|clid|open|lock)"/.test(l)
        )
          .join("\n"),
      );
      f.dump();
    }
  }
}

for (const c of CASES) {
  for (const vers of c.versions) {
    Deno.test({
      name: `nfs4 --vers ${vers}: a dropped, cut or late reply to ${c.op} ` +
        `(${c.scenario.args("URL", "NAME", { local: "LOCAL" } as Ctx).join(" ")}): ` +
        `done exactly once, nothing left behind`,
      ignore: !hasGanesha,
      sanitizeOps: false,
      sanitizeResources: false,
      fn: (t) =>
        withServer(async (server) => {
          const local = await tempDir("nfs4-faults-");
          try {
            const srcSha = await writeRandom(`${local}/src`, 300 * 1024 + 7);
            await fs.mkdir(`${local}/tree`);
            await fs.copyFile(`${local}/src`, `${local}/tree/a`);
            const ctx: Ctx = { server, local, srcSha };
            for (const fate of FATES) {
              const bug = KNOWN_BUGS[`${c.op} ${vers} ${fate}`];
              await t.step({
                name: `${fate}${bug ? ` (known bug: ${bug})` : ""}`,
                ignore: bug !== undefined && !RUN_KNOWN_BUGS,
                fn: () => lostReply(ctx, c, vers, fate),
              });
            }
          } finally {
            await fs.rm(local, { recursive: true, force: true });
          }
        }),
    });
  }
}
