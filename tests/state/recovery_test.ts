/**
 * The recovery loop under trouble: transient failures of its own requests,
 * requests queued for a slot while the session is replaced, purging all
 * state, and how long an operation waits before it gives up.
 */

import assert from "node:assert/strict";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { BadStateError } from "../../lib/state/open_state.ts";
import { SeqStatus } from "../../lib/state/error_table.ts";
import { putfh } from "../../lib/nfs4/ops/putfh.ts";
import { read } from "../../lib/nfs4/ops/read.ts";
import { drain, harness } from "./_harness.ts";

Deno.test("a lost reply to a recovery step's RENEW is resent as itself with backoff (RFC 7530 §9.6.2, RFC 5531 §9)", async () => {
  await using h = await harness(0);
  const file = await h.open();
  h.mark();
  h.server.reboot();
  h.channel.dropReplies("RENEW");
  assert.equal(await h.drive(h.readText(file), 50), "hello, world\n");
  assert.deepEqual(h.details(["retry"]), [
    "RENEW resend (no reply (scripted); same request in 100.0 ms)",
  ]);
  assert.deepEqual(h.timeline().slice(0, 3), [
    [0, "PUTFH,READ -> NFS4ERR_STALE_STATEID"],
    [0, "RENEW -> NFS4ERR_STALE_CLIENTID"],
    [100, "RENEW -> NFS4ERR_STALE_CLIENTID"],
  ]);
});

// Regression (fixed in lib/state): a recovery step whose own request gets NFS4ERR_DELAY (the server is
// busy: RFC 7530 §13.1.1.3, "retry later") is fatal: the step throws
// NfsError(DELAY), #runLoop()'s catch only retries retriable RpcErrors and
// lease-level statuses, so it records #fatal, marks every open bad
// (#failAll) and every waiting operation fails. The kernel waits and retries
// (nfs4_handle_reclaim_lease_error: DELAY -> ssleep(1); RENEW's rpc_delay).
// Fix: in #runLoop()'s catch, treat `e instanceof NfsError &&
// actionForStatus(e.status).kind === "delay"` like a retriable RpcError
// (back off on the clock and run the step again).
for (
  const [label, minor, op, setup] of [
    ["EXCHANGE_ID at start", 1, "EXCHANGE_ID", "start"],
    ["SETCLIENTID_CONFIRM after a reboot", 0, "SETCLIENTID_CONFIRM", "reboot"],
    ["RENEW in CHECK_LEASE", 0, "RENEW", "reboot"],
    ["CREATE_SESSION in SESSION_RESET", 1, "CREATE_SESSION", "badsession"],
  ] as const
) {
  Deno.test({
    name: `NFS4ERR_DELAY answering ${label} is waited out, not fatal (RFC ${
      minor === 0 ? "7530 §13.1.1.3" : "8881 §15.1.1.3"
    })`,
    async fn() {
      await using h = await harness(minor, { noStart: setup === "start" });
      if (setup === "start") {
        h.server.failNext(op, S.NFS4ERR_DELAY);
        await h.drive(h.m.start(), 50);
        assert.ok(h.m.client.clientId !== undefined);
        return;
      }
      const file = await h.open();
      h.mark();
      if (setup === "reboot") h.server.reboot();
      else h.server.failNext("SEQUENCE", S.NFS4ERR_BADSESSION);
      h.server.failNext(op, S.NFS4ERR_DELAY);
      assert.equal(await h.drive(h.readText(file), 50), "hello, world\n");
      assert.equal(file.bad, undefined);
      assert.ok(h.events(["retry"]).length > 0);
    },
  });
}

// Regression (fixed in lib/state): when SESSION_RESET destroys the session, procs.destroySession() fails
// the requests queued for a slot with `NfsError(NFS4ERR_BADSESSION)`. That
// error is thrown out of send() (not returned as a reply), so run() does not
// look it up in the table and the caller's READ fails instead of waiting for
// the new session and retrying. Fix: in run(), treat a BADSESSION/DEADSESSION
// NfsError thrown by send() as a reply with that status (recover, then
// retry), or have destroySession() fail waiters with a retriable error that
// run() resends after waitForRecovery().
Deno.test({
  name:
    "requests queued for a slot while the session is reset are retried on the new session (RFC 8881 §2.10.6)",
  async fn() {
    await using h = await harness(1, { maxSlots: 1, wantedSlots: 1 });
    const file = await h.open();
    h.mark();
    h.channel.hold();
    const reads = [0, 1, 2, 3].map(() =>
      h.readText(file).catch((e: Error) => `${e.name}: ${e.message}`)
    );
    await drain();
    assert.equal(h.m.client.session!.slots.waiting, 3);
    // The first reply asks for a new session; the others still wait for the slot.
    h.server.flagNextSequence(SeqStatus.BACKCHANNEL_FAULT);
    h.channel.releaseOne();
    await drain();
    for (let i = 0; i < 5; i++) {
      h.channel.release();
      await drain();
    }
    assert.deepEqual(await Promise.all(reads), Array(4).fill("hello, world\n"));
  },
});

Deno.test("PURGE_STATE drops every state (EBADF on use) and establishes a new client ID (kernel NFS4CLNT_PURGE_STATE)", async () => {
  await using h = await harness(0);
  const file = await h.open();
  h.mark();
  h.m.setFlag("PURGE_STATE", "test");
  await h.m.waitForRecovery();
  assert.deepEqual(h.steps(), [
    "+PURGE_STATE",
    "PURGE_STATE start",
    "-PURGE_STATE",
    "+LEASE_EXPIRED",
    "PURGE_STATE done",
    "LEASE_EXPIRED start",
    "-LEASE_EXPIRED",
    "+RECLAIM_REBOOT",
    "LEASE_EXPIRED done",
    "RECLAIM_REBOOT start",
    "-RECLAIM_REBOOT",
    "RECLAIM_REBOOT done",
  ]);
  assert.deepEqual(h.ops(), ["SETCLIENTID", "SETCLIENTID_CONFIRM", "PUTROOTFH,GETATTR"]);
  assert.equal(h.m.opens.size, 0);
  assert.equal(h.m.openOwners.size, 0);
  assert.equal(file.bad, "state purged");
  await assert.rejects(h.read(file), BadStateError);
});

Deno.test("an operation gives up within recoveryTimeoutMs of DELAY and throws the NfsError (RFC 7530 §13.1.1.3)", async () => {
  await using h = await harness(1, { recoveryTimeoutMs: 2_000 });
  const file = await h.open();
  h.mark();
  h.server.failNext("READ", S.NFS4ERR_DELAY, { times: 1000 });
  await assert.rejects(h.drive(h.read(file), 50), (e: unknown) => {
    assert.ok(e instanceof NfsError);
    assert.equal(e.statusName, "NFS4ERR_DELAY");
    return true;
  });
  // Its last wait is cut to end before the deadline (tests/state/deadline_backoff_test.ts).
  const last = h.timeline().at(-1)!;
  assert.ok(last[0] >= 1_500 && last[0] <= 2_000, `last try at ${last[0]} ms`);
  assert.deepEqual(h.steps(), []);
});

Deno.test("an aborted signal stops a DELAY backoff at once, with the status as the answer", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.server.failNext("READ", S.NFS4ERR_DELAY, { times: 1000 });
  const controller = new AbortController();
  const reading = h.m.run(
    () => [putfh(file.fh), read({ stateid: file.stateid, offset: 0n, count: 10 })] as const,
    { states: [file], signal: controller.signal },
  );
  reading.catch(() => {});
  await drain();
  const reason = new Error("user gave up");
  controller.abort(reason);
  await assert.rejects(reading, (e: unknown) => {
    assert.ok(e instanceof NfsError);
    assert.equal(e.status, S.NFS4ERR_DELAY);
    assert.equal(e.cause, reason);
    return true;
  });
});
