/**
 * The `ops` event of a COMPOUND answered with no results (the server ran
 * none of its ops: NFS4ERR_MINOR_VERS_MISMATCH, RFC 7530 §15.2, RFC 8881
 * §15.1.3.5) lists the ops sent, from the request, and the COMPOUND's
 * status. Before, it listed nothing: `xid=0x327c4126    (180 B -> 36 B, …)`
 * and `"ops":[]`.
 */

import assert from "node:assert/strict";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import {
  filteredSink,
  formatTraceJson,
  formatTraceText,
  type TraceEvent,
  Tracer,
} from "../../lib/state/trace.ts";

function listen(): { tracer: Tracer; events: TraceEvent[] } {
  const events: TraceEvent[] = [];
  let now = 0;
  const tracer = new Tracer(
    () => now++,
    filteredSink((e) => events.push(e), { categories: ["ops"] }),
  );
  return { tracer, events };
}

Deno.test("Tracer.compound(): a reply with no results shows the ops sent and the COMPOUND status", () => {
  const { tracer, events } = listen();
  tracer.compound({
    direction: "call",
    xid: 0x327c4126,
    ops: ["EXCHANGE_ID"],
    outcomes: [],
    status: S.NFS4ERR_MINOR_VERS_MISMATCH,
    sentBytes: 180,
    receivedBytes: 36,
    ms: 0.68,
  });
  assert.equal(events.length, 1);
  const event = events[0]!;
  assert.equal(
    formatTraceText(event).trimStart(),
    "0.001 ops   xid=0x327c4126  EXCHANGE_ID not run: COMPOUND NFS4ERR_MINOR_VERS_MISMATCH  (180 B -> 36 B, 0.68 ms)",
  );
  const json = JSON.parse(formatTraceJson(event));
  assert.deepEqual(json.ops, [{ op: "EXCHANGE_ID" }]);
  assert.equal(json.status, "NFS4ERR_MINOR_VERS_MISMATCH");
  assert.equal(json.received, 36);
});

Deno.test("Tracer.compound(): a reply with no results and no status known still names the ops sent", () => {
  const { tracer, events } = listen();
  tracer.compound({
    direction: "call",
    xid: 1,
    ops: ["SEQUENCE", "PUTFH", "READ"],
    outcomes: [],
    sentBytes: 140,
    receivedBytes: 36,
    ms: 1,
  });
  assert.equal(events[0]!.event, "xid=0x00000001  SEQUENCE, PUTFH, READ not run: no results");
  const json = JSON.parse(formatTraceJson(events[0]!));
  assert.deepEqual(json.ops, [{ op: "SEQUENCE" }, { op: "PUTFH" }, { op: "READ" }]);
  assert.equal(json.status, undefined);
});

Deno.test("Tracer.compound(): a reply with results is told as before, with no COMPOUND status field", () => {
  const { tracer, events } = listen();
  tracer.compound({
    direction: "call",
    xid: 2,
    ops: ["PUTROOTFH", "LOOKUP", "GETFH"],
    outcomes: [
      { name: "PUTROOTFH", status: S.NFS4_OK },
      { name: "LOOKUP", status: S.NFS4ERR_NOENT },
    ],
    status: S.NFS4ERR_NOENT,
    sentBytes: 100,
    receivedBytes: 50,
    ms: 1,
  });
  assert.match(events[0]!.event, /PUTROOTFH ok, LOOKUP NFS4ERR_NOENT \(1 more not run\)$/);
  assert.equal(JSON.parse(formatTraceJson(events[0]!)).status, undefined);
});
