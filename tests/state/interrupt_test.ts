/**
 * What an interrupt (Ctrl-C, SIGTERM: `StateManager.interrupt()`) does to a
 * state change already sent, and what a soft stop does to one not yet sent.
 *
 * A state change in flight (OPEN, CLOSE, LOCK) may have run on the server.
 * Abandoned, its outcome is unknown: on 4.0 the open owner's seqid goes out
 * of step (RFC 7530 §9.1.7) and every later CLOSE of the owner is refused
 * (NFS4ERR_BAD_SEQID), so its opens stay until the lease ends. So it gets
 * the release window after the interrupt to be answered, and is then
 * released with the rest; only the window's end abandons it.
 */

import assert from "node:assert/strict";
import { withOperationSignal } from "../../lib/state/operation_scope.ts";
import { type Harness, harness } from "./_harness.ts";
import type { OpenState } from "../../lib/state/open_state.ts";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { putfh } from "../../lib/nfs4/ops/putfh.ts";
import { write } from "../../lib/nfs4/ops/write.ts";
import { closeFile } from "../../lib/state/files.ts";

/**
 * Sends an OPEN of /vfs/file that the scripted channel holds unanswered,
 * then interrupts the manager (Ctrl-C) while it is in flight.
 */
async function openInFlightAtInterrupt(h: Harness): Promise<{ opening: Promise<OpenState> }> {
  await h.vfs();
  h.channel.hold();
  const opening = h.open("file");
  opening.catch(() => {});
  await h.tick(20, 10);
  assert.equal(h.channel.heldCount, 1, "the OPEN went out");
  h.m.interrupt(new Error("SIGINT"));
  return { opening };
}

for (const vers of [0, 1] as const) {
  Deno.test(`NFSv4.${vers}: an OPEN in flight at an interrupt is answered in the release window, kept, and closed by shutdown() (RFC 7530 §9.1.7)`, async () => {
    await using h = await harness(vers);
    const { opening } = await openInFlightAtInterrupt(h);
    await h.tick(500, 50);
    h.channel.release();
    const state = await h.drive(opening, 50, 1_000);
    assert.equal(state.closed, false);
    await h.drive(h.m.shutdown(), 50, 2_000);
    assert.equal(h.server.states.size, 0, "its CLOSE went out in the window");
    assert.deepEqual(h.events(["retry"]).filter((e) => e.includes("abandoned")), []);
  });

  Deno.test(`NFSv4.${vers}: the end of the release window abandons a state change still in flight`, async () => {
    await using h = await harness(vers);
    const { opening } = await openInFlightAtInterrupt(h);
    await assert.rejects(h.drive(opening, 50, 3_000), /after the interrupt/);
    assert.ok(h.clock.now() >= 1_500, `stopped at ${h.clock.now()} ms`);
    h.channel.release();
  });
}

Deno.test("NFSv4.0: a request waiting for its open owner is not sent once the soft stop comes (RFC 7530 §9.1.7)", async () => {
  await using h = await harness(0);
  await h.vfs();
  const first = await h.open("file");
  h.mark();
  h.channel.hold();
  const verb = new AbortController();
  // Both need the open owner: the OPEN waits for the first one's reply.
  const holding = h.m.run(() => [], { seqidOwners: [first.owner] });
  holding.catch(() => {});
  await h.tick(20, 10);
  const opening = withOperationSignal(verb.signal, () => h.open("other"));
  opening.catch(() => {});
  await h.tick(20, 10);
  assert.equal(h.channel.heldCount, 1, "one request of the owner out");
  verb.abort(new Error("verb stopped"));
  h.channel.release();
  await h.drive(holding, 10, 1_000);
  await assert.rejects(h.drive(opening, 10, 1_000), /verb stopped/);
  assert.equal(h.channel.heldCount, 0);
  assert.deepEqual(h.ops().filter((o) => o.includes("OPEN")), [], h.ops().join("\n"));
});

for (const vers of [0, 1] as const) {
  Deno.test(`NFSv4.${vers}: a LOCK in flight at an interrupt is answered in the release window; shutdown() unlocks it (kernel nfs4_lock_release)`, async () => {
    await using h = await harness(vers);
    const file = await h.open("file", ShareAccess.OPEN4_SHARE_ACCESS_BOTH);
    h.mark();
    h.channel.hold();
    const locking = h.lock(file);
    locking.catch(() => {});
    await h.tick(20, 10);
    assert.equal(h.channel.heldCount, 1, "the LOCK went out");
    h.m.interrupt(new Error("SIGINT"));
    await h.tick(300, 50);
    h.channel.release();
    await h.drive(locking, 50, 1_000);
    assert.equal(file.locks.length, 1, "the lock it took is known");
    await h.drive(h.m.shutdown(), 50, 2_000);
    assert.ok(h.ops().some((o) => o.includes("LOCKU")), h.ops().join("\n"));
    assert.equal(h.server.states.size, 0, "unlocked and closed in the window");
  });
}

for (const vers of [0, 1] as const) {
  Deno.test(`NFSv4.${vers}: shutdown() right after an interrupt waits for an OPEN still in flight and closes it`, async () => {
    await using h = await harness(vers);
    const { opening } = await openInFlightAtInterrupt(h);
    // The command gave up on the OPEN (cp's abandoned work) and closes.
    const closing = h.m.shutdown();
    closing.catch(() => {});
    await h.tick(300, 50);
    h.channel.release();
    await h.drive(closing, 50, 2_000);
    await opening;
    // Closed, not just dropped with the client ID (a 4.1 server may do that).
    assert.ok(h.ops().some((o) => /\bCLOSE\b/.test(o)), h.ops().join("\n"));
    assert.equal(h.server.states.size, 0, "the OPEN answered in the window was closed");
  });
}

Deno.test("NFSv4.1: a request waiting for a slot is not sent once the soft stop comes (RFC 8881 §2.10.6.1)", async () => {
  await using h = await harness(1, { wantedSlots: 1 });
  const file = await h.open();
  h.mark();
  h.channel.hold();
  const first = h.read(file);
  first.catch(() => {});
  await h.tick(20, 10);
  const verb = new AbortController();
  const waiting = withOperationSignal(verb.signal, () => h.read(file));
  waiting.catch(() => {});
  await h.tick(20, 10);
  assert.equal(h.channel.heldCount, 1, "one READ out, one waiting for the only slot");
  verb.abort(new Error("verb stopped"));
  h.channel.release();
  await h.drive(first, 10, 1_000);
  await assert.rejects(h.drive(waiting, 10, 1_000), /verb stopped/);
  assert.equal(h.ops().filter((o) => o.includes("READ")).length, 1, h.ops().join("\n"));
});

for (const vers of [0, 1] as const) {
  Deno.test(`NFSv4.${vers}: a WRITE sent before an interrupt and answered NFS4ERR_BAD_STATEID after it is not mended with a new OPEN: after the interrupt nothing is sent but releases (RFC 7530 §9.1.4.4, RFC 8881 §8.2.4)`, async () => {
    await using h = await harness(vers);
    const state = await h.open("file", ShareAccess.OPEN4_SHARE_ACCESS_WRITE);
    h.mark();
    h.server.failNext("WRITE", S.NFS4ERR_BAD_STATEID);
    h.channel.hold();
    const writing = h.m.run(
      () =>
        [
          putfh(state.fh),
          write({ stateid: state.stateid, offset: 0n, stable: 2, data: new Uint8Array(8) }),
        ] as const,
      { states: [state] },
    );
    writing.catch(() => {});
    await h.tick(20, 10);
    assert.equal(h.channel.heldCount, 1, "the WRITE went out");
    h.m.interrupt(new Error("SIGINT"));
    h.channel.release();
    await assert.rejects(
      h.drive(writing, 50, 1_000),
      (e) => e instanceof NfsError && e.status === S.NFS4ERR_BAD_STATEID,
    );
    await h.drive(h.m.shutdown(), 50, 2_000);
    assert.ok(!h.ops().some((o) => o.includes("OPEN")), h.ops().join("\n"));
    assert.ok(h.events(["retry"]).some((e) => e.includes("not recovered")));
  });

  Deno.test(`NFSv4.${vers}: a READ answered NFS4ERR_BAD_STATEID while its open's CLOSE is on its way does not open the file again: the CLOSE lets it go, nothing stays open (RFC 7530 §9.1.4.4, RFC 8881 §8.2.4)`, async () => {
    await using h = await harness(vers);
    const state = await h.open("file");
    h.mark();
    h.server.failNext("READ", S.NFS4ERR_BAD_STATEID);
    h.channel.hold();
    const reading = h.read(state);
    reading.catch(() => {});
    await h.tick(20, 10);
    const closing = closeFile(h.m, state);
    await h.tick(20, 10);
    assert.equal(h.channel.heldCount, 2, "the READ and the CLOSE went out");
    h.channel.release();
    await assert.rejects(
      h.drive(reading, 50, 2_000),
      (e) => e instanceof NfsError && e.status === S.NFS4ERR_BAD_STATEID,
    );
    await h.drive(closing, 50, 2_000);
    assert.ok(!h.ops().some((o) => o.includes("OPEN")), h.ops().join("\n"));
    assert.ok(!h.ops().some((o) => o.includes("TEST_STATEID")), h.ops().join("\n"));
    assert.ok(
      h.details(["retry"]).some((d) => d.includes("being closed")),
      h.details(["retry"]).join("\n"),
    );
    assert.equal(h.server.states.size, 0, "nothing left open on the server");
    assert.equal(state.closed, true);
  });
}

Deno.test("NFSv4.1: a CLOSE answered NFS4ERR_ADMIN_REVOKED is followed by FREE_STATEID of that stateid, which stays the server's until freed (RFC 8881 §8.2.4)", async () => {
  await using h = await harness(1);
  const state = await h.open("file");
  h.mark();
  h.server.failNext("CLOSE", S.NFS4ERR_ADMIN_REVOKED);
  await h.drive(closeFile(h.m, state), 50, 2_000);
  assert.equal(state.closed, true);
  const ops = h.ops();
  const close = ops.findIndex((o) => o.includes("CLOSE"));
  assert.ok(close >= 0 && ops[close + 1]?.includes("FREE_STATEID"), ops.join("\n"));
});

for (const [vers, wantedSlots] of [[0, 32], [1, 32], [1, 1]] as const) {
  const rfc = vers === 0 ? "RFC 7530 §16.34" : "RFC 8881 §18.37, §18.50";
  const slots = wantedSlots === 1 ? ", with one slot, left uncertain by the stop" : "";
  Deno.test(`NFSv4.${vers}: an interrupt while a recovery step waits for its answer stops recovery without giving up on it: shutdown() still closes the open and ends the client${slots} (${rfc})`, async () => {
    await using h = await harness(vers, { wantedSlots });
    const state = await h.open("file");
    h.mark();
    h.channel.hold();
    h.m.setFlag("CHECK_LEASE", "test");
    await h.tick(20, 10);
    assert.equal(h.channel.heldCount, 1, `the lease check went out: ${h.steps().join("; ")}`);
    h.m.interrupt(new Error("SIGINT"));
    h.channel.release();
    await h.drive(h.m.shutdown(), 50, 2_000);
    const ops = h.ops();
    assert.deepEqual(h.events(["error"]), [], "the interrupted step is not a failed recovery");
    assert.ok(h.events(["step"]).includes("CHECK_LEASE stopped"), h.events(["step"]).join("\n"));
    assert.equal(
      ops.filter((o) => o === "RENEW" || o === "SEQUENCE").length,
      1,
      `no second lease check:\n${ops.join("\n")}`,
    );
    assert.equal(state.closed, true);
    assert.ok(ops.some((o) => /\bCLOSE\b/.test(o)), ops.join("\n"));
    assert.equal(h.server.states.size, 0, "nothing left open on the server");
    if (vers === 1) {
      assert.ok(ops.some((o) => o.includes("DESTROY_CLIENTID")), ops.join("\n"));
      assert.equal(h.server.clients.size, 0, "the client ID is gone");
    }
  });
}

for (const vers of [0, 1] as const) {
  Deno.test(`NFSv4.${vers}: a server restart met by the releases after an interrupt is not reclaimed: no new client ID, no OPEN or LOCK only to be released; each release gets its status (RFC 7530 §9.6, RFC 8881 §8.4.2.1)`, async () => {
    await using h = await harness(vers);
    const state = await h.open("file", ShareAccess.OPEN4_SHARE_ACCESS_BOTH);
    await h.lock(state);
    h.m.interrupt(new Error("SIGINT"));
    h.server.reboot();
    h.mark();
    await h.drive(h.m.shutdown(), 50, 2_000);
    const ops = h.ops();
    const sent = (op: string) => ops.some((o) => o.split(/[,\s]/).includes(op));
    for (const op of ["OPEN", "LOCK", "SETCLIENTID", "EXCHANGE_ID", "RENEW", "RECLAIM_COMPLETE"]) {
      assert.ok(!sent(op), `${op} sent:\n${ops.join("\n")}`);
    }
    assert.ok(sent("LOCKU"), ops.join("\n"));
    // On 4.1 the session, found gone with the client ID, is not made again:
    // the CLOSE is answered BADSESSION without being sent (the SEQUENCE's
    // status, traced as the SEQUENCE's).
    assert.ok(
      vers === 0
        ? sent("CLOSE")
        : h.details(["open"]).some((e) =>
          /^SEQUENCE -> NFS4ERR_\w+ \(\/vfs\/file: CLOSE not run\)$/.test(e)
        ),
      `${ops.join("\n")}\n${h.details(["open"]).join("\n")}`,
    );
    assert.ok(
      h.events(["retry"]).some((e) => e.includes("not recovered")),
      h.events(["retry"]).join("\n"),
    );
    assert.ok(h.clock.now() < 1_500, `done at ${h.clock.now()} ms, within the release window`);
  });

  Deno.test(`NFSv4.${vers}: a reclaim the interrupt finds running sends no further OPEN or RECLAIM_COMPLETE; what it had sent is answered in the window and closed (RFC 7530 §9.6.2, RFC 8881 §8.4.2.1)`, async () => {
    await using h = await harness(vers);
    const names = ["a", "b", "c", "d"];
    for (const name of names) h.server.addFile(`/vfs/${name}`, name);
    for (const name of names) await h.open(name);
    h.server.reboot();
    // The first reclaim OPEN is answered; whatever follows it is held.
    h.server.intercept("OPEN", () => h.channel.hold());
    h.mark();
    h.m.setFlag("CHECK_LEASE", "test");
    await h.tick(300, 10);
    assert.equal(h.channel.heldCount, 1, h.ops().join("\n"));
    h.m.interrupt(new Error("SIGINT"));
    h.channel.release();
    await h.drive(h.m.shutdown(), 50, 3_000);
    const ops = h.ops();
    const reclaims = ops.filter((o) => o.split(/[,\s]/).includes("OPEN"));
    assert.ok(
      reclaims.length <= 2,
      `at most the answered and the held reclaim:\n${ops.join("\n")}`,
    );
    assert.ok(!ops.some((o) => o.includes("RECLAIM_COMPLETE")), ops.join("\n"));
    assert.equal(h.server.states.size, 0, "what was reclaimed was closed");
    assert.ok(h.events(["step"]).includes("RECLAIM_REBOOT stopped"), h.events(["step"]).join("\n"));
  });
}

Deno.test("NFSv4.1: a session the server lost, met by the releases after an interrupt, is made again so the open is still closed and the client ID destroyed (RFC 8881 §2.10.13)", async () => {
  await using h = await harness(1);
  const state = await h.open("file");
  h.m.interrupt(new Error("SIGINT"));
  h.server.sessions.clear();
  h.mark();
  await h.drive(h.m.shutdown(), 50, 2_000);
  const ops = h.ops();
  assert.ok(ops.some((o) => o.includes("CREATE_SESSION")), ops.join("\n"));
  assert.ok(!ops.some((o) => o.split(/[,\s]/).includes("OPEN")), ops.join("\n"));
  assert.equal(state.closed, true);
  assert.equal(h.server.states.size, 0, "closed on the server");
  assert.equal(h.server.clients.size, 0, "the client ID is gone");
});

Deno.test("NFSv4.1: a session re-made for the releases after an interrupt whose CREATE_SESSION fails is not a failed recovery that skips them: tried again within the window, the open is still closed and the client ID destroyed (RFC 8881 §18.36)", async () => {
  await using h = await harness(1);
  const state = await h.open("file");
  h.m.interrupt(new Error("SIGINT"));
  h.server.sessions.clear();
  h.server.failNext("CREATE_SESSION", S.NFS4ERR_SERVERFAULT);
  h.mark();
  await h.drive(h.m.shutdown(), 50, 2_000);
  const ops = h.ops();
  assert.ok(ops.some((o) => o.includes("CREATE_SESSION -> NFS4ERR_SERVERFAULT")), ops.join("\n"));
  assert.deepEqual(h.events(["error"]).filter((e) => e.includes("SESSION_RESET")), []);
  assert.equal(state.closed, true);
  assert.equal(h.server.states.size, 0, "closed on the server");
  assert.equal(h.server.clients.size, 0, "the client ID is gone");
});
