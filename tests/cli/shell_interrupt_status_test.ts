/**
 * `nfs4 shell` on a pseudo-terminal (util-linux `script`), against
 * Ganesha: Ctrl-C of a `lock` wait says `nfs4: interrupted by SIGINT` as
 * an interrupted `get` does (before, nothing), the rest of the line is not
 * run (as sh drops a list at Ctrl-C), and the shell, left with Ctrl-D, ends
 * with 130 as bash does after a command a Ctrl-C ended (before, 1 after a
 * `get`, and no message after a `lock`).
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { tempDir } from "./_cp.ts";
import { startHolder, stopHolder } from "./_lock.ts";
import { hasScript, onTerminal } from "./_pty.ts";

serverTest(
  "nfs4 shell: Ctrl-C of a lock wait says 'interrupted by SIGINT', ends the line, and the shell ends 130",
  async (server) => {
    writeFileSync(join(server.exportDir, "f"), "data\n");
    const url = `${server.url}/vfs/f`;
    const holder = await startHolder(["--vers", "4.1", "lock", url], url, "exclusive", "0-");
    const home = await tempDir("nfs4-shell-intr-");
    try {
      const { code, text } = await onTerminal(
        ["--vers", "4.1", "shell", `${server.url}/vfs`],
        [
          ["", 2500],
          ["lock f; pwd\r", 2000],
          ["\x03", 1500],
          ["\x04", 1500],
        ],
        { XDG_STATE_HOME: home },
      );
      assert.match(text, /waiting: /, text);
      assert.match(text, /\^C\nnfs4: interrupted by SIGINT\n/, text);
      // pwd, after the lock on the same line, did not run.
      assert.doesNotMatch(text, /\n\/vfs\n/, text);
      assert.equal(code, 130, text);
    } finally {
      await stopHolder(holder);
      await Deno.remove(home, { recursive: true });
    }
  },
  { ignore: !hasScript },
);

serverTest(
  "nfs4 shell: after a get Ctrl-C stopped, Ctrl-D ends the shell with 130, not get's 1",
  async (server) => {
    // Large and sparse: the get runs long enough to be stopped.
    const big = await Deno.open(`${server.exportDir}/big.bin`, { create: true, write: true });
    await big.truncate(8 * 1024 ** 3);
    big.close();
    const home = await tempDir("nfs4-shell-intr-");
    try {
      const { code, text } = await onTerminal(
        ["--vers", "4.1", "shell", `${server.url}/vfs`],
        [
          ["", 2500],
          [`get --no-progress big.bin ${home}/\r`, 1200],
          ["\x03", 2000],
          ["\x04", 1500],
        ],
        { XDG_STATE_HOME: home },
      );
      assert.match(text, /\^C\nnfs4: interrupted by SIGINT\n/, text);
      assert.equal(code, 130, text);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
  { ignore: !hasScript },
);
