/**
 * `nfs4 lock` through a network partition longer than the lease (issue 15
 * items 1 and 2), with the fault proxy in front of Ganesha (3 s lease), on
 * 4.0 and 4.1: a second client takes the lock in the gap. The first reports
 * the loss as soon as its own clock says the lease ran out, signals COMMAND
 * and exits 125; with --reacquire it takes the lock again once it is free
 * and says for how long it was not held.
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { FaultProxy } from "../_fault_proxy.ts";
import { serverTest } from "../_server.ts";
import { startNfs4 } from "./_lock.ts";

const LEASE = 3;

for (const vers of ["4.0", "4.1"] as const) {
  const v = ["--vers", vers, "--timeout", "2"];

  serverTest(
    `nfs4 lock -- COMMAND through a partition longer than the lease: loss reported at once, COMMAND signalled, exit 125, while another client held the lock (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      await using proxy = await FaultProxy.start({ target: server, log: () => {} });
      const holder = startNfs4([
        ...v,
        "lock",
        `${proxy.url}/vfs/f`,
        "--",
        "sh",
        "-c",
        "echo running; trap 'echo got TERM; kill $!; exit 7' TERM; sleep 60 & wait",
      ]);
      await holder.waitFor("stdout", /^running$/m, 15_000);
      const cut = performance.now();
      proxy.stall({ direction: "both", seconds: Infinity });
      // The other client, straight to the server, waits for the lock.
      const other = startNfs4([
        ...v,
        "lock",
        "-w",
        "20",
        `${server.url}/vfs/f`,
        "--",
        "echo",
        "other got it",
      ]);
      const lost = await holder.waitFor(
        "stderr",
        /lost the lock on \S+ while sh runs: lock lost: lease ran out locally[^\n]*sending it SIGTERM/,
        (LEASE + 4) * 1000,
      );
      const lostAfter = (performance.now() - cut) / 1000;
      assert.ok(lostAfter < LEASE + 2, `reported ${lostAfter.toFixed(1)} s into the partition`);
      assert.ok(lost);
      await holder.waitFor("stdout", /^got TERM$/m, 5_000);
      const otherEnded = await other.done;
      assert.equal(otherEnded.code, 0, otherEnded.stderr);
      assert.match(otherEnded.stdout, /other got it/);
      proxy.resume();
      const ended = await holder.done;
      assert.equal(ended.code, 125, ended.stderr);
    },
    { leaseSeconds: LEASE, graceSeconds: LEASE },
  );

  serverTest(
    `nfs4 lock --reacquire through a partition: the lock is taken again and the gap is reported (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      await using proxy = await FaultProxy.start({ target: server, log: () => {} });
      const holder = startNfs4([
        ...v,
        "lock",
        "--reacquire",
        `${proxy.url}/vfs/f`,
        "--",
        "sh",
        "-c",
        "echo running; sleep 12; echo done",
      ]);
      await holder.waitFor("stdout", /^running$/m, 15_000);
      proxy.stall({ direction: "both", seconds: Infinity });
      await new Promise((r) => setTimeout(r, (LEASE * 2 + 1) * 1000));
      proxy.resume();
      await holder.waitFor(
        "stderr",
        /re-acquired the lock on \S+; \S+: not held from \d+\.\d+ s to \d+\.\d+ s/,
        15_000,
      );
      const ended = await holder.done;
      assert.equal(ended.code, 0, ended.stderr);
      assert.match(ended.stdout, /^done$/m, "COMMAND was not signalled");
    },
    { leaseSeconds: LEASE, graceSeconds: LEASE },
  );
}
