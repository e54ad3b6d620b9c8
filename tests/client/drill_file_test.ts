/**
 * lib/client/drill_file.ts: which file a reboot drill may write to, and
 * what happens to it at the end, against an in-memory stand-in for the
 * client (no server): the rule, GUARDED4 creation, a name already taken,
 * a file that grew between LOOKUP and OPEN, and the fallbacks at the end.
 */

import assert from "node:assert/strict";
import type { Nfs4ClientApi, OpenOptions, WritableFile } from "../../lib/client/api.ts";
import {
  cleanUpDrillFile,
  DRILL_BYTES_WRITTEN,
  DRILL_MARKER_BYTES,
  drillFileName,
  DrillFileRefusedError,
  drillMarker,
  endDrillFile,
  openDrillFile,
} from "../../lib/client/drill_file.ts";
import { NfsError } from "../../lib/client/errors.ts";
import type { FileInfo } from "../../lib/client/types.ts";
import { parseNfsUrl } from "../../lib/client/url.ts";
import { Nfs4Status } from "../../lib/nfs4/status.ts";

type Node = { kind: "directory" } | { kind: "file"; size: bigint; data?: Uint8Array };

/** A flat map of paths to nodes; records what was asked of it. */
class StubClient {
  readonly nodes = new Map<string, Node>([["/vfs", { kind: "directory" }]]);
  readonly calls: string[] = [];
  /** Names taken by someone else just before our OPEN (each answered NFS4ERR_EXIST once). */
  readonly raced = new Set<string>();
  /** Size the file has grown to by the time of the OPEN. */
  grownTo: bigint | undefined;
  /** The next SETATTR through an open fails (its state was lost). */
  setattrFails = false;
  /** The next READ through an open fails (its state was lost). */
  readFails = false;

  stat(path: string): Promise<FileInfo> {
    this.calls.push(`stat ${path}`);
    const node = this.nodes.get(path);
    if (!node) return Promise.reject(new NfsError(Nfs4Status.NFS4ERR_NOENT, "LOOKUP", { path }));
    return Promise.resolve({
      name: path.split("/").at(-1)!,
      path,
      kind: node.kind,
      size: node.kind === "file" ? node.size : 4096n,
    } as FileInfo);
  }

  open(path: string, options: OpenOptions): Promise<WritableFile> {
    this.calls.push(`open ${path} ${options.create ?? "-"}${options.truncate ? " truncate" : ""}`);
    let node = this.nodes.get(path);
    if (this.raced.delete(path)) {
      this.nodes.set(path, { kind: "file", size: 5n });
      return Promise.reject(new NfsError(Nfs4Status.NFS4ERR_EXIST, "OPEN", { path }));
    }
    if (node && options.create === "guarded") {
      return Promise.reject(new NfsError(Nfs4Status.NFS4ERR_EXIST, "OPEN", { path }));
    }
    if (!node) {
      if (!options.create) {
        return Promise.reject(new NfsError(Nfs4Status.NFS4ERR_NOENT, "OPEN", { path }));
      }
      node = { kind: "file", size: 0n };
      this.nodes.set(path, node);
    }
    if (node.kind !== "file") {
      return Promise.reject(new NfsError(Nfs4Status.NFS4ERR_ISDIR, "OPEN", { path }));
    }
    if (this.grownTo !== undefined) node.size = this.grownTo;
    if (options.truncate) node.size = 0n;
    const file = node;
    const calls = this.calls;
    const readFails = () => {
      const fails = this.readFails;
      this.readFails = false;
      return fails;
    };
    const setattrFails = () => {
      const fails = this.setattrFails;
      this.setattrFails = false;
      return fails;
    };
    return Promise.resolve({
      path,
      size: file.size,
      read(offset: bigint, count: number) {
        calls.push(`read ${path} ${offset} ${count}`);
        if (readFails()) return Promise.reject(new Error("state lost"));
        const end = offset + BigInt(count) > file.size ? file.size : offset + BigInt(count);
        const out = new Uint8Array(Number(end > offset ? end - offset : 0n));
        if (file.data) out.set(file.data.subarray(Number(offset), Number(end)));
        return Promise.resolve({ data: out, eof: end >= file.size });
      },
      setattr(attrs: { size?: bigint }) {
        calls.push(`setattr ${path} size ${attrs.size}`);
        if (setattrFails()) return Promise.reject(new Error("state lost"));
        if (attrs.size !== undefined) file.size = attrs.size;
        return Promise.resolve();
      },
      close() {
        calls.push(`close ${path}`);
        return Promise.resolve();
      },
    } as unknown as WritableFile);
  }

  remove(path: string): Promise<void> {
    this.calls.push(`remove ${path}`);
    this.nodes.delete(path);
    return Promise.resolve();
  }
}

/** What the drill writes into an empty file with the default range: its markers at 0. */
const WRITTEN = { from: 0n, to: 73n };

function stub(): StubClient & Nfs4ClientApi {
  return new StubClient() as unknown as StubClient & Nfs4ClientApi;
}

Deno.test("drillFileName() is .nfs4-drill- and six random letters and digits", () => {
  const names = new Set(Array.from({ length: 200 }, () => drillFileName()));
  for (const name of names) assert.match(name, /^\.nfs4-drill-[A-Za-z0-9]{6}$/);
  assert.ok(names.size > 190, "random");
});

Deno.test("drillMarker() lengths add up to DRILL_BYTES_WRITTEN", () => {
  assert.match(
    new TextDecoder().decode(drillMarker("before")),
    /^nfs4 simulate-reboot [0-9a-f]{8} before\n$/,
  );
  assert.equal(drillMarker("before").length, DRILL_MARKER_BYTES.before);
  assert.equal(drillMarker("after").length, DRILL_MARKER_BYTES.after);
  assert.equal(DRILL_BYTES_WRITTEN, 73);
});

Deno.test("openDrillFile() on a directory creates a file of its own with GUARDED4, removed at the end", async () => {
  const client = stub();
  const target = await openDrillFile(client, parseNfsUrl("nfs://h/vfs/"), { force: false });
  assert.equal(target.origin, "directory");
  assert.equal(target.created, true);
  assert.match(target.path, /^\/vfs\/\.nfs4-drill-[A-Za-z0-9]{6}$/);
  assert.equal(target.url.text, `nfs://h/vfs/${target.path.slice(5)}`);
  assert.deepEqual(client.calls, ["stat /vfs", `open ${target.path} guarded`]);
  assert.equal(
    await endDrillFile(client, target, { file: target.file, written: WRITTEN }),
    "removed",
  );
  assert.deepEqual(client.calls.slice(2), [`close ${target.path}`, `remove ${target.path}`]);
  assert.equal(client.nodes.has(target.path), false);
});

Deno.test("openDrillFile() takes another name when one is taken (NFS4ERR_EXIST), never the taken file", async () => {
  const client = stub();
  const taken: string[] = [];
  const open = client.open.bind(client);
  client.open = (path, options) => {
    if (taken.length < 2) {
      taken.push(path);
      client.raced.add(path);
    }
    return open(path, options);
  };
  const target = await openDrillFile(client, parseNfsUrl("nfs://h/vfs"), { force: false });
  assert.equal(taken.length, 2);
  assert.ok(!taken.includes(target.path));
  assert.equal(
    await endDrillFile(client, target, { file: target.file, written: WRITTEN }),
    "removed",
  );
  for (const path of taken) assert.ok(client.nodes.has(path), `${path} left alone`);
});

Deno.test("openDrillFile() creates a missing file with GUARDED4; a URL ending in / must be a directory", async () => {
  const client = stub();
  const target = await openDrillFile(client, parseNfsUrl("nfs://h/vfs/new"), { force: false });
  assert.deepEqual([target.origin, target.created], ["new", true]);
  assert.deepEqual(client.calls, ["stat /vfs/new", "open /vfs/new guarded"]);
  assert.equal(
    await endDrillFile(client, target, { file: target.file, written: undefined }),
    "removed",
  );

  await assert.rejects(
    openDrillFile(client, parseNfsUrl("nfs://h/vfs/missing/"), { force: false }),
    { statusName: "NFS4ERR_NOENT" },
  );
  client.nodes.set("/vfs/f", { kind: "file", size: 0n });
  await assert.rejects(
    openDrillFile(client, parseNfsUrl("nfs://h/vfs/f/"), { force: false }),
    { statusName: "NFS4ERR_NOTDIR" },
  );
  assert.ok(!client.calls.some((c) => c.startsWith("open /vfs/f")), "nothing opened");
});

Deno.test("openDrillFile() refuses an existing non-empty file without force, and opens nothing for long", async () => {
  const client = stub();
  client.nodes.set("/vfs/data", { kind: "file", size: 10n });
  const url = parseNfsUrl("nfs://h/vfs/data");
  await assert.rejects(openDrillFile(client, url, { force: false }), (e) => {
    assert.ok(e instanceof DrillFileRefusedError);
    assert.equal(e.url, url);
    assert.equal(e.size, 10n);
    return true;
  });
  assert.deepEqual(client.calls, ["stat /vfs/data", "open /vfs/data -", "close /vfs/data"]);

  // With force: used, and left as it is at the end.
  const target = await openDrillFile(client, url, { force: true });
  assert.deepEqual([target.origin, target.created, target.sizeBefore], ["forced", false, 10n]);
  assert.equal(await endDrillFile(client, target, { file: target.file, written: WRITTEN }), "kept");
  assert.ok(!client.calls.some((c) => /^(remove|setattr)/.test(c)));
  assert.equal(client.nodes.get("/vfs/data")?.kind, "file");
});

Deno.test("openDrillFile() goes by the OPEN's size: a file that grew after the LOOKUP is refused", async () => {
  const client = stub();
  client.nodes.set("/vfs/e", { kind: "file", size: 0n });
  client.grownTo = 3n;
  await assert.rejects(
    openDrillFile(client, parseNfsUrl("nfs://h/vfs/e"), { force: false }),
    DrillFileRefusedError,
  );
});

Deno.test("endDrillFile() truncates an existing empty file back, through its open or a new one; never removes it", async () => {
  for (const setattrFails of [false, true]) {
    const client = stub();
    client.nodes.set("/vfs/e", { kind: "file", size: 0n });
    const target = await openDrillFile(client, parseNfsUrl("nfs://h/vfs/e"), { force: false });
    assert.equal(target.origin, "empty");
    (client.nodes.get("/vfs/e") as { size: bigint }).size = 73n; // the markers
    client.setattrFails = setattrFails;
    client.calls.length = 0;
    assert.equal(
      await endDrillFile(client, target, { file: target.file, written: WRITTEN }),
      "truncated",
    );
    assert.equal((client.nodes.get("/vfs/e") as { size: bigint }).size, 0n);
    assert.deepEqual(
      client.calls,
      setattrFails
        ? [
          "stat /vfs/e",
          "setattr /vfs/e size 0",
          "close /vfs/e",
          "open /vfs/e -",
          "stat /vfs/e",
          "setattr /vfs/e size 0",
          "close /vfs/e",
        ]
        : ["stat /vfs/e", "setattr /vfs/e size 0", "close /vfs/e"],
    );
  }
  // Nothing written: nothing to undo.
  const client = stub();
  client.nodes.set("/vfs/e", { kind: "file", size: 0n });
  const target = await openDrillFile(client, parseNfsUrl("nfs://h/vfs/e"), { force: false });
  assert.equal(
    await endDrillFile(client, target, { file: target.file, written: undefined }),
    "kept",
  );
  // Without its open (a new client after the drill's was dropped): a new
  // open, looked at, then truncated (never opened with truncate).
  (client.nodes.get("/vfs/e") as { size: bigint }).size = 73n;
  client.calls.length = 0;
  assert.equal(await endDrillFile(client, target, { written: WRITTEN }), "truncated");
  assert.deepEqual(client.calls, [
    "open /vfs/e -",
    "stat /vfs/e",
    "setattr /vfs/e size 0",
    "close /vfs/e",
  ]);
  assert.equal((client.nodes.get("/vfs/e") as { size: bigint }).size, 0n);
});

Deno.test("endDrillFile() leaves an empty file that holds more than the drill wrote as it is (another writer's bytes)", async () => {
  const written = { from: 4096n, to: 4096n + 73n };
  for (
    const [what, node, reason] of [
      ["grown past the drill's bytes", { kind: "file", size: 9000n }, /^its size is 9000, /],
      [
        "written before the drill's range",
        { kind: "file", size: written.to, data: new Uint8Array(4200).fill(7, 10, 20) },
        /^it holds bytes before the drill's range/,
      ],
    ] as const
  ) {
    for (const own of [true, false]) {
      const client = stub();
      client.nodes.set("/vfs/e", { kind: "file", size: 0n });
      const target = await openDrillFile(client, parseNfsUrl("nfs://h/vfs/e"), { force: false });
      Object.assign(client.nodes.get("/vfs/e")!, node);
      client.calls.length = 0;
      const end = await endDrillFile(client, target, {
        ...(own ? { file: target.file } : {}),
        written,
      });
      assert.equal(typeof end, "object", `${what} (${own ? "its own open" : "a new open"})`);
      assert.match((end as { changed: string }).changed, reason);
      assert.ok(!client.calls.some((c) => c.startsWith("setattr") || c.includes("truncate")));
      assert.notEqual((client.nodes.get("/vfs/e") as { size: bigint }).size, 0n);
    }
  }
  // The drill's own open cannot look (its state lost): a new open does.
  {
    const client = stub();
    client.nodes.set("/vfs/e", { kind: "file", size: 0n });
    const target = await openDrillFile(client, parseNfsUrl("nfs://h/vfs/e"), { force: false });
    Object.assign(client.nodes.get("/vfs/e")!, { size: 83n, data: new Uint8Array(83) });
    client.readFails = true;
    const end = await endDrillFile(client, target, {
      file: target.file,
      written: { from: 10n, to: 83n },
    });
    assert.equal(end, "truncated");
    assert.equal((client.nodes.get("/vfs/e") as { size: bigint }).size, 0n);
  }
  // Only zeros before the drill's range, the size its end: truncated.
  const client = stub();
  client.nodes.set("/vfs/e", { kind: "file", size: 0n });
  const target = await openDrillFile(client, parseNfsUrl("nfs://h/vfs/e"), { force: false });
  Object.assign(client.nodes.get("/vfs/e")!, { size: written.to, data: new Uint8Array(4169) });
  assert.equal(await endDrillFile(client, target, { file: target.file, written }), "truncated");
});

Deno.test("cleanUpDrillFile() uses the drill's own client while it can, else a new one; bounded", async () => {
  // The own client.
  const own = stub();
  const target = await openDrillFile(own, parseNfsUrl("nfs://h/vfs/"), { force: false });
  const never = () => Promise.reject(new Error("no new client wanted"));
  assert.deepEqual(
    await cleanUpDrillFile(target, {
      client: own,
      file: target.file,
      written: WRITTEN,
      timeoutMs: 1000,
      connect: never,
      fallbackTimeoutMs: 1000,
    }),
    { kind: "done", end: "removed" },
  );

  // The own client cannot be used: a new one does it, and is closed.
  const again = stub();
  const second = await openDrillFile(again, parseNfsUrl("nfs://h/vfs/"), { force: false });
  const fresh = stub();
  fresh.nodes.set(second.path, { kind: "file", size: 37n });
  let closed = 0;
  fresh.close = () => Promise.resolve(void closed++);
  const viaNew = await cleanUpDrillFile(second, {
    client: undefined,
    written: WRITTEN,
    timeoutMs: 1000,
    connect: () => Promise.resolve(fresh),
    fallbackTimeoutMs: 1000,
  });
  assert.deepEqual(viaNew, { kind: "done", end: "removed" });
  assert.deepEqual(fresh.calls, [`remove ${second.path}`]);
  assert.equal(closed, 1);

  // A server that never answers: given up after the time allowed; the own client is busy.
  const stuck = stub();
  const third = await openDrillFile(stuck, parseNfsUrl("nfs://h/vfs/"), { force: false });
  stuck.remove = () => new Promise(() => {});
  const started = performance.now();
  const timedOut = await cleanUpDrillFile(third, {
    client: stuck,
    file: third.file,
    written: WRITTEN,
    timeoutMs: 50,
    connect: never,
    fallbackTimeoutMs: 1000,
  });
  assert.deepEqual(timedOut, { kind: "timeout", ms: 50, busy: true });
  assert.ok(performance.now() - started < 1000);

  // An error is handed back, not thrown.
  const refused = await cleanUpDrillFile(third, {
    client: undefined,
    written: WRITTEN,
    timeoutMs: 1000,
    connect: () => Promise.reject(new Error("connection refused")),
    fallbackTimeoutMs: 1000,
  });
  assert.equal(refused.kind, "failed");
});
