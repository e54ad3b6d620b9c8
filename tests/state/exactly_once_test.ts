/**
 * Exactly once (lib/state/exactly_once.ts): a request that got no reply is
 * sent again as itself; a slot carries one request per sequence id; state
 * changes ask for their reply to be cached; NFS4ERR_RETRY_UNCACHED_REP never
 * makes a state change run twice. RFC 8881 §2.10.6.1-2, §18.46.3; RFC 7530
 * §9.1.9; RFC 5531 §9.
 */

import assert from "node:assert/strict";
import { NfsError } from "../../lib/nfs4/errors.ts";
import type { SequenceArgs } from "../../lib/nfs4/ops/sequence.ts";
import type { OpenConfirmArgs } from "../../lib/nfs4/ops/open_confirm.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { ServerNotRespondingError } from "../../lib/state/manager.ts";
import { drain, harness } from "./_harness.ts";
import { putfh } from "../../lib/nfs4/ops/putfh.ts";
import { remove } from "../../lib/nfs4/ops/remove.ts";

const seqArgs = (args: readonly unknown[]) => args[0] as SequenceArgs;

Deno.test("4.1 SEQUENCE asks for a cached reply on state changes only (sa_cachethis, RFC 8881 §18.46.3)", async () => {
  await using h = await harness(1);
  h.mark();
  const file = await h.open();
  await h.read(file);
  const byOps = h.entries().map((e) => [e.ops.join(","), seqArgs(e.args).cachethis]);
  const open = byOps.find(([ops]) => (ops as string).includes("OPEN"));
  const read = byOps.find(([ops]) => (ops as string).includes("READ"));
  assert.equal(open?.[1], true, "OPEN's reply is cached");
  assert.equal(read?.[1], false, "READ is idempotent: no cache asked for");
});

Deno.test("a lost 4.1 OPEN reply is answered from the reply cache: one open on the server (RFC 8881 §2.10.6.1.3)", async () => {
  await using h = await harness(1);
  h.mark();
  h.channel.dropReplies("OPEN");
  const state = await h.drive(h.open("other"), 50);
  const opens = h.entries().filter((e) => e.ops.includes("OPEN"));
  assert.equal(opens.length, 2);
  assert.deepEqual(
    [opens[1]!.slotid, opens[1]!.sequenceid, opens[1]!.replay],
    [opens[0]!.slotid, opens[0]!.sequenceid, true],
  );
  assert.equal(h.server.opensOf("/vfs/other").length, 1);
  assert.equal(await h.readText(state), "other file contents\n");
});

Deno.test("NFS4ERR_RETRY_UNCACHED_REP on a state change goes to the caller; the OPEN is not run again (RFC 8881 §2.10.6.1.3)", async () => {
  await using h = await harness(1, { replyCache: false });
  h.mark();
  h.channel.dropReplies("OPEN");
  await assert.rejects(
    h.drive(h.open("other"), 50),
    (e) => e instanceof NfsError && e.status === S.NFS4ERR_RETRY_UNCACHED_REP,
  );
  const executed = h.entries().filter((e) => e.ops.includes("OPEN") && !e.replay);
  assert.equal(executed.length, 1, "the server ran the OPEN once");
  // The slot moved on: the next request is new to the server, not a retry.
  const before = h.entries().at(-1)!;
  const file = await h.open("file");
  await h.read(file);
  const after = h.entries().filter((e) => e.slotid === before.slotid).at(-1)!;
  assert.ok(after.sequenceid! > before.sequenceid!);
});

Deno.test("a slot whose request was never answered is not used again; with none left the session is reset (RFC 8881 §2.10.6.2)", async () => {
  await using h = await harness(1, { maxSlots: 2, recoveryTimeoutMs: 1000 });
  const file = await h.open();
  const other = await h.open("other");
  h.mark();
  h.channel.dropReplies("READ", { times: 1000 });
  await assert.rejects(h.drive(h.read(file), 50), ServerNotRespondingError);
  const lost = h.entries().filter((e) => e.ops.includes("READ"));
  const lostSlot = lost[0]!.slotid!;
  assert.ok(lost.every((e) => e.slotid === lostSlot && e.sequenceid === lost[0]!.sequenceid));
  assert.ok(h.events(["sess"]).includes(`slot ${lostSlot} uncertain`));
  // Nothing else was asked meanwhile, so the server looked gone; its RPC
  // NULL still answers, so requests flow again.
  await h.tick(100, 50);
  assert.ok(h.events(["conn"]).includes("server answering again"), h.events(["conn"]).join());
  // Other requests use the other slot; nothing else goes out on the lost one.
  h.channel.clearDrops();
  h.mark();
  assert.equal(await h.readText(other), "other file contents\n");
  assert.ok(h.entries().every((e) => e.slotid !== lostSlot));
  // Lose the second slot too: the session is reset and requests flow again.
  h.mark();
  h.channel.dropReplies("READ", { times: 1000 });
  await assert.rejects(h.drive(h.read(other), 50));
  h.channel.clearDrops();
  await h.tick(100, 50);
  assert.equal(await h.drive(h.readText(other), 50), "other file contents\n");
  assert.ok(h.steps().includes("+SESSION_RESET"), h.steps().join(", "));
});

Deno.test("a lost 4.0 OPEN_CONFIRM reply: OPEN_CONFIRM is resent with its seqid, the OPEN is not (RFC 7530 §9.1.9, §16.18)", async () => {
  await using h = await harness(0);
  h.mark();
  h.channel.dropReplies("OPEN_CONFIRM");
  const state = await h.drive(h.open("other"), 50);
  const names = h.ops().filter((o) => o.includes("OPEN"));
  assert.equal(names.filter((o) => /(^|,)OPEN(,|$)/.test(o)).length, 1, names.join(" | "));
  const confirms = h.entries().filter((e) => e.ops.includes("OPEN_CONFIRM"));
  assert.equal(confirms.length, 2);
  const seqid = (e: (typeof confirms)[number]) => (e.args[1] as OpenConfirmArgs).seqid;
  assert.equal(seqid(confirms[0]!), seqid(confirms[1]!));
  assert.equal(h.server.opensOf("/vfs/other").length, 1);
  assert.equal(await h.readText(state), "other file contents\n");
});

Deno.test("a lost CREATE_SESSION reply is resent with its csa_sequence: one session on the server, none leaked (RFC 8881 §18.36.4)", async () => {
  await using h = await harness(1, { noStart: true });
  h.channel.dropReplies("CREATE_SESSION");
  await h.drive(h.m.start(), 50);
  const creates = h.entries().filter((e) => e.ops.includes("CREATE_SESSION"));
  assert.equal(creates.length, 2);
  assert.deepEqual(creates[0]!.args, creates[1]!.args, "the resend is the same request");
  assert.equal(h.server.sessions.size, 1);
  assert.equal(h.entries().filter((e) => e.ops.includes("EXCHANGE_ID")).length, 1);
  // At exit the one session and the client ID go: nothing is left busy.
  await h.drive(h.m.shutdown(), 50);
  assert.equal(h.server.sessions.size, 0);
  assert.ok(h.events(["clid"]).includes("DESTROY_CLIENTID ok"), h.events(["clid"]).join(", "));
});

Deno.test("a server that answers nothing: the operation gives up after the recovery deadline saying how long it tried; later ones fail at once", async () => {
  await using h = await harness(1, { recoveryTimeoutMs: 4000 });
  const file = await h.open();
  h.mark();
  h.channel.dropReplies("SEQUENCE", { times: 10_000, beforeServer: true });
  h.channel.silent = true;
  const started = h.clock.now();
  await assert.rejects(h.drive(h.read(file), 50), (e) => {
    assert.ok(e instanceof ServerNotRespondingError, String(e));
    assert.match(
      e.message,
      /^scripted: server not responding: no reply in [34](\.\d)? s \(\d+ tries/,
    );
    return true;
  });
  assert.ok(h.clock.now() - started <= 4000 + 200, `gave up after ${h.clock.now() - started} ms`);
  const before = h.channel.log.length;
  const again = h.clock.now();
  await assert.rejects(h.drive(h.read(file), 50), ServerNotRespondingError);
  assert.ok(
    h.clock.now() - again <= 50,
    `no waiting the second time: ${h.clock.now() - again} ms; ${
      h.details(["retry", "state", "step", "error"]).slice(-6).join(" | ")
    }`,
  );
  assert.equal(h.channel.log.length, before);
});

Deno.test("interrupt() stops an operation waiting out DELAY at once; shutdown() still releases the open", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.mark();
  h.server.failNext("READ", S.NFS4ERR_DELAY, { times: 100 });
  const reading = h.read(file);
  reading.catch(() => {});
  await h.tick(300, 50);
  const reason = new Error("SIGTERM");
  h.m.interrupt(reason);
  await assert.rejects(reading, (e) => e === reason || (e as Error).cause === reason);
  h.server.clearFaults();
  await h.drive(h.m.shutdown(), 50);
  assert.equal(h.server.states.size, 0, "CLOSE went out after the interrupt");
});

Deno.test("a REMOVE whose reply was lost and whose session the server lost before the resend is run again on the new session; its NFS4ERR_NOENT is marked as answering a resend, for the caller to look the effect up (RFC 8881 §2.10.6.1.3)", async () => {
  await using h = await harness(1, { files: { "/vfs/gone": "x" } });
  const dirFh = await h.vfs();
  h.mark();
  h.channel.dropReplies("REMOVE");
  const removing = h.m.run(() => [putfh(dirFh), remove("gone")] as const);
  removing.catch(() => undefined);
  // The first ran (the name is gone); the server restarts before the resend.
  await drain();
  assert.equal(h.server.file("/vfs/gone"), undefined);
  h.server.reboot({ grace: false });
  await assert.rejects(
    h.drive(removing, 50),
    (e) => e instanceof NfsError && e.status === S.NFS4ERR_NOENT && e.answeredResend,
  );
  const removes = h.entries().filter((e) => e.ops.includes("REMOVE"));
  assert.ok(removes.length >= 3, removes.map((e) => e.ops.join(",")).join(" | "));
});

Deno.test("a resend answered from the session's reply cache (the first run's own NFS4ERR_DELAY) leaves nothing unknown: a later attempt's NFS4ERR_NOENT is taken at its word (RFC 8881 §2.10.6.1)", async () => {
  await using h = await harness(1);
  const dirFh = await h.vfs();
  h.mark();
  h.server.failNext("REMOVE", S.NFS4ERR_DELAY);
  h.channel.dropReplies("REMOVE");
  await assert.rejects(
    h.drive(h.m.run(() => [putfh(dirFh), remove("never-there")] as const), 50),
    (e) => e instanceof NfsError && e.status === S.NFS4ERR_NOENT && !e.answeredResend,
  );
  const removes = h.entries().filter((e) => e.ops.includes("REMOVE"));
  assert.equal(removes.length, 3, removes.map((e) => e.ops.join(",")).join(" | "));
  assert.equal(removes[1]!.replay, true);
});
