/**
 * `nfs4 cp` of a file larger than one COMPOUND holds (so that NFSv4.1 and
 * later make the temporary with an ordinary OPEN, lib/client/copy/nfs_create.ts)
 * into a place whose OPEN the server refuses: the read-only pseudo file
 * system (NFS4ERR_ROFS) and a directory the caller may not write to
 * (NFS4ERR_ACCESS). An OPEN answered with an error made nothing (RFC 8881
 * §18.16.3, RFC 7530 §16.16.5: the create is part of the OPEN that failed),
 * so the message is the refusal alone, and no REMOVE of a temporary that
 * never existed is sent. Before, on 4.1 and 4.2 a failed ordinary create
 * was counted as made: a LOOKUP and REMOVE followed, and after the ROFS the
 * message said the temporary "is left on the server".
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { FaultProxy } from "../_fault_proxy.ts";
import { cpServerTest, tempDir, writeRandom } from "./_cp.ts";
import { messageLines, nfs4 } from "./_spawn.ts";

const AS_USER = ["--uid", "1000", "--gid", "1000"];
/** Far more than a one-COMPOUND create holds (lib/client/copy/nfs_side.ts SMALL_CREATE_BYTES). */
const BIG = 2 * 1024 * 1024;

for (const vers of ["4.0", "4.1", "4.2"] as const) {
  cpServerTest(
    `nfs4 cp --vers ${vers}: a big file whose OPEN is refused (NFS4ERR_ROFS, NFS4ERR_ACCESS) made nothing: the refusal alone, no REMOVE (RFC 8881 §18.16.3)`,
    async (server, t) => {
      const local = await tempDir();
      await using proxy = await FaultProxy.start({ target: server, log: () => {} });
      try {
        await writeRandom(`${local}/big`, BIG);

        await t.step("the read-only pseudo file system", async () => {
          const removes = proxy.opCount("REMOVE");
          const r = await nfs4(["--vers", vers, "cp", `${local}/big`, `${proxy.url}/big`]);
          assert.equal(r.code, 1, r.stderr);
          assert.deepEqual(messageLines(r.stderr), [
            `nfs4: ${proxy.url}/big: Read-only file system (NFS4ERR_ROFS)`,
          ]);
          assert.equal(proxy.opCount("REMOVE") - removes, 0, "no REMOVE of a temporary never made");
        });

        await t.step("a directory the caller may not write to", async () => {
          await fs.mkdir(`${server.exportDir}/d`);
          await fs.chmod(`${server.exportDir}/d`, 0o755);
          const removes = proxy.opCount("REMOVE");
          const r = await nfs4([
            ...AS_USER,
            "--vers",
            vers,
            "cp",
            `${local}/big`,
            `${proxy.url}/vfs/d/`,
          ]);
          assert.equal(r.code, 1, r.stderr);
          assert.deepEqual(messageLines(r.stderr), [
            `nfs4: ${proxy.url}/vfs/d/big: Permission denied (NFS4ERR_ACCESS)`,
          ]);
          assert.equal(proxy.opCount("REMOVE") - removes, 0, "no REMOVE of a temporary never made");
          assert.deepEqual(await fs.readdir(`${server.exportDir}/d`), []);
        });
      } finally {
        await fs.rm(local, { recursive: true, force: true });
      }
    },
  );
}
