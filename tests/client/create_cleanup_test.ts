/**
 * A file a create made whose open then fails (here: the OPEN ignored the
 * mode, RFC 8881 §18.16.3, and the SETATTR setting it is refused) is
 * removed only while its name is still that file: `PUTFH LOOKUP
 * VERIFY(fileid) PUTFH REMOVE` (RFC 7530 §16.35 VERIFY), never by the name
 * alone, which may be another client's file by then. One that cannot be
 * removed is named: CreatedFileLeftError, exit 1 for the commands.
 */

import assert from "node:assert/strict";
import { CreatedFileLeftError } from "../../lib/client/client.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { formatEntry } from "../state/_scripted.ts";
import { withScriptedClient } from "./_scripted_client.ts";

for (const mode of ["guarded", "exclusive"] as const) {
  Deno.test(`4.1 open(create ${mode}): the OPEN ignored the mode and its SETATTR is refused: the file made is removed by LOOKUP VERIFY(fileid) REMOVE, not by its name alone`, async () => {
    await withScriptedClient(
      { openIgnoresCreateAttrs: true },
      "4.1",
      "cleanup",
      async (client, server) => {
        const from = server.log.length;
        server.failNext("SETATTR", S.NFS4ERR_PERM);
        await assert.rejects(
          client.open("/vfs/g", { access: "write", create: mode, mode: 0o640 }),
          (e) => e instanceof NfsError && e.status === S.NFS4ERR_PERM,
        );
        const removals = server.log.slice(from).map(formatEntry).filter((o) =>
          o.includes("REMOVE")
        );
        assert.equal(removals.length, 1, removals.join("\n"));
        assert.match(removals[0]!, /LOOKUP.*VERIFY.*REMOVE/);
        assert.equal(server.file("/vfs/g"), undefined);
      },
    );
  });
}

Deno.test("4.1 open(create guarded): SETATTR refused, then the REMOVE refused too: CreatedFileLeftError names the file left", async () => {
  await withScriptedClient(
    { openIgnoresCreateAttrs: true },
    "4.1",
    "cleanup-left",
    async (client, server) => {
      server.failNext("SETATTR", S.NFS4ERR_PERM);
      server.failNext("REMOVE", S.NFS4ERR_ACCESS);
      const error = await client.open("/vfs/h", { access: "write", create: "guarded", mode: 0o640 })
        .then(() => assert.fail("the open succeeded"), (e: unknown) => e);
      assert.ok(error instanceof CreatedFileLeftError, String(error));
      assert.equal(error.path, "/vfs/h");
      assert.equal(error.surely, true);
      assert.notEqual(server.file("/vfs/h"), undefined);
    },
  );
});
