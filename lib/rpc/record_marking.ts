/**
 * Record marking for RPC over TCP (RFC 5531 §11).
 *
 * A stream carries records; each record is one or more fragments, and each
 * fragment starts with a four-byte big-endian header: the high bit marks the
 * record's last fragment, the low 31 bits give the fragment's length.
 *
 * {@linkcode RecordDecoder} takes the stream in whatever chunks TCP delivers
 * (a header may be split across chunks) and returns whole records. It checks
 * each fragment header against the maximum record size before buffering
 * anything. Chunks the caller hands over for good (`push`, `pushEach`) are
 * held as views and joined once, when the record is complete; chunks of a
 * read buffer that is reused (`pushTransient`) are copied straight into a
 * buffer of the fragment's exact size, allocated once. Either way a 1 MiB READ
 * reply that arrives in a hundred chunks is copied once, not a hundred times.
 *
 * @example
 * ```ts
 * const decoder = new RecordDecoder({ maxRecordSize: 1 << 20 });
 * socket.on("data", (chunk) => {
 *   for (const record of decoder.push(chunk)) handle(record);
 * });
 * // or, reading into one reused buffer:
 * net.connect({ port, onread: { buffer, callback: (n, buf) => {
 *   decoder.pushTransient(buf.subarray(0, n), handle);
 * } } });
 * socket.write(concat(encodeRecord(message)));
 * ```
 * @module
 */

import { Buffer } from "node:buffer";
import { RpcRecordTooFragmentedError, RpcRecordTooLargeError } from "./errors.ts";

/** The header bit that marks a record's last fragment. */
export const LAST_FRAGMENT = 0x80000000;
/** The largest fragment a header can describe (31 bits). */
export const MAX_FRAGMENT_LENGTH = 0x7fffffff;
/** The default largest record {@linkcode RecordDecoder} accepts: 4 MiB + 64 KiB. */
export const DEFAULT_MAX_RECORD_SIZE = 4 * 1024 * 1024 + 64 * 1024;

/**
 * The most fragments one record may come in. RFC 5531 §11 sets no limit,
 * but each fragment is a piece the decoder keeps until the record ends (a
 * view or a buffer of its own, ~100 bytes of bookkeeping whatever its size):
 * without a limit a peer sending 5-byte fragments made the client hold 28
 * times the bytes it sent (4 million one-byte fragments, 19 MiB on the
 * wire: 540 MB). Real senders use one fragment per record, or fragments of
 * many kilobytes: 8,192 lets the largest record taken by default (4 MiB
 * and 64 KiB) come in fragments of 1 KiB, and keeps ~1 MB of bookkeeping.
 */
export const MAX_FRAGMENTS_PER_RECORD = 8192;

/**
 * Splits `payload` into fragments of at most `maxFragment` bytes, each with
 * its header; the last one has the {@linkcode LAST_FRAGMENT} bit. An empty
 * payload is one empty last fragment. Writing the returned arrays in order
 * sends the record.
 *
 * @example
 * ```ts
 * encodeRecord(new Uint8Array([1, 2, 3]));
 * // [Uint8Array [0x80, 0, 0, 3, 1, 2, 3]]
 * ```
 */
export function encodeRecord(
  payload: Uint8Array,
  maxFragment: number = MAX_FRAGMENT_LENGTH,
): Uint8Array[] {
  if (!Number.isInteger(maxFragment) || maxFragment < 1 || maxFragment > MAX_FRAGMENT_LENGTH) {
    throw new RangeError(
      `maximum fragment length must be an integer from 1 to ${MAX_FRAGMENT_LENGTH}, got ${maxFragment}`,
    );
  }
  const fragments: Uint8Array[] = [];
  let offset = 0;
  do {
    const length = Math.min(maxFragment, payload.length - offset);
    const last = offset + length === payload.length;
    const fragment = new Uint8Array(4 + length);
    new DataView(fragment.buffer).setUint32(0, (last ? LAST_FRAGMENT : 0) + length);
    fragment.set(payload.subarray(offset, offset + length), 4);
    fragments.push(fragment);
    offset += length;
  } while (offset < payload.length);
  return fragments;
}

/** Options of {@linkcode RecordDecoder}. */
export interface RecordDecoderOptions {
  /**
   * The largest record accepted, as the sum of its fragments' lengths;
   * defaults to {@linkcode DEFAULT_MAX_RECORD_SIZE}.
   */
  maxRecordSize?: number;
  /**
   * Where `pushTransient` puts a fragment of `size` bytes (default: a new
   * buffer of its own). Whatever it returns must hold exactly `size` bytes
   * and not be used elsewhere until the record is done with.
   */
  allocate?: (size: number) => Uint8Array;
}

/**
 * Reassembles records from a byte stream delivered in arbitrary chunks.
 *
 * Records returned by `push` and `pushEach` may be views of the pushed
 * chunks (a record that arrived inside one chunk is not copied), so the caller
 * must not modify a chunk after pushing it; `pushTransient` copies what it
 * keeps, and every record it hands out has a buffer of its own. After
 * {@linkcode RpcRecordTooLargeError} the stream is out of step and every later
 * push raises it again.
 */
export class RecordDecoder {
  readonly maxRecordSize: number;
  /** Header bytes gathered so far (0 to 3 outside `push`). */
  readonly #header = new Uint8Array(4);
  #headerFilled = 0;
  /** Bytes of the current fragment not yet received; -1 while reading a header. */
  #fragmentRemaining = -1;
  #lastFragment = false;
  /** The current record's data so far (views or copies), joined when it completes. */
  #pieces: Uint8Array[] = [];
  /**
   * The last of `#pieces` while it is being filled: a copy sized for the rest
   * of the current fragment, `#fillAt` bytes of it received so far.
   */
  #fill: Uint8Array | undefined;
  #fillAt = 0;
  /** Length of the current record so far, counting fragments announced. */
  #recordLength = 0;
  /** Fragments of the current record so far, the one being read included. */
  #fragments = 0;
  #failure: RpcRecordTooLargeError | undefined;
  readonly #allocate: ((size: number) => Uint8Array) | undefined;

  constructor(options: RecordDecoderOptions = {}) {
    const max = options.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new RangeError(`maximum record size must be a non-negative integer, got ${max}`);
    }
    this.maxRecordSize = max;
    this.#allocate = options.allocate;
  }

  /** Bytes of an incomplete record held, excluding fragment headers. */
  get buffered(): number {
    let total = 0;
    for (const piece of this.#pieces) total += piece.length;
    if (this.#fill) total -= this.#fill.length - this.#fillAt;
    return total;
  }

  /** Whether the decoder stands between records (nothing partial held). */
  get idle(): boolean {
    return this.#headerFilled === 0 && this.#fragmentRemaining === -1 &&
      this.#recordLength === 0 && this.#pieces.length === 0;
  }

  /**
   * Feeds the next chunk of the stream; returns the records it completed, in
   * order. Raises {@linkcode RpcRecordTooLargeError} as soon as a fragment
   * header would take the record past the maximum; records completed earlier
   * in the same chunk are then lost, which {@linkcode pushEach} avoids.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const records: Uint8Array[] = [];
    this.pushEach(chunk, (record) => records.push(record));
    return records;
  }

  /**
   * Feeds the next chunk of the stream, handing each record to `onRecord` as
   * soon as it is complete, before the rest of the chunk is looked at. Raises
   * {@linkcode RpcRecordTooLargeError} like {@linkcode push}, after the
   * records that preceded the oversized one were handed over.
   */
  pushEach(chunk: Uint8Array, onRecord: (record: Uint8Array) => void): void {
    this.#push(chunk, onRecord, false);
  }

  /**
   * Feeds the next chunk of the stream like {@linkcode pushEach}, for a chunk
   * that is valid only during the call (a read buffer the socket reuses):
   * what is kept of it is copied. A record is copied once, into a buffer of
   * its own allocated at its exact size once its header has passed the
   * maximum-size check (a record of several fragments is joined at the end),
   * so the records handed to `onRecord`, and views of them, stay valid for as
   * long as the caller keeps them.
   */
  pushTransient(chunk: Uint8Array, onRecord: (record: Uint8Array) => void): void {
    this.#push(chunk, onRecord, true);
  }

  /**
   * Where the stream's next bytes can be read so that they land in place, for
   * a socket that reads into a buffer the caller names each time (`onread`
   * with a buffer function): a view of the rest of the current fragment in
   * the buffer `pushTransient` allocated for it, when at least `minLength`
   * bytes of it remain. Otherwise `undefined`: read into a buffer of your own
   * and hand it to `pushTransient`. Report what was read into the view with
   * {@linkcode pushInPlace}.
   */
  readTarget(minLength = 1): Uint8Array | undefined {
    const fill = this.#fill;
    if (!fill || this.#failure || fill.length - this.#fillAt < Math.max(1, minLength)) {
      return undefined;
    }
    return fill.subarray(this.#fillAt);
  }

  /**
   * Accounts for `count` bytes read into the view {@linkcode readTarget}
   * returned (and nothing else written since), handing the record to
   * `onRecord` if they complete it.
   */
  pushInPlace(count: number, onRecord: (record: Uint8Array) => void): void {
    if (this.#failure) throw this.#failure;
    const fill = this.#fill;
    if (!fill || !Number.isInteger(count) || count < 0 || count > fill.length - this.#fillAt) {
      throw new RangeError(`${count} bytes read in place do not fit the current fragment`);
    }
    this.#fillAt += count;
    this.#fragmentRemaining -= count;
    this.#endFragment(onRecord);
  }

  #push(chunk: Uint8Array, onRecord: (record: Uint8Array) => void, transient: boolean): void {
    if (this.#failure) throw this.#failure;
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#fragmentRemaining < 0) {
        if (this.#headerFilled === 0 && chunk.length - offset >= 4) {
          // The whole header in this chunk (the usual case).
          this.#startFragment(
            ((chunk[offset]! << 24) | (chunk[offset + 1]! << 16) | (chunk[offset + 2]! << 8) |
              chunk[offset + 3]!) >>> 0,
          );
          offset += 4;
        } else {
          while (this.#headerFilled < 4 && offset < chunk.length) {
            this.#header[this.#headerFilled++] = chunk[offset++]!;
          }
          if (this.#headerFilled < 4) break;
          this.#headerFilled = 0;
          const h = this.#header;
          this.#startFragment(((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0);
        }
        if (transient && this.#fragmentRemaining > 0) this.#openFill();
      }
      const take = Math.min(this.#fragmentRemaining, chunk.length - offset);
      if (take > 0) {
        const data = chunk.subarray(offset, offset + take);
        if (transient && !this.#fill) this.#openFill();
        if (this.#fill) {
          this.#fill.set(data, this.#fillAt);
          this.#fillAt += take;
        } else {
          this.#pieces.push(data);
        }
        this.#fragmentRemaining -= take;
        offset += take;
      }
      this.#endFragment(onRecord);
    }
  }

  /** Allocates the rest of the current fragment, once, at its exact size. */
  #openFill(): void {
    if (this.#allocate) {
      this.#fill = this.#allocate(this.#fragmentRemaining);
    } else {
      // Not zeroed: every byte is written before the record is handed out.
      const unzeroed = Buffer.allocUnsafeSlow(this.#fragmentRemaining);
      this.#fill = new Uint8Array(unzeroed.buffer, unzeroed.byteOffset, unzeroed.length);
    }
    this.#fillAt = 0;
    this.#pieces.push(this.#fill);
  }

  /** Closes the current fragment, and the record with it, once all of it is there. */
  #endFragment(onRecord: (record: Uint8Array) => void): void {
    if (this.#fragmentRemaining !== 0) return;
    this.#fragmentRemaining = -1;
    this.#fill = undefined;
    if (this.#lastFragment) onRecord(this.#takeRecord());
  }

  /** Starts the fragment whose four-byte header is `header`. */
  #startFragment(header: number): void {
    const length = header & MAX_FRAGMENT_LENGTH;
    const total = this.#recordLength + length;
    const fragments = this.#fragments + 1;
    if (total > this.maxRecordSize || fragments > MAX_FRAGMENTS_PER_RECORD) {
      this.#pieces = [];
      this.#fill = undefined;
      this.#failure = total > this.maxRecordSize
        ? new RpcRecordTooLargeError(total, this.maxRecordSize)
        : new RpcRecordTooFragmentedError(total, this.maxRecordSize, MAX_FRAGMENTS_PER_RECORD);
      throw this.#failure;
    }
    this.#recordLength = total;
    this.#fragments = fragments;
    this.#lastFragment = header >= LAST_FRAGMENT;
    this.#fragmentRemaining = length;
  }

  #takeRecord(): Uint8Array {
    const record = join(this.#pieces, this.#recordLength);
    this.#pieces.length = 0;
    this.#recordLength = 0;
    this.#fragments = 0;
    return record;
  }
}

function join(pieces: readonly Uint8Array[], length: number): Uint8Array {
  if (pieces.length === 1 && pieces[0]) return pieces[0];
  const record = new Uint8Array(length);
  let offset = 0;
  for (const piece of pieces) {
    record.set(piece, offset);
    offset += piece.length;
  }
  return record;
}
