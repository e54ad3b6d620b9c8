/**
 * One file under two names (hard links), opened under the second while
 * the first is being closed, against NFS-Ganesha: the server gives both
 * OPENs one state (an upgrade, RFC 7530 §9.1.1), so the CLOSE must not
 * cross the OPEN, or the second user's READ fails NFS4ERR_BAD_STATEID and
 * its state is gone (seen by `mv`'s verification of a tree with hard links).
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import { serverTest } from "../_server.ts";
import { exclusiveOpenStatus } from "../cli/_spawn.ts";

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `Nfs4Client --vers ${vers}: an OPEN under a second name never crosses the CLOSE of the first`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/f`, "same file\n");
      await Deno.link(`${server.exportDir}/f`, `${server.exportDir}/h`);
      const client = await Nfs4Client.connect({
        host: "127.0.0.1",
        port: server.port,
        version: vers,
        uid: 0,
        gid: 0,
        clientId: `nfs4-race-test-${crypto.randomUUID()}`,
      });
      try {
        for (let round = 0; round < 40; round++) {
          const first = await client.openRead("/vfs/f");
          const [, second] = await Promise.all([first.close(), client.openRead("/vfs/h")]);
          const { data } = await second.read(0n, 100);
          assert.equal(new TextDecoder().decode(data), "same file\n", `round ${round}`);
          await second.close();
          // And the other way round: the CLOSE asked for while the OPEN is on its way.
          // The OPEN started first and the CLOSE asked for a little later,
          // at a different moment each round (while the OPEN walks the path,
          // while it is in flight, after).
          const third = await client.openRead("/vfs/f");
          const opening = client.openRead("/vfs/h");
          await new Promise((r) => setTimeout(r, round % 5));
          await third.close();
          const fourth = await opening;
          assert.equal(new TextDecoder().decode((await fourth.read(0n, 100)).data), "same file\n");
          await fourth.close();
        }
        assert.deepEqual(client.describeState().opens, []);
      } finally {
        await client.close();
      }
      assert.equal(await exclusiveOpenStatus(server, vers, "/vfs/f"), "NFS4_OK");
    },
  );
}
