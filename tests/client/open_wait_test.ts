/**
 * openWithWait(): the OPEN before `nfs4 lock -w`'s LOCKs, against the state
 * manager and a scripted server on a fake clock. In the grace period after a
 * restart the server refuses non-reclaim OPENs with NFS4ERR_GRACE (RFC 7530
 * §9.6.2, RFC 8881 §8.4.2.1; OPEN: RFC 7530 §16.16, RFC 8881 §18.16); the
 * state manager waits that out only for its operation's deadline (4 ×
 * --timeout, here 8 s), so `lock -w 300 --timeout 2` started in a 60 s grace
 * period gave up 8 s in. The OPEN is now tried again until -w, as the LOCK
 * is (tests/client/lock_wait_recovery_test.ts); `lock -n` keeps one try.
 */

import assert from "node:assert/strict";
import { openWithWait } from "../../lib/client/lock_wait.ts";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { openFile } from "../../lib/state/files.ts";
import { type Harness, harness } from "../state/_harness.ts";

/** `--timeout 2`: each call 2 s, each operation 8 s. */
const TIMEOUTS = { callTimeoutMs: 2_000, recoveryTimeoutMs: 8_000 } as const;

/** openWithWait() of /vfs/file after the server restarted into grace; its outcome and when. */
async function openInGrace(
  h: Harness,
  timeoutMs: number,
  graceMs: number,
): Promise<{ error?: unknown; at: number }> {
  const dirFh = await h.vfs();
  h.mark();
  const start = h.clock.now();
  h.server.reboot();
  h.clock.setTimer(() => h.server.endGrace(), graceMs);
  const opening = openWithWait(
    (within) =>
      openFile(h.m, {
        dirFh,
        name: "file",
        path: "/vfs/file",
        access: ShareAccess.OPEN4_SHARE_ACCESS_BOTH,
        ...(within === undefined ? {} : { answerWithinMs: within }),
      }),
    { clock: h.clock, timeoutMs },
  );
  try {
    await h.drive(opening, 100, 400_000);
    return { at: h.clock.now() - start };
  } catch (error) {
    return { error, at: h.clock.now() - start };
  }
}

/** When each OPEN was sent (ms after the first), with its answer. */
function opensSent(h: Harness): [number, string][] {
  const opens = h.timeline().filter(([, ops]) => ops.includes("OPEN"));
  return opens.map(([at, ops]) => [at - opens[0]![0], ops]);
}

for (const minor of [0, 1] as const) {
  Deno.test(`4.${minor}: openWithWait() with -w 60 s waits out a 20 s grace period, past the OPEN's own 8 s deadline (RFC 7530 §9.6.2, RFC 8881 §8.4.2.1)`, async () => {
    await using h = await harness(minor, TIMEOUTS);
    const { error, at } = await openInGrace(h, 60_000, 20_000);
    assert.equal(error, undefined, String(error));
    assert.ok(at >= 20_000 && at <= 27_000, `opened at ${at} ms`);
    const sent = opensSent(h);
    assert.ok(sent.some(([t, ops]) => t > 8_000 && ops.endsWith("NFS4ERR_GRACE")), sent.join("\n"));
    assert.equal(h.server.opensOf("/vfs/file").length, 1);
  });

  Deno.test(`4.${minor}: openWithWait() with -w 20 s in a longer grace period fails at the -w deadline, saying the server was in its grace period (RFC 7530 §9.6.2, RFC 8881 §8.4.2.1)`, async () => {
    await using h = await harness(minor, TIMEOUTS);
    const { error, at } = await openInGrace(h, 20_000, 60_000);
    assert.ok(error instanceof Error && error.name === "LockWaitDeadline", String(error));
    assert.equal(
      error.message,
      "the lock was not granted in 20.0 s: the server was in its grace period (NFS4ERR_GRACE)",
    );
    assert.equal(at, 20_000);
    assert.ok(opensSent(h).every(([t]) => t <= 19_900), opensSent(h).join("\n"));
    assert.equal(h.channel.inFlight, 0);
  });
}

Deno.test("4.1: openWithWait() with timeoutMs 0 (lock -n) answers NFS4ERR_GRACE at once (RFC 7530 §9.6.2)", async () => {
  await using h = await harness(1, TIMEOUTS);
  const { error, at } = await openInGrace(h, 0, 60_000);
  assert.ok(error instanceof NfsError && error.status === S.NFS4ERR_GRACE, String(error));
  assert.ok(at <= 100, `answered at ${at} ms`); // the fake clock moves in 100 ms steps
  assert.equal(opensSent(h).filter(([, ops]) => ops.endsWith("NFS4ERR_GRACE")).length, 1);
});
