/**
 * RPC authentication (RFC 5531 §8.2 `opaque_auth`, §9 `auth_stat`, §10.1 AUTH_NONE and
 * appendix A for AUTH_SYS).
 *
 * A credential or verifier is an {@linkcode OpaqueAuth}: a flavor number and
 * up to 400 opaque bytes whose meaning the flavor defines. AUTH_NONE has an
 * empty body; AUTH_SYS carries the caller's uid, gid and groups in the clear
 * (`authsys_parms`, appendix A).
 *
 * @example
 * ```ts
 * const credential = authSys({ machineName: "client", uid: 1000, gid: 1000, gids: [1000, 27] });
 * await transport.call({ program: 100003, version: 4, procedure: 0, credential });
 * ```
 * @module
 */

import { XdrReader, XdrWriter } from "../xdr/mod.ts";

/** Flavor AUTH_NONE (§10.1): no credential. */
export const AUTH_NONE = 0;
/** Flavor AUTH_SYS (appendix A), formerly AUTH_UNIX: uid, gid and groups. */
export const AUTH_SYS = 1;
/** Flavor AUTH_SHORT (appendix A): a server-issued shorthand for AUTH_SYS. */
export const AUTH_SHORT = 2;
/** Flavor AUTH_DH (§8.2): Diffie-Hellman authentication. */
export const AUTH_DH = 3;
/** Flavor RPCSEC_GSS (§8.2, RFC 2203). */
export const RPCSEC_GSS = 6;

/** The most bytes an `opaque_auth` body may hold (§8.2). */
export const MAX_AUTH_BYTES = 400;
/** The longest AUTH_SYS machine name in bytes (appendix A). */
export const AUTH_SYS_MAX_MACHINE_NAME = 255;
/** The most supplementary groups AUTH_SYS carries (appendix A). */
export const AUTH_SYS_MAX_GIDS = 16;

/** A credential or verifier (§8.2 `opaque_auth`). */
export interface OpaqueAuth {
  flavor: number;
  body: Uint8Array;
}

/** `auth_stat` values (§9; 13 and 14 from RFC 2203 §5.3.3.3). */
export const AUTH_OK = 0;
export const AUTH_BADCRED = 1;
export const AUTH_REJECTEDCRED = 2;
export const AUTH_BADVERF = 3;
export const AUTH_REJECTEDVERF = 4;
export const AUTH_TOOWEAK = 5;
export const AUTH_INVALIDRESP = 6;
export const AUTH_FAILED = 7;
export const RPCSEC_GSS_CREDPROBLEM = 13;
export const RPCSEC_GSS_CTXPROBLEM = 14;

const AUTH_STAT_NAMES: Readonly<Record<number, string>> = {
  0: "AUTH_OK",
  1: "AUTH_BADCRED",
  2: "AUTH_REJECTEDCRED",
  3: "AUTH_BADVERF",
  4: "AUTH_REJECTEDVERF",
  5: "AUTH_TOOWEAK",
  6: "AUTH_INVALIDRESP",
  7: "AUTH_FAILED",
  8: "AUTH_KERB_GENERIC",
  9: "AUTH_TIMEEXPIRE",
  10: "AUTH_TKT_FILE",
  11: "AUTH_DECODE",
  12: "AUTH_NET_ADDR",
  13: "RPCSEC_GSS_CREDPROBLEM",
  14: "RPCSEC_GSS_CTXPROBLEM",
};

/**
 * The name of an `auth_stat` value, such as `AUTH_TOOWEAK`, or
 * `auth_stat <n>` for a value this module does not know.
 */
export function authStatName(stat: number): string {
  return AUTH_STAT_NAMES[stat] ?? `auth_stat ${stat}`;
}

const EMPTY = new Uint8Array(0);

/** The AUTH_NONE credential or verifier: flavor 0, empty body. */
export function authNone(): OpaqueAuth {
  return { flavor: AUTH_NONE, body: EMPTY };
}

/** The fields of an AUTH_SYS credential (appendix A `authsys_parms`). */
export interface AuthSysParams {
  /** Arbitrary id the caller chooses; defaults to the current time in seconds. */
  stamp?: number;
  /** The caller's host name, at most 255 bytes of UTF-8. */
  machineName: string;
  uid: number;
  gid: number;
  /** Supplementary groups, at most 16; defaults to none. */
  gids?: readonly number[];
}

function checkId(what: string, id: number): void {
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) {
    throw new RangeError(`AUTH_SYS ${what} must be an unsigned 32-bit integer, got ${id}`);
  }
}

/** Appends `authsys_parms` (appendix A). */
export function writeAuthSysParams(w: XdrWriter, params: AuthSysParams): void {
  const gids = params.gids ?? [];
  const nameBytes = new TextEncoder().encode(params.machineName).length;
  if (nameBytes > AUTH_SYS_MAX_MACHINE_NAME) {
    throw new RangeError(
      `AUTH_SYS machine name is ${nameBytes} bytes, more than ${AUTH_SYS_MAX_MACHINE_NAME}`,
    );
  }
  if (gids.length > AUTH_SYS_MAX_GIDS) {
    throw new RangeError(
      `AUTH_SYS carries at most ${AUTH_SYS_MAX_GIDS} groups, got ${gids.length}`,
    );
  }
  checkId("uid", params.uid);
  checkId("gid", params.gid);
  for (const g of gids) checkId("group", g);
  const stamp = params.stamp ?? Math.floor(Date.now() / 1000) >>> 0;
  w.writeUint(stamp)
    .writeString(params.machineName, AUTH_SYS_MAX_MACHINE_NAME)
    .writeUint(params.uid)
    .writeUint(params.gid)
    .writeArray(gids, (w, g) => w.writeUint(g), AUTH_SYS_MAX_GIDS);
}

/** Reads `authsys_parms` (appendix A); raises `XdrError` if malformed. */
export function readAuthSysParams(r: XdrReader): Required<AuthSysParams> {
  const stamp = r.readUint();
  const machineName = r.readString(AUTH_SYS_MAX_MACHINE_NAME);
  const uid = r.readUint();
  const gid = r.readUint();
  const gids = r.readArray((r) => r.readUint(), AUTH_SYS_MAX_GIDS);
  return { stamp, machineName, uid, gid, gids };
}

/**
 * An AUTH_SYS credential (appendix A). Raises `RangeError` for a machine name
 * over 255 bytes, more than 16 groups, or ids that are not unsigned 32-bit.
 *
 * @example
 * ```ts
 * const cred = authSys({ stamp: 1, machineName: "h", uid: 0, gid: 0, gids: [] });
 * cred.flavor; // AUTH_SYS
 * ```
 */
export function authSys(params: AuthSysParams): OpaqueAuth {
  const w = new XdrWriter(64);
  writeAuthSysParams(w, params);
  return { flavor: AUTH_SYS, body: w.bytes().slice() };
}

/** Decodes the body of an AUTH_SYS credential; raises `XdrError` if malformed. */
export function decodeAuthSys(auth: OpaqueAuth): Required<AuthSysParams> {
  if (auth.flavor !== AUTH_SYS) {
    throw new TypeError(`credential flavor is ${auth.flavor}, not AUTH_SYS`);
  }
  const r = new XdrReader(auth.body);
  const params = readAuthSysParams(r);
  r.assertEnd();
  return params;
}

/** Appends an `opaque_auth` (§8.2). */
export function writeOpaqueAuth(w: XdrWriter, auth: OpaqueAuth): void {
  w.writeEnum(auth.flavor).writeOpaque(auth.body, MAX_AUTH_BYTES);
}

/** Reads an `opaque_auth` (§8.2); the body is a view into the input. */
export function readOpaqueAuth(r: XdrReader): OpaqueAuth {
  const flavor = r.readEnum();
  const body = r.readOpaque(MAX_AUTH_BYTES);
  return { flavor, body };
}
