/**
 * `ls -l` rows made from cells computed as a listing arrives
 * (longCellMaker(), cli/ls_format.ts) are the rows formatLongRows() makes
 * on its own: any files (devices, unknown attributes, old, recent and
 * future times), any options (-h, -i, -u/-c, time styles).
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  formatLongRows,
  longCellMaker,
  type LongEntry,
  type LongOptions,
} from "../../cli/ls_format.ts";
import { parseTimeStyle } from "../../cli/ls_time.ts";
import type { FileInfo, FileKind } from "../../lib/client/types.ts";

const NOW = new Date("2026-12-05T09:00:00Z");
const nowNs = BigInt(NOW.getTime()) * 1_000_000n;
const time = fc.option(
  fc.oneof(
    fc.bigInt({ min: nowNs - 10n ** 17n, max: nowNs + 10n ** 15n }),
    fc.bigInt({
      min: nowNs - 16_000_000_000n * 1_000_000n,
      max: nowNs - 15_000_000_000n * 1_000_000n,
    }),
  ),
  { nil: undefined },
);
const kinds: FileKind[] = [
  "file",
  "directory",
  "symlink",
  "block",
  "char",
  "fifo",
  "socket",
  "unknown",
];

const info: fc.Arbitrary<FileInfo> = fc.record({
  name: fc.string({ minLength: 1, maxLength: 8 }),
  kind: fc.constantFrom(...kinds),
  mode: fc.option(fc.integer({ min: 0, max: 0o7777 }), { nil: undefined }),
  nlink: fc.option(fc.nat(3000), { nil: undefined }),
  owner: fc.option(fc.constantFrom("0", "1000", "who@dom", "日本"), { nil: undefined }),
  group: fc.option(fc.constantFrom("0", "100"), { nil: undefined }),
  size: fc.option(fc.bigInt({ min: 0n, max: 1n << 50n }), { nil: undefined }),
  fileid: fc.option(fc.bigInt({ min: 0n, max: 1n << 40n }), { nil: undefined }),
  rdev: fc.option(fc.record({ major: fc.nat(300), minor: fc.nat(70000) }), { nil: undefined }),
  mtimeNs: time,
  atimeNs: time,
  ctimeNs: time,
}).map((r) => ({
  ...r,
  path: `/d/${r.name}`,
  spaceUsed: undefined,
  atime: undefined,
  mtime: undefined,
  ctime: undefined,
}));

const options: fc.Arbitrary<LongOptions> = fc.record({
  now: fc.constant(NOW),
  timeZone: fc.constantFrom("UTC", "Asia/Kolkata", undefined),
  style: fc.constantFrom("locale", "long-iso", "full-iso", "+%s").map((s) => parseTimeStyle(s)!),
  human: fc.boolean(),
  inode: fc.boolean(),
  time: fc.constantFrom("mtime" as const, "atime" as const, "ctime" as const),
});

Deno.test("formatLongRows() prints the same rows from cells made ahead as from the files alone", () => {
  fc.assert(
    fc.property(fc.array(info, { maxLength: 12 }), options, (infos, opts) => {
      const entries: LongEntry[] = infos.map((i) => ({ info: i, name: i.name, indicator: "" }));
      const make = longCellMaker(opts);
      // Some made ahead, some not (`.` and `..`, operands): any mix.
      const ahead = entries.map((e, k) => (k % 3 === 0 ? e : { ...e, cells: make(e.info) }));
      assert.deepStrictEqual(formatLongRows(ahead, opts), formatLongRows(entries, opts));
    }),
    { numRuns: 300 },
  );
});
