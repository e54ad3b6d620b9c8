/**
 * OpenFile.read(offset, count) reads up to `count` bytes in ONE READ, of at
 * most the size the server grants (NfsFile.rsize: its maxread, on 4.1 the
 * session's largest reply too): a larger `count` is a short read, not an
 * NFS4ERR_REP_TOO_BIG (4.1) nor a reply record past the transport's maximum
 * that drops the connection (4.0). Against Ganesha, NFSv4.0 and 4.1.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import type { TraceEvent } from "../../lib/state/trace.ts";
import { serverTest } from "../_server.ts";

const SIZE = 10 * 1024 * 1024;

for (const version of ["4.0", "4.1"] as const) {
  serverTest(
    `OpenFile.read() (NFSv${version}): a count of 2 MiB and 8 MiB is read as one READ of ` +
      "the size the server grants, the connection kept",
    async (server) => {
      const bytes = new Uint8Array(SIZE);
      for (let i = 0; i < SIZE; i += 4096) bytes[i] = (i / 4096) & 0xff;
      await Deno.writeFile(`${server.exportDir}/big`, bytes);
      const events: TraceEvent[] = [];
      const client = await Nfs4Client.connect({
        host: "127.0.0.1",
        port: server.port,
        version,
        callback: false,
        onTrace: (e) => events.push(e),
      });
      try {
        const file = await client.open("/vfs/big", { access: "read" });
        const rsize = file.rsize;
        assert.ok(rsize > 0 && rsize <= 1024 * 1024, `rsize ${rsize}`);
        for (const count of [2 * 1024 * 1024, 8 * 1024 * 1024]) {
          const { data, eof } = await file.read(4096n, count);
          assert.equal(data.length, rsize, `read(4096n, ${count})`);
          assert.equal(eof, false);
          assert.deepEqual(data, bytes.subarray(4096, 4096 + rsize));
        }
        // Up to the end: the rest, and eof.
        const tail = await file.read(BigInt(SIZE - 100), 8 * 1024 * 1024);
        assert.equal(tail.data.length, 100);
        assert.equal(tail.eof, true);
        await file.close();
        const lost = events.filter((e) => e.event === "connection lost");
        assert.deepEqual(lost.map((e) => e.detail), [], "the connection was not dropped");
      } finally {
        await client.close();
      }
      assert.equal(client.leftOnServer, undefined);
    },
  );
}
