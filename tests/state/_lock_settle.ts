/**
 * A first LOCK stopped in flight by its caller's deadline, which the
 * server runs all the same: the lock whose answer never came, that the
 * release settles at close (procs.ts settleUnknownLocks). Shared by the
 * settle tests (read_lock_settle_test.ts, settle_lock_window_test.ts).
 * @module
 */

import assert from "node:assert/strict";
import { lockFile } from "../../lib/state/files.ts";
import type { LockRange, OpenState } from "../../lib/state/open_state.ts";
import type { Harness } from "./_harness.ts";

/** A LOCK of `range` that `lock -w`'s deadline stops in flight, and that the server runs. */
export async function lockStoppedInFlight(
  h: Harness,
  file: OpenState,
  range: LockRange,
): Promise<void> {
  const deadline = new AbortController();
  h.channel.hold();
  const locking = lockFile(h.m, file, range, { signal: deadline.signal });
  locking.catch(() => {});
  await h.tick(20, 10);
  deadline.abort(new Error("lock -w: gave up"));
  await assert.rejects(h.drive(locking, 10), /gave up/);
  h.channel.release();
  await h.tick(20, 10);
}
