/**
 * `nfs4 simulate-reboot --fail-reclaim open` against Ganesha on NFSv4.0 and
 * NFSv4.1, the seeds' NFS_CONTEXT_BAD case: the open's reclaim after the
 * server reboot is made to fail, the state manager marks the open (and the
 * lock that hangs off it) bad (the kernel's nfs4_state_mark_recovery_failed),
 * the next READ and WRITE through it fail with EBADF naming the file, the
 * client ID is re-established as usual, and the drill ends partial (exit 1).
 * The drill's file is a new one: it is removed at the end all the same.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  assertInOrder,
  check,
  drillTest,
  mainEvents,
  restartCommand,
  runDrill,
} from "./_simulate_reboot.ts";

for (const vers of ["4.0", "4.1"] as const) {
  drillTest(
    `simulate-reboot --fail-reclaim open: open marked bad, EBADF on READ and WRITE, partial (NFSv${vers})`,
    async (server) => {
      const onDisk = join(server.exportDir, "drill");
      assert.equal(existsSync(onDisk), false);
      const url = `${server.url}/vfs/drill`;
      const { code, report, events, stderr } = await runDrill(server, vers, [
        "--fail-reclaim",
        "open",
        "--restart-cmd",
        restartCommand(server),
      ]);
      assert.equal(code, 1, stderr.slice(-2000));
      assert.equal(report.result, "partial");
      assert.equal(report.failReclaim, "open");
      assert.match(
        report.verdict,
        new RegExp(
          `^partial: recovery was partial on NFSv${vers}: the open of /vfs/drill and its lock were lost`,
        ),
      );
      assert.deepEqual(report.checks.filter((c) => c.status === "fail"), [], report.verdict);

      // The state manager did the rest of the recovery as usual.
      assert.equal(check(report, "reboot detected").status, "ok");
      assert.equal(check(report, "client ID re-established").status, "ok");
      if (vers === "4.1") assert.equal(check(report, "RECLAIM_COMPLETE sent").status, "ok");
      assert.match(check(report, "open reclaim fails as injected").detail, /fault injected/);
      assert.equal(check(report, "lock not reclaimed").status, "ok");
      assertInOrder(mainEvents(events), [
        "+LEASE_EXPIRED",
        "RECLAIM_REBOOT start",
        "reclaim fault injected",
        "recovery failed, state marked bad",
        "-RECLAIM_REBOOT",
      ]);
      assert.ok(!mainEvents(events).some((e) => e.event === "OPEN(CLAIM_PREVIOUS) reclaimed"));

      // EBADF, naming the file, for READ and WRITE through the lost open.
      for (const name of ["READ after the reboot", "WRITE after the reboot"]) {
        const c = check(report, name);
        assert.equal(c.status, "ok", c.detail);
        assert.ok(
          c.detail.startsWith(`refused: ${url}: Bad file descriptor: state lost in recovery`),
          c.detail,
        );
      }
      const open = report.stateAfter.opens.find((o) => o.path === "/vfs/drill");
      assert.match(String(open?.lost), /reclaim failed \(fault injected\)/);

      // The server let the unreclaimed lock go: another client gets it.
      assert.match(
        check(report, "another client's LOCKT after recovery").detail,
        /no conflicting lock/,
      );
      assert.match(check(report, "another client's LOCK after recovery").detail, /^granted/);

      // The file the drill created is gone, although its open was lost.
      assert.equal(report.file?.origin, "new");
      assert.equal(report.file?.created, true);
      assert.equal(report.file?.removed, true, String(report.file?.cleanupError));
      assert.equal(existsSync(onDisk), false, "the drill's file was removed");
    },
  );
}
