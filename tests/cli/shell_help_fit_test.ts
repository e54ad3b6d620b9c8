/**
 * `nfs4 shell`'s `help` for learners: `help NOSUCH` says in one line that
 * there is no such verb (before, it printed nfs4's whole --help, about 70
 * lines of up to 160 columns); the verb list fits the terminal (80 columns
 * when its width is unknown; before, 160); `help trace` says what `off`
 * shows (the notable events, as README says and the shell does; before,
 * "none"); `renew` names the operation it sent (RENEW on 4.0, SEQUENCE on
 * 4.1).
 */

import assert from "node:assert/strict";
import { serverTest } from "../_server.ts";
import { nfs4 } from "./_spawn.ts";

serverTest("shell: help NOSUCH says so in one line, status 1", async (server) => {
  const r = await nfs4(["shell", `${server.url}/vfs`, "-c", "help nosuch"]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr, "nfs4: help: nosuch: not a verb here ('help' lists them)\n");
  // A verb that is nfs4's command still gets its --help; a shell verb its line.
  const ls = await nfs4(["shell", `${server.url}/vfs`, "-c", "help ls; help trace"]);
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, /^Usage: nfs4 ls /m);
  assert.match(ls.stdout, /^trace \[on\|off\|ops\|json\]\n {2}show the state manager's events/m);
  assert.match(ls.stdout, /only the notable ones \(off, the default\)/);
  assert.doesNotMatch(ls.stdout, /or none/);
});

serverTest(
  "shell: help lists the verbs within 80 columns when the width is unknown",
  async (server) => {
    const r = await nfs4(["shell", `${server.url}/vfs`, "-c", "help"]);
    assert.equal(r.code, 0, r.stderr);
    const long = r.stdout.split("\n").filter((l) => l.length > 80);
    assert.deepEqual(long, [], r.stdout);
    // Every verb is still there, its usage at the start of a line.
    for (
      const usage of ["cd [DIR|-]", "lock [-s|-x]", "trace [on|off|ops|json]", "exit [STATUS]"]
    ) {
      assert.ok(r.stdout.includes(`\n  ${usage}`), usage);
    }
    assert.match(r.stdout, /\btail info\n$/);
  },
);

for (const [vers, op] of [["4.0", "RENEW"], ["4.1", "SEQUENCE"]] as const) {
  serverTest(`shell: renew names the operation it sent (${op} on NFSv${vers})`, async (server) => {
    const r = await nfs4(["--vers", vers, "shell", `${server.url}/vfs`, "-c", "renew"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`^${op} -> NFS4_OK in \\d+\\.\\d ms, client ID 0x[0-9a-f]+\\n$`),
    );
  });
}
