/**
 * An end of file before the size known at OPEN, held to RFC 7530 §16.23.4 /
 * RFC 8881 §18.22.4 (eof only when the READ reached the end), on fake open
 * files: EndOfFileCheck (lib/client/read_progress.ts) believes it only when
 * the size asked again is no larger, with one question for all the READs
 * answered meanwhile; the pipelined loops (readRange(), pipelinedRead())
 * fail when a READ already in flight past it brought data, and end there
 * when none did (a file truncated meanwhile), asking nothing more.
 */

import assert from "node:assert/strict";
import type { OpenFile } from "../../lib/client/api.ts";
import { readRange } from "../../lib/client/byte_range.ts";
import { pipelinedRead } from "../../lib/client/copy/nfs_read.ts";
import { EndOfFileCheck } from "../../lib/client/read_progress.ts";

const SIZE = 1000;
const BLOCK = 100;

/**
 * A file of SIZE bytes (byte i is i % 251) opened at that size. The READ at
 * `lieAt` returns half its data with eof; with `cutAt`, the file holds only
 * that many bytes (truncated after OPEN: every READ past them ends there).
 */
class EarlyEofFile implements OpenFile {
  readonly path = "/vfs/big";
  readonly size = BigInt(SIZE);
  readonly rsize = BLOCK;
  readonly reads: bigint[] = [];
  readonly #lieAt: number | undefined;
  readonly #length: number;

  constructor(options: { lieAt?: number; cutAt?: number }) {
    this.#lieAt = options.lieAt;
    this.#length = options.cutAt ?? SIZE;
  }

  read(offset: bigint, count: number): Promise<{ data: Uint8Array; eof: boolean }> {
    this.reads.push(offset);
    const at = Number(offset);
    const end = Math.min(this.#length, at + count);
    const data = Uint8Array.from({ length: Math.max(0, end - at) }, (_, i) => (at + i) % 251);
    if (at === this.#lieAt) return Promise.resolve({ data: data.subarray(0, 50), eof: true });
    return Promise.resolve({ data, eof: end >= this.#length });
  }

  chunks(): AsyncIterable<Uint8Array> {
    throw new Error("not used");
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const chunk of chunks) n += chunk.length;
  return n;
}

const LOOPS: [string, (file: EarlyEofFile) => AsyncIterable<Uint8Array>][] = [
  ["readRange", (file) => readRange(file, 0n, undefined, { depth: 4 })],
  ["pipelinedRead", (file) => pipelinedRead(file, file.size, BLOCK, 4)],
];

for (const [name, loop] of LOOPS) {
  Deno.test(
    `${name}() fails on an eof before the known size when a READ in flight past it brought ` +
      "data, and ends there when none did: the file was truncated " +
      "(RFC 7530 §16.23.4, RFC 8881 §18.22.4)",
    async () => {
      const lying = new EarlyEofFile({ lieAt: 300 });
      await assert.rejects(
        collect(loop(lying)),
        /^PathError: \/vfs\/big: the server returned end of file at byte 350 of 1000 \(I\/O error\)$/,
      );
      const truncated = new EarlyEofFile({ cutAt: 350 });
      assert.equal(await collect(loop(truncated)), 350);
      assert.ok(truncated.reads.every((at) => at < 800n), "no READ issued after the end");
    },
  );
}

Deno.test("EndOfFileCheck: an eof at or past the size asks nothing", async () => {
  let asked = 0;
  const check = new EndOfFileCheck("/vfs/big", 1000n, () => {
    asked++;
    return Promise.resolve(1000n);
  });
  assert.equal(check.early(900n, 100), false);
  assert.equal(check.early(1000n, 0), false);
  assert.equal(check.early(900n, 99), true);
  await check.confirm(1000n);
  assert.equal(asked, 0);
});

Deno.test(
  "EndOfFileCheck: an eof before the size is believed when the size asked again is no larger " +
    "(a truncation), one question shared by the READs answered meanwhile, and later READs " +
    "past the new size ask nothing (RFC 7530 §16.23.4, RFC 8881 §18.22.4)",
  async () => {
    let asked = 0;
    const check = new EndOfFileCheck("/vfs/big", 1000n, () => {
      asked++;
      return Promise.resolve(350n);
    });
    await Promise.all([check.confirm(350n), check.confirm(400n), check.confirm(500n)]);
    assert.equal(asked, 1);
    assert.equal(check.early(600n, 0), false, "the size is now 350");
    assert.equal(check.early(300n, 0), true);
  },
);

Deno.test(
  "EndOfFileCheck: an eof before the size fails when the file is still larger, or its size " +
    "unknown (RFC 7530 §16.23.4, RFC 8881 §18.22.4)",
  async () => {
    const larger = new EndOfFileCheck("/vfs/big", 1000n, () => Promise.resolve(1000n));
    await assert.rejects(
      larger.confirm(350n),
      /^PathError: \/vfs\/big: the server returned end of file at byte 350 of 1000 \(I\/O error\)$/,
    );
    const shorter = new EndOfFileCheck("/vfs/big", 1000n, () => Promise.resolve(351n));
    await assert.rejects(shorter.confirm(350n), /end of file at byte 350 of 1000/);
    const unknown = new EndOfFileCheck("/vfs/big", 1000n, () => Promise.resolve(undefined));
    await assert.rejects(unknown.confirm(350n), /end of file at byte 350 of 1000/);
  },
);
