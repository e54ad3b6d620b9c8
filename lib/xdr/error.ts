/**
 * The one error type the XDR layer raises (RFC 4506).
 *
 * Decoding hostile or truncated input must surface as an `XdrError`, never as a
 * `RangeError` from a typed array or a hang, so that the RPC layer can treat a
 * malformed reply as a protocol failure of that one call.
 *
 * @module
 */

/** Raised when XDR data is malformed, truncated, or exceeds a declared maximum. */
export class XdrError extends Error {
  /** Byte offset in the buffer where the problem was found. */
  readonly offset: number;

  /** `message`, found at byte `offset` (the message says it). */
  constructor(message: string, offset: number, options?: ErrorOptions) {
    super(`${message} (at byte ${offset})`, options);
    this.name = "XdrError";
    this.offset = offset;
  }
}
