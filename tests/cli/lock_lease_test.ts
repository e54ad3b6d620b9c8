/**
 * `nfs4 lock` and the lease, against Ganesha with a 3 s lease on NFSv4.0 and
 * NFSv4.1: a holder killed with SIGKILL sends nothing, so the server keeps
 * its lock until the lease expires (RFC 7530 §9.5, §9.6.3); then a waiter
 * gets it.
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { probeHolder, startHolder, startNfs4 } from "./_lock.ts";

const LEASE = 3;

for (const vers of ["4.0", "4.1"] as const) {
  const v = ["--vers", vers];

  serverTest(
    `nfs4 lock: a holder killed with SIGKILL keeps its lock until its lease expires (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;
      const holder = await startHolder([...v, "lock", url], url, "exclusive", "0-");
      const waiter = startNfs4([...v, "--trace", "lock", url, "--", "echo", "got it"]);
      await waiter.waitFor("stderr", /LOCK denied, waiting/);

      holder.kill("SIGKILL");
      const killedAt = performance.now();
      const killed = await holder.done;
      assert.equal(killed.signal, "SIGKILL");
      // Nothing was released: the server still has the dead process's lock.
      const still = await probeHolder(server, vers, "/vfs/f");
      assert.equal(still?.owner, holder.owner, "the lock outlives its process");
      assert.equal(waiter.text("stdout"), "");

      const got = await waiter.done;
      const after = got.endedAt - killedAt;
      assert.equal(got.code, 0, got.stderr);
      assert.equal(got.stdout, "got it\n");
      // The holder renewed at most 2/3 of a lease before it died, so its lease
      // ran for at least a third of one more; the waiter polls at most 2 s apart.
      assert.ok(after >= (LEASE * 1000) / 3, `granted ${after.toFixed(0)} ms after SIGKILL`);
      assert.ok(after <= (LEASE + 5) * 1000, `granted ${after.toFixed(0)} ms after SIGKILL`);
    },
    { leaseSeconds: LEASE, graceSeconds: LEASE },
  );
}
