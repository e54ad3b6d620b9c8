/**
 * Against NFS-Ganesha 4.3 with a 3 s lease (audit C, items 1 and 2): the
 * server is paused (SIGSTOP) past the lease while the client holds an open
 * and a lock, and its close (the LOCKU of the lost lock, then the CLOSE) is
 * on its way; resumed (SIGCONT), Ganesha has expired the client (SEQUENCE
 * NFS4ERR_EXPIRED, then NFS4ERR_BADSESSION and CREATE_SESSION
 * NFS4ERR_STALE_CLIENTID once its reaper ran). The client makes a new
 * client ID, and then sends nothing of the old one's state: no CLOSE or
 * LOCKU of its stateids (RFC 8881 §8.4.2, §8.4.3), no FREE_STATEID of them
 * (§8.2.4, §18.38: the current client's stateids only), no lease check on
 * their account. Each is dropped locally, traced with why; no reclaim in
 * grace is traced as to come that does not.
 */

import assert from "node:assert/strict";
import { Nfs4Client, type TraceEvent } from "../../mod.ts";
import { filteredSink, formatTraceText } from "../../lib/client/trace.ts";
import { serverTest } from "../_server.ts";

const LEASE = 3;

/** Each COMPOUND in `events` as its ops, comma-joined, a failed op with its status: `CREATE_SESSION NFS4ERR_STALE_CLIENTID`. */
function wireOps(events: readonly TraceEvent[]): string[] {
  return events
    .filter((e) => e.category === "ops")
    .map((e) =>
      (e.data?.["ops"] as { op: string; status?: string }[])
        .map((o) => o.status === undefined || o.status === "NFS4_OK" ? o.op : `${o.op} ${o.status}`)
        .join(",")
    );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

serverTest(
  "Nfs4Client --vers 4.1 against Ganesha paused past its lease: after the new client ID nothing of the old client ID's state is sent (no CLOSE, LOCKU or FREE_STATEID of its stateids, no lease check for them), and each state is dropped with why (RFC 8881 §8.4.3, §8.2.4, §18.38)",
  async (server) => {
    await Deno.writeTextFile(`${server.exportDir}/f`, "data\n");
    const events: TraceEvent[] = [];
    const client = await Nfs4Client.connect({
      host: "127.0.0.1",
      port: server.port,
      version: "4.1",
      uid: 0,
      gid: 0,
      timeoutMs: 2_000,
      recoveryTimeoutMs: 30_000,
      clientId: `nfs4-client-id-replaced-${crypto.randomUUID()}`,
      onTrace: filteredSink((e) => events.push(e), {
        categories: ["state", "step", "clid", "sess", "lease", "open", "lock", "retry", "ops"],
        everyOp: true,
      }),
    });
    const text = () => events.map(formatTraceText).join("\n");
    let resumed = false;
    try {
      const file = await client.open("/vfs/f", { access: "write" });
      await file.lock({ type: "write", offset: 0n, length: 0xffff_ffff_ffff_ffffn });
      await sleep(1_200);
      Deno.kill(server.pid, "SIGSTOP");
      // Past the lease by the client's clock: the lock is lost locally.
      await sleep((LEASE + 1) * 1_000);
      assert.ok(events.some((e) => e.event === "lock lost"), text());
      // Its holder ends: the release (LOCKU of the lost lock, CLOSE) goes
      // out to a server that does not answer yet.
      const closing = file.close().catch((e) => e);
      await sleep(3_000);
      Deno.kill(server.pid, "SIGCONT");
      resumed = true;
      await closing;
      await client.close();
    } finally {
      if (!resumed) Deno.kill(server.pid, "SIGCONT");
    }
    const exchanges = events.flatMap((e, i) =>
      e.category === "clid" && e.event === "EXCHANGE_ID ok" ? [i] : []
    );
    const allIds = exchanges.map((i) => events[i]!.data?.["clientid"]);
    assert.ok(allIds.length === 2 || allIds.length === 3, `a client ID was made again:\n${text()}`);
    if (allIds.length === 3) {
      // Ganesha purged the expired client between answering EXCHANGE_ID
      // with its confirmed record and the CREATE_SESSION that followed (a
      // loaded machine): CREATE_SESSION -> NFS4ERR_STALE_CLIENTID (RFC 8881
      // §18.36.4), and a new EXCHANGE_ID made a new client ID. Nothing else
      // went out between; what follows is held as after a new client ID.
      assert.equal(allIds[0], allIds[1], text());
      assert.notEqual(allIds[2], allIds[0], text());
      const between = wireOps(events.slice(exchanges[1]! + 1, exchanges[2]!));
      assert.deepEqual(between, ["CREATE_SESSION NFS4ERR_STALE_CLIENTID"], text());
    }
    const made = exchanges[exchanges.length - 1]!;
    const ids = [allIds[0], allIds[allIds.length - 1]];
    const after = events.slice(made);
    // What went on the wire after it, renewals (SEQUENCE alone) aside.
    const wire = wireOps(after).filter((ops) => !/^SEQUENCE( \S+)?$/.test(ops));
    // No lease check for the old stateids (audit C: 8 of them, each "lease valid").
    assert.ok(!after.some((e) => e.event === "+CHECK_LEASE"), text());
    const dropped = after.filter((e) => e.event === "dropped").map((e) =>
      `${e.category} ${e.detail}`
    );
    if (ids[0] !== ids[1]) {
      // A new client ID: the session, the lease time, RECLAIM_COMPLETE (RFC
      // 8881 §18.51.3), and the release at exit. Nothing of the old one.
      assert.deepEqual(wire, [
        "CREATE_SESSION",
        "SEQUENCE,PUTROOTFH,GETATTR",
        "SEQUENCE,RECLAIM_COMPLETE",
        "DESTROY_SESSION",
        "DESTROY_CLIENTID",
      ], text());
      // Told once each, with why.
      assert.equal(dropped.length, 2, text());
      assert.match(
        dropped[0]!,
        /^lock \/vfs\/f write 0-: its client ID 0x[0-9a-f]{16} was replaced after .*; no LOCKU sent$/,
      );
      assert.match(
        dropped[1]!,
        /^open \/vfs\/f \S+: its client ID 0x[0-9a-f]{16} was replaced after .*; no CLOSE sent$/,
      );
    } else {
      // Ganesha had not purged the expired client yet: EXCHANGE_ID gave the
      // same client ID back (its confirmed record, RFC 8881 §18.35.4), and
      // its state with it. The releases are sent, and done; its old session
      // is destroyed at exit, so DESTROY_CLIENTID is not refused.
      assert.deepEqual(dropped, [], text());
      assert.ok(wire.includes("SEQUENCE,PUTFH,LOCKU"), text());
      assert.ok(wire.includes("SEQUENCE,PUTFH,CLOSE"), text());
      assert.ok(wire.includes("DESTROY_CLIENTID"), text());
    }
    assert.ok(!wire.some((w) => w.includes("FREE_STATEID")), text());
    // A reclaim is announced only for what it reclaims: the open was being
    // closed, the lock lost.
    for (const e of after.concat(events.slice(made - 8, made))) {
      if (e.event !== "+RECLAIM_REBOOT" && e.event !== "+RECLAIM_NOGRACE") continue;
      assert.doesNotMatch(e.detail ?? "", /[1-9] open\(s\) to reclaim/, text());
    }
    assert.equal(client.leftOnServer, undefined, text());
  },
  { leaseSeconds: LEASE, graceSeconds: LEASE },
);
