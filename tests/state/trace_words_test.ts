/**
 * The trace says what went on the wire (audit C, items 3, 4, 5 and 6): the
 * OPEN_CONFIRM line gives the seqid it carried (RFC 7530 §16.18.2), a READ
 * summary's xid range covers every READ it counts though replies come out
 * of order, a resent 4.1 renewal is named `SEQUENCE` (RFC 8881 §18.46), the
 * lease running out locally says it once, and the JSON trace's `clientid`
 * is hex as the text, renew-watch and tshark give it.
 */

import assert from "node:assert/strict";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import type { OpenConfirmArgs } from "../../lib/nfs4/ops/open_confirm.ts";
import {
  type CompoundTrace,
  filteredSink,
  formatTraceJson,
  formatTraceText,
  type TraceEvent,
  Tracer,
} from "../../lib/state/trace.ts";
import { harness } from "./_harness.ts";

Deno.test("4.0: the trace's OPEN_CONFIRM line gives the seqid the OPEN_CONFIRM carried, not the owner's next one (RFC 7530 §9.1.7, §16.18.2)", async () => {
  await using h = await harness(0);
  await h.open();
  const sent = h.entries().flatMap((e) =>
    e.ops.flatMap((name, i) => (name === "OPEN_CONFIRM" ? [e.args[i] as OpenConfirmArgs] : []))
  );
  assert.equal(sent.length, 1, h.ops().join(" | "));
  const traced = h.details(["owner"]).filter((d) => d.startsWith("OPEN_CONFIRM "));
  assert.equal(traced.length, 1);
  assert.match(traced[0]!, new RegExp(`^OPEN_CONFIRM open-\\S+ \\(seqid ${sent[0]!.seqid}\\)$`));
  assert.equal(sent[0]!.seqid, 1, "the OPEN took seqid 0");
});

function summarised(xids: readonly number[]): TraceEvent {
  let now = 0;
  const events: TraceEvent[] = [];
  const tracer = new Tracer(
    () => now,
    filteredSink((e) => events.push(e), { categories: ["ops"] }),
  );
  const read = (xid: number): CompoundTrace => ({
    direction: "call",
    xid,
    ops: ["SEQUENCE", "PUTFH", "READ"],
    outcomes: [
      { name: "SEQUENCE", status: S.NFS4_OK },
      { name: "PUTFH", status: S.NFS4_OK },
      { name: "READ", status: S.NFS4_OK, value: { eof: false, data: new Uint8Array(1024) } },
    ],
    sentBytes: 160,
    receivedBytes: 1100,
    ms: 1,
  });
  for (const xid of xids) {
    now += 1;
    tracer.compound(read(xid));
  }
  tracer.flush();
  assert.equal(events.length, 1, events.map(formatTraceText).join("\n"));
  return events[0]!;
}

Deno.test("Tracer: a READ summary's xid range is the lowest to the highest xid of the READs it counts, whatever order their replies came in (RFC 5531 §9: a reply is matched to its call by xid alone)", () => {
  // Replies in the order they came (tshark of audit C's big.pcap: the last
  // reply received was not the last call sent).
  const e = summarised([0x6346b5e8, 0x6346b5e9, 0x6346b5ea, 0x6346b5ed, 0x6346b5ec, 0x6346b5eb]);
  assert.match(formatTraceText(e), /, xid 0x6346b5e8\.\.0x6346b5ed\)$/);
  assert.deepEqual(JSON.parse(formatTraceJson(e)).xids, ["0x6346b5e8", "0x6346b5ed"]);
  // The first reply need not be of the lowest xid.
  const later = summarised([0x20, 0x1e, 0x1f, 0x21]);
  assert.match(formatTraceText(later), /, xid 0x0000001e\.\.0x00000021\)$/);
  // xids wrap at 2^32: still one range, in the order they were sent.
  const wrapped = summarised([0xfffffffe, 0x00000001, 0xffffffff, 0x00000000]);
  assert.match(formatTraceText(wrapped), /, xid 0xfffffffe\.\.0x00000001\)$/);
});

Deno.test("4.1: a renewal (a COMPOUND of SEQUENCE alone) resent after a lost reply is traced 'SEQUENCE resend', not with an empty name (RFC 8881 §18.46)", async () => {
  await using h = await harness(1, { leaseTime: 30, callTimeoutMs: 2_000 });
  await h.open();
  h.channel.dropReplies("SEQUENCE", { times: 1 });
  h.mark();
  const renewed = h.m.renewNow();
  await h.drive(renewed, 50);
  const resends = h.events(["retry"]).filter((e) => e.endsWith("resend"));
  assert.deepEqual(resends, ["SEQUENCE resend"], h.details(["retry"]).join("\n"));
});

Deno.test("the lease running out locally (RFC 7530 §9.6.3, RFC 8881 §8.3) is said once: the event is its name, the detail only what it does not say", async () => {
  await using h = await harness(1, { leaseTime: 10 });
  const file = await h.open("file", 3);
  await h.lock(file, { offset: 0n, length: 10n });
  h.channel.dropReplies("SEQUENCE", { times: 10_000, beforeServer: true });
  h.channel.silent = true;
  await h.tick(10_500, 100);
  const ranOut = h.trace.filter((e) => e.event === "lease ran out locally");
  assert.ok(ranOut.length > 0);
  for (const e of ranOut) {
    assert.ok(!e.detail?.includes("lease ran out locally"), formatTraceText(e));
    assert.match(e.detail ?? "", /^no renewal (answered )?for [0-9.]+ m?s with a 10 s lease/);
  }
  // The lock's own reason still says both.
  assert.match(
    file.locks[0]!.bad ?? "",
    /^lock lost: lease ran out locally: no renewal answered for /,
  );
  h.channel.clearDrops();
  h.channel.silent = false;
});

for (const minor of [0, 1] as const) {
  Deno.test(`4.${minor}: the JSON trace's clientid is 0x and 16 hex digits, as the text detail gives it (and tshark) for the clientid4 of SETCLIENTID and EXCHANGE_ID (RFC 7530 §16.33, RFC 8881 §18.35); library users still get a bigint`, async () => {
    await using h = await harness(minor);
    const made = h.trace.find((e) => e.event === "SETCLIENTID ok" || e.event === "EXCHANGE_ID ok");
    assert.ok(made);
    assert.equal(typeof made.data?.["clientid"], "bigint");
    const json = JSON.parse(formatTraceJson(made));
    const text = h.m.client.clientIdText;
    assert.match(text, /^0x[0-9a-f]{16}$/);
    assert.equal(json.clientid, text);
    assert.ok(made.detail?.includes(`clientid ${text} `), String(made.detail));
    assert.equal(BigInt(json.clientid), h.m.client.clientId);
  });
}

Deno.test("formatTraceJson(): only 64-bit identifiers become hex; other bigints stay decimal strings, byte arrays hex", () => {
  const line = formatTraceJson({
    time: 1,
    category: "clid",
    event: "EXCHANGE_ID ok",
    data: { clientid: 0x6b16a81f0000000an, size: 4096n, session: new Uint8Array([5, 0, 0xff]) },
  });
  assert.deepEqual(JSON.parse(line), {
    t: 1,
    cat: "clid",
    event: "EXCHANGE_ID ok",
    clientid: "0x6b16a81f0000000a",
    size: "4096",
    session: "0500ff",
  });
});
