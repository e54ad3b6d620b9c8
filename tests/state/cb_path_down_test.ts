/**
 * RFC 8881 §18.46.3: SEQ4_STATUS_CB_PATH_DOWN(_SESSION) stays set while the
 * session has no working back channel, and a client that cannot bring one
 * back "is subject to having recallable state revoked"; §18.34.3: a
 * BIND_CONN_TO_SESSION asked for both channels may bind the fore channel
 * only (bctsr_dir CDFS4_FORE). When binding does not bring the back channel
 * back, the client does not bind again on every SEQUENCE: it takes the back
 * channel as down on that connection of that session (binding again on a
 * new connection or session), gives its delegations back and asks for none
 * (OPEN4_SHARE_ACCESS_WANT_NO_DELEG, §18.16.3) until the server stops
 * reporting the path down (lib/state/manager.ts #backChannelLost).
 *
 * The first test is the audit's (/tmp/hE/tests/cb_path_down_loop_test.ts,
 * finding F4: before, 20 READs cost 20 BIND_CONN_TO_SESSION).
 */
import assert from "node:assert/strict";
import { ChannelDirFromServer, ShareAccess } from "../../lib/nfs4/constants.ts";
import type { CompoundReply, CompoundRequest } from "../../lib/nfs4/compound.ts";
import type { OpenArgs } from "../../lib/nfs4/ops/open.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { SeqStatus } from "../../lib/state/error_table.ts";
import { Harness } from "./_harness.ts";
import { startClient } from "./_delegations.ts";
import { deliverCallbacksInMemory, ScriptedChannel, type ScriptedServer } from "./_scripted.ts";

const WANT_NO_DELEG = ShareAccess.OPEN4_SHARE_ACCESS_WANT_NO_DELEG;

/** A channel whose BIND_CONN_TO_SESSION replies say `dir` (the server's choice). */
class BindingChannel extends ScriptedChannel {
  dir: number | undefined;

  override async compound(request: CompoundRequest, options = {}): Promise<CompoundReply> {
    const reply = await super.compound(request, options);
    const i = request.ops.findIndex((o) => o.name === "BIND_CONN_TO_SESSION");
    const outcome = reply.outcomes[i];
    if (i < 0 || this.dir === undefined || outcome?.status !== S.NFS4_OK) return reply;
    const value = { ...(outcome.value as object), dir: this.dir };
    return { ...reply, outcomes: reply.outcomes.map((o, j) => (j === i ? { ...o, value } : o)) };
  }
}

/** A started 4.1 client with a back channel, on a server granting read delegations. */
async function client(): Promise<{ h: Harness; channel: BindingChannel }> {
  let channel!: BindingChannel;
  const h = new Harness(1, {
    ownerId: "cb-down",
    delegations: { read: true },
    channel: (s: ScriptedServer) => (channel = new BindingChannel(s)),
  });
  deliverCallbacksInMemory(h.server);
  await startClient(h);
  return { h, channel };
}

function count(h: Harness, op: string): number {
  return h.ops().filter((o) => o.startsWith(op) || o.includes(`,${op}`)).length;
}

/** The OPENs since the mark: whether each asked for no delegation. */
function noDelegAsked(h: Harness): boolean[] {
  return h.entries().filter((e) => e.ops.includes("OPEN")).map((e) =>
    ((e.args[e.ops.indexOf("OPEN")] as OpenArgs).shareAccess & WANT_NO_DELEG) === WANT_NO_DELEG
  );
}

Deno.test("4.1: CB_PATH_DOWN_SESSION on every SEQUENCE does not cost a BIND_CONN_TO_SESSION per COMPOUND (RFC 8881 §18.46.3)", async () => {
  await using h = new Harness(1, { ownerId: "cb-down" });
  h.channel.enableBackchannel();
  await h.m.start();
  const file = await h.open("file");
  h.mark();
  h.server.flagNextSequence(SeqStatus.CB_PATH_DOWN_SESSION, { times: 1000 });
  for (let i = 0; i < 20; i++) await h.drive(h.read(file));
  const binds = count(h, "BIND_CONN_TO_SESSION");
  const reads = count(h, "READ");
  assert.ok(binds <= 2, `${binds} BIND_CONN_TO_SESSION for ${reads} READs`);
});

Deno.test("4.1: a back channel still reported down after a bind of both channels is taken as down on that connection: one bind, the delegations returned, OPENs ask for none (RFC 8881 §18.46.3, §18.16.3)", async () => {
  const { h } = await client();
  await using _ = h;
  const held = await h.open("file");
  assert.ok(held.delegation, "a read delegation was granted");
  h.mark();
  h.server.flagNextSequence(SeqStatus.CB_PATH_DOWN_SESSION, { times: 1000 });
  // A READ a second for 10 s: the server keeps saying the path is down.
  for (let i = 0; i < 10; i++) {
    await h.drive(h.read(held));
    await h.tick(1_000);
  }
  assert.equal(count(h, "BIND_CONN_TO_SESSION"), 1, h.ops().join("\n"));
  assert.equal(count(h, "DELEGRETURN"), 1, h.ops().join("\n"));
  assert.equal(held.delegation, undefined);
  assert.deepEqual(h.events(["cb"]).filter((e) => e.startsWith("back channel")), [
    "back channel down",
  ]);
  assert.equal(h.m.backChannelDown, true);
  // A new OPEN asks for no delegation and gets none.
  const other = await h.drive(h.open("other"));
  assert.deepEqual(noDelegAsked(h), [true]);
  assert.equal(other.delegation, undefined);
});

Deno.test("4.1: BIND_CONN_TO_SESSION answered CDFS4_FORE (fore channel only) leaves the back channel down: not bound again until a new session, which is bound again (RFC 8881 §18.34.3, §18.46.3)", async () => {
  const { h, channel } = await client();
  await using _ = h;
  const file = await h.open("file");
  h.mark();
  channel.dir = ChannelDirFromServer.CDFS4_FORE;
  h.server.flagNextSequence(SeqStatus.CB_PATH_DOWN_SESSION, { times: 1000 });
  for (let i = 0; i < 10; i++) await h.drive(h.read(file));
  assert.equal(count(h, "BIND_CONN_TO_SESSION"), 1, h.ops().join("\n"));
  assert.ok(
    h.details(["cb"]).includes(
      "back channel down (BIND_CONN_TO_SESSION bound the fore channel only: not bound again " +
        "on this connection; 1 delegation(s) to return, OPENs ask for none)",
    ),
    h.details(["cb"]).join("\n"),
  );
  // A new session: its back channel may be bound again.
  h.mark();
  channel.dir = undefined;
  h.server.failNext("SEQUENCE", S.NFS4ERR_BADSESSION);
  await h.drive(h.read(file));
  await h.drive(h.read(file));
  assert.equal(count(h, "CREATE_SESSION"), 1, h.ops().join("\n"));
  assert.equal(count(h, "BIND_CONN_TO_SESSION"), 1, h.ops().join("\n"));
  assert.equal(h.m.backChannelDown, false);
});

Deno.test("4.1: once the server stops reporting the callback path down, delegations are asked for again (RFC 8881 §18.46.3)", async () => {
  const { h, channel } = await client();
  await using _ = h;
  const file = await h.open("file");
  channel.dir = ChannelDirFromServer.CDFS4_FORE;
  h.server.seqStatusFlags = SeqStatus.CB_PATH_DOWN_SESSION;
  await h.drive(h.read(file));
  await h.drive(h.read(file));
  assert.equal(h.m.backChannelDown, true);
  h.server.seqStatusFlags = 0;
  await h.drive(h.read(file));
  assert.equal(h.m.backChannelDown, false);
  assert.ok(h.events(["cb"]).includes("back channel up"), h.events(["cb"]).join("\n"));
  h.mark();
  const other = await h.drive(h.open("other"));
  assert.deepEqual(noDelegAsked(h), [false]);
  assert.ok(other.delegation, "a delegation was granted again");
});
