/**
 * `nfs4 stat [OPTION]... URL...`: every attribute the server has for an
 * object, by its RFC name, with raw values.
 *
 * One GETATTR of every attribute the server supports (the client's
 * `attributes()`), shown as a block per URL in three groups: the object
 * (type, mode, owners, size, fileid, change, filehandle...), its times (to
 * the nanosecond, with a readable form), and its file system (fsid, sizes,
 * limits, lease time, supported attributes...). An attribute the server
 * supports but did not give is `unknown`; one it does not support, of
 * those everybody looks for, is `not supported`: neither is an error.
 * `--json` prints the same as data; `-c`/`--format` and `--printf` print
 * GNU `stat -c` conversions (cli/stat_format.ts). A URL that fails prints
 * one line on stderr and the next is still shown (exit 1 at the end).
 * @module
 */

import { Buffer } from "node:buffer";
import type { Nfs4ClientApi } from "../lib/client/api.ts";
import { attributeId, attributeName } from "../lib/client/attr_names.ts";
import { UNREADABLE_ATTRS } from "../lib/client/unreadable_attrs.ts";
import { fileSystemRoot } from "../lib/client/fs_root.ts";
import type { AttributeReport, NfsTime } from "../lib/client/types.ts";
import { type NfsUrl, parseNfsUrl, urlPath, UsageError } from "../lib/client/url.ts";
import type { CliContext, CommandSession } from "./context.ts";
import { readGlobalOptions, type RootCommand } from "./globals.ts";
import { jsonByteString, jsonCount, jsonId, jsonPair, jsonTime } from "./json_values.ts";
import { modeString } from "./ls_format.ts";
import { type IdDatabase, NO_IDS, printableOwner } from "./ls_owners.ts";
import { isQuotingStyle, quoteName, type QuotingStyle } from "./ls_quote.ts";
import {
  compileStatFormat,
  fileTypeText,
  humanTime,
  renderStatFormat,
  type StatFormat,
  type StatObject,
  TERSE_FORMAT,
} from "./stat_format.ts";

const HELP = `
Output:
  A block per URL with every attribute the server returned, by its RFC
  name (numlinks, owner_group, time_modify...), raw: numbers in decimal,
  mode in octal, times as seconds.nanoseconds since the epoch (with the
  local time), the filehandle in hex, owners as the server sent them (with
  the uid/gid and the user or group of this host, from /etc/passwd and
  /etc/group; control characters shown as ?). A symlink's target is quoted
  as %N quotes it. Groups: Object, Times, File system. An attribute the server
  supports but did not return is "unknown"; a usual one it does not support
  (time_create, acl...) is "not supported".

  --json prints one object per URL (an array for several URLs): url, path,
  type, filehandle (hex), attributes {name: value}, supported, unknown and
  not_supported (names), ids {uid, user, gid, group}, target for a
  symlink. As in every --json: identifiers are strings (fileid,
  mounted_on_fileid and change in decimal, fsid "major:minor"), sizes
  and counts are numbers (all their digits above 2^53 - 1), times are
  {seconds, nseconds}, attribute sets lists of names.

  -c/--format FORMAT and --printf FORMAT are GNU stat's: %n %N name (the
  URL), %s size, %b %B blocks of 512 (space_used), %a %A %f mode, %F type,
  %h links, %u %U %g %G owners, %i fileid, %X %Y %Z %W epoch seconds of
  access, modify, change (time_metadata), birth (time_create; 0 if
  unknown), %x %y %z %w the same readable (%w: - if unknown), %.9Y for
  nanoseconds, %t %T %r %R %Hr %Lr rawdev, %m the file system's root path
  on the server. Not as on a local disk: %d %D %Hd %Ld come from the fsid,
  %o is the I/O size a Linux mount would use (maxwrite, at most 1 MiB),
  %C is ?. -t/--terse is GNU's terse line. Unknown values print ?.

Examples:
  $ nfs4 stat nfs://127.0.0.1/vfs/hello.txt
  $ nfs4 stat -L nfs://server/export/link
  $ nfs4 stat -c '%s %a %U %y' nfs://server/export/a nfs://server/export/b
  $ nfs4 stat --printf '%n\\t%.9Y\\n' nfs://server/export/a
  $ nfs4 stat --json nfs://server/export | jq .attributes.fsid
`;

/** What `nfs4 stat` prints and how. */
export interface StatSettings {
  /** Follow a final symlink (`-L`). */
  readonly follow: boolean;
  readonly json: boolean;
  /** `-c`, `--printf` or `-t`; the default block when undefined. */
  readonly format?: StatFormat | undefined;
}

/** Adds `stat` to the program. */
export function registerStat(program: RootCommand, ctx: CliContext): void {
  // -c and --printf: the last one given wins, as in GNU stat.
  let chosen: StatFormat | undefined;
  const compile = (escapes: boolean) => (value: string): string => {
    chosen = compileStatFormat(value, escapes);
    return value;
  };
  program
    .command("stat")
    .description("show every attribute of files (like stat)")
    .argument("<url...>", "nfs:// URLs")
    .option("-L, --dereference", "follow a final symlink")
    .option(
      "-c, --format <FORMAT>",
      "GNU stat conversions, a newline after each URL",
      compile(false),
    )
    .option(
      "--printf <FORMAT>",
      "like --format, with backslash escapes and no newline",
      compile(true),
    )
    .option("-t, --terse", "GNU stat's terse line")
    .option("--json", "JSON: one object per URL (an array for several)")
    .addHelpText("after", HELP)
    .action(async (urls, opts, cmd) => {
      const globals = readGlobalOptions(cmd.optsWithGlobals());
      const targets = urls.map(parseNfsUrl);
      let format = chosen;
      chosen = undefined;
      if (format === undefined && opts.terse) format = compileStatFormat(TERSE_FORMAT, true);
      if (format !== undefined && opts.json) {
        throw new UsageError("stat: --json cannot be combined with --format, --printf or --terse");
      }
      for (const warning of format?.warnings ?? []) ctx.error(`stat: ${warning}`);
      const session = ctx.session(globals);
      try {
        await statUrls(session, targets, {
          follow: opts.dereference === true,
          json: opts.json === true,
          format,
        });
      } finally {
        await session.close();
      }
    });
}

/** Shows each of `urls`; failures are reported and skipped. */
export async function statUrls(
  session: CommandSession,
  urls: readonly NfsUrl[],
  settings: StatSettings,
): Promise<void> {
  const ids = session.ctx.io.ids?.() ?? NO_IDS;
  const timeZone = session.ctx.io.timeZone;
  const quoting = quotingStyle(session.ctx.io.env["QUOTING_STYLE"]);
  const json: Record<string, unknown>[] = [];
  let blocks = 0;
  for (const url of urls) {
    try {
      const client = await session.client(url);
      const report = await client.attributes(urlPath(url), { follow: settings.follow });
      if (settings.format) {
        const obj = await statObject(client, url, report, ids, settings.format);
        await session.out.write(renderStatFormat(settings.format, obj, { timeZone, quoting }));
      } else if (settings.json) {
        json.push(statJson(url, report, ids));
      } else {
        const text = statBlock(url, report, ids, timeZone, quoting);
        await session.out.write((blocks++ > 0 ? "\n" : "") + text);
      }
    } catch (err) {
      session.report(err, url);
    }
  }
  if (settings.json && (json.length > 0 || urls.length > 1)) {
    const value = urls.length === 1 ? json[0] : json;
    await session.out.write(JSON.stringify(value, null, 2) + "\n");
  }
}

function quotingStyle(value: string | undefined): QuotingStyle | undefined {
  return value !== undefined && isQuotingStyle(value) ? value : undefined;
}

// ------------------------------------------------------------------ owners

/** An owner string's id and local name, as a mount would map it (cli/ls_owners.ts). */
export function ownerIds(
  sent: string | undefined,
  kind: "user" | "group",
  ids: IdDatabase,
): { id: bigint | string | undefined; name: string | undefined } {
  if (sent === undefined) return { id: undefined, name: undefined };
  let id: number | undefined;
  if (/^(0|[1-9][0-9]*)$/.test(sent)) {
    if (sent.length > 10) return { id: sent, name: undefined };
    id = Number(sent);
  } else {
    const at = sent.lastIndexOf("@");
    const name = at > 0 ? sent.slice(0, at) : sent;
    id = kind === "user" ? ids.userId(name) : ids.groupId(name);
  }
  if (id === undefined) return { id: sent, name: undefined };
  return { id: BigInt(id), name: kind === "user" ? ids.userName(id) : ids.groupName(id) };
}

// ----------------------------------------------------------- --format

async function statObject(
  client: Nfs4ClientApi,
  url: NfsUrl,
  report: AttributeReport,
  ids: IdDatabase,
  format: StatFormat,
): Promise<StatObject> {
  const { info, values } = report;
  const user = ownerIds(values.owner, "user", ids);
  const group = ownerIds(values.ownerGroup, "group", ids);
  const rawdev = values.rawdev;
  const rdev = info.rdev ??
    (rawdev ? { major: rawdev.specdata1, minor: rawdev.specdata2 } : undefined);
  const mountPoint = format.conversions.has("m") ? await fileSystemRoot(client, report) : undefined;
  return {
    name: url.text,
    kind: info.kind,
    mode: values.mode,
    nlink: values.numlinks,
    uid: user.id,
    user: user.name,
    gid: group.id,
    group: group.name,
    size: values.size,
    spaceUsed: values.spaceUsed,
    fileid: values.fileid,
    atime: values.timeAccess,
    mtime: values.timeModify,
    ctime: values.timeMetadata,
    btime: values.timeCreate,
    ioSize: values.maxwrite,
    fsid: values.fsid,
    rdev,
    linkTarget: info.linkTarget,
    mountPoint,
  };
}

// ------------------------------------------------------------ the block

/** Per-file-system (and per-server) attributes (RFC 7530 §5.5, RFC 8881 §5.6). */
const FILE_SYSTEM_ATTRS: ReadonlySet<string> = new Set([
  "supported_attrs",
  "fh_expire_type",
  "link_support",
  "symlink_support",
  "fsid",
  "unique_handles",
  "lease_time",
  "aclsupport",
  "cansettime",
  "case_insensitive",
  "case_preserving",
  "chown_restricted",
  "files_avail",
  "files_free",
  "files_total",
  "fs_locations",
  "homogeneous",
  "maxfilesize",
  "maxlink",
  "maxname",
  "maxread",
  "maxwrite",
  "no_trunc",
  "quota_avail_hard",
  "quota_avail_soft",
  "quota_used",
  "space_avail",
  "space_free",
  "space_total",
  "time_delta",
  "fs_status",
  "fs_layout_types",
  "layout_blksize",
  "layout_alignment",
  "fs_locations_info",
  "fs_charset_cap",
  "suppattr_exclcreat",
  "clone_blksize",
  "change_attr_type",
  "xattr_support",
]);

/**
 * Shown whether or not the server supports them (then "not supported"):
 * what people look for in `stat` and `df`.
 */
const USUAL_ATTRS: readonly string[] = [
  "supported_attrs",
  "type",
  "fh_expire_type",
  "change",
  "size",
  "fsid",
  "lease_time",
  "acl",
  "aclsupport",
  "filehandle",
  "fileid",
  "files_avail",
  "files_free",
  "files_total",
  "fs_locations",
  "maxfilesize",
  "maxname",
  "maxread",
  "maxwrite",
  "mode",
  "numlinks",
  "owner",
  "owner_group",
  "rawdev",
  "space_avail",
  "space_free",
  "space_total",
  "space_used",
  "time_access",
  "time_create",
  "time_metadata",
  "time_modify",
  "mounted_on_fileid",
];

/**
 * Attributes with no value to read, by name (lib/client/unreadable_attrs.ts:
 * rdattr_error is READDIR's, the *_set ones and mode_set_masked are
 * write-only, mode_umask is CREATE's): never shown as unknown.
 */
const WRITE_ONLY: ReadonlySet<string> = new Set([...UNREADABLE_ATTRS].map(attributeName));

type Group = "Object" | "Times" | "File system";

function groupOf(name: string): Group {
  if (FILE_SYSTEM_ATTRS.has(name)) return "File system";
  if (name.startsWith("time_")) return "Times";
  return "Object";
}

/** What is known of each attribute to show: a value, `unknown` or `not supported`. */
interface Shown {
  readonly name: string;
  readonly state: "value" | "unknown" | "not supported";
  readonly value?: unknown;
}

/**
 * The attributes the object's file system supports, by name: its own
 * supported_attrs when returned (the attribute is per file system, RFC 7530
 * §5.8.1.1), else the list the client holds.
 */
function supportedNames(report: AttributeReport): string[] {
  const own = report.values.supportedAttrs;
  if (own === undefined) return [...report.supported];
  return [...own].sort((a, b) => a - b).map(attributeName);
}

/** Supported attributes with a value to read that were not returned. */
function unknownNames(report: AttributeReport, supported: readonly string[]): string[] {
  const returned = new Set(report.returned.map((r) => r.name));
  const unknown = new Set(report.unknown);
  for (const name of supported) {
    if (!returned.has(name) && !WRITE_ONLY.has(name) && name !== "filehandle") unknown.add(name);
  }
  return [...unknown];
}

function shownAttributes(report: AttributeReport): Shown[] {
  const byName = new Map<string, Shown>();
  for (const { name, value } of report.returned) byName.set(name, { name, state: "value", value });
  // The filehandle is known whatever GETATTR said: the client used it.
  byName.set("filehandle", { name: "filehandle", state: "value", value: report.filehandle });
  const supported = new Set(supportedNames(report));
  for (const name of [...unknownNames(report, [...supported]), ...USUAL_ATTRS]) {
    if (byName.has(name) || WRITE_ONLY.has(name)) continue;
    byName.set(name, { name, state: supported.has(name) ? "unknown" : "not supported" });
  }
  const order = (name: string) =>
    attributeId(name) ?? Number(/^attr_(\d+)$/.exec(name)?.[1] ?? 1e9);
  return [...byName.values()].sort((a, b) => order(a.name) - order(b.name));
}

const TYPE_NAMES: readonly string[] = [
  "",
  "NF4REG",
  "NF4DIR",
  "NF4BLK",
  "NF4CHR",
  "NF4LNK",
  "NF4SOCK",
  "NF4FIFO",
  "NF4ATTRDIR",
  "NF4NAMEDATTR",
];

/** Names of the bits of a mask, lowest first. */
function bitNames(value: number, names: readonly string[]): string {
  const set = names.filter((_, i) => (value & (1 << i)) !== 0);
  const rest = value & ~((1 << names.length) - 1);
  if (rest !== 0) set.push(`0x${rest.toString(16)}`);
  return set.join(", ");
}

const ACL_SUPPORT = ["ALLOW", "DENY", "AUDIT", "ALARM"];
const FH_EXPIRE = ["NOEXPIRE_WITH_OPEN", "VOLATILE_ANY", "VOL_MIGRATION", "VOL_RENAME"];
const ACE_TYPES = ["ALLOW", "DENY", "AUDIT", "ALARM"];

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

function isTime(value: unknown): value is NfsTime {
  return typeof value === "object" && value !== null && "seconds" in value &&
    "nseconds" in value && typeof (value as NfsTime).seconds === "bigint";
}

/** `seconds.nanoseconds`, the true decimal value also before 1970 (`-0.250000000`). */
export function secondsText(time: NfsTime): string {
  const ns = time.seconds * 1_000_000_000n + BigInt(time.nseconds);
  const negative = ns < 0n;
  const magnitude = negative ? -ns : ns;
  const whole = magnitude / 1_000_000_000n;
  const fraction = (magnitude % 1_000_000_000n).toString().padStart(9, "0");
  return `${negative ? "-" : ""}${whole}.${fraction}`;
}

/** An owner string as sent, made printable ({@linkcode printableOwner}), with its local ids. */
function ownerText(sent: string, kind: "user" | "group", ids: IdDatabase): string {
  const { id, name } = ownerIds(sent, kind, ids);
  const idName = kind === "user" ? "uid" : "gid";
  const shown = printableOwner(sent);
  if (typeof id !== "bigint") return `${shown} (no local ${kind})`;
  return `${shown} (${idName} ${id}${name !== undefined ? `, ${kind} ${name}` : ""})`;
}

/** An attribute's value as text, raw with a gloss where a number means something. */
function valueText(
  name: string,
  value: unknown,
  report: AttributeReport,
  ids: IdDatabase,
  timeZone: string | undefined,
): string {
  const { kind, size } = report.info;
  if (name === "type" && typeof value === "number") {
    const type = TYPE_NAMES[value];
    return `${value}${type ? ` (${type}, ${fileTypeText(kind, size)})` : ""}`;
  }
  if (name === "mode" && typeof value === "number") {
    return `0${(value & 0o7777).toString(8).padStart(3, "0")} (${modeString(kind, value)})`;
  }
  if ((name === "owner" || name === "owner_group") && typeof value === "string") {
    return ownerText(value, name === "owner" ? "user" : "group", ids);
  }
  if (name === "aclsupport" && typeof value === "number") {
    return `${value}${value !== 0 ? ` (${bitNames(value, ACL_SUPPORT)})` : ""}`;
  }
  if (name === "fh_expire_type" && typeof value === "number") {
    return `${value} (${value === 0 ? "PERSISTENT" : bitNames(value, FH_EXPIRE)})`;
  }
  if ((name === "fsid" || name === "rawdev") && typeof value === "object" && value !== null) {
    const v = value as Record<string, unknown>;
    const [major, minor] = name === "fsid" ? [v.major, v.minor] : [v.specdata1, v.specdata2];
    return `major ${major}, minor ${minor}`;
  }
  if (isTime(value)) {
    return name === "time_delta" || name.endsWith("_notif_delay")
      ? secondsText(value)
      : `${secondsText(value)} (${humanTime(value, timeZone)})`;
  }
  if (value instanceof Set) {
    const names = [...value as Set<number>].sort((a, b) => a - b).map(attributeName);
    return names.length === 0 ? "(none)" : names.join(" ");
  }
  if (name === "fs_locations" && typeof value === "object" && value !== null) {
    const locs = value as {
      fsRoot: readonly string[];
      locations: readonly { server: readonly string[]; rootpath: readonly string[] }[];
    };
    const root = "/" + locs.fsRoot.join("/");
    const where = locs.locations.map((l) => `${l.server.join(",")}:/${l.rootpath.join("/")}`);
    const text = `fs_root ${root}; locations ${where.length === 0 ? "(none)" : where.join(" ")}`;
    return printableOwner(text);
  }
  if ((name === "acl" || name === "dacl" || name === "sacl") && value !== null) {
    const aces = Array.isArray(value) ? value : (value as { aces: unknown[] }).aces;
    const text = (aces as { type: number; flag: number; accessMask: number; who: string }[])
      .map((a) =>
        `${ACE_TYPES[a.type] ?? a.type}:${printableOwner(a.who)}:0x${a.accessMask.toString(16)}` +
        (a.flag !== 0 ? `:flags 0x${a.flag.toString(16)}` : "")
      );
    return text.length === 0 ? "(none)" : text.join(" ");
  }
  return genericText(value);
}

function genericText(value: unknown): string {
  if (typeof value === "bigint" || typeof value === "number" || typeof value === "boolean") {
    return String(value);
  }
  // A string attribute is the server's text: no control character reaches the terminal.
  if (typeof value === "string") return printableOwner(value);
  if (value instanceof Uint8Array) return value.length === 0 ? "(empty)" : hex(value);
  if (Array.isArray(value)) {
    return value.length === 0 ? "(none)" : value.map(genericText).join(" ");
  }
  if (isTime(value)) return secondsText(value);
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).map(([k, v]) => `${k}=${genericText(v)}`).join(" ");
  }
  return String(value);
}

const NAME_WIDTH = 20;
const LINE_WIDTH = 100;

/** Wraps a long space-separated value under its column. */
function wrapValue(text: string, indent: number): string {
  if (indent + text.length <= LINE_WIDTH || !text.includes(" ")) return text;
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && indent + line.length + 1 + word.length > LINE_WIDTH) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines.join("\n" + " ".repeat(indent));
}

/**
 * The default output for one URL: a block of `name value` lines in three
 * groups. What the server names is quoted: a symlink's target as `%N`
 * quotes it (`quoting`, else shell-escape-always), the path (which
 * symlinks followed with `-L` make the server's) as `ls` quotes names on a
 * terminal (`quoting`, else shell-escape: only when it needs it).
 */
export function statBlock(
  url: NfsUrl,
  report: AttributeReport,
  ids: IdDatabase,
  timeZone: string | undefined,
  quoting?: QuotingStyle,
): string {
  const { info } = report;
  const lines: string[] = [];
  const target = info.kind === "symlink" && info.linkTarget !== undefined
    ? ` -> ${quoteName(info.linkTarget, { style: quoting ?? "shell-escape-always" }).text}`
    : "";
  lines.push(`File: ${url.text}${target}`);
  lines.push(`Path: ${quoteName(info.path, { style: quoting ?? "shell-escape" }).text}`);
  const groups = new Map<Group, Shown[]>([["Object", []], ["Times", []], ["File system", []]]);
  for (const shown of shownAttributes(report)) groups.get(groupOf(shown.name))!.push(shown);
  const indent = 2 + NAME_WIDTH + 1;
  for (const [group, shown] of groups) {
    if (shown.length === 0) continue;
    lines.push(`${group}:`);
    for (const s of shown) {
      const text = s.state === "value"
        ? valueText(s.name, s.value, report, ids, timeZone)
        : s.state;
      lines.push(`  ${s.name.padEnd(NAME_WIDTH)} ${wrapValue(text, indent)}`);
    }
  }
  return lines.join("\n") + "\n";
}

// ------------------------------------------------------------------ JSON

/**
 * Attributes whose 64-bit value identifies or versions the object rather
 * than counts anything (cli/json_values.ts rule 1): always a decimal
 * string: change (RFC 7530 §5.8.1.4), fileid and mounted_on_fileid (RFC
 * 7530 §5.8.2), retention_hold (RFC 8881 §5.13: a mask of holds).
 */
const ID_ATTRS: ReadonlySet<string> = new Set([
  "change",
  "fileid",
  "mounted_on_fileid",
  "retention_hold",
]);

/**
 * Attributes that are a pair of 64-bit identifiers: fsid4 (RFC 7530
 * §5.8.1.9) and change_policy4 (RFC 8881 §5.8.2): `"major:minor"`, as
 * `info` shows an fsid.
 */
const PAIR_ATTRS: ReadonlySet<string> = new Set(["fsid", "change_policy"]);

/** An attribute's value for JSON, by the rules of cli/json_values.ts. */
function attributeJson(name: string, value: unknown): unknown {
  if (typeof value === "bigint" && ID_ATTRS.has(name)) return jsonId(value);
  if (PAIR_ATTRS.has(name) && isPair(value)) return jsonPair(value);
  return jsonValue(value);
}

function isPair(value: unknown): value is { major: bigint; minor: bigint } {
  return typeof value === "object" && value !== null &&
    typeof (value as { major?: unknown }).major === "bigint" &&
    typeof (value as { minor?: unknown }).minor === "bigint";
}

/**
 * Any other value: a 64-bit number counts something (a size, a number of
 * files, a limit) and is a number (rule 2); a time `{ seconds, nseconds }`
 * (rule 3).
 */
function jsonValue(value: unknown): unknown {
  if (typeof value === "bigint") return jsonCount(value);
  if (isTime(value)) return jsonTime(value);
  if (typeof value === "string") return value.toWellFormed();
  if (value instanceof Uint8Array) return hex(value);
  if (value instanceof Set) {
    return [...value as Set<number>].sort((a, b) => a - b).map(attributeName);
  }
  if (Array.isArray(value)) return value.map(jsonValue);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonValue(v)]));
  }
  return value;
}

/** The `--json` object of one URL. */
export function statJson(
  url: NfsUrl,
  report: AttributeReport,
  ids: IdDatabase,
): Record<string, unknown> {
  const { info, values } = report;
  const attributes: Record<string, unknown> = {};
  for (const { name, value } of report.returned) attributes[name] = attributeJson(name, value);
  attributes["filehandle"] = hex(report.filehandle);
  const supported = supportedNames(report);
  const supportedSet = new Set(supported);
  const user = ownerIds(values.owner, "user", ids);
  const group = ownerIds(values.ownerGroup, "group", ids);
  // A uid or gid: a number (ownerIds() gives a bigint of at most 10 digits), null when unmapped.
  const idValue = (id: bigint | string | undefined) => typeof id === "bigint" ? Number(id) : null;
  return {
    url: url.text,
    ...jsonByteString("path", info.path),
    type: info.kind,
    ...(info.kind === "symlink" && info.linkTarget !== undefined
      ? jsonByteString("target", info.linkTarget)
      : {}),
    filehandle: hex(report.filehandle),
    attributes,
    supported,
    unknown: unknownNames(report, supported),
    not_supported: USUAL_ATTRS.filter((name) => !supportedSet.has(name) && name !== "filehandle"),
    ids: {
      uid: idValue(user.id),
      user: user.name ?? null,
      gid: idValue(group.id),
      group: group.name ?? null,
    },
  };
}
