/**
 * A CB_RECALL that overtakes the OPEN reply granting the delegation it
 * recalls (RFC 7530 §10.4.5; RFC 8881 §2.10.6.3, §20.9.3). The server runs
 * the OPEN and recalls its delegation while the reply is still on its way
 * (the channel holds it back).
 *
 * - 4.1, the CB_SEQUENCE naming the OPEN among its referring calls: the
 *   client answers NFS4ERR_DELAY without taking the slot's sequence id
 *   (the kernel's referring_call_exists), so the server's next try with the
 *   same sequence id is new to it.
 * - 4.0, and 4.1 without referring calls: answered NFS4ERR_BADHANDLE (the
 *   client holds nothing on that file yet) and remembered; the delegation
 *   goes back as soon as the reply that grants it is recorded.
 */

import assert from "node:assert/strict";
import { cbRecall } from "../../lib/nfs4/callback.ts";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import type { Stateid } from "../../lib/nfs4/types.ts";
import { PENDING_RECALLS_MAX } from "../../lib/state/callback.ts";
import { drain, type Harness } from "./_harness.ts";
import { bare, callbacks, withCallbacks } from "./_delegations.ts";
import type { CallbackOptions } from "./_scripted.ts";

const READ = ShareAccess.OPEN4_SHARE_ACCESS_READ;

/**
 * Opens /vfs/file with the reply held back once the server has run the
 * OPEN: the delegation it granted, and the opening to let finish.
 */
async function openWithReplyHeld(a: Harness) {
  await a.vfs();
  a.channel.holdReplies("OPEN");
  a.mark();
  const opening = a.open("file", READ);
  for (let i = 0; i < 20 && a.channel.heldReplies() === 0; i++) await drain();
  assert.equal(a.channel.heldReplies(), 1, "the OPEN ran; its reply is held");
  const deleg = a.server.delegationsOf("/vfs/file")[0];
  assert.ok(deleg, "the server granted a delegation");
  const open = a.entries().find((e) => e.ops.includes("OPEN"))!;
  return {
    opening,
    stateid: a.server.delegationStateid(deleg),
    fh: a.server.file("/vfs/file")!.fh,
    slotid: open.slotid,
    sequenceid: open.sequenceid,
  };
}

function recall(a: Harness, stateid: Stateid, fh: Uint8Array, options: CallbackOptions = {}) {
  return a.server.sendCallback(
    a.m.client.clientId!,
    [cbRecall({ stateid, truncate: false, fh })],
    options,
  );
}

for (const minor of [0, 1] as const) {
  const v = `4.${minor}`;
  const recallOps = minor === 0 ? "CB_RECALL" : "CB_SEQUENCE,CB_RECALL";
  const ok = minor === 0 ? "" : "CB_SEQUENCE OK, ";

  Deno.test(`${v}: a CB_RECALL that comes before the OPEN reply granting the delegation is answered NFS4ERR_BADHANDLE and remembered; the delegation goes back as soon as the reply is recorded (RFC 7530 §10.4.5)`, async () => {
    await using a = await withCallbacks(minor);
    const { opening, stateid, fh } = await openWithReplyHeld(a);
    // 4.1 without referring calls: nothing says the OPEN is on its way.
    await recall(a, stateid, fh);
    assert.deepEqual(
      callbacks(a.server.callbackLog).at(-1),
      `${recallOps} -> ${ok}CB_RECALL NFS4ERR_BADHANDLE`,
    );
    assert.equal(a.m.callbacks.pendingRecalls, 1);

    a.channel.releaseReplies();
    const state = await a.drive(opening);
    await a.drive(a.m.waitForRecovery());
    assert.equal(state.delegation, undefined, "the recalled delegation is not kept");
    assert.ok(
      a.details(["deleg"]).some((d) =>
        d.startsWith("delegation to return at once") && d.includes("recalled before the OPEN reply")
      ),
      a.details(["deleg"]).join("\n"),
    );
    assert.deepEqual(bare(a.ops()).filter((o) => o.includes("DELEGRETURN")), ["PUTFH,DELEGRETURN"]);
    assert.equal(a.server.delegationsOf("/vfs/file").length, 0, "returned to the server");
    assert.equal(a.m.callbacks.pendingRecalls, 0, "taken off the list");
    assert.ok(state.users === 1 && !state.closed, "the open itself is kept");
  });

  Deno.test(`${v}: a remembered recall holds back only the delegation it names: another granted on the file is kept (RFC 7530 §10.4.5)`, async () => {
    await using a = await withCallbacks(minor);
    const fh = a.server.file("/vfs/file")!.fh;
    const never: Stateid = { seqid: 1, other: new Uint8Array(12).fill(0xab) };
    await recall(a, never, fh);
    assert.equal(a.m.callbacks.pendingRecalls, 1);
    const state = await a.open("file", READ);
    assert.equal(state.delegation?.type, "read");
    assert.equal(state.delegation.recalled, false);
    await a.drive(a.m.waitForRecovery());
    assert.ok(!bare(a.ops()).some((o) => o.includes("DELEGRETURN")), a.ops().join("\n"));
  });

  Deno.test(`${v}: recalls of delegations not held are remembered for a lease at most, ${PENDING_RECALLS_MAX} at most (RFC 7530 §10.4.5)`, async () => {
    await using a = await withCallbacks(minor);
    const fh = a.server.file("/vfs/other")!.fh;
    for (let i = 0; i < PENDING_RECALLS_MAX + 6; i++) {
      const other = new Uint8Array(12);
      new DataView(other.buffer).setUint32(8, i + 1);
      await recall(a, { seqid: 1, other }, fh);
    }
    assert.equal(a.m.callbacks.pendingRecalls, PENDING_RECALLS_MAX);
    // The same recall again (a server trying again) is one entry.
    await a.tick(a.m.client.leaseTime * 1000 / 2);
    const again = new Uint8Array(12);
    new DataView(again.buffer).setUint32(8, PENDING_RECALLS_MAX + 6);
    await recall(a, { seqid: 1, other: again }, fh);
    assert.equal(a.m.callbacks.pendingRecalls, PENDING_RECALLS_MAX);
    await a.tick(a.m.client.leaseTime * 1000 / 2 + 1000);
    assert.equal(a.m.callbacks.pendingRecalls, 0, "forgotten after a lease");
  });
}

Deno.test("4.1: a CB_SEQUENCE whose referring call is the OPEN still on its way is answered NFS4ERR_DELAY without taking the slot's sequence id; the delegation goes back once the reply is recorded, and the same sequence id is then accepted (RFC 8881 §2.10.6.3)", async () => {
  await using a = await withCallbacks(1);
  const { opening, stateid, fh, slotid, sequenceid } = await openWithReplyHeld(a);
  assert.ok(slotid !== undefined && sequenceid !== undefined);
  const referringCallLists = [{
    sessionid: a.m.client.session!.id,
    calls: [{ slotid, sequenceid }],
  }];
  const first = await recall(a, stateid, fh, { referringCallLists });
  assert.deepEqual(
    callbacks(a.server.callbackLog).at(-1),
    "CB_SEQUENCE,CB_RECALL -> CB_SEQUENCE NFS4ERR_DELAY",
  );
  assert.ok(
    a.details(["cb"]).some((d) => d.startsWith("CB_SEQUENCE referring call outstanding")),
    a.details(["cb"]).join("\n"),
  );

  a.channel.releaseReplies();
  const state = await a.drive(opening);
  await a.drive(a.m.waitForRecovery());
  // Known from the delayed CB_RECALL: back without waiting for the next try.
  assert.equal(state.delegation, undefined);
  assert.equal(a.server.delegationsOf("/vfs/file").length, 0);
  assert.deepEqual(bare(a.ops()).filter((o) => o.includes("DELEGRETURN")), ["PUTFH,DELEGRETURN"]);

  // The server's next try carries the same sequence id: new to the client
  // (not a replay, not misordered). The delegation is back already.
  const retry = await recall(a, stateid, fh, { referringCallLists });
  const seqOf = (o: typeof first) =>
    (o.reply?.outcomes[0]?.value as { sequenceid?: number } | undefined)?.sequenceid;
  assert.deepEqual(
    callbacks(a.server.callbackLog).at(-1),
    "CB_SEQUENCE,CB_RECALL -> CB_SEQUENCE OK, CB_RECALL NFS4ERR_BADHANDLE",
  );
  assert.equal(seqOf(retry), 1, "the back channel slot's first sequence id, taken only now");
});

Deno.test("4.1: referring calls that are answered, or of another session, do not hold a callback up (RFC 8881 §2.10.6.3)", async () => {
  await using a = await withCallbacks(1);
  const { opening, stateid, fh, slotid, sequenceid } = await openWithReplyHeld(a);
  const elsewhere = [{
    sessionid: new Uint8Array(16).fill(9),
    calls: [{ slotid: slotid!, sequenceid: sequenceid! }],
  }];
  await recall(a, stateid, fh, { referringCallLists: elsewhere });
  assert.deepEqual(
    callbacks(a.server.callbackLog).at(-1),
    "CB_SEQUENCE,CB_RECALL -> CB_SEQUENCE OK, CB_RECALL NFS4ERR_BADHANDLE",
  );
  a.channel.releaseReplies();
  const state = await a.drive(opening);
  await a.drive(a.m.waitForRecovery());
  assert.equal(state.delegation, undefined, "remembered from the recall answered BADHANDLE");

  // A new delegation, its OPEN answered: the referring call is done.
  const other = await a.open("other", READ);
  const open = a.entries().findLast((e) => e.ops.includes("OPEN"))!;
  const done = [{
    sessionid: a.m.client.session!.id,
    calls: [{ slotid: open.slotid!, sequenceid: open.sequenceid! }],
  }];
  await recall(a, other.delegation!.stateid, other.fh, { referringCallLists: done });
  assert.deepEqual(
    callbacks(a.server.callbackLog).at(-1),
    "CB_SEQUENCE,CB_RECALL -> CB_SEQUENCE OK, CB_RECALL OK",
  );
  await a.drive(a.m.waitForRecovery());
  assert.equal(other.delegation, undefined);
  assert.equal(a.server.delegationsOf("/vfs/other").length, 0);
});
