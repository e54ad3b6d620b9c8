/** Record marking (RFC 5531 §11): encoding, reassembly from any split, limits. */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  DEFAULT_MAX_RECORD_SIZE,
  encodeRecord,
  LAST_FRAGMENT,
  MAX_FRAGMENT_LENGTH,
  MAX_FRAGMENTS_PER_RECORD,
  RecordDecoder,
  RpcError,
  RpcRecordTooFragmentedError,
  RpcRecordTooLargeError,
} from "../../lib/rpc/mod.ts";
import { hex } from "../xdr/_hex.ts";
import { isolateBufferBytes, REJECTION_ALLOCATION_LIMIT } from "../_memory.ts";

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
  const before = isolateBufferBytes();
  const decoder = new RecordDecoder();
  assert.throws(() => decoder.push(hex("ffffffff 00")), RpcRecordTooLargeError);
  // A run of empty non-last fragments followed by a huge one: still rejected
  // at the header, however the header is split.
  const split = new RecordDecoder({ maxRecordSize: 1 << 20 });
  assert.deepEqual(split.push(hex("00000000 00000000 7f")), []);
  assert.throws(() => split.push(hex("ffffff")), RpcRecordTooLargeError);
  assert.ok(isolateBufferBytes() - before < REJECTION_ALLOCATION_LIMIT);
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

Deno.test("RecordDecoder takes a record in MAX_FRAGMENTS_PER_RECORD fragments, and no more", () => {
  // One-byte fragments: each is a piece kept until the record ends, so a
  // peer sending 5 bytes a fragment made the client hold ~28 times that.
  const oneByte = (last: boolean) => hex(last ? "80000001 aa" : "00000001 aa");
  const fragments = (n: number) =>
    concat(Array.from({ length: n }, (_, i) => oneByte(i === n - 1)));
  for (const transient of [false, true]) {
    const within = new RecordDecoder();
    const records: Uint8Array[] = [];
    const feed = (d: RecordDecoder, bytes: Uint8Array) =>
      transient
        ? d.pushTransient(bytes, (r) => records.push(r))
        : d.pushEach(bytes, (r) => records.push(r));
    feed(within, fragments(MAX_FRAGMENTS_PER_RECORD));
    assert.equal(records.length, 1);
    assert.equal(records[0]!.length, MAX_FRAGMENTS_PER_RECORD);
    // The count starts again with each record.
    feed(within, fragments(MAX_FRAGMENTS_PER_RECORD));
    assert.equal(records.length, 2);

    const over = new RecordDecoder();
    assert.throws(
      () => feed(over, fragments(MAX_FRAGMENTS_PER_RECORD + 1)),
      (e) =>
        e instanceof RpcRecordTooFragmentedError && e instanceof RpcRecordTooLargeError &&
        e.message ===
          `record of ${
            MAX_FRAGMENTS_PER_RECORD + 1
          } bytes so far exceeds the maximum of ${MAX_FRAGMENTS_PER_RECORD} fragments`,
    );
    assert.equal(over.buffered, 0);
    // Out of step from there on, as after a record too large.
    assert.throws(() => feed(over, oneByte(true)), RpcRecordTooFragmentedError);
  }
  // Empty fragments count too (they cost a header's parsing each).
  const empty = new RecordDecoder();
  assert.throws(
    () =>
      empty.push(
        concat(Array.from({ length: MAX_FRAGMENTS_PER_RECORD + 1 }, () => hex("00000000"))),
      ),
    RpcRecordTooFragmentedError,
  );
});

Deno.test("RecordDecoder rejects an invalid maxRecordSize", () => {
  assert.throws(() => new RecordDecoder({ maxRecordSize: -1 }), RangeError);
  assert.throws(() => new RecordDecoder({ maxRecordSize: 1.5 }), RangeError);
});

// ------------------------------------------------- transient chunks and reading in place

/**
 * Feeds `stream` the way a socket with `onread` does: each read goes into
 * the decoder's read target when it offers one, else into a scratch buffer
 * that is reused (and scribbled over after each push). `sizes` gives the
 * successive read sizes, cycled.
 */
function readLikeASocket(
  stream: Uint8Array,
  sizes: readonly number[],
  options: { scratch?: number; minInPlace?: number; maxRecordSize?: number } = {},
): Uint8Array[] {
  const decoder = new RecordDecoder(
    options.maxRecordSize === undefined ? {} : { maxRecordSize: options.maxRecordSize },
  );
  const scratch = new Uint8Array(options.scratch ?? 16);
  const records: Uint8Array[] = [];
  let offset = 0;
  for (let i = 0; offset < stream.length; i++) {
    const target = decoder.readTarget(options.minInPlace ?? 1) ?? scratch;
    const n = Math.min(target.length, sizes[i % sizes.length]!, stream.length - offset);
    target.set(stream.subarray(offset, offset + n));
    offset += n;
    if (target === scratch) {
      decoder.pushTransient(scratch.subarray(0, n), (r) => records.push(r));
      scratch.fill(0xee);
    } else {
      decoder.pushInPlace(n, (r) => records.push(r));
    }
  }
  assert.ok(decoder.idle, "nothing left over after the last record");
  return records;
}

Deno.test("RecordDecoder.pushTransient() reassembles any records from any chunking, copying them", () => {
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
        const decoder = new RecordDecoder();
        const decoded: Uint8Array[] = [];
        for (const chunk of splitAt(stream, cuts)) {
          decoder.pushTransient(chunk, (r) => decoded.push(r));
          chunk.fill(0xee); // the caller reuses its buffer
        }
        assert.ok(decoder.idle);
        assert.deepEqual(decoded.map((r) => [...r]), records.map((r) => [...r]));
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("RecordDecoder.pushTransient() gives each record a buffer of its own, of its exact size", () => {
  const chunk = hex("80000003 aabbcc 80000002 ddee");
  const records: Uint8Array[] = [];
  new RecordDecoder().pushTransient(chunk, (r) => records.push(r));
  chunk.fill(0);
  assert.deepEqual(records, [hex("aabbcc"), hex("ddee")]);
  for (const record of records) {
    assert.notEqual(record.buffer, chunk.buffer);
    assert.equal(record.byteOffset, 0);
    assert.equal(record.buffer.byteLength, record.length);
  }
});

Deno.test("RecordDecoder.pushTransient() and pushEach() may alternate within a record", () => {
  const decoder = new RecordDecoder();
  const records: Uint8Array[] = [];
  decoder.pushEach(hex("00000003 01"), (r) => records.push(r));
  const transient = hex("02 03 80000002 04");
  decoder.pushTransient(transient, (r) => records.push(r));
  transient.fill(0);
  assert.equal(decoder.buffered, 4);
  decoder.pushEach(hex("05"), (r) => records.push(r));
  assert.deepEqual(records, [hex("0102030405")]);
  assert.ok(decoder.idle);
});

Deno.test("RecordDecoder.readTarget() and pushInPlace() reassemble any records read in place", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 300 })),
        { maxLength: 6 },
      ),
      fc.array(fc.integer({ min: 1, max: 90 }), { minLength: 1, maxLength: 10 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 4, max: 64 }),
      (specs, sizes, minInPlace, scratch) => {
        const records = specs.map(([payload]) => payload);
        const stream = concat(specs.flatMap(([payload, max]) => encodeRecord(payload, max)));
        const decoded = readLikeASocket(stream, sizes, { scratch, minInPlace });
        assert.deepEqual(decoded.map((r) => [...r]), records.map((r) => [...r]));
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("RecordDecoder reads the bulk of a 1 MiB record in place into the record's own buffer", () => {
  const payload = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
  const stream = concat(encodeRecord(payload));
  const decoder = new RecordDecoder();
  const scratch = new Uint8Array(64 * 1024);
  let inPlace = 0;
  let copied = 0;
  const records: Uint8Array[] = [];
  for (let offset = 0; offset < stream.length;) {
    const target = decoder.readTarget(16 * 1024) ?? scratch;
    const n = Math.min(target.length, 65_000, stream.length - offset);
    target.set(stream.subarray(offset, offset + n));
    offset += n;
    if (target === scratch) {
      decoder.pushTransient(scratch.subarray(0, n), (r) => records.push(r));
      copied += n;
    } else {
      decoder.pushInPlace(n, (r) => records.push(r));
      inPlace += n;
    }
  }
  assert.equal(records.length, 1);
  assert.deepEqual(records[0], payload);
  assert.ok(copied <= 65_000 + 16 * 1024, `${copied} bytes copied`);
  assert.ok(inPlace >= payload.length - copied);
});

Deno.test("RecordDecoder.readTarget() offers nothing between records or for a small rest", () => {
  const decoder = new RecordDecoder();
  assert.equal(decoder.readTarget(), undefined);
  decoder.pushTransient(hex("80000008 0102"), () => assert.fail("not complete"));
  assert.equal(decoder.readTarget(7), undefined, "6 bytes missing, 7 wanted");
  const target = decoder.readTarget(6);
  assert.ok(target);
  assert.equal(target.length, 6);
  target.set(hex("030405060708"));
  const records: Uint8Array[] = [];
  decoder.pushInPlace(6, (r) => records.push(r));
  assert.deepEqual(records, [hex("0102030405060708")]);
  assert.equal(decoder.readTarget(), undefined);
});

Deno.test("RecordDecoder.pushInPlace() rejects a count the target cannot hold", () => {
  const decoder = new RecordDecoder();
  assert.throws(() => decoder.pushInPlace(1, () => {}), RangeError);
  decoder.pushTransient(hex("80000004 01"), () => {});
  assert.throws(() => decoder.pushInPlace(4, () => {}), RangeError);
  assert.throws(() => decoder.pushInPlace(-1, () => {}), RangeError);
});

Deno.test("RecordDecoder.pushTransient() rejects an oversized fragment before allocating for it", () => {
  const before = isolateBufferBytes();
  const decoder = new RecordDecoder({ maxRecordSize: 1 << 20 });
  assert.throws(() => decoder.pushTransient(hex("ffffffff 00"), () => {}), RpcRecordTooLargeError);
  assert.equal(decoder.readTarget(), undefined);
  assert.throws(() => decoder.pushTransient(hex("80000000"), () => {}), RpcRecordTooLargeError);
  const split = new RecordDecoder({ maxRecordSize: 1 << 20 });
  split.pushTransient(hex("00000004 01020304 7f"), () => {});
  assert.throws(() => split.pushTransient(hex("ffffff"), () => {}), RpcRecordTooLargeError);
  assert.ok(isolateBufferBytes() - before < REJECTION_ALLOCATION_LIMIT);
});

Deno.test("RecordDecoder.buffered counts what a transient or in-place record holds so far", () => {
  const decoder = new RecordDecoder();
  decoder.pushTransient(hex("80000006 0102"), () => {});
  assert.equal(decoder.buffered, 2);
  decoder.readTarget()!.set(hex("03"));
  decoder.pushInPlace(1, () => {});
  assert.equal(decoder.buffered, 3);
});
