/**
 * "Leave the server clean", for every subcommand on NFSv4.0 and 4.1 against
 * Ganesha: a run that succeeds and a run with a typical failure (a missing
 * file among several, a permission error, a name that exists, a held lock)
 * each exit with the documented code, close every OPEN (a refused CLOSE
 * does not count), unlock every LOCK, and on 4.1 destroy their session and
 * client ID; another client can then open each file they touched with
 * share deny BOTH (tests/cli/_clean_exit.ts).
 *
 * One server for the whole table; each version works in a directory of its
 * own. Closed stdout and SIGINT are in clean_exit_signals_test.ts.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { serverTest, type TestServer } from "../_server.ts";
import { tempDir } from "./_cp.ts";
import { assertClean, type Version, VERSIONS } from "./_clean_exit.ts";
import { startHolder, stopHolder } from "./_lock.ts";
import { nfs4 } from "./_spawn.ts";

/** One run of the table. */
interface Case {
  /** Arguments after `--vers V --trace=json`; `u` is the version's directory URL, `l` a local dir. */
  args: (u: string, l: string) => string[];
  code: number;
  /** Files below the version's directory the command opened (`f1`, `dir/a`). */
  files?: string[];
  /** Global options before the subcommand (`--uid 1000`). */
  globals?: string[];
  /** It fails before connecting. */
  noClient?: boolean;
}

/** The files each version's directory starts with. */
function populate(root: string, local: string): void {
  fs.mkdirSync(root);
  const put = (name: string, data: string | Uint8Array, mode = 0o644) => {
    fs.writeFileSync(`${root}/${name}`, data);
    fs.chmodSync(`${root}/${name}`, mode);
  };
  for (const d of ["dir", "empty", "full", "dir/sub", "ro"]) fs.mkdirSync(`${root}/${d}`);
  fs.chmodSync(`${root}/ro`, 0o755);
  put("f1", "alpha\n");
  put("f2", "beta\n");
  put("dir/a", "a\n");
  put("dir/b", "b\n");
  put("dir/sub/c", "c\n");
  put("full/x", "x\n");
  put("big", new Uint8Array(3 << 20).fill(0x62));
  put("secret", "secret\n", 0o600);
  put("ro/keep", "keep\n");
  for (const name of ["rmme", "mvsrc", "trunc", "lockf", "held", "nonempty", "chm"]) {
    put(name, "data\n");
  }
  fs.writeFileSync(`${local}/up`, "uploaded\n");
}

const CASES: Record<string, Case> = {
  // ---------------------------------------------------------------- success
  "ls -l": { args: (u) => ["ls", "-l", `${u}/dir`], code: 0 },
  "ls -R": { args: (u) => ["ls", "-R", `${u}/dir`], code: 0 },
  "cat two small files": {
    args: (u) => ["cat", `${u}/f1`, `${u}/f2`],
    code: 0,
    files: ["f1", "f2"],
  },
  "cat a 3 MiB file": { args: (u) => ["cat", `${u}/big`], code: 0, files: ["big"] },
  "cp down": { args: (u, l) => ["cp", `${u}/big`, `${l}/big`], code: 0, files: ["big"] },
  "cp up": { args: (u, l) => ["cp", `${l}/up`, `${u}/up`], code: 0, files: ["up"] },
  "cp server to server": {
    args: (u) => ["cp", `${u}/f1`, `${u}/f1copy`],
    code: 0,
    files: ["f1", "f1copy"],
  },
  "cp -r down": { args: (u, l) => ["cp", "-r", `${u}/dir`, `${l}/dir`], code: 0, files: ["dir/a"] },
  "stat": { args: (u) => ["stat", `${u}/f1`, `${u}/dir`], code: 0 },
  "df": { args: (u) => ["df", u], code: 0 },
  "rm": { args: (u) => ["rm", `${u}/rmme`], code: 0 },
  "rmdir": { args: (u) => ["rmdir", `${u}/empty`], code: 0 },
  "mkdir -p": { args: (u) => ["mkdir", "-p", `${u}/new/deeper`], code: 0 },
  "mv": { args: (u) => ["mv", `${u}/mvsrc`, `${u}/mvdst`], code: 0, files: ["mvdst"] },
  "ln -s": { args: (u) => ["ln", "-s", "f1", `${u}/sym`], code: 0 },
  "ln": { args: (u) => ["ln", `${u}/f2`, `${u}/hard`], code: 0, files: ["f2"] },
  "chmod -R": { args: (u) => ["chmod", "-R", "u+w", `${u}/dir`], code: 0 },
  "chown": { args: (u) => ["chown", "0:0", `${u}/chm`], code: 0, files: ["chm"] },
  "touch": { args: (u) => ["touch", `${u}/touched`, `${u}/f1`], code: 0, files: ["touched", "f1"] },
  "truncate": { args: (u) => ["truncate", "-s", "100", `${u}/trunc`], code: 0, files: ["trunc"] },
  "du -a": { args: (u) => ["du", "-a", `${u}/dir`], code: 0 },
  "find": { args: (u) => ["find", `${u}/dir`, "-type", "f"], code: 0 },
  "head": {
    args: (u) => ["head", "-n", "1", `${u}/f1`, `${u}/big`],
    code: 0,
    files: ["f1", "big"],
  },
  "tail": { args: (u) => ["tail", "-c", "10", `${u}/big`], code: 0, files: ["big"] },
  "info": { args: (u) => ["info", "--count", "1", u], code: 0 },
  "info --write-probe": { args: (u) => ["info", "--count", "1", "--write-probe", u], code: 0 },
  "shell -c": {
    args: (u, l) => ["shell", u, "-c", `cat f1; lock -x f1; get f2 ${l}/f2; ls`],
    code: 0,
    files: ["f1", "f2"],
  },
  "lock -- true": { args: (u) => ["lock", `${u}/lockf`, "--", "true"], code: 0, files: ["lockf"] },
  "lock --test": { args: (u) => ["lock", "--test", `${u}/lockf`], code: 0, files: ["lockf"] },
  "renew-watch --open --lock": {
    args: (u) => ["renew-watch", "--duration", "1", "--open", "--lock", `${u}/lockf`],
    code: 0,
    files: ["lockf"],
  },
  "simulate-reboot --client": {
    args: (u) => ["simulate-reboot", "--client", `${u}/drill`],
    code: 0,
  },

  // ---------------------------------------------------------------- failure
  "ls, one missing": { args: (u) => ["ls", `${u}/dir`, `${u}/missing`], code: 1 },
  "cat, one missing": {
    args: (u) => ["cat", `${u}/f1`, `${u}/missing`, `${u}/f2`],
    code: 1,
    files: ["f1", "f2"],
  },
  "cat, one not readable": {
    globals: ["--uid", "1000", "--gid", "1000"],
    args: (u) => ["cat", `${u}/f1`, `${u}/secret`, `${u}/big`],
    code: 1,
    files: ["f1", "secret", "big"],
  },
  "cp down, one missing": {
    args: (u, l) => ["cp", `${u}/f1`, `${u}/missing`, `${u}/big`, `${l}/`],
    code: 1,
    files: ["f1", "big"],
  },
  "cp up, not writable": {
    globals: ["--uid", "1000", "--gid", "1000"],
    args: (u, l) => ["cp", `${l}/up`, `${u}/ro/up`],
    code: 1,
  },
  "cp up, no such directory": { args: (u, l) => ["cp", `${l}/up`, `${u}/nodir/up`], code: 1 },
  "stat, one missing": { args: (u) => ["stat", `${u}/f1`, `${u}/missing`], code: 1 },
  "df, missing": { args: (u) => ["df", `${u}/missing`], code: 1 },
  "rm, one missing": { args: (u) => ["rm", `${u}/missing`, `${u}/f1copy`], code: 1 },
  "rm -r, not permitted": {
    globals: ["--uid", "1000", "--gid", "1000"],
    args: (u) => ["rm", "-r", `${u}/ro`],
    code: 1,
  },
  "rmdir, not empty": { args: (u) => ["rmdir", `${u}/full`], code: 1 },
  "mkdir, exists": { args: (u) => ["mkdir", `${u}/dir`], code: 1 },
  "mv, missing": { args: (u) => ["mv", `${u}/missing`, `${u}/x`], code: 1 },
  "ln -s, exists": { args: (u) => ["ln", "-s", "t", `${u}/f1`], code: 1 },
  "chmod, one missing": { args: (u) => ["chmod", "600", `${u}/missing`, `${u}/chm`], code: 1 },
  "chown, not permitted": {
    globals: ["--uid", "1000", "--gid", "1000"],
    args: (u) => ["chown", "1000", `${u}/f1`],
    code: 1,
  },
  "touch, no such directory": { args: (u) => ["touch", `${u}/nodir/x`], code: 1 },
  "truncate, not permitted": {
    globals: ["--uid", "1000", "--gid", "1000"],
    args: (u) => ["truncate", "-s", "0", `${u}/secret`],
    code: 1,
    files: ["secret"],
  },
  "du, one missing": { args: (u) => ["du", `${u}/dir`, `${u}/missing`], code: 1 },
  "find, one missing": { args: (u) => ["find", `${u}/missing`, `${u}/dir`], code: 1 },
  "head, one missing": {
    args: (u) => ["head", `${u}/f1`, `${u}/missing`, `${u}/f2`],
    code: 1,
    files: ["f1", "f2"],
  },
  "tail, one missing": {
    args: (u) => ["tail", `${u}/big`, `${u}/missing`],
    code: 1,
    files: ["big"],
  },
  "info, missing path": {
    args: (u) => ["info", "--count", "1", `${u}/missing`],
    code: 1,
  },
  "shell -c, a verb fails": {
    args: (u) => ["shell", u, "-c", "lock -x f1; cat f2; cat missing; cat f1"],
    code: 1,
    files: ["f1", "f2"],
  },
  // (A missing lock file is made, as flock(1) makes it; a missing directory fails.)
  "lock, missing directory": {
    args: (u) => ["lock", `${u}/nodir/missing`, "--", "true"],
    code: 1,
  },
  "lock -n, held": { args: (u) => ["lock", "-n", `${u}/held`, "--", "true"], code: 1 },
  "lock -w 1, held": { args: (u) => ["lock", "-w", "1", `${u}/held`, "--", "true"], code: 1 },
  "lock --test, held": { args: (u) => ["lock", "--test", `${u}/held`], code: 1 },
  "renew-watch, missing": {
    args: (u) => ["renew-watch", "--duration", "1", "--open", `${u}/missing`],
    code: 1,
  },
  "simulate-reboot, non-empty file": {
    args: (u) => ["simulate-reboot", "--client", `${u}/nonempty`],
    code: 2,
  },
};

/** Runs the whole table for one version; returns what went wrong, case by case. */
async function runTable(server: TestServer, vers: Version): Promise<string[]> {
  const tag = `v${vers.replace(".", "")}`;
  const local = await tempDir("nfs4-clean-exit-");
  populate(`${server.exportDir}/${tag}`, local);
  const u = `${server.url}/vfs/${tag}`;
  const failures: string[] = [];
  // Another client holds a lock on `held` for the "held" cases.
  const holder = await startHolder(
    ["--vers", vers, "lock", `${u}/held`],
    `${u}/held`,
    "exclusive",
    "0-",
  );
  try {
    for (const [name, c] of Object.entries(CASES)) {
      const what = `${vers} ${name}`;
      const r = await nfs4([
        "--vers",
        vers,
        "--trace=json",
        ...(c.globals ?? []),
        ...c.args(u, local),
      ]);
      try {
        assert.equal(r.code, c.code, `${what}: exit status`);
        const files = name.includes("held") ? [] : (c.files ?? []).map((f) => `/vfs/${tag}/${f}`);
        await assertClean(server, vers, r.stderr, what, {
          files,
          ...(c.noClient ? { noClient: true } : {}),
        });
      } catch (e) {
        failures.push(`${(e as Error).message}\nstderr:\n${r.stderr}`);
      }
    }
  } finally {
    await stopHolder(holder);
  }
  // Nothing of ours holds the held file now.
  const { exclusiveOpenStatus } = await import("./_spawn.ts");
  const held = await exclusiveOpenStatus(server, vers, `/vfs/${tag}/held`);
  if (held !== "NFS4_OK") failures.push(`${vers}: held: ${held}`);
  return failures;
}

serverTest(
  "every command, succeeding and failing, on 4.0 and 4.1: exit status, opens closed, locks unlocked, client ID destroyed",
  async (server) => {
    const failures: string[] = [];
    for (const vers of VERSIONS) failures.push(...await runTable(server, vers));
    assert.deepEqual(failures, [], failures.join("\n\n"));
  },
);
