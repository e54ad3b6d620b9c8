/**
 * `nfs4 cp -p` from a server that does not give a file's times: Ganesha's
 * MEM FSAL lists time_access and time_modify in supported_attrs (RFC 7530
 * §5.8.2.37, §5.8.2.44) and leaves them out of every GETATTR. The times
 * cannot be kept, and that is said as a warning per file, naming the copy
 * and what the server did not give, as an owner that cannot be given is
 * (README, cp: a warning, not a failure: exit 0, counted in --json's
 * "warnings"). Before, the copy silently kept the time it was made, while
 * `nfs4 touch -r` of the same file said the server did not give its times.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { cpServerTest, tempDir } from "./_cp.ts";
import { messageLines, nfs4 } from "./_spawn.ts";

cpServerTest(
  "nfs4 cp -p from a server that gives no times: a warning per file naming the times missing, exit 0 (RFC 7530 §5.8.2.44 time_modify)",
  async (server, t) => {
    const mem = `${server.url}/mem`;
    const local = await tempDir();
    try {
      await fs.writeFile(`${local}/f`, "");
      await fs.mkdir(`${local}/d`);
      await fs.writeFile(`${local}/d/g`, "");
      const made = await nfs4(["cp", "-r", `${local}/f`, `${local}/d`, `${mem}/`]);
      assert.equal(made.code, 0, made.stderr);
      // The premise: this server gives no times (touch -r says so and fails).
      const touched = await nfs4(["touch", "-r", `${mem}/f`, `${mem}/f`]);
      assert.equal(touched.code, 1, touched.stderr);
      assert.match(touched.stderr, /did not give its access and modification times/);
      await fs.mkdir(`${local}/out`);

      await t.step("a file", async () => {
        const r = await nfs4(["cp", "-p", `${mem}/f`, `${local}/out/f`]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(messageLines(r.stderr), [
          `nfs4: warning: ${local}/out/f: cannot preserve times: ` +
          `the server did not give the access and modification times of ${mem}/f`,
        ]);
      });

      await t.step(
        "a tree: the file in it (its directory has times), counted in --json",
        async () => {
          const r = await nfs4(["cp", "-rp", "--json", `${mem}/d`, `${local}/out/d`]);
          assert.equal(r.code, 0, r.stderr);
          // MEM gives a directory's times: only the file's are missing.
          assert.deepEqual(messageLines(r.stderr), [
            `nfs4: warning: ${local}/out/d/g: cannot preserve times: ` +
            `the server did not give the access and modification times of ${mem}/d/g`,
          ]);
          const summary = JSON.parse(r.stdout);
          assert.equal(summary.warnings, 1);
          assert.equal(summary.errors, 0);
        },
      );

      await t.step("without -p nothing is said", async () => {
        const r = await nfs4(["cp", "-r", `${mem}/d`, `${local}/out/plain`]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, "");
      });
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  },
);
