/**
 * A composite XDR record used by the property and fuzz tests: it nests every
 * kind of item the reader knows (integers, hypers, enum, bool, opaque, string,
 * arrays, optional, union), so one decode walks every code path.
 *
 * ```
 * enum kind { FILE = 1, DIR = 2, LINK = 5 };
 * union target switch (kind k) {
 *   case LINK: string path<1024>;
 *   case DIR:  unsigned hyper entries;
 *   default:   void;
 * };
 * struct entry {
 *   unsigned hyper id; int delta; hyper offset; kind kind; bool hidden;
 *   opaque handle<128>; opaque verifier[8]; string name<255>;
 *   unsigned int groups<16>; string tags<8>[2]; int pair[2];
 *   entry *next; target target;
 * };
 * ```
 * @module
 */

import fc from "fast-check";
import { XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";

export const KIND_FILE = 1;
export const KIND_DIR = 2;
export const KIND_LINK = 5;
export const KINDS: ReadonlySet<number> = new Set([KIND_FILE, KIND_DIR, KIND_LINK]);

export type Target =
  | { kind: typeof KIND_LINK; path: string }
  | { kind: typeof KIND_DIR; entries: bigint }
  | { kind: typeof KIND_FILE };

export interface Entry {
  id: bigint;
  delta: number;
  offset: bigint;
  kind: number;
  hidden: boolean;
  handle: Uint8Array;
  verifier: Uint8Array;
  name: string;
  groups: number[];
  tags: [string, string];
  pair: [number, number];
  next: Entry | undefined;
  target: Target;
}

export function writeEntry(w: XdrWriter, e: Entry): void {
  w.writeUhyper(e.id)
    .writeInt(e.delta)
    .writeHyper(e.offset)
    .writeEnum(e.kind)
    .writeBool(e.hidden)
    .writeOpaque(e.handle, 128)
    .writeFixedOpaque(e.verifier, 8)
    .writeString(e.name, 255)
    .writeArray(e.groups, (w, g) => w.writeUint(g), 16)
    .writeFixedArray(e.tags, 2, (w, t) => w.writeString(t, 8))
    .writeFixedArray(e.pair, 2, (w, n) => w.writeInt(n))
    .writeOptional(e.next, writeEntry);
  const t = e.target;
  switch (t.kind) {
    case KIND_LINK:
      w.writeUnion(t.kind, (w) => w.writeString(t.path, 1024));
      break;
    case KIND_DIR:
      w.writeUnion(t.kind, (w) => w.writeUhyper(t.entries));
      break;
    default:
      w.writeUnion(t.kind);
  }
}

export function readEntry(r: XdrReader): Entry {
  const id = r.readUhyper();
  const delta = r.readInt();
  const offset = r.readHyper();
  const kind = r.readEnum(KINDS, "kind");
  const hidden = r.readBool();
  const handle = r.readOpaque(128);
  const verifier = r.readFixedOpaque(8);
  const name = r.readString(255);
  const groups = r.readArray((r) => r.readUint(), 16);
  const [tag0 = "", tag1 = ""] = r.readFixedArray(2, (r) => r.readString(8));
  const [p0 = 0, p1 = 0] = r.readFixedArray(2, (r) => r.readInt());
  const next = r.readOptional(readEntry);
  const target = r.readUnion<Target>({
    [KIND_LINK]: (r) => ({ kind: KIND_LINK, path: r.readString(1024) }),
    [KIND_DIR]: (r) => ({ kind: KIND_DIR, entries: r.readUhyper() }),
    [KIND_FILE]: () => ({ kind: KIND_FILE }),
  });
  return {
    id,
    delta,
    offset,
    kind,
    hidden,
    handle,
    verifier,
    name,
    groups,
    tags: [tag0, tag1],
    pair: [p0, p1],
    next,
    target,
  };
}

/** Encodes a whole entry as a top-level value. */
export function encodeEntry(e: Entry): Uint8Array {
  const w = new XdrWriter(16);
  writeEntry(w, e);
  return w.bytes().slice();
}

/** Decodes a whole entry as a top-level value: all input must be consumed. */
export function decodeEntry(bytes: Uint8Array): Entry {
  const r = new XdrReader(bytes);
  const e = readEntry(r);
  r.assertEnd();
  return e;
}

// fast-check builds records with a null prototype unless told otherwise; the
// decoder builds plain objects, and deepStrictEqual compares prototypes.
const plain = { noNullPrototype: true } as const;
const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const uint32 = fc.integer({ min: 0, max: 0xffffffff });
const utf8Max = (max: number) =>
  fc.string({ unit: "binary", maxLength: max }).filter((s) =>
    new TextEncoder().encode(s).length <= max
  );

const target: fc.Arbitrary<Target> = fc.oneof(
  fc.record({ kind: fc.constant(KIND_LINK), path: utf8Max(64) }, plain),
  fc.record(
    { kind: fc.constant(KIND_DIR), entries: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) },
    plain,
  ),
  fc.record({ kind: fc.constant(KIND_FILE) }, plain),
) as fc.Arbitrary<Target>;

function entryArbitrary(depth: number): fc.Arbitrary<Entry> {
  return fc.record({
    id: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    delta: int32,
    offset: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
    kind: fc.constantFrom(...KINDS),
    hidden: fc.boolean(),
    handle: fc.uint8Array({ maxLength: 128 }),
    verifier: fc.uint8Array({ minLength: 8, maxLength: 8 }),
    name: utf8Max(255),
    groups: fc.array(uint32, { maxLength: 16 }),
    tags: fc.tuple(utf8Max(8), utf8Max(8)),
    pair: fc.tuple(int32, int32),
    next: depth > 0
      ? fc.option(entryArbitrary(depth - 1), { nil: undefined })
      : fc.constant(undefined),
    target,
  }, plain);
}

/** Arbitrary entries, nested up to three deep through `next`. */
export const entryArb: fc.Arbitrary<Entry> = entryArbitrary(3);
