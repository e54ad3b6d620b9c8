/**
 * Replies a hostile or broken server might send: every one must raise
 * XdrError quickly, without allocating what the reply claims.
 */

import assert from "node:assert/strict";
import process from "node:process";
import fc from "fast-check";
import { XdrError, XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";
import { Attr, encodeBitmap } from "../../lib/nfs4/attrs.ts";
import { decodeCompoundReply } from "../../lib/nfs4/compound.ts";
import { Nfs4ProtocolError } from "../../lib/nfs4/errors.ts";
import { EXCHANGE_ID } from "../../lib/nfs4/ops/exchange_id.ts";
import { getattr } from "../../lib/nfs4/ops/getattr.ts";
import { OPEN } from "../../lib/nfs4/ops/open.ts";
import { READ, read } from "../../lib/nfs4/ops/read.ts";
import { write } from "../../lib/nfs4/ops/write.ts";
import { READDIR, readdir } from "../../lib/nfs4/ops/readdir.ts";
import { SECINFO } from "../../lib/nfs4/ops/secinfo.ts";
import { sequence } from "../../lib/nfs4/ops/sequence.ts";
import { TEST_STATEID } from "../../lib/nfs4/ops/test_stateid.ts";
import { ANONYMOUS_STATEID } from "../../lib/nfs4/types.ts";
import { hex } from "./_helpers.ts";

/**
 * Asserts `fn` throws XdrError within a generous bound of this process's
 * CPU time (not wall time: a loaded machine stretches that, while a decoder
 * that walks or fills what a hostile length claims burns CPU either way).
 */
function assertFastXdrError(fn: () => unknown, pattern?: RegExp): void {
  const started = process.cpuUsage();
  assert.throws(fn, (e: unknown) => e instanceof XdrError && (!pattern || pattern.test(e.message)));
  const used = process.cpuUsage(started);
  const ms = (used.user + used.system) / 1000;
  assert.ok(ms < 500, `took ${ms} ms of CPU`);
}

function readdirEntries(count: number, terminated: boolean): Uint8Array {
  const w = new XdrWriter(count * 32 + 64);
  w.writeFixedOpaque(new Uint8Array(8)); // cookieverf
  for (let i = 0; i < count; i++) {
    w.writeBool(true);
    w.writeUhyper(BigInt(i + 3));
    w.writeString(`f${i}`);
    w.writeUint(0); // empty bitmap
    w.writeUint(0); // no values
  }
  if (terminated) {
    w.writeBool(false);
    w.writeBool(true);
  }
  return w.bytes().slice();
}

Deno.test("decodeReaddir() walks a 10k-entry list without recursion", () => {
  const r = new XdrReader(readdirEntries(10_000, true));
  const result = READDIR.decodeResult(r);
  r.assertEnd();
  assert.equal(result.entries.length, 10_000);
  assert.equal(result.entries[9_999]!.name, "f9999");
});

Deno.test("decodeReaddir() rejects a 10k-entry list that ends early", () => {
  const bytes = readdirEntries(10_000, false);
  assertFastXdrError(() => READDIR.decodeResult(new XdrReader(bytes)), /truncated/);
  // and cut in the middle of an entry
  assertFastXdrError(() => READDIR.decodeResult(new XdrReader(bytes.subarray(0, 1000))));
});

Deno.test("decodeReaddir() rejects an entry whose name claims a billion bytes", () => {
  const bytes = hex("00000000 00000000 00000001 00000000 00000003 3b9aca00 41424344");
  assertFastXdrError(() => READDIR.decodeResult(new XdrReader(bytes)), /exceeds maximum 4096/);
});

Deno.test("decodeReaddir() rejects an entry whose attributes claim a huge length", () => {
  const bytes = hex(
    "00000000 00000000 00000001 00000000 00000003 00000001 61000000 00000001 00000010 7fffffff",
  );
  assertFastXdrError(() => READDIR.decodeResult(new XdrReader(bytes)), /exceeds maximum/);
});

Deno.test("decodeReaddir() rejects an entry whose bitmap claims a billion words", () => {
  const bytes = hex("00000000 00000000 00000001 00000000 00000003 00000001 61000000 3b9aca00");
  assertFastXdrError(() => READDIR.decodeResult(new XdrReader(bytes)), /exceeds maximum 16/);
});

Deno.test("decodeCompoundReply() of READDIR claiming a billion entries fails fast", () => {
  // One entry follows, then the server claims more (value_follows) with nothing behind it.
  const w = new XdrWriter();
  w.writeUint(0).writeString("").writeUint(1);
  w.writeUint(26).writeUint(0);
  w.writeFixedOpaque(new Uint8Array(8));
  w.writeBool(true).writeUhyper(1_000_000_000n).writeString("x").writeUint(0).writeUint(0);
  w.writeBool(true);
  const ops = [
    readdir({
      cookie: 0n,
      cookieverf: new Uint8Array(8),
      dircount: 0,
      maxcount: 0,
      attrRequest: [],
    }),
  ];
  assertFastXdrError(() => decodeCompoundReply(new XdrReader(w.bytes()), ops));
});

Deno.test("array decoders reject a billion claimed elements before allocating", () => {
  const billion = "3b9aca00";
  assertFastXdrError(
    () => TEST_STATEID.decodeResult(new XdrReader(hex(billion))),
    /exceeds maximum 1024/,
  );
  assertFastXdrError(() => SECINFO.decodeResult(new XdrReader(hex(billion))), /exceeds maximum/);
  // Within the maximum but more than the remaining bytes can hold.
  assertFastXdrError(
    () => TEST_STATEID.decodeResult(new XdrReader(hex("00000400 00000000"))),
    /cannot fit/,
  );
});

Deno.test("TEST_STATEID's answer holds one status per stateid sent (RFC 8881 §18.48.3)", () => {
  const sent = [ANONYMOUS_STATEID, ANONYMOUS_STATEID, ANONYMOUS_STATEID];
  // An empty answer would have left every stateid taken as valid.
  for (
    const answer of [
      "00000000",
      "00000002 00000000 00000000",
      "00000004 00000000 00000000 00000000 00000000",
    ]
  ) {
    assert.throws(
      () => TEST_STATEID.decodeResult(new XdrReader(hex(answer)), sent),
      (e: unknown) =>
        e instanceof XdrError && /TEST_STATEID answered \d statuses for 3 stateids/.test(e.message),
    );
  }
  assert.deepEqual(
    TEST_STATEID.decodeResult(new XdrReader(hex("00000003 00000000 00002725 00000000")), sent),
    [0, 10021, 0],
  );
});

Deno.test("decodeRead() rejects data longer than the reply or Limits.readData", () => {
  assertFastXdrError(() => READ.decodeResult(new XdrReader(hex("00000000 00100000 00"))));
  assertFastXdrError(
    () => READ.decodeResult(new XdrReader(hex("00000000 7fffffff"))),
    /exceeds maximum/,
  );
});

Deno.test("a READ that returns more bytes than it asked for is a protocol error (RFC 7530 §16.23, RFC 8881 §18.22)", () => {
  // COMPOUND4res: NFS4_OK, no tag, one result: READ, NFS4_OK, eof false, 8 bytes.
  const reply = (bytes: number) => {
    const w = new XdrWriter();
    w.writeUint(0).writeString("").writeUint(1);
    w.writeUint(25).writeUint(0);
    w.writeBool(false).writeOpaque(new Uint8Array(bytes).fill(7));
    return w.bytes().slice();
  };
  const stateid = { seqid: 1, other: new Uint8Array(12) };
  const asking = (count: number) => [read({ stateid, offset: 0n, count })];
  assert.throws(
    () => decodeCompoundReply(new XdrReader(reply(8)), asking(4)),
    (e: unknown) =>
      e instanceof Nfs4ProtocolError &&
      /READ returned 8 bytes, more than the 4 asked for/.test(e.message),
  );
  // As many as asked, or fewer (a short read), are data.
  const exact = decodeCompoundReply(new XdrReader(reply(8)), asking(8));
  assert.equal((exact.outcomes[0]!.value as { data: Uint8Array }).data.length, 8);
  const short = decodeCompoundReply(new XdrReader(reply(3)), asking(8));
  assert.equal((short.outcomes[0]!.value as { data: Uint8Array }).data.length, 3);
});

Deno.test("a WRITE that says it wrote more bytes than were sent is a protocol error (RFC 7530 §16.36, RFC 8881 §18.32)", () => {
  // COMPOUND4res: NFS4_OK, no tag, one result: WRITE, NFS4_OK, count, FILE_SYNC4, verifier.
  const reply = (count: number) => {
    const w = new XdrWriter();
    w.writeUint(0).writeString("").writeUint(1);
    w.writeUint(38).writeUint(0);
    w.writeUint(count).writeUint(2).writeFixedOpaque(new Uint8Array(8));
    return w.bytes().slice();
  };
  const stateid = { seqid: 1, other: new Uint8Array(12) };
  const sending = (bytes: number) => [
    write({ stateid, offset: 0n, stable: 2, data: new Uint8Array(bytes) }),
  ];
  assert.throws(
    () => decodeCompoundReply(new XdrReader(reply(9)), sending(8)),
    (e: unknown) =>
      e instanceof Nfs4ProtocolError &&
      /WRITE says it wrote 9 bytes, more than the 8 sent/.test(e.message),
  );
  // All of it, or part (a short write the client goes on from), are answers.
  for (const count of [8, 3]) {
    const ok = decodeCompoundReply(new XdrReader(reply(count)), sending(8));
    assert.equal((ok.outcomes[0]!.value as { count: number }).count, count);
  }
});

Deno.test("a SEQUENCE reply for another slot, sequence id or session is a protocol error (RFC 8881 §18.46.3)", () => {
  const session = new Uint8Array(16).fill(3);
  const other = new Uint8Array(16).fill(4);
  const reply = (sessionid: Uint8Array, sequenceid: number, slotid: number) => {
    const w = new XdrWriter();
    w.writeUint(0).writeString("").writeUint(1);
    w.writeUint(53).writeUint(0);
    w.writeFixedOpaque(sessionid).writeUint(sequenceid).writeUint(slotid);
    w.writeUint(7).writeUint(7).writeUint(0);
    return w.bytes().slice();
  };
  const sent = [
    sequence({ sessionid: session, sequenceid: 9, slotid: 2, highestSlotid: 7, cachethis: false }),
  ];
  const decode = (bytes: Uint8Array) => decodeCompoundReply(new XdrReader(bytes), sent);
  const refused = (bytes: Uint8Array, message: RegExp) =>
    assert.throws(
      () => decode(bytes),
      (e: unknown) => e instanceof Nfs4ProtocolError && message.test(e.message),
    );
  refused(reply(session, 9, 3), /SEQUENCE answered slot 3 sequence 9, not slot 2 sequence 9/);
  refused(reply(session, 8, 2), /SEQUENCE answered slot 2 sequence 8, not slot 2 sequence 9/);
  refused(reply(other, 9, 2), /slot 2 sequence 9 of another session, not slot 2 sequence 9/);
  assert.equal(decode(reply(session.slice(), 9, 2)).outcomes[0]!.status, 0, "its own: an answer");
});

Deno.test("decodeOpen() rejects an unknown delegation type", () => {
  const w = new XdrWriter();
  w.writeUint(0).writeFixedOpaque(new Uint8Array(12));
  w.writeBool(true).writeUhyper(0n).writeUhyper(0n);
  w.writeUint(0);
  encodeBitmap(w, []);
  w.writeInt(7);
  assertFastXdrError(() => OPEN.decodeResult(new XdrReader(w.bytes())), /open_delegation_type4/);
});

Deno.test("decodeExchangeId() rejects an unknown state protection", () => {
  const bytes = hex("00000000 00000001 00000001 00000000 00000009");
  assertFastXdrError(() => EXCHANGE_ID.decodeResult(new XdrReader(bytes)), /state_protect_how4/);
});

Deno.test("decodeCompoundReply() on random bytes throws only XdrError or Nfs4ProtocolError", () => {
  const ops = [getattr([Attr.TYPE, Attr.ACL, Attr.FS_LOCATIONS, Attr.OWNER])];
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 256 }), (noise) => {
      // A plausible header, then noise as GETATTR's result.
      const w = new XdrWriter();
      w.writeUint(0).writeString("").writeUint(1).writeUint(9).writeUint(0);
      w.writeFixedOpaque(noise.subarray(0, noise.length & ~3));
      try {
        decodeCompoundReply(new XdrReader(w.bytes()), ops);
      } catch (e) {
        assert.ok(e instanceof XdrError || e instanceof Nfs4ProtocolError, String(e));
      }
    }),
    { numRuns: 2000 },
  );
});
