/**
 * Revoked and expired state (RFC 7530 §9.6.3, §13.1.5; RFC 8881 §8.2.4,
 * §18.46.3): on 4.1 the SEQUENCE status flags or a stateid error lead to
 * TEST_STATEID, FREE_STATEID and a re-open without grace (CLAIM_FH); on 4.0
 * the state is re-opened by name at once.
 */

import assert from "node:assert/strict";
import { BadStateError } from "../../lib/state/open_state.ts";
import { SeqStatus } from "../../lib/state/error_table.ts";
import { Nfs4Status as S, statusName } from "../../lib/nfs4/status.ts";
import { formatStateid, type Stateid } from "../../lib/nfs4/types.ts";
import { OpenClaimType } from "../../lib/nfs4/constants.ts";
import type { OpenArgs } from "../../lib/nfs4/ops/open.ts";
import { drain, type Harness, harness } from "./_harness.ts";

function testedStateids(h: Harness): string[][] {
  return h.entries().flatMap((e) =>
    e.ops.flatMap((name, i) =>
      name === "TEST_STATEID" ? [(e.args[i] as Stateid[]).map(formatStateid)] : []
    )
  );
}

function freedStateids(h: Harness): string[] {
  return h.entries().flatMap((e) =>
    e.ops.flatMap((name, i) => name === "FREE_STATEID" ? [formatStateid(e.args[i] as Stateid)] : [])
  );
}

function openClaims(h: Harness): number[] {
  return h.entries().flatMap((e) =>
    e.ops.flatMap((name, i) => (name === "OPEN" ? [(e.args[i] as OpenArgs).claim.claim] : []))
  );
}

Deno.test("ADMIN_REVOKED on a 4.1 READ -> TEST_STATEIDS -> TEST_STATEID -> FREE_STATEID -> RECLAIM_NOGRACE -> OPEN CLAIM_FH -> READ ok (RFC 8881 §8.2.4, §18.46.3)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  const revoked = formatStateid(file.stateid);
  h.mark();
  h.server.revoke(file.stateid, S.NFS4ERR_ADMIN_REVOKED);
  assert.equal(await h.readText(file), "hello, world\n");
  assert.deepEqual(h.details(["state"]).slice(0, 1), [
    "+TEST_STATEIDS (SEQUENCE status SEQ4_STATUS_ADMIN_STATE_REVOKED)",
  ]);
  assert.deepEqual(h.steps(), [
    "+TEST_STATEIDS",
    "TEST_STATEIDS start",
    "+RECLAIM_NOGRACE",
    "-TEST_STATEIDS",
    "TEST_STATEIDS done",
    "RECLAIM_NOGRACE start",
    "-RECLAIM_NOGRACE",
    "RECLAIM_NOGRACE done",
  ]);
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,READ -> NFS4ERR_ADMIN_REVOKED",
    "SEQUENCE,TEST_STATEID",
    "SEQUENCE,FREE_STATEID",
    "SEQUENCE,PUTFH,OPEN",
    "SEQUENCE,PUTFH,READ",
  ]);
  assert.deepEqual(testedStateids(h), [[revoked]]);
  assert.deepEqual(freedStateids(h), [revoked]);
  assert.deepEqual(openClaims(h), [OpenClaimType.CLAIM_FH]);
  assert.deepEqual(h.events(["open"]), [
    `TEST_STATEID ${revoked} -> NFS4ERR_ADMIN_REVOKED`,
    "OPEN(CLAIM_FH) recovered",
  ]);
  // The flag is gone once the stateid was freed.
  assert.equal(h.entries().at(-1)!.status, S.NFS4_OK);
  assert.equal(h.server.opensOf("/vfs/file").length, 1);
});

Deno.test("ADMIN_REVOKED on a 4.1 READ without the SEQUENCE flag: the READ's own status sets TEST_STATEIDS (RFC 8881 §8.2.4)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  const revoked = formatStateid(file.stateid);
  h.mark();
  h.server.revoke(file.stateid, S.NFS4ERR_ADMIN_REVOKED, { flag: false });
  assert.equal(await h.readText(file), "hello, world\n");
  assert.deepEqual(h.details(["state"]).slice(0, 1), [
    `+TEST_STATEIDS (READ -> NFS4ERR_ADMIN_REVOKED for ${revoked})`,
  ]);
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,READ -> NFS4ERR_ADMIN_REVOKED",
    "SEQUENCE,TEST_STATEID",
    "SEQUENCE,FREE_STATEID",
    "SEQUENCE,PUTFH,OPEN",
    "SEQUENCE,PUTFH,READ",
  ]);
});

for (const reacquire of [false, true]) {
  Deno.test(`a revoked 4.1 open with a lock: both stateids tested and freed, the open re-opened, the lock ${reacquire ? "taken again (reacquireLostLocks)" : "lost: a later use fails with EBADF"} (RFC 8881 §8.2.4, §18.38)`, async () => {
    await using h = await harness(1, { reacquireLostLocks: reacquire });
    const file = await h.open();
    await h.lock(file, { offset: 0n, length: 100n });
    const openId = formatStateid(file.stateid);
    const lockId = formatStateid(file.locks[0]!.stateid!);
    h.mark();
    h.server.revoke(file.stateid, S.NFS4ERR_ADMIN_REVOKED);
    assert.equal(await h.readText(file), "hello, world\n");
    assert.deepEqual(testedStateids(h), [[openId, lockId]]);
    assert.deepEqual(freedStateids(h), [openId, lockId]);
    assert.deepEqual(h.ops(), [
      "SEQUENCE,PUTFH,READ -> NFS4ERR_ADMIN_REVOKED",
      "SEQUENCE,TEST_STATEID",
      "SEQUENCE,FREE_STATEID",
      "SEQUENCE,FREE_STATEID",
      "SEQUENCE,PUTFH,OPEN",
      ...(reacquire ? ["SEQUENCE,PUTFH,LOCK"] : []),
      "SEQUENCE,PUTFH,READ",
    ]);
    if (reacquire) {
      assert.deepEqual(h.server.locksOf("/vfs/file"), [{ type: 2, offset: 0n, length: 100n }]);
      assert.equal(file.locks[0]!.bad, undefined);
    } else {
      assert.deepEqual(h.server.locksOf("/vfs/file"), []);
      assert.equal(file.locks[0]!.bad, "lock lost: revoked (TEST_STATEID)");
      assert.throws(() => file.locks[0]!.assertUsable(), BadStateError);
    }
  });
}

Deno.test("TEST_STATEID frees and recovers only the revoked state; the other open keeps its stateid (RFC 8881 §18.48)", async () => {
  await using h = await harness(1);
  const file = await h.open("file");
  const other = await h.open("other");
  const lost = formatStateid(file.stateid);
  const keep = formatStateid(other.stateid);
  h.mark();
  h.server.revoke(file.stateid);
  assert.equal(await h.readText(other), "other file contents\n");
  await h.m.waitForRecovery();
  assert.deepEqual(testedStateids(h), [[lost, keep]]);
  assert.deepEqual(freedStateids(h), [lost]);
  assert.equal(formatStateid(other.stateid), keep);
  assert.deepEqual(openClaims(h), [OpenClaimType.CLAIM_FH]);
  assert.equal(await h.readText(file), "hello, world\n");
});

Deno.test("ADMIN_REVOKED on a 4.0 READ -> RECLAIM_NOGRACE -> OPEN CLAIM_NULL by name -> READ ok (RFC 7530 §9.6.3, §13.1.5.1)", async () => {
  await using h = await harness(0);
  const file = await h.open();
  const seqidBefore = file.owner.seqid;
  h.mark();
  h.server.revoke(file.stateid, S.NFS4ERR_ADMIN_REVOKED);
  assert.equal(await h.readText(file), "hello, world\n");
  assert.deepEqual(h.steps(), [
    "+RECLAIM_NOGRACE",
    "RECLAIM_NOGRACE start",
    "-RECLAIM_NOGRACE",
    "RECLAIM_NOGRACE done",
  ]);
  assert.deepEqual(h.ops(), [
    "PUTFH,READ -> NFS4ERR_ADMIN_REVOKED",
    "PUTFH,OPEN,GETFH",
    "PUTFH,READ",
  ]);
  assert.deepEqual(openClaims(h), [OpenClaimType.CLAIM_NULL]);
  // The owner is known to the server: no OPEN_CONFIRM, its seqid carries on.
  assert.equal((h.entries()[1]!.args[1] as OpenArgs).seqid, seqidBefore);
  assert.equal(file.owner.seqid, seqidBefore + 1);
});

Deno.test("4.0 READ -> EXPIRED after the lease ran out: CHECK_LEASE -> RENEW -> EXPIRED -> new client ID -> re-open without grace (RFC 7530 §9.6.3, §13.1.5.3)", async () => {
  await using h = await harness(0);
  const file = await h.open();
  h.mark();
  h.server.expireLease();
  assert.equal(await h.readText(file), "hello, world\n");
  assert.deepEqual(h.steps(), [
    "+CHECK_LEASE",
    "CHECK_LEASE start",
    "-CHECK_LEASE",
    "+LEASE_EXPIRED",
    "+RECLAIM_NOGRACE",
    "CHECK_LEASE done",
    "LEASE_EXPIRED start",
    "-LEASE_EXPIRED",
    "LEASE_EXPIRED done",
    "RECLAIM_NOGRACE start",
    "-RECLAIM_NOGRACE",
    "RECLAIM_NOGRACE done",
  ]);
  assert.deepEqual(h.ops(), [
    "PUTFH,READ -> NFS4ERR_EXPIRED",
    "RENEW -> NFS4ERR_EXPIRED",
    "SETCLIENTID",
    "SETCLIENTID_CONFIRM",
    "PUTROOTFH,GETATTR",
    "PUTFH,OPEN,GETFH",
    "PUTFH,OPEN_CONFIRM",
    "PUTFH,READ",
  ]);
  assert.deepEqual(openClaims(h), [OpenClaimType.CLAIM_NULL]);
});

Deno.test("NFS4ERR_EXPIRED from the renewal timer's RENEW -> LEASE_EXPIRED + RECLAIM_NOGRACE, no reboot reclaim (RFC 7530 §9.6.3)", async () => {
  await using h = await harness(0);
  const file = await h.open();
  h.mark();
  h.server.expireLease();
  await h.tick(20_000);
  await h.m.waitForRecovery();
  assert.deepEqual(h.steps(), [
    "+LEASE_EXPIRED",
    "+RECLAIM_NOGRACE",
    "LEASE_EXPIRED start",
    "-LEASE_EXPIRED",
    "LEASE_EXPIRED done",
    "RECLAIM_NOGRACE start",
    "-RECLAIM_NOGRACE",
    "RECLAIM_NOGRACE done",
  ]);
  assert.deepEqual(h.ops(), [
    "RENEW -> NFS4ERR_EXPIRED",
    "SETCLIENTID",
    "SETCLIENTID_CONFIRM",
    "PUTROOTFH,GETATTR",
    "PUTFH,OPEN,GETFH",
    "PUTFH,OPEN_CONFIRM",
  ]);
  assert.deepEqual(openClaims(h), [OpenClaimType.CLAIM_NULL]);
  assert.ok(!h.steps().includes("RECLAIM_REBOOT start"));
  assert.equal(await h.readText(file), "hello, world\n");
});

Deno.test("CHECK_LEASE: RENEW -> EXPIRED sets LEASE_EXPIRED and RECLAIM_NOGRACE, not RECLAIM_REBOOT (RFC 7530 §9.6.3)", async () => {
  await using h = await harness(0);
  await h.open();
  h.mark();
  h.server.expireLease();
  h.m.setFlag("CHECK_LEASE", "test");
  await h.m.waitForRecovery();
  assert.deepEqual(h.steps(), [
    "+CHECK_LEASE",
    "CHECK_LEASE start",
    "-CHECK_LEASE",
    "+LEASE_EXPIRED",
    "+RECLAIM_NOGRACE",
    "CHECK_LEASE done",
    "LEASE_EXPIRED start",
    "-LEASE_EXPIRED",
    "LEASE_EXPIRED done",
    "RECLAIM_NOGRACE start",
    "-RECLAIM_NOGRACE",
    "RECLAIM_NOGRACE done",
  ]);
});

for (
  const [name, status, flag] of [
    ["EXPIRED_SOME_STATE_REVOKED", S.NFS4ERR_EXPIRED, SeqStatus.EXPIRED_SOME_STATE_REVOKED],
    ["ADMIN_STATE_REVOKED", S.NFS4ERR_ADMIN_REVOKED, SeqStatus.ADMIN_STATE_REVOKED],
    ["RECALLABLE_STATE_REVOKED", S.NFS4ERR_DELEG_REVOKED, SeqStatus.RECALLABLE_STATE_REVOKED],
  ] as const
) {
  Deno.test(`SEQ4_STATUS_${name} on an unrelated SEQUENCE -> TEST_STATEIDS finds and recovers the state (RFC 8881 §18.46.3)`, async () => {
    await using h = await harness(1);
    const file = await h.open("file");
    const other = await h.open("other");
    const lost = formatStateid(file.stateid);
    h.mark();
    h.server.revoke(file.stateid, status);
    // The READ of the other file carries the flag; it succeeds itself.
    assert.equal(await h.readText(other), "other file contents\n");
    await h.m.waitForRecovery();
    assert.equal(h.entries()[0]!.status, S.NFS4_OK);
    assert.deepEqual(h.details(["state"]).slice(0, 1), [
      `+TEST_STATEIDS (SEQUENCE status SEQ4_STATUS_${name})`,
    ]);
    assert.deepEqual(h.ops().slice(1), [
      "SEQUENCE,TEST_STATEID",
      "SEQUENCE,FREE_STATEID",
      "SEQUENCE,PUTFH,OPEN",
    ]);
    assert.deepEqual(freedStateids(h), [lost]);
    assert.ok((h.server.seqStatusFlags & flag) === 0);
    assert.equal(await h.readText(file), "hello, world\n");
  });
}

Deno.test("4.1 lease expiry (SEQ4_STATUS_EXPIRED_ALL_STATE_REVOKED) -> TEST_STATEIDS recovers every state (RFC 8881 §18.46.3)", async () => {
  await using h = await harness(1);
  const file = await h.open("file");
  const other = await h.open("other");
  h.mark();
  h.server.expireLease();
  await h.tick(20_000);
  await h.m.waitForRecovery();
  await drain();
  assert.deepEqual(h.details(["state"]).slice(0, 1), [
    "+TEST_STATEIDS (SEQUENCE status SEQ4_STATUS_EXPIRED_ALL_STATE_REVOKED)",
  ]);
  assert.deepEqual(h.ops(), [
    "SEQUENCE",
    "SEQUENCE,TEST_STATEID",
    "SEQUENCE,FREE_STATEID",
    "SEQUENCE,FREE_STATEID",
    "SEQUENCE,PUTFH,OPEN",
    "SEQUENCE,PUTFH,OPEN",
  ]);
  assert.equal(await h.readText(file), "hello, world\n");
  assert.equal(await h.readText(other), "other file contents\n");
});

for (const status of [S.NFS4ERR_NOTSUPP, S.NFS4ERR_INVAL]) {
  Deno.test(`4.1 RECLAIM_NOGRACE: a server that refuses CLAIM_FH (${statusName(status)}) gets the open by name, CLAIM_NULL, as on 4.0 (RFC 8881 §18.16.3)`, async () => {
    await using h = await harness(1);
    const file = await h.open();
    h.mark();
    h.server.intercept(
      "OPEN",
      (args) => (args as OpenArgs).claim.claim === OpenClaimType.CLAIM_FH ? status : undefined,
    );
    h.server.revoke(file.stateid, S.NFS4ERR_ADMIN_REVOKED);
    assert.equal(await h.readText(file), "hello, world\n");
    assert.deepEqual(openClaims(h), [OpenClaimType.CLAIM_FH, OpenClaimType.CLAIM_NULL]);
    assert.deepEqual(h.events(["open"]).slice(1), [
      "OPEN(CLAIM_FH) refused",
      "OPEN(CLAIM_NULL) recovered",
    ]);
    assert.equal(file.bad, undefined);
    assert.equal(h.server.opensOf("/vfs/file").length, 1);
  });
}
