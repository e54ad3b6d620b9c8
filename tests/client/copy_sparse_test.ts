/**
 * Finding holes in copied data (lib/client/copy/sparse.ts): zero blocks
 * aligned to the file offset become holes, data is handed on as views of
 * the chunks, blocks split between chunks are judged whole; and the
 * NfsWriter leaves a hole as a gap in its WRITE offsets.
 */

import assert from "node:assert/strict";
import type { SettableAttributes } from "../../lib/nfs4/attrs.ts";
import {
  HoleFinder,
  isZero,
  NfsWriter,
  type Segment,
  wantsHoles,
  type WriteTarget,
} from "../../lib/client/copy/mod.ts";
import { seekedRead } from "../../lib/client/copy/nfs_read.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status } from "../../lib/nfs4/status.ts";

/** Runs `chunks` through a finder: the segments, with data copied out for comparison. */
function split(block: number, chunks: Uint8Array[]): { kind: string; value: number[] | number }[] {
  const finder = new HoleFinder(block);
  const out: Segment[] = [];
  for (const chunk of chunks) out.push(...finder.push(chunk));
  out.push(...finder.end());
  return out.map((s) =>
    s.kind === "data" ? { kind: "data", value: [...s.bytes] } : { kind: "hole", value: s.length }
  );
}

/** The bytes a file gets from `segments` (holes read as zeros). */
function replay(block: number, chunks: Uint8Array[]): Uint8Array {
  const finder = new HoleFinder(block);
  const parts: Uint8Array[] = [];
  const put = (segments: Segment[]) => {
    for (const s of segments) parts.push(s.kind === "data" ? s.bytes : new Uint8Array(s.length));
  };
  for (const chunk of chunks) put(finder.push(chunk));
  put(finder.end());
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

Deno.test("isZero() tells zero blocks from others, at any alignment and length", () => {
  const buffer = new Uint8Array(8192 + 3);
  assert.equal(isZero(buffer.subarray(3)), true);
  assert.equal(isZero(buffer.subarray(1, 4097)), true);
  buffer[8194] = 1;
  assert.equal(isZero(buffer.subarray(3)), false);
  // The sign bit alone (a float's -0) is not a zero byte.
  buffer.fill(0);
  buffer[10] = 0x80;
  assert.equal(isZero(buffer.subarray(3, 10)), true);
  assert.equal(isZero(buffer.subarray(3, 11)), false);
});

Deno.test("HoleFinder turns aligned zero blocks into holes and merges runs", () => {
  const chunk = new Uint8Array([1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0]);
  assert.deepEqual(split(4, [chunk]), [
    { kind: "data", value: [1, 2, 3, 4] },
    { kind: "hole", value: 8 },
    { kind: "data", value: [5, 0, 0, 0] },
    { kind: "hole", value: 2 },
  ]);
});

Deno.test("HoleFinder hands data on as views of the chunk (no copy)", () => {
  const chunk = new Uint8Array(16);
  chunk[0] = 9;
  chunk[12] = 9;
  const finder = new HoleFinder(4);
  const segments = finder.push(chunk);
  const data = segments.filter((s) => s.kind === "data");
  assert.equal(data.length, 2);
  for (const s of data) if (s.kind === "data") assert.equal(s.bytes.buffer, chunk.buffer);
  assert.equal(finder.holeBytes, 8);
});

Deno.test("HoleFinder judges a block split between chunks as one block", () => {
  // Blocks of 4: [0 0 0 0] [0 0 | 0 0] [7 0 | 0 0] [0 0]
  const chunks = [
    new Uint8Array([0, 0, 0, 0, 0, 0]),
    new Uint8Array([0, 0, 7, 0]),
    new Uint8Array([0, 0, 0, 0]),
  ];
  assert.deepEqual(split(4, chunks), [
    { kind: "hole", value: 4 },
    { kind: "hole", value: 4 },
    { kind: "data", value: [7, 0, 0, 0] },
    { kind: "hole", value: 2 },
  ]);
});

Deno.test("HoleFinder keeps every byte: data and holes replay to the input", () => {
  const input = new Uint8Array(100_000);
  for (let i = 0; i < input.length; i++) {
    if ((i >> 12) % 3 === 0 || i % 9973 === 0) input[i] = (i * 31) & 0xff || 1;
  }
  for (const size of [1, 7, 4096, 5000, 65536, 100_000]) {
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < input.length; at += size) chunks.push(input.slice(at, at + size));
    assert.deepEqual(replay(4096, chunks), input, `chunks of ${size}`);
  }
});

Deno.test("wantsHoles() follows --sparse: auto only for sparse sources", () => {
  const stat = (size: bigint, allocated: bigint | undefined) => ({
    kind: "file" as const,
    size,
    allocated,
    mode: 0o644,
    mtime: undefined,
    atime: undefined,
    id: undefined,
    path: "/x",
  });
  assert.equal(wantsHoles("auto", stat(1n << 30n, 8192n)), true);
  assert.equal(wantsHoles("auto", stat(100n, 4096n)), false);
  assert.equal(wantsHoles("auto", stat(8192n, 8192n)), false);
  assert.equal(wantsHoles("auto", stat(8192n, undefined)), false);
  assert.equal(wantsHoles("auto", undefined), false);
  assert.equal(wantsHoles("always", undefined), true);
  assert.equal(wantsHoles("always", stat(8192n, 8192n)), true);
  assert.equal(wantsHoles("never", stat(1n << 30n, 0n)), false);
});

class RecordingFile implements WriteTarget {
  readonly path = "/vfs/sparse";
  readonly wsize = 8;
  writes: { offset: bigint; data: number[] }[] = [];
  attrs: SettableAttributes[] = [];

  write(offset: bigint, data: Uint8Array) {
    this.writes.push({ offset, data: [...data] });
    return Promise.resolve({ committed: 0, verifier: new Uint8Array(8) });
  }
  commit() {
    return Promise.resolve(new Uint8Array(8));
  }
  setattr(attrs: SettableAttributes) {
    this.attrs.push(attrs);
    return Promise.resolve();
  }
  close() {
    return Promise.resolve();
  }
}

Deno.test("NfsWriter.hole() sends what is staged and skips the hole's offsets; finish sets the size", async () => {
  const file = new RecordingFile();
  const writer = new NfsWriter(file, { depth: 2, commitBytes: 1 << 20 });
  await writer.write(new Uint8Array([1, 2, 3]));
  await writer.hole(100);
  await writer.write(new Uint8Array([4, 5, 6, 7, 8, 9, 10, 11, 12, 13]));
  await writer.hole(50);
  await writer.finish({ mode: undefined }, 163n);
  assert.deepEqual(file.writes, [
    { offset: 0n, data: [1, 2, 3] },
    { offset: 103n, data: [4, 5, 6, 7, 8, 9, 10, 11] },
    { offset: 111n, data: [12, 13] },
  ]);
  assert.deepEqual(file.attrs, [{ size: 163n }]);
});

Deno.test("NfsWriter.chown() sends the owner strings in a SETATTR", async () => {
  const file = new RecordingFile();
  const writer = new NfsWriter(file, { depth: 2, commitBytes: 1 << 20 });
  await writer.chown("4242", "777");
  assert.deepEqual(file.attrs, [{ owner: "4242", ownerGroup: "777" }]);
});

Deno.test("seekedRead() reads only the data SEEK reports and yields the holes between (RFC 7862 §15.11)", async () => {
  // A 64 KiB file with data at [8192, 12288) and [40960, 45056).
  const size = 65536n;
  const data: [bigint, bigint][] = [[8192n, 12288n], [40960n, 45056n]];
  const reads: [bigint, number][] = [];
  const file = {
    path: "/vfs/f",
    read(offset: bigint, count: number) {
      reads.push([offset, count]);
      const end = offset + BigInt(count) > size ? size : offset + BigInt(count);
      return Promise.resolve({
        data: new Uint8Array(Number(end - offset)).fill(1),
        eof: end >= size,
      });
    },
    seek(offset: bigint, what: "data" | "hole") {
      if (what === "data") {
        const next = data.find(([, e]) => e > offset);
        // As Ganesha: no data after `offset` is eof with the offset echoed.
        if (!next) return Promise.resolve({ eof: true, offset });
        return Promise.resolve({ eof: false, offset: next[0] > offset ? next[0] : offset });
      }
      const inside = data.find(([s, e]) => s <= offset && offset < e);
      if (!inside) return Promise.resolve({ eof: false, offset });
      return Promise.resolve({ eof: false, offset: inside[1] });
    },
  };
  const segments = [];
  for await (const s of seekedRead(file, size, 4096, 2)) {
    segments.push(s.kind === "data" ? ["data", s.bytes.length] : ["hole", s.length]);
  }
  assert.deepEqual(segments, [
    ["hole", 8192],
    ["data", 4096],
    ["hole", 28672],
    ["data", 4096],
    ["hole", 20480],
  ]);
  assert.deepEqual(reads, [[8192n, 4096], [40960n, 4096]]);
});

Deno.test("seekedRead() falls back to reading (holes found in the zeros) when SEEK answers NFS4ERR_NOTSUPP", async () => {
  const size = 16384n;
  const bytes = new Uint8Array(16384);
  bytes.fill(7, 4096, 8192);
  const file = {
    path: "/vfs/f",
    read(offset: bigint, count: number) {
      const start = Number(offset);
      const end = Math.min(start + count, bytes.length);
      return Promise.resolve({ data: bytes.slice(start, end), eof: end >= bytes.length });
    },
    seek(): Promise<{ eof: boolean; offset: bigint }> {
      return Promise.reject(new NfsError(Nfs4Status.NFS4ERR_NOTSUPP, "SEEK"));
    },
  };
  const segments = [];
  for await (const s of seekedRead(file, size, 4096, 2)) {
    segments.push(s.kind === "data" ? ["data", s.bytes.length] : ["hole", s.length]);
  }
  // Adjacent holes (one per chunk) merged for comparison.
  const merged: (string | number)[][] = [];
  for (const [kind, length] of segments) {
    const last = merged.at(-1);
    if (last && last[0] === "hole" && kind === "hole") {
      last[1] = (last[1] as number) + (length as number);
    } else merged.push([kind!, length!]);
  }
  assert.deepEqual(merged, [["hole", 4096], ["data", 4096], ["hole", 8192]]);
});

Deno.test("seekedRead() reads the rest (holes found in the zeros) when SEEK answers NFS4ERR_UNION_NOTSUPP, for data or for holes only (RFC 7862 §11, §15.11)", async () => {
  // 16 KiB: a hole, data at [4096, 8192), a hole.
  const size = 16384n;
  const bytes = new Uint8Array(16384);
  bytes.fill(7, 4096, 8192);
  for (const refused of ["data", "hole"] as const) {
    const reads: bigint[] = [];
    const file = {
      path: "/vfs/f",
      read(offset: bigint, count: number) {
        reads.push(offset);
        const start = Number(offset);
        const end = Math.min(start + count, bytes.length);
        return Promise.resolve({ data: bytes.slice(start, end), eof: end >= bytes.length });
      },
      seek(offset: bigint, what: "data" | "hole"): Promise<{ eof: boolean; offset: bigint }> {
        if (what === refused) {
          return Promise.reject(new NfsError(Nfs4Status.NFS4ERR_UNION_NOTSUPP, "SEEK"));
        }
        return Promise.resolve({ eof: false, offset: offset < 4096n ? 4096n : offset });
      },
    };
    const replay = new Uint8Array(16384);
    let at = 0;
    for await (const s of seekedRead(file, size, 4096, 2)) {
      if (s.kind === "data") replay.set(s.bytes, at);
      at += s.kind === "data" ? s.bytes.length : s.length;
    }
    assert.equal(at, 16384, `${refused}: every byte accounted for`);
    assert.deepEqual(replay, bytes, `${refused}: the content is the file's`);
    // Refused for holes: the data SEEK still skipped the first hole.
    assert.equal(reads[0], refused === "hole" ? 4096n : 0n);
  }
});
