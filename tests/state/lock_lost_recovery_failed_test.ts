/**
 * A recovery that gives up loses every lock held, and says so at once: the
 * `lock lost` event and the onLockLost listeners (OpenState.onLockLost,
 * behind NfsFile.onLockLost), as every other lock the state manager gives
 * up. A lease not renewed loses its locks (RFC 8881 §8.4.2, RFC 7530 §9.6);
 * before, a recovery that failed (or a purge of the state) only marked the
 * opens bad, and a library user holding a lock learnt of the loss at its
 * next call on the file.
 */

import assert from "node:assert/strict";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import type { LockLostNotice } from "../../lib/state/open_state.ts";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import { harness } from "./_harness.ts";

const RW = ShareAccess.OPEN4_SHARE_ACCESS_BOTH;

for (const minor of [0, 1] as const) {
  const establish = minor === 0 ? "SETCLIENTID" : "EXCHANGE_ID";
  Deno.test(
    `4.${minor}: a recovery that gives up (${establish} refused after a reboot) tells each held lock lost, once (RFC ${
      minor === 0 ? "7530 §9.6" : "8881 §8.4.2"
    })`,
    async () => {
      await using h = await harness(minor);
      const file = await h.open("file", RW);
      await h.lock(file, { offset: 0n, length: 10n });
      await h.lock(file, { offset: 100n, length: 10n });
      const other = await h.open("other", RW);
      const told: LockLostNotice[] = [];
      file.onLockLost((n) => told.push(n));
      other.onLockLost((n) => told.push(n));
      h.mark();
      h.server.reboot();
      h.server.failNext(establish, S.NFS4ERR_SERVERFAULT, { times: 1000 });
      await h.drive(h.read(file)).then(
        () => assert.fail("the READ succeeded"),
        () => {},
      );
      await h.drive(h.m.waitForRecovery()).catch(() => {});
      // Recovery gave up (StateManager #failAll), not a lock recovery failing.
      assert.ok(
        h.events(["error"]).some((e) => / failed$/.test(e)),
        h.details(["error"]).join("\n"),
      );
      const lost = h.trace.filter((e) => e.event === "lock lost");
      assert.equal(lost.length, 1, h.details(["lock", "error", "step"]).join("\n"));
      assert.deepEqual(told.map((n) => [n.path, n.range.offset, n.range.length]), [
        ["/vfs/file", 0n, 10n],
        ["/vfs/file", 100n, 10n],
      ]);
      assert.match(told[0]!.reason, /^recovery failed: /);
      assert.deepEqual(lost[0]!.data, {
        path: "/vfs/file",
        ranges: [
          { type: "write", offset: 0n, length: 10n },
          { type: "write", offset: 100n, length: 10n },
        ],
        reason: told[0]!.reason,
      });
      assert.ok(file.bad, "the open is bad");
      assert.ok(file.locks.every((l) => l.bad !== undefined), "the lock is bad");
    },
  );
}

for (const minor of [0, 1] as const) {
  Deno.test(
    `4.${minor}: state purged (PURGE_STATE) tells each held lock lost (RFC ${
      minor === 0 ? "7530 §9.6" : "8881 §8.4.2"
    })`,
    async () => {
      await using h = await harness(minor);
      const file = await h.open("file", RW);
      await h.lock(file, { offset: 0n, length: 10n });
      const told: LockLostNotice[] = [];
      file.onLockLost((n) => told.push(n));
      h.mark();
      h.m.setFlag("PURGE_STATE", "test");
      await h.drive(h.m.waitForRecovery());
      assert.deepEqual(h.events(["lock"]).filter((e) => e === "lock lost"), ["lock lost"]);
      assert.deepEqual(told.map((n) => [n.path, n.range.offset, n.range.length, n.reason]), [
        ["/vfs/file", 0n, 10n, "state purged"],
      ]);
      assert.equal(file.bad, "state purged");
    },
  );
}
