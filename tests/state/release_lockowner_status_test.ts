/**
 * 4.0 exit: RELEASE_LOCKOWNER's answer is looked at (lib/state/procs.ts
 * releaseLockOwner). A refusal, NFS4ERR_LOCKS_HELD above all (RFC 7530
 * §16.37.4: the server still holds a lock of that owner), is traced with
 * its status and reported with what is not released
 * (StateManager.notReleased: client.close()'s leftOnServer, a command's
 * `not released` line), as an unanswered one is; NFS4ERR_STALE_CLIENTID
 * says the owner went with the client ID and is only traced. Before, the
 * answer was never read: the trace said `RELEASE_LOCKOWNER lock-…` as if
 * it had been done, and nothing was reported. (The first case is
 * /tmp/hE/tests/release_lockowner_trace_test.ts, F6 of the protocol audit.)
 */

import assert from "node:assert/strict";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { type Harness, harness } from "./_harness.ts";

/** A 4.0 client that locked and unlocked /vfs/file: its lock owner is released at exit. */
async function lockedOnce(options: { callTimeoutMs?: number; recoveryTimeoutMs?: number } = {}) {
  const h = await harness(0, options);
  const file = await h.open("file", 3);
  await h.lock(file, { offset: 0n, length: 5n });
  await h.unlock(file, { offset: 0n, length: 5n });
  const owner = file.locks[0]!.owner.label;
  h.mark();
  return { h, owner };
}

function releaseTrace(h: Harness): string[] {
  return h.details(["owner"]).filter((e) => e.includes("RELEASE_LOCKOWNER"));
}

Deno.test("4.0: RELEASE_LOCKOWNER refused NFS4ERR_LOCKS_HELD is traced with the status and reported not released (RFC 7530 §16.37.4)", async () => {
  const { h, owner } = await lockedOnce();
  await using _h = h;
  h.server.failNext("RELEASE_LOCKOWNER", S.NFS4ERR_LOCKS_HELD);
  await h.drive(h.m.shutdown());
  assert.deepEqual(h.ops().filter((o) => o.includes("RELEASE_LOCKOWNER")), [
    "RELEASE_LOCKOWNER -> NFS4ERR_LOCKS_HELD",
  ]);
  assert.deepEqual(releaseTrace(h), [
    `RELEASE_LOCKOWNER -> NFS4ERR_LOCKS_HELD (${owner}: NFS4ERR_LOCKS_HELD: the server still holds a lock of this owner)`,
  ]);
  assert.deepEqual(h.m.notReleased, [{
    what: `RELEASE_LOCKOWNER ${owner}`,
    why: "NFS4ERR_LOCKS_HELD: the server still holds a lock of this owner",
  }]);
});

Deno.test("4.0: RELEASE_LOCKOWNER answered NFS4ERR_STALE_CLIENTID is traced; the owner went with the client ID, nothing reported (RFC 7530 §9.6.2)", async () => {
  const { h, owner } = await lockedOnce();
  await using _h = h;
  h.server.failNext("RELEASE_LOCKOWNER", S.NFS4ERR_STALE_CLIENTID);
  await h.drive(h.m.shutdown());
  assert.deepEqual(releaseTrace(h), [
    `RELEASE_LOCKOWNER -> NFS4ERR_STALE_CLIENTID (${owner}: NFS4ERR_STALE_CLIENTID: the client ID is gone, and its lock owners with it)`,
  ]);
  assert.deepEqual(h.m.notReleased, []);
});

Deno.test("4.0: RELEASE_LOCKOWNER never answered is traced as failed and reported not released", async () => {
  const { h, owner } = await lockedOnce({ callTimeoutMs: 1000, recoveryTimeoutMs: 5000 });
  await using _h = h;
  h.channel.dropReplies("RELEASE_LOCKOWNER", { times: 1000 });
  await h.drive(h.m.shutdown());
  const trace = releaseTrace(h);
  assert.equal(trace.length, 1, trace.join("\n"));
  assert.match(trace[0]!, new RegExp(`^RELEASE_LOCKOWNER failed \\(${owner}: `));
  assert.equal(h.m.notReleased.length, 1, JSON.stringify(h.m.notReleased));
  assert.equal(h.m.notReleased[0]!.what, `RELEASE_LOCKOWNER ${owner}`);
});

Deno.test("4.0: RELEASE_LOCKOWNER answered NFS4_OK is traced as before, nothing reported", async () => {
  const { h, owner } = await lockedOnce();
  await using _h = h;
  await h.drive(h.m.shutdown());
  assert.deepEqual(releaseTrace(h), [`RELEASE_LOCKOWNER ${owner}`]);
  assert.deepEqual(h.m.notReleased, []);
});
