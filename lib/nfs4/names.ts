/**
 * Names as byte strings (`component4`, `linktext4` and `utf8str_*` are XDR
 * opaques on the wire: RFC 7530 §3.2, §12; RFC 8881 §3.2, §14). The codec
 * lives in lib/xdr/byte_string.ts; this is the protocol layer's name for it,
 * for the layers above that must name files by their exact bytes.
 * @module
 */

import type { XdrWriter } from "../xdr/writer.ts";
import { encodeByteString } from "../xdr/byte_string.ts";
import { Limits } from "./constants.ts";
import { NfsError } from "./errors.ts";
import { Nfs4Status } from "./status.ts";

export {
  byteLength,
  decodeByteString,
  displayByteString,
  encodeByteString,
  hasEscapedBytes,
} from "../xdr/byte_string.ts";

/**
 * Appends a `component4`, a file name, as an argument of `op` (LOOKUP, OPEN,
 * CREATE, RENAME …). A name longer than this client ever sends
 * ({@linkcode Limits.name} bytes) fails as a server refuses one:
 * NFS4ERR_NAMETOOLONG, "File name too long" (RFC 7530 §13.1.2.8), not as an
 * XDR length error; nothing is sent.
 *
 * @example
 * ```ts
 * writeComponent(w, "a".repeat(5000), "LOOKUP"); // throws NfsError NFS4ERR_NAMETOOLONG
 * ```
 */
export function writeComponent(w: XdrWriter, name: string, op: string): void {
  const bytes = encodeByteString(name);
  if (bytes.length > Limits.name) throw new NfsError(Nfs4Status.NFS4ERR_NAMETOOLONG, op);
  w.writeOpaque(bytes, Limits.name);
}
