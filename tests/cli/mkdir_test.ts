/**
 * `nfs4 mkdir` against NFS-Ganesha compared with GNU coreutils `mkdir` in a
 * local copy of the same tree (tests/cli/_tree_ops.ts), on NFSv4.0 and
 * 4.1: modes from the umask (022, 077, 027), `-m` octal and symbolic,
 * set-group-ID and sticky bits, a set-group-ID parent, `-p` with its
 * parents' modes, existing names, symlinks, missing parents, permission
 * denied and the owner of what uid 1000 makes; then usage errors and the
 * pseudo-fs root.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { cpServerTest, tempDir, VERSIONS } from "./_cp.ts";
import { compareRow, findTree, type Row, runNfs4 } from "./_tree_ops.ts";

const ROWS: readonly Row[] = [
  { name: "one, -v", cmd: "mkdir", args: ["-v", "@n"] },
  { name: "two", cmd: "mkdir", args: ["@n1", "@n2/"] },
  { name: "umask 077", cmd: "mkdir", args: ["@n"], as: { umask: 0o077 } },
  { name: "existing names: File exists", cmd: "mkdir", args: ["@e", "@f", "@n", "@dang"], code: 1 },
  { name: "-p: existing directories are fine", cmd: "mkdir", args: ["-p", "@e", "@t/a", "@lnk"] },
  {
    name: "-p -m: an existing directory's mode is left as it is",
    cmd: "mkdir",
    args: ["-p", "-m", "1777", "@e", "@t/a", "@lnk"],
  },
  {
    name: "-p -m 2700: an existing directory's set-group-ID bit is not set",
    cmd: "mkdir",
    args: ["-p", "-m", "2700", "@e"],
  },
  {
    name: "-p: existing files and dangling symlinks are not",
    cmd: "mkdir",
    args: ["-p", "@f", "@dang"],
    code: 1,
  },
  { name: "-pv: the parents too, in order", cmd: "mkdir", args: ["-pv", "@x/y/z", "@lnk/new/er"] },
  { name: "-p -m 0700: parents 0755", cmd: "mkdir", args: ["-p", "-m", "0700", "@p/q/r"] },
  {
    name: "-p -m 0700 with umask 077: parents still u+wx",
    cmd: "mkdir",
    args: ["-p", "-m", "0700", "@p/q/r"],
    as: { umask: 0o077 },
  },
  { name: "-p with umask 027", cmd: "mkdir", args: ["-pv", "@a/b"], as: { umask: 0o027 } },
  {
    name: "-p with umask 0577: parents u+wx, the last as the umask says",
    cmd: "mkdir",
    args: ["-p", "@a/b"],
    as: { umask: 0o577 },
  },
  {
    name: "-m octal: set-group-ID (set after the CREATE), sticky, less than the umask",
    cmd: "mkdir",
    args: ["-m", "2750", "@s1", "-m", "1777", "@s2"],
  },
  { name: "-m 0777 is not limited by the umask", cmd: "mkdir", args: ["-m", "0777", "@s"] },
  { name: "-m u=rwx,g=rx: from a=rwx", cmd: "mkdir", args: ["-m", "u=rwx,g=rx", "@s"] },
  { name: "-m =rw with umask 077", cmd: "mkdir", args: ["-m", "=rw", "@s"], as: { umask: 0o077 } },
  { name: "-m go-w,+t", cmd: "mkdir", args: ["-m", "go-w,+t", "@s"] },
  {
    name: "in a set-group-ID directory: inherited, kept by -m 0755, cleared by -m 00755",
    cmd: "mkdir",
    args: ["@sg/a", "-m", "0755", "@sg/c"],
  },
  {
    name: "-m 00755 clears an inherited set-group-ID bit",
    cmd: "mkdir",
    args: ["-m", "00755", "@sg/b"],
  },
  {
    name: "a missing parent (nfs4 names the missing directory)",
    cmd: "mkdir",
    args: ["@missing/x", "@n"],
    code: 1,
    errors: ["missing: No such file or directory"],
  },
  { name: "-p under a file", cmd: "mkdir", args: ["-p", "@f/x/y", "@n"], code: 1 },
  {
    name: "uid 1000 in a root-owned directory: permission denied (File exists where it does)",
    cmd: "mkdir",
    args: ["@t/x", "@t/a", "-p", "@t/y/z"],
    as: { uid: 1000 },
    code: 1,
  },
  {
    name: "uid 1000 in a 0777 directory: made and owned by uid 1000",
    cmd: "mkdir",
    args: ["-pv", "@pub/a/b", "-m", "2770", "@pub/c"],
    as: { uid: 1000 },
  },
];

cpServerTest("nfs4 mkdir compared with coreutils mkdir (4.0 and 4.1)", async (server, t) => {
  const local = await tempDir("nfs4-mkdir-test-");
  await fs.chmod(local, 0o755); // uid 1000 runs coreutils in it
  try {
    for (const vers of VERSIONS) {
      for (const [i, row] of ROWS.entries()) {
        await t.step(`--vers ${vers} mkdir ${row.args.join(" ")}: ${row.name}`, async () => {
          await compareRow(server, vers, local, `mkdir${i}-${vers}`, row);
        });
      }
    }
  } finally {
    await fs.rm(local, { recursive: true, force: true });
  }
});

cpServerTest(
  "nfs4 mkdir: a bad mode is a usage error; the pseudo-fs root exists",
  async (server, t) => {
    for (const vers of VERSIONS) {
      await t.step(`--vers ${vers}`, async () => {
        const before = await findTree(server.exportDir);
        for (const mode of ["bad", "0800", "u+q", ""]) {
          const r = await runNfs4(["--vers", vers, "mkdir", "-m", mode, `${server.url}/vfs/z`]);
          assert.equal(r.code, 2, r.stderr);
          assert.equal(r.stderr, `nfs4: invalid mode: '${mode}'\n`);
        }
        let r = await runNfs4(["--vers", vers, "mkdir", `${server.url}/`]);
        assert.equal(r.code, 1);
        assert.equal(r.stderr, `nfs4: ${server.url}/: File exists (NFS4ERR_EXIST)\n`);
        r = await runNfs4(["--vers", vers, "mkdir", "-p", `${server.url}/`, `${server.url}/vfs`]);
        assert.equal(r.code, 0, r.stderr);
        r = await runNfs4(["--vers", vers, "mkdir", `${server.url}/vfs`]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /^nfs4: nfs:\/\/.*\/vfs: File exists \(NFS4ERR_EXIST\)\n$/);
        assert.deepEqual(await findTree(server.exportDir), before, "nothing made");
      });
    }
  },
);
