/**
 * Fuzzing the strict reader: hostile input only ever raises XdrError (never a
 * RangeError or TypeError from a typed array) and never hangs.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { XdrError, XdrReader } from "../../lib/xdr/mod.ts";
import { decodeEntry, encodeEntry, type Entry, entryArb, readEntry } from "./_record.ts";

function decodesOrXdrError(bytes: Uint8Array): Entry | XdrError {
  try {
    return decodeEntry(bytes);
  } catch (e) {
    if (e instanceof XdrError) return e;
    throw new Error(`expected XdrError, got ${String(e)}`, { cause: e });
  }
}

const sample: Entry = {
  id: 0x1122334455667788n,
  delta: -7,
  offset: -(1n << 40n),
  kind: 5,
  hidden: true,
  handle: new Uint8Array([1, 2, 3, 4, 5]),
  verifier: new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2]),
  name: "naïve 😀",
  groups: [0, 100, 0xffffffff],
  tags: ["a", "bcdefgh"],
  pair: [1, -1],
  next: {
    id: 1n,
    delta: 0,
    offset: 0n,
    kind: 2,
    hidden: false,
    handle: new Uint8Array(0),
    verifier: new Uint8Array(8),
    name: "",
    groups: [],
    tags: ["", ""],
    pair: [0, 0],
    next: undefined,
    target: { kind: 2, entries: 42n },
  },
  target: { kind: 5, path: "/export/a/b" },
};

Deno.test("decodeEntry() raises only XdrError for random buffers", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      decodesOrXdrError(bytes);
    }),
    { numRuns: 5000 },
  );
});

Deno.test("decodeEntry() raises only XdrError for random word-aligned buffers of small values", () => {
  // Small big-endian words look like plausible lengths, counts and booleans,
  // which drives the decoder much deeper than uniform random bytes do.
  const word = fc.oneof(
    fc.integer({ min: 0, max: 8 }),
    fc.integer({ min: 0, max: 300 }),
    fc.constantFrom(0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffc),
  );
  fc.assert(
    fc.property(fc.array(word, { maxLength: 128 }), (words) => {
      const bytes = new Uint8Array(words.length * 4);
      const view = new DataView(bytes.buffer);
      words.forEach((w, i) => view.setUint32(i * 4, w));
      decodesOrXdrError(bytes);
    }),
    { numRuns: 5000 },
  );
});

Deno.test("decodeEntry() raises XdrError for every truncation of a valid encoding", () => {
  const full = encodeEntry(sample);
  assert.deepEqual(decodeEntry(full), sample);
  for (let length = 0; length < full.length; length++) {
    const result = decodesOrXdrError(full.slice(0, length));
    assert.ok(result instanceof XdrError, `prefix of ${length} bytes must not decode`);
  }
});

Deno.test("decodeEntry() raises XdrError for every truncation of random valid encodings", () => {
  fc.assert(
    fc.property(entryArb, fc.nat(), (entry, cut) => {
      const full = encodeEntry(entry);
      const length = cut % full.length;
      assert.ok(decodesOrXdrError(full.subarray(0, length)) instanceof XdrError);
    }),
    { numRuns: 500 },
  );
});

Deno.test("decodeEntry() raises XdrError for a valid encoding with trailing bytes", () => {
  const full = encodeEntry(sample);
  const longer = new Uint8Array(full.length + 4);
  longer.set(full);
  assert.ok(decodesOrXdrError(longer) instanceof XdrError);
});

Deno.test("decodeEntry() raises only XdrError for single-byte corruptions of a valid encoding", () => {
  const full = encodeEntry(sample);
  for (let i = 0; i < full.length; i++) {
    for (const value of [0x00, 0x01, 0x7f, 0x80, 0xff]) {
      const copy = full.slice();
      copy[i] = value;
      decodesOrXdrError(copy);
    }
  }
});

Deno.test("decodeEntry() raises only XdrError for random corruptions of random encodings", () => {
  fc.assert(
    fc.property(
      entryArb,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 8,
      }),
      (entry, edits) => {
        const bytes = encodeEntry(entry);
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        decodesOrXdrError(bytes);
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("readEntry() fails fast on a huge claimed length inside a record", () => {
  // Corrupt the handle's length word (after uhyper, int, hyper, enum, bool).
  const full = encodeEntry(sample);
  const at = 8 + 4 + 8 + 4 + 4;
  new DataView(full.buffer).setUint32(at, 0xffffffff);
  const started = performance.now();
  const result = decodesOrXdrError(full);
  assert.ok(result instanceof XdrError);
  assert.match(result.message, /exceeds maximum 128/);
  assert.ok(performance.now() - started < 100);
});

Deno.test("readEntry() leaves no reads past the input when decoding succeeds", () => {
  const full = encodeEntry(sample);
  const r = new XdrReader(full);
  readEntry(r);
  assert.equal(r.remaining, 0);
});
