/**
 * `nfs4 renew-watch` tells why a lease ran out by what the state manager
 * saw, not by a guess: renewals sent to a server that went silent are "no
 * renewal answered for N s … last renewal: renewal failed: <why>", never
 * "(process paused?)" (RFC 7530 §9.6.3, RFC 8881 §8.3). A process that
 * really did not run is told by its late timer (renew_watch_ganesha_test).
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { FaultProxy } from "../_fault_proxy.ts";
import { startNfs4 } from "./_lock.ts";

const LEASE = 3;

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `renew-watch --open: a server gone silent makes the lease run out 'no renewal answered … last renewal: renewal failed: …', not '(process paused?)' (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "watched"), "watched file\n");
      await using proxy = await FaultProxy.start({ target: server, log: () => {} });
      const watch = startNfs4([
        "--vers",
        vers,
        "--timeout",
        "1",
        "renew-watch",
        "--json",
        "--open",
        "--duration",
        "12",
        `${proxy.url}/vfs/watched`,
      ]);
      await watch.waitFor("stdout", /"event":"watch"/);
      proxy.setMode("silent");
      const ended = await watch.done;
      const events = ended.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) =>
        JSON.parse(l) as {
          event: string;
          detail?: string;
          lastRenewal?: string | null;
          timerLateMs?: number;
        }
      );
      const ranOut = events.filter((e) => e.event === "lease ran out locally");
      assert.ok(ranOut.length >= 1, `${ended.stdout}\n${ended.stderr}`);
      for (const e of ranOut) {
        assert.doesNotMatch(String(e.detail), /paused/);
        assert.match(
          String(e.detail),
          /^no renewal answered for [0-9.]+ m?s with a 3 s lease; last renewal: (renewal failed: .*(not responding|timed out)|connection lost)/,
        );
        assert.equal(typeof e.lastRenewal, "string");
        assert.equal(e.timerLateMs, undefined, "the process ran all along");
      }
      assert.equal(ended.code, 1, ended.stderr);
    },
    { leaseSeconds: LEASE, graceSeconds: LEASE },
  );
}
