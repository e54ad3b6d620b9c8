/**
 * Server reboot recovery (RFC 7530 §9.6.2, RFC 8881 §8.4.2): the state
 * manager notices the reboot, establishes a new client ID, reclaims opens
 * and locks within the grace period, and the operation that noticed is
 * retried with the new stateid. Also what happens when grace is over
 * (NO_GRACE) or a reclaim fails (the state is marked bad: EBADF).
 */

import assert from "node:assert/strict";
import { BadStateError } from "../../lib/state/open_state.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { OpenClaimType } from "../../lib/nfs4/constants.ts";
import { formatStateid } from "../../lib/nfs4/types.ts";
import type { OpenArgs } from "../../lib/nfs4/ops/open.ts";
import type { LockArgs } from "../../lib/nfs4/ops/lock.ts";
import type { ReadArgs } from "../../lib/nfs4/ops/read.ts";
import { drain, type Harness, harness } from "./_harness.ts";

const CLAIM_NAMES: Record<number, string> = {
  [OpenClaimType.CLAIM_NULL]: "CLAIM_NULL",
  [OpenClaimType.CLAIM_PREVIOUS]: "CLAIM_PREVIOUS",
  [OpenClaimType.CLAIM_FH]: "CLAIM_FH",
};

/** The claim of every OPEN since the mark, with the file it named. */
function claims(h: Harness): string[] {
  return h.entries().flatMap((e) =>
    e.ops.flatMap((name, i) => {
      if (name !== "OPEN") return [];
      const claim = (e.args[i] as OpenArgs).claim;
      const what = "file" in claim ? ` ${claim.file}` : "";
      return [`${CLAIM_NAMES[claim.claim]}${what}`];
    })
  );
}

/** The stateid of the last READ since the mark. */
function lastReadStateid(h: Harness): string {
  const reads = h.entries().flatMap((e) =>
    e.ops.flatMap((name, i) => (name === "READ" ? [e.args[i] as ReadArgs] : []))
  );
  return formatStateid(reads.at(-1)!.stateid);
}

Deno.test("run() recovers a 4.0 reboot: STALE_STATEID -> CHECK_LEASE -> RENEW -> STALE_CLIENTID -> SETCLIENTID -> OPEN CLAIM_PREVIOUS + OPEN_CONFIRM -> READ retried (RFC 7530 §9.6.2)", async () => {
  await using h = await harness(0);
  const file = await h.open();
  const before = formatStateid(file.stateid);
  h.mark();
  h.server.reboot();
  assert.equal(await h.readText(file), "hello, world\n");
  assert.deepEqual(h.steps(), [
    "+CHECK_LEASE",
    "CHECK_LEASE start",
    "-CHECK_LEASE",
    "+LEASE_EXPIRED",
    "+RECLAIM_REBOOT",
    "CHECK_LEASE done",
    "LEASE_EXPIRED start",
    "-LEASE_EXPIRED",
    "LEASE_EXPIRED done",
    "RECLAIM_REBOOT start",
    "-RECLAIM_REBOOT",
    "RECLAIM_REBOOT done",
  ]);
  assert.deepEqual(h.ops(), [
    "PUTFH,READ -> NFS4ERR_STALE_STATEID",
    "RENEW -> NFS4ERR_STALE_CLIENTID",
    "SETCLIENTID",
    "SETCLIENTID_CONFIRM",
    "PUTROOTFH,GETATTR",
    "PUTFH,OPEN",
    "PUTFH,OPEN_CONFIRM",
    "PUTFH,READ",
  ]);
  assert.deepEqual(claims(h), ["CLAIM_PREVIOUS"]);
  assert.notEqual(formatStateid(file.stateid), before);
  assert.equal(lastReadStateid(h), formatStateid(file.stateid));
  assert.equal(file.reclaim, "none");
  assert.equal(file.bad, undefined);
  assert.equal(h.server.opensOf("/vfs/file").length, 1);
});

Deno.test("run() recovers a 4.0 reboot without OPEN_CONFIRM when the server does not ask for it (RFC 7530 §16.18)", async () => {
  await using h = await harness(0, { confirmOpens: false });
  const file = await h.open();
  h.mark();
  h.server.reboot();
  assert.equal(await h.readText(file), "hello, world\n");
  assert.deepEqual(h.ops().slice(5), ["PUTFH,OPEN", "PUTFH,READ"]);
});

Deno.test("run() recovers a 4.0 reboot with locks: OPEN CLAIM_PREVIOUS then LOCK reclaim=true with a new lock owner stateid (RFC 7530 §9.6.2, §16.10)", async () => {
  await using h = await harness(0);
  const file = await h.open("file", 3);
  await h.lock(file, { offset: 0n, length: 10n });
  const other = await h.open("other");
  h.mark();
  h.server.reboot();
  assert.equal(await h.readText(other), "other file contents\n");
  assert.deepEqual(h.ops(), [
    "PUTFH,READ -> NFS4ERR_STALE_STATEID",
    "RENEW -> NFS4ERR_STALE_CLIENTID",
    "SETCLIENTID",
    "SETCLIENTID_CONFIRM",
    "PUTROOTFH,GETATTR",
    "PUTFH,OPEN",
    "PUTFH,OPEN_CONFIRM",
    "PUTFH,LOCK",
    "PUTFH,OPEN",
    "PUTFH,READ",
  ]);
  const lockArgs = h.entries()[7]!.args[1] as LockArgs;
  assert.equal(lockArgs.reclaim, true);
  assert.equal(lockArgs.locker.newLockOwner, true);
  assert.deepEqual(h.server.locksOf("/vfs/file"), [{ type: 2, offset: 0n, length: 10n }]);
  assert.deepEqual(h.events(["lock"]).filter((e) => e.startsWith("LOCK")), [
    "LOCK(reclaim) reclaimed",
  ]);
});

Deno.test("run() recovers a 4.1 reboot: BADSESSION -> SESSION_RESET -> STALE_CLIENTID -> EXCHANGE_ID -> reclaim OPEN and LOCK -> RECLAIM_COMPLETE -> READ retried (RFC 8881 §8.4.2.1)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  await h.lock(file, { type: "read", offset: 100n, length: 50n });
  const before = formatStateid(file.stateid);
  h.mark();
  h.server.reboot();
  assert.equal(await h.readText(file), "hello, world\n");
  assert.deepEqual(h.steps(), [
    "+SESSION_RESET",
    "SESSION_RESET start",
    "-SESSION_RESET",
    "+LEASE_EXPIRED",
    "+RECLAIM_REBOOT",
    "SESSION_RESET done",
    "LEASE_EXPIRED start",
    "-LEASE_EXPIRED",
    "LEASE_EXPIRED done",
    "RECLAIM_REBOOT start",
    "RECLAIM_COMPLETE ok",
    "-RECLAIM_REBOOT",
    "RECLAIM_REBOOT done",
  ]);
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,READ -> NFS4ERR_BADSESSION",
    "DESTROY_SESSION -> NFS4ERR_BADSESSION",
    "CREATE_SESSION -> NFS4ERR_STALE_CLIENTID",
    "EXCHANGE_ID",
    "CREATE_SESSION",
    "SEQUENCE,PUTROOTFH,GETATTR",
    "SEQUENCE,PUTFH,OPEN",
    "SEQUENCE,PUTFH,LOCK",
    "SEQUENCE,RECLAIM_COMPLETE",
    "SEQUENCE,PUTFH,READ",
  ]);
  assert.deepEqual(claims(h), ["CLAIM_PREVIOUS"]);
  assert.equal((h.entries()[7]!.args[2] as LockArgs).reclaim, true);
  assert.notEqual(formatStateid(file.stateid), before);
  assert.equal(lastReadStateid(h), formatStateid(file.stateid));
  assert.deepEqual(h.server.locksOf("/vfs/file"), [{ type: 1, offset: 100n, length: 50n }]);
});

for (const reacquire of [false, true]) {
  Deno.test(`reboot after grace: NO_GRACE on the first reclaim recovers every open without grace: CLAIM_FH on 4.1; the lock is ${reacquire ? "re-taken (reacquireLostLocks)" : "lost, not re-taken"} (RFC 8881 §8.4.2.1, §18.16.3)`, async () => {
    await using h = await harness(1, { reacquireLostLocks: reacquire });
    const file = await h.open("file");
    await h.lock(file);
    const other = await h.open("other");
    h.mark();
    h.server.reboot({ grace: false });
    assert.equal(await h.readText(other), "other file contents\n");
    assert.equal(await h.readText(file), "hello, world\n");
    assert.deepEqual(h.steps(), [
      "+SESSION_RESET",
      "SESSION_RESET start",
      "-SESSION_RESET",
      "+LEASE_EXPIRED",
      "+RECLAIM_REBOOT",
      "SESSION_RESET done",
      "LEASE_EXPIRED start",
      "-LEASE_EXPIRED",
      "LEASE_EXPIRED done",
      "RECLAIM_REBOOT start",
      "+RECLAIM_NOGRACE",
      "RECLAIM_COMPLETE ok",
      "-RECLAIM_REBOOT",
      "RECLAIM_REBOOT done",
      "RECLAIM_NOGRACE start",
      "-RECLAIM_NOGRACE",
      "RECLAIM_NOGRACE done",
    ]);
    assert.deepEqual(h.ops().slice(6), [
      "SEQUENCE,PUTFH,OPEN -> NFS4ERR_NO_GRACE",
      "SEQUENCE,RECLAIM_COMPLETE",
      "SEQUENCE,PUTFH,OPEN",
      ...(reacquire ? ["SEQUENCE,PUTFH,LOCK"] : []),
      "SEQUENCE,PUTFH,OPEN",
      "SEQUENCE,PUTFH,READ",
      "SEQUENCE,PUTFH,READ",
    ]);
    assert.deepEqual(claims(h), ["CLAIM_PREVIOUS", "CLAIM_FH", "CLAIM_FH"]);
    if (reacquire) {
      assert.equal((h.entries()[9]!.args[2] as LockArgs).reclaim, false);
      assert.equal(h.server.locksOf("/vfs/file").length, 1);
      assert.match(
        h.details(["lock"]).join("\n"),
        /LOCK re-acquired \(\/vfs\/file: not held from /,
      );
    } else {
      assert.equal(h.server.locksOf("/vfs/file").length, 0);
      assert.match(
        file.locks[0]!.bad ?? "",
        /^lock lost: OPEN\(CLAIM_PREVIOUS\) -> NFS4ERR_NO_GRACE/,
      );
      assert.ok(h.events(["lock"]).includes("lock lost"));
    }
  });
}

Deno.test("reboot after grace: NO_GRACE on the first reclaim re-opens by name with CLAIM_NULL on 4.0 (RFC 7530 §9.6.2, §16.16)", async () => {
  await using h = await harness(0);
  const file = await h.open("file");
  const other = await h.open("other");
  h.mark();
  h.server.reboot({ grace: false });
  assert.equal(await h.readText(file), "hello, world\n");
  assert.equal(await h.readText(other), "other file contents\n");
  assert.deepEqual(h.ops().slice(5), [
    "PUTFH,OPEN -> NFS4ERR_NO_GRACE",
    "PUTFH,OPEN,GETFH",
    "PUTFH,OPEN_CONFIRM",
    "PUTFH,OPEN,GETFH",
    "PUTFH,READ",
    "PUTFH,READ",
  ]);
  assert.deepEqual(claims(h), ["CLAIM_PREVIOUS", "CLAIM_NULL file", "CLAIM_NULL other"]);
  // CLAIM_NULL goes to the directory, not the file.
  const vfs = h.server.file("/vfs")!;
  assert.deepEqual(h.entries()[6]!.args[0], vfs.fh);
});

// Regression (fixed in lib/state): procs.reclaimReboot() handles NO_GRACE with
// m.markAllForReclaim("nograce"), which (1) re-marks the opens already
// reclaimed in this pass, so they are opened a second time, and (2) resets
// every owner's seqid to 0 although the client ID (and the server's record of
// the owner, confirmed by the first reclaim) is unchanged: the next 4.0 OPEN
// carries seqid 0 where the server expects 3, gets NFS4ERR_BAD_SEQID, and
// every state is marked bad. The kernel marks only the state that got
// NO_GRACE (nfs4_reclaim_open_state) and moves the unreclaimed rest to
// no-grace at the end (nfs4_state_end_reclaim_reboot), never touching seqids.
// Fix: on NO_GRACE mark only the states still `reclaim === "reboot"` as
// "nograce" (and their locks), without resetting seqids; reset seqids only
// when a new client ID is established.
Deno.test({
  name:
    "NO_GRACE midway through a 4.0 reclaim recovers the remaining open by name, keeping the owner's seqid (RFC 7530 §9.1.7, §9.6.2)",
  async fn() {
    await using h = await harness(0);
    const file = await h.open("file");
    const other = await h.open("other");
    h.mark();
    h.server.reboot();
    // Grace ends after the first reclaim.
    h.server.intercept("OPEN", (_args, server) => server.endGrace(), { after: 1 });
    assert.equal(await h.readText(file), "hello, world\n");
    assert.equal(await h.readText(other), "other file contents\n");
    assert.deepEqual(claims(h), ["CLAIM_PREVIOUS", "CLAIM_PREVIOUS", "CLAIM_NULL other"]);
    assert.equal(file.bad, undefined);
    assert.equal(other.bad, undefined);
  },
});

// Regression (fixed in lib/state): as above: after NO_GRACE on the second reclaim, the first (already
// reclaimed) open is re-opened with CLAIM_FH and its lock taken again.
Deno.test({
  name:
    "NO_GRACE midway through a 4.1 reclaim recovers only the remaining open with CLAIM_FH (RFC 8881 §8.4.2.1)",
  async fn() {
    await using h = await harness(1);
    const file = await h.open("file");
    await h.lock(file);
    const other = await h.open("other");
    h.mark();
    h.server.reboot();
    h.server.intercept("OPEN", (_args, server) => server.endGrace(), { after: 1 });
    assert.equal(await h.readText(other), "other file contents\n");
    assert.deepEqual(h.ops().slice(6), [
      "SEQUENCE,PUTFH,OPEN",
      "SEQUENCE,PUTFH,LOCK",
      "SEQUENCE,PUTFH,OPEN -> NFS4ERR_NO_GRACE",
      "SEQUENCE,RECLAIM_COMPLETE",
      "SEQUENCE,PUTFH,OPEN",
      "SEQUENCE,PUTFH,READ",
    ]);
    assert.deepEqual(claims(h), ["CLAIM_PREVIOUS", "CLAIM_PREVIOUS", "CLAIM_FH"]);
  },
});

for (const reacquire of [false, true]) {
  Deno.test(`NO_GRACE on a 4.1 lock reclaim: the lock is ${reacquire ? "re-taken without grace (reacquireLostLocks)" : "lost, never re-taken behind the user's back"} (RFC 8881 §8.4.2.1)`, async () => {
    await using h = await harness(1, { reacquireLostLocks: reacquire });
    const file = await h.open();
    await h.lock(file);
    h.mark();
    h.server.reboot();
    h.server.failNext("LOCK", S.NFS4ERR_NO_GRACE);
    h.server.intercept("RECLAIM_COMPLETE", (_args, server) => server.endGrace());
    assert.equal(await h.readText(file), "hello, world\n");
    assert.deepEqual(h.ops().slice(6), [
      "SEQUENCE,PUTFH,OPEN",
      "SEQUENCE,PUTFH,LOCK -> NFS4ERR_NO_GRACE",
      "SEQUENCE,RECLAIM_COMPLETE",
      ...(reacquire ? ["SEQUENCE,PUTFH,LOCK"] : []),
      "SEQUENCE,PUTFH,READ",
    ]);
    assert.deepEqual(h.steps().slice(9), [
      "RECLAIM_REBOOT start",
      "+RECLAIM_NOGRACE",
      "RECLAIM_COMPLETE ok",
      "-RECLAIM_REBOOT",
      "RECLAIM_REBOOT done",
      "RECLAIM_NOGRACE start",
      "-RECLAIM_NOGRACE",
      "RECLAIM_NOGRACE done",
    ]);
    assert.equal(h.server.locksOf("/vfs/file").length, reacquire ? 1 : 0);
    assert.equal(file.locks[0]!.bad === undefined, reacquire);
  });
}

for (const minor of [0, 1] as const) {
  Deno.test(`a failed open reclaim (faults.failReclaim = "open") marks that state bad: READ throws BadStateError, another open recovers (4.${minor}, RFC ${minor === 0 ? "7530 §9.6.2" : "8881 §8.4.2.1"})`, async () => {
    await using h = await harness(minor);
    const lost = await h.open("file");
    const kept = await h.open("other");
    h.mark();
    // Fail the first reclaim only.
    h.m.faults.failReclaim = "open";
    h.m.tracer.subscribe((e) => {
      if (e.event === "reclaim fault injected") h.m.faults.failReclaim = undefined;
    });
    h.server.reboot();
    assert.equal(await h.readText(kept), "other file contents\n");
    await assert.rejects(h.read(lost), (e: unknown) => {
      assert.ok(e instanceof BadStateError);
      assert.equal(e.code, "EBADF");
      assert.match(e.message, /^\/vfs\/file: Bad file descriptor/);
      assert.match(e.message, /reclaim failed \(fault injected\)/);
      return true;
    });
    assert.ok(lost.bad);
    assert.equal(kept.bad, undefined);
    assert.deepEqual(h.events(["open"]).filter((e) => !e.startsWith("OPEN_CONFIRM")), [
      "reclaim fault injected",
      "recovery failed, state marked bad",
      "OPEN(CLAIM_PREVIOUS) reclaimed",
    ]);
    // The bad state never reaches the server again.
    assert.equal(h.ops().filter((o) => o.endsWith("READ")).length, 1);
  });
}

Deno.test("a reclaim the server refuses (OPEN -> RECLAIM_CONFLICT) marks that state bad (RFC 7530 §9.6.2)", async () => {
  await using h = await harness(0);
  const file = await h.open();
  h.mark();
  h.server.reboot();
  h.server.failNext("OPEN", S.NFS4ERR_RECLAIM_CONFLICT);
  await assert.rejects(h.read(file), BadStateError);
  assert.equal(file.bad, "OPEN -> NFS4ERR_RECLAIM_CONFLICT");
  assert.deepEqual(h.ops().slice(5), ["PUTFH,OPEN -> NFS4ERR_RECLAIM_CONFLICT"]);
});

Deno.test(`a failed lock reclaim (faults.failReclaim = "lock") marks the lock bad; the open still reads (RFC 8881 §8.4.2.1)`, async () => {
  await using h = await harness(1);
  const file = await h.open();
  await h.lock(file);
  h.mark();
  h.m.faults.failReclaim = "lock";
  h.server.reboot();
  assert.equal(await h.readText(file), "hello, world\n");
  assert.ok(file.locks[0]!.bad);
  await assert.rejects(h.lock(file, { offset: 50n, length: 1n }), BadStateError);
  assert.deepEqual(h.server.locksOf("/vfs/file"), []);
});

Deno.test("GRACE on a reclaim op is not waited on: no retry, the state is marked bad (RFC 7530 §9.6.2)", async () => {
  await using h = await harness(0);
  const file = await h.open();
  h.mark();
  h.server.reboot();
  h.server.failNext("OPEN", S.NFS4ERR_GRACE);
  await assert.rejects(h.read(file), BadStateError);
  assert.deepEqual(h.events(["retry"]), []);
  assert.equal(h.ops().filter((o) => o.includes("OPEN")).length, 1);
  assert.equal(file.bad, "OPEN -> NFS4ERR_GRACE");
  assert.equal(h.clock.now(), 0);
});

Deno.test("SEQ4_STATUS_RESTART_RECLAIM_NEEDED -> RECLAIM_REBOOT: reclaim again and RECLAIM_COMPLETE (RFC 8881 §18.46.3)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.mark();
  h.server.restartReclaim();
  assert.equal(await h.readText(file), "hello, world\n");
  await h.m.waitForRecovery();
  assert.deepEqual(h.steps(), [
    "+RECLAIM_REBOOT",
    "RECLAIM_REBOOT start",
    "RECLAIM_COMPLETE ok",
    "-RECLAIM_REBOOT",
    "RECLAIM_REBOOT done",
  ]);
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,READ",
    "SEQUENCE,PUTFH,OPEN",
    "SEQUENCE,RECLAIM_COMPLETE",
  ]);
  assert.deepEqual(claims(h), ["CLAIM_PREVIOUS"]);
});

for (const minor of [0, 1] as const) {
  Deno.test({
    name: `a second reboot during 4.${minor} reclaim re-establishes and reclaims again (RFC ${
      minor === 0 ? "7530 §9.6.2" : "8881 §8.4.2"
    })`,
    async fn() {
      await using h = await harness(minor);
      const file = await h.open();
      h.mark();
      h.server.reboot();
      h.server.intercept("OPEN", (_args, server) => server.reboot());
      assert.equal(await h.readText(file), "hello, world\n");
      assert.equal(file.bad, undefined);
      assert.deepEqual(claims(h), ["CLAIM_PREVIOUS", "CLAIM_PREVIOUS"]);
    },
  });
}

Deno.test({
  name:
    "a RENEW from the renewal timer that finds the server rebooted reclaims in grace (RFC 7530 §9.6.2)",
  async fn() {
    await using h = await harness(0);
    const file = await h.open();
    h.mark();
    h.server.reboot();
    await h.tick(20_000);
    await h.m.waitForRecovery();
    await drain();
    assert.deepEqual(h.steps(), [
      "+LEASE_EXPIRED",
      "+RECLAIM_REBOOT",
      "LEASE_EXPIRED start",
      "-LEASE_EXPIRED",
      "LEASE_EXPIRED done",
      "RECLAIM_REBOOT start",
      "-RECLAIM_REBOOT",
      "RECLAIM_REBOOT done",
    ]);
    assert.deepEqual(h.ops(), [
      "RENEW -> NFS4ERR_STALE_CLIENTID",
      "SETCLIENTID",
      "SETCLIENTID_CONFIRM",
      "PUTROOTFH,GETATTR",
      "PUTFH,OPEN",
      "PUTFH,OPEN_CONFIRM",
    ]);
    assert.equal(await h.readText(file), "hello, world\n");
  },
});

Deno.test("a 4.1 renewal SEQUENCE that finds the server rebooted resets the session and reclaims (RFC 8881 §8.4.2)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.mark();
  h.server.reboot();
  await h.tick(20_000);
  await h.m.waitForRecovery();
  assert.deepEqual(h.ops(), [
    "SEQUENCE -> NFS4ERR_BADSESSION",
    "DESTROY_SESSION -> NFS4ERR_BADSESSION",
    "CREATE_SESSION -> NFS4ERR_STALE_CLIENTID",
    "EXCHANGE_ID",
    "CREATE_SESSION",
    "SEQUENCE,PUTROOTFH,GETATTR",
    "SEQUENCE,PUTFH,OPEN",
    "SEQUENCE,RECLAIM_COMPLETE",
  ]);
  assert.equal(await h.readText(file), "hello, world\n");
});

Deno.test("RECLAIM_BAD on a 4.1 reclaim recovers the open without grace (RFC 8881 §8.4.2.1)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.mark();
  h.server.reboot();
  h.server.intercept("OPEN", (_args, server) => {
    server.endGrace();
    return S.NFS4ERR_RECLAIM_BAD;
  });
  assert.equal(await h.readText(file), "hello, world\n");
  assert.deepEqual(claims(h), ["CLAIM_PREVIOUS", "CLAIM_FH"]);
  assert.deepEqual(h.ops().slice(6), [
    "SEQUENCE,PUTFH,OPEN -> NFS4ERR_RECLAIM_BAD",
    "SEQUENCE,RECLAIM_COMPLETE",
    "SEQUENCE,PUTFH,OPEN",
    "SEQUENCE,PUTFH,READ",
  ]);
});

// The kernel's renewd renews on its own schedule whatever the state manager
// is doing (nfs4renewd.c). A no-grace recovery that waits out the server's
// grace period (its OPENs answered NFS4ERR_GRACE, which renew nothing) for
// longer than the lease must go on renewing the client ID it just made, or
// the server expires it and the recovery starts over (RFC 7530 §9.5, §9.6.2).
Deno.test("4.0: a no-grace recovery waiting out GRACE longer than the lease goes on renewing it (RFC 7530 §9.5, §9.6.2)", async () => {
  await using h = await harness(0);
  assert.equal(h.m.client.leaseTime, 30);
  const file = await h.open();
  h.mark();
  h.server.expireLease();
  h.server.grace = true; // a reboot's grace period, still running
  const reading = h.readText(file);
  await h.tick(45_000, 250);
  h.server.endGrace();
  assert.equal(await h.drive(reading), "hello, world\n");
  const renewals = h.timeline().filter(([, what]) => what === "RENEW");
  assert.deepEqual(renewals.map(([at]) => at), [20_000, 40_000], JSON.stringify(h.timeline()));
  assert.ok(!h.events(["lease"]).includes("lease ran out locally"), h.events(["lease"]).join());
  assert.equal(file.bad, undefined);
});

Deno.test("reboot after grace, 4.0: a file re-opened by name whose name is another file now (replaced meanwhile) is closed again and its state marked bad (EBADF), never taken for the file the client had open (the kernel's nfs4_open_recover_helper: ESTALE)", async () => {
  await using h = await harness(0);
  const file = await h.open("file");
  const other = await h.open("other");
  h.mark();
  h.server.reboot({ grace: false });
  // While the server was down, "file" was replaced by another file.
  h.server.file("/vfs")!.children.delete("file");
  h.server.addFile("/vfs/file", "a different file\n");
  await assert.rejects(h.readText(file), BadStateError);
  assert.match(h.details(["open"]).join("\n"), /\/vfs\/file now names another file/);
  // Its open of the new file was closed again; the other open recovered.
  assert.equal(h.server.opensOf("/vfs/file").length, 0);
  assert.equal(await h.readText(other), "other file contents\n");
});
