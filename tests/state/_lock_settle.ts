/**
 * A first LOCK stopped in flight by its caller's deadline, which the
 * server runs all the same: the lock whose answer never came, that the
 * release settles at close (procs.ts settleUnknownLocks). Shared by the
 * settle tests (read_lock_settle_test.ts, settle_lock_window_test.ts,
 * settle_lock_room_test.ts), with the LOCKT answer that makes the settle
 * LOCK again.
 * @module
 */

import assert from "node:assert/strict";
import { LockType } from "../../lib/nfs4/constants.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
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

/**
 * The next LOCKT of `range` names a holder the server does not name
 * (Ganesha's placeholder owner, client ID 0): the settle sends the LOCK
 * again to learn it.
 */
export function lockHolderUnnamed(h: Harness, range: LockRange): void {
  h.server.failNext("LOCKT", S.NFS4ERR_DENIED, {
    detail: {
      offset: range.offset,
      length: range.length,
      locktype: range.type === "read" ? LockType.READ_LT : LockType.WRITE_LT,
      owner: { clientid: 0n, owner: new Uint8Array() },
    },
  });
}
