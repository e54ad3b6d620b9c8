/**
 * `nfs4 lock URL -- COMMAND` on a terminal: one Ctrl-C reaches COMMAND
 * once. The terminal signals its whole foreground process group, COMMAND
 * included (it shares nfs4's group), so nfs4 passes on only what the
 * terminal did not send (SIGTERM, or a signal while not in the foreground),
 * as flock(1) leaves COMMAND the terminal's signal alone. Before, COMMAND
 * got SIGINT twice, and one that takes a second Ctrl-C for "abort now"
 * skipped its clean exit. On a pseudo-terminal (util-linux `script`),
 * against Ganesha.
 */

import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { tempDir } from "./_cp.ts";
import { installed, onTerminal } from "./_pty.ts";

/** util-linux `script` for the terminal, python3 for a COMMAND that counts signals one by one. */
const hasTools = installed("script", "python3");

serverTest(
  "nfs4 lock URL -- COMMAND on a terminal: one Ctrl-C reaches COMMAND once (the terminal's), not twice",
  async (server) => {
    writeFileSync(join(server.exportDir, "f"), "data\n");
    const dir = await tempDir("nfs4-lock-tty-");
    const log = join(dir, "signals");
    writeFileSync(log, "");
    // Counts its SIGINTs as they come (a handler per signal: two close
    // together are two); runs 4 s whatever they are.
    const counter = "import signal, sys, time\n" +
      "log = open(sys.argv[1], 'a', buffering=1)\n" +
      "signal.signal(signal.SIGINT, lambda *_: log.write('INT\\n'))\n" +
      "print('ready', flush=True)\n" +
      "end = time.time() + 4\n" +
      "while time.time() < end: time.sleep(0.05)\n";
    const { screen } = await onTerminal(
      ["--vers", "4.1", "lock", `${server.url}/vfs/f`, "--", "python3", "-c", counter, log],
      // Wait for COMMAND to run (the lock taken), then one Ctrl-C.
      [["", 2500], ["\x03", 500]],
      {},
      { dropLateKeys: true },
    );
    assert.match(screen, /ready/, screen);
    assert.equal(readFileSync(log, "utf8"), "INT\n", screen);
    await Deno.remove(dir, { recursive: true });
  },
  { ignore: !hasTools },
);

serverTest(
  "nfs4 lock URL -- COMMAND on a terminal: a Ctrl-C that COMMAND took and went on from stops nothing: after COMMAND's normal exit the lock is released as after any COMMAND, exit 0, no interrupt",
  async (server) => {
    writeFileSync(join(server.exportDir, "g"), "data\n");
    // Takes SIGINT and goes on (a shell, a REPL), then exits 0.
    const goesOn = "import signal, time\n" +
      "signal.signal(signal.SIGINT, lambda *_: print('got-int', flush=True))\n" +
      "print('ready', flush=True)\n" +
      "end = time.time() + 3\n" +
      "while time.time() < end: time.sleep(0.05)\n" +
      "print('done', flush=True)\n";
    const { code, text } = await onTerminal(
      ["--vers", "4.1", "--trace", "lock", `${server.url}/vfs/g`, "--", "python3", "-c", goesOn],
      [["", 2000], ["\x03", 500]],
      {},
      { dropLateKeys: true },
    );
    assert.match(text, /got-int/, text);
    assert.match(text, /done/, text);
    // The release after COMMAND is an ordinary one: nfs4 was not stopped.
    assert.doesNotMatch(text, /state +interrupted/, text);
    assert.match(text, /lock +LOCKU/, text);
    assert.equal(code, 0, text);
  },
  { ignore: !hasTools },
);
