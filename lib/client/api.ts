/**
 * The shape of the file-level client the commands use. The implementation is
 * `Nfs4Client` in client.ts; commands depend only on this interface, so they
 * can be tested and read without the protocol underneath.
 * @module
 */

import type { AttributeReport, FileInfo, VersionChoice } from "./types.ts";
import type { Tracer, TraceSink } from "../state/trace.ts";
import type { RecordTap } from "../rpc/tap.ts";

/**
 * An operation keeps retrying (resends, reconnects, DELAY and GRACE waits,
 * recovery) for at most this many call timeouts: 2 minutes with the
 * default 30 s `--timeout`.
 */
export const RETRY_BUDGET_FACTOR = 4;

/**
 * How `Nfs4Client.connect()` connects (client.ts). Checked
 * before anything is sent: a value of the wrong type is a `TypeError`, one
 * out of range a `RangeError`, each naming the option
 * (lib/client/arguments.ts `checkConnectOptions`).
 */
export interface ConnectOptions {
  /** The server's host name or address (not empty). */
  readonly host: string;
  /** Its port, 1 to 65535 (NFS: 2049). */
  readonly port: number;
  /**
   * The NFSv4 minor version: `"4.0"`, `"4.1"`, `"4.2"`, or `"auto"` (the
   * default: 4.2, 4.1 and 4.0 tried in turn while the server answers
   * NFS4ERR_MINOR_VERS_MISMATCH; {@linkcode Nfs4ClientApi.minorVersion}
   * says which it got).
   */
  readonly version?: VersionChoice | undefined;
  /** AUTH_SYS user id (RFC 5531 §A.2); defaults to the process's (65534 where it has none). */
  readonly uid?: number | undefined;
  /** AUTH_SYS group id; defaults to the process's. */
  readonly gid?: number | undefined;
  /** AUTH_SYS supplementary groups, at most 16. */
  readonly gids?: readonly number[] | undefined;
  /**
   * Per-call timeout and connect timeout, in milliseconds (default 30 s):
   * from 1 to 86,400,000 (a day), as the CLI's `--timeout` takes 0.001 s
   * to 86400 s. There is no "no timeout": 0 is refused.
   */
  readonly timeoutMs?: number | undefined;
  /**
   * Receives the state manager's events (what `--trace` prints), called
   * synchronously from the client's work, from the first connect-time
   * event on: every category but `ops` (one event per COMPOUND), unless it
   * carries a `filter` saying which (`filteredSink(sink, { categories })`,
   * lib/client/trace.ts). If it throws, the client goes on as if it had
   * returned, the callback is told no more events, and the error is
   * reported once on `console.error` (lib/state/trace.ts `TraceSink`).
   */
  readonly onTrace?: TraceSink | undefined;
  /**
   * The {@linkcode Tracer} the client emits its events through (default:
   * a new one, `client.tracer` after connect). Pass one to have several
   * sinks subscribed before connect-time events (or one tracer shared by
   * clients, their events in one timeline); `onTrace` is subscribed to it
   * too.
   */
  readonly tracer?: Tracer | undefined;
  /**
   * Use this client owner string instead of claiming one (client_owner.ts):
   * to come back as the same client after a crash.
   */
  readonly clientId?: string | undefined;
  /**
   * How long one operation keeps retrying through recovery and reconnects
   * (ms). Default: {@linkcode RETRY_BUDGET_FACTOR} × `timeoutMs`. Once the
   * server has answered nothing for that long, later operations fail at once.
   */
  readonly recoveryTimeoutMs?: number | undefined;
  /**
   * Aborting it ends the client, as Ctrl-C ends a command:
   *
   * - every operation and wait of the client stops at once and rejects
   *   with the signal's reason, except a state change already sent (OPEN,
   *   CLOSE, LOCK, WRITE...), which gets a 1.5 s window to be answered so
   *   that what it made is known;
   * - every later call of the client and of its open files is refused at
   *   once with the signal's reason (`signal.reason`: a `DOMException`
   *   named `AbortError` unless `abort(reason)` gave one), nothing sent;
   *   `close()` is not refused, and releases (LOCKU, CLOSE, on 4.1
   *   DESTROY_SESSION and DESTROY_CLIENTID) what the client holds, what
   *   such a change made included. Call it within that window (a `finally`
   *   or `await using` does: every call rejects at once): afterwards
   *   nothing more can be sent, and what is still held lapses with the
   *   lease;
   * - cleanup that must go out anyway (removing a temporary file) runs in
   *   `cleanupWork(() => ...)` (lib/client/operation_scope.ts), which is
   *   not refused, within the same window;
   * - a call made under `withOperationSignal(other, ...)` is stopped by
   *   `other`, not refused: the CLI's commands run their work under the
   *   same signal as their clients', and nothing of theirs changes.
   *
   * To stop one piece of work and keep the client, use
   * `withOperationSignal()` alone.
   *
   * @example
   * ```ts
   * import { Nfs4Client } from "../../mod.ts";
   *
   * const stop = new AbortController();
   * Deno.addSignalListener("SIGTERM", () => stop.abort(new Error("SIGTERM")));
   * await using client = await Nfs4Client.connect({
   *   host: "127.0.0.1",
   *   port: 2049,
   *   signal: stop.signal,
   * });
   * // After SIGTERM this rejects with Error("SIGTERM") at once, and the
   * // client's close() (at the end of the block) releases what it held.
   * for await (const entry of client.readdir("/vfs")) console.log(entry.name);
   * ```
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * Take locks lost in recovery again (a lease that ran out, a revocation)
   * instead of marking them lost; the trace says they were not held in
   * between. Off by default, as the kernel's recover_lost_locks.
   */
  readonly reacquireLostLocks?: boolean | undefined;
  /**
   * The callback channel: `false` for none (no delegations), or the address
   * the 4.0 listener binds and announces. Default: on, at the address the
   * server sees this client at.
   */
  readonly callback?: { readonly host: string; readonly port: number } | false | undefined;
  /**
   * Connect from a reserved source port (below 1024), which servers that
   * export with `secure` (Linux nfsd's default) require of AUTH_SYS:
   * `true` tries one, `false` never does; default: when running as root.
   * Where none can be had (not privileged), an ordinary port is used.
   */
  readonly reservedPort?: boolean | undefined;
  /**
   * Sees every RPC record of every connection, callbacks included: a
   * `PcapWriter` (mod.ts, lib/rpc/pcap.ts) writes them to a capture file
   * Wireshark and `tshark -r` read (`--pcap`). One writer may serve many
   * clients; close it after them.
   *
   * @example
   * ```ts
   * import { Nfs4Client, PcapWriter } from "../../mod.ts";
   *
   * const pcap = PcapWriter.open("/tmp/nfs.pcap");
   * try {
   *   await using client = await Nfs4Client.connect({ host: "127.0.0.1", port: 2049, pcap });
   *   await client.stat("/vfs");
   * } finally {
   *   pcap.close(); // then: tshark -r /tmp/nfs.pcap
   * }
   * ```
   */
  readonly pcap?: RecordTap | undefined;
}

/** How one LOCK is sent (an absent or undefined field is its default). */
export interface LockOptions {
  /** READW/WRITEW: tell the server this client waits (RFC 8881 §9.6). */
  readonly blocking?: boolean | undefined;
  /**
   * A hard limit: aborting stops the LOCK even in flight (the server may
   * then have granted it; it lapses with the lease).
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * Answer at once: NFS4ERR_GRACE and NFS4ERR_DELAY are the answer
   * instead of reasons to wait (`nfs4 lock -n`).
   */
  readonly noWait?: boolean | undefined;
  /**
   * The time (ms from the call) by which `signal` will stop it (`lock -w`'s
   * deadline): NFS4ERR_GRACE and NFS4ERR_DELAY are waited out only while a
   * LOCK sent after the wait still has room to be answered before then;
   * after that the status is the answer, rather than a LOCK left in flight
   * (that the server may grant) when the signal stops it.
   */
  readonly answerWithinMs?: number | undefined;
}

/** An open file (an NFSv4 open stateid held by the state manager). */
export interface OpenFile {
  /** The path it was opened by (a client path, `/vfs/dir/name`). */
  readonly path: string;
  /** Size when opened (from the OPEN's GETATTR). */
  readonly size: bigint | undefined;
  /**
   * The most one {@linkcode read} returns: what the server grants a READ
   * (its `maxread`, on 4.1 the session's reply size too, at most 1 MiB).
   * Absent on test doubles.
   */
  readonly rsize?: number | undefined;
  /**
   * One READ of up to `count` bytes at `offset`; `eof` when the end was
   * reached. A `count` above {@linkcode rsize} is read as `rsize` bytes:
   * fewer bytes than asked without `eof` is a short read, not the end (ask
   * again from where the data ended, or use {@linkcode chunks}). `offset`
   * must be below 2^64 and `count` a whole number below 2^32 (0 reads
   * nothing), else a `RangeError` naming the path, nothing sent.
   */
  read(offset: bigint, count: number): Promise<{ data: Uint8Array; eof: boolean }>;
  /**
   * Streams the whole file from `offset` in order, with several READs in
   * flight, in bounded memory. Chunks are views; consume each before the next.
   */
  chunks(offset?: bigint): AsyncIterable<Uint8Array>;
  /**
   * NFSv4.2 SEEK (RFC 7862 §15.11): where the next data or hole starts at
   * or after `offset`, without reading; `eof` when there is none (the end
   * of the file counts as a hole). Undefined when the server cannot be asked
   * (4.0, 4.1, or it answered NFS4ERR_NOTSUPP or NFS4ERR_UNION_NOTSUPP
   * before).
   */
  readonly seek?:
    | ((offset: bigint, what: "data" | "hole") => Promise<{ eof: boolean; offset: bigint }>)
    | undefined;
  /**
   * CLOSE, once per handle: a later (or concurrent) call returns the first
   * one's promise, and never closes the open another handle of the same
   * file shares. After it, every other call through this handle throws
   * `FileClosedError` at once.
   */
  close(): Promise<void>;
}

/** A byte range to lock; `length` of 2^64-1 means to the end of the file. */
export interface LockRange {
  /** A shared (`read`, READ_LT) or exclusive (`write`, WRITE_LT) lock. */
  readonly type: "read" | "write";
  /** Its first byte, below 2^64. */
  readonly offset: bigint;
  /** Its bytes, below 2^64; 2^64-1 (`NFS4_UINT64_MAX`) means to the end of the file, however it grows. */
  readonly length: bigint;
}

/** Who holds a conflicting lock (LOCK4denied, RFC 7530 §16.10.4). */
export interface LockHolder {
  /** The kind of the lock held. */
  readonly type: "read" | "write";
  /** The held range's first byte. */
  readonly offset: bigint;
  /** The held range's length (2^64-1: to the end of the file). */
  readonly length: bigint;
  /** The holder's client ID (another client's, or this one's under another lock owner). */
  readonly clientid: bigint;
  /** The lock owner, as text when printable, else hex. */
  readonly owner: string;
  /**
   * The server named no real holder (a made-up owner such as Ganesha's
   * `ganesha_unknown_owner`, client ID 0, a range that does not conflict)
   * and LOCKT named none either: the fields above are what it sent, not
   * who holds the lock.
   */
  readonly unknown?: boolean | undefined;
}

/** What a lease probe ({@linkcode Nfs4ClientApi.probeLease}) found. */
export interface LeaseProbe {
  /** The server's answer to RENEW (4.0) or SEQUENCE (4.1): `NFS4_OK`, `NFS4ERR_BADSESSION`, … */
  readonly answer: string;
  /** Milliseconds from the probe to its answer, recovery it started included. */
  readonly ms: number;
  /** The client ID after the probe (and any recovery it started), `0x…`. */
  readonly clientId: string;
}

/** A file opened for writing as well: WRITE, COMMIT, SETATTR and locks. */
export interface WritableFile extends OpenFile {
  /**
   * Writes all of `data` at `offset` (below 2^64, as its last byte's
   * offset; else a `RangeError`); returns the stability given and the
   * write verifier.
   */
  write(
    offset: bigint,
    data: Uint8Array,
    stable?: "unstable" | "data" | "file",
  ): Promise<{ committed: number; verifier: Uint8Array }>;
  /** COMMIT: the verifier to compare with the WRITEs'. */
  commit(): Promise<Uint8Array>;
  /** `size` below 2^64, `mode` from 0 to 0o7777, else a `RangeError`, nothing sent. */
  setattr(attrs: FileSetattr): Promise<void>;
  /**
   * LOCK; a conflict throws `LockConflictError` naming the holder. The
   * range's offset and length must be below 2^64 (`RangeError`).
   */
  lock(range: LockRange, options?: LockOptions): Promise<void>;
  /**
   * Reports to the state manager's trace that a refused LOCK is being
   * waited on. Like every call but close(), throws `FileClosedError` once
   * this handle was closed, `ClientClosedError` once the client was.
   */
  noteLockWait?(denial: { holder: LockHolder; attempt: number; delayMs: number }): void;
  /**
   * LOCKU of `range`. Refused (`FileClosedError`, `ClientClosedError`)
   * once the handle or the client was closed, even for a range never
   * locked, which sends nothing otherwise.
   */
  unlock(range: LockRange): Promise<void>;
  /**
   * Calls `listener` when the server says a lock on this file may be free
   * (4.1 CB_NOTIFY_LOCK, RFC 8881 §20.11); returns the unsubscribe function.
   * A waiter still polls: servers need not send the notification. Throws
   * `FileClosedError` or `ClientClosedError` once the handle or the client
   * was closed.
   */
  onLockAvailable(listener: () => void): () => void;
  /**
   * Calls `listener` as soon as the state manager gives up a lock this
   * file holds, once per range: the lease ran out by this client's clock
   * (a partition, a process stopped), the server revoked it, or its
   * recovery after a server restart was refused (README: "A lock can be
   * lost"). It is not taken again behind the caller's back (unless
   * `ConnectOptions.reacquireLostLocks`), another client may hold it
   * meanwhile, and every later use of it fails (EBADF): a long job under
   * the lock stops here rather than at its next call on the file. Called
   * from inside the client's work, at once: a listener that throws is
   * dropped and reported once on stderr. Returns the unsubscribe function;
   * nothing is called once this handle is closed. Throws `FileClosedError`
   * or `ClientClosedError` once the handle or the client was closed.
   *
   * @example
   * ```ts ignore
   * const job = new AbortController();
   * const stop = file.onLockLost(({ path, reason }) =>
   *   job.abort(new Error(`lost the lock on ${path}: ${reason}`))
   * );
   * try {
   *   await longJob(job.signal);
   * } finally {
   *   stop();
   * }
   * ```
   */
  onLockLost(listener: (lost: LockLost) => void): () => void;
}

/** A lock given up by the state manager ({@linkcode WritableFile.onLockLost}). */
export interface LockLost {
  /** The path the file was opened by (a client path, `/vfs/dir/name`). */
  readonly path: string;
  /** The range no longer held. */
  readonly range: LockRange;
  /**
   * Why, as the trace's `lock lost` event says it:
   * `lease ran out locally: no renewal answered for 31.0 s with a 30 s lease; last renewal: …`,
   * `revoked (TEST_STATEID)`, `lock recovery failed: LOCK -> NFS4ERR_NO_GRACE`.
   */
  readonly reason: string;
}

/** What the state manager holds, for commands that show it. */
export interface StateSummary {
  /** The server, as `host:port`. */
  readonly server: string;
  /** The minor version in use: 0, 1 or 2. */
  readonly minorVersion: number;
  /** The client ID the server gave, `0x…`. */
  readonly clientId: string;
  /** The client owner string sent (`nfs4-ts/HOST/uidN/INSTANCE`, or `ConnectOptions.clientId`). */
  readonly ownerId: string;
  /** The session ID in hex (4.1 and 4.2); undefined on 4.0. */
  readonly session: string | undefined;
  /** The session's slots (requests in flight at most); undefined on 4.0. */
  readonly slots: number | undefined;
  /** The lease the server grants, in seconds. */
  readonly leaseSeconds: number;
  /** How long after a renewal the next is due (2/3 of the lease, sooner for a short one). */
  readonly renewalSeconds: number;
  /** Milliseconds of lease left now. */
  readonly leaseLeftMs: number;
  /** The state manager's pending flags (`SESSION_RESET`, `RECLAIM_REBOOT`...: `ClientFlag`). */
  readonly flags: readonly string[];
  /** Every open held, with its locks. */
  readonly opens: readonly {
    /** The file, as the first handle opened it. */
    readonly path: string;
    /** Its open stateid, `OTHER:SEQID` (the 12 bytes of `other` in hex). */
    readonly stateid: string;
    /** `read`, `write` or `read+write`. */
    readonly access: string;
    /** The open owner's label. */
    readonly owner: string;
    /** Why it was lost, when recovery gave it up. */
    readonly lost: string | undefined;
    /** The delegation held on the file, if any (RFC 7530 §10.4). */
    readonly delegation?: {
      readonly type: "read" | "write";
      readonly stateid: string;
      readonly recalled: boolean;
    } | undefined;
    /** Its lock states, one per lock owner. */
    readonly locks: readonly {
      /** The lock owner's label. */
      readonly owner: string;
      /** The lock stateid, once a LOCK was granted. */
      readonly stateid: string | undefined;
      /** The ranges held: `write 0-99`, `read 100-` (to the end of the file). */
      readonly ranges: readonly string[];
      /** Why they were lost, when recovery gave them up. */
      readonly lost: string | undefined;
    }[];
  }[];
}

/** Whether {@linkcode Nfs4ClientApi.stat} (and its kin) follows a final symlink. */
export interface StatOptions {
  /**
   * Follow `path`'s last component when it is a symlink (as stat(2); a
   * symlink in the middle is always followed). Default `false`: the
   * symlink itself (as lstat(2)).
   */
  readonly follow?: boolean | undefined;
}

/** What {@linkcode WritableFile.setattr} sets through the open (an absent or undefined field is left as it is). */
export interface FileSetattr {
  /** The new size (truncates or extends), below 2^64. */
  readonly size?: bigint | undefined;
  /** Permission bits, 0 to 0o7777. */
  readonly mode?: number | undefined;
}

/** A time to set: the server's clock at the SETATTR, or this one (RFC 7530 §5.8.2.41, settime4). */
export type TimeToSet = "server" | { readonly seconds: bigint; readonly nseconds: number };

/**
 * What {@linkcode Nfs4ClientApi.setattrPath} sets without an open (an
 * absent or undefined field is left as it is; a size needs an open:
 * {@linkcode WritableFile.setattr}).
 */
export interface PathSetattr {
  /** Permission bits, 0 to 0o7777. */
  readonly mode?: number | undefined;
  /** The modification time (`touch -m`). */
  readonly timeModifySet?: TimeToSet | undefined;
  /** The access time (`touch -a`). */
  readonly timeAccessSet?: TimeToSet | undefined;
  /** The owner, as an owner string (RFC 7530 §5.9): `1000` or `user@domain`. */
  readonly owner?: string | undefined;
  /** The group, as an owner string: `1000` or `group@domain`. */
  readonly ownerGroup?: string | undefined;
}

/** How to open a file. */
export interface OpenOptions {
  /** What the open allows: READ (`read`), WRITE (`write`), both (`both`). */
  readonly access: "read" | "write" | "both";
  /**
   * A share reservation (RFC 7530 §9.9, RFC 8881 §9.7): the access this
   * open denies other open owners (other clients, other users of this
   * one) while it is held. An OPEN of theirs asking for a denied access,
   * or denying an access this open holds, fails NFS4ERR_SHARE_DENIED; so
   * does this OPEN when another open already conflicts. Default `"none"`.
   * Handles of one file opened by one owner share one server open whose
   * deny is the union of theirs; closing one gives its deny back
   * (OPEN_DOWNGRADE) once no other handle holds it.
   */
  readonly deny?: "none" | "read" | "write" | "both" | undefined;
  /** Create when missing: UNCHECKED4, GUARDED4 (fail if it exists) or EXCLUSIVE4(_1). */
  readonly create?: "unchecked" | "guarded" | "exclusive" | undefined;
  /** Mode of a created file. */
  readonly mode?: number | undefined;
  /** Truncate to zero length. */
  readonly truncate?: boolean | undefined;
  /**
   * A deadline the OPEN is to be answered within, in ms (`lock -w`; 0 for
   * `lock -n`): NFS4ERR_GRACE and NFS4ERR_DELAY are waited out only while
   * another OPEN could still be answered in time, then are the answer.
   */
  readonly answerWithinMs?: number | undefined;
}

/**
 * A {@linkcode FileInfo} field {@linkcode Nfs4ClientApi.readdir} can be
 * asked for (`atime` stands for `atimeNs` too, and so on; `linkTarget`: a
 * symlink's target is read). `name`, `path` and `kind` always come.
 */
export type ReaddirField =
  | "mode"
  | "nlink"
  | "owner"
  | "group"
  | "size"
  | "spaceUsed"
  | "atime"
  | "mtime"
  | "ctime"
  | "fileid"
  | "fsid"
  | "change"
  | "rdev"
  | "linkTarget";

/** What {@linkcode Nfs4ClientApi.readdir} fetches. */
export interface ReaddirOptions {
  /** The fields wanted of each entry (default: all of them). */
  readonly fields?: readonly ReaddirField[] | undefined;
}

/**
 * The file-level client. Every `path` it takes or hands out (`FileInfo.path`)
 * is a client path (lib/client/names.ts): names from the pseudo-fs root
 * joined with `/`, decoded (`/vfs/a b`, not `%20`), each `/` a separator;
 * a name's own `/` (an URL's `%2F`) is written U+DC2F there, and is sent as
 * part of that one name (`pathOfNames()`, `NfsUrl.path`). A path is
 * absolute: one that does not start with `/` (`vfs/a`, `""`) is refused
 * with `PathError` before anything is sent (a symlink's target, which
 * {@linkcode symlink} stores as given, may be relative). Numbers are
 * checked as well: a mode outside 0 to 0o7777, an offset or length
 * outside 0 to 2^64-1, is a `RangeError` naming the path.
 */
export interface Nfs4ClientApi {
  /**
   * The minor version in use after negotiation: 0, 1 or 2 (`auto` tries
   * 4.2 first, RFC 7862; 4.2 is 4.1's state model with more operations).
   */
  readonly minorVersion: number;
  /** Attributes of `path` (symlinks followed in the middle; the last followed only when `follow`). */
  stat(path: string, options?: StatOptions): Promise<FileInfo>;
  /**
   * Every attribute the server supports for `path`, in one GETATTR (asked
   * one by one when the server refuses the whole set), with the filehandle:
   * what `nfs4 stat` shows. Symlinks as in {@linkcode stat}.
   */
  attributes(path: string, options?: StatOptions): Promise<AttributeReport>;
  /**
   * Every entry of directory `path`, with attributes, without `.` and `..`.
   * `options.fields` narrows what is asked of the server (a smaller READDIR
   * reply, less to decode): the fields not named stay undefined.
   */
  readdir(path: string, options?: ReaddirOptions): AsyncIterable<FileInfo>;
  /**
   * {@linkcode readdir}'s entries a READDIR page at a time (no empty
   * page): for a caller that goes through thousands, one step of the
   * iteration per page rather than per entry. Optional (test doubles may
   * only have `readdir`).
   */
  readdirPages?(path: string, options?: ReaddirOptions): AsyncIterable<readonly FileInfo[]>;
  /** The target of symlink `path`. */
  readlink(path: string): Promise<string>;
  /** OPEN for reading (share READ, deny NONE). */
  openRead(path: string): Promise<OpenFile>;
  /** OPEN with the access asked for, creating the file when asked. */
  open(path: string, options: OpenOptions): Promise<WritableFile>;
  /** LOCKT: the holder of a lock conflicting with `range`, or undefined when free. */
  testLock(path: string, range: LockRange): Promise<LockHolder | undefined>;
  /** CREATE a directory. */
  mkdir(path: string, mode?: number): Promise<void>;
  /** CREATE a symbolic link at `path` pointing at `target`. */
  symlink(path: string, target: string): Promise<void>;
  /** RENAME, replacing the target if it exists. */
  rename(from: string, to: string): Promise<void>;
  /** REMOVE a file, symlink or empty directory. */
  remove(path: string): Promise<void>;
  /** SETATTR without an open (mode, times; size needs an open). */
  setattrPath(path: string, attrs: PathSetattr, options?: StatOptions): Promise<void>;
  /** CREATE a fifo, socket or character/block device with permission bits `mode`. */
  mknod(
    path: string,
    kind: "fifo" | "socket" | "char" | "block",
    mode: number,
    rdev?: { major: number; minor: number },
  ): Promise<void>;
  /** LINK: a new name `path` for the existing file `existing` (not followed). */
  link(existing: string, path: string): Promise<void>;
  /**
   * While a command changes the tree at `resolvedPath` (a directory's path
   * with its symlinks resolved, as {@linkcode stat} gives it in
   * `FileInfo.path`): no path walk follows a symlink at its top or inside
   * it, and one that would fails with NFS4ERR_SYMLINK naming the path
   * (lib/client/tree_guard.ts); a final symlink that {@linkcode stat} or
   * {@linkcode setattrPath} is asked to `follow` is still followed (the
   * caller's choice). Returns the function that ends the guard;
   * guards are counted. Optional: test doubles that model no symlinks
   * need not have it, so callers write `client.guardTree?.(path)`.
   */
  guardTree?(resolvedPath: string): () => void;
  /**
   * Who the server is, however its URL named it: its server owner (4.1
   * EXCHANGE_ID's major id and server scope, RFC 8881 §2.10.5), else the
   * address and port connected to (`localhost` and `127.0.0.1` alike); the
   * first answer is kept for the client's life (a reconnect to another
   * address changes nothing); undefined before the first connection. With
   * the fsid and fileid it tells one file from another across URLs (cp
   * refuses to copy a file onto itself).
   */
  serverIdentity?(): string | undefined;
  /** The state held now. */
  describeState(): StateSummary;
  /**
   * The session's slots now (undefined without a session: NFSv4.0, or
   * before one is made); what describeState() says of them, without
   * describing every open (a copy asks once per file).
   */
  sessionSlots(): number | undefined;
  /**
   * Keep renewing the lease even with no state held (renew-watch).
   * `keepLease(true)` after close() or crash() throws `ClientClosedError`;
   * `keepLease(false)` then does nothing (nothing is renewed any more).
   */
  keepLease(on: boolean): void;
  /**
   * Asks the server now whether the lease is valid: RENEW on 4.0, a
   * SEQUENCE alone on 4.1. A reboot or a lost lease it reveals is recovered
   * from (as for any operation) before it resolves.
   */
  probeLease(): Promise<LeaseProbe>;
  /**
   * Closes every open, then (4.1) destroys the session and client ID. From
   * the call on, any other call of the client is refused at once
   * (`ClientClosedError`); called again, or while it runs, it returns the
   * first call's promise. Until it is called the client's connection
   * keeps the process alive. After `ConnectOptions.signal` aborted, it
   * releases only within the 1.5 s that follow the abort. Open files'
   * UNSTABLE4 writes are committed first (not after an abort), and it
   * rejects with `WriteNotCommittedError` (an `AggregateError` of them for
   * several files) when any are not known to be on stable storage.
   */
  close(): Promise<void>;
  /**
   * After close(): what it could not release (the server did not answer),
   * left on the server until the lease ends; undefined when all was released.
   */
  readonly leftOnServer?: Error | undefined;
  /**
   * Drops everything without telling the server (a simulated client
   * crash). From the call on, every other call of the client and of its
   * open files is refused at once with `ClientClosedError`, whose message
   * says `client crashed (crash() was called)`. For tests and recovery
   * drills (`nfs4 simulate-reboot --client`).
   */
  crash(): Promise<void>;
  /**
   * Fault injection for recovery drills (simulate-reboot --fail-reclaim).
   *
   * @internal For the recovery drills and the tests.
   */
  injectFault(fault: { failReclaim?: "open" | "lock" | undefined }): void;
}
