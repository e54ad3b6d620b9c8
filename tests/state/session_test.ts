/**
 * NFSv4.1 sessions (RFC 8881 §2.10): session errors reset the session,
 * an unbound connection is bound, SEQUENCE status flags are acted on, and the
 * slot table follows the server's target_highest_slotid.
 */

import assert from "node:assert/strict";
import { SeqStatus } from "../../lib/state/error_table.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { hex } from "../../lib/nfs4/types.ts";
import type { SequenceArgs } from "../../lib/nfs4/ops/sequence.ts";
import { drain, type Harness, harness } from "./_harness.ts";
import { ScriptedChannel, ScriptedServer } from "./_scripted.ts";
import type { CompoundCallOptions } from "../../lib/nfs4/channel.ts";
import type { CompoundReply, CompoundRequest } from "../../lib/nfs4/compound.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";

function sessionOf(h: Harness, entry: number): string {
  return hex((h.entries()[entry]!.args[0] as SequenceArgs).sessionid);
}

for (
  const status of [
    S.NFS4ERR_BADSESSION,
    S.NFS4ERR_DEADSESSION,
    S.NFS4ERR_BADSLOT,
    S.NFS4ERR_SEQ_FALSE_RETRY,
  ] as const
) {
  const name = {
    [S.NFS4ERR_BADSESSION]: "BADSESSION",
    [S.NFS4ERR_DEADSESSION]: "DEADSESSION",
    [S.NFS4ERR_BADSLOT]: "BADSLOT",
    [S.NFS4ERR_SEQ_FALSE_RETRY]: "SEQ_FALSE_RETRY",
  }[status];
  Deno.test(`SEQUENCE -> ${name} -> SESSION_RESET: DESTROY_SESSION, CREATE_SESSION, READ retried on the new session (RFC 8881 §2.10.6, §15.1.11)`, async () => {
    await using h = await harness(1);
    const file = await h.open();
    const oldSession = h.m.client.sessionIdText;
    h.mark();
    h.server.failNext("SEQUENCE", status);
    assert.equal(await h.readText(file), "hello, world\n");
    assert.deepEqual(h.steps(), [
      "+SESSION_RESET",
      "SESSION_RESET start",
      "-SESSION_RESET",
      "SESSION_RESET done",
    ]);
    assert.deepEqual(h.ops(), [
      `SEQUENCE,PUTFH,READ -> NFS4ERR_${name}`,
      "DESTROY_SESSION",
      "CREATE_SESSION",
      "SEQUENCE,PUTFH,READ",
    ]);
    const newSession = h.m.client.sessionIdText;
    assert.notEqual(newSession, oldSession);
    assert.equal(sessionOf(h, 3), newSession);
    // The state survived: no reclaim, same client ID.
    assert.equal(h.server.sessions.size, 1);
    assert.equal(file.reclaim, "none");
  });
}

Deno.test("a real SEQ_MISORDERED (slot sequence id out of step) -> SESSION_RESET; new slots start at 1 (RFC 8881 §2.10.6.1)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  const slots = h.m.client.session!.slots;
  const slot = await slots.acquire();
  assert.equal(slot.id, 0);
  slot.seqid += 5;
  slots.release(slot);
  h.mark();
  assert.equal(await h.readText(file), "hello, world\n");
  // First sent again once with seqid 1, in case the server made the slot
  // anew (seq_misordered_retry_test.ts); refused too, the session is reset.
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,READ -> NFS4ERR_SEQ_MISORDERED",
    "SEQUENCE,PUTFH,READ -> NFS4ERR_SEQ_MISORDERED",
    "DESTROY_SESSION",
    "CREATE_SESSION",
    "SEQUENCE,PUTFH,READ",
  ]);
  assert.deepEqual(h.steps(), [
    "+SESSION_RESET",
    "SESSION_RESET start",
    "-SESSION_RESET",
    "SESSION_RESET done",
  ]);
  assert.deepEqual([h.entries()[1]!.slotid, h.entries()[1]!.sequenceid], [0, 1]);
  const retried = h.entries()[4]!;
  assert.deepEqual([retried.slotid, retried.sequenceid], [0, 1]);
});

Deno.test("consecutive requests on slot 0 carry sequence ids 1, 2, 3 ... (RFC 8881 §2.10.6.1)", async () => {
  await using h = await harness(1, { noStart: true });
  await h.m.start();
  const file = await h.open();
  await h.read(file);
  await h.read(file);
  const sequenced = h.channel.log.filter((e) => e.slotid !== undefined);
  assert.deepEqual(sequenced.map((e) => [e.slotid, e.sequenceid]), [
    [0, 1],
    [0, 2],
    [0, 3],
    [
      0,
      4,
    ],
    [0, 5],
    [0, 6],
  ]);
});

Deno.test("CONN_NOT_BOUND_TO_SESSION -> BIND_CONN_TO_SESSION, then the READ is retried (RFC 8881 §18.34)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  const session = h.m.client.sessionIdText;
  h.mark();
  h.server.unbind(h.channel);
  assert.equal(await h.readText(file), "hello, world\n");
  assert.deepEqual(h.steps(), [
    "+BIND_CONN_TO_SESSION",
    "BIND_CONN_TO_SESSION start",
    "-BIND_CONN_TO_SESSION",
    "BIND_CONN_TO_SESSION done",
  ]);
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,READ -> NFS4ERR_CONN_NOT_BOUND_TO_SESSION",
    "BIND_CONN_TO_SESSION",
    "SEQUENCE,PUTFH,READ",
  ]);
  assert.equal(h.m.client.sessionIdText, session);
});

Deno.test("SEQ4_STATUS_BACKCHANNEL_FAULT -> SESSION_RESET (RFC 8881 §18.46.3)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.mark();
  h.server.flagNextSequence(SeqStatus.BACKCHANNEL_FAULT);
  assert.equal(await h.readText(file), "hello, world\n");
  await h.m.waitForRecovery();
  assert.deepEqual(h.details(["state"]), [
    "+SESSION_RESET (SEQUENCE status SEQ4_STATUS_BACKCHANNEL_FAULT)",
    "-SESSION_RESET (session " + h.m.client.sessionIdText + ")",
  ]);
  assert.deepEqual(h.ops(), ["SEQUENCE,PUTFH,READ", "DESTROY_SESSION", "CREATE_SESSION"]);
});

Deno.test("SEQ4_STATUS_LEASE_MOVED, asserted on every SEQUENCE, is noted once and sends nothing more (RFC 8881 §11.11.7, §18.46.3)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.mark();
  // The server asserts it until the client probes the moved file system's
  // fs_locations; migration is not followed, so a lease check after each
  // COMPOUND would never clear it.
  h.server.seqStatusFlags = SeqStatus.LEASE_MOVED;
  await h.read(file);
  await h.read(file);
  await h.m.waitForRecovery();
  await drain();
  assert.deepEqual(h.steps(), []);
  assert.deepEqual(h.events(["lease"]), ["lease moved"]);
  assert.deepEqual(h.ops(), ["SEQUENCE,PUTFH,READ", "SEQUENCE,PUTFH,READ"]);
});

Deno.test("4.0: RENEW answered NFS4ERR_LEASE_MOVED is noted; the lease check ends and the state stands (RFC 7530 §16.30.5, RFC 7931 §4.2)", async () => {
  await using h = await harness(0);
  const file = await h.open();
  h.mark();
  h.server.failNext("RENEW", S.NFS4ERR_LEASE_MOVED);
  h.m.setFlag("CHECK_LEASE", "test");
  await h.m.waitForRecovery();
  assert.deepEqual(h.events(["lease"]), ["RENEW -> NFS4ERR_LEASE_MOVED", "lease moved"]);
  assert.deepEqual(h.steps(), [
    "+CHECK_LEASE",
    "CHECK_LEASE start",
    "-CHECK_LEASE",
    "CHECK_LEASE done",
  ]);
  // Nothing was lost: the open still reads.
  await h.read(file);
  assert.deepEqual(h.ops(), ["RENEW -> NFS4ERR_LEASE_MOVED", "PUTFH,READ"]);
});

Deno.test("SEQ4_STATUS_CB_PATH_DOWN without a back channel is noted once and ignored (RFC 8881 §18.46.3)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.mark();
  h.server.seqStatusFlags = SeqStatus.CB_PATH_DOWN | SeqStatus.CB_PATH_DOWN_SESSION;
  await h.read(file);
  await h.read(file);
  await drain();
  assert.deepEqual(h.steps(), []);
  assert.deepEqual(h.events(["cb"]), ["no back channel"]);
  assert.deepEqual(h.ops(), ["SEQUENCE,PUTFH,READ", "SEQUENCE,PUTFH,READ"]);
});

Deno.test("CREATE_SESSION: the server grants fewer slots than asked; the table uses what was granted (RFC 8881 §18.36)", async () => {
  await using h = await harness(1, { wantedSlots: 32, maxSlots: 4 });
  assert.equal(h.m.client.session!.slots.size, 4);
  assert.equal(h.m.client.session!.fore.maxRequests, 4);
  const created = h.trace.find((e) => e.event === "CREATE_SESSION ok")!;
  assert.match(created.detail!, /, 4 slots \(asked 32\)/);
});

Deno.test("slot table follows target_highest_slotid from SEQUENCE: shrink to 1 slot, then grow back, each change traced (RFC 8881 §2.10.6.1, §18.46.3)", async () => {
  await using h = await harness(1, { maxSlots: 4, wantedSlots: 4 });
  const file = await h.open();
  const slots = h.m.client.session!.slots;
  assert.equal(slots.size, 4);
  h.mark();

  // The server asks for one slot: the next reply shrinks the table.
  h.server.targetHighestSlotid = 0;
  await h.read(file);
  assert.equal(slots.size, 1);

  // Three READs at once: one on the wire, two waiting for slot 0.
  h.channel.hold();
  const reads = [h.read(file), h.read(file), h.read(file)];
  await drain();
  assert.equal(h.channel.inFlight, 1);
  assert.equal(slots.waiting, 2);
  h.channel.release();
  for (let i = 0; i < 3; i++) {
    await drain();
    h.channel.release();
  }
  await Promise.all(reads);
  assert.deepEqual(h.entries().slice(1).map((e) => e.slotid), [0, 0, 0]);

  // The server raises the target again: three READs go out together.
  h.server.targetHighestSlotid = undefined;
  await h.read(file);
  assert.equal(slots.size, 4);
  h.channel.hold();
  const more = [h.read(file), h.read(file), h.read(file)];
  await drain();
  assert.equal(h.channel.inFlight, 3);
  assert.equal(slots.waiting, 0);
  h.channel.release();
  await Promise.all(more);
  assert.deepEqual(h.entries().slice(-3).map((e) => e.slotid).sort(), [0, 1, 2]);

  assert.deepEqual(h.details(["sess"]), [
    "slot table 4 -> 1 (server target_highest_slotid 0, highest_slotid 3)",
    "slot table 1 -> 4 (server target_highest_slotid 3, highest_slotid 3)",
  ]);
});

Deno.test("SEQUENCE carries sa_highest_slotid: the highest slot in use (RFC 8881 §2.10.6.1)", async () => {
  await using h = await harness(1, { maxSlots: 4, wantedSlots: 4 });
  const file = await h.open();
  h.mark();
  h.channel.hold();
  const reads = [h.read(file), h.read(file), h.read(file)];
  await drain();
  h.channel.release();
  await Promise.all(reads);
  const highest = h.entries().map((e) => (e.args[0] as SequenceArgs).highestSlotid);
  assert.deepEqual(highest, [2, 2, 2]);
});

Deno.test("a server without 4.1 answers EXCHANGE_ID with NFS4ERR_MINOR_VERS_MISMATCH and no results: start() fails with that status, not a crash (RFC 7530 §15.2)", async () => {
  const server = new ScriptedServer();
  server.maxMinorVersion = 0;
  await using h = await harness(1, { server, noStart: true });
  await assert.rejects(h.m.start(), (e: unknown) => {
    assert.ok(e instanceof NfsError, String(e));
    assert.equal(e.status, S.NFS4ERR_MINOR_VERS_MISMATCH);
    return true;
  });
});

Deno.test("optional 4.1 operations answering NFS4ERR_NOTSUPP do not stop recovery: RECLAIM_COMPLETE, BIND_CONN_TO_SESSION, TEST_STATEID (RFC 8881 §18.51, §18.34, §18.48)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.server.failNext("RECLAIM_COMPLETE", S.NFS4ERR_NOTSUPP);
  h.server.failNext("BIND_CONN_TO_SESSION", S.NFS4ERR_NOTSUPP);
  h.server.failNext("TEST_STATEID", S.NFS4ERR_NOTSUPP);
  h.m.markAllForReclaim("reboot", "test");
  h.m.setFlag("BIND_CONN_TO_SESSION", "test");
  h.m.setFlag("TEST_STATEIDS", "test");
  await h.drive(h.m.waitForRecovery());
  assert.equal(file.bad, undefined);
  assert.equal(await h.readText(file), await h.readText(file));
  const steps = h.events(["step", "sess"]);
  assert.ok(steps.includes("RECLAIM_COMPLETE not supported by the server"), steps.join("\n"));
  assert.ok(steps.includes("BIND_CONN_TO_SESSION -> NFS4ERR_NOTSUPP"), steps.join("\n"));
  assert.ok(steps.includes("TEST_STATEID not supported"), steps.join("\n"));
});

Deno.test("a reply with a failed status and no results at all (NFS4ERR_BADSESSION, not even SEQUENCE's) is taken as the SEQUENCE's: the session is reset and the READ sent on the new one (RFC 8881 §2.10.6)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.mark();
  h.channel.answerBare("READ", S.NFS4ERR_BADSESSION);
  const read = await h.drive(h.read(file), 50);
  assert.equal(new TextDecoder().decode(read.data), "hello, world\n");
  assert.ok(
    h.events(["state"]).some((e) => e.includes("+SESSION_RESET")),
    h.events(["state"]).join(", "),
  );
  assert.equal(h.server.sessions.size, 1);
});

Deno.test("4.0: a COMPOUND answered NFS4ERR_DELAY with no results at all is waited out and sent again, as any DELAY (RFC 7530 §15.2, §13.1.1.3)", async () => {
  await using h = await harness(0);
  const file = await h.open();
  h.mark();
  h.channel.answerBare("READ", S.NFS4ERR_DELAY);
  const read = await h.drive(h.read(file), 50);
  assert.equal(new TextDecoder().decode(read.data), "hello, world\n");
  assert.ok(
    h.events(["retry"]).some((e) => e.startsWith("COMPOUND -> NFS4ERR_DELAY")),
    h.events(["retry"]).join(", "),
  );
});

/** Holds the next READ it is given until `deliver()`: a request that reaches the server late. */
class LateRead extends ScriptedChannel {
  holdNextRead = false;
  deliver: () => void = () => {};

  override async compound(
    request: CompoundRequest,
    options: CompoundCallOptions = {},
  ): Promise<CompoundReply> {
    if (this.holdNextRead && request.ops.some((op) => op.name === "READ")) {
      this.holdNextRead = false;
      await new Promise<void>((resolve) => (this.deliver = resolve));
    }
    return super.compound(request, options);
  }
}

Deno.test("4.1: NFS4ERR_BADSESSION for a request sent on a session already reset is sent again on the new session, not a second reset of it (RFC 8881 §2.10.6)", async () => {
  await using h = await harness(1, { wantedSlots: 4, channel: (server) => new LateRead(server) });
  const channel = h.channel as LateRead;
  const file = await h.open();
  channel.holdNextRead = true;
  const late = h.readText(file);
  await drain();
  h.server.failNext("SEQUENCE", S.NFS4ERR_SEQ_MISORDERED);
  assert.equal(await h.drive(h.readText(file)), "hello, world\n");
  const session = h.m.client.sessionIdText;
  h.mark();
  channel.deliver();
  assert.equal(await h.drive(late), "hello, world\n");
  assert.deepEqual(h.ops(), ["SEQUENCE,PUTFH,READ -> NFS4ERR_BADSESSION", "SEQUENCE,PUTFH,READ"]);
  assert.equal(h.m.client.sessionIdText, session);
  assert.deepEqual(h.steps(), []);
});
