/**
 * `nfs4 simulate-reboot --server` against Ganesha, rebooted by the
 * test-server script, on NFSv4.0 and NFSv4.1: the state manager notices
 * (STALE_STATEID then STALE_CLIENTID on 4.0, BADSESSION then STALE_CLIENTID
 * on 4.1), re-establishes the client ID, reclaims the open with
 * CLAIM_PREVIOUS and the lock with reclaim set, sends RECLAIM_COMPLETE on
 * 4.1 (RFC 7530 §9.6.2, RFC 8881 §8.4.2), and the data and the lock are
 * still there afterwards. The trace and a tshark capture must agree.
 */

import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hasTshark, startCapture } from "../_tshark.ts";
import { probeClient } from "./_spawn.ts";
import {
  assertInOrder,
  check,
  CLAIM_PREVIOUS,
  decodeReclaims,
  drillTest,
  mainEvents,
  OP,
  restartCommand,
  runDrill,
} from "./_simulate_reboot.ts";

const ORIGINAL = "0123456789".repeat(20);

for (const vers of ["4.0", "4.1"] as const) {
  drillTest(
    `simulate-reboot --server recovers open and lock in grace on NFSv${vers}: trace and capture show the reclaims`,
    async (server) => {
      writeFileSync(join(server.exportDir, "drill"), ORIGINAL);
      const capture = hasTshark ? await startCapture(server.port) : undefined;
      let run;
      try {
        run = await runDrill(server, vers, ["--force", "--restart-cmd", restartCommand(server)]);
      } finally {
        await capture?.stop();
      }
      const { code, report, events, stderr } = run;
      assert.equal(code, 0, `${report.verdict}\n${stderr.slice(-2000)}`);
      assert.equal(report.result, "recovered");
      assert.match(
        report.verdict,
        new RegExp(`^ok: all state recovered and verified on NFSv${vers}`),
      );
      assert.deepEqual(report.checks.filter((c) => c.status === "fail"), []);
      assert.equal(report.minorVersion, vers === "4.0" ? 0 : 1);
      assert.equal(report.restart?.code, 0);

      // The trace: the recovery steps in order, from the state manager.
      const main = mainEvents(events);
      assertInOrder(main, [
        "connection lost",
        ...(vers === "4.0" ? ["+CHECK_LEASE", "RENEW -> NFS4ERR_STALE_CLIENTID"] : [
          "+SESSION_RESET",
        ]),
        "+LEASE_EXPIRED",
        "RECLAIM_REBOOT start",
        "OPEN(CLAIM_PREVIOUS) reclaimed",
        "LOCK(reclaim) reclaimed",
        ...(vers === "4.1" ? ["RECLAIM_COMPLETE ok"] : []),
        "-RECLAIM_REBOOT",
      ]);
      const leaseSet = main.find((e) => e.event === "+LEASE_EXPIRED" && e.detail !== "new client");
      assert.match(
        String(leaseSet?.detail),
        vers === "4.0"
          ? /RENEW -> NFS4ERR_STALE_CLIENTID/
          : /CREATE_SESSION -> NFS4ERR_STALE_CLIENTID/,
      );
      assert.match(
        String(report.recovery.detectedBy),
        vers === "4.0" ? /READ -> NFS4ERR_STALE_STATEID/ : /SEQUENCE -> NFS4ERR_BADSESSION/,
      );
      assert.notEqual(report.recovery.newClientId, report.stateBefore.clientId);
      assert.equal(report.recovery.reclaimComplete, vers === "4.1" ? "ok" : null);
      assert.equal(report.recovery.noGrace, false);
      for (const key of ["detectMs", "reestablishMs", "reclaimMs", "recoveryMs"]) {
        const value = report.durations[key];
        assert.ok(typeof value === "number" && value >= 0 && value < 5000, `${key}: ${value}`);
      }
      assert.ok(check(report, "reboot detected").status === "ok");
      assert.equal(check(report, "open reclaimed with CLAIM_PREVIOUS").status, "ok");
      assert.equal(check(report, "lock reclaimed with reclaim=true").status, "ok");

      // Another client owner: the lock is still ours, its LOCK refused.
      assert.match(check(report, "another client's LOCKT before the reboot").detail, /held by/);
      const lockt = check(report, "another client's LOCKT after recovery");
      assert.equal(lockt.status, "ok");
      assert.ok(lockt.detail.includes(`clientid ${report.recovery.newClientId}`), lockt.detail);
      const lock = check(report, "another client's LOCK after recovery");
      assert.equal(lock.status, "ok");
      assert.match(lock.detail, /refused \(NFS4ERR_DENIED\)/);

      // The data written before and after the reboot is on the server's disk.
      assert.equal(check(report, "READ after the reboot").status, "ok");
      assert.equal(check(report, "WRITE after the reboot").status, "ok");
      const disk = readFileSync(join(server.exportDir, "drill"), "utf8");
      const before = report.setup.marker;
      assert.ok(disk.startsWith(before), JSON.stringify(disk.slice(0, 80)));
      const after = /^nfs4 simulate-reboot [0-9a-f]{8} after\n/.exec(disk.slice(before.length));
      assert.ok(after, JSON.stringify(disk.slice(0, 120)));
      const written = before.length + after[0].length;
      assert.equal(
        disk.slice(written),
        ORIGINAL.slice(written),
        "bytes past the markers unchanged",
      );
      assert.equal(report.setup.created, false);
      // --force: the file is left in place, the markers in it (and only there).
      assert.deepEqual(report.file, {
        url: `${server.url}/vfs/drill`,
        path: "/vfs/drill",
        origin: "forced",
        created: false,
        removed: false,
        truncated: false,
        written: `0-${written - 1}`,
        cleanupError: null,
      });

      // The wire: OPEN with CLAIM_PREVIOUS, LOCK with reclaim, then RECLAIM_COMPLETE (4.1).
      if (capture) {
        const calls = await decodeReclaims(capture.file, server.port);
        const reclaimOpen = calls.find((c) => c.claimTypes.includes(CLAIM_PREVIOUS));
        assert.ok(reclaimOpen, "an OPEN with CLAIM_PREVIOUS on the wire");
        assert.ok(reclaimOpen.ops.includes(OP.OPEN));
        const reclaimLock = calls.find((c) => c.ops.includes(OP.LOCK) && c.lockReclaims[0]);
        assert.ok(reclaimLock, "a LOCK with reclaim=true on the wire");
        assert.ok(reclaimLock.frame > reclaimOpen.frame, "the lock is reclaimed after its open");
        assert.equal(
          calls.filter((c) => c.ops.includes(OP.LOCK) && c.lockReclaims[0]).length,
          1,
          "one reclaiming LOCK",
        );
        // Each client that re-establishes sends one (the observer too): ours is in our session.
        const complete = calls.filter((c) =>
          c.ops.includes(OP.RECLAIM_COMPLETE) && c.frame > reclaimLock.frame &&
          (vers === "4.0" || c.session === reclaimLock.session)
        );
        assert.equal(
          complete.length,
          vers === "4.1" ? 1 : 0,
          "RECLAIM_COMPLETE after the reclaims",
        );
        if (vers === "4.1") {
          assert.equal(reclaimLock.session, reclaimOpen.session);
          assert.equal(reclaimOpen.session, report.recovery.newSession, "in the new session");
        }
      }

      // The drill cleaned up: nothing of it is left on the server.
      const probe = await probeClient(server, vers);
      try {
        const file = await probe.open("/vfs/drill", { access: "both" });
        await file.lock({ type: "write", offset: 0n, length: 0xffff_ffff_ffff_ffffn });
        await file.close();
      } finally {
        await probe.close();
      }
    },
  );
}
