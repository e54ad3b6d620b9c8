/**
 * 4.1 no-grace recovery of states made under the current client ID tests
 * them first (RFC 8881 §8.2.4, §18.48), whatever marked them: here a
 * SEQ4_STATUS_RESTART_RECLAIM_NEEDED whose OPEN(CLAIM_PREVIOUS) the server,
 * out of grace, refuses NFS4ERR_NO_GRACE while it still holds the open and
 * the lock. The kernel's nfs41_open_expired and nfs41_lock_expired
 * (nfs41_test_and_free_expired_stateid, nfs41_check_expired_locks) leave
 * the valid ones alone; nfs4 declared the lock lost, forgot its stateid,
 * and its CLOSE met NFS4ERR_LOCKS_HELD with the lock left on the server
 * (audit a7 F1).
 */
import assert from "node:assert/strict";
import { harness } from "./_harness.ts";
import { SeqStatus } from "../../lib/state/error_table.ts";
import { closeFile } from "../../lib/state/files.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";

Deno.test("4.1: RESTART_RECLAIM_NEEDED whose CLAIM_PREVIOUS is refused NO_GRACE on the current client ID tests the stateids first: a lock the server still holds is not lost, and CLOSE releases it (RFC 8881 §8.2.4, §18.46.3; kernel nfs41_lock_expired)", async () => {
  await using h = await harness(1);
  const file = await h.open("file", 3);
  await h.lock(file, { offset: 0n, length: 10n });
  h.mark();
  h.server.flagNextSequence(SeqStatus.RESTART_RECLAIM_NEEDED); // not in grace: CLAIM_PREVIOUS -> NO_GRACE
  await h.readText(file);
  await h.m.waitForRecovery();
  assert.ok(h.ops().includes("SEQUENCE,TEST_STATEID"), h.ops().join("\n"));
  assert.ok(!h.trace.some((e) => e.event === "lock lost"), h.events(["lock"]).join("\n"));
  assert.ok(h.events(["lock"]).some((e) => e.startsWith("kept")), h.events(["lock"]).join("\n"));
  // Kept, not re-opened: no OPEN after the refused CLAIM_PREVIOUS.
  assert.equal(h.ops().filter((o) => o.includes("OPEN")).length, 1, h.ops().join("\n"));
  await h.unlock(file, { offset: 0n, length: 10n });
  await closeFile(h.m, file);
  assert.equal(h.server.locksOf("/vfs/file").length, 0);
  assert.equal(h.server.opensOf("/vfs/file").length, 0);
  assert.deepEqual(h.m.notReleased, []);
});

Deno.test("4.1: a lock of the current client ID that TEST_STATEID finds gone after a refused CLAIM_PREVIOUS is freed (FREE_STATEID) and lost, and the CLOSE meets no lock left (RFC 8881 §8.2.4, §8.4.3)", async () => {
  await using h = await harness(1);
  const file = await h.open("file", 3);
  await h.lock(file, { offset: 0n, length: 10n });
  h.mark();
  h.server.flagNextSequence(SeqStatus.RESTART_RECLAIM_NEEDED);
  // The server let the lock go while out of grace (no status bit for it).
  h.server.revoke(file.locks[0]!.stateid!, S.NFS4ERR_EXPIRED, { flag: false });
  await h.readText(file);
  await h.m.waitForRecovery();
  assert.ok(h.trace.some((e) => e.event === "lock lost"), h.events(["lock"]).join("\n"));
  assert.ok(h.ops().some((o) => o.startsWith("SEQUENCE,FREE_STATEID")), h.ops().join("\n"));
  await closeFile(h.m, file);
  // Nothing left to unlock: the CLOSE is not refused NFS4ERR_LOCKS_HELD.
  assert.ok(!h.ops().some((o) => o.includes("LOCKU")), h.ops().join("\n"));
  assert.equal(h.server.opensOf("/vfs/file").length, 0);
  assert.deepEqual(h.m.notReleased, []);
});
