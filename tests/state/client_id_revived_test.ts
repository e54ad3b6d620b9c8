/**
 * A lease the server said had expired, then the same client ID back: the
 * server revived its record of this client (Ganesha 4.3 answers SEQUENCE
 * NFS4ERR_EXPIRED for a client it has expired but not yet purged, and
 * EXCHANGE_ID then gives its confirmed record back, RFC 8881 §18.35.4; on
 * 4.0 SETCLIENTID with the same verifier is a "probable callback
 * information update" that keeps the client ID, RFC 7530 §16.33.5).
 *
 * The state made under that client ID is not gone with it. On 4.1 the
 * no-grace reclaim first asks the server which stateids it still holds
 * (TEST_STATEID, RFC 8881 §18.48, §8.2.4; the Linux client's
 * nfs41_open_expired, nfs41_check_expired_locks,
 * nfs41_test_and_free_expired_stateid): what is valid is kept as it is
 * (nothing re-opened or re-locked, no lock lost), what is gone is freed
 * and recovered as before; without TEST_STATEID every state is recovered
 * as before. 4.0 has no TEST_STATEID: the lock is lost as before (the
 * kernel's recover_lost_locks=0), but the owners' seqids go on (the server
 * may still hold them, RFC 7530 §9.1.7), so the re-open is not refused
 * NFS4ERR_BAD_SEQID, and the lost lock's LOCKU at close releases what the
 * server may still hold.
 */

import assert from "node:assert/strict";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { closeFile } from "../../lib/state/files.ts";
import { BadStateError } from "../../lib/state/open_state.ts";
import { type Harness, harness } from "./_harness.ts";

/**
 * The server answers SEQUENCE NFS4ERR_EXPIRED until the client makes its
 * client ID again, which revives the record: the same client ID, its
 * state as it was (on 4.0, RENEW answers NFS4ERR_EXPIRED once).
 */
function expireThenRevive(h: Harness, minor: 0 | 1): void {
  if (minor === 0) {
    h.server.failNext("RENEW", S.NFS4ERR_EXPIRED);
    return;
  }
  let expired = true;
  h.server.intercept("SEQUENCE", () => expired ? S.NFS4ERR_EXPIRED : undefined, {
    times: 1_000,
  });
  h.server.intercept("EXCHANGE_ID", () => {
    expired = false;
  });
}

/**
 * From a new mark, the call that meets the expiry (`start`), then the
 * recovery it began, both driven to their end: the call's result.
 */
async function recovering<T>(h: Harness, start: () => Promise<T>): Promise<T> {
  h.mark();
  const result = await h.drive(start(), 100);
  await h.drive(h.m.waitForRecovery(), 100);
  return result;
}

/** A file opened for read and write with a write lock on bytes 0-9. */
async function lockedFile(h: Harness) {
  const file = await h.open("file", 3);
  await h.lock(file, { offset: 0n, length: 10n });
  return file;
}

Deno.test("4.1: SEQUENCE NFS4ERR_EXPIRED, then the same client ID back: TEST_STATEID says the open and the lock are valid, so nothing is re-opened or re-locked and the lock is not lost; the READ goes on, and the close unlocks and closes, leaving nothing on the server (RFC 8881 §18.48, §8.2.4, §8.4.3)", async () => {
  await using h = await harness(1);
  const file = await lockedFile(h);
  const clientId = h.m.client.clientId;
  expireThenRevive(h, 1);
  assert.equal(await recovering(h, () => h.readText(file)), "hello, world\n");
  assert.equal(h.m.client.clientId, clientId, "the same client ID");
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,READ -> NFS4ERR_EXPIRED",
    "EXCHANGE_ID",
    "CREATE_SESSION",
    "SEQUENCE,PUTROOTFH,GETATTR",
    "SEQUENCE,RECLAIM_COMPLETE -> NFS4ERR_COMPLETE_ALREADY",
    "SEQUENCE,TEST_STATEID",
    "SEQUENCE,PUTFH,READ",
  ]);
  const details = h.details(["open", "lock", "step"]);
  assert.ok(!h.events(["lock"]).includes("lock lost"), details.join("\n"));
  assert.ok(
    details.some((d) =>
      /^kept \(\/vfs\/file \S+: TEST_STATEID NFS4_OK: the server kept it with the client ID; not re-opened\)$/
        .test(d)
    ),
    details.join("\n"),
  );
  assert.ok(
    details.some((d) =>
      /^kept \(\/vfs\/file write 0-9 \S+: TEST_STATEID NFS4_OK: the server kept it with the client ID; not lost\)$/
        .test(d)
    ),
    details.join("\n"),
  );
  assert.ok(
    details.includes(
      "RECLAIM_COMPLETE already complete (the same client ID back after the lease expired: nothing reclaimed in grace)",
    ),
    details.join("\n"),
  );
  const lock = file.locks[0]!;
  lock.assertUsable();
  assert.equal(lock.lostAt, undefined, "not lost, not to be lost by the lease watch");
  assert.equal(h.server.locksOf("/vfs/file").length, 1, "the server still holds it");
  h.mark();
  await h.drive(closeFile(h.m, file), 100);
  await h.drive(h.m.shutdown(), 100);
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,LOCKU",
    "SEQUENCE,PUTFH,CLOSE",
    // The session before the expiry (the server may still hold it), then the current one.
    "DESTROY_SESSION",
    "DESTROY_SESSION",
    "DESTROY_CLIENTID",
  ]);
  assert.deepEqual(h.server.locksOf("/vfs/file"), []);
  assert.deepEqual(h.server.opensOf("/vfs/file"), []);
  assert.deepEqual(h.m.notReleased, []);
});

Deno.test("4.1: the same client ID back, and TEST_STATEID says the lock expired but the open is valid: the lock's stateid is freed (FREE_STATEID) and the lock is lost, the open kept; the close sends no LOCKU for it (RFC 8881 §8.2.4, §18.38)", async () => {
  await using h = await harness(1);
  const file = await lockedFile(h);
  const lockStateid = file.locks[0]!.stateid!;
  // The server released the lock with the lease, and kept the open.
  h.server.revoke(lockStateid, S.NFS4ERR_EXPIRED, { flag: false });
  expireThenRevive(h, 1);
  assert.equal(await recovering(h, () => h.readText(file)), "hello, world\n");
  assert.deepEqual(h.ops().slice(5), [
    "SEQUENCE,TEST_STATEID",
    "SEQUENCE,FREE_STATEID",
    "SEQUENCE,PUTFH,READ",
  ]);
  const details = h.details(["open", "lock"]);
  assert.ok(details.some((d) => /^kept \(\/vfs\/file \S+: .*; not re-opened\)$/.test(d)));
  assert.ok(
    details.some((d) => /^TEST_STATEID \S+ -> NFS4ERR_EXPIRED \(\/vfs\/file\)$/.test(d)),
    details.join("\n"),
  );
  assert.ok(
    details.includes("lock lost (/vfs/file write 0-9: SEQUENCE -> NFS4ERR_EXPIRED)"),
    details.join("\n"),
  );
  assert.throws(() => file.locks[0]!.assertUsable(), BadStateError);
  h.mark();
  await h.drive(closeFile(h.m, file), 100);
  assert.deepEqual(h.ops(), ["SEQUENCE,PUTFH,CLOSE"]);
  assert.deepEqual(h.server.opensOf("/vfs/file"), []);
});

Deno.test("4.1: the same client ID back from a server without TEST_STATEID (NFS4ERR_NOTSUPP): every state is recovered as before (the open re-opened, the lock lost), and the lost lock is still unlocked at close, so the CLOSE is not refused NFS4ERR_LOCKS_HELD and nothing is left on the server (RFC 8881 §8.4.3, §8.2.4)", async () => {
  await using h = await harness(1);
  const file = await lockedFile(h);
  expireThenRevive(h, 1);
  h.server.failNext("TEST_STATEID", S.NFS4ERR_NOTSUPP);
  assert.equal(await recovering(h, () => h.readText(file)), "hello, world\n");
  assert.deepEqual(h.ops().slice(5), [
    "SEQUENCE,TEST_STATEID -> NFS4ERR_NOTSUPP",
    // A re-open for writing asks the file's change and size, for a write
    // delegation it may be granted (procs.ts reclaimOpen).
    "SEQUENCE,PUTFH,GETATTR,OPEN",
    "SEQUENCE,PUTFH,READ",
  ]);
  assert.ok(h.steps().includes("TEST_STATEID not supported"), h.steps().join("\n"));
  assert.throws(() => file.locks[0]!.assertUsable(), /lock lost: SEQUENCE -> NFS4ERR_EXPIRED/);
  h.mark();
  await h.drive(closeFile(h.m, file), 100);
  await h.drive(h.m.shutdown(), 100);
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,LOCKU",
    "SEQUENCE,PUTFH,CLOSE",
    "DESTROY_SESSION",
    "DESTROY_SESSION",
    "DESTROY_CLIENTID",
  ]);
  assert.deepEqual(h.server.locksOf("/vfs/file"), []);
  assert.deepEqual(h.m.notReleased, []);
  assert.equal(h.m.client.unknownState, undefined);
});

Deno.test("4.1: a lock this client's clock lost already (the lease ran out here first) stays lost when the same client ID comes back: not tested, not re-taken, and unlocked at close (RFC 8881 §8.4.3)", async () => {
  await using h = await harness(1, { leaseTime: 10 });
  const file = await lockedFile(h);
  h.m.keepLease(true);
  h.channel.dropReplies("SEQUENCE", { times: 10_000, beforeServer: true });
  h.channel.silent = true;
  await h.tick(10_500, 100);
  assert.ok(h.trace.some((e) => e.event === "lock lost"), "lost by the lease watch");
  h.channel.clearDrops();
  h.channel.silent = false;
  expireThenRevive(h, 1);
  assert.equal(await recovering(h, () => h.readText(file)), "hello, world\n");
  const tested = h.entries().filter((e) => e.ops.includes("TEST_STATEID"));
  assert.equal(tested.length, 1);
  // The open's stateid only.
  assert.equal((tested[0]!.args[1] as unknown[]).length, 1);
  assert.throws(() => file.locks[0]!.assertUsable(), /lock lost: lease ran out locally/);
  assert.match(
    h.details(["lock"]).find((d) => d.startsWith("not reclaimed")) ?? "",
    /^not reclaimed \(\/vfs\/file write 0-9: lease ended at \d+\.\d{3} s, noticed at /,
  );
  h.mark();
  await h.drive(closeFile(h.m, file), 100);
  assert.deepEqual(h.ops(), ["SEQUENCE,PUTFH,LOCKU", "SEQUENCE,PUTFH,CLOSE"]);
  assert.deepEqual(h.server.locksOf("/vfs/file"), []);
});

Deno.test("4.0: RENEW NFS4ERR_EXPIRED, then SETCLIENTID gives the same client ID back (RFC 7530 §16.33.5): the owners' seqids go on, so the re-open is not refused NFS4ERR_BAD_SEQID; the lock is lost (no TEST_STATEID in 4.0) but unlocked at close, and the open closed: nothing left on the server (RFC 7530 §9.1.7, §9.6.3.1)", async () => {
  await using h = await harness(0);
  const file = await lockedFile(h);
  const clientId = h.m.client.clientId;
  const openSeqid = file.owner.seqid;
  expireThenRevive(h, 0);
  await recovering(h, () => h.m.renewNow());
  assert.equal(h.m.client.clientId, clientId, "the same client ID");
  assert.deepEqual(h.ops(), [
    "RENEW -> NFS4ERR_EXPIRED",
    "SETCLIENTID",
    "SETCLIENTID_CONFIRM",
    "PUTROOTFH,GETATTR",
    "PUTFH,OPEN,GETFH,GETATTR",
  ]);
  const open = h.entries().find((e) => e.ops.includes("OPEN"))!;
  assert.equal(
    (open.args[1] as { seqid: number }).seqid,
    openSeqid,
    "the open owner's seqid goes on",
  );
  assert.equal(file.bad, undefined);
  assert.throws(() => file.locks[0]!.assertUsable(), /lock lost: RENEW -> NFS4ERR_EXPIRED/);
  assert.equal(await h.readText(file), "hello, world\n");
  h.mark();
  await h.drive(closeFile(h.m, file), 100);
  await h.drive(h.m.shutdown(), 100);
  assert.deepEqual(h.ops(), ["PUTFH,LOCKU", "PUTFH,CLOSE", "RELEASE_LOCKOWNER"]);
  assert.deepEqual(h.server.locksOf("/vfs/file"), []);
  assert.deepEqual(h.server.opensOf("/vfs/file"), []);
  assert.deepEqual(h.m.notReleased, []);
});

Deno.test("4.0: a lease the server really expired gives a new client ID: the seqids start over as before, and the lock is lost with nothing sent for it (RFC 7530 §9.6.2)", async () => {
  await using h = await harness(0);
  const file = await lockedFile(h);
  const clientId = h.m.client.clientId;
  h.server.expireLease();
  await recovering(h, () => h.m.renewNow());
  assert.notEqual(h.m.client.clientId, clientId);
  const open = h.entries().find((e) => e.ops.includes("OPEN"))!;
  assert.equal((open.args[1] as { seqid: number }).seqid, 0, "a new owner to the server");
  assert.equal(file.bad, undefined);
  assert.throws(() => file.locks[0]!.assertUsable(), BadStateError);
  h.mark();
  await h.drive(closeFile(h.m, file), 100);
  assert.deepEqual(h.ops(), ["PUTFH,CLOSE"]);
});
