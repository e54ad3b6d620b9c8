/** Range checks, growth and patching of the XDR writer (RFC 4506 §4). */

import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeByteString } from "../../lib/xdr/byte_string.ts";
import { XDR_VIEW_MIN, XdrError, xdrPadding, XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";
import { hex } from "./_hex.ts";

Deno.test("xdrPadding() pads lengths 0 to 8 to a multiple of four", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map(xdrPadding), [0, 3, 2, 1, 0, 3, 2, 1, 0]);
});

Deno.test("XdrWriter.writeInt() rejects values outside the signed 32-bit range", () => {
  for (const v of [0x80000000, -0x80000001, 1.5, NaN, Infinity]) {
    assert.throws(() => new XdrWriter().writeInt(v), XdrError);
  }
});

Deno.test("XdrWriter.writeUint() rejects values outside the unsigned 32-bit range", () => {
  for (const v of [-1, 0x100000000, 0.5, NaN]) {
    assert.throws(() => new XdrWriter().writeUint(v), XdrError);
  }
});

Deno.test("XdrWriter.writeHyper() and writeUhyper() reject out-of-range values", () => {
  assert.throws(() => new XdrWriter().writeHyper(1n << 63n), XdrError);
  assert.throws(() => new XdrWriter().writeHyper(-(1n << 63n) - 1n), XdrError);
  assert.throws(() => new XdrWriter().writeUhyper(-1n), XdrError);
  assert.throws(() => new XdrWriter().writeUhyper(1n << 64n), XdrError);
});

Deno.test("XdrWriter.writeOpaque() rejects one byte over the declared maximum", () => {
  const w = new XdrWriter();
  assert.throws(() => w.writeOpaque(new Uint8Array(4), 3), /opaque of 4 bytes exceeds maximum 3/);
  assert.equal(w.length, 0, "nothing written on failure");
});

Deno.test("XdrWriter.writeFixedOpaque() rejects data of the wrong length", () => {
  assert.throws(() => new XdrWriter().writeFixedOpaque(new Uint8Array(3), 4), /must be 4 bytes/);
});

Deno.test("XdrWriter.writeArray() rejects one element over the declared maximum", () => {
  assert.throws(
    () => new XdrWriter().writeArray([1, 2, 3], (w, n) => w.writeUint(n), 2),
    /array of 3 elements exceeds maximum 2/,
  );
});

Deno.test("XdrWriter.writeFixedArray() rejects the wrong element count", () => {
  assert.throws(
    () => new XdrWriter().writeFixedArray([1], 2, (w, n) => w.writeUint(n)),
    /must have 2 elements/,
  );
});

Deno.test("XdrWriter grows past its initial capacity without losing data", () => {
  const w = new XdrWriter(1);
  const big = new Uint8Array(100_003).map((_, i) => i & 0xff);
  w.writeUint(7).writeOpaque(big).writeUint(9);
  const r = new XdrReader(w.bytes());
  assert.equal(r.readUint(), 7);
  assert.deepEqual(r.readOpaque(), big);
  assert.equal(r.readUint(), 9);
  r.assertEnd();
});

Deno.test("XdrWriter.reserveUint() and patchUint() fill in a value later", () => {
  const w = new XdrWriter();
  const at = w.reserveUint();
  w.writeUint(1).writeUint(2);
  w.patchUint(at, 2);
  assert.deepEqual(w.bytes(), hex("00000002 00000001 00000002"));
  assert.throws(() => w.patchUint(9, 1), /outside written data/);
  assert.throws(() => w.patchUint(-1, 1), XdrError);
  assert.throws(() => w.patchUint(0, -1), /out of range/);
});

Deno.test("XdrWriter.reset() forgets what was written", () => {
  const w = new XdrWriter();
  w.writeUint(1);
  w.reset().writeUint(2);
  assert.deepEqual(w.bytes(), hex("00000002"));
  assert.equal(w.length, 4);
});

Deno.test("XdrWriter.writeFixedOpaque() writes zero padding even over reused bytes", () => {
  const w = new XdrWriter(16);
  w.writeUint(0xffffffff).writeUint(0xffffffff);
  w.reset().writeFixedOpaque(hex("aa")).writeFixedOpaque(hex("bbcc"));
  assert.deepEqual(w.bytes(), hex("aa000000 bbcc0000"));
});

// ------------------------------------------------------------ referenced data

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function pattern(length: number, seed = 1): Uint8Array {
  return new Uint8Array(length).map((_, i) => (i * 13 + seed) & 0xff);
}

Deno.test("XdrWriter.writeOpaqueView() encodes like writeOpaque() for every length around the threshold", () => {
  for (const length of [0, 1, 5, XDR_VIEW_MIN - 1, XDR_VIEW_MIN, XDR_VIEW_MIN + 1, 100_003]) {
    const data = pattern(length);
    const copied = new XdrWriter().writeUint(7).writeOpaque(data).writeUint(9).bytes();
    const viewed = new XdrWriter().writeUint(7).writeOpaqueView(data).writeUint(9);
    assert.equal(viewed.length, copied.length, `length ${length}`);
    assert.deepEqual(concat(viewed.chunks()), copied, `chunks, length ${length}`);
    assert.deepEqual(viewed.bytes(), copied, `bytes, length ${length}`);
  }
});

Deno.test("XdrWriter.chunks() hands out referenced data itself, uncopied", () => {
  const data = pattern(XDR_VIEW_MIN + 2);
  const w = new XdrWriter().writeUint(1).writeOpaqueView(data).writeUint(2);
  const chunks = w.chunks();
  assert.deepEqual(chunks.map((c) => c.length), [8, data.length, 2 + 4]);
  assert.equal(chunks[1], data);
  assert.deepEqual(chunks[2], hex("0000 00000002"));
});

Deno.test("XdrWriter.chunks() of a writer with nothing referenced is one view", () => {
  assert.deepEqual(new XdrWriter().chunks(), [new Uint8Array(0)]);
  const w = new XdrWriter().writeUint(5);
  assert.deepEqual(w.chunks(), [hex("00000005")]);
  const data = pattern(XDR_VIEW_MIN);
  assert.deepEqual(new XdrWriter().writeOpaqueView(data).chunks().length, 2);
});

Deno.test("XdrWriter.writeOpaqueView() checks the maximum like writeOpaque()", () => {
  const w = new XdrWriter();
  assert.throws(
    () => w.writeOpaqueView(new Uint8Array(XDR_VIEW_MIN + 1), XDR_VIEW_MIN),
    /exceeds maximum/,
  );
  assert.equal(w.length, 0, "nothing written on failure");
});

Deno.test("XdrWriter.patchUint() patches around referenced data and refuses inside it", () => {
  const data = pattern(XDR_VIEW_MIN + 1);
  const w = new XdrWriter();
  const mark = w.reserveUint();
  w.writeOpaqueView(data);
  const count = w.reserveUint();
  w.writeUint(3);
  w.patchUint(mark, 0x80000000 + w.length - 4).patchUint(count, 1);
  const r = new XdrReader(concat(w.chunks()));
  assert.equal(r.readUint(), 0x80000000 + w.length - 4);
  assert.deepEqual(r.readOpaque(), data);
  assert.equal(r.readUint(), 1);
  assert.equal(r.readUint(), 3);
  r.assertEnd();
  assert.throws(() => w.patchUint(8, 1), /outside written data/, "inside the data");
  assert.throws(() => w.patchUint(6, 1), /outside written data/, "straddling its start");
  assert.throws(() => w.patchUint(8 + data.length - 2, 1), /outside written data/, "its end");
  assert.equal(data[0], 1, "the referenced data is never written to");
});

Deno.test("XdrWriter.bytes() copies referenced data in, and writing continues after it", () => {
  const data = pattern(XDR_VIEW_MIN);
  const w = new XdrWriter().writeOpaqueView(data);
  const first = w.bytes().slice();
  w.writeUint(4);
  assert.deepEqual(w.chunks(), [w.bytes()], "one buffer once copied in");
  const r = new XdrReader(w.bytes());
  assert.deepEqual(r.readOpaque(), data);
  assert.equal(r.readUint(), 4);
  assert.deepEqual(first, w.bytes().subarray(0, first.length));
});

Deno.test("XdrWriter.reset() forgets referenced data", () => {
  const w = new XdrWriter().writeOpaqueView(pattern(XDR_VIEW_MIN));
  w.reset().writeUint(2);
  assert.equal(w.length, 4);
  assert.deepEqual(w.chunks(), [hex("00000002")]);
  assert.deepEqual(w.bytes(), hex("00000002"));
});

Deno.test("XdrWriter.writeOpaqueView() keeps several referenced pieces in order", () => {
  const a = pattern(XDR_VIEW_MIN + 3, 1);
  const b = pattern(XDR_VIEW_MIN + 1, 2);
  const w = new XdrWriter().writeOpaqueView(a).writeOpaqueView(b).writeUint(6);
  const expected = new XdrWriter().writeOpaque(a).writeOpaque(b).writeUint(6).bytes();
  assert.deepEqual(concat(w.chunks()), expected);
  assert.equal(w.chunks()[1], a);
  assert.equal(w.chunks()[3], b);
  assert.deepEqual(w.bytes(), expected);
});

Deno.test("XdrWriter.writeString() encodes in place exactly as writeOpaque() of its bytes (property)", () => {
  // Any string, lone surrogates (escaped bytes) included, long and short,
  // over reused (dirty) buffers: the same bytes and the same maximum check.
  fc.assert(
    fc.property(
      fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), fc.string({ maxLength: 1500 })),
      fc.integer({ min: 0, max: 4000 }),
      fc.integer({ min: 0, max: 7 }),
      (text, maxLength, prefix) => {
        const direct = new XdrWriter(16);
        const viaBytes = new XdrWriter(16);
        for (const w of [direct, viaBytes]) {
          w.writeOpaque(new Uint8Array(4000).fill(0xff)).reset();
          for (let i = 0; i < prefix; i++) w.writeUint(i);
        }
        const bytes = encodeByteString(text);
        let expected: unknown;
        try {
          viaBytes.writeOpaque(bytes, maxLength);
          expected = [...viaBytes.bytes()];
        } catch (e) {
          expected = e instanceof XdrError ? "XdrError" : e;
        }
        let actual: unknown;
        try {
          direct.writeString(text, maxLength);
          actual = [...direct.bytes()];
        } catch (e) {
          actual = e instanceof XdrError ? "XdrError" : e;
        }
        assert.deepEqual(actual, expected);
      },
    ),
  );
});

Deno.test("XdrWriter.writeString() of the empty string is a zero length", () => {
  assert.deepEqual(new XdrWriter().writeString("").bytes(), hex("00000000"));
  assert.deepEqual(new XdrWriter().writeString("", 0).bytes(), hex("00000000"));
});
