/**
 * lib/client/byte_range.ts on fake open files that count every byte a READ
 * asks for: ranges never read outside themselves, the first lines stop at
 * the Nth newline, the last lines of a 64 MiB file cost one small READ of
 * its end, short READs are followed, a file shorter than its size is taken
 * as it is, and every line function agrees with a reference implementation
 * of GNU head/tail semantics on random files, block sizes, depths and keep
 * limits.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import type { OpenFile } from "../../lib/client/api.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import {
  headLines,
  lastLinesStart,
  linesFrom,
  READ_AHEAD_BYTES,
  readAheadDepth,
  readRange,
  sizeOf,
  tailLines,
} from "../../lib/client/byte_range.ts";

/** An open file whose bytes come from `byteAt`, counting what READs ask and return. */
export class CountingFile implements OpenFile {
  readonly path = "/fake";
  readonly size: bigint | undefined;
  readonly length: number;
  readonly #bytes: (offset: number, count: number) => Uint8Array;
  /** At most this many bytes per READ answer (a server's short reads). */
  readonly #shortReads: number | undefined;
  /** Every READ: offset and count asked. */
  readonly reads: { offset: bigint; count: number }[] = [];
  /** Bytes returned by all READs. */
  bytesRead = 0;
  /** READs in flight now, and the most seen at once. */
  #inFlight = 0;
  maxInFlight = 0;
  rsize?: number;

  constructor(
    data: Uint8Array | { length: number; bytes: (offset: number, count: number) => Uint8Array },
    options: { size?: bigint | undefined; shortReads?: number; rsize?: number } = {},
  ) {
    if (data instanceof Uint8Array) {
      this.length = data.length;
      this.#bytes = (offset, count) => data.slice(offset, offset + count);
    } else {
      this.length = data.length;
      this.#bytes = data.bytes;
    }
    this.size = "size" in options ? options.size : BigInt(this.length);
    this.#shortReads = options.shortReads;
    if (options.rsize !== undefined) this.rsize = options.rsize;
  }

  async read(offset: bigint, count: number): Promise<{ data: Uint8Array; eof: boolean }> {
    assert.ok(offset >= 0n && count > 0, `READ(${offset}, ${count})`);
    this.reads.push({ offset, count });
    this.#inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.#inFlight);
    await Promise.resolve();
    this.#inFlight--;
    const start = Math.min(Number(offset), this.length);
    let n = Math.min(count, this.length - start);
    if (this.#shortReads !== undefined) n = Math.min(n, this.#shortReads);
    const data = this.#bytes(start, n);
    this.bytesRead += data.length;
    return { data, eof: start + data.length >= this.length };
  }

  chunks(offset = 0n): AsyncIterable<Uint8Array> {
    return readRange(this, offset);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk.slice());
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

// ------------------------------------------------- GNU semantics, by hand

/** The lines of `data`, each with its delimiter; a last one without it too. */
function splitLines(data: Uint8Array, delimiter = 0x0a): Uint8Array[] {
  const lines: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === delimiter) {
      lines.push(data.subarray(start, i + 1));
      start = i + 1;
    }
  }
  if (start < data.length) lines.push(data.subarray(start));
  return lines;
}

function join(lines: Uint8Array[]): Uint8Array {
  return new Uint8Array(lines.flatMap((l) => [...l]));
}

const refHead = (d: Uint8Array, n: number) => join(splitLines(d).slice(0, n));
const refTail = (d: Uint8Array, n: number) =>
  n === 0 ? new Uint8Array() : join(splitLines(d).slice(-n));
const refHeadElide = (d: Uint8Array, n: number) => {
  const lines = splitLines(d);
  return join(lines.slice(0, Math.max(0, lines.length - n)));
};
const refFrom = (d: Uint8Array, n: number) => join(splitLines(d).slice(Math.max(0, n - 1)));

/** 64 MiB of 100-byte lines (`%099d` of the line number is too slow; a pattern). */
function bigFile(length: number): { length: number; bytes: (o: number, c: number) => Uint8Array } {
  return {
    length,
    bytes(offset, count) {
      const out = new Uint8Array(count);
      for (let i = 0; i < count; i++) {
        const at = offset + i;
        out[i] = at % 100 === 99 ? 0x0a : 0x61 + (Math.floor(at / 100) % 26);
      }
      return out;
    },
  };
}

const MiB = 1 << 20;
/** A little under 64 MiB: whole 100-byte lines. */
const BIG = Math.floor(64 * MiB / 100) * 100;
const show = (reads: unknown) =>
  JSON.stringify(reads, (_k, v) => typeof v === "bigint" ? String(v) : v);

// ------------------------------------------------------------------ tests

Deno.test("readRange() reads exactly the range asked, pipelined", async () => {
  const data = crypto.getRandomValues(new Uint8Array(10_000));
  const file = new CountingFile(data, { rsize: 1000 });
  const got = await collect(readRange(file, 1234n, 5000n, { depth: 3 }));
  assert.deepEqual(got, data.subarray(1234, 6234));
  assert.equal(file.bytesRead, 5000);
  const asked = file.reads.reduce((n, r) => n + r.count, 0);
  assert.equal(asked, 5000, "no byte outside the range is asked for");
  assert.ok(file.reads.every((r) => r.count <= 1000), "READs no larger than rsize");
  assert.equal(file.maxInFlight, 3);
});

Deno.test("readRange() past the end, to the end, of length 0", async () => {
  const data = text("hello world");
  const file = new CountingFile(data);
  assert.equal((await collect(readRange(file, 100n))).length, 0);
  assert.equal(str(await collect(readRange(file, 6n))), "world");
  assert.equal(str(await collect(readRange(file, 6n, 100n))), "world");
  const before = file.reads.length;
  assert.equal((await collect(readRange(file, 3n, 0n))).length, 0);
  assert.equal(file.reads.length, before, "a length of 0 sends no READ");
});

Deno.test("readRange() follows short READs and a size that was wrong", async () => {
  const data = crypto.getRandomValues(new Uint8Array(5000));
  const short = new CountingFile(data, { shortReads: 300, rsize: 1000 });
  assert.deepEqual(await collect(readRange(short, 10n, 4000n)), data.subarray(10, 4010));
  const unknownSize = new CountingFile(data, { size: undefined, rsize: 700 });
  assert.deepEqual(await collect(readRange(unknownSize, 0n)), data);
  const sizeTooSmall = new CountingFile(data, { size: 100n, rsize: 700 });
  assert.deepEqual(await collect(readRange(sizeTooSmall, 0n)), data);
  const sizeTooLarge = new CountingFile(data, { size: 50_000n, rsize: 700 });
  assert.deepEqual(await collect(readRange(sizeTooLarge, 0n)), data);
  assert.equal(await sizeOf(new CountingFile(data, { size: undefined, rsize: 999 })), 5000n);
});

Deno.test("headLines() of a 64 MiB file reads one small block", async () => {
  const file = new CountingFile(bigFile(BIG), { rsize: MiB });
  const got = await collect(headLines(file, 10n));
  assert.equal(got.length, 1000);
  assert.equal(file.reads.length, 1, show(file.reads));
  assert.ok(file.bytesRead <= 64 * 1024, `${file.bytesRead} bytes read`);
  // 5000 lines: the READs grow, and stop soon after line 5000 (500000 bytes).
  const more = new CountingFile(bigFile(BIG), { rsize: MiB });
  assert.equal((await collect(headLines(more, 5000n))).length, 500_000);
  assert.ok(more.bytesRead < 2 * MiB, `${more.bytesRead} bytes read`);
});

Deno.test("tailLines() of a 64 MiB file reads only its end", async () => {
  const file = new CountingFile(bigFile(BIG), { rsize: MiB });
  const got = await collect(tailLines(file, file.size!, 10n));
  assert.equal(got.length, 1000);
  assert.equal(got[999], 0x0a);
  assert.equal(file.reads.length, 1, show(file.reads));
  assert.ok(file.bytesRead <= 64 * 1024, `${file.bytesRead} bytes read`);
  assert.ok(file.reads.every((r) => r.offset >= BigInt(BIG - 64 * 1024)), "nothing before the end");
  // More lines than one block holds: blocks grow backwards, bytes kept, nothing read twice.
  const many = new CountingFile(bigFile(BIG), { rsize: MiB });
  const last = await collect(tailLines(many, many.size!, 5000n));
  assert.equal(last.length, 500_000);
  assert.ok(many.bytesRead <= 2 * 500_000 + 64 * 1024, `${many.bytesRead} bytes read`);
  // Past the keep limit: found backwards, then read again forward.
  const huge = new CountingFile(bigFile(BIG), { rsize: MiB });
  const lots = await collect(tailLines(huge, huge.size!, 30_000n, { keep: 1 << 20 }));
  assert.equal(lots.length, 3_000_000);
  assert.ok(huge.bytesRead <= 2 * 3_000_000 + 2 * MiB, `${huge.bytesRead} bytes read`);
  assert.ok(huge.reads.every((r) => r.offset >= BigInt(BIG - 3_000_000 - 2 * MiB)));
});

Deno.test("readRange() of the last N bytes of a 64 MiB file reads N bytes", async () => {
  const file = new CountingFile(bigFile(BIG), { rsize: MiB });
  const got = await collect(readRange(file, BigInt(BIG - 100), 100n));
  assert.equal(got.length, 100);
  assert.equal(file.bytesRead, 100);
  assert.equal(file.reads.length, 1);
});

Deno.test("lastLinesStart() with a final newline, without one, with only newlines", async () => {
  const cases: [string, number, string][] = [
    ["a\nb\nc\n", 1, "c\n"],
    ["a\nb\nc", 1, "c"],
    ["a\nb\nc", 2, "b\nc"],
    ["a\nb\nc\n", 5, "a\nb\nc\n"],
    ["\n\n\n", 2, "\n\n"],
    ["abc", 1, "abc"],
    ["", 3, ""],
    ["a\n\n", 1, "\n"],
  ];
  for (const [data, n, want] of cases) {
    const file = new CountingFile(text(data), { rsize: 2 });
    const got = await collect(tailLines(file, file.size!, BigInt(n)));
    assert.equal(str(got), want, JSON.stringify([data, n]));
  }
});

Deno.test("a file shorter than the size it was opened with is taken as it is", async () => {
  const data = text("1\n2\n3\n4\n");
  const file = new CountingFile(data, { size: 1000n, rsize: 3 });
  assert.equal(str(await collect(tailLines(file, 1000n, 2n))), "3\n4\n");
  const last = await lastLinesStart(file, 1000n, 2n, { blockSize: 3 });
  assert.equal(last.end, 8n);
});

Deno.test("the line functions agree with GNU head/tail semantics (random files)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 300 }).map((bytes) => bytes.map((b) => (b % 4 === 0 ? 0x0a : b))),
      fc.nat(40),
      fc.integer({ min: 1, max: 17 }),
      fc.integer({ min: 1, max: 4 }),
      fc.nat(64),
      fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
      async (data, n, blockSize, depth, keep, shortReads) => {
        const options = { blockSize, depth, keep };
        const mk = () => new CountingFile(data, shortReads === undefined ? {} : { shortReads });
        const N = BigInt(n);
        assert.deepEqual(await collect(headLines(mk(), N, options)), refHead(data, n));
        assert.deepEqual(
          await collect(tailLines(mk(), BigInt(data.length), N, options)),
          refTail(data, n),
        );
        assert.deepEqual(await collect(linesFrom(mk(), N, options)), refFrom(data, n));
        const last = await lastLinesStart(mk(), BigInt(data.length), N, options);
        assert.deepEqual(data.subarray(0, Number(last.start)), refHeadElide(data, n));
        const progress = { offset: -1n };
        await collect(tailLines(mk(), BigInt(data.length), N, { ...options, progress }));
        assert.equal(progress.offset, BigInt(data.length), "progress ends at the end");
      },
    ),
    { numRuns: 400 },
  );
});

Deno.test("headLines() and lastLinesStart() with NUL as the delimiter (-z)", async () => {
  const data = text("a\0b\nc\0d");
  assert.equal(str(await collect(headLines(new CountingFile(data), 1n, { delimiter: 0 }))), "a\0");
  assert.equal(
    str(await collect(tailLines(new CountingFile(data), 8n, 1n, { delimiter: 0 }))),
    "d",
  );
});

Deno.test("readAheadDepth() keeps READ_AHEAD_BYTES in flight, within 1 and the slots' bound", () => {
  assert.equal(READ_AHEAD_BYTES, 4 * 1024 * 1024);
  assert.equal(readAheadDepth(1024 * 1024, 8), 4, "4 READs of 1 MiB");
  assert.equal(readAheadDepth(512 * 1024, 8), 8);
  assert.equal(readAheadDepth(64 * 1024, 8), 8, "small READs: the slots' bound");
  assert.equal(readAheadDepth(1024 * 1024, 2), 2, "a session with 3 slots");
  assert.equal(readAheadDepth(8 * 1024 * 1024, 8), 1, "one READ larger than the budget");
  assert.equal(readAheadDepth(0, 8), 8);
});

/** A server that refuses READs past the largest file it holds, as Ganesha does at 2^63. */
class RefusingFarReads extends CountingFile {
  constructor(data: Uint8Array, readonly status: number, readonly from: bigint) {
    super(data);
  }
  override read(offset: bigint, count: number): Promise<{ data: Uint8Array; eof: boolean }> {
    if (offset >= this.from) return Promise.reject(new NfsError(this.status, "READ"));
    return super.read(offset, count);
  }
}

Deno.test("readRange(): a READ past the end refused as past the largest file (NFS4ERR_FBIG, NFS4ERR_INVAL) is the end: nothing, as read(2) past the end; the same refusal inside the file fails (RFC 8881 §18.22.3)", async () => {
  for (const status of [S.NFS4ERR_FBIG, S.NFS4ERR_INVAL]) {
    const far = new RefusingFarReads(text("hello\n"), status, 2n ** 63n);
    assert.equal(str(await collect(readRange(far, 2n ** 63n))), "");
    assert.equal(str(await collect(readRange(far, 2n ** 64n - 1n, 5n))), "");
    // Past the size known at OPEN, wherever the server's limit lies.
    const small = new RefusingFarReads(text("hello\n"), status, 100n);
    assert.equal(str(await collect(readRange(small, 1000n))), "");
    // Not past the end: a failure.
    const inside = new RefusingFarReads(text("hello\n"), status, 2n);
    await assert.rejects(collect(readRange(inside, 3n)), NfsError);
  }
  const other = new RefusingFarReads(text("hello\n"), S.NFS4ERR_IO, 2n ** 63n);
  await assert.rejects(collect(readRange(other, 2n ** 63n)), /NFS4ERR_IO/);
});
