/**
 * Settling at close a READ lock whose first LOCK got no answer, while
 * another owner holds a READ lock over the same range (procs.ts
 * settleUnknownLocks). Read locks of several owners coexist (RFC 7530
 * §16.10.4), and LOCKT, which the settle sends for a write lock, names
 * only one conflicting lock (LOCK4denied, RFC 7530 §16.11.4, RFC 8881
 * §18.11.4): another owner's read lock there says nothing of ours. The
 * close sends the same read LOCK again under our owner to learn the lock
 * stateid, unlocks it, and the CLOSE goes through: before, the lock was
 * settled "not granted", the CLOSE was refused NFS4ERR_LOCKS_HELD and
 * our read lock was left on the server until the lease ended.
 */

import assert from "node:assert/strict";
import { closeFile, lockFile } from "../../lib/state/files.ts";
import type { LockRange } from "../../lib/state/open_state.ts";
import { harness } from "./_harness.ts";
import { lockStoppedInFlight } from "./_lock_settle.ts";

const RANGE: LockRange = { type: "read", offset: 0n, length: 10n };

for (const minor of [0, 1] as const) {
  Deno.test(`NFSv4.${minor}: a READ lock granted after its deadline, beside another client's READ lock, is learnt and unlocked before the CLOSE (RFC 7530 §16.11.4, §16.10.4; RFC 8881 §18.11.4)`, async () => {
    await using a = await harness(minor);
    await using b = await harness(minor, { server: a.server, ownerId: "other-client" });
    const theirs = await b.open("file", 3);
    await b.lock(theirs, RANGE);
    const file = await a.open("file", 3);
    await lockStoppedInFlight(a, file, RANGE);
    assert.equal(a.server.locksOf("/vfs/file").length, 2, "the server ran the stopped LOCK");
    a.mark();
    await a.drive(closeFile(a.m, file), 50);
    const ops = a.ops();
    const details = a.details(["lock", "open"]);
    assert.ok(!ops.some((o) => o.includes("LOCKS_HELD")), ops.join("\n"));
    assert.ok(
      details.some((d) => d.startsWith("settled: held (/vfs/file read 0-9")),
      details.join("\n"),
    );
    assert.ok(ops.some((o) => /LOCKU/.test(o)), ops.join("\n"));
    assert.equal(a.server.locksOf("/vfs/file").length, 1, "only the other client's lock remains");
    assert.equal(a.m.client.unknownState, undefined);
    assert.deepEqual(a.m.notReleased, []);
  });

  Deno.test(`NFSv4.${minor}: a READ lock that was not granted, beside another client's READ lock: the settle's LOCK takes it a moment, LOCKU releases it, nothing of the other's changes (RFC 7530 §16.10.5)`, async () => {
    await using a = await harness(minor);
    await using b = await harness(minor, { server: a.server, ownerId: "other-client" });
    const theirs = await b.open("file", 3);
    await b.lock(theirs, RANGE);
    const file = await a.open("file", 3);
    // The first LOCK is lost before the server runs it, and its resends.
    a.channel.dropReplies("LOCK", { times: 1_000, beforeServer: true });
    const deadline = new AbortController();
    const locking = lockFile(a.m, file, RANGE, { signal: deadline.signal });
    locking.catch(() => {});
    await a.tick(20, 10);
    deadline.abort(new Error("lock -w: gave up"));
    await assert.rejects(a.drive(locking, 10), /gave up/);
    a.channel.clearDrops();
    assert.equal(a.server.locksOf("/vfs/file").length, 1, "the stopped LOCK never ran");
    a.mark();
    await a.drive(closeFile(a.m, file), 50);
    const ops = a.ops();
    assert.ok(!ops.some((o) => o.includes("LOCKS_HELD")), ops.join("\n"));
    if (minor === 1) {
      // On 4.0 the lost LOCK's seqids were taken as run (RFC 7530 §9.1.7),
      // and the server, which never ran it, refuses the settle's LOCK and
      // the first CLOSE NFS4ERR_BAD_SEQID: nothing is taken then.
      assert.deepEqual(ops, [
        "SEQUENCE,PUTFH,LOCKT -> NFS4ERR_DENIED",
        "SEQUENCE,PUTFH,LOCK",
        "SEQUENCE,PUTFH,LOCKU",
        "SEQUENCE,PUTFH,CLOSE",
      ]);
    }
    const theirsLeft = a.server.locksOf("/vfs/file");
    assert.equal(theirsLeft.length, 1, "only the other client's lock remains");
    assert.deepEqual(a.m.notReleased, []);
  });
}
