/**
 * `nfs4 rmdir` against NFS-Ganesha compared with GNU coreutils `rmdir` on
 * a local copy of the same tree (tests/cli/_tree_ops.ts), on NFSv4.0 and
 * 4.1: empty directories, `-v`, `-p` up the named parents, a file, a
 * symlink to a directory and `link/` refused (and kept), directories with
 * entries (`--ignore-fail-on-non-empty`), missing ones, permission denied
 * as uid 1000; then `-p` stopping below the export root, which the local
 * side has no equivalent of.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { cpServerTest, tempDir, VERSIONS } from "./_cp.ts";
import { compareRow, findTree, type Row, runNfs4 } from "./_tree_ops.ts";

const ROWS: readonly Row[] = [
  { name: "an empty directory", cmd: "rmdir", args: ["@e"] },
  { name: "-v: two", cmd: "rmdir", args: ["-v", "@e", "@t/e2"] },
  { name: "a file is not removed", cmd: "rmdir", args: ["@f", "@e"], code: 1 },
  {
    name: "a symlink to a directory is not one, with or without /",
    cmd: "rmdir",
    args: ["-v", "@lnk", "@t/e2/", "@t/ld/", "@dang"],
    code: 1,
  },
  { name: "a directory with entries", cmd: "rmdir", args: ["@t", "@d"], code: 1 },
  {
    name: "--ignore-fail-on-non-empty",
    cmd: "rmdir",
    args: ["--ignore-fail-on-non-empty", "-v", "@t", "@e"],
  },
  { name: "a missing one", cmd: "rmdir", args: ["@missing", "@e"], code: 1 },
  {
    name: "-p: the parents named, up to one with entries",
    cmd: "rmdir",
    args: ["-pv", "@t/e2", "@i1/s"],
    code: 1,
  },
  {
    name: "-p --ignore-fail-on-non-empty: stops quietly at the first parent with entries",
    cmd: "rmdir",
    args: ["-p", "-v", "--ignore-fail-on-non-empty", "@t/e2"],
  },
  {
    // rmdir(2): EINVAL for `.`, ENOTEMPTY for `..`; the directory they
    // name (e itself, i1 above s) is not removed.
    name: "a/. and a/..: Invalid argument, Directory not empty, nothing removed",
    cmd: "rmdir",
    args: ["@e/.", "-p", "@i1/s/..", "@t/e2"],
    code: 1,
  },
  {
    name: "-p of a file",
    cmd: "rmdir",
    args: ["-p", "@t/a/g"],
    code: 1,
  },
  {
    name: "uid 1000 in a root-owned directory: permission denied",
    cmd: "rmdir",
    args: ["@t/e2", "@e"],
    as: { uid: 1000 },
    code: 1,
  },
];

cpServerTest("nfs4 rmdir compared with coreutils rmdir (4.0 and 4.1)", async (server, t) => {
  const local = await tempDir("nfs4-rmdir-test-");
  await fs.chmod(local, 0o755); // uid 1000 runs coreutils in it
  try {
    for (const vers of VERSIONS) {
      for (const [i, row] of ROWS.entries()) {
        await t.step(`--vers ${vers} rmdir ${row.args.join(" ")}: ${row.name}`, async () => {
          await compareRow(server, vers, local, `rmdir${i}-${vers}`, row);
        });
      }
    }
  } finally {
    await fs.rm(local, { recursive: true, force: true });
  }
});

cpServerTest("nfs4 rmdir -p stops below the export root", async (server, t) => {
  await fs.writeFile(`${server.exportDir}/keep`, "");
  for (const vers of VERSIONS) {
    await t.step(`--vers ${vers}`, async () => {
      await fs.mkdir(`${server.exportDir}/solo/x/y`, { recursive: true });
      const before = await findTree(server.exportDir);
      const r = await runNfs4(["--vers", vers, "rmdir", "-pv", `${server.url}/vfs/solo/x/y`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "");
      assert.equal(
        r.stdout,
        [
          `rmdir: removing directory, '${server.url}/vfs/solo/x/y'`,
          `rmdir: removing directory, '${server.url}/vfs/solo/x'`,
          `rmdir: removing directory, '${server.url}/vfs/solo'`,
          "",
        ].join("\n"),
      );
      assert.deepEqual(
        await findTree(server.exportDir),
        before.filter((line) => !line.includes("./solo")).map((line) =>
          // The export's own directory lost a subdirectory: one link less.
          line.endsWith(" d - . ")
            ? line.replace(/ (\d+) d - \. $/, (_, n) => ` ${n - 1} d - . `)
            : line
        ),
      );
    });
  }
});
