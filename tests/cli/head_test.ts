/**
 * `nfs4 head` against NFS-Ganesha on NFSv4.0 and NFSv4.1, compared byte
 * for byte with GNU head run on the same files in the export's folder: a
 * table of options (-c N, -c -N, -n N, -n -N, multipliers, -z, -q/-v, the
 * last of -c/-n winning) over six files at once (headers), then one file
 * alone; errors (missing, a directory, `file/`, permission denied, bad
 * numbers: exit 2) and that nothing is left open on the server.
 */

import * as fs from "node:fs/promises";
import { serverTest } from "../_server.ts";
import { nfs4 } from "./_spawn.ts";
import {
  assertBadCountsRefused,
  assertFailuresAsGnu,
  assertSameOutput,
  compareWithGnu,
  gnu,
} from "./_head_tail.ts";

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
      await assertFailuresAsGnu("head", vers, dir, base);
      // As GNU head: a directory of which nothing is to be read is no failure.
      const zero = await nfs4(["head", "--vers", vers, "-c", "0", "-v", `${base}/d`]);
      assertSameOutput(
        zero,
        await gnu("head", ["-c", "0", "-v", "d"], dir),
        base,
        `-c 0 dir (${vers})`,
      );
    }
    await assertBadCountsRefused(
      "head",
      [["-c", "1x"], ["-n", ""], ["-c", "20E"], ["-n", "1.5"], ["-c", "--5"], ["-n", "1B"]],
      /^nfs4: option '-[cn], --(bytes|lines) <\[-\]NUM>' argument '.*' is invalid\. /,
      dir,
      base,
    );
  },
);
