/**
 * What `nfs4 cp` prints: `--json` prints its object also when the copy
 * fails before any file (a missing source, a server that does not answer,
 * several sources and no directory), with the messages and the counts;
 * `-u` copies only newer sources; `-v` prints `'SRC' -> 'DST'` lines as
 * coreutils `cp -v` does (on stderr when stdout carries the JSON).
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { cpServerTest, tempDir, VERSIONS } from "./_cp.ts";
import { freePort, messageLines, nfs4 } from "./_spawn.ts";

Deno.test({
  name: "nfs4 cp --json: an unreachable server still gives the JSON object",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const local = await tempDir();
    try {
      await fs.writeFile(`${local}/a`, "a\n");
      const port = await freePort();
      const r = await nfs4(["cp", "--json", `${local}/a`, `nfs://127.0.0.1:${port}/vfs/a`]);
      assert.equal(r.code, 1);
      const summary = JSON.parse(r.stdout);
      assert.equal(summary.errors, 1);
      assert.equal(summary.files, 0);
      assert.equal(summary.skippedSpecial, 0);
      assert.deepEqual(summary.errorMessages, [`127.0.0.1:${port}: Connection refused`]);
      assert.deepEqual(messageLines(r.stderr), [`nfs4: 127.0.0.1:${port}: Connection refused`]);
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  },
});

for (const vers of VERSIONS) {
  cpServerTest(`nfs4 cp --vers ${vers}: --json on early failures, -u, -v`, async (server, t) => {
    const vfs = `${server.url}/vfs`;
    const exp = server.exportDir;
    const local = await tempDir();
    const cp = (...args: string[]) => nfs4(["--vers", vers, "cp", ...args]);
    try {
      await fs.writeFile(`${local}/a`, "a\n");
      await fs.writeFile(`${local}/b`, "b\n");

      await t.step("--json: a missing source", async () => {
        const r = await cp("--json", `${local}/missing`, `${vfs}/`);
        assert.equal(r.code, 1);
        const summary = JSON.parse(r.stdout);
        assert.equal(summary.errors, 1);
        assert.equal(summary.files, 0);
        assert.deepEqual(summary.errorMessages, [`${local}/missing: No such file or directory`]);
      });

      await t.step("--json: several sources and no directory", async () => {
        const r = await cp("--json", `${local}/a`, `${local}/b`, `${vfs}/nodir`);
        assert.equal(r.code, 1);
        const summary = JSON.parse(r.stdout);
        assert.equal(summary.errors, 1);
        assert.equal(summary.errorMessages.length, 1);
        assert.match(summary.errorMessages[0], /nodir.*No such file or directory/);
      });

      await t.step("--json: a good file and a missing one: both counted", async () => {
        const r = await cp("--json", `${local}/a`, `${vfs}/missing-dir/x`);
        assert.equal(r.code, 1);
        const summary = JSON.parse(r.stdout);
        assert.equal(summary.errors, 1);
        const mixed = await cp("--json", `${local}/a`, `${local}/missing`, `${vfs}/`);
        assert.equal(mixed.code, 1);
        const both = JSON.parse(mixed.stdout);
        assert.equal(both.files, 1);
        assert.equal(both.errors, 1);
      });

      await t.step("-u: copies only a newer source, both ways", async () => {
        const old = new Date("2001-01-01T00:00:00Z");
        const newer = new Date("2030-01-01T00:00:00Z");
        // Destination newer than the source: left alone, counted as skipped.
        await fs.writeFile(`${exp}/u1`, "kept\n");
        await fs.utimes(`${exp}/u1`, newer, newer);
        await fs.writeFile(`${local}/u1`, "kept\n");
        await fs.utimes(`${local}/u1`, newer, newer);
        await fs.utimes(`${local}/a`, old, old);
        let r = await cp("-u", "--json", `${local}/a`, `${vfs}/u1`);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout).skipped, 1);
        assert.equal(await fs.readFile(`${exp}/u1`, "utf8"), "kept\n");
        await fs.writeFile(`${exp}/a`, "a\n");
        await fs.utimes(`${exp}/a`, old, old);
        r = await cp("-u", `${vfs}/a`, `${local}/u1`);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await fs.readFile(`${local}/u1`, "utf8"), "kept\n");
        // Destination older: copied; missing: copied.
        await fs.utimes(`${exp}/u1`, old, new Date("2000-01-01T00:00:00Z"));
        await fs.utimes(`${local}/a`, newer, newer);
        r = await cp("-u", "--json", `${local}/a`, `${vfs}/u1`);
        assert.equal(JSON.parse(r.stdout).files, 1);
        assert.equal(await fs.readFile(`${exp}/u1`, "utf8"), "a\n");
        r = await cp("-u", `${local}/a`, `${vfs}/u-missing`);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await fs.readFile(`${exp}/u-missing`, "utf8"), "a\n");
      });

      await t.step("-v: the lines coreutils cp -v prints", async () => {
        // A small tree, copied by coreutils locally and by nfs4 up and down.
        const src = path.join(local, "tree");
        await fs.mkdir(`${src}/sub`, { recursive: true });
        await fs.writeFile(`${src}/f`, "f\n");
        await fs.writeFile(`${src}/sub/g`, "g\n");
        await fs.symlink("f", `${src}/link`);
        const ref = await new Deno.Command("cp", {
          args: ["-rv", "tree", "ref"],
          cwd: local,
          stdout: "piped",
        }).output();
        const theirs = new TextDecoder().decode(ref.stdout).trim().split("\n")
          .map((line) => line.replaceAll("'ref", "'DST").replaceAll("'tree", "'SRC")).sort();

        const up = await cp("-rv", src, `${vfs}/vtree`);
        assert.equal(up.code, 0, up.stderr);
        const ours = up.stdout.trim().split("\n")
          .map((line) => line.replaceAll(`'${vfs}/vtree`, "'DST").replaceAll(`'${src}`, "'SRC"))
          .sort();
        assert.deepEqual(ours, theirs);

        const down = await cp("-rv", `${vfs}/vtree`, `${local}/dtree`);
        assert.equal(down.code, 0, down.stderr);
        const back = down.stdout.trim().split("\n")
          .map((line) =>
            line.replaceAll(`'${local}/dtree`, "'DST").replaceAll(`'${vfs}/vtree`, "'SRC")
          )
          .sort();
        assert.deepEqual(back, theirs);

        const one = await cp("-v", `${local}/b`, `${vfs}/`);
        assert.equal(one.stdout, `'${local}/b' -> '${vfs}/b'\n`);
        // With --json the lines go to stderr and stdout stays one JSON object.
        const json = await cp("-v", "--json", `${local}/b`, `${vfs}/b2`);
        assert.equal(json.code, 0, json.stderr);
        assert.equal(JSON.parse(json.stdout).files, 1);
        assert.equal(json.stderr, `'${local}/b' -> '${vfs}/b2'\n`);
        // A skipped file (-n) prints nothing, as coreutils 9.1.
        const skipped = await cp("-vn", `${local}/b`, `${vfs}/b2`);
        assert.equal(skipped.stdout, "");
      });
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  });
}
