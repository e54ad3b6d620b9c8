/**
 * OPEN_DOWNGRADE on the wire (RFC 7530 §16.19, RFC 8881 §18.18): the
 * COMPOUND a close sends when a read-write handle goes and a read-only one
 * of the same file stays, captured against NFS-Ganesha on 4.0 and 4.1,
 * must decode in tshark with zero malformed packets and no expert errors,
 * and show `PUTFH, OPEN_DOWNGRADE` between the OPENs and the one CLOSE.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import { serverTest } from "../_server.ts";
import { decodeNfs, hasTshark, startCapture } from "../_tshark.ts";

for (const version of ["4.0", "4.1"] as const) {
  serverTest(
    `NFSv${version}: OPEN, OPEN (upgrade), OPEN_DOWNGRADE and CLOSE decode cleanly in tshark (RFC 7530 §16.19, RFC 8881 §18.18)`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/f`, "wire\n");
      const capture = await startCapture(server.port);
      try {
        const client = await Nfs4Client.connect({
          host: "127.0.0.1",
          port: server.port,
          version,
          uid: 0,
          gid: 0,
          clientId: `open-downgrade-wire-${crypto.randomUUID()}`,
        });
        try {
          const both = await client.open("/vfs/f", { access: "both" });
          const read = await client.open("/vfs/f", { access: "read" });
          await both.close();
          assert.equal(new TextDecoder().decode((await read.read(0n, 10)).data), "wire\n");
          await read.close();
        } finally {
          await client.close();
        }
        assert.equal(client.leftOnServer, undefined);
      } finally {
        await capture.stop();
      }
      const decoded = await decodeNfs(capture.file, server.port);
      assert.equal(decoded.malformed, 0);
      assert.equal(decoded.expertErrors, 0);
      const calls = decoded.frames
        .filter((f) => !f.isReply && f.ops.length > 0)
        .map((f) => f.ops.filter((op) => op !== "SEQUENCE").join(","))
        .filter((ops) => /OPEN|CLOSE/.test(ops) && !ops.startsWith("OPEN_CONFIRM"));
      const downgrade = calls.indexOf("PUTFH,OPEN_DOWNGRADE");
      assert.ok(downgrade > 0, calls.join("\n"));
      assert.equal(calls.filter((ops) => ops.includes("OPEN_DOWNGRADE")).length, 1);
      assert.equal(calls.filter((ops) => ops.endsWith("CLOSE")).length, 1, calls.join("\n"));
      assert.ok(calls.findIndex((ops) => ops.endsWith("CLOSE")) > downgrade, calls.join("\n"));
    },
    { ignore: !hasTshark },
  );
}
