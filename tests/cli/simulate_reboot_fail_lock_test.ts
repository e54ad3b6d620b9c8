/**
 * `nfs4 simulate-reboot --fail-reclaim lock` against Ganesha on NFSv4.0 and
 * NFSv4.1: the open is reclaimed with CLAIM_PREVIOUS, the lock's reclaim is
 * made to fail and the state manager marks the lock bad; the data through
 * the open is intact, the lost lock refuses with EBADF, another client can
 * take the range, and the drill ends partial (exit 1).
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  assertInOrder,
  check,
  drillTest,
  mainEvents,
  restartCommand,
  runDrill,
} from "./_simulate_reboot.ts";

function failLock(server: Parameters<typeof restartCommand>[0], vers: "4.0" | "4.1") {
  writeFileSync(join(server.exportDir, "drill"), "old contents\n");
  return runDrill(server, vers, [
    "--force",
    "--fail-reclaim",
    "lock",
    "--restart-cmd",
    restartCommand(server),
  ]);
}

for (const vers of ["4.0", "4.1"] as const) {
  drillTest(
    `simulate-reboot --fail-reclaim lock: lock marked bad, open reclaimed, partial (NFSv${vers})`,
    async (server) => {
      const url = `${server.url}/vfs/drill`;
      const { code, report, events, stderr } = await failLock(server, vers);
      assert.equal(code, 1, stderr.slice(-2000));
      assert.equal(report.result, "partial");
      assert.match(
        report.verdict,
        new RegExp(
          `^partial: recovery was partial on NFSv${vers}: the lock on /vfs/drill was lost, the open was reclaimed`,
        ),
      );
      assert.deepEqual(report.checks.filter((c) => c.status === "fail"), []);
      assert.equal(check(report, "open reclaimed with CLAIM_PREVIOUS").status, "ok");
      assert.match(check(report, "lock reclaim fails as injected").detail, /fault injected/);
      if (vers === "4.1") assert.equal(check(report, "RECLAIM_COMPLETE sent").status, "ok");
      assertInOrder(mainEvents(events), [
        "RECLAIM_REBOOT start",
        "OPEN(CLAIM_PREVIOUS) reclaimed",
        "reclaim fault injected",
        "lock recovery failed, lock marked bad",
        "-RECLAIM_REBOOT",
      ]);

      // The open works: the marker reads back through the reclaimed open stateid.
      assert.match(check(report, "READ after the reboot").detail, /the marker is intact/);
      // The lock state refuses with EBADF, naming the file.
      const locku = check(report, "LOCKU through the lost lock state");
      assert.equal(locku.status, "ok");
      assert.ok(
        locku.detail.startsWith(`refused: ${url}: Bad file descriptor: state lost in recovery`),
        locku.detail,
      );
      const open = report.stateAfter.opens.find((o) => o.path === "/vfs/drill");
      assert.equal(open?.lost, undefined);
      assert.match(String(open?.locks[0]?.lost), /lock reclaim failed \(fault injected\)/);

      // The server let the lock go: another client gets it.
      assert.match(
        check(report, "another client's LOCKT after recovery").detail,
        /no conflicting lock/,
      );
      assert.match(check(report, "another client's LOCK after recovery").detail, /^granted/);
    },
  );

  // Regression: a WRITE by a process whose lock was lost in recovery used to
  // go through with the open stateid (kernel: nfs4_select_rw_stateid refuses
  // I/O through a lost lock).
  drillTest(
    `simulate-reboot --fail-reclaim lock: the next WRITE fails with EBADF (NFSv${vers})`,
    async (server) => {
      const url = `${server.url}/vfs/drill`;
      const { report } = await failLock(server, vers);
      const write = check(report, "WRITE after the reboot");
      assert.equal(write.status, "ok", write.detail);
      assert.ok(
        write.detail.startsWith(`refused: ${url}: Bad file descriptor: state lost in recovery`),
        write.detail,
      );
    },
  );
}
