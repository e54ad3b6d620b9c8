/**
 * A copy's small new file made, written, given its attributes and closed in
 * one COMPOUND on NFSv4.1 (lib/state/small_create.ts, Nfs4Client
 * .createWriteCloseIn, lib/client/copy/nfs_create.ts), against the scripted
 * server over TCP: `PUTFH OPEN(EXCLUSIVE4_1) GETFH GETATTR WRITE SETATTR
 * CLOSE` with the current stateid (RFC 8881 §16.2.3.1.2); a COMPOUND that
 * stops after its OPEN (RFC 8881 §16.2.3) goes on with the open; a server
 * that refuses the current stateid gets the two-COMPOUND shape from then on;
 * a copy stopped before its file's data were all there sent nothing. With
 * `placeAs` the same COMPOUND checks the WRITE (VERIFY of the size, RFC 8881
 * §18.31) and takes the final name (`SAVEFH PUTFH LINK REMOVE`, §18.9), each
 * way it can stop finished by NfsSide.renameNoReplace; with an owner to give
 * (cp -p) a SETATTR of owner and group follows the OPEN, its refusal handed
 * to the copy's onRefused.
 */

import assert from "node:assert/strict";
import { type Nfs4Client, SMALL_CREATE_BYTES } from "../../lib/client/client.ts";
import { DirectoryHandles } from "../../lib/client/small_file.ts";
import { NfsSide } from "../../lib/client/copy/nfs_side.ts";
import { DeferredCreateWriter } from "../../lib/client/copy/nfs_create.ts";
import { CopyError, DEFAULT_TUNING, IncompleteCopyError } from "../../lib/client/copy/options.ts";
import { parseNfsUrl } from "../../lib/client/url.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { StableHow } from "../../lib/nfs4/constants.ts";
import type { ScriptedServer, ScriptedServerOptions } from "../state/_scripted.ts";
import type { SettableAttributes } from "../../lib/nfs4/attrs.ts";
import { withScriptedClient } from "./_scripted_client.ts";

const text = (server: ScriptedServer, path: string) =>
  new TextDecoder().decode(server.file(path)?.data);
const bytes = (s: string) => new TextEncoder().encode(s);

/** A scripted server with /vfs/d/x, a client of it (4.1 unless said), and the trace's events. */
function withClient(
  options: ScriptedServerOptions,
  fn: (client: Nfs4Client, server: ScriptedServer, events: string[]) => Promise<void>,
  version: "4.0" | "4.1" = "4.1",
): Promise<void> {
  const files = { "/vfs/d/x": "x", ...options.files };
  return withScriptedClient({ ...options, files }, version, "small-create", fn);
}

/** Nfs4Client.createWriteCloseIn of /vfs/d/`name` (mode 0600), the shape under test. */
function make(
  client: Nfs4Client,
  directories: DirectoryHandles,
  name: string,
  data: Uint8Array,
  settable: SettableAttributes = SETTABLE,
) {
  return client.createWriteCloseIn(`/vfs/d/${name}`, { mode: 0o600, directories }, data, settable);
}

/** The COMPOUNDs the server saw that carried an OPEN, as their op lists. */
function opens(server: ScriptedServer): string[] {
  return server.log.filter((e) => e.ops.includes("OPEN")).map((e) => e.ops.join(" "));
}

const SETTABLE = {
  size: 6n,
  mode: 0o644,
  timeModifySet: "server",
  timeAccessSet: "server",
} as const;

Deno.test("createWriteCloseIn 4.1: one COMPOUND makes, writes, sets and closes the file; nothing stays open", async () => {
  await withClient({ files: { "/vfs/d/x": "x" } }, async (client, server, events) => {
    const directories = new DirectoryHandles();
    // The first asks the directory's maxwrite once (what one WRITE may hold).
    const learn = await make(client, directories, "first", bytes("first\n"));
    assert.ok(learn?.done);
    assert.ok(server.log.some((e) => e.ops.join(" ") === "SEQUENCE PUTFH GETATTR"));
    const before = server.log.length;
    const end = await make(client, directories, "a", bytes("first\n"));
    assert.ok(end?.done, JSON.stringify(end));
    assert.equal(text(server, "/vfs/d/a"), "first\n");
    const sent = server.log.slice(before);
    assert.deepEqual(sent.map((e) => e.ops.join(" ")), [
      "SEQUENCE PUTFH OPEN GETFH GETATTR WRITE SETATTR CLOSE",
    ]);
    // WRITE, SETATTR and CLOSE name the current stateid {seqid 1, other 0}.
    for (const at of [5, 6, 7]) {
      const { stateid } = sent[0]!.args[at] as { stateid: { seqid: number; other: Uint8Array } };
      assert.equal(stateid.seqid, 1);
      assert.ok(stateid.other.every((b) => b === 0));
    }
    assert.equal((sent[0]!.args[6] as { attrs: { mode?: number } }).attrs.mode, 0o644);
    assert.deepEqual(server.opensOf("/vfs/d/a"), []);
    assert.deepEqual(client.describeState().opens, []);
    assert.ok(
      events.some((e) => e.startsWith("CLOSE (/vfs/d/a ") && e.includes("in the OPEN's COMPOUND")),
    );
    // An empty file: no WRITE.
    const empty = await make(client, directories, "empty", new Uint8Array(0), {
      ...SETTABLE,
      size: 0n,
    });
    assert.ok(empty?.done);
    assert.equal(
      server.log.at(-1)!.ops.join(" "),
      "SEQUENCE PUTFH OPEN GETFH GETATTR SETATTR CLOSE",
    );
    assert.equal(server.file("/vfs/d/empty")!.data.length, 0);
    // A name that exists: refused by the exclusive create, named, nothing open.
    await assert.rejects(
      make(client, directories, "x", bytes("new\n")),
      (e) => e instanceof NfsError && e.status === S.NFS4ERR_EXIST && e.path === "/vfs/d/x",
    );
    assert.equal(text(server, "/vfs/d/x"), "x");
    assert.deepEqual(client.describeState().opens, []);
    // More than a small file: not used.
    assert.equal(
      await make(client, directories, "big", new Uint8Array(SMALL_CREATE_BYTES + 1)),
      undefined,
    );
  });
});

Deno.test("createWriteCloseIn 4.0: never used (no current stateid); nothing sent", async () => {
  await withClient({}, async (client, server) => {
    const directories = new DirectoryHandles();
    const before = opens(server).length;
    assert.equal(
      await make(client, directories, "a", bytes("first\n")),
      undefined,
    );
    assert.equal(opens(server).length, before);
  }, "4.0");
});

Deno.test("createWriteCloseIn 4.1: a COMPOUND that stops after its WRITE (SETATTR -> NFS4ERR_DELAY, RFC 8881 §16.2.3) is finished by what did not run, SETATTR+CLOSE; the WRITE is never sent again", async () => {
  await withClient({}, async (client, server, events) => {
    const directories = new DirectoryHandles();
    server.failNext("SETATTR", S.NFS4ERR_DELAY);
    const before = server.log.length;
    const end = await make(client, directories, "a", bytes("first\n"));
    assert.ok(end?.done);
    assert.ok(
      events.some((e) => e.startsWith("SETATTR -> NFS4ERR_DELAY after OPEN in one COMPOUND")),
    );
    const sent = server.log.slice(before).map((e) => e.ops.join(" ")).filter((o) =>
      /OPEN|WRITE|SETATTR|CLOSE/.test(o)
    );
    assert.deepEqual(sent, [
      "SEQUENCE PUTFH OPEN GETFH GETATTR WRITE SETATTR CLOSE",
      "SEQUENCE PUTFH SETATTR CLOSE",
    ]);
    assert.equal(text(server, "/vfs/d/a"), "first\n");
    assert.deepEqual(server.opensOf("/vfs/d/a"), []);
    assert.deepEqual(client.describeState().opens, []);
  });
});

Deno.test("createWriteCloseIn 4.1: a COMPOUND that stops at its WRITE (NFS4ERR_DELAY) hands the open back, recorded as any OPEN; finished on it, the file is whole and closed", async () => {
  await withClient({}, async (client, server, events) => {
    const directories = new DirectoryHandles();
    server.failNext("WRITE", S.NFS4ERR_DELAY);
    const end = await make(client, directories, "a", bytes("first\n"));
    assert.ok(end && !end.done, "handed back open");
    assert.equal(client.describeState().opens.length, 1, "recorded as any OPEN");
    assert.ok(
      events.some((e) => e.startsWith("WRITE -> NFS4ERR_DELAY after OPEN in one COMPOUND")),
    );
    const rest = await end.file.endInOne(bytes("first\n"), SETTABLE);
    assert.ok(rest.done);
    assert.equal(text(server, "/vfs/d/a"), "first\n");
    assert.deepEqual(server.opensOf("/vfs/d/a"), []);
    assert.deepEqual(client.describeState().opens, []);
  });
});

Deno.test("createWriteCloseIn 4.1: a server that refuses the current stateid (WRITE -> NFS4ERR_BAD_STATEID) gets the open back, and the two-COMPOUND shape from then on", async () => {
  await withClient({ currentStateid: false }, async (client, server, events) => {
    const directories = new DirectoryHandles();
    const end = await make(client, directories, "a", bytes("first\n"));
    assert.ok(end && !end.done);
    assert.ok(
      events.some((e) => e.startsWith("current stateid refused (WRITE -> NFS4ERR_BAD_STATEID")),
    );
    await end.file.endInOne(bytes("first\n"), SETTABLE);
    assert.equal(text(server, "/vfs/d/a"), "first\n");
    assert.deepEqual(client.describeState().opens, []);
    const before = server.log.length;
    assert.equal(
      await make(client, directories, "b", bytes("second\n")),
      undefined,
    );
    assert.equal(server.log.length, before, "nothing sent");
  });
});

/** An NfsSide on a scripted server, for the copy engine's writer. */
async function withSide(
  fn: (side: NfsSide, server: ScriptedServer) => Promise<void>,
): Promise<void> {
  await withClient({}, async (client, server) => {
    const url = parseNfsUrl(`nfs://127.0.0.1/vfs/d`);
    const side = new NfsSide(client, url, DEFAULT_TUNING, () => {});
    await fn(side, server);
  });
}

Deno.test("the copy's writer on 4.1 sends nothing before its finish: stopped before it, nothing was made (no temporary to remove)", async () => {
  await withSide(async (side, server) => {
    const before = opens(server).length;
    const writer = await side.create("/vfs/d/.t1");
    assert.ok(writer instanceof DeferredCreateWriter);
    await writer.write(bytes("held\n"));
    assert.equal(await writer.settle!(), "nothing made");
    await writer.abort();
    assert.equal(opens(server).length, before, "no OPEN");
    assert.equal(server.file("/vfs/d/.t1"), undefined);
    // Stopped: nothing is started after it.
    await assert.rejects(writer.finish({ mode: 0o644 }, 5n), /copy aborted/);
    assert.equal(opens(server).length, before);
    // A temporary to replace an existing file is made at once: a directory
    // that refuses it must be known before any data is read.
    const replacing = await side.create("/vfs/d/.t2", { atOnce: true });
    assert.ok(!(replacing instanceof DeferredCreateWriter));
    assert.equal(opens(server).length, before + 1);
    await replacing.abort();
  });
});

Deno.test("the copy's writer on 4.1: a small file in one COMPOUND; a large one, a hole and an owner the ordinary way", async () => {
  await withSide(async (side, server) => {
    const finish = async (path: string, parts: (Uint8Array | number)[], owner?: string) => {
      const writer = await side.create(path);
      if (owner) await writer.chown(owner, undefined);
      let size = 0;
      for (const part of parts) {
        if (typeof part === "number") {
          await writer.hole(part);
          size += part;
        } else {
          await writer.write(part);
          size += part.length;
        }
      }
      await writer.finish({ mode: 0o640 }, BigInt(size));
      assert.equal(await writer.settle!(), "made");
      return writer;
    };
    const shapes = async (fn: () => Promise<unknown>) => {
      const before = server.log.length;
      await fn();
      // The file's own COMPOUNDs (not the directory's walk).
      return server.log.slice(before).map((e) => e.ops.slice(1).join(" ")).filter((ops) =>
        /OPEN|WRITE|CLOSE/.test(ops)
      );
    };
    assert.deepEqual(await shapes(() => finish("/vfs/d/.a", [bytes("a\n")])), [
      "PUTFH OPEN GETFH GETATTR WRITE SETATTR CLOSE",
    ]);
    assert.deepEqual(await shapes(() => finish("/vfs/d/.b", [bytes("b"), bytes("b\n")])), [
      "PUTFH OPEN GETFH GETATTR WRITE SETATTR CLOSE",
    ]);
    assert.equal(text(server, "/vfs/d/.b"), "bb\n");
    // Larger than a small file: OPEN as soon as that is known, then the rest.
    const large = new Uint8Array(SMALL_CREATE_BYTES + 10).fill(7);
    const largeShapes = await shapes(() =>
      finish("/vfs/d/.c", [large.subarray(0, 10), large.subarray(10)])
    );
    assert.equal(largeShapes[0], "PUTFH OPEN GETFH GETATTR");
    assert.deepEqual([...server.file("/vfs/d/.c")!.data], [...large]);
    // A hole, and an owner to give: the ordinary way.
    assert.equal(
      (await shapes(() => finish("/vfs/d/.d", [bytes("d"), 4096])))[0],
      "PUTFH OPEN GETFH GETATTR",
    );
    assert.equal(server.file("/vfs/d/.d")!.data.length, 4097);
    assert.equal(
      (await shapes(() => finish("/vfs/d/.e", [bytes("e")], "0")))[0],
      "PUTFH OPEN GETFH GETATTR",
    );
    for (const name of [".a", ".b", ".c", ".d", ".e"]) {
      assert.deepEqual(server.opensOf(`/vfs/d/${name}`), [], name);
    }
  });
});

/** A DeferredCreate whose one COMPOUND the test settles, and what the writer asked of it. */
function fakeCreate() {
  let settle!: { resolve: (end: unknown) => void; reject: (e: unknown) => void };
  const calls: string[] = [];
  const ordinary = {
    write: (data: Uint8Array) => (calls.push(`write ${data.length}`), Promise.resolve()),
    finish: () => (calls.push("finish"), Promise.resolve()),
    abort: () => (calls.push("abort"), Promise.resolve()),
    useSource: () => {},
    state: undefined,
  };
  const create = {
    path: "nfs://srv/vfs/d/.t",
    limit: 1024,
    chunkSize: 1 << 20,
    create: () => (calls.push("create"), Promise.resolve(ordinary)),
    createInOne: () => {
      calls.push("createInOne");
      return new Promise((resolve, reject) => settle = { resolve, reject });
    },
    writerFor: () => (calls.push("writerFor"), ordinary),
  } as unknown as ConstructorParameters<typeof DeferredCreateWriter>[0];
  return { create, calls, settle: () => settle };
}

Deno.test("DeferredCreateWriter: settle() while its one COMPOUND is in flight waits for it; the held chunks are handed back once each, after the reply", async () => {
  const { create, calls, settle } = fakeCreate();
  const writer = new DeferredCreateWriter(create);
  const released: number[] = [];
  await writer.write(bytes("ab"), () => released.push(1));
  await writer.write(bytes("cd"), () => released.push(2));
  const finishing = writer.finish({ mode: 0o644 }, 4n);
  let settled: string | undefined;
  const settling = writer.settle().then((s) => settled = s);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(settled, undefined, "waits for the COMPOUND in flight");
  assert.deepEqual(released, [], "kept while the WRITE may go out");
  settle().resolve({
    done: true,
    fh: new Uint8Array(1),
    parentFh: new Uint8Array(1),
    write: { count: 4, committed: 2, writeverf: new Uint8Array(8) },
  });
  await finishing;
  await settling;
  assert.equal(settled, "made");
  await writer.abort();
  assert.deepEqual(released, [1, 2], "each once");
  assert.deepEqual(calls, ["createInOne"]);
});

Deno.test("DeferredCreateWriter: stopped while its one COMPOUND could not be used, it opens nothing ordinary: nothing made", async () => {
  const { create, calls, settle } = fakeCreate();
  const writer = new DeferredCreateWriter(create);
  await writer.write(bytes("ab"));
  const finishing = writer.finish({ mode: 0o644 }, 2n);
  const settling = writer.settle();
  settle().resolve(undefined); // not used: nothing sent
  await assert.rejects(finishing, /copy aborted/);
  assert.equal(await settling, "nothing made");
  await writer.abort();
  assert.deepEqual(calls, ["createInOne"], "no ordinary OPEN after the stop");
});

Deno.test("DeferredCreateWriter: a COMPOUND that got no reply (a deadline) may have made the file, and its data stays untouched", async () => {
  const { create, settle } = fakeCreate();
  const writer = new DeferredCreateWriter(create);
  const released: number[] = [];
  await writer.write(bytes("ab"), () => released.push(1));
  const finishing = writer.finish({ mode: 0o644 }, 2n);
  settle().reject(new Error("ETIMEDOUT"));
  await assert.rejects(finishing, /ETIMEDOUT/);
  assert.equal(await writer.settle(), "made");
  await writer.abort();
  assert.deepEqual(released, [], "never handed back for reuse");
});

Deno.test("DeferredCreateWriter: stopped while its COMPOUND made the file and stopped after the OPEN, the open is only closed: nothing written to it", async () => {
  const { create, calls, settle } = fakeCreate();
  const writer = new DeferredCreateWriter(create);
  await writer.write(bytes("ab"));
  const finishing = writer.finish({ mode: 0o644 }, 2n);
  const settling = writer.settle();
  settle().resolve({ done: false, file: {} });
  await assert.rejects(finishing, /copy aborted/);
  assert.equal(await settling, "made");
  await writer.abort();
  assert.deepEqual(calls, ["createInOne", "writerFor", "abort"]);
});

Deno.test("createWriteCloseIn 4.1: a reply that cannot be read past the OPEN (WRITE says it wrote more than it was sent) fails the file; nothing after the OPEN is sent again, the open is closed", async () => {
  await withClient({ writeOvercount: 5 }, async (client, server) => {
    const directories = new DirectoryHandles();
    await assert.rejects(
      make(client, directories, "a", bytes("first\n")),
      (e: Error) => /more than/.test(e.message),
    );
    const writes = server.log.filter((e) => e.ops.includes("WRITE"));
    assert.equal(writes.length, 1, writes.map((e) => e.ops.join(" ")).join("\n"));
    assert.deepEqual(server.opensOf("/vfs/d/a"), []);
    assert.deepEqual(client.describeState().opens, []);
  });
});

Deno.test("createWriteCloseIn 4.1: an empty file's SETATTR refused the current stateid (NFS4ERR_BAD_STATEID) marks it refused too; the file is ended on its own stateid", async () => {
  await withClient({ currentStateid: false }, async (client, server, events) => {
    const directories = new DirectoryHandles();
    const end = await make(client, directories, "empty", new Uint8Array(0), {
      ...SETTABLE,
      size: 0n,
    });
    assert.ok(end?.done);
    assert.ok(
      events.some((e) => e.startsWith("current stateid refused (SETATTR -> NFS4ERR_BAD_STATEID")),
    );
    assert.deepEqual(server.opensOf("/vfs/d/empty"), []);
    assert.equal(
      await make(client, directories, "b", bytes("b")),
      undefined,
    );
  });
});

/**
 * Through NfsSide as file.ts copies into a directory it made: a writer
 * created with `placeAs`, finished, then renameNoReplace(); the COMPOUNDs
 * the server saw for it, and what renameNoReplace said.
 */
async function placeOne(side: NfsSide, server: ScriptedServer, name: string, data: Uint8Array) {
  const temp = `/vfs/d/.${name}.tmp`;
  const target = `/vfs/d/${name}`;
  const before = server.log.length;
  const writer = await side.create(temp, { placeAs: target });
  await writer.write(data);
  await writer.finish({ mode: 0o640 }, BigInt(data.length));
  const placed = await side.renameNoReplace(temp, target, writer);
  const shapes = server.log.slice(before).map((e) => e.ops.slice(1).join(" "));
  return { placed, shapes, temp, target };
}

const PLACED_IN_ONE =
  "PUTFH OPEN GETFH GETATTR WRITE VERIFY SETATTR CLOSE SAVEFH PUTFH LINK REMOVE";

Deno.test("the copy's writer on 4.1 with placeAs: the file is made, written, checked whole (VERIFY of its size, RFC 8881 §18.31), closed and given its final name (LINK, then REMOVE of the temporary, RFC 8881 §18.9) in one COMPOUND", async () => {
  await withSide(async (side, server) => {
    await placeOne(side, server, "first", bytes("learn\n")); // the directory's maxwrite, once
    const { placed, shapes, temp, target } = await placeOne(side, server, "a", bytes("a\n"));
    assert.equal(placed, true);
    assert.deepEqual(shapes, [PLACED_IN_ONE]);
    assert.equal(text(server, target), "a\n");
    assert.equal(server.file(temp), undefined);
    assert.deepEqual(server.opensOf(target), []);
    // The VERIFY names the size the WRITE was sent.
    const sent = server.log.at(-1)!;
    assert.deepEqual(sent.args[sent.ops.indexOf("VERIFY")], { size: 2n });
  });
});

Deno.test("placeAs: a final name taken before the COMPOUND (LINK -> NFS4ERR_EXIST) is left alone; the temporary goes, renameNoReplace says not placed", async () => {
  await withSide(async (side, server) => {
    await placeOne(side, server, "first", bytes("learn\n"));
    server.addFile("/vfs/d/taken", "theirs\n");
    const { placed, shapes, temp, target } = await placeOne(side, server, "taken", bytes("ours\n"));
    assert.equal(placed, false);
    assert.equal(shapes[0], PLACED_IN_ONE);
    assert.equal(text(server, target), "theirs\n");
    assert.equal(server.file(temp), undefined);
    // No second LINK: the COMPOUND's answer was enough.
    assert.equal(shapes.filter((s) => s.includes("LINK")).length, 1, shapes.join(" | "));
  });
});

Deno.test("placeAs: a REMOVE of the temporary that failed after its LINK (NFS4ERR_DELAY, RFC 8881 §16.2.3) goes again alone; the LINK is never sent again", async () => {
  await withSide(async (side, server) => {
    await placeOne(side, server, "first", bytes("learn\n"));
    server.failNext("REMOVE", S.NFS4ERR_DELAY);
    const { placed, shapes, temp, target } = await placeOne(side, server, "r", bytes("r\n"));
    assert.equal(placed, true);
    assert.equal(shapes[0], PLACED_IN_ONE);
    assert.equal(shapes.filter((s) => s.includes("LINK")).length, 1, shapes.join(" | "));
    assert.ok(shapes.slice(1).some((s) => s.endsWith("REMOVE")), shapes.join(" | "));
    assert.equal(text(server, target), "r\n");
    assert.equal(server.file(temp), undefined);
  });
});

Deno.test("placeAs: a short WRITE (NFS4_OK, RFC 8881 §18.32.3) stops the COMPOUND at its VERIFY (NFS4ERR_NOT_SAME, §18.31): nothing gets the final name before the rest is written on the open it left, from where the WRITE ended; set and closed, the file is placed by its own LINK", async () => {
  await withSide(async (side, server) => {
    await placeOne(side, server, "first", bytes("learn\n"));
    server.writeShort = true;
    server.intercept("WRITE", (_, s) => void (s.writeShort = false), { after: 1 });
    const before = server.log.length;
    const { placed, shapes, temp, target } = await placeOne(side, server, "v", bytes("four"));
    assert.equal(placed, true);
    assert.deepEqual(shapes, [
      PLACED_IN_ONE,
      "PUTFH WRITE",
      "PUTFH SETATTR CLOSE",
      "PUTFH SAVEFH PUTFH LINK REMOVE",
    ]);
    const rest = server.log.slice(before).find((e) => e.ops.join(" ") === "SEQUENCE PUTFH WRITE");
    assert.equal((rest?.args[2] as { offset: bigint }).offset, 2n, "from where the WRITE ended");
    assert.equal(text(server, target), "four");
    assert.equal(server.file(temp), undefined);
    assert.deepEqual(server.opensOf(target), []);
  });
});

Deno.test("placeAs: a short WRITE (RFC 8881 §18.32.3) whose rest writes nothing with NFS4_OK fails the file (as NfsFile.write does), the WRITE never sent again: nothing gets the final name, the open is closed", async () => {
  await withSide(async (side, server) => {
    await placeOne(side, server, "first", bytes("learn\n"));
    // Each WRITE writes half: "fo", then "u", then nothing of "r".
    server.writeShort = true;
    const before = server.log.length;
    await assert.rejects(
      placeOne(side, server, "v", bytes("four")),
      (e) => e instanceof Error && e.message.endsWith("server accepted no data at offset 3"),
    );
    const shapes = server.log.slice(before).map((e) => e.ops.slice(1).join(" "));
    assert.deepEqual(shapes, [PLACED_IN_ONE, "PUTFH WRITE", "PUTFH WRITE", "PUTFH CLOSE"]);
    assert.equal(server.file("/vfs/d/v"), undefined);
    assert.deepEqual(server.opensOf("/vfs/d/.v.tmp"), []);
  });
});

Deno.test("placeAs: a server without VERIFY (NFS4ERR_NOTSUPP) gets the file placed by its own LINK, and no placing in the COMPOUND from then on", async () => {
  await withSide(async (side, server) => {
    await placeOne(side, server, "first", bytes("learn\n"));
    server.failNext("VERIFY", S.NFS4ERR_NOTSUPP);
    const one = await placeOne(side, server, "n1", bytes("n1\n"));
    assert.equal(one.placed, true);
    assert.equal(one.shapes[0], PLACED_IN_ONE);
    assert.equal(text(server, one.target), "n1\n");
    assert.equal(server.file(one.temp), undefined);
    assert.ok(one.shapes.includes("PUTFH SAVEFH PUTFH LINK REMOVE"), one.shapes.join(" | "));
    const two = await placeOne(side, server, "n2", bytes("n2\n"));
    assert.deepEqual(two.shapes, [
      "PUTFH OPEN GETFH GETATTR WRITE SETATTR CLOSE",
      "PUTFH SAVEFH PUTFH LINK REMOVE",
    ]);
    assert.equal(text(server, two.target), "n2\n");
  });
});

Deno.test("placeAs: a file placed before its data were known durable (WRITE answered UNSTABLE4, then the COMMIT's verifier differs: the server restarted) loses its final name again, and the copy fails it", async () => {
  await withSide(async (side, server) => {
    await placeOne(side, server, "first", bytes("learn\n"));
    server.writeCommitted = StableHow.UNSTABLE4;
    // The server "restarts" between the WRITE and the COMMIT: a new write verifier.
    server.intercept("COMMIT", () => {
      server.writeVerifier = crypto.getRandomValues(new Uint8Array(8));
    });
    const before = server.log.length;
    await assert.rejects(
      placeOne(side, server, "u", bytes("u\n")),
      (e) =>
        e instanceof CopyError && !(e instanceof IncompleteCopyError) &&
        e.message.includes("write verifier changed"),
    );
    const shapes = server.log.slice(before).map((e) => e.ops.slice(1).join(" "));
    assert.deepEqual(shapes.slice(0, 3), [
      PLACED_IN_ONE,
      "PUTFH COMMIT",
      // Taken back only while the name is this file (VERIFY of its FILEID).
      "PUTFH LOOKUP VERIFY PUTFH REMOVE",
    ]);
    assert.equal(server.file("/vfs/d/u"), undefined);
    assert.equal(server.file("/vfs/d/.u.tmp"), undefined);
    // No placing after a WRITE answered less than FILE_SYNC4.
    server.writeCommitted = StableHow.FILE_SYNC4;
    const next = await placeOne(side, server, "w", bytes("w\n"));
    assert.deepEqual(next.shapes, [
      "PUTFH OPEN GETFH GETATTR WRITE SETATTR CLOSE",
      "PUTFH SAVEFH PUTFH LINK REMOVE",
    ]);
  });
});

Deno.test("placeAs: a placed file whose COMMIT fails (NFS4ERR_IO) loses its final name again and fails with the COMMIT's status; a name someone replaced meanwhile is left alone; one that cannot be taken back is said to be incomplete", async () => {
  await withSide(async (side, server) => {
    await placeOne(side, server, "first", bytes("learn\n"));
    server.writeCommitted = StableHow.UNSTABLE4;
    server.failNext("COMMIT", S.NFS4ERR_IO);
    await assert.rejects(
      placeOne(side, server, "c", bytes("c\n")),
      (e) => e instanceof NfsError && e.status === S.NFS4ERR_IO && e.op === "COMMIT",
    );
    assert.equal(server.file("/vfs/d/c"), undefined);
  });
  await withSide(async (side, server) => {
    await placeOne(side, server, "first", bytes("learn\n"));
    server.writeCommitted = StableHow.UNSTABLE4;
    // Someone puts another file in the name between the placing and the COMMIT.
    server.intercept("COMMIT", (_args, s) => {
      s.file("/vfs/d")!.children.delete("r");
      s.addFile("/vfs/d/r", "theirs\n");
      s.writeVerifier = crypto.getRandomValues(new Uint8Array(8));
    });
    // The name is no longer this file: nothing of the copy's is there, it
    // only fails (no "destination is incomplete" about someone else's file).
    await assert.rejects(
      placeOne(side, server, "r", bytes("ours\n")),
      (e) =>
        e instanceof CopyError && !(e instanceof IncompleteCopyError) &&
        e.message.includes("write verifier changed"),
    );
    assert.equal(text(server, "/vfs/d/r"), "theirs\n");
  });
  await withSide(async (side, server) => {
    await placeOne(side, server, "first", bytes("learn\n"));
    server.writeCommitted = StableHow.UNSTABLE4;
    // The COMMIT's verifier changed, and the name cannot be taken back (REMOVE refused):
    // the destination is said to be incomplete, by its URL.
    server.intercept("COMMIT", (_args, s) => {
      s.writeVerifier = crypto.getRandomValues(new Uint8Array(8));
    });
    server.failNext("REMOVE", S.NFS4ERR_IO, { after: 1 });
    await assert.rejects(
      placeOne(side, server, "k", bytes("kept\n")),
      (e) => e instanceof IncompleteCopyError && e.destination === "nfs://127.0.0.1/vfs/d/k",
    );
    assert.equal(text(server, "/vfs/d/k"), "kept\n");
  });
});

Deno.test("placeAs: a LINK in the COMPOUND refused as unsupported (NFS4ERR_NOTSUPP: no hard links) is not sent again: the name is checked and RENAMEd, and so for every later file", async () => {
  await withSide(async (side, server) => {
    await placeOne(side, server, "first", bytes("learn\n"));
    server.failNext("LINK", S.NFS4ERR_NOTSUPP);
    const one = await placeOne(side, server, "h1", bytes("h1\n"));
    assert.equal(one.placed, true);
    assert.equal(one.shapes[0], PLACED_IN_ONE);
    assert.equal(one.shapes.filter((s) => s.includes("LINK")).length, 1, one.shapes.join(" | "));
    assert.ok(one.shapes.some((s) => s.includes("RENAME")), one.shapes.join(" | "));
    assert.equal(text(server, one.target), "h1\n");
    assert.equal(server.file(one.temp), undefined);
    const two = await placeOne(side, server, "h2", bytes("h2\n"));
    assert.ok(!two.shapes.some((s) => s.includes("LINK")), two.shapes.join(" | "));
    assert.equal(text(server, two.target), "h2\n");
  });
});

Deno.test("placeAs: a LINK in the COMPOUND that met its name taken when sent again after an unanswered first (NfsError.answeredResend): a name that is this very file is placed; another file is not taken for someone else's, renameNoReplace fails naming the destination", async () => {
  await withSide(async (side, server) => {
    const dir = server.file("/vfs/d")!;
    /** A writer whose one COMPOUND made `fileAt` and met NFS4ERR_EXIST at its resent LINK. */
    const writerFor = async (fileAt: string) => {
      const { create, settle } = fakeCreate();
      const writer = new DeferredCreateWriter(create);
      await writer.write(bytes("x\n"));
      const finishing = writer.finish({ mode: 0o640 }, 2n);
      const error = new NfsError(S.NFS4ERR_EXIST, "LINK", { answeredResend: true });
      settle().resolve({
        done: true,
        fh: server.file(fileAt)!.fh,
        parentFh: dir.fh,
        write: undefined,
        placing: { linked: false, error },
      });
      await finishing;
      return writer;
    };
    // The name is another file (the first run's, or anyone's): fails, naming it.
    server.addFile("/vfs/d/.x.tmp", "x\n");
    await assert.rejects(
      side.renameNoReplace("/vfs/d/.x.tmp", "/vfs/d/x", await writerFor("/vfs/d/.x.tmp")),
      (e) =>
        e instanceof NfsError && e.status === S.NFS4ERR_EXIST && e.answeredResend &&
        e.path === "nfs://127.0.0.1/vfs/d/x",
    );
    assert.equal(text(server, "/vfs/d/x"), "x");
    // The name is this very file: placed, and the temporary (this file too) goes.
    const temp = server.file("/vfs/d/x")!;
    dir.children.set(".y.tmp", temp);
    assert.equal(
      await side.renameNoReplace("/vfs/d/.y.tmp", "/vfs/d/x", await writerFor("/vfs/d/x")),
      true,
    );
    assert.equal(server.file("/vfs/d/.y.tmp"), undefined);
    assert.equal(text(server, "/vfs/d/x"), "x");
  });
});

/** A small new file given an owner (cp -p) through NfsSide; the refusals `onRefused` was handed. */
async function ownedOne(
  side: NfsSide,
  server: ScriptedServer,
  name: string,
  data: Uint8Array,
  mode = 0o4750,
) {
  const refusals: unknown[] = [];
  const before = server.log.length;
  const writer = await side.create(`/vfs/d/${name}`);
  await writer.chown("4242", "777", (error, attrs) => {
    refusals.push(error);
    return Promise.resolve({ ...attrs, mode: 0o750 });
  });
  await writer.write(data);
  await writer.finish({ mode }, BigInt(data.length));
  const sent = server.log.slice(before);
  return { refusals, sent, shapes: sent.map((e) => e.ops.slice(1).join(" ")) };
}

/** The attributes each SETATTR of `entry` carried, in order. */
const setattrsOf = (entry: ScriptedServer["log"][number]) =>
  entry.ops.flatMap((op, i) =>
    op === "SETATTR" ? [(entry.args[i] as { attrs: Record<string, unknown> }).attrs] : []
  );

Deno.test("the copy's writer on 4.1 with an owner to give (cp -p): a SETATTR of owner and group right after the OPEN, before the WRITE and the SETATTR of the mode, in the one COMPOUND", async () => {
  await withSide(async (side, server) => {
    await ownedOne(side, server, "first", bytes("learn\n"));
    const { refusals, sent, shapes } = await ownedOne(side, server, "o", bytes("o\n"));
    assert.deepEqual(shapes, ["PUTFH OPEN GETFH GETATTR SETATTR GETATTR WRITE SETATTR CLOSE"]);
    const [owner, last] = setattrsOf(sent[0]!);
    assert.deepEqual(owner, { owner: "4242", ownerGroup: "777" });
    assert.equal(last!.mode, 0o4750);
    assert.deepEqual(refusals, []);
    assert.equal(text(server, "/vfs/d/o"), "o\n");
    assert.deepEqual(server.opensOf("/vfs/d/o"), []);
  });
});

Deno.test("the copy's writer on 4.1: an owner refused in the one COMPOUND (NFS4ERR_PERM) stops it before the data; the refusal goes to onRefused, whose attributes finish the file on the open", async () => {
  await withSide(async (side, server) => {
    await ownedOne(side, server, "first", bytes("learn\n"));
    server.failNext("SETATTR", S.NFS4ERR_PERM);
    const { refusals, sent, shapes } = await ownedOne(side, server, "p", bytes("p\n"));
    assert.equal(refusals.length, 1);
    assert.ok(
      refusals[0] instanceof NfsError && refusals[0].status === S.NFS4ERR_PERM,
      String(refusals[0]),
    );
    // (The server's log shows each COMPOUND as sent; it stopped at the owner's SETATTR.)
    assert.deepEqual(shapes, [
      "PUTFH OPEN GETFH GETATTR SETATTR GETATTR WRITE SETATTR CLOSE",
      "PUTFH WRITE SETATTR CLOSE",
    ]);
    // The mode onRefused said (no set-id bit), not the one the copy asked first.
    assert.equal(setattrsOf(sent[1]!)[0]!.mode, 0o750);
    assert.equal(text(server, "/vfs/d/p"), "p\n");
    assert.deepEqual(server.opensOf("/vfs/d/p"), []);
  });
});

Deno.test("the copy's writer on 4.1: an owner's SETATTR that met NFS4ERR_DELAY in the one COMPOUND is no refusal: it is given again on the open, then the data", async () => {
  await withSide(async (side, server) => {
    await ownedOne(side, server, "first", bytes("learn\n"));
    server.failNext("SETATTR", S.NFS4ERR_DELAY);
    const { refusals, sent, shapes } = await ownedOne(side, server, "q", bytes("q\n"));
    assert.deepEqual(refusals, []);
    assert.deepEqual(shapes, [
      "PUTFH OPEN GETFH GETATTR SETATTR GETATTR WRITE SETATTR CLOSE",
      "PUTFH SETATTR GETATTR",
      "PUTFH WRITE SETATTR CLOSE",
    ]);
    assert.deepEqual(setattrsOf(sent[1]!)[0], { owner: "4242", ownerGroup: "777" });
    assert.equal(setattrsOf(sent[2]!)[0]!.mode, 0o4750);
    assert.equal(text(server, "/vfs/d/q"), "q\n");
  });
});

Deno.test("the copy's writer on 4.1: a large file with an owner to give sends nothing until it is known large; then OPEN, the owner, the data", async () => {
  await withSide(async (side, server) => {
    const large = new Uint8Array(SMALL_CREATE_BYTES + 10).fill(3);
    const before = server.log.length;
    const writer = await side.create("/vfs/d/big");
    const refusals: unknown[] = [];
    await writer.chown("4242", "777", (error, attrs) => {
      refusals.push(error);
      return Promise.resolve(attrs);
    });
    await writer.write(large.subarray(0, 10));
    assert.equal(server.log.length, before, "nothing sent for a file that may still be small");
    await writer.write(large.subarray(10));
    await writer.finish({ mode: 0o640 }, BigInt(large.length));
    const own = server.log.slice(before).map((e) => e.ops.slice(1).join(" "))
      .filter((ops) => /OPEN|SETATTR|WRITE/.test(ops));
    assert.deepEqual(own.slice(0, 2), ["PUTFH OPEN GETFH GETATTR", "PUTFH SETATTR GETATTR"]);
    assert.deepEqual(refusals, []);
    assert.deepEqual([...server.file("/vfs/d/big")!.data], [...large]);
  });
});

Deno.test("the copy's writer on 4.1: an owner given in the one COMPOUND whose WRITE then met NFS4ERR_DELAY is not given again: the open goes on with the data", async () => {
  await withSide(async (side, server) => {
    await ownedOne(side, server, "first", bytes("learn\n"));
    server.failNext("WRITE", S.NFS4ERR_DELAY);
    const { refusals, shapes } = await ownedOne(side, server, "g", bytes("g\n"));
    assert.deepEqual(refusals, []);
    assert.deepEqual(shapes, [
      "PUTFH OPEN GETFH GETATTR SETATTR GETATTR WRITE SETATTR CLOSE",
      "PUTFH WRITE SETATTR CLOSE",
    ]);
    assert.equal(text(server, "/vfs/d/g"), "g\n");
  });
});

Deno.test("the copy's writer on 4.1: an owner refused NFS4ERR_BADOWNER in the one COMPOUND is a refusal too; one failed NFS4ERR_IO is given again, and a second NFS4ERR_IO fails the file before its data, with no refusal judged", async () => {
  await withSide(async (side, server) => {
    await ownedOne(side, server, "first", bytes("learn\n"));
    server.failNext("SETATTR", S.NFS4ERR_BADOWNER);
    const bad = await ownedOne(side, server, "b", bytes("b\n"));
    assert.equal(bad.refusals.length, 1);
    assert.ok(bad.refusals[0] instanceof NfsError);
    assert.equal((bad.refusals[0] as NfsError).status, S.NFS4ERR_BADOWNER);
    server.failNext("SETATTR", S.NFS4ERR_IO, { times: 2 });
    const before = server.log.length;
    await assert.rejects(
      ownedOne(side, server, "i", bytes("i\n")),
      (e) => e instanceof NfsError && e.status === S.NFS4ERR_IO,
    );
    const shapes = server.log.slice(before).map((e) => e.ops.slice(1).join(" "));
    assert.ok(!shapes.some((ops) => ops === "PUTFH WRITE SETATTR CLOSE"), shapes.join(" | "));
  });
});

Deno.test("the copy's writer on 4.1: a directory that refuses the create (NFS4ERR_ACCESS at the OPEN) fails the file with that status; the owner is never judged refused (no ownership warning), small or large", async () => {
  await withSide(async (side, server) => {
    await ownedOne(side, server, "first", bytes("learn\n"));
    server.failNext("OPEN", S.NFS4ERR_ACCESS);
    let refusals: unknown[] = [];
    await assert.rejects(
      ownedOne(side, server, "a", bytes("a\n")).then((r) => refusals = r.refusals),
      (e) => e instanceof NfsError && e.status === S.NFS4ERR_ACCESS && e.op === "OPEN",
    );
    assert.deepEqual(refusals, []);
    server.failNext("OPEN", S.NFS4ERR_ACCESS);
    const writer = await side.create("/vfs/d/large");
    const judged: unknown[] = [];
    await writer.chown("4242", "777", (error, attrs) => {
      judged.push(error);
      return Promise.resolve(attrs);
    });
    await assert.rejects(
      writer.write(new Uint8Array(SMALL_CREATE_BYTES + 1)),
      (e) => e instanceof NfsError && e.status === S.NFS4ERR_ACCESS,
    );
    assert.deepEqual(judged, []);
  });
});

Deno.test("createWriteCloseIn 4.1: the WRITE size is each directory's file system's (its maxwrite, asked of the directory): a file one export's WRITE holds goes in one COMPOUND, the same file into an export with smaller WRITEs does not", async () => {
  await withClient({
    files: { "/vfs/small/x": "x", "/vfs/d/x": "x" },
    maxwrite: (path) => path.startsWith("/vfs/small") ? 4096n : 1n << 20n,
  }, async (client, server) => {
    const directories = new DirectoryHandles();
    const data = new Uint8Array(6000).fill(5);
    const settable = { ...SETTABLE, size: 6000n };
    const into = (dir: string) =>
      client.createWriteCloseIn(`/vfs/${dir}/f`, { mode: 0o600, directories }, data, settable);
    const first = await into("small");
    assert.equal(first, undefined);
    assert.equal(server.file("/vfs/small/f"), undefined, "nothing sent for it");
    const end = await into("d");
    assert.ok(end?.done);
    assert.equal(server.file("/vfs/d/f")!.data.length, 6000);
    // Asked once per directory.
    const asked = server.log.filter((e) => e.ops.join(" ") === "SEQUENCE PUTFH GETATTR");
    assert.equal(asked.length, 2);
  });
});

Deno.test("placeAs: what ends placing for the client and what does not: VERIFY NFS4ERR_NOT_SAME after a WRITE that wrote it all (a size that lags) and SAVEFH NFS4ERR_NOTSUPP do; a VERIFY that met NFS4ERR_DELAY does not", async () => {
  /** After `fault`, a file placed by its own LINK; then whether the next goes in one COMPOUND. */
  const after = async (fault: (server: ScriptedServer) => void) => {
    let nextInOne = false;
    await withSide(async (side, server) => {
      await placeOne(side, server, "first", bytes("learn\n"));
      fault(server);
      const one = await placeOne(side, server, "one", bytes("one\n"));
      assert.equal(one.placed, true);
      assert.equal(text(server, one.target), "one\n");
      assert.equal(server.file(one.temp), undefined);
      const two = await placeOne(side, server, "two", bytes("two\n"));
      assert.equal(text(server, two.target), "two\n");
      nextInOne = two.shapes[0] === PLACED_IN_ONE;
    });
    return nextInOne;
  };
  assert.equal(await after((s) => s.failNext("VERIFY", S.NFS4ERR_NOT_SAME)), false);
  assert.equal(await after((s) => s.failNext("SAVEFH", S.NFS4ERR_NOTSUPP)), false);
  assert.equal(await after((s) => s.failNext("VERIFY", S.NFS4ERR_DELAY)), true);
});

Deno.test("placeAs: a LINK in the COMPOUND refused NFS4ERR_PERM (Linux on a file system without hard links) is taken as no hard links: checked and RENAMEd, no LINK sent again", async () => {
  await withSide(async (side, server) => {
    await placeOne(side, server, "first", bytes("learn\n"));
    server.failNext("LINK", S.NFS4ERR_PERM);
    const one = await placeOne(side, server, "p1", bytes("p1\n"));
    assert.equal(one.placed, true);
    assert.equal(one.shapes.filter((s) => s.includes("LINK")).length, 1, one.shapes.join(" | "));
    assert.ok(one.shapes.some((s) => s.includes("RENAME")), one.shapes.join(" | "));
    assert.equal(text(server, one.target), "p1\n");
    assert.equal(server.file(one.temp), undefined);
  });
});
