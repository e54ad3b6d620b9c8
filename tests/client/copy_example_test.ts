/**
 * The `copy` example of lib/client/copy/mod.ts, run as a program against
 * Ganesha: it copies the file and the program exits. copy() never closes
 * the clients its `connect` option gives (they are the caller's, the CLI's
 * shell reuses them); an example that kept no reference to its client
 * could not close it, and the lease renewal kept the program alive for
 * ever.
 */

import assert from "node:assert/strict";
import * as path from "node:path";
import { serverTest } from "../_server.ts";

const ROOT = path.resolve(import.meta.dirname!, "../..");

/** The first ```ts block of the module documentation of `file`. */
async function moduleExample(file: string): Promise<string> {
  const text = await Deno.readTextFile(file);
  const block = /```ts\n([\s\S]*?)```/.exec(text)?.[1];
  assert.ok(block, `no example in ${file}`);
  return block.split("\n").map((line) => line.replace(/^ \* ?/, "")).join("\n");
}

serverTest(
  "lib/client/copy/mod.ts's example copies the file and its program exits",
  async (server) => {
    const dir = await Deno.makeTempDir();
    try {
      const source = `${dir}/big.iso`;
      await Deno.writeFile(source, crypto.getRandomValues(new Uint8Array(65536)));
      // The example imports what it uses (so that `deno check --doc` checks
      // it), from mod.ts relative to lib/client/copy/.
      const example = (await moduleExample(`${ROOT}/lib/client/copy/mod.ts`))
        .replaceAll('"../../../mod.ts"', JSON.stringify(`${ROOT}/mod.ts`))
        .replaceAll('"big.iso"', JSON.stringify(source))
        .replaceAll("nfs://127.0.0.1/", `nfs://127.0.0.1:${server.port}/`);
      assert.ok(example.includes(`:${server.port}/vfs/`), example);
      assert.ok(example.includes(`from ${JSON.stringify(`${ROOT}/mod.ts`)}`), example);
      const program = `${dir}/example.ts`;
      await Deno.writeTextFile(program, example);
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-check", program],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      const out = await child.output();
      clearTimeout(timer);
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.signal, null, `the program did not exit within 20 s:\n${stderr}`);
      assert.equal(out.code, 0, stderr);
      assert.equal(new TextDecoder().decode(out.stdout), "65536\n");
      assert.deepEqual(
        await Deno.readFile(`${server.exportDir}/big.iso`),
        await Deno.readFile(source),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
