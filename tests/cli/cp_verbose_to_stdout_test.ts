/**
 * `nfs4 cp -v SRC -`: the data on stdout and `'SRC' -> '-'` on stderr, as
 * `cp --help` says (-v lines go to stderr when stdout carries data), once
 * the copy is done. Before, a copy to stdout printed no -v line at all.
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { nfs4 } from "./_spawn.ts";

serverTest("cp -v SRC -: the data on stdout, 'SRC' -> '-' on stderr", async (server) => {
  writeFileSync(join(server.exportDir, "f.txt"), "hello\n");
  const local = join(server.dir, "local.txt");
  writeFileSync(local, "local\n");
  const url = `${server.url}/vfs/f.txt`;

  const fromNfs = await nfs4(["cp", "-v", url, "-"]);
  assert.equal(fromNfs.code, 0, fromNfs.stderr);
  assert.equal(fromNfs.stdout, "hello\n");
  assert.equal(fromNfs.stderr, `'${url}' -> '-'\n`);

  const fromLocal = await nfs4(["cp", "-v", local, "-"]);
  assert.equal(fromLocal.code, 0, fromLocal.stderr);
  assert.equal(fromLocal.stdout, "local\n");
  assert.equal(fromLocal.stderr, `'${local}' -> '-'\n`);

  const fromStdin = await nfs4(["cp", "-v", "-", "-"]);
  assert.equal(fromStdin.code, 0, fromStdin.stderr);
  assert.equal(fromStdin.stdout, "");
  assert.equal(fromStdin.stderr, "'-' -> '-'\n");

  // A copy that failed lists nothing.
  const missing = await nfs4(["cp", "-v", `${server.url}/vfs/missing`, "-"]);
  assert.equal(missing.code, 1);
  assert.doesNotMatch(missing.stderr, / -> /);
});
