/**
 * XDR encoder (RFC 4506 §4).
 *
 * Values are appended into one growing buffer; no value allocates on its own.
 * The caller reads the result with {@linkcode XdrWriter.bytes}, a view of the
 * bytes written so far.
 *
 * Bulk data (a WRITE's payload) can be referenced instead of copied, with
 * {@linkcode XdrWriter.writeOpaqueView}: {@linkcode XdrWriter.chunks} then
 * hands out the encoded bytes as a list of views, the referenced data among
 * them, for a socket to send one after another; `bytes()` still returns one
 * contiguous copy for whoever wants it.
 *
 * @example
 * ```ts
 * const w = new XdrWriter();
 * w.writeUint(1).writeString("hello");
 * w.bytes(); // 12 bytes: 0,0,0,1, 0,0,0,5, h,e,l,l,o,0,0,0
 * ```
 * @module
 */

import { encodeByteString } from "./byte_string.ts";
import { XdrError } from "./error.ts";

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/**
 * Opaque data shorter than this is copied even by
 * {@linkcode XdrWriter.writeOpaqueView}: a separate send costs more than the copy.
 */
export const XDR_VIEW_MIN = 16 * 1024;

/** Strings up to this many UTF-16 units are encoded in place by `writeString`. */
const ENCODE_INTO_MAX = 1024;
const utf8 = new TextEncoder();

/** Data referenced by the writer, inserted at `at` in its own buffer. */
interface ExternalChunk {
  /** Offset in the writer's buffer before which the data goes. */
  readonly at: number;
  /** Offset of the data in the encoded output. */
  readonly start: number;
  readonly data: Uint8Array;
}

/** Number of zero bytes that pad `length` to a multiple of four (RFC 4506 §3). */
export function xdrPadding(length: number): number {
  return (4 - (length & 3)) & 3;
}

/** Appends XDR-encoded values to a growing buffer. */
export class XdrWriter {
  #buffer: Uint8Array;
  #view: DataView;
  /** Bytes used in `#buffer` (the output less the referenced data). */
  #length = 0;
  /** Referenced data, in output order; empty unless writeOpaqueView() referenced some. */
  #external: ExternalChunk[] = [];
  #externalLength = 0;

  constructor(initialCapacity = 512) {
    this.#buffer = new Uint8Array(Math.max(16, initialCapacity));
    this.#view = new DataView(this.#buffer.buffer);
  }

  /** Bytes the buffer holds before it must grow (referenced data aside). */
  get capacity(): number {
    return this.#buffer.length;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length + this.#externalLength;
  }

  /**
   * A view of the bytes written so far; valid until the next write. Data
   * referenced by {@linkcode writeOpaqueView} is copied in first.
   */
  bytes(): Uint8Array {
    if (this.#external.length > 0) this.#inline();
    return this.#buffer.subarray(0, this.#length);
  }

  /**
   * The bytes written so far as views to be sent in order: parts of the
   * writer's buffer and the data referenced by {@linkcode writeOpaqueView},
   * uncopied. Their concatenation is {@linkcode bytes}; none is empty unless
   * nothing was written. Valid until the next write.
   *
   * @example
   * ```ts
   * const w = new XdrWriter();
   * w.writeUint(1).writeOpaqueView(new Uint8Array(65536)).writeUint(2);
   * w.chunks().map((c) => c.length); // [8, 65536, 4]
   * ```
   */
  chunks(): Uint8Array[] {
    const out: Uint8Array[] = [];
    let from = 0;
    for (const { at, data } of this.#external) {
      if (at > from) out.push(this.#buffer.subarray(from, at));
      out.push(data);
      from = at;
    }
    if (this.#length > from || out.length === 0) {
      out.push(this.#buffer.subarray(from, this.#length));
    }
    return out;
  }

  /** Forgets what was written, keeping the buffer for reuse. */
  reset(): this {
    this.#length = 0;
    this.#external = [];
    this.#externalLength = 0;
    return this;
  }

  /** Copies the referenced data into the buffer, in place. */
  #inline(): void {
    const total = this.length;
    const out = new Uint8Array(Math.max(this.#buffer.length, total));
    let from = 0;
    let to = 0;
    for (const { at, data } of this.#external) {
      out.set(this.#buffer.subarray(from, at), to);
      to += at - from;
      out.set(data, to);
      to += data.length;
      from = at;
    }
    out.set(this.#buffer.subarray(from, this.#length), to);
    this.#buffer = out;
    this.#view = new DataView(out.buffer);
    this.#length = total;
    this.#external = [];
    this.#externalLength = 0;
  }

  /** The offset in `#buffer` of output offset `offset`; -1 inside referenced data. */
  #bufferOffset(offset: number): number {
    let shift = 0;
    for (const { start, data } of this.#external) {
      if (offset < start) break;
      if (offset < start + data.length) return -1;
      shift += data.length;
    }
    return offset - shift;
  }

  #ensure(extra: number): void {
    const needed = this.#length + extra;
    if (needed <= this.#buffer.length) return;
    let capacity = this.#buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.#buffer.subarray(0, this.#length));
    this.#buffer = grown;
    this.#view = new DataView(grown.buffer);
  }

  /** Signed 32-bit integer (§4.1). */
  writeInt(value: number): this {
    if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
      throw new XdrError(`int out of range: ${value}`, this.length);
    }
    this.#ensure(4);
    this.#view.setInt32(this.#length, value);
    this.#length += 4;
    return this;
  }

  /** Unsigned 32-bit integer (§4.2). */
  writeUint(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
      throw new XdrError(`unsigned int out of range: ${value}`, this.length);
    }
    this.#ensure(4);
    this.#view.setUint32(this.#length, value);
    this.#length += 4;
    return this;
  }

  /** Enumeration (§4.3): encoded as a signed int. */
  writeEnum(value: number): this {
    return this.writeInt(value);
  }

  /** Boolean (§4.4). */
  writeBool(value: boolean): this {
    return this.writeUint(value ? 1 : 0);
  }

  /** Signed 64-bit hyper integer (§4.5). */
  writeHyper(value: bigint): this {
    if (value < INT64_MIN || value > INT64_MAX) {
      throw new XdrError(`hyper out of range: ${value}`, this.length);
    }
    this.#ensure(8);
    this.#view.setBigInt64(this.#length, value);
    this.#length += 8;
    return this;
  }

  /** Unsigned 64-bit hyper integer (§4.5). */
  writeUhyper(value: bigint): this {
    if (value < 0n || value > UINT64_MAX) {
      throw new XdrError(`unsigned hyper out of range: ${value}`, this.length);
    }
    this.#ensure(8);
    this.#view.setBigUint64(this.#length, value);
    this.#length += 8;
    return this;
  }

  /** Fixed-length opaque data (§4.9): exactly `length` bytes, then padding. */
  writeFixedOpaque(data: Uint8Array, length: number = data.length): this {
    if (data.length !== length) {
      throw new XdrError(
        `fixed opaque must be ${length} bytes, got ${data.length}`,
        this.length,
      );
    }
    const pad = xdrPadding(length);
    this.#ensure(length + pad);
    this.#buffer.set(data, this.#length);
    this.#buffer.fill(0, this.#length + length, this.#length + length + pad);
    this.#length += length + pad;
    return this;
  }

  /** Variable-length opaque data (§4.10): length, bytes, padding. */
  writeOpaque(data: Uint8Array, maxLength: number = UINT32_MAX): this {
    if (data.length > maxLength) {
      throw new XdrError(
        `opaque of ${data.length} bytes exceeds maximum ${maxLength}`,
        this.length,
      );
    }
    this.writeUint(data.length);
    return this.writeFixedOpaque(data);
  }

  /**
   * Variable-length opaque data (§4.10) like {@linkcode writeOpaque}, but
   * data of {@linkcode XDR_VIEW_MIN} bytes or more is referenced rather than
   * copied: {@linkcode chunks} hands out `data` itself. It must then stay
   * unchanged until those chunks have been sent (for a WRITE, until its
   * reply).
   */
  writeOpaqueView(data: Uint8Array, maxLength: number = UINT32_MAX): this {
    if (data.length < XDR_VIEW_MIN) return this.writeOpaque(data, maxLength);
    if (data.length > maxLength) {
      throw new XdrError(
        `opaque of ${data.length} bytes exceeds maximum ${maxLength}`,
        this.length,
      );
    }
    this.writeUint(data.length);
    this.#external.push({ at: this.#length, start: this.length, data });
    this.#externalLength += data.length;
    const pad = xdrPadding(data.length);
    this.#ensure(pad);
    this.#buffer.fill(0, this.#length, this.#length + pad);
    this.#length += pad;
    return this;
  }

  /**
   * String (§4.11), encoded as UTF-8; escaped bytes (see byte_string.ts) are
   * written as the bytes they stand for.
   */
  writeString(value: string, maxLength: number = UINT32_MAX): this {
    // Most strings are empty (a COMPOUND's tag) or short: encoded straight
    // into the buffer rather than into an array of their own first.
    if (value.length === 0) return this.writeUint(0);
    if (value.length <= ENCODE_INTO_MAX && value.isWellFormed()) {
      // UTF-8 takes at most three bytes per UTF-16 unit.
      const room = value.length * 3;
      this.#ensure(4 + room + 3);
      const start = this.#length + 4;
      const { written } = utf8.encodeInto(value, this.#buffer.subarray(start, start + room));
      if (written > maxLength) {
        throw new XdrError(
          `opaque of ${written} bytes exceeds maximum ${maxLength}`,
          this.length,
        );
      }
      this.#view.setUint32(this.#length, written);
      const pad = xdrPadding(written);
      this.#buffer.fill(0, start + written, start + written + pad);
      this.#length = start + written + pad;
      return this;
    }
    return this.writeOpaque(encodeByteString(value), maxLength);
  }

  /** Variable-length array (§4.13): count, then each element. */
  writeArray<T>(
    items: readonly T[],
    writeItem: (writer: this, item: T) => void,
    maxCount: number = UINT32_MAX,
  ): this {
    if (items.length > maxCount) {
      throw new XdrError(
        `array of ${items.length} elements exceeds maximum ${maxCount}`,
        this.length,
      );
    }
    this.writeUint(items.length);
    for (const item of items) writeItem(this, item);
    return this;
  }

  /** Fixed-length array (§4.12): each element, no count. */
  writeFixedArray<T>(
    items: readonly T[],
    length: number,
    writeItem: (writer: this, item: T) => void,
  ): this {
    if (items.length !== length) {
      throw new XdrError(
        `fixed array must have ${length} elements, got ${items.length}`,
        this.length,
      );
    }
    for (const item of items) writeItem(this, item);
    return this;
  }

  /** Optional data (§4.19): a boolean, then the value when present. */
  writeOptional<T>(
    value: T | undefined,
    writeItem: (writer: this, item: T) => void,
  ): this {
    if (value === undefined) return this.writeBool(false);
    this.writeBool(true);
    writeItem(this, value);
    return this;
  }

  /**
   * Discriminated union (§4.15): the discriminant, then the arm chosen by it.
   * An arm of `undefined` is a void arm.
   */
  writeUnion(
    discriminant: number,
    writeArm?: (writer: this) => void,
  ): this {
    this.writeInt(discriminant);
    writeArm?.(this);
    return this;
  }

  /**
   * Reserves four bytes for an unsigned int that is only known later (an
   * operation count, a record-mark header) and returns their offset.
   */
  reserveUint(): number {
    const offset = this.length;
    this.writeUint(0);
    return offset;
  }

  /** Overwrites a previously reserved unsigned int. */
  patchUint(offset: number, value: number): this {
    const at = this.#bufferOffset(offset);
    if (
      offset < 0 || at < 0 || at + 4 > this.#length || this.#bufferOffset(offset + 3) !== at + 3
    ) {
      throw new XdrError(`patch offset ${offset} outside written data`, offset);
    }
    if (!Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
      throw new XdrError(`unsigned int out of range: ${value}`, offset);
    }
    this.#view.setUint32(at, value);
    return this;
  }
}
