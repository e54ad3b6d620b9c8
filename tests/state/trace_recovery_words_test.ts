/**
 * What the trace says of a recovery that did not go well: each lock it
 * gives up is told through the one `lock lost` event (with its `data`), an
 * open given up says so when it is let go, and the end of a reclaim counts
 * what it reclaimed and what it lost. People learn NFSv4 state from the
 * trace: a state that disappears from it without a line, or a "done" that
 * hides a loss, teaches the wrong thing.
 */

import assert from "node:assert/strict";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import { closeFile } from "../../lib/state/files.ts";
import type { LockLostNotice } from "../../lib/state/open_state.ts";
import { harness } from "./_harness.ts";

const RW = ShareAccess.OPEN4_SHARE_ACCESS_BOTH;
const RFC = { 0: "RFC 7530 §9.6.2", 1: "RFC 8881 §8.4.2.1" } as const;

for (const minor of [0, 1] as const) {
  Deno.test(
    `4.${minor}: an open reclaim that fails loses its lock through the one \`lock lost\` event (path, ranges, reason), once (${
      RFC[minor]
    })`,
    async () => {
      await using h = await harness(minor);
      const file = await h.open("file", RW);
      await h.lock(file, { offset: 0n, length: 10n });
      const told: LockLostNotice[] = [];
      file.onLockLost((n) => told.push(n));
      h.mark();
      h.m.faults.failReclaim = "open";
      h.server.reboot();
      await h.drive(h.read(file)).then(() => assert.fail("the READ succeeded"), () => {});
      await h.drive(h.m.waitForRecovery()).catch(() => {});
      const lost = h.trace.filter((e) => e.event === "lock lost");
      assert.equal(lost.length, 1, h.details(["open", "lock"]).join("\n"));
      assert.equal(lost[0]!.category, "lock");
      assert.deepEqual(lost[0]!.data, {
        path: "/vfs/file",
        ranges: [{ type: "write", offset: 0n, length: 10n }],
        reason: "open recovery failed: reclaim failed (fault injected)",
      });
      assert.deepEqual(told.map((n) => n.reason), [
        "open recovery failed: reclaim failed (fault injected)",
      ]);
      // After the open's line, which says why.
      const events = h.events(["open", "lock"]);
      assert.ok(
        events.indexOf("recovery failed, state marked bad") < events.indexOf("lock lost"),
        events.join("\n"),
      );
      assert.ok(file.locks.every((l) => l.bad !== undefined));
    },
  );

  Deno.test(
    `4.${minor}: a lock reclaim that fails is told through the \`lock lost\` event (path, ranges, reason), once (${
      RFC[minor]
    })`,
    async () => {
      await using h = await harness(minor);
      const file = await h.open("file", RW);
      await h.lock(file);
      const told: LockLostNotice[] = [];
      file.onLockLost((n) => told.push(n));
      h.mark();
      h.m.faults.failReclaim = "lock";
      h.server.reboot();
      await h.drive(h.read(file));
      await h.drive(h.m.waitForRecovery()).catch(() => {});
      const lost = h.trace.filter((e) => e.event === "lock lost");
      assert.equal(lost.length, 1, h.details(["open", "lock"]).join("\n"));
      assert.deepEqual(lost[0]!.data, {
        path: "/vfs/file",
        ranges: [{ type: "write", offset: 0n, length: 0xffff_ffff_ffff_ffffn }],
        reason: "lock recovery failed: lock reclaim failed (fault injected)",
      });
      assert.equal(told.length, 1);
      assert.equal(told[0]!.reason, lost[0]!.data!.reason);
      assert.throws(() => file.locks[0]!.assertUsable(), /lock reclaim failed \(fault injected\)/);
    },
  );

  Deno.test(
    `4.${minor}: an open recovery gave up is traced once when it is let go: \`not closed\`, no CLOSE sent (${
      RFC[minor]
    })`,
    async () => {
      await using h = await harness(minor);
      const file = await h.open("file", RW);
      h.mark();
      h.m.faults.failReclaim = "open";
      h.server.reboot();
      await h.drive(h.read(file)).then(() => assert.fail("the READ succeeded"), () => {});
      await h.drive(h.m.waitForRecovery()).catch(() => {});
      h.m.faults.failReclaim = undefined;
      h.mark();
      await h.drive(closeFile(h.m, file), 100);
      await h.drive(h.m.shutdown(), 100);
      const notClosed = h.trace.filter((e) => e.event === "not closed");
      assert.equal(notClosed.length, 1, h.details(["open"]).join("\n"));
      assert.equal(notClosed[0]!.category, "open");
      assert.match(
        notClosed[0]!.detail ?? "",
        /^\/vfs\/file [0-9a-f]{24}:\d+: reclaim failed \(fault injected\); its client ID 0x[0-9a-f]{16} was replaced after \S+ -> NFS4ERR_STALE_CLIENTID \(the server no longer knew it\); no CLOSE sent$/,
      );
      assert.deepEqual(
        { path: notClosed[0]!.data?.path, reason: notClosed[0]!.data?.reason },
        { path: "/vfs/file", reason: "reclaim failed (fault injected)" },
      );
      assert.ok(!h.ops().some((o) => o.includes("CLOSE")), h.ops().join("\n"));
    },
  );
}

for (const minor of [0, 1] as const) {
  Deno.test(
    `4.${minor}: the end of a reboot reclaim counts what it reclaimed and what it lost, opens and locks, rather than 'reclaim done' over a failure (${
      RFC[minor]
    })`,
    async () => {
      await using h = await harness(minor);
      const file = await h.open("file", RW);
      await h.lock(file);
      const other = await h.open("other", RW);
      await h.lock(other);
      h.mark();
      h.server.reboot();
      await h.drive(h.read(other));
      await h.drive(h.m.waitForRecovery());
      assert.deepEqual(h.details(["state"]).filter((d) => d.includes("RECLAIM_REBOOT")), [
        `+RECLAIM_REBOOT (${
          minor === 0 ? "RENEW" : "CREATE_SESSION"
        } -> NFS4ERR_STALE_CLIENTID; 2 open(s), 2 lock(s) to reclaim)`,
        "-RECLAIM_REBOOT (reclaim done: 2 open(s) reclaimed, 2 lock(s) reclaimed)",
      ]);

      // The first open's reclaim fails: it is lost with its lock.
      h.m.faults.failReclaim = "open";
      const off = h.m.tracer.subscribe((e) => {
        if (e.event === "reclaim fault injected") h.m.faults.failReclaim = undefined;
      });
      h.mark();
      h.server.reboot();
      await h.drive(h.read(other)).catch(() => {});
      await h.drive(h.m.waitForRecovery()).catch(() => {});
      off();
      assert.deepEqual(
        h.details(["state"]).filter((d) => d.startsWith("-RECLAIM_REBOOT")),
        [
          "-RECLAIM_REBOOT (reclaim done: 1 open(s) reclaimed, 1 open(s) lost, 1 lock(s) reclaimed, 1 lock(s) lost)",
        ],
      );
    },
  );
}

Deno.test(
  "4.0: a lease the server expired is recovered without grace, which is no reclaim: the flag says 'to recover' and counts locks as well as opens (RFC 7530 §9.6.2)",
  async () => {
    await using h = await harness(0);
    const file = await h.open("file", RW);
    await h.lock(file);
    h.mark();
    h.server.expireLease();
    await h.drive(h.m.renewNow()).catch(() => {});
    await h.drive(h.m.waitForRecovery()).catch(() => {});
    assert.deepEqual(
      h.details(["state"]).filter((d) => d.startsWith("+RECLAIM_NOGRACE")),
      ["+RECLAIM_NOGRACE (RENEW -> NFS4ERR_EXPIRED; 1 open(s), 1 lock(s) to recover)"],
    );
  },
);

Deno.test(
  "4.1: a CREATE_SESSION the server refuses has a `sess` line of its own (its client ID and csa_sequence), before the recovery it leads to (RFC 8881 §18.36)",
  async () => {
    await using h = await harness(1);
    const file = await h.open("file", RW);
    const clientid = h.m.client.clientIdText;
    h.mark();
    h.server.reboot();
    await h.drive(h.read(file));
    await h.drive(h.m.waitForRecovery());
    const details = h.details(["sess", "state"]);
    const refused = details.findIndex((d) =>
      /^CREATE_SESSION -> NFS4ERR_STALE_CLIENTID \(clientid 0x[0-9a-f]{16}, csa_sequence \d+\)$/
        .test(d)
    );
    assert.ok(refused >= 0, details.join("\n"));
    assert.ok(details[refused]!.includes(`clientid ${clientid},`), details[refused]!);
    const flag = details.findIndex((d) => d.startsWith("+RECLAIM_REBOOT"));
    assert.ok(refused < flag, details.join("\n"));
  },
);
