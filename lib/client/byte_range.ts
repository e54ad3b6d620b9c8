/**
 * Reading parts of an open file, as `head`, `tail` and `cat --offset` need
 * them: a byte range with READs pipelined, the first N lines, the lines from
 * line N on, and the last N lines found by reading backwards from the end.
 *
 * Everything here works on the {@linkcode OpenFile} interface alone (its
 * `read(offset, count)` and `size`), so a fake file that counts the bytes
 * asked for tests exactly what a command reads. Memory is bounded whatever
 * the file size: at most `depth` READs of `blockSize` bytes are in flight,
 * chunks are yielded as the READs return them (views: consume each before
 * taking the next), and the backward scan keeps at most `keep` bytes.
 *
 * Reads that may stop early (the first N lines, the last N lines) start
 * small and grow: one READ of {@linkcode FIRST_BLOCK} bytes, then each
 * answer doubles the size of the next READs up to the block size, then
 * the number in flight up to the depth. What is read past the need stays
 * below what was needed (plus the READs in flight at full speed).
 * `head -n 10` of a large file then costs one small READ, `tail -n 10` one
 * READ of the end, and a long run still reaches full speed after a few
 * round trips. A byte count known in advance (`head -c N`) is read at full
 * speed at once, never past what was asked.
 * @module
 */

import type { OpenFile } from "./api.ts";
import { endOfData, nothingPast, refusedPastEnd } from "./read_progress.ts";

/** Bytes per READ when neither the caller nor the file says. */
export const DEFAULT_BLOCK = 64 * 1024;
/** READs in flight at most, by default. */
export const DEFAULT_DEPTH = 4;
/** The first READ of a read that may stop early. */
export const FIRST_BLOCK = 64 * 1024;
/** Bytes the backward scan keeps to print without reading them again (default). */
export const DEFAULT_KEEP = 1 << 20;

/**
 * Bytes a streaming read (`NfsFile.chunks()`, `cp`'s reads) asks for ahead
 * of its consumer at most. Measured (1 GiB `nfs4 cat` from Ganesha on
 * loopback, the single binary): 4 READs of 1 MiB in flight read as fast as
 * 8 and peak 5-10 MB lower; 2 saved a few MB more but left the pipe idle
 * whenever the client or the server paused (lib/state/procs.ts,
 * `LARGEST_READ`, for the READ size). 4 MiB also covers the bandwidth-delay
 * product of a 10 Gbit/s link with 3 ms round trips.
 */
export const READ_AHEAD_BYTES = 4 * 1024 * 1024;

/**
 * READs to keep in flight for reads of `rsize` bytes: as many as
 * {@linkcode READ_AHEAD_BYTES} allows, at least one, at most `maxDepth`.
 */
export function readAheadDepth(rsize: number, maxDepth: number): number {
  return Math.max(1, Math.min(maxDepth, Math.floor(READ_AHEAD_BYTES / Math.max(1, rsize))));
}

/**
 * The smallest READ or WRITE size used, whatever a server's maxread or
 * maxwrite says: the Linux client's NFS_MIN_FILE_IO_SIZE
 * (include/linux/nfs_fs.h). Linux ignores a limit below 512
 * (fs/nfs/client.c, nfs_server_set_fsinfo) and turns one below 1024 into
 * 4096 (fs/nfs/internal.h, nfs_io_size); here such a limit is met with
 * 1024, nearer to what the server takes, and the short READs and WRITEs it
 * answers are followed (RFC 7530 §16.23.4, §16.36.4). A floor keeps a
 * server that says maxread 1 from costing a request per byte.
 */
export const MIN_IO_SIZE = 1024;

/**
 * The READ or WRITE size for a file system whose maxread or maxwrite
 * (RFC 7530 §5.8.2.20, §5.8.2.21: the most one READ may ask for, one WRITE
 * carry) is `serverMax`: it, exactly (not rounded to a power of two or a
 * page as Linux does for its page cache: any count up to the limit is
 * allowed), held to {@linkcode MIN_IO_SIZE} at least and `largest` at most.
 * Absent or 0 (a server that states no limit): `largest`.
 */
export function ioSize(serverMax: bigint | undefined, largest: number): number {
  if (serverMax === undefined || serverMax === 0n || serverMax >= BigInt(largest)) return largest;
  return serverMax < BigInt(MIN_IO_SIZE) ? MIN_IO_SIZE : Number(serverMax);
}

/** How the READs of one read are sized and pipelined. */
export interface ReadOptions {
  /**
   * Bytes per READ at most. Default: the file's negotiated read size when
   * it has one (`rsize` of the client's files), else {@linkcode DEFAULT_BLOCK}.
   */
  readonly blockSize?: number;
  /** READs in flight at most (default {@linkcode DEFAULT_DEPTH}). */
  readonly depth?: number;
  /**
   * Begin with one READ of {@linkcode FIRST_BLOCK} bytes and grow (for a
   * read the consumer may stop early). Default false.
   */
  readonly slowStart?: boolean;
  /**
   * Set to the offset just past the last byte handed out, as each chunk is
   * (where a follower such as `tail -f` goes on from).
   */
  readonly progress?: { offset: bigint };
}

/** The line delimiter and read options of the line-based reads. */
export interface LineOptions extends ReadOptions {
  /** The byte that ends a line (default `\n`; `-z` makes it NUL). */
  readonly delimiter?: number;
}

/** The READ size to use for `file`: the asked one, the file's own, or the default. */
export function blockSizeFor(file: OpenFile, asked?: number): number {
  if (asked !== undefined) {
    if (!Number.isSafeInteger(asked) || asked < 1) throw new RangeError("block size must be >= 1");
    return asked;
  }
  // The client's files carry the size negotiated with the server (maxread
  // and the session's limits); a READ larger than it could be refused.
  const own = (file as { readonly rsize?: unknown }).rsize;
  return typeof own === "number" && Number.isSafeInteger(own) && own > 0 ? own : DEFAULT_BLOCK;
}

function depthOf(options: ReadOptions): number {
  const depth = options.depth ?? DEFAULT_DEPTH;
  if (!Number.isSafeInteger(depth) || depth < 1) throw new RangeError("depth must be >= 1");
  return depth;
}

/** One READ of a pipelined read: where, how many bytes it asked for, and its reply. */
export interface PendingRead {
  readonly offset: bigint;
  readonly count: number;
  readonly result: Promise<{ data: Uint8Array; eof: boolean }>;
}

/**
 * For a pipelined read whose READ `head` came back short (`got` bytes, at
 * least one, no end of file; a server may answer less than asked, RFC 7530
 * §16.23.4, RFC 8881 §18.22.4): the READ of the rest of its range, to be
 * awaited next, so the data is still handed on in order. The READs issued
 * past it stay in flight and are used as they come, as the Linux client
 * asks again for only the rest of a short read (fs/nfs/read.c,
 * nfs_readpage_retry). Dropping them and issuing the window again would
 * have a server that answers every READ short (a maxread below the READ
 * size) send most bytes several times over.
 */
export function restOfShortRead(
  head: PendingRead,
  got: number,
  read: (offset: bigint, count: number) => Promise<{ data: Uint8Array; eof: boolean }>,
): PendingRead {
  const offset = head.offset + BigInt(got);
  const count = head.count - got;
  const result = read(offset, count);
  result.catch(() => undefined); // observed when awaited
  return { offset, count, result };
}

/** Waits for READs nobody will consume, so none rejects unobserved. */
async function drain(pending: readonly PendingRead[]): Promise<void> {
  await Promise.allSettled(pending.map((p) => p.result));
}

/**
 * The bytes of `file` from `offset`, `length` of them or (undefined) up to
 * the end, in order, with READs pipelined. Never asks for a byte before
 * `offset` or at or past `offset + length`. A short READ (less than asked,
 * not at the end) is followed by a READ of the rest of its range, next in
 * line, the READs issued past it kept ({@linkcode restOfShortRead}). An
 * offset at or past the end yields nothing. An end of file before the size
 * known at OPEN (believed by the client's file only once a
 * GETATTR finds it truncated) fails the read when a READ issued past it
 * brought data: the file goes on there (RFC 7530 §16.23.4, RFC 8881
 * §18.22.4).
 *
 * @example
 * ```ts
 * for await (const chunk of readRange(file, 100n, 10n)) out.write(chunk); // bytes 100..109
 * ```
 */
export async function* readRange(
  file: OpenFile,
  offset: bigint,
  length?: bigint,
  options: ReadOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  if (offset < 0n) throw new RangeError("offset must be >= 0");
  if (length !== undefined && length < 0n) throw new RangeError("length must be >= 0");
  const end = length === undefined ? undefined : offset + length;
  const maxBlock = blockSizeFor(file, options.blockSize);
  const maxDepth = depthOf(options);
  let block = options.slowStart ? Math.min(FIRST_BLOCK, maxBlock) : maxBlock;
  let depth = options.slowStart ? 1 : maxDepth;
  let next = offset;
  const pending: PendingRead[] = [];
  const issue = () => {
    let count = block;
    if (end !== undefined && end - next < BigInt(count)) count = Number(end - next);
    const result = file.read(next, count);
    result.catch(() => undefined); // observed when awaited
    pending.push({ offset: next, count, result });
    next += BigInt(count);
  };
  try {
    for (;;) {
      // Past the size known at OPEN, one READ at a time: it confirms the end.
      while (
        pending.length < depth &&
        (end === undefined || next < end) &&
        (file.size === undefined || next < file.size || pending.length === 0)
      ) {
        issue();
      }
      const head = pending.shift();
      if (head === undefined) return;
      let reply: { data: Uint8Array; eof: boolean };
      try {
        reply = await head.result;
      } catch (e) {
        if (refusedPastEnd(head.offset, file.size, e)) return;
        throw e;
      }
      const { data, eof } = reply;
      // A server sends no more than asked (the READ codec holds it to that).
      const piece = data.length > head.count ? data.subarray(0, head.count) : data;
      if (piece.length > 0) {
        if (options.progress) options.progress.offset = head.offset + BigInt(piece.length);
        yield piece;
      }
      if (endOfData(file.path, head.offset, file.size, { data: piece, eof })) {
        await nothingPast(file.path, head.offset, file.size, { data: piece, eof }, pending);
        return;
      }
      if (piece.length < head.count) {
        pending.unshift(restOfShortRead(head, piece.length, (at, count) => file.read(at, count)));
      }
      if (options.slowStart) {
        // Larger READs first, then more of them at once: what was read
        // past the need stays below what was needed.
        if (block < maxBlock) block = Math.min(maxBlock, block * 2);
        else depth = Math.min(maxDepth, depth * 2);
      }
    }
  } finally {
    await drain(pending);
  }
}

/**
 * Up to `count` bytes at `offset`, following short READs; fewer only at the
 * end of the file.
 */
export async function readFully(
  file: OpenFile,
  offset: bigint,
  count: number,
): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  let got = 0;
  while (got < count) {
    const at = offset + BigInt(got);
    const { data, eof } = await file.read(at, count - got);
    const piece = data.length > count - got ? data.subarray(0, count - got) : data;
    if (piece.length > 0) {
      pieces.push(piece);
      got += piece.length;
    }
    if (endOfData(file.path, at, file.size, { data: piece, eof })) break;
  }
  if (pieces.length === 1) return pieces[0]!;
  const all = new Uint8Array(got);
  let at = 0;
  for (const piece of pieces) {
    all.set(piece, at);
    at += piece.length;
  }
  return all;
}

/**
 * The first `lines` lines of `file` (`head -n N`): the bytes up to and
 * including the `lines`-th delimiter, or the whole file when it has fewer.
 * Reads forward with a slow start and stops at that delimiter.
 */
export async function* headLines(
  file: OpenFile,
  lines: bigint,
  options: LineOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  if (lines <= 0n) return;
  const delimiter = options.delimiter ?? 0x0a;
  let left = lines;
  for await (const chunk of readRange(file, 0n, undefined, { ...options, slowStart: true })) {
    let at = 0;
    for (;;) {
      const nl = chunk.indexOf(delimiter, at);
      if (nl < 0) break;
      at = nl + 1;
      if (--left === 0n) {
        yield chunk.subarray(0, at);
        return;
      }
    }
    yield chunk;
  }
}

/**
 * `file` from the start of line `first` (1-based; 0 and 1 both mean the
 * whole file) to its end (`tail -n +N`): the first `first - 1` delimiters
 * are skipped, the rest streams at full speed.
 */
export async function* linesFrom(
  file: OpenFile,
  first: bigint,
  options: LineOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const delimiter = options.delimiter ?? 0x0a;
  let skip = first > 1n ? first - 1n : 0n;
  for await (const chunk of readRange(file, 0n, undefined, options)) {
    let at = 0;
    while (skip > 0n) {
      const nl = chunk.indexOf(delimiter, at);
      if (nl < 0) break;
      at = nl + 1;
      skip--;
    }
    if (skip > 0n) continue;
    if (at < chunk.length) yield chunk.subarray(at);
  }
}

/** Where the last lines of a file start, and their bytes when few enough to keep. */
export interface LastLines {
  /** The offset of the first byte of the last lines (0: the whole file). */
  readonly start: bigint;
  /** The end the scan started from. */
  readonly end: bigint;
  /**
   * The bytes from `start` to `end`, in order, when they fitted in the
   * `keep` limit; undefined when they must be read again.
   */
  readonly kept: readonly Uint8Array[] | undefined;
}

/** What {@linkcode lastLinesStart} is asked. */
export interface LastLinesOptions extends LineOptions {
  /** Keep at most this many bytes of the scan, to print them without reading them again. */
  readonly keep?: number;
}

/**
 * Finds where the last `lines` lines of the first `end` bytes of `file`
 * start, reading backwards from `end` block by block until enough
 * delimiters were seen (`tail -n N`, `head -n -N`). As GNU tail, a last
 * line without its delimiter counts as a line, and a final delimiter ends
 * the last line rather than starting an empty one. Only the blocks that
 * hold the last lines are read (the first from `end` is small, later ones
 * grow). A file that turns out shorter than `end` is taken as it is.
 */
export async function lastLinesStart(
  file: OpenFile,
  end: bigint,
  lines: bigint,
  options: LastLinesOptions = {},
): Promise<LastLines> {
  if (lines <= 0n || end <= 0n) return { start: end > 0n ? end : 0n, end, kept: [] };
  const delimiter = options.delimiter ?? 0x0a;
  const maxBlock = blockSizeFor(file, options.blockSize);
  const maxDepth = depthOf(options);
  const keepLimit = options.keep ?? DEFAULT_KEEP;
  let block = Math.min(FIRST_BLOCK, maxBlock);
  let depth = 1;
  let low = end; // the lowest offset asked for so far
  let top = end; // the end as found (lower when the file is shorter)
  let need = lines;
  let first = true;
  let kept: Uint8Array[] | undefined = [];
  let keptBytes = 0;
  const pending: { offset: bigint; count: number; result: Promise<Uint8Array> }[] = [];
  const issue = () => {
    const count = low < BigInt(block) ? Number(low) : block;
    const offset = low - BigInt(count);
    const result = readFully(file, offset, count);
    result.catch(() => undefined); // observed when awaited
    pending.push({ offset, count, result });
    low = offset;
  };
  const found = (start: bigint, blockOffset: bigint, data: Uint8Array): LastLines => {
    if (kept !== undefined) kept.unshift(data.subarray(Number(start - blockOffset)));
    return { start, end: top, kept };
  };
  try {
    for (;;) {
      while (pending.length < depth && low > 0n) issue();
      const next = pending.shift();
      if (next === undefined) return { start: 0n, end: top, kept };
      const data = await next.result;
      if (data.length < next.count) {
        if (!first) {
          // Bytes below the first block read vanished: the file was cut
          // shorter while being read. Start again from its new end.
          await Promise.allSettled(pending.map((p) => p.result));
          pending.length = 0;
          return await lastLinesStart(file, next.offset + BigInt(data.length), lines, options);
        }
        top = next.offset + BigInt(data.length);
        if (data.length === 0) {
          // The end is below this block: look from the new end (a shorter file).
          await Promise.allSettled(pending.map((p) => p.result));
          pending.length = 0;
          return await lastLinesStart(file, top, lines, options);
        }
      }
      let at = data.length;
      if (first) {
        // An unterminated last line is a line of its own.
        if (data[data.length - 1] !== delimiter) need--;
        first = false;
      }
      while (at > 0) {
        const nl = data.lastIndexOf(delimiter, at - 1);
        if (nl < 0) break;
        if (need === 0n) {
          return found(next.offset + BigInt(nl + 1), next.offset, data);
        }
        need--;
        at = nl;
      }
      if (kept !== undefined) {
        if (keptBytes + data.length <= keepLimit) {
          kept.unshift(data);
          keptBytes += data.length;
        } else {
          kept = undefined;
        }
      }
      if (block < maxBlock) block = Math.min(maxBlock, block * 2);
      else depth = Math.min(maxDepth, depth * 2);
    }
  } finally {
    await Promise.allSettled(pending.map((p) => p.result));
  }
}

/**
 * The last `lines` lines of the first `end` bytes of `file` (`tail -n N`):
 * found with {@linkcode lastLinesStart}, then the bytes it kept, or read
 * again forward when there were too many to keep.
 */
export async function* tailLines(
  file: OpenFile,
  end: bigint,
  lines: bigint,
  options: LastLinesOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const last = await lastLinesStart(file, end, lines, options);
  if (options.progress) options.progress.offset = last.start;
  if (last.kept !== undefined) {
    for (const piece of last.kept) {
      if (piece.length === 0) continue;
      if (options.progress) options.progress.offset += BigInt(piece.length);
      yield piece;
    }
    return;
  }
  yield* readRange(file, last.start, last.end - last.start, options);
}

/**
 * The size of `file`: the one OPEN returned, or, when the server gave none,
 * found by reading it to the end (counting, keeping nothing).
 */
export async function sizeOf(file: OpenFile, options: ReadOptions = {}): Promise<bigint> {
  if (file.size !== undefined) return file.size;
  let size = 0n;
  for await (const chunk of readRange(file, 0n, undefined, options)) size += BigInt(chunk.length);
  return size;
}
