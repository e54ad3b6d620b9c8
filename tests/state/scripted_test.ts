/**
 * The scripted server (tests/state/_scripted.ts) itself: it is the oracle of
 * the state-manager tests, so its protocol rules are checked here with raw
 * COMPOUNDs: slot sequence ids (RFC 8881 §2.10.6.1), CREATE_SESSION
 * sequencing (§18.36.4), 4.0 owner seqids and replays (RFC 7530 §9.1.7,
 * §9.1.8), reboot staleness, and that real XDR runs both ways.
 */

import assert from "node:assert/strict";
import { XdrError } from "../../lib/xdr/mod.ts";
import type { CompoundReply, OpList } from "../../lib/nfs4/compound.ts";
import { Nfs4Status as S, statusName } from "../../lib/nfs4/status.ts";
import {
  ExchangeIdFlags,
  LockType,
  OpenClaimType,
  OpenResultFlags,
  StateProtectHow,
} from "../../lib/nfs4/constants.ts";
import { Attr } from "../../lib/nfs4/attrs.ts";
import { exchangeId, type ExchangeIdResult } from "../../lib/nfs4/ops/exchange_id.ts";
import { createSession, type CreateSessionResult } from "../../lib/nfs4/ops/create_session.ts";
import { sequence } from "../../lib/nfs4/ops/sequence.ts";
import { setclientid, type SetclientidResult } from "../../lib/nfs4/ops/setclientid.ts";
import { setclientidConfirm } from "../../lib/nfs4/ops/setclientid_confirm.ts";
import { renew } from "../../lib/nfs4/ops/renew.ts";
import { putrootfh } from "../../lib/nfs4/ops/putrootfh.ts";
import { putfh } from "../../lib/nfs4/ops/putfh.ts";
import { lookup } from "../../lib/nfs4/ops/lookup.ts";
import { getfh } from "../../lib/nfs4/ops/getfh.ts";
import { getattr } from "../../lib/nfs4/ops/getattr.ts";
import { open, type OpenResult } from "../../lib/nfs4/ops/open.ts";
import { openConfirm } from "../../lib/nfs4/ops/open_confirm.ts";
import { read } from "../../lib/nfs4/ops/read.ts";
import { close } from "../../lib/nfs4/ops/close.ts";
import type { Stateid } from "../../lib/nfs4/types.ts";
import { lockt } from "../../lib/nfs4/ops/lockt.ts";
import type { LockDenied } from "../../lib/nfs4/ops/lock.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { ScriptedChannel, ScriptedServer } from "./_scripted.ts";
import { harness } from "./_harness.ts";

const enc = new TextEncoder();

function statuses(reply: CompoundReply): string[] {
  return reply.outcomes.map((o) => statusName(o.status));
}

async function session41(channel: ScriptedChannel, slots = 2) {
  const ex = await channel.compound({
    minorVersion: 1,
    ops: [exchangeId({
      clientOwner: { verifier: new Uint8Array(8), ownerid: enc.encode("raw") },
      flags: 0,
      stateProtect: { how: StateProtectHow.SP4_NONE },
    })],
  });
  const { clientid, sequenceid } = ex.outcomes[0]!.value as ExchangeIdResult;
  const cs = await channel.compound({
    minorVersion: 1,
    ops: [createSession({
      clientid,
      sequence: sequenceid,
      flags: 0,
      foreChannel: {
        headerPadSize: 0,
        maxRequestSize: 65536,
        maxResponseSize: 65536,
        maxResponseSizeCached: 4096,
        maxOperations: 8,
        maxRequests: slots,
      },
      backChannel: {
        headerPadSize: 0,
        maxRequestSize: 4096,
        maxResponseSize: 4096,
        maxResponseSizeCached: 0,
        maxOperations: 2,
        maxRequests: 1,
      },
      cbProgram: 0x40000000,
      secParms: [{ flavor: 0 }],
    })],
  });
  const created = cs.outcomes[0]!.value as CreateSessionResult;
  return { clientid, sequenceid, sessionid: created.sessionid };
}

function seq(sessionid: Uint8Array, slotid: number, sequenceid: number, cachethis = false) {
  return sequence({ sessionid, sequenceid, slotid, highestSlotid: slotid, cachethis });
}

async function send(channel: ScriptedChannel, minorVersion: number, ops: OpList) {
  return await channel.compound({ minorVersion, ops });
}

Deno.test("scripted SEQUENCE: a new request is slot seqid + 1; the same seqid replays the cached reply (RFC 8881 §2.10.6.1)", async () => {
  const channel = new ScriptedChannel();
  const { sessionid } = await session41(channel);
  const first = await send(channel, 1, [seq(sessionid, 0, 1, true), putrootfh(), getfh()]);
  assert.deepEqual(statuses(first), ["NFS4_OK", "NFS4_OK", "NFS4_OK"]);
  const again = await send(channel, 1, [seq(sessionid, 0, 1, true), putrootfh(), getfh()]);
  assert.deepEqual(again, first);
  assert.equal(channel.log.at(-1)!.replay, true);
  // Uncached: a retry gets RETRY_UNCACHED_REP.
  await send(channel, 1, [seq(sessionid, 0, 2), putrootfh()]);
  const uncached = await send(channel, 1, [seq(sessionid, 0, 2), putrootfh()]);
  assert.deepEqual(statuses(uncached), ["NFS4_OK", "NFS4ERR_RETRY_UNCACHED_REP"]);
  // Skipping ahead or going back is misordered; the slot does not move.
  for (const bad of [4, 1, 0]) {
    const reply = await send(channel, 1, [seq(sessionid, 0, bad)]);
    assert.deepEqual(statuses(reply), ["NFS4ERR_SEQ_MISORDERED"], `seqid ${bad}`);
  }
  assert.deepEqual(statuses(await send(channel, 1, [seq(sessionid, 0, 3)])), ["NFS4_OK"]);
  // Slots are independent; a slot beyond the table is BADSLOT.
  assert.deepEqual(statuses(await send(channel, 1, [seq(sessionid, 1, 1)])), ["NFS4_OK"]);
  assert.deepEqual(statuses(await send(channel, 1, [seq(sessionid, 2, 1)])), ["NFS4ERR_BADSLOT"]);
});

Deno.test("scripted SEQUENCE reports highest and target slot ids and scripted status flags (RFC 8881 §18.46.3)", async () => {
  const server = new ScriptedServer({ maxSlots: 4 });
  const channel = new ScriptedChannel(server);
  const { sessionid } = await session41(channel, 16);
  server.targetHighestSlotid = 1;
  server.seqStatusFlags = 0x200;
  server.flagNextSequence(0x100);
  const a = await send(channel, 1, [seq(sessionid, 0, 1)]);
  const b = await send(channel, 1, [seq(sessionid, 0, 2)]);
  const results = [a, b].map((r) => r.outcomes[0]!.value as Record<string, number>);
  assert.deepEqual(results.map((r) => [r.highestSlotid, r.targetHighestSlotid, r.statusFlags]), [
    [3, 1, 0x300],
    [3, 1, 0x200],
  ]);
});

Deno.test("scripted 4.1: ops outside a session are OP_NOT_IN_SESSION; session-less ops must be alone (RFC 8881 §2.10.6, §18.46.3)", async () => {
  const channel = new ScriptedChannel();
  const { sessionid } = await session41(channel);
  assert.deepEqual(statuses(await send(channel, 1, [putrootfh()])), ["NFS4ERR_OP_NOT_IN_SESSION"]);
  assert.deepEqual(
    statuses(await send(channel, 1, [seq(sessionid, 0, 1), putrootfh(), seq(sessionid, 1, 1)])),
    ["NFS4_OK", "NFS4_OK", "NFS4ERR_SEQUENCE_POS"],
  );
  assert.deepEqual(statuses(await send(channel, 1, [renew(1n)])), ["NFS4ERR_OP_NOT_IN_SESSION"]);
  assert.deepEqual(
    statuses(await send(channel, 1, [seq(sessionid, 0, 2), renew(1n)])),
    ["NFS4_OK", "NFS4ERR_NOTSUPP"],
  );
});

Deno.test("scripted CREATE_SESSION: csa_sequence must be the EXCHANGE_ID sequenceid, then +1; the previous replays (RFC 8881 §18.36.4)", async () => {
  const server = new ScriptedServer();
  const channel = new ScriptedChannel(server);
  const { clientid, sequenceid, sessionid } = await session41(channel);
  const client = server.clients.get(clientid)!;
  assert.equal(client.confirmed, true);
  assert.equal(client.createSessionSeq, sequenceid + 1);
  const replayed = await send(channel, 1, [createSession({
    clientid,
    sequence: sequenceid,
    flags: 0,
    foreChannel: server.sessions.values().next().value!.slots.length === 2
      ? {
        headerPadSize: 0,
        maxRequestSize: 1,
        maxResponseSize: 1,
        maxResponseSizeCached: 1,
        maxOperations: 1,
        maxRequests: 1,
      }
      : assert.fail(),
    backChannel: {
      headerPadSize: 0,
      maxRequestSize: 1,
      maxResponseSize: 1,
      maxResponseSizeCached: 0,
      maxOperations: 1,
      maxRequests: 1,
    },
    cbProgram: 1,
    secParms: [],
  })]);
  assert.deepEqual((replayed.outcomes[0]!.value as CreateSessionResult).sessionid, sessionid);
  assert.equal(server.sessions.size, 1);
});

async function client40(channel: ScriptedChannel) {
  const sc = await send(channel, 0, [setclientid({
    client: { verifier: new Uint8Array(8), id: enc.encode("raw40") },
    callback: { program: 1, location: { netid: "tcp", addr: "0.0.0.0.0.0" } },
    callbackIdent: 1,
  })]);
  const { clientid, confirm } = sc.outcomes[0]!.value as SetclientidResult;
  await send(channel, 0, [setclientidConfirm({ clientid, confirm })]);
  const lk = await send(channel, 0, [putrootfh(), lookup("vfs"), getfh()]);
  return { clientid, vfs: lk.outcomes[2]!.value as Uint8Array };
}

function openOp(clientid: bigint, seqid: number, file = "file") {
  return open({
    seqid,
    shareAccess: 1,
    shareDeny: 0,
    owner: { clientid, owner: enc.encode("owner-a") },
    claim: { claim: OpenClaimType.CLAIM_NULL, file },
  });
}

Deno.test("scripted 4.0 owner seqids: a new owner must OPEN_CONFIRM; then seqid+1 proceeds, the last seqid replays, others are BAD_SEQID (RFC 7530 §9.1.7, §9.1.8)", async () => {
  const channel = new ScriptedChannel();
  const { clientid, vfs } = await client40(channel);
  const first = await send(channel, 0, [putfh(vfs), openOp(clientid, 10), getfh()]);
  const opened = first.outcomes[1]!.value as OpenResult;
  assert.ok(opened.rflags & OpenResultFlags.OPEN4_RESULT_CONFIRM);
  const fh = first.outcomes[2]!.value as Uint8Array;
  const confirmed = await send(channel, 0, [
    putfh(fh),
    openConfirm({ stateid: opened.stateid, seqid: 11 }),
  ]);
  const stateid = confirmed.outcomes[1]!.value as Stateid;
  assert.equal(stateid.seqid, 2);
  // Out of step.
  for (const bad of [13, 10, 0]) {
    const reply = await send(channel, 0, [putfh(vfs), openOp(clientid, bad, "other")]);
    assert.deepEqual(statuses(reply), ["NFS4_OK", "NFS4ERR_BAD_SEQID"], `seqid ${bad}`);
  }
  // A replay of seqid 11 (the OPEN_CONFIRM) answers with its cached reply.
  const replay = await send(channel, 0, [putfh(fh), openConfirm({ stateid, seqid: 11 })]);
  assert.deepEqual(replay.outcomes[1], confirmed.outcomes[1]);
  // A failing op (NOENT) consumes seqid 12; the next is 13.
  const noent = await send(channel, 0, [putfh(vfs), openOp(clientid, 12, "missing")]);
  assert.deepEqual(statuses(noent), ["NFS4_OK", "NFS4ERR_NOENT"]);
  const next = await send(channel, 0, [putfh(vfs), openOp(clientid, 13, "other")]);
  assert.deepEqual(statuses(next), ["NFS4_OK", "NFS4_OK"]);
  assert.equal(
    (next.outcomes[1]!.value as OpenResult).rflags & OpenResultFlags.OPEN4_RESULT_CONFIRM,
    0,
  );
  // CLOSE with the wrong seqid is refused; with the next one it closes.
  const other = (next.outcomes[1]!.value as OpenResult).stateid;
  assert.deepEqual(
    statuses(await send(channel, 0, [putfh(fh), close({ seqid: 20, stateid: other })])),
    ["NFS4_OK", "NFS4ERR_BAD_SEQID"],
  );
  assert.deepEqual(
    statuses(await send(channel, 0, [putfh(fh), close({ seqid: 14, stateid: other })])),
    ["NFS4_OK", "NFS4_OK"],
  );
});

Deno.test("scripted reboot: old client ID -> STALE_CLIENTID, old stateid -> STALE_STATEID (4.0) or BAD_STATEID (4.1), old session -> BADSESSION (RFC 7530 §9.6.2)", async () => {
  const server = new ScriptedServer();
  const c40 = new ScriptedChannel(server);
  const { clientid, vfs } = await client40(c40);
  const opened = await send(c40, 0, [putfh(vfs), openOp(clientid, 0), getfh()]);
  const stateid = (opened.outcomes[1]!.value as OpenResult).stateid;
  const fh = opened.outcomes[2]!.value as Uint8Array;
  const c41 = new ScriptedChannel(server);
  const { sessionid } = await session41(c41);
  server.reboot();
  assert.equal(server.grace, true);
  assert.deepEqual(statuses(await send(c40, 0, [renew(clientid)])), ["NFS4ERR_STALE_CLIENTID"]);
  assert.deepEqual(
    statuses(await send(c40, 0, [putfh(fh), read({ stateid, offset: 0n, count: 10 })])),
    ["NFS4_OK", "NFS4ERR_STALE_STATEID"],
  );
  assert.deepEqual(statuses(await send(c41, 1, [seq(sessionid, 0, 1)])), ["NFS4ERR_BADSESSION"]);
  const fresh = await session41(c41);
  assert.deepEqual(
    statuses(
      await send(c41, 1, [
        seq(fresh.sessionid, 0, 1),
        putfh(fh),
        read({ stateid, offset: 0n, count: 1 }),
      ]),
    ),
    ["NFS4_OK", "NFS4_OK", "NFS4ERR_BAD_STATEID"],
  );
});

Deno.test("scripted OPEN in grace: CLAIM_NULL -> GRACE, CLAIM_PREVIOUS allowed; after grace CLAIM_PREVIOUS -> NO_GRACE (RFC 7530 §9.6.2)", async () => {
  const server = new ScriptedServer();
  const channel = new ScriptedChannel(server);
  server.reboot();
  const { clientid, vfs } = await client40(channel);
  assert.deepEqual(
    statuses(await send(channel, 0, [putfh(vfs), openOp(clientid, 0)])),
    ["NFS4_OK", "NFS4ERR_GRACE"],
  );
  const fh = server.file("/vfs/file")!.fh;
  const previous = open({
    seqid: 1,
    shareAccess: 1,
    shareDeny: 0,
    owner: { clientid, owner: enc.encode("owner-a") },
    claim: { claim: OpenClaimType.CLAIM_PREVIOUS, delegateType: 0 },
  });
  assert.deepEqual(statuses(await send(channel, 0, [putfh(fh), previous])), ["NFS4_OK", "NFS4_OK"]);
  server.endGrace();
  const after = open({
    seqid: 0,
    shareAccess: 1,
    shareDeny: 0,
    owner: { clientid, owner: enc.encode("owner-b") },
    claim: { claim: OpenClaimType.CLAIM_PREVIOUS, delegateType: 0 },
  });
  assert.deepEqual(statuses(await send(channel, 0, [putfh(fh), after])), [
    "NFS4_OK",
    "NFS4ERR_NO_GRACE",
  ]);
});

Deno.test("scripted GETATTR returns just the attributes asked for, lease_time among them (RFC 7530 §5.8.1.11)", async () => {
  const channel = new ScriptedChannel(new ScriptedServer({ leaseTime: 45 }));
  const { sessionid } = await session41(channel);
  const reply = await send(channel, 1, [
    seq(sessionid, 0, 1),
    putrootfh(),
    getattr([Attr.LEASE_TIME, Attr.TYPE]),
  ]);
  const value = reply.outcomes[2]!.value as { attrs: Record<string, unknown> };
  assert.deepEqual(value.attrs, { type: 2, leaseTime: 45 });
});

Deno.test("scripted channel runs real XDR: an argument the codec refuses fails at encoding", async () => {
  const channel = new ScriptedChannel();
  // A name past the XDR limit is refused as NFS4ERR_NAMETOOLONG, before anything is sent.
  await assert.rejects(
    send(channel, 0, [lookup("x".repeat(5000))]),
    (e) => e instanceof NfsError && e.status === S.NFS4ERR_NAMETOOLONG,
  );
  await assert.rejects(
    send(channel, 0, [
      read({ stateid: { seqid: 0, other: new Uint8Array(11) }, offset: 0n, count: 1 }),
    ]),
    XdrError,
  );
  assert.equal(channel.log.length, 0);
});

Deno.test("scripted failNext(): after, times, and the op log with statuses", async () => {
  const server = new ScriptedServer();
  const channel = new ScriptedChannel(server);
  server.failNext("PUTROOTFH", S.NFS4ERR_DELAY, { after: 1, times: 2 });
  const { sessionid } = await session41(channel);
  const results: string[] = [];
  for (let i = 1; i <= 4; i++) {
    results.push(statuses(await send(channel, 1, [seq(sessionid, 0, i), putrootfh()])).join(","));
  }
  assert.deepEqual(results, [
    "NFS4_OK,NFS4_OK",
    "NFS4_OK,NFS4ERR_DELAY",
    "NFS4_OK,NFS4ERR_DELAY",
    "NFS4_OK,NFS4_OK",
  ]);
  assert.deepEqual(channel.opNames(), [
    "EXCHANGE_ID",
    "CREATE_SESSION",
    "SEQUENCE,PUTROOTFH",
    "SEQUENCE,PUTROOTFH -> NFS4ERR_DELAY",
    "SEQUENCE,PUTROOTFH -> NFS4ERR_DELAY",
    "SEQUENCE,PUTROOTFH",
  ]);
  assert.equal(server.pendingFaults, 0);
});

Deno.test("scripted EXCHANGE_ID: the same owner and verifier get the same client ID, CONFIRMED once a session exists (RFC 8881 §18.35.4)", async () => {
  const server = new ScriptedServer();
  const channel = new ScriptedChannel(server);
  const { clientid } = await session41(channel);
  const again = await send(channel, 1, [exchangeId({
    clientOwner: { verifier: new Uint8Array(8), ownerid: enc.encode("raw") },
    flags: 0,
    stateProtect: { how: StateProtectHow.SP4_NONE },
  })]);
  const result = again.outcomes[0]!.value as ExchangeIdResult;
  assert.equal(result.clientid, clientid);
  assert.ok(result.flags & ExchangeIdFlags.EXCHGID4_FLAG_CONFIRMED_R);
});

Deno.test("scripted LOCKT: DENIED with the holder for another owner's conflicting lock, OK for the holder itself (RFC 7530 §16.11)", async () => {
  await using a = await harness(1, { ownerId: "client-a" });
  await using b = await harness(1, { server: a.server, ownerId: "client-b" });
  const fa = await a.open("file", 3);
  await a.lock(fa, { offset: 0n, length: 10n });
  const holder = fa.locks[0]!.owner;
  const test = (h: typeof a, type: number) =>
    h.m.run(
      () =>
        [
          putfh(fa.fh),
          lockt({
            locktype: type,
            offset: 5n,
            length: 1n,
            owner: { clientid: h.m.client.clientId!, owner: (h === a ? holder : h.m.lockOwner).id },
          }),
        ] as const,
      { final: new Set([S.NFS4ERR_DENIED]) },
    ).then(() => "free", (e: NfsError) => {
      const denied = e.detail as LockDenied;
      return `${e.statusName} ${denied.offset}+${denied.length} ${
        new TextDecoder().decode(denied.owner.owner)
      }`;
    });
  assert.equal(await test(b, LockType.READ_LT), `NFS4ERR_DENIED 0+10 ${holder.label}`);
  assert.equal(await test(a, LockType.WRITE_LT), "free");
  await a.unlock(fa, { offset: 0n, length: 10n });
  assert.equal(await test(b, LockType.WRITE_LT), "free");
});
