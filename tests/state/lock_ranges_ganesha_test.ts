/**
 * Against NFS-Ganesha, on NFSv4.0 and NFSv4.1 (audit a3, F5): a client
 * locks and then releases its locks with a covering unlock and with an
 * unlock of a downgraded range; it holds nothing. After a server restart
 * it reclaims what it holds (RFC 7530 §9.6.2, RFC 8881 §8.4.2.1), that is
 * nothing: another client takes an exclusive lock over the whole file, and
 * describeState() lists no ranges. Before, the ranges as asked were kept
 * (`write 0-99`, `read 200-299`) and reclaimed, locks the program had
 * released, and the other client was refused (NFS4ERR_DENIED).
 */

import assert from "node:assert/strict";
import { Nfs4Client, type TraceEvent } from "../../mod.ts";
import { filteredSink, formatTraceText } from "../../lib/client/trace.ts";
import { serverTest } from "../_server.ts";

const LEASE = 3;
const EOF = 0xffff_ffff_ffff_ffffn;

function connect(
  port: number,
  version: "4.0" | "4.1",
  name: string,
  onTrace?: (e: TraceEvent) => void,
): Promise<Nfs4Client> {
  return Nfs4Client.connect({
    host: "127.0.0.1",
    port,
    version,
    uid: 0,
    gid: 0,
    timeoutMs: 2_000,
    recoveryTimeoutMs: 30_000,
    clientId: `nfs4-lock-ranges-${name}-${crypto.randomUUID()}`,
    ...(onTrace
      ? { onTrace: filteredSink(onTrace, { categories: ["lock", "state", "open"] }) }
      : {}),
  });
}

/** Every lock range the client's record lists, as describeState() says them. */
function heldRanges(client: Nfs4Client): string[] {
  return client.describeState().opens.flatMap((o) => o.locks.flatMap((l) => l.ranges));
}

for (const version of ["4.0", "4.1"] as const) {
  const rfc = version === "4.0" ? "RFC 7530 §9.6.2" : "RFC 8881 §8.4.2.1";
  serverTest(
    `NFSv${version}: locks released by a covering unlock and by an unlock of a downgraded range are not reclaimed after a server restart; another client locks the whole file and describeState() lists no ranges (${rfc}: the client reclaims the locks it holds)`,
    async (server) => {
      await Deno.writeFile(`${server.exportDir}/f`, new Uint8Array(1000));
      const events: TraceEvent[] = [];
      const text = () => events.map(formatTraceText).join("\n");
      const client = await connect(server.port, version, "holder", (e) => events.push(e));
      let restartedAt = 0;
      try {
        const file = await client.open("/vfs/f", { access: "both" });
        const lost: string[] = [];
        file.onLockLost((l) => lost.push(`${l.range.type} ${l.range.offset}+${l.range.length}`));
        await file.lock({ type: "write", offset: 0n, length: 100n });
        await file.unlock({ type: "write", offset: 0n, length: EOF });
        await file.lock({ type: "write", offset: 200n, length: 100n });
        await file.lock({ type: "read", offset: 200n, length: 100n }); // a downgrade
        await file.unlock({ type: "read", offset: 200n, length: 100n });
        assert.deepEqual(heldRanges(client), [], text());

        restartedAt = events.length;
        await server.restart();
        // Waits for the recovery the restart causes to end.
        await client.probeLease();
        assert.ok(!events.some((e) => e.event === "LOCK(reclaim) reclaimed"), text());
        assert.deepEqual(heldRanges(client), [], text());

        // Its OPEN and LOCK wait out the grace period, then the LOCK is
        // granted: nothing of the first client's is held.
        const other = await connect(server.port, version, "other");
        try {
          const theirs = await other.open("/vfs/f", { access: "both" });
          await theirs.lock({ type: "write", offset: 0n, length: EOF });
          await theirs.unlock({ type: "write", offset: 0n, length: EOF });
          await theirs.close();
        } finally {
          await other.close();
        }
        assert.deepEqual(lost, [], text());
        await file.close();
      } finally {
        await client.close();
      }
      // The release sent no LOCKU: nothing was held.
      assert.deepEqual(events.slice(restartedAt).filter((e) => e.event === "LOCKU"), [], text());
    },
    { leaseSeconds: LEASE, graceSeconds: LEASE },
  );
}
