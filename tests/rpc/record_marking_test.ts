/** Record marking (RFC 5531 §11): encoding, reassembly from any split, limits. */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  DEFAULT_MAX_RECORD_SIZE,
  encodeRecord,
  LAST_FRAGMENT,
  MAX_FRAGMENT_LENGTH,
  RecordDecoder,
  RpcError,
  RpcRecordTooLargeError,
} from "../../lib/rpc/mod.ts";
import { hex } from "../xdr/_hex.ts";

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Splits `bytes` at the given sorted offsets. */
function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    chunks.push(bytes.slice(start, cut));
    start = cut;
  }
  return chunks;
}

function decodeChunks(chunks: readonly Uint8Array[], maxRecordSize?: number): Uint8Array[] {
  const decoder = new RecordDecoder(maxRecordSize === undefined ? {} : { maxRecordSize });
  const records = chunks.flatMap((chunk) => decoder.push(chunk));
  assert.ok(decoder.idle, "nothing left over after the last record");
  return records;
}

Deno.test("encodeRecord() frames a payload as one last fragment", () => {
  assert.deepEqual(encodeRecord(hex("010203")), [hex("80000003 010203")]);
  assert.deepEqual(encodeRecord(hex("01020304")), [hex("80000004 01020304")]);
});

Deno.test("encodeRecord() frames an empty payload as one empty last fragment", () => {
  assert.deepEqual(encodeRecord(new Uint8Array(0)), [hex("80000000")]);
});

Deno.test("encodeRecord() splits a payload into fragments of at most maxFragment bytes", () => {
  assert.deepEqual(encodeRecord(hex("0102030405"), 2), [
    hex("00000002 0102"),
    hex("00000002 0304"),
    hex("80000001 05"),
  ]);
  assert.deepEqual(encodeRecord(hex("01020304"), 2), [hex("00000002 0102"), hex("80000002 0304")]);
});

Deno.test("encodeRecord() rejects a maximum fragment size outside 1 to 2^31-1", () => {
  for (const bad of [0, -1, 1.5, MAX_FRAGMENT_LENGTH + 1]) {
    assert.throws(() => encodeRecord(new Uint8Array(1), bad), RangeError);
  }
});

Deno.test("LAST_FRAGMENT, MAX_FRAGMENT_LENGTH and DEFAULT_MAX_RECORD_SIZE have their RFC values", () => {
  assert.equal(LAST_FRAGMENT, 0x80000000);
  assert.equal(MAX_FRAGMENT_LENGTH, 0x7fffffff);
  assert.equal(DEFAULT_MAX_RECORD_SIZE, 4 * 1024 * 1024 + 64 * 1024);
});

Deno.test("RecordDecoder.push() reassembles a multi-fragment record", () => {
  const stream = hex("00000002 0102 00000000 80000003 030405");
  assert.deepEqual(decodeChunks([stream]), [hex("0102030405")]);
});

Deno.test("RecordDecoder.push() returns several records from one chunk", () => {
  const stream = hex("80000001 aa 80000000 00000001 bb 80000002 cccc");
  assert.deepEqual(decodeChunks([stream]), [hex("aa"), new Uint8Array(0), hex("bbcccc")]);
});

Deno.test("RecordDecoder.push() yields the same records for every single split point", () => {
  const records = [hex("0102030405"), new Uint8Array(0), hex("ff"), hex("0a0b0c0d0e0f1011")];
  const stream = concat([
    ...encodeRecord(records[0]!, 2),
    ...encodeRecord(records[1]!),
    ...encodeRecord(records[2]!, 1),
    ...encodeRecord(records[3]!, 3),
  ]);
  for (let cut = 0; cut <= stream.length; cut++) {
    assert.deepEqual(decodeChunks(splitAt(stream, [cut])), records, `split at ${cut}`);
  }
});

Deno.test("RecordDecoder.push() yields the same records for every pair of split points", () => {
  const records = [hex("0102030405"), hex("ff"), hex("0a0b0c")];
  const stream = concat(records.flatMap((r) => encodeRecord(r, 2)));
  for (let a = 0; a <= stream.length; a++) {
    for (let b = a; b <= stream.length; b++) {
      assert.deepEqual(decodeChunks(splitAt(stream, [a, b])), records, `split at ${a}, ${b}`);
    }
  }
});

Deno.test("RecordDecoder.push() yields the same records when fed one byte at a time", () => {
  const records = [hex("0102030405"), new Uint8Array(0), hex("ff")];
  const stream = concat(records.flatMap((r) => encodeRecord(r, 3)));
  const cuts = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
  assert.deepEqual(decodeChunks(splitAt(stream, cuts)), records);
});

Deno.test("RecordDecoder.push() reassembles any records from any chunking", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 70 })),
        { maxLength: 8 },
      ),
      fc.array(fc.nat(), { maxLength: 20 }),
      (specs, rawCuts) => {
        const records = specs.map(([payload]) => payload);
        const stream = concat(specs.flatMap(([payload, max]) => encodeRecord(payload, max)));
        const cuts = [...new Set(rawCuts.map((c) => c % (stream.length + 1)))].sort((a, b) =>
          a - b
        );
        const decoded = decodeChunks(splitAt(stream, cuts));
        assert.deepEqual(decoded.map((r) => [...r]), records.map((r) => [...r]));
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("RecordDecoder.push() returns a record inside one chunk as a view without copying", () => {
  const chunk = hex("80000003 aabbcc");
  const [record] = new RecordDecoder().push(chunk);
  assert.ok(record);
  assert.equal(record.buffer, chunk.buffer);
  assert.equal(record.byteOffset, 4);
});

Deno.test("RecordDecoder.push() reassembles a 1 MiB record from many small chunks", () => {
  const payload = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
  const stream = concat(encodeRecord(payload, 300_000));
  const decoder = new RecordDecoder();
  const records: Uint8Array[] = [];
  const started = performance.now();
  for (let offset = 0; offset < stream.length; offset += 1460) {
    records.push(...decoder.push(stream.subarray(offset, offset + 1460)));
  }
  assert.equal(records.length, 1);
  assert.deepEqual(records[0], payload);
  assert.ok(performance.now() - started < 2000, "linear, not quadratic, in the chunk count");
});

Deno.test("RecordDecoder.buffered counts the data of an incomplete record", () => {
  const decoder = new RecordDecoder();
  assert.deepEqual(decoder.push(hex("00000002 0102 8000")), []);
  assert.equal(decoder.buffered, 2);
  assert.equal(decoder.idle, false);
  assert.deepEqual(decoder.push(hex("0001 03")), [hex("010203")]);
  assert.equal(decoder.buffered, 0);
  assert.equal(decoder.idle, true);
});

Deno.test("RecordDecoder accepts a record of exactly maxRecordSize bytes", () => {
  assert.deepEqual(decodeChunks([hex("00000002 0102 80000002 0304")], 4), [hex("01020304")]);
});

Deno.test("RecordDecoder.push() rejects a fragment header over maxRecordSize before buffering", () => {
  // Only the header has arrived: the decoder refuses before any data.
  let caught: unknown;
  try {
    new RecordDecoder({ maxRecordSize: 4 }).push(hex("80000005"));
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof RpcRecordTooLargeError);
  assert.ok(caught instanceof RpcError);
  assert.equal(caught.size, 5);
  assert.equal(caught.limit, 4);
  assert.equal(caught.retriable, false);
  assert.equal(caught.message, "record of at least 5 bytes exceeds the maximum of 4 bytes");
});

Deno.test("RecordDecoder.push() rejects fragments whose sum exceeds maxRecordSize", () => {
  const decoder = new RecordDecoder({ maxRecordSize: 4 });
  assert.deepEqual(decoder.push(hex("00000003 010203")), []);
  assert.throws(
    () => decoder.push(hex("80000002")),
    (e) => e instanceof RpcRecordTooLargeError && e.size === 5,
  );
});

Deno.test("RecordDecoder.push() rejects a 2 GiB claim with few bytes, without allocating", () => {
  const before = Deno.memoryUsage().rss;
  const decoder = new RecordDecoder();
  assert.throws(() => decoder.push(hex("ffffffff 00")), RpcRecordTooLargeError);
  // A run of empty non-last fragments followed by a huge one: still rejected
  // at the header, however the header is split.
  const split = new RecordDecoder({ maxRecordSize: 1 << 20 });
  assert.deepEqual(split.push(hex("00000000 00000000 7f")), []);
  assert.throws(() => split.push(hex("ffffff")), RpcRecordTooLargeError);
  assert.ok(Deno.memoryUsage().rss - before < 64 * 1024 * 1024);
});

Deno.test("RecordDecoder.push() keeps failing after a record was too large", () => {
  const decoder = new RecordDecoder({ maxRecordSize: 1 });
  assert.throws(() => decoder.push(hex("80000002")), RpcRecordTooLargeError);
  assert.throws(() => decoder.push(hex("80000000")), RpcRecordTooLargeError);
});

Deno.test("RecordDecoder.pushEach() hands over records completed before an oversized one", () => {
  const decoder = new RecordDecoder({ maxRecordSize: 2 });
  const seen: Uint8Array[] = [];
  assert.throws(
    () => decoder.pushEach(hex("80000001 aa 80000003 bbccdd"), (r) => seen.push(r)),
    RpcRecordTooLargeError,
  );
  assert.deepEqual(seen, [hex("aa")]);
});

Deno.test("RecordDecoder rejects an invalid maxRecordSize", () => {
  assert.throws(() => new RecordDecoder({ maxRecordSize: -1 }), RangeError);
  assert.throws(() => new RecordDecoder({ maxRecordSize: 1.5 }), RangeError);
});
