/**
 * `nfs4 cp FIFO URL` and `nfs4 cp CHARDEV URL` without `-r` read the local
 * fifo or device and copy its data into a regular file, as GNU cp does
 * (`cp <(cmd) URL`; POSIX cp copies the contents of a non-directory
 * source without -R): read as stdin is, to its end of file, with no size
 * known before. An earlier nfs4 refused them ("not a regular file ... use
 * -r to recreate it"), and -r made something else: a symlink to
 * `pipe:[N]` for `<(cmd)`. With -r a fifo is still recreated, and a fifo
 * on the server is still refused (OPEN takes regular files only, RFC 7530
 * §16.16).
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import {
  cpServerTest,
  finish,
  sha256File,
  spawnNfs4,
  tempDir,
  VERSIONS,
  writeRandom,
} from "./_cp.ts";
import { messageLines, nfs4 } from "./_spawn.ts";

async function mkfifo(path: string): Promise<void> {
  const out = await new Deno.Command("mkfifo", { args: [path], stderr: "piped" }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

/**
 * Writes `file` into `fifo` from a child given 60 s: a copy that never
 * opens the fifo leaves the writer waiting, and the test fails instead of
 * hanging.
 */
async function feedFifo(fifo: string, file: string): Promise<void> {
  const out = await new Deno.Command("timeout", {
    args: ["60", "sh", "-c", 'cat "$1" > "$2"', "sh", file, fifo],
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, `writing ${fifo}: exit ${out.code} (124: no reader in 60 s)`);
}

for (const vers of VERSIONS) {
  cpServerTest(
    `nfs4 cp --vers ${vers} reads a local fifo or character device named without -r, as GNU cp does`,
    async (server, t) => {
      const dir = await tempDir();
      const url = `${server.url}/vfs`;
      try {
        await t.step(
          "a fifo: the file holds every byte written into it (-v names the fifo)",
          async () => {
            const data = `${dir}/data.bin`;
            const sha = await writeRandom(data, 3 * 1024 * 1024 + 5);
            const fifo = `${dir}/fifo`;
            await mkfifo(fifo);
            const child = spawnNfs4(["--vers", vers, "cp", "-v", fifo, `${url}/from-fifo`]);
            const [r] = await Promise.all([finish(child), feedFifo(fifo, data)]);
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stdout, `'${fifo}' -> '${url}/from-fifo'\n`);
            const made = await fs.lstat(`${server.exportDir}/from-fifo`);
            assert.ok(made.isFile(), "a regular file");
            assert.equal(await sha256File(`${server.exportDir}/from-fifo`), sha);
            assert.ok((await fs.lstat(fifo)).isFIFO(), "the source is still a fifo");
          },
        );

        await t.step("a character device (/dev/null): an empty regular file", async () => {
          const r = await nfs4(["--vers", vers, "cp", "/dev/null", `${url}/from-null`]);
          assert.equal(r.code, 0, r.stderr);
          const made = await fs.lstat(`${server.exportDir}/from-null`);
          assert.ok(made.isFile(), "a regular file");
          assert.equal(made.size, 0);
        });

        await t.step("-r: a local fifo is still recreated as a fifo, nothing read", async () => {
          const fifo = `${dir}/fifo-r`;
          await mkfifo(fifo);
          const r = await nfs4(["--vers", vers, "cp", "-r", fifo, `${url}/fifo-r`]);
          assert.equal(r.code, 0, r.stderr);
          assert.ok((await fs.lstat(`${server.exportDir}/fifo-r`)).isFIFO(), "a fifo");
        });

        await t.step("a fifo on the server is still refused without -r", async () => {
          await mkfifo(`${server.exportDir}/srv-fifo`);
          const r = await nfs4(["--vers", vers, "cp", `${url}/srv-fifo`, `${dir}/got`]);
          assert.equal(r.code, 1);
          assert.deepEqual(messageLines(r.stderr), [
            `nfs4: ${url}/srv-fifo: not a regular file, directory or symlink (fifo); use -r to recreate it`,
          ]);
          await assert.rejects(fs.lstat(`${dir}/got`), { code: "ENOENT" });
          await fs.rm(`${server.exportDir}/srv-fifo`);
        });
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    },
  );
}
