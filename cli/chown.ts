/**
 * `nfs4 chown [-R] [-v|-c] [-f] [-h] OWNER[:GROUP] URL...`: change owner
 * and group with SETATTR of `owner` and `owner_group`, as coreutils 9
 * `chown` changes them.
 *
 * OWNER and GROUP are names of this host's users and groups (its
 * /etc/passwd and /etc/group, as a mount's ID mapping would use) or
 * numbers. They are sent in the form the server uses (RFC 7530 §5.9): as
 * `name@domain` (this host's name for the id) when the file's own owner or
 * group string carries a domain, else as the numeric string (`1000`, which
 * AUTH_SYS servers without ID mapping take). A server that refuses a
 * numeric string (NFS4ERR_BADOWNER: knfsd with ID mapping, NetApp, FreeBSD
 * nfsuserd, Windows) is asked once more with `name@domain`, the domain
 * being one its owner strings carried (this command's earlier files, else
 * the file's directory). A `name@domain` given as such is sent as it is.
 * `OWNER:` also sets OWNER's login group, `:GROUP` only the group. A name
 * this host does not know is a usage error, as chown's "invalid user".
 *
 * Symlinks: a symlink named on the command line is followed (its target
 * changes) unless `-h`; with `-R` (and neither `-H` nor `-L`) nothing is
 * followed and symlinks themselves change, as GNU chown does; SETATTR on
 * a symlink's own filehandle changes the link. `-R` walks with READDIR
 * and changes a directory after its contents, as GNU does.
 * @module
 */

import { readFileSync } from "node:fs";
import { Option } from "@commander-js/extra-typings";
import type { Nfs4ClientApi } from "../lib/client/api.ts";
import { NfsError } from "../lib/client/errors.ts";
import { hasStatus } from "../lib/client/has_status.ts";
import { ownerDomain } from "../lib/client/owner_domain.ts";
import type { FileInfo } from "../lib/client/types.ts";
import { type NfsUrl, parseNfsUrl, UsageError } from "../lib/client/url.ts";
import { changeTree, changeUrls, reportFailure, type Verbosity } from "./change_walk.ts";
import type { CliContext, CommandSession } from "./context.ts";
import { quoted } from "./quoted.ts";
import { readGlobalOptions, type RootCommand } from "./globals.ts";
import { type IdDatabase, NO_IDS, ownerColumn, printableOwner } from "./ls_owners.ts";

const HELP = `
OWNER and GROUP are user and group names of this host (/etc/passwd,
/etc/group) or numbers, and go to the server as numbers, or as name@domain
when its owner strings carry a domain (or it refuses numbers with
NFS4ERR_BADOWNER); name@domain is sent as it is. OWNER: sets OWNER's login
group too; :GROUP only the group.

Symlinks: one named on the command line is followed unless -h; with -R,
nothing is followed and symlinks change themselves (-H: follow those named on
the command line, -L: all). Directories change after their contents.

Changing the owner needs root on the server (no root squashing), the group
the owner who is a member of it; a refusal (Operation not permitted
(NFS4ERR_PERM), NFS4ERR_BADOWNER) is one line per file, and the others are
still changed.

Examples:
  $ nfs4 chown 1000:1000 nfs://server/export/home/alice
  $ nfs4 chown -R www-data: nfs://server/export/www
  $ nfs4 chown -v :staff nfs://server/export/shared
  $ nfs4 chown -h alice nfs://server/export/link
`;

/** What OWNER[:GROUP] asks for. */
export interface OwnerSpec {
  /** The owner string to send (`1000`, or `name@domain` as given); none: unchanged. */
  readonly owner?: string | undefined;
  readonly group?: string | undefined;
  /**
   * The owner as messages name it: the name typed when it was looked up
   * (`""` when only a group name was); none for a number (messages print
   * the number), as chown does.
   */
  readonly userName?: string | undefined;
  /** The group as messages name it: the name typed, or OWNER's login group for `OWNER:`. */
  readonly groupName?: string | undefined;
}

/** How `chown` was asked to work. */
export interface ChownOptions {
  readonly recursive: boolean;
  readonly verbosity: Verbosity;
  readonly silent: boolean;
  /** Change a symlink's target (true) or the symlink itself. */
  readonly dereference: boolean;
  /** With `-R`: which symlinks the walk follows (`-P`, `-H`, `-L`). */
  readonly traverse: "never" | "start" | "always";
  /** This host's users and groups, for `-v` names. */
  readonly ids: IdDatabase;
}

const MAX_ID = 0xffff_fffe;

/** A decimal id as GNU's xstrtoul takes it here (a leading `+`), or undefined. */
function numericId(text: string): string | undefined {
  const m = /^\+?([0-9]+)$/.exec(text);
  if (!m) return undefined;
  const value = Number(m[1]);
  return value <= MAX_ID ? String(value) : undefined;
}

/** The login group (passwd's gid field) of `user`, from this host's /etc/passwd. */
function loginGroup(user: string): number | undefined {
  let text: string;
  try {
    text = readFileSync("/etc/passwd", "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields[0] === user && fields[3] !== undefined && /^[0-9]+$/.test(fields[3])) {
      return Number(fields[3]);
    }
  }
  return undefined;
}

/**
 * Parses OWNER[:GROUP] as gnulib's parse_user_spec() does, with this host's
 * users and groups; throws {@linkcode UsageError} `invalid user: 'SPEC'`,
 * `invalid group: 'SPEC'` or `invalid spec: 'SPEC'`.
 */
export function parseOwnerSpec(
  text: string,
  ids: IdDatabase,
  loginGroupOf: (user: string) => number | undefined = loginGroup,
): OwnerSpec {
  const colon = text.indexOf(":");
  const u = colon < 0 ? text : text.slice(0, colon);
  const g = colon < 0 || colon === text.length - 1 ? undefined : text.slice(colon + 1);
  let owner: string | undefined;
  let group: string | undefined;
  // As gnulib's parse_user_spec: a name found by lookup is kept for the
  // messages; a number is not (messages then print the number).
  let userName: string | undefined;
  let groupName: string | undefined;
  if (u !== "") {
    const uid = u.startsWith("+") ? undefined : ids.userId(u);
    if (u.includes("@") && !u.startsWith("+")) {
      owner = userName = u;
      if (colon >= 0 && g === undefined) throw new UsageError(`invalid spec: '${text}'`);
    } else if (uid === undefined) {
      // OWNER: needs a user whose login group is known.
      if (colon >= 0 && g === undefined) throw new UsageError(`invalid spec: '${text}'`);
      owner = numericId(u);
      if (owner === undefined) throw new UsageError(`invalid user: '${text}'`);
    } else {
      owner = String(uid);
      userName = u;
      if (colon >= 0 && g === undefined) {
        const gid = loginGroupOf(u);
        if (gid === undefined) throw new UsageError(`invalid spec: '${text}'`);
        group = String(gid);
        groupName = ids.groupName(gid) ?? String(gid);
      }
    }
  }
  if (g !== undefined) {
    const gid = g.startsWith("+") ? undefined : ids.groupId(g);
    if (g.includes("@") && !g.startsWith("+")) {
      group = groupName = g;
    } else if (gid !== undefined) {
      group = String(gid);
      groupName = g;
    } else {
      group = numericId(g);
      if (group === undefined) throw new UsageError(`invalid group: '${text}'`);
    }
  }
  return {
    owner,
    group,
    // As chown.c: a group name without a user name makes the messages say
    // "ownership" (`to :staff`), with an empty user.
    userName: userName === undefined && groupName !== undefined ? "" : userName,
    groupName,
  };
}

/** Adds `chown` to the program. */
export function registerChown(program: RootCommand, ctx: CliContext): void {
  program
    .command("chown")
    .description("change file owner and group (like chown)")
    .usage("[options] OWNER[:GROUP] URL...")
    // -h is --no-dereference, as in chown.
    .helpOption("--help", "show help")
    .argument("<owner>", "OWNER, OWNER:GROUP, OWNER: or :GROUP (names or numbers)")
    .argument("<url...>", "nfs:// URLs of files and directories")
    .option("-R, --recursive", "change files and directories below each directory too")
    .option("-v", "print a line for every file (--verbose is the global option)")
    .option("-c, --changes", "print a line for every file whose owner or group changes")
    .option("-f, --silent", "print no message for a file that cannot be changed")
    .addOption(new Option("--quiet", "same as --silent").hideHelp())
    .option("-h, --no-dereference", "change symlinks themselves, not their targets")
    .option("--dereference", "change the targets of symlinks (the default without -R)")
    .option("-H", "with -R: follow symlinks named on the command line")
    .option("-L", "with -R: follow every symlink")
    .option("-P", "with -R: follow no symlink (the default)")
    .addHelpText("after", HELP)
    .action(async (ownerText, operands, opts, cmd) => {
      const globals = readGlobalOptions(cmd.optsWithGlobals());
      const ids = ctx.io.ids?.() ?? NO_IDS;
      const spec = parseOwnerSpec(ownerText, ids);
      const urls = operands.map(parseNfsUrl);
      const recursive = opts.recursive === true;
      // The last of -H, -L, -P wins (commander keeps no order: L over H over P).
      const traverse = opts.L ? "always" : opts.H ? "start" : "never";
      // As chown.c: -R without -H or -L never follows (--dereference is then an error).
      const explicit = cmd.getOptionValueSource("dereference") === "cli";
      if (recursive && traverse === "never" && explicit && opts.dereference === true) {
        throw new UsageError("-R --dereference requires either -H or -L");
      }
      const dereference = opts.dereference === false
        ? false
        : explicit
        ? true
        : !(recursive && traverse === "never");
      const session = ctx.session(globals);
      try {
        await chownUrls(session, spec, urls, {
          recursive,
          verbosity: opts.v ? "high" : opts.changes ? "changes" : "off",
          silent: opts.silent === true || opts.quiet === true,
          dereference,
          traverse: recursive ? traverse : "never",
          ids,
        });
      } finally {
        await session.close();
      }
    });
}

/**
 * Changes the owner and group of each of `urls` (and, with `-R`, what is
 * below them) as `spec` says. Failures are reported per file and the rest
 * goes on.
 */
export async function chownUrls(
  session: CommandSession,
  spec: OwnerSpec,
  urls: readonly NfsUrl[],
  options: ChownOptions,
): Promise<void> {
  // The domain of each server's owner strings, once one was seen.
  const domains = new WeakMap<Nfs4ClientApi, string>();
  await changeUrls(session, urls, options.silent, (url) =>
    changeTree(session, url, {
      recursive: options.recursive,
      silent: options.silent,
      follow: options.traverse,
      order: "post",
      unreachable: (at) => describe(session, at, "failed", undefined, spec, options),
      change: (client, entry, path, at) =>
        chownOne(
          session,
          client,
          {
            info: entry.info,
            path,
            url: at,
            // The walk already followed what -H or -L follow.
            followed: entry.depth === 0
              ? options.traverse !== "never"
              : options.traverse === "always",
          },
          spec,
          options,
          domains,
        ),
    }));
}

async function chownOne(
  session: CommandSession,
  client: Nfs4ClientApi,
  target: { info: FileInfo; path: string; url: NfsUrl; followed: boolean },
  spec: OwnerSpec,
  options: ChownOptions,
  domains: WeakMap<Nfs4ClientApi, string>,
): Promise<void> {
  const { path, url } = target;
  let info = target.info;
  const follow = target.followed || (options.dereference && info.kind === "symlink");
  if (info.kind === "symlink" && options.dereference) {
    try {
      info = await client.stat(path, { follow: true });
    } catch (err) {
      reportFailure(session, new CannotDereference(path, err), url, options.silent);
      // As coreutils: "failed to change ownership of 'link' from (the link's owner) to …".
      await describe(session, url, "failed", info, spec, options);
      return;
    }
  }
  // The form the server uses: name@domain when the file's own strings
  // carry a domain, else numbers (RFC 7530 §5.9).
  const fileDomain = ownerDomain(info.owner, info.group);
  if (fileDomain !== undefined && !domains.has(client)) domains.set(client, fileDomain);
  let attrs = ownerStrings(spec, fileDomain, options.ids);
  // What the file has once the SETATTR is done; the same as before when
  // nothing was sent.
  let now = info;
  if (attrs.owner !== undefined || attrs.ownerGroup !== undefined) {
    try {
      try {
        await client.setattrPath(path, attrs, { follow });
      } catch (err) {
        // A server that takes names only refuses numbers (NFS4ERR_BADOWNER):
        // once more as name@domain, with the domain its strings carry.
        if (!hasStatus(err, "NFS4ERR_BADOWNER") || !sendsNumbers(attrs)) throw err;
        const domain = domains.get(client) ?? await directoryDomain(client, path);
        if (domain === undefined) throw err;
        domains.set(client, domain);
        const named = ownerStrings(spec, domain, options.ids);
        if (named.owner === attrs.owner && named.ownerGroup === attrs.ownerGroup) throw err;
        attrs = named;
        await client.setattrPath(path, attrs, { follow });
      }
      // A server that maps owner strings may set another owner than the one
      // sent and still answer NFS4_OK (Ganesha gives a name it cannot map
      // its anonymous uid, RFC 7530 §5.9 leaves it to the server): what it
      // set is read back. Not needed when the file already showed exactly
      // the strings sent: setting them again changes nothing.
      const alreadyAsSent = (attrs.owner === undefined || attrs.owner === info.owner) &&
        (attrs.ownerGroup === undefined || attrs.ownerGroup === info.group);
      if (!alreadyAsSent) {
        now = await client.stat(path, { follow });
        const wrong = ownerNotSet(now, spec, options.ids);
        if (wrong !== undefined) throw new OwnerNotSetError(url, wrong);
      }
    } catch (err) {
      reportFailure(session, err, url, options.silent);
      await describe(session, url, "failed", info, spec, options);
      return;
    }
  }
  // Changed or retained: the file before against the file after, as the
  // server answered both (not against the request, which the server may
  // have spelled another way).
  const same = (before: string | undefined, after: string | undefined, kind: OwnerKind) =>
    sameOwner(before, after, kind, options.ids) === true;
  const changed = !((spec.owner === undefined || same(info.owner, now.owner, "user")) &&
    (spec.group === undefined || same(info.group, now.group, "group")));
  await describe(session, url, changed ? "changed" : "retained", info, spec, options);
}

/** A numeric owner string (RFC 7530 §5.9): the id itself. */
const NUMERIC_OWNER = /^(0|[1-9][0-9]*)$/;

/**
 * The owner and owner_group strings to send for `spec`: with `domain`
 * (the server maps names), a number this host has a name for goes as
 * `name@domain` (the name typed, else this host's name for the id), as a
 * mount's ID mapping sends it; else as it is.
 */
export function ownerStrings(
  spec: OwnerSpec,
  domain: string | undefined,
  ids: IdDatabase,
): { owner?: string; ownerGroup?: string } {
  const named = (sent: string | undefined, typed: string | undefined, kind: OwnerKind) => {
    if (sent === undefined || domain === undefined || !NUMERIC_OWNER.test(sent)) return sent;
    const name = typed && !NUMERIC_OWNER.test(typed)
      ? typed
      : kind === "user"
      ? ids.userName(Number(sent))
      : ids.groupName(Number(sent));
    return name ? `${name}@${domain}` : sent;
  };
  const owner = named(spec.owner, spec.userName, "user");
  const group = named(spec.group, spec.groupName, "group");
  return {
    ...(owner !== undefined ? { owner } : {}),
    ...(group !== undefined ? { ownerGroup: group } : {}),
  };
}

/** Whether a numeric string is among the owner strings `attrs` sends. */
function sendsNumbers(attrs: { owner?: string; ownerGroup?: string }): boolean {
  return [attrs.owner, attrs.ownerGroup].some((s) => s !== undefined && NUMERIC_OWNER.test(s));
}

/**
 * The domain of the owner strings of the directory holding `path`, for a
 * file whose own strings carry none (a server that maps names sends the
 * number of an id it cannot map); undefined when there is none or it
 * cannot be read.
 */
async function directoryDomain(client: Nfs4ClientApi, path: string): Promise<string | undefined> {
  const at = path.replace(/\/+$/, "").lastIndexOf("/");
  if (at < 0) return undefined;
  const dir = await client.stat(at === 0 ? "/" : path.slice(0, at), { follow: true })
    .catch(() => undefined);
  return ownerDomain(dir?.owner, dir?.group);
}

type OwnerKind = "user" | "group";

/**
 * Whether the owner strings `a` and `b` (`1000`, `name@domain`) name one
 * owner as this host sees them, the way `ls` shows them
 * ({@linkcode ownerColumn}): a number as it is, a name through this host's
 * users and groups. Undefined when that cannot be told: a number against a
 * name this host does not know (the server's database is not this host's),
 * or no string at all.
 */
export function sameOwner(
  a: string | undefined,
  b: string | undefined,
  kind: OwnerKind,
  ids: IdDatabase,
): boolean | undefined {
  if (a === undefined || b === undefined) return undefined;
  if (a === b) return true;
  const idA = localId(a, kind, ids);
  const idB = localId(b, kind, ids);
  if (idA !== undefined && idB !== undefined) return idA === idB;
  if (idA !== undefined || idB !== undefined) return undefined;
  // Two names this host does not know: the same user at the same domain
  // (a DNS domain, whose case does not matter).
  const [userA, domainA] = splitOwner(a);
  const [userB, domainB] = splitOwner(b);
  return userA === userB && domainA.toLowerCase() === domainB.toLowerCase();
}

/** The id `sent` stands for on this host: its number, or the id of its name here. */
function localId(sent: string, kind: OwnerKind, ids: IdDatabase): number | undefined {
  if (/^(0|[1-9][0-9]*)$/.test(sent)) return Number(sent);
  const [name] = splitOwner(sent);
  return kind === "user" ? ids.userId(name) : ids.groupId(name);
}

/** `name@domain` as its name and domain (`""` without one). */
function splitOwner(sent: string): [string, string] {
  const at = sent.lastIndexOf("@");
  return at > 0 ? [sent.slice(0, at), sent.slice(at + 1)] : [sent, ""];
}

/**
 * Owner and group numbers and names a server gives what it cannot map:
 * Ganesha's default anonymous uid and gid ((uid_t)-2), the Linux
 * nobody/nogroup ids knfsd and rpc.idmapd fall back to, and their names.
 */
const ANONYMOUS_IDS = new Set([4294967294, 65534]);
const ANONYMOUS_NAMES = new Set(["nobody", "nogroup", "nfsnobody"]);

/** Whether `sent` is how a server names the owner it gives an unmappable one. */
function isAnonymous(sent: string): boolean {
  if (/^[0-9]+$/.test(sent)) return ANONYMOUS_IDS.has(Number(sent));
  return ANONYMOUS_NAMES.has(splitOwner(sent)[0]);
}

/**
 * What of `spec` the server did not set, judged by the file read back after
 * the SETATTR (`owner` and `group` as the server answered, with what was
 * asked), or undefined when it set everything asked. A value that cannot
 * be compared here (a number against a name this host does not know) is
 * taken as set, unless it is the anonymous owner a server gives a name it
 * could not map, and that was not what was asked.
 */
export function ownerNotSet(
  now: Pick<FileInfo, "owner" | "group">,
  spec: OwnerSpec,
  ids: IdDatabase,
): { owner?: [got: string, asked: string]; group?: [got: string, asked: string] } | undefined {
  const check = (
    got: string | undefined,
    asked: string | undefined,
    typed: string | undefined,
    kind: OwnerKind,
  ) => {
    if (got === undefined || asked === undefined) return undefined;
    const same = sameOwner(got, asked, kind, ids);
    const set = same ?? !(isAnonymous(got) && !isAnonymous(asked));
    // Named as typed (`alice`, not the `1000` sent for it).
    return set ? undefined : [got, typed || asked] as [string, string];
  };
  const owner = check(now.owner, spec.owner, spec.userName, "user");
  const group = check(now.group, spec.group, spec.groupName, "group");
  if (owner === undefined && group === undefined) return undefined;
  return { ...(owner ? { owner } : {}), ...(group ? { group } : {}) };
}

/**
 * `failed to change ownership of 'URL': the server set owner to 'X', not
 * 'Y'`: the SETATTR succeeded, but the file read back has another owner
 * (or group) than the one asked for.
 */
class OwnerNotSetError extends Error {
  constructor(url: NfsUrl, wrong: NonNullable<ReturnType<typeof ownerNotSet>>) {
    const part = (what: string, [got, asked]: [string, string]) =>
      `${what} to ${quoted(printableOwner(got))}, not ${quoted(printableOwner(asked))}`;
    const parts = [
      ...(wrong.owner ? [part("owner", wrong.owner)] : []),
      ...(wrong.group ? [part("group", wrong.group)] : []),
    ];
    const what = wrong.owner ? "ownership" : "group";
    super(`failed to change ${what} of ${quoted(url.text)}: the server set ${parts.join(" and ")}`);
    this.name = "OwnerNotSetError";
  }
}

/** `chown: cannot dereference 'URL': WHY`, for a symlink whose target is not there. */
class CannotDereference extends Error {
  readonly path: string;
  constructor(path: string, cause: unknown) {
    let why = cause instanceof Error ? cause.message : String(cause);
    // The cause names a path of its own (`/vfs/dang: No such file…`): this names the link.
    const named = cause instanceof NfsError ? cause.path : undefined;
    if (named !== undefined && why.startsWith(`${named}: `)) why = why.slice(named.length + 2);
    super(`${path}: cannot dereference: ${why}`, { cause });
    this.name = "CannotDereference";
    this.path = path;
  }
}

/** The `-v`/`-c` line of chown-core.c's describe_change(). */
async function describe(
  session: CommandSession,
  url: NfsUrl,
  status: "changed" | "retained" | "failed",
  info: FileInfo | undefined,
  spec: OwnerSpec,
  options: ChownOptions,
): Promise<void> {
  if (options.verbosity === "off" || (options.verbosity === "changes" && status !== "changed")) {
    return;
  }
  const user = spec.userName ?? (spec.owner !== undefined ? spec.owner : undefined);
  const group = spec.groupName ?? (spec.group !== undefined ? spec.group : undefined);
  const join = (u: string | undefined, g: string | undefined) =>
    u !== undefined ? (g !== undefined ? `${u}:${g}` : u) : g;
  const name = quoted(url.text);
  const newSpec = join(user, group);
  const oldSpec = info === undefined ? undefined : join(
    user !== undefined ? ownerColumn(info.owner, "user", false, options.ids) : undefined,
    group !== undefined ? ownerColumn(info.group, "group", false, options.ids) : undefined,
  );
  const what = user !== undefined ? "ownership" : group !== undefined ? "group" : undefined;
  let line: string;
  if (status === "changed") {
    line = what
      ? `changed ${what} of ${name} from ${oldSpec} to ${newSpec}`
      : `no change to ownership of ${name}`;
  } else if (status === "retained") {
    // coreutils prints the owner the file has (`retained as cloudsdk` for `1000`).
    line = what ? `${what} of ${name} retained as ${oldSpec}` : `ownership of ${name} retained`;
  } else if (!what) {
    line = `failed to change ownership of ${name}`;
  } else if (oldSpec !== undefined) {
    line = `failed to change ${what} of ${name} from ${oldSpec} to ${newSpec}`;
  } else {
    line = `failed to change ${what} of ${name} to ${newSpec}`;
  }
  await session.out.write(line + "\n");
}
