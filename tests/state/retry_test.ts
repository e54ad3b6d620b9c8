/**
 * run() on ordinary operations (manager.ts with error_table.ts): DELAY and
 * GRACE wait with backoff on the fake clock, OLD_STATEID resends at once,
 * BAD_SEQID retires the open owner (RFC 7530 §9.1.7), final statuses come
 * back as NfsError, and client-ID establishment retries CLID_INUSE.
 */

import assert from "node:assert/strict";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import type { OpenArgs } from "../../lib/nfs4/ops/open.ts";
import type { LockDenied } from "../../lib/nfs4/ops/lock.ts";
import { type Harness, harness } from "./_harness.ts";
import type { OpenState } from "../../lib/state/open_state.ts";
import { lockFile } from "../../lib/state/files.ts";

Deno.test("DELAY on READ is retried with backoff 100, 200, 400 ms, each a retry event (RFC 7530 §13.1.1.3)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.mark();
  h.server.failNext("READ", S.NFS4ERR_DELAY, { times: 3 });
  const text = await h.drive(h.readText(file), 50);
  assert.equal(text, "hello, world\n");
  assert.deepEqual(h.details(["retry"]), [
    "READ -> NFS4ERR_DELAY (waiting 100.0 ms)",
    "READ -> NFS4ERR_DELAY (waiting 200.0 ms)",
    "READ -> NFS4ERR_DELAY (waiting 400.0 ms)",
  ]);
  assert.deepEqual(h.timeline(), [
    [0, "SEQUENCE,PUTFH,READ -> NFS4ERR_DELAY"],
    [100, "SEQUENCE,PUTFH,READ -> NFS4ERR_DELAY"],
    [300, "SEQUENCE,PUTFH,READ -> NFS4ERR_DELAY"],
    [700, "SEQUENCE,PUTFH,READ"],
  ]);
  assert.deepEqual(h.steps(), []);
});

Deno.test("DELAY backoff doubles up to 15 s (kernel NFS4_POLL_RETRY_MAX) when the lease allows", async () => {
  await using h = await harness(1, { leaseTime: 90 });
  const file = await h.open();
  h.mark();
  h.server.failNext("READ", S.NFS4ERR_DELAY, { times: 10 });
  await h.drive(h.read(file), 500);
  assert.deepEqual(h.details(["retry"]).map((d) => d.replace(/^.*waiting /, "")), [
    "100.0 ms)",
    "200.0 ms)",
    "400.0 ms)",
    "800.0 ms)",
    "1.60 s)",
    "3.20 s)",
    "6.40 s)",
    "12.80 s)",
    "15.00 s)",
    "15.00 s)",
  ]);
});

Deno.test("DELAY backoff stays below a third of the lease, so the waiting itself keeps the lease (issue: 15 s waits with a 10 s lease)", async () => {
  await using h = await harness(1, { leaseTime: 10 });
  const file = await h.open();
  h.mark();
  h.server.failNext("READ", S.NFS4ERR_DELAY, { times: 8 });
  await h.drive(h.read(file), 500);
  const waits = h.details(["retry"]).map((d) => d.replace(/^.*waiting /, ""));
  assert.deepEqual(waits.slice(-3), ["3.20 s)", "3.33 s)", "3.33 s)"]);
  // Each retried SEQUENCE renewed the lease: no recovery was needed.
  assert.deepEqual(h.steps(), []);
});

Deno.test("GRACE on an ordinary 4.0 OPEN waits with backoff until grace ends (RFC 7530 §9.6.2)", async () => {
  await using h = await harness(0);
  h.server.grace = true;
  const opening = h.open();
  await h.tick(350, 50);
  h.server.endGrace();
  const file = await h.drive(opening, 50);
  assert.equal(await h.readText(file), "hello, world\n");
  assert.deepEqual(h.events(["retry"]), [
    "OPEN -> NFS4ERR_GRACE",
    "OPEN -> NFS4ERR_GRACE",
    "OPEN -> NFS4ERR_GRACE",
  ]);
  // Each OPEN that got GRACE consumed its seqid (RFC 7530 §9.1.7); the server agrees.
  const seqids = h.entries().flatMap((e) =>
    e.ops.flatMap((n, i) => (n === "OPEN" ? [(e.args[i] as OpenArgs).seqid] : []))
  );
  assert.deepEqual(seqids, [0, 1, 2, 3]);
});

Deno.test("GRACE injected on a 4.1 LOCK is retried after 100 ms (RFC 8881 §8.4.2.1)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.mark();
  h.server.failNext("LOCK", S.NFS4ERR_GRACE);
  await h.drive(h.lock(file), 50);
  assert.deepEqual(h.timeline(), [
    [0, "SEQUENCE,PUTFH,LOCK -> NFS4ERR_GRACE"],
    [100, "SEQUENCE,PUTFH,LOCK"],
  ]);
  assert.deepEqual(h.details(["retry"]), ["LOCK -> NFS4ERR_GRACE (waiting 100.0 ms)"]);
});

Deno.test("OLD_STATEID is resent at once with the current stateid (RFC 8881 §8.2.2)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.mark();
  h.server.failNext("READ", S.NFS4ERR_OLD_STATEID);
  await h.read(file);
  assert.deepEqual(h.ops(), ["SEQUENCE,PUTFH,READ -> NFS4ERR_OLD_STATEID", "SEQUENCE,PUTFH,READ"]);
  assert.deepEqual(h.details(["retry"]), ["READ -> NFS4ERR_OLD_STATEID (sending again)"]);
  assert.equal(h.clock.now(), 0);
});

Deno.test("OLD_STATEID forever gives up after 8 immediate resends and throws NfsError", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.mark();
  h.server.failNext("READ", S.NFS4ERR_OLD_STATEID, { times: 100 });
  await assert.rejects(h.read(file), (e: unknown) => {
    assert.ok(e instanceof NfsError);
    assert.equal(e.status, S.NFS4ERR_OLD_STATEID);
    return true;
  });
  assert.equal(h.ops().length, 9);
});

Deno.test("a final status (NOENT) comes back as NfsError at once, without recovery (RFC 7530 §13)", async () => {
  await using h = await harness(0);
  await assert.rejects(h.open("missing"), (e: unknown) => {
    assert.ok(e instanceof NfsError);
    assert.equal(e.statusName, "NFS4ERR_NOENT");
    assert.equal(e.path, "/vfs/missing");
    return true;
  });
  assert.deepEqual(h.steps(), []);
  assert.deepEqual(h.ops(), [
    "PUTROOTFH,LOOKUP,GETFH",
    "PUTFH,OPEN,GETFH,GETATTR -> NFS4ERR_NOENT",
  ]);
});

Deno.test("a 4.0 OPEN that fails with NOENT still consumes the owner's seqid (RFC 7530 §9.1.7)", async () => {
  await using h = await harness(0);
  const file = await h.open("file");
  const seqid = file.owner.seqid;
  await assert.rejects(h.open("missing"), NfsError);
  assert.equal(file.owner.seqid, seqid + 1);
  // The server agrees: the next OPEN with this owner is in order.
  await h.open("other");
  assert.equal(file.owner.seqid, seqid + 2);
});

Deno.test("BAD_SEQID on a 4.0 OPEN retires the owner and retries with a new owner, confirmed anew (RFC 7530 §9.1.7, §16.18)", async () => {
  await using h = await harness(0);
  const first = await h.open("file");
  const oldOwner = first.owner;
  h.mark();
  h.server.failNext("OPEN", S.NFS4ERR_BAD_SEQID);
  const second = await h.open("other");
  assert.notEqual(second.owner, oldOwner);
  assert.equal(oldOwner.retired, true);
  assert.deepEqual(h.ops(), [
    "PUTFH,OPEN,GETFH,GETATTR -> NFS4ERR_BAD_SEQID",
    "PUTFH,OPEN,GETFH,GETATTR",
    "PUTFH,OPEN_CONFIRM",
  ]);
  const owners = h.entries().flatMap((e) =>
    e.ops.flatMap((n, i) => (n === "OPEN" ? [e.args[i] as OpenArgs] : []))
  );
  assert.equal(new TextDecoder().decode(owners[0]!.owner.owner), oldOwner.label);
  assert.equal(new TextDecoder().decode(owners[1]!.owner.owner), second.owner.label);
  assert.equal(owners[1]!.seqid, 0);
  assert.deepEqual(h.events(["owner"]), [
    `retire ${oldOwner.label}`,
    `new ${second.owner.label}`,
    `OPEN_CONFIRM ${second.owner.label}`,
  ]);
  assert.deepEqual(h.steps(), []);
  assert.equal(await h.readText(second), "other file contents\n");
});

Deno.test("a lock held by another client: LOCK -> DENIED comes back with the holder, no retry (RFC 7530 §16.10.5)", async () => {
  await using a = await harness(1, { ownerId: "client-a" });
  await using b = await harness(1, { server: a.server, ownerId: "client-b" });
  const fa = await a.open("file", 3);
  const fb = await b.open("file", 3);
  await a.lock(fa, { offset: 0n, length: 10n });
  await assert.rejects(b.lock(fb, { offset: 5n, length: 10n }), (e: unknown) => {
    assert.ok(e instanceof NfsError);
    assert.equal(e.statusName, "NFS4ERR_DENIED");
    assert.equal(e.path, "/vfs/file");
    const denied = e.detail as LockDenied;
    assert.equal(denied.offset, 0n);
    assert.equal(denied.length, 10n);
    assert.equal(new TextDecoder().decode(denied.owner.owner), fa.locks[0]!.owner.label);
    return true;
  });
  assert.deepEqual(b.events(["retry"]), []);
  // A read lock elsewhere is fine.
  await b.lock(fb, { type: "read", offset: 20n, length: 5n });
  assert.equal(a.server.locksOf("/vfs/file").length, 2);
});

for (const minor of [0, 1] as const) {
  Deno.test(
    `4.${minor} CLID_INUSE while establishing: retried with a uniquified owner string (RFC ${
      minor === 0 ? "7530 §16.33.5" : "8881 §18.35.4"
    })`,
    async () => {
      await using h = await harness(minor, { noStart: true });
      h.server.clidInUse.add("test-client");
      await h.m.start();
      assert.equal(h.m.client.wireOwnerId, "test-client/u1");
      const first = minor === 0 ? "SETCLIENTID" : "EXCHANGE_ID";
      assert.deepEqual(h.ops().slice(0, 2), [`${first} -> NFS4ERR_CLID_INUSE`, first]);
      assert.deepEqual(h.events(["clid"]).slice(0, 1), [`${first} -> NFS4ERR_CLID_INUSE`]);
    },
  );
}

Deno.test("4.1 SEQUENCE answered NFS4ERR_DELAY: the same request again, same slot and sequence id, with backoff (RFC 8881 §2.10.6.2, §15.1.1.3)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.mark();
  h.server.failNext("SEQUENCE", S.NFS4ERR_DELAY, { times: 2 });
  const text = await h.drive(h.readText(file), 50);
  assert.equal(text, "hello, world\n");
  assert.deepEqual(h.details(["retry"]), [
    "READ resend (SEQUENCE -> NFS4ERR_DELAY; same request in 100.0 ms)",
    "READ resend (SEQUENCE -> NFS4ERR_DELAY; same request in 200.0 ms)",
  ]);
  assert.deepEqual(h.timeline(), [
    [0, "SEQUENCE,PUTFH,READ -> NFS4ERR_DELAY"],
    [100, "SEQUENCE,PUTFH,READ -> NFS4ERR_DELAY"],
    [300, "SEQUENCE,PUTFH,READ"],
  ]);
  const sent = h.entries().map((e) => `${e.slotid}/${e.sequenceid}`);
  assert.equal(new Set(sent).size, 1, `one slot and sequence id: ${sent.join(", ")}`);
  assert.deepEqual(h.steps(), []);
});

/**
 * A LOCK to be answered within 1 s (lock -w's deadline, RunOptions
 * answerWithinMs) that the server keeps answering NFS4ERR_GRACE: it ends
 * with that status, driven by the virtual clock in steps of `stepMs`.
 */
async function lockThroughGrace(h: Harness, file: OpenState, stepMs: number): Promise<void> {
  h.server.failNext("LOCK", S.NFS4ERR_GRACE, { times: 10 });
  const locking = lockFile(h.m, file, { type: "write", offset: 0n, length: 10n }, {
    answerWithinMs: 1000,
  });
  await assert.rejects(
    h.drive(locking, stepMs),
    (e) => e instanceof NfsError && e.status === S.NFS4ERR_GRACE,
  );
}

Deno.test("GRACE on a LOCK that must be answered within 1 s (lock -w's deadline): waited out only while a LOCK after the wait has 100 ms before it; then NFS4ERR_GRACE is the answer, nothing left in flight (RFC 8881 §8.4.2.1)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.mark();
  await lockThroughGrace(h, file, 50);
  // 100, 200, 400 ms, then the wait cut to leave 100 ms: the last LOCK at 900 ms, answered.
  assert.deepEqual(h.timeline().map(([at]) => at), [0, 100, 300, 700, 900]);
  assert.ok(h.clock.now() <= 900, `answered at ${h.clock.now()} ms`);
});

Deno.test("a LOCK to be answered within 50 ms that must be sent again (NFS4ERR_OLD_STATEID) is not sent again with less than 100 ms of room: nothing left in flight, the caller's stop is the answer", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.mark();
  const stop = new AbortController();
  h.clock.setTimer(() => stop.abort(new Error("the caller's deadline")), 50);
  h.server.failNext("LOCK", S.NFS4ERR_OLD_STATEID);
  const locking = lockFile(h.m, file, { type: "write", offset: 0n, length: 10n }, {
    signal: stop.signal,
    answerWithinMs: 50,
  });
  await assert.rejects(h.drive(locking, 50), /the caller's deadline/);
  assert.deepEqual(h.ops(), ["SEQUENCE,PUTFH,LOCK -> NFS4ERR_OLD_STATEID"]);
  assert.ok(h.details(["retry"]).some((d) => d.includes("no room before the caller's deadline")));
});

Deno.test("GRACE on a LOCK to be answered within 1 s over a link with a 150 ms round trip: the room before the deadline is twice the LOCK's own round trip (300 ms), not a flat 100 ms, so no LOCK is left in flight when the caller stops it (RFC 8881 §8.4.2.1)", async () => {
  await using h = await harness(1);
  h.channel.latency = () => h.clock.sleep(150);
  const file = await h.drive(h.open(), 50);
  h.mark();
  const start = h.clock.now();
  await lockThroughGrace(h, file, 10);
  // Sent at 0, 250 and 600 ms, each answered 150 ms later; at 750 ms a LOCK
  // after any wait would be answered past 1000 ms (room 300 ms): GRACE is the
  // answer then. With 100 ms of room a fourth went at 900 ms, answered at 1050.
  assert.equal(h.ops().filter((o) => o.includes("LOCK")).length, 3, h.ops().join("\n"));
  const answeredAt = h.clock.now() - start;
  assert.ok(answeredAt <= 1000, `answered at ${answeredAt} ms`);
});

Deno.test("the room before a caller's deadline is the call's own: a slow request before it (2 s to answer) does not make a LOCK within 1 s give up on GRACE sooner (RFC 8881 §8.4.2.1)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.channel.latency = () => h.clock.sleep(2000);
  await h.drive(h.readText(file), 50);
  h.channel.latency = undefined;
  h.mark();
  await lockThroughGrace(h, file, 50);
  // As on a quick link: 100, 200, 400 ms, then the wait cut to leave 100 ms.
  const sent = h.timeline().map(([at]) => at);
  assert.deepEqual(sent.map((at) => at - sent[0]!), [0, 100, 300, 700, 900]);
});
