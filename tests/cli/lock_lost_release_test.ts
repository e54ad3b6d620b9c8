/**
 * What `nfs4 lock -- COMMAND` does once the lock is lost, against Ganesha
 * with a 3 s lease on NFSv4.0 and NFSv4.1:
 *
 * - Through a partition that never ends (the fault proxy stalls both
 *   directions), the release after the loss (LOCKU, CLOSE, DESTROY_*) gets
 *   the short window of a stop: nfs4 exits 125 soon after COMMAND was
 *   signalled, not after each release's whole retry budget (4 × --timeout)
 *   against a server that does not answer. The lease is over by this
 *   client's clock; what the server still holds it frees itself (RFC 7530
 *   §9.6.3, RFC 8881 §8.3).
 * - A holder stopped (SIGSTOP) past its lease while another client took the
 *   lock: at the first look after it resumes, COMMAND is signalled before
 *   the renewal's answer could say anything, and no new client ID is made
 *   (no SETCLIENTID or EXCHANGE_ID, no LEASE_EXPIRED recovery) only to
 *   release nothing.
 * - `lock -w` whose wait was spent in part on an OPEN refused
 *   NFS4ERR_GRACE (RFC 7530 §9.6.2) says it gave up after the whole wait.
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { FaultProxy } from "../_fault_proxy.ts";
import { serverTest } from "../_server.ts";
import { sleep, startHolder, startNfs4 } from "./_lock.ts";

const LEASE = 3;

/** COMMAND: says it runs, and on SIGTERM says so and ends 7. */
const TRAPPING_COMMAND = [
  "sh",
  "-c",
  "echo running; trap 'echo got TERM; kill $!; exit 7' TERM; sleep 60 & wait",
];

for (const vers of ["4.0", "4.1"] as const) {
  const v = ["--vers", vers];

  serverTest(
    `nfs4 lock -- COMMAND: after the lock is lost in a partition that never ends, the release gets the short window of a stop, and nfs4 exits 125 long before a release's retry budget, 4 × --timeout (NFSv${vers}, RFC 7530 §9.6.3, RFC 8881 §8.3)`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      await using proxy = await FaultProxy.start({ target: server, log: () => {} });
      const timeout = 5;
      const holder = startNfs4([
        ...v,
        "--timeout",
        String(timeout),
        "lock",
        `${proxy.url}/vfs/f`,
        "--",
        ...TRAPPING_COMMAND,
      ]);
      try {
        await holder.waitFor("stdout", /^running$/m, 15_000);
        proxy.stall({ direction: "both", seconds: Infinity });
        await holder.waitFor(
          "stderr",
          /lost the lock on \S+ while sh runs: lock lost: lease ran out locally[^\n]*sending it SIGTERM/,
          (LEASE + 4) * 1000,
        );
        await holder.waitFor("stdout", /^got TERM$/m, 5_000);
        // A marker that comes only after a release's retry budget (each of
        // LOCKU and CLOSE had 4 × --timeout before): nfs4 must have ended first.
        const budget = sleep(2 * timeout * 1000).then(() => "the retry budget" as const);
        const first = await Promise.race([holder.done.then(() => "nfs4" as const), budget]);
        assert.equal(first, "nfs4", `nfs4 still releasing:\n${holder.text("stderr")}`);
        const ended = await holder.done;
        assert.equal(ended.code, 125, ended.stderr);
      } finally {
        holder.kill("SIGKILL");
        await holder.done;
      }
    },
    { leaseSeconds: LEASE, graceSeconds: LEASE },
  );

  serverTest(
    `nfs4 lock -- COMMAND stopped past its lease while another client took the lock: at the first look after the resume COMMAND is signalled before the renewal is answered, and no new client ID is made only to release nothing (NFSv${vers}, RFC 7530 §9.6.3, RFC 8881 §8.3)`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;
      const holder = startNfs4([...v, "--trace", "lock", url, "--", ...TRAPPING_COMMAND]);
      try {
        await holder.waitFor("stdout", /^running$/m, 15_000);
        // nfs4 alone is stopped; COMMAND runs on.
        holder.kill("SIGSTOP");
        const waiter = startNfs4([...v, "lock", url, "--", "echo", "other got it"]);
        const other = await waiter.done;
        assert.equal(other.code, 0, other.stderr);
        assert.match(other.stdout, /other got it/);
        const stoppedTrace = holder.text("stderr").length;
        holder.kill("SIGCONT");
        const ended = await holder.done;
        assert.equal(ended.code, 125, ended.stderr);
        assert.match(ended.stdout, /^got TERM$/m);
        const after = ended.stderr.slice(stoppedTrace);
        const said = after.search(/^nfs4: lost the lock on \S+ while sh runs: [^\n]*SIGTERM$/m);
        assert.ok(said >= 0, after);
        // Nothing the server answered after the resume came before it.
        const answered = after.search(/RENEW|SEQUENCE|EXPIRED|STALE_CLIENTID/);
        assert.ok(
          answered === -1 || said < answered,
          `signalled after the server answered:\n${after}`,
        );
        // Nor was a client ID made again for the releases.
        assert.doesNotMatch(after, /LEASE_EXPIRED start|SETCLIENTID|EXCHANGE_ID/, after);
      } finally {
        holder.kill("SIGCONT");
        holder.kill("SIGKILL");
        await holder.done;
      }
    },
    { leaseSeconds: LEASE, graceSeconds: LEASE },
  );
}

serverTest(
  "nfs4 lock -w says it gave up after the whole wait, the time its OPEN was refused NFS4ERR_GRACE included (NFSv4.0, RFC 7530 §9.6.2)",
  async (server) => {
    writeFileSync(join(server.exportDir, "f"), "data\n");
    const url = `${server.url}/vfs/f`;
    const v = ["--vers", "4.0"];
    // The holder reclaims its lock in the grace period after the restart
    // (4.0 has no RECLAIM_COMPLETE to end it early); the waiter's OPEN is
    // refused NFS4ERR_GRACE until it ends, then its LOCK is denied.
    const holder = await startHolder([...v, "lock", url], url, "exclusive", "0-");
    try {
      await server.restart();
      const wait = 8;
      const waiter = startNfs4([...v, "--trace", "lock", "-w", String(wait), url, "--", "true"]);
      const ended = await waiter.done;
      assert.equal(ended.code, 1, ended.stderr);
      assert.match(ended.stderr, /OPEN[^\n]*NFS4ERR_GRACE/);
      const gaveUp = /: locked: [^\n]*; gave up after (\d+\.\d) s \(NFS4ERR_DENIED\)$/m.exec(
        ended.stderr,
      );
      assert.ok(gaveUp, ended.stderr);
      // The wait -w bounded ran to its end, OPEN included.
      assert.ok(Number(gaveUp[1]) >= wait - 0.1, gaveUp[0]);
    } finally {
      holder.kill("SIGTERM");
      await holder.done;
    }
  },
  { leaseSeconds: LEASE, graceSeconds: 5 },
);
