/**
 * A copy that is interrupted never leaves a destination that looks
 * complete: Ctrl-C (SIGINT) in the middle of an upload or a download removes
 * the temporary and exits 130; a server killed in the middle of an upload
 * and started again within the timeout gets the WRITEs it may have lost sent
 * again (the COMMIT verifier changed), and the copy completes byte for byte.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import {
  cpServerTest,
  finish,
  sha256File,
  spawnNfs4,
  tempDir,
  temporaries,
  temporaryOfSize,
  VERSIONS,
  waitFor,
  writeRandom,
} from "./_cp.ts";
import { messageLines } from "./_spawn.ts";

const BIG = 512 * 1024 * 1024;

let bigDir: string | undefined;
let bigFile: Promise<{ path: string; sha256: string }> | undefined;

/** One 512 MiB random file for the whole test file. */
function big(): Promise<{ path: string; sha256: string }> {
  bigFile ??= (async () => {
    bigDir = await tempDir("nfs4-cp-big-");
    const path = `${bigDir}/big`;
    return { path, sha256: await writeRandom(path, BIG) };
  })();
  return bigFile;
}

globalThis.addEventListener("unload", () => {
  if (bigDir) Deno.removeSync(bigDir, { recursive: true });
});

cpServerTest(
  "nfs4 cp: Ctrl-C during an upload removes the temporary and exits 130",
  async (server) => {
    const source = await big();
    const child = spawnNfs4(["cp", source.path, `${server.url}/vfs/big`]);
    const result = finish(child);
    await temporaryOfSize(server.exportDir, 16 * 1024 * 1024);
    child.kill("SIGINT");
    const r = await result;
    assert.equal(r.code, 130, r.stderr);
    assert.equal(r.stderr, "");
    await assert.rejects(fs.stat(`${server.exportDir}/big`), { code: "ENOENT" });
    assert.deepEqual(await temporaries(server.exportDir), []);
  },
);

cpServerTest("nfs4 cp: Ctrl-C during a download removes the local temporary", async (server) => {
  const source = await big();
  await fs.copyFile(source.path, `${server.exportDir}/big`);
  const local = await tempDir();
  try {
    const child = spawnNfs4(["cp", `${server.url}/vfs/big`, `${local}/big`]);
    const result = finish(child);
    await temporaryOfSize(local, 16 * 1024 * 1024);
    child.kill("SIGINT");
    const r = await result;
    assert.equal(r.code, 130, r.stderr);
    await assert.rejects(fs.stat(`${local}/big`), { code: "ENOENT" });
    assert.deepEqual(await temporaries(local), []);
  } finally {
    await fs.rm(local, { recursive: true, force: true });
  }
});

for (const vers of VERSIONS) {
  cpServerTest(
    `nfs4 cp --vers ${vers}: a server killed during an upload and back in time; the copy completes`,
    async (server) => {
      const source = await big();
      const child = spawnNfs4([
        "--vers",
        vers,
        "cp",
        "--json",
        source.path,
        `${server.url}/vfs/big`,
      ]);
      const result = finish(child);
      const temp = await temporaryOfSize(server.exportDir, 64 * 1024 * 1024);
      await server.crash();
      const finalExisted = await fs.stat(`${server.exportDir}/big`).then(() => true, () => false);
      // Whatever the client does meanwhile, no final name with partial content.
      assert.ok(!finalExisted, "the final name appears only after the copy");
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await server.start();
      const r = await result;
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(messageLines(r.stderr), []);
      const summary = JSON.parse(r.stdout);
      assert.equal(summary.bytes, BIG);
      // The server lost what it had not committed: the client saw the new verifier and resent.
      assert.ok(summary.resentWrites > 0, `WRITEs resent after the restart: ${r.stdout}`);
      assert.equal(await sha256File(`${server.exportDir}/big`), source.sha256);
      await assert.rejects(fs.stat(`${server.exportDir}/${temp}`), { code: "ENOENT" });
      await waitFor(
        async () => (await temporaries(server.exportDir)).length === 0 ? true : undefined,
        5000,
        "no temporaries",
      );
    },
  );
}
