/**
 * `ls -l` rows made from cells computed as a listing arrives
 * (longCellMaker(), cli/ls_format.ts) are the rows formatLongRows() makes
 * on its own: any files (devices, unknown attributes, old, recent and
 * future times), any options (-h, -i, -u/-c, time styles). LongListing,
 * which keeps the widths and the total as files are added, makes the rows
 * and the `total` of a reference that measures the whole listing at the
 * end (formatLongRows() and totalLine() as they were).
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  displayWidth,
  formatLongRows,
  humanSize,
  longCellMaker,
  type LongEntry,
  LongListing,
  type LongOptions,
  longRowMaker,
  totalBlocks,
  totalLine,
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

/** The rows as formatLongRows() made them before LongListing (kept here as the reference). */
function referenceRows(entries: readonly LongEntry[], options: LongOptions): string[] {
  const make = longCellMaker(options);
  const cells = entries.map((e) => e.cells ?? make(e.info));
  const text = (v: string | undefined) => v ?? "?";
  const owners = entries.map((e) => e.owner ?? text(e.info.owner));
  const groups = entries.map((e) => e.group ?? text(e.info.group));
  const max = (list: number[]) => list.reduce((a, b) => Math.max(a, b), 0);
  const inodeWidth = max(cells.map((c) => c.inode.length));
  const nlinkWidth = max(cells.map((c) => c.nlink.length));
  const ownerWidth = max(owners.map(displayWidth));
  const groupWidth = max(groups.map(displayWidth));
  const devices = cells.filter((c) => c.size === undefined);
  const majorWidth = max(devices.map((c) => c.major.length));
  const minorWidth = max(devices.map((c) => c.minor.length));
  const plainSizeWidth = max(cells.filter((c) => c.size !== undefined).map((c) => c.size!.length));
  const someTime = cells.some((c) => c.time !== "?");
  const timeWidth = someTime ? max(cells.map((c) => displayWidth(c.time))) : 12;
  const deviceWidth = devices.length > 0 ? majorWidth + 2 + minorWidth : 0;
  const sizeWidth = Math.max(deviceWidth, plainSizeWidth);
  const align = (t: string, w: number) =>
    /^[0-9]+$/.test(t) ? t.padStart(w) : t + " ".repeat(Math.max(0, w - displayWidth(t)));
  return entries.map(({ info, name, target, indicator }, i) => {
    const row = cells[i]!;
    const size = row.size !== undefined
      ? row.size.padStart(sizeWidth)
      : `${row.major.padStart(majorWidth + sizeWidth - deviceWidth)}, ${
        row.minor.padStart(minorWidth)
      }`;
    return (options.inode ? row.inode.padStart(inodeWidth) + " " : "") + row.mode + " " +
      row.nlink.padStart(nlinkWidth) + " " + align(owners[i]!, ownerWidth) + " " +
      align(groups[i]!, groupWidth) + " " + size + " " +
      (row.time === "?" ? row.time.padStart(timeWidth) : row.time) + " " +
      (info.kind === "symlink" && target !== undefined ? `${name} -> ${target}` : name) +
      (indicator ?? "");
  });
}

const spaceUsed = fc.option(
  fc.oneof(
    fc.bigInt({ min: 0n, max: 1n << 20n }),
    fc.bigInt({ min: (1n << 40n) - 4096n, max: (1n << 40n) + 4096n }),
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  ),
  { nil: undefined },
);

Deno.test("LongListing: the rows and total of the reference, cells made ahead or not", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(info, spaceUsed, fc.option(fc.constantFrom("root", "日本", "1234"))), {
        maxLength: 12,
      }),
      options,
      (rows, opts) => {
        const make = longCellMaker(opts);
        const entries: LongEntry[] = rows.map(([i, space, owner], k) => ({
          info: { ...i, spaceUsed: space },
          name: i.name,
          indicator: k % 2 === 0 ? "" : "/",
          target: i.kind === "symlink" ? "t" : undefined,
          ...(owner !== null ? { owner } : {}),
          ...(k % 3 === 0 ? { cells: make(i) } : {}),
        }));
        const listing = new LongListing(opts);
        const made = entries.map((e) => listing.add(e.info, e.owner, e.group, e.cells));
        const shown = entries.map((e) =>
          (e.info.kind === "symlink" && e.target !== undefined
            ? `${e.name} -> ${e.target}`
            : e.name) +
          (e.indicator ?? "")
        );
        const expected = referenceRows(entries, opts);
        assert.deepStrictEqual(made.map((row, k) => listing.row(row, shown[k]!)), expected);
        assert.deepStrictEqual(formatLongRows(entries, opts), expected);
        const infos = entries.map((e) => e.info);
        assert.equal(listing.totalLine(opts.human), totalLine(infos, opts.human));
        const blocks = infos.reduce(
          (n, i) => n + (i.spaceUsed === undefined ? 0n : (i.spaceUsed + 511n) / 512n),
          0n,
        );
        assert.equal(listing.blocks512, blocks);
        assert.equal((blocks + 1n) / 2n, totalBlocks(infos));
        for (const e of entries) {
          const size = make(e.info).size;
          if (e.info.size !== undefined && !isDeviceLike(e.info)) {
            assert.equal(size, opts.human ? humanSize(e.info.size) : e.info.size.toString());
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});

function isDeviceLike(i: FileInfo): boolean {
  return (i.kind === "block" || i.kind === "char") && i.rdev !== undefined;
}

Deno.test("LongListing: files added after rows were made widen the rows made next, as the reference's", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(info, spaceUsed, fc.option(fc.constantFrom("root", "日本", "1234"))), {
        minLength: 2,
        maxLength: 12,
      }),
      fc.nat(),
      options,
      (rows, cut, opts) => {
        const entries: LongEntry[] = rows.map(([i, space, owner]) => ({
          info: { ...i, spaceUsed: space },
          name: i.name,
          ...(owner !== null ? { owner } : {}),
        }));
        const first = 1 + cut % (entries.length - 1);
        const listing = new LongListing(opts);
        const add = (e: LongEntry) => listing.add(e.info, e.owner, e.group);
        // Rows made for the first files (widths so far), then more files come.
        const early = entries.slice(0, first).map(add);
        for (const [k, row] of early.entries()) listing.row(row, entries[k]!.name);
        const late = entries.slice(first).map(add);
        const made = [...early, ...late].map((row, k) => listing.row(row, entries[k]!.name));
        assert.deepStrictEqual(made, referenceRows(entries, opts));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("longRowMaker(): a run of files gets each file's own texts, rows shared only when all are equal", () => {
  // A file and others that differ from it in one field each, repeated in
  // any order: neighbours that share all but one text.
  const pool = fc.tuple(info, info).map(([base, other]) => [
    base,
    { ...base, size: other.size },
    { ...base, mode: other.mode },
    { ...base, kind: other.kind },
    { ...base, nlink: other.nlink },
    { ...base, mtimeNs: other.mtimeNs, atimeNs: other.atimeNs, ctimeNs: other.ctimeNs },
    other,
  ]);
  fc.assert(
    fc.property(
      pool,
      fc.array(fc.tuple(fc.nat(6), fc.constantFrom("0", "root"), fc.constantFrom("0", "staff")), {
        minLength: 1,
        maxLength: 16,
      }),
      options,
      (files, order, opts) => {
        const make = longRowMaker(opts);
        let previous: ReturnType<typeof make> | undefined;
        for (const [k, owner, group] of order) {
          const file = files[k % files.length]!;
          const row = make(file, owner, group);
          // A maker of its own for this file alone: no texts from files before.
          assert.deepStrictEqual({ ...row }, { ...longRowMaker(opts)(file, owner, group) });
          if (row === previous) assert.ok(!opts.inode && !isDeviceLike(file));
          previous = row;
        }
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("LongListing: runs of files sharing a row print as the reference's rows", () => {
  const pool = fc.tuple(info, info).map(([base, other]) => [
    base,
    { ...base, name: other.name },
    { ...base, name: other.name + "x", size: other.size },
    { ...base, mode: other.mode },
    other,
  ]);
  fc.assert(
    fc.property(
      pool,
      fc.array(fc.tuple(fc.nat(4), fc.constantFrom("0", "root")), { minLength: 1, maxLength: 20 }),
      fc.nat(),
      options,
      (files, order, cut, opts) => {
        const entries: LongEntry[] = order.map(([k, owner]) => {
          const file = files[k % files.length]!;
          return { info: file, name: file.name, owner };
        });
        const listing = new LongListing(opts);
        const rows = entries.map((e) => listing.add(e.info, e.owner, e.group));
        // Rows printed in two goes, as pieces pushed one after another.
        const parts: string[] = [];
        const split = cut % (entries.length + 1);
        for (let k = 0; k < entries.length; k++) {
          listing.rowInto(parts, rows[k]!, entries[k]!.name);
          parts.push("\n");
          if (k + 1 === split) parts.push("");
        }
        assert.equal(parts.join(""), referenceRows(entries, opts).map((r) => r + "\n").join(""));
      },
    ),
    { numRuns: 500 },
  );
});
