/**
 * Destroying a session (RFC 8881 §18.37) as the kernel's nfs4_reset_session
 * does: the slot table is drained first (nfs4_begin_drain_session: no new
 * request takes a slot, the ones in flight are answered; RFC 8881 §18.46.3
 * asks the same before destroying a session whose back channel failed),
 * then DESTROY_SESSION, sent again a second later while the server answers
 * NFS4ERR_DELAY (a request of the session still being run: knfsd's answer)
 * or NFS4ERR_BACK_CHAN_BUSY (callbacks outstanding; kernel commit
 * c489ee290bdb). Both in a session reset and in the release at exit. The
 * drain is bounded by a call timeout, the waiting by a few tries and the
 * release window. It used to send DESTROY_SESSION at once and take a DELAY
 * as "left": the reset made a new session beside the old one, and at exit
 * DESTROY_CLIENTID was refused NFS4ERR_CLIENTID_BUSY.
 */

import assert from "node:assert/strict";
import { Nfs4Status as S, statusName } from "../../lib/nfs4/status.ts";
import { hex } from "../../lib/nfs4/types.ts";
import type { SequenceArgs } from "../../lib/nfs4/ops/sequence.ts";
import { closeFile } from "../../lib/state/files.ts";
import { SlotTable } from "../../lib/state/slot_table.ts";
import { destroySessionOutcome } from "../../lib/state/error_table.ts";
import { drain, type Harness, harness } from "./_harness.ts";

Deno.test("destroySessionOutcome(): OK, BADSESSION and DEADSESSION destroyed; DELAY and BACK_CHAN_BUSY waited out; CONN_NOT_BOUND_TO_SESSION bound; anything else left (kernel nfs4_reset_session; RFC 8881 §18.37)", () => {
  const cases: [number, string][] = [
    [S.NFS4_OK, "destroyed"],
    [S.NFS4ERR_BADSESSION, "destroyed"],
    [S.NFS4ERR_DEADSESSION, "destroyed"],
    [S.NFS4ERR_DELAY, "wait"],
    [S.NFS4ERR_BACK_CHAN_BUSY, "wait"],
    [S.NFS4ERR_CONN_NOT_BOUND_TO_SESSION, "bind"],
    [S.NFS4ERR_SERVERFAULT, "left"],
    [S.NFS4ERR_STALE_CLIENTID, "left"],
  ];
  for (const [status, outcome] of cases) {
    assert.equal(destroySessionOutcome(status), outcome, statusName(status));
  }
});

Deno.test("SlotTable.beginDrain(): a request waiting for a slot and every later acquire() fail with its error; idle() resolves when the last slot in flight is released (kernel nfs4_begin_drain_session, nfs4_slot_tbl_drain_complete)", async () => {
  const slots = new SlotTable(2);
  const a = await slots.acquire();
  const b = await slots.acquire();
  const waiting = slots.acquire();
  const gone = new Error("session being destroyed");
  slots.beginDrain(gone);
  await assert.rejects(waiting, (e: unknown) => e === gone);
  await assert.rejects(slots.acquire(), (e: unknown) => e === gone);
  assert.equal(slots.draining, true);
  let idle = false;
  const drained = slots.idle().then(() => (idle = true));
  slots.release(a);
  await Promise.resolve();
  assert.equal(idle, false, "one request is still in flight");
  slots.release(b);
  await drained;
  assert.equal(slots.inUse, 0);
  // Nothing was handed out after the drain began.
  await assert.rejects(slots.acquire(), (e: unknown) => e === gone);
  await slots.idle();
});

/**
 * The server answers DESTROY_SESSION NFS4ERR_DELAY while a READ it ran has
 * not been answered yet (its reply held by the channel), as knfsd answers
 * for a session with a request in progress.
 */
function delayWhileReadUnanswered(h: Harness): void {
  h.server.intercept(
    "DESTROY_SESSION",
    () => (h.channel.heldReplies("READ") > 0 ? S.NFS4ERR_DELAY : undefined),
    { times: 100 },
  );
}

Deno.test("4.1: a session reset drains the session first: DESTROY_SESSION goes out once the READ in flight is answered, and a READ begun meanwhile takes no slot of the old session but goes out on the new one (kernel nfs4_begin_drain_session; RFC 8881 §18.37)", async () => {
  await using h = await harness(1, { maxSlots: 4, wantedSlots: 4 });
  const file = await h.open();
  const old = h.m.client.sessionIdText;
  delayWhileReadUnanswered(h);
  h.mark();
  h.channel.holdReplies("READ");
  const inFlight = h.readText(file);
  await drain();
  h.m.setFlag("SESSION_RESET", "test");
  await drain();
  const later = h.readText(file);
  for (let i = 0; i < 5; i++) await drain();
  // Nothing more sent while the first READ is unanswered.
  assert.deepEqual(h.ops(), ["SEQUENCE,PUTFH,READ"]);
  assert.deepEqual(h.details(["sess"]), [
    `draining session (session ${old}: 1 request(s) in flight, no new ones)`,
  ]);
  h.channel.releaseReplies("READ");
  assert.equal(await h.drive(inFlight), "hello, world\n");
  assert.equal(await h.drive(later), "hello, world\n");
  await h.m.waitForRecovery();
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,READ",
    "DESTROY_SESSION",
    "CREATE_SESSION",
    "SEQUENCE,PUTFH,READ",
  ]);
  const fresh = h.m.client.sessionIdText;
  assert.notEqual(fresh, old);
  assert.equal(hex((h.entries()[3]!.args[0] as SequenceArgs).sessionid), fresh);
  assert.deepEqual(h.events(["sess"]).slice(0, 3), [
    "draining session",
    "session drained",
    "DESTROY_SESSION ok",
  ]);
  // The old session is gone from the server: at exit the client ID goes too.
  assert.equal(h.server.sessions.size, 1);
  await h.drive(h.m.shutdown());
  assert.deepEqual(h.m.notReleased, []);
  assert.equal(h.server.clients.size, 0);
});

Deno.test("4.1: a request waiting for recovery holds no slot: the reset its NFS4ERR_BADSESSION asked for drains nothing and does not wait (RFC 8881 §2.10.6)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.mark();
  h.server.failNext("SEQUENCE", S.NFS4ERR_BADSESSION);
  assert.equal(await h.readText(file), "hello, world\n");
  assert.equal(h.clock.now(), 0);
  assert.deepEqual(h.events(["sess"]).filter((e) => e.includes("drain")), []);
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,READ -> NFS4ERR_BADSESSION",
    "DESTROY_SESSION",
    "CREATE_SESSION",
    "SEQUENCE,PUTFH,READ",
  ]);
});

Deno.test("4.1: the drain is bounded by the call timeout: a READ never answered does not hold the reset for ever; DESTROY_SESSION goes out 2 s later all the same (RFC 8881 §18.37)", async () => {
  await using h = await harness(1, { callTimeoutMs: 2_000 });
  const file = await h.open();
  const old = h.m.client.sessionIdText;
  h.mark();
  h.channel.holdReplies("READ");
  void h.read(file).catch(() => {});
  await drain();
  h.m.setFlag("SESSION_RESET", "test");
  await h.drive(h.m.waitForRecovery(), 100);
  assert.deepEqual(h.timeline(), [
    [0, "SEQUENCE,PUTFH,READ"],
    [2000, "DESTROY_SESSION"],
    [2000, "CREATE_SESSION"],
  ]);
  assert.deepEqual(h.details(["sess"]).slice(0, 2), [
    `draining session (session ${old}: 1 request(s) in flight, no new ones)`,
    `session not drained (session ${old}: 1 request(s) still in flight after 2.00 s; destroying it all the same)`,
  ]);
  h.channel.releaseReplies("READ");
});

for (const status of [S.NFS4ERR_DELAY, S.NFS4ERR_BACK_CHAN_BUSY] as const) {
  const name = statusName(status);
  Deno.test(`4.1: a session reset whose DESTROY_SESSION is answered ${name} sends it again a second later, then makes the new session; at exit the client ID is destroyed, not refused CLIENTID_BUSY (kernel commit c489ee290bdb; RFC 8881 §18.37)`, async () => {
    await using h = await harness(1);
    const file = await h.open();
    const old = h.m.client.sessionIdText;
    h.mark();
    h.server.failNext("DESTROY_SESSION", status, { times: 2 });
    h.m.setFlag("SESSION_RESET", "test");
    await h.drive(h.m.waitForRecovery(), 50);
    assert.deepEqual(h.timeline(), [
      [0, `DESTROY_SESSION -> ${name}`],
      [1000, `DESTROY_SESSION -> ${name}`],
      [2000, "DESTROY_SESSION"],
      [2000, "CREATE_SESSION"],
    ]);
    assert.deepEqual(h.details(["sess"]).slice(0, 3), [
      `DESTROY_SESSION -> ${name} (session ${old}: again in 1.00 s)`,
      `DESTROY_SESSION -> ${name} (session ${old}: again in 1.00 s)`,
      `DESTROY_SESSION ok (session ${old})`,
    ]);
    assert.equal(h.server.sessions.size, 1);
    assert.equal(await h.readText(file), "hello, world\n");
    await h.drive(h.m.shutdown());
    assert.deepEqual(h.m.notReleased, []);
    assert.equal(h.server.clients.size, 0);
  });
}

Deno.test("4.1: a session the reset could not destroy (DESTROY_SESSION answered NFS4ERR_DELAY five times) is left for the new one, and destroyed at exit before DESTROY_CLIENTID (RFC 8881 §18.37, §18.50.3)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  const old = h.m.client.sessionIdText;
  h.mark();
  h.server.failNext("DESTROY_SESSION", S.NFS4ERR_DELAY, { times: 5 });
  h.m.setFlag("SESSION_RESET", "test");
  await h.drive(h.m.waitForRecovery(), 50);
  assert.deepEqual(h.timeline().map(([t, ops]) => `${t} ${ops}`), [
    "0 DESTROY_SESSION -> NFS4ERR_DELAY",
    "1000 DESTROY_SESSION -> NFS4ERR_DELAY",
    "2000 DESTROY_SESSION -> NFS4ERR_DELAY",
    "3000 DESTROY_SESSION -> NFS4ERR_DELAY",
    "4000 DESTROY_SESSION -> NFS4ERR_DELAY",
    "4000 CREATE_SESSION",
  ]);
  assert.equal(h.server.sessions.size, 2);
  await h.drive(closeFile(h.m, file));
  h.mark();
  await h.drive(h.m.shutdown());
  assert.deepEqual(h.ops(), ["DESTROY_SESSION", "DESTROY_SESSION", "DESTROY_CLIENTID"]);
  const destroyed = h.entries().slice(0, 2).map((e) => hex(e.args[0] as Uint8Array));
  assert.equal(destroyed[1], old);
  assert.deepEqual(h.m.notReleased, []);
  assert.equal(h.server.clients.size, 0);
});

Deno.test("4.1: the release's DESTROY_SESSION answered NFS4ERR_DELAY is sent again a second later; DESTROY_CLIENTID then succeeds (RFC 8881 §18.37, §18.50.3)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  await closeFile(h.m, file);
  h.mark();
  h.server.failNext("DESTROY_SESSION", S.NFS4ERR_DELAY);
  await h.drive(h.m.shutdown(), 50);
  assert.deepEqual(h.timeline(), [
    [0, "DESTROY_SESSION -> NFS4ERR_DELAY"],
    [1000, "DESTROY_SESSION"],
    [1000, "DESTROY_CLIENTID"],
  ]);
  assert.deepEqual(h.m.notReleased, []);
  assert.equal(h.server.clients.size, 0);
});

Deno.test("4.1: the release's DESTROY_SESSION drains the session too: a READ still in flight (left behind by its caller) is answered first (RFC 8881 §18.37)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  delayWhileReadUnanswered(h);
  h.mark();
  h.channel.holdReplies("READ");
  const reading = h.readText(file);
  await drain();
  const closing = h.m.shutdown();
  for (let i = 0; i < 5; i++) await drain();
  assert.ok(!h.ops().some((o) => o.startsWith("DESTROY_SESSION")), h.ops().join("\n"));
  h.channel.releaseReplies("READ");
  assert.equal(await h.drive(reading), "hello, world\n");
  await h.drive(closing);
  assert.deepEqual(h.ops().filter((o) => !o.includes("CLOSE")), [
    "SEQUENCE,PUTFH,READ",
    "DESTROY_SESSION",
    "DESTROY_CLIENTID",
  ]);
  assert.deepEqual(h.m.notReleased, []);
  assert.equal(h.server.clients.size, 0);
});

Deno.test("4.1: after an interrupt, a DESTROY_SESSION answered NFS4ERR_DELAY is waited out only within the release window (1.5 s): the release ends then (RFC 8881 §18.37)", async () => {
  await using h = await harness(1);
  h.mark();
  h.server.failNext("DESTROY_SESSION", S.NFS4ERR_DELAY, { times: 100 });
  h.m.interrupt(new Error("SIGINT"));
  await h.drive(h.m.shutdown(), 50);
  assert.ok(h.clock.now() <= 1_550, `released at ${h.clock.now()} ms`);
  assert.deepEqual(h.timeline().filter(([, ops]) => ops.startsWith("DESTROY_SESSION")), [
    [0, "DESTROY_SESSION -> NFS4ERR_DELAY"],
    [1000, "DESTROY_SESSION -> NFS4ERR_DELAY"],
  ]);
  assert.ok(
    h.events(["sess"]).includes("DESTROY_SESSION not sent again"),
    h.events(["sess"]).join("\n"),
  );
});

Deno.test("4.1: a session the reset could not destroy because DESTROY_SESSION never reached the server (lost on the way every time) is destroyed at exit before DESTROY_CLIENTID, not left to the lease (RFC 8881 §18.37, §18.50.3)", async () => {
  await using h = await harness(1, { callTimeoutMs: 2_000, recoveryTimeoutMs: 8_000 });
  const file = await h.open();
  const old = h.m.client.sessionIdText;
  h.mark();
  h.channel.dropReplies("DESTROY_SESSION", { times: 100, beforeServer: true });
  h.m.setFlag("SESSION_RESET", "test");
  await h.drive(h.m.waitForRecovery(), 50);
  assert.ok(h.details(["sess"]).some((d) => d.startsWith("DESTROY_SESSION failed")));
  assert.equal(h.server.sessions.size, 2);
  h.channel.clearDrops();
  await h.drive(closeFile(h.m, file));
  h.mark();
  await h.drive(h.m.shutdown());
  assert.deepEqual(h.ops(), ["DESTROY_SESSION", "DESTROY_SESSION", "DESTROY_CLIENTID"]);
  const destroyed = h.entries().slice(0, 2).map((e) => hex(e.args[0] as Uint8Array));
  assert.equal(destroyed[1], old);
  assert.deepEqual(h.m.notReleased, []);
  assert.equal(h.server.sessions.size, 0);
  assert.equal(h.server.clients.size, 0);
});
