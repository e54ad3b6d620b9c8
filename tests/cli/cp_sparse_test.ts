/**
 * Sparse files keep their holes (issue 13 item 7): a 1 GiB file with 8 KiB
 * of data copied up, down and NFS→NFS stays a 1 GiB file with a few blocks
 * allocated (`st_blocks` on the export folder and the local side) and is
 * byte-identical (`cmp`); `--sparse=never` allocates every block;
 * `--sparse=always` makes holes of the zero runs of a file that had none,
 * as coreutils `cp --sparse=always` does, and `auto` leaves such a file
 * alone, as coreutils does.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { cpServerTest, tempDir, VERSIONS } from "./_cp.ts";
import { nfs4 } from "./_spawn.ts";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** A sparse file of `size` bytes with 4 KiB of random data at each of `offsets`. */
async function sparseFile(file: string, size: number, offsets: number[]): Promise<void> {
  const handle = await fs.open(file, "w");
  try {
    await handle.truncate(size);
    for (const offset of offsets) {
      await handle.write(crypto.getRandomValues(new Uint8Array(4096)), 0, 4096, offset);
    }
  } finally {
    await handle.close();
  }
}

/** Bytes allocated to `file` (st_blocks × 512). */
async function allocated(file: string): Promise<number> {
  return (await fs.stat(file)).blocks * 512;
}

async function same(a: string, b: string): Promise<boolean> {
  const out = await new Deno.Command("cmp", { args: ["-s", a, b] }).output();
  return out.code === 0;
}

async function coreutilsCp(args: string[]): Promise<void> {
  const out = await new Deno.Command("cp", { args, stderr: "piped" }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

for (const vers of VERSIONS) {
  cpServerTest(
    `nfs4 cp --vers ${vers}: holes are kept, --sparse=never|always`,
    async (server, t) => {
      const vfs = `${server.url}/vfs`;
      const exp = server.exportDir;
      const local = await tempDir();
      const cp = async (...args: string[]) => {
        const r = await nfs4(["--vers", vers, "cp", ...args]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, "");
        return r;
      };
      try {
        await sparseFile(`${local}/sparse`, GiB, [MiB, 700 * MiB]);
        assert.ok(await allocated(`${local}/sparse`) <= 64 * 1024, "the source is sparse");

        await t.step("upload: 1 GiB with 8 KiB of data stays sparse", async () => {
          await cp(`${local}/sparse`, `${vfs}/sparse`);
          assert.equal((await fs.stat(`${exp}/sparse`)).size, GiB);
          const used = await allocated(`${exp}/sparse`);
          assert.ok(used <= 64 * 1024, `${used} bytes allocated`);
          assert.ok(await same(`${local}/sparse`, `${exp}/sparse`));
        });

        await t.step("download: stays sparse", async () => {
          await cp(`${vfs}/sparse`, `${local}/down`);
          assert.equal((await fs.stat(`${local}/down`)).size, GiB);
          const used = await allocated(`${local}/down`);
          assert.ok(used <= 64 * 1024, `${used} bytes allocated`);
          assert.ok(await same(`${local}/sparse`, `${local}/down`));
        });

        await t.step("NFS → NFS: stays sparse", async () => {
          await cp(`${vfs}/sparse`, `${vfs}/sparse2`);
          const used = await allocated(`${exp}/sparse2`);
          assert.ok(used <= 64 * 1024, `${used} bytes allocated`);
          assert.ok(await same(`${local}/sparse`, `${exp}/sparse2`));
        });

        await t.step("in place over a file full of data: the holes read as zeros", async () => {
          await fs.writeFile(`${local}/old`, crypto.getRandomValues(new Uint8Array(65536)));
          await fs.link(`${local}/old`, `${local}/old.link`);
          await cp(`${vfs}/sparse`, `${local}/old`);
          assert.equal((await fs.stat(`${local}/old`)).nlink, 2);
          assert.ok(await allocated(`${local}/old`) <= 64 * 1024);
          assert.ok(await same(`${local}/sparse`, `${local}/old`));
          await fs.writeFile(`${exp}/old`, crypto.getRandomValues(new Uint8Array(65536)));
          await fs.link(`${exp}/old`, `${exp}/old.link`);
          await cp(`${local}/sparse`, `${vfs}/old`);
          assert.equal((await fs.stat(`${exp}/old`)).nlink, 2);
          assert.ok(await allocated(`${exp}/old`) <= 64 * 1024);
          assert.ok(await same(`${local}/sparse`, `${exp}/old`));
        });

        await t.step("--sparse=never writes every block", async () => {
          await sparseFile(`${local}/small-sparse`, 64 * MiB, [0, 32 * MiB]);
          await cp("--sparse=never", `${local}/small-sparse`, `${vfs}/never`);
          assert.ok(await allocated(`${exp}/never`) >= 64 * MiB);
          assert.ok(await same(`${local}/small-sparse`, `${exp}/never`));
          await cp("--sparse=never", `${vfs}/never`, `${local}/never`);
          assert.ok(await allocated(`${local}/never`) >= 64 * MiB);
        });

        await t.step(
          "--sparse=always makes holes of zero runs; auto leaves a dense file dense",
          async () => {
            // 1 MiB of data, 4 MiB of written zeros, 1 MiB of data, 8 KiB of zeros at the end.
            const dense = `${local}/dense`;
            const handle = await fs.open(dense, "w");
            await handle.write(
              crypto.getRandomValues(new Uint8Array(65536)).subarray(0),
              0,
              65536,
              0,
            );
            await handle.write(new Uint8Array(MiB - 65536), 0, MiB - 65536, 65536);
            await handle.write(new Uint8Array(4 * MiB), 0, 4 * MiB, MiB);
            const tail = new Uint8Array(MiB);
            for (let at = 0; at < MiB; at += 65536) {
              crypto.getRandomValues(tail.subarray(at, at + 65536));
            }
            await handle.write(tail, 0, MiB, 5 * MiB);
            await handle.write(new Uint8Array(8192), 0, 8192, 6 * MiB);
            await handle.close();
            const full = await allocated(dense);
            assert.ok(full >= 6 * MiB, "written in full");
            await coreutilsCp(["--sparse=always", dense, `${local}/dense.coreutils`]);
            const theirs = await allocated(`${local}/dense.coreutils`);

            await cp("--sparse=always", dense, `${vfs}/always`);
            await cp("--sparse=always", `${vfs}/always`, `${local}/always`);
            for (const file of [`${exp}/always`, `${local}/always`]) {
              assert.ok(await same(dense, file), file);
              const used = await allocated(file);
              assert.ok(used <= theirs + 64 * 1024, `${file}: ${used} bytes, coreutils ${theirs}`);
              assert.ok(used < 1.5 * MiB, `${file}: ${used} bytes allocated`);
            }
            await cp(dense, `${vfs}/auto`);
            assert.ok(
              await allocated(`${exp}/auto`) >= 6 * MiB,
              "auto: a dense source stays dense",
            );
            assert.ok(await same(dense, `${exp}/auto`));
          },
        );
      } finally {
        await fs.rm(local, { recursive: true, force: true });
      }
    },
  );
}
