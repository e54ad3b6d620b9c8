/**
 * Holes: which parts of the data being copied need not be written. On
 * NFSv4.2 the source server says where its holes are (SEEK, RFC 7862
 * §15.11; nfs_read.ts seekedRead) and they are never read. NFSv4.0 and 4.1
 * cannot ask, and node:fs has no SEEK_DATA/SEEK_HOLE, so there holes are
 * found in the data read: a block of the destination's block size, aligned
 * to the file offset, that holds only zeros is left unwritten and the final
 * size is set at the end (SETATTR or ftruncate), which leaves a hole.
 *
 * Which files: `--sparse=auto` (the default, as in coreutils) looks for
 * zero blocks only when the source is sparse (fewer bytes allocated than
 * its size), `always` in every file, `never` in none. Unlike coreutils with
 * SEEK_HOLE, `auto` also leaves out zero blocks the source had written
 * (their bytes read the same either way).
 * @module
 */

import { Buffer } from "node:buffer";
import type { SparseMode } from "./options.ts";
import type { Stat } from "./side.ts";

/** What to do with the next bytes of a file: write them, or leave a hole. */
export type Segment =
  | { readonly kind: "data"; readonly bytes: Uint8Array }
  | { readonly kind: "hole"; readonly length: number };

const zeroBlocks = new Map<number, Uint8Array>();

function zeros(size: number): Uint8Array {
  let block = zeroBlocks.get(size);
  if (!block) {
    block = new Uint8Array(size);
    zeroBlocks.set(size, block);
  }
  return block;
}

/**
 * Whether `bytes` are all zero. `Buffer.compare` is a native memcmp
 * (about 30 GB/s here), far faster than a loop over 32- or 64-bit words,
 * and needs no alignment.
 */
export function isZero(bytes: Uint8Array, zeroBlock: Uint8Array = zeros(bytes.length)): boolean {
  return Buffer.compare(bytes, zeroBlock.subarray(0, bytes.length)) === 0;
}

/**
 * Whether holes are looked for when copying a file with attributes
 * `source` (undefined for stdin, which has no allocation to compare).
 *
 * @example
 * ```ts
 * import type { Stat } from "./side.ts";
 *
 * wantsHoles("auto", { size: 1n << 30n, allocated: 8192n } as Stat); // true
 * wantsHoles("auto", { size: 100n, allocated: 4096n } as Stat); // false
 * ```
 */
export function wantsHoles(mode: SparseMode, source: Stat | undefined): boolean {
  if (mode === "never") return false;
  if (mode === "always") return true;
  const size = source?.size;
  const allocated = source?.allocated;
  // coreutils' test (ST_NBLOCKS * 512 < st_size).
  return size !== undefined && allocated !== undefined && allocated < size;
}

/**
 * Splits a stream of chunks into data to write and holes to leave, by
 * blocks of `block` bytes aligned to the file offset. Data is handed on as
 * views of the chunks (no copy), except a block split between two chunks,
 * which is gathered first. A last short block of zeros is a hole too (the
 * final size covers it).
 *
 * @example
 * ```ts
 * const finder = new HoleFinder(4);
 * finder.push(new Uint8Array([1, 2, 3, 4, 0, 0, 0, 0, 0, 0]));
 * // [{ kind: "data", bytes: [1, 2, 3, 4] }, { kind: "hole", length: 4 }]
 * finder.end(); // [{ kind: "hole", length: 2 }]
 * ```
 */
export class HoleFinder {
  readonly #block: number;
  readonly #zero: Uint8Array;
  /** A block begun in one chunk and not yet complete (a copy). */
  #carry: Uint8Array | undefined;
  #carried = 0;
  /** Bytes left as holes so far (for tests and the trace). */
  holeBytes = 0;

  constructor(block: number) {
    if (!Number.isInteger(block) || block <= 0) throw new RangeError(`bad block size ${block}`);
    this.#block = block;
    this.#zero = zeros(block);
  }

  /** The segments `chunk` makes (those of a block it ends in the middle of come later). */
  push(chunk: Uint8Array): Segment[] {
    const out: Segment[] = [];
    const block = this.#block;
    let at = 0;
    if (this.#carry) {
      const take = Math.min(block - this.#carried, chunk.length);
      this.#carry.set(chunk.subarray(0, take), this.#carried);
      this.#carried += take;
      at = take;
      if (this.#carried < block) return out;
      this.#add(out, this.#carry, 0, block);
      this.#carry = undefined;
      this.#carried = 0;
    }
    const whole = at + Math.floor((chunk.length - at) / block) * block;
    let start = at;
    while (at < whole) {
      // A run of blocks of one kind goes out as one segment.
      const zero = isZero(chunk.subarray(at, at + block), this.#zero);
      let end = at + block;
      while (end < whole && isZero(chunk.subarray(end, end + block), this.#zero) === zero) {
        end += block;
      }
      this.#add(out, chunk, start, end, zero);
      at = end;
      start = end;
    }
    if (whole < chunk.length) {
      this.#carry = new Uint8Array(block);
      this.#carry.set(chunk.subarray(whole));
      this.#carried = chunk.length - whole;
    }
    return out;
  }

  /** The segments of what is left at the end of the stream. */
  end(): Segment[] {
    const out: Segment[] = [];
    if (this.#carry) {
      this.#add(out, this.#carry, 0, this.#carried);
      this.#carry = undefined;
      this.#carried = 0;
    }
    return out;
  }

  #add(
    out: Segment[],
    bytes: Uint8Array,
    start: number,
    end: number,
    zero = isZero(bytes.subarray(start, end), this.#zero),
  ): void {
    const last = out.at(-1);
    if (zero) {
      this.holeBytes += end - start;
      if (last?.kind === "hole") {
        out[out.length - 1] = { kind: "hole", length: last.length + end - start };
      } else out.push({ kind: "hole", length: end - start });
    } else {
      out.push({ kind: "data", bytes: bytes.subarray(start, end) });
    }
  }
}
