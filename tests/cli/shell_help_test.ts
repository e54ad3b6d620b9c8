/**
 * `nfs4 shell`'s `help`: each verb listed once, an alias (`quit`) named in
 * its verb's line and not listed again; `help quit` says what quit is. Before,
 * the exit line was listed twice and `help quit` printed exit's text.
 */

import assert from "node:assert/strict";
import { serverTest } from "../_server.ts";
import { nfs4 } from "./_spawn.ts";

serverTest("shell help lists each verb once; help quit names quit", async (server) => {
  const url = `${server.url}/vfs`;
  const list = await nfs4(["shell", url, "-c", "help"]);
  assert.equal(list.code, 0, list.stderr);
  const verbs = list.stdout.split("\n").filter((l) => /^ {2}[a-z]/.test(l)).map((l) =>
    l.trim().split(/\s/)[0]
  );
  assert.deepEqual(verbs.filter((v, i) => verbs.indexOf(v) !== i), [], list.stdout);
  const exitLines = list.stdout.split("\n").filter((l) => /^ {2}(exit|quit)\b/.test(l));
  assert.deepEqual(exitLines.map((l) => l.trim().replace(/ {2,}/g, "  ")), [
    "exit [STATUS]  release everything and leave (also quit, Ctrl-D)",
  ]);

  const quit = await nfs4(["shell", url, "-c", "help quit"]);
  assert.equal(quit.code, 0, quit.stderr);
  assert.equal(
    quit.stdout,
    "quit [STATUS]\n  the same as exit: release everything and leave (also Ctrl-D)\n",
  );
  const exit = await nfs4(["shell", url, "-c", "help exit"]);
  assert.equal(exit.stdout, "exit [STATUS]\n  release everything and leave (also quit, Ctrl-D)\n");

  // quit still leaves with its status.
  const left = await nfs4(["shell", url, "-c", "quit 3"]);
  assert.equal(left.code, 3, left.stderr);
});
