/**
 * SEQUENCE refused NFS4ERR_SEQ_MISORDERED on a slot whose sequence id was
 * not 1: the server may have let the slot go and made it anew, and expects
 * 1 (RFC 8881 §2.10.6.1). A SEQUENCE so refused ran nothing of its
 * COMPOUND (§18.46.3), so the slot's seqid is set to 1 and the request is
 * sent again, once, as the kernel's nfs41_sequence_process
 * does, before the session is reset. Before, every SEQ_MISORDERED reset
 * the session (DESTROY_SESSION, CREATE_SESSION).
 */

import assert from "node:assert/strict";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { putfh } from "../../lib/nfs4/ops/putfh.ts";
import { remove } from "../../lib/nfs4/ops/remove.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { seqMisorderedAction } from "../../lib/state/error_table.ts";
import { harness } from "./_harness.ts";

Deno.test("seqMisorderedAction(): a slot whose seqid was not 1 is tried again with 1, one at 1 resets the session (RFC 8881 §2.10.6.1)", () => {
  assert.deepEqual(seqMisorderedAction(7), { kind: "retry" });
  assert.deepEqual(seqMisorderedAction(2), { kind: "retry" });
  assert.deepEqual(seqMisorderedAction(1), { kind: "recover", flags: ["SESSION_RESET"] });
});

Deno.test("4.1: SEQ_MISORDERED from a server that made the slot anew (it expects seqid 1): one resend with seqid 1, no DESTROY_SESSION or CREATE_SESSION (RFC 8881 §2.10.6.1, §18.46.3)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  const session = h.m.client.sessionIdText;
  // The server lets slot 0 go and makes it again: it has run nothing on it.
  const [serverSession] = [...h.server.sessions.values()];
  serverSession!.slots[0] = { seqid: 0, cached: undefined };
  const before = h.m.client.session!.slots;
  const slot = await before.acquire();
  const seqid = slot.seqid;
  before.release(slot);
  assert.notEqual(seqid, 1);
  h.mark();
  assert.equal(await h.drive(h.readText(file)), "hello, world\n");
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,READ -> NFS4ERR_SEQ_MISORDERED",
    "SEQUENCE,PUTFH,READ",
  ]);
  assert.deepEqual(h.entries().map((e) => [e.slotid, e.sequenceid]), [[0, seqid], [0, 1]]);
  assert.deepEqual(h.details(["retry"]), [
    `SEQUENCE -> NFS4ERR_SEQ_MISORDERED (slot 0 seqid ${seqid}: the server may have made the slot anew (RFC 8881 §2.10.6.1); slot 0 set to seqid 1, sending again)`,
  ]);
  assert.deepEqual(h.steps(), []);
  assert.equal(h.m.client.sessionIdText, session);
  // In step from there on.
  h.mark();
  await h.drive(h.read(file));
  assert.deepEqual(h.entries().map((e) => [e.slotid, e.sequenceid, e.status]), [[0, 2, S.NFS4_OK]]);
});

Deno.test("4.1: a server that answers every SEQUENCE NFS4ERR_SEQ_MISORDERED, seqid 1 too: after the one resend, the session is reset as before (RFC 8881 §2.10.6.1)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  const session = h.m.client.sessionIdText;
  // The two SEQUENCEs on the old session; the new one is in step.
  h.server.intercept("SEQUENCE", () => S.NFS4ERR_SEQ_MISORDERED, { times: 2 });
  h.mark();
  assert.equal(await h.drive(h.readText(file)), "hello, world\n");
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,READ -> NFS4ERR_SEQ_MISORDERED",
    "SEQUENCE,PUTFH,READ -> NFS4ERR_SEQ_MISORDERED",
    "DESTROY_SESSION",
    "CREATE_SESSION",
    "SEQUENCE,PUTFH,READ",
  ]);
  assert.deepEqual(h.entries()[1]!.sequenceid, 1);
  assert.deepEqual(h.steps(), [
    "+SESSION_RESET",
    "SESSION_RESET start",
    "-SESSION_RESET",
    "SESSION_RESET done",
  ]);
  assert.notEqual(h.m.client.sessionIdText, session);
});

Deno.test("4.1: SEQ_MISORDERED on a slot whose seqid is 1 already: no resend, the session is reset (RFC 8881 §2.10.6.1)", async () => {
  await using h = await harness(1, { wantedSlots: 2 });
  const file = await h.open();
  // Slot 0 busy: the READ takes slot 1, never used yet (seqid 1).
  const slots = h.m.client.session!.slots;
  const busy = await slots.acquire();
  assert.equal(busy.id, 0);
  h.server.intercept("SEQUENCE", () => S.NFS4ERR_SEQ_MISORDERED);
  h.mark();
  const reading = h.drive(h.readText(file));
  await h.tick(100, 50);
  slots.release(busy);
  assert.equal(await reading, "hello, world\n");
  assert.deepEqual(h.ops().slice(0, 2), [
    "SEQUENCE,PUTFH,READ -> NFS4ERR_SEQ_MISORDERED",
    "DESTROY_SESSION",
  ]);
  assert.deepEqual([h.entries()[0]!.slotid, h.entries()[0]!.sequenceid], [1, 1]);
  assert.deepEqual(h.details(["retry"]).filter((d) => d.includes("MISORDERED")), []);
});

Deno.test("4.1: SEQ_MISORDERED answering a resend is not retried with seqid 1; the REMOVE's NOENT is marked as answering a resend (RFC 8881 §2.10.6.1, §18.46.3)", async () => {
  await using h = await harness(1);
  const dir = await h.vfs();
  // The server runs the REMOVE, its reply is lost, and the server makes the
  // slot anew before the resend comes: the resend is misordered.
  let remade = false;
  h.server.intercept("SEQUENCE", (args, server) => {
    const a = args as { slotid: number; sequenceid: number };
    const [serverSession] = [...server.sessions.values()];
    const slot = serverSession!.slots[a.slotid]!;
    if (!remade && slot.seqid === a.sequenceid && slot.seqid !== 0) {
      remade = true;
      serverSession!.slots[a.slotid] = { seqid: 0, cached: undefined };
    }
  }, { times: 1_000 });
  h.channel.dropReplies("REMOVE", { times: 1 });
  h.mark();
  const outcome = await h.drive(h.m.run(() => [putfh(dir), remove("file")] as const))
    .then(() => undefined, (e: unknown) => e);
  h.server.clearFaults();
  assert.ok(remade, "the slot was made anew before the resend");
  // Seqid 1 would run the REMOVE a second time as a new request, and its
  // NOENT would say "no such file" of a file this REMOVE removed.
  assert.ok(outcome instanceof NfsError, String(outcome));
  assert.equal(outcome.status, S.NFS4ERR_NOENT);
  assert.equal(outcome.answeredResend, true);
  assert.deepEqual(h.details(["retry"]).filter((d) => d.includes("MISORDERED")), []);
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,REMOVE",
    "SEQUENCE,PUTFH,REMOVE -> NFS4ERR_SEQ_MISORDERED",
    "DESTROY_SESSION",
    "CREATE_SESSION",
    "SEQUENCE,PUTFH,REMOVE -> NFS4ERR_NOENT",
  ]);
});
