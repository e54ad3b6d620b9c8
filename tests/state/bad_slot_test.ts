/**
 * NFS4ERR_BADSLOT (RFC 8881 §2.10.6.1, §18.46.3), as the kernel's
 * nfs41_sequence_process takes it: "The slot id we used was probably
 * retired. Try again using a different slot id." A slot at or above the
 * slot table's target highest slot id (the server lowered its
 * sr_target_highest_slotid, then let the slot go) is sent again at once on
 * another slot, with no session reset; a slot below the target means the
 * session is wrong, and it is reset. It used to reset the session always.
 */

import assert from "node:assert/strict";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import type { SequenceArgs } from "../../lib/nfs4/ops/sequence.ts";
import { badSlotAction } from "../../lib/state/error_table.ts";
import { drain, harness } from "./_harness.ts";

Deno.test("badSlotAction(): below the target highest slot id a session reset, at or above it a resend on another slot (kernel nfs41_sequence_process; RFC 8881 §2.10.6.1)", () => {
  assert.deepEqual(badSlotAction(0, 3), { kind: "recover", flags: ["SESSION_RESET"] });
  assert.deepEqual(badSlotAction(2, 3), { kind: "recover", flags: ["SESSION_RESET"] });
  assert.deepEqual(badSlotAction(3, 3), { kind: "retry" });
  assert.deepEqual(badSlotAction(5, 0), { kind: "retry" });
  assert.deepEqual(badSlotAction(0, 0), { kind: "retry" });
});

Deno.test("4.1: the server lowers its target to slot 0 and answers BADSLOT for slots 1 and 2 taken before: both READs are sent again at once on slot 0, no session reset (kernel nfs41_sequence_process; RFC 8881 §2.10.6.1, §18.46.3)", async () => {
  await using h = await harness(1, { maxSlots: 4, wantedSlots: 4 });
  const file = await h.open();
  const session = h.m.client.sessionIdText;
  const slots = h.m.client.session!.slots;
  h.mark();
  // Three READs on slots 0, 1 and 2, held on the way to the server.
  h.channel.hold();
  const reads = [h.readText(file), h.readText(file), h.readText(file)];
  await drain();
  assert.equal(h.channel.heldCount, 3);
  // The server wants one slot from now on; slot 0's reply says so...
  h.server.targetHighestSlotid = 0;
  h.channel.releaseOne();
  await drain();
  assert.equal(slots.size, 1);
  // ... and it has retired the others: SEQUENCE on them is NFS4ERR_BADSLOT.
  h.server.intercept(
    "SEQUENCE",
    (args) => ((args as SequenceArgs).slotid > 0 ? S.NFS4ERR_BADSLOT : undefined),
    { times: 1000 },
  );
  h.channel.release();
  assert.deepEqual(await h.drive(Promise.all(reads)), [
    "hello, world\n",
    "hello, world\n",
    "hello, world\n",
  ]);
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,READ",
    "SEQUENCE,PUTFH,READ -> NFS4ERR_BADSLOT",
    "SEQUENCE,PUTFH,READ -> NFS4ERR_BADSLOT",
    "SEQUENCE,PUTFH,READ",
    "SEQUENCE,PUTFH,READ",
  ]);
  assert.deepEqual(h.entries().map((e) => e.slotid), [0, 1, 2, 0, 0]);
  assert.deepEqual(h.steps(), []);
  assert.equal(h.m.client.sessionIdText, session);
  assert.deepEqual(h.details(["retry"]), [
    "SEQUENCE -> NFS4ERR_BADSLOT (slot 1 retired (target highest slot 0): sending again on another slot)",
    "SEQUENCE -> NFS4ERR_BADSLOT (slot 2 retired (target highest slot 0): sending again on another slot)",
  ]);
});

Deno.test("4.1: BADSLOT for a slot below the target highest slot id still resets the session (kernel nfs41_sequence_process: session_recover; RFC 8881 §2.10.6.1)", async () => {
  await using h = await harness(1, { maxSlots: 4, wantedSlots: 4 });
  const file = await h.open();
  assert.equal(h.m.client.session!.slots.size, 4);
  h.mark();
  h.server.failNext("SEQUENCE", S.NFS4ERR_BADSLOT);
  assert.equal(await h.readText(file), "hello, world\n");
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,READ -> NFS4ERR_BADSLOT",
    "DESTROY_SESSION",
    "CREATE_SESSION",
    "SEQUENCE,PUTFH,READ",
  ]);
});

Deno.test("4.1: a server that answers BADSLOT on every slot, even at the target, is not resent to for ever: after 8 resends the session is reset (RFC 8881 §2.10.6.1)", async () => {
  await using h = await harness(1, { maxSlots: 4, wantedSlots: 4 });
  const file = await h.open();
  h.server.targetHighestSlotid = 0;
  await h.read(file);
  h.mark();
  // Slot 0 is the target itself: not below it, so sent again, and again.
  h.server.failNext("SEQUENCE", S.NFS4ERR_BADSLOT, { times: 9 });
  assert.equal(await h.drive(h.readText(file)), "hello, world\n");
  const ops = h.ops();
  assert.equal(ops.filter((o) => o.endsWith("NFS4ERR_BADSLOT")).length, 9);
  assert.deepEqual(ops.slice(9), ["DESTROY_SESSION", "CREATE_SESSION", "SEQUENCE,PUTFH,READ"]);
});
