/**
 * listExports() (`nfs4 info`'s "Under /") over a pseudo file system held in
 * memory: what a server's READDIR and LOOKUP give is scripted per
 * directory, so the walk's limits, the directories it cannot read, and
 * servers that give no fsid in READDIR (or not the mounted file system's)
 * are tested without a server. Against Ganesha: tests/cli/info_pseudo_fs_test.ts.
 */

import assert from "node:assert/strict";
import type { Nfs4ClientApi } from "../../lib/client/api.ts";
import { listExports } from "../../lib/client/probe.ts";
import type { FileInfo } from "../../lib/client/types.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { RpcProtocolError } from "../../lib/rpc/errors.ts";

const PSEUDO = "152:152";

/** A directory of the scripted pseudo file system. */
interface Dir {
  /** Its fsid (what LOOKUP then GETATTR gives); default the pseudo-root's. */
  fsid?: string;
  /** What READDIR of its parent gives as its fsid; default `fsid`. `null`: none (rdattr_error). */
  listedFsid?: string | null;
  /** READDIR of it fails so. */
  readdirFails?: Error;
  /** LOOKUP of it fails so. */
  statFails?: Error;
  children?: Record<string, Dir>;
}

/** A client over `root`, logging the calls made. */
function fakeClient(root: Dir) {
  const calls: string[] = [];
  const find = (path: string): Dir => {
    let dir = root;
    for (const name of path.split("/").filter(Boolean)) dir = dir.children![name]!;
    return dir;
  };
  const info = (path: string, fsid: string | undefined, attrError?: number): FileInfo => ({
    name: path.split("/").at(-1)!,
    path,
    kind: "directory",
    mode: undefined,
    nlink: undefined,
    owner: undefined,
    group: undefined,
    size: undefined,
    spaceUsed: undefined,
    atime: undefined,
    mtime: undefined,
    ctime: undefined,
    fileid: undefined,
    fsid,
    attrError,
  });
  const client: Pick<Nfs4ClientApi, "readdir" | "stat"> = {
    async *readdir(path) {
      calls.push(`READDIR ${path}`);
      const dir = find(path);
      if (dir.readdirFails) throw dir.readdirFails;
      for (const [name, child] of Object.entries(dir.children ?? {})) {
        const full = `${path === "/" ? "" : path}/${name}`;
        const listed = child.listedFsid === undefined ? child.fsid ?? PSEUDO : child.listedFsid;
        yield listed === null
          ? info(full, undefined, S.NFS4ERR_ACCESS)
          : info(full, listed ?? undefined);
      }
      // A regular file is not a directory to walk.
      yield { ...info(`${path === "/" ? "" : path}/README`, PSEUDO), kind: "file" };
    },
    stat(path) {
      calls.push(`LOOKUP ${path}`);
      const dir = find(path);
      if (dir.statFails) return Promise.reject(dir.statFails);
      return Promise.resolve(info(path, dir.fsid ?? PSEUDO));
    },
  };
  return { client, calls };
}

/** A chain of pseudo-fs directories `names`, `leaf` at the end. */
function chain(names: readonly string[], leaf: Dir): Dir {
  return names.reduceRight<Dir>((child, name) => ({ children: { [name]: child } }), leaf);
}

Deno.test("listExports() walks down pseudo-fs directories and lists the exports below them", async () => {
  // knfsd exporting /srv/nfs/home and /srv/nfs/data, /srv/www not exported.
  const { client, calls } = fakeClient({
    children: {
      srv: {
        children: {
          nfs: { children: { home: { fsid: "1:1" }, data: { fsid: "1:2" } } },
          empty: {},
        },
      },
      mem: { fsid: "2:0" },
    },
  });
  const notLearned: string[] = [];
  const exports = await listExports(client, PSEUDO, notLearned);
  assert.deepEqual(exports, [
    { path: "/mem", fsid: "2:0", separateFs: true },
    { path: "/srv/nfs/home", fsid: "1:1", separateFs: true },
    { path: "/srv/nfs/data", fsid: "1:2", separateFs: true },
  ]);
  assert.deepEqual(notLearned, []);
  // Exports are not gone into; pseudo directories are looked up before.
  assert.deepEqual(calls, [
    "READDIR /",
    "LOOKUP /srv",
    "READDIR /srv",
    "LOOKUP /srv/nfs",
    "LOOKUP /srv/empty",
    "READDIR /srv/nfs",
    "READDIR /srv/empty",
  ]);
});

Deno.test("listExports() stops 8 levels down and says which directories it did not read", async () => {
  const names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
  const { client, calls } = fakeClient({
    children: {
      deep: chain(names, { children: { vfs: { fsid: "1:1" } } }),
      also: chain(names, {}),
      // An export at the 8th level is still found.
      eight: chain(names.slice(0, 7), { fsid: "3:3" }),
    },
  });
  const notLearned: string[] = [];
  const exports = await listExports(client, PSEUDO, notLearned);
  // Breadth first: the 8th level in the order found.
  assert.deepEqual(exports, [
    { path: "/deep/a/b/c/d/e/f/g", fsid: PSEUDO, separateFs: false },
    { path: "/also/a/b/c/d/e/f/g", fsid: PSEUDO, separateFs: false },
    { path: "/eight/a/b/c/d/e/f/g", fsid: "3:3", separateFs: true },
  ]);
  assert.deepEqual(notLearned, [
    "exports more than 8 levels below /: not looked for (/deep/a/b/c/d/e/f/g and 1 more not read)",
  ]);
  assert.ok(!calls.includes("READDIR /deep/a/b/c/d/e/f/g"), calls.join("\n"));
});

Deno.test("listExports() looks at 1000 directories at most and says so", async () => {
  const children: Record<string, Dir> = {};
  for (let i = 0; i < 1500; i++) children[`e${i}`] = { fsid: `1:${i}` };
  const { client } = fakeClient({ children });
  const notLearned: string[] = [];
  const exports = await listExports(client, PSEUDO, notLearned);
  assert.equal(exports.length, 1000);
  assert.equal(exports.at(-1)!.path, "/e999");
  assert.deepEqual(notLearned, [
    "exports past the first 1000 directories: not looked for (the walk stops there)",
  ]);

  // Pseudo-fs directories count too; exactly the limit is not cut.
  const small = fakeClient({ children: { a: { children: { x: { fsid: "1:1" } } }, b: {} } });
  const lines: string[] = [];
  assert.deepEqual(
    await listExports(small.client, PSEUDO, lines, { maxDepth: 8, maxDirectories: 3 }),
    [{ path: "/a/x", fsid: "1:1", separateFs: true }],
  );
  assert.deepEqual(lines, []);
  const cut: string[] = [];
  assert.deepEqual(
    await listExports(small.client, PSEUDO, cut, { maxDepth: 8, maxDirectories: 2 }),
    [],
  );
  assert.deepEqual(cut, [
    "exports past the first 2 directories: not looked for (the walk stops there)",
  ]);
});

Deno.test("listExports() lists a pseudo-fs directory it cannot read as not learned, and goes on", async () => {
  const { client } = fakeClient({
    children: {
      locked: {
        readdirFails: new NfsError(S.NFS4ERR_ACCESS, "READDIR", { path: "/locked" }),
        children: { x: { fsid: "1:1" } },
      },
      garbled: {
        readdirFails: new RpcProtocolError("malformed COMPOUND reply: READDIR result truncated"),
      },
      top: { children: { vfs: { fsid: "1:2" } } },
    },
  });
  const notLearned: string[] = [];
  assert.deepEqual(await listExports(client, PSEUDO, notLearned), [
    { path: "/top/vfs", fsid: "1:2", separateFs: true },
  ]);
  assert.deepEqual(notLearned, [
    "exports under /locked: NFS4ERR_ACCESS",
    "exports under /garbled: malformed COMPOUND reply: READDIR result truncated",
  ]);

  // The root that cannot be read is the caller's to report (as before: "exports under /").
  const root = fakeClient({
    readdirFails: new NfsError(S.NFS4ERR_ACCESS, "READDIR", { path: "/" }),
  });
  await assert.rejects(listExports(root.client, PSEUDO, []), NfsError);
});

Deno.test("listExports() asks LOOKUP when READDIR gives no fsid or the pseudo-root's", async () => {
  const { client, calls } = fakeClient({
    children: {
      // rdattr_error in READDIR; LOOKUP says it is an export.
      refused: { fsid: "1:1", listedFsid: null },
      // READDIR gives the directory mounted on, not the export (no crossing).
      uncrossed: { fsid: "1:2", listedFsid: PSEUDO, children: { inside: { fsid: "1:2" } } },
      // Neither READDIR nor LOOKUP: listed, fsid unknown, not gone into.
      unknown: {
        listedFsid: null,
        statFails: new NfsError(S.NFS4ERR_ACCESS, "LOOKUP", { path: "/unknown" }),
        children: { x: { fsid: "1:3" } },
      },
    },
  });
  const notLearned: string[] = [];
  assert.deepEqual(await listExports(client, PSEUDO, notLearned), [
    { path: "/refused", fsid: "1:1", separateFs: true },
    { path: "/uncrossed", fsid: "1:2", separateFs: true },
    { path: "/unknown", fsid: undefined, separateFs: false },
  ]);
  assert.deepEqual(notLearned, []);
  assert.deepEqual(calls, ["READDIR /", "LOOKUP /refused", "LOOKUP /uncrossed", "LOOKUP /unknown"]);
});

Deno.test("listExports() with the root's fsid unknown lists the root's directories alone", async () => {
  const { client, calls } = fakeClient({
    children: { top: { children: { vfs: { fsid: "1:1" } } }, mem: { fsid: "2:0" } },
  });
  assert.deepEqual(await listExports(client, undefined, []), [
    { path: "/top", fsid: PSEUDO, separateFs: false },
    { path: "/mem", fsid: "2:0", separateFs: false },
  ]);
  assert.deepEqual(calls, ["READDIR /"]);
});
