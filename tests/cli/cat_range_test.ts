/**
 * `nfs4 cat --offset N --length N` against NFS-Ganesha on NFSv4.0 and
 * NFSv4.1: byte ranges of a 1 MiB + 1 random file and a short one compared
 * with `dd` (skip/count in bytes) and with `tail -c +N | head -c N` run on
 * the same files, multipliers, offsets at and past the end, several files
 * in one command; bad values (exit 2), a directory, a missing file.
 */

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs/promises";
import { serverTest } from "../_server.ts";
import { exclusiveOpenStatus, nfs4 } from "./_spawn.ts";
import { assertSameOutput, gnu, inBatches, latin1 } from "./_head_tail.ts";

const VERSIONS = ["4.0", "4.1"] as const;
const SIZE = (1 << 20) + 1;

/** `--offset`, `--length` as typed (undefined: not given) and their values in bytes. */
const ROWS: [string | undefined, string | undefined, number, number | undefined][] = [
  [undefined, undefined, 0, undefined],
  ["0", undefined, 0, undefined],
  [undefined, "0", 0, 0],
  [undefined, "10", 0, 10],
  ["1", "1", 1, 1],
  ["100", "1000", 100, 1000],
  ["1K", "1K", 1024, 1024],
  ["2kB", "3b", 2000, 1536],
  ["1MiB", "10", 1 << 20, 10],
  ["1M", undefined, 1 << 20, undefined],
  [String(SIZE - 1), "5", SIZE - 1, 5],
  [String(SIZE), "5", SIZE, 5],
  [String(SIZE + 100), undefined, SIZE + 100, undefined],
  ["5", "18446744073709551615", 5, undefined],
  ["12345", "654321", 12345, 654321],
  ["0", "1048577", 0, 1048577],
];

serverTest(
  "cat --offset/--length prints what dd and tail -c +N | head -c N print",
  async (server) => {
    const dir = server.exportDir;
    const base = `${server.url}/vfs`;
    await fs.writeFile(`${dir}/big`, randomBytes(SIZE));
    await fs.writeFile(`${dir}/small`, "0123456789");
    for (const vers of VERSIONS) {
      await inBatches(ROWS, 4, async ([offset, length, skip, count]) => {
        const args = [
          ...(offset === undefined ? [] : ["--offset", offset]),
          ...(length === undefined ? [] : ["--length", length]),
        ];
        const what = `cat ${args.join(" ")} (${vers})`;
        const ours = await nfs4(["cat", "--vers", vers, ...args, `${base}/big`]);
        const dd = await gnu("dd", [
          "if=big",
          "status=none",
          "iflag=skip_bytes,count_bytes",
          `skip=${skip}`,
          ...(count === undefined ? [] : [`count=${count}`]),
        ], dir);
        assertSameOutput(ours, dd, base, `${what} vs dd`);
        assert.equal(ours.stderr, "", what);
        const pipe = await gnu("sh", [
          "-c",
          `tail -c +${skip + 1} big${count === undefined ? "" : ` | head -c ${count}`}`,
        ], dir);
        assertSameOutput(ours, pipe, base, `${what} vs tail | head`);
      });
      // Several files: the same range of each, one after the other.
      const both = await nfs4([
        "cat",
        "--vers",
        vers,
        "--offset",
        "8",
        "--length",
        "4",
        `${base}/small`,
        `${base}/big`,
        `${base}/small`,
      ]);
      assert.equal(both.code, 0, both.stderr);
      const big = await fs.readFile(`${dir}/big`);
      assert.equal(latin1(both.bytes), "89" + latin1(big.subarray(8, 12)) + "89");
      for (const name of ["big", "small"]) {
        assert.equal(await exclusiveOpenStatus(server, vers, `/vfs/${name}`), "NFS4_OK", name);
      }
    }
  },
);

serverTest("cat --offset/--length: bad values, a directory, a missing file", async (server) => {
  const dir = server.exportDir;
  const base = `${server.url}/vfs`;
  await fs.writeFile(`${dir}/small`, "0123456789");
  await fs.mkdir(`${dir}/d`);
  for (const vers of VERSIONS) {
    const r = await nfs4([
      "cat",
      "--vers",
      vers,
      "--offset",
      "2",
      "--length",
      "3",
      `${base}/d`,
      `${base}/nope`,
      `${base}/small`,
    ]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "234");
    assert.deepEqual(r.stderr.trimEnd().split("\n"), [
      `nfs4: ${base}/d: Is a directory (NFS4ERR_ISDIR)`,
      `nfs4: ${base}/nope: No such file or directory (NFS4ERR_NOENT)`,
    ]);
  }
  const bad: string[][] = [
    ["--offset", "-1"],
    ["--offset", "x"],
    ["--length", "1.5"],
    ["--length", "+5"],
    ["--offset", "20E"],
    ["--length", ""],
    ["--offset", " 5"],
  ];
  for (const args of bad) {
    const what = `cat ${args.join(" ")}`;
    const r = await nfs4(["cat", ...args, `${base}/small`]);
    assert.equal(r.code, 2, `${what}: ${r.stderr}`);
    assert.equal(r.stdout, "", what);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, `${what}: one line`);
    assert.match(r.stderr, /^nfs4: option '--(offset|length) <N>' argument '.*' is invalid\. /);
  }
});
