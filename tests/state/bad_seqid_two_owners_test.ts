/**
 * RFC 7530 §9.1.7/§9.1.8: NFS4ERR_BAD_SEQID to a 4.0 COMPOUND carrying two
 * seqid owners (a LOCK with open_to_lock_owner4: the open owner's and the
 * new lock owner's seqids, §16.10.4) does not say whose seqid was wrong. A
 * guessed open-owner seqid that was right, taken one back, is the server's
 * last of that owner: a replay, answered from its reply cache with that
 * request's reply (here a LOCK of another file). The client must never take
 * such an answer as this LOCK's grant.
 */
import assert from "node:assert/strict";
import { lockFile } from "../../lib/state/files.ts";
import type { LockRange } from "../../lib/state/open_state.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { formatStateid } from "../../lib/nfs4/types.ts";
import { harness } from "./_harness.ts";

const RANGE: LockRange = { type: "write", offset: 0n, length: 10n };

Deno.test("RFC 7530 §9.1.8: BAD_SEQID to a LOCK with open and lock owner takes no guessed seqid back (no replay of another file's LOCK)", async () => {
  await using h = await harness(0);
  const a = await h.open("file", 3);
  const b = await h.open("other", 3);
  assert.equal(a.owner, b.owner, "one open owner for both files (per uid)");
  // A LOCK of "other" that the server runs, its answer lost: the deadline
  // stops it in flight, so the open owner's seqid is guessed, rightly.
  const deadline = new AbortController();
  h.channel.hold();
  const locking = lockFile(h.m, b, RANGE, { signal: deadline.signal });
  locking.catch(() => {});
  await h.tick(20, 10);
  deadline.abort(new Error("gave up"));
  await assert.rejects(h.drive(locking, 10), /gave up/);
  h.channel.release();
  await h.tick(20, 10);
  assert.equal(b.owner.guessed, true);
  assert.equal(h.server.locksOf("/vfs/other").length, 1, "the server ran the lost LOCK");
  // The next LOCK (of "file", a new lock owner) is refused BAD_SEQID once,
  // for a reason not the open owner's.
  h.server.failNext("LOCK", S.NFS4ERR_BAD_SEQID);
  h.mark();
  let err: unknown;
  await h.drive(lockFile(h.m, a, RANGE), 50).catch((e) => err = e);
  const otherStateids = b.locks.map((l) => l.stateid && formatStateid(l.stateid));
  for (const l of a.locks) {
    if (l.stateid) {
      assert.ok(
        !otherStateids.includes(formatStateid(l.stateid)),
        `file's lock state took other's stateid ${formatStateid(l.stateid)}`,
      );
    }
  }
  if (err === undefined) {
    assert.equal(
      h.server.locksOf("/vfs/file").length,
      1,
      "reported granted: the server must hold it",
    );
  } else {
    assert.match((err as Error).message, /BAD_SEQID/);
    assert.equal(h.server.locksOf("/vfs/file").length, 0);
  }
  assert.ok(
    !h.events(["retry"]).some((e) => /its seqid again/.test(e)),
    `no seqid taken back: ${h.events(["retry"]).join("\n")}`,
  );
});

for (const minor of [0, 1] as const) {
  Deno.test(`4.${minor}: a LOCK answered with the lock stateid of another file is not taken as granted (RFC 7530 §9.1.4, §9.1.8; RFC 8881 §8.2)`, async () => {
    await using h = await harness(minor);
    const a = await h.open("file", 3);
    const b = await h.open("other", 3);
    await h.drive(lockFile(h.m, b, RANGE), 50);
    const taken = b.locks[0]!.stateid!;
    // The next LOCK's answer names the other file's lock stateid (what a
    // replay cache's answer to that LOCK would be).
    const compound = h.channel.compound.bind(h.channel);
    h.channel.compound = async (request, options) => {
      const reply = await compound(request, options);
      for (const outcome of reply.outcomes) {
        // deno-lint-ignore no-explicit-any
        if (outcome.name === "LOCK" && outcome.status === S.NFS4_OK) (outcome as any).value = taken;
      }
      return reply;
    };
    let err: unknown;
    await h.drive(lockFile(h.m, a, RANGE), 50).catch((e) => err = e);
    assert.ok(err instanceof Error, "reported granted with another file's lock stateid");
    assert.match(err.message, /another file \(\/vfs\/other\): not taken as granted/);
    for (const l of a.locks) {
      if (l.stateid) assert.notEqual(formatStateid(l.stateid), formatStateid(taken));
    }
  });
}
