/**
 * In `nfs4 shell` a failing verb's one-line error names the verb, as an
 * interactive shell names its builtin (`bash: cd: foo: No such file or
 * directory`): `nfs4: cd: URL: No such file or directory (NFS4ERR_NOENT)`,
 * the path and the NFS status kept. In a line or a script of several verbs
 * it says which failed; before, `cd missing; cat missing` printed two lines
 * alike. The one-shot commands' lines are unchanged, and a message that
 * names its verb already (`rm: cannot remove ''`, `lock: URL: locked: …`,
 * `lcd: DIR: …`) does not name it twice. `get` and `put` are named as
 * typed, not as the `cp` underneath.
 */

import assert from "node:assert/strict";
import { serverTest } from "../_server.ts";
import { messageLines, nfs4 } from "./_spawn.ts";
import { tempDir } from "./_cp.ts";
import { verbMessage } from "../../cli/shell_builtins.ts";

serverTest(
  "nfs4 shell: each failing verb's line names the verb; the commands' own lines stay as they are",
  async (server) => {
    await Deno.mkdir(`${server.exportDir}/sub`);
    await Deno.writeTextFile(`${server.exportDir}/f`, "f\n");
    const local = await tempDir("nfs4-shell-verb-errors-");
    try {
      const base = `${server.url}/vfs`;
      const missing = `${base}/missing`;
      const noent = "No such file or directory (NFS4ERR_NOENT)";
      const script = [
        "cd missing",
        "cat missing",
        "ls missing",
        `get missing ${local}/x`,
        `put ${local}/nothing-here`,
        "stat missing",
        "open missing",
        "rm missing",
        "mkdir sub",
        "head -n x f",
        "ls --bogus",
        "rm ''",
        `lcd ${local}/nothing-here`,
        "renew",
      ].join("; ");
      const r = await nfs4(["--vers", "4.1", "shell", base, "--keep-going", "-c", script]);
      // --keep-going: the last failure's status (lcd's).
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual(messageLines(r.stderr), [
        `nfs4: cd: ${missing}: ${noent}`,
        `nfs4: cat: ${missing}: ${noent}`,
        `nfs4: ls: ${missing}: ${noent}`,
        `nfs4: get: ${missing}: ${noent}`,
        `nfs4: put: ${local}/nothing-here: No such file or directory`,
        `nfs4: stat: ${missing}: ${noent}`,
        `nfs4: open: ${missing}: ${noent}`,
        `nfs4: rm: ${missing}: ${noent}`,
        `nfs4: mkdir: ${base}/sub: File exists (NFS4ERR_EXIST)`,
        "nfs4: head: option '-n, --lines <[-]NUM>' argument 'x' is invalid. Expected a number " +
        "of lines: digits, then a multiplier if any (b, kB, K, MB, M, GB, G, ...)",
        "nfs4: ls: unknown option '--bogus'",
        "nfs4: rm: cannot remove '': No such file or directory",
        `nfs4: lcd: ${local}/nothing-here: No such file or directory`,
      ]);
      // renew (the last verb) succeeded.
      assert.match(r.stdout, /^SEQUENCE -> NFS4_OK in /m, r.stdout);

      // The one-shot commands say the same without a verb, as before.
      const cat = await nfs4(["--vers", "4.1", "cat", missing]);
      assert.equal(cat.code, 1);
      assert.deepEqual(messageLines(cat.stderr), [`nfs4: ${missing}: ${noent}`]);
      const ls = await nfs4(["--vers", "4.1", "ls", "--bogus", base]);
      assert.equal(ls.code, 2);
      assert.deepEqual(messageLines(ls.stderr), ["nfs4: unknown option '--bogus'"]);
    } finally {
      await Deno.remove(local, { recursive: true });
    }
  },
);

Deno.test("verbMessage() names the verb once, and leaves a stop's note as it is", () => {
  assert.equal(verbMessage("cd", "nfs://h/x: Not a directory"), "cd: nfs://h/x: Not a directory");
  assert.equal(verbMessage("lcd", "lcd: /x: No such file"), "lcd: /x: No such file");
  assert.equal(verbMessage("cp", "warning: mode not kept"), "cp: warning: mode not kept");
  // It follows the ^C that caused it, and is no failure of the verb's own.
  assert.equal(verbMessage("get", "interrupted by SIGINT"), "interrupted by SIGINT");
});
