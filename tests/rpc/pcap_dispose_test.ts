/**
 * PcapWriter[Symbol.dispose]: `using pcap = PcapWriter.open(path)` closes
 * the capture when the block ends, however it ends (TC39 explicit resource
 * management). Declared before the client it records, it is disposed after
 * it, so the client's releases (on 4.1 DESTROY_SESSION and
 * DESTROY_CLIENTID, RFC 8881 §18.37, §18.50) are in the file; tshark reads
 * it whole.
 */

import assert from "node:assert/strict";
import { Nfs4Client, PcapWriter } from "../../mod.ts";
import { ScriptedServer } from "../state/_scripted.ts";
import { startScriptedNfsServer } from "../_nfs4_server.ts";
import { tsharkFields, tsharkPath } from "../_tshark.ts";

const OP_DESTROY_SESSION = 44;
const OP_DESTROY_CLIENTID = 57;

Deno.test("PcapWriter: `using` closes it at the end of the block, as close() does, also when the block throws", () => {
  const closes: string[] = [];
  let kept: PcapWriter | undefined;
  {
    using pcap = new PcapWriter(() => {}, {}, () => closes.push("closed"));
    kept = pcap;
    assert.equal(pcap.closed, false);
  }
  assert.equal(kept.closed, true);
  assert.deepEqual(closes, ["closed"]);

  assert.throws(() => {
    using pcap = new PcapWriter(() => {}, {}, () => closes.push("closed after a throw"));
    kept = pcap;
    throw new Error("the block failed");
  }, /the block failed/);
  assert.equal(kept.closed, true);
  assert.deepEqual(closes, ["closed", "closed after a throw"]);
});

Deno.test({
  name:
    "NFSv4.1: `using pcap = PcapWriter.open(path)` declared before `await using client` records the client's releases (DESTROY_SESSION, DESTROY_CLIENTID) and is closed after them (RFC 8881 §18.37, §18.50)",
  ignore: tsharkPath === undefined,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "pcap-dispose-" });
    const file = `${dir}/nfs.pcap`;
    const server = new ScriptedServer({ now: () => performance.now() });
    const nfs = await startScriptedNfsServer(server);
    let kept: PcapWriter | undefined;
    try {
      {
        using pcap = PcapWriter.open(file);
        kept = pcap;
        await using client = await Nfs4Client.connect({
          host: nfs.host,
          port: nfs.port,
          version: "4.1",
          clientId: `pcap-dispose-${crypto.randomUUID()}`,
          pcap,
        });
        await client.stat("/vfs/file");
      }
      assert.equal(kept.closed, true);
      assert.equal(kept.error, undefined);
      const rows = await tsharkFields(file, ["-d", `tcp.port==${nfs.port},rpc`], [
        "nfs.opcode",
        "_ws.malformed",
      ]);
      assert.equal(rows.length, kept.counts.packets, "tshark reads every packet");
      assert.deepEqual(rows.filter((r) => r[1] !== ""), [], "no malformed frame");
      const ops = rows.flatMap((r) => r[0]!.split(",")).filter(Boolean).map(Number);
      assert.ok(ops.includes(OP_DESTROY_SESSION), `DESTROY_SESSION recorded: ${ops}`);
      assert.ok(ops.includes(OP_DESTROY_CLIENTID), `DESTROY_CLIENTID recorded: ${ops}`);
    } finally {
      kept?.close();
      await nfs.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
