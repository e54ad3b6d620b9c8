/**
 * The per-operation deadline (StateManagerOptions.recoveryTimeoutMs, 4 ×
 * `--timeout` in the CLI) bounds an operation's wait for recovery and its
 * resends too, not only its DELAY and GRACE waits
 * (tests/state/deadline_backoff_test.ts). README "Deadlines and signals":
 * "Each operation keeps trying for at most 4 × --timeout: a request that got
 * no reply is sent again as itself, DELAY and GRACE are waited out,
 * recovery runs. Then it fails with the time it really tried."
 *
 * - An operation waiting for the state manager's recovery stops waiting at
 *   its deadline and fails with a RecoveryTimeoutError naming the step still
 *   running; recovery goes on, and later operations use what it made (a
 *   session reset that waits out DESTROY_SESSION's NFS4ERR_DELAY and
 *   resends CREATE_SESSION, RFC 8881 §18.37.3, §18.36.4; a 4.0 reclaim
 *   after a reboot whose OPENs the server answers NFS4ERR_DELAY, RFC 7530
 *   §9.6.2, §13.1.1.3). It used to wait as long as recovery took.
 * - The resends of a request that got no reply stop at the operation's
 *   deadline, counted from the operation's start, not from that send's:
 *   an operation that waited for recovery and was then sent again got a
 *   whole new budget (RFC 8881 §2.10.6.1.2, RFC 7530 §9.1.9: the resend is
 *   the same request).
 * - Giving up while the outcome is unknown says so: an operation whose
 *   resend of a state change was answered NFS4ERR_BADSESSION (the reply
 *   cache gone with the session) may have run, and the error carries that
 *   (RecoveryTimeoutError.mayHaveRun, and the NfsError it wraps marked
 *   answeredResend), as lib/state/exactly_once.ts asks.
 *
 * What holds now: nothing is sent again for an operation after its
 * deadline, and it waits for recovery no longer, so it ends by the deadline
 * plus what is left of the one call in flight then (at most one
 * `--timeout`); StateManager.run() says which waits in a queue it leaves to
 * the requests ahead. The releases at exit keep their own bound (the last
 * test).
 */

import assert from "node:assert/strict";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { putfh } from "../../lib/nfs4/ops/putfh.ts";
import { remove } from "../../lib/nfs4/ops/remove.ts";
import { ServerNotRespondingError } from "../../lib/state/manager.ts";
import { drain, failureOf, type Harness, harness, TIMEOUT_2S } from "./_harness.ts";

/**
 * The fields of lib/state/manager.ts's RecoveryTimeoutError, checked by
 * name (so that this file also runs against the code from before it, and
 * fails there on what it does, not on an import).
 */
interface RecoveryTimeout extends Error {
  readonly step: string | undefined;
  readonly waitedMs: number;
  readonly mayHaveRun: boolean;
}

function assertRecoveryTimeout(error: unknown): asserts error is RecoveryTimeout {
  assert.ok(error instanceof Error && error.name === "RecoveryTimeoutError", String(error));
}

/**
 * A session reset that takes 10.3 s: DESTROY_SESSION answered NFS4ERR_DELAY
 * four times (four 1 s waits, procs.ts destroyOne) and CREATE_SESSION's
 * reply lost six times (resent after 0.1, 0.2, 0.4, 0.8, 1.6 and 3.2 s);
 * lost seven times, 12 s (the last wait cut to 1.7 s by its own deadline).
 */
function slowSessionReset(h: Harness, lost = 6): void {
  h.server.failNext("SEQUENCE", S.NFS4ERR_BADSESSION);
  h.server.failNext("DESTROY_SESSION", S.NFS4ERR_DELAY, { times: 4 });
  h.channel.dropReplies("CREATE_SESSION", { times: lost });
}

Deno.test("4.1: a READ waiting for a session reset that takes 10 s fails at its 8 s deadline naming SESSION_RESET, and the reset goes on (README 'Deadlines and signals'; RFC 8881 §18.37.3)", async () => {
  await using h = await harness(1, TIMEOUT_2S);
  const file = await h.open();
  h.mark();
  slowSessionReset(h);
  const { error, at } = await failureOf(h, h.read(file), h.clock.now());
  assertRecoveryTimeout(error);
  assert.equal(at, 8_000);
  assert.equal(
    error.message,
    "scripted: recovery not done in 8 s: SESSION_RESET (SEQUENCE -> NFS4ERR_BADSESSION)",
  );
  assert.equal(error.step, "SESSION_RESET");
  // Its answer came (the status that called for recovery): nothing of it
  // may have run, and nothing of it is in flight.
  assert.equal(error.mayHaveRun, false);
  assert.ok(error.cause instanceof NfsError);
  assert.equal(error.cause.status, S.NFS4ERR_BADSESSION);
  assert.equal(h.channel.inFlight, 0);
  // Recovery was not stopped: the session is made, and the next READ uses it.
  await h.drive(h.m.waitForRecovery(), 50, 60_000);
  assert.ok(h.clock.now() >= 10_300, `reset done at ${h.clock.now()}`);
  assert.ok(h.steps().includes("SESSION_RESET done"), h.steps().join(" | "));
  assert.equal(await h.readText(file), "hello, world\n");
});

Deno.test("4.1: an operation that starts while recovery runs waits for it only until its own deadline (README 'Deadlines and signals')", async () => {
  await using h = await harness(1, TIMEOUT_2S);
  const file = await h.open();
  h.mark();
  slowSessionReset(h, 7);
  const first = h.read(file);
  first.catch(() => {});
  await h.tick(3_000, 50);
  // Started 3 s in, while the reset runs (until 12 s): stops at 11 s.
  const { error, at } = await failureOf(h, h.read(file), h.clock.now());
  assertRecoveryTimeout(error);
  assert.equal(at, 8_000);
  assert.equal(error.step, "SESSION_RESET");
  assert.equal(error.mayHaveRun, false);
  assert.equal(error.cause, undefined, "nothing of it was sent");
  await h.drive(h.m.waitForRecovery(), 50, 60_000);
  assert.ok(h.clock.now() >= 12_000, `reset done at ${h.clock.now()}`);
  assert.equal(await h.readText(file), "hello, world\n");
});

Deno.test("4.0: a READ that found a reboot fails at its deadline while the reclaim (OPENs answered NFS4ERR_DELAY, 12.6 s) goes on, and every open is reclaimed (RFC 7530 §9.6.2, §13.1.1.3)", async () => {
  await using h = await harness(0, TIMEOUT_2S);
  const file = await h.open("file");
  const other = await h.open("other");
  h.mark();
  h.server.reboot();
  // Each reclaim OPEN is waited out for 0.1 + 0.2 + ... + 3.2 = 6.3 s.
  h.server.failNext("OPEN", S.NFS4ERR_DELAY, { times: 6 });
  h.server.failNext("OPEN", S.NFS4ERR_DELAY, { times: 6, after: 1 });
  const { error, at } = await failureOf(h, h.read(other), h.clock.now());
  assertRecoveryTimeout(error);
  assert.equal(at, 8_000);
  assert.match(
    error.message,
    /^scripted: recovery not done in 8 s: RECLAIM_REBOOT \(RENEW -> NFS4ERR_STALE_CLIENTID; 2 open\(s\) to reclaim\)$/,
  );
  assert.equal(error.step, "RECLAIM_REBOOT");
  assert.equal(error.mayHaveRun, false);
  await h.drive(h.m.waitForRecovery(), 50, 60_000);
  assert.ok(h.clock.now() >= 12_600, `reclaim done at ${h.clock.now()}`);
  assert.equal(file.bad, undefined);
  assert.equal(other.bad, undefined);
  assert.equal(await h.readText(other), "other file contents\n");
  assert.equal(await h.readText(file), "hello, world\n");
});

Deno.test("4.1: a READ sent again after a 4 s session reset and then unanswered stops resending at its 8 s deadline, not 8 s after the resend began (README 'Deadlines and signals'; RFC 8881 §2.10.6.1.2)", async () => {
  await using h = await harness(1, TIMEOUT_2S);
  const file = await h.open();
  h.mark();
  h.server.failNext("SEQUENCE", S.NFS4ERR_BADSESSION);
  h.server.failNext("DESTROY_SESSION", S.NFS4ERR_DELAY, { times: 4 });
  // The READ on the new session is run, its replies lost.
  h.channel.dropReplies("READ", { after: 1, times: 1_000 });
  const { error, at } = await failureOf(h, h.read(file), h.clock.now());
  assert.ok(error instanceof ServerNotRespondingError, String(error));
  // Sent again at 4.0 s: resent after 0.1 ... 1.6 s, the last wait cut.
  assert.ok(at <= 8_000, `failed at ${at} ms`);
  assert.ok(at >= 7_900, `failed at ${at} ms`);
  const reads = h.timeline().filter(([, ops]) => ops.startsWith("SEQUENCE,PUTFH,READ"));
  // The last resend at the deadline, none after.
  assert.deepEqual(reads.map(([t]) => t), [0, 4000, 4100, 4300, 4700, 5500, 7100, 8000]);
  assert.equal(
    error.message,
    "scripted: server not responding: no reply in 4 s " +
      "(7 tries, each waiting up to 2 s; the operation gave up after 8 s)",
  );
  // The server answered other requests 4 s before: it is not judged gone
  // (a request unanswered for a whole budget of its own would be).
  assert.deepEqual(h.events(["error"]), []);
  h.channel.clearDrops();
  assert.equal(await h.readText(file), "hello, world\n");
});

Deno.test("4.0: a REMOVE sent again after a reboot's recovery and then unanswered stops at the operation's deadline too (RFC 7530 §9.1.9)", async () => {
  await using h = await harness(0, TIMEOUT_2S);
  const dir = await h.vfs();
  await h.open("other");
  h.mark();
  h.server.reboot();
  // The reclaim of /vfs/other waits out NFS4ERR_DELAY for 3.1 s.
  h.server.failNext("OPEN", S.NFS4ERR_DELAY, { times: 5 });
  // REMOVE -> NFS4ERR_STALE_CLIENTID: recovery; then its replies are lost.
  h.server.failNext("REMOVE", S.NFS4ERR_STALE_CLIENTID);
  h.channel.dropReplies("REMOVE", { after: 1, times: 1_000 });
  const start = h.clock.now();
  const removing = h.m.run(() => [putfh(dir), remove("file")] as const);
  const { error, at } = await failureOf(h, removing, start);
  assert.ok(error instanceof ServerNotRespondingError, String(error));
  assert.ok(at <= 8_000 && at >= 7_900, `failed at ${at} ms`);
  const removes = h.timeline().filter(([, ops]) => ops.includes("REMOVE"));
  assert.ok(removes.every(([t]) => t <= 8_000), removes.map(([t]) => t).join(", "));
});

Deno.test("4.1: a REMOVE whose resend met a lost session may have run: giving up on the recovery says so (mayHaveRun, the status marked answeredResend; lib/state/exactly_once.ts)", async () => {
  await using h = await harness(1, TIMEOUT_2S);
  const dir = await h.vfs();
  h.mark();
  // The first REMOVE runs, its reply is lost; the resend meets a session
  // the server no longer knows, whose reset then takes 10.3 s.
  h.channel.dropReplies("REMOVE");
  h.server.failNext("SEQUENCE", S.NFS4ERR_BADSESSION, { after: 1 });
  h.server.failNext("DESTROY_SESSION", S.NFS4ERR_DELAY, { times: 4 });
  h.channel.dropReplies("CREATE_SESSION", { times: 6 });
  const start = h.clock.now();
  const removing = h.m.run(() => [putfh(dir), remove("file")] as const);
  const { error, at } = await failureOf(h, removing, start);
  assertRecoveryTimeout(error);
  assert.equal(at, 8_000);
  assert.equal(error.mayHaveRun, true);
  assert.match(error.message, /; the server may have run REMOVE$/);
  assert.ok(error.cause instanceof NfsError);
  assert.equal(error.cause.status, S.NFS4ERR_BADSESSION);
  assert.equal(error.cause.answeredResend, true);
  assert.equal(h.server.file("/vfs/file"), undefined, "the REMOVE did run");
});

Deno.test("4.1: the CLOSE of the release at exit keeps its own bound: it waits for a 10 s session reset and closes the file (README 'Deadlines and signals': releases have their window)", async () => {
  await using h = await harness(1, TIMEOUT_2S);
  await h.open();
  h.mark();
  slowSessionReset(h);
  await h.drive(h.m.shutdown(), 50, 60_000);
  assert.ok(h.clock.now() >= 10_300, `closed at ${h.clock.now()}`);
  assert.deepEqual(h.m.notReleased, []);
  assert.deepEqual(h.server.opensOf("/vfs/file"), []);
  assert.ok(!h.trace.some((e) => e.event === "recovery not awaited"));
});

Deno.test("4.1: a REMOVE that waited 7 s of its 8 for the one slot and lost its reply is sent again on its slot past its deadline and answered from the reply cache, not failed with its effect done (RFC 8881 §2.10.6.2)", async () => {
  await using h = await harness(1, {
    wantedSlots: 1,
    callTimeoutMs: 2000,
    recoveryTimeoutMs: 8000,
  });
  const file = await h.open();
  const dir = await h.vfs();
  h.mark();
  h.channel.holdReplies("READ");
  const reading = h.read(file);
  reading.catch(() => {});
  for (let i = 0; i < 5; i++) await drain();
  const removing = h.m.run(() => [putfh(dir), remove("file")] as const);
  removing.catch(() => {});
  await h.tick(7000, 500);
  // Its first reply is lost: the resend it has room for goes out after the
  // deadline, two call timeouts from its first sending (README "Deadlines
  // and signals").
  h.channel.dropReplies("REMOVE");
  h.channel.releaseReplies();
  const outcome = await h.drive(removing.then(() => "ok", (e) => `${e?.name}: ${e?.message}`));
  assert.equal(outcome, "ok");
  assert.equal(h.server.file("/vfs/file"), undefined);
  assert.equal(h.m.client.session?.slots.uncertainCount, 0);
});

Deno.test("ServerNotRespondingError says times below 0.1 s in milliseconds: `--timeout 0.001` waited up to 1 ms, not 0 s", () => {
  assert.equal(
    new ServerNotRespondingError("srv", 4, 1, 1, undefined).message,
    "srv: server not responding: no reply in 4 ms (1 try, each waiting up to 1 ms)",
  );
  assert.equal(
    new ServerNotRespondingError("srv", 8_100, 5, 2_000, undefined).message,
    "srv: server not responding: no reply in 8.1 s (5 tries, each waiting up to 2 s)",
  );
});
