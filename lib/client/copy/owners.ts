/**
 * Owners and groups between the local system and NFS servers, for
 * `--preserve=ownership`.
 *
 * The local side names an owner by its decimal id (`4242`). An NFS server
 * names it by an owner string (RFC 7530 §5.9): `user@domain` when it maps
 * ids to names, or the decimal id itself (what Ganesha with
 * `Only_Numeric_Owners` and the Linux server without idmapping send and
 * accept for AUTH_SYS). A copy translates as `nfsidmap` would: `name@domain`
 * and bare names are looked up in the local user and group databases (NSS,
 * through `getent`), numeric strings are taken as ids, and an id goes to a
 * name-mapping server as `name@domain`, the domain being the one that
 * server's own owner strings carry. What cannot be mapped is reported, and
 * the copy keeps the owner it got.
 * @module
 */

import { builtin } from "../../os/builtins.ts";

/** Which database an owner string is looked up in. */
export type OwnerKind = "user" | "group";

const NUMERIC = /^\d+$/;

/** Results of `getent`, by database and key (one lookup per name or id). */
const cache = new Map<string, Promise<string[] | undefined>>();

/** The fields of `getent passwd|group KEY`, or undefined when there is none. */
function getent(kind: OwnerKind, key: string): Promise<string[] | undefined> {
  const db = kind === "user" ? "passwd" : "group";
  const cacheKey = `${db}\0${key}`;
  let entry = cache.get(cacheKey);
  if (!entry) {
    entry = new Promise((resolve) => {
      builtin("node:child_process").execFile("getent", [db, key], (error, stdout) => {
        if (error) return resolve(undefined);
        const line = String(stdout).split("\n")[0] ?? "";
        resolve(line === "" ? undefined : line.split(":"));
      });
    });
    cache.set(cacheKey, entry);
  }
  return entry;
}

/**
 * The local id (decimal) an owner string stands for: a numeric string is
 * the id; `name@domain` or `name` is looked up; undefined when unknown.
 *
 * @example
 * ```ts
 * await localOwner("4242", "user"); // "4242"
 * await localOwner("root@localdomain", "user"); // "0"
 * ```
 */
export async function localOwner(text: string, kind: OwnerKind): Promise<string | undefined> {
  if (NUMERIC.test(text)) return text;
  const at = text.lastIndexOf("@");
  const name = at > 0 ? text.slice(0, at) : text;
  const fields = await getent(kind, name);
  const id = fields?.[2];
  return id !== undefined && NUMERIC.test(id) ? id : undefined;
}

/**
 * The owner string to send a server for a local id (or another server's
 * string): as is when the server speaks numeric ids (`domain` undefined);
 * `name@domain` when it maps names and the id has a local name.
 */
export async function serverOwner(
  text: string,
  kind: OwnerKind,
  domain: string | undefined,
): Promise<string> {
  if (domain === undefined) {
    if (NUMERIC.test(text)) return text;
    // A name from a name-mapping server, for one that wants ids.
    return (await localOwner(text, kind)) ?? text;
  }
  if (!NUMERIC.test(text)) return text;
  const name = (await getent(kind, text))?.[0];
  return name !== undefined && name !== "" ? `${name}@${domain}` : text;
}
