/**
 * The per-operation deadline (StateManagerOptions.recoveryTimeoutMs, 4 ×
 * `--timeout` in the CLI: README "Deadlines and signals") bounds the waits
 * run() makes itself: waiting out NFS4ERR_DELAY or NFS4ERR_GRACE (RFC 7530
 * §13.1.1.3, §9.6.2; RFC 8881 §15.1.1.3, §8.4.2.1) and the backoff after a
 * recovery that did not help. The last wait is cut to end before the
 * deadline, with room for the request after it to be answered; with no room
 * left the status is the answer. (The last wait was a whole backoff, up to
 * 15 s, past it: `--timeout 2` failed after 12.7 s.)
 */

import assert from "node:assert/strict";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { putfh } from "../../lib/nfs4/ops/putfh.ts";
import { remove } from "../../lib/nfs4/ops/remove.ts";
import { type Harness, harness } from "./_harness.ts";

/** `--timeout 2`: each call 2 s, each operation 8 s. */
const TIMEOUTS = { callTimeoutMs: 2_000, recoveryTimeoutMs: 8_000 } as const;

/** REMOVE of /vfs/file through run(); resolves with the time it failed at (fake clock), or throws. */
async function removeFails(h: Harness): Promise<{ error: NfsError; at: number }> {
  const dir = await h.vfs();
  h.mark();
  const start = h.clock.now();
  const removing = h.m.run(() => [putfh(dir), remove("file")] as const);
  const error = await h.drive(removing, 50, 60_000).then(
    () => assert.fail("the REMOVE succeeded"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof NfsError, String(error));
  return { error, at: h.clock.now() - start };
}

Deno.test("4.1: REMOVE answered NFS4ERR_DELAY every time fails by its 8 s deadline, the last wait cut to 1.6 s, not 6.4 s past it (RFC 8881 §15.1.1.3)", async () => {
  await using h = await harness(1, { ...TIMEOUTS, leaseTime: 90 });
  h.server.failNext("REMOVE", S.NFS4ERR_DELAY, { times: 1000 });
  const { error, at } = await removeFails(h);
  assert.equal(error.status, S.NFS4ERR_DELAY);
  assert.ok(at <= 8_000, `failed at ${at} ms`);
  assert.deepEqual(h.details(["retry"]), [
    "REMOVE -> NFS4ERR_DELAY (waiting 100.0 ms)",
    "REMOVE -> NFS4ERR_DELAY (waiting 200.0 ms)",
    "REMOVE -> NFS4ERR_DELAY (waiting 400.0 ms)",
    "REMOVE -> NFS4ERR_DELAY (waiting 800.0 ms)",
    "REMOVE -> NFS4ERR_DELAY (waiting 1.60 s)",
    "REMOVE -> NFS4ERR_DELAY (waiting 3.20 s)",
    // 6.3 s in: 1.6 s left before the deadline, less the room for an answer.
    "REMOVE -> NFS4ERR_DELAY (waiting 1.60 s)",
    "REMOVE -> NFS4ERR_DELAY (no room before the operation's deadline: the answer)",
  ]);
  assert.deepEqual(h.timeline().map(([t]) => t), [0, 100, 300, 700, 1500, 3100, 6300, 7900]);
  assert.deepEqual(h.steps(), []);
});

Deno.test("4.0: REMOVE answered NFS4ERR_GRACE (a server refusing changes in its grace period) fails by its deadline too (RFC 7530 §9.6.2)", async () => {
  await using h = await harness(0, { ...TIMEOUTS, leaseTime: 90 });
  h.server.failNext("REMOVE", S.NFS4ERR_GRACE, { times: 1000 });
  const { error, at } = await removeFails(h);
  assert.equal(error.status, S.NFS4ERR_GRACE);
  assert.ok(at <= 8_000, `failed at ${at} ms`);
  const waits = h.details(["retry"]);
  assert.equal(waits.at(-2), "REMOVE -> NFS4ERR_GRACE (waiting 1.60 s)");
  assert.equal(
    waits.at(-1),
    "REMOVE -> NFS4ERR_GRACE (no room before the operation's deadline: the answer)",
  );
});

Deno.test("4.1: the backoff after a recovery that did not help ends before the deadline too: SEQUENCE answered NFS4ERR_BADSESSION after every reset fails by 8 s (RFC 8881 §2.10.6)", async () => {
  await using h = await harness(1, TIMEOUTS);
  const file = await h.open();
  h.mark();
  h.server.failNext("SEQUENCE", S.NFS4ERR_BADSESSION, { times: 1000 });
  const start = h.clock.now();
  const error = await h.drive(h.read(file), 50, 60_000).then(
    () => assert.fail("the READ succeeded"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof NfsError, String(error));
  assert.equal(error.status, S.NFS4ERR_BADSESSION);
  const at = h.clock.now() - start;
  assert.ok(at <= 8_000, `failed at ${at} ms`);
  // Each try was followed by a session reset; the waits between them grew
  // 0.1, 0.2, ... 3.2 s, and the last was cut to what the deadline left.
  const reads = h.timeline().filter(([, ops]) => ops.startsWith("SEQUENCE,PUTFH,READ"));
  assert.deepEqual(reads.map(([t]) => t), [0, 0, 100, 300, 700, 1500, 3100, 6300, 7900]);
});
