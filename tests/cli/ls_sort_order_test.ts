/**
 * sortListing() (cli/ls_sort.ts) sorts a whole listing faster than one
 * comparator call per comparison would (names compared as plain strings
 * when that is their byte order, times and sizes looked up once): it must
 * give exactly the order of comparator(), for any names (astral
 * characters, U+E000..U+FFFF, bytes that are not UTF-8), any keys (unknown
 * ones included), with -r.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { comparator, sortListing, type SortOptions } from "../../cli/ls_sort.ts";
import type { FileInfo } from "../../lib/client/types.ts";

const nameChar = fc.oneof(
  fc.constantFrom("a", "b", "A", "-", ".", "_", "0", "~"),
  fc.constantFrom("\u00e9", "\u65e5", "\ue000", "\uffee", "\u{1f600}", "\u{10400}"),
  // Bytes that are not UTF-8, as lib/client/names.ts keeps them.
  fc.constantFrom("\udce9", "\udcff", "\udc80"),
);
const name = fc.array(nameChar, { minLength: 1, maxLength: 4 }).map((cs) => cs.join(""));
const key = fc.option(fc.bigInt({ min: -3n, max: 3n }), { nil: undefined });

function info(n: string, time: bigint | undefined, size: bigint | undefined): FileInfo {
  return {
    name: n,
    path: `/d/${n}`,
    kind: "file",
    mode: 0o644,
    nlink: 1,
    owner: "0",
    group: "0",
    size,
    spaceUsed: undefined,
    atime: undefined,
    mtime: undefined,
    ctime: undefined,
    mtimeNs: time,
    atimeNs: time === undefined ? undefined : -time,
    fileid: undefined,
  };
}

const listing = fc.array(fc.tuple(name, key, key), { maxLength: 30 }).map((rows) =>
  rows.map(([n, t, s]) => ({ name: n, info: info(n, t, s) }))
);
const options: fc.Arbitrary<SortOptions> = fc.record({
  key: fc.constantFrom("name", "time", "size", "none"),
  reverse: fc.boolean(),
  time: fc.constantFrom("mtime", "atime", "ctime"),
});

Deno.test("sortListing() gives comparator()'s order for any names and keys", () => {
  fc.assert(
    fc.property(listing, options, (items, opts) => {
      const expected = opts.key === "none" ? [...items] : [...items].sort(comparator(opts));
      const got = sortListing([...items], opts);
      assert.deepStrictEqual(got.map((i) => i.name), expected.map((i) => i.name));
      assert.deepStrictEqual(got, expected);
    }),
    { numRuns: 500 },
  );
});

Deno.test("sortListing() with ASCII names only: the plain-string comparison, same order", () => {
  const ascii = fc.array(
    fc.string({ unit: fc.constantFrom("a", "B", "-", ".", "1", "~"), minLength: 1 }),
    {
      maxLength: 40,
    },
  );
  fc.assert(
    fc.property(ascii, fc.boolean(), (names, reverse) => {
      const items = names.map((n) => ({ name: n, info: info(n, undefined, undefined) }));
      const opts: SortOptions = { key: "name", reverse, time: "mtime" };
      assert.deepStrictEqual(sortListing([...items], opts), [...items].sort(comparator(opts)));
    }),
  );
});

/** An item whose String() is its name, as cli/ls.ts's entries are. */
class Named {
  readonly name: string;
  readonly info: FileInfo;
  readonly id: number;

  constructor(name: string, info: FileInfo, id: number) {
    this.name = name;
    this.info = info;
    this.id = id;
  }

  toString(): string {
    return this.name;
  }
}

Deno.test("sortListing() with hints (plain names, String() the name): comparator()'s order, ties kept", () => {
  // Names that sort as plain strings: below U+D800, NUL and C0 controls included.
  const plainChar = fc.constantFrom(
    "a",
    "ab",
    "B",
    "-",
    ".",
    "\u0000",
    "\u0001",
    "\u00e9",
    "\u65e5",
  );
  const plainName = fc.array(plainChar, { minLength: 1, maxLength: 4 }).map((cs) => cs.join(""));
  fc.assert(
    fc.property(
      fc.array(fc.tuple(plainName, key, key), { maxLength: 40 }),
      options,
      (rows, opts) => {
        // Duplicates come often (few characters): their order must be kept.
        const items = rows.map(([n, t, s], i) => new Named(n, info(n, t, s), i));
        const expected = opts.key === "none" ? [...items] : [...items].sort(comparator(opts));
        const hints = { plainNames: true, namedByString: true };
        const got = sortListing([...items], opts, hints);
        assert.deepStrictEqual(got.map((i) => i.id), expected.map((i) => i.id));
      },
    ),
    { numRuns: 500 },
  );
});
