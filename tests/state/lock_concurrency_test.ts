/**
 * One client, several async callers locking one file at once, against
 * NFS-Ganesha (audit a3, F1 and F2).
 *
 * F1 (4.0): two first LOCKs of one handle at once. The second goes as
 * exist_lock_owner4 once the first's stateid is recorded, and carries no
 * open owner seqid (RFC 7530 §16.10.4): it must neither wait for the open
 * owner nor advance its seqid. Before, both advanced it, so the next OPEN
 * and the file's CLOSE got NFS4ERR_BAD_SEQID and the open stayed on the
 * server (another client refused NFS4ERR_SHARE_DENIED until the lease ran
 * out).
 *
 * F2 (4.0, 4.1): M LOCKs and then M LOCKUs of one lock owner at once. Each
 * must be built with the lock stateid its predecessor's answer left (RFC
 * 7530 §9.1.4.2, RFC 8881 §8.2.2): before, the stateid was recorded after
 * the owner's turn ended, and the next one went with the old stateid
 * (NFS4ERR_OLD_STATEID; on 4.0 then NFS4ERR_BAD_SEQID, calls rejected, the
 * unlocks sending nothing and the locks left on the server).
 */

import assert from "node:assert/strict";
import { NFS4_UINT64_MAX, Nfs4Client, type TraceEvent } from "../../mod.ts";
import { filteredSink, formatTraceText } from "../../lib/client/trace.ts";
import { serverTest, type TestServer } from "../_server.ts";

/** How many LOCKs (and LOCKUs) of one lock owner go at once. */
const M_LOCKS = 16;

const STATE_ERRORS = /NFS4ERR_(BAD_SEQID|OLD_STATEID|BAD_STATEID|LOCKS_HELD)/;

async function tracedClient(server: TestServer, version: "4.0" | "4.1") {
  const events: TraceEvent[] = [];
  const client = await Nfs4Client.connect({
    host: "127.0.0.1",
    port: server.port,
    version,
    uid: 0,
    gid: 0,
    clientId: `nfs4-lock-concurrency-${crypto.randomUUID()}`,
    onTrace: filteredSink((e) => events.push(e), {
      categories: ["ops", "open", "lock", "owner", "retry", "state"],
      everyOp: true,
    }),
  });
  return { client, events };
}

/** Trace lines that name a stateid or seqid refusal. */
function stateErrors(events: readonly TraceEvent[]): string[] {
  return events.map(formatTraceText).filter((line) => STATE_ERRORS.test(line));
}

/** COMPOUNDs sent with `op` in them. */
function sentWith(events: readonly TraceEvent[], op: string): number {
  return events.filter((e) =>
    e.category === "ops" &&
    (e.data?.["ops"] as { op: string }[] | undefined)?.some((o) => o.op === op)
  ).length;
}

/**
 * Nothing of `path` is left on the server: another client opens it deny
 * both and takes an exclusive lock of the whole file at once.
 */
async function nothingLeft(server: TestServer, path: string): Promise<void> {
  const other = await Nfs4Client.connect({
    host: "127.0.0.1",
    port: server.port,
    version: "4.1",
    uid: 0,
    gid: 0,
    clientId: `nfs4-lock-concurrency-other-${crypto.randomUUID()}`,
  });
  try {
    const file = await other.open(path, { access: "both", deny: "both" });
    await file.lock({ type: "write", offset: 0n, length: NFS4_UINT64_MAX }, { noWait: true });
    await file.close();
  } finally {
    await other.close();
  }
}

serverTest(
  "4.0: two first lock() calls of one handle at once: the second goes as exist_lock_owner4 and leaves the open owner's seqid alone; a later OPEN and the CLOSE are not refused NFS4ERR_BAD_SEQID, nothing is left on the server (RFC 7530 §9.1.7, §16.10.4)",
  async (server) => {
    await Deno.writeFile(`${server.exportDir}/f`, new Uint8Array(100));
    await Deno.writeFile(`${server.exportDir}/g`, new Uint8Array(1));
    const { client, events } = await tracedClient(server, "4.0");
    const file = await client.open("/vfs/f", { access: "both" });
    await Promise.all([
      file.lock({ type: "write", offset: 0n, length: 5n }),
      file.lock({ type: "write", offset: 10n, length: 5n }),
    ]);
    // Another OPEN and CLOSE of the same open owner, then the file's CLOSE.
    const other = await client.open("/vfs/g", { access: "read" });
    await other.close();
    await file.close();
    await client.close();
    const text = events.map(formatTraceText).join("\n");
    assert.deepEqual(stateErrors(events), [], text);
    assert.equal(sentWith(events, "LOCK"), 2, text);
    assert.equal(client.leftOnServer, undefined, text);
    await nothingLeft(server, "/vfs/f");
  },
);

for (const version of ["4.0", "4.1"] as const) {
  serverTest(
    `${version}: ${M_LOCKS} lock() and then ${M_LOCKS} unlock() calls of one lock owner at once, adjacent ranges: each goes once with the lock stateid its predecessor left, all resolve, no NFS4ERR_OLD_STATEID or NFS4ERR_BAD_SEQID, nothing is left on the server (${
      version === "4.0" ? "RFC 7530 §9.1.4.2, §9.1.7" : "RFC 8881 §8.2.2, §9"
    })`,
    async (server) => {
      await Deno.writeFile(`${server.exportDir}/f`, new Uint8Array(1000));
      const { client, events } = await tracedClient(server, version);
      const file = await client.open("/vfs/f", { access: "both" });
      // The lock owner's first LOCK (open_to_lock_owner4), then the others.
      await file.lock({ type: "write", offset: 900n, length: 1n });
      const ranges = Array.from(
        { length: M_LOCKS },
        (_, i) => ({ type: "write" as const, offset: BigInt(i * 10), length: 10n }),
      );
      const locked = await Promise.allSettled(ranges.map((r) => file.lock(r)));
      const unlocked = await Promise.allSettled(ranges.map((r) => file.unlock(r)));
      await file.unlock({ type: "write", offset: 900n, length: 1n });
      await file.close();
      await client.close();
      const text = events.map(formatTraceText).join("\n");
      assert.deepEqual(locked.filter((r) => r.status === "rejected"), [], text);
      assert.deepEqual(unlocked.filter((r) => r.status === "rejected"), [], text);
      assert.deepEqual(stateErrors(events), [], text);
      assert.equal(sentWith(events, "LOCK"), M_LOCKS + 1, text);
      assert.equal(sentWith(events, "LOCKU"), M_LOCKS + 1, text);
      assert.equal(client.leftOnServer, undefined, text);
      await nothingLeft(server, "/vfs/f");
    },
  );
}
