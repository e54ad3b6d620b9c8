/**
 * Locks are never silently lost (issue 15): a lock whose lease ran out,
 * that was revoked or whose reclaim failed is LOST, never re-taken behind
 * the user's back (the kernel's recover_lost_locks=0); the client notices a
 * lease running out by its own clock, during the partition, not when the
 * server answers again. RFC 7530 §9.6.3, RFC 8881 §8.3, §8.4.3.
 */

import assert from "node:assert/strict";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { BadStateError } from "../../lib/state/open_state.ts";
import { harness } from "./_harness.ts";

for (const minor of [0, 1] as const) {
  Deno.test(`4.${minor}: a partition longer than the lease: the lock is lost when the lease runs out locally, and stays lost after the partition (RFC 7530 §9.6.3)`, async () => {
    await using h = await harness(minor, { leaseTime: 10 });
    const file = await h.open("file", 3);
    await h.lock(file, { offset: 0n, length: 10n });
    h.m.keepLease(true);
    h.mark();
    const from = h.clock.now();
    // Every request is lost from now on (a partition).
    h.channel.dropReplies(minor === 1 ? "SEQUENCE" : "RENEW", {
      times: 10_000,
      beforeServer: true,
    });
    h.channel.silent = true;
    await h.tick(10_500, 100);
    assert.ok(h.events(["lease"]).includes("lease ran out locally"), h.events(["lease"]).join());
    const lost = h.trace.find((e) => e.event === "lock lost")!;
    assert.ok(lost, "lock lost traced");
    assert.ok(lost.time * 1000 <= from + 10_200, `lost at ${lost.time} s`);
    assert.throws(() => file.locks[0]!.assertUsable(), BadStateError);
    // The server expired the client meanwhile; the partition ends.
    h.server.expireLease();
    h.channel.clearDrops();
    h.channel.silent = false;
    await h.tick(30_000, 500);
    await h.m.waitForRecovery();
    // The open was recovered; the lock was not taken again.
    assert.equal(h.server.locksOf("/vfs/file").length, 0);
    assert.throws(() => file.locks[0]!.assertUsable(), /lock lost: lease ran out locally/);
    assert.equal(await h.readText(file), "hello, world\n");
  });
}

Deno.test("4.1 with reacquireLostLocks: the lock is re-taken after the partition, and the trace says it was not held in between", async () => {
  await using h = await harness(1, { leaseTime: 10, reacquireLostLocks: true });
  const file = await h.open("file", 3);
  await h.lock(file, { offset: 0n, length: 10n });
  h.m.keepLease(true);
  h.mark();
  h.channel.dropReplies("SEQUENCE", { times: 10_000, beforeServer: true });
  h.channel.silent = true;
  await h.tick(10_500, 100);
  assert.ok(h.events(["lease"]).includes("lease ran out locally"));
  h.server.expireLease();
  h.channel.clearDrops();
  h.channel.silent = false;
  await h.tick(30_000, 500);
  await h.m.waitForRecovery();
  assert.equal(h.server.locksOf("/vfs/file").length, 1);
  assert.match(
    h.details(["lock"]).join("\n"),
    /LOCK re-acquired \(\/vfs\/file: not held from \d+\.\d+ s to \d+\.\d+ s\)/,
  );
  file.locks[0]!.assertUsable();
});

for (const minor of [0, 1] as const) {
  Deno.test(`4.${minor}: a second reboot during lock reclaim restarts reclaim from the start; nothing is marked bad (kernel nfs4_recovery_handle_error)`, async () => {
    await using h = await harness(minor);
    const file = await h.open("file", 3);
    await h.lock(file, { offset: 0n, length: 10n });
    h.mark();
    h.server.reboot();
    // The server reboots again just as the lock reclaim reaches it: on 4.0
    // the LOCK meets the new instance (NFS4ERR_STALE_STATEID), on 4.1 its
    // session is gone (NFS4ERR_BADSESSION).
    h.server.intercept("LOCK", (_args, server) => {
      server.reboot();
      return minor === 1 ? S.NFS4ERR_BADSESSION : undefined;
    });
    assert.equal(await h.drive(h.readText(file), 50), "hello, world\n");
    await h.m.waitForRecovery();
    assert.equal(file.locks[0]!.bad, undefined, h.details(["lock", "open", "step"]).join("\n"));
    assert.deepEqual(h.server.locksOf("/vfs/file"), [{ type: 2, offset: 0n, length: 10n }]);
    assert.ok(!h.events(["lock"]).includes("lock lost"));
    assert.ok(!h.events(["lock"]).some((e) => e.includes("marked bad")));
    // The lock is usable: it can be released.
    await h.unlock(file, { offset: 0n, length: 10n });
    assert.deepEqual(h.server.locksOf("/vfs/file"), []);
  });
}
