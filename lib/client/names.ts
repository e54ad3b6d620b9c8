/**
 * Names as byte strings, for the commands: every name the client hands out
 * (READDIR entries, symlink targets, owners) is a `string` that stands for
 * exact bytes, with bytes that are not UTF-8 kept as escapes (the PEP 383
 * mapping of lib/xdr/byte_string.ts). Print a name with
 * {@linkcode encodeByteString} to write its bytes, or show it with
 * {@linkcode displayByteString} where only text will do.
 *
 * And paths as the client takes them. A client path (the `path` of every
 * `Nfs4ClientApi` method, `FileInfo.path`, `NfsUrl.path`) is names joined
 * with `/` from the pseudo-fs root, so a `/` in it always separates two
 * names. A name may still hold the byte 0x2F: an URL names one as `%2F`
 * (RFC 3986 §2.2: an encoded reserved character is data, not a
 * delimiter), and the client sends it as part of ONE component4 (RFC 7530
 * §3.2, RFC 8881 §3.2), for the server to answer for that name (RFC 7530
 * §13.1.7 and RFC 8881 §15.1.7: NFS4ERR_BADNAME, NFS4ERR_BADCHAR,
 * NFS4ERR_INVAL), never as two names. Inside a client path such a `/` is
 * written {@linkcode SLASH_IN_NAME}, U+DC2F: in the family of the PEP 383
 * escapes (U+DC00 + byte), a code unit that decoding bytes never yields
 * (0x2F is UTF-8, only bytes of 0x80 and over are escaped), so no name a
 * server lists, no local name and no typed word holds it. Only
 * {@linkcode pathOfNames} and {@linkcode namesOfPath} (and
 * {@linkcode childPath}) cross between names and paths; a name is never
 * cut out of a path or put into one otherwise.
 *
 * @example
 * ```ts
 * encodeByteString("lat\udce9in1"); // Uint8Array [0x6c, 0x61, 0x74, 0xe9, 0x69, 0x6e, 0x31]
 * pathOfNames(["vfs", "pq/new"]); // "/vfs/pq\udc2fnew"
 * namesOfPath("/vfs/pq\udc2fnew"); // ["vfs", "pq/new"]
 * ```
 * @module
 */
export {
  decodeByteString,
  displayByteString,
  encodeByteString,
  hasEscapedBytes,
} from "../nfs4/names.ts";

/** How a client path writes a `/` that is part of a name (see the module documentation). */
export const SLASH_IN_NAME = "\udc2f";

/** `name` as it stands in a client path: its own `/`s written {@linkcode SLASH_IN_NAME}. */
export function nameInPath(name: string): string {
  return name.includes("/") ? name.replaceAll("/", SLASH_IN_NAME) : name;
}

/** The name a component of a client path stands for (the inverse of {@linkcode nameInPath}). */
export function nameOfComponent(component: string): string {
  return component.includes(SLASH_IN_NAME) ? component.replaceAll(SLASH_IN_NAME, "/") : component;
}

/**
 * The client path of `names` from the pseudo-fs root (`/` for none).
 *
 * @example
 * ```ts
 * pathOfNames(["vfs", "a b"]); // "/vfs/a b"
 * pathOfNames(["vfs", "a/b"]); // "/vfs/a\udc2fb": one name
 * ```
 */
export function pathOfNames(names: readonly string[]): string {
  return "/" + names.map(nameInPath).join("/");
}

/**
 * The names of client path `path`, without empty ones (`a//b`, a leading
 * or trailing `/`) and `.`; `..` is kept, for a walk to step back.
 *
 * @example
 * ```ts
 * namesOfPath("/vfs/./a\udc2fb/"); // ["vfs", "a/b"]
 * ```
 */
export function namesOfPath(path: string): string[] {
  return path.split("/").filter((c) => c !== "" && c !== ".").map(nameOfComponent);
}

/** The client path of entry `name` of directory `dir` (a client path). */
export function childPath(dir: string, name: string): string {
  const base = dir.replace(/\/+$/, "");
  return `${base}/${nameInPath(name)}`;
}
