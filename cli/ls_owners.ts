/**
 * Owners and groups in `nfs4 ls -l` as they would show on a mount: the
 * server sends an owner string (RFC 7530 §5.9), either a number (AUTH_SYS
 * servers without ID mapping, as Ganesha by default) or `name@domain`. The
 * kernel's NFS client turns it into a local uid (a number as it is, a name
 * through the ID mapper), and `ls` prints the local user with that uid, or
 * the number with `-n`. Here the local users and groups come from
 * `/etc/passwd` and `/etc/group`; a string that maps to no local id prints
 * as the server sent it.
 * @module
 */

import { readFileSync } from "node:fs";

/** Local users and groups, by id and by name. */
export interface IdDatabase {
  userName(id: number): string | undefined;
  userId(name: string): number | undefined;
  groupName(id: number): string | undefined;
  groupId(name: string): number | undefined;
}

/** An empty database: owners print as the server sends them. */
export const NO_IDS: IdDatabase = {
  userName: () => undefined,
  userId: () => undefined,
  groupName: () => undefined,
  groupId: () => undefined,
};

function table(text: string): { byId: Map<number, string>; byName: Map<string, number> } {
  const byId = new Map<number, string>();
  const byName = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(":");
    const name = fields[0];
    const id = Number(fields[2]);
    if (!name || fields[2] === undefined || !/^[0-9]+$/.test(fields[2])) continue;
    // The first entry wins, as getpwuid() and getpwnam() find it.
    if (!byId.has(id)) byId.set(id, name);
    if (!byName.has(name)) byName.set(name, id);
  }
  return { byId, byName };
}

/** A database from the text of passwd(5) and group(5) files. */
export function parseIdDatabase(passwd: string, group: string): IdDatabase {
  const users = table(passwd);
  const groups = table(group);
  return {
    userName: (id) => users.byId.get(id),
    userId: (name) => users.byName.get(name),
    groupName: (id) => groups.byId.get(id),
    groupId: (name) => groups.byName.get(name),
  };
}

/** This host's `/etc/passwd` and `/etc/group` (a missing file is empty). */
export function localIdDatabase(): IdDatabase {
  const read = (path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return "";
    }
  };
  return parseIdDatabase(read("/etc/passwd"), read("/etc/group"));
}

const NUMBER = /^(0|[1-9][0-9]*)$/;

/**
 * The owner (or group) column for the string the server sent: the local
 * name of its id, or the id with `numeric`; as sent when it maps to no
 * local id; `?` when the server sent none.
 *
 * @example
 * ```ts
 * const ids = parseIdDatabase("root:x:0:0::/root:/bin/sh\n", "");
 * ownerColumn("0", "user", false, ids);                 // "root"
 * ownerColumn("root@example.org", "user", true, ids);   // "0"
 * ownerColumn("1234", "user", false, ids);              // "1234"
 * ```
 */
export function ownerColumn(
  sent: string | undefined,
  kind: "user" | "group",
  numeric: boolean,
  ids: IdDatabase,
): string {
  if (sent === undefined) return "?";
  const byName = kind === "user" ? ids.userId : ids.groupId;
  const byId = kind === "user" ? ids.userName : ids.groupName;
  let id: number | undefined;
  if (NUMBER.test(sent)) {
    id = Number(sent);
  } else {
    // `name@domain` (the domain is the server's; the kernel's ID mapper
    // checks it against its own, which this host may not have configured).
    const at = sent.lastIndexOf("@");
    id = byName(at > 0 ? sent.slice(0, at) : sent);
  }
  if (id === undefined) return printableOwner(sent);
  if (numeric) return String(id);
  return byId(id) ?? String(id);
}

/**
 * An owner string as the server sent it, its control characters (C0, DEL,
 * C1) shown as `?`. Local user names come from the administrator; these
 * come from the server, and printed as they are, an escape sequence in one
 * would reach the terminal (retitle it, move the cursor, hide lines).
 */
export function printableOwner(sent: string): string {
  return sent.replace(CONTROLS, "?");
}

// deno-lint-ignore no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;
