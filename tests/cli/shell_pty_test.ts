/**
 * `nfs4 shell` on a real pseudo-terminal (util-linux `script`), against
 * NFS-Ganesha: the prompt, Tab completion of a remote path, history recall
 * with Up, Ctrl-C during a `get` of a large file (the shell stays, the
 * client too, nothing is left open), and an event printed above the prompt
 * while a line is half typed, the line then finished and run.
 */

import assert from "node:assert/strict";
import { serverTest } from "../_server.ts";
import { tempDir } from "./_cp.ts";
import { hasScript, type Keys, onTerminal } from "./_pty.ts";

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
    const { code, text } = await onTerminal(
      ["--vers", "4.1", "shell", `${server.url}/vfs`],
      keys,
      { XDG_STATE_HOME: home },
    );
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
    const { code, text } = await onTerminal(
      ["--vers", "4.1", "shell", `${server.url}/vfs`],
      [["", 2500], ["trace on\r", 300], ["pw", 4500], ["d\r", 500], ["exit\r", 500]],
      { XDG_STATE_HOME: home },
    );
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

serverTest(
  "nfs4 shell on a terminal: a server restart while idle at the prompt; the lock is reclaimed, told, and ls works",
  async (server) => {
    await Deno.writeTextFile(`${server.exportDir}/held`, "x");
    const home = await tempDir("nfs4-shell-pty-");
    const { code, text } = await onTerminal(
      ["--vers", "4.1", "shell", `${server.url}/vfs`],
      [
        ["", 2500],
        ["lock -x held\r", 800],
        // Idle at the prompt while the server reboots; renewals notice it.
        [() => server.restart(), (server.leaseSeconds + 4) * 1000],
        ["ls\r", 600],
        ["state\r", 600],
        ["exit\r", 800],
      ],
      { XDG_STATE_HOME: home },
    );
    assert.equal(code, 0, text);
    // Printed above the prompt while it waited: the reboot noticed and reclaimed.
    const typedLs = text.indexOf("> ls\n");
    const idle = text.slice(text.indexOf("> lock -x held\n"), typedLs);
    // (Each message is drawn where the prompt was, which the terminal erased first.)
    assert.match(idle, /> \* [0-9.]+ s state: \+RECLAIM_REBOOT/, idle);
    assert.match(
      idle,
      /> \* [0-9.]+ s lock: LOCK\(reclaim\) reclaimed \(\/vfs\/held write 0- \S+ -> \S+\)/,
      idle,
    );
    assert.match(idle, /> \* [0-9.]+ s state: -RECLAIM_REBOOT/, idle);
    // ls works, and state shows the lock held, not lost.
    assert.match(text.slice(typedLs), /^> ls\nheld\n/m);
    const state = text.slice(text.lastIndexOf("> state\n"));
    assert.match(state, /^ {2}lock {6}write 0- {2}stateid \S+ {2}owner \S+$/m, state);
    assert.doesNotMatch(state, /LOST/);
    await Deno.remove(home, { recursive: true });
  },
  { ignore: !hasScript, leaseSeconds: 5, graceSeconds: 5 },
);
