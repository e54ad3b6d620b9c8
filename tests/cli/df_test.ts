/**
 * `nfs4 df` as a black box against NFS-Ganesha, on NFSv4.0 and NFSv4.1:
 * its figures compared with GNU `df -k`, `df -h` and `df -i` run on the
 * folder behind the export (Ganesha's VFS export reports the statvfs of the
 * file system holding it), the layout and headers byte for byte, errors,
 * `--json`; and with the in-memory client, df's rounding on chosen numbers
 * and `-` for what a server does not report.
 *
 * Tolerance, and why: the export's backing file system is this machine's
 * disk, which other tests running at the same time write to, so its used
 * and free blocks and inodes move between any two statvfs calls. GNU df is
 * therefore run just before and just after `nfs4 df`, and each of our
 * figures must lie between the two (inclusive); totals must be equal. When
 * a concurrent writer moved a figure both ways in between, the comparison
 * is tried again (up to 5 times) rather than widened.
 *
 * One allowance more: while a client is connected, Ganesha's fs recovery
 * backend keeps a directory for it (one 4 KiB block and one inode per
 * client, measured) under the server's state directory, which is on the
 * same disk; clients of tests running beside this one add theirs. Our figures are read while our client is connected, so
 * they may count a few blocks and inodes that df's, before and after, do
 * not: up to SLACK_BYTES more used (and less available), SLACK_INODES more
 * inodes used, and Use% one more. Never the other way.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { AttributeReport } from "../../lib/client/types.ts";
import { serverTest } from "../_server.ts";
import { dir, file, runFake } from "./_fake.ts";
import { messageLines, nfs4, type Result } from "./_spawn.ts";

const VERSIONS = ["4.0", "4.1"] as const;
const decoder = new TextDecoder();

function ok(r: Result, what: string): Result {
  assert.equal(r.code, 0, `${what}: exit ${r.code}: ${r.stderr}`);
  assert.equal(r.stderr, "", what);
  return r;
}

/** GNU df's lines for `target`. */
function gnuDf(args: string[], target: string): string[] {
  const out = new Deno.Command("df", {
    args: [...args, target],
    env: { LC_ALL: "C.UTF-8" },
  }).outputSync();
  assert.equal(out.code, 0, `df ${args.join(" ")}: ${decoder.decode(out.stderr)}`);
  return decoder.decode(out.stdout).trimEnd().split("\n");
}

/** A data row: Filesystem, four figures, Mounted on. */
interface Row {
  readonly filesystem: string;
  readonly figures: readonly string[];
  readonly mountedOn: string;
}

function parseRow(line: string): Row {
  const fields = line.split(/ +/);
  assert.ok(fields.length >= 6, `a df row: ${line}`);
  return {
    filesystem: fields[0]!,
    figures: fields.slice(1, 5),
    mountedOn: fields.slice(5).join(" "),
  };
}

/** What the server's record of our client may take on its disk (see above). */
const SLACK_BYTES = 64 * 1024;
const SLACK_INODES = 16;

/** A df figure as a number: `123`, `12%`, or a human size such as `1.5K` (in bytes). */
function figureValue(text: string): number {
  const m = /^(\d+(?:\.\d)?)([KMGTPEZY]?)%?$/.exec(text);
  assert.ok(m, `a figure: ${text}`);
  return Number(m[1]) * 1024 ** " KMGTPEZY".indexOf(m[2] || " ");
}

/**
 * Whether `ours` lies between `a` and `b`, or up to `more` above them
 * (`more` negative: up to that much below).
 */
function between(ours: string, a: string, b: string, more = 0): boolean {
  if (ours === a || ours === b) return true;
  const [x, lo, hi] = [figureValue(ours), figureValue(a), figureValue(b)];
  return Math.min(lo, hi) + Math.min(more, 0) <= x && x <= Math.max(lo, hi) + Math.max(more, 0);
}

/** The allowance of figure `i` (Used, Available, Use%) in the unit `options` print. */
function allowance(options: string[], i: number): number {
  if (i === 2) return 1; // Use%
  const inodes = options.some((o) => o.includes("i"));
  const human = options.some((o) => o.includes("h")) && options.at(-1) !== "-k";
  const amount = inodes ? SLACK_INODES : human ? SLACK_BYTES : SLACK_BYTES / 1024;
  return i === 0 ? amount : -amount;
}

/**
 * Runs `nfs4 df OPTIONS urls` between two `df OPTIONS exportDir` and checks
 * every row against them: the header byte for byte, the total (first
 * figure) equal, the others between before and after. Returns our rows.
 */
async function compareWithDf(
  vers: string,
  options: string[],
  exportDir: string,
  urls: string[],
): Promise<Row[]> {
  let last = "";
  for (let attempt = 1; attempt <= 5; attempt++) {
    const before = gnuDf(options, exportDir);
    const ours = ok(await nfs4(["--vers", vers, "df", ...options, ...urls]), `df ${options}`);
    const after = gnuDf(options, exportDir);
    const lines = ours.stdout.trimEnd().split("\n");
    assert.equal(lines.length, urls.length + 1, ours.stdout);
    const [b, a] = [parseRow(before[1]!), parseRow(after[1]!)];
    const rows = lines.slice(1).map(parseRow);
    const moved = rows.some((row) =>
      row.figures.slice(1).some((figure, i) =>
        !between(figure, b.figures[i + 1]!, a.figures[i + 1]!, allowance(options, i))
      )
    );
    // Column widths follow the widest figure: a figure that gained a digit
    // in between changes the header's padding; that too is concurrent change.
    const header = lines[0] === before[0] || lines[0] === after[0];
    if (moved || !header) {
      last = `attempt ${attempt}: before ${before[1]}\nours\n${ours.stdout}after ${after[1]}`;
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    for (const [i, row] of rows.entries()) {
      assert.equal(row.figures[0], b.figures[0], `total of ${urls[i]}`);
      assert.equal(row.figures[0], a.figures[0], `total of ${urls[i]}`);
      assert.equal(row.filesystem, `127.0.0.1:/vfs`);
      assert.equal(row.mountedOn, urls[i]);
    }
    return rows;
  }
  assert.fail(`df ${options.join(" ")}: our figures never lay between df's:\n${last}`);
}

serverTest(
  "df: the figures of GNU df -k, -h, -i, -ih on the export, on 4.0 and 4.1",
  async (server) => {
    const root = server.exportDir;
    fs.mkdirSync(path.join(root, "dir"));
    fs.writeFileSync(path.join(root, "dir", "file"), "x".repeat(100000));
    fs.symlinkSync("dir/file", path.join(root, "link"));
    const u = `${server.url}/vfs`;
    const urls = [u, `${u}/dir/`, `${u}/link`];
    for (const vers of VERSIONS) {
      for (const options of [[], ["-k"], ["-h"], ["-i"], ["-ih"], ["-h", "-k"]]) {
        const rows = await compareWithDf(vers, options, root, urls);
        // Use% is used / (used + available) rounded up, from the figures shown (-k, -i).
        if (!options.some((o) => o.includes("h"))) {
          for (const row of rows) {
            const [, used, avail, pct] = row.figures.map((f) => BigInt(f.replace("%", "")));
            const whole = used! + avail!;
            assert.equal(pct, (used! * 100n + whole - 1n) / whole, `Use% of ${row.mountedOn}`);
          }
        }
      }
    }
  },
);

serverTest("df: errors, the pseudo-fs root, --json", async (server) => {
  const u = `${server.url}/vfs`;
  for (const vers of VERSIONS) {
    const v = ["--vers", vers];
    const missing = await nfs4([...v, "df", `${u}/missing`, u]);
    assert.equal(missing.code, 1);
    assert.deepEqual(messageLines(missing.stderr), [
      `nfs4: ${u}/missing: No such file or directory (NFS4ERR_NOENT)`,
    ]);
    const lines = missing.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 2, missing.stdout);
    assert.equal(parseRow(lines[1]!).mountedOn, u);

    // The root of the pseudo file system is a file system of its own.
    const pseudo = ok(await nfs4([...v, "df", `${server.url}/`]), "pseudo root");
    assert.equal(parseRow(pseudo.stdout.trimEnd().split("\n")[1]!).filesystem, "127.0.0.1:/");

    // Between df's before and after, tried again when it moved both ways (see above).
    let json: Record<string, number | string> | undefined;
    let last = "";
    for (let attempt = 1; attempt <= 5 && json === undefined; attempt++) {
      const before = parseRow(gnuDf(["-B1"], server.exportDir)[1]!);
      const ours = JSON.parse(ok(await nfs4([...v, "df", "--json", u]), "json").stdout);
      const after = parseRow(gnuDf(["-B1"], server.exportDir)[1]!);
      assert.equal(String(ours.space_total), before.figures[0]);
      const used = String(ours.space_used);
      const avail = String(ours.space_avail);
      const inside = between(used, before.figures[1]!, after.figures[1]!, SLACK_BYTES) &&
        between(avail, before.figures[2]!, after.figures[2]!, -SLACK_BYTES);
      if (inside) json = ours;
      else last = `${before.figures} / ${ours.space_used} ${ours.space_avail} / ${after.figures}`;
    }
    assert.ok(json, `--json figures never lay between df -B1's: ${last}`);
    assert.equal(json.url, u);
    assert.equal(json.filesystem, "127.0.0.1:/vfs");
    assert.equal(json.space_used, Number(json.space_total) - Number(json.space_free));
    assert.equal(typeof json.files_total, "number");
    assert.equal(json.files_used, Number(json.files_total) - Number(json.files_free));
    const both = JSON.parse(ok(await nfs4([...v, "df", "--json", u, `${u}/`]), "two").stdout);
    assert.equal(both.length, 2);
  }
});

/** An in-memory server whose export reports `values`. */
function world(values: AttributeReport["values"]) {
  return {
    servers: { "srv:2049": dir({ vfs: dir({ f: file("x") }) }) },
    setup: (client: { attributes: (path: string) => Promise<AttributeReport> }) => {
      const real = client.attributes.bind(client);
      client.attributes = async (p: string) => {
        const report = await real(p);
        return { ...report, values: { ...report.values, ...values } };
      };
    },
  };
}

Deno.test("df: rounding as GNU df: 1K blocks and Use% rounded up, -h in powers of 1024", async () => {
  const r = await runFake(
    ["df", "nfs://srv/vfs/f"],
    world({
      spaceTotal: 1025n * 1024n + 1n, // 1026 1K blocks, rounded up
      spaceFree: 1024n * 1024n,
      spaceAvail: 199n * 1024n,
      filesTotal: 1000n,
      filesFree: 999n,
      filesAvail: 990n,
    }),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    "Filesystem     1K-blocks  Used Available Use% Mounted on\n" +
      "srv:/vfs/f          1026     2       199   1% nfs://srv/vfs/f\n",
  );
  const h = await runFake(
    ["df", "-h", "nfs://srv/vfs/f"],
    world({ spaceTotal: 10n << 30n, spaceFree: (10n << 30n) - 1536n, spaceAvail: 5n << 30n }),
  );
  assert.equal(
    h.stdout,
    "Filesystem      Size  Used Avail Use% Mounted on\n" +
      "srv:/vfs/f       10G  1.5K  5.0G   1% nfs://srv/vfs/f\n",
  );
  const i = await runFake(
    ["df", "-i", "nfs://srv/vfs/f"],
    world({ filesTotal: 3n, filesFree: 0n, filesAvail: 0n }),
  );
  assert.equal(
    i.stdout,
    "Filesystem     Inodes IUsed IFree IUse% Mounted on\n" +
      "srv:/vfs/f          3     3     0  100% nfs://srv/vfs/f\n",
  );
});

Deno.test("df: what the server does not report is -", async () => {
  const r = await runFake(["df", "nfs://srv/vfs", "nfs://srv/vfs/f"], {
    servers: { "srv:2049": dir({ vfs: dir({ f: file("x") }) }) },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    "Filesystem     1K-blocks  Used Available Use% Mounted on\n" +
      "srv:/vfs               -     -         -    - nfs://srv/vfs\n" +
      "srv:/vfs/f             -     -         -    - nfs://srv/vfs/f\n",
  );
  const json = await runFake(["df", "--json", "nfs://srv/vfs"], {
    servers: { "srv:2049": dir({ vfs: dir({}) }) },
  });
  const parsed = JSON.parse(json.stdout);
  assert.equal(parsed.space_total, null);
  assert.equal(parsed.use_percent, null);
  // Empty figures: nothing used of nothing, Use% - as df prints it.
  const zero = await runFake(
    ["df", "nfs://srv/vfs"],
    world({ spaceTotal: 0n, spaceFree: 0n, spaceAvail: 0n }),
  );
  assert.match(zero.stdout, /\nsrv:\/vfs +0 +0 +0 +- nfs:\/\/srv\/vfs\n$/);
});
