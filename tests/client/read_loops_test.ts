/**
 * Every loop that reads a file through (readRange, readFully, the copy
 * engine's pipelinedRead) against a server that answers each READ with
 * any number of bytes the protocol allows: at least one and at most what
 * was asked and what is left, eof exactly when the end is reached (RFC 7530
 * §16.23, RFC 8881 §18.22). Whatever the draws, the bytes come out whole
 * and in order; and a READ below the end that brings nothing and no EOF
 * fails the loop rather than ending it (lib/client/read_progress.ts).
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import type { OpenFile } from "../../lib/client/api.ts";
import { readFully, readRange } from "../../lib/client/byte_range.ts";
import { pipelinedRead } from "../../lib/client/copy/nfs_read.ts";

/** A file whose READs return as many bytes as `draw` says (within what the protocol allows). */
class ShortReadingFile implements OpenFile {
  readonly path = "/vfs/f";
  readonly size: bigint;
  rsize = 64;
  readonly #data: Uint8Array;
  readonly #draw: () => number;
  /** From this READ on (counted from 0), one below the end brings nothing and no EOF. */
  readonly #stallAt: number | undefined;
  reads = 0;

  constructor(data: Uint8Array, draw: () => number, stallAt?: number) {
    this.#data = data;
    this.size = BigInt(data.length);
    this.#draw = draw;
    this.#stallAt = stallAt;
  }

  async read(offset: bigint, count: number): Promise<{ data: Uint8Array; eof: boolean }> {
    await Promise.resolve();
    const start = Math.min(Number(offset), this.#data.length);
    const left = this.#data.length - start;
    if (this.#stallAt !== undefined && this.reads++ >= this.#stallAt && left > 0) {
      return { data: new Uint8Array(0), eof: false };
    }
    const most = Math.min(count, left);
    const n = most === 0 ? 0 : 1 + (this.#draw() % most);
    return { data: this.#data.slice(start, start + n), eof: start + n >= this.#data.length };
  }

  chunks(): AsyncIterable<Uint8Array> {
    return readRange(this, 0n);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk.slice());
  return new Uint8Array(Buffer.concat(parts));
}

const drawer = (draws: readonly number[]) => {
  let i = 0;
  return () => draws[i++ % draws.length]!;
};

const files = fc.record({
  data: fc.uint8Array({ maxLength: 700 }),
  draws: fc.array(fc.nat(1000), { minLength: 1, maxLength: 50 }),
  depth: fc.integer({ min: 1, max: 5 }),
  from: fc.nat(800),
});

Deno.test("readRange, readFully and pipelinedRead give every byte in order through any short READs", async () => {
  await fc.assert(
    fc.asyncProperty(files, async ({ data, draws, depth, from }) => {
      const at = Math.min(from, data.length);
      const want = data.subarray(at);
      const ranged = await collect(
        readRange(new ShortReadingFile(data, drawer(draws)), BigInt(at)),
      );
      assert.deepEqual(ranged, want);
      const whole = await readFully(new ShortReadingFile(data, drawer(draws)), BigInt(at), 10_000);
      assert.deepEqual(whole, want);
      const file = new ShortReadingFile(data, drawer(draws));
      const piped = await collect(pipelinedRead(file, file.size, 64, depth, { from: BigInt(at) }));
      assert.deepEqual(piped, want);
    }),
    { numRuns: 300 },
  );
});

Deno.test("a READ below the end with no data and no EOF fails each loop, after only whole bytes", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ minLength: 1, maxLength: 700 }),
      fc.array(fc.nat(1000), { minLength: 1, maxLength: 20 }),
      fc.nat(6),
      async (data, draws, stallAt) => {
        const loops: [string, (file: ShortReadingFile) => AsyncIterable<Uint8Array>][] = [
          ["readRange", (file) => readRange(file, 0n)],
          ["pipelinedRead", (file) => pipelinedRead(file, file.size, 64, 3)],
          ["readFully", async function* (file) {
            yield await readFully(file, 0n, 10_000);
          }],
        ];
        for (const [name, loop] of loops) {
          const file = new ShortReadingFile(data, drawer(draws), stallAt);
          const got: Uint8Array[] = [];
          let failure: unknown;
          try {
            for await (const chunk of loop(file)) got.push(chunk.slice());
          } catch (e) {
            failure = e;
          }
          const bytes = await collect((async function* () {
            yield* got;
          })());
          if (failure === undefined) {
            // The stall never came below the end (the data was all read first).
            assert.deepEqual(bytes, data, name);
          } else {
            assert.match(
              String(failure),
              /returned no data and no end of file at byte \d+ of \d+/,
              name,
            );
            assert.ok(bytes.length < data.length, `${name}: not all of it`);
            assert.deepEqual(bytes, data.subarray(0, bytes.length), `${name}: a prefix`);
          }
        }
      },
    ),
    { numRuns: 200 },
  );
});
