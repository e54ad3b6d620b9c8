/**
 * A first LOCK whose answer never came, against NFS-Ganesha behind a fault
 * proxy that drops the LOCK's reply: the server granted the lock, and the
 * caller's deadline (`lock -w`'s signal) stopped the LOCK in flight. The
 * lock owner and the range stay known (lib/state/files.ts lockFile), and
 * the file's close settles them before its CLOSE (lib/state/procs.ts
 * settleUnknownLocks): LOCKT by another owner of the client finds this
 * owner's lock, the same LOCK again under the same owner learns its
 * stateid (a lock owner's own locks never conflict with its request, RFC
 * 7530 §16.10.5, RFC 8881 §18.10.4), LOCKU releases it, and the CLOSE is
 * not refused NFS4ERR_LOCKS_HELD. Nothing is left locked on the server:
 * another client takes the lock at once, not after the lease.
 */

import assert from "node:assert/strict";
import { Nfs4Client, type TraceEvent } from "../../mod.ts";
import { FaultProxy } from "../_fault_proxy.ts";
import { serverTest } from "../_server.ts";

const RANGE = { type: "write", offset: 0n, length: 100n } as const;

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `Nfs4Client --vers ${vers}: a first LOCK stopped in flight by its deadline after Ganesha granted it (its reply lost) is settled and unlocked at close: no NFS4ERR_LOCKS_HELD, and another client locks at once (RFC 7530 §16.10.5, §16.2)`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/f`, "data\n");
      await using proxy = await FaultProxy.start({ target: server, log: () => {} });
      const events: TraceEvent[] = [];
      const client = await Nfs4Client.connect({
        host: "127.0.0.1",
        port: proxy.port,
        version: vers,
        uid: 0,
        gid: 0,
        clientId: `nfs4-lock-unknown-${crypto.randomUUID()}`,
        onTrace: (e) => events.push(e),
      });
      const text = () => events.map((e) => `${e.category} ${e.event} ${e.detail ?? ""}`).join("\n");
      let other: Nfs4Client | undefined;
      try {
        const file = await client.open("/vfs/f", { access: "write" });
        proxy.dropReply("LOCK");
        const deadline = new AbortController();
        const locking = file.lock(RANGE, { signal: deadline.signal });
        while (proxy.opCount("LOCK") < 1) await new Promise((r) => setTimeout(r, 5));
        // The server has the LOCK; give it time to answer (the answer is dropped).
        await new Promise((r) => setTimeout(r, 300));
        deadline.abort(new Error("lock -w: gave up"));
        await assert.rejects(locking, /gave up/);
        await file.close();
        await client.close();
        assert.equal(client.leftOnServer, undefined, text());
        assert.ok(!events.some((e) => e.event === "CLOSE -> NFS4ERR_LOCKS_HELD"), text());
        assert.ok(events.some((e) => e.event === "settled: held"), text());
        assert.ok(events.some((e) => e.event === "LOCKU"), text());
        // Nothing held on the server: another client locks the range at once.
        other = await Nfs4Client.connect({
          host: "127.0.0.1",
          port: server.port,
          version: vers,
          uid: 0,
          gid: 0,
          clientId: `nfs4-lock-unknown-other-${crypto.randomUUID()}`,
        });
        const theirs = await other.open("/vfs/f", { access: "write" });
        await theirs.lock(RANGE, { noWait: true });
        await theirs.close();
      } finally {
        await other?.close();
        await client.close();
      }
    },
  );
}
