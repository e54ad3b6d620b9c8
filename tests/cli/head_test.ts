/**
 * `nfs4 head` against NFS-Ganesha on NFSv4.0 and NFSv4.1, compared byte
 * for byte with GNU head run on the same files in the export's folder: a
 * table of options (-c N, -c -N, -n N, -n -N, multipliers, -z, -q/-v, the
 * last of -c/-n winning) over six files at once (headers), then one file
 * alone; errors (missing, a directory, `file/`, permission denied, bad
 * numbers: exit 2) and that nothing is left open on the server.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { serverTest } from "../_server.ts";
import { nfs4 } from "./_spawn.ts";
import { assertSameOutput, compareWithGnu, gnu } from "./_head_tail.ts";

const VERSIONS = ["4.0", "4.1"] as const;

/** Options rows: each run on all the files at once, as nfs4 head and as GNU head. */
const ROWS: string[][] = [
  [],
  ["-c", "0"],
  ["-c", "1"],
  ["-c", "100"],
  ["-c", "1K"],
  ["-c", "2kB"],
  ["-c", "1MiB"],
  ["-c", "3b"],
  ["-c", "-1"],
  ["-c", "-100"],
  ["-c", "-1048577"],
  ["-c", "-3M"],
  ["-c", "-0"],
  ["-n", "0"],
  ["-n", "1"],
  ["-n", "3"],
  ["-n", "+2"],
  ["-n", "2000"],
  ["-n", "1k"],
  ["-n", "-1"],
  ["-n", "-3"],
  ["-n", "-0"],
  ["-n", "-2000"],
  ["--lines=4"],
  ["--bytes=-7"],
  ["-n-2"],
  ["-z", "-n", "2"],
  ["-z", "-n", "-1"],
  ["-q", "-n", "2"],
  ["-c", "5", "-n", "2"],
  ["-n", "2", "-c", "5"],
  ["-v", "-q", "-c", "3"],
];

/** Rows run on one file alone (no headers unless -v). */
const SINGLE: [string[], string][] = [
  [["-n", "2"], "nonl"],
  [["-v", "-n", "1"], "text"],
  [["-c", "-5"], "long"],
  [["-q", "-v", "-c", "10"], "binary"],
];

serverTest("nfs4 head prints what GNU head prints (table, 4.0 and 4.1)", async (server) => {
  await compareWithGnu(server, "head", ROWS, SINGLE);
});

serverTest(
  "nfs4 head: missing files, directories, file/, permissions, bad numbers",
  async (server) => {
    const dir = server.exportDir;
    const base = `${server.url}/vfs`;
    await fs.writeFile(`${dir}/a`, "1\n2\n3\n");
    await fs.mkdir(`${dir}/d`);
    await fs.writeFile(`${dir}/secret`, "no\n", { mode: 0o600 });
    await fs.chmod(`${dir}/secret`, 0o600);
    for (const vers of VERSIONS) {
      // GNU head: no header for a file it cannot open, a header for a directory, exit 1.
      const names = ["a", "nope", "d", "a"];
      const ours = await nfs4([
        "head",
        "--vers",
        vers,
        "-n",
        "1",
        ...names.map((n) => `${base}/${n}`),
      ]);
      assertSameOutput(
        ours,
        await gnu("head", ["-n", "1", ...names], dir),
        base,
        `errors (${vers})`,
      );
      assert.deepEqual(ours.stderr.trimEnd().split("\n"), [
        `nfs4: ${base}/nope: No such file or directory (NFS4ERR_NOENT)`,
        `nfs4: ${base}/d: Is a directory (NFS4ERR_ISDIR)`,
      ]);
      // As GNU head: a directory of which nothing is to be read is no failure.
      const zero = await nfs4(["head", "--vers", vers, "-c", "0", "-v", `${base}/d`]);
      assertSameOutput(
        zero,
        await gnu("head", ["-c", "0", "-v", "d"], dir),
        base,
        `-c 0 dir (${vers})`,
      );

      const slash = await nfs4(["head", "--vers", vers, `${base}/a/`]);
      assert.equal(slash.code, 1);
      assert.equal(slash.stderr, `nfs4: ${base}/a/: Not a directory (NFS4ERR_NOTDIR)\n`);

      const denied = await nfs4([
        "head",
        "--vers",
        vers,
        "--uid",
        "1000",
        "--gid",
        "1000",
        `${base}/secret`,
      ]);
      assert.equal(denied.code, 1, denied.stderr);
      assert.equal(denied.stdout, "");
      assert.equal(denied.stderr, `nfs4: ${base}/secret: Permission denied (NFS4ERR_ACCESS)\n`);
    }
    for (
      const args of [["-c", "1x"], ["-n", ""], ["-c", "20E"], ["-n", "1.5"], ["-c", "--5"], [
        "-n",
        "1B",
      ]]
    ) {
      const what = `head ${args.join(" ")}`;
      const ours = await nfs4(["head", ...args, `${base}/a`]);
      assert.equal(ours.code, 2, `${what}: ${ours.stderr}`);
      assert.equal(ours.stdout, "", what);
      assert.equal(ours.stderr.trimEnd().split("\n").length, 1, `${what}: one line`);
      assert.match(
        ours.stderr,
        /^nfs4: option '-[cn], --(bytes|lines) <\[-\]NUM>' argument '.*' is invalid\. /,
      );
      assert.notEqual(
        (await gnu("head", [...args, "a"], dir)).code,
        0,
        `${what}: GNU refuses it too`,
      );
    }
  },
);
