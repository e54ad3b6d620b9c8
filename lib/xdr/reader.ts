/**
 * Strict XDR decoder (RFC 4506 §4).
 *
 * Every length is checked against the bytes that remain and against the
 * caller's declared maximum before anything is allocated; padding must be
 * zero. Opaque data is returned as a view into the input, never a copy, so a
 * READ reply's payload reaches its destination without being copied here.
 * Anything wrong raises {@linkcode XdrError}.
 *
 * @example
 * ```ts
 * const r = new XdrReader(bytes);
 * const status = r.readUint();
 * const name = r.readString(255);
 * r.assertEnd();
 * ```
 * @module
 */

import { decodeByteString } from "./byte_string.ts";
import { XdrError } from "./error.ts";
import { xdrPadding } from "./writer.ts";

/**
 * The largest count or length accepted when a caller names no maximum. The
 * remaining-bytes check still applies; this only bounds what a single field
 * may claim.
 */
export const XDR_DEFAULT_MAX = 0x7fffffff;

/** Reads XDR values from a byte buffer, front to back. */
export class XdrReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #offset = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Current position in bytes. */
  get offset(): number {
    return this.#offset;
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  #need(count: number, what: string): void {
    if (count > this.#bytes.length - this.#offset) {
      throw new XdrError(
        `truncated ${what}: need ${count} bytes, ${this.remaining} remain`,
        this.#offset,
      );
    }
  }

  /** Signed 32-bit integer (§4.1). */
  readInt(): number {
    this.#need(4, "int");
    const value = this.#view.getInt32(this.#offset);
    this.#offset += 4;
    return value;
  }

  /** Unsigned 32-bit integer (§4.2). */
  readUint(): number {
    this.#need(4, "unsigned int");
    const value = this.#view.getUint32(this.#offset);
    this.#offset += 4;
    return value;
  }

  /**
   * Enumeration (§4.3). With `allowed`, a value outside it is an error: a
   * decoder that must switch on the value can rely on it being known.
   */
  readEnum(allowed?: ReadonlySet<number>, what = "enum"): number {
    const at = this.#offset;
    const value = this.readInt();
    if (allowed && !allowed.has(value)) {
      throw new XdrError(`unknown ${what} value ${value}`, at);
    }
    return value;
  }

  /** Boolean (§4.4): only 0 and 1 are valid. */
  readBool(): boolean {
    const at = this.#offset;
    const value = this.readUint();
    if (value > 1) throw new XdrError(`invalid bool ${value}`, at);
    return value === 1;
  }

  /** Signed 64-bit hyper integer (§4.5). */
  readHyper(): bigint {
    this.#need(8, "hyper");
    const value = this.#view.getBigInt64(this.#offset);
    this.#offset += 8;
    return value;
  }

  /** Unsigned 64-bit hyper integer (§4.5). */
  readUhyper(): bigint {
    this.#need(8, "unsigned hyper");
    const value = this.#view.getBigUint64(this.#offset);
    this.#offset += 8;
    return value;
  }

  #skipPadding(length: number): void {
    const pad = xdrPadding(length);
    this.#need(pad, "padding");
    for (let i = 0; i < pad; i++) {
      if (this.#bytes[this.#offset + i] !== 0) {
        throw new XdrError("non-zero padding", this.#offset + i);
      }
    }
    this.#offset += pad;
  }

  #checkCount(count: number, what: string): void {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new XdrError(`invalid ${what} length ${count}`, this.#offset);
    }
  }

  /** Fixed-length opaque data (§4.9), as a view into the input. */
  readFixedOpaque(length: number): Uint8Array {
    this.#checkCount(length, "fixed opaque");
    this.#need(length + xdrPadding(length), "fixed opaque");
    const data = this.#bytes.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    this.#skipPadding(length);
    return data;
  }

  /** Variable-length opaque data (§4.10), as a view into the input. */
  readOpaque(maxLength: number = XDR_DEFAULT_MAX): Uint8Array {
    const at = this.#offset;
    const length = this.readUint();
    if (length > maxLength) {
      throw new XdrError(
        `opaque length ${length} exceeds maximum ${maxLength}`,
        at,
      );
    }
    return this.readFixedOpaque(length);
  }

  /**
   * String (§4.11), decoded as UTF-8 without loss: bytes that are not UTF-8
   * become escapes (see byte_string.ts), so a server's odd file name neither
   * stops a listing nor loses the bytes needed to name the file again. A
   * leading U+FEFF is kept: it is part of the value, not a byte-order mark.
   */
  readString(maxLength: number = XDR_DEFAULT_MAX): string {
    return decodeByteString(this.readOpaque(maxLength));
  }

  /**
   * Variable-length array (§4.13). The count is checked against `maxCount`
   * and against what remains, assuming each element takes at least
   * `minItemBytes` (4 for any XDR item), before any element is read.
   */
  readArray<T>(
    readItem: (reader: this) => T,
    maxCount: number = XDR_DEFAULT_MAX,
    minItemBytes = 4,
  ): T[] {
    const at = this.#offset;
    const count = this.readUint();
    if (count > maxCount) {
      throw new XdrError(`array count ${count} exceeds maximum ${maxCount}`, at);
    }
    if (count * minItemBytes > this.remaining) {
      throw new XdrError(
        `array count ${count} cannot fit in ${this.remaining} remaining bytes`,
        at,
      );
    }
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(readItem(this));
    return items;
  }

  /** Fixed-length array (§4.12). */
  readFixedArray<T>(length: number, readItem: (reader: this) => T): T[] {
    const items: T[] = [];
    for (let i = 0; i < length; i++) items.push(readItem(this));
    return items;
  }

  /** Optional data (§4.19): `undefined` when absent. */
  readOptional<T>(readItem: (reader: this) => T): T | undefined {
    return this.readBool() ? readItem(this) : undefined;
  }

  /**
   * Discriminated union (§4.15). `arms` maps each discriminant to its
   * decoder; a discriminant with no arm and no `defaultArm` is an error.
   */
  readUnion<T>(
    arms: Readonly<Record<number, (reader: this, discriminant: number) => T>>,
    defaultArm?: (reader: this, discriminant: number) => T,
  ): T {
    const at = this.#offset;
    const discriminant = this.readInt();
    const arm = arms[discriminant] ?? defaultArm;
    if (!arm) {
      throw new XdrError(`no union arm for discriminant ${discriminant}`, at);
    }
    return arm(this, discriminant);
  }

  /** Skips `count` bytes (already padded by the caller). */
  skip(count: number): void {
    this.#checkCount(count, "skipped data");
    this.#need(count, "skipped data");
    this.#offset += count;
  }

  /** Everything not yet read, as a view. */
  rest(): Uint8Array {
    const data = this.#bytes.subarray(this.#offset);
    this.#offset = this.#bytes.length;
    return data;
  }

  /** Raises unless the whole input was consumed (a top-level decode). */
  assertEnd(): void {
    if (this.remaining !== 0) {
      throw new XdrError(`${this.remaining} unexpected trailing bytes`, this.#offset);
    }
  }

  /**
   * The whole input ({@linkcode offset} counts in it). For a decoder
   * specialised to one structure met thousands of times in a reply (the
   * fattr4 of each READDIR entry) that reads its fields in place rather than
   * one call and one view each: it starts at `offset`, checks every length
   * against the input's end itself, and moves on with {@linkcode skip}.
   */
  get input(): Uint8Array {
    return this.#bytes;
  }

  /** A DataView of the whole {@linkcode input}, for the same decoders. */
  get inputView(): DataView {
    return this.#view;
  }
}
