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
 *
 * The transport's pool gives views that start on a page boundary. Bun's
 * large buffers already do; Deno's start 16 bytes into a page (malloc's
 * header), and there the kernel's copy of a READ reply into the record
 * cost about twice the system time (1 GiB `cat` from Ganesha under
 * `deno run`: 0.31-0.40 against 0.16-0.24 system-s, 0.58-0.66 against
 * 0.42-0.46 CPU-s in all). Under Deno a buffer's address is known only
 * with FFI permitted (`Deno.UnsafePointer`); without it views start at 0
 * as before.
 * @module
 */

/** Records at least this large get a pooled buffer. */
export const POOLED_RECORD_MIN = 64 * 1024;
/** Buffer sizes are rounded up to a multiple of this, so nearby sizes share. */
const SIZE_STEP = 64 * 1024;
/** Free buffers kept, in bytes, across all sizes; beyond it released ones are left to the GC. */
const DEFAULT_MAX_FREE_BYTES = 16 * 1024 * 1024;
/** A page: what a pooled view's start is aligned to, where it can be. */
const PAGE = 4096;

/** The part of Deno's FFI that tells where a buffer lies. */
interface DenoPointers {
  UnsafePointer: {
    of(buffer: ArrayBuffer): unknown;
    value(pointer: unknown): bigint | number;
  };
  permissions?: { querySync?(descriptor: { name: "ffi" }): { state: string } };
}

let addressOf: ((buffer: ArrayBuffer) => number) | null | undefined;

/**
 * The address of a buffer's first byte, under Deno with FFI permitted
 * (undefined elsewhere). Deno's large buffers start 16 bytes into a page
 * (malloc's header); Bun's start on a page already.
 */
function bufferAddress(buffer: ArrayBuffer): number | undefined {
  if (addressOf === undefined) {
    addressOf = null;
    try {
      const deno = (globalThis as { Deno?: Partial<DenoPointers> }).Deno;
      if (
        deno?.UnsafePointer && deno.permissions?.querySync?.({ name: "ffi" }).state === "granted"
      ) {
        const pointers = deno.UnsafePointer;
        addressOf = (b) => Number(pointers.value(pointers.of(b)));
      }
    } catch {
      addressOf = null; // no permission: unaligned
    }
  }
  return addressOf ? addressOf(buffer) : undefined;
}

/** A free list of buffers per rounded size, and which buffers are out. */
export class RecordBufferPool {
  readonly maxFreeBytes: number;
  readonly #free = new Map<number, ArrayBuffer[]>();
  #freeBytes = 0;
  /** Every buffer this pool made and still knows: true while it is out (in use). */
  readonly #out = new WeakMap<ArrayBuffer, boolean>();
  /** Counters, for tests and measurements. */
  readonly stats = { allocated: 0, reused: 0, released: 0 };

  readonly #pageAligned: boolean;
  /**
   * Bytes added to each buffer so that a view can start on a page (0: views
   * start at 0); settled at the first allocation.
   */
  #slackBytes: number | undefined;
  /** Where in each buffer its views start. */
  readonly #starts = new WeakMap<ArrayBuffer, number>();

  /**
   * `pageAligned`: views start on a page boundary where the runtime's
   * buffers do not already (Deno, when FFI is permitted to tell where a
   * buffer lies).
   */
  constructor(maxFreeBytes = DEFAULT_MAX_FREE_BYTES, options: { pageAligned?: boolean } = {}) {
    this.maxFreeBytes = maxFreeBytes;
    this.#pageAligned = options.pageAligned ?? false;
  }

  get #slack(): number {
    this.#slackBytes ??= this.#pageAligned && bufferAddress(new ArrayBuffer(1)) !== undefined
      ? PAGE
      : 0;
    return this.#slackBytes;
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
      buffer = new ArrayBuffer(rounded + this.#slack);
      if (this.#slack > 0) {
        const address = bufferAddress(buffer);
        this.#starts.set(buffer, address === undefined ? 0 : (PAGE - (address % PAGE)) % PAGE);
      }
      this.stats.allocated++;
    }
    this.#out.set(buffer, true);
    return new Uint8Array(buffer, this.#starts.get(buffer) ?? 0, size);
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
    const size = buffer.byteLength - this.#slack;
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
export const recordBuffers: RecordBufferPool = new RecordBufferPool(DEFAULT_MAX_FREE_BYTES, {
  pageAligned: true,
});

/**
 * Hands the buffer of a record back for reuse (see the module's note: only
 * the last holder of the data may). A view that is not of a pooled buffer is
 * ignored, so any chunk may be passed.
 */
export function releaseRecordBuffer(view: Uint8Array): void {
  recordBuffers.release(view);
}
