/**
 * unlock() of a range held by a lock state whose lock owner was retired
 * (audit a3, F3). A LOCK refused NFS4ERR_BAD_SEQID retires its lock owner
 * (RFC 7530 §9.1.7; the kernel's nfs4_drop_state_owner): no new lock
 * state uses it, but the locks it holds stay on the server until they are
 * unlocked, and the owner is kept for their LOCKU (lib/state/owners.ts).
 * Before, unlock() went through a fresh lock state with no stateid and
 * resolved having sent nothing, the server still holding the lock.
 */

import assert from "node:assert/strict";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { harness } from "./_harness.ts";

const BOTH = ShareAccess.OPEN4_SHARE_ACCESS_BOTH;

Deno.test("4.0: unlock() of a range granted to a lock owner retired since (its next LOCK refused NFS4ERR_BAD_SEQID) sends LOCKU through that owner's lock state: the server holds nothing after (RFC 7530 §9.1.7, §16.12)", async () => {
  await using h = await harness(0);
  const file = await h.open("file", BOTH);
  const granted = { offset: 0n, length: 10n };
  await h.lock(file, granted);
  h.server.failNext("LOCK", S.NFS4ERR_BAD_SEQID);
  await assert.rejects(
    h.lock(file, { offset: 20n, length: 10n }),
    (e) => e instanceof NfsError && e.status === S.NFS4ERR_BAD_SEQID,
  );
  assert.ok(file.locks.every((l) => l.owner.retired), "the lock owner is retired");
  h.mark();
  await h.unlock(file, granted);
  assert.deepEqual(h.ops(), ["PUTFH,LOCKU"]);
  assert.deepEqual(h.server.locksOf("/vfs/file"), [], "the server holds no lock");
});

Deno.test("4.0: unlock() through a retired lock owner the server refuses (NFS4ERR_BAD_SEQID) rejects, naming the file (RFC 7530 §9.1.7)", async () => {
  await using h = await harness(0);
  const file = await h.open("file", BOTH);
  const granted = { offset: 0n, length: 10n };
  await h.lock(file, granted);
  h.server.failNext("LOCK", S.NFS4ERR_BAD_SEQID);
  await assert.rejects(h.lock(file, { offset: 20n, length: 10n }));
  h.server.failNext("LOCKU", S.NFS4ERR_BAD_SEQID);
  h.mark();
  await assert.rejects(
    h.unlock(file, granted),
    (e) => e instanceof NfsError && e.status === S.NFS4ERR_BAD_SEQID && e.path === "/vfs/file",
  );
  assert.deepEqual(h.ops(), ["PUTFH,LOCKU -> NFS4ERR_BAD_SEQID"]);
});

for (const minor of [0, 1] as const) {
  Deno.test(
    `4.${minor}: unlock() errors name the file, as lock()'s do (LOCKU refused NFS4ERR_LOCK_RANGE, RFC ${
      minor === 0 ? "7530 §16.12" : "8881 §18.12"
    })`,
    async () => {
      await using h = await harness(minor);
      const file = await h.open("file", BOTH);
      await h.lock(file, { offset: 0n, length: 10n });
      h.server.failNext("LOCKU", S.NFS4ERR_LOCK_RANGE);
      await assert.rejects(
        h.unlock(file, { offset: 0n, length: 10n }),
        (e) => e instanceof NfsError && e.path === "/vfs/file" && e.message.includes("/vfs/file"),
      );
    },
  );
}
