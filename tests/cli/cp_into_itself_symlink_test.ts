/**
 * `nfs4 cp -r DIR DEST` where DEST does not exist yet and lies inside DIR
 * only through a symlink on the server (`la -> a`, `cp -r a la/sub/new`) is
 * refused, as GNU cp refuses it (`cannot copy a directory, 'a', into
 * itself, 'la/sub/new'`, exit 1), and nothing is created. An earlier nfs4
 * compared the paths as written on the server side (the local side went
 * through realpath(3)), copied `a` into `a/sub/new` and exited 0. The
 * server's walk resolves the symlinks (RFC 7530 §4.2.1, each LOOKUP of a
 * symlink followed by its READLINK); a copy next to DIR through a symlink
 * still works.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { cpServerTest, VERSIONS } from "./_cp.ts";
import { messageLines, nfs4 } from "./_spawn.ts";

/** Every path under `root`, relative to it, sorted. */
async function listTree(root: string): Promise<string[]> {
  const names = await fs.readdir(root, { recursive: true });
  return names.map(String).sort();
}

for (const vers of VERSIONS) {
  cpServerTest(
    `nfs4 cp --vers ${vers} -r: a directory into itself through a server symlink (RFC 7530 §4.2.1 walk) is refused, nothing created`,
    async (server, t) => {
      const vfs = `${server.url}/vfs`;
      const dir = server.exportDir;
      await fs.mkdir(`${dir}/a/sub`, { recursive: true });
      await fs.writeFile(`${dir}/a/f`, "x\n");
      await fs.mkdir(`${dir}/b`);
      await fs.symlink("a", `${dir}/la`);
      await fs.symlink("b", `${dir}/lb`);
      // `up` leads back to the export's top: `b/up/la` is `a` again, two links deep.
      await fs.symlink("..", `${dir}/b/up`);
      const before = await listTree(`${dir}/a`);

      const refused = async (dest: string, shown = dest): Promise<void> => {
        const r = await nfs4(["--vers", vers, "cp", "-r", `${vfs}/a`, `${vfs}/${dest}`]);
        assert.equal(r.code, 1, `cp -r a ${dest}: ${r.stderr}`);
        assert.deepEqual(messageLines(r.stderr), [
          `nfs4: cannot copy a directory, '${vfs}/a', into itself, '${vfs}/${shown}'`,
        ]);
        assert.deepEqual(await listTree(`${dir}/a`), before, `cp -r a ${dest} created nothing`);
      };

      await t.step("a new name under a symlink to the source", async () => {
        await refused("la/sub/new");
      });
      await t.step("the same, named with a trailing slash", async () => {
        await refused("la/sub/new/", "la/sub/new");
      });
      await t.step("through two symlinks", async () => {
        await refused("b/up/la/sub/new");
      });
      await t.step("below a directory that does not exist yet", async () => {
        // The nearest existing ancestor (`la/sub`) is resolved, as nfs4
        // already refuses `cp -r a a/sub/q/new`.
        await refused("la/sub/q/new");
      });
      await t.step("the source named through the symlink, the destination as written", async () => {
        const r = await nfs4(["--vers", vers, "cp", "-r", `${vfs}/la/`, `${vfs}/a/sub/new`]);
        assert.equal(r.code, 1, r.stderr);
        assert.deepEqual(messageLines(r.stderr), [
          `nfs4: cannot copy a directory, '${vfs}/la/', into itself, '${vfs}/a/sub/new'`,
        ]);
        assert.deepEqual(await listTree(`${dir}/a`), before);
      });
      await t.step("a copy next to the source through a symlink is made", async () => {
        const r = await nfs4(["--vers", vers, "cp", "-r", `${vfs}/a`, `${vfs}/lb/copy`]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, "");
        assert.deepEqual(await listTree(`${dir}/b/copy`), before);
        assert.equal(await fs.readFile(`${dir}/b/copy/f`, "utf8"), "x\n");
      });
    },
  );
}
