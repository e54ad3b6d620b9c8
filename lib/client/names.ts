/**
 * Names as byte strings, for the commands: every name the client hands out
 * (READDIR entries, symlink targets, owners) is a `string` that stands for
 * exact bytes, with bytes that are not UTF-8 kept as escapes (the PEP 383
 * mapping of lib/xdr/byte_string.ts). Print a name with
 * {@linkcode encodeByteString} to write its bytes, or show it with
 * {@linkcode displayByteString} where only text will do.
 *
 * @example
 * ```ts
 * encodeByteString("lat\udce9in1"); // Uint8Array [0x6c, 0x61, 0x74, 0xe9, 0x69, 0x6e, 0x31]
 * ```
 * @module
 */
export {
  decodeByteString,
  displayByteString,
  encodeByteString,
  hasEscapedBytes,
} from "../nfs4/names.ts";
