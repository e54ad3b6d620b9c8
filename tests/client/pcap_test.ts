/**
 * `ConnectOptions.pcap` end to end against the scripted server
 * (tests/_nfs4_server.ts), which grants delegations and recalls them: a
 * client's capture holds its fore connection and, on NFSv4.0, the callback
 * connection the server opened to its listener (on 4.1 the recall comes on
 * the fore connection's backchannel). tshark decodes every frame, nothing is
 * malformed, CB_RECALL and DELEGRETURN are there, and there is exactly one
 * RPC message per record the client sent or received (counted by a tap of
 * our own beside the writer).
 */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Nfs4Client } from "../../lib/client/client.ts";
import {
  type ConnectionTap,
  openPcap,
  type RecordDirection,
  type RecordTap,
  type TapConnectionInfo,
} from "../../lib/client/pcap.ts";
import type { TraceEvent } from "../../lib/state/trace.ts";
import { ScriptedServer } from "../state/_scripted.ts";
import { startScriptedNfsServer } from "../_nfs4_server.ts";
import { tsharkFields, tsharkPath } from "../_tshark.ts";

const tshark = tsharkPath;

/** Counts records per direction and connection, passing everything on to `inner`. */
class CountingTap implements RecordTap {
  readonly inner: RecordTap;
  readonly connections: (TapConnectionInfo & { sent: number; received: number })[] = [];

  constructor(inner: RecordTap) {
    this.inner = inner;
  }

  get records(): number {
    return this.connections.reduce((n, c) => n + c.sent + c.received, 0);
  }

  connect(info: TapConnectionInfo): ConnectionTap {
    const counts = { ...info, sent: 0, received: 0 };
    this.connections.push(counts);
    const tap = this.inner.connect(info);
    return {
      record(direction: RecordDirection, chunks: readonly Uint8Array[]) {
        counts[direction]++;
        tap.record(direction, chunks);
      },
      close: () => tap.close(),
    };
  }
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** nfs_opnum4 and nfs_cb_opnum4 values the test looks for. */
const OP_OPEN = 18;
const OP_DELEGRETURN = 8;
const OP_CB_RECALL = 4;
const OP_CB_SEQUENCE = 11;

for (const version of ["4.0", "4.1"] as const) {
  Deno.test({
    name: `ConnectOptions.pcap (NFSv${version}): a delegation recall is captured (${
      version === "4.0" ? "the server's callback connection" : "the backchannel"
    }); tshark decodes every frame, none malformed, CB_RECALL and DELEGRETURN present, one RPC message per record`,
    ignore: !tshark,
    async fn() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nfs4-pcap-"));
      const file = path.join(dir, "recall.pcap");
      const server = new ScriptedServer({
        now: () => performance.now(),
        delegations: { read: true },
      });
      const nfs = await startScriptedNfsServer(server);
      const writer = openPcap(file);
      const tap = new CountingTap(writer);
      const events: TraceEvent[] = [];
      let a: Nfs4Client | undefined;
      let b: Nfs4Client | undefined;
      try {
        a = await Nfs4Client.connect({
          host: nfs.host,
          port: nfs.port,
          version,
          clientId: `pcap-a-${crypto.randomUUID()}`,
          timeoutMs: 10_000,
          onTrace: (e) => events.push(e),
          pcap: tap,
        });
        b = await Nfs4Client.connect({
          host: nfs.host,
          port: nfs.port,
          version,
          clientId: `pcap-b-${crypto.randomUUID()}`,
          timeoutMs: 10_000,
        });
        const fa = await a.openRead("/vfs/file");
        assert.ok(events.some((e) => e.event === "read delegation granted"));
        const fb = await b.open("/vfs/file", { access: "write" });
        await until(() => events.some((e) => e.event === "DELEGRETURN"), "A's DELEGRETURN");
        await fb.close();
        await fa.close();
        const callbackPort = a.manager.callbackServer?.address?.port;
        await b.close();
        await a.close();
        a = undefined;
        await until(() => tap.connections.length >= (version === "4.0" ? 2 : 1), "connections");
        await nfs.close(); // the callback connection closes too
        writer.close();
        assert.deepEqual(nfs.errors, []);

        // What the tap saw: the fore connection, and on 4.0 the server's callback connection.
        const opened = tap.connections.map((c) => `${c.opener} ${c.remote.port === nfs.port}`);
        assert.deepEqual(
          opened,
          version === "4.0" ? ["local true", "remote false"] : ["local true"],
        );
        if (version === "4.0") assert.equal(tap.connections[1]!.local.port, callbackPort);
        assert.equal(writer.counts.records, tap.records);

        const ports = [nfs.port, ...(callbackPort ? [callbackPort] : [])];
        const rows = await tsharkFields(
          file,
          ports.flatMap((p) => ["-d", `tcp.port==${p},rpc`]),
          [
            "tcp.stream",
            "rpc.xid",
            "rpc.msgtyp",
            "nfs.opcode",
            "nfs.cb.operation",
            "_ws.malformed",
            "tcp.analysis.flags",
          ],
        );
        assert.equal(rows.length, writer.counts.packets, "tshark reads every packet");
        assert.deepEqual(rows.filter((r) => r[5] !== ""), [], "no malformed frame");
        assert.deepEqual(rows.filter((r) => r[6] !== ""), [], "no TCP analysis flag");
        const rpc = rows.filter((r) => r[1] !== "");
        assert.ok(rpc.every((r) => !r[1]!.includes(",")), "one RPC message per frame");
        assert.equal(rpc.length, tap.records, "one RPC frame per record sent or received");
        assert.equal(new Set(rows.map((r) => r[0])).size, tap.connections.length);
        const ops = new Set(rpc.flatMap((r) => r[3]!.split(",")).filter(Boolean).map(Number));
        assert.ok(ops.has(OP_OPEN) && ops.has(OP_DELEGRETURN), [...ops].join(","));
        const cbOps = rpc.flatMap((r) => r[4]!.split(",")).filter(Boolean).map(Number);
        // A call and its reply each name the operation.
        assert.equal(cbOps.filter((op) => op === OP_CB_RECALL).length, 2, cbOps.join(","));
        if (version === "4.1") assert.ok(cbOps.includes(OP_CB_SEQUENCE));
        if (version === "4.0") {
          // The recall came on the callback connection (the second stream).
          const recall = rpc.find((r) => r[4]!.split(",").includes(String(OP_CB_RECALL)))!;
          assert.equal(recall[0], "1");
        }
      } finally {
        await b?.close();
        await a?.close();
        writer.close();
        await nfs.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  });
}
