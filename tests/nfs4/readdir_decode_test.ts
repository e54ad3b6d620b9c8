/**
 * READDIR4resok decoding (lib/nfs4/ops/readdir.ts, RFC 7530 §16.24, RFC
 * 8881 §18.23) reads its entries in place and their fattr4s with
 * FattrDecoder. Held here to a plain field-by-field reference decoder
 * (XdrReader and decodeFattr(), as the codec was written before): the same
 * entries for any page, the same result or the same XdrError for any
 * truncated or corrupted page (lengths, padding, value_follows, cookies).
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeByteString, XdrError, XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";
import { decodeFattr, type FileAttributes } from "../../lib/nfs4/attrs.ts";
import { Limits } from "../../lib/nfs4/constants.ts";
import { type DirEntry, READDIR, type ReaddirResult } from "../../lib/nfs4/ops/readdir.ts";
import { decodeVerifier } from "../../lib/nfs4/types.ts";
import { fh, i64, rec, str, u32, u64 } from "./_helpers.ts";

/** The reference: every field through the reader, every fattr4 through decodeFattr(). */
function referenceDecode(r: XdrReader): ReaddirResult {
  const cookieverf = decodeVerifier(r);
  const entries: DirEntry[] = [];
  for (;;) {
    const at = r.offset;
    if (!r.readBool()) break;
    if (entries.length >= Limits.dirEntries) {
      throw new XdrError(`READDIR reply has more than ${Limits.dirEntries} entries`, at);
    }
    const cookie = r.readUhyper();
    const nameBytes = r.readOpaque(Limits.name);
    const { attrs } = decodeFattr(r);
    entries.push({ cookie, name: decodeByteString(nameBytes), nameBytes, attrs });
  }
  const eof = r.readBool();
  return { cookieverf, entries, eof };
}

const attrs: fc.Arbitrary<FileAttributes> = rec({
  type: fc.integer({ min: 1, max: 7 }),
  size: u64,
  fileid: u64,
  mode: u32,
  numlinks: u32,
  owner: fc.oneof(fc.constantFrom("0", "1000"), str),
  ownerGroup: fc.constantFrom("0", "100"),
  spaceUsed: u64,
  timeModify: rec({ seconds: i64, nseconds: u32 }),
  filehandle: fh,
  rdattrError: u32,
}, { requiredKeys: [] });

const entry = fc.record({
  cookie: u64,
  // Names of every length mod 4 (padding), ASCII or not, UTF-8 or not.
  nameBytes: fc.oneof(
    fc.uint8Array({ minLength: 0, maxLength: 13 }),
    fc.string({ minLength: 1, maxLength: 12 }).map((s) => new TextEncoder().encode(s)),
  ),
  attrs,
});

function encodePage(
  entries: readonly { cookie: bigint; nameBytes: Uint8Array; attrs: FileAttributes }[],
  eof: boolean,
) {
  const w = new XdrWriter();
  READDIR.encodeResult(w, {
    cookieverf: new Uint8Array(8).fill(9),
    entries: entries.map((e) => ({ ...e, name: decodeByteString(e.nameBytes) })),
    eof,
  });
  return w.bytes().slice();
}

type Outcome = { ok: ReaddirResult; end: number } | { error: XdrError };

function outcome(decode: (r: XdrReader) => ReaddirResult, bytes: Uint8Array): Outcome {
  const r = new XdrReader(bytes);
  try {
    const ok = decode(r);
    return { ok, end: r.offset };
  } catch (e) {
    if (!(e instanceof XdrError)) throw e;
    return { error: e };
  }
}

function assertSameAsReference(bytes: Uint8Array): void {
  const expected = outcome(referenceDecode, bytes);
  const got = outcome((r) => READDIR.decodeResult(r), bytes);
  if ("error" in expected) {
    assert.ok("error" in got, "the reference failed, the codec did not");
    assert.equal(got.error.message, expected.error.message);
    return;
  }
  assert.ok("ok" in got, `the codec failed alone: ${"error" in got && got.error}`);
  assert.equal(got.end, expected.end);
  assert.deepStrictEqual(got.ok, expected.ok);
}

Deno.test("READDIR.decodeResult() decodes any page as the reference does", () => {
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 8 }), fc.boolean(), (list, eof) => {
      const bytes = encodePage(list, eof);
      assertSameAsReference(bytes);
      const r = new XdrReader(bytes);
      const result = READDIR.decodeResult(r);
      r.assertEnd();
      assert.deepStrictEqual(result.entries.map((e) => e.nameBytes), list.map((e) => e.nameBytes));
      assert.deepStrictEqual(result.entries.map((e) => e.cookie), list.map((e) => e.cookie));
    }),
    { numRuns: 300 },
  );
});

Deno.test("READDIR.decodeResult() fails where the reference fails on truncated pages", () => {
  fc.assert(
    fc.property(
      fc.array(entry, { minLength: 1, maxLength: 5 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (list, where) => {
        const bytes = encodePage(list, true);
        assertSameAsReference(bytes.subarray(0, Math.floor(where * (bytes.length - 1))));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("READDIR.decodeResult() agrees with the reference on corrupted pages (lengths, padding, flags)", () => {
  fc.assert(
    fc.property(
      fc.array(entry, { minLength: 1, maxLength: 5 }),
      fc.array(
        fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 })),
        {
          minLength: 1,
          maxLength: 4,
        },
      ),
      (list, changes) => {
        const bytes = encodePage(list, true);
        for (const [where, value] of changes) {
          bytes[Math.floor(where * (bytes.length - 1))] = value;
        }
        assertSameAsReference(bytes);
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("READDIR.decodeResult() rejects non-zero padding after a name, as the reader does", () => {
  // cookieverf, value_follows, cookie 3, name "a" with padding 00 01 00.
  const bytes = new Uint8Array([
    ...new Uint8Array(8),
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    3,
    0,
    0,
    0,
    1,
    0x61,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0, // empty bitmap, no values
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    1, // no more entries, eof
  ]);
  assert.throws(() => READDIR.decodeResult(new XdrReader(bytes)), /non-zero padding/);
  assertSameAsReference(bytes);
});
