/**
 * A close while a LOCK of the same open is on its way, and a CLOSE the
 * server refuses, against the scripted server (files.ts closeFile,
 * procs.ts releaseOpen). The server refuses a CLOSE while the open holds a
 * lock (RFC 7530 §16.2.4, RFC 8881 §18.2.4: NFS4ERR_LOCKS_HELD): the close
 * waits for the LOCK, unlocks what it granted, then CLOSEs. A CLOSE
 * refused NFS4ERR_LOCKS_HELD is sent once more after a LOCKU of the whole
 * file; one refused for good (that, NFS4ERR_BAD_SEQID, anything but "the
 * state is gone") is reported as not released (StateManager.notReleased:
 * client.close()'s leftOnServer), and so is a DESTROY_CLIENTID left unsent
 * for a lock the server holds (RFC 8881 §18.50.3).
 */

import assert from "node:assert/strict";
import { NFS4_UINT64_MAX, ShareAccess } from "../../lib/nfs4/constants.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { closeFile } from "../../lib/state/files.ts";
import { drain, type Harness, harness } from "./_harness.ts";

const BOTH = ShareAccess.OPEN4_SHARE_ACCESS_BOTH;

/** The LOCK, LOCKU and CLOSE COMPOUNDs since the mark, without 4.1's SEQUENCE. */
function lockOps(h: Harness): string[] {
  return h.ops().filter((o) => /LOCK|CLOSE/.test(o)).map((o) => o.replace(/^SEQUENCE,/, ""));
}

for (const minor of [0, 1] as const) {
  Deno.test(`4.${minor}: close() while the open's own LOCK is in flight waits for it, unlocks what it granted, then CLOSEs: no NFS4ERR_LOCKS_HELD, nothing left on the server (RFC 7530 §16.2.4, RFC 8881 §18.2.4)`, async () => {
    await using h = await harness(minor);
    const state = await h.open("file", BOTH);
    h.channel.holdReplies("LOCK");
    const locking = h.lock(state, { offset: 0n, length: 10n });
    locking.catch(() => {});
    for (let i = 0; i < 20 && h.channel.heldReplies("LOCK") === 0; i++) await drain();
    assert.equal(h.channel.heldReplies("LOCK"), 1, "the server ran the LOCK; its reply is held");
    h.mark();
    const closing = closeFile(h.m, state);
    closing.catch(() => {});
    for (let i = 0; i < 20; i++) await drain();
    h.channel.releaseReplies("LOCK");
    await h.drive(locking);
    await h.drive(closing);
    const ops = h.ops();
    assert.ok(!ops.some((o) => o.includes("LOCKS_HELD")), ops.join("\n"));
    assert.deepEqual(lockOps(h), ["PUTFH,LOCKU", "PUTFH,CLOSE"]);
    assert.deepEqual(h.server.opensOf("/vfs/file"), []);
    assert.deepEqual(h.server.locksOf("/vfs/file"), []);
    await h.drive(h.m.shutdown());
    assert.deepEqual(h.m.notReleased, []);
    assert.equal(h.m.client.unknownState, undefined);
  });

  Deno.test(`4.${minor}: CLOSE refused NFS4ERR_LOCKS_HELD once: the whole file is unlocked and the CLOSE sent again, nothing reported (RFC 7530 §16.2.4, RFC 8881 §18.2.4)`, async () => {
    await using h = await harness(minor);
    const state = await h.open("file", BOTH);
    await h.lock(state, { offset: 0n, length: 10n });
    h.server.failNext("CLOSE", S.NFS4ERR_LOCKS_HELD);
    h.mark();
    await h.drive(closeFile(h.m, state));
    assert.deepEqual(lockOps(h), [
      "PUTFH,LOCKU",
      "PUTFH,CLOSE -> NFS4ERR_LOCKS_HELD",
      "PUTFH,LOCKU",
      "PUTFH,CLOSE",
    ]);
    assert.deepEqual(h.server.opensOf("/vfs/file"), []);
    await h.drive(h.m.shutdown());
    assert.deepEqual(h.m.notReleased, []);
  });

  Deno.test(
    `4.${minor}: CLOSE refused NFS4ERR_LOCKS_HELD twice is reported not released${
      minor === 1 ? ", and so is the DESTROY_CLIENTID left unsent (RFC 8881 §18.50.3)" : ""
    } (RFC 7530 §16.2.4, RFC 8881 §18.2.4)`,
    async () => {
      await using h = await harness(minor);
      const state = await h.open("file", BOTH);
      await h.lock(state, { offset: 0n, length: NFS4_UINT64_MAX });
      h.server.failNext("CLOSE", S.NFS4ERR_LOCKS_HELD, { times: 2 });
      h.mark();
      await h.drive(closeFile(h.m, state));
      assert.deepEqual(lockOps(h), [
        "PUTFH,LOCKU",
        "PUTFH,CLOSE -> NFS4ERR_LOCKS_HELD",
        "PUTFH,LOCKU",
        "PUTFH,CLOSE -> NFS4ERR_LOCKS_HELD",
      ]);
      await h.drive(h.m.shutdown());
      const close = { what: "CLOSE /vfs/file", why: "CLOSE -> NFS4ERR_LOCKS_HELD" };
      if (minor === 0) {
        assert.deepEqual(h.m.notReleased, [close]);
      } else {
        assert.ok(!h.ops().some((o) => o.includes("DESTROY_CLIENTID")), h.ops().join("\n"));
        assert.deepEqual(h.m.notReleased, [close, {
          what: "DESTROY_CLIENTID",
          why: "not sent: /vfs/file: the server holds a lock this client does not know of",
        }]);
      }
    },
  );
}

Deno.test("4.0: CLOSE refused NFS4ERR_BAD_SEQID is reported not released: the open stays on the server (RFC 7530 §9.1.7, §16.2.4)", async () => {
  await using h = await harness(0);
  const state = await h.open("file", BOTH);
  h.server.failNext("CLOSE", S.NFS4ERR_BAD_SEQID);
  h.mark();
  await h.drive(closeFile(h.m, state));
  assert.ok(h.ops().includes("PUTFH,CLOSE -> NFS4ERR_BAD_SEQID"), h.ops().join("\n"));
  await h.drive(h.m.shutdown());
  assert.deepEqual(h.m.notReleased, [{
    what: "CLOSE /vfs/file",
    why: "CLOSE -> NFS4ERR_BAD_SEQID",
  }]);
});

Deno.test("4.1: CLOSE answered NFS4ERR_BAD_STATEID (the state is gone already) is not reported (RFC 8881 §18.2.3)", async () => {
  await using h = await harness(1);
  const state = await h.open("file", BOTH);
  h.server.failNext("CLOSE", S.NFS4ERR_BAD_STATEID);
  await h.drive(closeFile(h.m, state));
  await h.drive(h.m.shutdown());
  assert.deepEqual(h.m.notReleased, []);
});
