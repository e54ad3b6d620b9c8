/**
 * `nfs4 lock` keeps its lease while it holds a lock, against Ganesha with a
 * 3 s lease on NFSv4.0 and NFSv4.1: the state manager renews (RENEW or
 * SEQUENCE) at 2/3 of the lease, `--trace` shows it, and after several lease
 * periods another client still finds the lock held by the same owner.
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { conflictLine, heldBy, holdingEvent, nfs4, sleep, startNfs4 } from "./_lock.ts";

const LEASE = 3;

for (const vers of ["4.0", "4.1"] as const) {
  const v = ["--vers", vers];

  serverTest(
    `nfs4 lock: the lease is renewed while the lock is held (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;
      const holder = startNfs4([...v, "--trace=json", "lock", "-s", url]);
      // --trace=json: the holding line is a JSON note event too.
      const [, owner] = await holder.waitFor("stderr", holdingEvent(url, "shared", "0-"));
      await sleep(LEASE * 2 * 1000 + 1000);

      const writer = await nfs4([...v, "lock", "-n", url, "--", "true"]);
      assert.equal(writer.code, 1, writer.stderr);
      assert.match(writer.stderr, conflictLine(url, heldBy("shared", "0-", owner!)));

      holder.kill("SIGINT");
      const ended = await holder.done;
      assert.equal(ended.code, 0, ended.stderr);
      const events = ended.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) =>
        JSON.parse(l) as { cat: string; event: string }
      );
      const renewals = events.filter((e) =>
        e.cat === "lease" && e.event === (vers === "4.0" ? "RENEW ok" : "SEQUENCE ok")
      );
      assert.ok(renewals.length >= 2, `${renewals.length} renewals`);
      // The client ID made at the start is the only one: the lease never ran out.
      assert.equal(events.filter((e) => e.event === "+LEASE_EXPIRED").length, 1);
    },
    { leaseSeconds: LEASE, graceSeconds: LEASE },
  );
}
