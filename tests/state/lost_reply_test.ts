/**
 * Lost replies and lost requests (the channel fails with a retriable RPC
 * error): send() resends the same request after a backoff. On 4.0 a seqid op goes out again
 * with the same seqid and the server answers from its replay cache (RFC 7530
 * §9.1.8); on 4.1 the retry uses the same slot and sequence id (RFC 8881
 * §2.10.6.2).
 */

import assert from "node:assert/strict";
import type { OpenArgs } from "../../lib/nfs4/ops/open.ts";
import type { LockArgs } from "../../lib/nfs4/ops/lock.ts";
import { hex } from "../../lib/nfs4/types.ts";
import { closeFile } from "../../lib/state/files.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { harness } from "./_harness.ts";

Deno.test("a lost 4.0 OPEN reply: resent with the same seqid, answered from the replay cache, no second open (RFC 7530 §9.1.8)", async () => {
  await using h = await harness(0);
  await h.open("file");
  h.mark();
  h.channel.dropReplies("OPEN");
  const other = await h.drive(h.open("other"), 50);
  assert.deepEqual(h.timeline(), [
    [0, "PUTFH,OPEN,GETFH,GETATTR"],
    [100, "PUTFH,OPEN,GETFH,GETATTR"],
  ]);
  const seqids = h.entries().map((e) => (e.args[1] as OpenArgs).seqid);
  assert.equal(seqids[0], seqids[1]);
  assert.deepEqual(h.details(["retry"]), [
    "OPEN+GETFH+GETATTR resend (no reply (scripted); same request in 100.0 ms)",
  ]);
  assert.equal(h.server.opensOf("/vfs/other").length, 1);
  // The client holds the one open the server made.
  assert.equal(hex(other.stateid.other), hex(h.server.opensOf("/vfs/other")[0]!.other));
  assert.equal(await h.readText(other), "other file contents\n");
});

Deno.test("a lost 4.0 LOCK reply: resent with the same lock seqid and stateid, replayed; the lock is held once (RFC 7530 §9.1.8)", async () => {
  await using h = await harness(0);
  const file = await h.open("file", 3);
  await h.lock(file, { offset: 0n, length: 5n });
  h.mark();
  h.channel.dropReplies("LOCK");
  await h.drive(h.lock(file, { offset: 10n, length: 5n }), 50);
  const sent = h.entries().map((e) => e.args[1] as LockArgs);
  assert.equal(sent.length, 2);
  assert.deepEqual(sent[0], sent[1]);
  assert.deepEqual(h.server.locksOf("/vfs/file"), [
    { type: 2, offset: 0n, length: 5n },
    { type: 2, offset: 10n, length: 5n },
  ]);
  // The owner and server still agree: an unlock goes through.
  await h.unlock(file, { offset: 10n, length: 5n });
  assert.deepEqual(h.server.locksOf("/vfs/file"), [{ type: 2, offset: 0n, length: 5n }]);
});

Deno.test("a lost 4.1 READ reply: retried on the same slot and sequence id; the uncached retry is sent again as new (RFC 8881 §2.10.6.1.3, §2.10.6.2)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.mark();
  h.channel.dropReplies("READ");
  assert.equal(await h.drive(h.readText(file), 50), "hello, world\n");
  const entries = h.entries();
  assert.deepEqual(entries.map((e) => e.ops.join(",")), [
    "SEQUENCE,PUTFH,READ",
    "SEQUENCE,PUTFH,READ",
    "SEQUENCE,PUTFH,READ",
  ]);
  const [first, retry, fresh] = entries;
  assert.deepEqual([retry!.slotid, retry!.sequenceid], [first!.slotid, first!.sequenceid]);
  assert.equal(retry!.replay, true);
  assert.deepEqual([fresh!.slotid, fresh!.sequenceid], [first!.slotid, first!.sequenceid! + 1]);
  assert.deepEqual(h.details(["retry"]), [
    "READ resend (no reply (scripted); same request in 100.0 ms)",
    "PUTFH -> NFS4ERR_RETRY_UNCACHED_REP (sending again)",
  ]);
  assert.deepEqual(h.steps(), []);
});

Deno.test("a lost 4.1 request (connection reset before the server saw it): resent with the same sequence id, which is new to the server (RFC 8881 §2.10.6.2)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  const slot0 = h.channel.log.at(-1)!.sequenceid!;
  h.mark();
  h.channel.dropReplies("READ", { beforeServer: true });
  assert.equal(await h.drive(h.readText(file), 50), "hello, world\n");
  assert.deepEqual(h.timeline(), [[100, "SEQUENCE,PUTFH,READ"]]);
  assert.equal(h.entries()[0]!.sequenceid, slot0 + 1);
  assert.deepEqual(h.steps(), []);
  // The slot stays in step: the next request is simply the next sequence id.
  await h.read(file);
  assert.equal(h.channel.log.at(-1)!.sequenceid, slot0 + 2);
});

Deno.test("a lost 4.0 CLOSE reply at shutdown is replayed, not re-opened (RFC 7530 §9.1.8)", async () => {
  await using h = await harness(0);
  await h.open();
  h.mark();
  h.channel.dropReplies("CLOSE");
  await h.drive(h.m.shutdown(), 50);
  assert.deepEqual(h.ops(), ["PUTFH,CLOSE", "PUTFH,CLOSE"]);
  assert.equal(h.server.states.size, 0);
});

Deno.test("a 4.1 slot whose SEQUENCE is still answered NFS4ERR_DELAY at the deadline is not reused: the server is still running a request under that sequence id (RFC 8881 §2.10.6.2)", async () => {
  await using h = await harness(1, {
    recoveryTimeoutMs: 5000,
    callTimeoutMs: 1000,
    wantedSlots: 2,
  });
  const file = await h.open("file");
  h.mark();
  h.channel.dropReplies("OPEN", { times: 1 });
  h.server.failNext("SEQUENCE", S.NFS4ERR_DELAY, { times: 1000, after: 1 });
  await assert.rejects(h.drive(h.open("other")), /NFS4ERR_DELAY/);
  h.server.clearFaults();
  const opened = h.entries()[0]!;
  assert.equal(h.m.client.session!.slots.uncertainCount, 1);
  h.mark();
  // The READ is its own answer, not the OPEN's from that slot's reply cache.
  assert.equal(await h.drive(h.readText(file)), "hello, world\n");
  const read = h.entries().at(-1)!;
  assert.deepEqual(read.ops, ["SEQUENCE", "PUTFH", "READ"]);
  assert.notEqual(read.slotid, opened.slotid);
});

Deno.test("4.0: a LOCK never answered is taken as run: the lock owner's next seqid is one on, so the next LOCK is not answered from the lost one's replay cache; later locks use a new lock owner (RFC 7530 §9.1.9)", async () => {
  await using h = await harness(0, { recoveryTimeoutMs: 5000, callTimeoutMs: 1000 });
  const file = await h.open("file", 3);
  h.channel.dropReplies("LOCK", { times: 1000 });
  await assert.rejects(h.drive(h.lock(file, { offset: 0n, length: 10n })), /not responding/);
  h.channel.clearDrops();
  const lost = h.entries().at(-1)!.args[1] as LockArgs;
  h.mark();
  await h.drive(h.lock(file, { offset: 100n, length: 10n }));
  // The server ran both; the client knows the one it was told of.
  assert.deepEqual(h.server.locksOf("/vfs/file"), [
    { type: 2, offset: 0n, length: 10n },
    { type: 2, offset: 100n, length: 10n },
  ]);
  assert.deepEqual(file.locks.flatMap((l) => l.ranges.map((r) => [r.offset, r.length])), [
    [100n, 10n],
  ]);
  const next = h.entries()[0]!.args[1] as LockArgs;
  assert.ok(lost.locker.newLockOwner && next.locker.newLockOwner);
  assert.equal(next.locker.openSeqid, lost.locker.openSeqid + 1);
  assert.notDeepEqual(next.locker.lockOwner.owner, lost.locker.lockOwner.owner);
  await h.unlock(file, { offset: 100n, length: 10n });
  assert.deepEqual(h.server.locksOf("/vfs/file"), [{ type: 2, offset: 0n, length: 10n }]);
});

Deno.test("4.0: an OPEN never answered is taken as run: the CLOSE of the owner's other open carries the next seqid and closes it, not the lost OPEN's replay (RFC 7530 §9.1.9)", async () => {
  await using h = await harness(0, { recoveryTimeoutMs: 5000, callTimeoutMs: 1000 });
  const file = await h.open("file");
  h.channel.dropReplies("OPEN", { times: 1000 });
  await assert.rejects(h.drive(h.open("other")), /not responding/);
  h.channel.clearDrops();
  const lost = h.entries().at(-1)!.args[1] as OpenArgs;
  h.mark();
  await h.drive(closeFile(h.m, file));
  assert.deepEqual(h.ops(), ["PUTFH,CLOSE"]);
  assert.equal((h.entries()[0]!.args[1] as { seqid: number }).seqid, lost.seqid + 1);
  assert.equal(h.server.opensOf("/vfs/file").length, 0);
  // The lost OPEN ran: its open stays the server's until the lease ends.
  assert.equal(h.server.opensOf("/vfs/other").length, 1);
});
