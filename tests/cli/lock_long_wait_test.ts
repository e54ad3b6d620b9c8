/**
 * `nfs4 lock -w SECONDS` with a wait longer than one runtime timer holds
 * (2^31 - 1 ms, about 24.8 days; -w takes up to a year). Before
 * lib/os/timers.ts the deadline's timer ran after 1 ms (with a
 * TimeoutOverflowWarning on stderr): the first LOCK was stopped in flight
 * and the command gave up "after 0.0 s" on a lock nobody held.
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { nfs4 } from "./_lock.ts";

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `nfs4 lock -w 2592000 (30 days) takes a free lock and runs COMMAND (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;
      const run = await nfs4(["--vers", vers, "lock", "-w", "2592000", url, "--", "echo", "ran"]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "ran\n");
      assert.equal(run.stderr, "");
      // Nothing left held: another process gets the lock at once.
      const after = await nfs4(["--vers", vers, "lock", "-n", url, "--", "true"]);
      assert.equal(after.code, 0, after.stderr);
    },
  );
}
