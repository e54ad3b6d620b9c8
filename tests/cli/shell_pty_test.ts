/**
 * `nfs4 shell` on a real pseudo-terminal (util-linux `script`), against
 * NFS-Ganesha: the prompt, Tab completion of a remote path, history recall
 * with Up, Ctrl-C during a `get` of a large file (the shell stays, the
 * client too, nothing is left open), and an event printed above the prompt
 * while a line is half typed, the line then finished and run.
 */

import assert from "node:assert/strict";
import { serverTest } from "../_server.ts";
import { ROOT } from "./_spawn.ts";
import { tempDir } from "./_cp.ts";

const hasScript = (() => {
  try {
    return new Deno.Command("script", { args: ["--version"] }).outputSync().success;
  } catch {
    return false;
  }
})();

/** Keys, with a pause (ms) after each. */
type Keys = readonly (readonly [string, number])[];

/** Runs `nfs4 ...args` on a pseudo-terminal, typing `keys`; resolves with what the terminal showed. */
async function onTerminal(
  args: string[],
  keys: Keys,
  env: Record<string, string>,
): Promise<{ code: number; screen: string }> {
  const command = [Deno.execPath(), "run", "-A", "cli/main.ts", ...args]
    .map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  const child = new Deno.Command("script", {
    args: ["-qfec", command, "/dev/null"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", TERM: "xterm", COLUMNS: "200", ...env },
  }).spawn();
  const writer = child.stdin.getWriter();
  for (const [text, pause] of keys) {
    await writer.write(new TextEncoder().encode(text));
    await new Promise((r) => setTimeout(r, pause));
  }
  await writer.close();
  const output = await child.output();
  return { code: output.code, screen: new TextDecoder().decode(output.stdout) };
}

/** The screen without terminal controls, lines as they were printed (\r\n -> \n). */
function plain(screen: string): string {
  return screen
    // deno-lint-ignore no-control-regex
    .replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, "")
    .replace(/\r+\n/g, "\n");
}

serverTest(
  "nfs4 shell on a terminal: prompt, Tab completion, history, Ctrl-C during get",
  async (server) => {
    const root = server.exportDir;
    await Deno.mkdir(`${root}/directory one`);
    await Deno.writeTextFile(`${root}/directory one/inside.txt`, "inside\n");
    // Large and sparse: on 4.1 the copy reads (and checks) every zero.
    const big = await Deno.open(`${root}/big.bin`, { create: true, write: true });
    await big.truncate(8 * 1024 ** 3);
    big.close();
    const home = await tempDir("nfs4-shell-pty-");
    const keys: Keys = [
      ["", 2500],
      ["cd dir\t", 600],
      ["\r", 400],
      ["pwd\r", 400],
      ["cat ins\t", 600],
      ["\r", 400],
      ["cd ..\r", 300],
      [`get big.bin ${home}/\r`, 1200],
      ["\x03", 2500],
      ["\x1b[A\x1b[A\x1b[A\x1b[A\x1b[A\r", 600], // Up x5: the first cd, see below
      ["state\r", 500],
      ["exit\r", 500],
    ];
    const { code, screen } = await onTerminal(
      ["--vers", "4.1", "shell", `${server.url}/vfs`],
      keys,
      { XDG_STATE_HOME: home },
    );
    const text = plain(screen);
    assert.equal(code, 0, text);
    assert.match(text, new RegExp(`nfs4 127\\.0\\.0\\.1:${server.port} 4\\.1 /vfs> `));
    // Tab completed the directory (quoted, it has a space) and the file in it.
    assert.match(text, /> cd 'directory one\/'\n/);
    assert.match(text, /\n\/vfs\/directory one\n/);
    assert.match(text, /> cat inside\.txt \ninside\n/);
    // Ctrl-C stopped the get; the shell is back at the prompt, nothing kept.
    assert.match(text, /\^C\n/);
    assert.deepEqual(
      [...Deno.readDirSync(home)].map((e) => e.name).filter((n) => n !== "nfs4"),
      [],
    );
    // Up x5 from the prompt: get, cd .., cat, pwd, cd 'directory one/': back in it.
    const afterStop = text.slice(text.indexOf("^C\n"));
    assert.match(afterStop, /> cd 'directory one\/'\n[^]*\/vfs\/directory one> state\n/, afterStop);
    const state = text.slice(text.lastIndexOf("> state\n"));
    assert.match(state, /^opens {7}none$/m, state);
    // History kept for the next shell.
    const history = await Deno.readTextFile(`${home}/nfs4/history`);
    assert.ok(history.includes("cd 'directory one/'\n"), history);
    assert.ok(history.endsWith("state\nexit\n"), history);
    await Deno.remove(home, { recursive: true });
  },
  { ignore: !hasScript },
);

serverTest(
  "nfs4 shell on a terminal: an event is printed above a half-typed line",
  async (server) => {
    const home = await tempDir("nfs4-shell-pty-");
    // With the trace on, the lease renewals (every 2/3 of the 3 s lease) are events.
    const { code, screen } = await onTerminal(
      ["--vers", "4.1", "shell", `${server.url}/vfs`],
      [["", 2500], ["trace on\r", 300], ["pw", 4500], ["d\r", 500], ["exit\r", 500]],
      { XDG_STATE_HOME: home },
    );
    const text = plain(screen);
    assert.equal(code, 0, text);
    // After "pw" was typed, an event line came, and the prompt with "pw" was drawn again.
    const typed = text.indexOf("> pw");
    assert.ok(typed >= 0, text);
    const after = text.slice(typed + 4);
    const event = /^\s+[0-9.]+ (lease|sess|ops) .*$/m.exec(after);
    assert.ok(event, after);
    const redrawn = after.indexOf("> pw", event.index);
    assert.ok(redrawn > event.index, after);
    // The line, finished after the event, ran whole.
    assert.match(after.slice(redrawn), /> pwd\n\/vfs\n/);
    await Deno.remove(home, { recursive: true });
  },
  { ignore: !hasScript, leaseSeconds: 3 },
);
