/**
 * Buffers for large records (READ replies), reused from one record to the
 * next instead of allocated anew for each.
 *
 * A fresh megabyte per READ reply costs more than the bytes it carries: the
 * allocator hands out new pages (page faults, the kernel zeroing them), the
 * garbage collector is pushed by external memory it must account for, and
 * peak memory grows with whatever the collector has not yet freed. The
 * transport takes a large record's buffer from {@linkcode recordBuffers}; the
 * final consumer of a READ's data (the one that writes it to stdout or a
 * local file) hands the buffer back with {@linkcode releaseRecordBuffer} once
 * it is done with it, and the next large record reuses it. A buffer that is
 * never handed back is simply collected as any other.
 *
 * Handing a buffer back is a promise that nothing refers to any part of that
 * record any more: its bytes will be overwritten by a later reply. Only the
 * last holder of a READ's data may do it (cat after the write to stdout has
 * completed, the local file writer after its write).
 * @module
 */

/** Records at least this large get a pooled buffer. */
export const POOLED_RECORD_MIN = 64 * 1024;
/** Buffer sizes are rounded up to a multiple of this, so nearby sizes share. */
const SIZE_STEP = 64 * 1024;
/** Free buffers kept, in bytes, across all sizes; beyond it released ones are left to the GC. */
const DEFAULT_MAX_FREE_BYTES = 16 * 1024 * 1024;

/** A free list of buffers per rounded size, and which buffers are out. */
export class RecordBufferPool {
  readonly maxFreeBytes: number;
  readonly #free = new Map<number, ArrayBuffer[]>();
  #freeBytes = 0;
  /** Every buffer this pool made and still knows: true while it is out (in use). */
  readonly #out = new WeakMap<ArrayBuffer, boolean>();
  /** Counters, for tests and measurements. */
  readonly stats = { allocated: 0, reused: 0, released: 0 };

  constructor(maxFreeBytes = DEFAULT_MAX_FREE_BYTES) {
    this.maxFreeBytes = maxFreeBytes;
  }

  /** Bytes held in free buffers. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /**
   * A view of exactly `size` bytes at the start of a buffer of the pool's
   * (not zeroed: a previous record's bytes may be in it).
   */
  take(size: number): Uint8Array {
    const rounded = Math.ceil(Math.max(1, size) / SIZE_STEP) * SIZE_STEP;
    const list = this.#free.get(rounded);
    let buffer = list?.pop();
    if (buffer) {
      this.#freeBytes -= rounded;
      this.stats.reused++;
    } else {
      buffer = new ArrayBuffer(rounded);
      this.stats.allocated++;
    }
    this.#out.set(buffer, true);
    return new Uint8Array(buffer, 0, size);
  }

  /**
   * Hands back the buffer `view` lies in, if it is one of this pool's and
   * out; anything else is ignored (a view of another buffer, a second
   * release). Returns whether the buffer was taken back.
   */
  release(view: Uint8Array): boolean {
    const buffer = view.buffer;
    if (!(buffer instanceof ArrayBuffer) || this.#out.get(buffer) !== true) return false;
    this.stats.released++;
    const size = buffer.byteLength;
    if (this.#freeBytes + size > this.maxFreeBytes) {
      this.#out.delete(buffer); // forgotten: the GC takes it
      return false;
    }
    this.#out.set(buffer, false);
    let list = this.#free.get(size);
    if (!list) this.#free.set(size, list = []);
    list.push(buffer);
    this.#freeBytes += size;
    return true;
  }

  /** Drops every free buffer. */
  clear(): void {
    this.#free.clear();
    this.#freeBytes = 0;
  }
}

/** The pool every transport takes its large records from. */
export const recordBuffers: RecordBufferPool = new RecordBufferPool();

/**
 * Hands the buffer of a record back for reuse (see the module's note: only
 * the last holder of the data may). A view that is not of a pooled buffer is
 * ignored, so any chunk may be passed.
 */
export function releaseRecordBuffer(view: Uint8Array): void {
  recordBuffers.release(view);
}
