/**
 * A first LOCK the server refuses (NFS4ERR_DENIED) and the tries after it,
 * as `nfs4 lock -w` makes them (lib/state/files.ts lockFile): every try
 * keeps the refused try's lock owner, as the kernel's nfs4_retry_setlk
 * keeps its nfs4_lock_state. On 4.0 each try is an open_to_lock_owner4
 * whose lock_seqid the refusal before stepped on (RFC 7530 §9.1.7:
 * NFS4ERR_DENIED is not among the statuses that leave the seqid; knfsd
 * keeps the owner its refused LOCK made, RFC 7530 §16.10.5, and expects
 * that seqid), and the owner is released at exit with RELEASE_LOCKOWNER
 * (§16.37) whether or not a lock was ever granted to it. Before, every
 * 4.0 try took a new lock owner and only a granted one was released: a
 * long wait left one owner per try on the server.
 */

import assert from "node:assert/strict";
import type { LockArgs } from "../../lib/nfs4/ops/lock.ts";
import type { StateOwner as WireOwner } from "../../lib/nfs4/types.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { type Harness, harness } from "./_harness.ts";

const text = (owner: Uint8Array) => new TextDecoder().decode(owner);

/** The open_to_lock_owner4 lockers of the LOCKs since the mark. */
function lockers(h: Harness) {
  return h.entries()
    .filter((e) => e.ops.includes("LOCK"))
    .map((e) => (e.args[e.ops.indexOf("LOCK")] as LockArgs).locker)
    .map((l) => {
      assert.ok(l.newLockOwner, "no lock stateid yet: open_to_lock_owner4");
      return { owner: text(l.lockOwner.owner), lockSeqid: l.lockSeqid, openSeqid: l.openSeqid };
    });
}

/** The owners RELEASE_LOCKOWNER named since the mark, with the status each got. */
function released(h: Harness): string[] {
  return h.entries()
    .filter((e) => e.ops.includes("RELEASE_LOCKOWNER"))
    .map((e) => `${text((e.args[0] as WireOwner).owner)} ${e.status}`);
}

const denied = (e: unknown) => e instanceof NfsError && e.status === S.NFS4ERR_DENIED;

async function heldByAnother(minor: 0 | 1) {
  const holder = await harness(minor, { ownerId: "holder" });
  const h = await harness(minor, { server: holder.server });
  const theirs = await holder.open("file", 3);
  await holder.lock(theirs);
  const file = await h.open("file", 3);
  h.mark();
  return { holder, h, theirs, file };
}

/**
 * Three LOCKs refused NFS4ERR_DENIED, then the holder unlocks and the
 * fourth is granted: the lockers of the four, in the order sent.
 */
async function refusedThriceThenGranted(
  { holder, h, theirs, file }: Awaited<ReturnType<typeof heldByAnother>>,
) {
  for (let i = 0; i < 3; i++) await assert.rejects(h.lock(file), denied);
  await holder.unlock(theirs);
  await h.lock(file);
  return lockers(h);
}

Deno.test("4.0: the tries after a refused first LOCK keep its lock owner, the lock_seqid stepped on by each NFS4ERR_DENIED (RFC 7530 §9.1.7, §16.10.5); the owner is released at exit (§16.37)", async () => {
  const held = await heldByAnother(0);
  const { holder, h, file } = held;
  await using _h = h;
  await using _holder = holder;
  const tries = await refusedThriceThenGranted(held);
  assert.equal(tries.length, 4);
  assert.equal(new Set(tries.map((t) => t.owner)).size, 1, JSON.stringify(tries));
  assert.deepEqual(tries.map((t) => t.lockSeqid), [0, 1, 2, 3]);
  // The open owner's seqid goes on with each LOCK too.
  const first = tries[0]!.openSeqid;
  assert.deepEqual(tries.map((t) => t.openSeqid), [first, first + 1, first + 2, first + 3]);
  assert.deepEqual(h.server.locksOf("/vfs/file"), [{
    type: 2,
    offset: 0n,
    length: 2n ** 64n - 1n,
  }]);
  await h.unlock(file);
  h.mark();
  await h.drive(h.m.shutdown());
  assert.deepEqual(released(h), [`${tries[0]!.owner} ${S.NFS4_OK}`]);
  assert.deepEqual(h.m.notReleased, []);
});

Deno.test("4.0: a lock owner only ever refused (a `lock -w` that gave up) is released at exit too (RFC 7530 §16.37)", async () => {
  const { holder, h, file } = await heldByAnother(0);
  await using _h = h;
  await using _holder = holder;
  for (let i = 0; i < 3; i++) await assert.rejects(h.lock(file), denied);
  const tries = lockers(h);
  assert.equal(new Set(tries.map((t) => t.owner)).size, 1, JSON.stringify(tries));
  h.mark();
  await h.drive(h.m.shutdown());
  assert.deepEqual(released(h), [`${tries[0]!.owner} ${S.NFS4_OK}`]);
});

Deno.test("4.0: a server that did not count the refused LOCK's seqid answers the kept owner NFS4ERR_BAD_SEQID (nothing run, RFC 7530 §9.1.7): the try goes once more with a new lock owner; both are released at exit", async () => {
  const { holder, h, theirs, file } = await heldByAnother(0);
  await using _h = h;
  await using _holder = holder;
  await assert.rejects(h.lock(file), denied);
  h.server.failNext("LOCK", S.NFS4ERR_BAD_SEQID);
  await assert.rejects(h.lock(file), denied);
  await holder.unlock(theirs);
  await h.lock(file);
  const tries = lockers(h);
  const [a, b] = [tries[0]!.owner, tries[2]!.owner];
  assert.notEqual(a, b);
  assert.deepEqual(tries.map((t) => [t.owner, t.lockSeqid]), [[a, 0], [a, 1], [b, 0], [b, 1]]);
  assert.ok(h.details(["owner"]).some((e) => e.startsWith("kept lock owner refused")));
  await h.unlock(file);
  h.mark();
  await h.drive(h.m.shutdown());
  assert.deepEqual(released(h).sort(), [`${a} ${S.NFS4_OK}`, `${b} ${S.NFS4_OK}`].sort());
});

Deno.test("4.1: the tries after a refused first LOCK keep its lock owner (RFC 8881 §9.6: blocked locks are queued by owner); no RELEASE_LOCKOWNER (RFC 8881 §17: not to be implemented in 4.1)", async () => {
  const held = await heldByAnother(1);
  const { holder, h, file } = held;
  await using _h = h;
  await using _holder = holder;
  const tries = await refusedThriceThenGranted(held);
  assert.equal(tries.length, 4);
  assert.equal(new Set(tries.map((t) => t.owner)).size, 1, JSON.stringify(tries));
  await h.unlock(file);
  h.mark();
  await h.drive(h.m.shutdown());
  assert.deepEqual(released(h), []);
});
