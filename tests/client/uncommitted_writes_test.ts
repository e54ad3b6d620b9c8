/**
 * UncommittedWrites (lib/client/uncommitted_writes.ts), the bookkeeping of
 * the WRITEs answered with less than FILE_SYNC4 that close() COMMITs: the
 * ranges it reports (neighbours merged, a later WRITE replacing what it
 * overwrites), what a COMMIT's verifier vouches for or marks lost (RFC 7530
 * §16.3.4, RFC 8881 §18.3.3), and, for any sequence of WRITEs and COMMITs,
 * the same answers as a byte-by-byte model.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { StableHow } from "../../lib/nfs4/constants.ts";
import { hex } from "../../lib/nfs4/types.ts";
import { UncommittedWrites } from "../../lib/client/uncommitted_writes.ts";

const BOOT_A = new Uint8Array([1, 1, 1, 1, 1, 1, 1, 1]);
const BOOT_B = new Uint8Array([2, 2, 2, 2, 2, 2, 2, 2]);

Deno.test("UncommittedWrites: sequential UNSTABLE4 WRITEs are one range", () => {
  const writes = new UncommittedWrites();
  assert.equal(writes.empty, true);
  for (let i = 0n; i < 8n; i++) {
    writes.wrote(i * 100n, (i + 1n) * 100n, StableHow.UNSTABLE4, BOOT_A);
  }
  assert.equal(writes.empty, false);
  assert.deepEqual(writes.ranges(), [{ offset: 0n, length: 800n }]);
  assert.deepEqual(writes.verifiers(), [hex(BOOT_A)]);
});

Deno.test("UncommittedWrites: a FILE_SYNC4 WRITE over part of a range leaves the rest", () => {
  const writes = new UncommittedWrites();
  writes.wrote(0n, 300n, StableHow.UNSTABLE4, BOOT_A);
  writes.wrote(100n, 200n, StableHow.FILE_SYNC4, BOOT_A);
  assert.deepEqual(writes.ranges(), [
    { offset: 0n, length: 100n },
    { offset: 200n, length: 100n },
  ]);
  writes.wrote(0n, 100n, StableHow.FILE_SYNC4, BOOT_A);
  writes.wrote(200n, 300n, StableHow.FILE_SYNC4, BOOT_A);
  assert.equal(writes.empty, true);
});

Deno.test("UncommittedWrites: RFC 8881 §18.3.3 a COMMIT returning the WRITEs' verifier empties it", () => {
  const writes = new UncommittedWrites();
  writes.wrote(0n, 100n, StableHow.UNSTABLE4, BOOT_A);
  writes.wrote(100n, 200n, StableHow.DATA_SYNC4, BOOT_A);
  writes.committed(writes.markCommit(), BOOT_A);
  assert.equal(writes.empty, true);
  assert.deepEqual(writes.ranges(), []);
  assert.deepEqual(writes.verifiers(), []);
});

Deno.test("UncommittedWrites: RFC 8881 §18.3.3 a COMMIT returning another verifier leaves the WRITEs, lost", () => {
  const writes = new UncommittedWrites();
  writes.wrote(0n, 100n, StableHow.UNSTABLE4, BOOT_A);
  writes.committed(writes.markCommit(), BOOT_B);
  assert.deepEqual(writes.ranges(), [{ offset: 0n, length: 100n }]);
  assert.deepEqual(writes.verifiers(), [hex(BOOT_A)]);
  // A lost range stays lost: a later COMMIT with the new verifier does not vouch for it.
  writes.committed(writes.markCommit(), BOOT_B);
  assert.deepEqual(writes.ranges(), [{ offset: 0n, length: 100n }]);
  // Nor does one returning its WRITE's verifier again: its bytes were gone at the restart.
  writes.committed(writes.markCommit(), BOOT_A);
  assert.deepEqual(writes.ranges(), [{ offset: 0n, length: 100n }]);
  // Written again (after the restart) and committed, it is gone.
  writes.wrote(0n, 100n, StableHow.UNSTABLE4, BOOT_B);
  writes.committed(writes.markCommit(), BOOT_B);
  assert.equal(writes.empty, true);
});

Deno.test("UncommittedWrites: a COMMIT covers only the WRITEs answered before it was sent", () => {
  const writes = new UncommittedWrites();
  writes.wrote(0n, 100n, StableHow.UNSTABLE4, BOOT_A);
  const mark = writes.markCommit();
  // Answered while that COMMIT was on its way: not covered by it.
  writes.wrote(100n, 200n, StableHow.UNSTABLE4, BOOT_A);
  writes.committed(mark, BOOT_A);
  assert.deepEqual(writes.ranges(), [{ offset: 100n, length: 100n }]);
  writes.committed(writes.markCommit(), BOOT_A);
  assert.equal(writes.empty, true);
});

Deno.test("UncommittedWrites: neighbours with other verifiers are one range, both verifiers reported", () => {
  const writes = new UncommittedWrites();
  writes.wrote(0n, 100n, StableHow.UNSTABLE4, BOOT_A);
  writes.wrote(100n, 200n, StableHow.UNSTABLE4, BOOT_B);
  assert.deepEqual(writes.ranges(), [{ offset: 0n, length: 200n }]);
  assert.deepEqual(writes.verifiers(), [hex(BOOT_A), hex(BOOT_B)]);
  // The COMMIT returned BOOT_B: the BOOT_A half is lost, the other vouched for.
  writes.committed(writes.markCommit(), BOOT_B);
  assert.deepEqual(writes.ranges(), [{ offset: 0n, length: 100n }]);
  assert.deepEqual(writes.verifiers(), [hex(BOOT_A)]);
});

Deno.test("UncommittedWrites: the verifier is copied, not kept by reference", () => {
  const writes = new UncommittedWrites();
  const verifier = BOOT_A.slice();
  writes.wrote(0n, 10n, StableHow.UNSTABLE4, verifier);
  verifier.fill(9);
  writes.committed(writes.markCommit(), BOOT_A);
  assert.equal(writes.empty, true);
});

/** One byte's state in the model: undefined once committed or written FILE_SYNC4. */
interface ByteState {
  verifier: number;
  generation: number;
  lost: boolean;
}

type Step =
  | { kind: "write"; start: number; length: number; stable: number; verifier: number }
  | { kind: "mark" }
  | { kind: "commit"; markIndex: number; verifier: number };

const SPAN = 64;
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant("write" as const),
    start: fc.integer({ min: 0, max: SPAN - 1 }),
    length: fc.integer({ min: 1, max: 24 }),
    stable: fc.constantFrom(StableHow.UNSTABLE4, StableHow.DATA_SYNC4, StableHow.FILE_SYNC4),
    verifier: fc.integer({ min: 0, max: 2 }),
  }),
  fc.record({ kind: fc.constant("mark" as const) }),
  fc.record({
    kind: fc.constant("commit" as const),
    markIndex: fc.nat(),
    verifier: fc.integer({ min: 0, max: 2 }),
  }),
);

function verifierBytes(n: number): Uint8Array {
  return new Uint8Array(8).fill(n + 1);
}

Deno.test("UncommittedWrites: any WRITEs and COMMITs give the byte-by-byte model's ranges and verifiers", () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
      const writes = new UncommittedWrites();
      const model: (ByteState | undefined)[] = new Array(SPAN + 24).fill(undefined);
      let commits = 0;
      const marks: number[] = [];
      for (const s of steps) {
        if (s.kind === "write") {
          const end = s.start + s.length;
          writes.wrote(BigInt(s.start), BigInt(end), s.stable, verifierBytes(s.verifier));
          for (let b = s.start; b < end; b++) {
            model[b] = s.stable < StableHow.FILE_SYNC4
              ? { verifier: s.verifier, generation: commits, lost: false }
              : undefined;
          }
        } else if (s.kind === "mark") {
          marks.push(writes.markCommit());
          commits++;
        } else if (marks.length > 0) {
          // Answers may come in any order; each answers one COMMIT sent.
          const mark = marks[s.markIndex % marks.length]!;
          writes.committed(mark, verifierBytes(s.verifier));
          for (let b = 0; b < model.length; b++) {
            const m = model[b];
            if (!m || m.generation > mark) continue;
            if (!m.lost && m.verifier === s.verifier) model[b] = undefined;
            else m.lost = true;
          }
        }
        const ranges: { offset: bigint; length: bigint }[] = [];
        const verifiers: string[] = [];
        for (let b = 0; b < model.length; b++) {
          const m = model[b];
          if (!m) continue;
          const last = ranges[ranges.length - 1];
          if (last && last.offset + last.length === BigInt(b)) last.length++;
          else ranges.push({ offset: BigInt(b), length: 1n });
          const v = hex(verifierBytes(m.verifier));
          if (!verifiers.includes(v)) verifiers.push(v);
        }
        assert.deepEqual(writes.ranges(), ranges);
        assert.deepEqual(writes.verifiers(), verifiers);
        assert.equal(writes.empty, ranges.length === 0);
      }
    }),
    { numRuns: 500 },
  );
});
