/**
 * Reading a fifo on the server is refused by the client before any OPEN
 * (OPEN takes regular files only: RFC 7530 §16.16.5, RFC 8881 §18.16.3),
 * and the refusal names no NFS status, since no server sent one: an earlier
 * nfs4 printed `Not a regular file (NFS4ERR_WRONG_TYPE)`, a status that
 * NFSv4.0 does not even have (RFC 7530 §13). It still exits 1, goes on
 * with the next file, and never hangs on the fifo.
 */

import assert from "node:assert/strict";
import { serverTest } from "../_server.ts";
import { PathError } from "../../lib/client/errors.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { messageLines, nfs4, probeClient } from "./_spawn.ts";

const VERSIONS = ["4.0", "4.1"] as const;

async function mkfifo(path: string): Promise<void> {
  const out = await new Deno.Command("mkfifo", { args: [path], stderr: "piped" }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

for (const vers of VERSIONS) {
  serverTest(
    `nfs4 --vers ${vers} cat/head of a fifo: 'Not a regular file (fifo)', no NFS4ERR_ status the server did not send (RFC 7530 §16.16.5, RFC 8881 §18.16.3)`,
    async (server) => {
      const vfs = `${server.url}/vfs`;
      await mkfifo(`${server.exportDir}/fifo`);
      await Deno.writeTextFile(`${server.exportDir}/after`, "after\n");

      const cat = await nfs4(["--vers", vers, "cat", `${vfs}/fifo`, `${vfs}/after`]);
      assert.equal(cat.code, 1, cat.stderr);
      assert.equal(cat.stdout, "after\n");
      assert.deepEqual(messageLines(cat.stderr), [`nfs4: ${vfs}/fifo: Not a regular file (fifo)`]);

      const head = await nfs4(["--vers", vers, "head", "-c", "1", `${vfs}/fifo`]);
      assert.equal(head.code, 1, head.stderr);
      assert.doesNotMatch(head.stderr, /NFS4ERR_/);
      assert.match(head.stderr, /fifo: Not a regular file \(fifo\)$/m);

      // The library says the same: a PathError (the client's own refusal),
      // for reading and for writing, not an NfsError.
      const client = await probeClient(server, vers);
      try {
        for (
          const open of [
            () => client.openRead("/vfs/fifo"),
            () => client.open("/vfs/fifo", { access: "write" }),
          ]
        ) {
          await assert.rejects(open(), (e: unknown) => {
            assert.ok(e instanceof PathError, String(e));
            assert.ok(!(e instanceof NfsError));
            assert.equal(e.message, "/vfs/fifo: Not a regular file (fifo)");
            return true;
          });
        }
      } finally {
        await client.close();
      }
    },
  );
}
