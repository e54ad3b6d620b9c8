/**
 * The LOCK that settles at close a lock whose first LOCK got no answer
 * (procs.ts settleUnknownLocks) is not started in the release window after
 * an interrupt when too little of the window is left for it and its LOCKU
 * (StateManager.releaseEndsAt, SETTLE_LOCK_ROOM_MS): cut off by the
 * window's end, it might be granted all the same and never released, a
 * lock held until the lease ends (RFC 7530 §9.5, RFC 8881 §8.3) that the
 * settle exists to avoid. The range is reported with what is not released,
 * as a cut-off settle's is (settle_lock_window_test.ts); with the whole
 * window left the settle goes on as before.
 */

import assert from "node:assert/strict";
import { LockType } from "../../lib/nfs4/constants.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import type { LockRange } from "../../lib/state/open_state.ts";
import { type Harness, harness } from "./_harness.ts";
import { lockStoppedInFlight } from "./_lock_settle.ts";

const RANGE: LockRange = { type: "write", offset: 0n, length: 10n };

/** LOCKT names a holder the server does not name (Ganesha's placeholder, client ID 0): the settle would LOCK again. */
function lockHolderUnnamed(h: Harness): void {
  h.server.failNext("LOCKT", S.NFS4ERR_DENIED, {
    detail: {
      offset: 0n,
      length: 10n,
      locktype: LockType.WRITE_LT,
      owner: { clientid: 0n, owner: new Uint8Array() },
    },
  });
}

/** The settle's own LOCK (not the LOCKT before it). */
const SETTLE_LOCK = /PUTFH,LOCK( |$)/;

for (const minor of [0, 1] as const) {
  Deno.test(`NFSv4.${minor}: with 100 ms of the release window left, the settle sends no LOCK and reports the range not released (RFC 7530 §16.10, §9.5; RFC 8881 §18.10, §8.3)`, async () => {
    await using a = await harness(minor);
    const file = await a.open("file", 3);
    await lockStoppedInFlight(a, file, RANGE);
    a.mark();
    a.m.interrupt(new Error("interrupted (Ctrl-C)"));
    const endsAt = a.m.releaseEndsAt;
    assert.ok(endsAt !== undefined, "the interrupt sets when the release window ends");
    await a.tick(endsAt - a.clock.now() - 100, 50);
    assert.equal(endsAt - a.clock.now(), 100);
    lockHolderUnnamed(a);
    await a.drive(a.m.shutdown(), 10, 10_000);
    const ops = a.ops();
    assert.ok(ops.some((o) => o.includes("PUTFH,LOCKT")), ops.join("\n"));
    assert.ok(!ops.some((o) => SETTLE_LOCK.test(o)), ops.join("\n"));
    const details = a.details(["lock"]);
    assert.ok(
      details.some((d) =>
        d.startsWith(
          "not settled (/vfs/file write 0-9: LOCK not sent: 100.0 ms of the release window left",
        )
      ),
      details.join("\n"),
    );
    const left = a.m.notReleased.map((n) => `${n.what}: ${n.why}`);
    assert.ok(
      left.some((l) => l.startsWith("LOCK /vfs/file write 0-9: ")),
      `expected a LOCK /vfs/file write 0-9 entry in\n${left.join("\n")}\n${ops.join("\n")}`,
    );
  });

  Deno.test(`NFSv4.${minor}: with the whole release window left, the settle's LOCK and LOCKU go and nothing is left (RFC 7530 §16.10, §16.12; RFC 8881 §18.10, §18.12)`, async () => {
    await using a = await harness(minor);
    const file = await a.open("file", 3);
    await lockStoppedInFlight(a, file, RANGE);
    a.mark();
    a.m.interrupt(new Error("interrupted (Ctrl-C)"));
    lockHolderUnnamed(a);
    await a.drive(a.m.shutdown(), 10, 10_000);
    const ops = a.ops();
    assert.ok(ops.some((o) => SETTLE_LOCK.test(o)), ops.join("\n"));
    assert.ok(ops.some((o) => o.includes("PUTFH,LOCKU")), ops.join("\n"));
    assert.equal(a.server.locksOf("/vfs/file").length, 0, ops.join("\n"));
    assert.deepEqual(a.m.notReleased, []);
  });
}

Deno.test("no release window before an interrupt; a second interrupt ends it at once", async () => {
  await using a = await harness(1);
  assert.equal(a.m.releaseEndsAt, undefined);
  a.m.interrupt(new Error("interrupted (Ctrl-C)"));
  assert.equal(a.m.releaseEndsAt, a.clock.now() + 1_500);
  await a.tick(200, 100);
  a.m.interrupt(new Error("interrupted again"));
  assert.equal(a.m.releaseEndsAt, a.clock.now());
});
