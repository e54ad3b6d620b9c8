/**
 * `nfs4 ln` against coreutils `ln`, on NFS-Ganesha's VFS export, on 4.0 and
 * 4.1: each row's tree is made twice, in a local folder and in the export;
 * coreutils `ln` runs on the first, `nfs4 ln` with URLs on the second; the
 * trees after (`find -printf` type, mode, owner, link count, mtime, symlink
 * target as bytes, size), hard links sharing an inode, exit codes and `-v`
 * output (URLs mapped back to paths) must be the same; errors are one line.
 * Symlink targets are text, not paths: they are given as they are to both.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { cpServerTest, tempDir, VERSIONS } from "./_cp.ts";
import {
  compareCase,
  type CoreutilsCase,
  inBatches,
  must,
  nfs4,
  nfs4IntoHead,
  shellWord,
} from "./_mv.ts";

/** One row of the table; `args` other than `@path` (symlink targets) are words as they are. */
interface LnCase extends CoreutilsCase {
  /** Names that share an inode afterwards (checked on both sides). */
  readonly sameInode?: readonly [string, string];
}

const CASES: readonly LnCase[] = [
  { name: "hard", setup: "echo a > a", args: ["-v", "@a", "@b"], sameInode: ["a", "b"] },
  {
    name: "hard-into-dir",
    setup: "echo a > a; mkdir d",
    args: ["-v", "@a", "@d"],
    sameInode: ["a", "d/a"],
  },
  {
    name: "hard-into-dir-slash",
    setup: "echo a > a; mkdir d",
    args: ["-v", "@a", "@d/"],
    sameInode: ["a", "d/a"],
  },
  {
    name: "hard-several",
    setup: "echo a > a; echo b > b; mkdir d",
    args: ["-v", "@a", "@b", "@d"],
    sameInode: ["b", "d/b"],
  },
  {
    name: "hard-t",
    setup: "echo a > a; echo b > b; mkdir d",
    args: ["-v", "-t", "@d", "@a", "@b"],
    sameInode: ["a", "d/a"],
  },
  {
    name: "hard-to-symlink",
    setup: "echo a > a; ln -s a l",
    args: ["-v", "@l", "@h"],
    sameInode: ["l", "h"],
  },
  {
    name: "hard-L",
    setup: "echo a > a; ln -s a l",
    args: ["-v", "-L", "@l", "@h"],
    sameInode: ["a", "h"],
  },
  { name: "symbolic", setup: "", args: ["-s", "-v", "some/where", "@s"] },
  { name: "symbolic-into-dir", setup: "mkdir d", args: ["-s", "-v", "../x/y", "@d"] },
  { name: "symbolic-slash-target", setup: "mkdir d", args: ["-sv", "/x/y/", "@d"] },
  { name: "symbolic-bytes", setup: "", args: ["-s", "t\udce9\udcff", "@s"] },
  { name: "sf-replace", setup: "ln -s a s", args: ["-sfv", "c", "@s"] },
  { name: "sf-into-symlinked-dir", setup: "mkdir d; ln -s d ld", args: ["-sfv", "z", "@ld"] },
  { name: "sfn-replace-symlink", setup: "mkdir d; ln -s d ld", args: ["-sfnv", "z", "@ld"] },
  {
    name: "f-hard-replace",
    setup: "echo a > a; echo b > b; ln b b2",
    args: ["-fv", "@a", "@b"],
    sameInode: ["a", "b"],
  },
  {
    name: "f-already-linked",
    setup: "echo a > a; ln a b",
    args: ["-fv", "@a", "@b"],
    sameInode: ["a", "b"],
  },
  {
    name: "i-yes",
    setup: "echo a > a; echo b > b",
    args: ["-iv", "@a", "@b"],
    stdin: "y",
    stderr: "prompt",
    sameInode: ["a", "b"],
  },
  {
    name: "i-no",
    setup: "echo a > a; echo b > b",
    args: ["-iv", "@a", "@b"],
    stdin: "n",
    stderr: "prompt",
  },
  {
    name: "exists",
    setup: "echo a > a; echo b > b",
    args: ["@a", "@b"],
    code: 1,
    stderr: /^nfs4: failed to create hard link 'b' => 'a': File exists \(NFS4ERR_EXIST\)\n$/,
  },
  {
    name: "s-exists",
    setup: "echo b > b",
    args: ["-s", "a", "@b"],
    code: 1,
    stderr: /^nfs4: failed to create symbolic link 'b' -> 'a': File exists \(NFS4ERR_EXIST\)\n$/,
  },
  {
    name: "T-onto-dir",
    setup: "echo a > a; mkdir d",
    args: ["-T", "@a", "@d"],
    code: 1,
    stderr: /^nfs4: failed to create hard link 'd' => 'a': File exists \(NFS4ERR_EXIST\)\n$/,
  },
  {
    name: "fT-onto-dir",
    setup: "echo a > a; mkdir d",
    args: ["-fT", "@a", "@d"],
    code: 1,
    stderr: /^nfs4: 'd': cannot overwrite directory\n$/,
  },
  {
    name: "f-same-file",
    setup: "echo a > a",
    args: ["-f", "@a", "@a"],
    code: 1,
    stderr: /^nfs4: 'a' and 'a' are the same file\n$/,
  },
  {
    name: "hard-dir",
    setup: "mkdir d",
    args: ["@d", "@e"],
    code: 1,
    stderr: /^nfs4: 'd': hard link not allowed for directory\n$/,
  },
  {
    name: "missing-target",
    setup: "",
    args: ["@x", "@y"],
    code: 1,
    stderr: /^nfs4: x: No such file or directory \(NFS4ERR_NOENT\)\n$/,
  },
  {
    name: "missing-then-ok",
    setup: "echo a > a; mkdir d",
    args: ["-v", "@x", "@a", "@d"],
    code: 1,
    stderr: /^nfs4: x: No such file or directory \(NFS4ERR_NOENT\)\n$/,
    sameInode: ["a", "d/a"],
  },
  {
    name: "not-a-directory",
    setup: "echo a > a; echo b > b; echo c > c",
    args: ["@a", "@b", "@c"],
    code: 1,
    stderr: /^nfs4: target 'c' is not a directory\n$/,
  },
  {
    name: "slash-missing",
    setup: "",
    args: ["-s", "a", "@n/"],
    code: 1,
    stderr: /^nfs4: failed to create symbolic link 'n\/' -> 'a': No such file or directory\n$/,
  },
];

/** Whether `a` and `b` under `dir` are one inode. */
async function sameInode(dir: string, a: string, b: string): Promise<boolean> {
  const out = await must(`cd ${shellWord(dir)} && stat -c %i -- ${shellWord(a)} ${shellWord(b)}`);
  const [x, y] = out.trim().split("\n");
  return x === y;
}

for (const vers of VERSIONS) {
  cpServerTest(`nfs4 ln --vers ${vers} links like coreutils ln`, async (server) => {
    const local = await tempDir("nfs4-ln-test-");
    try {
      await inBatches(CASES, 4, async (c) => {
        const ref = `${local}/${c.name}`;
        const ours = `${server.exportDir}/${vers}-${c.name}`;
        const where = `${c.name} (--vers ${vers})`;
        // Ganesha sets no times on symlinks: a new one has the time it was made on both sides.
        await compareCase("ln", c, {
          ref,
          ours,
          base: `${server.url}/vfs/${vers}-${c.name}`,
          vers,
        });
        if (c.sameInode) {
          const [a, b] = c.sameInode;
          assert.ok(await sameInode(ref, a, b), `${where}: coreutils links ${a} and ${b}`);
          assert.ok(await sameInode(ours, a, b), `${where}: ${a} and ${b} are one file`);
        }
        assert.deepEqual(
          (await fs.readdir(ours)).filter((n) => n.includes(".nfs4-")),
          [],
          `${where}: no temporary left`,
        );
      });

      // A link on another server, or to a local file, is a cross-device link.
      await must(`echo a > ${server.exportDir}/${vers}-a && echo a > ${local}/a`);
      const far = await nfs4([
        "--vers",
        vers,
        "ln",
        `${local}/a`,
        `${server.url}/vfs/${vers}-b`,
      ]);
      assert.equal(far.code, 1, far.stderr);
      assert.match(
        far.stderr,
        /^nfs4: cannot create hard link to '.*\/a': Invalid cross-device link/,
      );
      const usage = await nfs4(["--vers", vers, "ln", "-s", "a", `${local}/b`]);
      assert.equal(usage.code, 2, usage.stderr);
      assert.match(usage.stderr, /not an nfs:\/\/ URL/);
      // A symlink's text is stored as given, also when it looks like a URL (with a warning).
      const url = await nfs4([
        "--vers",
        vers,
        "ln",
        "-s",
        `${server.url}/vfs/${vers}-a`,
        `${server.url}/vfs/${vers}-u`,
      ]);
      assert.equal(url.code, 0, url.stderr);
      assert.match(url.stderr, /^nfs4: warning: .*: stored as the symlink's text as it is/);
      assert.equal(
        await fs.readlink(`${server.exportDir}/${vers}-u`),
        `${server.url}/vfs/${vers}-a`,
      );
      // -v into a closed stdout: the command ends quietly (exit 0) between
      // links; every link made is a whole link to its file.
      const pipe = `${server.exportDir}/${vers}-pipe`;
      await must(`mkdir -p ${pipe}/d && cd ${pipe} && for i in $(seq 150); do echo $i > f$i; done`);
      const names = Array.from({ length: 150 }, (_, i) => `f${i + 1}`);
      const piped = await nfs4IntoHead([
        "--vers",
        vers,
        "ln",
        "-v",
        ...names.map((n) => `${server.url}/vfs/${vers}-pipe/${n}`),
        `${server.url}/vfs/${vers}-pipe/d`,
      ]);
      assert.equal(piped.code, 0, piped.stderr);
      assert.equal(piped.stderr, "");
      const made = await fs.readdir(`${pipe}/d`);
      assert.ok(made.length < names.length, `stopped early: ${made.length} links`);
      for (const n of made) assert.ok(await sameInode(pipe, n, `d/${n}`), n);
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  });
}
