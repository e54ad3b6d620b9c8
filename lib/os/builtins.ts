/**
 * Node built-in modules loaded where they are first used, not at start-up.
 *
 * Why: the single binary is one bundle, and a bundler hoists every static
 * `import ... from "node:net"` of every module to the top of it, so each
 * such module was loaded by every command, whatever it did. In Bun,
 * `node:net`, `node:dns/promises`, `node:crypto`, `node:readline` and
 * `node:util` cost ~5 MB of peak memory and start-up time together, and a `cat` needs none
 * of them (its socket is our own, its addresses are literal). Through
 * `process.getBuiltinModule` (Node 22.3, Deno 2, Bun) they load
 * synchronously at the call that needs them, in every runtime alike.
 * Types come from `typeof import(...)`, which loads nothing.
 * @module
 */

import process from "node:process";

/** The built-ins loaded this way, by specifier. */
interface LazyBuiltins {
  "node:net": typeof import("node:net");
  "node:dns/promises": typeof import("node:dns/promises");
  "node:crypto": typeof import("node:crypto");
  "node:child_process": typeof import("node:child_process");
  "node:readline": typeof import("node:readline");
  "node:util": typeof import("node:util");
}

/** The built-in module `id`, loaded now if it was not yet. */
export function builtin<K extends keyof LazyBuiltins>(id: K): LazyBuiltins[K] {
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (typeof get !== "function") {
    throw new Error(`${id} cannot be loaded: this runtime has no process.getBuiltinModule`);
  }
  return get(id) as LazyBuiltins[K];
}

const IPV4_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])";
const IPV4 = new RegExp(`^(?:${IPV4_OCTET}\\.){3}${IPV4_OCTET}$`);

/**
 * Whether `text` is a dotted-quad IPv4 address as `node:net`'s `isIPv4`
 * takes it (four decimal octets, no leading zeros), without loading
 * `node:net` for the one check every command makes of its host.
 */
export function isIPv4Text(text: string): boolean {
  return IPV4.test(text);
}
