/**
 * Two `rm -rf` of the same tree at once against NFS-Ganesha, each through
 * its own client (lib/client/remove_tree.ts with `ignoreMissing`, as
 * `nfs4 rm -f` calls it). Whichever gets to an entry second finds it gone:
 * NFS4ERR_NOENT, or NFS4ERR_STALE when the other removed a directory on
 * its way (RFC 7530 §4.2.3: the object the handle named was removed).
 * coreutils `rm -rf` exits 0 when what it removes vanishes meanwhile, so
 * neither walk may report an error, and the tree is gone.
 */

import assert from "node:assert/strict";
import { removeTree } from "../../lib/client/remove_tree.ts";
import { serverTest } from "../_server.ts";
import { connect } from "./_tree_guard.ts";

/** `top` with 4 directories of 50 files each. */
async function makeTree(top: string): Promise<void> {
  for (let d = 1; d <= 4; d++) {
    await Deno.mkdir(`${top}/d${d}`, { recursive: true });
    for (let f = 1; f <= 50; f++) await Deno.writeTextFile(`${top}/d${d}/f${f}`, "x\n");
  }
}

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `rm -rf --vers ${vers}: two walks of one tree at once both succeed; an entry whose directory the other removed (NFS4ERR_STALE, RFC 7530 §4.2.3) counts as missing`,
    async (server) => {
      const clients = [await connect(server, vers), await connect(server, vers)];
      try {
        // A few rounds: the race is the servers' timing, not ours.
        for (let round = 0; round < 4; round++) {
          await makeTree(`${server.exportDir}/rt`);
          const errors: string[] = [];
          const results = await Promise.all(clients.map(async (client) => {
            const info = await client.stat("/vfs/rt").catch(() => undefined);
            if (info === undefined) return true; // the other was quicker
            return await removeTree(client, { path: "/vfs/rt", names: [], info }, {
              onError: (err) => void errors.push(String(err)),
              ignoreMissing: true,
            });
          }));
          assert.deepEqual(errors, [], `round ${round}`);
          assert.deepEqual(results, [true, true], `round ${round}`);
          await assert.rejects(Deno.stat(`${server.exportDir}/rt`), Deno.errors.NotFound);
        }
      } finally {
        for (const client of clients) await client.close();
      }
    },
  );
}
