/**
 * The scripted server's view of lock_concurrency_test.ts (audit a3, F1 and
 * F2): what each LOCK and LOCKU of one lock owner sent at once carries.
 */

import assert from "node:assert/strict";
import { closeFile } from "../../lib/state/files.ts";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import type { LockArgs } from "../../lib/nfs4/ops/lock.ts";
import { harness } from "./_harness.ts";

const BOTH = ShareAccess.OPEN4_SHARE_ACCESS_BOTH;
const M = 8;

Deno.test("4.0: two first LOCKs of one open at once: open_to_lock_owner4 then exist_lock_owner4 with the first's stateid; the open owner's seqid moves on once, the next OPEN and both CLOSEs are not refused (RFC 7530 §9.1.7, §16.10.4)", async () => {
  await using h = await harness(0);
  const file = await h.open("file", BOTH);
  h.mark();
  await Promise.all([
    h.lock(file, { offset: 0n, length: 5n }),
    h.lock(file, { offset: 10n, length: 5n }),
  ]);
  const lockers = h.entries().filter((e) => e.ops.includes("LOCK"))
    .map((e) => (e.args[e.ops.indexOf("LOCK")] as LockArgs).locker);
  assert.deepEqual(lockers.map((l) => l.newLockOwner), [true, false]);
  const [first, second] = lockers;
  assert.ok(first?.newLockOwner && second && !second.newLockOwner);
  assert.equal(second.lockSeqid, first.lockSeqid + 1);
  assert.equal(file.owner.seqid, first.openSeqid + 1, "only the first LOCK carried the open seqid");
  const other = await h.open("other", ShareAccess.OPEN4_SHARE_ACCESS_READ);
  await closeFile(h.m, other);
  await h.unlock(file, { offset: 0n, length: 5n });
  await h.unlock(file, { offset: 10n, length: 5n });
  await closeFile(h.m, file);
  assert.deepEqual(h.ops().filter((o) => o.includes("NFS4ERR")), []);
  assert.deepEqual(h.server.opensOf("/vfs/file"), []);
});

for (const minor of [0, 1] as const) {
  Deno.test(
    `4.${minor}: ${M} LOCKs and then ${M} LOCKUs of one lock owner at once: each carries the lock stateid its predecessor's answer left, none refused NFS4ERR_OLD_STATEID or NFS4ERR_BAD_SEQID, one COMPOUND each (RFC ${
      minor === 0 ? "7530 §9.1.4.2, §9.1.7" : "8881 §8.2.2, §9"
    })`,
    async () => {
      await using h = await harness(minor);
      const file = await h.open("file", BOTH);
      await h.lock(file, { offset: 900n, length: 1n });
      h.mark();
      const ranges = Array.from({ length: M }, (_, i) => ({ offset: BigInt(i * 10), length: 10n }));
      await Promise.all(ranges.map((r) => h.lock(file, r)));
      await Promise.all(ranges.map((r) => h.unlock(file, r)));
      const ops = h.ops();
      assert.deepEqual(ops.filter((o) => o.includes("NFS4ERR")), [], ops.join("\n"));
      assert.equal(ops.filter((o) => /\bLOCK\b/.test(o)).length, M, ops.join("\n"));
      assert.equal(ops.filter((o) => /\bLOCKU\b/.test(o)).length, M, ops.join("\n"));
      assert.deepEqual(h.server.locksOf("/vfs/file").map((r) => r.offset), [900n]);
    },
  );
}
