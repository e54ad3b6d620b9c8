/**
 * `nfs4 find` against GNU find on the same tree (tests/cli/_find_tree.ts)
 * through Ganesha, on NFSv4.0 and 4.1: a table of expressions whose
 * outputs must name the same files (nfs4's lines parsed back as URLs, GNU's
 * taken as bytes, both relative to the starting point); `-delete` on two
 * copies of a tree compared afterwards; and the errors: a missing start, a
 * directory we may not read (`--uid 1000`), `-delete` at an export root.
 *
 * GNU find runs with LC_ALL=C: nfs4 matches names as bytes, as fnmatch(3)
 * does in the C locale.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { serverTest, type TestServer } from "../_server.ts";
import {
  assertPostOrder,
  buildTree,
  compareTable,
  records,
  relativeLocal,
  relativeUrl,
  show,
  tool,
} from "./_find_tree.ts";
import { tempDir, VERSIONS } from "./_cp.ts";
import { nfs4 } from "./_spawn.ts";

/** One expression to compare; `{S}` in a word stands for the starting point. */
interface Row {
  readonly expr: readonly string[];
  /** Output records end in NUL (-print0). */
  readonly nul?: boolean;
  /** A directory must come after its contents (-depth). */
  readonly post?: boolean;
}

const ROWS: readonly Row[] = [
  { expr: [] },
  { expr: ["-print"] },
  { expr: ["-name", "*.txt"] },
  { expr: ["-iname", "*.C"] },
  { expr: ["-name", "[a-c]*"] },
  { expr: ["-name", "[!a-z]*"] },
  { expr: ["-name", "lat?in1"] },
  { expr: ["-name", "caf??"] },
  { expr: ["-name", "caf?"] },
  { expr: ["-name", "*\\**"] },
  { expr: ["-name", "[[]*"] },
  { expr: ["-name", "%41"] },
  { expr: ["-name", "* *"] },
  { expr: ["-path", "*/sub/*"] },
  { expr: ["-path", "{S}/sub/deep*"] },
  { expr: ["-path", "*/a b/*"] },
  { expr: ["-type", "f"] },
  { expr: ["-type", "d"] },
  { expr: ["-type", "l"] },
  { expr: ["-type", "p"] },
  { expr: ["-type", "s"] },
  { expr: ["-type", "c"] },
  { expr: ["-type", "b"] },
  { expr: ["-type", "f,l"] },
  { expr: ["-size", "-1"] },
  { expr: ["-size", "1"] },
  { expr: ["-size", "2"] },
  { expr: ["-size", "+1k"] },
  { expr: ["-size", "1k"] },
  { expr: ["-size", "-1M"] },
  { expr: ["-size", "+1M"] },
  { expr: ["-size", "2M"] },
  { expr: ["-size", "513c"] },
  { expr: ["-size", "+0"] },
  { expr: ["-size", "2w"] },
  { expr: ["-empty"] },
  { expr: ["-mtime", "0"] },
  { expr: ["-mtime", "1"] },
  { expr: ["-mtime", "3"] },
  { expr: ["-mtime", "+2"] },
  { expr: ["-mtime", "-1"] },
  { expr: ["-mtime", "-2.5"] },
  { expr: ["-mmin", "-60"] },
  { expr: ["-mmin", "+60"] },
  { expr: ["-newer", "{S}/ref"] },
  { expr: ["-maxdepth", "0"] },
  { expr: ["-maxdepth", "1"] },
  { expr: ["-mindepth", "2"] },
  { expr: ["-maxdepth", "2", "-mindepth", "2"] },
  { expr: ["!", "-type", "d"] },
  { expr: ["-not", "-name", "*.txt", "-type", "f"] },
  { expr: ["(", "-name", "*a*", "-o", "-name", "b*", ")", "-type", "f"] },
  { expr: ["-name", "one.txt", "-o", "-name", "half", "-print"] },
  { expr: ["-type", "d", "-name", "sub", "-prune", "-o", "-print"] },
  { expr: ["-name", "sub", "-prune"] },
  // (Not with -size before the comma: findutils 4.9's optimiser then
  // prints what the left side matched, against its own parse tree.)
  { expr: ["-type", "f", "-name", "*.txt", ",", "-type", "d"] },
  { expr: ["-type", "f", "-name", "*.txt", "-print0"], nul: true },
  { expr: ["-print0"], nul: true },
  { expr: ["-true"] },
  { expr: ["-false"] },
  { expr: ["-depth"], post: true },
  { expr: ["-depth", "-name", "*e*"], post: true },
  { expr: ["-print", "-quit"] },
  { expr: ["-name", "x.C", "-print", "-quit"] },
];

/** Runs GNU find on `root` and nfs4 find on `url` with `row`, and compares. */
async function compare(
  root: string,
  url: string,
  version: string,
  row: Row,
  options: { uid?: boolean } = {},
): Promise<{ gnu: string[]; ours: string[]; stderr: string; code: number }> {
  const words = (start: string) => row.expr.map((w) => w.replaceAll("{S}", start));
  const what = `find ${row.expr.join(" ")} (${version}${options.uid ? ", uid 1000" : ""})`;
  const [gnu, ours] = await Promise.all([
    tool("find", [root, ...words(root)], { asUser: options.uid === true }),
    nfs4([
      "--vers",
      version,
      ...(options.uid ? ["--uid", "1000", "--gid", "1000"] : []),
      "find",
      url,
      ...words(url),
    ]),
  ]);
  assert.equal(ours.code, gnu.code, `${what}: exit code (${ours.stderr} | ${gnu.stderr})`);
  const separator = row.nul ? "\0" : "\n";
  const want = records(gnu.stdout, separator).map((p) => relativeLocal(root, p));
  const got = records(ours.bytes, separator).map((line) => relativeUrl(url, line));
  assert.deepEqual(show(got), show(want), what);
  if (row.post) assertPostOrder(got, what);
  return { gnu: want, ours: got, stderr: ours.stderr, code: ours.code };
}

serverTest(
  "nfs4 find prints the files GNU find prints, for a table of expressions (4.0, 4.1)",
  async (server) => {
    await compareTable(server, ROWS, compare, (row) => `find ${row.expr.join(" ")}`);
  },
);

serverTest(
  "nfs4 find: starting points as typed, trailing slashes, several URLs, missing ones (4.0, 4.1)",
  async (server) => {
    const root = `${server.exportDir}/starts`;
    await buildTree(root);
    const url = `${server.url}/vfs/starts`;
    for (const version of VERSIONS) {
      // A symlink to a directory: itself without a slash, what it points to with one.
      const bare = await nfs4(["--vers", version, "find", `${url}/link-to-dir`]);
      assert.equal(bare.code, 0, bare.stderr);
      assert.equal(bare.stdout, `${url}/link-to-dir\n`);
      const slash = await nfs4(["--vers", version, "find", `${url}/link-to-dir/`, "-name", "*e*"]);
      const gnu = await tool("find", [`${root}/link-to-dir/`, "-name", "*e*"]);
      assert.equal(slash.code, 0, slash.stderr);
      assert.deepEqual(
        show(records(slash.bytes).map((l) => relativeUrl(`${url}/link-to-dir/`, l))),
        show(
          records(gnu.stdout).map((p) =>
            relativeLocal(`${root}/link-to-dir`, p.replace(/\/$/, ""))
          ),
        ),
      );
      assert.ok(
        records(slash.bytes).every((l) => !l.slice("nfs://".length).includes("//")),
        "no doubled slash",
      );
      // A missing start is one line; the other starts are still walked; exit 1.
      const [ours, theirs] = await Promise.all([
        nfs4(["--vers", version, "find", `${url}/nope`, `${url}/a%20b`, "-type", "f"]),
        tool("find", [`${root}/nope`, `${root}/a b`, "-type", "f"]),
      ]);
      assert.equal(ours.code, 1);
      assert.equal(theirs.code, 1);
      assert.equal(ours.stderr, `nfs4: ${url}/nope: No such file or directory (NFS4ERR_NOENT)\n`);
      assert.equal(ours.stdout, `${url}/a%20b/c%20d.txt\n`);
      // A file named with a trailing slash is not a directory.
      const notDir = await nfs4(["--vers", version, "find", `${url}/one.txt/`]);
      assert.equal(notDir.code, 1);
      assert.equal(notDir.stderr, `nfs4: ${url}/one.txt/: Not a directory (NFS4ERR_NOTDIR)\n`);
      // A file as the start: itself (and -name sees its name).
      const one = await nfs4(["--vers", version, "find", `${url}/one.txt`, "-name", "one.*"]);
      assert.equal(one.stdout, `${url}/one.txt\n`);
      // Every printed line is a URL nfs4 takes back as exactly that file:
      // the one named %41 is not A, and `lat%E9in1` is the Latin-1 name.
      const names = await nfs4([
        "--vers",
        version,
        "find",
        url,
        "-name",
        "%41",
        "-o",
        "-name",
        "lat*",
      ]);
      const lines = records(names.bytes);
      assert.deepEqual(lines.sort(), [`${url}/lat%E9in1`, `${url}/sub/%2541`]);
      for (const line of lines) {
        const cat = await nfs4(["--vers", version, "cat", line]);
        assert.equal(cat.code, 0, cat.stderr);
        assert.ok(cat.bytes.length === 5 || cat.bytes.length === 6, line);
      }
    }
  },
);

serverTest(
  "nfs4 find: a directory it may not read is one line, the walk goes on, exit 1 (--uid 1000)",
  async (server) => {
    // setpriv runs GNU find as uid 1000 too: it must be able to reach the tree.
    await fs.chmod(server.dir, 0o711);
    const root = `${server.exportDir}/perm`;
    await fs.mkdir(`${root}/open/inner`, { recursive: true });
    await fs.mkdir(`${root}/secret/inner`, { recursive: true });
    await Deno.writeTextFile(`${root}/open/inner/a`, "a");
    await Deno.writeTextFile(`${root}/secret/b`, "b");
    await fs.chmod(`${root}/secret`, 0o700);
    const url = `${server.url}/vfs/perm`;
    const denied = `nfs4: ${url}/secret: Permission denied (NFS4ERR_ACCESS)\n`;
    for (const version of VERSIONS) {
      for (const expr of [[], ["-depth"], ["-name", "*e*"]]) {
        const { stderr, code } = await compare(root, url, version, {
          expr,
          post: expr[0] === "-depth",
        }, {
          uid: true,
        });
        assert.equal(code, 1);
        assert.equal(stderr, denied, `find ${expr.join(" ")}`);
      }
      // -empty reads the directory too: find reports it there as well.
      const empty = await compare(root, url, version, { expr: ["-empty"] }, { uid: true });
      assert.equal(empty.stderr, denied + denied);
      // Pruned, it is never read: no error.
      const pruned = await compare(root, url, version, {
        expr: ["-name", "secret", "-prune", "-o", "-print"],
      }, { uid: true });
      assert.equal(pruned.code, 0);
      assert.equal(pruned.stderr, "");
    }
  },
);

/** `find ROOT -printf` of what matters after deletions: kind, mode, links, size, path. */
async function treeState(root: string): Promise<string[] | "missing"> {
  const exists = await fs.lstat(root).then(() => true, () => false);
  if (!exists) return "missing";
  const out = await tool("find", [root, "-printf", "%y %m %n %s %P\\0"]);
  assert.equal(out.code, 0, out.stderr);
  return records(out.stdout, "\0").sort();
}

const DELETE_ROWS: readonly (readonly string[])[] = [
  ["-name", "*.txt", "-delete"],
  ["-empty", "-delete"],
  ["-type", "f", "-size", "+1k", "-delete"],
  ["-path", "*/sub/*", "-delete"],
  ["-type", "l", "-o", "-type", "p,s,c", "-delete"],
  ["-name", "hard*", "-delete"],
  ["-mindepth", "1", "-delete"],
  ["-delete"],
  ["-name", "sub", "-delete"], // not empty: an error, as for find
  ["-maxdepth", "1", "-type", "d", "-empty", "-delete"],
];

serverTest(
  "nfs4 find -delete leaves the tree GNU find -delete leaves (4.0, 4.1)",
  async (server) => {
    const local = await tempDir("nfs4-find-delete-");
    try {
      const master = `${local}/master`;
      await buildTree(master);
      let n = 0;
      for (const version of VERSIONS) {
        for (const expr of DELETE_ROWS) {
          const what = `find ${expr.join(" ")} (${version})`;
          const name = `del${n++}`;
          const theirs = `${local}/${name}`;
          const ours = `${server.exportDir}/${name}`;
          for (const copy of [theirs, ours]) {
            const cp = await tool("cp", ["-a", master, copy]);
            assert.equal(cp.code, 0, cp.stderr);
          }
          const url = `${server.url}/vfs/${name}`;
          const [gnu, r] = await Promise.all([
            tool("find", [theirs, ...expr]),
            nfs4(["--vers", version, "find", url, ...expr]),
          ]);
          assert.equal(r.code, gnu.code, `${what}: exit code (${r.stderr} | ${gnu.stderr})`);
          assert.equal(r.stderr.split("\n").length - 1, gnu.stderr.split("\n").length - 1, what);
          assert.deepEqual(await treeState(ours), await treeState(theirs), what);
          if (gnu.code !== 0) {
            assert.match(r.stderr, /Directory not empty \(NFS4ERR_NOTEMPTY\)/, what);
          }
        }
      }
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  },
);

serverTest(
  "nfs4 find LINK/ -delete empties the directory a symlink points to and keeps the link, as GNU find",
  async (server) => {
    const local = await tempDir("nfs4-find-link-");
    try {
      for (const version of VERSIONS) {
        const name = `link${version}`;
        const theirs = `${local}/${name}`;
        const ours = `${server.exportDir}/${name}`;
        for (const root of [theirs, ours]) {
          await fs.mkdir(`${root}/d/sub`, { recursive: true });
          await Deno.writeTextFile(`${root}/d/a`, "a");
          await fs.symlink("d", `${root}/l`);
        }
        const url = `${server.url}/vfs/${name}/l/`;
        const [gnu, r] = await Promise.all([
          tool("find", [`${theirs}/l/`, "-delete"]),
          nfs4(["--vers", version, "find", url, "-delete"]),
        ]);
        assert.equal(gnu.code, 1, gnu.stderr);
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.stderr, `nfs4: ${url}: Not a directory (NFS4ERR_NOTDIR)\n`);
        assert.deepEqual(await treeState(ours), await treeState(theirs), version);
        assert.equal(await fs.readlink(`${ours}/l`), "d");
        assert.deepEqual(await fs.readdir(`${ours}/d`), []);
      }
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  },
);

serverTest(
  "nfs4 find -delete refuses an export root and the pseudo-fs root, deleting nothing",
  async (server: TestServer) => {
    await Deno.writeTextFile(`${server.exportDir}/keep.txt`, "keep");
    for (const version of VERSIONS) {
      for (const url of [`${server.url}/vfs`, `${server.url}/vfs/`, `${server.url}/`]) {
        const r = await nfs4(["--vers", version, "find", url, "-name", "keep.txt", "-delete"]);
        assert.equal(r.code, 1, url);
        assert.equal(
          r.stderr,
          `nfs4: ${url}: refusing to -delete in the root of an export; name a directory inside it\n`,
        );
        assert.equal(r.stdout, "");
        assert.equal(await Deno.readTextFile(`${server.exportDir}/keep.txt`), "keep");
      }
      // Below the root it deletes.
      await fs.mkdir(`${server.exportDir}/d${version}`);
      await Deno.writeTextFile(`${server.exportDir}/d${version}/x.tmp`, "x");
      const r = await nfs4([
        "--vers",
        version,
        "find",
        `${server.url}/vfs/d${version}`,
        "-name",
        "*.tmp",
        "-delete",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await fs.readdir(`${server.exportDir}/d${version}`), []);
    }
  },
);
