/**
 * `nfs4 cp` where the destination holds a symlink at a name the copy
 * makes, against NFS-Ganesha, NFS → NFS, NFS → local and local → NFS:
 *
 * - `cp -r SRC DIR` with `DIR/SRC` (or a directory below it) a symlink:
 *   GNU cp says "cannot overwrite non-directory 'DIR/SRC' with directory
 *   'SRC'" and writes nothing through it; only the DIR typed is followed.
 * - `cp FILE LINK` and `cp FILE DIR` with `LINK` or `DIR/FILE` a symlink
 *   to FILE: "'FILE' and 'LINK' are the same file", the operands named as
 *   typed, not by the file the link led to.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { cpServerTest, tempDir } from "./_cp.ts";
import { messageLines, nfs4 } from "./_spawn.ts";

/**
 * Under `root`: `d/x`, `d/s/y`, an empty `out/`, `e/d -> ../out` (the
 * copy's top name a symlink), `e2/d/s -> ../../out` (a name inside the
 * tree), `dang -> nowhere`.
 */
async function makeSample(root: string): Promise<void> {
  await fs.mkdir(`${root}/d/s`, { recursive: true });
  await fs.writeFile(`${root}/d/x`, "x\n");
  await fs.writeFile(`${root}/d/s/y`, "y\n");
  await fs.mkdir(`${root}/out`);
  await fs.mkdir(`${root}/e`);
  await fs.symlink("../out", `${root}/e/d`);
  await fs.mkdir(`${root}/e2/d`, { recursive: true });
  await fs.symlink("../../out", `${root}/e2/d/s`);
  await fs.symlink("nowhere", `${root}/dang`);
}

cpServerTest(
  "nfs4 cp -r writes nothing through a symlink at a name it makes",
  async (server, t) => {
    const local = await tempDir();
    try {
      // A sample of its own for each direction (changed behind Ganesha's
      // back, a tree it has seen would answer with stale handles).
      const directions = [
        { name: "NFS → NFS", src: "nfs", dst: "nfs" },
        { name: "NFS → local", src: "nfs", dst: "local" },
        { name: "local → NFS", src: "local", dst: "nfs" },
      ] as const;
      for (const [i, direction] of directions.entries()) {
        const exported = `${server.exportDir}/links${i}`;
        const vfs = `${server.url}/vfs/links${i}`;
        const here = `${local}/links${i}`;
        await makeSample(exported);
        await makeSample(here);
        const src = direction.src === "nfs" ? vfs : here;
        const dst = direction.dst === "nfs" ? vfs : here;
        const dir = direction.dst === "nfs" ? exported : here;
        const name = direction.name;

        await t.step(`${name}: DIR/NAME a symlink to a directory`, async () => {
          const r = await nfs4(["cp", "-rv", `${src}/d`, `${dst}/e`]);
          assert.equal(r.code, 1, r.stderr);
          assert.deepEqual(messageLines(r.stderr), [
            `nfs4: cannot overwrite non-directory '${dst}/e/d' with directory '${src}/d'`,
          ]);
          assert.equal(r.stdout, "");
          assert.deepEqual(await fs.readdir(`${dir}/out`), []);
          assert.equal((await fs.lstat(`${dir}/e/d`)).isSymbolicLink(), true);
        });

        await t.step(`${name}: a symlink inside the tree it merges into`, async () => {
          const r = await nfs4(["cp", "-r", `${src}/d`, `${dst}/e2`]);
          assert.equal(r.code, 1, r.stderr);
          assert.deepEqual(messageLines(r.stderr), [
            `nfs4: cannot overwrite non-directory '${dst}/e2/d/s' with directory '${src}/d/s'`,
          ]);
          assert.deepEqual(await fs.readdir(`${dir}/out`), []);
          // The rest of the tree is still copied, as GNU cp copies it.
          assert.equal(await fs.readFile(`${dir}/e2/d/x`, "utf8"), "x\n");
        });

        await t.step(`${name}: a dangling symlink named as the destination`, async () => {
          const r = await nfs4(["cp", "-r", `${src}/d`, `${dst}/dang`]);
          assert.equal(r.code, 1, r.stderr);
          assert.deepEqual(messageLines(r.stderr), [
            `nfs4: cannot overwrite non-directory '${dst}/dang' with directory '${src}/d'`,
          ]);
          assert.equal(await fs.readlink(`${dir}/dang`), "nowhere");
        });
      }

      await t.step("a symlink named as the destination directory is followed", async () => {
        const exported = `${server.exportDir}/links0`;
        await fs.symlink("out", `${exported}/to-out`);
        const vfs = `${server.url}/vfs/links0`;
        const r = await nfs4(["cp", "-r", `${vfs}/d`, `${vfs}/to-out`]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await fs.readFile(`${exported}/out/d/s/y`, "utf8"), "y\n");
      });
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  },
);

cpServerTest("nfs4 cp names the operands as typed when they are the same file", async (server) => {
  const exported = `${server.exportDir}/same`;
  const vfs = `${server.url}/vfs/same`;
  await fs.mkdir(`${exported}/d`, { recursive: true });
  await fs.writeFile(`${exported}/a`, "a\n");
  await fs.symlink("a", `${exported}/sla`);
  await fs.symlink("../a", `${exported}/d/a`);
  // GNU: cp: 'a' and 'sla' are the same file
  const link = await nfs4(["cp", `${vfs}/a`, `${vfs}/sla`]);
  assert.equal(link.code, 1);
  assert.deepEqual(messageLines(link.stderr), [
    `nfs4: '${vfs}/a' and '${vfs}/sla' are the same file`,
  ]);
  // GNU: cp: 'a' and 'd/a' are the same file
  const into = await nfs4(["cp", `${vfs}/a`, `${vfs}/d`]);
  assert.equal(into.code, 1);
  assert.deepEqual(messageLines(into.stderr), [
    `nfs4: '${vfs}/a' and '${vfs}/d/a' are the same file`,
  ]);
  assert.equal(await fs.readFile(`${exported}/a`, "utf8"), "a\n");
});
