/**
 * The file-level NFSv4 client the commands use: path walking from the
 * pseudo-fs root (RFC 7530 §7), directory listing, symlinks, opens and
 * pipelined reads. All state goes through the state manager; this layer
 * never decides about recovery.
 *
 * @example
 * ```ts
 * const client = await Nfs4Client.connect({ host: "127.0.0.1", port: 2049 });
 * for await (const entry of client.readdir("/vfs")) console.log(entry.name);
 * await client.close();
 * ```
 * @module
 */

import { hostname } from "node:os";
import process from "node:process";
import { RpcCompoundChannel } from "../nfs4/channel.ts";
import { bindOp, tapped } from "../nfs4/compound.ts";
import {
  Attr,
  attrKey,
  attrName,
  type DecodedFattr,
  type FattrValues,
  type FileAttributes,
  int64Bigint,
  type Int64Value,
  nfsTimeNanoseconds,
  type SettableAttributes,
  usableTime,
} from "../nfs4/attrs.ts";
import {
  FileType,
  LockType,
  NFS4_UINT64_MAX,
  ShareAccess,
  ShareDeny,
  StableHow,
} from "../nfs4/constants.ts";
import type { OpList } from "../nfs4/compound.ts";
import { CreatedFileLeftError, leftBy } from "../state/created_left.ts";
import { NfsError } from "../nfs4/errors.ts";
import { displayByteString } from "../nfs4/names.ts";
import { getattr } from "../nfs4/ops/getattr.ts";
import { getfh } from "../nfs4/ops/getfh.ts";
import { lookup } from "../nfs4/ops/lookup.ts";
import { verify } from "../nfs4/ops/verify.ts";
import { putfh } from "../nfs4/ops/putfh.ts";
import { putrootfh } from "../nfs4/ops/putrootfh.ts";
import { read } from "../nfs4/ops/read.ts";
import { write, type WriteResult } from "../nfs4/ops/write.ts";
import { commit } from "../nfs4/ops/commit.ts";
import { setattr } from "../nfs4/ops/setattr.ts";
import { lockt } from "../nfs4/ops/lockt.ts";
import type { LockDenied } from "../nfs4/ops/lock.ts";
import { readdirCodec, type ReaddirPage } from "../nfs4/ops/readdir.ts";
import { readlink as readlinkOp } from "../nfs4/ops/readlink.ts";
import { create } from "../nfs4/ops/create.ts";
import { remove } from "../nfs4/ops/remove.ts";
import { rename } from "../nfs4/ops/rename.ts";
import { seek, SeekContent } from "../nfs4/ops/seek.ts";
import { link } from "../nfs4/ops/link.ts";
import { savefh } from "../nfs4/ops/savefh.ts";
import { Nfs4Status as S, statusName } from "../nfs4/status.ts";
import {
  ANONYMOUS_STATEID,
  bytesEqual,
  type FileHandle,
  formatStateid,
  hex,
  type NfsTime,
  type Stateid,
} from "../nfs4/types.ts";
import { claimClientOwner, type ClientOwner } from "../state/client_owner.ts";
import {
  closeFile,
  createAttributes,
  knownCreateSupport,
  lockFile,
  noteLockWait,
  noteSizeSet,
  noteWritten,
  type OpenedFile,
  openFile,
  type OpenRequest,
  unlockFile,
} from "../state/files.ts";
import { openAndRead, type SmallRead } from "../state/small_file.ts";
import { type SmallUploadEnd, writeSetattrClose } from "../state/small_upload.ts";
import {
  canCreateInOne,
  canPlaceInOne,
  createWriteSetattrClose,
  ownershipAsked,
  ownershipOf,
  type OwnershipRead,
  type Placing,
} from "../state/small_create.ts";

export type { OwnershipRead, Placing };
import { type DirectoryHandles, PrefetchedFile } from "./small_file.ts";
import { SeenCookies } from "./seen_cookies.ts";
import { UncommittedWrites } from "./uncommitted_writes.ts";
import { ioSize, type PendingRead, readAheadDepth, restOfShortRead } from "./byte_range.ts";
import {
  ClientClosedError,
  type Identity,
  type RunOptions,
  SessionGrantError,
  StateManager,
  StateProtectionError,
} from "../state/manager.ts";
import {
  formatRange,
  type LockState,
  type OpenState,
  type ShareModes,
} from "../state/open_state.ts";
import type { LockOwner } from "../state/owners.ts";
import { Tracer } from "../state/trace.ts";
import { operationSignal, outsideOperationScope } from "../state/operation_scope.ts";
import { inCleanupWork } from "./operation_scope.ts";
import { LARGEST_READ as MAX_READ, LARGEST_WRITE as MAX_WRITE } from "../state/procs.ts";

/**
 * For a program that owns its process and event loop, as the `nfs4` command
 * does: `useFfiSockets()` makes Bun on Linux use the FFI socket, which takes
 * the process's SIGIO, and `setStreamingReplyWait()` lets a large read wait
 * for its replies on the main thread (lib/rpc/socket_backend.ts, socket_ffi.ts).
 */
export { setStreamingReplyWait, useFfiSockets } from "../rpc/socket_backend.ts";
import { settleUnknownOutcome, staleAtPutfh, walkAgainOnStale } from "../state/exactly_once.ts";
import { RpcProtocolError } from "../rpc/errors.ts";
import { UNREADABLE_ATTRS } from "./unreadable_attrs.ts";
import {
  type ConnectOptions,
  type FileSetattr,
  type LeaseProbe,
  type LockHolder,
  type LockLost,
  type LockOptions,
  type LockRange,
  type Nfs4ClientApi,
  type OpenFile,
  type OpenOptions,
  type PathSetattr,
  type ReaddirField,
  type ReaddirOptions,
  RETRY_BUDGET_FACTOR,
  type StateSummary,
  type StatOptions,
  type WritableFile,
} from "./api.ts";
import { checkAttributesSet } from "../nfs4/attrs_set.ts";
import {
  crashedError,
  describeLockHolder,
  FileClosedError,
  formatOwner,
  LockConflictError,
  MinorVersionError,
  PathError,
  plausibleHolder,
  StateNotReleasedError,
  WriteNotCommittedError,
} from "./errors.ts";
import { endOfData, EndOfFileCheck, nothingPast } from "./read_progress.ts";
import { checkConnectOptions, checkInteger, checkPath, MODE, UINT32, UINT64 } from "./arguments.ts";
import { checkListedNames } from "./listed_names.ts";
import { nameInPath, namesOfPath, pathOfNames } from "./names.ts";
import {
  FS_TRAIT_ATTRS,
  type FsTraits,
  FsTraitsCache,
  nameTooLong,
  supportedOf,
  traitsFrom,
} from "./fs_traits.ts";
import { formatHost } from "./url.ts";
import { symlinkInTree, SymlinkInTreeError, TreeGuards } from "./tree_guard.ts";
import type { AttributeReport, FileInfo, FileKind } from "./types.ts";

/** Attributes `ls -l` and `--json` show. */
const LIST_ATTRS: readonly number[] = [
  Attr.TYPE,
  Attr.MODE,
  Attr.NUMLINKS,
  Attr.OWNER,
  Attr.OWNER_GROUP,
  Attr.SIZE,
  Attr.SPACE_USED,
  Attr.TIME_ACCESS,
  Attr.TIME_METADATA,
  Attr.TIME_MODIFY,
  Attr.FILEID,
  Attr.RAWDEV,
  Attr.FILEHANDLE,
  Attr.FSID,
  Attr.CHANGE,
];

/**
 * What a path walk's GETATTR asks for where the file system of the name is
 * not known yet (#walk): all of LIST_ATTRS, and what makes its file system
 * known (lib/client/fs_traits.ts).
 */
const WALK_IDS: readonly number[] = [...new Set([...LIST_ATTRS, ...FS_TRAIT_ATTRS])];

/** The attributes behind each field `readdir()` can be asked for (TYPE always comes). */
const READDIR_FIELD_ATTRS: Readonly<Record<ReaddirField, readonly number[]>> = {
  mode: [Attr.MODE],
  nlink: [Attr.NUMLINKS],
  owner: [Attr.OWNER],
  group: [Attr.OWNER_GROUP],
  size: [Attr.SIZE],
  spaceUsed: [Attr.SPACE_USED],
  atime: [Attr.TIME_ACCESS],
  mtime: [Attr.TIME_MODIFY],
  ctime: [Attr.TIME_METADATA],
  fileid: [Attr.FILEID],
  fsid: [Attr.FSID],
  change: [Attr.CHANGE],
  rdev: [Attr.RAWDEV],
  // A symlink's target is read by its name in the directory (PUTFH LOOKUP
  // READLINK): no handle per entry for the few that are symlinks.
  linkTarget: [],
};

/** The attribute ids for `fields`, ascending. */
function readdirAttrs(fields: readonly ReaddirField[]): number[] {
  const ids = new Set<number>([Attr.TYPE]);
  for (const field of fields) for (const id of READDIR_FIELD_ATTRS[field]) ids.add(id);
  return [...ids].sort((a, b) => a - b);
}

/**
 * The READDIR reply size asked for (maxcount; the session may allow less).
 * 256 KiB holds ~2,000 entries with `ls -l`'s attributes: few round trips,
 * and the next page's wait overlaps this one's decoding.
 */
const READDIR_PAGE_BYTES = 256 * 1024;

/**
 * The first READDIR reply size asked for; the second asks for the rest of
 * a full-sized page ({@linkcode READDIR_PAGE_BYTES}), the others for a full
 * page each. A server produces a small page sooner, and the client decodes
 * it while the server produces the next (a caching Ganesha on loopback
 * makes 256 KiB in ~5 ms, which the client waited for at the start of every
 * listing); after the second page they end where full pages would have, so
 * a listing takes at most one round trip more (a directory of more than 32
 * KiB of entries, ~300 with `ls -l`'s attributes). Small directories fit in
 * the first all the same.
 */
const READDIR_FIRST_PAGE_BYTES = 32 * 1024;

/** READLINKs of one READDIR page's symlinks in flight at once. */
const READLINKS_IN_FLIGHT = 8;

/**
 * Answers to a GETATTR that refuse the attributes asked for rather than
 * the object: worth asking again one attribute at a time.
 */
const ATTRIBUTE_REFUSALS: ReadonlySet<number> = new Set([
  S.NFS4ERR_ATTRNOTSUPP,
  S.NFS4ERR_INVAL,
  S.NFS4ERR_SERVERFAULT,
  S.NFS4ERR_RESOURCE,
  S.NFS4ERR_REP_TOO_BIG,
  S.NFS4ERR_TOOSMALL,
  S.NFS4ERR_NOTSUPP,
  S.NFS4ERR_IO,
]);

/**
 * Whether a GETATTR failed for the attributes asked rather than the object:
 * one of {@linkcode ATTRIBUTE_REFUSALS}, or a reply that did not decode (an
 * attribute's bit set with no value, as knfsd answers mode_umask).
 */
function refusesAttributes(e: unknown): boolean {
  return (e instanceof NfsError && ATTRIBUTE_REFUSALS.has(e.status)) ||
    e instanceof RpcProtocolError;
}

/** The attributes whose value is an nfstime4 (RFC 7530 §5.7, §5.8.2; RFC 8881 §5.11). */
const TIME_ATTRS: readonly number[] = [
  Attr.TIME_ACCESS,
  Attr.TIME_BACKUP,
  Attr.TIME_CREATE,
  Attr.TIME_DELTA,
  Attr.TIME_METADATA,
  Attr.TIME_MODIFY,
  Attr.DIR_NOTIF_DELAY,
  Attr.DIRENT_NOTIF_DELAY,
];

/** A path naming a directory: it ends in `/` or `/.` (POSIX.1-2017 §4.13). */
const DIRECTORY_PATH = /\/\.?$/;

/** Symlinks followed while walking one path before giving up (ELOOP). */
const MAX_SYMLINKS = 40;

/** One name a path walk looked up. */
interface WalkedName {
  readonly name: string;
  readonly fh: FileHandle;
  readonly attrs: FileAttributes;
  /** What its GETATTR asked for. */
  readonly asked: readonly number[];
}

/** A walked path: handle and attributes of the object and of its directory. */
interface Resolved {
  readonly fh: FileHandle;
  readonly attrs: FileAttributes;
  readonly path: string;
  readonly components: readonly string[];
  /** The handle of the directory holding the last component, when the walk passed it. */
  readonly parentFh?: FileHandle;
}

/**
 * `--vers auto`: the minor versions tried, best first (4.2 is 4.1 with SEEK
 * for sparse files); a server answering NFS4ERR_MINOR_VERS_MISMATCH moves
 * on to the next (RFC 8881 §2.7).
 */
const AUTO_MINOR_VERSIONS: readonly (0 | 1 | 2)[] = [2, 1, 0];

/**
 * The most bytes a file made in one COMPOUND (Nfs4Client.createWriteCloseIn)
 * holds: the copy's small files; a larger one is written the ordinary way.
 */
export const SMALL_CREATE_BYTES = 64 * 1024;

/** What an open file needs of its OPEN's GETATTR (NfsFile: size, change, read and write sizes). */
const OPENED_FILE_ATTRS = [Attr.TYPE, Attr.SIZE, Attr.CHANGE, Attr.MAXREAD, Attr.MAXWRITE];

/**
 * The shares of lib/state/small_file.ts's and small_create.ts's OPENs,
 * which their handles give up at close (one that named a share the state
 * does not count would only leave the union as wide as it was).
 */
const READ_SHARE: ShareModes = {
  access: ShareAccess.OPEN4_SHARE_ACCESS_READ,
  deny: ShareDeny.OPEN4_SHARE_DENY_NONE,
};
const WRITE_SHARE: ShareModes = {
  access: ShareAccess.OPEN4_SHARE_ACCESS_WRITE,
  deny: ShareDeny.OPEN4_SHARE_DENY_NONE,
};

/** An OPEN of open() or createExclusiveIn(), but for where (Nfs4Client #openHow). */
interface OpenHow {
  /** The OPEN's arguments, but for the directory, the name and the path. */
  readonly request: Omit<OpenRequest, "dirFh" | "name" | "path">;
  /** 4.0's exclusive create with a mode: a SETATTR of the mode follows the OPEN. */
  readonly modeFollows: boolean;
  /** The attributes the OPEN's GETATTR wants, before any file system's supported_attrs. */
  readonly openedIds: readonly number[];
}

/** What {@linkcode Nfs4Client.createWriteCloseIn} did. */
export type CreatedInOne =
  /** Made, written, its attributes set and closed. */
  | {
    readonly done: true;
    readonly fh: FileHandle;
    /** The directory it was made in (its handle, for a LINK from there). */
    readonly parentFh: FileHandle;
    /** The WRITE's result (undefined: no data). */
    readonly write: WriteResult | undefined;
    /** A COMMIT's verifier, when the WRITE was answered less than FILE_SYNC4. */
    readonly commitVerifier?: Uint8Array;
    /** What became of `placeAs`, when it was asked for and could be tried. */
    readonly placing?: Placing;
    /**
     * The owner and group the server holds after `options.owner` was given,
     * read in the same COMPOUND (it may answer the SETATTR NFS4_OK and keep
     * others: a squashing export); undefined when not read.
     */
    readonly ownership?: OwnershipRead;
    /** The COMMIT's failure, for a file that had been placed (see `placing`). */
    readonly commitError?: unknown;
  }
  /**
   * Made and open, nothing written: write, set and close through `file`.
   * `ownerError`: the owner's SETATTR was refused (`options.owner`).
   */
  | {
    readonly done: false;
    readonly file: NfsFile;
    readonly ownerError?: unknown;
    /** The owner's SETATTR ran: it is not to be sent again. */
    readonly ownerGiven?: boolean;
    /** What the server holds after it, when read in the same COMPOUND (as for `done: true`). */
    readonly ownership?: OwnershipRead;
  };

export { CreatedFileLeftError };

/**
 * An NFSv4 client of one server: {@linkcode Nfs4Client.connect} makes one
 * (a client ID, on 4.1 and 4.2 a session, a connection), and its methods
 * act by path from the server's pseudo-fs root ({@linkcode Nfs4ClientApi}
 * says what each does). Opens and locks are the state manager's
 * (lib/state): it renews the lease and recovers them after a server
 * restart, a lost lease or a broken connection, as the Linux client does.
 *
 * End it with {@linkcode close} (or `await using`): it releases what the
 * client holds on the server. Until then its TCP connection keeps the
 * process alive, so a client forgotten while it holds state on the server
 * does not exit as if nothing were left.
 *
 * @example
 * ```ts
 * await using client = await Nfs4Client.connect({ host: "127.0.0.1", port: 2049 });
 * for await (const entry of client.readdir("/vfs")) console.log(entry.name, entry.size);
 * {
 *   await using file = await client.open("/vfs/notes.txt", { access: "write", create: "unchecked" });
 *   await file.write(0n, new TextEncoder().encode("hello\n"), "file");
 * }
 * console.log((await client.stat("/vfs/notes.txt")).size); // 6n
 * ```
 */
export class Nfs4Client implements Nfs4ClientApi {
  /**
   * The state manager (lib/state/manager.ts): its opens, locks, session
   * and recovery.
   *
   * @internal For the tests and the recovery drills; a program uses the
   * client's methods, and {@linkcode describeState} to look.
   */
  readonly manager: StateManager;
  readonly #owner: ClientOwner;
  readonly #channel: RpcCompoundChannel;
  /**
   * What the pseudo-fs root's file system says of itself (supported_attrs,
   * maxname), asked once: the traits of a file system not known otherwise.
   */
  #rootFs: FsTraits | undefined;
  /** Each file system's traits, by fsid, learned by the walks (fs_traits.ts). */
  readonly #fs = new FsTraitsCache();
  /**
   * The traits of the file system of each directory handle walked for a
   * batch (#directoryHandle, openReadAhead): names made or looked up in it
   * are held to its maxname, its GETATTRs ask for what it supports.
   */
  readonly #dirFs = new WeakMap<FileHandle, FsTraits>();
  #closed = false;
  /** crash() was called: calls are refused saying so (not "close() was called"). */
  #crashed = false;
  /** The trees whose symlinks no walk follows now (tree_guard.ts, {@linkcode guardTree}). */
  readonly #guards = new TreeGuards();

  private constructor(manager: StateManager, owner: ClientOwner, channel: RpcCompoundChannel) {
    this.manager = manager;
    this.#owner = owner;
    this.#channel = channel;
  }

  /**
   * Connects and establishes the client (and session). With version `auto`
   * (the default) 4.2, 4.1 and 4.0 are tried in turn, moving on when the
   * server answers NFS4ERR_MINOR_VERS_MISMATCH. `options` are checked
   * first (arguments.ts `checkConnectOptions`: a `TypeError` or
   * `RangeError` naming the option, nothing sent). When it fails or is
   * aborted (`signal`) after the server made a client ID, that is destroyed
   * before it rejects ({@linkcode #giveUp}): the caller has no client to
   * close().
   *
   * @example
   * ```ts
   * import { Nfs4Client, parseNfsUrl } from "../../mod.ts";
   *
   * const url = parseNfsUrl("nfs://127.0.0.1/vfs");
   * const client = await Nfs4Client.connect({
   *   host: url.host,
   *   port: url.port,
   *   version: "4.1", // default "auto": 4.2, then 4.1, then 4.0
   *   timeoutMs: 10_000, // per call; an operation retries for 4 times that
   * });
   * try {
   *   console.log(client.minorVersion, client.describeState().clientId);
   * } finally {
   *   await client.close();
   * }
   * ```
   */
  static async connect(options: ConnectOptions): Promise<Nfs4Client> {
    checkConnectOptions(options);
    const version = options.version ?? "auto";
    const tries: readonly (0 | 1 | 2)[] = version === "4.0"
      ? [0]
      : version === "4.1"
      ? [1]
      : version === "4.2"
      ? [2]
      : AUTO_MINOR_VERSIONS;
    const tracer = options.tracer ?? new Tracer();
    if (options.onTrace) tracer.subscribe(options.onTrace);
    // A 4.1/4.2 session too small to use, or state protection this client
    // cannot honour, when `auto` goes on to 4.0.
    let refusedWithSessions: SessionGrantError | StateProtectionError | undefined;
    for (const minor of tries) {
      if (refusedWithSessions && minor !== 0) continue;
      const channel = RpcCompoundChannel.to({
        host: options.host,
        port: options.port,
        timeoutMs: options.timeoutMs ?? 30_000,
        maxRecordSize: 4 * MAX_READ + 65536,
        ...(options.pcap ? { tap: options.pcap } : {}),
        ...(options.reservedPort !== undefined ? { reservedPort: options.reservedPort } : {}),
      });
      const owner = claimClientOwner(options.clientId);
      const manager = new StateManager({
        channel,
        minorVersion: minor,
        identity: identityFrom(options),
        owner,
        server: `${options.host}:${options.port}`,
        tracer,
        callTimeoutMs: options.timeoutMs ?? 30_000,
        callback: options.callback === false
          ? { enabled: false }
          : options.callback
          ? { enabled: true, address: options.callback }
          : { enabled: true },
        recoveryTimeoutMs: options.recoveryTimeoutMs ??
          RETRY_BUDGET_FACTOR * (options.timeoutMs ?? 30_000),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.reacquireLostLocks ? { reacquireLostLocks: true } : {}),
        ...(options.pcap ? { tap: options.pcap } : {}),
      });
      try {
        // NULL first: a refused connection or a server that does not speak
        // NFSv4 fails here at once, not after the state manager's retries.
        await manager.channel.ping({
          timeoutMs: options.timeoutMs ?? 30_000,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        await manager.start();
        return new Nfs4Client(manager, owner, channel);
      } catch (e) {
        await Nfs4Client.#giveUp(manager);
        owner.release();
        await channel.close();
        // The same server grants the same session whatever the minor
        // version: with `auto`, 4.0 (no sessions) is tried next.
        if (e instanceof SessionGrantError && tries.includes(0)) {
          refusedWithSessions = e;
          tracer.emit("clid", `NFSv4.${minor} session too small`, "trying NFSv4.0");
          continue;
        }
        // EXCHANGE_ID answered with SP4_MACH_CRED or SP4_SSV, which need
        // RPCSEC_GSS: 4.0 has no state protection (SETCLIENTID, RFC 7530
        // §16.33), so with `auto` it is tried next, as for a session too
        // small. The manager ended its step `refused`, as for that one.
        if (e instanceof StateProtectionError && tries.includes(0)) {
          refusedWithSessions = e;
          tracer.emit("clid", `NFSv4.${minor} state protection refused`, "trying NFSv4.0");
          continue;
        }
        if (e instanceof SessionGrantError) {
          // The manager ended its step `refused` (no `error` event): the
          // error's own line tells it, as MinorVersionError's does.
          tracer.emit("clid", `NFSv4.${minor} session too small`, `NFSv4.${minor} was asked for`);
        }
        if (e instanceof StateProtectionError) {
          tracer.emit(
            "clid",
            `NFSv4.${minor} state protection refused`,
            `NFSv4.${minor} was asked for`,
          );
        }
        // No 4.0 either: the session (or its state protection) is what to tell.
        if (
          refusedWithSessions && e instanceof NfsError && e.status === S.NFS4ERR_MINOR_VERS_MISMATCH
        ) {
          throw refusedWithSessions;
        }
        if (e instanceof NfsError && e.status === S.NFS4ERR_MINOR_VERS_MISMATCH) {
          const next = tries[tries.indexOf(minor) + 1];
          if (next !== undefined) {
            tracer.emit("clid", `NFSv4.${minor} not supported`, `trying NFSv4.${next}`);
            continue;
          }
          tracer.emit(
            "clid",
            `NFSv4.${minor} not supported`,
            version === "auto" ? "no other minor version to try" : `NFSv4.${minor} was asked for`,
          );
          throw new MinorVersionError(tries, options, { cause: e });
        }
        throw e;
      }
    }
    throw new Error("no minor version to try"); // unreachable: tries is never empty
  }

  /**
   * Ends the state manager of a connect() that failed or was aborted,
   * leaving the server clean as far as can be. On 4.1 and 4.2 a client ID
   * the server made (EXCHANGE_ID answered), and its session if one was
   * made, are destroyed: DESTROY_SESSION and DESTROY_CLIENTID (RFC 8881
   * §18.37, §18.50), the release of StateManager.shutdown(), bounded by
   * the window an interrupt leaves for releases (1.5 s; an aborted
   * `signal` interrupted the manager, which bounds it the same), so a
   * server that does not answer delays the rejection by no more than
   * that. On 4.0 there is nothing to destroy: SETCLIENTID has no inverse
   * (RFC 7530 §16.33, §16.34), the client ID and its lease lapse at the
   * server; nothing is sent. Nor when no client ID was made (a refused
   * connection, NFS4ERR_MINOR_VERS_MISMATCH).
   */
  static async #giveUp(manager: StateManager): Promise<void> {
    if (manager.minorVersion === 0 || manager.client.clientId === undefined) {
      manager.abandon();
      return;
    }
    manager.tracer.emit(
      "clid",
      "connect failed: releasing the client ID",
      `clientid ${manager.client.clientIdText}`,
    );
    await manager.shutdown({ withinMs: RELEASE_AFTER_FAILED_CONNECT_MS }).catch(ignore);
    // Whatever could not be released stays only until the lease ends.
    manager.abandon();
  }

  /** The NFSv4 minor version in use after negotiation: 0, 1 or 2. */
  get minorVersion(): number {
    return this.manager.minorVersion;
  }

  /**
   * The {@linkcode Tracer} the client's events go through (`ConnectOptions.tracer`,
   * or the one connect() made): subscribe more sinks to it at any time.
   *
   * @example
   * ```ts
   * const client = await Nfs4Client.connect({ host: "127.0.0.1", port: 2049 });
   * const unsubscribe = client.tracer.subscribe((e) => console.error(e.category, e.event));
   * await client.stat("/vfs");
   * unsubscribe();
   * await client.close();
   * ```
   */
  get tracer(): Tracer {
    return this.manager.tracer;
  }

  // ------------------------------------------------------------- walking

  /**
   * Attributes whose value a reply of this server did not decode when
   * asked alone ({@linkcode attributes}): not asked for again, and listed
   * as unknown.
   */
  readonly #undecodable = new Set<number>();

  /**
   * The pseudo-fs root's file system's traits, asked once (its FSID too, so
   * a walk that starts there knows them by fsid as well).
   */
  async #rootTraits(): Promise<FsTraits> {
    if (this.#rootFs === undefined) {
      const [, attrs] = await this.manager.run(() =>
        [putrootfh(), getattr(FS_TRAIT_ATTRS)] as const
      );
      this.#rootFs = this.#fs.learn(attrs.attrs) ?? traitsFrom(attrs.attrs);
    }
    return this.#rootFs;
  }

  /**
   * The attributes of `ids` that a GETATTR of an object on the file system
   * with `fs` asks for: those it supports (RFC 7530 §5.8.1.1). Without
   * `fs` (not known: no fsid was given), the pseudo-fs root's.
   */
  async #wanted(ids: readonly number[], fs?: FsTraits): Promise<number[]> {
    return supportedOf(ids, fs ?? await this.#rootTraits());
  }

  /** The traits of the file system of walked object `attrs`, else the root's. */
  async #fsOf(attrs: FileAttributes): Promise<FsTraits> {
    return this.#fs.of(attrs) ?? await this.#rootTraits();
  }

  /**
   * Walks `path` from the pseudo-fs root: LOOKUPs in one COMPOUND per few
   * components, `..` by stepping back, and symlinks met on the way replaced
   * by their target (READLINK; the last component only with `follow`), as
   * path resolution does in POSIX. As there, a path that ends in `/` (or
   * `/.`) names a directory: its last symlink is followed whatever `follow`
   * says, and anything but a directory fails with NFS4ERR_NOTDIR (see
   * `urlPath()` in url.ts, which keeps an URL's trailing slash). Inside a
   * tree {@linkcode guardTree} guards, a symlink that would be followed is
   * refused instead (SymlinkInTreeError, NFS4ERR_SYMLINK), unless it is the
   * last component and `asked` says the caller's own `follow` option asked
   * for it (stat, SETATTR), not a directory being resolved: see
   * {@linkcode guardTree}.
   */
  async #resolve(path: string, follow: boolean, asked = false): Promise<Resolved> {
    try {
      await this.#ready(path);
      return await walkAgainOnStale(this.manager, path, () => this.#walk(path, follow, asked));
    } catch (e) {
      // Name what the user asked for, as coreutils does (`ls a/b/c`, not
      // the component that failed); the cause keeps the detail.
      throw withPathOf(e, path);
    }
  }

  /**
   * `use` of what `walk` gives (the handles of a path, walked), walk and
   * use once more when the server calls one of those handles stale or
   * expired at a PUTFH of `use`'s COMPOUND ({@linkcode staleAtPutfh}:
   * nothing after it ran): a directory replaced since the walk, a volatile
   * handle that expired (RFC 7530 §4.2.3, RFC 8881 §4.2.3), a server
   * restart. As the Linux VFS retries a path call once on ESTALE with a
   * fresh lookup (LOOKUP_REVAL); a second such answer is the answer. A
   * failure of the walk itself is the walk's own ({@linkcode #resolve}
   * walks once more on its own). `changesState`: `use` changes something
   * on the server, and a failure that answered a resend (NfsError
   * `answeredResend`: an earlier transmission may have run it) is not
   * walked again; it goes to the caller, who settles it by looking
   * (exactly_once.ts settleUnknownOutcome), never by running it again.
   * Only for a `use` whose stale PUTFH comes before anything it changes:
   * one COMPOUND whose PUTFHs all precede its one state-changing op.
   */
  async #withWalk<W, T>(
    path: string,
    walk: () => Promise<W>,
    use: (walked: W) => Promise<T>,
    changesState: boolean,
  ): Promise<T> {
    const walked = await walk();
    try {
      return await use(walked);
    } catch (e) {
      if (!staleAtPutfh(e) || (changesState && e.answeredResend)) throw e;
      this.manager.tracer.emit("retry", "path walk again", `${path}: ${e.op} -> ${e.statusName}`);
      return await use(await walk());
    }
  }

  /**
   * Refuses a call made once {@linkcode close} began (or after a crash()):
   * {@linkcode ClientClosedError} naming `path`, at once, nothing sent. The
   * state manager refuses such calls too (StateManager.shutdown); this
   * check names the path and comes before anything else is done. Then
   * refuses a `path` that is not a client path (relative, empty:
   * {@linkcode PathError}, arguments.ts `checkPath`): every call on a path
   * the caller gave comes here first (or through {@linkcode #ready}).
   */
  #refuseIfClosed(path?: string): void {
    this.refuseClosed(path);
    if (path !== undefined) checkPath(path);
  }

  /**
   * Throws {@linkcode ClientClosedError} naming `path` once close() began
   * or crash() was called (its message says which): for this client's
   * calls, and for those of its open files (NfsFile), which are refused so
   * at once, whether or not they would send anything.
   *
   * Once `ConnectOptions.signal` was aborted (the client is being ended,
   * as by Ctrl-C), throws that signal's reason instead, nothing sent, for a
   * call made under no soft stop of its own (`withOperationSignal`: that
   * signal decides, as before) and outside `cleanupWork()` (operation_scope.ts), whose
   * cleanup goes out within the release window. Before, such a call went
   * out after the abort (an OPEN made new state while the client was being
   * ended), and once the window had closed every call failed `stopped 1.5
   * s after the interrupt`, for good. Releases are not refused: close() of
   * the client and of its files never comes here.
   *
   * @internal For NfsFile (and the client's own calls).
   */
  refuseClosed(path?: string): void {
    // #closed: close() began (it commits the open files' writes before
    // the state manager's shutdown), or crash() was called.
    if (this.#closed || this.manager.closing) {
      const server = this.manager.client.server;
      throw this.#crashed ? crashedError(server, path) : new ClientClosedError(server, { path });
    }
    if (this.manager.interrupted && operationSignal() === undefined && !inCleanupWork()) {
      this.manager.throwIfInterrupted();
    }
  }

  /**
   * Before a call on `path`: refused once the client is closing, and the
   * pseudo-fs root's traits known (the first call asks them, as it always
   * has). Names are held to their file system's maxname where each is
   * sent: {@linkcode #walk}, {@linkcode #refuseLongName}.
   */
  async #ready(path: string): Promise<void> {
    this.#refuseIfClosed(path);
    await this.#rootTraits();
  }

  /**
   * Refuses `name`, about to be looked up or made in a directory on the
   * file system with `fs`, when it is longer than that file system takes
   * (its maxname, else NAME_MAX): NFS4ERR_NAMETOOLONG naming `path`, as the
   * server would answer (RFC 7530 §13.1.2.8), nothing sent. Without `fs`
   * (not known) the name goes to the server, which answers for it.
   */
  #refuseLongName(name: string, fs: FsTraits | undefined, path: string): void {
    if (fs && nameTooLong(name, fs)) throw new NfsError(S.NFS4ERR_NAMETOOLONG, "LOOKUP", { path });
  }

  async #walk(path: string, follow: boolean, asked: boolean): Promise<Resolved> {
    const directory = DIRECTORY_PATH.test(path);
    follow ||= directory;
    // A final symlink the caller asked to follow (a path that ends in `/`
    // asks for a directory instead) may be followed inside a guarded tree.
    const askedLast = asked && follow && !directory;
    const rootFs = await this.#rootTraits();
    // What has been walked: one entry per component, with its handle.
    let walked: WalkedName[] = [];
    let pending = splitPath(path);
    let links = 0;
    const names = () => walked.map((w) => w.name);
    const perCompound = Math.max(1, Math.floor((this.#maxOps() - 1) / 3));
    while (pending.length > 0) {
      if (pending[0] === "..") {
        walked = walked.slice(0, -1);
        pending = pending.slice(1);
        continue;
      }
      const stop = pending.indexOf("..");
      let batch = pending.slice(0, Math.min(perCompound, stop === -1 ? pending.length : stop));
      const at = walked.at(-1);
      const start = at?.fh;
      // The file system of the directory the batch starts in (known: its
      // handle came with its FSID) holds the first name to its maxname, and
      // the first GETATTR asks for what it supports. The names after it are
      // in directories this COMPOUND reaches, whose file system the reply
      // says (another one's root, an export under the pseudo-fs, may take
      // longer names and support more attributes): a name too long for the
      // first directory's is sent only once a reply said its own
      // directory's (the batch ends before it), and their GETATTRs ask for
      // all that is wanted, which a server answers with what the object's
      // file system supports (RFC 7530 §16.7.4, RFC 8881 §18.7.3), never
      // with less. Each GETATTR asks for FSID, SUPPORTED_ATTRS and MAXNAME
      // too, so each name's file system is known from its reply
      // (fs_traits.ts): no round trip of its own.
      const dirFs = at === undefined ? rootFs : (this.#fs.of(at.attrs) ?? rootFs);
      this.#refuseLongName(batch[0]!, dirFs, path);
      const long = batch.findIndex((n) => nameTooLong(n, dirFs));
      if (long > 0) batch = batch.slice(0, long);
      const firstIds = [...new Set([...supportedOf(LIST_ATTRS, dirFs), ...FS_TRAIT_ATTRS])];
      const base = names();
      let got: WalkedName[];
      try {
        const results = await this.manager.run(() => [
          start === undefined ? putrootfh() : putfh(start),
          ...batch.flatMap((n, i) => [lookup(n), getfh(), getattr(i === 0 ? firstIds : WALK_IDS)]),
        ]);
        got = batch.map((name, i) => {
          const attrs = (results[3 + i * 3] as DecodedFattr).attrs;
          this.#fs.learn(attrs);
          const asked = i === 0 ? firstIds : WALK_IDS;
          return { name, fh: results[2 + i * 3] as FileHandle, attrs, asked };
        });
      } catch (e) {
        if (!(e instanceof NfsError)) throw e;
        // A LOOKUP through a symlink fails with NFS4ERR_SYMLINK (RFC 7530
        // §16.13.5) and one through a file with NOTDIR: step one at a time
        // to find which component it is.
        if (batch.length > 1 && (e.status === S.NFS4ERR_SYMLINK || e.status === S.NFS4ERR_NOTDIR)) {
          got = [{
            name: batch[0]!,
            ...await this.#lookupOne(start, batch[0]!, firstIds, [...base, batch[0]!]),
            asked: firstIds,
          }];
        } else {
          // Name the component whose LOOKUP failed (ops: PUTFH, then 3 per name).
          const failedAt = e.opIndex !== undefined
            ? Math.floor((e.opIndex - 1) / 3) + 1
            : batch.length;
          throw e.withPath(joinPath([...base, ...batch.slice(0, failedAt)]));
        }
      }
      for (const entry of got) {
        walked.push(entry);
        pending = pending.slice(1);
        const isLast = pending.length === 0;
        if (entry.attrs.type === FileType.NF4LNK && (!isLast || follow)) {
          // A tree being changed is walked by its names, never through a
          // symlink inside it: one there may have replaced a directory
          // since the tree was listed (tree_guard.ts).
          const tree = this.#guards.active && !(isLast && askedLast)
            ? this.#guards.holding(names())
            : undefined;
          if (tree) throw symlinkInTree(joinPath(names()), names(), tree);
          if (++links > MAX_SYMLINKS) {
            throw new PathError(path, "Too many levels of symbolic links");
          }
          const target = await this.#readlinkFh(entry.fh, joinPath(names()));
          walked.pop();
          // An absolute target is taken from the pseudo-fs root.
          if (target.startsWith("/")) walked = [];
          pending = [...splitPath(target), ...pending];
          break;
        }
        if (!isLast && entry.attrs.type !== undefined && entry.attrs.type !== FileType.NF4DIR) {
          throw new NfsError(S.NFS4ERR_NOTDIR, "LOOKUP", { path: joinPath(names()) });
        }
      }
    }
    const last = walked.at(-1);
    if (!last) {
      const attrIds = supportedOf(LIST_ATTRS, rootFs);
      const [, root, rootAttrs] = await this.manager.run(() =>
        [putrootfh(), getfh(), getattr(attrIds)] as const
      );
      return { fh: root, attrs: rootAttrs.attrs, path: "/", components: [] };
    }
    if (directory && last.attrs.type !== undefined && last.attrs.type !== FileType.NF4DIR) {
      throw new NfsError(S.NFS4ERR_NOTDIR, "LOOKUP", { path });
    }
    const parent = walked.at(-2);
    return {
      fh: last.fh,
      attrs: await this.#ownAttributes(last, path),
      path: joinPath(names()),
      components: names(),
      ...(parent ? { parentFh: parent.fh } : {}),
    };
  }

  /**
   * The attributes of `last`, the object a walk of `path` ends at, as its
   * own file system's supported_attrs has them asked for (RFC 7530
   * §5.8.1.1). A GETATTR that asked for what its directory's file system
   * supports, of an object on another one that supports more (an export's
   * root, looked up from the pseudo-fs), missed the rest: asked for by its
   * handle. Nothing is sent otherwise.
   */
  async #ownAttributes(last: WalkedName, path: string): Promise<FileAttributes> {
    const own = this.#fs.of(last.attrs);
    if (own === undefined) return last.attrs;
    const asked = new Set(last.asked);
    const missing = supportedOf(LIST_ATTRS, own).filter((id) => !asked.has(id));
    if (missing.length === 0) return last.attrs;
    const [, more] = await this.#withPath(
      path,
      () => this.manager.run(() => [putfh(last.fh), getattr(missing)] as const),
    );
    return { ...last.attrs, ...more.attrs };
  }

  async #lookupOne(
    start: FileHandle | undefined,
    name: string,
    attrIds: number[],
    path: string[],
  ): Promise<{ fh: FileHandle; attrs: FileAttributes }> {
    try {
      const [, , fh, attrs] = await this.manager.run(() =>
        [
          start === undefined ? putrootfh() : putfh(start),
          lookup(name),
          getfh(),
          getattr(attrIds),
        ] as const
      );
      this.#fs.learn(attrs.attrs);
      return { fh, attrs: attrs.attrs };
    } catch (e) {
      throw e instanceof NfsError ? e.withPath(joinPath(path)) : e;
    }
  }

  #readlinkFh(fh: FileHandle, path: string): Promise<string> {
    return this.#withPath(path, async () => {
      const [, target] = await this.manager.run(() => [putfh(fh), readlinkOp()] as const);
      return checkedLinkTarget(path, target);
    });
  }

  /** Ops per COMPOUND the session allows (4.0: no limit; keep batches modest). */
  #maxOps(): number {
    const session = this.manager.client.session;
    return session ? Math.max(4, session.fore.maxOperations - 1) : 32;
  }

  // -------------------------------------------------------------- public

  /**
   * Guards the tree at `resolvedPath` (a directory's path with no symlink
   * in it, as `stat()` gives it in `FileInfo.path`) until the returned
   * function is called: meanwhile no path walk of this client follows a
   * symlink at its top or inside it, in the middle of a path or at its end
   * where the client follows on its own (the directory of a REMOVE, CREATE
   * or RENAME, a READDIR, a path ending in `/`, an OPEN); such a walk fails
   * with NFS4ERR_SYMLINK naming the path (lib/client/tree_guard.ts says
   * why). Symlinks only named (removed, stat or SETATTR without `follow`)
   * are not affected, nor a final symlink that `stat`, `attributes` or
   * `setattrPath` is asked to follow: a command that dereferences a symlink
   * it listed as one (`chown -R -H`, cp writing through one) chose to.
   * Guards are counted: one per call, each released once.
   *
   * @example
   * ```ts
   * await using client = await Nfs4Client.connect({ host: "127.0.0.1", port: 2049 });
   * const top = await client.stat("/vfs/shared");
   * const release = client.guardTree(top.path);
   * try {
   *   await client.setattrPath("/vfs/shared/sub/x", { mode: 0o640 });
   * } finally {
   *   release();
   * }
   * ```
   */
  guardTree(resolvedPath: string): () => void {
    checkPath(resolvedPath);
    return this.#guards.add(splitPath(resolvedPath));
  }

  serverIdentity(): string | undefined {
    // The first answer is kept: a reconnect (on 4.0, perhaps to another
    // address of the same name) must not make the files already seen look
    // like another server's in the middle of a copy.
    if (this.#serverIdentity !== undefined) return this.#serverIdentity;
    const owner = this.manager.client.serverOwner;
    const transport = this.#channel.transport;
    const address = transport.remoteAddress;
    this.#serverIdentity = owner !== undefined
      ? `owner:${owner}`
      : address === undefined
      ? undefined
      : `address:${formatHost(address)}:${transport.remotePort}`;
    return this.#serverIdentity;
  }

  /** What {@linkcode serverIdentity} answered first. */
  #serverIdentity: string | undefined;

  async stat(path: string, options: StatOptions = {}): Promise<FileInfo> {
    // A symlink's READLINK uses the walk's handle of it: walked again once
    // when the server calls that handle stale or expired (#withWalk).
    return await this.#withWalk(
      path,
      () => this.#resolve(path, options.follow ?? false, true),
      async (resolved) => {
        const info = toFileInfo(lastName(resolved.components), resolved.path, resolved.attrs);
        if (info.kind === "symlink") {
          return { ...info, linkTarget: await this.#readlinkFh(resolved.fh, resolved.path) };
        }
        return info;
      },
      false,
    );
  }

  async attributes(path: string, options: StatOptions = {}): Promise<AttributeReport> {
    const follow = options.follow ?? false;
    // A handle the server calls stale or expired at a PUTFH (a volatile
    // handle, RFC 7530 §4.2.3; an object replaced since the walk), whatever
    // asks (a GETATTR, a symlink's READLINK), is looked up by its path once
    // more and the report made anew from it, as stat() does (#withWalk).
    return await this.#withWalk(
      path,
      () => this.#resolve(path, follow, true),
      (resolved) => this.#attributesOf(path, resolved),
      false,
    );
  }

  /** {@linkcode attributes} of `resolved`, the walk of `path`. */
  async #attributesOf(path: string, resolved: Resolved): Promise<AttributeReport> {
    const fs = await this.#fsOf(resolved.attrs);
    const getattrOf = (ids: readonly number[]): Promise<DecodedFattr> =>
      this.#withPath(path, async () => {
        const [, decoded] = await this.manager.run(() =>
          [putfh(resolved.fh), getattr(ids)] as const
        );
        return decoded;
      });
    // supported_attrs belongs to the file system (RFC 7530 §5.8.1.1): ask
    // this object's (what its walk learned is its file system's, or the
    // pseudo-fs root's when the server gave no fsid).
    const own = (await getattrOf([Attr.SUPPORTED_ATTRS])).attrs.supportedAttrs;
    const supported = [...(own ?? fs.supported ?? LIST_ATTRS)].sort((a, b) => a - b);
    // Not asked for: what no GETATTR carries a value of (write-only, READDIR's,
    // CREATE's: lib/client/unreadable_attrs.ts), what this client cannot
    // decode, and what this server's replies did not decode before.
    const wanted = supported.filter((id) =>
      !UNREADABLE_ATTRS.has(id) && attrKey(id) !== undefined && !this.#undecodable.has(id)
    );
    const values: Record<string, unknown> = {};
    const got = new Set<number>();
    const take = (decoded: DecodedFattr) => {
      for (const [key, value] of Object.entries(decoded.attrs)) values[key] = value;
      for (const id of decoded.returned) if (!decoded.undecoded.has(id)) got.add(id);
    };
    try {
      take(await getattrOf(wanted));
    } catch (e) {
      // A server that fails the whole set (one attribute it cannot produce
      // here, a reply too big), or whose reply does not decode (an
      // attribute's bit with no value, as knfsd's mode_umask), is asked one
      // attribute at a time, so one refusal costs that attribute, not the
      // report (treat what a server cannot give as unknown, never as
      // fatal): at most one request per attribute.
      if (!refusesAttributes(e)) throw e;
      // What decoded a moment ago: the object's supported_attrs, and the
      // walk's attributes of it.
      const walked = resolved.attrs as Record<string, unknown>;
      const decodedBefore = (id: number) =>
        id === Attr.SUPPORTED_ATTRS ? own !== undefined : walked[attrKey(id)!] !== undefined;
      for (const id of wanted) {
        try {
          take(await getattrOf([id]));
        } catch (one) {
          if (!refusesAttributes(one)) throw one;
          if (one instanceof RpcProtocolError) {
            // Alone, an attribute that decoded before does not decode:
            // the replies are malformed whatever is asked, not for one
            // attribute. That is the answer, not a request per attribute.
            if (decodedBefore(id)) throw e;
            this.#undecodable.add(id);
          }
        }
      }
    }
    // A time none can believe is unknown, as in FileInfo (toDate()).
    for (const id of TIME_ATTRS) {
      const key = attrKey(id)!;
      const time = values[key] as NfsTime | undefined;
      if (time !== undefined && !usableTime(time.seconds, time.nseconds)) {
        delete values[key];
        got.delete(id);
      }
    }
    const attrs = values as FileAttributes;
    let info = toFileInfo(lastName(resolved.components), resolved.path, attrs);
    if (info.kind === "symlink") {
      info = { ...info, linkTarget: await this.#readlinkFh(resolved.fh, resolved.path) };
    }
    const name = (id: number) => attrName(id).toLowerCase();
    return {
      info,
      filehandle: resolved.fh,
      values: attrs,
      returned: [...got].sort((a, b) => a - b).map((id) => ({
        id,
        name: name(id),
        value: values[attrKey(id)!],
      })),
      supported: supported.map(name),
      unknown: supported.filter((id) => !UNREADABLE_ATTRS.has(id) && !got.has(id)).map(name),
    };
  }

  /**
   * READDIR to the end (RFC 7530 §16.24, RFC 8881 §18.23). Each page's
   * next cookie is its last entry's, so pages cannot be asked for all at
   * once; but the next page is asked for as soon as one arrives, and the
   * server produces it while this one is turned into FileInfo and used
   * (two pages in memory at most). Only the attributes of `options.fields`
   * are asked for, and symlink targets are read (a few at a time) only
   * when `linkTarget` is among them.
   */
  async *readdir(path: string, options: ReaddirOptions = {}): AsyncIterable<FileInfo> {
    for await (const page of this.readdirPages(path, options)) yield* page;
  }

  async *readdirPages(
    path: string,
    options: ReaddirOptions = {},
  ): AsyncIterable<readonly FileInfo[]> {
    const walk = async () => {
      const walked = await this.#resolve(path, true);
      if (walked.attrs.type !== undefined && walked.attrs.type !== FileType.NF4DIR) {
        throw new NfsError(S.NFS4ERR_NOTDIR, "READDIR", { path });
      }
      return walked;
    };
    let dir = await walk();
    const fields = options.fields;
    const readLinks = fields === undefined || fields.includes("linkTarget");
    const asked = fields === undefined ? LIST_ATTRS : readdirAttrs(fields);
    // rdattr_error: an entry whose attributes the server cannot get comes
    // with its error instead of failing the whole page (RFC 7530 §16.24.4).
    // What the directory's file system supports (its entries are on it,
    // but for roots of others mounted there: rdattr_error says for them).
    const attrIds = [...await this.#wanted(asked, await this.#fsOf(dir.attrs)), Attr.RDATTR_ERROR];
    const maxcount = this.#maxResponse(READDIR_PAGE_BYTES);
    const first = Math.min(maxcount, READDIR_FIRST_PAGE_BYTES);
    const second = maxcount - first >= 4096 ? maxcount - first : maxcount;
    let pages = 0;
    const baseOf = (walked: Resolved) => {
      const prefix = joinPath(walked.components);
      return prefix === "/" ? "/" : `${prefix}/`;
    };
    let base = baseOf(dir);
    // Each entry is made a FileInfo as its page is decoded (nothing in
    // between); a symlink's handle, when READDIR brings one, is kept aside
    // for its READLINK.
    const handles = new Map<FileInfo, FileHandle>();
    const listing = readdirCodec((name, values) => {
      // A listed name holding `/` is refused with its page (checkListedNames);
      // until then its path keeps it one name (lib/client/names.ts).
      const info = listedFileInfo(name, base + nameInPath(name), values);
      if (values.filehandle !== undefined && info.kind === "symlink") {
        handles.set(info, values.filehandle);
      }
      return info;
    }, { releaseReply: true });
    const page = (cookie: bigint, cookieverf: Uint8Array) => {
      // The first page's size, then the rest of a full page, then full pages.
      const size = pages === 0 ? first : pages === 1 ? second : maxcount;
      pages++;
      const fh = dir.fh;
      return this.manager.run(() =>
        [
          putfh(fh),
          bindOp(listing, {
            cookie,
            cookieverf,
            dircount: size,
            maxcount: size,
            attrRequest: attrIds,
          }),
        ] as const
      ).then(([, result]) => result, (e) => {
        throw withPathOf(e, path);
      });
    };
    // A server whose cookies come round again would be listed forever (the
    // kernel's nfs_readdir reports "directory contains a readdir loop").
    let cookies = new SeenCookies();
    let pending: Promise<ReaddirPage<FileInfo>> | undefined = page(0n, new Uint8Array(8));
    // A directory whose handle the server calls stale or expired at a
    // page's PUTFH (replaced since the walk, a volatile handle expired, a
    // server restart) is walked again once and listed from the start, but
    // only while nothing of it was handed to the caller: READDIR cookies
    // and the cookie verifier belong to the directory they came from (RFC
    // 7530 §16.24, RFC 8881 §18.23), so a listing cannot go on from where
    // it was in the directory found again, and starting over once entries
    // were handed out would hand some twice, or a mixture of two
    // directories. Then the failure is the answer, naming the directory
    // (NFS4ERR_STALE, NFS4ERR_FHEXPIRED): no partial listing passes for a
    // whole one. A caller that holds a whole listing before using any of it
    // lists it again itself (walk.ts listDirectory: find, du, rm -r).
    let handedOut = 0;
    let walkedAgain = false;
    try {
      while (pending !== undefined) {
        let result: ReaddirPage<FileInfo>;
        try {
          result = await pending;
        } catch (e) {
          pending = undefined;
          if (!staleAtPutfh(e)) throw e;
          if (walkedAgain || handedOut > 0) {
            if (handedOut > 0) {
              this.manager.tracer.emit(
                "retry",
                "listing not started again",
                `${path}: ${e.statusName} after ${handedOut} entries were handed out`,
              );
            }
            throw e;
          }
          walkedAgain = true;
          this.manager.tracer.emit(
            "retry",
            "path walk again",
            `${path}: ${e.op} -> ${e.statusName}`,
          );
          dir = await walk();
          base = baseOf(dir);
          cookies = new SeenCookies();
          handles.clear();
          pages = 0;
          pending = page(0n, new Uint8Array(8));
          continue;
        }
        pending = undefined;
        const { entries } = result;
        const pageCookies = result.cookies;
        let repeated = -1;
        for (let i = 0; i < pageCookies.length; i++) {
          if (cookies.repeats(pageCookies[i]!)) {
            repeated = i;
            break;
          }
        }
        if (!result.eof && repeated < 0) {
          if (entries.length === 0) {
            throw new Error(`${path}: server returned an empty READDIR page without eof`);
          }
          pending = page(BigInt(pageCookies[pageCookies.length - 1]!), result.cookieverf);
          // Awaited on the next turn, or in `finally`; never left unhandled.
          pending.catch(() => {});
        }
        const shown = checkListedNames(
          path,
          repeated < 0 ? entries : entries.slice(0, repeated + 1),
        );
        const infos = readLinks ? await this.#readLinks(shown, handles, dir.fh) : shown;
        // (The next page may be decoded meanwhile: only this one's are dropped.)
        if (handles.size > 0) { for (const info of entries) handles.delete(info); }
        if (infos.length > 0) {
          handedOut += infos.length;
          yield infos;
        }
        if (repeated >= 0) {
          throw new Error(
            `${path}: the server's READDIR came round again (cookie ${
              pageCookies[repeated]
            } twice): a readdir loop`,
          );
        }
      }
    } finally {
      // Left early (a break, a failure): the page already asked for is
      // waited for a little (see leftBehind()), so that against a server
      // that answers no call of ours is still out when the caller goes on
      // (to close the session, say), but never for as long as its resends
      // may take against one that does not.
      if (pending !== undefined) await this.leftBehind([pending]);
    }
  }

  /**
   * Waits for calls a reader leaves behind (a READDIR page or READs asked
   * for ahead, when the loop over them is left early) for at most
   * {@linkcode LEFT_BEHIND_WAIT_MS} (the call timeout when shorter). They
   * change no state, so nothing depends on their answer: a server that
   * answers does so well within it, and the caller goes on with nothing of
   * ours in flight; against one that stopped answering, leaving the loop
   * (a `break`) would otherwise wait for every resend of them, up to the
   * recovery deadline (2 minutes with the default options). Their late
   * answers or failures are dropped: each has a rejection handler already.
   *
   * @internal For NfsFile.chunks().
   */
  async leftBehind(calls: readonly Promise<unknown>[]): Promise<void> {
    if (calls.length === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.min(LEFT_BEHIND_WAIT_MS, this.manager.callTimeoutMs));
    });
    try {
      await Promise.race([Promise.allSettled(calls), bound]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A READDIR page's entries with symlink targets read (up to
   * READLINKS_IN_FLIGHT at a time, by the handle READDIR brought when it
   * did, else by name in the directory; a target that cannot be read is
   * left undefined, as `ls` then reads it itself).
   */
  async #readLinks(
    entries: readonly FileInfo[],
    handles: ReadonlyMap<FileInfo, FileHandle>,
    dirFh: FileHandle,
  ): Promise<readonly FileInfo[]> {
    const links: number[] = [];
    for (let i = 0; i < entries.length; i++) {
      if (entries[i]!.kind === "symlink") links.push(i);
    }
    if (links.length === 0) return entries;
    const infos = entries.slice();
    let next = 0;
    const worker = async () => {
      while (next < links.length) {
        const i = links[next++]!;
        const info = infos[i]!;
        const fh = handles.get(info);
        const target =
          await (fh ? this.#readlinkFh(fh, info.path) : this.#withPath(info.path, async () => {
            const [, , target] = await this.manager.run(() =>
              [putfh(dirFh), lookup(info.name), readlinkOp()] as const
            );
            return checkedLinkTarget(info.path, target);
          })).catch(() => undefined);
        infos[i] = { ...info, linkTarget: target };
      }
    };
    await Promise.all(Array.from({ length: Math.min(READLINKS_IN_FLIGHT, links.length) }, worker));
    return infos;
  }

  async readlink(path: string): Promise<string> {
    return await this.#withWalk(
      path,
      () => this.#resolve(path, false),
      (resolved) => this.#readlinkFh(resolved.fh, resolved.path),
      false,
    );
  }

  /**
   * The largest reply we may ask for, minus room for the COMPOUND around it.
   * No floor of its own: a session is used only when its replies hold 8 KiB
   * (LEAST_FORE_CHANNEL, lib/state/procs.ts), so this is never below
   * MIN_IO_SIZE, and a floor above the session's size would ask for replies
   * it refuses (NFS4ERR_REP_TOO_BIG, RFC 8881 §18.46.3).
   */
  #maxResponse(wanted: number): number {
    const session = this.manager.client.session;
    const cap = session ? session.fore.maxResponseSize - 1024 : wanted;
    return Math.min(wanted, cap);
  }

  /**
   * The READ size for a file system whose maxread is `maxread` (RFC 7530
   * §5.8.2.20: the most one READ may ask for): it, held to MIN_IO_SIZE at
   * least and MAX_READ at most (ioSize), within the session's replies.
   */
  #readSize(maxread: bigint | undefined): number {
    return this.#maxResponse(ioSize(maxread, MAX_READ));
  }

  /**
   * The WRITE size for a file system whose maxwrite is `maxwrite` (RFC 7530
   * §5.8.2.21: the most one WRITE may carry), as {@linkcode #readSize}.
   */
  #writeSize(maxwrite: bigint | undefined): number {
    return this.#maxRequest(ioSize(maxwrite, MAX_WRITE));
  }

  async openRead(path: string): Promise<NfsFile> {
    return await this.open(path, { access: "read" });
  }

  /**
   * Opens `path` for reading and reads its first `count` bytes with the
   * OPEN, in as few COMPOUNDs as the server allows (lib/state/small_file.ts:
   * on NFSv4.1 one for a file of at most `count` bytes, OPEN to CLOSE). The
   * file is opened by name from its directory's handle, which `directories`
   * keeps for the caller's batch: one walk per directory, not per file. A
   * directory handle the server calls stale (NFS4ERR_STALE, FHEXPIRED) is
   * walked again once. Whatever is not a plain name in a directory
   * (`..`, a trailing `/`), and every failure before the file was opened (a
   * missing file, a directory, a symlink to follow), goes the way of
   * {@linkcode openRead}, so behaviour and messages stay the same.
   *
   * @internal For `nfs4 cp` of many small files (lib/client/many_files.ts).
   */
  async openReadAhead(
    path: string,
    options: { readonly count: number; readonly directories: DirectoryHandles },
  ): Promise<OpenFile> {
    this.#refuseIfClosed(path);
    const components = splitPath(path);
    const name = components.at(-1);
    if (name === undefined || components.includes("..") || DIRECTORY_PATH.test(path)) {
      return await this.openRead(path);
    }
    const dirPath = joinPath(components.slice(0, -1));
    const walk = async () => {
      const dir = await this.#resolve(dirPath, true);
      if (dir.attrs.type !== FileType.NF4DIR) return undefined;
      this.#dirFs.set(dir.fh, await this.#fsOf(dir.attrs));
      return dir.fh;
    };
    for (let walks = 0;; walks++) {
      const dirFh = await options.directories.get(dirPath, walk);
      if (!dirFh) return await this.openRead(path);
      const fs = this.#dirFs.get(dirFh) ?? await this.#rootTraits();
      // Longer than the directory's file system takes: openRead refuses it.
      if (nameTooLong(name, fs)) return await this.openRead(path);
      const attrs = await this.#wanted(OPENED_FILE_ATTRS, fs);
      let got: SmallRead;
      try {
        got = await openAndRead(this.manager, { dirFh, name, path, attrs, count: options.count });
      } catch (e) {
        const beforeOpen = e instanceof NfsError && (e.op === "PUTFH" || e.op === "OPEN");
        if (!beforeOpen) throw e;
        // No such name in a directory that exists: what a walk would say too.
        if (e.op === "OPEN" && e.status === S.NFS4ERR_NOENT) throw e.withPath(path);
        if (walks === 0 && staleAtPutfh(e)) {
          this.manager.tracer.emit("retry", "directory walk again", `${dirPath}: ${e.statusName}`);
          options.directories.drop(dirPath);
          continue;
        }
        return await this.openRead(path);
      }
      const a = got.attrs.attrs;
      let rest: NfsFile | undefined;
      if (got.state) {
        rest = new NfsFile(this, got.state, a.size, {
          rsize: this.#readSize(a.maxread),
          wsize: this.#writeSize(a.maxwrite),
        }, READ_SHARE);
      }
      if (a.type !== undefined && a.type !== FileType.NF4REG) {
        // OPEN opens regular files only (RFC 8881 §18.16.3); a server that
        // opened something else is answered as open() would answer.
        await rest?.close();
        if (a.type === FileType.NF4DIR) throw new NfsError(S.NFS4ERR_ISDIR, "OPEN", { path });
        throw notRegularFile(path, a.type);
      }
      return new PrefetchedFile(path, a.size, got.data, got.eof, rest);
    }
  }

  /**
   * OPEN a file (RFC 7530 §16.16): for reading, writing or both, optionally
   * creating it (UNCHECKED4, GUARDED4 or EXCLUSIVE). Symlinks are followed;
   * a directory is refused with NFS4ERR_ISDIR, any other file that is not a
   * regular one (a fifo, a device) with a PathError, before any OPEN.
   */
  async open(path: string, options: OpenOptions): Promise<NfsFile> {
    this.#refuseIfClosed(path);
    if (options.mode !== undefined) checkInteger(path, "mode", options.mode, MODE);
    const components = splitPath(path);
    if (components.length === 0) throw new NfsError(S.NFS4ERR_ISDIR, "OPEN", { path });
    const how = await this.#openHow(options);
    // The directory's handle, from the walk, is walked again once when the
    // server calls it stale or expired at the OPEN's PUTFH (the OPEN did
    // not run: #withWalk); not when that answered a resend (the OPEN may
    // have run). What follows an OPEN that was done (4.0's OPEN_CONFIRM, a
    // truncating SETATTR, 4.0's mode after an exclusive create) is never a
    // cause to OPEN again, whatever handle it finds stale.
    const { parentFh, name, opened } = await this.#withWalk(
      path,
      () => this.#openWhere(path, components, options),
      async (where) => {
        try {
          return {
            ...where,
            opened: await this.#openCall(
              where.parentFh,
              where.name,
              path,
              how,
              where.fs,
              where.fh,
            ),
          };
        } catch (e) {
          throw closedNaming(e, path);
        }
      },
      true,
    );
    return await this.#openedFile(opened, parentFh, name, options, how).catch((e) => {
      throw closedNaming(e, path);
    });
  }

  /**
   * Where open() OPENs `path` (`components`, not empty): the handle of the
   * directory holding it and its name there, walked from the root with
   * symlinks followed (a missing file, with `options.create`, in the
   * directory its path names), and the file's own handle when it exists
   * (`fh`: an open of it already held may take the request without an
   * OPEN, lib/state/files.ts openFile).
   */
  async #openWhere(
    path: string,
    components: readonly string[],
    options: OpenOptions,
  ): Promise<{ parentFh: FileHandle; name: string; fs: FsTraits; fh?: FileHandle }> {
    const target = await this.#resolve(path, true).catch((e) => {
      if (options.create && e instanceof NfsError && e.status === S.NFS4ERR_NOENT) return undefined;
      throw e;
    });
    if (target) {
      // RFC 7530 §16.16.5: OPEN of a directory fails with NFS4ERR_ISDIR;
      // refuse it here, with the user's path.
      if (target.attrs.type === FileType.NF4DIR) {
        throw new NfsError(S.NFS4ERR_ISDIR, "OPEN", { path });
      }
      if (target.attrs.type !== undefined && target.attrs.type !== FileType.NF4REG) {
        // OPEN of anything but a regular file fails (4.1: NFS4ERR_WRONG_TYPE,
        // RFC 8881 §18.16.3; 4.0: NFS4ERR_SYMLINK, RFC 7530 §16.16.5, which
        // misleads, and Ganesha says INVAL): refused here, no OPEN sent.
        throw notRegularFile(path, target.attrs.type);
      }
      return {
        name: lastName(target.components),
        fh: target.fh,
        // The walk passed the parent directory: no second walk to it.
        parentFh: target.parentFh ??
          (await this.#resolve(joinPath(target.components.slice(0, -1)), true)).fh,
        fs: await this.#fsOf(target.attrs),
      };
    }
    // `new/` names a directory: creating a file by that name is what
    // open(2) refuses with EISDIR (POSIX.1-2017 open(), O_CREAT).
    if (DIRECTORY_PATH.test(path)) throw new NfsError(S.NFS4ERR_ISDIR, "OPEN", { path });
    const dir = await this.#resolve(joinPath(components.slice(0, -1)), true);
    return { name: components.at(-1)!, parentFh: dir.fh, fs: await this.#fsOf(dir.attrs) };
  }

  /**
   * What an OPEN for `options` asks, whatever directory and name: made
   * once per open() call, so an OPEN sent again after its directory was
   * walked again carries the same exclusive-create verifier (one that the
   * server did run would be found by it, RFC 7530 §16.16.5).
   */
  async #openHow(options: OpenOptions): Promise<OpenHow> {
    const access = options.access === "read"
      ? ShareAccess.OPEN4_SHARE_ACCESS_READ
      : options.access === "write"
      ? ShareAccess.OPEN4_SHARE_ACCESS_WRITE
      : ShareAccess.OPEN4_SHARE_ACCESS_BOTH;
    const deny = options.deny === "read"
      ? ShareDeny.OPEN4_SHARE_DENY_READ
      : options.deny === "write"
      ? ShareDeny.OPEN4_SHARE_DENY_WRITE
      : options.deny === "both"
      ? ShareDeny.OPEN4_SHARE_DENY_BOTH
      : ShareDeny.OPEN4_SHARE_DENY_NONE;
    // 4.0's EXCLUSIVE4 carries no attributes: the mode, and the times that
    // held the verifier, follow at once (#openedFile).
    const modeFollows = options.create === "exclusive" && !this.manager.sessions;
    const openedIds = modeFollows ? [...OPENED_FILE_ATTRS, Attr.FILEID] : OPENED_FILE_ATTRS;
    return {
      modeFollows,
      openedIds,
      request: {
        access,
        deny,
        ...(options.create
          ? {
            create: {
              mode: options.create,
              attrs: {
                ...(options.mode !== undefined ? { mode: options.mode } : {}),
                ...(options.truncate ? { size: 0n } : {}),
              },
              // Ours alone: a resent exclusive OPEN finds the file it made by
              // this verifier and succeeds (RFC 7530 §16.16.5, RFC 8881 §18.16.3).
              ...(options.create === "exclusive"
                ? { verifier: crypto.getRandomValues(new Uint8Array(8)) }
                : {}),
            },
          }
          : {}),
        // The FILEID too when a SETATTR is to follow the create: a file made
        // and not handed over is removed only while its name is still it.
        // (The pseudo-fs root's supported ones; #openCall asks the file's
        // own file system's where it is known.)
        attrs: await this.#wanted(openedIds),
        ...(options.answerWithinMs !== undefined ? { answerWithinMs: options.answerWithinMs } : {}),
        // #openedFile truncates after the OPEN: never a shared open (files.ts).
        ...(options.truncate ? { truncate: true } : {}),
      },
    };
  }

  /**
   * What a 4.0 EXCLUSIVE4 create (which carries no attributes) is to be
   * given at once: the mode asked for, unless the server's file system has
   * no mode attribute (files.ts knownCreateSupport), and the times its
   * attrset says hold the verifier, set to the server's time (RFC 7530
   * §16.16.5: the client SHOULD set the attributes used to store the
   * verifier; the kernel's nfs4_exclusive_attrset). Undefined: nothing.
   */
  #afterExclusive4(opened: OpenedFile, mode: number | undefined): SettableAttributes | undefined {
    // A create's OPEN is always sent (a shared open has no result).
    const set: ReadonlySet<number> = opened.result?.attrset ?? new Set();
    const modeKnownUnsupported =
      knownCreateSupport(this.manager)?.supported?.has(Attr.MODE) === false;
    const follow: SettableAttributes = {
      ...(mode !== undefined && !modeKnownUnsupported ? { mode } : {}),
      ...(set.has(Attr.TIME_ACCESS) || set.has(Attr.TIME_ACCESS_SET)
        ? { timeAccessSet: "server" as const }
        : {}),
      ...(set.has(Attr.TIME_MODIFY) || set.has(Attr.TIME_MODIFY_SET)
        ? { timeModifySet: "server" as const }
        : {}),
    };
    return Object.keys(follow).length > 0 ? follow : undefined;
  }

  /**
   * The OPEN of `name` in the directory `parentFh` (with 4.0's OPEN_CONFIRM),
   * and nothing after; its GETATTR asks for what `fs`, the file's file
   * system, supports, when known. `fh`, the file's handle when a walk just
   * found it: an open of it this client holds may take the request without
   * an OPEN (a shared open, lib/state/files.ts openFile).
   */
  #openCall(
    parentFh: FileHandle,
    name: string,
    path: string,
    how: OpenHow,
    fs: FsTraits | undefined,
    fh?: FileHandle,
  ): Promise<OpenedFile> {
    const attrs = fs ? supportedOf(how.openedIds, fs) : how.request.attrs;
    return openFile(this.manager, {
      ...how.request,
      ...(attrs !== undefined ? { attrs } : {}),
      ...(fh !== undefined ? { fh } : {}),
      dirFh: parentFh,
      name,
      path,
    });
  }

  /**
   * The part of open() after the OPEN: the truncating SETATTR the OPEN did
   * not do, 4.0's mode after an exclusive create; the file is closed (and
   * one it made removed) when they fail.
   */
  async #openedFile(
    opened: OpenedFile,
    parentFh: FileHandle,
    name: string,
    options: OpenOptions,
    how: OpenHow,
  ): Promise<NfsFile> {
    const attrs = opened.attrs.attrs;
    // What this handle's close gives up (OPEN_DOWNGRADE while other handles
    // of the file remain, procs.ts closeOpen).
    const share = {
      access: how.request.access,
      deny: how.request.deny ?? ShareDeny.OPEN4_SHARE_DENY_NONE,
    };
    let file = this.#fileFor(opened.state, opened.attrs, share);
    if (options.truncate && attrs.size !== 0n && (!options.create || attrs.size !== undefined)) {
      // Truncated here when the OPEN did not (no create, or an UNCHECKED4
      // create of a file that existed whose server kept the size it was
      // given, RFC 7530 §16.16.5, RFC 8881 §18.16.3).
      try {
        await file.setattr({ size: 0n });
      } catch (e) {
        // Not handed over: not left open until the client ends either.
        await outsideOperationScope(() => file.close()).catch(() => undefined);
        throw e;
      }
      // Its size is what the SETATTR made it, not what the OPEN found.
      file = this.#fileFor(opened.state, opened.attrs, share, 0n);
    }
    if (how.modeFollows) {
      const follow = this.#afterExclusive4(opened, options.mode);
      if (follow !== undefined) {
        try {
          await file.setattr(follow);
        } catch (e) {
          throw await this.#unmake(file, parentFh, name, attrs.fileid, e);
        }
      }
    }
    return file;
  }

  /**
   * Closes and removes the file `name` in `parentFh` that an exclusive
   * create of open() or createExclusiveIn() made (its verifier ours, RFC
   * 7530 §16.16.5) and that then failed (`failure`) before it was handed
   * over: nothing of a failed open stays. Outside the work's soft stop, as
   * any cleanup. The REMOVE goes beside the CLOSE (a server that refuses to
   * remove an open file waits it out as DELAY meanwhile) and only while the
   * name is this file:
   * `PUTFH LOOKUP VERIFY(fileid) PUTFH REMOVE` (RFC 7530 §16.35 VERIFY,
   * §16.26 REMOVE). Resolves to what to throw: `failure`, or, when the file
   * could not be removed, a {@linkcode CreatedFileLeftError} naming it.
   */
  async #unmake(
    file: NfsFile,
    parentFh: FileHandle,
    name: string,
    fileid: bigint | undefined,
    failure: unknown,
  ): Promise<unknown> {
    const removing = outsideOperationScope(() =>
      this.manager.run(() =>
        fileid === undefined ? [putfh(parentFh), remove(name)] as const : [
          putfh(parentFh),
          lookup(name),
          verify({ fileid }),
          putfh(parentFh),
          remove(name),
        ] as const
      )
    );
    const [, removal] = await Promise.all([
      outsideOperationScope(() => file.close()).catch(() => undefined),
      removing.then(() => undefined, (e: unknown) => e),
    ]);
    if (removal === undefined || !leftBy(removal)) return failure;
    return new CreatedFileLeftError(file.path, { cause: failure, removal });
  }

  /**
   * An open file from its OPEN's GETATTR. The file system's own limits, else
   * the session's (RFC 7530 §5.8.2.20): never the pseudo-root's, whose
   * maxread (4096 on some servers) says nothing about the export.
   */
  #fileFor(
    state: OpenState,
    fattr: DecodedFattr,
    share: ShareModes,
    size = fattr.attrs.size,
  ): NfsFile {
    const attrs = fattr.attrs;
    return new NfsFile(this, state, size, {
      rsize: this.#readSize(attrs.maxread),
      wsize: this.#writeSize(attrs.maxwrite),
    }, share);
  }

  /**
   * The WRITE size of each directory's file system, by the directory's
   * handle (a copy keeps one per directory): a file made in one COMPOUND is
   * never larger, its one WRITE could come back short.
   */
  readonly #writeSizes = new WeakMap<FileHandle, Promise<number>>();

  /**
   * The WRITE size a file made in one COMPOUND in the directory `dirFh` may
   * use: the maxwrite of its file system (RFC 7530 §5.8.2.20; exports
   * differ), asked once per directory, within the session's requests; 0
   * when it cannot be learned (the file goes the ordinary way).
   */
  #writeSizeFrom(dirFh: FileHandle): Promise<number> {
    let size = this.#writeSizes.get(dirFh);
    if (!size) {
      size = (async () => {
        const wanted = await this.#wanted([Attr.MAXWRITE], this.#dirFs.get(dirFh));
        const [, fattr] = await this.manager.run(() => [putfh(dirFh), getattr(wanted)] as const);
        return this.#writeSize(fattr.attrs.maxwrite);
      })().catch(() => {
        // Not learned this time (a deadline, a stop): asked again next time.
        this.#writeSizes.delete(dirFh);
        return 0;
      });
      this.#writeSizes.set(dirFh, size);
    }
    return size;
  }

  /**
   * For a copy of many small files (lib/client/copy): makes `path`
   * (exclusive, with `options.mode`), writes `data` at 0, sets `settable`
   * and closes it, in one COMPOUND from its directory's handle, which
   * `options.directories` keeps for the copy (lib/state/small_create.ts).
   * Undefined when that shape cannot be used, with nothing of the file sent:
   * NFSv4.1 only, a plain name in a directory that can be walked, and no
   * more data than one WRITE of its file system holds (its maxwrite, asked
   * once per directory) and {@linkcode SMALL_CREATE_BYTES}; the caller
   * then creates the ordinary way, which says why where it fails. `done: false`: made and open, the
   * rest not done; the caller writes, sets and closes through `file`.
   *
   * @internal For the copy engine's small uploads (lib/client/copy).
   */
  async createWriteCloseIn(
    path: string,
    options: {
      readonly mode: number;
      readonly directories: DirectoryHandles;
      /**
       * The file's final path, in the same directory: taken in the same
       * COMPOUND while it is free (LINK, then REMOVE of `path`), where the
       * session allows (lib/state/small_create.ts `placeAs`).
       */
      readonly placeAs?: string;
      /** An owner and group to give before the data (`owner`, `ownerGroup`: cp -p). */
      readonly owner?: SettableAttributes;
    },
    data: Uint8Array,
    settable: SettableAttributes,
  ): Promise<CreatedInOne | undefined> {
    const owner = options.owner;
    // The owner's and group's strings go in the request too (UTF-8, padded).
    const ownerBytes = owner
      ? 3 * ((owner.owner?.length ?? 0) + (owner.ownerGroup?.length ?? 0)) + 16
      : 0;
    if (
      data.length > SMALL_CREATE_BYTES ||
      !canCreateInOne(this.manager, data.length + ownerBytes, owner !== undefined)
    ) {
      return undefined;
    }
    const inDirectory = await this.#inDirectory(path);
    if (!inDirectory) return undefined;
    const { dirPath, name } = inDirectory;
    return await this.#withDirectoryHandle<CreatedInOne | undefined>(
      dirPath,
      options.directories,
      async (dirFh) => {
        if (data.length > await this.#writeSizeFrom(dirFh)) return undefined;
        const fs = this.#dirFs.get(dirFh);
        this.#refuseLongName(name, fs, path);
        const placeAs = options.placeAs;
        // A final name too long for the directory is not taken here: the
        // rename that places the file later refuses it, naming it.
        const placeName = placeAs !== undefined && canPlaceInOne(this.manager, owner !== undefined)
          ? nameIn(dirPath, placeAs)
          : undefined;
        const placing = placeName !== undefined && !(fs && nameTooLong(placeName, fs));
        const attrs = await this.#wanted(OPENED_FILE_ATTRS, fs);
        const end = await createWriteSetattrClose(this.manager, {
          dirFh,
          name,
          path,
          mode: options.mode,
          attrs,
          data,
          settable,
          ...(placing ? { placeAs: placeName } : {}),
          ...(owner !== undefined ? { owner } : {}),
        });
        if (!end.done) {
          return {
            done: false,
            file: this.#fileFor(end.opened.state, end.opened.attrs, WRITE_SHARE),
            ...(end.ownerError !== undefined ? { ownerError: end.ownerError } : {}),
            ...(end.ownerGiven ? { ownerGiven: true } : {}),
            ...(end.ownership ? { ownership: end.ownership } : {}),
          };
        }
        return {
          done: true,
          fh: end.fh,
          parentFh: dirFh,
          write: end.write,
          ...(end.commitVerifier ? { commitVerifier: end.commitVerifier } : {}),
          ...(end.placing ? { placing: end.placing } : {}),
          ...(end.ownership ? { ownership: end.ownership } : {}),
          ...(end.commitError !== undefined ? { commitError: end.commitError } : {}),
        };
      },
      () => Promise.resolve(undefined),
    );
  }

  /**
   * For a copy of many files into few directories (lib/client/copy): an
   * exclusive create of `path`, OPENed by name from its directory's handle,
   * which `directories` keeps for the copy (one walk per directory, not the
   * two walks per file of {@linkcode open}). The same OPEN as open()'s
   * (EXCLUSIVE4_1 or EXCLUSIVE4 with a verifier of our own: a resent OPEN is
   * recognised by it, RFC 8881 §18.16.3, RFC 7530 §16.16.5). A directory
   * handle the server calls stale at the PUTFH (the OPEN did not run) is
   * walked again once; nothing after an OPEN that was done is (4.0's
   * OPEN_CONFIRM, the SETATTR of its mode: a stale handle there is the new
   * file's, and a second exclusive OPEN would meet the file the first
   * made). Whatever is not a plain name in a directory, and a directory
   * that cannot be walked, goes the way of open(), so behaviour and
   * messages stay the same. Without the walk of `path` itself, a name that
   * exists already is refused by the server (NFS4ERR_EXIST: an exclusive
   * create never opens a file it did not make).
   *
   * @internal For the copy engine (lib/client/copy).
   */
  async createExclusiveIn(
    path: string,
    options: { readonly mode: number; readonly directories: DirectoryHandles },
  ): Promise<NfsFile> {
    const openOptions: OpenOptions = { access: "write", create: "exclusive", mode: options.mode };
    const inDirectory = await this.#inDirectory(path);
    if (!inDirectory) return await this.open(path, openOptions);
    const { dirPath, name } = inDirectory;
    const how = await this.#openHow(openOptions);
    const got = await this.#withDirectoryHandle<
      NfsFile | { readonly dirFh: FileHandle; readonly opened: OpenedFile }
    >(
      dirPath,
      options.directories,
      async (dirFh) => {
        const fs = this.#dirFs.get(dirFh);
        this.#refuseLongName(name, fs, path);
        return { dirFh, opened: await this.#openCall(dirFh, name, path, how, fs) };
      },
      () => this.open(path, openOptions),
    );
    if (got instanceof NfsFile) return got;
    return await this.#openedFile(got.opened, got.dirFh, name, openOptions, how);
  }

  /**
   * `attempt` with the handle of directory `dirPath`, which `directories`
   * keeps for a batch (walked once). No handle (not a directory, or the
   * walk failed): `fallback`, the path-walking call, which says why, and
   * the next file walks again. A handle the server calls stale at the PUTFH
   * (NFS4ERR_STALE, FHEXPIRED: nothing after the PUTFH ran) is walked again
   * once; not when the error answered a resend, whose first transmission
   * may have done the work (an exclusive create's new OPEN, with a new
   * verifier, would not find the file it made). Nor is a stale handle met
   * after `attempt`'s state change was done walked again, when it can be
   * told ({@linkcode staleAtPutfh}); `attempt` keeps what follows a done
   * change out of it where it can (createExclusiveIn). A later COMPOUND of
   * lib/state/small_create.ts (createWriteCloseIn), on the new file's
   * handle, fails at its PUTFH no differently: that cannot be told here.
   */
  async #withDirectoryHandle<T>(
    dirPath: string,
    directories: DirectoryHandles,
    attempt: (dirFh: FileHandle) => Promise<T>,
    fallback: () => Promise<T>,
  ): Promise<T> {
    for (let walks = 0;; walks++) {
      const dirFh = await directories.get(dirPath, () => this.#directoryHandle(dirPath));
      if (!dirFh) {
        directories.drop(dirPath);
        return await fallback();
      }
      try {
        return await attempt(dirFh);
      } catch (e) {
        if (walks === 0 && staleAtPutfh(e) && !e.answeredResend) {
          this.manager.tracer.emit("retry", "directory walk again", `${dirPath}: ${e.statusName}`);
          directories.drop(dirPath);
          continue;
        }
        throw e;
      }
    }
  }

  /**
   * RENAME `from` to `to` in the same directory, whose handle `directories`
   * keeps for the copy: `PUTFH SAVEFH PUTFH RENAME` with no walk (RFC 7530
   * §16.26, RFC 8881 §18.26). The outcome of a lost reply is looked up as
   * rename()'s is, never run again blindly; a handle the server calls stale
   * at a PUTFH (the RENAME did not run, and no earlier transmission may
   * have) is walked again once. Anything else goes the way of rename().
   *
   * @internal For the copy engine (lib/client/copy).
   */
  async renameIn(from: string, to: string, directories: DirectoryHandles): Promise<void> {
    this.#refuseIfClosed(from);
    this.#refuseIfClosed(to);
    const source = await this.#inDirectory(from);
    const target = await this.#inDirectory(to);
    if (!source || !target || source.dirPath !== target.dirPath) return await this.rename(from, to);
    await this.#withDirectoryHandle(
      source.dirPath,
      directories,
      (dirFh) => {
        const fs = this.#dirFs.get(dirFh);
        this.#refuseLongName(source.name, fs, from);
        this.#refuseLongName(target.name, fs, to);
        return this.#renameBetween(from, to, dirFh, source.name, dirFh, target.name);
      },
      () => this.rename(from, to),
    );
  }

  /**
   * {@linkcode stat} of `path` without following a symlink at its end, by
   * name from its directory's handle, which `directories` keeps for a copy
   * (`PUTFH LOOKUP GETFH GETATTR` where a walk from the root LOOKUPs every
   * component): what a copy checks each destination with. The result is
   * stat()'s: the path as walked (the directory's, symlinks resolved, and
   * the name), the same attributes, a symlink's target. A handle the server
   * calls stale at the PUTFH is walked again once; anything else goes the
   * way of stat().
   *
   * @internal For the copy engine (lib/client/copy).
   */
  async statIn(path: string, directories: DirectoryHandles): Promise<FileInfo> {
    const inDirectory = await this.#inDirectory(path);
    if (!inDirectory) return await this.stat(path);
    const { dirPath, name } = inDirectory;
    return await this.#withDirectoryHandle(
      dirPath,
      directories,
      async (dirFh) => {
        const walked = this.#walkedPaths.get(dirFh);
        if (walked === undefined) return await this.stat(path);
        const fs = this.#dirFs.get(dirFh);
        this.#refuseLongName(name, fs, path);
        // The name's GETATTR asks what its directory's file system supports.
        const attrIds = await this.#wanted(LIST_ATTRS, fs);
        try {
          const [, , fh, attrs] = await this.manager.run(() =>
            [putfh(dirFh), lookup(name), getfh(), getattr(attrIds)] as const
          );
          const resolvedPath = joinPath([...splitPath(walked), name]);
          const info = toFileInfo(name, resolvedPath, attrs.attrs);
          if (info.kind === "symlink") {
            return { ...info, linkTarget: await this.#readlinkFh(fh, resolvedPath) };
          }
          return info;
        } catch (e) {
          throw e instanceof NfsError ? e.withPath(path) : e;
        }
      },
      () => this.stat(path),
    );
  }

  /**
   * The directory and last name of `path` when it is a plain name in a
   * directory (no `..`, no trailing `/`); else undefined. The directory's
   * names are held to their file systems' maxname by its walk, the last
   * name to the directory's by the caller, once its handle is known
   * (#refuseLongName with `#dirFs`).
   */
  async #inDirectory(path: string): Promise<{ dirPath: string; name: string } | undefined> {
    await this.#ready(path);
    return splitInDirectory(path);
  }

  /** The handle of the directory `dirPath` (symlinks followed); undefined: not a directory. */
  async #directoryHandle(dirPath: string): Promise<FileHandle | undefined> {
    const dir = await this.#resolve(dirPath, true);
    if (dir.attrs.type !== FileType.NF4DIR) return undefined;
    this.#walkedPaths.set(dir.fh, dir.path);
    this.#dirFs.set(dir.fh, await this.#fsOf(dir.attrs));
    return dir.fh;
  }

  /** The path each handle #directoryHandle() walked to, as walked (symlinks resolved). */
  readonly #walkedPaths = new WeakMap<FileHandle, string>();

  /**
   * The largest WRITE payload the session's request size allows (no floor:
   * see {@linkcode #maxResponse}).
   */
  #maxRequest(wanted: number): number {
    const session = this.manager.client.session;
    const cap = session ? session.fore.maxRequestSize - 1024 : wanted;
    return Math.min(wanted, cap);
  }

  /**
   * LOCKT (RFC 7530 §16.11): who, if anyone, holds a lock conflicting with
   * `range` on `path`. Takes nothing.
   */
  async testLock(path: string, range: LockRange): Promise<LockHolder | undefined> {
    this.#refuseIfClosed(path);
    checkRange(path, "testLock", range);
    // LOCKT takes nothing: the walk's handle, called stale or expired at
    // its PUTFH, is walked again once (#withWalk).
    const holder = await this.#withWalk(
      path,
      async () => {
        const target = await this.#resolve(path, true);
        if (target.attrs.type === FileType.NF4DIR) {
          throw new NfsError(S.NFS4ERR_ISDIR, "LOCKT", { path });
        }
        return target;
      },
      (target) => this.#withPath(path, () => this.#lockt(target.fh, range)),
      false,
    );
    // A holder the server made up is not named (see plausibleHolder()).
    return holder && !plausibleHolder(holder, range) ? { ...holder, unknown: true } : holder;
  }

  /** The owner of this client's locks on `fh`, else the one LOCKT tests with. */
  #lockOwnerOn(fh: FileHandle): LockOwner {
    for (const open of this.manager.opens) {
      if (!bytesEqual(open.fh, fh)) continue;
      const held = open.locks.find((l) => !l.owner.retired && l.ranges.length > 0);
      if (held) return held.owner;
    }
    return this.manager.lockOwner;
  }

  /**
   * LOCKT on `fh` as this client's lock owner: the conflicting lock's
   * holder, or undefined. `once`: GRACE and DELAY are answers too, not
   * reasons to wait. The owner is that of the locks this client holds on
   * the file, when it holds any: each open file has a lock owner of its
   * own (owners.ts newLockOwner), and under another owner this client's own
   * lock would be a conflict (`nfs4 shell`: `lock f`, then `lock --test f`).
   */
  async #lockt(
    fh: FileHandle,
    range: LockRange,
    options: { signal?: AbortSignal; once?: boolean } = {},
  ): Promise<LockHolder | undefined> {
    try {
      await this.manager.run(
        () =>
          [
            putfh(fh),
            lockt({
              locktype: range.type === "read" ? LockType.READ_LT : LockType.WRITE_LT,
              offset: range.offset,
              length: range.length,
              owner: { clientid: this.manager.client.clientId!, owner: this.#lockOwnerOn(fh).id },
            }),
          ] as const,
        {
          final: new Set(
            options.once
              ? [S.NFS4ERR_DENIED, S.NFS4ERR_GRACE, S.NFS4ERR_DELAY]
              : [S.NFS4ERR_DENIED],
          ),
          ...(options.signal ? { signal: options.signal } : {}),
        },
      );
      return undefined;
    } catch (e) {
      if (e instanceof NfsError && e.status === S.NFS4ERR_DENIED) {
        return lockHolder(e.detail as LockDenied);
      }
      throw e;
    }
  }

  /**
   * The holder to name for a LOCK refused with `denied`. Servers differ: a
   * newer Ganesha answers a refused blocking LOCK with a holder it made up
   * (`ganesha_unknown_owner`, client ID 0; on 4.0 ranges never filled in).
   * Such a holder is checked with LOCKT (RFC 7530 §16.11), which names the
   * real one; when LOCKT names none either (the lock went meanwhile, or its
   * answer is made up too), the holder is marked unknown rather than named.
   *
   * @internal For NfsFile.lock().
   */
  async conflictHolder(
    fh: FileHandle,
    range: LockRange,
    denied: LockHolder,
    signal?: AbortSignal,
  ): Promise<LockHolder> {
    if (plausibleHolder(denied, range)) return denied;
    // LOCKT is asked once, briefly: the refusal is the answer, LOCKT only names.
    const stop = new AbortController();
    const timer = setTimeout(
      () => stop.abort(new Error("LOCKT deadline")),
      Math.min(this.manager.callTimeoutMs, 5_000),
    );
    const tested = await this.#lockt(fh, range, {
      signal: signal ? AbortSignal.any([signal, stop.signal]) : stop.signal,
      once: true,
    }).catch(() => undefined).finally(() => clearTimeout(timer));
    if (tested && plausibleHolder(tested, range)) return tested;
    this.manager.tracer.emit(
      "lock",
      "conflicting lock of an unknown holder",
      `the server named ${describeLockHolder(denied)}; LOCKT ${
        tested ? `named ${describeLockHolder(tested)}` : "named no holder"
      }`,
    );
    return { ...denied, unknown: true };
  }

  /** The directory handle and last name of `path` (which need not exist). */
  async #parentOf(path: string): Promise<{ dirFh: FileHandle; name: string; dirPath: string }> {
    await this.#ready(path);
    const components = splitPath(path);
    const name = components.at(-1);
    if (name === undefined || name === "..") {
      throw new NfsError(S.NFS4ERR_INVAL, "LOOKUP", { path });
    }
    const dirPath = joinPath(components.slice(0, -1));
    const dir = await this.#resolve(dirPath, true).catch((e) => {
      // A guarded tree's refusal names the entry the caller is changing
      // (one line per entry, as for any failure inside a tree); the
      // message names the symlink.
      throw e instanceof SymlinkInTreeError ? e.withPath(path) : e;
    });
    if (dir.attrs.type !== undefined && dir.attrs.type !== FileType.NF4DIR) {
      throw new NfsError(S.NFS4ERR_NOTDIR, "LOOKUP", { path: dirPath });
    }
    // Held to the maxname of the directory's own file system.
    this.#refuseLongName(name, await this.#fsOf(dir.attrs), path);
    return { dirFh: dir.fh, name, dirPath: dir.path };
  }

  /**
   * `path` (not followed) as an unknown outcome's look-up sees it
   * (exactly_once.ts lookUpOutcome): undefined where the server or the walk
   * says nothing is there to see (a status, a symlink loop); a look-up that
   * was stopped or got no answer is thrown, and stops the caller too.
   */
  async #lookedUp(path: string): Promise<Resolved | undefined> {
    try {
      return await this.#resolve(path, false);
    } catch (e) {
      if (e instanceof NfsError || e instanceof PathError) return undefined;
      throw e;
    }
  }

  /** CREATE a directory (RFC 7530 §16.4). */
  async mkdir(path: string, mode = 0o755): Promise<void> {
    this.#refuseIfClosed(path);
    checkInteger(path, "mode", mode, MODE);
    await this.#changeInDirectory(
      path,
      "CREATE",
      (dirFh, name) => [
        putfh(dirFh),
        create({
          type: FileType.NF4DIR,
          name,
          // Without a mode on a file system that has none (files.ts).
          attrs: createAttributes(this.manager, { mode }, path),
        }),
      ],
      // A directory by that name now: ours (the first transmission made it).
      async () => (await this.#resolve(path, false)).attrs.type === FileType.NF4DIR,
    );
  }

  /**
   * A state change `op` (CREATE, REMOVE) of the name `path` in its
   * directory: the directory walked, the COMPOUND `ops(dirFh, name)` sent,
   * a handle the server calls stale or expired at its PUTFH (the change
   * did not run) walked again once (#withWalk), and an outcome a resend
   * left unknown settled by looking, `done()` (lib/state/exactly_once.ts).
   */
  async #changeInDirectory(
    path: string,
    op: string,
    ops: (dirFh: FileHandle, name: string) => OpList,
    done: () => Promise<boolean>,
  ): Promise<void> {
    await this.#withWalk(
      path,
      () => this.#parentOf(path),
      ({ dirFh, name }) =>
        settleUnknownOutcome(
          this.manager,
          op,
          path,
          () => this.#withPath(path, () => this.manager.run(() => ops(dirFh, name))),
          done,
        ),
      true,
    );
  }

  /** CREATE a symbolic link `path` pointing at `target` (RFC 7530 §16.4). */
  async symlink(path: string, target: string): Promise<void> {
    await this.#changeInDirectory(
      path,
      "CREATE",
      (dirFh, name) => [
        putfh(dirFh),
        create({ type: FileType.NF4LNK, name, linkData: target, attrs: {} }),
      ],
      // A symlink by that name holding this text: ours (the first
      // transmission made it).
      async () => {
        const made = await this.#lookedUp(path);
        if (made?.attrs.type !== FileType.NF4LNK) return false;
        return await this.#readlinkFh(made.fh, made.path) === target;
      },
    );
  }

  /**
   * CREATE a fifo, socket or device (RFC 7530 §16.4: NF4FIFO, NF4SOCK, and
   * NF4CHR/NF4BLK with their specdata4) with permission bits `mode`.
   */
  async mknod(
    path: string,
    kind: "fifo" | "socket" | "char" | "block",
    mode: number,
    rdev: { major: number; minor: number } = { major: 0, minor: 0 },
  ): Promise<void> {
    this.#refuseIfClosed(path);
    checkInteger(path, "mode", mode, MODE);
    checkInteger(path, "device major number", rdev.major, UINT32);
    checkInteger(path, "device minor number", rdev.minor, UINT32);
    const attrs = createAttributes(this.manager, { mode }, path);
    const devData = { specdata1: rdev.major, specdata2: rdev.minor };
    const argsFor = (name: string) =>
      kind === "char"
        ? { type: FileType.NF4CHR, devData, name, attrs }
        : kind === "block"
        ? { type: FileType.NF4BLK, devData, name, attrs }
        : { type: kind === "fifo" ? FileType.NF4FIFO : FileType.NF4SOCK, name, attrs };
    const type = argsFor("").type;
    await this.#changeInDirectory(
      path,
      "CREATE",
      (dirFh, name) => [putfh(dirFh), create(argsFor(name))],
      // An object of that type by that name: ours (the first transmission made it).
      async () => (await this.#resolve(path, false)).attrs.type === type,
    );
  }

  /** LINK: a new name `path` for the existing file `existing`, not followed (RFC 7530 §16.9). */
  async link(existing: string, path: string): Promise<void> {
    this.#refuseIfClosed(existing);
    this.#refuseIfClosed(path);
    // The file's or the directory's handle, called stale or expired at
    // either PUTFH (the LINK did not run), is walked again once, both
    // paths (#withWalk).
    const walk = async () => ({
      source: await this.#resolve(existing, false),
      ...await this.#parentOf(path),
    });
    await this.#withWalk(path, walk, ({ source, dirFh, name }) =>
      settleUnknownOutcome(
        this.manager,
        "LINK",
        path,
        () =>
          this.#withPath(
            path,
            () =>
              this.manager.run(() =>
                [putfh(source.fh), savefh(), putfh(dirFh), link(name)] as const
              ),
          ),
        // The name is now the same file (fileid, and fsid where the server
        // gives it: fileids are unique within a file system, RFC 7530
        // §5.8.1.9): ours. Without a fileid nothing can be told, and the
        // status stands.
        async () => {
          const was = source.attrs;
          const now = (await this.#lookedUp(path))?.attrs;
          return was.fileid !== undefined && now?.fileid === was.fileid &&
            now.fsid?.major === was.fsid?.major && now.fsid?.minor === was.fsid?.minor;
        },
      ), true);
  }

  /** RENAME `from` to `to`, replacing `to` if it exists (RFC 7530 §16.26). */
  async rename(from: string, to: string): Promise<void> {
    this.#refuseIfClosed(from);
    this.#refuseIfClosed(to);
    // Either directory's handle, called stale or expired at its PUTFH (the
    // RENAME did not run), is walked again once, both (#withWalk).
    const walk = async () => ({
      source: await this.#parentOf(from),
      target: await this.#parentOf(to),
    });
    await this.#withWalk(
      from,
      walk,
      ({ source, target }) =>
        this.#renameBetween(from, to, source.dirFh, source.name, target.dirFh, target.name),
      true,
    );
  }

  /**
   * `PUTFH SAVEFH PUTFH RENAME` of `fromName` in `fromDir` to `toName` in
   * `toDir` (the paths `from` and `to`, for errors and for settling): a
   * lost reply is settled by looking, never by running it again.
   */
  async #renameBetween(
    from: string,
    to: string,
    fromDir: FileHandle,
    fromName: string,
    toDir: FileHandle,
    toName: string,
  ): Promise<void> {
    await settleUnknownOutcome(
      this.manager,
      "RENAME",
      from,
      () =>
        this.#withPath(from, () =>
          this.manager.run(() =>
            [
              putfh(fromDir),
              savefh(),
              putfh(toDir),
              rename({ oldName: fromName, newName: toName }),
            ] as const
          )),
      // Done when the old name is gone and the new one is there.
      async () => !(await this.#exists(from)) && await this.#exists(to),
    );
  }

  /** REMOVE a file, symlink or empty directory (RFC 7530 §16.25). */
  async remove(path: string): Promise<void> {
    await this.#changeInDirectory(
      path,
      "REMOVE",
      (dirFh, name) => [putfh(dirFh), remove(name)],
      async () => !(await this.#exists(path)),
    );
  }

  /** Whether `path` names something (a LOOKUP walk; NOENT: no). */
  async #exists(path: string): Promise<boolean> {
    try {
      await this.#resolve(path, false);
      return true;
    } catch (e) {
      if (e instanceof NfsError && e.status === S.NFS4ERR_NOENT) return false;
      throw e;
    }
  }

  /**
   * SETATTR on `path` without an open (the anonymous stateid, RFC 7530
   * §9.1.4.3): mode and times of directories and files after a copy.
   * `readOwnership`: the owner and group it sets are read back in the same
   * COMPOUND (`PUTFH SETATTR GETATTR`) and returned, what the server holds
   * then (a squashing export answers the SETATTR NFS4_OK and keeps its
   * anonymous ids, RFC 7530 §16.32.4); undefined when that GETATTR failed
   * (the SETATTR stands, RFC 7530 §15.2) or `attrs` sets neither.
   */
  setattrPath(path: string, attrs: PathSetattr, options?: StatOptions): Promise<void>;
  /** @internal With the other settable attributes of lib/nfs4 (cp -p, chown). */
  setattrPath(
    path: string,
    attrs: SettableAttributes,
    options?: StatOptions,
  ): Promise<void>;
  /** @internal The owner and group set read back in the same COMPOUND (cp -p, chown). */
  setattrPath(
    path: string,
    attrs: SettableAttributes,
    options: StatOptions & { readonly readOwnership: boolean },
  ): Promise<OwnershipRead | undefined>;
  async setattrPath(
    path: string,
    attrs: SettableAttributes,
    options: StatOptions & { readonly readOwnership?: boolean | undefined } = {},
  ): Promise<OwnershipRead | undefined | void> {
    this.#refuseIfClosed(path);
    checkSettable(path, attrs);
    const read = options.readOwnership ? ownershipAsked(attrs) : [];
    // The walk's handle, called stale or expired at the SETATTR's PUTFH
    // (the SETATTR did not run), is walked again once (#withWalk).
    const { target, set, held } = await this.#withWalk(
      path,
      () => this.#resolve(path, options.follow ?? false, true),
      async (target) => {
        let set: ReadonlySet<number> | undefined;
        let held: OwnershipRead | undefined;
        try {
          await this.#withPath(
            path,
            () =>
              this.manager.run(() => {
                set = held = undefined;
                return [
                  putfh(target.fh),
                  tapped(setattr({ stateid: ANONYMOUS_STATEID, attrs }), (v) => set = v),
                  ...(read.length > 0 ? [tapped(getattr(read), (v) => held = ownershipOf(v))] : []),
                ];
              }),
          );
        } catch (e) {
          // Only the GETATTR after it failed: the SETATTR stands, not read back.
          if (!(set && e instanceof NfsError && e.op === "GETATTR")) throw e;
        }
        return { target, set: set!, held };
      },
      true,
    );
    checkAttributesSet(path, attrs, set);
    if (attrs.size !== undefined) noteSizeSet(this.manager, target, attrs.size);
    return held;
  }

  async #withPath<T>(path: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw withPathOf(e, path);
    }
  }

  sessionSlots(): number | undefined {
    return this.manager.client.session?.slots.size;
  }

  /** What the state manager holds now. */
  describeState(): StateSummary {
    const m = this.manager;
    const c = m.client;
    return {
      server: c.server,
      minorVersion: m.minorVersion,
      clientId: c.clientIdText,
      ownerId: c.wireOwnerId,
      session: c.session ? c.sessionIdText : undefined,
      slots: c.session?.slots.size,
      leaseSeconds: c.leaseTime,
      renewalSeconds: c.renewalPeriodMs / 1000,
      leaseLeftMs: m.leaseLeftMs(),
      flags: [...c.flags],
      opens: [...m.opens].map((open) => ({
        path: open.path,
        stateid: formatStateid(open.stateid),
        access: ["none", "read", "write", "read+write"][open.access & 3] ?? String(open.access),
        owner: open.owner.label,
        lost: open.bad,
        delegation: open.delegation
          ? {
            type: open.delegation.type,
            stateid: formatStateid(open.delegation.stateid),
            recalled: open.delegation.recalled,
          }
          : undefined,
        locks: open.locks.map((l) => ({
          owner: l.owner.label,
          stateid: l.stateid ? formatStateid(l.stateid) : undefined,
          ranges: l.ranges.map((r) => `${r.type} ${formatRange(r.offset, r.length)}`),
          lost: l.bad ?? open.bad,
        })),
      })),
    };
  }

  keepLease(on: boolean): void {
    // Turning it off after close() is what close() did already: allowed (a `finally`).
    if (on) this.#refuseIfClosed();
    this.manager.keepLease(on);
  }

  /**
   * RENEW (4.0, RFC 7530 §16.28) or a SEQUENCE alone (4.1, RFC 8881
   * §18.46) now, once any recovery running has ended. What the answer
   * reveals (a reboot, an expired lease, a lost session) sets the state
   * manager's flags as for any operation, and the probe waits for that
   * recovery too: the client ID it reports is the one in force after it.
   */
  async probeLease(): Promise<LeaseProbe> {
    this.#refuseIfClosed();
    const m = this.manager;
    // Awaited by its caller: the event loop is held meanwhile (Bun, Node),
    // as for any operation (StateManager.whileAwaited).
    return await m.whileAwaited(async () => {
      const started = m.clock.now();
      await m.waitForRecovery();
      const status = await m.renewNow();
      await m.waitForRecovery();
      return {
        answer: statusName(status),
        ms: m.clock.now() - started,
        clientId: m.client.clientIdText,
      };
    });
  }

  /** This process's lock state on the file holding byte ranges, if any (see #ioState). */
  #ioLock(state: OpenState): LockState | undefined {
    // Every lock state of the open is this process's; one whose owner is
    // in step first, then a retired owner's (it still holds its ranges).
    for (const l of state.locks) if (!l.owner.retired && l.ranges.length > 0) return l;
    for (const l of state.locks) if (l.ranges.length > 0) return l;
    return undefined;
  }

  /**
   * The state READ and WRITE go through: the lock state when this process
   * holds byte-range locks on the file (RFC 7530 §9.1.4.4: I/O uses the lock
   * stateid), else the open. A lock that recovery lost makes a WRITE fail
   * with EBADF, as the kernel's lost-lock check does: data written then
   * would not be protected by the lock the program believes it holds.
   */
  #ioState(
    state: OpenState,
    write: boolean,
  ): { state: OpenState | LockState; stateid: () => Stateid } {
    const lock = this.#ioLock(state);
    if (!lock) return { state, stateid: () => state.stateid };
    // Decided at each attempt: recovery may lose the lock meanwhile.
    const stateid = () => lockIoStateid(lock, state);
    // A READ may still go through the open when the lock was lost: it
    // changes nothing the lock was protecting.
    return { state: write ? lock : state, stateid };
  }

  /**
   * READ through an open state (the state manager recovers it if needed).
   * What `#withPath` does, written out: a READ is the one call made
   * thousands of times a second (a long `cat`), and the wrapper's two
   * async frames and closure were a good part of what each READ left to
   * the collector. With `end` (the size known at OPEN), an eof before it is
   * believed only once a GETATTR finds the file no larger (EndOfFileCheck,
   * RFC 7530 §16.23.4, RFC 8881 §18.22.4); any other reply costs one test
   * of its eof.
   *
   * @internal For NfsFile: use `file.read()`.
   */
  async readAt(
    state: OpenState,
    offset: bigint,
    count: number,
    end?: EndOfFileCheck,
  ): Promise<{ data: Uint8Array; eof: boolean }> {
    // As #ioState(state, false) decides, without its object and closure:
    // the lock's stateid when one is held (looked at in each attempt), the
    // open recovered either way.
    const lock = this.#ioLock(state);
    try {
      const [, result] = await this.manager.run(
        () =>
          [
            putfh(state.fh),
            read({
              stateid: ioStateid(
                lock ? lockIoStateid(lock, state) : state.stateid,
                this.manager.sessions,
              ),
              offset,
              count,
            }),
          ] as const,
        statesOption(state),
      );
      if (result.eof && end !== undefined && end.early(offset, result.data.length)) {
        await end.confirm(offset + BigInt(result.data.length));
      }
      return result;
    } catch (e) {
      throw withPathOf(e, state.path);
    }
  }

  /**
   * The size of an open file now: GETATTR of its handle (through the open's
   * filehandle, so a rename or removal of its name changes nothing). What
   * an end of file reported before the size known at OPEN is checked
   * against (EndOfFileCheck).
   *
   * @internal For NfsFile.
   */
  async sizeOfState(state: OpenState): Promise<bigint | undefined> {
    const [, fattr] = await this.#withPath(
      state.path,
      () => this.manager.run(() => [putfh(state.fh), getattr([Attr.SIZE])] as const),
    );
    return fattr.attrs.size;
  }

  /**
   * SEEK through an open state (NFSv4.2, RFC 7862 §15.11). NFS4ERR_NXIO
   * (no data past `offset`) is the end: `eof`, at `offset`. Undefined when
   * the server does not do SEEK (4.0/4.1, or NFS4ERR_NOTSUPP once: it is
   * not asked again).
   *
   * @internal For NfsFile: use `file.seek`.
   */
  async seekState(
    state: OpenState,
    offset: bigint,
    what: "data" | "hole",
  ): Promise<{ eof: boolean; offset: bigint } | undefined> {
    if (this.manager.minorVersion < 2 || this.#seekUnsupported) return undefined;
    try {
      return await this.#withPath(state.path, async () => {
        const [, result] = await this.manager.run(
          () =>
            [
              putfh(state.fh),
              seek({
                stateid: ioStateid(state.stateid, this.manager.sessions),
                offset,
                what: what === "data"
                  ? SeekContent.NFS4_CONTENT_DATA
                  : SeekContent.NFS4_CONTENT_HOLE,
              }),
            ] as const,
          { states: [state] },
        );
        return result;
      });
    } catch (e) {
      // No data past `offset` (RFC 7862 §15.11.3): the answer is "none before the end".
      if (e instanceof NfsError && e.status === S.NFS4ERR_NXIO) {
        return { eof: true, offset: NFS4_UINT64_MAX };
      }
      if (e instanceof NfsError && e.status === S.NFS4ERR_NOTSUPP) {
        this.#seekUnsupported = true;
        return undefined;
      }
      // SEEK for one `what` only (NFS4ERR_UNION_NOTSUPP, RFC 7862 §11):
      // not asked again, as after NOTSUPP; the caller reads instead
      // (isSeekUnsupported), told the server's own status.
      if (e instanceof NfsError && e.status === S.NFS4ERR_UNION_NOTSUPP) {
        this.#seekUnsupported = true;
      }
      throw e;
    }
  }

  #seekUnsupported = false;

  /**
   * Whether SEEK may be asked: a 4.2 client whose server has not answered
   * one with NFS4ERR_NOTSUPP or NFS4ERR_UNION_NOTSUPP (NfsFile.seek is
   * undefined otherwise).
   *
   * @internal For NfsFile: use `file.seek`.
   */
  get seekSupported(): boolean {
    return this.manager.minorVersion >= 2 && !this.#seekUnsupported;
  }

  /**
   * WRITE through an open state.
   *
   * @internal For NfsFile: use `file.write()`.
   */
  writeAt(
    state: OpenState,
    offset: bigint,
    data: Uint8Array,
    stable: number,
  ): Promise<WriteResult> {
    const io = this.#ioState(state, true);
    return this.#withPath(state.path, async () => {
      const [, result] = await this.manager.run(
        () =>
          [
            putfh(state.fh),
            write({
              stateid: ioStateid(io.stateid(), this.manager.sessions),
              offset,
              stable,
              data,
            }),
          ] as const,
        { states: [io.state] },
      );
      // A write delegation's CB_GETATTR answers the size with this write
      // in it (RFC 8881 §10.4.3).
      noteWritten(this.manager, state, offset + BigInt(result.count));
      return result;
    });
  }

  /**
   * @internal For NfsFile: use `file.commit()`.
   */
  commitState(state: OpenState): Promise<Uint8Array> {
    return this.#withPath(state.path, async () => {
      const [, verifier] = await this.manager.run(() => [putfh(state.fh), commit()] as const, {
        states: [state],
      });
      return verifier;
    });
  }

  /**
   * SETATTR of `attrs` with the open's stateid. `readOwnership`: the owner
   * and group it sets are read back in the same COMPOUND (`PUTFH SETATTR
   * GETATTR`) and returned, what the server holds then (a squashing export
   * answers the SETATTR NFS4_OK and keeps its anonymous ids, RFC 7530
   * §16.32.4). That GETATTR failing does not fail the SETATTR, which ran
   * (a COMPOUND stops at its first failure, RFC 7530 §15.2): nothing is
   * returned then. Undefined too when `attrs` sets neither.
   *
   * @internal For NfsFile: use `file.setattr()`.
   */
  async setattrState(
    state: OpenState,
    attrs: SettableAttributes,
    options: { readonly readOwnership?: boolean } = {},
  ): Promise<OwnershipRead | undefined> {
    const read = options.readOwnership ? ownershipAsked(attrs) : [];
    let set: ReadonlySet<number> | undefined;
    let held: OwnershipRead | undefined;
    try {
      await this.#withPath(state.path, () =>
        this.manager.run(
          () => {
            set = held = undefined;
            return [
              putfh(state.fh),
              // Seqid 0 on 4.1, as READ and WRITE: an OPEN of the same file
              // by another handle may move the stateid on meanwhile (RFC
              // 8881 §8.2.2; ioStateid).
              tapped(
                setattr({ stateid: ioStateid(state.stateid, this.manager.sessions), attrs }),
                (v) => set = v,
              ),
              ...(read.length > 0 ? [tapped(getattr(read), (v) => held = ownershipOf(v))] : []),
            ];
          },
          { states: [state] },
        ));
    } catch (e) {
      // Only the GETATTR after it failed: the SETATTR stands, not read back.
      if (!(set && e instanceof NfsError && e.op === "GETATTR")) throw e;
    }
    checkAttributesSet(state.path, attrs, set!);
    if (attrs.size !== undefined) noteSizeSet(this.manager, state, attrs.size);
    return held;
  }

  /**
   * READs kept in flight by `chunks()` at most (a session's slots, one kept for other calls).
   *
   * @internal For NfsFile.chunks().
   */
  get readDepth(): number {
    const session = this.manager.client.session;
    return session ? Math.max(1, Math.min(8, session.slots.size - 1)) : 8;
  }

  /**
   * CLOSE of one handle's open (users counted, files.ts), or OPEN_DOWNGRADE
   * to what the other handles of the file hold: `share` is what this
   * handle opened with. Once close() of the client began, its release
   * closes every open: this waits for it (its outcome is the client's, in
   * {@linkcode leftOnServer}).
   *
   * @internal For NfsFile: use `file.close()`.
   */
  closeState(state: OpenState, share?: ShareModes): Promise<void> {
    // Before its shutdown, close() commits the open files' writes: a CLOSE
    // sent meanwhile would race its releases.
    if (this.#closing) return this.#closing.then(ignore, ignore);
    if (this.manager.closing) return this.manager.shutdown().then(ignore, ignore);
    return closeFile(this.manager, state, share);
  }

  /**
   * Simulates a client crash: stops the state manager and drops the
   * connection without telling the server anything (no CLOSE, no
   * DESTROY_SESSION). The server keeps the state until the lease expires or
   * the same client owner comes back with a new verifier.
   */
  async crash(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#crashed = true;
    this.manager.tracer.emit(
      "state",
      "client crash simulated",
      "local state dropped, nothing sent",
    );
    this.manager.abandon();
    this.#owner.release();
    await this.#channel.close();
  }

  /**
   * Fault injection for recovery drills: make the named reclaim fail.
   *
   * @internal For `nfs4 simulate-reboot --fail-reclaim` (a recovery drill).
   */
  injectFault(fault: { failReclaim?: "open" | "lock" | undefined }): void {
    this.manager.faults.failReclaim = fault.failReclaim;
  }

  /**
   * Releases everything this client holds (LOCKU, CLOSE; on 4.1
   * DESTROY_SESSION and DESTROY_CLIENTID) and closes the connection. What
   * could not be released (the server did not answer) is then in
   * {@linkcode leftOnServer}; close() itself resolves, so that a `finally`
   * closing the client never hides the failure that brought it there,
   * unless data may be lost (below).
   *
   * Open files still hold what they wrote UNSTABLE4 (write()'s default)
   * and no COMMIT vouched for: before its releases close() commits it as
   * each file's close() does (NfsFile.close: the write() calls on their
   * way answered, a COMMIT per file, its verifier compared with the
   * WRITEs'; RFC 7530 §16.3.4, RFC 8881 §18.3.3), since their CLOSE would
   * otherwise go without it. After an interrupt (`ConnectOptions.signal`)
   * no COMMIT is sent: the release window is short. Either way the open
   * files are released, and then close() rejects when any file's writes
   * are not known to be on stable storage: with that file's
   * {@linkcode WriteNotCommittedError} (its `path` and `ranges`), an
   * `AggregateError` of them when several are; those files' close() then
   * rejects with the same error. Nothing is sent for them when they wrote
   * FILE_SYNC4 only or a commit() covered it all.
   *
   * From the call on, every other call of this client (and of its open
   * files) is refused at once with {@linkcode ClientClosedError}, nothing
   * sent; one already sent is answered, and what it made (an OPEN, a
   * LOCK) is released with the rest. An open file's close() then resolves
   * when this one does. Called again, or while it runs, close() returns
   * the first call's promise: it resolves once everything was released.
   */
  close(): Promise<void> {
    return this.#closing ??= this.#closeNow();
  }

  /**
   * close(), for `await using` (TC39 explicit resource management; Deno,
   * Bun, TypeScript 5.2 and later): the client is closed when the block
   * that declared it ends, however it ends; what close() could not release
   * is then in {@linkcode leftOnServer}, as after any close().
   *
   * @example
   * ```ts
   * {
   *   await using client = await Nfs4Client.connect({ host: "127.0.0.1", port: 2049 });
   *   console.log((await client.stat("/vfs")).mtime);
   * } // LOCKU, CLOSE, DESTROY_SESSION, DESTROY_CLIENTID sent here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** close()'s promise, once called. */
  #closing: Promise<void> | undefined;

  async #closeNow(): Promise<void> {
    if (this.#closed) return; // crash() dropped it all already
    this.#closed = true;
    // The open files' writes no COMMIT vouched for: committed before the
    // releases (their CLOSEs), each file's own close() refused meanwhile
    // (closeState waits for this), as new calls are (refuseClosed).
    const commits = [...(writtenHandles.get(this)?.values() ?? [])].map((commit) => commit());
    writtenHandles.delete(this);
    let notCommitted: WriteNotCommittedError[] = [];
    try {
      if (commits.length > 0) {
        notCommitted = (await Promise.all(commits)).filter((e) => e !== undefined);
      }
      await this.manager.shutdown();
    } finally {
      this.#owner.release();
      await this.#channel.close();
    }
    const left = this.manager.notReleased;
    if (left.length > 0 && !this.manager.interrupted) {
      this.#leftOnServer = new StateNotReleasedError(this.manager.client.server, left);
    }
    if (notCommitted.length === 1) throw notCommitted[0];
    if (notCommitted.length > 1) {
      // One error per handle; handles of one file name it once.
      const paths = [...new Set(notCommitted.map((e) => e.path))];
      const files = paths.length === 1 ? "1 open file" : `${paths.length} open files`;
      const writes = paths.length === notCommitted.length
        ? `the writes of ${files} are`
        : `the writes of ${notCommitted.length} handles of ${files} are`;
      throw new AggregateError(
        notCommitted,
        `${this.manager.client.server}: ${writes} not known committed (${paths.join(", ")})`,
      );
    }
  }

  /**
   * After close(): what it could not release, left on the server until the
   * lease ends (not after interrupt(), whose release window is bounded by
   * design); undefined when everything was released.
   */
  get leftOnServer(): StateNotReleasedError | undefined {
    return this.#leftOnServer;
  }
  #leftOnServer: StateNotReleasedError | undefined;
}

/**
 * How long a failed connect() spends destroying the client ID it made
 * (Nfs4Client #giveUp): the release window the state manager leaves after
 * an interrupt (lib/state/manager.ts AFTER_INTERRUPT_MS).
 */
const RELEASE_AFTER_FAILED_CONNECT_MS = 1_500;

/**
 * Each client's open files that wrote, not closed yet, each with what
 * commits its writes for the client's close() (NfsFile #commitForClient):
 * a client closed with them open commits them before its releases, as
 * their own close() would have (Nfs4Client #closeNow).
 */
const writtenHandles = new WeakMap<
  Nfs4Client,
  Map<NfsFile, () => Promise<WriteNotCommittedError | undefined>>
>();

/** Times one write() starts over after the verifier changed between its short WRITEs. */
const MAX_WRITE_RESTARTS = 5;

/**
 * An open file: its open state lives in the state manager. Each handle
 * open() returns is closed once: its close() is idempotent (later calls
 * return the first one's promise), and every call through it after that
 * throws {@linkcode FileClosedError} at once, whatever other handles of
 * the same file (one server state, its users counted) still do.
 *
 * @example
 * ```ts
 * import { NFS4_UINT64_MAX, Nfs4Client } from "../../mod.ts";
 *
 * await using client = await Nfs4Client.connect({ host: "127.0.0.1", port: 2049 });
 * await using file = await client.open("/vfs/counter", { access: "both", create: "unchecked" });
 * const whole = { type: "write", offset: 0n, length: NFS4_UINT64_MAX } as const;
 * await file.lock(whole); // LockConflictError while another owner holds it
 * const { data } = await file.read(0n, 32);
 * const next = Number(new TextDecoder().decode(data) || "0") + 1;
 * await file.setattr({ size: 0n });
 * await file.write(0n, new TextEncoder().encode(String(next)), "file");
 * await file.unlock(whole);
 * ```
 */
export class NfsFile implements WritableFile {
  readonly #client: Nfs4Client;
  /**
   * The open state (the state manager's, shared by every handle of the file).
   *
   * @internal For the copy engine and the tests.
   */
  readonly state: OpenState;
  /** Size when opened (the OPEN's GETATTR), or undefined when the server did not say. */
  readonly size: bigint | undefined;
  /**
   * The share access and deny this handle opened with, which its close
   * gives up (undefined: not known, and nothing is downgraded for it).
   */
  readonly #share: ShareModes | undefined;
  /** close()'s promise, once called. */
  #closing: Promise<void> | undefined;
  /** What this handle wrote that no COMMIT has vouched for yet: close() commits it. */
  readonly #uncommitted = new UncommittedWrites();
  /** The write() calls on their way: close() waits for them before its COMMIT. */
  readonly #writing = new Set<Promise<unknown>>();
  /**
   * The client's close() began while this handle was open after it wrote:
   * its COMMIT for this handle's writes (#commitForClient), whose outcome
   * this handle's close() reports.
   */
  #clientCommit: Promise<WriteNotCommittedError | undefined> | undefined;
  /**
   * The most one READ asks for: the server's maxread, the session's reply
   * size (4.1), at most 1 MiB and at least 1024 (a smaller maxread is
   * answered short: ioSize, lib/client/byte_range.ts). {@linkcode read}
   * reads no more at a time.
   */
  readonly rsize: number;
  /**
   * The most one WRITE sends: the server's maxwrite, the session's request
   * size (4.1), at most 1 MiB and at least 1024, as {@linkcode rsize}.
   */
  readonly wsize: number;
  /** What a READ's end of file before {@linkcode size} is held to (none when the size is unknown). */
  readonly #end: EndOfFileCheck | undefined;

  /** @internal Made by Nfs4Client.open() and openRead(), never by a program. */
  constructor(
    client: Nfs4Client,
    state: OpenState,
    size: bigint | undefined,
    sizes: { rsize: number; wsize: number },
    share?: ShareModes,
  ) {
    this.#client = client;
    this.state = state;
    this.size = size;
    this.#share = share;
    this.rsize = sizes.rsize;
    this.wsize = sizes.wsize;
    this.#end = size === undefined
      ? undefined
      : new EndOfFileCheck(state.path, size, () => client.sizeOfState(state));
  }

  /** The path it was opened by (a client path, `/vfs/dir/name`). */
  get path(): string {
    return this.state.path;
  }

  /**
   * close(), for `await using` (TC39 explicit resource management; Deno,
   * Bun, TypeScript 5.2 and later): the handle is closed when the block
   * that declared it ends, however it ends. A failure of the CLOSE is
   * thrown there (as a `SuppressedError` when the block threw already).
   *
   * @example
   * ```ts
   * await using client = await Nfs4Client.connect({ host: "127.0.0.1", port: 2049 });
   * {
   *   await using file = await client.openRead("/vfs/hello.txt");
   *   for await (const chunk of file.chunks()) console.log(chunk.length);
   * } // CLOSE sent here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Throws {@linkcode FileClosedError} once this handle's close() was
   * called, and {@linkcode ClientClosedError} once the client's close()
   * began (or it crashed): every call but close() is refused so at once,
   * whether or not it would have sent anything (an unlock of a range
   * never locked, a listener, a trace note).
   */
  #refuseIfClosed(): void {
    if (this.#closing !== undefined) throw new FileClosedError(this.path);
    this.#client.refuseClosed(this.path);
  }

  /**
   * READ of up to `count` bytes at `offset`: at most {@linkcode rsize}, the
   * size the server and the session allow one READ (a larger `count` is
   * read as that much: a short read, not the end; see OpenFile.read). An
   * eof before {@linkcode size} is returned only when a GETATTR finds the
   * file no larger now (it was truncated meanwhile); else the READ fails,
   * `PATH: the server returned end of file at byte N of SIZE (I/O error)`
   * (RFC 7530 §16.23.4, RFC 8881 §18.22.4: eof only at the end).
   */
  read(offset: bigint, count: number): Promise<{ data: Uint8Array; eof: boolean }> {
    try {
      this.#refuseIfClosed();
      checkInteger(this.path, "read offset", offset, UINT64);
      checkInteger(this.path, "read count", count, UINT32);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#client.readAt(
      this.state,
      offset,
      count > this.rsize ? this.rsize : count,
      this.#end,
    );
  }

  /**
   * SEEK (NFSv4.2); present only on a 4.2 client whose server has not
   * answered a SEEK with NFS4ERR_NOTSUPP or NFS4ERR_UNION_NOTSUPP (see OpenFile.seek).
   */
  get seek(): OpenFile["seek"] {
    if (!this.#client.seekSupported) return undefined;
    return async (offset, what) => {
      this.#refuseIfClosed();
      checkInteger(this.path, "seek offset", offset, UINT64);
      if (what !== "data" && what !== "hole") {
        throw new TypeError(
          `${this.path}: seek what must be "data" or "hole", got ${String(what)}`,
        );
      }
      const result = await this.#client.seekState(this.state, offset, what);
      if (!result) throw new NfsError(S.NFS4ERR_NOTSUPP, "SEEK", { path: this.path });
      return result;
    };
  }

  /**
   * Pipelined READs: up to `readDepth` in flight and no more than
   * READ_AHEAD_BYTES (byte_range.ts) asked for at once (4 READs of 1 MiB),
   * yielded in order. A short read (less than asked, not at EOF) is
   * followed by a READ of the rest of its range, next in line, the READs
   * issued past it kept (restOfShortRead). An eof before the size known at
   * OPEN ends it only when read() believed it and no READ issued past it
   * brought data (nothingPast).
   */
  async *chunks(offset = 0n): AsyncIterable<Uint8Array> {
    this.#refuseIfClosed();
    checkInteger(this.path, "read offset", offset, UINT64);
    const rsize = this.rsize;
    const depth = readAheadDepth(rsize, this.#client.readDepth);
    let next = offset;
    const inflight: PendingRead[] = [];
    const step = BigInt(rsize);
    const issue = () => {
      const p = this.read(next, rsize);
      p.catch(ignore); // observed when awaited; avoid unhandled rejections meanwhile
      inflight.push({ offset: next, count: rsize, result: p });
      next += step;
    };
    try {
      for (;;) {
        // Past the known size, only one read at a time: it confirms EOF.
        while (
          inflight.length < depth &&
          (this.size === undefined || next < this.size || inflight.length === 0)
        ) {
          issue();
        }
        const head = inflight.shift()!;
        const reply = await head.result;
        const { data } = reply;
        if (data.length > 0) yield data;
        if (endOfData(this.path, head.offset, this.size, reply)) {
          await nothingPast(this.path, head.offset, this.size, reply, inflight);
          return;
        }
        if (data.length < head.count) {
          inflight.unshift(restOfShortRead(head, data.length, (at, count) => this.read(at, count)));
        }
      }
    } finally {
      // Left early (a break, a failure): the READs asked for ahead change
      // nothing, and are waited for only briefly (Nfs4Client.leftBehind).
      await this.#client.leftBehind(inflight.map((i) => i.result));
    }
  }

  /**
   * WRITE all of `data` at `offset` (RFC 7530 §16.36, RFC 8881 §18.32),
   * following short writes. Returns the stability the server gave
   * (`committed`, a stable_how4: 0 UNSTABLE4, 1 DATA_SYNC4, 2 FILE_SYNC4)
   * and its write verifier.
   *
   * `stable` defaults to `"unstable"` (UNSTABLE4): the server may keep the
   * data in memory only, and lose it if it restarts. What this handle
   * wrote so is committed by {@linkcode close} (or {@linkcode commit}):
   * close() sends a COMMIT first and rejects with
   * {@linkcode WriteNotCommittedError} when the data is not known to be on
   * stable storage. With `"file"` the server puts data and metadata on
   * stable storage before it answers (unless it answers less than asked,
   * which close() commits too).
   *
   * @example
   * ```ts ignore
   * const file = await client.open("/vfs/out.bin", { access: "write", create: "unchecked" });
   * await file.write(0n, data);   // UNSTABLE4
   * await file.close();           // COMMIT, verifier checked, then CLOSE
   * ```
   */
  async write(
    offset: bigint,
    data: Uint8Array,
    stable: "unstable" | "data" | "file" = "unstable",
  ): Promise<{ committed: number; verifier: Uint8Array }> {
    this.#refuseIfClosed();
    checkInteger(this.path, "write offset", offset, UINT64);
    if (!(data instanceof Uint8Array)) {
      throw new TypeError(`${this.path}: write data must be a Uint8Array, got ${typeof data}`);
    }
    // Each WRITE's offset must be an offset4 too: the last byte's.
    if (data.length > 0) {
      checkInteger(this.path, "write's last byte offset", offset + BigInt(data.length - 1), UINT64);
    }
    const how = stable === "unstable"
      ? StableHow.UNSTABLE4
      : stable === "data"
      ? StableHow.DATA_SYNC4
      : StableHow.FILE_SYNC4;
    // The client's close() commits it if this handle is still open then.
    let written = writtenHandles.get(this.#client);
    if (!written) writtenHandles.set(this.#client, written = new Map());
    if (!written.has(this)) written.set(this, () => this.#commitForClient());
    const writing = this.#writeAll(offset, data, how);
    this.#writing.add(writing);
    try {
      return await writing;
    } finally {
      this.#writing.delete(writing);
    }
  }

  async #writeAll(
    offset: bigint,
    data: Uint8Array,
    how: number,
  ): Promise<{ committed: number; verifier: Uint8Array }> {
    let done = 0;
    let committed: number = StableHow.FILE_SYNC4;
    let verifier: Uint8Array = new Uint8Array(8);
    let restarts = 0;
    while (done < data.length) {
      const piece = data.subarray(done, done + this.wsize);
      const at = offset + BigInt(done);
      const result = await this.#client.writeAt(this.state, at, piece, how);
      if (result.count === 0) {
        throw new Error(`${this.path}: server accepted no data at offset ${at}`);
      }
      // Written: what close() must commit, unless FILE_SYNC4.
      this.#uncommitted.wrote(
        at,
        at + BigInt(Math.min(result.count, piece.length)),
        result.committed,
        result.writeverf,
      );
      if (
        done > 0 && committed !== StableHow.FILE_SYNC4 && !bytesEqual(result.writeverf, verifier)
      ) {
        // After a short WRITE the verifier changed: the server restarted and
        // may have lost the part before, not on stable storage (RFC 7530
        // §16.36.4, RFC 8881 §18.32.3). Returning the new verifier would
        // let a COMMIT with it vouch for that part too: all of it again.
        if (++restarts > MAX_WRITE_RESTARTS) {
          throw new Error(`${this.path}: the server's write verifier kept changing`);
        }
        done = 0;
        committed = StableHow.FILE_SYNC4;
        continue;
      }
      done += result.count;
      committed = Math.min(committed, result.committed);
      verifier = result.writeverf;
    }
    return { committed, verifier };
  }

  /**
   * COMMIT (RFC 7530 §16.3, RFC 8881 §18.3): the server puts what was
   * written UNSTABLE4 or DATA_SYNC4 on stable storage, and returns its
   * write verifier. The writes that returned the same verifier (before
   * this call) are committed: close() does not commit them again. A
   * different verifier means the server restarted since and may have lost
   * them: write them again (close() rejects with
   * {@linkcode WriteNotCommittedError} until they are). The caller may
   * compare the verifiers itself, as the copy does.
   */
  async commit(): Promise<Uint8Array> {
    this.#refuseIfClosed();
    const mark = this.#uncommitted.markCommit();
    const verifier = await this.#client.commitState(this.state);
    this.#uncommitted.committed(mark, verifier);
    return verifier;
  }

  /**
   * SETATTR with the open stateid (size, mode, times, owner). An attribute
   * the server did not set (absent from its attrsset) fails it with
   * `AttributesNotSetError`. `readOwnership`: the owner and group it sets
   * are read back in the same COMPOUND and returned (undefined when that
   * GETATTR failed: the SETATTR stands), as Nfs4Client.setattrState says.
   *
   * @example
   * ```ts
   * await using client = await Nfs4Client.connect({ host: "127.0.0.1", port: 2049 });
   * const file = await client.open("/vfs/log", { access: "write" });
   * await file.setattr({ size: 0n }); // truncate
   * await file.close();
   * ```
   */
  setattr(attrs: FileSetattr): Promise<void>;
  /** @internal With the other settable attributes of lib/nfs4 (times, owner: cp -p). */
  setattr(attrs: SettableAttributes): Promise<void>;
  /** @internal The owner and group set read back in the same COMPOUND (cp -p). */
  setattr(
    attrs: SettableAttributes,
    options: { readonly readOwnership: boolean },
  ): Promise<OwnershipRead | undefined>;
  async setattr(
    attrs: SettableAttributes,
    options: { readonly readOwnership?: boolean } = {},
  ): Promise<OwnershipRead | undefined | void> {
    this.#refuseIfClosed();
    checkSettable(this.path, attrs);
    return await this.#client.setattrState(this.state, attrs, options);
  }

  /**
   * Ends a file written in one WRITE: `data` at offset 0 (FILE_SYNC4), the
   * SETATTR of `attrs` and the CLOSE in one COMPOUND on NFSv4.1 (on 4.0
   * WRITE and SETATTR, then the CLOSE), for an open no one else shares
   * (lib/state/small_upload.ts). `done: false`: nothing was sent; write,
   * SETATTR and close as usual.
   *
   * @internal For the copy engine's small uploads (lib/client/copy).
   */
  endInOne(data: Uint8Array | undefined, attrs: SettableAttributes): Promise<SmallUploadEnd> {
    try {
      this.#refuseIfClosed();
    } catch (e) {
      return Promise.reject(e);
    }
    // Its CLOSE would go without the COMMIT close() owes earlier writes.
    if (!this.#uncommitted.empty || this.#writing.size > 0) return Promise.resolve({ done: false });
    return writeSetattrClose(this.#client.manager, this.state, data, attrs);
  }

  /** LOCK a range; a conflict throws {@linkcode LockConflictError} naming the holder. */
  async lock(range: LockRange, options: LockOptions = {}): Promise<void> {
    this.#refuseIfClosed();
    checkRange(this.path, "lock", range);
    try {
      await lockFile(this.#client.manager, this.state, range, options);
    } catch (e) {
      if (e instanceof NfsError && e.status === S.NFS4ERR_DENIED && e.detail) {
        const holder = await this.#client.conflictHolder(
          this.state.fh,
          range,
          lockHolder(e.detail as LockDenied),
          options.signal,
        );
        throw new LockConflictError(this.path, holder, { cause: e });
      }
      throw closedNaming(e, this.path);
    }
  }

  noteLockWait(denial: { holder: LockHolder; attempt: number; delayMs: number }): void {
    this.#refuseIfClosed();
    noteLockWait(
      this.#client.manager,
      describeLockHolder(denial.holder),
      denial.delayMs,
      denial.attempt,
    );
  }

  onLockAvailable(listener: () => void): () => void {
    this.#refuseIfClosed();
    const fh = this.state.fh;
    return this.#client.manager.callbacks.onLockNotify((n) => {
      if (bytesEqual(n.fh, fh)) listener();
    });
  }

  /**
   * Calls `listener` as soon as the state manager gives up a lock of this
   * file (lease ran out, revoked, recovery refused), once per range:
   * {@linkcode WritableFile.onLockLost}. Every handle of the file shares
   * the open, and sees its locks given up; nothing is called once this
   * handle is closed.
   */
  onLockLost(listener: (lost: LockLost) => void): () => void {
    this.#refuseIfClosed();
    return this.state.onLockLost((notice) => {
      if (this.#closing === undefined) listener(notice);
    });
  }

  unlock(range: LockRange): Promise<void> {
    try {
      this.#refuseIfClosed();
      checkRange(this.path, "unlock", range);
    } catch (e) {
      return Promise.reject(e);
    }
    return unlockFile(this.#client.manager, this.state, range).catch((e) => {
      throw closedNaming(e, this.path);
    });
  }

  /**
   * CLOSE this handle's open (its locks released first), once: a later or
   * concurrent call returns the first one's promise, so another handle of
   * the same file, which shares the server's open (RFC 7530 §9.1.1), is
   * never closed by it. After the client's close() began, this resolves
   * once that has released everything.
   *
   * What this handle wrote with less than FILE_SYNC4 (write()'s default)
   * and no COMMIT has vouched for is committed first, as the kernel's
   * close-to-open flush does: the write() calls still on their way are
   * waited for, a COMMIT is sent (RFC 7530 §16.3, RFC 8881 §18.3) and its
   * verifier compared with those the WRITEs returned. When they differ
   * (the server restarted and may have lost the data), the COMMIT fails,
   * or none can be sent (the client is closing or was interrupted), the
   * open is closed all the same and close() rejects with
   * {@linkcode WriteNotCommittedError} naming the path. Resolved, every
   * byte this handle wrote is on the server's stable storage. Nothing is
   * sent before the CLOSE when all was FILE_SYNC4 or committed already.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    writtenHandles.get(this.#client)?.delete(this);
    // The client's close() began first: it committed (or could not) what
    // this handle wrote; that is the answer here too.
    const commit = this.#clientCommit ??
      (this.#uncommitted.empty && this.#writing.size === 0 ? undefined : this.#commitBeforeClose());
    return this.#closing = commit
      ? this.#commitAndClose(commit)
      : this.#client.closeState(this.state, this.#share);
  }

  /**
   * The client's close() found this handle open: its writes are committed
   * as close() commits them, once, before the client's releases.
   */
  #commitForClient(): Promise<WriteNotCommittedError | undefined> {
    return this.#clientCommit ??= this.#commitBeforeClose();
  }

  async #commitAndClose(commit: Promise<WriteNotCommittedError | undefined>): Promise<void> {
    const notCommitted = await commit;
    try {
      await this.#client.closeState(this.state, this.#share);
    } catch (e) {
      // Data possibly lost says more than a CLOSE that failed after it.
      if (!notCommitted) throw e;
    }
    if (notCommitted) throw notCommitted;
  }

  /** close()'s COMMIT: why what this handle wrote is not known committed, if it is not. */
  async #commitBeforeClose(): Promise<WriteNotCommittedError | undefined> {
    // A COMMIT covers the WRITEs answered before it was sent.
    while (this.#writing.size > 0) await Promise.allSettled([...this.#writing]);
    const uncommitted = this.#uncommitted;
    if (uncommitted.empty) return undefined;
    const notCommitted = (reason: string, cause?: unknown) =>
      new WriteNotCommittedError(
        this.path,
        uncommitted.ranges(),
        reason,
        cause === undefined ? {} : { cause },
      );
    const manager = this.#client.manager;
    if (manager.closing || manager.interrupted) {
      return notCommitted(
        `no COMMIT sent (the client was ${manager.interrupted ? "interrupted" : "closed"} first)`,
      );
    }
    const mark = uncommitted.markCommit();
    let verifier: Uint8Array;
    try {
      verifier = await this.#client.commitState(this.state);
    } catch (e) {
      return notCommitted(
        e instanceof NfsError
          ? `COMMIT failed (${e.statusName})`
          : `COMMIT failed: ${(e as Error).message}`,
        e,
      );
    }
    uncommitted.committed(mark, verifier);
    if (uncommitted.empty) return undefined;
    return notCommitted(
      `COMMIT returned write verifier ${hex(verifier)}, the WRITEs ${
        uncommitted.verifiers().join(", ")
      } (the server restarted)`,
    );
  }
}

/**
 * Throws unless the numbers of `attrs` fit their attributes: `size` a
 * uint64, `mode` the 12 permission bits (arguments.ts).
 */
function checkSettable(path: string, attrs: SettableAttributes): void {
  if (attrs.size !== undefined) checkInteger(path, "size", attrs.size, UINT64);
  if (attrs.mode !== undefined) checkInteger(path, "mode", attrs.mode, MODE);
}

/**
 * Throws unless `range` is one a LOCK, LOCKU or LOCKT can carry: offset
 * and length each a uint64 (offset4, length4), the type `read` or `write`
 * (arguments.ts). `what` names the call in the message (`lock offset`).
 */
function checkRange(path: string, what: string, range: LockRange): void {
  if (typeof range !== "object" || range === null) {
    throw new TypeError(`${path}: ${what} range must be an object, got ${String(range)}`);
  }
  if (range.type !== "read" && range.type !== "write") {
    throw new TypeError(
      `${path}: ${what} type must be "read" or "write", got ${String(range.type)}`,
    );
  }
  checkInteger(path, `${what} offset`, range.offset, UINT64);
  checkInteger(path, `${what} length`, range.length, UINT64);
}

function lockHolder(denied: LockDenied): LockHolder {
  return {
    type: denied.locktype === LockType.READ_LT || denied.locktype === LockType.READW_LT
      ? "read"
      : "write",
    offset: denied.offset,
    // Some servers (Ganesha) report a lock to the end of the file as length 0.
    length: denied.length === 0n ? NFS4_UINT64_MAX : denied.length,
    clientid: denied.owner.clientid,
    owner: formatOwner(denied.owner.owner),
  };
}

/**
 * The longest a reader left early waits for the calls it leaves behind
 * (Nfs4Client.leftBehind): a READDIR page or READs asked for ahead.
 */
const LEFT_BEHIND_WAIT_MS = 1_000;

/** `e` naming `path`, when it is an error that names one (NfsError, ClientClosedError). */
function withPathOf(e: unknown, path: string): unknown {
  return e instanceof NfsError || e instanceof ClientClosedError ? e.withPath(path) : e;
}

/** `e` naming `path` when it is a ClientClosedError (the state manager does not know the path). */
function closedNaming(e: unknown, path: string): unknown {
  return e instanceof ClientClosedError ? e.withPath(path) : e;
}

function identityFrom(options: ConnectOptions): Identity {
  const uid = options.uid ?? process.getuid?.() ?? 65534;
  const gid = options.gid ?? process.getgid?.() ?? 65534;
  const gids = options.gids ??
    (options.gid !== undefined ? [options.gid] : (process.getgroups?.() ?? [gid]).slice(0, 16));
  return { uid, gid, gids, machineName: hostname().slice(0, 255) };
}

/**
 * `target`, as READLINK returned it for the symlink at `path`, when it is a
 * path: an empty one, or one holding a NUL byte, is none. Followed, an
 * empty target would be the directory holding the link (no components),
 * where POSIX path resolution fails (ENOENT) and the Linux client refuses
 * the reply (decode_readlink); a NUL would end the target early for any
 * local program given it. RFC 7530 §16.25 and RFC 8881 §18.24 return a
 * linktext4 (a utf8str_cs, RFC 7530 §12.1) that a CREATE of NF4LNK made.
 */
function checkedLinkTarget(path: string, target: string): string {
  if (target === "") {
    throw new PathError(path, "the server returned an empty symlink target (I/O error)");
  }
  if (target.includes("\0")) {
    throw new PathError(
      path,
      `the server returned a symlink target holding a NUL byte (${
        JSON.stringify(displayByteString(target))
      }) (I/O error)`,
    );
  }
  return target;
}

/**
 * The names of client path `path`, without empty ones and `.`; `..` kept
 * for the walker. A name's own `/` (U+DC2F in the path, lib/client/names.ts)
 * is back in it: each name is sent as one component4, never split.
 */
export function splitPath(path: string): string[] {
  return namesOfPath(path);
}

/** The client path of `components` (names): the inverse of {@linkcode splitPath}. */
function joinPath(components: readonly string[]): string {
  return pathOfNames(components);
}

function lastName(components: readonly string[]): string {
  return components.at(-1) ?? "/";
}

/**
 * The client's own refusal to OPEN `path`, of type `type`, which is no
 * regular file: a PathError, so no NFS4ERR_ status is shown that no server
 * sent (NFS4ERR_WRONG_TYPE is not even an NFSv4.0 status, RFC 7530 §13).
 */
function notRegularFile(path: string, type: number): PathError {
  const kind = KINDS[type];
  return new PathError(path, kind ? `Not a regular file (${kind})` : "Not a regular file");
}

const KINDS: Record<number, FileKind> = {
  [FileType.NF4REG]: "file",
  [FileType.NF4DIR]: "directory",
  [FileType.NF4BLK]: "block",
  [FileType.NF4CHR]: "char",
  [FileType.NF4LNK]: "symlink",
  [FileType.NF4SOCK]: "socket",
  [FileType.NF4FIFO]: "fifo",
  [FileType.NF4ATTRDIR]: "attrdir",
  [FileType.NF4NAMEDATTR]: "namedattr",
};

/**
 * A time the server sent as FileInfo holds it: undefined (unknown) when not
 * sent, or when it is none to believe (lib/nfs4/attrs.ts usableTime():
 * nanoseconds past 999,999,999, RFC 7530 §3.3.1, or no date holds it).
 */
function toDate(time: { seconds: bigint; nseconds: number } | undefined): Date | undefined {
  if (!time || !usableTime(time.seconds, time.nseconds)) return undefined;
  return new Date(Number(time.seconds) * 1000 + Math.floor(time.nseconds / 1e6));
}

/** {@linkcode toDate}'s time as nanoseconds since the epoch. */
function toNanoseconds(
  time: { seconds: bigint; nseconds: number } | undefined,
): bigint | undefined {
  if (!time || !usableTime(time.seconds, time.nseconds)) return undefined;
  return time.seconds * 1_000_000_000n + BigInt(time.nseconds);
}

/** Attributes as the commands see them; what the server did not send is undefined. */
export function toFileInfo(name: string, path: string, a: FileAttributes): FileInfo {
  const info: { -readonly [K in keyof FileInfo]: FileInfo[K] } = {
    name,
    path,
    kind: a.type !== undefined ? KINDS[a.type] ?? "unknown" : "unknown",
    mode: a.mode !== undefined ? a.mode & 0o7777 : undefined,
    nlink: a.numlinks,
    owner: a.owner,
    group: a.ownerGroup,
    size: a.size,
    spaceUsed: a.spaceUsed,
    atime: toDate(a.timeAccess),
    mtime: toDate(a.timeModify),
    ctime: toDate(a.timeMetadata),
    atimeNs: toNanoseconds(a.timeAccess),
    mtimeNs: toNanoseconds(a.timeModify),
    ctimeNs: toNanoseconds(a.timeMetadata),
    fileid: a.fileid,
  };
  // Only when sent, in this order (a READDIR makes thousands: no spread of
  // an empty object for each).
  if (a.fsid) info.fsid = `${a.fsid.major}:${a.fsid.minor}`;
  if (a.change !== undefined) info.change = a.change;
  if (a.rawdev) info.rdev = { major: a.rawdev.specdata1, minor: a.rawdev.specdata2 };
  if (a.rdattrError) info.attrError = a.rdattrError;
  return info;
}

/**
 * {@linkcode toFileInfo} of attributes a READDIR page's decoding left in
 * `v` (lib/nfs4/attrs.ts FattrValues): the same object, made without the
 * attribute object, time objects and bigints in between (a listing makes
 * thousands). tests/client/listed_file_info_test.ts holds the two equal.
 */
export function listedFileInfo(name: string, path: string, v: FattrValues): FileInfo {
  const type = v.type;
  const mode = v.mode;
  const size = v.size;
  const spaceUsed = v.spaceUsed;
  const fileid = v.fileid;
  // A time none can believe is unknown, as toFileInfo() has it.
  let atime = v.atimeSeconds;
  if (atime !== undefined && !usableTime(atime, v.atimeNseconds)) atime = undefined;
  let mtime = v.mtimeSeconds;
  if (mtime !== undefined && !usableTime(mtime, v.mtimeNseconds)) mtime = undefined;
  let ctime = v.ctimeSeconds;
  if (ctime !== undefined && !usableTime(ctime, v.ctimeNseconds)) ctime = undefined;
  const info: { -readonly [K in keyof FileInfo]: FileInfo[K] } = {
    name,
    path,
    kind: type !== undefined ? KINDS[type] ?? "unknown" : "unknown",
    mode: mode !== undefined ? mode & 0o7777 : undefined,
    nlink: v.numlinks,
    owner: v.owner,
    group: v.ownerGroup,
    size: size === undefined ? undefined : typeof size === "number" ? sizeBigint(size) : size,
    spaceUsed: spaceUsed === undefined
      ? undefined
      : typeof spaceUsed === "number"
      ? spaceBigint(spaceUsed)
      : spaceUsed,
    atime: atime === undefined ? undefined : timeDate(atime, v.atimeNseconds),
    mtime: mtime === undefined ? undefined : timeDate(mtime, v.mtimeNseconds),
    ctime: ctime === undefined ? undefined : timeDate(ctime, v.ctimeNseconds),
    atimeNs: atime === undefined ? undefined : nfsTimeNanoseconds(atime, v.atimeNseconds),
    mtimeNs: mtime === undefined ? undefined : nfsTimeNanoseconds(mtime, v.mtimeNseconds),
    ctimeNs: ctime === undefined ? undefined : nfsTimeNanoseconds(ctime, v.ctimeNseconds),
    fileid: fileid === undefined ? undefined : int64Bigint(fileid),
  };
  // Only when sent, in toFileInfo()'s order.
  if (v.fsidMajor !== undefined) info.fsid = `${v.fsidMajor}:${v.fsidMinor}`;
  if (v.change !== undefined) info.change = int64Bigint(v.change);
  const major = v.rawdevMajor;
  if (major !== undefined) {
    const minor = v.rawdevMinor!;
    // Files next to each other mostly share one (0, 0 for all but devices).
    let rdev = lastRdev;
    if (rdev.major !== major || rdev.minor !== minor) lastRdev = rdev = { major, minor };
    info.rdev = rdev;
  }
  if (v.rdattrError) info.attrError = v.rdattrError;
  return info;
}

/** The last `rdev` made by listedFileInfo(), given again to the next file with the same numbers. */
let lastRdev: { readonly major: number; readonly minor: number } = { major: 0, minor: 0 };

/** toDate() of an nfstime4 as FattrValues holds it (no call made for what is a Number already). */
function timeDate(seconds: Int64Value, nseconds: number): Date {
  // nseconds is a uint32: its whole milliseconds, exactly, without Math.floor.
  const ms = (nseconds - nseconds % 1e6) / 1e6;
  return new Date((typeof seconds === "number" ? seconds : Number(seconds)) * 1000 + ms);
}

/**
 * Bigints of small Numbers, made once: a bigint is a value (sharing one is
 * invisible), and a listing's sizes and space used repeat (a directory of
 * small files, blocks of 4 KiB).
 */
const SMALL_BIGINTS: bigint[] = [];
/** Below this a size's bigint is kept in SMALL_BIGINTS. */
const SMALL_BIGINT_LIMIT = 1024;
/** The last size and space used given a bigint of their own, and that bigint. */
let lastSize = -1;
let lastSizeBigint = 0n;
let lastSpace = -1;
let lastSpaceBigint = 0n;

/** BigInt(size) for a size of a listed file, shared with files of the same size. */
function sizeBigint(size: number): bigint {
  if (size < SMALL_BIGINT_LIMIT) return SMALL_BIGINTS[size] ??= BigInt(size);
  if (size !== lastSize) {
    lastSize = size;
    lastSizeBigint = BigInt(size);
  }
  return lastSizeBigint;
}

/** BigInt(space) for the space a listed file uses, shared as sizeBigint() does. */
function spaceBigint(space: number): bigint {
  if (space < SMALL_BIGINT_LIMIT) return SMALL_BIGINTS[space] ??= BigInt(space);
  if (space !== lastSpace) {
    lastSpace = space;
    lastSpaceBigint = BigInt(space);
  }
  return lastSpaceBigint;
}

/** A rejection handler that does nothing (one function, not one per READ). */
function ignore(): void {}

/** The stateid I/O under `lock` goes with: the lock's, unless recovery lost it (see #ioState). */
function lockIoStateid(lock: LockState, open: OpenState): Stateid {
  return lock.bad === undefined && lock.stateid ? lock.stateid : open.stateid;
}

/**
 * The stateid a READ or WRITE carries: on NFSv4.1 and later (`sessions`)
 * `stateid` with seqid 0, which the server takes as "the current seqid of
 * this state" (RFC 8881 §8.2.2, the choice it names for READ and WRITE;
 * as the kernel since "NFSv4.1: Select the most recent locking state for
 * read/write/setattr stateids"). Another handle's OPEN of the same file
 * (an upgrade of the one open the owner has of it) or a LOCK bumps the
 * seqid while the I/O is in flight; with the seqid sent the server would
 * refuse it NFS4ERR_OLD_STATEID. CLOSE, OPEN_DOWNGRADE, LOCK and LOCKU keep
 * the real seqid (§8.2.2: a CLOSE with seqid 0 would undo an upgrade the
 * client has not heard of yet). NFSv4.0 has no such seqid (RFC 7530
 * §9.1.4.2): the state manager sends a refused READ or WRITE again with
 * the current stateid (manager.ts run()).
 */
function ioStateid(stateid: Stateid, sessions: boolean): Stateid {
  return sessions ? { seqid: 0, other: stateid.other } : stateid;
}

/**
 * `{ states: [state] }` for `manager.run`, made once per state: READs pass
 * the same options every time (run() only reads them).
 */
const statesOptions = new WeakMap<OpenState | LockState, RunOptions>();

function statesOption(state: OpenState | LockState): RunOptions {
  let options = statesOptions.get(state);
  if (!options) statesOptions.set(state, options = { states: [state] });
  return options;
}

/** `path` as a plain name in a directory; undefined for `..`, a trailing slash, the root. */
function splitInDirectory(path: string): { dirPath: string; name: string } | undefined {
  const components = splitPath(path);
  const name = components.at(-1);
  if (name === undefined || components.includes("..") || DIRECTORY_PATH.test(path)) {
    return undefined;
  }
  return { dirPath: joinPath(components.slice(0, -1)), name };
}

/** `path`'s last name when `path` is a plain name in the directory `dirPath`; else undefined. */
function nameIn(dirPath: string, path: string): string | undefined {
  const at = splitInDirectory(path);
  return at?.dirPath === dirPath ? at.name : undefined;
}
