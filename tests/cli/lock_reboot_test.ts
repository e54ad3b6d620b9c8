/**
 * `nfs4 lock` keeps its lock across a server reboot, against Ganesha on
 * NFSv4.0 and NFSv4.1: the lock lives in the state manager, which reclaims
 * it in the grace period (LOCK with reclaim, RFC 7530 §9.6.2, RFC 8881
 * §8.4.2), so after the reboot another client still finds it held by the
 * same lock owner.
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { conflictLine, heldBy, holdingLine, nfs4, startNfs4 } from "./_lock.ts";

const LEASE = 3;

for (const vers of ["4.0", "4.1"] as const) {
  const v = ["--vers", vers];

  serverTest(
    `nfs4 lock: the lock is reclaimed after a server reboot (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;
      const holder = startNfs4([...v, "--trace", "lock", "--range", "0:10", url]);
      const [, owner] = await holder.waitFor("stderr", holdingLine(url, "exclusive", "0-9"));

      await server.restart();
      await holder.waitFor(
        "stderr",
        / lock +LOCK\(reclaim\) reclaimed +\(\/vfs\/f write 0-9 \S+ -> \S+\)/,
      );

      // Another client: its OPEN and LOCK wait out the grace period (-w;
      // -n would fail at once with NFS4ERR_GRACE), then the LOCK is denied.
      const other = await nfs4([...v, "lock", "-w", "8", "--range", "5:1", url, "--", "true"]);
      assert.equal(other.code, 1, other.stderr);
      assert.match(
        other.stderr,
        conflictLine(url, heldBy("exclusive", "0-9", owner!), "; gave up after \\d+\\.\\d s", {
          mayBeEarlier: true,
        }),
      );

      holder.kill("SIGTERM");
      const ended = await holder.done;
      assert.equal(ended.code, 0, ended.stderr);
      assert.match(ended.stderr, / lock +LOCKU +\(\/vfs\/f write 0-9\)/);
      const free = await nfs4([...v, "lock", "-n", url, "--", "true"]);
      assert.equal(free.code, 0, free.stderr);
    },
    { leaseSeconds: LEASE, graceSeconds: LEASE },
  );
}

for (const vers of ["4.0", "4.1"] as const) {
  const v = ["--vers", vers];

  serverTest(
    `nfs4 lock: a waiter keeps polling across a server reboot and gets the lock (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;
      const holder = startNfs4([...v, "--trace", "lock", url]);
      await holder.waitFor("stderr", holdingLine(url, "exclusive", "0-"));
      const waiter = startNfs4([...v, "--trace", "lock", url, "--", "echo", "got it"]);
      await waiter.waitFor("stderr", /LOCK denied, waiting/);

      await server.restart();
      await holder.waitFor(
        "stderr",
        / lock +LOCK\(reclaim\) reclaimed +\(\/vfs\/f write 0- \S+ -> \S+\)/,
      );
      holder.kill("SIGTERM");
      const released = await holder.done;
      assert.equal(released.code, 0, released.stderr);

      // The waiter's LOCKs wait out the grace period, then one is granted.
      const got = await waiter.done;
      assert.equal(got.code, 0, got.stderr.split("\n").slice(-30).join("\n"));
      assert.equal(got.stdout, "got it\n");
      assert.ok(got.endedAt - released.endedAt < (LEASE + 5) * 1000);
    },
    { leaseSeconds: LEASE, graceSeconds: LEASE },
  );
}
