/**
 * `nfs4 simulate-reboot --wait` against a server that stays in its grace
 * period, on NFSv4.0 and NFSv4.1. Clients that held state before a reboot
 * and never come back ("ghosts" in the server's recovery records) keep the
 * server in grace for the whole period (RFC 7530 §9.6.2, RFC 8881 §8.4.2):
 *
 * - a drill started while the server is in grace: its setup OPEN is
 *   refused with NFS4ERR_GRACE, which --wait bounds (it was waited out for
 *   the whole grace period): one line names the URL, the grace period and
 *   the status, exit 1, nothing left behind;
 * - a drill whose own recovery went well but whose second client is still
 *   refused with NFS4ERR_GRACE at the --wait deadline: the verdict says the
 *   other client's step timed out, never that our recovery did not finish.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import { check, drillArgs, drillResult, drillTest, restartCommand } from "./_simulate_reboot.ts";
import { startNfs4 } from "./_lock.ts";
import type { TestServer } from "../_server.ts";

/** Long beside --wait: a drill that waits it out overruns by far. */
const GRACE = 20;
const WAIT = 3;

/**
 * Clients that open a file and crash: after a restart their records keep the
 * server in grace. Two, as Ganesha lifts grace once as many clients have
 * sent RECLAIM_COMPLETE as it has records, and the drill's own 4.1 client
 * sends one.
 */
async function leaveGhosts(server: TestServer, vers: "4.0" | "4.1"): Promise<void> {
  for (const name of ["ghost1", "ghost2"]) {
    const ghost = await Nfs4Client.connect({
      host: "127.0.0.1",
      port: server.port,
      version: vers,
      clientId: `simulate-reboot-bounded-test-${crypto.randomUUID()}`,
    });
    await ghost.open(`/vfs/${name}`, { access: "both", create: "unchecked" });
    await ghost.crash();
  }
}

function drillFilesIn(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith(".nfs4-drill-"));
}

for (const vers of ["4.0", "4.1"] as const) {
  drillTest(
    `simulate-reboot --wait ${WAIT} started while the server is in grace: the setup's OPEN answered NFS4ERR_GRACE is bounded by --wait, one line, exit 1 (NFSv${vers})`,
    async (server) => {
      await leaveGhosts(server, vers);
      await server.restart();
      assert.equal(await server.inGrace(), true, "the ghosts keep the server in grace");
      const url = `${server.url}/vfs/`;
      const ended = await startNfs4([
        "--vers",
        vers,
        "simulate-reboot",
        "--wait",
        String(WAIT),
        "--restart-cmd",
        "true",
        url,
      ]).done;
      assert.ok(
        ended.ms < (WAIT + 4) * 1000,
        `--wait ${WAIT} ended after ${ended.ms.toFixed(0)} ms (grace: ${GRACE} s)`,
      );
      assert.equal(ended.code, 1, ended.stderr);
      assert.equal(ended.stdout, "");
      assert.match(
        ended.stderr,
        new RegExp(
          `^nfs4: ${RegExp.escape(url)}: the server stayed in its grace period ` +
            `through --wait \\(${WAIT} s\\): .*OPEN.*NFS4ERR_GRACE[^\n]*\n$`,
        ),
      );
      assert.deepEqual(drillFilesIn(server.exportDir), []);
      assert.equal(await server.inGrace(), true, "ended inside the grace period");
    },
    { graceSeconds: GRACE, leaseSeconds: 15 },
  );

  drillTest(
    `simulate-reboot: another client still refused with NFS4ERR_GRACE at the --wait deadline is its step timing out, not our recovery (NFSv${vers})`,
    async (server) => {
      await leaveGhosts(server, vers);
      const ended = await startNfs4(
        drillArgs(server, vers, [
          "--wait",
          String(WAIT + 1),
          "--restart-cmd",
          restartCommand(server),
        ]),
      ).done;
      const run = drillResult(ended);
      const { code, report, stderr } = run;
      assert.equal(code, 1, report.verdict);
      assert.equal(report.result, "failed");
      // Our own client recovered: those checks pass, and none blames recovery.
      assert.equal(check(report, "open reclaimed with CLAIM_PREVIOUS").status, "ok");
      assert.equal(check(report, "lock reclaimed with reclaim=true").status, "ok");
      assert.equal(check(report, "READ after the reboot").status, "ok");
      assert.equal(report.checks.find((c) => c.name === "recovery"), undefined);
      assert.doesNotMatch(stderr, /recovery did not finish/);
      // The other client's step is named, with why it waited.
      const view = check(report, "another client's view");
      assert.equal(view.status, "fail");
      assert.match(
        view.detail,
        new RegExp(
          `^another client's (LOCKT|OPEN|LOCK) .*: no answer within --wait \\(${
            WAIT + 1
          } s\\); that client's last retry: .*NFS4ERR_GRACE.*: the other client's step timed out, not our recovery`,
        ),
      );
      assert.match(report.verdict, /another client's view: another client's/);
      assert.equal(check(report, "no state lost").status, "info");
      assert.match(stderr, /simulate-reboot: another client's \S+ .* did not finish/);
    },
    { graceSeconds: GRACE, leaseSeconds: 15 },
  );
}
