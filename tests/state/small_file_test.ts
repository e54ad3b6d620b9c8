/**
 * openAndRead() (lib/state/small_file.ts) against the scripted server: a
 * small file in one COMPOUND on NFSv4.1 (OPEN, then READ and CLOSE with the
 * current stateid, RFC 8881 §16.2.3.1.2), two on 4.0 (OPEN, then READ+CLOSE,
 * RFC 7530 §9.1.7); what happens when the server refuses the current
 * stateid, when READ fails after the OPEN succeeded (the open is closed),
 * when the file is larger than one READ (opened again, its change attribute
 * compared), and that the open goes through the manager's bookkeeping and
 * nothing stays open on the server.
 */

import assert from "node:assert/strict";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { closeFile } from "../../lib/state/files.ts";
import { openAndRead, type SmallRead } from "../../lib/state/small_file.ts";
import { filteredSink } from "../../lib/state/trace.ts";
import { type Harness, harness } from "./_harness.ts";

const text = (data: Uint8Array) => new TextDecoder().decode(data);

function small(h: Harness, name = "file", count = 65536): Promise<SmallRead> {
  return h.vfs().then((dirFh) => openAndRead(h.m, { dirFh, name, path: `/vfs/${name}`, count }));
}

/** Nothing open, on the server or in the manager. */
function assertClean(h: Harness, ...paths: string[]): void {
  for (const path of paths) {
    assert.deepEqual(h.server.opensOf(path), [], `${path} open on the server`);
  }
  assert.equal(h.m.opens.size, 0, "opens left in the manager");
}

Deno.test("openAndRead() 4.1: a small file in one COMPOUND, OPEN to CLOSE with the current stateid (RFC 8881 §16.2.3.1.2)", async () => {
  await using h = await harness(1);
  await h.vfs();
  h.mark();
  const got = await small(h);
  assert.equal(text(got.data), "hello, world\n");
  assert.equal(got.eof, true);
  assert.equal(got.state, undefined);
  assert.deepEqual(h.ops(), ["SEQUENCE,PUTFH,OPEN,GETFH,GETATTR,READ,CLOSE"]);
  // Recorded and forgotten as any OPEN and CLOSE.
  assert.deepEqual(h.events(["open"]), ["OPEN", "CLOSE"]);
  assertClean(h, "/vfs/file");
  // A second file reuses the owner: one more COMPOUND, no new owner.
  h.mark();
  assert.equal(text((await small(h, "other")).data), "other file contents\n");
  assert.deepEqual(h.ops(), ["SEQUENCE,PUTFH,OPEN,GETFH,GETATTR,READ,CLOSE"]);
  assert.deepEqual(h.events(["owner"]), []);
  assertClean(h, "/vfs/other");
});

Deno.test("openAndRead() 4.1: a server that refuses the current stateid gets separate COMPOUNDs for the rest of the session, said once", async () => {
  await using h = await harness(1, { currentStateid: false });
  await h.vfs();
  h.mark();
  const first = await small(h);
  assert.equal(text(first.data), "hello, world\n");
  assert.equal(first.eof, true);
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,OPEN,GETFH,GETATTR,READ,CLOSE -> NFS4ERR_BAD_STATEID",
    // The open exists: READ with its own stateid, then CLOSE.
    "SEQUENCE,PUTFH,READ,CLOSE",
  ]);
  assert.equal(h.events(["open"]).filter((e) => e === "current stateid refused").length, 1);
  assertClean(h, "/vfs/file");
  h.mark();
  assert.equal(text((await small(h, "other")).data), "other file contents\n");
  assert.deepEqual(h.ops(), ["SEQUENCE,PUTFH,OPEN,GETFH,GETATTR", "SEQUENCE,PUTFH,READ,CLOSE"]);
  assert.ok(!h.events(["open"]).includes("current stateid refused"));
  assertClean(h, "/vfs/other");
});

for (const minor of [0, 1] as const) {
  Deno.test(`openAndRead() 4.${minor}: READ failing after the OPEN succeeded: the open is CLOSEd, the error names the path`, async () => {
    await using h = await harness(minor);
    await h.vfs();
    if (minor === 1) {
      // Once, in the one COMPOUND: the READ is done again on its own (with
      // its CLOSE) and succeeds.
      h.server.failNext("READ", S.NFS4ERR_IO);
      h.mark();
      const got = await small(h);
      assert.equal(text(got.data), "hello, world\n");
      assertClean(h, "/vfs/file");
      assert.ok(h.ops().at(-1)!.endsWith("PUTFH,READ,CLOSE"), h.ops().join("\n"));
    }
    // Every time: the error stands, and the open is closed (the CLOSE after
    // the failed READ never ran: a COMPOUND stops at its first failure).
    h.server.failNext("READ", S.NFS4ERR_IO, { times: 2 });
    h.mark();
    await assert.rejects(
      small(h),
      (e) => e instanceof NfsError && e.status === S.NFS4ERR_IO && e.path === "/vfs/file",
    );
    assert.ok(h.ops().at(-1)!.endsWith("PUTFH,CLOSE"), h.ops().join("\n"));
    assertClean(h, "/vfs/file");
  });

  Deno.test(`openAndRead() 4.${minor}: a file larger than one READ is opened again and read on when unchanged`, async () => {
    const big = "x".repeat(5000) + "end\n";
    await using h = await harness(minor, { files: { "/vfs/big": big } });
    await h.vfs();
    h.mark();
    const got = await small(h, "big", 4096);
    assert.equal(got.eof, false);
    assert.ok(got.state, "the file is open to read on");
    // 4.1: what was read stands (same fileid and change); 4.0 knew the
    // size from the OPEN and read nothing yet.
    assert.equal(got.data.length, minor === 1 ? 4096 : 0);
    const rest = await h.read(got.state, BigInt(got.data.length), 8192);
    assert.equal(text(got.data) + text(rest.data), big);
    await closeFile(h.m, got.state);
    assertClean(h, "/vfs/big");
    assert.deepEqual(
      h.ops().filter((o) => o.includes("OPEN,")),
      minor === 1
        ? ["SEQUENCE,PUTFH,OPEN,GETFH,GETATTR,READ,CLOSE", "SEQUENCE,PUTFH,OPEN,GETFH,GETATTR"]
        : ["PUTFH,OPEN,GETFH,GETATTR"],
    );
  });
}

Deno.test("openAndRead() 4.1: a file changed between the first READ and the new OPEN is read from byte 0", async () => {
  await using h = await harness(1, { files: { "/vfs/big": "a".repeat(6000) } });
  await h.vfs();
  // The file is rewritten (its change attribute moves) just before the second OPEN.
  h.server.intercept("OPEN", (_args, server) => {
    const node = server.file("/vfs/big")!;
    node.data = new TextEncoder().encode("b".repeat(7000));
    node.change++;
  }, { after: 1 });
  const got = await small(h, "big", 4096);
  assert.equal(got.data.length, 0, "the first bytes were dropped");
  assert.ok(got.state);
  const all = await h.read(got.state, 0n, 8192);
  assert.equal(text(all.data), "b".repeat(7000));
  await closeFile(h.m, got.state);
  assertClean(h, "/vfs/big");
  assert.ok(h.events(["open"]).includes("OPEN again (larger than one READ)"));
});

Deno.test("openAndRead() 4.0: OPEN (with OPEN_CONFIRM for a new owner, RFC 7530 §16.18) then READ+CLOSE; the seqid advances once per CLOSE", async () => {
  await using h = await harness(0);
  await h.vfs();
  h.mark();
  assert.equal(text((await small(h)).data), "hello, world\n");
  assert.equal(text((await small(h, "other")).data), "other file contents\n");
  assert.deepEqual(h.ops(), [
    "PUTFH,OPEN,GETFH,GETATTR",
    "PUTFH,OPEN_CONFIRM",
    "PUTFH,READ,CLOSE",
    "PUTFH,OPEN,GETFH,GETATTR",
    "PUTFH,READ,CLOSE",
  ]);
  assertClean(h, "/vfs/file", "/vfs/other");
  // OPEN, OPEN_CONFIRM, CLOSE, OPEN, CLOSE: the next seqid is 5.
  const opens = h.entries().filter((e) => e.ops.includes("OPEN"));
  assert.equal((opens[1]!.args[1] as { seqid: number }).seqid, 3);
});

Deno.test("openAndRead() 4.1: a missing file or a directory opens nothing and is the OPEN's error", async () => {
  await using h = await harness(1, { files: { "/vfs/file": "x", "/vfs/dir/inner": "y" } });
  await h.vfs();
  await assert.rejects(
    small(h, "missing"),
    (e) => e instanceof NfsError && e.status === S.NFS4ERR_NOENT && e.path === "/vfs/missing",
  );
  await assert.rejects(small(h, "dir"), (e) => e instanceof NfsError && e.op === "OPEN");
  assertClean(h);
});

Deno.test("openAndRead() 4.1: NFS4ERR_REP_TOO_BIG_TO_CACHE on the READ (RFC 8881 §15.1.10.7): this file READ again on its own, later ones ask for half", async () => {
  await using h = await harness(1);
  await h.vfs();
  h.server.failNext("READ", S.NFS4ERR_REP_TOO_BIG_TO_CACHE);
  h.mark();
  assert.equal(text((await small(h)).data), "hello, world\n");
  assert.equal(text((await small(h, "other")).data), "other file contents\n");
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,OPEN,GETFH,GETATTR,READ,CLOSE -> NFS4ERR_REP_TOO_BIG_TO_CACHE",
    "SEQUENCE,PUTFH,READ,CLOSE",
    "SEQUENCE,PUTFH,OPEN,GETFH,GETATTR,READ,CLOSE",
  ]);
  const counts = h.entries().filter((e) => e.ops.length === 7)
    .map((e) => (e.args[5] as { count: number }).count);
  assert.deepEqual(counts, [counts[0], Math.floor(counts[0]! / 2)]);
  assertClean(h, "/vfs/file", "/vfs/other");
});

Deno.test("openAndRead() 4.1, current stateid refused: a READ+CLOSE answered NFS4ERR_REP_TOO_BIG_TO_CACHE leaves the file open to be read the usual way", async () => {
  await using h = await harness(1, { currentStateid: false });
  await h.vfs();
  // The one-COMPOUND READ is refused for its stateid before it runs; the
  // fault meets the READ of the READ+CLOSE that follows.
  h.server.failNext("READ", S.NFS4ERR_REP_TOO_BIG_TO_CACHE);
  h.mark();
  const got = await small(h);
  assert.equal(got.data.length, 0);
  assert.equal(got.eof, false);
  assert.ok(got.state);
  assert.equal(text((await h.read(got.state)).data), "hello, world\n");
  await closeFile(h.m, got.state);
  assertClean(h, "/vfs/file");
  assert.ok(h.events(["open"]).includes("reply too big to cache"));
});

Deno.test("openAndRead() 4.1: files asked for together share a COMPOUND; one that fails stops it there, those after it go on their own", async () => {
  await using h = await harness(1, {
    files: { "/vfs/a": "A\n", "/vfs/c": "C\n", "/vfs/d": "D\n" },
  });
  await h.vfs();
  h.mark();
  const shape = "PUTFH,OPEN,GETFH,GETATTR,READ,CLOSE";
  const got = await Promise.allSettled(["a", "missing", "c"].map((name) => small(h, name)));
  const value = (r: PromiseSettledResult<SmallRead> | undefined) =>
    r?.status === "fulfilled" ? text(r.value.data) : `rejected: ${r?.reason}`;
  assert.equal(value(got[0]), "A\n");
  assert.ok(got[1]!.status === "rejected");
  const missing = (got[1] as PromiseRejectedResult).reason;
  assert.ok(missing instanceof NfsError && missing.status === S.NFS4ERR_NOENT, String(missing));
  assert.equal(missing.path, "/vfs/missing");
  assert.equal(value(got[2]), "C\n");
  // Each file's data is its own, not a view of the shared reply: a consumer
  // hands a pooled reply buffer back once it has written a file's data
  // (lib/rpc/socket_buffers.ts), which must not reach another file's bytes.
  const [a, c] = [got[0], got[2]].map((r) => (r as PromiseFulfilledResult<SmallRead>).value.data);
  assert.notEqual(a!.buffer, c!.buffer);
  assert.equal(a!.byteOffset, 0);
  assert.equal(a!.buffer.byteLength, a!.length);
  assert.deepEqual(h.ops(), [
    `SEQUENCE,${shape},${shape},${shape} -> NFS4ERR_NOENT`,
    `SEQUENCE,${shape}`,
  ]);
  assertClean(h, "/vfs/a", "/vfs/c");
  // A READ failing in the middle file: the first is done, the middle one's
  // open is closed and its error reported, the last goes on its own.
  h.server.failNext("READ", S.NFS4ERR_IO, { after: 1, times: 2 });
  h.mark();
  const second = await Promise.allSettled(["a", "c", "d"].map((name) => small(h, name)));
  assert.deepEqual(second.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
  assert.equal((second[2] as PromiseFulfilledResult<SmallRead>).value.data.length, 2);
  assert.deepEqual(h.ops(), [
    `SEQUENCE,${shape},${shape},${shape} -> NFS4ERR_IO`,
    // The middle file's READ on its own (with its CLOSE) fails again: CLOSE alone.
    "SEQUENCE,PUTFH,READ,CLOSE -> NFS4ERR_IO",
    "SEQUENCE,PUTFH,CLOSE",
    `SEQUENCE,${shape}`,
  ]);
  const error = (second[1] as PromiseRejectedResult).reason;
  assert.ok(error instanceof NfsError && error.status === S.NFS4ERR_IO && error.path === "/vfs/c");
  assertClean(h, "/vfs/a", "/vfs/c", "/vfs/d");
});

Deno.test("trace: several small files in one COMPOUND are told as one group and its count; the JSON keeps every op", async () => {
  await using h = await harness(1, { files: { "/vfs/a": "A", "/vfs/b": "B", "/vfs/c": "C" } });
  await h.vfs();
  const lines: string[] = [];
  const all: unknown[] = [];
  h.m.tracer.subscribe(filteredSink((e) => {
    lines.push(e.event);
    all.push(e.data);
  }, { categories: ["ops"] }));
  await Promise.all(["a", "b", "c"].map((name) => small(h, name)));
  const line = lines.find((l) => l.includes("OPEN"))!;
  assert.match(
    line,
    / {2}SEQUENCE ok, 3 x \(PUTFH ok, OPEN ok, GETFH ok, GETATTR ok, READ ok, CLOSE ok\)$/,
  );
  const data = all.find((d) => JSON.stringify(d).includes("OPEN")) as { ops: unknown[] };
  assert.equal(data.ops.length, 19);
});

Deno.test("openAndRead() 4.1: NFS4ERR_DELAY on a later file's OPEN, after an earlier one opened, is waited out for that file alone", async () => {
  await using h = await harness(1, { files: { "/vfs/a": "A", "/vfs/b": "B" } });
  await h.vfs();
  h.server.failNext("OPEN", S.NFS4ERR_DELAY, { after: 1 });
  h.mark();
  const got = await h.drive(Promise.all(["a", "b"].map((name) => small(h, name))));
  assert.deepEqual(got.map((r) => text(r.data)), ["A", "B"]);
  const shape = "PUTFH,OPEN,GETFH,GETATTR,READ,CLOSE";
  assert.deepEqual(h.ops(), [
    `SEQUENCE,${shape},${shape} -> NFS4ERR_DELAY`,
    `SEQUENCE,${shape}`,
  ]);
  assertClean(h, "/vfs/a", "/vfs/b");
});

Deno.test("openAndRead() 4.0: a lost READ+CLOSE reply whose resend meets the closed state (its READ runs again first): CLOSE is answered from the replay cache, then a new OPEN (RFC 7530 §9.1.9)", async () => {
  await using h = await harness(0);
  await h.vfs();
  await small(h, "other"); // the owner is confirmed
  h.mark();
  h.channel.dropReplies("CLOSE");
  const got = await h.drive(small(h), 50);
  assert.deepEqual(h.ops(), [
    "PUTFH,OPEN,GETFH,GETATTR",
    // Its reply lost; the resend's READ meets the state the first run closed.
    "PUTFH,READ,CLOSE",
    "PUTFH,READ,CLOSE -> NFS4ERR_BAD_STATEID",
    "PUTFH,CLOSE",
    "PUTFH,OPEN,GETFH,GETATTR",
  ]);
  // The owner's seqid is in step with the server's: the new OPEN succeeded.
  assert.equal(got.data.length, 0);
  assert.ok(got.state);
  assert.equal(await h.readText(got.state), "hello, world\n");
  await closeFile(h.m, got.state);
  assertClean(h, "/vfs/file");
});

Deno.test("openAndRead() 4.0: after a resent READ+CLOSE meets the closed state, its CLOSE is settled before another OPEN of the owner takes the seqid (RFC 7530 §9.1.9)", async () => {
  await using h = await harness(0);
  await h.vfs();
  await small(h, "other"); // the owner is confirmed
  h.mark();
  h.channel.dropReplies("CLOSE");
  // The second file's OPEN waits for the owner while the first's READ+CLOSE
  // is resent; the CLOSE that settles the first must come before it, or the
  // server, whose last seqid that CLOSE already took, refuses the OPEN (and
  // every CLOSE of the owner after it: opens left until the lease ends).
  const [first, second] = await h.drive(Promise.all([small(h), small(h, "other")]), 50);
  const ops = h.ops();
  const refused = ops.indexOf("PUTFH,READ,CLOSE -> NFS4ERR_BAD_STATEID");
  assert.ok(refused >= 0, ops.join("\n"));
  assert.equal(ops[refused + 1], "PUTFH,CLOSE", ops.join("\n"));
  assert.ok(!ops.some((o) => o.includes("BAD_SEQID")), ops.join("\n"));
  for (const got of [first, second]) {
    if (got.state) await closeFile(h.m, got.state);
  }
  assertClean(h, "/vfs/file", "/vfs/other");
});

Deno.test("openAndRead() 4.1: a lost one-COMPOUND reply is resent on its slot and sequence id and answered from the reply cache: one OPEN, one CLOSE (RFC 8881 §2.10.6.1)", async () => {
  await using h = await harness(1);
  await h.vfs();
  h.mark();
  h.channel.dropReplies("CLOSE");
  const got = await h.drive(small(h), 50);
  assert.equal(text(got.data), "hello, world\n");
  const entries = h.entries();
  assert.deepEqual(entries.map((e) => e.ops.join(",")), [
    "SEQUENCE,PUTFH,OPEN,GETFH,GETATTR,READ,CLOSE",
    "SEQUENCE,PUTFH,OPEN,GETFH,GETATTR,READ,CLOSE",
  ]);
  assert.equal(entries[1]!.replay, true);
  assert.deepEqual([entries[1]!.slotid, entries[1]!.sequenceid], [
    entries[0]!.slotid,
    entries[0]!.sequenceid,
  ]);
  assertClean(h, "/vfs/file");
});
