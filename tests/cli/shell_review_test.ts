/**
 * `nfs4 shell` run as a script against NFS-Ganesha, on what a review found:
 * an empty word names no file (never the current directory), a line that
 * ends in a backslash goes on on the next, `--keep-going` keeps a failure
 * before a `;`, `lock` upgrades an open of the wrong mode, `get REMOTE -`
 * writes to stdout, get and put read cp's options with a value in the next
 * word, a lock lost in recovery fails unlock, close and exit, and the held
 * verbs take URL words.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { nfs4, ROOT } from "./_spawn.ts";
import { tempDir } from "./_cp.ts";

/** Ports of these tests (each test its own server). */
const PORT = 21370;

/** `nfs4 ...args` with `input` on stdin (not a terminal); `midway` runs once the first line is in. */
async function withStdin(
  args: string[],
  lines: readonly string[],
  midway?: (pid: number) => Promise<void>,
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
  const encoder = new TextEncoder();
  await writer.write(encoder.encode(lines[0]!));
  if (midway) await midway(child.pid);
  await writer.write(encoder.encode(lines.slice(1).join("")));
  await writer.close();
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

serverTest(
  "nfs4 shell: an empty word names no file: rm, rmdir, mv, get fail and the current directory stays",
  async (server) => {
    const root = server.exportDir;
    await Deno.mkdir(`${root}/e1/sub`, { recursive: true });
    await Deno.writeTextFile(`${root}/e1/f`, "f\n");
    const url = `${server.url}/vfs`;
    const cases: [string, string][] = [
      [`rm -r ''`, "rm: cannot remove '': No such file or directory"],
      [`rm -rf ""`, "rm: cannot remove '': No such file or directory"],
      [`rmdir ""`, "rmdir: failed to remove '': No such file or directory"],
      [`mv "" x`, "mv: cannot stat '': No such file or directory"],
      [`put -r '' x`, "put: cannot stat '': No such file or directory"],
      [`cd ''`, "cd: '': No such file or directory"],
    ];
    for (const [line, message] of cases) {
      const r = await nfs4(["shell", url, "-c", `cd e1; ${line}`]);
      assert.equal(r.code, 1, `${line}: ${r.stderr}`);
      assert.deepEqual(r.stderr.trim().split("\n"), [`nfs4: ${message}`], line);
      assert.deepEqual(
        [...Deno.readDirSync(`${root}/e1`)].map((e) => e.name).sort(),
        ["f", "sub"],
        line,
      );
    }
  },
  { port: PORT },
);

serverTest(
  "nfs4 shell: a backslash at the end of a line joins it to the next; one at the end of input escapes nothing",
  async (server) => {
    const root = server.exportDir;
    await Deno.mkdir(`${root}/e1/old_build`, { recursive: true });
    await Deno.mkdir(`${root}/e1/keep`);
    await Deno.writeTextFile(`${root}/e1/keep/k.txt`, "k\n");
    const url = `${server.url}/vfs`;
    const joined = await withStdin(["shell", url], ["cd e1\nrm -r \\\nold_build\nls\n"]);
    assert.equal(joined.code, 0, joined.stderr);
    assert.equal(joined.stdout, "keep\n");
    assert.ok(existsSync(`${root}/e1/keep`));
    // With -c too, and a backslash before a blank.
    const script = await nfs4(["shell", url, "-c", "cd e1\ncat \\\n keep/k.txt \\\n keep/k.txt"]);
    assert.equal(script.code, 0, script.stderr);
    assert.equal(script.stdout, "k\nk\n");
    // `rm -r \` as the last line: rm gets no operand (a usage error), nothing goes.
    for (const input of ["cd e1\nrm -r \\", "cd e1\nrm -r \\\n"]) {
      const last = await withStdin(["shell", url], [input]);
      assert.notEqual(last.code, 0, last.stderr);
      assert.ok(existsSync(`${root}/e1/keep`), JSON.stringify(input));
    }
  },
  { port: PORT + 1 },
);

serverTest(
  "nfs4 shell --keep-going: a failure before a ; on the line is the exit status",
  async (server) => {
    const url = `${server.url}/vfs`;
    const r = await nfs4(["shell", url, "--keep-going", "-c", "cat missing; pwd"]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, "/vfs\n");
    const piped = await withStdin(["shell", "--keep-going", url], ["cat missing; pwd\npwd\n"]);
    assert.equal(piped.code, 1, piped.stderr);
  },
  { port: PORT + 2 },
);

serverTest(
  "nfs4 shell: lock upgrades a held open that lacks the access the lock needs",
  async (server) => {
    for (const name of ["x", "y", "z"]) {
      await Deno.writeTextFile(`${server.exportDir}/${name}`, name);
    }
    const url = `${server.url}/vfs`;
    const r = await nfs4([
      "shell",
      url,
      "-c",
      "lock -s x; lock -x x; open y write; lock -s y; open z; lock -x z; state; close",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    for (const name of ["x", "y", "z"]) {
      assert.match(r.stdout, new RegExp(`^open {8}/vfs/${name} {2}read\\+write `, "m"));
    }
  },
  { port: PORT + 3 },
);

serverTest(
  "nfs4 shell: get REMOTE - writes to stdout; get and put take cp's option values from the next word",
  async (server) => {
    await Deno.writeTextFile(`${server.exportDir}/f`, "data\n");
    const url = `${server.url}/vfs`;
    const local = await tempDir("nfs4-shell-review-");
    const r = await nfs4(["shell", url, "-c", "get f -"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "data\n");
    assert.ok(!existsSync(join(ROOT, "-")), "a local file named - was written");
    const options = await nfs4([
      "shell",
      url,
      "-c",
      `get --sparse always f ${local}/got; put --no-preserve mode ${local}/got up.txt`,
    ]);
    assert.equal(options.code, 0, options.stderr);
    assert.equal(await Deno.readTextFile(`${local}/got`), "data\n");
    assert.equal(await Deno.readTextFile(`${server.exportDir}/up.txt`), "data\n");
    await Deno.remove(local, { recursive: true });
  },
  { port: PORT + 4 },
);

serverTest(
  "nfs4 shell: cd, open, lock, unlock and close take an nfs:// URL of the shell's server",
  async (server) => {
    await Deno.mkdir(`${server.exportDir}/d`);
    await Deno.writeTextFile(`${server.exportDir}/d/f`, "data\n");
    const url = `${server.url}/vfs`;
    const r = await nfs4([
      "shell",
      url,
      "-c",
      `cd ${url}/d; pwd; open ${url}/d/f; lock ${url}/d/f; unlock ${url}/d/f; close ${url}/d/f; state`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\/vfs\/d\n/);
    assert.match(r.stdout, /^opens {7}none$/m);
  },
  { port: PORT + 5 },
);

const LEASE = 3;

serverTest(
  "nfs4 shell: a lock lost in recovery fails unlock, close and the exit, each in one line",
  async (server) => {
    await Deno.writeTextFile(`${server.exportDir}/f`, "data\n");
    await Deno.writeTextFile(`${server.exportDir}/g`, "data\n");
    await Deno.writeTextFile(`${server.exportDir}/h`, "data\n");
    const url = `${server.url}/vfs`;
    // Paused past its lease, the shell's own clock says the lease ran out: the locks are lost.
    const pause = async (pid: number) => {
      await sleep(2500);
      Deno.kill(pid, "SIGSTOP");
      await sleep((LEASE + 3) * 1000);
      Deno.kill(pid, "SIGCONT");
      await sleep(1500);
    };
    const r = await withStdin(
      ["--vers", "4.1", "shell", "--keep-going", url],
      ["lock -x f; lock -x g; lock -x h\n", "unlock f\nclose f\nclose g\nexit\n"],
      pause,
    );
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("nfs4: "));
    const lost = (verb: string, name: string) =>
      new RegExp(
        `^nfs4: ${verb}: ${RegExp.escape(`${url}/${name}`)}: (lock|open) lost: .+ \\(EBADF\\)$`,
      );
    // Once unlock has said the lock on f is lost, f's open (recovered) closes.
    assert.match(lines[0] ?? "", lost("unlock", "f"), r.stderr);
    assert.match(lines[1] ?? "", lost("close", "g"), r.stderr);
    assert.match(lines[2] ?? "", lost("exit", "h"), r.stderr);
    assert.equal(lines.length, 3, r.stderr);
    assert.notEqual(r.code, 0, r.stderr);
  },
  { port: PORT + 6, leaseSeconds: LEASE, graceSeconds: LEASE },
);
