/**
 * lib/client/remove_tree.ts on an in-memory tree: depth-first order, each
 * directory read to the end before anything in it goes, symlinks removed
 * and never followed, failures kept local (siblings go, ancestors stay
 * without a second error), prompts, `link/` tops, rmdir's type check and
 * export roots by fsid.
 */

import assert from "node:assert/strict";
import type { AttributeReport, FileInfo, FileKind } from "../../lib/client/types.ts";
import { isFileSystemRoot } from "../../lib/client/fs_root.ts";
import { removeDirectory, removeTree, type TreeEntry } from "../../lib/client/remove_tree.ts";
import { ListingLoopError } from "../../lib/client/walk.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { PathError } from "../../lib/client/errors.ts";
import { Nfs4Status } from "../../lib/nfs4/status.ts";
import { describeError } from "../../cli/errors.ts";
import { parseNfsUrl } from "../../lib/client/url.ts";

type Node =
  | { kind: "file"; fsid?: number }
  | { kind: "directory"; children: Map<string, Node>; fsid?: number }
  | { kind: "symlink"; target: string; fsid?: number };

const f = (): Node => ({ kind: "file" });
const d = (children: Record<string, Node>, fsid?: number): Node => ({
  kind: "directory",
  children: new Map(Object.entries(children)),
  ...(fsid !== undefined ? { fsid } : {}),
});
const l = (target: string): Node => ({ kind: "symlink", target });

/** A client over `root` that logs readdir/remove calls and fails where told. */
class TreeClient {
  readonly log: string[] = [];
  /** path → status REMOVE answers there. */
  readonly failRemove = new Map<string, number>();
  /** path → status READDIR answers there. */
  readonly failReaddir = new Map<string, number>();
  /** Paths whose READDIR never ends: it lists their entries again and again. */
  readonly loopReaddir = new Set<string>();
  /**
   * path → a directory another client removes, with all in it, just before
   * this path's READDIR or REMOVE, which then answers NFS4ERR_STALE (the
   * handle of a directory on the way is gone), as Ganesha does.
   */
  readonly removedMeanwhile = new Map<string, string>();
  /** Paths whose READDIR or REMOVE answers NFS4ERR_STALE though they stay there. */
  readonly staleButThere = new Set<string>();
  /** Paths whose next READDIR or REMOVE (only that one) answers NFS4ERR_STALE. */
  readonly staleOnce = new Set<string>();
  constructor(readonly root: Node) {}

  /** NFS4ERR_STALE for `op` at `path`, when the test set one up there. */
  #stale(path: string, op: string): void {
    const gone = this.removedMeanwhile.get(path);
    if (gone !== undefined) {
      const parts = gone.split("/").filter((p) => p !== "");
      const name = parts.pop()!;
      const { node } = this.#walk("/" + parts.join("/"), true, "LOOKUP");
      if (node.kind === "directory") node.children.delete(name);
      throw new NfsError(Nfs4Status.NFS4ERR_STALE, op, { path });
    }
    if (this.staleButThere.has(path)) throw new NfsError(Nfs4Status.NFS4ERR_STALE, op, { path });
    if (this.staleOnce.delete(path)) throw new NfsError(Nfs4Status.NFS4ERR_STALE, op, { path });
  }

  #walk(path: string, follow: boolean, op: string): { node: Node; parts: string[] } {
    const trailing = /\/$/.test(path) && path !== "/";
    const parts: string[] = [];
    for (const part of path.split("/")) {
      if (part === "..") parts.pop();
      else if (part !== "" && part !== ".") parts.push(part);
    }
    let node = this.root;
    let walked: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      if (node.kind !== "directory") throw new NfsError(Nfs4Status.NFS4ERR_NOTDIR, op, { path });
      const child = node.children.get(parts[i]!);
      if (!child) throw new NfsError(Nfs4Status.NFS4ERR_NOENT, op, { path });
      const last = i === parts.length - 1;
      if (child.kind === "symlink" && (!last || follow || trailing)) {
        const target = child.target.startsWith("/")
          ? child.target
          : `/${[...walked, child.target].join("/")}`;
        const rest = parts.slice(i + 1).join("/");
        return this.#walk(rest ? `${target}/${rest}` : target, follow, op);
      }
      walked = [...walked, parts[i]!];
      node = child;
    }
    if (trailing && node.kind !== "directory") {
      throw new NfsError(Nfs4Status.NFS4ERR_NOTDIR, op, { path });
    }
    return { node, parts: walked };
  }

  #info(node: Node, parts: string[]): FileInfo {
    return {
      name: parts.at(-1) ?? "/",
      path: "/" + parts.join("/"),
      kind: node.kind as FileKind,
      mode: 0o755,
      nlink: 1,
      owner: "0",
      group: "0",
      size: 0n,
      spaceUsed: 0n,
      atime: undefined,
      mtime: undefined,
      ctime: undefined,
      fileid: undefined,
    };
  }

  stat(path: string, options?: { follow?: boolean }): Promise<FileInfo> {
    try {
      const { node, parts } = this.#walk(path, options?.follow ?? false, "LOOKUP");
      return Promise.resolve(this.#info(node, parts));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async *readdir(path: string): AsyncIterable<FileInfo> {
    this.log.push(`readdir ${path}`);
    this.#stale(path, "READDIR");
    const { node, parts } = this.#walk(path, true, "READDIR");
    if (node.kind !== "directory") {
      throw new NfsError(Nfs4Status.NFS4ERR_NOTDIR, "READDIR", { path });
    }
    let n = 0;
    do {
      for (const [name, child] of node.children) {
        // Fails after the first entry, as a READDIR of a later page would.
        const status = this.failReaddir.get(path);
        if (status !== undefined && n++ === 1) throw new NfsError(status, "READDIR", { path });
        yield this.#info(child, [...parts, name]);
      }
    } while (this.loopReaddir.has(path));
  }

  remove(path: string): Promise<void> {
    this.log.push(`remove ${path}`);
    try {
      this.#stale(path, "REMOVE");
      const parts = path.split("/").filter((p) => p !== "");
      const name = parts.pop()!;
      const { node: dir } = this.#walk("/" + parts.join("/"), true, "LOOKUP");
      if (dir.kind !== "directory") {
        throw new NfsError(Nfs4Status.NFS4ERR_NOTDIR, "REMOVE", { path });
      }
      const failure = this.failRemove.get(path);
      if (failure !== undefined) {
        // NOENT: someone else removed it first.
        if (failure === Nfs4Status.NFS4ERR_NOENT) dir.children.delete(name);
        throw new NfsError(failure, "REMOVE", { path });
      }
      const node = dir.children.get(name);
      if (!node) throw new NfsError(Nfs4Status.NFS4ERR_NOENT, "REMOVE", { path });
      if (node.kind === "directory" && node.children.size > 0) {
        throw new NfsError(Nfs4Status.NFS4ERR_NOTEMPTY, "REMOVE", { path });
      }
      dir.children.delete(name);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async attributes(path: string, options?: { follow?: boolean }): Promise<AttributeReport> {
    const { node, parts } = this.#walk(path, options?.follow ?? false, "LOOKUP");
    // A node's fsid is its own or its nearest ancestor's.
    let fsid = 0;
    let at: Node = this.root;
    fsid = at.fsid ?? fsid;
    for (const part of parts) {
      at = (at as { children: Map<string, Node> }).children.get(part)!;
      fsid = at.fsid ?? fsid;
    }
    return await Promise.resolve({
      info: this.#info(node, parts),
      filehandle: new Uint8Array(0),
      values: { fsid: { major: BigInt(fsid), minor: 0n } },
      returned: [],
      supported: [],
      unknown: [],
    });
  }

  /** Every path in the tree (not following symlinks), sorted. */
  paths(): string[] {
    const out: string[] = [];
    const visit = (node: Node, path: string) => {
      out.push(path);
      if (node.kind === "directory") {
        for (const [name, child] of node.children) {
          visit(child, path === "/" ? `/${name}` : `${path}/${name}`);
        }
      }
    };
    visit(this.root, "/");
    return out.sort();
  }
}

async function top(client: TreeClient, path: string): Promise<TreeEntry> {
  return { path, names: [], info: await client.stat(path) };
}

function sample(): Node {
  return d({
    vfs: d({
      t: d({
        a: d({ b: d({ h: f() }), g: f() }),
        e: d({}),
        f: f(),
        ld: l("../keep"),
      }),
      keep: d({ inside: f() }),
    }, 7),
  });
}

Deno.test("removeTree() removes a tree depth first, each directory read before its entries go", async () => {
  const client = new TreeClient(sample());
  const removed: string[] = [];
  const gone = await removeTree(client, await top(client, "/vfs/t"), {
    onRemoved: (entry) => void removed.push(entry.names.join("/")),
    onError: (err) => assert.fail(String(err)),
  });
  assert.equal(gone, true);
  assert.deepEqual(client.paths(), ["/", "/vfs", "/vfs/keep", "/vfs/keep/inside"]);
  // Every REMOVE in a directory comes after its READDIR, and a directory's
  // own REMOVE after all of its entries'.
  for (const [i, call] of client.log.entries()) {
    const [op, path] = call.split(" ") as [string, string];
    if (op !== "remove") continue;
    const parent = path.slice(0, path.lastIndexOf("/"));
    assert.ok(client.log.indexOf(`readdir ${parent}`) < i, `${call} after readdir ${parent}`);
    for (const later of client.log.slice(i + 1)) {
      assert.ok(!later.startsWith(`remove ${path}/`), `${later} before ${call}`);
    }
  }
  assert.deepEqual(removed.sort(), ["", "a", "a/b", "a/b/h", "a/g", "e", "f", "ld"]);
  // The symlink went, never what it points to.
  assert.ok(!client.log.some((call) => call.includes("keep")), client.log.join("\n"));
});

Deno.test("removeTree() keeps the ancestors of an entry that fails, and removes its siblings", async () => {
  const client = new TreeClient(sample());
  client.failRemove.set("/vfs/t/a/b/h", Nfs4Status.NFS4ERR_ACCESS);
  const errors: string[] = [];
  const gone = await removeTree(client, await top(client, "/vfs/t"), {
    onError: (err, entry) =>
      void errors.push(`${entry.names.join("/")}: ${(err as NfsError).statusName}`),
  });
  assert.equal(gone, false);
  assert.deepEqual(errors, ["a/b/h: NFS4ERR_ACCESS"]);
  assert.deepEqual(client.paths(), [
    "/",
    "/vfs",
    "/vfs/keep",
    "/vfs/keep/inside",
    "/vfs/t",
    "/vfs/t/a",
    "/vfs/t/a/b",
    "/vfs/t/a/b/h",
  ]);
  // No REMOVE was tried of the directories that could not be empty.
  assert.ok(!client.log.includes("remove /vfs/t/a/b"));
  assert.ok(!client.log.includes("remove /vfs/t"));
});

Deno.test("removeTree() reports a directory that cannot be read and goes on", async () => {
  const client = new TreeClient(sample());
  client.failReaddir.set("/vfs/t/a", Nfs4Status.NFS4ERR_ACCESS);
  const errors: string[] = [];
  await removeTree(client, await top(client, "/vfs/t"), {
    onError: (err, entry) => void errors.push(`${entry.path}: ${(err as NfsError).statusName}`),
  });
  assert.deepEqual(errors, ["/vfs/t/a: NFS4ERR_ACCESS"]);
  // Nothing inside it was removed (its listing was incomplete); the rest was.
  assert.deepEqual(client.paths().filter((p) => p.startsWith("/vfs/t")), [
    "/vfs/t",
    "/vfs/t/a",
    "/vfs/t/a/b",
    "/vfs/t/a/b/h",
    "/vfs/t/a/g",
  ]);
});

Deno.test("removeTree() reports a listing that goes round in a circle and removes nothing in it", async () => {
  const client = new TreeClient(sample());
  client.loopReaddir.add("/vfs/t/a");
  const errors: unknown[] = [];
  await removeTree(client, await top(client, "/vfs/t"), {
    onError: (err) => void errors.push(err),
  });
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof ListingLoopError, String(errors[0]));
  assert.equal((errors[0] as ListingLoopError).path, "/vfs/t/a");
  assert.deepEqual(client.paths().filter((p) => p.startsWith("/vfs/t")), [
    "/vfs/t",
    "/vfs/t/a",
    "/vfs/t/a/b",
    "/vfs/t/a/b/h",
    "/vfs/t/a/g",
  ]);
});

Deno.test("removeTree() asks before descending and before each removal; no keeps the ancestors", async () => {
  const client = new TreeClient(d({ vfs: d({ t: d({ a: d({ x: f() }), e: d({}), f: f() }) }) }));
  const asked: string[] = [];
  const no = new Set(["remove a/x"]);
  await removeTree(client, await top(client, "/vfs/t"), {
    confirm: (entry, step) => {
      const key = `${step} ${entry.names.join("/")}`;
      asked.push(key);
      return Promise.resolve(!no.has(key));
    },
    onError: (err) => assert.fail(String(err)),
  });
  assert.deepEqual(asked, ["descend ", "descend a", "remove a/x", "remove e", "remove f"]);
  assert.deepEqual(client.paths(), ["/", "/vfs", "/vfs/t", "/vfs/t/a", "/vfs/t/a/x"]);
});

Deno.test("removeTree() with ignoreMissing counts an entry that vanished as removed", async () => {
  const client = new TreeClient(d({ vfs: d({ t: d({ gone: f(), f: f() }) }) }));
  client.failRemove.set("/vfs/t/gone", Nfs4Status.NFS4ERR_NOENT);
  const errors: unknown[] = [];
  const gone = await removeTree(client, await top(client, "/vfs/t"), {
    onError: (err) => void errors.push(err),
    ignoreMissing: true,
  });
  assert.deepEqual(errors, []);
  assert.equal(gone, true);
  assert.deepEqual(client.paths(), ["/", "/vfs"]);
});

Deno.test("removeTree() with ignoreMissing counts entries whose directory was removed meanwhile (NFS4ERR_STALE, RFC 7530 §4.2.3) as removed", async () => {
  const client = new TreeClient(
    d({ vfs: d({ t: d({ a: d({ x: f(), y: f() }), b: d({ z: f() }), f: f() }) }) }),
  );
  // Another `rm -r` removes a while this one removes a/x, and b (with z)
  // before this one lists it.
  client.removedMeanwhile.set("/vfs/t/a/x", "/vfs/t/a");
  client.removedMeanwhile.set("/vfs/t/b", "/vfs/t/b");
  const errors: unknown[] = [];
  const gone = await removeTree(client, await top(client, "/vfs/t"), {
    onError: (err) => void errors.push(err),
    ignoreMissing: true,
    concurrency: 1,
  });
  assert.deepEqual(errors, []);
  assert.equal(gone, true);
  assert.deepEqual(client.paths(), ["/", "/vfs"]);
});

Deno.test("removeTree() without ignoreMissing says an entry whose directory was removed meanwhile is gone (No such file or directory, NFS4ERR_STALE)", async () => {
  const client = new TreeClient(d({ vfs: d({ t: d({ a: d({ x: f() }), f: f() }) }) }));
  client.removedMeanwhile.set("/vfs/t/a/x", "/vfs/t/a");
  const errors: string[] = [];
  const lines: string[] = [];
  const gone = await removeTree(client, await top(client, "/vfs/t"), {
    onError: (err) => {
      assert.ok(err instanceof NfsError);
      assert.equal(err.statusName, "NFS4ERR_STALE");
      errors.push(err.message);
      // As `nfs4 rm -r` prints it (cli/rm.ts: the entry's URL).
      lines.push(describeError(err, false, { url: parseNfsUrl("nfs://srv/vfs/t/a/x") }));
    },
  });
  assert.deepEqual(lines, [
    "nfs://srv/vfs/t/a/x: No such file or directory: a directory above it was removed " +
    "meanwhile (NFS4ERR_STALE)",
  ]);
  assert.deepEqual(errors, [
    "/vfs/t/a/x: No such file or directory: a directory above it was removed meanwhile " +
    "(NFS4ERR_STALE)",
  ]);
  assert.equal(gone, false);
  assert.deepEqual(client.paths(), ["/", "/vfs", "/vfs/t"]);
});

Deno.test("removeTree() with ignoreMissing still reports NFS4ERR_STALE for an entry that is still there", async () => {
  const client = new TreeClient(d({ vfs: d({ t: d({ a: d({ x: f() }), f: f() }) }) }));
  client.staleButThere.add("/vfs/t/a/x");
  const errors: string[] = [];
  const gone = await removeTree(client, await top(client, "/vfs/t"), {
    onError: (err) => void errors.push((err as Error).message),
    ignoreMissing: true,
  });
  // Walked again once by its path; stale again, that is the answer.
  assert.deepEqual(errors, ["/vfs/t/a/x: Stale file handle (NFS4ERR_STALE)"]);
  assert.equal(client.log.filter((line) => line === "remove /vfs/t/a/x").length, 2);
  assert.equal(gone, false);
  assert.deepEqual(client.paths(), ["/", "/vfs", "/vfs/t", "/vfs/t/a", "/vfs/t/a/x"]);
});

Deno.test("removeTree() walks an entry again once by its path after NFS4ERR_STALE when the path still leads to it (RFC 7530 §4.2.3)", async () => {
  const client = new TreeClient(d({ vfs: d({ t: d({ a: d({ x: f() }), f: f() }) }) }));
  client.staleOnce.add("/vfs/t/a");
  client.staleOnce.add("/vfs/t/f");
  const errors: unknown[] = [];
  const gone = await removeTree(client, await top(client, "/vfs/t"), {
    onError: (err) => void errors.push(err),
  });
  assert.deepEqual(errors, []);
  assert.equal(gone, true);
  assert.deepEqual(client.paths(), ["/", "/vfs"]);
  assert.deepEqual(client.log.filter((line) => line.endsWith("/vfs/t/a")), [
    "readdir /vfs/t/a",
    "readdir /vfs/t/a",
    "remove /vfs/t/a",
  ]);
});

Deno.test("removeTree() of link/ empties the directory linked to and keeps the link (Not a directory)", async () => {
  const client = new TreeClient(sample());
  const errors: string[] = [];
  const entry = { path: "/vfs/t/ld/", names: [], info: await client.stat("/vfs/t/ld/") };
  assert.equal(entry.info.kind, "directory");
  const gone = await removeTree(client, entry, {
    onError: (err, e) => void errors.push(`${e.path}: ${(err as NfsError).statusName}`),
  });
  assert.equal(gone, false);
  assert.deepEqual(errors, ["/vfs/t/ld/: NFS4ERR_NOTDIR"]);
  assert.ok(client.paths().includes("/vfs/t/ld"));
  assert.ok(client.paths().includes("/vfs/keep"));
  assert.ok(!client.paths().includes("/vfs/keep/inside"));
});

Deno.test("removeTree() stops when its signal is aborted", async () => {
  const client = new TreeClient(sample());
  const controller = new AbortController();
  const stop = new Error("stop");
  await assert.rejects(
    removeTree(client, await top(client, "/vfs/t"), {
      onRemoved: () => controller.abort(stop),
      onError: (err) => assert.fail(String(err)),
      signal: controller.signal,
      concurrency: 1,
    }),
    (err) => err === stop,
  );
  assert.equal(client.log.filter((call) => call.startsWith("remove")).length, 1);
});

Deno.test("removeTree() keeps several REMOVEs of one directory's files in flight, never more than asked", async () => {
  const files: Record<string, Node> = {};
  for (let i = 0; i < 20; i++) files[`f${i}`] = f();
  const client = new TreeClient(d({ vfs: d({ t: d({ ...files, sub: d({ x: f() }) }) }) }));
  let inFlight = 0;
  let most = 0;
  const remove = client.remove.bind(client);
  client.remove = async (path: string) => {
    most = Math.max(most, ++inFlight);
    await new Promise((resolve) => setTimeout(resolve, 1));
    inFlight--;
    return await remove(path);
  };
  const gone = await removeTree(client, await top(client, "/vfs/t"), {
    onError: (err) => assert.fail(String(err)),
    concurrency: 4,
  });
  assert.equal(gone, true);
  assert.equal(most, 4);
  assert.deepEqual(client.paths(), ["/", "/vfs"]);
});

Deno.test("removeTree() lets no REMOVE start once the walk has failed, and returns after the last one", async () => {
  const files: Record<string, Node> = {};
  for (let i = 0; i < 20; i++) files[`f${i}`] = f();
  const client = new TreeClient(d({ vfs: d({ t: d(files) }) }));
  let inFlight = 0;
  const remove = client.remove.bind(client);
  client.remove = async (path: string) => {
    inFlight++;
    await new Promise((resolve) => setTimeout(resolve, 2));
    inFlight--;
    return await remove(path);
  };
  const closed = new Error("stdout closed");
  let printed = 0;
  await assert.rejects(
    removeTree(client, await top(client, "/vfs/t"), {
      onRemoved: () => {
        if (++printed === 2) throw closed;
      },
      onError: (err) => assert.fail(String(err)),
      concurrency: 4,
    }),
    (err) => err === closed,
  );
  assert.equal(inFlight, 0, "nothing still in flight");
  const removes = client.log.filter((call) => call.startsWith("remove")).length;
  // The four first in flight, at most one more each before they saw the failure.
  assert.ok(removes <= 8, `${removes} REMOVEs`);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(client.log.filter((call) => call.startsWith("remove")).length, removes);
});

Deno.test("removeDirectory() removes an empty directory and never a file or a symlink", async () => {
  const client = new TreeClient(sample());
  await removeDirectory(client, "/vfs/t/e/");
  assert.ok(!client.paths().includes("/vfs/t/e"));
  for (const path of ["/vfs/t/f", "/vfs/t/ld"]) {
    await assert.rejects(
      removeDirectory(client, path),
      (err) => err instanceof NfsError && err.statusName === "NFS4ERR_NOTDIR" && err.path === path,
    );
  }
  await assert.rejects(
    removeDirectory(client, "/vfs/t/ld/"),
    (err) => err instanceof PathError && err.message === "/vfs/t/ld/: Symbolic link not followed",
  );
  await assert.rejects(
    removeDirectory(client, "/vfs/t/a"),
    (err) => err instanceof NfsError && err.statusName === "NFS4ERR_NOTEMPTY",
  );
  assert.ok(!client.log.some((call) => /^remove \/vfs\/t\/(f|ld)$/.test(call)), client.log.join());
  assert.ok(client.paths().includes("/vfs/t/f"));
  assert.ok(client.paths().includes("/vfs/keep/inside"));
});

Deno.test("isFileSystemRoot() is true for the pseudo-fs root and where the fsid changes", async () => {
  const client = new TreeClient(sample());
  assert.equal(await isFileSystemRoot(client, "/"), true);
  assert.equal(await isFileSystemRoot(client, "/vfs"), true);
  assert.equal(await isFileSystemRoot(client, "/vfs/"), true);
  assert.equal(await isFileSystemRoot(client, "/vfs/t"), false);
  assert.equal(await isFileSystemRoot(client, "/vfs/t/a/b"), false);
  // A symlink to an export root is judged by what it points to...
  const linked = new TreeClient(d({ vfs: d({ up: l("/vfs") }, 7) }));
  assert.equal(await isFileSystemRoot(linked, "/vfs/up"), true);
  // ...unless it is not followed (find -P): then it is a symlink, no root.
  assert.equal(await isFileSystemRoot(linked, "/vfs/up", { follow: false }), false);
  assert.equal(await isFileSystemRoot(linked, "/vfs/up/", { follow: false }), true);
});
