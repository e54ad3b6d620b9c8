/**
 * `nfs4 mv` against coreutils `mv`, on NFS-Ganesha's VFS export (a local
 * folder this test also reads and writes directly), on 4.0 and 4.1.
 *
 * - Within one server: each row's tree is made twice, in a local folder and
 *   in the export; coreutils `mv` runs on the first, `nfs4 mv` with URLs on
 *   the second; the trees after (`find -printf` type, mode, owner, links,
 *   mtime, file atime, symlink target, size), exit codes and `-v` output
 *   (URLs mapped back to paths) must be the same, and errors are one line.
 * - Across file systems: local → NFS and NFS → local, compared with
 *   coreutils moving the same tree from /tmp to /dev/shm (a real
 *   cross-device move: copy, then remove): the tree at the destination,
 *   what is left of the source, and the `-v` lines as a set (coreutils
 *   prints them in directory order).
 * - Two exports of one server (RENAME answers NFS4ERR_XDEV): /vfs → /mem is
 *   refused by the verification (Ganesha's MEM export keeps sizes, not
 *   data: what is read back differs) and the source stays; /mem → /vfs moves.
 * - Two servers: a tree moved like coreutils; a copy refused by the
 *   destination (--uid 1000 in a root 0755 directory) and a destination
 *   server that is down keep the source, with no temporary left; Ctrl-C
 *   during a large move keeps the source and leaves nothing behind.
 * - The verification and removal themselves (lib/client/move_tree.ts) on
 *   local trees: every difference found, only the listed entries removed.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { LocalSide } from "../../lib/client/copy/local_side.ts";
import { DEFAULT_TUNING } from "../../lib/client/copy/options.ts";
import { removeTree, verifyCopy, VerifyError, walkTree } from "../../lib/client/move_tree.ts";
import { withServer } from "../_server.ts";
import {
  cpServerTest,
  finish,
  sha256File,
  spawnNfs4,
  tempDir,
  temporaries,
  temporaryOfSize,
  VERSIONS,
} from "./_cp.ts";
import {
  argsFor,
  assertSameListing,
  bash,
  compareCase,
  type CoreutilsCase,
  inBatches,
  listing,
  mapNames,
  must,
  nfs4,
  nfs4IntoHead,
  shellWord,
  STAMP_TIMES,
  urlBelow,
} from "./_mv.ts";

/** One row of the same-server table. */
type MvCase = CoreutilsCase;

const CASES: readonly MvCase[] = [
  { name: "rename-file", setup: "echo a > a", args: ["-v", "@a", "@b"] },
  { name: "into-dir", setup: "echo a > a; mkdir d", args: ["-v", "@a", "@d"] },
  { name: "into-dir-slash", setup: "echo a > a; mkdir d", args: ["-v", "@a", "@d/"] },
  {
    name: "several-into-dir",
    setup: "echo a > a; echo b > b; mkdir -p e/f d",
    args: ["-v", "@a", "@b", "@e", "@d"],
  },
  {
    name: "target-directory",
    setup: "echo a > a; echo b > b; mkdir d",
    args: ["-v", "-t", "@d", "@a", "@b"],
  },
  {
    name: "replace-file",
    setup: "echo a > a; echo bb > b; ln b b2",
    args: ["-v", "@a", "@b"],
  },
  {
    name: "rename-tree",
    setup: "mkdir -p d/e; echo x > d/e/f; ln -s e/f d/l; ln d/e/f d/h",
    args: ["-v", "@d", "@z"],
  },
  { name: "dir-into-dir", setup: "mkdir -p d/e t", args: ["-v", "@d", "@t"] },
  { name: "dir-onto-empty-dir", setup: "mkdir -p d/x e", args: ["-v", "-T", "@d", "@e"] },
  {
    name: "symlink-not-followed",
    setup: "echo a > a; ln -s a l; mkdir d",
    args: ["-v", "@l", "@d"],
  },
  {
    name: "into-symlink-to-dir",
    setup: "echo a > a; mkdir d; ln -s d ld",
    args: ["-v", "@a", "@ld"],
  },
  {
    name: "T-onto-symlink",
    setup: "echo a > a; mkdir d; ln -s d ld",
    args: ["-v", "-T", "@a", "@ld"],
  },
  { name: "n-existing", setup: "echo a > a; echo b > b", args: ["-v", "-n", "@a", "@b"] },
  {
    name: "n-some",
    setup: "echo a > a; echo b > b; mkdir d; echo old > d/b",
    args: ["-v", "-n", "@a", "@b", "@d"],
  },
  { name: "n-onto-itself", setup: "echo a > a", args: ["-n", "@a", "@a"] },
  {
    name: "i-yes",
    setup: "echo a > a; echo b > b",
    args: ["-i", "-v", "@a", "@b"],
    stdin: "y",
    stderr: "prompt",
  },
  {
    name: "i-no",
    setup: "echo a > a; echo b > b",
    args: ["-i", "-v", "@a", "@b"],
    stdin: "n",
    stderr: "prompt",
  },
  { name: "i-then-f", setup: "echo a > a; echo b > b", args: ["-i", "-f", "-v", "@a", "@b"] },
  {
    name: "n-then-i",
    setup: "echo a > a; echo b > b",
    args: ["-n", "-i", "@a", "@b"],
    stdin: "yes",
    stderr: "prompt",
  },
  {
    name: "onto-itself",
    setup: "echo a > a",
    args: ["@a", "@a"],
    code: 1,
    stderr: /^nfs4: 'a' and 'a' are the same file\n$/,
  },
  {
    name: "onto-hard-link",
    setup: "echo a > a; ln a h",
    args: ["@a", "@h"],
    code: 1,
    stderr: /^nfs4: 'a' and 'h' are the same file\n$/,
  },
  {
    // rename(2) of `sub/.` or `sub/x/..` fails with EBUSY: nothing moves,
    // where the worked-out path moved sub itself (or its parent).
    name: "dot-and-dot-dot",
    setup: "mkdir -p sub/x d",
    args: ["@sub/.", "@y"],
    code: 1,
    stderr: /^nfs4: cannot move 'sub\/\.' to 'y': Device or resource busy\n$/,
  },
  {
    name: "dot-dot-into-dir",
    setup: "mkdir -p sub/x d",
    args: ["@sub/x/..", "@d"],
    code: 1,
    stderr: /^nfs4: cannot move 'sub\/x\/\.\.' to 'd\/\.\.': Device or resource busy\n$/,
  },
  {
    name: "dir-onto-non-empty-dir",
    setup: "mkdir -p d t/d/x",
    args: ["@d", "@t"],
    code: 1,
    stderr: /^nfs4: cannot move 'd' to 't\/d': Directory not empty \(NFS4ERR_(NOTEMPTY|EXIST)\)\n$/,
  },
  {
    name: "dir-onto-file",
    setup: "mkdir d; echo f > f",
    args: ["@d", "@f"],
    code: 1,
    stderr: /^nfs4: cannot overwrite non-directory 'f' with directory 'd'\n$/,
  },
  {
    name: "file-onto-dir",
    setup: "echo a > a; mkdir d",
    args: ["-T", "@a", "@d"],
    code: 1,
    stderr: /^nfs4: cannot overwrite directory 'd' with non-directory\n$/,
  },
  {
    name: "dir-into-itself",
    setup: "mkdir -p d/e",
    args: ["@d", "@d/e"],
    code: 1,
    stderr: /^nfs4: cannot move 'd' to a subdirectory of itself, 'd\/e\/d'\n$/,
  },
  {
    name: "missing-source",
    setup: "echo a > a; mkdir d",
    args: ["-v", "@nope", "@a", "@d"],
    code: 1,
    stderr: /^nfs4: nope: No such file or directory \(NFS4ERR_NOENT\)\n$/,
  },
  {
    name: "not-a-directory",
    setup: "echo a > a; echo b > b; echo c > c",
    args: ["@a", "@b", "@c"],
    code: 1,
    stderr: /^nfs4: target 'c' is not a directory\n$/,
  },
  {
    name: "slash-not-a-directory",
    setup: "echo a > a",
    args: ["@a", "@x/"],
    code: 1,
    stderr: /^nfs4: cannot move 'a' to 'x\/': Not a directory\n$/,
  },
  {
    name: "through-a-file",
    setup: "echo a > a; echo f > f",
    args: ["@a", "@f/x"],
    code: 1,
    stderr: /^nfs4: f\/x: Not a directory \(NFS4ERR_NOTDIR\)\n$/,
  },
  {
    name: "bytes",
    setup: "printf x > $'lat\\xe9in1'; mkdir $'d\\xff'",
    args: ["@lat\udce9in1", "@d\udcff"],
    noStdout: true,
  },
];

/** A tree with what a move across file systems must keep. */
const TREE = [
  "mkdir -p t/u t/v",
  "echo hello > t/u/f",
  "yes nfs4 | head -c 3000000 > t/big",
  "ln t/u/f t/h",
  "ln -s u/f t/s",
  "chmod 0750 t/v",
  "echo o > t/o && chown 4242:777 t/o && chmod 0640 t/o",
  "mkfifo t/p",
].join("; ");

/** One row of the across-file-systems table: `@S/…` below the source folder, `@D/…` below the destination. */
interface CrossCase {
  readonly name: string;
  readonly src: string;
  readonly dst: string;
  readonly args: readonly string[];
  readonly code?: number;
  /** nfs4's stderr, symlink time warnings aside, with S and D for the folders. */
  readonly stderr?: RegExp;
}

const CROSS: readonly CrossCase[] = [
  { name: "file", src: "echo a > a", dst: "", args: ["-v", "@S/a", "@D"] },
  {
    name: "replace",
    src: "echo new > a",
    dst: "echo old > b; ln b b2",
    args: ["-v", "@S/a", "@D/b"],
  },
  { name: "tree", src: TREE, dst: "", args: ["-v", "@S/t", "@D"] },
  {
    name: "several",
    src: "echo a > a; mkdir e; echo f > e/f",
    dst: "",
    args: ["-v", "@S/a", "@S/e", "@D"],
  },
  { name: "onto-empty", src: TREE, dst: "mkdir t2", args: ["-v", "-T", "@S/t", "@D/t2"] },
  {
    name: "onto-non-empty",
    src: TREE,
    dst: "mkdir -p t/x",
    args: ["-v", "@S/t", "@D"],
    code: 1,
    stderr: /^nfs4: cannot move 'S\/t' to 'D\/t': Directory not empty\n$/,
  },
  { name: "symlink", src: "ln -s nowhere l", dst: "", args: ["-v", "@S/l", "@D"] },
  { name: "no-clobber", src: "echo a > a", dst: "echo b > a", args: ["-n", "-v", "@S/a", "@D"] },
];

/** nfs4's stderr without the warnings about symlink times Ganesha does not set. */
function withoutSymlinkTimeWarnings(stderr: string): string {
  return stderr.split("\n").filter((line) =>
    !/^nfs4: warning: .*: cannot preserve the times of a symlink: the server accepted them but did not set them$/
      .test(line)
  ).join("\n");
}

/** The lines of `text`, sorted (coreutils lists a tree in directory order). */
function sortedLines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "").sort();
}

/** Runs the same-server table on `server` (one case directory each, a few at once). */
async function sameServerTable(
  vers: string,
  local: string,
  exportDir: string,
  vfs: string,
): Promise<void> {
  await inBatches(CASES, 4, async (c) => {
    await compareCase("mv", c, {
      ref: `${local}/same-${c.name}`,
      ours: `${exportDir}/${vers}-same-${c.name}`,
      base: `${vfs}/${vers}-same-${c.name}`,
      vers,
    });
  });
}

/** Runs the across-file-systems table, local → NFS (`up`) or NFS → local. */
async function crossTable(
  vers: string,
  direction: "up" | "down",
  local: string,
  shm: string,
  exportDir: string,
  vfs: string,
): Promise<void> {
  const crossDevice = (await must(`stat -c %d ${shellWord(local)} ${shellWord(shm)}`))
    .trim().split("\n");
  const realCopy = crossDevice[0] !== crossDevice[1];
  await inBatches(CROSS, 3, async (c) => {
    const id = `${vers}-${direction}-${c.name}`;
    const refSrc = `${local}/ref-${id}-src`;
    const refDst = `${shm}/ref-${id}-dst`;
    const localDir = `${local}/our-${id}`;
    const exported = `${exportDir}/our-${id}`;
    const url = `${vfs}/our-${id}`;
    const [ourSrc, ourDst] = direction === "up" ? [localDir, exported] : [exported, localDir];
    const [srcText, dstText] = direction === "up" ? [localDir, url] : [url, localDir];
    for (
      const [dir, script] of [[refSrc, c.src], [ourSrc, c.src], [refDst, c.dst], [ourDst, c.dst]]
    ) {
      await must(
        `mkdir ${shellWord(dir!)} && cd ${shellWord(dir!)} && ${script || "true"}; ${STAMP_TIMES}`,
      );
    }
    const resolve = (s: string, d: string, local: boolean) => (p: string) => {
      const [root, rest] = p.startsWith("S") ? [s, p.slice(2)] : [d, p.slice(2)];
      return local || !root.startsWith("nfs://")
        ? (rest ? `${root}/${rest}` : root)
        : urlBelow(root, rest);
    };
    const want = await bash(
      `mv ${argsFor(c.args, resolve(refSrc, refDst, true)).map(shellWord).join(" ")}`,
    );
    const got = await nfs4([
      "--vers",
      vers,
      "mv",
      ...argsFor(c.args, resolve(srcText, dstText, false)),
    ]);
    const where = `${c.name} ${direction} (--vers ${vers})`;
    const ours = (text: string) => mapNames(text, [[srcText, "S"], [dstText, "D"]]);
    const theirs = (text: string) => mapNames(text, [[refSrc, "S"], [refDst, "D"]]);
    assert.equal(want.code, c.code ?? 0, `${where}: coreutils exits ${want.code}: ${want.stderr}`);
    assert.equal(got.code, c.code ?? 0, `${where}: nfs4 exits ${got.code}: ${got.stderr}`);
    if (realCopy) {
      // Of a file's hard links the first one met is "copied" (the others are
      // linked): which one depends on the directory order coreutils reads.
      const oneOfLinks = (lines: string[]) => {
        const links = lines.filter((l) => /^copied 'S\/t\/(h|u\/f)' /.test(l));
        assert.ok(links.length <= 1, `${where}: one "copied" of the hard links: ${links}`);
        return lines.map((l) => links.includes(l) ? "copied (one of the hard links)" : l).sort();
      };
      assert.deepEqual(
        oneOfLinks(sortedLines(ours(got.stdout))),
        oneOfLinks(sortedLines(theirs(want.stdout))),
        `${where}: -v`,
      );
    }
    const stderr = ours(withoutSymlinkTimeWarnings(got.stderr));
    if (c.stderr) assert.match(stderr, c.stderr, `${where}: message`);
    else assert.equal(stderr, "", `${where}: no message`);
    // Ganesha sets no times on symlinks (the copy warned): those aside on NFS.
    const symlinkTimes = direction === "down";
    assertSameListing(await listing(ourDst), await listing(refDst), {
      symlinkTimes,
      what: `${where}: destination`,
    });
    assertSameListing(await listing(ourSrc), await listing(refSrc), {
      what: `${where}: what is left of the source`,
    });
    assert.deepEqual(await temporaries(ourDst), [], `${where}: no temporary left`);
  });
}

for (const vers of VERSIONS) {
  cpServerTest(`nfs4 mv --vers ${vers} moves like coreutils mv`, async (server, t) => {
    const local = await tempDir("nfs4-mv-test-");
    const shm = await fs.mkdtemp("/dev/shm/nfs4-mv-test-").catch(() => tempDir("nfs4-mv-shm-"));
    const vfs = `${server.url}/vfs`;
    try {
      await t.step("within one server: RENAME", async () => {
        await sameServerTable(vers, local, server.exportDir, vfs);
      });
      await t.step("local → NFS: copy, verify, remove", async () => {
        await crossTable(vers, "up", local, shm, server.exportDir, vfs);
      });
      await t.step("NFS → local: copy, verify, remove", async () => {
        await crossTable(vers, "down", local, shm, server.exportDir, vfs);
      });

      await t.step("two exports (NFS4ERR_XDEV): /vfs → /mem is refused by the check", async () => {
        const dir = `${server.exportDir}/${vers}-xdev`;
        await must(`mkdir ${dir} && echo 'data that MEM does not keep' > ${dir}/a`);
        const before = await sha256File(`${dir}/a`);
        const r = await nfs4([
          "--vers",
          vers,
          "mv",
          "-v",
          `${vfs}/${vers}-xdev/a`,
          `${server.url}/mem/`,
        ]);
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.stdout, "");
        assert.equal(
          r.stderr,
          `nfs4: cannot move '${vfs}/${vers}-xdev/a' to '${server.url}/mem/a': the copy could not be verified (contents differ); '${vfs}/${vers}-xdev/a' is kept\n`,
        );
        assert.equal(await sha256File(`${dir}/a`), before, "the source is kept as it was");
        const ls = await nfs4(["--vers", vers, "ls", "-A", `${server.url}/mem`]);
        assert.equal(ls.code, 0, ls.stderr);
        assert.ok(!ls.stdout.split("\n").some((n) => n === "a" || n.includes(".nfs4-")), ls.stdout);
      });

      await t.step("two exports (NFS4ERR_XDEV): /mem → /vfs moves", async () => {
        const name = `m-${vers}`;
        await must(`head -c 5000 /dev/zero > ${local}/${name}`);
        const up = await nfs4([
          "--vers",
          vers,
          "cp",
          `${local}/${name}`,
          `${server.url}/mem/${name}`,
        ]);
        assert.equal(up.code, 0, up.stderr);
        await must(`mkdir ${server.exportDir}/${vers}-xdev2`);
        const r = await nfs4([
          "--vers",
          vers,
          "mv",
          "-v",
          `${server.url}/mem/${name}`,
          `${vfs}/${vers}-xdev2/`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(
          r.stdout,
          `copied '${server.url}/mem/${name}' -> '${vfs}/${vers}-xdev2/${name}'\n` +
            `removed '${server.url}/mem/${name}'\n`,
        );
        // What MEM answers for its data, byte for byte and all of it.
        const st = await fs.stat(`${server.exportDir}/${vers}-xdev2/${name}`);
        assert.equal(st.size, 5000);
        const ls = await nfs4(["--vers", vers, "ls", "-A", `${server.url}/mem`]);
        assert.ok(!ls.stdout.split("\n").includes(name), ls.stdout);
      });

      await t.step("the same file under two names is never removed", async () => {
        // The folder behind the export, and another host name of the server:
        // the target is the source itself, replaced by its (verified) copy.
        const dir = `${server.exportDir}/${vers}-alias`;
        await must(`mkdir ${dir} && echo precious > ${dir}/p`);
        const port = new URL(server.url.replace(/^nfs:/, "http:")).port;
        for (const source of [`${dir}/p`, `nfs://localhost:${port}/vfs/${vers}-alias/p`]) {
          const r = await nfs4(["--vers", vers, "mv", source, `${vfs}/${vers}-alias/p`]);
          assert.equal(r.code, 1, r.stderr);
          assert.equal(
            r.stderr,
            `nfs4: '${source}' was not removed: it is no longer what was copied (the same file as '${vfs}/${vers}-alias/p' under another name?); the copy is at '${vfs}/${vers}-alias/p'\n`,
          );
          assert.equal(await fs.readFile(`${dir}/p`, "utf8"), "precious\n");
          assert.deepEqual(await fs.readdir(dir), ["p"]);
        }
      });

      await t.step("a source that cannot be removed: moved, and the error says so", async () => {
        const dir = `${server.exportDir}/${vers}-keep`;
        await must(`mkdir ${dir} && echo k > ${dir}/k && chmod 0755 ${dir}`);
        await must(`mkdir ${local}/${vers}-keep && chmod 0777 ${local}/${vers}-keep`);
        const r = await nfs4([
          "--vers",
          vers,
          "--uid",
          "1000",
          "--gid",
          "1000",
          "mv",
          "-v",
          `${vfs}/${vers}-keep/k`,
          `${vfs}/${vers}-keep/k2`,
        ]);
        // One server: a RENAME, refused as a whole (nothing copied).
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /^nfs4: cannot move .*: Permission denied \(NFS4ERR_ACCESS\)\n$/);
        const denied = await nfs4([
          "--vers",
          vers,
          "--uid",
          "1000",
          "--gid",
          "1000",
          "mv",
          "-v",
          `${vfs}/${vers}-keep/k`,
          `${local}/${vers}-keep/k3`,
        ]);
        assert.equal(denied.code, 1, denied.stderr);
        assert.equal(
          denied.stdout,
          `copied '${vfs}/${vers}-keep/k' -> '${local}/${vers}-keep/k3'\n`,
        );
        assert.equal(
          denied.stderr,
          `nfs4: cannot remove '${vfs}/${vers}-keep/k': Permission denied (NFS4ERR_ACCESS)\n`,
        );
        assert.equal(await fs.readFile(`${local}/${vers}-keep/k3`, "utf8"), "k\n");
        assert.equal(await fs.readFile(`${dir}/k`, "utf8"), "k\n");
      });

      await t.step("-v into a closed stdout: exits 0 quietly, no source half moved", async () => {
        // Renames: the command ends between sources, each file in one place.
        const dir = `${server.exportDir}/${vers}-pipe`;
        await must(
          `mkdir -p ${dir}/to && cd ${dir} && for i in $(seq 150); do echo $i > f$i; done`,
        );
        const names = Array.from({ length: 150 }, (_, i) => `f${i + 1}`);
        const renamed = await nfs4IntoHead([
          "--vers",
          vers,
          "mv",
          "-v",
          ...names.map((n) => `${vfs}/${vers}-pipe/${n}`),
          `${vfs}/${vers}-pipe/to`,
        ]);
        assert.equal(renamed.code, 0, renamed.stderr);
        assert.equal(renamed.stderr, "");
        const moved = new Set(await fs.readdir(`${dir}/to`));
        for (const n of names) {
          const here = await fs.stat(`${dir}/${n}`).then(() => true, () => false);
          assert.notEqual(here, moved.has(n), `${n}: in exactly one place`);
        }
        // Across file systems: the tree being moved is moved completely
        // (its "removed" lines meet the closed pipe) before the command ends.
        await must(
          `mkdir -p ${dir}/tree && cd ${dir}/tree && for i in $(seq 300); do echo $i > g$i; done`,
        );
        const across = await nfs4IntoHead([
          "--vers",
          vers,
          "mv",
          "-v",
          `${vfs}/${vers}-pipe/tree`,
          `${local}/${vers}-pipe-tree`,
        ]);
        assert.equal(across.code, 0, across.stderr);
        assert.equal(across.stderr, "");
        assert.equal(await fs.stat(`${dir}/tree`).then(() => true, () => false), false);
        assert.equal((await fs.readdir(`${local}/${vers}-pipe-tree`)).length, 300);
        assert.deepEqual(await temporaries(local), []);
      });

      await t.step("between two servers", async () => {
        await withServer(async (other) => {
          const src = `${server.exportDir}/${vers}-a`;
          await must(`mkdir ${src} && cd ${src} && ${TREE}; ${STAMP_TIMES}`);
          await must(
            `mkdir ${local}/ref-${vers}-a && cd ${local}/ref-${vers}-a && ${TREE}; ${STAMP_TIMES}`,
          );
          await must(
            `mkdir ${shm}/ref-${vers}-b && mv ${local}/ref-${vers}-a/t ${shm}/ref-${vers}-b/`,
          );
          await must(`mkdir ${other.exportDir}/b`);
          const r = await nfs4([
            "--vers",
            vers,
            "mv",
            `${vfs}/${vers}-a/t`,
            `${other.url}/vfs/b/`,
          ]);
          assert.equal(r.code, 0, r.stderr);
          assert.equal(withoutSymlinkTimeWarnings(r.stderr), "");
          assertSameListing(
            await listing(`${other.exportDir}/b`),
            await listing(`${shm}/ref-${vers}-b`),
            {
              symlinkTimes: false,
              what: "moved between servers",
            },
          );
          assert.deepEqual([...(await listing(src)).keys()], ["."], "the source is gone");

          // A copy the destination refuses: the source stays, nothing is left there.
          await must(
            `cd ${src} && ${TREE}; mkdir ${other.exportDir}/ro && chmod 0755 ${other.exportDir}/ro`,
          );
          const before = await listing(src);
          const denied = await nfs4([
            "--vers",
            vers,
            "--uid",
            "1000",
            "--gid",
            "1000",
            "mv",
            `${vfs}/${vers}-a/t`,
            `${other.url}/vfs/ro/`,
          ]);
          assert.equal(denied.code, 1, denied.stderr);
          const lines = denied.stderr.split("\n").filter((l) => l !== "");
          assert.match(
            lines.at(-1)!,
            new RegExp(
              `^nfs4: cannot move '${vfs}/${vers}-a/t' to '${other.url}/vfs/ro/t': the copy failed; '${vfs}/${vers}-a/t' is kept$`,
            ),
          );
          assert.match(denied.stderr, /Permission denied \(NFS4ERR_ACCESS\)/);
          assertSameListing(await listing(src), before, {
            what: "the source after a refused copy",
          });
          assert.deepEqual(await fs.readdir(`${other.exportDir}/ro`), [], "nothing left behind");

          // The destination server is down: the source stays.
          await other.stop();
          const down = await nfs4([
            "--vers",
            vers,
            "--timeout",
            "1",
            "mv",
            `${vfs}/${vers}-a/t`,
            `${other.url}/vfs/b/`,
          ]);
          assert.equal(down.code, 1, down.stderr);
          assert.match(down.stderr, /Connection refused|not responding/);
          assertSameListing(await listing(src), before, {
            what: "the source with the server down",
          });
        });
      });

      if (vers === "4.1") {
        await t.step("Ctrl-C during a move keeps the source and leaves nothing", async () => {
          const big = `${local}/big`;
          await must(`head -c 300000000 /dev/urandom > ${big}`);
          const sha = await sha256File(big);
          await must(`mkdir ${server.exportDir}/int`);
          const child = spawnNfs4(["--vers", vers, "mv", big, `${vfs}/int/`]);
          await temporaryOfSize(`${server.exportDir}/int`, 8 * 1024 * 1024);
          child.kill("SIGINT");
          const r = await finish(child);
          assert.equal(r.code, 130, r.stderr);
          assert.equal(await sha256File(big), sha, "the source is whole");
          assert.deepEqual(
            await fs.readdir(`${server.exportDir}/int`),
            [],
            "no copy, no temporary",
          );
        });
      }
    } finally {
      await fs.rm(local, { recursive: true, force: true });
      await fs.rm(shm, { recursive: true, force: true });
    }
  });
}

Deno.test("verifyCopy() finds every difference between a tree and its copy", async () => {
  const dir = await tempDir("nfs4-mv-verify-");
  try {
    const side = new LocalSide(DEFAULT_TUNING);
    await must(
      `cd ${dir} && mkdir -p a/d && printf 12345 > a/f && ln -s f a/l && printf x > a/d/g`,
    );
    const check = async (change: string, rel: string, reason: RegExp) => {
      await must(`cd ${dir} && rm -rf b && cp -a a b && ${change}`);
      const e = await verifyCopy({ side, path: `${dir}/a` }, { side, path: `${dir}/b` }).then(
        () => undefined,
        (e) => e,
      );
      assert.ok(e instanceof VerifyError, `${change}: ${e}`);
      assert.equal(e.rel, rel, change);
      assert.match(e.reason, reason, change);
    };
    const same = await verifyCopy({ side, path: `${dir}/a` }, { side, path: `${dir}/a` });
    assert.deepEqual(same.source.children.map((c) => c.rel), ["d", "f", "l"]);
    await check("printf 12346 > b/f", "f", /^contents differ$/);
    await check("printf 1234 > b/f", "f", /^size 5 in the source, 4 in the copy$/);
    await check("rm b/d/g", "d/g", /^missing from the copy$/);
    await check("touch b/d/extra", "d/extra", /^in the copy but not in the source$/);
    await check("ln -sfn g b/l", "l", /^symlink targets differ$/);
    await check("rm b/l && mkdir b/l", "l", /^a symlink in the source, a directory in the copy$/);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

Deno.test("removeTree() with unchanged: an entry written or replaced since it was listed (and checked) is kept, with its directory", async () => {
  const dir = await tempDir("nfs4-mv-unchanged-");
  try {
    const side = new LocalSide(DEFAULT_TUNING);
    await must(
      `cd ${dir} && mkdir -p t/u t/v && printf old > t/u/saved && printf x > t/u/rewritten && ` +
        `printf y > t/v/same && touch -d @1000000000 t/u/saved t/u/rewritten t/v/same`,
    );
    const tree = await walkTree(side, `${dir}/t`);
    // An editor saves by write-then-rename (a new inode); another writes in place.
    await must(
      `cd ${dir}/t/u && printf new > .saved.tmp && touch -d @1000000000 .saved.tmp && ` +
        `mv .saved.tmp saved && printf z > rewritten && touch -d @1000000000 rewritten`,
    );
    await must(`cd ${dir}/t/u && printf zz > rewritten`);
    const removed: string[] = [];
    const failed: string[] = [];
    const result = await removeTree(side, tree, {
      unchanged: true,
      onRemoved: (node) => removed.push(node.rel),
      onError: (e, node) => failed.push(`${node.rel}: ${(e as Error).message}`),
    });
    assert.deepEqual(removed, ["v/same", "v"]);
    assert.deepEqual(failed.sort(), [
      "u/rewritten: changed since it was copied and checked; kept",
      "u/saved: replaced since it was copied and checked; kept",
    ]);
    assert.deepEqual(result, { removed: 2, failed: 2 });
    assert.equal(await fs.readFile(`${dir}/t/u/saved`, "utf8"), "new");
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

Deno.test("removeTree() removes exactly the entries listed, deepest first", async () => {
  const dir = await tempDir("nfs4-mv-remove-");
  try {
    const side = new LocalSide(DEFAULT_TUNING);
    await must(`cd ${dir} && mkdir -p t/u $'t/\\xff' && touch t/u/f t/g $'t/\\xff/h'`);
    const tree = await walkTree(side, `${dir}/t`);
    await must(`touch ${dir}/t/u/new`);
    const removed: string[] = [];
    const failed: string[] = [];
    const result = await removeTree(side, tree, {
      onRemoved: (node) => removed.push(node.rel),
      onError: (e, node) => failed.push(`${node.rel}: ${(e as Error).message}`),
    });
    assert.deepEqual(removed, ["g", "u/f", "\udcff/h", "\udcff"]);
    assert.deepEqual(failed, [`u: ${dir}/t/u: Directory not empty`]);
    assert.deepEqual(result, { removed: 4, failed: 1 });
    assert.deepEqual((await must(`cd ${dir} && find . | sort`)).split("\n"), [
      ".",
      "./t",
      "./t/u",
      "./t/u/new",
      "",
    ]);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
