/**
 * The attributes no GETATTR carries a value of, which a client asking for
 * "every attribute the server supports" (`nfs4 stat`, `nfs4 info`) leaves
 * out, and which are never reported as unknown:
 *
 * - `rdattr_error` (11): READDIR's, per entry (RFC 7530 §5.8.1.12);
 * - `time_access_set` (48), `time_modify_set` (54): write-only (RFC 7530
 *   §5.7, RFC 8881 §5.7);
 * - `mode_set_masked` (74): write-only (RFC 8881 §5.7, §6.2.4);
 * - `mode_umask` (81): only in CREATE's and OPEN's createattrs (RFC 8275
 *   §3). knfsd lists it in supported_attrs on NFSv4.2, and a GETATTR of it
 *   sets its bit in the reply with no value, which no client can decode.
 *
 * @example
 * ```ts
 * import { Attr } from "../nfs4/attrs.ts";
 * UNREADABLE_ATTRS.has(Attr.MODE_UMASK); // true
 * ```
 * @module
 */

import { Attr } from "../nfs4/attrs.ts";

/** Attribute ids that have no value to read with GETATTR (see the module documentation). */
export const UNREADABLE_ATTRS: ReadonlySet<number> = new Set([
  Attr.RDATTR_ERROR,
  Attr.TIME_ACCESS_SET,
  Attr.TIME_MODIFY_SET,
  Attr.MODE_SET_MASKED,
  Attr.MODE_UMASK,
]);
