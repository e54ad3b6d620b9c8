/**
 * The single binary (`deno task build` → dist/nfs4) runs every subcommand
 * against Ganesha with no Deno, Node or Bun on the PATH: it is
 * self-contained.
 */

import assert from "node:assert/strict";
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "../../scripts/build.ts";
import { serverTest } from "../_server.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

/** A PATH with only the few plain tools the smoke test's commands use. */
function barePath(): string {
  const dir = mkdtempSync(join(tmpdir(), "nfs4-bare-path-"));
  for (const tool of ["sh", "true", "cat", "echo"]) symlinkSync(`/bin/${tool}`, join(dir, tool));
  return dir;
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function runBinary(binary: string, path: string, args: string[]): Promise<Result> {
  const out = await new Deno.Command(binary, {
    args,
    clearEnv: true,
    env: { PATH: path, HOME: tmpdir(), TMPDIR: tmpdir() },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

serverTest(
  "the single binary runs every subcommand with no Deno, Node or Bun on the PATH",
  async (server) => {
    const work = mkdtempSync(join(tmpdir(), "nfs4-binary-"));
    const path = barePath();
    try {
      const { outfile } = build(join(work, "nfs4"));
      for (const runtime of ["deno", "node", "bun"]) {
        const which = await new Deno.Command("/bin/sh", {
          args: ["-c", `command -v ${runtime}`],
          clearEnv: true,
          env: { PATH: path },
        }).output();
        assert.notEqual(which.code, 0, `${runtime} must not be on the PATH`);
      }
      const nfs4 = (...args: string[]) => runBinary(outfile, path, args);
      const url = `${server.url}/vfs`;
      writeFileSync(join(server.exportDir, "hello.txt"), "hello from the binary\n");

      const version = await nfs4("--version");
      assert.equal(version.code, 0);
      assert.match(
        version.stdout,
        /^nfs4 \d+\.\d+\.\d+ \(\S+ \d{4}-\d\d-\d\d; single binary, bun /,
      );

      const help = await nfs4("--help");
      assert.equal(help.code, 0);
      for (
        const command of [
          "ls",
          "cat",
          "cp",
          "lock",
          "renew-watch",
          "simulate-reboot",
          "completions",
        ]
      ) {
        assert.match(help.stdout, new RegExp(`^  ${command}\\b`, "m"), `--help lists ${command}`);
      }

      const ls = await nfs4("ls", "-l", url);
      assert.equal(ls.code, 0, ls.stderr);
      assert.match(ls.stdout, /hello\.txt$/m);

      const cat = await nfs4("cat", `${url}/hello.txt`);
      assert.equal(cat.code, 0, cat.stderr);
      assert.equal(cat.stdout, "hello from the binary\n");

      const local = join(work, "copy.txt");
      const down = await nfs4("cp", `${url}/hello.txt`, local);
      assert.equal(down.code, 0, down.stderr);
      assert.equal(readFileSync(local, "utf8"), "hello from the binary\n");
      const up = await nfs4("cp", local, `${url}/uploaded.txt`);
      assert.equal(up.code, 0, up.stderr);
      assert.equal(
        readFileSync(join(server.exportDir, "uploaded.txt"), "utf8"),
        "hello from the binary\n",
      );

      const locked = await nfs4("lock", `${url}/hello.txt`, "--", "sh", "-c", "exit 7");
      assert.equal(locked.code, 7, locked.stderr);
      const test = await nfs4("lock", "--test", `${url}/hello.txt`);
      assert.equal(test.code, 0, test.stderr);
      assert.match(test.stdout, /free/);

      const watch = await nfs4("renew-watch", "--open", "--duration", "1", `${url}/hello.txt`);
      assert.equal(watch.code, 0, watch.stderr);
      assert.match(watch.stdout, /^ok: /m);

      const restart = `${Deno.execPath()} run -A ${
        join(ROOT, "scripts/test_server.ts")
      } restart --dir ${server.dir}`;
      // On the export: the drill works on a file of its own there (hello.txt is not touched).
      const reboot = await nfs4("simulate-reboot", url, "--restart-cmd", restart);
      assert.equal(reboot.code, 0, reboot.stdout + reboot.stderr);
      assert.equal(
        readFileSync(join(server.exportDir, "hello.txt"), "utf8"),
        "hello from the binary\n",
      );
      assert.deepEqual(
        readdirSync(server.exportDir).filter((name) => name.startsWith(".nfs4-drill-")),
        [],
      );

      const completions = await nfs4("completions", "bash");
      assert.equal(completions.code, 0, completions.stderr);
      assert.match(completions.stdout, /nfs4/);
    } finally {
      rmSync(work, { recursive: true, force: true });
      rmSync(path, { recursive: true, force: true });
    }
  },
  { leaseSeconds: 3, graceSeconds: 4 },
);
