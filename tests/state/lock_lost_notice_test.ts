/**
 * A lock given up by the state manager is told to the open's onLockLost
 * listeners (OpenState.onLockLost, behind NfsFile.onLockLost) as it
 * happens, and the `lock lost` trace event carries `{ path, ranges, reason }`
 * as data: here the lease running out by the client's own clock during a
 * partition (RFC 7530 §9.6.3, RFC 8881 §8.3), and a reclaim the restarted
 * server refuses (RFC 7530 §9.6.2). Before, nothing was told until the
 * next call on the file failed.
 */

import assert from "node:assert/strict";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import type { LockLostNotice } from "../../lib/state/open_state.ts";
import { harness } from "./_harness.ts";

for (const minor of [0, 1] as const) {
  Deno.test(`4.${minor}: a lease that runs out locally tells the onLockLost listeners at once, range by range; the event has the data`, async () => {
    await using h = await harness(minor, { leaseTime: 10 });
    const file = await h.open("file", 3);
    await h.lock(file, { offset: 0n, length: 10n });
    await h.lock(file, { offset: 100n, length: 10n });
    const told: LockLostNotice[] = [];
    file.onLockLost((n) => told.push(n));
    h.m.keepLease(true);
    h.mark();
    h.channel.dropReplies(minor === 1 ? "SEQUENCE" : "RENEW", {
      times: 10_000,
      beforeServer: true,
    });
    h.channel.silent = true;
    await h.tick(10_500, 100);
    const lost = h.trace.find((e) => e.event === "lock lost");
    assert.ok(lost, "lock lost traced");
    assert.deepEqual(told.map((n) => [n.path, n.range.offset, n.range.length]), [
      ["/vfs/file", 0n, 10n],
      ["/vfs/file", 100n, 10n],
    ]);
    assert.match(told[0]!.reason, /^lease ran out locally: no renewal answered for /);
    assert.deepEqual(lost.data, {
      path: "/vfs/file",
      ranges: [
        { type: "write", offset: 0n, length: 10n },
        { type: "write", offset: 100n, length: 10n },
      ],
      reason: told[0]!.reason,
    });
    h.channel.clearDrops();
    h.channel.silent = false;
  });
}

Deno.test("4.1: a reclaim the restarted server refuses tells the onLockLost listeners (RFC 8881 §8.4.2.1)", async () => {
  await using h = await harness(1);
  const file = await h.open("file", 3);
  await h.lock(file, { offset: 0n, length: 10n });
  const told: LockLostNotice[] = [];
  file.onLockLost((n) => told.push(n));
  h.server.reboot();
  h.server.failNext("LOCK", S.NFS4ERR_RECLAIM_BAD);
  await h.drive(h.read(file));
  await h.drive(h.m.waitForRecovery());
  assert.equal(told.length, 1, JSON.stringify(told, (_, v) => typeof v === "bigint" ? `${v}` : v));
  assert.equal(told[0]!.path, "/vfs/file");
  assert.deepEqual(told[0]!.range, { type: "write", offset: 0n, length: 10n });
  assert.match(told[0]!.reason, /RECLAIM_BAD/);
});
