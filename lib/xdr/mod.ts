/**
 * XDR: External Data Representation (RFC 4506).
 * @module
 */
export { XdrError } from "./error.ts";
export { XDR_VIEW_MIN, xdrPadding, XdrWriter } from "./writer.ts";
export { XDR_DEFAULT_MAX, XdrReader } from "./reader.ts";
export {
  byteLength,
  decodeByteString,
  displayByteString,
  encodeByteString,
  hasEscapedBytes,
} from "./byte_string.ts";
