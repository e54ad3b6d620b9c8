/**
 * scripts/build.ts's start-up flags: the single binary takes nothing from the
 * directory it runs in. Bun's compiled programs load `bunfig.toml` (whose
 * `preload` runs code) and `.env` (the environment) from there unless told
 * not to. (That every command still runs in the binary: tests/cli/binary_test.ts.)
 */

import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "../../scripts/build.ts";
import { serverTest } from "../_server.ts";

serverTest(
  "build() makes a binary that loads no bunfig.toml and no .env from its working directory",
  async (server) => {
    const work = mkdtempSync(join(tmpdir(), "nfs4-build-"));
    try {
      const { outfile } = build(join(work, "nfs4"));
      const cwd = join(work, "cwd");
      mkdirSync(cwd);
      const marker = join(work, "preload-ran");
      writeFileSync(join(cwd, "bunfig.toml"), 'preload = ["./preload.js"]\n');
      writeFileSync(
        join(cwd, "preload.js"),
        `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran");\n`,
      );
      // `ls -l` shows it when TIME_STYLE comes from the .env.
      writeFileSync(join(cwd, ".env"), "TIME_STYLE=+from-dotenv\n");
      writeFileSync(join(server.exportDir, "a.txt"), "a\n");

      const out = await new Deno.Command(outfile, {
        args: ["ls", "-l", `${server.url}/vfs`],
        cwd,
        clearEnv: true,
        env: { PATH: "/usr/bin:/bin", HOME: work, TMPDIR: tmpdir() },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      assert.match(stdout, / a\.txt$/m);
      assert.doesNotMatch(stdout, /from-dotenv/);
      assert.equal(stderr, "");
      assert.ok(!existsSync(marker), "the preload of bunfig.toml ran");
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
);
