/**
 * `nfs4 lock -w` while the server is in its grace period after a reboot,
 * against Ganesha on NFSv4.0 and NFSv4.1. The holder died and the server
 * rebooted, so nobody reclaims the lock: the waiter's LOCKs are answered
 * NFS4ERR_GRACE until the grace period ends (RFC 7530 §9.6.2). `-w` must
 * still end the wait on time, as it does for a kernel client (flock -w's
 * alarm interrupts the blocked fcntl).
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { startHolder, startNfs4 } from "./_lock.ts";

const LEASE = 3;
const GRACE = 12;

for (const vers of ["4.0", "4.1"] as const) {
  const v = ["--vers", vers];

  serverTest(
    `nfs4 lock -w gives up on time while the server is in grace (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;
      const holder = await startHolder([...v, "lock", url], url, "exclusive", "0-");
      const waiter = startNfs4([...v, "--trace", "lock", "-w", "4", url, "--", "echo", "ran"]);
      await waiter.waitFor("stderr", /LOCK denied, waiting/);
      holder.kill("SIGKILL");
      await holder.done;
      await server.restart();

      const ended = await waiter.done;
      assert.ok(ended.ms < 4_000 + 3_000, `-w 4 ended after ${ended.ms.toFixed(0)} ms`);
      assert.equal(ended.code, 1);
      assert.equal(ended.stdout, "");
      assert.match(ended.stderr, /^nfs4: .*grace/m);
    },
    { leaseSeconds: LEASE, graceSeconds: GRACE },
  );
}

for (const vers of ["4.0", "4.1"] as const) {
  const v = ["--vers", vers];

  serverTest(
    `nfs4 lock -n and -w started while the server is in grace: the OPEN answered NFS4ERR_GRACE is bounded by them too (-n at once, -w within its seconds), where it was waited out for the whole grace period (NFSv${vers}, RFC 7530 §9.6.2)`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;
      // A holder that is stopped, not killed: nobody reclaims, and the
      // grace period runs its course. Killed, it would hand its client
      // owner instance on (lib/state/client_owner.ts) to the next nfs4
      // process, whose RECLAIM_COMPLETE on 4.1 lets Ganesha end the grace
      // period early (every client it knew has reclaimed).
      const holder = await startHolder([...v, "lock", url], url, "exclusive", "0-");
      holder.kill("SIGSTOP");
      try {
        await server.restart();
        await lockInGrace(v, url);
      } finally {
        holder.kill("SIGKILL");
        await holder.done;
      }
    },
    { leaseSeconds: LEASE, graceSeconds: GRACE },
  );
}

/** `lock -n`, then `lock -w 2`, of `url` in a grace period: both refused NFS4ERR_GRACE in time. */
async function lockInGrace(v: readonly string[], url: string): Promise<void> {
  const started = performance.now();
  const nonblock = await startNfs4([...v, "lock", "-n", url, "--", "echo", "ran"]).done;
  assert.equal(nonblock.code, 1, nonblock.stderr);
  assert.equal(nonblock.stdout, "");
  assert.match(nonblock.stderr, /NFS4ERR_GRACE/);
  const waited = await startNfs4([...v, "lock", "-w", "2", url, "--", "echo", "ran"]).done;
  assert.ok(waited.ms < 2_000 + 3_000, `-w 2 ended after ${waited.ms.toFixed(0)} ms`);
  assert.equal(waited.code, 1, waited.stderr);
  assert.match(waited.stderr, /NFS4ERR_GRACE/);
  assert.ok(performance.now() - started < GRACE * 1000, "both ended inside the grace period");
}

serverTest(
  "nfs4 --vers 4.0 renew-watch --open --lock --duration 3 started while the server is in grace: the OPEN and LOCK are bounded by --duration (NFS4ERR_GRACE within it), where they were waited out for the whole grace period (RFC 7530 §9.6.2)",
  async (server) => {
    writeFileSync(join(server.exportDir, "f"), "data\n");
    const url = `${server.url}/vfs/f`;
    // Stopped, not killed: its owner instance is not handed on (see above).
    const holder = await startHolder(["--vers", "4.0", "lock", url], url, "exclusive", "0-");
    holder.kill("SIGSTOP");
    try {
      await server.restart();
      await watchInGrace(url);
    } finally {
      holder.kill("SIGKILL");
      await holder.done;
    }
  },
  { leaseSeconds: LEASE, graceSeconds: GRACE },
);

/** renew-watch --open --lock --duration 3 of `url` in a grace period: NFS4ERR_GRACE within it. */
async function watchInGrace(url: string): Promise<void> {
  const watch = await startNfs4([
    "--vers",
    "4.0",
    "renew-watch",
    "--open",
    "--lock",
    "--duration",
    "3",
    url,
  ])
    .done;
  assert.ok(watch.ms < 3_000 + 3_000, `--duration 3 ended after ${watch.ms.toFixed(0)} ms`);
  assert.equal(watch.code, 1, watch.stderr);
  assert.match(watch.stderr, /NFS4ERR_GRACE/);
}
