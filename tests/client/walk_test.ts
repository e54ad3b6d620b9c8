/**
 * lib/client/walk.ts on an in-memory client: orders, depth limits, prune,
 * symlinks, loops, unreadable directories, and that nothing but one `stat`
 * of the start and one READDIR per directory is asked.
 */

import assert from "node:assert/strict";
import type { FileInfo } from "../../lib/client/types.ts";
import {
  listDirectory,
  ListingLoopError,
  walk,
  type WalkItem,
  WalkLoopError,
  type WalkOptions,
} from "../../lib/client/walk.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status } from "../../lib/nfs4/status.ts";
import { type CallLog, dir, FakeClient, type FakeNode, file, symlink } from "../cli/_fake.ts";

function tree(): FakeNode {
  return dir({
    top: dir({
      a: file("a"),
      sub: dir({
        b: file("bb"),
        deep: dir({ c: file("ccc") }),
      }),
      empty: dir({}),
      link: symlink("sub"),
    }),
  });
}

function newLog(): CallLog {
  return { calls: [], opened: 0, closed: 0, clientsClosed: 0 };
}

/** Each item as `pre`-style text: `path depth` or `! path: error`. */
function describe(item: WalkItem): string {
  if (item.kind === "failure") {
    const error = item.error;
    const why = error instanceof NfsError ? error.statusName : (error as Error).name;
    return `! ${item.path} ${why}`;
  }
  return `${item.path} ${item.depth}`;
}

async function collect(
  client: FakeClient,
  start: string,
  options: WalkOptions = {},
  onEntry?: (item: WalkItem) => void,
): Promise<string[]> {
  const out: string[] = [];
  for await (const item of walk(client, start, options)) {
    out.push(describe(item));
    onEntry?.(item);
  }
  return out;
}

/** Sorted, for the parts of a test where READDIR's order does not matter. */
function sorted(lines: string[]): string[] {
  return [...lines].sort();
}

/** Asserts every directory comes before (pre) or after (post) everything below it. */
function assertOrder(lines: string[], order: "pre" | "post"): void {
  const paths = lines.filter((l) => !l.startsWith("!")).map((l) => l.split(" ")[0]!);
  paths.forEach((path, i) => {
    paths.forEach((other, j) => {
      if (other.startsWith(`${path}/`)) {
        assert.ok(order === "pre" ? i < j : i > j, `${path} ${order}-order before/after ${other}`);
      }
    });
  });
}

Deno.test("walk() in pre-order yields each directory before its contents, with depth and names", async () => {
  const log = newLog();
  const client = new FakeClient(tree(), log);
  const names = new Map<string, string>();
  const lines = await collect(client, "/top", {}, (item) => {
    if (item.kind === "entry") names.set(item.path, item.names.join("|"));
  });
  assert.deepEqual(sorted(lines), [
    "/top 0",
    "/top/a 1",
    "/top/empty 1",
    "/top/link 1",
    "/top/sub 1",
    "/top/sub/b 2",
    "/top/sub/deep 2",
    "/top/sub/deep/c 3",
  ]);
  assert.equal(lines[0], "/top 0");
  assertOrder(lines, "pre");
  assert.equal(names.get("/top"), "");
  assert.equal(names.get("/top/sub/deep/c"), "sub|deep|c");
  // One stat (the start, not followed), one READDIR per directory; the
  // symlink is neither followed nor read.
  assert.deepEqual(log.calls.filter((c) => c.startsWith("stat")), ["stat /top"]);
  assert.deepEqual(sorted(log.calls.filter((c) => c.startsWith("readdir"))), [
    "readdir /top",
    "readdir /top/empty",
    "readdir /top/sub",
    "readdir /top/sub/deep",
  ]);
});

Deno.test("walk() in post-order yields each directory after its contents", async () => {
  const lines = await collect(new FakeClient(tree(), newLog()), "/top", { order: "post" });
  assert.equal(lines.length, 8);
  assert.equal(lines.at(-1), "/top 0");
  assertOrder(lines, "post");
});

Deno.test("walk() attributes come from READDIR: entries carry the listing's FileInfo", async () => {
  const client = new FakeClient(tree(), newLog());
  const seen: FileInfo[] = [];
  for await (const item of walk(client, "/top")) if (item.kind === "entry") seen.push(item.info);
  const c = seen.find((info) => info.name === "c")!;
  assert.equal(c.kind, "file");
  assert.equal(c.size, 3n);
  assert.equal(seen.find((info) => info.name === "link")!.kind, "symlink");
});

Deno.test("walk() maxDepth: nothing deeper is yielded and directories at the limit are not read", async () => {
  const log = newLog();
  const lines = await collect(new FakeClient(tree(), log), "/top", { maxDepth: 1 });
  assert.deepEqual(sorted(lines), [
    "/top 0",
    "/top/a 1",
    "/top/empty 1",
    "/top/link 1",
    "/top/sub 1",
  ]);
  assert.deepEqual(log.calls.filter((c) => c.startsWith("readdir")), ["readdir /top"]);
  const zero = newLog();
  assert.deepEqual(await collect(new FakeClient(tree(), zero), "/top", { maxDepth: 0 }), [
    "/top 0",
  ]);
  assert.deepEqual(zero.calls.filter((c) => c.startsWith("readdir")), []);
});

Deno.test("walk() prune() in pre-order leaves a directory unread; in post-order it changes nothing", async () => {
  const log = newLog();
  const lines = await collect(new FakeClient(tree(), log), "/top", {}, (item) => {
    if (item.kind === "entry" && item.info.name === "sub") item.prune();
  });
  assert.ok(lines.includes("/top/sub 1"));
  assert.ok(!lines.some((l) => l.startsWith("/top/sub/")));
  assert.ok(!log.calls.includes("readdir /top/sub"));
  const post = await collect(
    new FakeClient(tree(), newLog()),
    "/top",
    { order: "post" },
    (item) => {
      if (item.kind === "entry") item.prune();
    },
  );
  assert.equal(post.length, 8);
});

Deno.test("walk() descend() false keeps a directory unread in either order", async () => {
  for (const order of ["pre", "post"] as const) {
    const log = newLog();
    const lines = await collect(new FakeClient(tree(), log), "/top", {
      order,
      descend: (entry) => entry.info.name !== "deep",
    });
    assert.ok(lines.includes("/top/sub/deep 2"), order);
    assert.ok(!lines.includes("/top/sub/deep/c 3"), order);
    assert.ok(!log.calls.includes("readdir /top/sub/deep"), order);
  }
});

Deno.test("walk() a trailing slash follows a symlink at the start; names are joined without doubling it", async () => {
  const log = newLog();
  const lines = await collect(new FakeClient(tree(), log), "/top/link/", { follow: "never" });
  assert.deepEqual(sorted(lines), [
    "/top/link 0",
    "/top/link/b 1",
    "/top/link/deep 1",
    "/top/link/deep/c 2",
  ]);
  // Without the slash, the symlink is the start and is not entered.
  assert.deepEqual(await collect(new FakeClient(tree(), newLog()), "/top/link"), ["/top/link 0"]);
  // The root of the server.
  const root = await collect(new FakeClient(tree(), newLog()), "/", { maxDepth: 1 });
  assert.deepEqual(root, ["/ 0", "/top 1"]);
});

Deno.test("walk() follow 'always' enters symlinked directories and stops at a loop", async () => {
  const root = dir({
    top: dir({
      sub: dir({ f: file("f"), up: symlink("/top") }),
      dangling: symlink("nowhere"),
    }),
  });
  const log = newLog();
  const lines = await collect(new FakeClient(root, log), "/top", { follow: "always" });
  assert.deepEqual(sorted(lines), [
    "! /top/sub/up WalkLoopError",
    "/top 0",
    "/top/dangling 1",
    "/top/sub 1",
    "/top/sub/f 2",
    "/top/sub/up 2",
  ]);
  // A symlink is looked up (followed) only in this mode.
  assert.ok(log.calls.includes("stat /top/sub/up follow"));
  assert.ok(log.calls.includes("stat /top/dangling follow"));
  const never = newLog();
  await collect(new FakeClient(root, never), "/top");
  assert.deepEqual(never.calls.filter((c) => c.startsWith("stat")), ["stat /top"]);
});

Deno.test("walk() follow 'always': a symlink that cannot be looked through for another reason than nothing being there (no permission) is a failure, not a dangling link walked past", async () => {
  const root = dir({
    elsewhere: dir({ x: file("x") }, { attrError: Nfs4Status.NFS4ERR_ACCESS }),
    top: dir({ link: symlink("/elsewhere"), gone: symlink("/nowhere"), f: file("f") }),
  });
  const lines = await collect(new FakeClient(root, newLog()), "/top", { follow: "always" });
  assert.deepEqual(sorted(lines), [
    "! /top/link NFS4ERR_ACCESS",
    "/top 0",
    "/top/f 1",
    "/top/gone 1",
  ]);
});

Deno.test("walk() a directory with the fileid of an ancestor is reported as a loop, not entered", async () => {
  const root = dir({
    top: dir({ again: dir({ x: file("x") }, { fileid: 7n }) }, { fileid: 7n }),
  });
  const items: WalkItem[] = [];
  for await (const item of walk(new FakeClient(root, newLog()), "/top")) items.push(item);
  assert.deepEqual(items.map(describe), ["/top 0", "/top/again 1", "! /top/again WalkLoopError"]);
  const failure = items[2]!;
  assert.ok(failure.kind === "failure" && failure.error instanceof WalkLoopError);
  assert.equal(failure.error.ancestor, "/top");
  assert.match(failure.error.message, /^\/top\/again: File system loop detected/);
});

/** A client whose READDIR of some paths is refused, as for a directory we may not read. */
class RefusingClient extends FakeClient {
  constructor(root: FakeNode, log: CallLog, readonly refused: ReadonlySet<string>) {
    super(root, log);
  }
  override readdir(path: string): AsyncIterable<FileInfo> {
    if (this.refused.has(path)) {
      return (async function* () {
        yield* [];
        throw new NfsError(Nfs4Status.NFS4ERR_ACCESS, "READDIR", { path });
      })();
    }
    return super.readdir(path);
  }
}

Deno.test("walk() an unreadable directory is a failure item and the walk goes on", async () => {
  const client = () => new RefusingClient(tree(), newLog(), new Set(["/top/sub"]));
  const pre = await collect(client(), "/top");
  assert.deepEqual(sorted(pre), [
    "! /top/sub NFS4ERR_ACCESS",
    "/top 0",
    "/top/a 1",
    "/top/empty 1",
    "/top/link 1",
    "/top/sub 1",
  ]);
  // Pre-order: the directory, then why it could not be read.
  assert.equal(pre.indexOf("! /top/sub NFS4ERR_ACCESS"), pre.indexOf("/top/sub 1") + 1);
  const post = await collect(client(), "/top", { order: "post" });
  // Post-order: why it could not be read, then the directory (its own entry).
  assert.equal(post.indexOf("/top/sub 1"), post.indexOf("! /top/sub NFS4ERR_ACCESS") + 1);
  assert.equal(post.at(-1), "/top 0");
});

/** A client whose READDIR of `looping` never ends: its listing comes back to its start. */
class LoopingClient extends FakeClient {
  constructor(root: FakeNode, log: CallLog, readonly looping: string) {
    super(root, log);
  }
  override readdir(path: string): AsyncIterable<FileInfo> {
    if (path !== this.looping) return super.readdir(path);
    const inner = () => super.readdir(path);
    return (async function* () {
      for (;;) yield* inner();
    })();
  }
}

Deno.test("walk() a listing that goes round in a circle is a failure item, in bounded memory", async () => {
  const client = new LoopingClient(tree(), newLog(), "/top/sub");
  const items: WalkItem[] = [];
  for await (const item of walk(client, "/top")) items.push(item);
  assert.deepEqual(sorted(items.map(describe)), [
    "! /top/sub ListingLoopError",
    "/top 0",
    "/top/a 1",
    "/top/empty 1",
    "/top/link 1",
    "/top/sub 1",
  ]);
  const failure = items.find((item) => item.kind === "failure")!;
  assert.ok(failure.kind === "failure" && failure.error instanceof ListingLoopError);
  assert.match(failure.error.message, /^\/top\/sub: the server listed '(b|deep)' twice/);
  await assert.rejects(listDirectory(client, "/top/sub"), ListingLoopError);
  assert.equal((await listDirectory(client, "/top")).length, 4);
});

Deno.test("walk() a missing start rejects the first next() with the client's error", async () => {
  await assert.rejects(
    collect(new FakeClient(tree(), newLog()), "/nope"),
    (err: unknown) => err instanceof NfsError && err.statusName === "NFS4ERR_NOENT",
  );
});

Deno.test("walk() can be left early (find -quit): no READDIR after the break", async () => {
  const log = newLog();
  for await (const item of walk(new FakeClient(tree(), log), "/top")) {
    if (item.kind === "entry" && item.depth === 0) break;
  }
  assert.deepEqual(log.calls, ["stat /top"]);
});
