/**
 * Share reservations through the library (RFC 7530 §9.9, RFC 8881 §9.7):
 * `open(path, { deny })` against NFS-Ganesha. While client A holds a file
 * open denying WRITE, client B's OPEN for writing fails
 * NFS4ERR_SHARE_DENIED and its OPEN for reading goes through; once A
 * closes, B may write. A second handle of A's without the deny keeps it
 * until the denying handle closes (OPEN_DOWNGRADE then gives it back).
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { serverTest } from "../_server.ts";

const shareDenied = (e: unknown) => e instanceof NfsError && e.status === S.NFS4ERR_SHARE_DENIED;

for (const version of ["4.0", "4.1"] as const) {
  serverTest(
    `NFSv${version}: open() with deny "write" refuses another client's write OPEN (NFS4ERR_SHARE_DENIED) and lets it read, until closed (RFC 7530 §9.9)`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/f`, "shared\n");
      const connect = (name: string) =>
        Nfs4Client.connect({
          host: "127.0.0.1",
          port: server.port,
          version,
          uid: 0,
          gid: 0,
          clientId: `open-deny-${name}-${crypto.randomUUID()}`,
        });
      const a = await connect("a");
      const b = await connect("b");
      try {
        const denying = await a.open("/vfs/f", { access: "read", deny: "write" });
        const plain = await a.open("/vfs/f", { access: "read" });
        await assert.rejects(b.open("/vfs/f", { access: "write" }), shareDenied);
        const reader = await b.open("/vfs/f", { access: "read" });
        assert.equal(new TextDecoder().decode((await reader.read(0n, 10)).data), "shared\n");
        await reader.close();

        // The deny goes with the handle that asked for it: A's other handle
        // does not keep it (OPEN_DOWNGRADE to deny none).
        await denying.close();
        const writer = await b.open("/vfs/f", { access: "write" });
        await writer.close();
        await plain.close();
        assert.deepEqual(a.describeState().opens, []);
      } finally {
        await a.close();
        await b.close();
      }
      assert.equal(a.leftOnServer, undefined);
      assert.equal(b.leftOnServer, undefined);
    },
  );
}
