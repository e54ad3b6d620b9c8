/**
 * `nfs4 shell` run as a script, against NFS-Ganesha on 4.0 and 4.1: verbs
 * through `-c` and through stdin, their outputs and exit statuses (`sh -e`
 * unless `--keep-going`), one client ID for the whole session (the trace
 * says so), locks held across lines, nothing left on the server after
 * `exit`, and a server restart while the shell waits: the held lock is
 * reclaimed and the shell says what happened.
 */

import assert from "node:assert/strict";
import { serverTest } from "../_server.ts";
import { exclusiveOpenStatus, nfs4, ROOT, traceEvents } from "./_spawn.ts";
import { tempDir } from "./_cp.ts";

const VERSIONS = ["4.0", "4.1"] as const;

/** Runs `nfs4 ...args` with `input` on stdin (not a terminal). */
async function withStdin(
  args: string[],
  input: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/main.ts", ...args],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

for (const vers of VERSIONS) {
  serverTest(
    `nfs4 shell --vers ${vers} -c: verbs on one client, then nothing left`,
    async (server) => {
      const root = server.exportDir;
      await Deno.mkdir(`${root}/dir`);
      await Deno.writeTextFile(`${root}/dir/a.txt`, "alpha\n");
      const local = await tempDir("nfs4-shell-test-");
      await Deno.writeTextFile(`${local}/up.txt`, "uploaded\n");
      const script = [
        "pwd",
        "cd dir",
        "pwd",
        "ls",
        "cat a.txt",
        `put ${local}/up.txt`,
        `get a.txt ${local}/down.txt`,
        "mkdir sub",
        "cd sub",
        "cd ..",
        "ls -1",
        "lock -x a.txt",
        "state",
        "cd -",
      ].join("; ");
      const r = await nfs4([
        "--vers",
        vers,
        "--trace=json,all",
        "shell",
        `${server.url}/vfs`,
        "-c",
        script,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split("\n");
      assert.deepEqual(lines.slice(0, 5), ["/vfs", "/vfs/dir", "a.txt", "alpha", "a.txt"]);
      assert.deepEqual(lines.slice(5, 7), ["sub", "up.txt"]);
      // `state` shows the lock held on a.txt, with its stateid.
      assert.match(r.stdout, /^open {8}\/vfs\/dir\/a\.txt {2}read\+write {2}stateid \S+/m);
      assert.match(r.stdout, /^ {2}lock {6}write 0- {2}stateid [0-9a-f]+:\d+/m);
      // `cd -` goes back to where the last cd came from, and says where, as sh does.
      assert.equal(lines.at(-2), "/vfs/dir/sub");
      assert.equal(await Deno.readTextFile(`${root}/dir/up.txt`), "uploaded\n");
      assert.equal(await Deno.readTextFile(`${local}/down.txt`), "alpha\n");
      // One client ID for the whole session, given back at the end.
      const events = traceEvents(r.stderr);
      const established = events.filter((e) =>
        e.event === "EXCHANGE_ID ok" || e.event === "SETCLIENTID_CONFIRM ok"
      );
      assert.equal(established.length, 1, r.stderr);
      // At exit the held lock is released and the file closed (the ops trace says so).
      const sentOps = events.filter((e) => e.cat === "ops").flatMap((e) =>
        ((e.ops ?? []) as { op: string }[]).map((o) => o.op)
      );
      assert.ok(sentOps.includes("LOCKU"), sentOps.join(" "));
      assert.ok(sentOps.lastIndexOf("CLOSE") > sentOps.lastIndexOf("LOCKU"), sentOps.join(" "));
      if (vers === "4.1") {
        assert.ok(events.some((e) => e.event === "DESTROY_CLIENTID ok"), r.stderr);
      }
      assert.equal(await exclusiveOpenStatus(server, vers, "/vfs/dir/a.txt"), "NFS4_OK");
      await Deno.remove(local, { recursive: true });
    },
  );

  serverTest(
    `nfs4 shell --vers ${vers} < script: stops at the first failure, as sh -e`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/f`, "f\n");
      const url = `${server.url}/vfs`;
      const stopped = await withStdin(["--vers", vers, "shell", url], "cat f\ncat missing\npwd\n");
      assert.equal(stopped.code, 1);
      assert.equal(stopped.stdout, "f\n");
      assert.deepEqual(stopped.stderr.trim().split("\n"), [
        `nfs4: cat: nfs://127.0.0.1:${server.port}/vfs/missing: No such file or directory (NFS4ERR_NOENT)`,
      ]);

      const going = await withStdin(
        ["--vers", vers, "shell", "--keep-going", url],
        "cat missing\npwd\n",
      );
      assert.equal(going.code, 1);
      assert.equal(going.stdout, "/vfs\n");

      const usage = await withStdin(["--vers", vers, "shell", url], "frobnicate\npwd\n");
      assert.equal(usage.code, 2);
      assert.equal(usage.stdout, "");
      assert.match(usage.stderr, /frobnicate: not a verb here/);

      const exit = await withStdin(["--vers", vers, "shell", url], "pwd\nexit 7\npwd\n");
      assert.equal(exit.code, 7);
      assert.equal(exit.stdout, "/vfs\n");

      const quoted = await withStdin(["--vers", vers, "shell", url], `cat "unterminated\n`);
      assert.equal(quoted.code, 2);
      assert.match(quoted.stderr, /unterminated double quote/);

      // A start that is not a directory is refused at once.
      const notDir = await nfs4(["--vers", vers, "shell", `${url}/f`, "-c", "pwd"]);
      assert.equal(notDir.code, 1);
      assert.match(notDir.stderr, /Not a directory \(NFS4ERR_NOTDIR\)/);
    },
  );
}

serverTest(
  "nfs4 shell: ln -t DIR and mv -tDIR link and move into DIR, symlink texts as typed",
  async (server) => {
    const root = server.exportDir;
    await Deno.mkdir(`${root}/w/dir`, { recursive: true });
    await Deno.writeTextFile(`${root}/w/f`, "f\n");
    await Deno.writeTextFile(`${root}/w/m`, "m\n");
    const script = [
      "ln -t dir f",
      "ln -s -t dir a",
      "ln -s -t dir ../x b",
      "ln -sftdir c",
      "ln --symbolic --target-directory=dir d",
      "mv -tdir m",
    ].join("; ");
    const r = await nfs4(["--vers", "4.1", "shell", `${server.url}/vfs/w`, "-c", script]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.equal((await Deno.stat(`${root}/w/dir/f`)).nlink, 2);
    assert.equal(await Deno.readTextFile(`${root}/w/dir/m`), "m\n");
    const names = [];
    for await (const entry of Deno.readDir(`${root}/w/dir`)) names.push(entry.name);
    assert.deepEqual(names.sort(), ["a", "b", "c", "d", "f", "m", "x"]);
    for (const name of ["a", "b", "c", "d"]) {
      assert.equal(await Deno.readLink(`${root}/w/dir/${name}`), name);
    }
    assert.equal(await Deno.readLink(`${root}/w/dir/x`), "../x");
  },
);

serverTest(
  "nfs4 shell: rm -r ., rmdir sub/., rmdir sub/x/.. and mv sub/. are refused as coreutils refuses them; nothing is removed or moved",
  async (server) => {
    const root = server.exportDir;
    await Deno.mkdir(`${root}/w/sub/x`, { recursive: true });
    await Deno.mkdir(`${root}/w/e`, { recursive: true });
    const url = `${server.url}/vfs/w`;
    const r = await nfs4([
      "--vers",
      "4.1",
      "shell",
      url,
      "--keep-going",
      "-c",
      "rm -r .; rm -r sub/..; rmdir e/.; rmdir sub/x/..; mv sub/. y",
    ]);
    assert.equal(r.code, 1, r.stderr);
    const host = new URL(url.replace(/^nfs:/, "http:")).host;
    const at = (path: string) => `nfs://${host}/vfs/w/${path}`;
    assert.deepEqual(r.stderr.trimEnd().split("\n"), [
      `nfs4: rm: refusing to remove '.' or '..' directory: skipping '${at(".")}'`,
      `nfs4: rm: refusing to remove '.' or '..' directory: skipping '${at("sub/..")}'`,
      `nfs4: rmdir: ${at("e/.")}: Invalid argument (NFS4ERR_INVAL)`,
      `nfs4: rmdir: ${at("sub/x/..")}: Directory not empty (NFS4ERR_NOTEMPTY)`,
      `nfs4: mv: cannot move '${at("sub/.")}' to '${at("y")}': Device or resource busy`,
    ]);
    for (const kept of ["w", "w/sub", "w/sub/x", "w/e"]) {
      assert.ok((await Deno.stat(`${root}/${kept}`)).isDirectory, kept);
    }
  },
);

serverTest(
  "nfs4 shell: a server restart while the shell waits; the lock is reclaimed and the shell says so",
  async (server) => {
    await Deno.writeTextFile(`${server.exportDir}/held`, "x");
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "cli/main.ts", "--vers", "4.1", "shell", `${server.url}/vfs`],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const writer = child.stdin.getWriter();
    const type = (text: string) => writer.write(new TextEncoder().encode(text));
    const output = child.output();
    try {
      await type("lock -x held\nstate\n");
      await new Promise((r) => setTimeout(r, 1500));
      await server.restart();
      // Long enough for a renewal to notice and for the reclaim in grace. (A
      // 5 s lease: with 3 s, a loaded CI machine can let the new client ID's
      // lease run out mid-reclaim, and the lock is then rightly lost.)
      await new Promise((r) => setTimeout(r, (server.leaseSeconds + 3) * 1000));
      await type("ls\nstate\nexit\n");
      await writer.close();
    } catch (e) {
      child.kill();
      throw e;
    }
    const done = await output;
    const stdout = new TextDecoder().decode(done.stdout);
    const stderr = new TextDecoder().decode(done.stderr);
    assert.equal(done.code, 0, stderr);
    const states = stdout.split(/^server /m).slice(1);
    assert.equal(states.length, 2, stdout);
    for (const state of states) {
      assert.match(state, /^ {2}lock {6}write 0- {2}stateid \S+ {2}owner \S+$/m, stdout);
      assert.doesNotMatch(state, /LOST/);
    }
    // The client ID changed (a new one after the reboot) and the reclaim was told.
    const ids = states.map((s) => /^client ID {3}(\S+)/m.exec(s)?.[1]);
    assert.notEqual(ids[0], ids[1]);
    assert.match(stderr, /^\* [0-9.]+ s state: \+RECLAIM_REBOOT/m, stderr);
    assert.match(stderr, /^\* [0-9.]+ s state: -RECLAIM_REBOOT/m, stderr);
    assert.match(stdout, /^held$/m);
  },
  { leaseSeconds: 5, graceSeconds: 5 },
);
