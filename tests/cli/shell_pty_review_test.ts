/**
 * `nfs4 shell` on a pseudo-terminal (util-linux `script`) against
 * NFS-Ganesha, on what a review found: Ctrl-C during a verb drops the
 * lines typed meanwhile (they are not run after it), a name with a control
 * character reaches the terminal neither through the prompt, `pwd` nor Tab
 * completion, and SIGTERM at the prompt ends the shell with 143.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { serverTest } from "../_server.ts";
import { tempDir } from "./_cp.ts";
import { hasScript, onTerminal } from "./_pty.ts";

const PORT = 21380;

/** The pid of the nfs4 process under `script` (pid `root`). */
function nfs4Pid(root: number): number | undefined {
  const children = (pid: number): number[] => {
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/)
        .filter((p) => p !== "").map(Number);
    } catch {
      return [];
    }
  };
  const queue = children(root);
  while (queue.length > 0) {
    const pid = queue.shift()!;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    if (cmdline.includes("cli/main.ts") && cmdline.includes("shell")) return pid;
    queue.push(...children(pid));
  }
  return undefined;
}

serverTest(
  "nfs4 shell on a terminal: Ctrl-C during a verb drops the line typed meanwhile",
  async (server) => {
    const root = server.exportDir;
    // Large and sparse: the get runs long enough to type during it.
    const big = await Deno.open(`${root}/big.bin`, { create: true, write: true });
    await big.truncate(8 * 1024 ** 3);
    big.close();
    const home = await tempDir("nfs4-shell-pty-review-");
    const { code, text } = await onTerminal(
      ["--vers", "4.1", "shell", `${server.url}/vfs`],
      [
        ["", 2500],
        [`get big.bin ${home}/\r`, 1200],
        ["mkdir typed_ahead\r", 400],
        ["\x03", 2500],
        ["pwd\r", 600],
        ["exit\r", 500],
      ],
      { XDG_STATE_HOME: home },
    );
    assert.equal(code, 0, text);
    assert.match(text, /\^C\n/, text);
    assert.match(text, /> pwd\n\/vfs\n/, text);
    assert.deepEqual(
      [...Deno.readDirSync(root)].map((e) => e.name),
      ["big.bin"],
      "the line typed before Ctrl-C ran",
    );
    await Deno.remove(home, { recursive: true });
  },
  { ignore: !hasScript, port: PORT },
);

serverTest(
  "nfs4 shell on a terminal: a name with an escape character is escaped in the prompt and pwd, and not completed",
  async (server) => {
    const root = server.exportDir;
    await Deno.mkdir(`${root}/d\x1b[31mred`);
    await Deno.writeTextFile(`${root}/d\x1b[31mred/e\x1b[32mgreen`, "x");
    const home = await tempDir("nfs4-shell-pty-review-");
    const { code, screen, text } = await onTerminal(
      ["--vers", "4.1", "shell", `${server.url}/vfs/d%1B%5B31mred`],
      [["", 2500], ["pwd\r", 500], ["cat e\t", 800], ["\x15exit\r", 500]],
      { XDG_STATE_HOME: home },
    );
    assert.equal(code, 0, screen);
    // Neither name reached the terminal as it is.
    assert.ok(!screen.includes("\x1b[31mred"), JSON.stringify(screen));
    assert.ok(!screen.includes("\x1b[32mgreen"), JSON.stringify(screen));
    assert.match(text, /4\.1 \/vfs\/d\\033\[31mred> /, text);
    assert.match(text, /> pwd\n\/vfs\/d\\033\[31mred\n/, text);
    await Deno.remove(home, { recursive: true });
  },
  { ignore: !hasScript, port: PORT + 1 },
);

serverTest(
  "nfs4 shell on a terminal: SIGTERM at the prompt ends the shell with 143",
  async (server) => {
    const home = await tempDir("nfs4-shell-pty-review-");
    let signalled = false;
    const { code, text } = await onTerminal(
      ["--vers", "4.1", "shell", `${server.url}/vfs`],
      [
        ["", 2500],
        ["pwd\r", 500],
        [(pid) => {
          const shell = nfs4Pid(pid);
          if (shell !== undefined) {
            Deno.kill(shell, "SIGTERM");
            signalled = true;
          }
          return Promise.resolve();
        }, 2000],
      ],
      { XDG_STATE_HOME: home },
    );
    assert.ok(signalled, "no nfs4 process found");
    assert.equal(code, 143, text);
    await Deno.remove(home, { recursive: true });
  },
  { ignore: !hasScript, port: PORT + 2 },
);
