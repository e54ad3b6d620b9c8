/**
 * A stdout that fails (`> /dev/full`) is told in strerror(3)'s words,
 * `nfs4: write error: No space left on device`, whichever runtime raised
 * it: Deno's message is "No space left on device (os error 28)", Node's and
 * Bun's (the single binary's) "ENOSPC: no space left on device, write",
 * which was printed as it was. The words come from the one table of local
 * errors (lib/client/errno_text.ts), the copy's LocalFileError's too.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { StdoutWriteError } from "../../cli/output.ts";
import { LocalFileError } from "../../lib/client/copy/options.ts";
import { serverTest } from "../_server.ts";
import { ROOT } from "./_spawn.ts";

const bun = `${ROOT}.tools/bun/node_modules/.bin/bun`;

function systemError(message: string, code: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

Deno.test("StdoutWriteError: strerror(3)'s words for Node's and Bun's messages as for Deno's", () => {
  for (
    const [cause, words] of [
      [systemError("ENOSPC: no space left on device, write", "ENOSPC"), "No space left on device"],
      [systemError("No space left on device (os error 28)", "ENOSPC"), "No space left on device"],
      [systemError("EIO: i/o error, write", "EIO"), "Input/output error"],
      [systemError("EDQUOT: disk quota exceeded, write", "EDQUOT"), "Disk quota exceeded"],
      [systemError("EFBIG: file too large, write", "EFBIG"), "File too large"],
      // A code the table does not know: the message, without Deno's "(os error N)".
      [systemError("Something odd (os error 200)", "EODD"), "Something odd"],
    ] as const
  ) {
    const error = new StdoutWriteError(cause);
    assert.equal(error.message, `write error: ${words}`, cause.message);
    assert.equal(error.code, cause.code);
  }
  // The same words as a local file's error in a copy.
  const local = new LocalFileError("/x", systemError("ENOSPC: no space left on device", "ENOSPC"));
  assert.equal(local.message, "/x: No space left on device");
});

serverTest(
  "nfs4 ls -l, cat, cp -v > /dev/full under Bun (the binary's runtime): 'nfs4: write error: No space left on device', exit 1",
  async (server) => {
    const url = `${server.url}/vfs`;
    await Deno.writeTextFile(`${server.exportDir}/f.txt`, "hello\n");
    const copy = `${server.dir}/copy.txt`;
    for (
      const args of [["ls", "-l", url], ["cat", `${url}/f.txt`], ["cp", "-v", `${url}/f.txt`, copy]]
    ) {
      const out = await new Deno.Command("sh", {
        args: ["-c", 'exec "$@" > /dev/full', "sh", bun, "cli/main.ts", ...args],
        cwd: ROOT,
        stdin: "null",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 1, `${args.join(" ")}: ${stderr}`);
      assert.equal(stderr, "nfs4: write error: No space left on device\n", args.join(" "));
    }
  },
  { ignore: !existsSync(bun) || !existsSync("/dev/full") },
);
