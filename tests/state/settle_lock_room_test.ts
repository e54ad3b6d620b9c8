/**
 * The LOCK that settles at close a lock whose first LOCK got no answer
 * (procs.ts settleUnknownLocks) is not started in the release window after
 * an interrupt when too little of the window is left for it and its LOCKU
 * (StateManager.releaseEndsAt, SETTLE_LOCK_ROOM_MS): cut off by the
 * window's end, it might be granted all the same and never released, a
 * lock held until the lease ends (RFC 7530 §9.5, RFC 8881 §8.3) that the
 * settle exists to avoid. The range is reported with what is not released,
 * as a cut-off settle's is (settle_lock_window_test.ts); with the whole
 * window left the settle goes on as before. The room is twice the LOCKT's
 * round trip when that is more; a settle not started is not first traced
 * as LOCKing again, and a range LOCKT named as this owner's is one the
 * server holds.
 */

import assert from "node:assert/strict";
import { LockType } from "../../lib/nfs4/constants.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import type { LockRange } from "../../lib/state/open_state.ts";
import { type Harness, harness } from "./_harness.ts";
import { lockHolderUnnamed, lockStoppedInFlight } from "./_lock_settle.ts";

const RANGE: LockRange = { type: "write", offset: 0n, length: 10n };

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
    lockHolderUnnamed(a, RANGE);
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
    lockHolderUnnamed(a, RANGE);
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

/** The lines of the settle, and what is left not released, after a shutdown with `leftMs` of the release window left. */
async function settleWithLeft(
  minor: 0 | 1,
  range: LockRange,
  leftMs: number,
  lockt?: (a: Harness) => void,
): Promise<{ ops: string[]; details: string[]; left: string[] }> {
  await using a = await harness(minor);
  const file = await a.open("file", 3);
  await lockStoppedInFlight(a, file, range);
  a.mark();
  a.m.interrupt(new Error("interrupted (Ctrl-C)"));
  const endsAt = a.m.releaseEndsAt!;
  await a.tick(endsAt - a.clock.now() - leftMs, 50);
  assert.equal(endsAt - a.clock.now(), leftMs);
  lockt?.(a);
  await a.drive(a.m.shutdown(), 10, 10_000);
  return {
    ops: a.ops(),
    details: a.details(["lock"]),
    left: a.m.notReleased.map((n) => `${n.what}: ${n.why}`),
  };
}

for (const minor of [0, 1] as const) {
  Deno.test(`NFSv4.${minor}: LOCKT finds another owner's read lock with 100 ms of the window left: the settle says the LOCK is not sent, and never that it LOCKs again (RFC 7530 §16.11.4; RFC 8881 §18.11.4)`, async () => {
    const readRange: LockRange = { type: "read", offset: 0n, length: 10n };
    const { ops, details, left } = await settleWithLeft(
      minor,
      readRange,
      100,
      (a) =>
        a.server.failNext("LOCKT", S.NFS4ERR_DENIED, {
          detail: {
            offset: 0n,
            length: 10n,
            locktype: LockType.READ_LT,
            owner: { clientid: 999n, owner: new Uint8Array([1]) },
          },
        }),
    );
    assert.ok(!ops.some((o) => SETTLE_LOCK.test(o)), ops.join("\n"));
    assert.ok(
      details.some((d) => d.startsWith("not settled (/vfs/file read 0-9: LOCK not sent: ")),
      details.join("\n"),
    );
    assert.ok(!details.some((d) => d.includes("LOCK again to learn it")), details.join("\n"));
    assert.ok(
      left.some((l) =>
        l.startsWith("LOCK /vfs/file read 0-9: ") &&
        l.endsWith("the server may hold it until the lease ends")
      ),
      left.join("\n"),
    );
  });

  Deno.test(`NFSv4.${minor}: LOCKT names this lock owner with 100 ms of the window left: the range not released is one the server holds, not may hold (RFC 7530 §16.11.4; RFC 8881 §18.11.4)`, async () => {
    const { ops, details, left } = await settleWithLeft(minor, RANGE, 100);
    assert.ok(!ops.some((o) => SETTLE_LOCK.test(o)), ops.join("\n"));
    assert.ok(
      details.some((d) => d.startsWith("not settled (/vfs/file write 0-9: LOCK not sent: ")),
      details.join("\n"),
    );
    assert.ok(
      left.some((l) =>
        l.startsWith("LOCK /vfs/file write 0-9: ") &&
        l.endsWith("the server holds it until the lease ends")
      ),
      left.join("\n"),
    );
  });
}

Deno.test("NFSv4.1: a LOCKT that took 200 ms with 300 ms of the window left: the room is twice its round trip, 400 ms, and the LOCK is not sent (RFC 7530 §16.10; RFC 8881 §18.10, §8.3)", async () => {
  await using a = await harness(1);
  const file = await a.open("file", 3);
  await lockStoppedInFlight(a, file, RANGE);
  a.mark();
  a.m.interrupt(new Error("interrupted (Ctrl-C)"));
  const endsAt = a.m.releaseEndsAt!;
  await a.tick(endsAt - a.clock.now() - 500, 50);
  // The LOCKT waits 200 ms for its answer: 300 ms are left then, more than
  // the least room (250 ms), less than twice that round trip.
  a.channel.hold();
  const closing = a.m.shutdown();
  closing.catch(() => {});
  await a.tick(200, 10);
  assert.equal(a.channel.heldCount, 1);
  a.channel.release();
  await a.drive(closing, 10, 10_000);
  const ops = a.ops();
  assert.ok(ops.some((o) => o.includes("PUTFH,LOCKT")), ops.join("\n"));
  assert.ok(!ops.some((o) => SETTLE_LOCK.test(o)), ops.join("\n"));
  const details = a.details(["lock"]);
  assert.ok(
    details.some((d) =>
      d.startsWith(
        "not settled (/vfs/file write 0-9: LOCK not sent: 300.0 ms of the release window left, " +
          "less than the 400.0 ms a LOCK and its LOCKU need",
      )
    ),
    details.join("\n"),
  );
});
