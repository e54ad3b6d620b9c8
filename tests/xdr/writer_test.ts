/** Range checks, growth and patching of the XDR writer (RFC 4506 §4). */

import assert from "node:assert/strict";
import { XdrError, xdrPadding, XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";
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
