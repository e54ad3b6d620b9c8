/**
 * `nfs4 lock` losing its lock, against Ganesha with a 3 s lease on NFSv4.0
 * and NFSv4.1: a holder paused (SIGSTOP) past its lease loses the lock to a
 * waiter; when it resumes, its own clock says the lease ran out, the lock
 * is marked lost (never re-taken behind the user's back), and nfs4 says so
 * and exits 125.
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { sleep, startHolder, startNfs4 } from "./_lock.ts";

const LEASE = 3;

for (const vers of ["4.0", "4.1"] as const) {
  const v = ["--vers", vers];

  serverTest(
    `nfs4 lock: a holder paused past its lease loses the lock and says so (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;
      const holder = await startHolder([...v, "lock", url], url, "exclusive", "0-");
      holder.kill("SIGSTOP");
      try {
        const waiter = startNfs4([...v, "lock", url, "--", "sh", "-c", "echo got it; sleep 2"]);
        await waiter.waitFor("stdout", /^got it$/m, (LEASE + 6) * 1000);
        holder.kill("SIGCONT");
        const ended = await holder.done;
        assert.equal(ended.code, 125, ended.stderr);
        // The lease ran out while it was stopped: the state manager marked the lock lost.
        assert.match(
          ended.stderr.split("\n")[1]!,
          new RegExp(
            `^nfs4: lost the lock on ${RegExp.escape(url)}: lock lost: lease ran out locally`,
          ),
        );
        const done = await waiter.done;
        assert.equal(done.code, 0, done.stderr);
      } finally {
        holder.kill("SIGCONT");
        await sleep(0);
      }
    },
    { leaseSeconds: LEASE, graceSeconds: LEASE },
  );

  serverTest(
    `nfs4 lock: COMMAND that ends as nfs4 resumes past its lease does not pass its status off as held (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;
      // COMMAND pauses nfs4 (its parent) past the lease, wakes it and ends
      // at once: nfs4, which tells COMMAND of a loss at once, may learn of
      // the loss (then signals a COMMAND that may be exiting: "while sh
      // runs") or of the exit first ("while sh ran"); either way the
      // loss is said and the status is 125, not COMMAND's.
      const run = startNfs4([
        ...v,
        "lock",
        url,
        "--",
        "sh",
        "-c",
        `kill -STOP $PPID; sleep ${LEASE + 2}; kill -CONT $PPID`,
      ]);
      const ended = await run.done;
      assert.equal(ended.code, 125, ended.stderr);
      assert.match(
        ended.stderr,
        new RegExp(`^nfs4: lost the lock on ${RegExp.escape(url)}( while sh (ran|runs))?: `, "m"),
      );
    },
    { leaseSeconds: LEASE, graceSeconds: LEASE },
  );
}
