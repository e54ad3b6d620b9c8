/** `nfs4 completions SHELL` and the `complete` callback it installs. */

import assert from "node:assert/strict";
import { nfs4 } from "./_spawn.ts";

for (const shell of ["bash", "zsh", "fish"]) {
  Deno.test(`nfs4 completions ${shell} prints a script that calls nfs4 back`, async () => {
    const r = await nfs4(["completions", shell]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /nfs4/);
    assert.match(r.stdout, /complete/);
  });
}

Deno.test("nfs4 complete -- completes subcommands and their options", async () => {
  const commands = await nfs4(["complete", "--", "l"]);
  assert.equal(commands.code, 0, commands.stderr);
  const names = commands.stdout.split("\n").map((l) => l.split("\t")[0]);
  assert.ok(names.includes("ls") && names.includes("lock"), commands.stdout);
  const options = await nfs4(["complete", "--", "ls", "-"]);
  assert.match(options.stdout, /^-R\t/m);
});

Deno.test("nfs4 completions with an unknown shell is a usage error", async () => {
  const r = await nfs4(["completions", "tcsh"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^nfs4: .*tcsh/);
});
