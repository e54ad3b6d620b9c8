/**
 * `nfs4 simulate-reboot --client` against Ganesha on NFSv4.0 and NFSv4.1:
 * the client drops its state without a word to the server and comes back as
 * the same client owner with a new boot verifier; the server must release
 * the old incarnation's open and lock at once, not when its lease runs out
 * (RFC 7530 §9.1.1 SETCLIENTID with a new verifier, RFC 8881 §18.35.4
 * EXCHANGE_ID: "client restart").
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { probeClient } from "./_spawn.ts";
import {
  assertInOrder,
  check,
  drillTest,
  LEASE,
  mainEvents,
  runDrill,
} from "./_simulate_reboot.ts";

for (const vers of ["4.0", "4.1"] as const) {
  drillTest(
    `simulate-reboot --client: the server releases the crashed incarnation's open and lock on NFSv${vers}`,
    async (server) => {
      writeFileSync(join(server.exportDir, "drill"), "x".repeat(300));
      const { code, report, events, stderr } = await runDrill(server, vers, [
        "--force",
        "--client",
        "--range",
        "100:50",
      ]);
      assert.equal(code, 0, `${report.verdict}\n${stderr.slice(-2000)}`);
      assert.equal(report.result, "recovered");
      assert.match(
        report.verdict,
        /^ok: the server released the crashed incarnation's open and lock/,
      );
      assert.deepEqual(report.checks.filter((c) => c.status === "fail"), []);
      assert.equal(report.range, "100-149");

      // Before: another client sees our lock; after the crash the server still holds it.
      assert.equal(check(report, "another client's LOCKT before the crash").status, "ok");
      const kept = check(report, "the server keeps the old incarnation's lock after the crash");
      assert.equal(kept.status, "ok");
      assert.ok(kept.detail.includes(`clientid ${report.stateBefore.clientId}`), kept.detail);

      // Back as the same owner, a new client ID; the old open and lock are gone.
      assert.equal(check(report, "same client owner, new boot verifier").status, "ok");
      assert.notEqual(report.stateAfter.clientId, report.stateBefore.clientId);
      assert.match(check(report, "old open released").detail, /share deny WRITE was granted/);
      assert.match(check(report, "old lock released").detail, /LOCK write 100-149 was granted/);
      assert.equal(check(report, "data written before the crash").status, "ok");
      const after = check(report, "another client's LOCKT after the reboot");
      assert.ok(after.detail.includes(`clientid ${report.stateAfter.clientId}`), after.detail);
      const released = report.durations.releasedAfterMs;
      assert.ok(typeof released === "number" && released < LEASE * 1000, `${released} ms`);

      // The trace: nothing sent at the crash, then the same owner established anew.
      const main = mainEvents(events);
      const establish = vers === "4.0" ? "SETCLIENTID ok" : "EXCHANGE_ID ok";
      assertInOrder(main, [establish, "client crash simulated", "+LEASE_EXPIRED", establish]);
      const crashAt = main.findIndex((e) => e.event === "client crash simulated");
      const sentAfterCrash = main.slice(
        crashAt + 1,
        main.findIndex((e, i) => i > crashAt && e.event === "+LEASE_EXPIRED"),
      );
      assert.deepEqual(
        sentAfterCrash.filter((e) => /CLOSE|LOCKU|DESTROY/.test(e.event)),
        [],
        "the crash sent nothing",
      );
      const owners = main.filter((e) => e.event === establish).map((e) =>
        /owner (\S+)/.exec(String(e.detail))?.[1]
      );
      assert.equal(owners.length, 2);
      assert.equal(owners[0], owners[1], "the same client owner both times");
      assert.equal(owners[0], report.stateBefore.ownerId);

      // Nothing is left behind: the file is free for another client.
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
