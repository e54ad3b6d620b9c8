/**
 * `nfs4 --timeout 2 lock -w 25` against Ganesha on NFSv4.0 and NFSv4.1 while
 * the server restarts into a grace period (12 s) longer than an operation's
 * own deadline (4 × --timeout = 8 s). Nobody reclaims the holder's lock, so
 * non-reclaim LOCKs and OPENs are answered NFS4ERR_GRACE until the grace
 * period ends (RFC 7530 §9.6.2, RFC 8881 §8.4.2), then granted (LOCK: RFC
 * 7530 §16.10, RFC 8881 §18.10). -w is the wait's limit, not --timeout: a
 * waiter that was waiting before the restart, and one started in the grace
 * period (its OPEN refused NFS4ERR_GRACE too), both take their lock after the
 * grace period, where each gave up with NFS4ERR_GRACE 8 s into it
 * (tests/client/lock_wait_recovery_test.ts has the same on a fake clock).
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { type Running, startHolder, startNfs4 } from "./_lock.ts";

const LEASE = 3;
const GRACE = 12;

for (const vers of ["4.0", "4.1"] as const) {
  const v = ["--vers", vers];

  serverTest(
    `nfs4 --timeout 2 lock -w 25 waits out a 12 s grace period, past 4 × --timeout, and takes the lock when it ends: a waiter from before the restart and one started in grace, whose OPEN is refused NFS4ERR_GRACE too (NFSv${vers}, RFC 7530 §9.6.2, RFC 8881 §8.4.2)`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      writeFileSync(join(server.exportDir, "g"), "data\n");
      const held = `${server.url}/vfs/f`;
      const free = `${server.url}/vfs/g`;
      const waiterArgs = (url: string) => [
        ...v,
        "--timeout",
        "2",
        "--trace",
        "lock",
        "-w",
        "25",
        url,
        "--",
        "echo",
        "ran",
      ];
      const holder = await startHolder([...v, "lock", held], held, "exclusive", "0-");
      const running: Running[] = [holder];
      try {
        const waiting = startNfs4(waiterArgs(held));
        running.push(waiting);
        await waiting.waitFor("stderr", /LOCK denied, waiting/);
        // Stopped, not killed: it does not reclaim, and its client owner
        // instance is not handed on to the process started below
        // (lib/state/client_owner.ts), whose RECLAIM_COMPLETE on 4.1 would
        // let Ganesha end the grace period early (tests/cli/lock_grace_test.ts).
        holder.kill("SIGSTOP");
        await server.restart();
        const restarted = performance.now();
        const starting = startNfs4(waiterArgs(free));
        running.push(starting);

        for (
          const [waiter, what] of [[waiting, "waiting"], [starting, "started in grace"]] as const
        ) {
          const ended = await waiter.done;
          assert.equal(ended.code, 0, `${what}: ${ended.stderr}`);
          assert.equal(ended.stdout, "ran\n", what);
          assert.match(ended.stderr, /NFS4ERR_GRACE/, what);
          // Taken after more than an operation's deadline in grace.
          const afterRestart = ended.endedAt - restarted;
          assert.ok(
            afterRestart > 8_000,
            `${what}: took the lock ${afterRestart.toFixed(0)} ms after`,
          );
        }
      } finally {
        for (const child of running) child.kill("SIGKILL");
        await holder.done;
      }
    },
    { leaseSeconds: LEASE, graceSeconds: GRACE },
  );
}
