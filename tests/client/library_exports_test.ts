/**
 * What mod.ts gives a library user beyond tests/client/exports_test.ts: the
 * trace sink helpers the README names (`filteredSink`, `TRACE_CATEGORIES`),
 * the error classes a method can throw from the layers below (a malformed
 * or oversized reply, a reply that is not ONC RPC), and, as types, what the
 * public signatures use (checked by compiling this file: a type missing
 * from mod.ts fails the test run).
 */

import assert from "node:assert/strict";
import * as nfs4 from "../../mod.ts";
import type {
  AttributeReport,
  ConnectOptions,
  CopyProgress,
  LeaseProbe,
  LockDenial,
  LockOptions,
  PcapWriter,
  PreserveSet,
  ReaddirField,
  ReaddirOptions,
  RecordTap,
  SparseMode,
  TraceEvent,
  TraceFilter,
  TraceSink,
} from "../../mod.ts";

Deno.test("mod.ts exports filteredSink and the trace categories (README: Tracing)", () => {
  const seen: string[] = [];
  const filter: TraceFilter = { categories: ["ops"], everyOp: false };
  const sink: TraceSink = nfs4.filteredSink((e: TraceEvent) => seen.push(e.event), filter);
  assert.deepEqual(sink.filter, filter);
  const tracer = new nfs4.Tracer(() => 0, sink);
  tracer.emit("state", "+LEASE_EXPIRED");
  assert.deepEqual(seen, [], "a sink asking for ops gets no state event");
  assert.ok(nfs4.TRACE_CATEGORIES.includes("ops"));
  assert.ok(!nfs4.DEFAULT_TRACE_CATEGORIES.includes("ops"));
});

Deno.test("mod.ts exports the error classes of the layers below a method: XdrError, RpcProtocolError, RpcRecordTooLargeError, Nfs4ProtocolError", () => {
  const exported = nfs4 as unknown as Record<string, { prototype: unknown }>;
  for (
    const name of [
      "XdrError",
      "RpcProtocolError",
      "RpcRecordTooLargeError",
      "RpcRecordTooFragmentedError",
      "Nfs4ProtocolError",
      "RecoveryError",
      "SendWaitTimeoutError",
    ]
  ) {
    assert.equal(typeof exported[name], "function", `${name} is exported`);
    assert.ok(exported[name]!.prototype instanceof Error, `${name} is an Error class`);
  }
  assert.ok(new nfs4.RpcRecordTooLargeError(10, 5) instanceof nfs4.RpcError);
  assert.ok(new nfs4.RpcProtocolError("x") instanceof nfs4.RpcError);
});

Deno.test("mod.ts exports the types its public signatures use; ConnectOptions takes a tracer", () => {
  const tracer = new nfs4.Tracer();
  const events: string[] = [];
  tracer.subscribe((e) => events.push(e.event));
  // Compiles only when ConnectOptions has `tracer` (Nfs4Client.connect accepted it untyped).
  const options: ConnectOptions = { host: "127.0.0.1", port: 2049, tracer };
  assert.equal(options.tracer, tracer);
  const uses: [
    AttributeReport?,
    CopyProgress?,
    LeaseProbe?,
    LockDenial?,
    LockOptions?,
    PcapWriter?,
    PreserveSet?,
    ReaddirField?,
    ReaddirOptions?,
    RecordTap?,
    SparseMode?,
  ] = [];
  assert.equal(uses.length, 0);
});
