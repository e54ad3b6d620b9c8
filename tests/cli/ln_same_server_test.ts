/**
 * `nfs4 ln TARGET LINK` tells "the same server" as cp does (the 4.1 server
 * owner, else the address connected to), not by the URLs' text: a TARGET
 * spelled `127.0.0.1` and a LINK spelled `localhost` are one server, linked;
 * a TARGET on another server is still `Invalid cross-device link`. Before,
 * any two spellings were "another server".
 */

import assert from "node:assert/strict";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest, withServer } from "../_server.ts";
import { messageLines, nfs4 } from "./_spawn.ts";

serverTest(
  "ln: 127.0.0.1 and localhost are one server (4.0 and 4.1); another server is not",
  async (server) => {
    for (const vers of ["4.0", "4.1"]) {
      writeFileSync(join(server.exportDir, `${vers}-data`), "data\n");
      const r = await nfs4([
        "--vers",
        vers,
        "ln",
        `nfs://127.0.0.1:${server.port}/vfs/${vers}-data`,
        `nfs://localhost:${server.port}/vfs/${vers}-link`,
      ]);
      assert.equal(r.code, 0, `${vers}: ${r.stderr}`);
      assert.equal(r.stderr, "");
      const a = statSync(join(server.exportDir, `${vers}-data`));
      const b = statSync(join(server.exportDir, `${vers}-link`));
      assert.equal(a.ino, b.ino, `${vers}: one file`);
      assert.equal(a.nlink, 2);
    }
    await withServer(async (other) => {
      writeFileSync(join(other.exportDir, "far"), "far\n");
      for (const vers of ["4.0", "4.1"]) {
        const far = await nfs4([
          "--vers",
          vers,
          "ln",
          `nfs://localhost:${other.port}/vfs/far`,
          `${server.url}/vfs/${vers}-far`,
        ]);
        assert.equal(far.code, 1, far.stderr);
        assert.deepEqual(messageLines(far.stderr), [
          `nfs4: cannot create hard link to 'nfs://localhost:${other.port}/vfs/far' on 127.0.0.1:${server.port}: Invalid cross-device link (another server)`,
        ]);
      }
    });
  },
);
