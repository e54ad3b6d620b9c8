/**
 * SeenCookies (lib/client/seen_cookies.ts), the readdir-loop check of a
 * listing, against a plain Set of the cookies noted: the same answer for
 * every cookie of any sequence (rising, falling, in any order, with
 * repeats, Numbers and bigints beyond 2^53), and the same limit on what is
 * noted.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { SeenCookies } from "../../lib/client/seen_cookies.ts";
import type { Int64Value } from "../../lib/nfs4/attrs.ts";

/** A cookie as READDIR pages hold it: a Number below 2^53, else a bigint. */
function held(value: bigint): Int64Value {
  return value < 1n << 53n ? Number(value) : value;
}

/** The reference: a Set, noting at most `limit` cookies. */
function reference(cookies: readonly Int64Value[], limit: number): boolean[] {
  const set = new Set<Int64Value>();
  return cookies.map((c) => {
    if (set.has(c)) return true;
    if (set.size < limit) set.add(c);
    return false;
  });
}

const value = fc.oneof(
  fc.bigInt({ min: 0n, max: 40n }),
  fc.bigInt({ min: (1n << 53n) - 4n, max: (1n << 53n) + 4n }),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
);

/** Runs of rising or falling cookies, joined, with values from other runs among them. */
const sequence = fc.array(
  fc.tuple(value, fc.integer({ min: 1, max: 6 }), fc.constantFrom(1n, -1n, 3n, -2n)),
  { minLength: 1, maxLength: 5 },
).map((runs) =>
  runs.flatMap(([start, length, step]) =>
    Array.from({ length }, (_, i) => start + BigInt(i) * step).filter((v) =>
      v >= 0n && v < 1n << 64n
    )
  )
);

Deno.test("SeenCookies.repeats() answers as a Set of the cookies noted, for any sequence", () => {
  fc.assert(
    fc.property(
      fc.oneof(sequence, fc.array(value, { maxLength: 30 })),
      fc.integer({ min: 1, max: 40 }),
      (values, limit) => {
        const cookies = values.map(held);
        const seen = new SeenCookies(limit);
        assert.deepStrictEqual(cookies.map((c) => seen.repeats(c)), reference(cookies, limit));
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("SeenCookies: a falling run, as Ganesha's, then one that comes round again", () => {
  const seen = new SeenCookies();
  for (let c = 10_001; c >= 3; c--) assert.equal(seen.repeats(c), false);
  assert.equal(seen.repeats(2147483647), false);
  assert.equal(seen.repeats(5000), true);
  assert.equal(seen.repeats(2147483647), true);
  assert.equal(seen.repeats(2), false);
});
