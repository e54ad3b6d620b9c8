/**
 * `%2F` in an nfs:// URL is a '/' inside a name, not a separator (`nfs4
 * --help`, lib/client/url.ts): every command sends such a name as ONE
 * component, the server answers for that name, and the command reports
 * that answer on one line naming the URL as typed. Nothing acts on the
 * path the name's parts would spell (`pq%2Fnew` once made `new` inside
 * `pq`). Against NFS-Ganesha, which refuses a name holding '/' (it answers
 * NFS4ERR_BADCHAR; RFC 7530 §13.1.7 and RFC 8881 §15.1.7 leave the choice
 * among the name errors to the server); then the shell's paths, where a
 * typed '/' always separates and such a name comes only from an nfs:// URL
 * word (cli/shell_paths.ts).
 */

import assert from "node:assert/strict";
import { serverTest } from "../_server.ts";
import { messageLines, nfs4 } from "./_spawn.ts";
import { findTree } from "./_tree_ops.ts";
import { tempDir } from "./_cp.ts";
import { resolvePath, urlOfWord } from "../../cli/shell_paths.ts";

/** How a client path writes a '/' inside a name (lib/client/names.ts SLASH_IN_NAME). */
const SLASH_IN_NAME = "\udc2f";

/** How Ganesha refuses a name holding '/' (whatever name error it is, the same every time). */
const REFUSAL = /^[A-Z][^(]* \(NFS4ERR_(BADCHAR|BADNAME|INVAL|NOENT)\)$/;

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `nfs4 --vers ${vers}: a %2F name is one name to every command, refused by the server, nothing done to the split path (Ganesha)`,
    async (server) => {
      const root = server.exportDir;
      await Deno.mkdir(`${root}/pq`);
      await Deno.mkdir(`${root}/a/b`, { recursive: true });
      await Deno.writeTextFile(`${root}/a/b/file`, "inner\n");
      const local = await tempDir("nfs4-slash-name-");
      await Deno.writeTextFile(`${local}/src`, "local\n");
      const before = await findTree(root);
      const u = `${server.url}/vfs`;
      // [the command's arguments, the URL its error names]
      const rows: [string[], string][] = [
        [["mkdir", "-v", `${u}/pq%2Fnew`], `${u}/pq%2Fnew`],
        [["mkdir", "-p", `${u}/pq%2Fx/y`], `${u}/pq%2Fx/y`],
        [["ls", `${u}/a%2Fb`], `${u}/a%2Fb`],
        [["ls", "-l", `${u}/a%2Fb/file`], `${u}/a%2Fb/file`],
        [["cat", `${u}/a%2Fb/file`], `${u}/a%2Fb/file`],
        [["head", `${u}/a%2Fb/file`], `${u}/a%2Fb/file`],
        [["stat", `${u}/a%2Fb/file`], `${u}/a%2Fb/file`],
        [["du", `${u}/a%2Fb`], `${u}/a%2Fb`],
        [["find", `${u}/a%2Fb`], `${u}/a%2Fb`],
        [["touch", `${u}/a%2Fb/file`], `${u}/a%2Fb/file`],
        [["chmod", "600", `${u}/a%2Fb/file`], `${u}/a%2Fb/file`],
        [["rm", `${u}/a%2Fb/file`], `${u}/a%2Fb/file`],
        [["rmdir", `${u}/a%2Fb`], `${u}/a%2Fb`],
        [["cp", `${u}/a%2Fb/file`, `${local}/out`], `${u}/a%2Fb/file`],
        [["cp", `${local}/src`, `${u}/a%2Fb/new`], `${u}/a%2Fb/new`],
        [["cp", `${u}/a/b/file`, `${u}/a%2Fcopy`], `${u}/a%2Fcopy`],
        [["cp", "-r", `${u}/a%2Fb`, `${local}/tree`], `${u}/a%2Fb`],
        [["mv", `${u}/a%2Fb/file`, `${u}/moved`], `${u}/a%2Fb/file`],
        [["mv", `${u}/a/b/file`, `${u}/a%2Fmoved`], `${u}/a%2Fmoved`],
        [["ln", `${u}/a/b/file`, `${u}/a%2Fhard`], `${u}/a%2Fhard`],
        [["ln", "-s", "target", `${u}/a%2Fsoft`], `${u}/a%2Fsoft`],
      ];
      const reasons = new Set<string>();
      for (const [args, url] of rows) {
        const r = await nfs4(["--vers", vers, ...args]);
        const what = `nfs4 ${args.join(" ")}`;
        assert.equal(r.code, 1, `${what}: ${r.stdout}${r.stderr}`);
        assert.equal(r.stdout, "", what);
        const lines = messageLines(r.stderr);
        assert.equal(lines.length, 1, `${what}: ${r.stderr}`);
        const prefix = `nfs4: ${url}: `;
        assert.ok(lines[0]!.startsWith(prefix), `${what}: ${lines[0]}`);
        const reason = lines[0]!.slice(prefix.length);
        assert.match(reason, REFUSAL, what);
        reasons.add(reason);
      }
      assert.equal(reasons.size, 1, [...reasons].join(" | "));
      // Nothing made, moved or removed: not `new` in `pq`, not a copy in `a`.
      assert.deepEqual(await findTree(root), before);
      assert.equal(await Deno.readTextFile(`${root}/a/b/file`), "inner\n");
      assert.deepEqual([...Deno.readDirSync(local)].map((e) => e.name), ["src"]);

      // The name reached the server whole: its LOOKUP is the op refused.
      const traced = await nfs4(["--vers", vers, "--trace=ops", "cat", `${u}/a%2Fb/file`]);
      const refused = traced.stderr.split("\n").filter((l) => / LOOKUP NFS4ERR_/.test(l));
      assert.equal(refused.length, 1, traced.stderr);

      // The shell: an nfs:// URL word names such a name; `cd` there fails and
      // stays where it was; `get` and `put` copy nothing.
      const script = [
        "cd a",
        `cd ${u}/a%2Fb`,
        "pwd",
        `get ${u}/a%2Fb/file ${local}/got`,
        `put ${local}/src ${u}/a%2Fput`,
      ].join("; ");
      const shell = await nfs4(["--vers", vers, "shell", "--keep-going", u, "-c", script]);
      assert.equal(shell.code, 1, shell.stderr);
      assert.equal(shell.stdout, "/vfs/a\n");
      const shellLines = messageLines(shell.stderr);
      assert.equal(shellLines.length, 3, shell.stderr);
      // Each names its verb first, as the shell's error lines do.
      const failed = [["cd", `${u}/a%2Fb`], ["get", `${u}/a%2Fb/file`], ["put", `${u}/a%2Fput`]];
      for (const [i, [verb, url]] of failed.entries()) {
        assert.ok(shellLines[i]!.startsWith(`nfs4: ${verb}: ${url}: `), shellLines[i]!);
      }
      assert.deepEqual(await findTree(root), before);
      assert.deepEqual([...Deno.readDirSync(local)].map((e) => e.name), ["src"]);
      await Deno.remove(local, { recursive: true });
    },
  );
}

Deno.test("shell paths: a typed '/' separates names; a name holding '/' (from a URL word) stays one name", () => {
  const server = { host: "127.0.0.1", port: 2049 };
  // The current directory a `cd nfs://…/a%2Fb` would leave: a client path.
  const cwd = `/vfs/a${SLASH_IN_NAME}b`;
  assert.equal(resolvePath(cwd, "x"), `/vfs/a${SLASH_IN_NAME}b/x`);
  assert.equal(resolvePath(cwd, "x/y"), `/vfs/a${SLASH_IN_NAME}b/x/y`);
  assert.equal(resolvePath(cwd, ".."), "/vfs");
  assert.equal(resolvePath(cwd, "/vfs/c"), "/vfs/c");
  assert.equal(urlOfWord(server, cwd, "x"), "nfs://127.0.0.1:2049/vfs/a%2Fb/x");
  assert.equal(urlOfWord(server, cwd, "."), "nfs://127.0.0.1:2049/vfs/a%2Fb");
  assert.equal(urlOfWord(server, cwd, "./"), "nfs://127.0.0.1:2049/vfs/a%2Fb/");
  // Typed: `a/b` is two names, and `%2F` is a name's own three characters.
  assert.equal(urlOfWord(server, "/vfs", "a/b"), "nfs://127.0.0.1:2049/vfs/a/b");
  assert.equal(urlOfWord(server, "/vfs", "a%2Fb"), "nfs://127.0.0.1:2049/vfs/a%252Fb");
  // A URL word is taken as it is.
  assert.equal(
    urlOfWord(server, cwd, "nfs://127.0.0.1:2049/vfs/q%2Fr"),
    "nfs://127.0.0.1:2049/vfs/q%2Fr",
  );
});
