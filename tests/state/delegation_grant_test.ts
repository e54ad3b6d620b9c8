/**
 * What an OPEN reply's delegation (or its absence) does to the delegation
 * the client holds (RFC 7530 §10.4, §16.16; RFC 8881 §8.2.4, §10.4, §18.16):
 * one granted recalled goes back at once; one granted on an upgrade of an
 * open is recorded (a second one on the file goes back at once); a re-open
 * without grace under the same client ID keeps the delegation the server
 * still holds, and gives it back as usual; one granted to an earlier client
 * ID is dropped. A delegation of an open that recovery gave up still goes
 * back at exit.
 */

import assert from "node:assert/strict";
import { DelegationType, OpenClaimType, ShareAccess } from "../../lib/nfs4/constants.ts";
import type { CompoundReply, CompoundRequest } from "../../lib/nfs4/compound.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import type { OpenArgs, OpenResult } from "../../lib/nfs4/ops/open.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { formatStateid, type Stateid } from "../../lib/nfs4/types.ts";
import { closeFile } from "../../lib/state/files.ts";
import { drain, Harness } from "./_harness.ts";
import { bare, callbacks, pair, startClient, withCallbacks } from "./_delegations.ts";
import { deliverCallbacksInMemory, ScriptedChannel, type ScriptedServer } from "./_scripted.ts";

const READ = ShareAccess.OPEN4_SHARE_ACCESS_READ;
const WRITE = ShareAccess.OPEN4_SHARE_ACCESS_WRITE;

/** A channel that lets a test change an OPEN reply's delegation. */
class RewritingChannel extends ScriptedChannel {
  rewrite: ((args: OpenArgs, result: OpenResult) => OpenResult) | undefined;

  override async compound(request: CompoundRequest, options = {}): Promise<CompoundReply> {
    const reply = await super.compound(request, options);
    const i = request.ops.findIndex((o) => o.name === "OPEN");
    const outcome = reply.outcomes[i];
    if (i < 0 || !this.rewrite || outcome?.status !== S.NFS4_OK) return reply;
    const value = this.rewrite(request.ops[i]!.args as OpenArgs, outcome.value as OpenResult);
    const outcomes = reply.outcomes.map((o, j) => (j === i ? { ...o, value } : o));
    return { ...reply, outcomes };
  }
}

async function rewriting(minor: 0 | 1): Promise<{ a: Harness; channel: RewritingChannel }> {
  let channel!: RewritingChannel;
  const a = new Harness(minor, {
    delegations: { read: true },
    channel: (s: ScriptedServer) => (channel = new RewritingChannel(s)),
  });
  deliverCallbacksInMemory(a.server);
  await startClient(a);
  return { a, channel };
}

/** The delegation granted `recall`ed (the "pre-recalled" flag). */
function recalled(result: OpenResult): OpenResult {
  const d = result.delegation;
  if (
    d.type !== DelegationType.OPEN_DELEGATE_READ && d.type !== DelegationType.OPEN_DELEGATE_WRITE
  ) {
    return result;
  }
  return { ...result, delegation: { ...d, recall: true } };
}

/** The DELEGRETURNs sent since the mark, by stateid. */
function delegreturns(h: Harness): string[] {
  return h.entries().flatMap((e) =>
    e.ops.flatMap((
      name,
      i,
    ) => (name === "DELEGRETURN" ? [formatStateid(e.args[i] as Stateid)] : []))
  );
}

for (const minor of [0, 1] as const) {
  const v = `4.${minor}`;
  const rfc = minor === 0 ? "RFC 7530" : "RFC 8881";

  Deno.test(`${v}: a delegation reclaimed with OPEN(CLAIM_PREVIOUS) whose reply says recall goes back at once (${rfc} §${minor === 0 ? "16.16" : "18.16"}; kernel nfs4_opendata_check_deleg)`, async () => {
    const { a, channel } = await rewriting(minor);
    await using _a = a;
    const state = await a.open("file", READ);
    assert.equal(state.delegation?.type, "read");
    channel.rewrite = (args, result) =>
      args.claim.claim === OpenClaimType.CLAIM_PREVIOUS ? recalled(result) : result;
    a.server.reboot();
    a.mark();
    assert.equal(await a.drive(a.readText(state)), "hello, world\n");
    await a.drive(a.m.waitForRecovery());
    assert.equal(state.delegation, undefined);
    assert.ok(
      a.details(["deleg"]).includes(
        "delegation to return at once (/vfs/file: the OPEN reply grants it recalled)",
      ),
      a.details(["deleg"]).join("\n"),
    );
    assert.equal(delegreturns(a).length, 1);
    assert.equal(a.server.delegationsOf("/vfs/file").length, 0, "back on the server");
  });

  Deno.test(`${v}: a delegation an ordinary OPEN grants recalled goes back at once too (${rfc} §${minor === 0 ? "16.16" : "18.16"})`, async () => {
    const { a, channel } = await rewriting(minor);
    await using _a = a;
    channel.rewrite = (_args, result) => recalled(result);
    const state = await a.open("file", READ);
    await a.drive(a.m.waitForRecovery());
    assert.equal(state.delegation, undefined);
    assert.equal(delegreturns(a).length, 1);
    assert.equal(a.server.delegationsOf("/vfs/file").length, 0);
  });

  Deno.test(`${v}: a delegation granted on an OPEN that upgrades an open already held is recorded, and goes back before the CLOSE; a later conflicting OPEN is not held up (${rfc} §10.4)`, async () => {
    const { a, b } = await pair(minor);
    await using _a = a;
    await using _b = b;
    const server = a.server;
    const fileB = await b.open("file", WRITE);
    const first = await a.open("file", READ);
    assert.equal(first.delegation, undefined, "B has the file open for writing: none");
    await closeFile(b.m, fileB);
    a.mark();
    const second = await a.open("file", READ);
    assert.equal(second, first, "one open state, two users");
    assert.equal(second.users, 2);
    assert.equal(second.delegation?.type, "read", "the upgrade's delegation is recorded");
    assert.equal(server.delegationsOf("/vfs/file").length, 1);
    await closeFile(a.m, second);
    await closeFile(a.m, first);
    assert.deepEqual(bare(a.ops()), [
      "PUTFH,OPEN,GETFH,GETATTR",
      "PUTFH,DELEGRETURN",
      "PUTFH,CLOSE",
    ]);
    assert.equal(server.delegationsOf("/vfs/file").length, 0);
    b.mark();
    await b.drive(b.open("file", WRITE));
    assert.deepEqual(
      callbacks(server.callbackLog, a.m.client.clientId).filter((c) => c.includes("RECALL")),
      [],
    );
    assert.deepEqual(
      bare(b.ops()),
      ["PUTFH,OPEN,GETFH,GETATTR"],
      "no NFS4ERR_DELAY: nothing to recall",
    );
  });

  Deno.test(`${v}: a second, different delegation granted on an upgrade goes back at once; the state keeps the one it holds (${rfc} §10.4)`, async () => {
    const { a, channel } = await rewriting(minor);
    await using _a = a;
    const state = await a.open("file", READ);
    const held = formatStateid(state.delegation!.stateid);
    const stray: Stateid = { seqid: 1, other: new Uint8Array(12).fill(0xcd) };
    channel.rewrite = (_args, result) => ({
      ...result,
      delegation: {
        type: DelegationType.OPEN_DELEGATE_READ,
        stateid: stray,
        recall: false,
        permissions: { type: 0, flag: 0, accessMask: 0, who: "" },
      },
    });
    a.mark();
    assert.equal(await a.open("file", READ), state);
    await a.drive(a.m.waitForRecovery());
    assert.equal(formatStateid(state.delegation!.stateid), held);
    assert.deepEqual(delegreturns(a), [formatStateid(stray)]);
    channel.rewrite = undefined;
    a.mark();
    await closeFile(a.m, state);
    await closeFile(a.m, state);
    assert.deepEqual(delegreturns(a), [held]);
    assert.equal(a.server.delegationsOf("/vfs/file").length, 0);
  });
}

Deno.test("4.1: the open stateid revoked but the delegation still valid (TEST_STATEID): the re-open without grace keeps the delegation, which goes back at CLOSE and is not left on the server (RFC 8881 §8.2.4)", async () => {
  await using a = await withCallbacks(1);
  const state = await a.open("file", READ);
  const held = formatStateid(state.delegation!.stateid);
  a.server.revoke(state.stateid, S.NFS4ERR_ADMIN_REVOKED);
  a.mark();
  assert.equal(await a.drive(a.readText(state)), "hello, world\n");
  await a.drive(a.m.waitForRecovery());
  assert.deepEqual(bare(a.ops()), [
    "PUTFH,READ -> NFS4ERR_ADMIN_REVOKED",
    "TEST_STATEID",
    "FREE_STATEID",
    "PUTFH,OPEN",
    "PUTFH,READ",
  ]);
  assert.equal(state.delegation && formatStateid(state.delegation.stateid), held);
  assert.ok(
    a.details(["deleg"]).some((d) => d.startsWith("delegation kept")),
    a.details(["deleg"]).join("\n"),
  );
  a.mark();
  await a.drive(closeFile(a.m, state));
  assert.deepEqual(bare(a.ops()), ["PUTFH,DELEGRETURN", "PUTFH,CLOSE"]);
  assert.equal(a.server.delegationsOf("/vfs/file").length, 0);
});

Deno.test("4.0: a re-open without grace under a new client ID (the lease ran out) drops the delegation of the old one: no DELEGRETURN of it at CLOSE (RFC 7530 §10.2.1)", async () => {
  await using a = await withCallbacks(0);
  const state = await a.open("file", READ);
  const before = a.m.client.clientId;
  a.server.expireLease();
  a.server.delegationPolicy = undefined;
  a.mark();
  assert.equal(await a.drive(a.readText(state)), "hello, world\n");
  await a.drive(a.m.waitForRecovery());
  assert.notEqual(a.m.client.clientId, before);
  assert.equal(state.delegation, undefined);
  assert.ok(
    a.details(["deleg"]).includes(
      "delegation lost with the client ID it was granted to (/vfs/file)",
    ),
    a.details(["deleg"]).join("\n"),
  );
  a.mark();
  await a.drive(closeFile(a.m, state));
  assert.deepEqual(bare(a.ops()), ["PUTFH,CLOSE"]);
});

for (const minor of [0, 1] as const) {
  Deno.test(`4.${minor}: the delegation of an open recovery gave up on still goes back at exit, when its client ID stands (RFC ${minor === 0 ? "7530 §10.4.4" : "8881 §10.4.4"})`, async () => {
    await using a = await withCallbacks(minor);
    const state = await a.open("file", READ);
    assert.ok(state.delegation);
    // The open is lost (admin-revoked), and re-opening it fails.
    a.server.revoke(state.stateid, S.NFS4ERR_ADMIN_REVOKED);
    a.server.failNext("OPEN", S.NFS4ERR_ACCESS, { times: 4 });
    const read = await a.drive(a.readText(state).catch((e) => e));
    await a.drive(a.m.waitForRecovery());
    assert.ok(
      state.bad !== undefined,
      `state marked bad (${read instanceof NfsError ? read.statusName : read})`,
    );
    assert.ok(state.delegation, "its delegation is still the server's");
    assert.equal(a.server.delegationsOf("/vfs/file").length, 1);
    a.mark();
    await a.drive(a.m.shutdown());
    assert.ok(bare(a.ops()).includes("PUTFH,DELEGRETURN"), a.ops().join("\n"));
    assert.equal(a.server.delegationsOf("/vfs/file").length, 0, "not left on the server");
    assert.deepEqual(a.m.notReleased, []);
    await drain();
  });
}
