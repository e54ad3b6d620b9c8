/**
 * NFS URLs in the style of RFC 2224 §2: `nfs://HOST[:PORT]/PATH`.
 *
 * - `HOST` is a DNS name, an IPv4 address or an IPv6 literal in brackets
 *   (`nfs://[::1]:2050/vfs`, zone ids as `%25`: `nfs://[fe80::1%25eth0]/`).
 * - `PORT` defaults to 2049.
 * - `PATH` is absolute from the server's pseudo-fs root (NFSv4 has no public
 *   file handle to be relative to). Each `/`-separated component is
 *   percent-decoded on its own, so `%2F` stays part of a name (RFC 3986
 *   §2.2: an escaped delimiter is data), sent as one component; empty
 *   components (`a//b`, a trailing `/`) are ignored and `.`/`..` are resolved
 *   lexically, as for any hierarchical URL (RFC 3986 §5.2.4): `..` drops the
 *   component before it whatever that is on the server, so
 *   `nfs://h/a/sl/x/..` is `/a/sl` even when `sl` is a symlink (a local
 *   `a/sl/x/..` would go through it). What the user typed stays in
 *   {@linkcode NfsUrl.text}: commands that must refuse a last component `.`
 *   or `..` (rm, rmdir, mv) look there ({@linkcode urlDotEnding}), never at
 *   the resolved path.
 * - User info, query strings and fragments are rejected: nfs URLs have none,
 *   and silently ignoring them would act on a different file than the one
 *   named. A `?` or `#` in a name is written `%3F` or `%23`.
 *
 * Every rejection is a {@linkcode UsageError} whose message starts with the
 * URL as the user typed it.
 * @module
 */

import { builtin, isIPv4Text } from "../os/builtins.ts";
import { decodeByteString, encodeByteString, nameOfComponent, pathOfNames } from "./names.ts";

/** The NFS port (RFC 7530 §3.1). */
export const DEFAULT_NFS_PORT = 2049;

/** A parsed `nfs://` URL. */
export interface NfsUrl {
  /** Host name or address, IPv6 without brackets (`::1`, `fe80::1%eth0`). */
  readonly host: string;
  /** The port (2049 when the URL names none). */
  readonly port: number;
  /**
   * The client path (lib/client/names.ts): decoded components joined with
   * `/`, always with a leading `/` (`/` for the root); a `/` inside a
   * component (typed `%2F`) is written U+DC2F there, never as a separator.
   */
  readonly path: string;
  /** Decoded path components; one may contain `/` (written `%2F`). */
  readonly components: readonly string[];
  /**
   * The path ends in `/` (or `/.`): as for coreutils, the object it names
   * must be a directory (a symlink to one is followed).
   */
  readonly trailingSlash: boolean;
  /** The URL as the user typed it, for messages. */
  readonly text: string;
}

/**
 * Bad input from the user: a malformed URL, option or value. The CLI exits
 * with status 2 for it.
 */
export class UsageError extends Error {
  /** The user's mistake, as `message` says it. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

const SCHEME = /^nfs:\/\//i;
const HOST_NAME = /^[A-Za-z0-9._-]+$/;
const PORT = /^[0-9]+$/;
/** ASCII control characters, never allowed raw in a URL. */
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Parses an `nfs://` URL, throwing {@linkcode UsageError} for anything it
 * does not understand.
 *
 * @example
 * ```ts
 * const url = parseNfsUrl("nfs://[::1]:2050/vfs/a%20b");
 * // { host: "::1", port: 2050, path: "/vfs/a b", components: ["vfs", "a b"], ... }
 * ```
 */
export function parseNfsUrl(text: string): NfsUrl {
  const fail = (reason: string): never => {
    throw new UsageError(`${text === "" ? '""' : text}: ${reason}`);
  };
  if (!SCHEME.test(text)) {
    fail("not an nfs:// URL (expected nfs://HOST[:PORT]/PATH)");
  }
  if (CONTROL.test(text)) fail("control characters are not allowed in a URL");
  const hash = text.indexOf("#");
  if (hash >= 0) fail("fragments ('#') are not supported; write %23 for a '#' in a name");
  const query = text.indexOf("?");
  if (query >= 0) fail("query strings ('?') are not supported; write %3F for a '?' in a name");

  const rest = text.slice("nfs://".length);
  const slash = rest.indexOf("/");
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const rawPath = slash < 0 ? "" : rest.slice(slash);

  const { host, port } = parseAuthority(authority, fail);
  const components = parsePath(rawPath, fail);
  const trailingSlash = components.length > 0 && /\/\.?$/.test(rawPath);
  return { host, port, path: pathOfNames(components), components, trailingSlash, text };
}

function parseAuthority(
  authority: string,
  fail: (reason: string) => never,
): { host: string; port: number } {
  if (authority.includes("@")) fail("user info ('user@') is not supported");
  let host: string;
  let portText: string | undefined;
  if (authority.startsWith("[")) {
    const close = authority.indexOf("]");
    if (close < 0) fail("unclosed '[' in IPv6 address");
    const literal = authority.slice(1, close);
    const after = authority.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) fail(`unexpected '${after}' after IPv6 address`);
    if (after.startsWith(":")) portText = after.slice(1);
    host = parseIpv6Literal(literal, fail);
  } else {
    const colon = authority.indexOf(":");
    host = colon < 0 ? authority : authority.slice(0, colon);
    if (colon >= 0) {
      portText = authority.slice(colon + 1);
      if (portText.includes(":")) {
        // `nfs://::1/` is an IPv6 address without its brackets (RFC 3986
        // §3.2.2); `nfs://h:2049:/`, `nfs://h::2049/` a port with a typo.
        if (builtin("node:net").isIPv6(authority.replace(/%.*$/, ""))) {
          fail("IPv6 addresses must be in brackets: nfs://[ADDRESS]/");
        }
        fail(`bad port '${portText}'`);
      }
    }
    if (host === "") fail("missing host");
    if (!HOST_NAME.test(host)) fail(`bad host name '${host}'`);
    if (/^[0-9.]+$/.test(host) && !isIPv4Text(host)) fail(`bad IPv4 address '${host}'`);
  }
  let port = DEFAULT_NFS_PORT;
  if (portText !== undefined) {
    if (portText === "") fail("missing port number after ':'");
    if (!PORT.test(portText)) fail(`bad port '${portText}'`);
    port = Number(portText);
    if (port < 1 || port > 65535) fail("port out of range");
  }
  return { host, port };
}

function parseIpv6Literal(literal: string, fail: (reason: string) => never): string {
  if (literal === "") fail("missing host");
  // RFC 6874: a zone id follows "%25".
  const zoneAt = literal.indexOf("%");
  let address = literal;
  let zone = "";
  if (zoneAt >= 0) {
    if (!literal.startsWith("%25", zoneAt) || zoneAt + 3 === literal.length) {
      fail(`bad IPv6 zone in '[${literal}]' (write it as %25ZONE)`);
    }
    address = literal.slice(0, zoneAt);
    zone = literal.slice(zoneAt + 3);
    if (!/^[A-Za-z0-9._~-]+$/.test(zone)) fail(`bad IPv6 zone '${zone}'`);
  }
  if (!builtin("node:net").isIPv6(address)) fail(`bad IPv6 address '[${literal}]'`);
  return zone === "" ? address : `${address}%${zone}`;
}

function parsePath(rawPath: string, fail: (reason: string) => never): string[] {
  const out: string[] = [];
  for (const raw of rawPath.split("/")) {
    if (raw === "") continue;
    const name = percentDecode(raw, fail);
    if (name === "" || name === ".") continue;
    if (name === "..") {
      out.pop();
      continue;
    }
    out.push(name);
  }
  return out;
}

function percentDecode(raw: string, fail: (reason: string) => never): string {
  if (!raw.includes("%")) return raw;
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < raw.length;) {
    const ch = raw[i]!;
    if (ch === "%") {
      const hex = raw.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) {
        fail(`bad percent-escape '${raw.slice(i, i + 3)}'`);
      }
      const byte = parseInt(hex, 16);
      if (byte === 0) fail("'%00' is not allowed in a name");
      bytes.push(byte);
      i += 3;
    } else {
      const cp = raw.codePointAt(i)!;
      const s = String.fromCodePoint(cp);
      bytes.push(...encoder.encode(s));
      i += s.length;
    }
  }
  // Any byte may be named: bytes that are not UTF-8 become escapes
  // (lib/xdr/byte_string.ts) and reach the server as themselves.
  return decodeByteString(new Uint8Array(bytes));
}

/**
 * Characters percent-encoded in a path component: `%`, `/`, the characters
 * RFC 3986 reserves or excludes, and (outside ASCII) control, format,
 * unassigned and separator characters. Other non-ASCII letters stay
 * readable (`nfs://h/café`), which {@linkcode parseNfsUrl} accepts back.
 */
// deno-lint-ignore no-control-regex
const NEEDS_ENCODING = /[\u0000-\u0020"#%/<>?[\\\]^`{|}\u007f]|[\p{C}\p{Z}]/gu;

/** One path component, percent-encoded as needed (`a b` → `a%20b`, `a/b` → `a%2Fb`). */
export function encodeComponent(name: string): string {
  return name.replace(NEEDS_ENCODING, (ch) => {
    let out = "";
    for (const byte of encodeByteString(ch)) {
      out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
    }
    return out;
  });
}

/** `host` for a URL or a message: IPv6 in brackets, a zone's `%` as `%25`. */
export function formatHost(host: string): string {
  return host.includes(":") ? `[${host.replace("%", "%25")}]` : host;
}

/**
 * The canonical text of an URL: the port only when not 2049, components
 * percent-encoded as needed, `/` for the root.
 *
 * @example
 * ```ts
 * formatNfsUrl({ host: "::1", port: 2050, components: ["vfs", "a b"] }); // "nfs://[::1]:2050/vfs/a%20b"
 * ```
 */
export function formatNfsUrl(
  url: Pick<NfsUrl, "host" | "port" | "components">,
): string {
  const port = url.port === DEFAULT_NFS_PORT ? "" : `:${url.port}`;
  return `nfs://${formatHost(url.host)}${port}/${url.components.map(encodeComponent).join("/")}`;
}

/**
 * The URL's scheme and authority as the user typed them, without a path:
 * `nfs://127.0.0.1:2049` for `nfs://127.0.0.1:2049/vfs/x`.
 */
export function urlServerPart(url: NfsUrl): string {
  const rest = url.text.slice("nfs://".length);
  const slash = rest.indexOf("/");
  return url.text.slice(0, "nfs://".length + (slash < 0 ? rest.length : slash));
}

/**
 * The `.` or `..` a path as typed ends in (for an URL's path, `%2E` too),
 * undefined for any other last component: rm, rmdir and mv refuse them, as
 * rmdir(2) and rename(2) do, where the worked-out path (`a/.` is `a`, `a/..`
 * its parent) would name a directory the user did not name.
 *
 * @example
 * ```ts
 * dotEnding("nfs://srv/vfs/a/%2e%2E/", { url: true }); // ".."
 * dotEnding("/tmp/a/."); // "."
 * ```
 */
export function dotEnding(path: string, options: { url?: boolean } = {}): "." | ".." | undefined {
  const last = path.split("/").filter((c) => c !== "").at(-1);
  if (last === undefined) return undefined;
  const decoded = options.url ? last.replace(/%2e/gi, ".") : last;
  return decoded === "." || decoded === ".." ? decoded : undefined;
}

/** {@linkcode dotEnding} of an URL as typed (its path only: not the host). */
export function urlDotEnding(url: NfsUrl): "." | ".." | undefined {
  return dotEnding(url.text.slice(urlServerPart(url).length), { url: true });
}

/**
 * The URL of `path` (a client path from the pseudo-fs root, as
 * {@linkcode NfsUrl.path}) on the same server as `url`, spelled with the
 * server part the user typed: a name's own `/` comes back as `%2F`.
 */
export function urlForPath(url: NfsUrl, path: string): string {
  const components = path.split("/").filter((c) => c !== "").map(nameOfComponent);
  return `${urlServerPart(url)}/${components.map(encodeComponent).join("/")}`;
}

/**
 * The URL of entry `name` in directory `url`. The text keeps the user's
 * spelling of the directory (`nfs://h:2049/vfs/` + `a b` →
 * `nfs://h:2049/vfs/a%20b`), so listings read like the command line.
 */
export function joinUrl(url: NfsUrl, name: string): NfsUrl {
  if (name === "" || name === "." || name === "..") {
    throw new UsageError(`${url.text}: '${name}' is not an entry name`);
  }
  const components = [...url.components, name];
  return {
    host: url.host,
    port: url.port,
    path: pathOfNames(components),
    components,
    trailingSlash: false,
    text: `${url.text.replace(/\/+$/, "")}/${encodeComponent(name)}`,
  };
}

/**
 * The path of `url` as the client's methods take it: `url.path`, ending in
 * `/` when the URL did. The client resolves such a path as POSIX does
 * (`ls link/`, `cat file/`): a final symlink is followed and anything but a
 * directory fails with NFS4ERR_NOTDIR.
 *
 * @example
 * ```ts
 * urlPath(parseNfsUrl("nfs://h/vfs/link/")); // "/vfs/link/"
 * urlPath(parseNfsUrl("nfs://h/vfs/link"));  // "/vfs/link"
 * ```
 */
export function urlPath(url: Pick<NfsUrl, "path" | "trailingSlash">): string {
  return url.trailingSlash && url.path !== "/" ? `${url.path}/` : url.path;
}

/** `host:port` as messages show it (`127.0.0.1:2049`, `[::1]:2049`). */
export function formatHostPort(url: Pick<NfsUrl, "host" | "port">): string {
  return `${formatHost(url.host)}:${url.port}`;
}
