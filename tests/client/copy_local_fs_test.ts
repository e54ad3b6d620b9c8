/**
 * The exact local file system of the copy engine (lib/client/copy/local_fs.ts
 * over libc.ts), the owner mapping (owners.ts) and `--preserve` lists
 * (options.ts): names that are not UTF-8, nanosecond and pre-1970 times,
 * special files, owners.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { libc } from "../../lib/os/libc.ts";
import { localFs, touchTime } from "../../lib/client/copy/local_fs.ts";
import { localOwner, serverOwner } from "../../lib/client/copy/owners.ts";
import {
  basenamePath,
  dirnamePath,
  joinPath,
  normalizePath,
  resolvePath,
} from "../../lib/client/copy/local_path.ts";
import {
  applyPreserveList,
  PRESERVE_ALL,
  PRESERVE_NONE,
  PRESERVE_P,
} from "../../lib/client/copy/options.ts";
import { UsageError } from "../../lib/client/url.ts";

const isRoot = process.getuid?.() === 0;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "nfs4-local-fs-"));
  try {
    await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function shell(script: string, cwd: string): Promise<string> {
  const out = await new Deno.Command("bash", { args: ["-c", script], cwd, stdout: "piped" })
    .output();
  assert.equal(out.code, 0, script);
  return new TextDecoder().decode(out.stdout);
}

Deno.test("libc() is there on Linux with glibc under Deno", () => {
  assert.ok(libc() !== undefined);
  assert.ok(localFs.exact);
});

Deno.test("localFs lists, reads and makes names that are not UTF-8 under their bytes", async () => {
  await withDir(async (dir) => {
    await shell(`printf 'latin' > $'lat\\xe9in1' && ln -s $'t\\xff' $'l\\xfe'`, dir);
    const names = (await localFs.readdir(dir)).sort();
    assert.deepEqual(names, ["lat\udce9in1", "l\udcfe"].sort());
    assert.equal((await localFs.stat(`${dir}/lat\udce9in1`, false)).size, 5n);
    assert.equal(await localFs.readlink(`${dir}/l\udcfe`), "t\udcff");
    const handle = await localFs.open(`${dir}/lat\udce9in1`, "r");
    try {
      const buffer = new Uint8Array(16);
      const { bytesRead } = await handle.read(buffer, 0, 16, 0);
      assert.equal(new TextDecoder().decode(buffer.subarray(0, bytesRead)), "latin");
    } finally {
      await handle.close();
    }
    const created = await localFs.open(`${dir}/new\udc80`, "wx", 0o600);
    await created.write(new TextEncoder().encode("x"));
    await created.close();
    await localFs.mkdir(`${dir}/d\udcc0`, 0o755);
    await localFs.rename(`${dir}/new\udc80`, `${dir}/d\udcc0/moved\udc81`);
    assert.equal(
      await shell(`cat $'d\\xc0/moved\\x81' && ls -d $'d\\xc0' | od -An -tx1`, dir),
      "x 64 c0 0a\n",
    );
    await assert.rejects(localFs.stat(`${dir}/missing\udce9`, false), { code: "ENOENT" });
  });
});

Deno.test("localFs.statIfExists: undefined for a name that is not there, the stat of one that is, ENOTDIR thrown", async () => {
  await withDir(async (dir) => {
    assert.equal(await localFs.statIfExists(path.join(dir, "absent"), false), undefined);
    assert.equal(await localFs.statIfExists(path.join(dir, "absent"), true), undefined);
    await fs.writeFile(path.join(dir, "f"), "data");
    const stat = await localFs.statIfExists(path.join(dir, "f"), false);
    assert.equal(stat?.kind, "file");
    assert.equal(stat?.size, 4n);
    // A dangling symlink: there (not followed), absent (followed).
    await fs.symlink("nowhere", path.join(dir, "dangling"));
    assert.equal((await localFs.statIfExists(path.join(dir, "dangling"), false))?.kind, "symlink");
    assert.equal(await localFs.statIfExists(path.join(dir, "dangling"), true), undefined);
    // Through a file: not "absent", an error.
    await assert.rejects(
      localFs.statIfExists(path.join(dir, "f", "x"), false),
      (e: Error & { code?: string }) => e.code === "ENOTDIR",
    );
  });
});

Deno.test("localFs sets and reads times to the nanosecond, before 1970 too", async () => {
  await withDir(async (dir) => {
    await fs.writeFile(`${dir}/f`, "");
    await fs.symlink("f", `${dir}/l`);
    const cases = [
      { seconds: -100n - 1n, nseconds: 876543211 }, // -100.123456789
      { seconds: -2000000000n, nseconds: 250000000 }, // 1906
      { seconds: 1700000000n, nseconds: 123456789 },
      { seconds: 0n, nseconds: 1 },
    ];
    for (const t of cases) {
      await localFs.setTimes(`${dir}/f`, t, t, true);
      const st = await localFs.stat(`${dir}/f`, false);
      assert.deepEqual(st.mtime, t);
      assert.deepEqual(st.atime, t);
      assert.equal(
        await shell(`stat -c %.9Y f`, dir),
        `${t.seconds < 0n && t.nseconds > 0 ? "-" + (-t.seconds - 1n) : t.seconds}.${
          String(t.seconds < 0n && t.nseconds > 0 ? 1e9 - t.nseconds : t.nseconds).padStart(9, "0")
        }\n`,
      );
    }
    // A symlink itself (lutimes), the file it points to untouched.
    const t = { seconds: -5000n, nseconds: 5 };
    const before = (await localFs.stat(`${dir}/f`, false)).mtime;
    await localFs.setTimes(`${dir}/l`, t, t, false);
    assert.deepEqual((await localFs.stat(`${dir}/l`, false)).mtime, t);
    assert.deepEqual((await localFs.stat(`${dir}/f`, false)).mtime, before);
  });
});

Deno.test("touchTime() writes @SECONDS.NANOSECONDS as GNU touch reads it", () => {
  assert.equal(touchTime({ seconds: 1n, nseconds: 5 }), "@1.000000005");
  assert.equal(touchTime({ seconds: -101n, nseconds: 876543211 }), "@-100.123456789");
  assert.equal(touchTime({ seconds: -1n, nseconds: 500000000 }), "@-0.500000000");
  assert.equal(touchTime({ seconds: -7n, nseconds: 0 }), "@-7.000000000");
});

Deno.test({
  name: "localFs makes fifos, sockets and devices, and changes owners (root)",
  ignore: !isRoot,
  fn: async () => {
    await withDir(async (dir) => {
      await localFs.mknod(`${dir}/fifo`, "fifo", 0o640);
      await localFs.mknod(`${dir}/sock`, "socket", 0o755);
      await localFs.mknod(`${dir}/null`, "char", 0o644, { major: 1, minor: 3 });
      await localFs.mknod(`${dir}/blk`, "block", 0o600, { major: 259, minor: 70000 });
      const kinds = await Promise.all(
        ["fifo", "sock", "null", "blk"].map((n) => localFs.stat(`${dir}/${n}`, false)),
      );
      assert.deepEqual(kinds.map((k) => k.kind), ["fifo", "socket", "char", "block"]);
      assert.deepEqual(kinds[2]!.rdev, { major: 1, minor: 3 });
      assert.deepEqual(kinds[3]!.rdev, { major: 259, minor: 70000 });
      assert.equal(await shell(`stat -c '%t:%T' blk`, dir), "103:11170\n");
      await localFs.chown(`${dir}/fifo`, 4242, 777, true);
      const st = await localFs.stat(`${dir}/fifo`, false);
      assert.deepEqual([st.uid, st.gid], [4242, 777]);
    });
  },
});

Deno.test("localOwner() takes ids as they are and looks names up", async () => {
  assert.equal(await localOwner("4242", "user"), "4242");
  assert.equal(await localOwner("root", "user"), "0");
  assert.equal(await localOwner("root@example.org", "group"), "0");
  assert.equal(await localOwner("no-such-user-nfs4@example.org", "user"), undefined);
});

Deno.test("serverOwner() sends ids to numeric servers and name@domain to the others", async () => {
  assert.equal(await serverOwner("0", "user", undefined), "0");
  assert.equal(await serverOwner("root@example.org", "user", undefined), "0");
  assert.equal(await serverOwner("0", "user", "example.org"), "root@example.org");
  // No local name: the number, which servers accept for AUTH_SYS (RFC 7530 §5.9).
  assert.equal(await serverOwner("4242", "user", "example.org"), "4242");
  assert.equal(await serverOwner("bob@other.org", "user", "example.org"), "bob@other.org");
});

Deno.test("applyPreserveList() reads --preserve and --no-preserve in order", () => {
  assert.deepEqual(applyPreserveList(PRESERVE_NONE, ["+mode,ownership,timestamps"]), PRESERVE_P);
  assert.deepEqual(applyPreserveList(PRESERVE_NONE, ["+all"]), PRESERVE_ALL);
  assert.deepEqual(applyPreserveList(PRESERVE_ALL, ["-links"]), PRESERVE_P);
  assert.deepEqual(applyPreserveList(PRESERVE_ALL, ["-all", "+links"]), {
    ...PRESERVE_NONE,
    links: true,
  });
  assert.deepEqual(applyPreserveList(PRESERVE_P, ["-xattr,context"]), PRESERVE_P);
  assert.throws(() => applyPreserveList(PRESERVE_NONE, ["+xattr"]), UsageError);
  assert.throws(() => applyPreserveList(PRESERVE_NONE, ["+modes"]), /invalid argument 'modes'/);
});

Deno.test("local_path.ts agrees with node:path's posix functions and keeps lone surrogates", () => {
  const inputs = [
    "",
    ".",
    "/",
    "a",
    "a/",
    "/a/b",
    "a//b/./c",
    "a/../b",
    "../a",
    "/../a",
    "a/b/..",
    "//x//",
    "./",
  ];
  for (const p of inputs) {
    assert.equal(normalizePath(p), path.posix.normalize(p), `normalize ${p}`);
    assert.equal(dirnamePath(p), path.posix.dirname(p), `dirname ${p}`);
    assert.equal(basenamePath(p), path.posix.basename(p), `basename ${p}`);
    assert.equal(resolvePath(p), path.posix.resolve(p), `resolve ${p}`);
    for (const q of ["x", "", "../y", "/z"]) {
      assert.equal(joinPath(p, q), path.posix.join(p, q), `join ${p} ${q}`);
    }
  }
  assert.equal(joinPath("d\udcff", "l\udce9"), "d\udcff/l\udce9");
  assert.equal(dirnamePath("/a/l\udce9/x"), "/a/l\udce9");
  assert.equal(basenamePath("/a/l\udce9"), "l\udce9");
});
