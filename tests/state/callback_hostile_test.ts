/**
 * What the callback service makes of a broken or hostile server (RFC 8881
 * §2.10.6.4, §20.2.3, §20.9.3; RFC 5531 §9): a CB_RECALL naming a file the
 * client holds no delegation on, a CB_COMPOUND with more operations or more
 * bytes than the back channel granted, a CALL of another version of the
 * callback program. Against the scripted server, callbacks delivered in
 * memory through the client's own RPC dispatch (real XDR both ways); the
 * session, slot and sequence checks of CB_SEQUENCE are in
 * tests/integration/delegation_tcp_test.ts.
 */

import assert from "node:assert/strict";
import { CALLBACK_PROGRAM } from "../../lib/state/callback.ts";
import { Nfs4Status as S, statusName } from "../../lib/nfs4/status.ts";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import { cbNotify, cbRecall, cbRecallAny } from "../../lib/nfs4/callback.ts";
import type { Nfs4Op } from "../../lib/nfs4/compound.ts";
import { PROG_MISMATCH } from "../../lib/rpc/message.ts";
import { XdrReader } from "../../lib/xdr/mod.ts";
import { Harness } from "./_harness.ts";
import {
  type CallbackOutcome,
  deliverCallbacksInMemory,
  type ScriptedServer,
} from "./_scripted.ts";

const READ = ShareAccess.OPEN4_SHARE_ACCESS_READ;
const WRITE = ShareAccess.OPEN4_SHARE_ACCESS_WRITE;

/** One client on a server granting read delegations, its callbacks delivered in memory. */
async function client(minor: 0 | 1): Promise<{ h: Harness; server: ScriptedServer }> {
  const h = new Harness(minor, { delegations: { read: true }, ownerId: "cb-hostile" });
  deliverCallbacksInMemory(h.server);
  if (minor === 1) h.channel.enableBackchannel();
  await h.m.start();
  if (minor === 0) h.channel.attachCallbacks(CALLBACK_PROGRAM, h.m.callbacks.handler);
  h.mark();
  return { h, server: h.server };
}

function outcomes(outcome: CallbackOutcome): string[] | undefined {
  return outcome.reply?.outcomes.map((o) => `${o.name} ${statusName(o.status)}`);
}

for (const minor of [0, 1] as const) {
  const v = minor === 0 ? "4.0" : "4.1";
  const seq = minor === 1 ? ["CB_SEQUENCE NFS4_OK"] : [];

  Deno.test(`${v}: a CB_RECALL naming a file the client holds no delegation on is answered NFS4ERR_BADHANDLE and recalls nothing, even with a real delegation stateid (RFC 8881 §20.2.3)`, async () => {
    const { h, server } = await client(minor);
    await using _h = h;
    const file = await h.open("file", READ);
    // Open for writing: no delegation (the server grants read ones only).
    const other = await h.open("other", WRITE);
    assert.equal(other.delegation, undefined);
    const deleg = server.delegationsOf("/vfs/file")[0]!;
    const stateid = server.delegationStateid(deleg);
    const unknownFh = await server.sendCallback(h.m.client.clientId!, [
      cbRecall({ stateid, truncate: false, fh: new TextEncoder().encode("no such file") }),
    ]);
    assert.deepEqual(outcomes(unknownFh), [...seq, "CB_RECALL NFS4ERR_BADHANDLE"]);
    const otherFh = await server.sendCallback(h.m.client.clientId!, [
      cbRecall({ stateid, truncate: false, fh: other.fh }),
    ]);
    assert.deepEqual(outcomes(otherFh), [...seq, "CB_RECALL NFS4ERR_BADHANDLE"]);
    assert.equal(file.delegation?.recalled, false, "the delegation on the file is not recalled");
    assert.equal(h.m.hasFlag("DELEGRETURN"), false);
    // The right file handle and stateid still recall it.
    const good = await server.sendCallback(h.m.client.clientId!, [
      cbRecall({ stateid, truncate: false, fh: file.fh }),
    ]);
    assert.deepEqual(outcomes(good), [...seq, "CB_RECALL NFS4_OK"]);
    // Recalled: being returned, or returned already.
    assert.ok(file.delegation === undefined || file.delegation.recalled);
  });

  Deno.test(`${v}: a CALL of another version of the callback program is answered PROG_MISMATCH, version 1 only (RFC 5531 §9, RFC 7530 §16.33.1)`, async () => {
    const { h } = await client(minor);
    await using _h = h;
    const before = h.m.callbacks.calls;
    for (const version of [0, 2, 4]) {
      const result = await h.m.callbacks.handler({
        xid: 7,
        program: CALLBACK_PROGRAM,
        version,
        procedure: 1,
        credential: { flavor: 0, body: new Uint8Array() },
        verifier: { flavor: 0, body: new Uint8Array() },
        args: new XdrReader(new Uint8Array(16)),
      });
      assert.deepEqual(result, { acceptStat: PROG_MISMATCH, mismatch: { low: 1, high: 1 } });
    }
    assert.equal(h.m.callbacks.calls, before + 3);
  });
}

Deno.test("4.1: a CB_COMPOUND of more operations than the back channel's ca_maxoperations is answered NFS4ERR_TOO_MANY_OPS in CB_SEQUENCE; none is run and the slot does not advance (RFC 8881 §2.10.6.4, §20.9.3)", async () => {
  const { h, server } = await client(1);
  await using _h = h;
  const file = await h.open("file", READ);
  const id = h.m.client.clientId!;
  const back = h.m.client.session!.back!;
  const many = Array.from(
    { length: back.maxOperations },
    () => cbRecallAny({ objectsToKeep: 0, typeMask: new Set([0]) }) as Nfs4Op<unknown>,
  );
  const session = [...server.sessions.values()].find((s) => s.client.clientid === id)!;
  const seqid = session.backChannel!.seqid;
  const tooMany = await server.sendCallback(id, many);
  assert.equal(tooMany.reply?.status, S.NFS4ERR_TOO_MANY_OPS);
  assert.deepEqual(outcomes(tooMany), ["CB_SEQUENCE NFS4ERR_TOO_MANY_OPS"]);
  assert.equal(file.delegation?.recalled, false, "no CB_RECALL_ANY was run");
  assert.equal(h.m.hasFlag("DELEGRETURN"), false);
  // The slot did not take that sequence id: the next one is the same.
  const ok = await server.sendCallback(id, many.slice(1), { sequenceid: seqid + 1 });
  assert.deepEqual(outcomes(ok), [
    "CB_SEQUENCE NFS4_OK",
    ...many.slice(1).map(() => "CB_RECALL_ANY NFS4_OK"),
  ]);
});

Deno.test("4.1: a CB_COMPOUND larger than the back channel's ca_maxrequestsize is answered NFS4ERR_REQ_TOO_BIG in CB_SEQUENCE without acting on it (RFC 8881 §2.10.6.4, §18.36.3)", async () => {
  const { h, server } = await client(1);
  await using _h = h;
  const file = await h.open("file", READ);
  const id = h.m.client.clientId!;
  const back = h.m.client.session!.back!;
  const big = await server.sendCallback(id, [
    cbNotify({
      stateid: file.stateid,
      fh: file.fh,
      changes: [{ mask: new Set([0]), values: new Uint8Array(back.maxRequestSize) }],
    }) as Nfs4Op<unknown>,
    cbRecallAny({ objectsToKeep: 0, typeMask: new Set([0]) }) as Nfs4Op<unknown>,
  ]);
  assert.equal(big.reply?.status, S.NFS4ERR_REQ_TOO_BIG);
  assert.deepEqual(outcomes(big), ["CB_SEQUENCE NFS4ERR_REQ_TOO_BIG"]);
  assert.equal(file.delegation?.recalled, false);
  // One that fits is served.
  const small = await server.sendCallback(id, [
    cbRecallAny({ objectsToKeep: 0, typeMask: new Set([0]) }) as Nfs4Op<unknown>,
  ]);
  assert.deepEqual(outcomes(small), ["CB_SEQUENCE NFS4_OK", "CB_RECALL_ANY NFS4_OK"]);
});
