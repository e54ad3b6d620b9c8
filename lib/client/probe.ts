/**
 * What `nfs4 info` learns about a server: does it answer and how fast (RPC
 * NULL), which NFSv4 minor versions it serves, who it says it is
 * (EXCHANGE_ID, RFC 8881 §18.35), what it grants a session (CREATE_SESSION,
 * §18.36), its lease and attributes, the security flavours of a path
 * (SECINFO_NO_NAME §18.45, or SECINFO, RFC 7530 §16.31), the exports
 * under `/` (the pseudo file system walked down to them, bounded: see
 * {@linkcode listExports}), and its clock.
 *
 * The minor versions are asked with a COMPOUND that creates no state
 * (PUTROOTFH alone: 4.0 answers it, 4.1 and later answer
 * NFS4ERR_OP_NOT_IN_SESSION, which proves the version is served; RFC 8881
 * §16.2.3). The rest comes from one ordinary client of the highest minor
 * version served, closed at the end (DESTROY_SESSION, DESTROY_CLIENTID), so
 * nothing is left on the server. What could not be learned is said, with
 * the reason, never fatal; but a path that names nothing (NFS4ERR_NOENT,
 * NFS4ERR_NOTDIR) fails the probe with that error, as it fails any other
 * command: there is no object to describe.
 *
 * What the server names itself with (server owner, scope, implementation
 * name and domain) is kept as printable ASCII, else shown in hex, so that
 * no escape sequence a server sends reaches a terminal; the implementation
 * date is kept as the nfstime4 sent (any 64-bit seconds decode, RFC 7530
 * §3.3.1, with its nanoseconds), for the caller to show (cli/info.ts: a
 * date no `Date` can hold as its seconds).
 *
 * `writeProbe` creates one file to read the server's clock, EXCLUSIVE4_1
 * (RFC 8881 §18.16.3; GUARDED4 on a persistent session) or on 4.0
 * EXCLUSIVE4 (RFC 7530 §16.16.5) with a verifier of its own, so that an OPEN sent again after its reply was lost
 * finds the file its first transmission made instead of NFS4ERR_EXIST
 * (on 4.0 after a reconnect, a duplicate request cache per connection, as
 * Ganesha's, does not know the resend: RFC 7530 §9.1.9). It is removed
 * whatever happens after the OPEN went out; one that may be left is handed
 * to `onProbeFileLeft`, never passed over in silence.
 * @module
 */

import { RpcCompoundChannel } from "../nfs4/channel.ts";
import { ExchangeIdFlags, SecFlavor, StateProtectHow } from "../nfs4/constants.ts";
import { CreateSessionFlags } from "../nfs4/constants.ts";
import { NfsError } from "../nfs4/errors.ts";
import { RpcProtocolError } from "../rpc/errors.ts";
import type { ExchangeIdResult } from "../nfs4/ops/exchange_id.ts";
import { putfh } from "../nfs4/ops/putfh.ts";
import { putrootfh } from "../nfs4/ops/putrootfh.ts";
import { secinfo } from "../nfs4/ops/secinfo.ts";
import { secinfoNoName } from "../nfs4/ops/secinfo_no_name.ts";
import { Nfs4Status as S, statusName } from "../nfs4/status.ts";
import { hex } from "../nfs4/types.ts";
import type { ConnectOptions, Nfs4ClientApi } from "./api.ts";
import { Nfs4Client } from "./client.ts";
import { displayByteString, encodeByteString, namesOfPath, pathOfNames } from "./names.ts";
import type { AttributeReport, NfsTime } from "./types.ts";
import { cleanupWork } from "./operation_scope.ts";

/** Round trips of RPC NULL, in milliseconds. */
export interface NullTimes {
  readonly sent: number;
  readonly answered: number;
  readonly minMs: number;
  readonly avgMs: number;
  readonly maxMs: number;
}

/** A minor version and the server's answer to a stateless COMPOUND in it. */
export interface MinorVersionAnswer {
  readonly minorVersion: number;
  readonly served: boolean;
  /** `NFS4_OK`, `NFS4ERR_OP_NOT_IN_SESSION`, `NFS4ERR_MINOR_VERS_MISMATCH`, or the error. */
  readonly answer: string;
}

/** Who the server says it is (EXCHANGE_ID4resok). */
export interface ServerIdentity {
  readonly ownerMajorId: string;
  readonly ownerMinorId: string;
  readonly scope: string;
  /** eir_server_impl_id (RFC 8881 §18.35.3), its strings as {@linkcode printable}. */
  readonly implementation:
    | {
      readonly domain: string;
      readonly name: string;
      /** nii_date as sent: seconds since the epoch (any 64-bit count) and nanoseconds. */
      readonly date: NfsTime;
    }
    | undefined;
  /** The EXCHGID4_FLAG_* names it set. */
  readonly flags: readonly string[];
  /** pNFS roles: `non-pNFS`, `MDS`, `DS`. */
  readonly pnfsRoles: readonly string[];
  readonly stateProtection: string;
}

/** What CREATE_SESSION granted (the fore channel, and whether a back channel). */
export interface SessionGrant {
  readonly slots: number;
  readonly maxRequestSize: number;
  readonly maxResponseSize: number;
  readonly maxResponseSizeCached: number;
  readonly maxOperations: number;
  readonly backchannel: boolean;
  /** CREATE_SESSION4_FLAG_CONN_RDMA: always false over TCP. */
  readonly rdma: boolean;
  readonly persistent: boolean;
}

/**
 * A directory {@linkcode listExports} found in the pseudo file system: an
 * export (another file system than the pseudo-root's), else one it did not
 * go into (its fsid unknown, or past the depth limit).
 */
export interface ExportEntry {
  /** From the pseudo-fs root: `/vfs`, `/srv/nfs/home`. */
  readonly path: string;
  readonly fsid: string | undefined;
  /** Another file system than the root's: an export (or a mount inside one). */
  readonly separateFs: boolean;
}

/** How far {@linkcode listExports} walks the pseudo file system. */
export interface ExportWalkLimits {
  /**
   * Levels below `/` looked at: an export deeper than that is not found,
   * and a pseudo-fs directory at the last level is listed, not read.
   */
  readonly maxDepth: number;
  /** Directories looked at in all (each a GETATTR at most); the walk stops there. */
  readonly maxDirectories: number;
}

/** {@linkcode listExports}'s limits: 8 levels, 1000 directories. */
export const EXPORT_WALK_LIMITS: ExportWalkLimits = { maxDepth: 8, maxDirectories: 1000 };

/** Everything `nfs4 info` found. */
export interface ServerProbe {
  readonly server: string;
  readonly rpcNull: NullTimes;
  readonly minorVersions: readonly MinorVersionAnswer[];
  /** The minor version the details below were learned with. */
  readonly detailsVersion: number | undefined;
  readonly identity: ServerIdentity | undefined;
  readonly session: SessionGrant | undefined;
  readonly leaseSeconds: number | undefined;
  /** The URL's path and what the server says of it. */
  readonly path: string;
  readonly fileSystem:
    | {
      readonly fsid: string | undefined;
      readonly maxread: string | undefined;
      readonly maxwrite: string | undefined;
      readonly maxfilesize: string | undefined;
      readonly maxname: number | undefined;
      readonly supportedAttrs: readonly string[];
    }
    | undefined;
  /** The flavours SECINFO(_NO_NAME) listed for the path, in the server's order. */
  readonly security: readonly string[] | undefined;
  readonly exports: readonly ExportEntry[] | undefined;
  readonly clock:
    | {
      /** time_delta: the server's time granularity, in nanoseconds. */
      readonly timeDeltaNs: string | undefined;
      /**
       * The server's time_modify of a file just set to the server's time
       * (SET_TO_SERVER_TIME4) minus this host's clock at the middle of that
       * SETATTR's round trip, in ms (`--write-probe`).
       */
      readonly skewMs: number | undefined;
    }
    | undefined;
  /** What could not be learned, and why. */
  readonly notLearned: readonly string[];
}

/** How {@linkcode probeServer} probes. */
export interface ProbeOptions extends ConnectOptions {
  /** The path whose file system and security flavours to report. */
  readonly path: string;
  /** RPC NULL round trips to time (default 3). */
  readonly count?: number;
  /**
   * Create (and remove) a file `.nfs4-probe-XXXXXX` in the path's directory
   * to compare the server's clock with ours. Off by default: `info` changes
   * nothing unless asked.
   */
  readonly writeProbe?: boolean;
  /**
   * Called when the `writeProbe` file may be left on the server (its REMOVE
   * failed, or its OPEN's outcome is unknown and looking it up failed), also when
   * the probe then ends with an error or an interrupt: the caller names it.
   */
  readonly onProbeFileLeft?: (left: ProbeFileLeft) => void;
}

/** A `--write-probe` file that may be left on the server. */
export interface ProbeFileLeft {
  /** Its path from the pseudo-fs root. */
  readonly path: string;
  /**
   * `left`: it is there (its OPEN was answered, or a lookup found it) and
   * its REMOVE failed. `maybe`: its OPEN's outcome is unknown (no answer:
   * stopped in flight, or no reply in time; or a failure that answered a
   * resend), so the server may have made it, and the lookup that would
   * tell failed.
   */
  readonly certainty: "left" | "maybe";
  /** What failed: the REMOVE, or the lookup. */
  readonly error: unknown;
}

/** Probes the server; see the module documentation. */
export async function probeServer(options: ProbeOptions): Promise<ServerProbe> {
  const notLearned: string[] = [];
  const timeoutMs = options.timeoutMs ?? 30_000;
  const channel = RpcCompoundChannel.to({
    host: options.host,
    port: options.port,
    timeoutMs,
    maxRecordSize: 1 << 20,
    // --pcap: the probes are captured too.
    ...(options.pcap ? { tap: options.pcap } : {}),
    ...(options.reservedPort !== undefined ? { reservedPort: options.reservedPort } : {}),
  });
  let rpcNull: ServerProbe["rpcNull"];
  const minorVersions: MinorVersionAnswer[] = [];
  try {
    rpcNull = await timeNull(channel, options.count ?? 3, timeoutMs, options.signal);
    for (const minor of [0, 1, 2]) {
      minorVersions.push(await askMinorVersion(channel, minor, timeoutMs, options.signal));
    }
  } catch (e) {
    if (!(e instanceof ProbeStop)) throw e;
    return emptyProbe(options, rpcNull!, minorVersions, [e.message]);
  } finally {
    await channel.close();
  }
  const served = minorVersions.filter((m) => m.served).map((m) => m.minorVersion);
  // The version asked for (--vers), else the highest served.
  const asked = { "4.0": 0, "4.1": 1, "4.2": 2, auto: undefined }[options.version ?? "auto"];
  const best = asked !== undefined && served.includes(asked) ? asked : served.at(-1);
  if (best === undefined) {
    return emptyProbe(options, rpcNull, minorVersions, [
      "everything else: the server serves none of NFSv4.0, 4.1, 4.2",
    ]);
  }
  if (!served.some((m) => m >= 1)) {
    notLearned.push("server identity and session: NFSv4.0 has no EXCHANGE_ID nor sessions");
  }
  const client = await Nfs4Client.connect({
    ...options,
    version: best === 0 ? "4.0" : best === 1 ? "4.1" : "4.2",
  });
  try {
    const record = client.manager.client;
    const identity = record.exchangeId ? describeIdentity(record.exchangeId) : undefined;
    const s = record.session;
    const session: SessionGrant | undefined = s
      ? {
        slots: s.fore.maxRequests,
        maxRequestSize: s.fore.maxRequestSize,
        maxResponseSize: s.fore.maxResponseSize,
        maxResponseSizeCached: s.fore.maxResponseSizeCached,
        maxOperations: s.fore.maxOperations,
        backchannel: (s.flags & CreateSessionFlags.CREATE_SESSION4_FLAG_CONN_BACK_CHAN) !== 0,
        rdma: (s.flags & CreateSessionFlags.CREATE_SESSION4_FLAG_CONN_RDMA) !== 0,
        persistent: (s.flags & CreateSessionFlags.CREATE_SESSION4_FLAG_PERSIST) !== 0,
      }
      : undefined;
    const report = await learn(
      notLearned,
      `attributes of ${options.path}`,
      () => client.attributes(options.path, { follow: true }),
      NO_SUCH_PATH,
    );
    const root = options.path === "/" ? report : await learn(
      notLearned,
      "attributes of /",
      () => client.attributes("/"),
    );
    const security = await learn(
      notLearned,
      `security flavours of ${options.path}`,
      () => securityFlavours(client, options.path, report),
    );
    const exports = await learn(
      notLearned,
      "exports under /",
      () => {
        const rootFsid = root?.values.fsid ? formatFsid(root.values.fsid) : undefined;
        return listExports(client, rootFsid, notLearned);
      },
    );
    const skewMs = options.writeProbe
      ? await learn(
        notLearned,
        "clock skew",
        () => clockSkew(client, options.path, report, options.onProbeFileLeft),
      )
      : undefined;
    if (!options.writeProbe) notLearned.push("clock skew: needs --write-probe (creates a file)");
    const values = report?.values;
    return {
      server: formatServer(options),
      rpcNull,
      minorVersions,
      detailsVersion: client.minorVersion,
      identity,
      session,
      leaseSeconds: record.leaseTime,
      path: options.path,
      fileSystem: report
        ? {
          fsid: values?.fsid ? formatFsid(values.fsid) : undefined,
          maxread: values?.maxread?.toString(),
          maxwrite: values?.maxwrite?.toString(),
          maxfilesize: values?.maxfilesize?.toString(),
          maxname: values?.maxname,
          supportedAttrs: report.supported,
        }
        : undefined,
      security,
      exports,
      clock: {
        timeDeltaNs: (root ?? report)?.values.timeDelta
          ? nanoseconds((root ?? report)!.values.timeDelta!).toString()
          : undefined,
        skewMs,
      },
      notLearned,
    };
  } finally {
    await client.close();
  }
}

/** Ends the probe early with what it has (the server does not answer). */
class ProbeStop extends Error {}

function emptyProbe(
  options: ProbeOptions,
  rpcNull: ServerProbe["rpcNull"],
  minorVersions: MinorVersionAnswer[],
  notLearned: string[],
): ServerProbe {
  return {
    server: formatServer(options),
    rpcNull,
    minorVersions,
    detailsVersion: undefined,
    identity: undefined,
    session: undefined,
    leaseSeconds: undefined,
    path: options.path,
    fileSystem: undefined,
    security: undefined,
    exports: undefined,
    clock: undefined,
    notLearned,
  };
}

function formatServer(options: { host: string; port: number }): string {
  return options.host.includes(":")
    ? `[${options.host}]:${options.port}`
    : `${options.host}:${options.port}`;
}

/**
 * The statuses that say the URL's path names nothing (LOOKUP, RFC 8881
 * §18.13.3): the probe fails with them, as `stat` of the path would. Others
 * (NFS4ERR_ACCESS, NFS4ERR_WRONGSEC, NFS4ERR_MOVED...) describe an object
 * that is there: what `info` is asked to find out, so they are not learned.
 */
const NO_SUCH_PATH: ReadonlySet<number> = new Set([S.NFS4ERR_NOENT, S.NFS4ERR_NOTDIR]);

/**
 * Runs `fn`; a server status or refusal becomes a line of `notLearned`,
 * but for those in `fatal`, which are thrown. So does a reply that did not
 * decode (RpcProtocolError: a server that sets an attribute's bit and sends
 * no value, say): the server answered, and what it answered is the finding.
 */
async function learn<T>(
  notLearned: string[],
  what: string,
  fn: () => Promise<T>,
  fatal: ReadonlySet<number> = new Set(),
): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof RpcProtocolError) {
      notLearned.push(`${what}: ${e.message}`);
      return undefined;
    }
    if (!(e instanceof NfsError) || fatal.has(e.status)) throw e;
    notLearned.push(`${what}: ${e.statusName}`);
    return undefined;
  }
}

/**
 * Times `count` RPC NULL calls. No answer at all throws the first error
 * (the server is not there: nothing else can be learned); some answers
 * report them.
 */
async function timeNull(
  channel: RpcCompoundChannel,
  count: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<NullTimes> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    try {
      await channel.ping({ timeoutMs, ...(signal ? { signal } : {}) });
      times.push(performance.now() - started);
    } catch (e) {
      if (times.length === 0) throw e;
    }
  }
  return {
    sent: count,
    answered: times.length,
    minMs: Math.min(...times),
    avgMs: times.reduce((a, b) => a + b, 0) / times.length,
    maxMs: Math.max(...times),
  };
}

async function askMinorVersion(
  channel: RpcCompoundChannel,
  minorVersion: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<MinorVersionAnswer> {
  try {
    const reply = await channel.compound(
      { tag: "nfs4 info", minorVersion, ops: [putrootfh()] },
      { timeoutMs, ...(signal ? { signal } : {}) },
    );
    const status = reply.status;
    const served = status === S.NFS4_OK ||
      (minorVersion > 0 && status === S.NFS4ERR_OP_NOT_IN_SESSION);
    return { minorVersion, served, answer: statusName(status) };
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new ProbeStop(`NFSv4.${minorVersion} COMPOUND: ${(e as Error).message}`);
  }
}

const FLAG_NAMES: readonly [number, string][] = [
  [ExchangeIdFlags.EXCHGID4_FLAG_SUPP_MOVED_REFER, "SUPP_MOVED_REFER"],
  [ExchangeIdFlags.EXCHGID4_FLAG_SUPP_MOVED_MIGR, "SUPP_MOVED_MIGR"],
  [ExchangeIdFlags.EXCHGID4_FLAG_SUPP_FENCE_OPS, "SUPP_FENCE_OPS"],
  [ExchangeIdFlags.EXCHGID4_FLAG_BIND_PRINC_STATEID, "BIND_PRINC_STATEID"],
  [ExchangeIdFlags.EXCHGID4_FLAG_USE_NON_PNFS, "USE_NON_PNFS"],
  [ExchangeIdFlags.EXCHGID4_FLAG_USE_PNFS_MDS, "USE_PNFS_MDS"],
  [ExchangeIdFlags.EXCHGID4_FLAG_USE_PNFS_DS, "USE_PNFS_DS"],
  [ExchangeIdFlags.EXCHGID4_FLAG_UPD_CONFIRMED_REC_A, "UPD_CONFIRMED_REC_A"],
  [ExchangeIdFlags.EXCHGID4_FLAG_CONFIRMED_R, "CONFIRMED_R"],
];

/**
 * What an EXCHANGE_ID result (RFC 8881 §18.35.3) says of the server, every
 * string it sent made {@linkcode printable}.
 *
 * @example
 * ```ts ignore
 * describeIdentity(result).implementation?.name; // "nfs-ganesha", or "0x1b5b..." when not ASCII
 * ```
 */
export function describeIdentity(result: ExchangeIdResult): ServerIdentity {
  const flags = FLAG_NAMES.filter(([bit]) => (result.flags & bit) !== 0).map(([, name]) => name);
  const roles = [
    [ExchangeIdFlags.EXCHGID4_FLAG_USE_NON_PNFS, "non-pNFS"],
    [ExchangeIdFlags.EXCHGID4_FLAG_USE_PNFS_MDS, "MDS"],
    [ExchangeIdFlags.EXCHGID4_FLAG_USE_PNFS_DS, "DS"],
  ] as const;
  const how = result.stateProtect.how;
  const impl = result.implId;
  return {
    ownerMajorId: printable(result.serverOwner.majorId),
    ownerMinorId: result.serverOwner.minorId.toString(),
    scope: printable(result.serverScope),
    implementation: impl
      ? {
        domain: printable(encodeByteString(impl.domain)),
        name: printable(encodeByteString(impl.name)),
        date: { seconds: impl.date.seconds, nseconds: impl.date.nseconds },
      }
      : undefined,
    flags,
    pnfsRoles: roles.filter(([bit]) => (result.flags & bit) !== 0).map(([, name]) => name),
    stateProtection: how === StateProtectHow.SP4_NONE
      ? "none (SP4_NONE)"
      : how === StateProtectHow.SP4_MACH_CRED
      ? "machine credential (SP4_MACH_CRED)"
      : how === StateProtectHow.SP4_SSV
      ? "SSV (SP4_SSV)"
      : `unknown (${how})`,
  };
}

/** Opaque bytes as text when they are printable ASCII (C strings' final NULs aside), else hex. */
function printable(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 1 && bytes[end - 1] === 0) end--;
  const text = bytes.subarray(0, end);
  return text.length > 0 && text.every((b) => b >= 0x20 && b < 0x7f)
    ? new TextDecoder().decode(text)
    : `0x${hex(bytes)}`;
}

function formatFsid(fsid: { major: bigint; minor: bigint }): string {
  return `${fsid.major}:${fsid.minor}`;
}

function nanoseconds(time: { seconds: bigint; nseconds: number }): bigint {
  return time.seconds * 1_000_000_000n + BigInt(time.nseconds);
}

const FLAVOURS: Record<number, string> = {
  [SecFlavor.AUTH_NONE]: "AUTH_NONE",
  [SecFlavor.AUTH_SYS]: "AUTH_SYS",
  [SecFlavor.RPCSEC_GSS]: "RPCSEC_GSS",
};

const GSS_SERVICES: Record<number, string> = { 1: "none", 2: "integrity", 3: "privacy" };

/**
 * SECINFO_NO_NAME (4.1+) on the path's handle, or SECINFO (4.0) of its name
 * in its parent. 4.0 has no way to ask about the root itself.
 */
async function securityFlavours(
  client: Nfs4Client,
  path: string,
  report: AttributeReport | undefined,
): Promise<string[] | undefined> {
  let list;
  if (client.minorVersion >= 1) {
    if (!report) return undefined;
    const [, result] = await client.manager.run(() =>
      [putfh(report.filehandle), secinfoNoName()] as const
    );
    list = result;
  } else {
    const components = namesOfPath(path);
    const name = components.pop();
    if (name === undefined) {
      throw new NfsError(S.NFS4ERR_NOTSUPP, "SECINFO", { path });
    }
    const parent = await client.attributes(pathOfNames(components), { follow: true });
    const [, result] = await client.manager.run(() =>
      [putfh(parent.filehandle), secinfo(name)] as const
    );
    list = result;
  }
  return list.map((info) =>
    info.gss
      ? `RPCSEC_GSS (${GSS_SERVICES[info.gss.service] ?? `service ${info.gss.service}`})`
      : FLAVOURS[info.flavor] ?? `flavour ${info.flavor}`
  );
}

/**
 * The exports under `/`: the pseudo file system (RFC 7530 §7, RFC 8881 §7)
 * joins the exports with directories of its own, which have the
 * pseudo-root's fsid (RFC 7530 §5.8.1.9); an export is where the fsid
 * changes, a file system boundary. So the walk goes down, breadth first,
 * through the directories that have `rootFsid` and lists, with their full
 * paths, those that do not, without going into them: knfsd's
 * `/srv/nfs/home` under the pseudo directories `srv` and `nfs`, Ganesha's
 * `Pseudo = /exports/a` (its pseudo directories have the fsid 152:152).
 *
 * Each directory's fsid is READDIR's (knfsd and Ganesha give the fsid of
 * the file system mounted on it, as LOOKUP would cross into it); one with
 * the root's fsid, or with none (rdattr_error), is looked up before the
 * walk goes into it: a LOOKUP that crosses a file system boundary returns
 * another fsid (RFC 7530 §5.8.2.23, mounted_on_fileid). One whose fsid
 * cannot be had is listed as unknown and not gone into; an unknown
 * `rootFsid` lists `/`'s directories alone. A failure to read `/` is thrown
 * (nothing learned); a directory below it that cannot be read (a status, a
 * reply that does not decode), and a walk cut by `limits`, are lines of
 * `notLearned`. At most `limits.maxDirectories` directories are looked at
 * (one LOOKUP each at most) and as many read (READDIR).
 *
 * @example
 * ```ts ignore
 * await listExports(client, "152:152", notLearned);
 * // [{ path: "/top/mem", fsid: "2:0", separateFs: true }, { path: "/top/nested/vfs", ... }]
 * ```
 */
export async function listExports(
  client: Pick<Nfs4ClientApi, "readdir" | "stat">,
  rootFsid: string | undefined,
  notLearned: string[],
  limits: ExportWalkLimits = EXPORT_WALK_LIMITS,
): Promise<ExportEntry[]> {
  const entries: ExportEntry[] = [];
  /** Pseudo-fs directories to read, with their depth below `/`. */
  const queue: { path: string; depth: number }[] = [{ path: "/", depth: 0 }];
  let looked = 0;
  /** Pseudo-fs directories not read for the depth limit. */
  const tooDeep: string[] = [];
  let cut = false;
  while (queue.length > 0 && !cut) {
    const dir = queue.shift()!;
    try {
      for await (const entry of client.readdir(dir.path, { fields: ["fsid"] })) {
        if (entry.kind !== "directory") continue;
        if (looked >= limits.maxDirectories) {
          cut = true;
          break;
        }
        looked++;
        let fsid = entry.attrError === undefined ? entry.fsid : undefined;
        if (fsid === undefined || fsid === rootFsid) {
          // A directory whose attributes cannot be had (a status, a reply
          // that did not decode) is listed without its fsid.
          fsid = await client.stat(entry.path).then((info) => info.fsid, (e) => {
            if (e instanceof NfsError || e instanceof RpcProtocolError) return undefined;
            throw e;
          });
        }
        const path = displayByteString(entry.path);
        if (rootFsid === undefined || fsid !== rootFsid) {
          entries.push({ path, fsid, separateFs: fsid !== undefined && rootFsid !== undefined });
        } else if (dir.depth + 1 < limits.maxDepth) {
          queue.push({ path: entry.path, depth: dir.depth + 1 });
        } else {
          entries.push({ path, fsid, separateFs: false });
          tooDeep.push(path);
        }
      }
    } catch (e) {
      if (dir.path === "/" || !(e instanceof NfsError || e instanceof RpcProtocolError)) throw e;
      const why = e instanceof NfsError ? e.statusName : e.message;
      notLearned.push(`exports under ${displayByteString(dir.path)}: ${why}`);
    }
  }
  if (tooDeep.length > 0) {
    const more = tooDeep.length > 1 ? ` and ${tooDeep.length - 1} more` : "";
    notLearned.push(
      `exports more than ${limits.maxDepth} levels below /: not looked for ` +
        `(${tooDeep[0]}${more} not read)`,
    );
  }
  if (cut) {
    notLearned.push(
      `exports past the first ${limits.maxDirectories} directories: not looked for ` +
        "(the walk stops there)",
    );
  }
  return entries;
}

/**
 * Creates `.nfs4-probe-XXXXXX` in the directory of `path`, sets its times to
 * the server's (SET_TO_SERVER_TIME4), reads back its time_modify and
 * removes it; the skew is that time minus the midpoint of our clock around
 * the SETATTR.
 *
 * The create is exclusive (EXCLUSIVE4_1 on 4.1, RFC 8881 §18.16.3; on 4.0
 * EXCLUSIVE4, RFC 7530 §16.16.5): never over an existing file, and an OPEN
 * sent again after a lost reply or a reconnect finds the file its first
 * transmission made by the verifier (Nfs4Client.open's own), where a
 * GUARDED4 resend met NFS4ERR_EXIST and left the file. The server keeps the
 * verifier in the file's times until they are set, hence the SETATTR. On a
 * persistent session (CREATE_SESSION4_FLAG_PERSIST), and on a server that
 * refused EXCLUSIVE4_1 (NFS4ERR_NOTSUPP), it is GUARDED4 (lib/state/files.ts
 * exclusiveCreateHow): a resend there is answered from the reply cache; one
 * on a new session that meets NFS4ERR_EXIST is unknown, as below.
 *
 * Once the OPEN went out the file is removed whatever happens: made (the
 * OPEN answered), by its REMOVE; unknown (no answer: stopped in flight, no
 * reply in time, or NFS4ERR_EXIST answering a resend), by a lookup first
 * and a REMOVE when a regular file is there: the name is random and was
 * absent when the OPEN was sent, so that file is the one it made. A file
 * that may stay goes to `onLeft`.
 */
async function clockSkew(
  client: Nfs4Client,
  path: string,
  report: AttributeReport | undefined,
  onLeft: ((left: ProbeFileLeft) => void) | undefined,
): Promise<number> {
  const dir = report?.info.kind === "directory" ? path : path.replace(/\/[^/]*\/?$/, "") || "/";
  const letters = "abcdefghijklmnopqrstuvwxyz0123456789";
  const random = crypto.getRandomValues(new Uint8Array(6));
  const name = ".nfs4-probe-" + [...random].map((b) => letters[b % letters.length]).join("");
  const file = `${dir.replace(/\/$/, "")}/${name}`;
  /** Whether the file is there to remove: made, maybe made, or not made. */
  let made: "made" | "unknown" | "none" = "none";
  try {
    let open;
    try {
      open = await client.open(file, { access: "write", create: "exclusive", mode: 0o600 });
    } catch (e) {
      made = createOutcome(e);
      throw e;
    }
    made = "made";
    const before = Date.now();
    await open.setattr({ timeAccessSet: "server", timeModifySet: "server" });
    const after = Date.now();
    await open.close();
    const created = await client.attributes(file);
    const modify = created.values.timeModify;
    if (!modify) throw new NfsError(S.NFS4ERR_ATTRNOTSUPP, "GETATTR", { path: file });
    const serverMs = Number(nanoseconds(modify) / 1_000_000n);
    return serverMs - (before + after) / 2;
  } finally {
    if (made !== "none") {
      // Cleanup: not stopped by the soft stop that ended the work (Ctrl-C).
      const left = await cleanupWork(() => removeProbeFile(client, file, made === "made"));
      if (left) onLeft?.(left);
    }
  }
}

/**
 * What a failed exclusive OPEN of the probe file left: `none` when the
 * server answered it with a refusal (NFS4ERR_EXIST there is another's file,
 * never touched), or the walk before it failed; `unknown` when the OPEN may
 * have run unanswered (no reply, stopped in flight, a failure answering a
 * resend: NfsError.answeredResend) or failed after it ran (4.0's
 * OPEN_CONFIRM or mode SETATTR).
 */
function createOutcome(error: unknown): "unknown" | "none" {
  if (!(error instanceof NfsError) || error.answeredResend) return "unknown";
  return WALK_AND_OPEN_OPS.has(error.op) ? "none" : "unknown";
}

/**
 * The operations that run before the OPEN, and the OPEN: a refusal by one
 * of them made nothing. (A GETFH or GETATTR may come after the OPEN, in
 * its COMPOUND: the file is looked up then.)
 */
const WALK_AND_OPEN_OPS: ReadonlySet<string> = new Set(["PUTROOTFH", "PUTFH", "LOOKUP", "OPEN"]);

/**
 * Removes the probe file; `made`: its OPEN was answered, else it is looked
 * up first and removed only as a regular file (see clockSkew). Returns what
 * may be left, undefined when nothing is.
 */
async function removeProbeFile(
  client: Nfs4Client,
  file: string,
  made: boolean,
): Promise<ProbeFileLeft | undefined> {
  let there = made;
  try {
    if (!there) {
      const found = await client.stat(file).catch((e) => {
        if (e instanceof NfsError && e.status === S.NFS4ERR_NOENT) return undefined;
        throw e;
      });
      if (found?.kind !== "file") return undefined;
      there = true;
    }
    await client.remove(file);
    return undefined;
  } catch (e) {
    return { path: file, certainty: there ? "left" : "maybe", error: e };
  }
}
