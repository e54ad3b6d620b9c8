/**
 * `const p = f.lock(r); await f.close(); await p;` against NFS-Ganesha:
 * close() called while the handle's own LOCK is on its way. The server
 * refuses a CLOSE while the open holds a lock (RFC 7530 §16.2.4, RFC 8881
 * §18.2.4: NFS4ERR_LOCKS_HELD); a CLOSE sent before the LOCK's grant was
 * known was refused so, the client forgot the open all the same, and the
 * open and the lock stayed on the server: the program's next lock of the
 * range was refused by its own leaked lock, and another client's OPEN
 * until the lease ended. The close waits for the LOCK (lib/state/files.ts
 * closeFile), unlocks what it granted and CLOSEs: nothing is left.
 */

import assert from "node:assert/strict";
import { FileClosedError, NFS4_UINT64_MAX, Nfs4Client, type TraceEvent } from "../../mod.ts";
import { serverTest } from "../_server.ts";

const RANGE = { type: "write", offset: 0n, length: 10n } as const;

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `Nfs4Client --vers ${vers}: close() while the handle's own LOCK is in flight leaves nothing on the server: the range locks again through a new handle, and another client opens deny both and locks at once (RFC 7530 §16.2.4, RFC 8881 §18.2.4)`,
    async (server) => {
      await Deno.writeFile(`${server.exportDir}/f`, new Uint8Array(100));
      const events: TraceEvent[] = [];
      const connect = (label: string, onTrace?: (e: TraceEvent) => void) =>
        Nfs4Client.connect({
          host: "127.0.0.1",
          port: server.port,
          version: vers,
          uid: 0,
          gid: 0,
          clientId: `nfs4-${label}-${crypto.randomUUID()}`,
          ...(onTrace ? { onTrace } : {}),
        });
      const text = () => events.map((e) => `${e.category} ${e.event} ${e.detail ?? ""}`).join("\n");
      const client = await connect("close-lock-in-flight", (e) => events.push(e));
      let other: Nfs4Client | undefined;
      try {
        const file = await client.open("/vfs/f", { access: "both" });
        const locking = file.lock(RANGE).then(() => undefined, (e: unknown) => e);
        await file.close();
        const locked = await locking;
        // Granted (then released by the close), or refused as closed.
        assert.ok(locked === undefined || locked instanceof FileClosedError, String(locked));
        // The same program locks the range again through a new handle.
        const again = await client.open("/vfs/f", { access: "both" });
        await again.lock(RANGE, { noWait: true });
        await again.close();
        await client.close();
        assert.equal(client.leftOnServer, undefined, text());
        assert.ok(!events.some((e) => e.event.includes("LOCKS_HELD")), text());
        assert.ok(!events.some((e) => e.event === "DESTROY_CLIENTID not sent"), text());
        // Nothing held on the server: another client opens deny both and
        // takes the whole file at once, not after the lease.
        other = await connect("close-lock-in-flight-other");
        const theirs = await other.open("/vfs/f", { access: "both", deny: "both" });
        await theirs.lock({ type: "write", offset: 0n, length: NFS4_UINT64_MAX }, { noWait: true });
        await theirs.close();
      } finally {
        await other?.close();
        await client.close();
      }
    },
  );
}
