/**
 * `nfs4 simulate-reboot --server` judges itself against the server as it is
 * at the end (issue 15 item 5): a second restart 0.1-0.9 s after the first,
 * while the drill recovers, gives the client a third client ID; the drill
 * must recover again and compare another client's LOCKT and LOCK with that
 * client ID and our lock owner, not the first restart's.
 */

import assert from "node:assert/strict";
import { check, drillTest, restartCommand, runDrill } from "./_simulate_reboot.ts";

for (const vers of ["4.0", "4.1"] as const) {
  for (const gap of [0.1, 0.9]) {
    drillTest(
      `simulate-reboot --server: two restarts ${gap} s apart during recovery end ok on the current client ID (NFSv${vers})`,
      async (server) => {
        const restart = restartCommand(server);
        // The command returns after the first restart; the second comes
        // while the drill recovers and verifies.
        const twice = `${restart} && { (sleep ${gap}; ${restart}) >/dev/null 2>&1 & }`;
        const run = await runDrill(server, vers, ["--restart-cmd", twice]);
        const { code, report } = run;
        const connects = run.events.filter((e) =>
          e.client === "main" && /^(SETCLIENTID|EXCHANGE_ID) ok$/.test(e.event)
        );
        assert.ok(connects.length >= 3, `three client IDs: ${connects.length}`);
        const ids = (report.recovery as unknown as { clientIds: string[] }).clientIds;
        assert.ok(ids.length >= 2, `client IDs after the reboot: ${ids.join(", ")}`);
        assert.equal(ids.at(-1), report.stateAfter.clientId);
        assert.match(
          check(report, "client ID re-established").detail,
          /in between: the server rebooted again during recovery/,
        );
        assert.equal(code, 0, report.verdict);
        assert.equal(report.result, "recovered");
        assert.deepEqual(report.checks.filter((c) => c.status === "fail"), []);
        const current = report.stateAfter.clientId;
        const lockt = check(report, "another client's LOCKT after recovery");
        assert.equal(lockt.status, "ok");
        assert.ok(lockt.detail.includes(`clientid ${current}`), lockt.detail);
        const lock = check(report, "another client's LOCK after recovery");
        assert.equal(lock.status, "ok");
        assert.ok(lock.detail.includes(`clientid ${current}`), lock.detail);
        assert.equal(report.file?.removed, true);
      },
    );
  }
}
