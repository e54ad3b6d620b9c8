/**
 * READDIR4resok decoding (lib/nfs4/ops/readdir.ts, RFC 7530 §16.24, RFC
 * 8881 §18.23) reads its entries in place and their fattr4s with
 * FattrDecoder. Held here to a plain field-by-field reference decoder
 * (XdrReader and decodeFattr(), as the codec was written before): the same
 * entries for any page, the same result or the same XdrError for any
 * truncated or corrupted page (lengths, padding, value_follows, cookies).
 */

import assert from "node:assert/strict";
import process from "node:process";
import fc from "fast-check";
import { decodeByteString, XdrError, XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";
import { decodeFattr, FattrValues, type FileAttributes } from "../../lib/nfs4/attrs.ts";
import { Limits } from "../../lib/nfs4/constants.ts";
import {
  type DirEntry,
  READDIR,
  readdirCodec,
  type ReaddirPage,
  type ReaddirResult,
} from "../../lib/nfs4/ops/readdir.ts";
import { decodeVerifier } from "../../lib/nfs4/types.ts";
import { recordBuffers } from "../../lib/rpc/socket_buffers.ts";
import { fh, fileAttributes, hex, i32, i64, rec, str, u32, u64 } from "./_helpers.ts";

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

/** Every attribute a listing asks for (READDIR pages of `ls -l`, `find`, `du`, `--json`). */
const listingAttrs: fc.Arbitrary<FileAttributes> = rec({
  type: i32,
  change: u64,
  size: u64,
  fsid: rec({ major: u64, minor: u64 }),
  rdattrError: u32,
  filehandle: fh,
  fileid: u64,
  mode: u32,
  numlinks: u32,
  owner: fc.oneof(fc.constantFrom("0", "1000"), str),
  ownerGroup: fc.constantFrom("0", "100"),
  rawdev: rec({ specdata1: u32, specdata2: u32 }),
  spaceUsed: fc.oneof(u64, fc.bigInt({ min: 0n, max: 1n << 40n })),
  timeAccess: rec({ seconds: i64, nseconds: u32 }),
  timeMetadata: rec({ seconds: i64, nseconds: u32 }),
  timeModify: rec({
    seconds: fc.oneof(i64, fc.bigInt({ min: 0n, max: 1n << 33n })),
    nseconds: u32,
  }),
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

// ------------------------------------------------ readdirCodec(): entries made by a maker

/** What a maker sees of an entry: its name and a copy of the reused FattrValues. */
interface Seen {
  readonly name: string;
  readonly values: Record<string, unknown>;
}

function seenOf(name: string, values: FattrValues): Seen {
  return { name, values: { ...values, returned: new Set(values.returned) } };
}

/** The reference page as a maker would see it: referenceDecode()'s walk, each decodeFattr() through fill(). */
function referenceSeen(r: XdrReader): ReaddirPage<Seen> {
  const cookieverf = decodeVerifier(r);
  const entries: Seen[] = [];
  const cookies: (number | bigint)[] = [];
  for (;;) {
    const at = r.offset;
    if (!r.readBool()) break;
    if (entries.length >= Limits.dirEntries) {
      throw new XdrError(`READDIR reply has more than ${Limits.dirEntries} entries`, at);
    }
    const cookie = r.readUhyper();
    const name = decodeByteString(r.readOpaque(Limits.name));
    const values = new FattrValues();
    values.fill(decodeFattr(r));
    cookies.push(cookie < 1n << 53n ? Number(cookie) : cookie);
    entries.push(seenOf(name, values));
  }
  const eof = r.readBool();
  return { cookieverf, entries, cookies, eof };
}

const seen = readdirCodec(seenOf);

type PageOutcome = { ok: ReaddirPage<Seen>; end: number } | { error: XdrError };

function pageOutcome(decode: (r: XdrReader) => ReaddirPage<Seen>, bytes: Uint8Array): PageOutcome {
  const r = new XdrReader(bytes);
  try {
    const ok = decode(r);
    return { ok, end: r.offset };
  } catch (e) {
    if (!(e instanceof XdrError)) throw e;
    return { error: e };
  }
}

function assertCodecSameAsReference(bytes: Uint8Array): void {
  const expected = pageOutcome(referenceSeen, bytes);
  const got = pageOutcome((r) => seen.decodeResult(r), bytes);
  if ("error" in expected) {
    assert.ok("error" in got, "the reference failed, readdirCodec() did not");
    assert.equal(got.error.message, expected.error.message);
    return;
  }
  assert.ok("ok" in got, `readdirCodec() failed alone: ${"error" in got && got.error}`);
  assert.equal(got.end, expected.end);
  assert.deepStrictEqual(got.ok, expected.ok);
}

/** Entries whose attributes are anything (a few are not for the planned decoder). */
const anyEntry = fc.record({
  cookie: fc.oneof(u64, fc.bigInt({ min: (1n << 53n) - 2n, max: (1n << 53n) + 2n })),
  nameBytes: entry.map((e) => e.nameBytes),
  attrs: fc.oneof(
    { weight: 4, arbitrary: listingAttrs },
    { weight: 1, arbitrary: fileAttributes },
  ),
});

Deno.test("readdirCodec() gives its maker what the reference decodes, for any page", () => {
  fc.assert(
    fc.property(fc.array(anyEntry, { maxLength: 8 }), fc.boolean(), (list, eof) => {
      const bytes = encodePage(list, eof);
      assertCodecSameAsReference(bytes);
      const r = new XdrReader(bytes);
      const page = seen.decodeResult(r);
      r.assertEnd();
      assert.deepStrictEqual(
        page.cookies.map((c) => BigInt(c)),
        list.map((e) => e.cookie),
      );
    }),
    { numRuns: 400 },
  );
});

Deno.test("readdirCodec() fails where the reference fails on truncated pages", () => {
  fc.assert(
    fc.property(
      fc.array(anyEntry, { minLength: 1, maxLength: 5 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (list, where) => {
        const bytes = encodePage(list, true);
        assertCodecSameAsReference(bytes.subarray(0, Math.floor(where * (bytes.length - 1))));
      },
    ),
    { numRuns: 400 },
  );
});

Deno.test("readdirCodec() agrees with the reference on corrupted pages (lengths, padding, flags)", () => {
  fc.assert(
    fc.property(
      fc.array(entry, { minLength: 1, maxLength: 5 }),
      fc.array(
        fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 })),
        { minLength: 1, maxLength: 4 },
      ),
      (list, changes) => {
        const bytes = encodePage(list, true);
        for (const [where, value] of changes) {
          bytes[Math.floor(where * (bytes.length - 1))] = value;
        }
        assertCodecSameAsReference(bytes);
      },
    ),
    { numRuns: 1000 },
  );
});

/** A page of `count` entries with no attributes, ended (or not: the list runs off the end). */
function bareEntries(count: number, terminated: boolean): Uint8Array {
  const w = new XdrWriter(count * 32 + 64);
  w.writeFixedOpaque(new Uint8Array(8));
  for (let i = 0; i < count; i++) {
    w.writeBool(true).writeUhyper(BigInt(i + 3)).writeString(`f${i}`).writeUint(0).writeUint(0);
  }
  if (terminated) w.writeBool(false).writeBool(true);
  return w.bytes().slice();
}

/**
 * Asserts `fn` throws XdrError matching `pattern` within `limitMs` (500) of
 * this process's CPU. The process's: under `deno test --parallel` the other
 * test workers' CPU counts too, so the limit stands well above the work.
 */
function assertFastXdrError(fn: () => unknown, pattern?: RegExp, limitMs = 500): void {
  const started = process.cpuUsage();
  assert.throws(fn, (e: unknown) => e instanceof XdrError && (!pattern || pattern.test(e.message)));
  const used = process.cpuUsage(started);
  const usedMs = (used.user + used.system) / 1000;
  assert.ok(usedMs < limitMs, `${usedMs} ms of CPU`);
}

Deno.test("readdirCodec() walks 10,000 entries, and fails fast on hostile lengths and lists", () => {
  const names = readdirCodec((name) => name);
  const r = new XdrReader(bareEntries(10_000, true));
  const page = names.decodeResult(r);
  r.assertEnd();
  assert.equal(page.entries.length, 10_000);
  assert.equal(page.entries[9_999], "f9999");
  assert.equal(page.cookies[9_999], 10_002);
  const open = bareEntries(10_000, false);
  assertFastXdrError(() => names.decodeResult(new XdrReader(open)), /truncated/);
  assertFastXdrError(() => names.decodeResult(new XdrReader(open.subarray(0, 1000))));
  // A name claiming a billion bytes; attributes claiming 2 GiB; a bitmap of a billion words.
  for (
    const [text, pattern] of [
      ["00000000 00000000 00000001 00000000 00000003 3b9aca00 41424344", /exceeds maximum 4096/],
      [
        "00000000 00000000 00000001 00000000 00000003 00000001 61000000 00000001 00000010 7fffffff",
        /exceeds maximum/,
      ],
      [
        "00000000 00000000 00000001 00000000 00000003 00000001 61000000 3b9aca00",
        /exceeds maximum 16/,
      ],
    ] as const
  ) {
    assertFastXdrError(() => names.decodeResult(new XdrReader(hex(text))), pattern);
  }
  // More entries than Limits.dirEntries, however well formed: refused once
  // the limit's million entries are walked (0.35 s of CPU alone, more than
  // the hostile lengths' bound leaves beside the other test workers' CPU
  // under --parallel, where it failed at 500 ms); no more than that walk.
  const many = bareEntries(Limits.dirEntries + 1, true);
  assertFastXdrError(() => names.decodeResult(new XdrReader(many)), /more than/, 5_000);
});

Deno.test("readdirCodec()'s results are for decoding only", () => {
  assert.throws(
    () =>
      seen.encodeResult(new XdrWriter(), {
        cookieverf: new Uint8Array(8),
        entries: [],
        cookies: [],
        eof: true,
      }),
    TypeError,
  );
});

Deno.test("readdirCodec({ releaseReply }) hands a pooled reply back, and what it made keeps no view of it", () => {
  const list = [
    {
      cookie: 5n,
      nameBytes: new TextEncoder().encode("a"),
      attrs: { type: 5, owner: "0", filehandle: new Uint8Array([1, 2, 3]) },
    },
    {
      cookie: 9n,
      nameBytes: new Uint8Array([0x6c, 0xe9]),
      attrs: { type: 1, ownerGroup: "100", size: 7n },
    },
  ];
  const page = encodePage(list, true);
  const expected = seen.decodeResult(new XdrReader(page));
  const pool = recordBuffers;
  const record = pool.take(Math.max(page.length, 64 * 1024)).subarray(0, page.length);
  record.set(page);
  const released = pool.stats.released;
  const got = readdirCodec(seenOf, { releaseReply: true }).decodeResult(new XdrReader(record));
  assert.equal(pool.stats.released, released + 1);
  // The buffer's next user overwrites it: nothing decoded changes.
  record.fill(0xff);
  assert.deepStrictEqual(got, expected);
  // Without the option, or for a buffer not from the pool, nothing is handed back.
  readdirCodec(seenOf).decodeResult(new XdrReader(page));
  readdirCodec(seenOf, { releaseReply: true }).decodeResult(new XdrReader(page));
  assert.equal(pool.stats.released, released + 1);
});
