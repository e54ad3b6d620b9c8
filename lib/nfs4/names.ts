/**
 * Names as byte strings (`component4`, `linktext4` and `utf8str_*` are XDR
 * opaques on the wire: RFC 7530 §3.2, §12; RFC 8881 §3.2, §14). The codec
 * lives in lib/xdr/byte_string.ts; this is the protocol layer's name for it,
 * for the layers above that must name files by their exact bytes.
 * @module
 */
export {
  byteLength,
  decodeByteString,
  displayByteString,
  encodeByteString,
  hasEscapedBytes,
} from "../xdr/byte_string.ts";
