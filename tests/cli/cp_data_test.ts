/**
 * `nfs4 cp` moves bytes exactly, in every direction: local → NFS, NFS →
 * local, NFS → NFS (one server and two), stdin → NFS and NFS → stdout, for
 * files of 0, 1, 1 MiB - 1, 1 MiB + 1 and 256 MiB of random data, on NFSv4.0
 * and 4.1 against NFS-Ganesha. Contents are compared by SHA-256.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { withServer } from "../_server.ts";
import {
  cpServerTest,
  finish,
  nfs4WithStdin,
  sha256File,
  SIZES,
  spawnNfs4,
  tempDir,
  temporaries,
  VERSIONS,
  writeRandom,
} from "./_cp.ts";
import { nfs4 } from "./_spawn.ts";

/** The random source files, made once for the whole file: name, size, SHA-256. */
interface Sample {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly path: string;
}

let samplesDir: string | undefined;
let samples: Promise<Sample[]> | undefined;

function makeSamples(): Promise<Sample[]> {
  samples ??= (async () => {
    samplesDir = await tempDir("nfs4-cp-data-");
    const out: Sample[] = [];
    for (const size of SIZES) {
      const name = `f${size}`;
      const path = `${samplesDir}/${name}`;
      out.push({ name, size, path, sha256: await writeRandom(path, size) });
    }
    return out;
  })();
  return samples;
}

globalThis.addEventListener("unload", () => {
  if (samplesDir) Deno.removeSync(samplesDir, { recursive: true });
});

async function assertCopies(dir: string, files: readonly Sample[]): Promise<void> {
  for (const file of files) {
    const st = await fs.stat(`${dir}/${file.name}`);
    assert.equal(st.size, file.size, `${file.name}: size`);
    assert.equal(await sha256File(`${dir}/${file.name}`), file.sha256, `${file.name}: contents`);
  }
  assert.deepEqual(await temporaries(dir), [], "no temporaries left");
}

for (const vers of VERSIONS) {
  cpServerTest(
    `nfs4 cp --vers ${vers} copies byte for byte in every direction`,
    async (server, t) => {
      const files = await makeSamples();
      const vfs = `${server.url}/vfs`;
      const local = await tempDir();
      try {
        await t.step("local → NFS (several sources into a directory)", async () => {
          await fs.mkdir(`${server.exportDir}/in`);
          const r = await nfs4(["--vers", vers, "cp", ...files.map((f) => f.path), `${vfs}/in`]);
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stderr, "");
          await assertCopies(`${server.exportDir}/in`, files);
        });

        await t.step("NFS → local", async () => {
          await fs.mkdir(`${local}/out`);
          const r = await nfs4([
            "--vers",
            vers,
            "cp",
            ...files.map((f) => `${vfs}/in/${f.name}`),
            `${local}/out/`,
          ]);
          assert.equal(r.code, 0, r.stderr);
          await assertCopies(`${local}/out`, files);
        });

        await t.step("NFS → NFS on the same server", async () => {
          await fs.mkdir(`${server.exportDir}/copy`);
          const r = await nfs4([
            "--vers",
            vers,
            "cp",
            ...files.map((f) => `${vfs}/in/${f.name}`),
            `${vfs}/copy`,
          ]);
          assert.equal(r.code, 0, r.stderr);
          await assertCopies(`${server.exportDir}/copy`, files);
        });

        await t.step("stdin → NFS", async () => {
          await fs.mkdir(`${server.exportDir}/stdin`);
          for (const file of files) {
            const r = await nfs4WithStdin(
              ["--vers", vers, "cp", "-", `${vfs}/stdin/${file.name}`],
              file.path,
            );
            assert.equal(r.code, 0, r.stderr);
          }
          await assertCopies(`${server.exportDir}/stdin`, files);
        });

        await t.step("NFS → stdout", async () => {
          for (const file of files) {
            const r = await finish(
              spawnNfs4(["--vers", vers, "cp", `${vfs}/in/${file.name}`, "-"]),
            );
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stderr, "");
            assert.equal(r.stdoutSize, file.size, `${file.name}: size`);
            assert.equal(r.stdoutSha256, file.sha256, `${file.name}: contents`);
          }
        });
      } finally {
        await fs.rm(local, { recursive: true, force: true });
      }
    },
  );

  cpServerTest(`nfs4 cp --vers ${vers} copies between two servers`, async (first, t) => {
    const files = await makeSamples();
    await withServer(async (second) => {
      await fs.mkdir(`${first.exportDir}/src`);
      for (const file of files) await fs.copyFile(file.path, `${first.exportDir}/src/${file.name}`);
      await t.step("files", async () => {
        await fs.mkdir(`${second.exportDir}/dst`);
        const r = await nfs4([
          "--vers",
          vers,
          "cp",
          ...files.map((f) => `${first.url}/vfs/src/${f.name}`),
          `${second.url}/vfs/dst`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        await assertCopies(`${second.exportDir}/dst`, files);
      });
      await t.step("a tree with -r (the directory created on the second server)", async () => {
        const r = await nfs4([
          "--vers",
          vers,
          "cp",
          "-r",
          `${first.url}/vfs/src`,
          `${second.url}/vfs/tree`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        await assertCopies(`${second.exportDir}/tree`, files);
      });
    });
  });
}
