/**
 * FattrDecoder.valuesAt() and FattrValues (lib/nfs4/attrs.ts): a READDIR
 * page's fattr4s read into one reused object, held to decodeFattr(), the
 * reference, through FattrValues.fill(): for any attributes, any run of
 * fattr4s (plans, owner strings and the reused object carried across
 * them), any truncation and any corrupted byte, the values read are the
 * reference's, end where it ends, or the entry is left to decodeFattr()
 * (which then gives the reference's values or its XdrError). Also
 * nfsTimeNanoseconds() against bigint arithmetic.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { XdrError, XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";
import {
  Attr,
  decodeFattr,
  encodeBitmap,
  encodeFattrResult,
  FattrDecoder,
  FattrValues,
  type FileAttributes,
  int64Bigint,
  type Int64Value,
  nfsTimeNanoseconds,
} from "../../lib/nfs4/attrs.ts";
import { fh, fileAttributes, hex, i32, rec, str, u32 } from "./_helpers.ts";

/** 64-bit values around the edges that matter here: 0, 2^32, 2^53 (Number or bigint), 2^63, 2^64. */
const u64 = fc.oneof(
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.bigInt({ min: 0n, max: 1n << 40n }),
  fc.bigInt({ min: (1n << 53n) - 3n, max: (1n << 53n) + 3n }),
  fc.constantFrom(0n, (1n << 32n) - 1n, 1n << 32n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n),
);
const i64 = fc.oneof(
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
  fc.bigInt({ min: -(1n << 34n), max: 1n << 34n }),
  fc.bigInt({ min: -(1n << 53n) - 3n, max: -(1n << 53n) + 3n }),
  fc.bigInt({ min: (1n << 53n) - 3n, max: (1n << 53n) + 3n }),
  fc.constantFrom(0n, -1n, -(1n << 32n), (1n << 32n) - 1n, 1n << 32n, -(1n << 63n)),
);
const nfsTime = rec({ seconds: i64, nseconds: u32 });

/** What a READDIR asks for (listings, `find`, `du`), with others the values have no field for. */
const listingAttributes: fc.Arbitrary<FileAttributes> = rec({
  type: i32,
  change: u64,
  size: u64,
  fsid: rec({ major: u64, minor: u64 }),
  rdattrError: u32,
  filehandle: fh,
  fileid: u64,
  mode: u32,
  numlinks: u32,
  owner: fc.oneof(fc.constantFrom("0", "1000", "ab", "ac", "root@example.org", ""), str),
  ownerGroup: fc.oneof(fc.constantFrom("0", "100", "ab", "ac"), str),
  rawdev: rec({ specdata1: u32, specdata2: u32 }),
  spaceUsed: u64,
  timeAccess: nfsTime,
  timeMetadata: nfsTime,
  timeModify: nfsTime,
  timeCreate: nfsTime,
  mountedOnFileid: u64,
  hidden: fc.boolean(),
  maxlink: u32,
  changePolicy: rec({ major: u64, minor: u64 }),
}, { requiredKeys: [] });

const anyAttributes = fc.oneof(
  { weight: 3, arbitrary: listingAttributes },
  { weight: 1, arbitrary: fileAttributes },
);

function encodeAll(list: readonly FileAttributes[]): Uint8Array {
  const w = new XdrWriter();
  for (const attrs of list) encodeFattrResult(w, attrs);
  return w.bytes().slice();
}

/** The fields of `values`, copied (the object itself is reused). */
function snapshot(values: FattrValues): Record<string, unknown> {
  return { ...values, returned: new Set(values.returned) };
}

type Outcome = { ok: Record<string, unknown>[]; end: number; planned: number } | {
  error: XdrError;
};

/** The reference: each fattr4 by decodeFattr(), its values copied by fill(). */
function referenceRun(bytes: Uint8Array, count: number): Outcome {
  const r = new XdrReader(bytes);
  const ok: Record<string, unknown>[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const values = new FattrValues();
      values.fill(decodeFattr(r));
      ok.push(snapshot(values));
    }
  } catch (e) {
    if (!(e instanceof XdrError)) throw e;
    return { error: e };
  }
  return { ok, end: r.offset, planned: 0 };
}

/** As a READDIR page does: valuesAt() into one object, decodeFattr() and fill() when it declines. */
function valuesRun(bytes: Uint8Array, count: number, decoder: FattrDecoder): Outcome {
  const r = new XdrReader(bytes);
  const values = new FattrValues();
  const ok: Record<string, unknown>[] = [];
  let planned = 0;
  try {
    for (let i = 0; i < count; i++) {
      if (decoder.valuesAt(r.input, r.inputView, r.offset, values)) {
        assert.ok(decoder.end > r.offset && decoder.end <= bytes.length);
        r.skip(decoder.end - r.offset);
        planned++;
      } else {
        values.fill(decodeFattr(r));
      }
      ok.push(snapshot(values));
    }
  } catch (e) {
    if (!(e instanceof XdrError)) throw e;
    return { error: e };
  }
  return { ok, end: r.offset, planned };
}

function assertSameAsReference(bytes: Uint8Array, count: number, decoder = new FattrDecoder()) {
  const expected = referenceRun(bytes, count);
  const got = valuesRun(bytes, count, decoder);
  if ("error" in expected) {
    assert.ok("error" in got, "decodeFattr() failed, valuesAt() did not");
    assert.equal(got.error.message, expected.error.message);
    return got;
  }
  assert.ok("ok" in got, `failed alone: ${"error" in got && got.error}`);
  assert.equal(got.end, expected.end);
  assert.deepStrictEqual(got.ok, expected.ok);
  return got;
}

Deno.test("FattrDecoder.valuesAt() reads what decodeFattr() decodes, for any run of attribute sets", () => {
  fc.assert(
    fc.property(fc.array(anyAttributes, { minLength: 1, maxLength: 6 }), (list) => {
      assertSameAsReference(encodeAll(list), list.length);
    }),
    { numRuns: 500 },
  );
});

Deno.test("FattrDecoder.valuesAt() reads listing attributes itself, not through decodeFattr()", () => {
  fc.assert(
    fc.property(fc.array(listingAttributes, { minLength: 1, maxLength: 6 }), (list) => {
      const got = assertSameAsReference(encodeAll(list), list.length);
      assert.ok("planned" in got && got.planned === list.length);
    }),
    { numRuns: 300 },
  );
});

Deno.test("FattrDecoder.valuesAt() keeps runs apart: plans, owners and the reused object", () => {
  const decoder = new FattrDecoder();
  fc.assert(
    fc.property(
      fc.array(anyAttributes, { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat(7), { minLength: 1, maxLength: 12 }),
      (kinds, order) => {
        // A few attribute sets (a few bitmaps) again and again, in any order:
        // a field of one bitmap must not be left over under another.
        const list = order.map((i) => kinds[i % kinds.length]!);
        assertSameAsReference(encodeAll(list), list.length, decoder);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("FattrDecoder.valuesAt() declines every truncation decodeFattr() rejects", () => {
  fc.assert(
    fc.property(
      fc.array(anyAttributes, { minLength: 1, maxLength: 3 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (list, where) => {
        const bytes = encodeAll(list);
        const cut = Math.min(bytes.length - 1, Math.floor(where * bytes.length));
        const got = assertSameAsReference(bytes.subarray(0, cut), list.length);
        assert.ok("error" in got);
      },
    ),
    { numRuns: 400 },
  );
});

Deno.test("FattrDecoder.valuesAt() agrees with decodeFattr() on corrupted bytes", () => {
  fc.assert(
    fc.property(
      fc.array(listingAttributes, { minLength: 1, maxLength: 3 }),
      fc.array(
        fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 })),
        { minLength: 1, maxLength: 3 },
      ),
      (list, changes) => {
        const bytes = encodeAll(list);
        if (bytes.length === 0) return;
        for (const [where, value] of changes) {
          bytes[Math.min(bytes.length - 1, Math.floor(where * bytes.length))] = value;
        }
        assertSameAsReference(bytes, list.length);
      },
    ),
    { numRuns: 800 },
  );
});

Deno.test("FattrDecoder.valuesAt() declines lengths over their maximum, bad bools, padding, trailing bytes", () => {
  const cases = [
    // bitmap {OWNER}, values of 8 bytes, owner length 4097 (over Limits.owner).
    hex("00000002 00000000 00000010 00000008 00001001 41424344"),
    // bitmap {HIDDEN}, value 2.
    hex("00000001 02000000 00000004 00000002"),
    // Non-zero padding after an owner of 1 byte.
    hex("00000002 00000000 00000010 00000008 00000001 41000100"),
    // Values longer than their attributes.
    hex("00000001 00000002 00000008 00000001 00000000"),
    // Values claiming 2 GiB.
    hex("00000001 00000002 7fffffff 00000001"),
    // A bitmap claiming a billion words.
    hex("3b9aca00 00000002 00000004 00000001"),
  ];
  for (const bytes of cases) {
    const values = new FattrValues();
    assert.equal(new FattrDecoder().valuesAt(bytes, new DataView(bytes.buffer), 0, values), false);
    const got = assertSameAsReference(bytes, 1);
    assert.ok("error" in got);
  }
});

Deno.test("FattrDecoder.valuesAt(): an id it cannot decode is left to decodeFattr()", () => {
  // sec_label (80) has no codec: decodeFattr() stops there and reports it undecoded.
  const w = new XdrWriter();
  encodeBitmap(w, [Attr.TYPE, Attr.SEC_LABEL]);
  w.writeUint(12).writeUint(1).writeUint(0xdeadbeef).writeUint(0);
  const bytes = w.bytes().slice();
  const values = new FattrValues();
  assert.equal(new FattrDecoder().valuesAt(bytes, new DataView(bytes.buffer), 0, values), false);
  const got = assertSameAsReference(bytes, 1);
  assert.ok("ok" in got && got.ok[0]!.type === 1);
});

Deno.test("FattrValues holds 64-bit values as Numbers below 2^53 and as bigints from there", () => {
  const decoder = new FattrDecoder();
  const values = new FattrValues();
  for (
    const [size, expected] of [
      [0n, 0],
      [(1n << 53n) - 1n, 2 ** 53 - 1],
      [1n << 53n, 1n << 53n],
      [(1n << 64n) - 1n, (1n << 64n) - 1n],
    ] as const
  ) {
    const bytes = encodeAll([{ size, timeModify: { seconds: -(1n << 53n), nseconds: 5 } }]);
    assert.ok(decoder.valuesAt(bytes, new DataView(bytes.buffer), 0, values));
    assert.strictEqual(values.size, expected);
    assert.strictEqual(values.mtimeSeconds, -(2 ** 53));
    assert.strictEqual(values.mtimeNseconds, 5);
  }
});

/** nfsTimeNanoseconds()'s arguments as FattrValues would hold them. */
function heldAs(seconds: bigint): Int64Value {
  return seconds >= -(1n << 53n) && seconds < 1n << 53n ? Number(seconds) : seconds;
}

Deno.test("nfsTimeNanoseconds() is seconds * 10^9 + nseconds, exactly", () => {
  fc.assert(
    fc.property(i64, u32, (seconds, nseconds) => {
      const expected = seconds * 1_000_000_000n + BigInt(nseconds);
      assert.strictEqual(nfsTimeNanoseconds(heldAs(seconds), nseconds), expected);
      assert.strictEqual(nfsTimeNanoseconds(seconds, nseconds), expected);
    }),
    { numRuns: 5000 },
  );
  for (
    const s of [
      0,
      -1,
      1,
      65535,
      65536,
      -65536,
      -65537,
      1_700_000_000,
      2 ** 32 - 1,
      -(2 ** 32) + 1,
      2 ** 32,
      -(2 ** 32),
    ]
  ) {
    for (const ns of [0, 1, 999_999_999, 1_000_000_000, 2 ** 32 - 1]) {
      assert.strictEqual(nfsTimeNanoseconds(s, ns), BigInt(s) * 1_000_000_000n + BigInt(ns));
    }
  }
});

Deno.test("int64Bigint() gives a value's bigint either way it is held", () => {
  assert.strictEqual(int64Bigint(5), 5n);
  assert.strictEqual(int64Bigint(-(2 ** 53)), -(1n << 53n));
  assert.strictEqual(int64Bigint(1n << 60n), 1n << 60n);
});
