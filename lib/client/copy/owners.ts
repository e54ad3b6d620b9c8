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

/**
 * Owner ids and names a server gives what it squashes or cannot map:
 * Ganesha's default anonymous uid and gid ((uid_t)-2), the Linux
 * nobody/nogroup ids knfsd and rpc.idmapd fall back to, and their names
 * (as cli/chown.ts knows them).
 */
const ANONYMOUS_IDS: ReadonlySet<string> = new Set(["4294967294", "65534"]);
const ANONYMOUS_NAMES: ReadonlySet<string> = new Set(["nobody", "nogroup", "nfsnobody"]);

/** `name@domain` as its name and domain (`""` without one). */
function splitOwner(text: string): [string, string] {
  const at = text.lastIndexOf("@");
  return at > 0 ? [text.slice(0, at), text.slice(at + 1)] : [text, ""];
}

/** Whether `text` is how a server names the owner it gives one it squashed or could not map. */
function isAnonymous(text: string): boolean {
  if (NUMERIC.test(text)) return ANONYMOUS_IDS.has(String(Number(text)));
  return ANONYMOUS_NAMES.has(splitOwner(text)[0]);
}

/**
 * Whether the owner string `held` (what a server answered a GETATTR with)
 * names the owner `asked` (what a SETATTR gave it), as cli/chown.ts's
 * read-back compares them: equal strings; else both as local ids (a
 * number as it is, `name@domain` through this host's users and groups,
 * RFC 7530 §5.9); two names this host does not know, by name and domain
 * (a DNS domain, whose case does not matter). A number against a name
 * this host does not know cannot be told (the server's database is not
 * this host's): taken as kept, unless `held` is the anonymous owner a
 * server squashes to and `asked` was not.
 *
 * @example
 * ```ts
 * await ownerKept("4242", "1234", "user"); // false
 * await ownerKept("0", "root@localdomain", "user"); // true
 * ```
 */
export async function ownerKept(held: string, asked: string, kind: OwnerKind): Promise<boolean> {
  if (held === asked) return true;
  const [heldId, askedId] = await Promise.all([localOwner(held, kind), localOwner(asked, kind)]);
  if (heldId !== undefined && askedId !== undefined) return Number(heldId) === Number(askedId);
  if (heldId !== undefined || askedId !== undefined) {
    return !(isAnonymous(held) && !isAnonymous(asked));
  }
  const [heldName, heldDomain] = splitOwner(held);
  const [askedName, askedDomain] = splitOwner(asked);
  return heldName === askedName && heldDomain.toLowerCase() === askedDomain.toLowerCase();
}
