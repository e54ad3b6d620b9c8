/** Property tests: decode(encode(x)) = x for every XDR type and a composite record. */

import assert from "node:assert/strict";
import fc from "fast-check";
import { XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";
import { decodeEntry, encodeEntry, entryArb, writeEntry } from "./_record.ts";

function roundTrips<T>(
  arb: fc.Arbitrary<T>,
  write: (w: XdrWriter, value: T) => void,
  read: (r: XdrReader) => T,
  numRuns = 500,
): void {
  fc.assert(
    fc.property(arb, (value) => {
      const w = new XdrWriter(4);
      write(w, value);
      assert.equal(w.length % 4, 0, "encodings are a multiple of four bytes");
      const r = new XdrReader(w.bytes());
      assert.deepEqual(read(r), value);
      r.assertEnd();
    }),
    { numRuns },
  );
}

// fast-check builds records with a null prototype unless told otherwise; the
// decoder builds plain objects, and deepStrictEqual compares prototypes.
const plain = { noNullPrototype: true } as const;
const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const uint32 = fc.integer({ min: 0, max: 0xffffffff });

Deno.test("XdrReader.readInt() inverts XdrWriter.writeInt() for any int", () => {
  roundTrips(int32, (w, v) => w.writeInt(v), (r) => r.readInt());
});

Deno.test("XdrReader.readUint() inverts XdrWriter.writeUint() for any unsigned int", () => {
  roundTrips(uint32, (w, v) => w.writeUint(v), (r) => r.readUint());
});

Deno.test("XdrReader.readEnum() inverts XdrWriter.writeEnum() for any enum value", () => {
  roundTrips(int32, (w, v) => w.writeEnum(v), (r) => r.readEnum());
});

Deno.test("XdrReader.readBool() inverts XdrWriter.writeBool()", () => {
  roundTrips(fc.boolean(), (w, v) => w.writeBool(v), (r) => r.readBool(), 10);
});

Deno.test("XdrReader.readHyper() inverts XdrWriter.writeHyper() for any hyper", () => {
  roundTrips(
    fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
    (w, v) => w.writeHyper(v),
    (r) => r.readHyper(),
  );
});

Deno.test("XdrReader.readUhyper() inverts XdrWriter.writeUhyper() for any unsigned hyper", () => {
  roundTrips(
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    (w, v) => w.writeUhyper(v),
    (r) => r.readUhyper(),
  );
});

Deno.test("XdrReader.readFixedOpaque() inverts XdrWriter.writeFixedOpaque() for any length", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (data) => {
      const w = new XdrWriter(4).writeFixedOpaque(data);
      const r = new XdrReader(w.bytes());
      assert.deepEqual(r.readFixedOpaque(data.length), data);
      r.assertEnd();
    }),
    { numRuns: 500 },
  );
});

Deno.test("XdrReader.readOpaque() inverts XdrWriter.writeOpaque() for any bytes", () => {
  roundTrips<Uint8Array>(
    fc.uint8Array({ maxLength: 300 }),
    (w, v) => w.writeOpaque(v),
    (r) => r.readOpaque(),
  );
});

Deno.test("XdrReader.readString() inverts XdrWriter.writeString() for any well-formed string", () => {
  roundTrips(
    fc.string({ unit: "binary", maxLength: 64 }),
    (w, v) => w.writeString(v),
    (r) => r.readString(),
  );
  roundTrips(
    fc.string({ unit: "grapheme", maxLength: 16 }),
    (w, v) => w.writeString(v),
    (r) => r.readString(),
  );
});

Deno.test("XdrReader.readArray() inverts XdrWriter.writeArray() for arrays of strings", () => {
  roundTrips(
    fc.array(fc.string({ unit: "binary", maxLength: 8 }), { maxLength: 20 }),
    (w, v) => w.writeArray(v, (w, s) => w.writeString(s)),
    (r) => r.readArray((r) => r.readString()),
  );
});

Deno.test("XdrReader.readFixedArray() inverts XdrWriter.writeFixedArray() for any length", () => {
  fc.assert(
    fc.property(
      fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { maxLength: 20 }),
      (items) => {
        const w = new XdrWriter(4).writeFixedArray(items, items.length, (w, n) => w.writeUhyper(n));
        const r = new XdrReader(w.bytes());
        assert.deepEqual(r.readFixedArray(items.length, (r) => r.readUhyper()), items);
        r.assertEnd();
      },
    ),
  );
});

Deno.test("XdrReader.readOptional() inverts XdrWriter.writeOptional()", () => {
  roundTrips(
    fc.option(uint32, { nil: undefined }),
    (w, v) => w.writeOptional(v, (w, n) => w.writeUint(n)),
    (r) => r.readOptional((r) => r.readUint()),
  );
});

Deno.test("XdrReader.readUnion() inverts XdrWriter.writeUnion() for every arm", () => {
  type U = { d: 0 } | { d: 1; n: number } | { d: 2; s: string };
  roundTrips<U>(
    fc.oneof(
      fc.constant({ d: 0 as const }),
      fc.record({ d: fc.constant(1 as const), n: uint32 }, plain),
      fc.record({ d: fc.constant(2 as const), s: fc.string() }, plain),
    ),
    (w, u) => {
      if (u.d === 0) w.writeUnion(0);
      else if (u.d === 1) w.writeUnion(1, (w) => w.writeUint(u.n));
      else w.writeUnion(2, (w) => w.writeString(u.s));
    },
    (r) =>
      r.readUnion<U>({
        0: () => ({ d: 0 }),
        1: (r) => ({ d: 1, n: r.readUint() }),
        2: (r) => ({ d: 2, s: r.readString() }),
      }),
  );
});

Deno.test("decodeEntry() inverts encodeEntry() for any composite record", () => {
  fc.assert(
    fc.property(entryArb, (entry) => {
      assert.deepEqual(decodeEntry(encodeEntry(entry)), entry);
    }),
    { numRuns: 300 },
  );
});

Deno.test("XdrWriter output does not depend on initial capacity or buffer reuse", () => {
  fc.assert(
    fc.property(entryArb, fc.integer({ min: 0, max: 4096 }), (entry, capacity) => {
      const expected = encodeEntry(entry);
      const w = new XdrWriter(capacity);
      writeEntry(w.writeFixedOpaque(new Uint8Array(64).fill(0xff)).reset(), entry);
      assert.deepEqual(w.bytes(), expected);
    }),
    { numRuns: 100 },
  );
});
