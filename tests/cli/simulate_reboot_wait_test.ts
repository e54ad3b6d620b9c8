/**
 * `nfs4 simulate-reboot --server --wait N` without `--restart-cmd`: the
 * server is restarted by hand while the drill waits (issue 15 item 5). The
 * drill asks the server about once a second (RENEW on 4.0, SEQUENCE on
 * 4.1) instead of leaving it to the renewer (every 13 s with a 20 s
 * lease): a restart is noticed, recovered from and verified; with no
 * restart at all it says the server did not go away and does not call the
 * state verified that the server never confirmed.
 */

import assert from "node:assert/strict";
import { check, drillResult, drillTest, runDrill, startDrill } from "./_simulate_reboot.ts";

const LONG_LEASE = 20;

for (const vers of ["4.0", "4.1"] as const) {
  drillTest(
    `simulate-reboot --wait: a restart by hand while the drill probes the lease is noticed, recovered and verified (NFSv${vers})`,
    async (server) => {
      const drill = startDrill(server, vers, ["--wait", "30"]);
      await drill.waitFor("stderr", /restart the NFS server at .* now/, 30_000);
      await server.restart();
      const run = drillResult(await drill.done);
      const { code, report } = run;
      assert.equal(code, 0, report.verdict);
      assert.equal(report.result, "recovered");
      assert.deepEqual(report.checks.filter((c) => c.status === "fail"), []);
      assert.equal(check(report, "reboot detected").status, "ok");
      // By a probe's answer, or by the READ that follows the lost connection.
      assert.match(
        check(report, "reboot detected").detail,
        /NFS4ERR_(STALE_CLIENTID|STALE_STATEID|BADSESSION)/,
      );
      assert.equal(check(report, "no state lost").status, "ok");
      assert.notEqual(report.stateAfter.clientId, report.stateBefore.clientId);
      // Noticed within a probe or two of the server's return, long before a renewal.
      const detected = run.events.find((e) =>
        e.client === "main" && /^\+(CHECK_LEASE|SESSION_RESET|LEASE_EXPIRED)$/.test(e.event) &&
        /NFS4ERR_/.test(String(e.detail))
      );
      assert.ok(detected, "a recovery flag set from the server's answer");
      assert.equal(report.file?.removed, true);
      const probes = run.events.filter((e) =>
        e.client === "main" && /^(RENEW|SEQUENCE) (ok|->)/.test(e.event)
      );
      assert.ok(probes.length >= 1, `lease probes while waiting: ${probes.length}`);
    },
  );

  drillTest(
    `simulate-reboot --wait: with no restart the drill fails and calls nothing verified that the server did not confirm (NFSv${vers})`,
    async (server) => {
      const run = await runDrill(server, vers, ["--wait", "3"]);
      const { code, report } = run;
      assert.equal(code, 1);
      assert.equal(report.result, "failed");
      assert.match(check(report, "server reboot").detail, /did not go away within 3 s/);
      const lost = check(report, "no state lost");
      assert.equal(lost.status, "info");
      assert.match(lost.detail, /not verified/);
      assert.deepEqual(
        report.checks.filter((c) => c.status === "ok").map((c) => c.name),
        ["another client's LOCKT before the reboot"],
      );
      // A 20 s lease is renewed every 13 s: these are the drill's own probes.
      const probes = run.events.filter((e) =>
        e.client === "main" && /^(RENEW|SEQUENCE) ok$/.test(e.event)
      );
      assert.ok(probes.length >= 2, `lease probes while waiting: ${probes.length}`);
      assert.equal(report.file?.removed, true);
    },
    { leaseSeconds: LONG_LEASE },
  );
}
