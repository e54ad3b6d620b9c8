/**
 * `nfs4 du` against GNU du on the same tree (tests/cli/_find_tree.ts)
 * through Ganesha, on NFSv4.0 and 4.1: a table of option sets whose lines
 * must be the same sizes for the same paths (nfs4's URLs parsed back), in
 * post-order; --json; a directory denied to `--uid 1000`; a missing URL;
 * usage errors.
 *
 * Block usage is compared exactly: Ganesha's VFS export reports
 * `space_used` as the backing file's st_blocks × 512, which is what GNU du
 * adds up, and a hard-linked file is met first under the same name by both
 * (Ganesha's READDIR cookies are the file system's own directory offsets,
 * so both walks see entries in the same order).
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { serverTest } from "../_server.ts";
import {
  assertPostOrder,
  buildTree,
  compareTable,
  records,
  relativeLocal,
  relativeUrl,
  tool,
} from "./_find_tree.ts";
import { VERSIONS } from "./_cp.ts";
import { nfs4 } from "./_spawn.ts";
import { dir, file, runFake } from "./_fake.ts";

/** One set of options; `{S}` in an operand stands for the tree's root. */
interface Row {
  readonly options: readonly string[];
  /** Operands (default: the root). */
  readonly operands?: readonly string[];
}

const ROWS: readonly Row[] = [
  { options: [] },
  { options: ["-s"] },
  { options: ["-a"] },
  { options: ["--apparent-size"] },
  { options: ["-a", "--apparent-size"] },
  { options: ["-h"] },
  { options: ["-ah"] },
  { options: ["-sh"] },
  { options: ["-h", "--apparent-size"] },
  { options: ["-b"] },
  { options: ["-ab"] },
  { options: ["-k"] },
  { options: ["-m"] },
  { options: ["-a", "-BM"] },
  { options: ["-B", "1K"] },
  { options: ["-B", "512"] },
  { options: ["-BKB"] },
  { options: ["-B", "MiB", "-s"] },
  { options: ["-c"] },
  { options: ["-d", "1"] },
  { options: ["--max-depth=2", "-a"] },
  { options: ["-d", "0"] },
  { options: ["-l"] },
  { options: ["-al"] },
  // The last of -h, -k, -m, -b, -B wins, as in du.
  { options: ["-h", "-k"] },
  { options: ["-k", "-h"] },
  { options: ["-b", "-k"] },
  { options: ["-m", "-B1"] },
  // Several operands: what was counted once is not counted again.
  { options: ["-s"], operands: ["{S}", "{S}/sub"] },
  { options: ["-s", "-c"], operands: ["{S}/sub", "{S}"] },
  { options: ["-a"], operands: ["{S}/sub", "{S}/hardtop"] },
  // Files and other kinds as operands.
  { options: [], operands: ["{S}/big.bin", "{S}/sparse", "{S}/link-to-dir", "{S}/fifo"] },
  { options: ["--apparent-size"], operands: ["{S}/sparse", "{S}/link-to-file"] },
  { options: ["-s"], operands: ["{S}/link-to-dir/"] },
];

/** A du line as `SIZE<TAB>relative path` (or `SIZE<TAB>total`). */
function normalize(line: string, toRelative: (path: string) => string): string {
  const tab = line.indexOf("\t");
  assert.ok(tab > 0, JSON.stringify(line));
  const path = line.slice(tab + 1);
  return `${line.slice(0, tab)}\t${path === "total" ? "total" : toRelative(path)}`;
}

/** The relative path of a local path under `root` (a trailing slash as typed is dropped). */
function localRelative(root: string, path: string): string {
  return relativeLocal(root, path.replace(/\/+$/, ""));
}

async function compare(
  root: string,
  url: string,
  version: string,
  row: Row,
  options: { uid?: boolean } = {},
): Promise<{ stderr: string; code: number }> {
  const operands = row.operands ?? ["{S}"];
  const what = `du ${[...row.options, ...operands].join(" ")} (${version}${
    options.uid ? ", uid 1000" : ""
  })`;
  const [gnu, ours] = await Promise.all([
    tool("du", [...row.options, ...operands.map((o) => o.replaceAll("{S}", root))], {
      asUser: options.uid === true,
    }),
    nfs4([
      "--vers",
      version,
      ...(options.uid ? ["--uid", "1000", "--gid", "1000"] : []),
      "du",
      ...row.options,
      ...operands.map((o) => o.replaceAll("{S}", url)),
    ]),
  ]);
  assert.equal(ours.code, gnu.code, `${what}: exit code (${ours.stderr} | ${gnu.stderr})`);
  const want = records(gnu.stdout).map((l) => normalize(l, (p) => localRelative(root, p)));
  const got = records(ours.bytes).map((l) => normalize(l, (u) => relativeUrl(url, u)));
  // Same lines in the same order: both walk in the file system's order.
  assert.deepEqual(got, want, what);
  const paths = got.filter((l) => !l.endsWith("\ttotal")).map((l) => l.slice(l.indexOf("\t") + 1));
  if (operands.length === 1) assertPostOrder(paths, what);
  return { stderr: ours.stderr, code: ours.code };
}

serverTest(
  "nfs4 du prints what GNU du prints, for a table of options (4.0, 4.1)",
  async (server) => {
    const { url } = await compareTable(
      server,
      ROWS,
      compare,
      (row) => `du ${row.options.join(" ")}`,
    );
    // The sparse file: its size is 10 MiB, what it uses is what was written.
    const sparse = await nfs4(["du", "-b", `${url}/sparse`]);
    assert.equal(sparse.stdout, `10485760\t${url}/sparse\n`);
    const used = await nfs4(["du", "-B1", `${url}/sparse`]);
    const blocks = Number(used.stdout.split("\t")[0]);
    assert.ok(blocks >= 4096 && blocks < 1024 * 1024, used.stdout);
  },
);

serverTest("nfs4 du --json: one object per line with exact byte counts", async (server) => {
  const root = `${server.exportDir}/tree`;
  await buildTree(root);
  const url = `${server.url}/vfs/tree`;
  for (const version of VERSIONS) {
    const r = await nfs4(["--vers", version, "du", "--json", "-a", "-c", "--apparent-size", url]);
    assert.equal(r.code, 0, r.stderr);
    const objects = records(r.bytes).map((line) => JSON.parse(line));
    const b = await tool("du", ["-a", "-c", "-b", root]);
    const sizes = new Map(
      records(b.stdout).map((line) => {
        const [size, path] = line.split("\t") as [string, string];
        return [path === "total" ? "total" : localRelative(root, path), Number(size)];
      }),
    );
    assert.equal(objects.length, sizes.size);
    for (const o of objects) {
      if (o.total) {
        assert.deepEqual(o, { total: true, bytes: sizes.get("total") });
        continue;
      }
      const rel = relativeUrl(url, o.url);
      assert.equal(o.bytes, sizes.get(rel), o.url);
      assert.equal(typeof o.type, "string");
      if (rel.includes("lat")) {
        // A path that is not UTF-8: U+FFFD in `path`, its bytes in path_bytes.
        assert.ok(o.path.includes("\ufffd"));
        assert.equal(atob(o.path_bytes).slice(-7), "lat\xe9in1");
      }
    }
    const root0 = objects.find((o) => o.url === url);
    assert.equal(root0.type, "directory");
    assert.equal(root0.path, "/vfs/tree");
  }
});

serverTest(
  "nfs4 du: a directory it may not read is one line, its own size still counts, exit 1 (--uid 1000)",
  async (server) => {
    // setpriv runs GNU du as uid 1000 too: it must be able to reach the tree.
    await fs.chmod(server.dir, 0o711);
    const root = `${server.exportDir}/perm`;
    await fs.mkdir(`${root}/open`, { recursive: true });
    await fs.mkdir(`${root}/secret/inner`, { recursive: true });
    await Deno.writeFile(`${root}/open/a`, new Uint8Array(10000));
    await Deno.writeFile(`${root}/secret/b`, new Uint8Array(20000));
    await fs.chmod(`${root}/secret`, 0o700);
    const url = `${server.url}/vfs/perm`;
    for (const version of VERSIONS) {
      for (const options of [[], ["-a"], ["-s"], ["--apparent-size", "-a"]]) {
        const { stderr, code } = await compare(root, url, version, { options }, { uid: true });
        assert.equal(code, 1);
        assert.equal(stderr, `nfs4: ${url}/secret: Permission denied (NFS4ERR_ACCESS)\n`);
      }
    }
  },
);

serverTest(
  "nfs4 du: a missing URL is one line and the others are still counted (4.0, 4.1)",
  async (server) => {
    const root = `${server.exportDir}/tree`;
    await buildTree(root);
    const url = `${server.url}/vfs/tree`;
    for (const version of VERSIONS) {
      const r = await nfs4(["--vers", version, "du", "-s", "-c", `${url}/nope`, `${url}/a%20b`]);
      const gnu = await tool("du", ["-s", "-c", `${root}/nope`, `${root}/a b`]);
      assert.equal(r.code, 1);
      assert.equal(gnu.code, 1);
      assert.equal(r.stderr, `nfs4: ${url}/nope: No such file or directory (NFS4ERR_NOENT)\n`);
      const want = records(gnu.stdout).map((l) => l.replace(root + "/a b", `${url}/a%20b`));
      assert.deepEqual(records(r.bytes), want);
      const notDir = await nfs4(["--vers", version, "du", `${url}/one.txt/`]);
      assert.equal(notDir.code, 1);
      assert.equal(notDir.stderr, `nfs4: ${url}/one.txt/: Not a directory (NFS4ERR_NOTDIR)\n`);
    }
  },
);

Deno.test("nfs4 du: usage errors exit 2 with one line, before connecting", async () => {
  const servers = { "srv:2049": dir({ vfs: dir({ f: file("x") }) }) };
  const table: [string[], RegExp][] = [
    [
      ["du", "-s", "-a", "nfs://srv/vfs"],
      /cannot both summarize \(-s\) and show all entries \(-a\)/,
    ],
    [["du", "-s", "-d", "1", "nfs://srv/vfs"], /summarizing \(-s\) conflicts with --max-depth=1/],
    [["du", "-d", "x", "nfs://srv/vfs"], /max-depth.*non-negative integer/],
    [["du", "-B", "0", "nfs://srv/vfs"], /block-size.*at least 1/],
    [["du", "-B", "1X", "nfs://srv/vfs"], /block-size.*Expected a size/],
    [["du", "-B", "KIB", "nfs://srv/vfs"], /block-size.*Expected a size/],
    [["du", "nfs://srv/vfs?x"], /query strings/],
    [["du"], /missing required argument/],
  ];
  for (const [argv, message] of table) {
    const r = await runFake(argv, { servers });
    assert.equal(r.code, 2, argv.join(" "));
    assert.equal(r.stderr.split("\n").length, 2, r.stderr);
    assert.match(r.stderr, message, argv.join(" "));
    assert.deepEqual(r.log.calls, [], "nothing sent");
  }
});
