/**
 * FattrDecoder (lib/nfs4/attrs.ts), the planned fattr4 decoder of READDIR
 * pages, against decodeFattr(), the reference: for any attributes, any run
 * of fattr4s one after another (plans and owner strings reused across
 * them), any truncation and any corrupted byte, both give the same values,
 * stop at the same offset, or both raise XdrError (RFC 7530 §3.3.7 bitmap4,
 * §5 fattr4; RFC 4506 §4.10 opaque lengths and zero padding).
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { XdrError, XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";
import {
  Attr,
  type DecodedFattr,
  decodeFattr,
  encodeBitmap,
  encodeFattrResult,
  FattrDecoder,
  type FileAttributes,
} from "../../lib/nfs4/attrs.ts";
import { fh, fileAttributes, hex, i32, i64, rec, str, u32, u64 } from "./_helpers.ts";

/** The attributes a READDIR for `ls -l`, `find` or `du` asks for: all of them planned formats. */
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
  // Few distinct owners, as in a real directory: the cache is exercised.
  owner: fc.oneof(fc.constantFrom("0", "1000", "ab", "ac", "root@example.org", ""), str),
  ownerGroup: fc.oneof(fc.constantFrom("0", "100", "ab", "ac"), str),
  rawdev: rec({ specdata1: u32, specdata2: u32 }),
  spaceUsed: u64,
  timeAccess: rec({ seconds: i64, nseconds: u32 }),
  timeMetadata: rec({ seconds: i64, nseconds: u32 }),
  timeModify: rec({ seconds: i64, nseconds: u32 }),
  mountedOnFileid: u64,
  hidden: fc.boolean(),
}, { requiredKeys: [] });

/** Either kind: mostly listing-like, sometimes anything at all (ACLs, locations, bitmaps...). */
const anyAttributes = fc.oneof(
  { weight: 3, arbitrary: listingAttributes },
  { weight: 1, arbitrary: fileAttributes },
);

function encodeAll(list: readonly FileAttributes[]): Uint8Array {
  const w = new XdrWriter();
  for (const attrs of list) encodeFattrResult(w, attrs);
  return w.bytes().slice();
}

type Outcome = { ok: DecodedFattr[]; end: number } | { error: XdrError };

/** Decodes `count` fattr4s in a row with `decodeOne`, or the XdrError that stopped it. */
function decodeRun(bytes: Uint8Array, count: number, decodeOne: (r: XdrReader) => DecodedFattr) {
  const r = new XdrReader(bytes);
  const ok: DecodedFattr[] = [];
  try {
    for (let i = 0; i < count; i++) ok.push(decodeOne(r));
  } catch (e) {
    if (!(e instanceof XdrError)) throw e;
    return { error: e } satisfies Outcome;
  }
  return { ok, end: r.offset } satisfies Outcome;
}

/** Asserts the planned decoder and decodeFattr() agree on `bytes` (a run of `count` fattr4s). */
function assertSameAsGeneric(bytes: Uint8Array, count: number, decoder = new FattrDecoder()) {
  const generic: Outcome = decodeRun(bytes, count, decodeFattr);
  const planned: Outcome = decodeRun(bytes, count, (r) => decoder.decode(r));
  // decodeAttrs(): the same values alone, from a decoder in the same state.
  const attrsOnly = decodeRun(bytes, count, (r) => ({
    attrs: decoder.decodeAttrs(r),
    returned: new Set(),
    undecoded: new Set(),
  }));
  assert.equal("error" in attrsOnly, "error" in planned);
  if ("ok" in attrsOnly && "ok" in planned) {
    assert.deepStrictEqual(attrsOnly.ok.map((d) => d.attrs), planned.ok.map((d) => d.attrs));
    assert.equal(attrsOnly.end, planned.end);
  }
  if ("error" in generic) {
    assert.ok("error" in planned, "decodeFattr() failed, the planned decoder did not");
    assert.equal(planned.error.message, generic.error.message);
    return;
  }
  assert.ok(
    "ok" in planned,
    `the planned decoder failed alone: ${"error" in planned && planned.error}`,
  );
  assert.equal(planned.end, generic.end);
  assert.equal(planned.ok.length, generic.ok.length);
  for (let i = 0; i < generic.ok.length; i++) {
    assert.deepStrictEqual(planned.ok[i]!.attrs, generic.ok[i]!.attrs);
    assert.deepStrictEqual(planned.ok[i]!.returned, generic.ok[i]!.returned);
    assert.deepStrictEqual(planned.ok[i]!.undecoded, generic.ok[i]!.undecoded);
  }
}

Deno.test("FattrDecoder decodes what decodeFattr() decodes, for any run of attribute sets", () => {
  fc.assert(
    fc.property(fc.array(anyAttributes, { minLength: 1, maxLength: 6 }), (list) => {
      assertSameAsGeneric(encodeAll(list), list.length);
    }),
    { numRuns: 400 },
  );
});

Deno.test("FattrDecoder keeps one decoder's plans and owner strings apart across runs", () => {
  // One decoder for every run, as READDIR keeps one for all its pages.
  const decoder = new FattrDecoder();
  fc.assert(
    fc.property(
      fc.array(listingAttributes, { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat(7), { minLength: 1, maxLength: 12 }),
      (kinds, order) => {
        // The same few attribute sets again and again, in any order.
        const list = order.map((i) => kinds[i % kinds.length]!);
        assertSameAsGeneric(encodeAll(list), list.length, decoder);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("FattrDecoder rejects every truncation decodeFattr() rejects, with the same error", () => {
  fc.assert(
    fc.property(
      fc.array(anyAttributes, { minLength: 1, maxLength: 3 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (list, where) => {
        const bytes = encodeAll(list);
        const cut = Math.min(bytes.length - 1, Math.floor(where * bytes.length));
        const truncated = bytes.subarray(0, cut);
        // A fattr4 states every length, so no prefix of the run decodes whole.
        assert.ok("error" in decodeRun(truncated, list.length, decodeFattr));
        assertSameAsGeneric(truncated, list.length);
      },
    ),
    { numRuns: 400 },
  );
});

Deno.test("FattrDecoder agrees with decodeFattr() on corrupted bytes (lengths, bools, padding)", () => {
  fc.assert(
    fc.property(
      fc.array(listingAttributes, { minLength: 1, maxLength: 3 }),
      fc.array(
        fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 })),
        {
          minLength: 1,
          maxLength: 3,
        },
      ),
      (list, changes) => {
        const bytes = encodeAll(list);
        if (bytes.length === 0) return;
        for (const [where, value] of changes) {
          bytes[Math.min(bytes.length - 1, Math.floor(where * bytes.length))] = value;
        }
        assertSameAsGeneric(bytes, list.length);
      },
    ),
    { numRuns: 600 },
  );
});

Deno.test("FattrDecoder reuses a bitmap's plan: fattr4s with the same bitmap share `returned`", () => {
  const a: FileAttributes = { type: 1, mode: 0o644, owner: "0", size: 3n };
  const b: FileAttributes = { type: 2, mode: 0o755, owner: "1000", size: 4096n };
  const r = new XdrReader(encodeAll([a, b]));
  const decoder = new FattrDecoder();
  const first = decoder.decode(r);
  const second = decoder.decode(r);
  r.assertEnd();
  assert.deepStrictEqual(first.attrs, a);
  assert.deepStrictEqual(second.attrs, b);
  // The planned path, not decodeFattr(): one set for the bitmap's ids.
  assert.strictEqual(first.returned, second.returned);
  assert.deepStrictEqual(first.returned, new Set([Attr.TYPE, Attr.SIZE, Attr.MODE, Attr.OWNER]));
});

Deno.test("FattrDecoder: an owner of the same length but other bytes is decoded again", () => {
  const list: FileAttributes[] = ["ab", "ac", "ab", "ab", "a\u00e9", "ab"].map((owner) => ({
    owner,
  }));
  const r = new XdrReader(encodeAll(list));
  const decoder = new FattrDecoder();
  assert.deepStrictEqual(list.map(() => decoder.decode(r).attrs.owner), list.map((a) => a.owner));
});

Deno.test("FattrDecoder leaves an id it cannot decode to decodeFattr(): undecoded, the rest skipped", () => {
  // sec_label (80) has no codec here: the values stop there, as decodeFattr() reports.
  const w = new XdrWriter();
  encodeBitmap(w, [Attr.TYPE, Attr.SEC_LABEL]);
  w.writeUint(12);
  w.writeUint(1);
  w.writeUint(0xdeadbeef);
  w.writeUint(0);
  const bytes = w.bytes().slice();
  assertSameAsGeneric(bytes, 1);
  const decoded = new FattrDecoder().decode(new XdrReader(bytes));
  assert.deepStrictEqual(decoded.attrs, { type: 1 });
  assert.deepStrictEqual(decoded.undecoded, new Set([Attr.SEC_LABEL]));
});

Deno.test("FattrDecoder rejects what decodeFattr() rejects: an owner over its maximum, a bool of 2", () => {
  // bitmap {OWNER}, values of 8 bytes, owner length 4097 (over Limits.owner).
  assertSameAsGeneric(hex("00000002 00000000 00000010 00000008 00001001 41424344"), 1);
  assert.throws(
    () =>
      new FattrDecoder().decode(
        new XdrReader(hex("00000002 00000000 00000010 00000008 00001001 41424344")),
      ),
    (e: unknown) => e instanceof XdrError && /exceeds maximum 1024/.test(e.message),
  );
  // bitmap {HIDDEN}, value 2.
  const bool2 = hex("00000001 02000000 00000004 00000002");
  assertSameAsGeneric(bool2, 1);
  assert.throws(() => new FattrDecoder().decode(new XdrReader(bool2)), /invalid bool 2/);
  // Non-zero padding after an owner of 1 byte.
  const padded = hex("00000002 00000000 00000010 00000008 00000001 41000100");
  assertSameAsGeneric(padded, 1);
  assert.throws(() => new FattrDecoder().decode(new XdrReader(padded)), /non-zero padding/);
  // Values longer than their attributes: trailing bytes inside the fattr4.
  const long = hex("00000001 00000002 00000008 00000001 00000000");
  assertSameAsGeneric(long, 1);
  assert.throws(() => new FattrDecoder().decode(new XdrReader(long)), /trailing bytes/);
});
