/**
 * `nfs4 cp` onto an existing fifo or device writes into it, as coreutils
 * `cp` does (`cp f /dev/null` writes to /dev/null), and never replaces it
 * with a regular file: an earlier nfs4 wrote a temporary and renamed it over
 * the destination, which as root turned /dev/null into a regular file. On
 * 4.0 and 4.1: a local fifo gets every byte (holes as zeros), a local
 * character device (root only: a private copy of /dev/null made with mknod)
 * keeps its kind, numbers and mode even under `-p`, and a fifo on the server
 * is refused (NFS writes regular files only) and stays.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { cpServerTest, sha256File, tempDir, VERSIONS, writeRandom } from "./_cp.ts";
import { messageLines, nfs4 } from "./_spawn.ts";

async function run(command: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command(command, { args, stderr: "piped" }).output();
  assert.equal(
    out.code,
    0,
    `${command} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`,
  );
}

const isRoot = Deno.uid() === 0;

/**
 * The SHA-256 of what a reader of `fifo` receives, read by a child given 60
 * s: a copy that replaced the fifo leaves its reader waiting, and the test
 * fails instead of hanging.
 */
async function readFifo(fifo: string): Promise<string> {
  const out = await new Deno.Command("timeout", {
    args: ["60", "sh", "-c", 'sha256sum < "$1"', "sh", fifo],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, `reading ${fifo}: exit ${out.code} (124: nothing came in 60 s)`);
  return new TextDecoder().decode(out.stdout).split(" ")[0]!;
}

for (const vers of VERSIONS) {
  cpServerTest(
    `nfs4 cp --vers ${vers} writes into an existing fifo or device, never replacing it`,
    async (server, t) => {
      const dir = await tempDir();
      const url = `${server.url}/vfs`;
      try {
        const sha = await writeRandom(`${server.exportDir}/data.bin`, 3 * 1024 * 1024 + 5);
        // 2 MiB of hole, then 1000 bytes of data, then 1 MiB of hole.
        const sparse = await fs.open(`${server.exportDir}/sparse.bin`, "w");
        await sparse.write(new Uint8Array(1000).fill(0x78), 0, 1000, 2 * 1024 * 1024);
        await sparse.truncate(4 * 1024 * 1024);
        await sparse.close();
        const sparseSha = await sha256File(`${server.exportDir}/sparse.bin`);

        await t.step("into a local fifo: the reader gets every byte, the fifo stays", async () => {
          const fifo = `${dir}/fifo`;
          await run("mkfifo", fifo);
          const read = readFifo(fifo);
          const r = await nfs4(["--vers", vers, "cp", `${url}/data.bin`, fifo]);
          assert.equal(r.code, 0, r.stderr);
          assert.equal(await read, sha);
          assert.ok((await fs.lstat(fifo)).isFIFO(), "still a fifo");
          assert.deepEqual((await fs.readdir(dir)).sort(), ["fifo"], "no temporary left");
        });

        await t.step("a sparse file into a fifo: its holes arrive as zeros", async () => {
          const fifo = `${dir}/fifo-sparse`;
          await run("mkfifo", fifo);
          const read = readFifo(fifo);
          const r = await nfs4([
            "--vers",
            vers,
            "cp",
            "--sparse=always",
            `${url}/sparse.bin`,
            fifo,
          ]);
          assert.equal(r.code, 0, r.stderr);
          assert.equal(await read, sparseSha);
          assert.ok((await fs.lstat(fifo)).isFIFO(), "still a fifo");
        });

        await t.step({
          name: "into a character device, with -p: kind, numbers and mode stay",
          ignore: !isRoot,
          fn: async () => {
            const device = `${dir}/null`;
            await run("mknod", "-m", "640", device, "c", "1", "3");
            const before = await fs.lstat(device);
            const r = await nfs4(["--vers", vers, "cp", "-p", `${url}/data.bin`, device]);
            assert.equal(r.code, 0, r.stderr);
            const after = await fs.lstat(device);
            assert.ok(after.isCharacterDevice(), "still a character device");
            assert.equal(after.rdev, before.rdev);
            assert.equal(after.mode, before.mode);
            assert.equal(after.ino, before.ino);
          },
        });

        await t.step("onto a fifo on the server: refused, and the fifo stays", async () => {
          await run("mkfifo", `${server.exportDir}/remote-fifo`);
          await fs.writeFile(`${dir}/local.txt`, "local\n");
          const r = await nfs4(["--vers", vers, "cp", `${dir}/local.txt`, `${url}/remote-fifo`]);
          assert.equal(r.code, 1, r.stderr);
          assert.deepEqual(messageLines(r.stderr), [
            `nfs4: cannot overwrite special file '${url}/remote-fifo' (a fifo)`,
          ]);
          assert.ok((await fs.lstat(`${server.exportDir}/remote-fifo`)).isFIFO(), "still a fifo");
        });
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    },
  );
}
