/**
 * XDR encoder (RFC 4506 §4).
 *
 * Values are appended into one growing buffer; no value allocates on its own.
 * The caller reads the result with {@linkcode XdrWriter.bytes}, a view of the
 * bytes written so far.
 *
 * @example
 * ```ts
 * const w = new XdrWriter();
 * w.writeUint(1).writeString("hello");
 * w.bytes(); // 12 bytes: 0,0,0,1, 0,0,0,5, h,e,l,l,o,0,0,0
 * ```
 * @module
 */

import { XdrError } from "./error.ts";

const textEncoder = new TextEncoder();
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/** Number of zero bytes that pad `length` to a multiple of four (RFC 4506 §3). */
export function xdrPadding(length: number): number {
  return (4 - (length & 3)) & 3;
}

/** Appends XDR-encoded values to a growing buffer. */
export class XdrWriter {
  #buffer: Uint8Array;
  #view: DataView;
  #length = 0;

  constructor(initialCapacity = 512) {
    this.#buffer = new Uint8Array(Math.max(16, initialCapacity));
    this.#view = new DataView(this.#buffer.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  /** A view of the bytes written so far; valid until the next write. */
  bytes(): Uint8Array {
    return this.#buffer.subarray(0, this.#length);
  }

  /** Forgets what was written, keeping the buffer for reuse. */
  reset(): this {
    this.#length = 0;
    return this;
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
      throw new XdrError(`int out of range: ${value}`, this.#length);
    }
    this.#ensure(4);
    this.#view.setInt32(this.#length, value);
    this.#length += 4;
    return this;
  }

  /** Unsigned 32-bit integer (§4.2). */
  writeUint(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
      throw new XdrError(`unsigned int out of range: ${value}`, this.#length);
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
      throw new XdrError(`hyper out of range: ${value}`, this.#length);
    }
    this.#ensure(8);
    this.#view.setBigInt64(this.#length, value);
    this.#length += 8;
    return this;
  }

  /** Unsigned 64-bit hyper integer (§4.5). */
  writeUhyper(value: bigint): this {
    if (value < 0n || value > UINT64_MAX) {
      throw new XdrError(`unsigned hyper out of range: ${value}`, this.#length);
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
        this.#length,
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
        this.#length,
      );
    }
    this.writeUint(data.length);
    return this.writeFixedOpaque(data);
  }

  /** String (§4.11), encoded as UTF-8. */
  writeString(value: string, maxLength: number = UINT32_MAX): this {
    return this.writeOpaque(textEncoder.encode(value), maxLength);
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
        this.#length,
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
        this.#length,
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
    const offset = this.#length;
    this.writeUint(0);
    return offset;
  }

  /** Overwrites a previously reserved unsigned int. */
  patchUint(offset: number, value: number): this {
    if (offset < 0 || offset + 4 > this.#length) {
      throw new XdrError(`patch offset ${offset} outside written data`, offset);
    }
    if (!Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
      throw new XdrError(`unsigned int out of range: ${value}`, offset);
    }
    this.#view.setUint32(offset, value);
    return this;
  }
}
