/**
 * A server killed during an upload that does not come back: `nfs4 cp`
 * retries for the recovery time (the state manager's, 60 s at least), then
 * fails with one line naming the server and exit 1. The final name never
 * appears: only the temporary remains, which no one could remove from a
 * server that is gone.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import {
  cpServerTest,
  finish,
  spawnNfs4,
  tempDir,
  temporaries,
  temporaryOfSize,
  writeRandom,
} from "./_cp.ts";
import { messageLines } from "./_spawn.ts";

cpServerTest(
  "nfs4 cp: a server killed during an upload for good; the copy fails, no final name",
  async (server) => {
    const local = await tempDir();
    try {
      await writeRandom(`${local}/big`, 384 * 1024 * 1024);
      const started = Date.now();
      const child = spawnNfs4(["--timeout", "2", "cp", `${local}/big`, `${server.url}/vfs/big`]);
      const result = finish(child);
      await temporaryOfSize(server.exportDir, 32 * 1024 * 1024);
      await server.crash();
      const r = await result;
      assert.equal(r.code, 1, r.stderr);
      const lines = messageLines(r.stderr);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0]!,
        // Resent until the retry budget (4 x --timeout) ran out; the last try was refused.
        // The temporary it could not remove is named.
        new RegExp(
          `^nfs4: nfs://127\\.0\\.0\\.1:${server.port}/vfs/big: 127\\.0\\.0\\.1:${server.port}: ` +
            `server not responding: no reply in [0-9.]+ s ` +
            `\\(\\d+ tries, each waiting up to 2 s; last: Connection refused\\); its temporary ` +
            `nfs://127\\.0\\.0\\.1:${server.port}/vfs/(\\.big\\.nfs4-\\w{6}) may be left on the server ` +
            `\\(not removed, for the same reason\\)$`,
        ),
      );
      assert.ok(Date.now() - started < 120_000, "gave up within the recovery time");
      await assert.rejects(fs.stat(`${server.exportDir}/big`), { code: "ENOENT" });
      const named = /\/vfs\/(\.big\.nfs4-\w{6}) may be left/.exec(lines[0]!)![1];
      assert.deepEqual(
        await temporaries(server.exportDir),
        [named],
        "only the temporary named is left",
      );
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  },
);
