/**
 * `nfs4 truncate` against GNU truncate: each row runs `truncate` on a local
 * copy of the sample tree and `nfs4 truncate` on another behind Ganesha, on
 * NFSv4.0 and 4.1, and compares the trees (sizes, every file's SHA-256, so
 * no byte below the new size changed, modes of created files, owners),
 * the files that failed and the exit codes. SIZE parsing is compared with
 * GNU truncate on its own.
 */

import assert from "node:assert/strict";
import { VERSIONS } from "./_cp.ts";
import { BASE_FIELDS, compareRows, fixtureTest, type Row, runLocal, runNfs4 } from "./_setattr.ts";
import { newSize, parseSizeSpec } from "../../cli/truncate.ts";
import { traceEvents } from "./_spawn.ts";
import { UsageError } from "../../lib/client/url.ts";

const FIELDS = `${BASE_FIELDS} %s`;

const ROWS: readonly Row[] = [
  { name: "to zero", args: ["-s", "0", "@a"] },
  { name: "shrink", args: ["-s", "5", "@big"] },
  { name: "extend by 1K (a hole)", args: ["-s", "+1K", "@big"] },
  { name: "reduce by", args: ["-s", "-3", "@big"] },
  { name: "reduce below zero", args: ["-s", "-20000", "@big"] },
  { name: "at most", args: ["-s", "<100", "@big", "@a"] },
  { name: "at least", args: ["-s", ">100000", "@big", "@a"] },
  { name: "round down", args: ["-s", "/1000", "@big", "@a"] },
  { name: "round up", args: ["-s", "%4096", "@big", "@a", "@b"] },
  { name: "spaces after the modifier", args: ["-s", "< 7", "@big"] },
  { name: "decimal units, new files", args: ["-s", "1KB", "@new", "@new2"] },
  { name: "binary units", args: ["-s", "3M", "@new"] },
  { name: "a unit alone", args: ["-s", "K", "@a"] },
  { name: "KiB", args: ["-s", "2KiB", "@a"] },
  { name: "-c: a missing file is not created", args: ["-c", "-s", "5", "@missing", "@a"] },
  { name: "a symlink is followed", args: ["-s", "2", "@l"] },
  { name: "a dangling symlink: its target is created", args: ["-s", "3", "@dang"] },
  { name: "-r: the reference's size", args: ["-r", "@big", "@a", "@new"] },
  { name: "-r with a relative size", args: ["-r", "@big", "-s", "+10", "@a", "@new"] },
  { name: "-r with a rounding", args: ["-r", "@a", "-s", "%4096", "@big"] },
  { name: "a new file with umask 077", args: ["-s", "1", "@new"], as: { umask: 0o077 } },
  { name: "a directory: exit 1, the rest done", args: ["-s", "5", "@d", "@a"] },
  { name: "a missing directory", args: ["-s", "5", "@nodir/x", "@a"] },
  { name: "a file named as a directory", args: ["-s", "5", "@a/", "@b"] },
  { name: "a new name with a slash is not created", args: ["-s", "5", "@new/"] },
  { name: "not writable: Permission denied", args: ["-s", "0", "@r/f"], as: { uid: 1000 } },
  { name: "not the owner, writable", args: ["-s", "2", "@pub"], as: { uid: 1000 } },
  { name: "its owner", args: ["-s", "+2", "@u/mine"], as: { uid: 1000 } },
  ...[
    ["-s", "1e", "@a"],
    ["@a"],
    ["-r", "@big", "-s", "5", "@a"],
    ["-s", "/0", "@a"],
    ["-s", "<+5", "@a"],
    ["-s", "1Y", "@a"],
  ].map((args): Row => ({
    name: `usage error: ${args.join(" ")} (coreutils: 1)`,
    args,
    code: 2,
    stderr: [/^nfs4: /],
    skipStdout: true,
  })),
];

fixtureTest(
  "nfs4 truncate matches GNU truncate through Ganesha (4.0 and 4.1)",
  async (fixture, t) => {
    await compareRows(fixture, t, "truncate", ROWS, FIELDS);
  },
);

fixtureTest(
  "nfs4 truncate: messages; OPEN, SETATTR, CLOSE and nothing else (4.0 and 4.1)",
  async (fixture) => {
    for (const version of VERSIONS) {
      const { url, remote } = await fixture.sides();
      const run = (args: string[], as = {}) =>
        runNfs4(["--vers", version, "truncate", ...args], as);
      const dir = await run(["-s", "0", `${url}/d`]);
      assert.equal(dir.code, 1);
      assert.equal(dir.stderr, `nfs4: ${url}/d: Is a directory (NFS4ERR_ISDIR)\n`);
      const denied = await run(["-s", "0", `${url}/r/f`], { uid: 1000 });
      assert.equal(denied.stderr, `nfs4: ${url}/r/f: Permission denied (NFS4ERR_ACCESS)\n`);
      const nodir = await run(["-s", "0", `${url}/nodir/x`]);
      assert.equal(
        nodir.stderr,
        `nfs4: ${url}/nodir/x: No such file or directory (NFS4ERR_NOENT)\n`,
      );
      // A size past an int64 (RFC 7530 §3.2, length4) names its file, as
      // GNU truncate does; the others are done.
      const over = await run(["-s", "+9223372036854775807", `${url}/big`]);
      assert.equal(over.code, 1);
      assert.equal(over.stderr, `nfs4: ${url}/big: overflow extending size of file\n`);
      // An existing file keeps its mode (UNCHECKED4 applies no attribute to it).
      await Deno.chmod(`${remote}/a`, 0o600);
      const kept = await run(["-s", "+1", `${url}/a`]);
      assert.equal(kept.code, 0, kept.stderr);
      const st = await Deno.stat(`${remote}/a`);
      assert.deepEqual([st.mode! & 0o7777, st.size], [0o600, 7]);
      // OPEN, SETATTR (under the open), CLOSE: no byte read or written.
      const traced = await run(["--trace=json,ops", "-s", "4", `${url}/a`]);
      assert.equal(traced.code, 0, traced.stderr);
      const ops = traceEvents(traced.stderr).filter((e) => e.cat === "ops").flatMap((e) =>
        (e.ops as { op: string }[]).map((o) => o.op)
      ).filter((op) => ["OPEN", "SETATTR", "CLOSE", "READ", "WRITE", "COMMIT"].includes(op));
      assert.deepEqual(ops, ["OPEN", "SETATTR", "CLOSE"]);
      assert.equal((await Deno.stat(`${remote}/a`)).size, 4);
    }
  },
);

Deno.test("parseSizeSpec() and newSize() match GNU truncate -s on a 10000-byte file", async () => {
  const sizes = [
    "0",
    "5",
    "010",
    " 7",
    "+5",
    "-5",
    "-20000",
    "+1K",
    "K",
    "k",
    "1k",
    "1K",
    "1KB",
    "1kB",
    "1KiB",
    "1KD",
    "2M",
    "2MB",
    "1g",
    "1G",
    "1T",
    "1P",
    "1E",
    "8E",
    "1Z",
    "1Y",
    "<5",
    ">20000",
    "< 5",
    "<20000",
    ">5",
    "/3",
    "/4096",
    "%3",
    "%4096",
    "%10000",
    "/0",
    "%0",
    "<+5",
    ">-5",
    "1e",
    "1b",
    "1R",
    "1Q",
    "1.5",
    "",
    "+",
    "+ 5",
    "0x10",
    "1Ki",
    "1iB",
    "1KiBB",
    "-K",
    "+K",
    "9223372036854775807",
    "9223372036854775808",
    "+9223372036854775807",
  ];
  const dir = await Deno.makeTempDir();
  try {
    for (const size of sizes) {
      await Deno.writeFile(`${dir}/f`, new Uint8Array(0));
      await Deno.truncate(`${dir}/f`, 10000);
      const r = await runLocal(["truncate", "-s", size, "f"], dir);
      const want = r.code === 0 ? BigInt((await Deno.stat(`${dir}/f`)).size) : undefined;
      let got: bigint | undefined;
      try {
        got = newSize(parseSizeSpec(size), 10000n);
      } catch (e) {
        // Refused before any file (a usage error), or an offset too large (a failure).
        assert.ok(e instanceof UsageError || e instanceof Error, String(e));
        got = undefined;
      }
      // Sizes past what the file system takes fail in ftruncate; ours would
      // go to the server, which refuses them too (EFBIG / NFS4ERR_FBIG).
      if (want === undefined && got !== undefined && got > 1n << 40n) continue;
      assert.equal(got, want, `-s '${size}': ${r.stderr}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
