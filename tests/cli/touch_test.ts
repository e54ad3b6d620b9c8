/**
 * `nfs4 touch` against GNU touch: each row runs `touch` on a local copy of
 * the sample tree and `nfs4 touch` on another behind Ganesha, on NFSv4.0
 * and 4.1, and compares the trees: with -d, -t and -r the access and
 * modification times to the nanosecond; without, the times must be the
 * server's clock at the change (within the run, access equal to
 * modification) while everything else is compared.
 */

import assert from "node:assert/strict";
import { VERSIONS } from "./_cp.ts";
import { BASE_FIELDS, compareRow, fixtureTest, type Row, runLocal, runNfs4 } from "./_setattr.ts";
import { parseDateSpec, parseTouchStamp } from "../../lib/client/date_spec.ts";
import { UsageError } from "../../lib/client/url.ts";

/** Times to the nanosecond, sizes and contents. */
const EXACT = `${BASE_FIELDS} %T@ %A@ %s`;
/** Everything but the times (set by the clock). */
const UNTIMED = `${BASE_FIELDS} %s`;

const D = "2024-01-02 03:04:05.123456789";

const EXACT_ROWS: readonly Row[] = [
  { name: "-d to the nanosecond, a new file too", args: ["-d", D, "@a", "@new"], untimed: [""] },
  { name: "-d with T and Z", args: ["-d", "2024-01-02T03:04:05Z", "@a"] },
  { name: "-d with an offset", args: ["-d", "2024-01-02 03:04:05.5 +01:30", "@a"] },
  { name: "-d a date alone", args: ["-d", "2024-01-02", "@a"] },
  {
    name: "-d local time in TZ (summer)",
    args: ["-d", "2024-07-01 12:00:00", "@a"],
    as: { env: { TZ: "America/New_York" } },
  },
  {
    name: "-d local time in TZ (half-hour zone)",
    args: ["-d", "2024-01-02 03:04", "@a"],
    as: { env: { TZ: "Asia/Kolkata" } },
  },
  { name: "-d @epoch with nanoseconds", args: ["-d", "@1700000000.123456789", "@a"] },
  { name: "-d before 1970", args: ["-d", "@-1.25", "@a", "@b"] },
  { name: "-d 1969 in ISO form", args: ["-d", "1969-07-20 20:17:40Z", "@a"] },
  { name: "-a: the access time only", args: ["-a", "-d", D, "@a"] },
  { name: "-m: the modification time only", args: ["-m", "-d", D, "@a"] },
  { name: "--time=mtime", args: ["--time=mtime", "-d", D, "@a"] },
  { name: "--time=atime", args: ["--time=atime", "-d", D, "@a"] },
  { name: "-t with the century", args: ["-t", "202401020304.05", "@a"] },
  { name: "-t with a two-digit year", args: ["-t", "6901020304", "@a"] },
  { name: "-t without a year: this year", args: ["-t", "01020304", "@a"] },
  { name: "-t second 60", args: ["-t", "202412312359.60", "@a"] },
  {
    name: "-t local time in TZ",
    args: ["-t", "202403310230", "@a"],
    as: { env: { TZ: "Europe/Berlin" } },
    // 02:30 on that day does not exist in Berlin: both refuse it.
    code: 2,
    stderr: [/^nfs4: invalid date format: '202403310230'$/],
  },
  { name: "-r: the reference's times", args: ["-r", "@ref", "@a", "@b"] },
  { name: "-r -m", args: ["-m", "-r", "@ref", "@a"] },
  { name: "a symlink is followed", args: ["-d", D, "@l"] },
  { name: "a dangling symlink: its target is created", args: ["-d", D, "@dang"], untimed: [""] },
  { name: "a directory", args: ["-d", D, "@d"] },
  { name: "-c: a missing file is not created, quietly", args: ["-c", "-d", D, "@missing", "@a"] },
  { name: "a missing directory: exit 1, the rest done", args: ["-d", D, "@nodir/x", "@a"] },
  { name: "a file named as a directory", args: ["-d", D, "@a/", "@b"] },
  {
    name: "an invalid stamp is a usage error (coreutils: 1)",
    args: ["-t", "2024", "@a"],
    code: 2,
    stderr: [/^nfs4: invalid date format: '2024'$/],
  },
  {
    name: "not the owner: no explicit times (Operation not permitted)",
    args: ["-d", D, "@r/f", "@u/mine"],
    as: { uid: 1000 },
  },
];

const NOW_ROWS: readonly Row[] = [
  { name: "the server's clock, a new file too", args: ["@a", "@new"], untimed: [""] },
  { name: "-d now", args: ["-d", "now", "@a"] },
  { name: "a new file with umask 077", args: ["@new"], as: { umask: 0o077 }, untimed: [""] },
  { name: "-c on a missing file", args: ["-c", "@missing"] },
  { name: "not the owner, writable: allowed", args: ["@pub"], as: { uid: 1000 } },
  { name: "not the owner, not writable: Permission denied", args: ["@r/f"], as: { uid: 1000 } },
  { name: "its owner", args: ["@u/mine"], as: { uid: 1000 } },
];

fixtureTest("nfs4 touch matches GNU touch through Ganesha (4.0 and 4.1)", async (fixture, t) => {
  for (const version of VERSIONS) {
    for (const row of EXACT_ROWS) {
      await t.step(`${version}: ${row.name}`, async () => {
        await compareRow(fixture, "touch", row, version, EXACT);
      });
    }
    for (const row of NOW_ROWS) {
      await t.step(`${version}: ${row.name}`, async () => {
        const started = Date.now() / 1000;
        const { sides } = await compareRow(fixture, "touch", row, version, UNTIMED);
        const ended = Date.now() / 1000;
        // Each file nfs4 touched: both times the server's clock, one moment.
        const targets = row.args.filter((a) => a.startsWith("@")).map((a) => a.slice(1));
        for (const rel of targets) {
          const r = await runLocal(["find", rel, "-printf", "%A@ %T@"], sides.remote);
          if (r.code !== 0) continue; // not created (-c)
          const [at, mt] = r.stdout.split(" ") as [string, string];
          if (row.name.startsWith("not the owner, not writable")) {
            assert.ok(Number(mt) < started - 1, `${rel}: unchanged`);
            continue;
          }
          assert.ok(
            Number(mt) >= started - 1 && Number(mt) <= ended + 1,
            `${rel}: mtime ${mt} in the run (${started}..${ended})`,
          );
          assert.equal(at, mt, `${rel}: atime = mtime`);
        }
      });
    }
  }
});

fixtureTest("nfs4 touch: messages and usage errors (4.0 and 4.1)", async (fixture) => {
  for (const version of VERSIONS) {
    const { url, remote } = await fixture.sides();
    const run = (args: string[], as = {}) => runNfs4(["--vers", version, "touch", ...args], as);
    const denied = await run(["-d", D, `${url}/r/f`], { uid: 1000 });
    assert.equal(denied.code, 1);
    assert.equal(denied.stderr, `nfs4: ${url}/r/f: Operation not permitted (NFS4ERR_PERM)\n`);
    const noWrite = await run([`${url}/r/f`], { uid: 1000 });
    assert.equal(noWrite.stderr, `nfs4: ${url}/r/f: Permission denied (NFS4ERR_ACCESS)\n`);
    const nodir = await run([`${url}/nodir/x`]);
    assert.equal(nodir.code, 1);
    assert.equal(
      nodir.stderr,
      `nfs4: ${url}/nodir/x: No such file or directory (NFS4ERR_NOENT)\n`,
    );
    // -c: a missing file is no failure, and nothing is created.
    const quiet = await run(["-c", `${url}/missing`]);
    assert.deepEqual([quiet.code, quiet.stdout, quiet.stderr], [0, "", ""]);
    await assert.rejects(Deno.lstat(`${remote}/missing`));
    // A reference that cannot be read ends the command, as GNU touch.
    const ref = await run(["-r", `${url}/missing`, `${url}/a`]);
    assert.equal(ref.code, 1);
    assert.match(ref.stderr, /missing: No such file or directory \(NFS4ERR_NOENT\)\n$/);
    // What GNU touch takes and nfs4 does not: a usage error, nothing done.
    for (
      const args of [
        ["-d", "yesterday", `${url}/a`],
        ["-d", "2024-02-30", `${url}/a`],
        ["-d", "2024-01-02 24:00", `${url}/a`],
        ["-d", D, "-t", "202401020304", `${url}/a`],
        ["-t", "202413010000", `${url}/a`],
      ]
    ) {
      const r = await run(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr.split("\n").filter((l) => l !== "").length, 1, r.stderr);
    }
  }
});

/** What GNU date makes of `date` in `tz`: `SECONDS.NANOSECONDS`, or undefined when it refuses. */
async function gnuDate(date: string, tz: string): Promise<string | undefined> {
  const r = await runLocal(["date", "-d", date, "+%s.%N"], "/", { env: { TZ: tz } });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

Deno.test("parseDateSpec() and parseTouchStamp() read dates as GNU date and touch -t", async () => {
  const dates = [
    "2024-01-02",
    "2024-1-2",
    "2024-01-02 03:04",
    "2024-01-02T03:04:05",
    "2024-01-02 3:4:5",
    "2024-07-01 03:04:05.123456789",
    "2024-01-02T03:04:05.1234567891234Z",
    "2024-01-02T03:04:05,5Z",
    "2024-01-02 03:04:05 UTC",
    "2024-01-02 03:04:05 +01",
    "2024-01-02 03:04:05+0130",
    "2024-01-02T03:04:05-05:00",
    "2024-02-29 12:00",
    "1969-12-31 23:59:59.5Z",
    "1900-02-28 12:00",
    "2024-11-03 01:30",
    "2024-03-10 02:30",
    "2024-03-31 02:30",
    "@0",
    "@1700000000.5",
    "@-1.25",
    // Past an int64 of seconds (nfstime4, RFC 7530 §3.3.1): both refuse it.
    "@99999999999999999999",
    "@-99999999999999999999",
    "2023-02-29",
    "2024-13-01",
    "2024-01-02 24:00",
    "2024-01-02 03:60",
    "2024-01-02 03:04:60",
  ];
  const zones = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe"];
  const format = (t: { seconds: bigint; nseconds: number }) => {
    // As date +%s.%N: the second below, then the nanoseconds after it.
    return `${t.seconds}.${String(t.nseconds).padStart(9, "0")}`;
  };
  for (const tz of zones) {
    for (const date of dates) {
      const want = await gnuDate(date, tz);
      let got: string | undefined;
      try {
        const spec = parseDateSpec(date, { timeZone: tz });
        got = spec === "now" ? "now" : format(spec);
      } catch (e) {
        assert.ok(e instanceof UsageError, String(e));
        got = undefined;
      }
      assert.equal(got, want, `-d '${date}' in ${tz}`);
    }
  }
  assert.equal(parseDateSpec("now"), "now");
  assert.equal(parseDateSpec(" NOW "), "now");
  // -t: POSIX stamps (GNU touch -t, run on a file, is the reference).
  const dir = await Deno.makeTempDir();
  try {
    const now = new Date();
    for (const tz of zones) {
      for (
        const stamp of [
          "202401020304",
          "202401020304.05",
          "2401020304",
          "6901020304",
          "6801020304",
          "01020304",
          "202412312359.60",
          "202402300000",
          "2024010203",
          "202401020304.5",
          "202403310230",
          "202403100230",
        ]
      ) {
        const r = await runLocal(["touch", "-t", stamp, "f"], dir, { env: { TZ: tz } });
        const want = r.code === 0
          ? (await runLocal(["stat", "-c", "%Y", "f"], dir)).stdout.trim()
          : undefined;
        let got: string | undefined;
        try {
          got = String(parseTouchStamp(stamp, { timeZone: tz, now }).seconds);
        } catch (e) {
          assert.ok(e instanceof UsageError, String(e));
        }
        assert.equal(got, want, `-t ${stamp} in ${tz}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
