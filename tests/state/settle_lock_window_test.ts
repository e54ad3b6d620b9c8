/**
 * The LOCK that settles at close a lock whose first LOCK got no answer
 * (procs.ts settleUnknownLocks) may itself take a lock the server did not
 * hold (the first never ran: a holder the server does not name, here
 * Ganesha's placeholder owner of client ID 0, or another owner's read
 * lock beside which ours may be). When the release window after an
 * interrupt ends before that LOCK's answer, or before its LOCKU's, the
 * lock may stay on the server until the lease ends (RFC 7530 §9.5, RFC
 * 8881 §8.3): it is reported with what is not released
 * (StateManager.notReleased: client.close()'s leftOnServer, the `not
 * released` line), not left unsaid.
 */

import assert from "node:assert/strict";
import type { LockRange } from "../../lib/state/open_state.ts";
import { harness } from "./_harness.ts";
import { lockHolderUnnamed, lockStoppedInFlight } from "./_lock_settle.ts";

const RANGE: LockRange = { type: "write", offset: 0n, length: 10n };

for (const minor of [0, 1] as const) {
  for (const op of ["LOCK", "LOCKU"] as const) {
    Deno.test(`NFSv4.${minor}: the release window ends before the settle's ${op} is answered: the range is reported not released (RFC 7530 §16.10, §16.12; RFC 8881 §18.10)`, async () => {
      await using a = await harness(minor);
      const file = await a.open("file", 3);
      await lockStoppedInFlight(a, file, RANGE);
      a.mark();
      a.m.interrupt(new Error("interrupted (Ctrl-C)"));
      // LOCKT names a holder the server does not name (Ganesha's
      // placeholder owner, client ID 0): the settle sends the LOCK again.
      lockHolderUnnamed(a, RANGE);
      // From the settle's op on, requests wait past the window's end; the
      // server runs them then, and their answers go nowhere.
      a.server.intercept(op === "LOCK" ? "LOCKT" : "LOCK", () => a.channel.hold());
      await a.drive(a.m.shutdown(), 50, 10_000);
      a.channel.release();
      await a.tick(20, 10);
      const ops = a.ops();
      assert.ok(ops.some((o) => o.includes(`PUTFH,${op}`)), ops.join("\n"));
      const left = a.m.notReleased.map((n) => `${n.what}: ${n.why}`);
      assert.ok(
        left.some((l) => l.startsWith(`${op} /vfs/file write 0-9: `)),
        `expected a ${op} /vfs/file write 0-9 entry in\n${left.join("\n")}\n${ops.join("\n")}`,
      );
    });
  }
}
