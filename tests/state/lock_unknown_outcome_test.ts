/**
 * A first LOCK (open_to_lock_owner4) whose answer never came: its caller's
 * deadline stopped it in flight. The server may have granted it, so
 * lockFile keeps the lock state, its owner and the range, and the release
 * settles them before the CLOSE (lib/state/procs.ts settleUnknownLocks):
 * LOCKT by another lock owner of the client (RFC 7530 §16.11) says whether
 * this owner holds the range; held, the same LOCK under the same owner
 * learns its stateid (a lock owner's own locks never conflict with its
 * request, RFC 7530 §16.10.5, RFC 8881 §18.10.4) and LOCKU releases it, so
 * the CLOSE is not refused NFS4ERR_LOCKS_HELD (RFC 7530 §16.2.4) and
 * nothing is left locked on the server. Not held, nothing more is sent.
 */

import assert from "node:assert/strict";
import { closeFile, lockFile } from "../../lib/state/files.ts";
import type { LockRange, OpenState } from "../../lib/state/open_state.ts";
import { type Harness, harness } from "./_harness.ts";

const RANGE: LockRange = { type: "write", offset: 0n, length: 10n };

/** A first LOCK of RANGE sent, then stopped in flight by its deadline. */
async function lockStoppedInFlight(
  h: Harness,
  file: OpenState,
  options: { reachesServer: boolean },
): Promise<void> {
  const deadline = new AbortController();
  if (options.reachesServer) h.channel.hold();
  else h.channel.dropReplies("LOCK", { beforeServer: true, times: 1_000 });
  const locking = lockFile(h.m, file, RANGE, { signal: deadline.signal });
  locking.catch(() => {});
  await h.tick(20, 10);
  deadline.abort(new Error("lock -w: gave up"));
  await assert.rejects(h.drive(locking, 10), /gave up/);
  if (options.reachesServer) {
    // The server runs the LOCK now; its answer goes nowhere.
    h.channel.release();
    await h.tick(20, 10);
  } else {
    h.channel.clearDrops();
  }
}

for (const minor of [0, 1] as const) {
  Deno.test(`4.${minor}: a first LOCK granted by the server after its deadline stopped it in flight: the close finds the lock (LOCKT), learns its stateid with the same LOCK, unlocks it and closes: no NFS4ERR_LOCKS_HELD, nothing left on the server (RFC 7530 §16.10.5, §16.2.4)`, async () => {
    await using h = await harness(minor);
    const file = await h.open("file", 3);
    h.mark();
    await lockStoppedInFlight(h, file, { reachesServer: true });
    assert.equal(h.server.locksOf("/vfs/file").length, 1, "the server granted it");
    const lockState = file.locks[0]!;
    assert.deepEqual(lockState.unsettled, [RANGE], "the owner and range are kept");
    assert.ok(
      h.details(["lock"]).some((d) =>
        /^outcome unknown \(\/vfs\/file write 0-9 \(lock-\S+\): the server may have granted it; settled at close\)$/
          .test(d)
      ),
      h.details(["lock"]).join("\n"),
    );
    h.mark();
    await h.drive(closeFile(h.m, file), 50);
    await h.drive(h.m.shutdown(), 50);
    const seq = minor === 1 ? "SEQUENCE," : "";
    assert.deepEqual(h.ops().slice(0, 4), [
      `${seq}PUTFH,LOCKT -> NFS4ERR_DENIED`,
      `${seq}PUTFH,LOCK`,
      `${seq}PUTFH,LOCKU`,
      `${seq}PUTFH,CLOSE`,
    ]);
    assert.deepEqual(
      h.ops().slice(4),
      minor === 1 ? ["DESTROY_SESSION", "DESTROY_CLIENTID"] : ["RELEASE_LOCKOWNER"],
    );
    assert.deepEqual(h.server.locksOf("/vfs/file"), []);
    assert.deepEqual(h.server.opensOf("/vfs/file"), []);
    assert.deepEqual(h.m.notReleased, []);
    assert.equal(h.m.client.unknownState, undefined);
  });

  Deno.test(
    `4.${minor}: a first LOCK stopped in flight that never reached the server: LOCKT finds no lock, and nothing more is sent for it before the CLOSE${
      minor === 0
        ? "; the CLOSE refused NFS4ERR_BAD_SEQID for the seqid taken as used goes again with the LOCK's, which the server expects (RFC 7530 §9.1.7)"
        : ""
    } (RFC 7530 §16.11)`,
    async () => {
      await using h = await harness(minor);
      const file = await h.open("file", 3);
      h.mark();
      await lockStoppedInFlight(h, file, { reachesServer: false });
      h.mark();
      await h.drive(closeFile(h.m, file), 50);
      assert.deepEqual(
        h.ops(),
        minor === 1
          ? ["SEQUENCE,PUTFH,LOCKT", "SEQUENCE,PUTFH,CLOSE"]
          : ["PUTFH,LOCKT", "PUTFH,CLOSE -> NFS4ERR_BAD_SEQID", "PUTFH,CLOSE"],
      );
      assert.deepEqual(h.server.opensOf("/vfs/file"), [], "closed");
      assert.ok(
        h.details(["lock"]).includes(
          "settled: not granted (/vfs/file write 0-9: LOCKT finds no lock there; the LOCK whose answer never came did not take it)",
        ),
        h.details(["lock"]).join("\n"),
      );
    },
  );
}

Deno.test("4.1: a first LOCK stopped in flight while another client holds the range: LOCKT names the other holder, so the LOCK did not take it; nothing is sent for it, and the other client's lock stands (RFC 8881 §18.11)", async () => {
  await using a = await harness(1);
  await using b = await harness(1, { server: a.server, ownerId: "other-client" });
  const theirs = await b.open("file", 3);
  await b.lock(theirs, RANGE);
  const file = await a.open("file", 3);
  a.mark();
  await lockStoppedInFlight(a, file, { reachesServer: true });
  a.mark();
  await a.drive(closeFile(a.m, file), 50);
  assert.deepEqual(a.ops(), ["SEQUENCE,PUTFH,LOCKT -> NFS4ERR_DENIED", "SEQUENCE,PUTFH,CLOSE"]);
  assert.ok(
    a.details(["lock"]).some((d) =>
      d.startsWith("settled: not granted (/vfs/file write 0-9: LOCKT finds another owner's lock")
    ),
    a.details(["lock"]).join("\n"),
  );
  assert.equal(a.server.locksOf("/vfs/file").length, 1, "the other client's lock");
});
