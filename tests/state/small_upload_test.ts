/**
 * writeSetattrClose() (lib/state/small_upload.ts) against the scripted
 * server: a small file's WRITE, SETATTR and CLOSE in one COMPOUND on
 * NFSv4.1 (on 4.0 WRITE and SETATTR, then the CLOSE); what is done when the COMPOUND stops part way
 * (RFC 8881 §16.2.3: the rest goes alone, the COMPOUND is never sent again
 * once its WRITE ran); a lost reply answered from the session's reply
 * cache; a WRITE answered less than FILE_SYNC4 (a COMMIT after the CLOSE).
 */

import assert from "node:assert/strict";
import { Attr } from "../../lib/nfs4/attrs.ts";
import { AttributesNotSetError } from "../../lib/nfs4/attrs_set.ts";
import { ShareAccess, StableHow } from "../../lib/nfs4/constants.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { closeFile } from "../../lib/state/files.ts";
import { writeSetattrClose } from "../../lib/state/small_upload.ts";
import { type Harness, harness } from "./_harness.ts";

const WRITE = ShareAccess.OPEN4_SHARE_ACCESS_WRITE;
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

function content(h: Harness): string {
  return text(h.server.file("/vfs/file")!.data);
}

/** Nothing open, on the server or in the manager. */
function assertClean(h: Harness): void {
  assert.deepEqual(h.server.opensOf("/vfs/file"), [], "open on the server");
  assert.equal(h.m.opens.size, 0, "opens left in the manager");
}

Deno.test("writeSetattrClose() 4.1: WRITE, SETATTR and CLOSE in one COMPOUND (RFC 8881 §16.2.3, §18.32.3: FILE_SYNC4, no COMMIT)", async () => {
  await using h = await harness(1);
  const state = await h.open("file", WRITE);
  h.mark();
  const end = await writeSetattrClose(h.m, state, bytes("abc"), { size: 3n, mode: 0o640 });
  assert.ok(end.done);
  assert.equal(end.write?.count, 3);
  assert.equal(end.write?.committed, StableHow.FILE_SYNC4);
  assert.equal(end.commitVerifier, undefined);
  assert.deepEqual(h.ops(), ["SEQUENCE,PUTFH,WRITE,SETATTR,CLOSE"]);
  assert.deepEqual(h.events(["open"]), ["CLOSE"]);
  assert.equal(content(h), "abc");
  assertClean(h);
});

Deno.test("writeSetattrClose() 4.1: an empty file: SETATTR and CLOSE in one COMPOUND", async () => {
  await using h = await harness(1);
  const state = await h.open("file", WRITE);
  h.mark();
  const end = await writeSetattrClose(h.m, state, undefined, { size: 0n });
  assert.ok(end.done);
  assert.equal(end.write, undefined);
  assert.deepEqual(h.ops(), ["SEQUENCE,PUTFH,SETATTR,CLOSE"]);
  assert.equal(content(h), "");
  assertClean(h);
});

Deno.test("writeSetattrClose() 4.0: WRITE and SETATTR in one COMPOUND, the CLOSE alone with its seqid (RFC 7530 §9.1.9: a resend after a reconnect would run the WRITE against a state its first run closed)", async () => {
  await using h = await harness(0);
  const state = await h.open("file", WRITE);
  h.mark();
  const end = await writeSetattrClose(h.m, state, bytes("abc"), { size: 3n });
  assert.ok(end.done);
  assert.deepEqual(h.ops(), ["PUTFH,WRITE,SETATTR", "PUTFH,CLOSE"]);
  assert.equal(content(h), "abc");
  assertClean(h);
});

Deno.test("writeSetattrClose() 4.0: a lost WRITE+SETATTR reply: the resend runs them again on the open state (the same bytes, the same size), then the CLOSE", async () => {
  await using h = await harness(0);
  const state = await h.open("file", WRITE);
  h.mark();
  h.channel.dropReplies("SETATTR");
  const end = await h.drive(writeSetattrClose(h.m, state, bytes("abc"), { size: 3n }), 50);
  assert.ok(end.done);
  assert.deepEqual(h.ops().filter((o) => o.includes("CLOSE")), ["PUTFH,CLOSE"]);
  assert.equal(content(h), "abc");
  assertClean(h);
});

Deno.test("writeSetattrClose() 4.1: a shared open (two users) is not ended here: nothing sent", async () => {
  await using h = await harness(1);
  const state = await h.open("file", WRITE);
  const again = await h.open("file", WRITE);
  assert.equal(state, again);
  h.mark();
  const end = await writeSetattrClose(h.m, state, bytes("abc"), { size: 3n });
  assert.equal(end.done, false);
  assert.deepEqual(h.ops(), []);
  await closeFile(h.m, state);
  await closeFile(h.m, state);
  assertClean(h);
});

Deno.test("writeSetattrClose() 4.1: the WRITE fails (RFC 8881 §16.2.3: nothing after it ran): the error comes back, the state stays open for the caller to close", async () => {
  await using h = await harness(1);
  const state = await h.open("file", WRITE);
  h.server.failNext("WRITE", S.NFS4ERR_NOSPC);
  h.mark();
  await assert.rejects(
    writeSetattrClose(h.m, state, bytes("abc"), { size: 3n }),
    (e) => e instanceof NfsError && e.status === S.NFS4ERR_NOSPC && e.path === "/vfs/file",
  );
  assert.deepEqual(h.ops(), ["SEQUENCE,PUTFH,WRITE,SETATTR,CLOSE -> NFS4ERR_NOSPC"]);
  assert.equal(state.closed, false);
  assert.equal(content(h), "hello, world\n");
  await closeFile(h.m, state);
  assertClean(h);
});

Deno.test("writeSetattrClose() 4.1: NFS4ERR_DELAY on the WRITE: waited out and the COMPOUND sent again (its WRITE had not run)", async () => {
  await using h = await harness(1);
  const state = await h.open("file", WRITE);
  h.server.failNext("WRITE", S.NFS4ERR_DELAY);
  h.mark();
  const end = await h.drive(writeSetattrClose(h.m, state, bytes("abc"), { size: 3n }));
  assert.ok(end.done);
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,WRITE,SETATTR,CLOSE -> NFS4ERR_DELAY",
    "SEQUENCE,PUTFH,WRITE,SETATTR,CLOSE",
  ]);
  assert.equal(content(h), "abc");
  assertClean(h);
});

Deno.test("writeSetattrClose() 4.1: SETATTR fails after the WRITE ran (RFC 8881 §16.2.3): the COMPOUND is not sent again; SETATTR alone, then CLOSE alone", async () => {
  await using h = await harness(1);
  const state = await h.open("file", WRITE);
  let writes = 0;
  h.server.intercept("WRITE", () => void writes++, { times: 10 });
  h.server.failNext("SETATTR", S.NFS4ERR_DELAY);
  h.mark();
  const end = await h.drive(writeSetattrClose(h.m, state, bytes("abc"), { size: 3n }));
  assert.ok(end.done);
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,WRITE,SETATTR,CLOSE -> NFS4ERR_DELAY",
    "SEQUENCE,PUTFH,SETATTR",
    "SEQUENCE,PUTFH,CLOSE",
  ]);
  assert.equal(writes, 1, "the WRITE ran once");
  assert.equal(content(h), "abc");
  assertClean(h);
});

Deno.test("writeSetattrClose() 4.1: SETATTR refused after the WRITE ran: the error comes back (naming the path), the state stays open for the caller to close", async () => {
  await using h = await harness(1);
  const state = await h.open("file", WRITE);
  h.server.failNext("SETATTR", S.NFS4ERR_PERM, { times: 2 });
  h.mark();
  await assert.rejects(
    writeSetattrClose(h.m, state, bytes("abc"), { size: 3n, mode: 0o4755 }),
    (e) => e instanceof NfsError && e.status === S.NFS4ERR_PERM && e.path === "/vfs/file",
  );
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,WRITE,SETATTR,CLOSE -> NFS4ERR_PERM",
    "SEQUENCE,PUTFH,SETATTR -> NFS4ERR_PERM",
  ]);
  assert.equal(state.closed, false);
  await closeFile(h.m, state);
  assertClean(h);
});

Deno.test("writeSetattrClose() 4.1: CLOSE fails after WRITE and SETATTR ran (RFC 8881 §16.2.3): CLOSE alone", async () => {
  await using h = await harness(1);
  const state = await h.open("file", WRITE);
  h.server.failNext("CLOSE", S.NFS4ERR_DELAY);
  h.mark();
  const end = await h.drive(writeSetattrClose(h.m, state, bytes("abc"), { size: 3n }));
  assert.ok(end.done);
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,WRITE,SETATTR,CLOSE -> NFS4ERR_DELAY",
    "SEQUENCE,PUTFH,CLOSE",
  ]);
  assert.equal(content(h), "abc");
  assertClean(h);
});

Deno.test("writeSetattrClose() 4.1: a lost reply is resent on its slot and sequence id and answered from the reply cache: the WRITE runs once (RFC 8881 §2.10.6.1)", async () => {
  await using h = await harness(1);
  const state = await h.open("file", WRITE);
  let writes = 0;
  h.server.intercept("WRITE", () => void writes++, { times: 10 });
  h.mark();
  h.channel.dropReplies("CLOSE");
  const end = await h.drive(writeSetattrClose(h.m, state, bytes("abc"), { size: 3n }), 50);
  assert.ok(end.done);
  const entries = h.entries();
  assert.deepEqual(entries.map((e) => e.ops.join(",")), [
    "SEQUENCE,PUTFH,WRITE,SETATTR,CLOSE",
    "SEQUENCE,PUTFH,WRITE,SETATTR,CLOSE",
  ]);
  assert.equal(entries[1]!.replay, true);
  assert.equal(writes, 1);
  assert.equal(content(h), "abc");
  assertClean(h);
});

Deno.test("writeSetattrClose() 4.1: a WRITE answered UNSTABLE4 though FILE_SYNC4 was asked (RFC 8881 §18.32.3): COMMIT after the CLOSE, its verifier handed back", async () => {
  await using h = await harness(1);
  const state = await h.open("file", WRITE);
  h.server.writeCommitted = StableHow.UNSTABLE4;
  h.mark();
  const end = await writeSetattrClose(h.m, state, bytes("abc"), { size: 3n });
  assert.ok(end.done);
  assert.equal(end.write?.committed, StableHow.UNSTABLE4);
  assert.deepEqual([...end.commitVerifier!], [...h.server.writeVerifier]);
  assert.deepEqual(h.ops(), ["SEQUENCE,PUTFH,WRITE,SETATTR,CLOSE", "SEQUENCE,PUTFH,COMMIT"]);
  assertClean(h);
});

for (const minor of [0, 1] as const) {
  Deno.test(`writeSetattrClose() 4.${minor}: a SETATTR answered NFS4_OK whose attrsset lacks the mode fails the file, closed (RFC 8881 §18.30.4, RFC 7530 §16.32.4)`, async () => {
    await using h = await harness(minor, { setattrIgnores: [Attr.MODE] });
    const state = await h.open("file", WRITE);
    await assert.rejects(
      writeSetattrClose(h.m, state, bytes("abc"), { size: 3n, mode: 0o640 }),
      (e: Error) =>
        e instanceof AttributesNotSetError &&
        e.message === "/vfs/file: the server did not set mode (SETATTR attrsset)",
    );
    assertClean(h);
  });
}
