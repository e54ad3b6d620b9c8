/**
 * lockWithWait() (`nfs4 lock -w`) against the state manager and a scripted
 * server, on a fake clock: the wait keeps trying until its own deadline, not
 * the state manager's per-operation one (4 × `--timeout`, here 8 s).
 *
 * Each LOCK goes through `StateManager.run()`, which waits out NFS4ERR_GRACE
 * and NFS4ERR_DELAY, and the client's recovery, only until that operation
 * deadline; then the status (or a `RecoveryTimeoutError`) was the answer,
 * and `lock -w 300 --timeout 2` against a server in a 60 s grace period gave
 * up after 8 s. RFC 7530 §9.6.2 (RFC 8881 §8.4.2.1): "Clients should be
 * prepared for the return of NFS4ERR_GRACE errors for non-reclaim lock and
 * I/O requests. In this case, the client should employ a retry mechanism
 * for the request." Such an answer is now taken like a refusal (RFC 7530
 * §16.10, RFC 8881 §18.10: LOCK): a pause, another try, until -w; at -w the
 * wait fails with LockWaitDeadline saying the server was in grace, with no
 * LOCK left in flight. A single try (`lock -n`) keeps the status as its
 * answer, and a LOCK the server may have run is not sent again under a new
 * lock owner (RFC 7530 §9.7).
 */

import assert from "node:assert/strict";
import type { LockHolder, LockOptions, LockRange } from "../../lib/client/api.ts";
import { LockConflictError } from "../../lib/client/errors.ts";
import { lockWithWait } from "../../lib/client/lock_wait.ts";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import type { LockDenied } from "../../lib/nfs4/ops/lock.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { lockFile, unlockFile } from "../../lib/state/files.ts";
import type { OpenState } from "../../lib/state/open_state.ts";
import { type Harness, harness } from "../state/_harness.ts";

/** `--timeout 2`: each call 2 s, each operation 8 s. */
const TIMEOUTS = { callTimeoutMs: 2_000, recoveryTimeoutMs: 8_000 } as const;

const RANGE: LockRange = { type: "write", offset: 0n, length: 0xffff_ffff_ffff_ffffn };

/**
 * The file as lockWithWait() sees it: LOCK, a refusal naming its holder,
 * LOCKU. What each try failed with goes to `failures`.
 */
function lockable(h: Harness, state: OpenState, failures: unknown[] = []) {
  return {
    async lock(range: LockRange, options: LockOptions = {}): Promise<void> {
      try {
        await lockFile(h.m, state, range, options);
      } catch (e) {
        failures.push(e);
        if (!(e instanceof NfsError) || e.status !== S.NFS4ERR_DENIED) throw e;
        const denied = e.detail as LockDenied;
        const holder: LockHolder = {
          type: "write",
          offset: denied.offset,
          length: denied.length,
          clientid: denied.owner.clientid,
          owner: new TextDecoder().decode(denied.owner.owner),
        };
        throw new LockConflictError(state.path, holder, { cause: e });
      }
    },
    unlock: (range: LockRange) => unlockFile(h.m, state, range),
  };
}

/** An open of /vfs/file for reading and writing, and the log marked after it. */
async function openFile(h: Harness): Promise<OpenState> {
  const state = await h.open("file", ShareAccess.OPEN4_SHARE_ACCESS_BOTH);
  h.mark();
  return state;
}

/** Drives `promise` to its end on the fake clock: its outcome and when (ms after `start`). */
async function outcome<T>(
  h: Harness,
  promise: Promise<T>,
  start: number,
): Promise<{ value?: T; error?: unknown; at: number }> {
  try {
    const value = await h.drive(promise, 100, 400_000);
    return { value, at: h.clock.now() - start };
  } catch (error) {
    return { error, at: h.clock.now() - start };
  }
}

/** When each LOCK was sent (ms after `start`), with its answer. */
function locksSent(h: Harness, start: number): [number, string][] {
  return h.timeline()
    .filter(([, ops]) => ops.includes("LOCK"))
    .map(([at, ops]) => [at - start, ops]);
}

/**
 * A session reset that takes 10.3 s (tests/state/deadline_recovery_test.ts):
 * the next SEQUENCE answered NFS4ERR_BADSESSION, DESTROY_SESSION answered
 * NFS4ERR_DELAY four times, CREATE_SESSION's reply lost six times.
 */
function slowSessionReset(h: Harness, options: { after?: number } = {}): void {
  h.server.failNext("SEQUENCE", S.NFS4ERR_BADSESSION, options);
  h.server.failNext("DESTROY_SESSION", S.NFS4ERR_DELAY, { times: 4 });
  h.channel.dropReplies("CREATE_SESSION", { times: 6 });
}

for (const minor of [0, 1] as const) {
  Deno.test(`4.${minor}: lockWithWait() with -w 60 s waits out a 20 s grace period after a reboot, past the LOCK's own 8 s deadline, and takes the lock (RFC 7530 §9.6.2, RFC 8881 §8.4.2.1; LOCK: RFC 7530 §16.10, RFC 8881 §18.10)`, async () => {
    await using h = await harness(minor, TIMEOUTS);
    const file = await openFile(h);
    const start = h.clock.now();
    h.server.reboot();
    h.clock.setTimer(() => h.server.endGrace(), 20_000);
    const { value, error, at } = await outcome(
      h,
      lockWithWait(lockable(h, file), RANGE, { clock: h.clock, timeoutMs: 60_000 }),
      start,
    );
    assert.equal(error, undefined, String(error));
    assert.ok(value);
    // Granted by a LOCK after the grace period (the state manager's own
    // backoff, 0.1 s doubling, between them), not given up at 8 s.
    assert.ok(at >= 20_000 && at <= 27_000, `granted at ${at} ms`);
    const sent = locksSent(h, start);
    assert.ok(
      sent.some(([t, ops]) => t > 8_000 && ops.endsWith("-> NFS4ERR_GRACE")),
      sent.join("\n"),
    );
    assert.ok(sent.at(-1)![1].endsWith("LOCK"), sent.join("\n"));
    assert.equal(h.server.locksOf("/vfs/file").length, 1, "the server holds the lock");
  });
}

Deno.test("4.1: lockWithWait() keeps trying while the server answers LOCK NFS4ERR_DELAY for 12 s, past the LOCK's own 8 s deadline, and takes the lock (RFC 8881 §15.1.1.3, §18.10)", async () => {
  await using h = await harness(1, TIMEOUTS);
  const file = await openFile(h);
  const start = h.clock.now();
  // The server answers LOCK NFS4ERR_DELAY for 12 s.
  h.server.intercept("LOCK", () => h.clock.now() - start < 12_000 ? S.NFS4ERR_DELAY : undefined, {
    times: 1_000,
  });
  const { value, error, at } = await outcome(
    h,
    lockWithWait(lockable(h, file), RANGE, { clock: h.clock, timeoutMs: 60_000 }),
    start,
  );
  assert.equal(error, undefined, String(error));
  assert.ok(value);
  assert.ok(at >= 12_000 && at <= 19_000, `granted at ${at} ms`);
  assert.equal(h.server.locksOf("/vfs/file").length, 1);
});

Deno.test("4.1: a LOCK try that waited 8 s for a 10.3 s session reset (RecoveryTimeoutError, nothing of it run) is tried again: lockWithWait() with -w 60 s takes the lock once the reset is done (RFC 8881 §2.10.6, §18.10)", async () => {
  await using h = await harness(1, TIMEOUTS);
  const file = await openFile(h);
  const start = h.clock.now();
  slowSessionReset(h);
  const { value, error, at } = await outcome(
    h,
    lockWithWait(lockable(h, file), RANGE, { clock: h.clock, timeoutMs: 60_000 }),
    start,
  );
  assert.equal(error, undefined, String(error));
  assert.ok(value);
  assert.ok(at >= 10_300 && at <= 11_000, `granted at ${at} ms`);
  assert.ok(h.steps().includes("SESSION_RESET done"), h.steps().join(" | "));
  assert.deepEqual(locksSent(h, start).map(([, ops]) => ops), [
    "SEQUENCE,PUTFH,LOCK -> NFS4ERR_BADSESSION",
    "SEQUENCE,PUTFH,LOCK",
  ]);
  assert.equal(h.server.locksOf("/vfs/file").length, 1);
});

for (const lostFirst of [false, true]) {
  Deno.test(
    `4.0: a LOCK try that met a reboot${
      lostFirst
        ? ", its first transmission lost as the server went down (so the server may have run it),"
        : ""
    } whose reclaim of two opens takes 12.6 s fails at its 8 s deadline (RecoveryTimeoutError) and is tried again; the grace period after it is waited out too, and the lock taken within -w (RFC 7530 §9.6.2, ${
      lostFirst ? "§9.7, " : ""
    }§16.10)`,
    async () => {
      await using h = await harness(0, TIMEOUTS);
      await h.open("other");
      const file = await openFile(h);
      const start = h.clock.now();
      h.server.reboot();
      // The LOCK sent as the server goes down is lost; its resend meets the
      // new instance (NFS4ERR_STALE_STATEID), so it may have run for all the
      // client knows, but any lock it took went with the old instance.
      if (lostFirst) h.channel.dropReplies("LOCK", { beforeServer: true });
      // Each reclaim OPEN is answered NFS4ERR_DELAY six times, waited out for
      // 0.1 + 0.2 + ... + 3.2 = 6.3 s (tests/state/deadline_recovery_test.ts).
      h.server.failNext("OPEN", S.NFS4ERR_DELAY, { times: 6 });
      h.server.failNext("OPEN", S.NFS4ERR_DELAY, { times: 6, after: 1 });
      h.clock.setTimer(() => h.server.endGrace(), 25_000);
      const failures: unknown[] = [];
      const { value, error, at } = await outcome(
        h,
        lockWithWait(lockable(h, file, failures), RANGE, { clock: h.clock, timeoutMs: 60_000 }),
        start,
      );
      assert.equal(error, undefined, String(error));
      assert.ok(value);
      assert.ok(at >= 25_000 && at <= 32_000, `granted at ${at} ms`);
      const recovery = failures[0] as Error & { mayHaveRun?: boolean; step?: string };
      assert.equal(recovery?.name, "RecoveryTimeoutError", String(recovery));
      assert.equal(recovery.step, "RECLAIM_REBOOT");
      assert.equal(recovery.mayHaveRun, lostFirst);
      const grace = failures.slice(1);
      assert.ok(grace.length > 0);
      for (const e of grace) {
        assert.ok(e instanceof NfsError && e.status === S.NFS4ERR_GRACE, String(e));
      }
      assert.ok(h.steps().includes("RECLAIM_REBOOT done"), h.steps().join(" | "));
      assert.equal(file.bad, undefined);
      assert.equal(h.server.locksOf("/vfs/file").length, 1);
    },
  );
}

Deno.test("4.0: a LOCK whose first transmission was lost as the server went down is answered NFS4ERR_GRACE after the reboot's recovery, marked as answering a resend; grace says the server lost its state, and that lock with it, so the wait goes on past the LOCK's own 8 s deadline and takes the lock (RFC 7530 §9.6.2, §9.7, §16.10)", async () => {
  await using h = await harness(0, TIMEOUTS);
  const file = await openFile(h);
  const start = h.clock.now();
  h.server.reboot();
  h.channel.dropReplies("LOCK", { beforeServer: true });
  h.clock.setTimer(() => h.server.endGrace(), 20_000);
  const failures: unknown[] = [];
  const { value, error, at } = await outcome(
    h,
    lockWithWait(lockable(h, file, failures), RANGE, { clock: h.clock, timeoutMs: 60_000 }),
    start,
  );
  assert.equal(error, undefined, String(error));
  assert.ok(value);
  assert.ok(at >= 20_000 && at <= 27_000, `granted at ${at} ms`);
  const first = failures[0];
  assert.ok(first instanceof NfsError && first.status === S.NFS4ERR_GRACE, String(first));
  assert.equal(first.answeredResend, true);
  assert.equal(h.server.locksOf("/vfs/file").length, 1);
});

for (const minor of [0, 1] as const) {
  Deno.test(`4.${minor}: lockWithWait() with -w 20 s against a server in grace for longer fails at the -w deadline, saying the server was in its grace period, with every LOCK answered before it (RFC 7530 §9.6.2, RFC 8881 §8.4.2.1)`, async () => {
    await using h = await harness(minor, TIMEOUTS);
    const file = await openFile(h);
    const start = h.clock.now();
    h.server.reboot();
    const { error, at } = await outcome(
      h,
      lockWithWait(lockable(h, file), RANGE, { clock: h.clock, timeoutMs: 20_000 }),
      start,
    );
    assert.ok(error instanceof Error && error.name === "LockWaitDeadline", String(error));
    assert.equal(
      error.message,
      "the lock was not granted in 20.0 s: the server was in its grace period (NFS4ERR_GRACE)",
    );
    assert.ok(error.cause instanceof NfsError);
    assert.equal(error.cause.status, S.NFS4ERR_GRACE);
    // At the deadline, not at the LOCK's own 8 s one nor the last try's.
    assert.equal(at, 20_000);
    const sent = locksSent(h, start);
    assert.ok(sent.every(([t]) => t <= 19_900), sent.join("\n"));
    assert.ok(sent.some(([t]) => t > 16_000), sent.join("\n"));
    assert.equal(h.channel.inFlight, 0, "no LOCK in flight at the deadline");
    assert.deepEqual(h.server.locksOf("/vfs/file"), []);
  });
}

Deno.test("4.1: lockWithWait() with timeoutMs 0 (lock -n) still answers NFS4ERR_GRACE at once, with one non-blocking LOCK (RFC 7530 §9.4, §9.6.2; RFC 8881 §8.4.2.1)", async () => {
  await using h = await harness(1, TIMEOUTS);
  const file = await openFile(h);
  const start = h.clock.now();
  h.server.reboot();
  const { error } = await outcome(
    h,
    lockWithWait(lockable(h, file), RANGE, { clock: h.clock, timeoutMs: 0 }),
    start,
  );
  assert.ok(error instanceof NfsError, String(error));
  assert.equal(error.status, S.NFS4ERR_GRACE);
  // The LOCK that found the reboot (sent again after the recovery), then
  // the one answered NFS4ERR_GRACE: the answer, no other try.
  const sent = locksSent(h, start);
  assert.deepEqual(sent.map(([, ops]) => ops), [
    "SEQUENCE,PUTFH,LOCK -> NFS4ERR_BADSESSION",
    "SEQUENCE,PUTFH,LOCK -> NFS4ERR_GRACE",
  ]);
  const lockArgs = h.entries().findLast((e) => e.ops.includes("LOCK"))!.args;
  assert.ok(
    lockArgs.some((a) => (a as { locktype?: number })?.locktype === 2),
    "WRITE_LT, not WRITEW_LT",
  );
});

Deno.test("4.1: a LOCK whose resend met a lost session may have been granted: at the 8 s deadline of its recovery it is not sent again under a new lock owner (RFC 7530 §9.7: only its own owner's same request is safe); the RecoveryTimeoutError says the server may have run it", async () => {
  await using h = await harness(1, TIMEOUTS);
  const file = await openFile(h);
  const start = h.clock.now();
  // The first LOCK runs (the server grants it) and its reply is lost; the
  // resend meets a session the server no longer knows, whose reset then
  // takes 10.3 s.
  h.channel.dropReplies("LOCK");
  slowSessionReset(h, { after: 1 });
  const { error, at } = await outcome(
    h,
    lockWithWait(lockable(h, file), RANGE, { clock: h.clock, timeoutMs: 60_000 }),
    start,
  );
  assert.ok(error instanceof Error && error.name === "RecoveryTimeoutError", String(error));
  assert.equal((error as Error & { mayHaveRun?: boolean }).mayHaveRun, true);
  assert.match(error.message, /; the server may have run LOCK$/);
  assert.equal(at, 8_000);
  assert.equal(locksSent(h, start).length, 2, "the LOCK and its resend, nothing after");
  assert.equal(h.server.locksOf("/vfs/file").length, 1, "the LOCK did run");
});

Deno.test("4.1: the -w deadline stops a LOCK try that waits for the client's recovery: LockWaitDeadline at the deadline, nothing in flight (README 'Deadlines and signals')", async () => {
  await using h = await harness(1, TIMEOUTS);
  const file = await openFile(h);
  const start = h.clock.now();
  slowSessionReset(h);
  const { error, at } = await outcome(
    h,
    lockWithWait(lockable(h, file), RANGE, { clock: h.clock, timeoutMs: 5_000 }),
    start,
  );
  assert.ok(error instanceof Error && error.name === "LockWaitDeadline", String(error));
  assert.equal(at, 5_000);
  assert.equal(h.channel.inFlight, 0);
  assert.equal(locksSent(h, start).length, 1);
});
