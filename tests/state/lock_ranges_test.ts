/**
 * The byte ranges a lock owner holds (lib/state/lock_ranges.ts), as a
 * POSIX server keeps them (RFC 7530 §9.2, §16.10.4, §16.12.4): a LOCK
 * converts the type over its bytes and joins ranges of one type, a LOCKU
 * releases its bytes and splits. What is reclaimed after a restart is what
 * is held (RFC 7530 §9.6.2, RFC 8881 §8.4.2.1).
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import type { LockRange } from "../../lib/state/open_state.ts";
import {
  holdsRange,
  rangesOverlap,
  recordLocked,
  recordUnlocked,
  withLocked,
  withUnlocked,
} from "../../lib/state/lock_ranges.ts";

const EOF = 0xffff_ffff_ffff_ffffn;

function r(type: "read" | "write", offset: number | bigint, length: number | bigint): LockRange {
  return { type, offset: BigInt(offset), length: BigInt(length) };
}

/** Applies each step to an empty owner. */
function run(steps: readonly ["lock" | "unlock", LockRange][]): LockRange[] {
  let held: LockRange[] = [];
  for (const [op, range] of steps) {
    held = op === "lock" ? withLocked(held, range) : withUnlocked(held, range);
  }
  return held;
}

Deno.test("lock write 0-99 then unlock 0-EOF holds nothing (RFC 7530 §16.12.4: a LOCKU releases every byte it covers)", () => {
  assert.deepEqual(run([["lock", r("write", 0, 100)], ["unlock", r("write", 0, EOF)]]), []);
});

Deno.test("lock write 200-299, downgrade to read, unlock read 200-299 holds nothing (RFC 7530 §16.10.4: the downgrade converts, it does not add)", () => {
  assert.deepEqual(
    run([
      ["lock", r("write", 200, 100)],
      ["lock", r("read", 200, 100)],
    ]),
    [r("read", 200, 100)],
  );
  assert.deepEqual(
    run([
      ["lock", r("write", 200, 100)],
      ["lock", r("read", 200, 100)],
      ["unlock", r("read", 200, 100)],
    ]),
    [],
  );
});

Deno.test("an upgrade over part of a read range splits it into read, write, read (POSIX, RFC 7530 §9.2)", () => {
  assert.deepEqual(
    run([["lock", r("read", 0, 100)], ["lock", r("write", 40, 20)]]),
    [r("read", 0, 40), r("write", 40, 20), r("read", 60, 40)],
  );
});

Deno.test("touching and overlapping ranges of one type join; of two types they do not", () => {
  assert.deepEqual(
    run([["lock", r("write", 0, 10)], ["lock", r("write", 10, 10)], ["lock", r("write", 5, 30)]]),
    [r("write", 0, 35)],
  );
  assert.deepEqual(
    run([["lock", r("write", 0, 10)], ["lock", r("read", 10, 10)]]),
    [r("write", 0, 10), r("read", 10, 10)],
  );
  // Not touching: a gap of one byte stays.
  assert.deepEqual(
    run([["lock", r("read", 0, 10)], ["lock", r("read", 11, 10)]]),
    [r("read", 0, 10), r("read", 11, 10)],
  );
});

Deno.test("an unlock in the middle splits a range; one over two ranges and a gap releases both (RFC 7530 §16.12.4)", () => {
  assert.deepEqual(
    run([["lock", r("write", 0, 100)], ["unlock", r("write", 40, 20)]]),
    [r("write", 0, 40), r("write", 60, 40)],
  );
  assert.deepEqual(
    run([
      ["lock", r("write", 0, 10)],
      ["lock", r("read", 20, 10)],
      ["lock", r("write", 50, 10)],
      ["unlock", r("read", 5, 50)],
    ]),
    [r("write", 0, 5), r("write", 55, 5)],
  );
  // Of bytes not held: nothing changes.
  assert.deepEqual(run([["lock", r("read", 0, 10)], ["unlock", r("read", 10, 10)]]), [
    r("read", 0, 10),
  ]);
});

Deno.test("to the end of file (length all ones, or 0 as Ganesha says it) stays all ones; a range past the last byte is to the end of file (RFC 7530 §9.2)", () => {
  assert.deepEqual(run([["lock", r("write", 100, EOF)]]), [r("write", 100, EOF)]);
  assert.deepEqual(run([["lock", r("write", 100, 0)]]), [r("write", 100, EOF)]);
  assert.deepEqual(run([["lock", r("write", 0, EOF)], ["unlock", r("write", 10, 10)]]), [
    r("write", 0, 10),
    r("write", 20, EOF),
  ]);
  assert.deepEqual(run([["lock", r("write", 0, EOF)], ["unlock", r("write", 10, EOF)]]), [
    r("write", 0, 10),
  ]);
  assert.deepEqual(run([["lock", r("read", 0, 10)], ["lock", r("read", 10, EOF)]]), [
    r("read", 0, EOF),
  ]);
  // Up to the last byte but one, then the last byte: to the end of file.
  assert.deepEqual(
    run([["lock", r("read", 0, EOF - 1n)], ["lock", r("read", EOF - 1n, 1)]]),
    [r("read", 0, EOF)],
  );
  assert.deepEqual(run([["lock", r("read", 0, EOF - 1n)]]), [r("read", 0, EOF - 1n)]);
  assert.deepEqual(run([["lock", r("read", EOF - 1n, EOF)], ["unlock", r("read", 0, EOF)]]), []);
});

Deno.test("holdsRange and rangesOverlap", () => {
  const held = run([["lock", r("write", 0, 10)], ["lock", r("write", 10, 10)]]);
  assert.ok(holdsRange(held, r("write", 5, 10)));
  assert.ok(!holdsRange(held, r("read", 5, 10)));
  assert.ok(!holdsRange(held, r("write", 5, 20)));
  assert.ok(rangesOverlap(r("read", 0, 10), r("write", 9, 1)));
  assert.ok(!rangesOverlap(r("read", 0, 10), r("write", 10, 1)));
  assert.ok(rangesOverlap(r("read", 5, EOF), r("write", 1000, 1)));
  assert.ok(rangesOverlap(r("read", 5, 0), r("write", 1000, 1)));
});

Deno.test("recordLocked and recordUnlocked change the lock state's list in place", () => {
  const held: LockRange[] = [];
  recordLocked(held, r("write", 0, 10));
  recordLocked(held, r("write", 10, 10));
  assert.deepEqual(held, [r("write", 0, 20)]);
  recordUnlocked(held, r("read", 0, EOF));
  assert.deepEqual(held, []);
});

/**
 * The model: the type held at each byte. Offsets are below 32 and finite
 * ends at most 48, so every byte from 48 on is as byte 48 is: cell 48
 * stands for them all.
 */
const CELLS = 49;
type Cell = "read" | "write" | undefined;

function cellsOf(range: LockRange): number[] {
  const start = Number(range.offset);
  const end = range.length === EOF || range.length === 0n
    ? CELLS
    : Number(range.offset + range.length);
  return Array.from({ length: end - start }, (_, i) => start + i);
}

const arbRange = fc.record({
  type: fc.constantFrom<"read" | "write">("read", "write"),
  offset: fc.integer({ min: 0, max: 31 }).map(BigInt),
  length: fc.oneof(
    fc.integer({ min: 1, max: 16 }).map(BigInt),
    fc.constantFrom(EOF, 0n),
  ),
});
const arbStep = fc.tuple(fc.constantFrom<"lock" | "unlock">("lock", "unlock"), arbRange);

Deno.test("property: after any LOCKs and LOCKUs the held ranges are the bytes a POSIX byte map holds, sorted, disjoint, same-type neighbours joined (RFC 7530 §9.2)", () => {
  fc.assert(
    fc.property(fc.array(arbStep, { maxLength: 25 }), (steps) => {
      const model: Cell[] = Array.from({ length: CELLS }, () => undefined);
      for (const [op, range] of steps) {
        for (const i of cellsOf(range)) model[i] = op === "lock" ? range.type : undefined;
      }
      const held = run(steps);
      const got: Cell[] = Array.from({ length: CELLS }, () => undefined);
      for (const range of held) {
        assert.ok(range.length > 0n, "no empty range");
        for (const i of cellsOf(range)) {
          assert.equal(got[i], undefined, `byte ${i} held twice: ${JSON.stringify(held, big)}`);
          got[i] = range.type;
        }
      }
      assert.deepEqual(got, model);
      for (let i = 1; i < held.length; i++) {
        const a = held[i - 1]!;
        const b = held[i]!;
        assert.ok(a.length !== EOF, "only the last range may run to the end of file");
        const aEnd = a.offset + a.length;
        assert.ok(aEnd <= b.offset, "sorted and disjoint");
        assert.ok(!(aEnd === b.offset && a.type === b.type), "same-type neighbours joined");
      }
    }),
    { numRuns: 2000 },
  );
});

function big(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}
