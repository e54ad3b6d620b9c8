/** Rejection and view semantics of the strict XDR reader (RFC 4506 §4). */

import assert from "node:assert/strict";
import { XDR_DEFAULT_MAX, XdrError, XdrReader } from "../../lib/xdr/mod.ts";
import { hex } from "./_hex.ts";
import { isolateBufferBytes, REJECTION_ALLOCATION_LIMIT } from "../_memory.ts";

function assertXdrError(fn: () => unknown, pattern?: RegExp): XdrError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof XdrError, `expected XdrError, got ${String(caught)}`);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

Deno.test("XdrReader.readInt() rejects fewer than four bytes", () => {
  for (let n = 0; n < 4; n++) {
    const e = assertXdrError(() => new XdrReader(new Uint8Array(n)).readInt(), /truncated int/);
    assert.equal(e.offset, 0);
  }
});

Deno.test("XdrReader.readUhyper() and readHyper() reject fewer than eight bytes", () => {
  for (let n = 0; n < 8; n++) {
    assertXdrError(() => new XdrReader(new Uint8Array(n)).readUhyper(), /truncated unsigned hyper/);
    assertXdrError(() => new XdrReader(new Uint8Array(n)).readHyper(), /truncated hyper/);
  }
});

Deno.test("XdrReader.readBool() rejects values other than 0 and 1", () => {
  for (const bytes of ["00000002", "ffffffff", "80000000", "00000100"]) {
    const e = assertXdrError(() => new XdrReader(hex(bytes)).readBool(), /invalid bool/);
    assert.equal(e.offset, 0);
  }
});

Deno.test("XdrReader.readEnum() rejects a value outside the allowed set", () => {
  const r = new XdrReader(hex("00000001 00000003"));
  assert.equal(r.readEnum(new Set([1, 2]), "nfs_ftype4"), 1);
  const e = assertXdrError(
    () => r.readEnum(new Set([1, 2]), "nfs_ftype4"),
    /unknown nfs_ftype4 value 3/,
  );
  assert.equal(e.offset, 4);
});

Deno.test("XdrReader.readUnion() rejects a discriminant with no arm and no default", () => {
  assertXdrError(
    () => new XdrReader(hex("00000002")).readUnion({ 0: () => 0, 1: () => 1 }),
    /no union arm for discriminant 2/,
  );
});

Deno.test("XdrReader.readOpaque() rejects non-zero padding", () => {
  for (
    const bytes of [
      "00000001 aa010000",
      "00000001 aa000001",
      "00000002 aabb0100",
      "00000003 aabbcc80",
    ]
  ) {
    assertXdrError(() => new XdrReader(hex(bytes)).readOpaque(), /non-zero padding/);
  }
});

Deno.test("XdrReader.readFixedOpaque() rejects non-zero padding", () => {
  assertXdrError(() => new XdrReader(hex("aa000100")).readFixedOpaque(1), /non-zero padding/);
});

Deno.test("XdrReader.readString() rejects non-zero padding", () => {
  assertXdrError(() => new XdrReader(hex("00000001 61202020")).readString(), /non-zero padding/);
});

Deno.test("XdrReader.readOpaque() rejects missing padding", () => {
  assertXdrError(() => new XdrReader(hex("00000001 aa")).readOpaque(), /truncated/);
  assertXdrError(() => new XdrReader(hex("00000003 aabbcc")).readOpaque(), /truncated/);
});

Deno.test("XdrReader.readOpaque() rejects a length beyond what remains", () => {
  assertXdrError(
    () => new XdrReader(hex("00000005 aabbccdd")).readOpaque(),
    /truncated fixed opaque/,
  );
  assertXdrError(
    () => new XdrReader(hex("00000004 aabbcc")).readOpaque(),
    /truncated fixed opaque/,
  );
});

Deno.test("XdrReader.readOpaque() rejects one byte over the declared maximum", () => {
  const e = assertXdrError(
    () => new XdrReader(hex("00000004 aabbccdd")).readOpaque(3),
    /opaque length 4 exceeds maximum 3/,
  );
  assert.equal(e.offset, 0);
  assertXdrError(() => new XdrReader(hex("00000001 aa000000")).readOpaque(0), /exceeds maximum 0/);
});

Deno.test("XdrReader.readOpaque() rejects a huge claimed length fast without allocating", () => {
  const input = hex("ffffffff 00000000");
  const before = isolateBufferBytes();
  const started = performance.now();
  for (let i = 0; i < 10_000; i++) {
    assertXdrError(() => new XdrReader(input).readOpaque(0xffffffff), /truncated fixed opaque/);
    assertXdrError(() => new XdrReader(input).readOpaque(), /exceeds maximum/);
    assertXdrError(() => new XdrReader(input).readString(), /exceeds maximum/);
  }
  assert.ok(performance.now() - started < 2000, "rejections must be fast");
  assert.ok(isolateBufferBytes() - before < REJECTION_ALLOCATION_LIMIT, "no 4 GiB allocation");
  // 0x7fffffff is within the default maximum and must fail on remaining bytes.
  assertXdrError(() => new XdrReader(hex("7fffffff 00")).readOpaque(), /truncated fixed opaque/);
});

Deno.test("XdrReader.readArray() rejects a huge claimed count fast without allocating", () => {
  const started = performance.now();
  assertXdrError(
    () => new XdrReader(hex("ffffffff 00000001")).readArray((r) => r.readUint()),
    /exceeds maximum/,
  );
  assertXdrError(
    () => new XdrReader(hex("7fffffff 00000001")).readArray((r) => r.readUint()),
    /cannot fit in 4 remaining bytes/,
  );
  assertXdrError(
    () => new XdrReader(hex("00001000 00000001")).readArray((r) => r.readUhyper(), 1 << 20, 8),
    /cannot fit/,
  );
  assert.ok(performance.now() - started < 1000);
});

Deno.test("XdrReader.readArray() rejects one element over the declared maximum", () => {
  assertXdrError(
    () =>
      new XdrReader(hex("00000003 00000001 00000002 00000003")).readArray((r) => r.readUint(), 2),
    /array count 3 exceeds maximum 2/,
  );
});

Deno.test("XdrReader.readFixedOpaque() rejects a negative or fractional length", () => {
  const r = new XdrReader(new Uint8Array(8));
  assertXdrError(() => r.readFixedOpaque(-4), /invalid fixed opaque length -4/);
  assertXdrError(() => r.readFixedOpaque(1.5), /invalid fixed opaque length 1.5/);
  assert.equal(r.offset, 0);
});

Deno.test("XdrReader.skip() rejects a negative count and skipping past the end", () => {
  const r = new XdrReader(new Uint8Array(8));
  assertXdrError(() => r.skip(-1), /invalid skipped data length/);
  assertXdrError(() => r.skip(9), /truncated skipped data/);
  r.skip(8);
  assert.equal(r.remaining, 0);
});

Deno.test("XdrReader.assertEnd() rejects trailing bytes", () => {
  const r = new XdrReader(hex("00000001 00"));
  r.readUint();
  const e = assertXdrError(() => r.assertEnd(), /1 unexpected trailing bytes/);
  assert.equal(e.offset, 4);
});

Deno.test("XdrReader.readOpaque() returns a view sharing the input buffer", () => {
  const input = hex("00000003 010203 00 00000002 0405 0000");
  const r = new XdrReader(input);
  const a = r.readOpaque();
  assert.equal(a.buffer, input.buffer);
  assert.equal(a.byteOffset, 4);
  assert.equal(a.length, 3);
  input[4] = 0x99;
  assert.equal(a[0], 0x99, "a view, not a copy");
  const fixed = r.readFixedOpaque(4);
  assert.equal(fixed.buffer, input.buffer);
  assert.deepEqual(fixed, hex("00000002"));
});

Deno.test("XdrReader reads from a view with a non-zero byteOffset", () => {
  const backing = hex("ffffffff 00000002 abcd0000 eeeeeeee");
  const input = backing.subarray(4, 12);
  const r = new XdrReader(input);
  const data = r.readOpaque();
  assert.deepEqual(data, hex("abcd"));
  assert.equal(data.buffer, backing.buffer);
  assert.equal(data.byteOffset, 8);
  r.assertEnd();
  assertXdrError(() => r.readUint(), /truncated/);
});

Deno.test("XdrReader.rest() returns the unread bytes as a view and consumes them", () => {
  const input = hex("00000001 02030405");
  const r = new XdrReader(input);
  r.readUint();
  const rest = r.rest();
  assert.deepEqual(rest, hex("02030405"));
  assert.equal(rest.buffer, input.buffer);
  assert.equal(r.remaining, 0);
  assert.deepEqual(r.rest(), new Uint8Array(0));
});

Deno.test("XdrReader.offset and remaining track the position", () => {
  const r = new XdrReader(hex("00000001 00000000 00000002"));
  assert.deepEqual([r.offset, r.remaining], [0, 12]);
  r.readUint();
  r.readHyper();
  assert.deepEqual([r.offset, r.remaining], [12, 0]);
});

Deno.test("XdrReader leaves its position unchanged after a truncated read", () => {
  const r = new XdrReader(hex("00000001 0000"));
  r.readUint();
  assertXdrError(() => r.readUint());
  assert.equal(r.offset, 4);
});

Deno.test("XDR_DEFAULT_MAX is the largest signed 32-bit value", () => {
  assert.equal(XDR_DEFAULT_MAX, 0x7fffffff);
});

Deno.test("XdrError carries the offset in its message and property", () => {
  const e = new XdrError("bad thing", 12, { cause: "x" });
  assert.equal(e.name, "XdrError");
  assert.equal(e.offset, 12);
  assert.equal(e.message, "bad thing (at byte 12)");
  assert.equal(e.cause, "x");
  assert.ok(e instanceof Error);
});
