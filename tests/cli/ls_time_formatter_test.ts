/**
 * lsTimeFormatter() (cli/ls_time.ts), which `ls -l` uses once per listing,
 * prints exactly what formatLsTime() prints for every file, whatever the
 * order of the times: near "now" and six months ago (the two places where
 * the format changes within a second), in the future, before the epoch,
 * in any style and zone.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { formatLsTime, lsTimeFormatter, parseTimeStyle, SIX_MONTHS_MS } from "../../cli/ls_time.ts";

const NOW_MS = 1_764_900_123_456;
const NS = 1_000_000n;

/** Times near `ms` milliseconds since the epoch, to the nanosecond. */
function near(ms: number, spreadNs: bigint): fc.Arbitrary<bigint> {
  return fc.bigInt({ min: -spreadNs, max: spreadNs }).map((d) => BigInt(ms) * NS + d);
}

/** A "now" and times around it: near it and six months before it to the nanosecond, and anywhere. */
const cases = fc.integer({ min: -5000, max: 5000 }).chain((shift) => {
  const now = NOW_MS + shift;
  return fc.tuple(
    fc.constant(now),
    fc.array(
      fc.oneof(
        near(now, 3_000_000_000n),
        near(now, 2_000_000n),
        near(now - SIX_MONTHS_MS, 3_000_000_000n),
        // The millisecond where "recent" begins, and the ones around it.
        near(now - SIX_MONTHS_MS + 1, 2_000_000n),
        near(now, 10n ** 18n),
        fc.bigInt({ min: -(10n ** 18n), max: 10n ** 18n }),
        fc.constantFrom(0n, -1n, 1n, BigInt(now) * NS, BigInt(now - SIX_MONTHS_MS + 1) * NS),
      ),
      { minLength: 1, maxLength: 40 },
    ),
  );
});

for (
  const styleName of ["locale", "long-iso", "iso", "full-iso", "+%s %Y-%m-%d %H:%M:%S", "+%N"]
) {
  for (const timeZone of ["UTC", "America/New_York", undefined]) {
    Deno.test(`lsTimeFormatter() prints what formatLsTime() prints: ${styleName}, ${timeZone ?? "local zone"}`, () => {
      const style = parseTimeStyle(styleName)!;
      fc.assert(
        fc.property(cases, ([now, list]) => {
          const options = { now: new Date(now), timeZone, style };
          const format = lsTimeFormatter(options);
          for (const ns of list) {
            assert.equal(format(ns), formatLsTime(ns, options), `${ns}`);
          }
          assert.equal(format(undefined), "?");
        }),
        { numRuns: 60 },
      );
    });
  }
}
