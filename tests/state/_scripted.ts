/**
 * A scripted NFSv4.0/4.1 server behind a {@linkcode CompoundChannel}, for
 * state-manager tests.
 *
 * Every request is encoded to XDR bytes and decoded again with the server's
 * view of the codecs (`decodeCompoundRequest(OP_CODECS)`), handled by a small
 * in-memory server, and the reply encoded (`encodeCompoundReply`) and decoded
 * against the ops sent (`decodeCompoundReply`): real XDR runs both ways.
 *
 * The server knows enough protocol to exercise recovery:
 * - 4.0: SETCLIENTID / SETCLIENTID_CONFIRM, RENEW, per-owner seqids with
 *   replay of the last one (RFC 7530 §9.1.7, §9.1.8), OPEN_CONFIRM for new
 *   open owners, RELEASE_LOCKOWNER;
 * - 4.1: EXCHANGE_ID, CREATE_SESSION (csa_sequence), DESTROY_SESSION,
 *   DESTROY_CLIENTID, SEQUENCE with per-slot sequence ids (RFC 8881
 *   §2.10.6.1), scriptable target slot id and status flags, RECLAIM_COMPLETE,
 *   TEST_STATEID, FREE_STATEID, BIND_CONN_TO_SESSION;
 * - both: a tiny file tree (`/vfs/file`, `/vfs/other`), OPEN (CLAIM_NULL,
 *   CLAIM_PREVIOUS within grace, CLAIM_FH), OPEN_DOWNGRADE, READ,
 *   LOCK/LOCKU/LOCKT with a range conflict table, CLOSE; reboots with a
 *   grace period, lease expiry, revocation;
 * - delegations (RFC 7530 §10.4, RFC 8881 §10.4), when asked for with the
 *   `delegations` option: a read delegation on OPEN for read, a write one on
 *   OPEN for write, when no other client has the file open for writing; a
 *   conflicting OPEN from another client sends CB_RECALL and is answered
 *   NFS4ERR_DELAY until DELEGRETURN; CLAIM_PREVIOUS with a delegate_type
 *   gets the delegation back in grace; revoked delegations (DELEG_REVOKED,
 *   SEQ4_STATUS_RECALLABLE_STATE_REVOKED) until FREE_STATEID; TEST_STATEID
 *   of delegation stateids;
 * - 4.1 CB_NOTIFY_LOCK (RFC 8881 §20.11) to a client whose blocking LOCK
 *   (READW_LT, WRITEW_LT) was denied, once the conflicting lock is gone
 *   (`notifyLocks`).
 *
 * Callbacks go through {@linkcode ScriptedServer.sendCallback} (pluggable),
 * which builds the CB_COMPOUND for the client (CB_SEQUENCE first on 4.1 with
 * the back channel's own slot sequence ids; the callback_ident on 4.0, after
 * a CB_NULL probe) and hands it to a {@linkcode CallbackSender}: in memory
 * through the client's own RPC dispatch ({@linkcode deliverCallbacksInMemory}
 * with a {@linkcode ScriptedChannel} whose callbacks are attached), or over
 * TCP (tests/_nfs4_server.ts). Each callback and the client's answer is
 * logged in {@linkcode ScriptedServer.callbackLog}.
 *
 * Faults are scripted on the server with {@linkcode ScriptedServer.failNext},
 * {@linkcode ScriptedServer.reboot}, {@linkcode ScriptedServer.endGrace},
 * {@linkcode ScriptedServer.expireLease}, {@linkcode ScriptedServer.purgeClient},
 * {@linkcode ScriptedServer.revoke},
 * {@linkcode ScriptedServer.seqStatusFlags} (and `flagNextSequence`),
 * `targetHighestSlotid`, {@linkcode ScriptedServer.unbind},
 * {@linkcode ScriptedServer.restartReclaim} and
 * {@linkcode ScriptedServer.intercept} (run code before an op); on the
 * channel (the connection) with {@linkcode ScriptedChannel.dropReplies} (lost
 * replies or requests) and {@linkcode ScriptedChannel.hold} /
 * `release()` (replies held back, to see what is in flight) and
 * {@linkcode ScriptedChannel.holdReplies} / `releaseReplies()` (requests run,
 * their replies held back: a reply overtaken by a callback). Each channel
 * logs the COMPOUNDs it carried ({@linkcode ScriptedChannel.log}); the server
 * logs all of them. A channel that carries more than `maxCompounds` throws, so
 * a runaway retry loop fails a test instead of hanging it.
 *
 * @example
 * ```ts
 * const server = new ScriptedServer();
 * const channel = new ScriptedChannel(server);
 * server.failNext("READ", Nfs4Status.NFS4ERR_DELAY);
 * // ... drive a StateManager over `channel` ...
 * channel.opNames(); // ["EXCHANGE_ID", "CREATE_SESSION", "SEQUENCE,PUTFH,READ", ...]
 * ```
 * @module
 */

import { XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";
import { RpcConnectionError, RpcTimeoutError } from "../../lib/rpc/errors.ts";
import { answerCall } from "../../lib/rpc/dispatch.ts";
import {
  MSG_ACCEPTED,
  readMessageStart,
  readReplyHeader,
  SUCCESS,
  writeCallHeader,
} from "../../lib/rpc/message.ts";
import type { CallHandler, RpcAttempt } from "../../lib/rpc/transport.ts";
import {
  type CbCompoundRequest,
  cbNotifyLock,
  cbRecall,
  cbSequence,
  type CbSequenceArgs,
  decodeCbCompoundReply,
  encodeCbCompound,
  type ReferringCallList,
} from "../../lib/nfs4/callback.ts";
import type { CompoundCallOptions, CompoundChannel } from "../../lib/nfs4/channel.ts";
import {
  type CompoundReply,
  type CompoundRequest,
  decodeCompoundReply,
  decodeCompoundRequest,
  encodeCompound,
  encodeCompoundReply,
  type Nfs4Op,
  type OpOutcome,
} from "../../lib/nfs4/compound.ts";
import { OP_CODECS } from "../../lib/nfs4/registry.ts";
import { Nfs4Status as S, statusName } from "../../lib/nfs4/status.ts";
import {
  CB_COMPOUND,
  CB_NULL,
  ChannelDirFromClient,
  ChannelDirFromServer,
  CreateMode,
  CreateSessionFlags,
  DelegationType,
  ExchangeIdFlags,
  FileType,
  LimitBy,
  LockType,
  OpenClaimType,
  OpenResultFlags,
  ShareAccess,
  StableHow,
  StateProtectHow,
} from "../../lib/nfs4/constants.ts";
import {
  Attr,
  attrId,
  attrIds,
  encodeBitmap,
  encodeFattrResult,
  type FileAttributes,
  type Fsid,
} from "../../lib/nfs4/attrs.ts";
import { GETATTR } from "../../lib/nfs4/ops/getattr.ts";
import {
  bytesEqual,
  hex,
  type Stateid,
  type StateOwner as WireOwner,
} from "../../lib/nfs4/types.ts";
import type { SequenceArgs, SequenceResult } from "../../lib/nfs4/ops/sequence.ts";
import type { ExchangeIdArgs, ExchangeIdResult, ImplId } from "../../lib/nfs4/ops/exchange_id.ts";
import type { CreateSessionArgs, CreateSessionResult } from "../../lib/nfs4/ops/create_session.ts";
import type { ChannelAttributes } from "../../lib/state/client.ts";
import type { SetclientidArgs } from "../../lib/nfs4/ops/setclientid.ts";
import type { SetclientidConfirmArgs } from "../../lib/nfs4/ops/setclientid_confirm.ts";
import type { OpenArgs, OpenDelegation, OpenResult } from "../../lib/nfs4/ops/open.ts";
import type { OpenConfirmArgs } from "../../lib/nfs4/ops/open_confirm.ts";
import type { OpenDowngradeArgs } from "../../lib/nfs4/ops/open_downgrade.ts";
import type { RenameArgs } from "../../lib/nfs4/ops/rename.ts";
import type { CloseArgs } from "../../lib/nfs4/ops/close.ts";
import type { LockArgs, LockDenied } from "../../lib/nfs4/ops/lock.ts";
import type { LockuArgs } from "../../lib/nfs4/ops/locku.ts";
import type { LocktArgs } from "../../lib/nfs4/ops/lockt.ts";
import type { ReadArgs } from "../../lib/nfs4/ops/read.ts";
import type { WriteArgs } from "../../lib/nfs4/ops/write.ts";
import type { SetattrArgs } from "../../lib/nfs4/ops/setattr.ts";
import type { BindConnToSessionArgs } from "../../lib/nfs4/ops/bind_conn_to_session.ts";

// ------------------------------------------------------------------ records

/** One file or directory of the tree. */
export interface FileNode {
  readonly path: string;
  readonly fh: Uint8Array;
  readonly type: "dir" | "file";
  readonly fileid: bigint;
  readonly children: Map<string, FileNode>;
  data: Uint8Array;
  change: bigint;
  /** The verifier of the exclusive create that made it (RFC 8881 §18.16.3). */
  createVerifier?: Uint8Array | undefined;
  /**
   * The mode last set by a create's createattrs or a SETATTR (GETATTR
   * still answers 0644: tests read this to see what was set).
   */
  modeSet?: number | undefined;
}

/** A client ID record (RFC 7530 §9.1.1; RFC 8881 §2.4). */
export interface ClientRec {
  readonly clientid: bigint;
  readonly ownerId: string;
  readonly verifier: Uint8Array;
  readonly minorVersion: number;
  confirmed: boolean;
  /** 4.0: the SETCLIENTID confirm verifier. */
  confirm: Uint8Array;
  /** 4.1: the csa_sequence the next CREATE_SESSION must carry. */
  createSessionSeq: number;
  createSessionCache: CreateSessionResult | undefined;
  /** The lease ran out ({@linkcode ScriptedServer.expireLease}). */
  expired: boolean;
  /** 4.1: RECLAIM_COMPLETE received. */
  reclaimComplete: boolean;
  /** 4.0: the callback SETCLIENTID gave (RFC 7530 §16.33), in force once confirmed. */
  callback: CallbackInfo | undefined;
  /** 4.0: the callback of the last SETCLIENTID, applied by SETCLIENTID_CONFIRM. */
  pendingCallback: CallbackInfo | undefined;
  /** 4.0: the connection that confirmed the client ID (in-memory callbacks). */
  conn: number | undefined;
  /** 4.0: the callback path was probed with CB_NULL. */
  cbProbed: boolean;
}

/** 4.0 cb_client4 and callback_ident (RFC 7530 §16.33.1). */
export interface CallbackInfo {
  readonly program: number;
  readonly netid: string;
  /** Universal address (RFC 5665 §5.2.3.4): `h1.h2.h3.h4.p1.p2`. */
  readonly addr: string;
  readonly ident: number;
}

interface SlotRec {
  /** The last sequence id processed (0: none yet). */
  seqid: number;
  cached: CompoundReply | undefined;
}

export interface SessionRec {
  readonly id: Uint8Array;
  readonly client: ClientRec;
  readonly slots: SlotRec[];
  /** Connections that must BIND_CONN_TO_SESSION before using the session. */
  readonly unbound: Set<number>;
  /**
   * The back channel (CREATE_SESSION4_FLAG_CONN_BACK_CHAN): its connection,
   * callback program and the last CB_SEQUENCE sequence id of slot 0.
   */
  backChannel: { conn: number; program: number; seqid: number } | undefined;
}

/** An open or lock owner (state_owner4) and its 4.0 seqid. */
export interface OwnerRec {
  readonly kind: "open" | "lock";
  readonly client: ClientRec;
  readonly owner: Uint8Array;
  /** The last seqid used (RFC 7530 §9.1.7). */
  seqid: number;
  confirmed: boolean;
  /** The outcome of the last seqid-mutating op, for replays (RFC 7530 §9.1.8). */
  last: OpOutcome | undefined;
}

interface StateRecBase {
  readonly other: Uint8Array;
  readonly file: FileNode;
  readonly owner: OwnerRec;
  seqid: number;
  /** Set when revoked: the status its use returns. */
  revoked: number | undefined;
  /** Revoked without raising SEQ4_STATUS flags. */
  silent: boolean;
}

export interface OpenRec extends StateRecBase {
  readonly kind: "open";
  access: number;
  deny: number;
  /**
   * The share access and deny of each OPEN in effect on this open (the
   * first and every upgrade), which an OPEN_DOWNGRADE must be the union of
   * some of (RFC 7530 §16.19.4, RFC 8881 §18.18.3).
   */
  shares: { readonly access: number; readonly deny: number }[];
  readonly locks: Set<LockRec>;
}

export interface LockRange {
  readonly type: number;
  readonly offset: bigint;
  readonly length: bigint;
}

export interface LockRec extends StateRecBase {
  readonly kind: "lock";
  readonly open: OpenRec;
  ranges: LockRange[];
}

type StateRec = OpenRec | LockRec;

/** A delegation (RFC 7530 §10.4, RFC 8881 §10.4): held by a client, not by an owner. */
export interface DelegRec {
  readonly kind: "deleg";
  readonly other: Uint8Array;
  readonly file: FileNode;
  readonly client: ClientRec;
  readonly type: "read" | "write";
  seqid: number;
  /** Set when revoked: the status its use returns. */
  revoked: number | undefined;
  /** Revoked without raising SEQ4_STATUS flags. */
  silent: boolean;
  /** Server clock time CB_RECALL was sent. */
  recalledAt: number | undefined;
}

/** A 4.1 client waiting for a lock (a blocking LOCK was denied; RFC 8881 §20.11). */
interface LockWaiter {
  readonly client: ClientRec;
  readonly file: FileNode;
  readonly owner: WireOwner;
  readonly range: LockRange;
}

/** Delegation and lock-notification events, for assertions. */
export interface ServerEvent {
  readonly at: number;
  readonly kind: "grant" | "reclaim" | "recall" | "conflict" | "return" | "revoke" | "notify-lock";
  readonly clientid: bigint;
  readonly path: string;
  readonly detail?: string;
}

/** Where a client's callbacks go. */
export type CallbackRoute =
  | {
    readonly minorVersion: 0;
    readonly clientid: bigint;
    /** The connection that confirmed the client ID. */
    readonly conn: number | undefined;
    readonly program: number;
    readonly ident: number;
    readonly netid: string;
    readonly addr: string;
  }
  | {
    readonly minorVersion: 1;
    readonly clientid: bigint;
    /** The connection bound to the back channel. */
    readonly conn: number;
    readonly program: number;
    readonly sessionid: Uint8Array;
  };

/** An RPC reply to a callback, before its results are decoded. */
export interface RawCallbackReply {
  readonly xid: number;
  /** The accept_stat; undefined when the call was denied. */
  readonly acceptStat: number | undefined;
  /** On SUCCESS: positioned at the results. */
  readonly results?: XdrReader;
  /** Why the call was denied. */
  readonly denied?: string;
}

/** How the server reaches the clients' callback services. */
export interface CallbackSender {
  /** Whether callbacks can reach the client on this route (a path exists). */
  reachable(route: CallbackRoute): boolean;
  /** Names the path for the log: `memory conn 2`, `backchannel conn 3`, `cb_location 127.0.0.1:40001`. */
  describe(route: CallbackRoute): string;
  /** Sends one callback CALL (`args` appends the arguments) and resolves with its reply. */
  call(
    route: CallbackRoute,
    procedure: number,
    args: (w: XdrWriter) => void,
  ): Promise<RawCallbackReply>;
}

/** One callback sent and what the client answered. */
export interface CallbackLogEntry {
  /** Server clock time it was sent. */
  readonly at: number;
  readonly clientid: bigint;
  readonly minorVersion: number;
  /** The path taken ({@linkcode CallbackSender.describe}). */
  readonly via: string;
  readonly procedure: "CB_NULL" | "CB_COMPOUND" | `procedure ${number}`;
  readonly xid?: number;
  /** Op names sent (CB_COMPOUND). */
  readonly ops: readonly string[];
  readonly acceptStat?: number;
  /** CB_COMPOUND4res status, when the client answered SUCCESS. */
  readonly status?: number;
  /** Each result: op name and status. */
  readonly results?: readonly { readonly name: string; readonly status: number }[];
  /** The call failed (no path, connection refused, timeout, undecodable reply). */
  readonly error?: string;
}

/** Deviations from a well-formed callback, for tests of the client's checks. */
export interface CallbackOptions {
  readonly tag?: string;
  /** CB_COMPOUND minorversion (default: the client's). */
  readonly minorVersion?: number;
  /** 4.0 callback_ident (default: the one SETCLIENTID gave). */
  readonly ident?: number;
  /** 4.1: no CB_SEQUENCE first. */
  readonly noSequence?: boolean;
  /** 4.1 CB_SEQUENCE session id (default: the client's session). */
  readonly sessionid?: Uint8Array;
  readonly slotid?: number;
  /** 4.1 CB_SEQUENCE sequence id: default the next one; `replay`: the last one again. */
  readonly sequenceid?: number | "replay";
  readonly cachethis?: boolean;
  /**
   * 4.1 CB_SEQUENCE csa_referring_call_lists (default none): the fore
   * channel calls this callback relates to (RFC 8881 §2.10.6.3, §20.9.3).
   */
  readonly referringCallLists?: readonly ReferringCallList[];
}

/** A callback sent: its log entry and the decoded CB_COMPOUND4res (when SUCCESS). */
export interface CallbackOutcome {
  readonly entry: CallbackLogEntry;
  readonly reply: CompoundReply | undefined;
}

/** One COMPOUND as the server saw it. */
export interface LogEntry {
  readonly connection: number;
  /** Server clock time when it was handled. */
  readonly at: number;
  readonly minorVersion: number;
  readonly ops: readonly string[];
  /** Decoded arguments, by position. */
  readonly args: readonly unknown[];
  readonly status: number;
  /** Status of each op evaluated. */
  readonly statuses: readonly number[];
  /** 4.1: the SEQUENCE slot and sequence id. */
  readonly slotid?: number;
  readonly sequenceid?: number;
  /** A SEQUENCE replay answered from the slot's reply cache. */
  readonly replay?: boolean;
}

interface Fault {
  readonly op: string;
  readonly status: number;
  readonly detail: unknown;
  remaining: number;
  skip: number;
}

interface Interceptor {
  readonly op: string;
  readonly fn: (args: unknown, server: ScriptedServer) => number | void;
  remaining: number;
  skip: number;
}

interface Ctx {
  readonly conn: number;
  readonly minor: number;
  cfh: FileNode | undefined;
  /** SAVEFH's handle (RENAME's source directory, LINK's file). */
  sfh?: FileNode | undefined;
  client: ClientRec | undefined;
  /** A status an interceptor asked for, for a 4.0 seqid op to fail with. */
  hooked: number | undefined;
  /** 4.1: the current stateid (RFC 8881 §16.2.3.1.2), set by OPEN and CLOSE. */
  current?: Stateid | undefined;
}

export interface ScriptedServerOptions {
  /** Server clock, for log times. */
  readonly now?: () => number;
  /** lease_time in seconds (default 30). */
  readonly leaseTime?: number;
  /** Most slots a session is granted (default 8). */
  readonly maxSlots?: number;
  /**
   * A broken or hostile server: CREATE_SESSION's ca_maxrequests says this
   * many slots, and every SEQUENCE reply's sr_highest_slotid and
   * sr_target_highest_slotid say this many less one, whatever the session
   * really holds (RFC 8881 §18.36.3, §18.46.3); up to 2^32 - 1.
   */
  readonly claimedSlots?: number;
  /**
   * CREATE_SESSION's fore channel grants these instead of what was asked
   * (RFC 8881 §18.36.3: a server may lower any of them).
   */
  readonly foreChannelGrant?: Partial<
    Pick<ChannelAttributes, "maxOperations" | "maxRequestSize" | "maxResponseSize">
  >;
  /** 4.0: new open owners must OPEN_CONFIRM (default true, as Linux nfsd). */
  readonly confirmOpens?: boolean;
  /** Files under the root, by path; default `/vfs/file` and `/vfs/other`. */
  readonly files?: Readonly<Record<string, string>>;
  /**
   * Grant delegations on OPEN (default none): `read` on OPEN for reading
   * only, `write` on OPEN for writing (RFC 7530 §10.4).
   */
  readonly delegations?: DelegationPolicy;
  /** 4.1: CB_NOTIFY_LOCK to denied blocking-lock waiters (default true). */
  readonly notifyLocks?: boolean;
  /**
   * 4.1: keep replies asked for with sa_cachethis (default true). A server
   * may decline (RFC 8881 §2.10.6.1.3); every retry then meets
   * NFS4ERR_RETRY_UNCACHED_REP.
   */
  readonly replyCache?: boolean;
  /** 4.1: the eir_server_impl_id EXCHANGE_ID answers with (RFC 8881 §18.35; default none). */
  readonly implId?: ImplId;
  /** The maxread attribute of the object at a path (default 1 MiB everywhere; undefined: not sent). */
  readonly maxread?: (path: string) => bigint | undefined;
  /** The maxwrite attribute of the object at a path (default: not sent). */
  readonly maxwrite?: (path: string) => bigint | undefined;
  /**
   * 4.1: honour the current stateid {seqid 1, other 0} in READ, WRITE,
   * SETATTR and CLOSE (RFC 8881 §16.2.3.1.2; default true). False answers it
   * NFS4ERR_BAD_STATEID, as a server that does not know it would.
   */
  readonly currentStateid?: boolean;
  /**
   * A broken server: a READ that asks for no more than the file still
   * holds is answered this many bytes more than it asked for (default 0),
   * which RFC 7530 §16.23 and RFC 8881 §18.22 never allow.
   */
  readonly readSurplus?: number;
  /**
   * A broken server: a WRITE keeps only the first half of its data and
   * answers that it wrote this many bytes more than all of it (default 0).
   */
  readonly writeOvercount?: number;
  /**
   * A broken server: SETATTR answers NFS4_OK without setting these
   * attributes (by id, lib/nfs4/attrs.ts `Attr`) and leaves them out of its
   * attrsset (default none), which RFC 7530 §16.32.4 and RFC 8881 §18.30.4
   * say is what was set.
   */
  readonly setattrIgnores?: readonly number[];
  /**
   * A broken server: a READ at or past this offset, short of the end of the
   * file, gets no data and no end of file, and one across it ends there
   * (default: none).
   */
  readonly readNothingFrom?: number;
  /**
   * The server's supported_attrs (RFC 7530 §5.8.1.1), by id: what GETATTR
   * of supported_attrs answers (default: it is not answered). Given, an
   * attribute outside it has no value in GETATTR, and a SETATTR or an
   * OPEN's createattrs holding it is refused NFS4ERR_ATTRNOTSUPP (an
   * ACL-only volume without `mode`).
   */
  readonly supportedAttrs?: readonly number[];
  /**
   * A broken server: a GETATTR asking for these attributes (by id) gets
   * their bits set in the reply's bitmap and no value for them, as knfsd
   * answers mode_umask on NFSv4.2 (default none). The reply does not decode.
   */
  readonly getattrNoValue?: readonly number[];
  /**
   * Owner strings as a server that maps them to names keeps them (knfsd
   * with idmapping, NetApp, FreeBSD nfsuserd, Windows): see
   * {@linkcode ScriptedOwners} (default: files have no owner attributes).
   */
  readonly owners?: ScriptedOwners;
  /**
   * 4.1: CREATE_SESSION grants CREATE_SESSION4_FLAG_PERSIST, a persistent
   * reply cache (RFC 8881 §18.36): such a server need support GUARDED4
   * alone for exclusive creates (§18.16.3). Default false.
   */
  readonly persistentSession?: boolean;
  /**
   * OPEN with EXCLUSIVE4_1 is answered NFS4ERR_NOTSUPP (a server that
   * cannot keep the verifier, RFC 8881 §18.16.4; default false).
   */
  readonly exclusive41Unsupported?: boolean;
  /**
   * The file system's suppattr_exclcreat (RFC 8881 §5.8.1.14), by id: what
   * GETATTR of it answers, and an EXCLUSIVE4_1 whose createattrs hold
   * anything else is refused NFS4ERR_INVAL (§18.16.3). Default: not
   * answered, and any createattrs taken.
   */
  readonly exclusiveCreateAttrs?: readonly number[];
  /**
   * A broken server: OPEN's createattrs are not set, and its attrset says
   * so (empty), as RFC 8881 §18.16.3 and RFC 7530 §16.16.5 have the
   * attrset report (default false: a new file's attrset holds every
   * createattr, which the server takes as set).
   */
  readonly openIgnoresCreateAttrs?: boolean;
  /**
   * A 4.0 EXCLUSIVE4 create keeps its verifier in the file's times and says
   * so in the OPEN's attrset (time_access, time_modify), as knfsd does (RFC
   * 7530 §16.16.5). Default false: the attrset is empty.
   */
  readonly verifierInTimes?: boolean;
  /**
   * The file systems of the tree, as a server presents several under one
   * pseudo-fs (RFC 7530 §7): GETATTR answers each object's fsid, maxname
   * and supported_attrs (then its file system's, in place of
   * `supportedAttrs`, and only what that holds has a value) from the one
   * whose `path` is the object's path or its deepest ancestor. Default:
   * none, and neither fsid nor maxname is answered.
   */
  readonly fileSystems?: readonly ScriptedFileSystem[];
}

/** One file system of {@linkcode ScriptedServerOptions.fileSystems}. */
export interface ScriptedFileSystem {
  /** Its root's path (`/` for the pseudo-fs root's). */
  readonly path: string;
  readonly fsid: Fsid;
  /** Its maxname (default: not answered). */
  readonly maxname?: number;
  /** Its supported_attrs, by id (default: the server's `supportedAttrs`). */
  readonly supportedAttrs?: readonly number[];
}

/**
 * A server in "name@domain only" mode (RFC 7530 §5.9): GETATTR answers
 * owner and owner_group as `name@domain` (or as given in `of`); a SETATTR
 * of a numeric string, or of a name it does not know, is refused with
 * NFS4ERR_BADOWNER; one of a name it knows is kept as `name@domain`.
 */
export interface ScriptedOwners {
  /** The domain of its owner strings (compared without regard to case). */
  readonly domain: string;
  /** The user and group names it knows. */
  readonly names: readonly string[];
  /** Owner and group strings of paths as GETATTR answers them (default `root@domain`). */
  readonly of?: Readonly<Record<string, readonly [owner: string, group: string]>>;
}

/** Which delegations OPEN grants. */
export interface DelegationPolicy {
  readonly read?: boolean;
  readonly write?: boolean;
}

/** The 4.0 statuses after which a seqid is not consumed (RFC 7530 §9.1.7). */
const SEQID_KEPT = new Set<number>([
  S.NFS4ERR_STALE_CLIENTID,
  S.NFS4ERR_STALE_STATEID,
  S.NFS4ERR_BAD_STATEID,
  S.NFS4ERR_BAD_SEQID,
  S.NFS4ERR_BADXDR,
  S.NFS4ERR_RESOURCE,
  S.NFS4ERR_NOFILEHANDLE,
  S.NFS4ERR_MOVED,
]);

/** Ops that carry an owner seqid on 4.0. */
const SEQID_OPS = new Set(["OPEN", "OPEN_CONFIRM", "OPEN_DOWNGRADE", "CLOSE", "LOCK", "LOCKU"]);

/** 4.1 ops that may be sent without SEQUENCE, as the only op (RFC 8881 §18.46.3). */
const SESSIONLESS_OPS = new Set([
  "EXCHANGE_ID",
  "CREATE_SESSION",
  "DESTROY_SESSION",
  "DESTROY_CLIENTID",
  "BIND_CONN_TO_SESSION",
]);

const V40_ONLY = new Set([
  "SETCLIENTID",
  "SETCLIENTID_CONFIRM",
  "RENEW",
  "OPEN_CONFIRM",
  "RELEASE_LOCKOWNER",
]);

const V41_ONLY = new Set([
  "SEQUENCE",
  "EXCHANGE_ID",
  "CREATE_SESSION",
  "DESTROY_SESSION",
  "DESTROY_CLIENTID",
  "BIND_CONN_TO_SESSION",
  "RECLAIM_COMPLETE",
  "TEST_STATEID",
  "FREE_STATEID",
]);

/** SEQ4_STATUS_* bits the server raises (RFC 8881 §18.46.3). */
const SEQ4 = {
  EXPIRED_ALL_STATE_REVOKED: 0x8,
  EXPIRED_SOME_STATE_REVOKED: 0x10,
  ADMIN_STATE_REVOKED: 0x20,
  RECALLABLE_STATE_REVOKED: 0x40,
} as const;

const UINT32 = 0x1_0000_0000;
const MAX_U64 = 0xffff_ffff_ffff_ffffn;

/** Default contents of the tree. */
export const DEFAULT_FILES: Readonly<Record<string, string>> = {
  "/vfs/file": "hello, world\n",
  "/vfs/other": "other file contents\n",
};

const enc = new TextEncoder();

function ok(op: Nfs4Op<unknown>, value?: unknown): OpOutcome {
  return { opnum: op.opnum, name: op.name, status: S.NFS4_OK, value };
}

function fail(op: Nfs4Op<unknown>, status: number, detail?: unknown): OpOutcome {
  return detail === undefined
    ? { opnum: op.opnum, name: op.name, status }
    : { opnum: op.opnum, name: op.name, status, detail };
}

function rangesOverlap(a: LockRange, b: LockRange): boolean {
  const aEnd = a.length === MAX_U64 ? MAX_U64 : a.offset + a.length;
  const bEnd = b.length === MAX_U64 ? MAX_U64 : b.offset + b.length;
  return a.offset < bEnd && b.offset < aEnd;
}

function isWrite(type: number): boolean {
  return type === LockType.WRITE_LT || type === LockType.WRITEW_LT;
}

/**
 * `getattrNoValue`: a GETATTR result carrying these ids under this key is
 * encoded with their bits set and no value for them. GETATTR's codec is
 * wrapped once for it; every other result is encoded as before (a client
 * never encodes GETATTR results).
 */
const NO_VALUE = Symbol("getattrNoValue");
{
  const codec = GETATTR as { encodeResult: typeof GETATTR.encodeResult };
  const encode = codec.encodeResult;
  codec.encodeResult = (w, result) => {
    const noValue = (result as { [NO_VALUE]?: readonly number[] })[NO_VALUE];
    if (!noValue) return encode(w, result);
    const values = new XdrWriter();
    encodeFattrResult(values, result.attrs);
    const bytes = values.bytes();
    const words = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);
    encodeBitmap(w, [...attrIds(result.attrs), ...noValue]);
    // attrlist4 as encoded: the values of the attributes that have one.
    w.writeFixedOpaque(bytes.subarray(4 + 4 * words));
  };
}

// ------------------------------------------------------------------ server

/** Ops whose stateid may be the current stateid here (RFC 8881 §16.2.3.1.2). */
const CURRENT_STATEID_OPS: ReadonlySet<string> = new Set(["READ", "WRITE", "SETATTR", "CLOSE"]);

/** The in-memory server. One instance may serve several channels (clients). */
export class ScriptedServer {
  readonly leaseTime: number;
  readonly maxSlots: number;
  readonly claimedSlots: number | undefined;
  readonly foreChannelGrant: ScriptedServerOptions["foreChannelGrant"];
  readonly confirmOpens: boolean;
  readonly replyCache: boolean;
  readonly implId: ImplId | undefined;
  readonly currentStateid: boolean;
  readonly readSurplus: number;
  readonly writeOvercount: number;
  readonly setattrIgnores: ReadonlySet<number>;
  readonly readNothingFrom: number | undefined;
  readonly supportedAttrs: ReadonlySet<number> | undefined;
  readonly getattrNoValue: ReadonlySet<number>;
  readonly ownerNames: ScriptedOwners | undefined;
  readonly persistentSession: boolean;
  readonly exclusive41Unsupported: boolean;
  readonly exclusiveCreateAttrs: ReadonlySet<number> | undefined;
  readonly openIgnoresCreateAttrs: boolean;
  readonly verifierInTimes: boolean;
  readonly fileSystems: readonly ScriptedFileSystem[];
  /** Owner and group strings set by SETATTR (`ownerNames`). */
  readonly #ownersSet = new Map<FileNode, [owner: string, group: string]>();
  readonly #maxread: (path: string) => bigint | undefined;
  readonly #maxwrite: (path: string) => bigint | undefined;
  readonly root: FileNode;
  /** Every COMPOUND handled, across channels. */
  readonly log: LogEntry[] = [];
  /** The highest minor version served; above it, NFS4ERR_MINOR_VERS_MISMATCH (RFC 7530 §15.2). */
  maxMinorVersion = 1;
  /** The lowest minor version served (1: a server without NFSv4.0); below it, the same. */
  minMinorVersion = 0;

  /** Server instance: bumped by {@linkcode reboot}; stamped into ids. */
  epoch = 1;
  /** In the grace period: reclaims allowed, other OPEN and LOCK wait (NFS4ERR_GRACE). */
  grace = false;
  /** SEQ4_STATUS bits set on every SEQUENCE reply until cleared. */
  seqStatusFlags = 0;
  /** What WRITE answers in `committed` at most (a server that commits less than asked). */
  writeCommitted: number = StableHow.FILE_SYNC4;
  /** WRITE keeps only the first half of its data and says so (`count`): a short write. */
  writeShort = false;
  /** The write verifier of WRITE and COMMIT (changed: a restart lost uncommitted data). */
  writeVerifier = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  /** sr_target_highest_slotid; undefined: all granted slots. */
  targetHighestSlotid: number | undefined;
  /** Owner strings SETCLIENTID / EXCHANGE_ID refuse with NFS4ERR_CLID_INUSE. */
  readonly clidInUse = new Set<string>();

  readonly clients = new Map<bigint, ClientRec>();
  readonly sessions = new Map<string, SessionRec>();
  readonly owners = new Map<string, OwnerRec>();
  readonly states = new Map<string, StateRec>();
  /** Delegations, by stateid `other` in hex. */
  readonly delegations = new Map<string, DelegRec>();

  /** Which delegations OPEN grants (undefined: none). */
  delegationPolicy: DelegationPolicy | undefined;
  /** 4.1: send CB_NOTIFY_LOCK to denied blocking-lock waiters. */
  notifyLocks: boolean;
  /** How callbacks reach clients; undefined: they cannot (no delegations granted). */
  callbacks: CallbackSender | undefined;
  /** Every callback sent, with the client's answer. */
  readonly callbackLog: CallbackLogEntry[] = [];
  /** Delegation and lock-notification events. */
  readonly events: ServerEvent[] = [];
  /** The channels (connections) of this server, for in-memory callbacks. */
  readonly channels = new Map<number, ScriptedChannel>();
  /**
   * Sends a CB_COMPOUND of `ops` to a client: the hook the server calls for
   * CB_RECALL and CB_NOTIFY_LOCK. Replace it to drop or delay callbacks.
   */
  sendCallback: (
    clientid: bigint,
    ops: readonly Nfs4Op<unknown>[],
    options?: CallbackOptions,
  ) => Promise<CallbackOutcome> = (clientid, ops, options) => this.callback(clientid, ops, options);

  readonly #now: () => number;
  readonly #files = new Map<string, FileNode>();
  /** 4.0: each owner's last closed open, kept so a CLOSE can be replayed (as nfsd). */
  readonly #lastClosed = new Map<OwnerRec, OpenRec>();
  #fileids = 0n;
  #counter = 0;
  #connections = 0;
  #faults: Fault[] = [];
  #interceptors: Interceptor[] = [];
  #onceFlags: number[] = [];
  #waiters: LockWaiter[] = [];
  readonly #cbQueue = new Map<bigint, Promise<void>>();

  constructor(options: ScriptedServerOptions = {}) {
    this.#now = options.now ?? (() => 0);
    this.leaseTime = options.leaseTime ?? 30;
    this.maxSlots = options.maxSlots ?? 8;
    this.claimedSlots = options.claimedSlots;
    this.foreChannelGrant = options.foreChannelGrant;
    this.confirmOpens = options.confirmOpens ?? true;
    this.replyCache = options.replyCache ?? true;
    this.implId = options.implId;
    this.currentStateid = options.currentStateid ?? true;
    this.readSurplus = options.readSurplus ?? 0;
    this.writeOvercount = options.writeOvercount ?? 0;
    this.setattrIgnores = new Set(options.setattrIgnores ?? []);
    this.readNothingFrom = options.readNothingFrom;
    this.supportedAttrs = options.supportedAttrs ? new Set(options.supportedAttrs) : undefined;
    this.getattrNoValue = new Set(options.getattrNoValue ?? []);
    this.ownerNames = options.owners;
    this.persistentSession = options.persistentSession ?? false;
    this.exclusive41Unsupported = options.exclusive41Unsupported ?? false;
    this.exclusiveCreateAttrs = options.exclusiveCreateAttrs
      ? new Set(options.exclusiveCreateAttrs)
      : undefined;
    this.openIgnoresCreateAttrs = options.openIgnoresCreateAttrs ?? false;
    this.verifierInTimes = options.verifierInTimes ?? false;
    this.fileSystems = options.fileSystems ?? [];
    this.#maxread = options.maxread ?? (() => 1n << 20n);
    this.#maxwrite = options.maxwrite ?? (() => undefined);
    this.delegationPolicy = options.delegations;
    this.notifyLocks = options.notifyLocks ?? true;
    this.root = this.#node("/", "dir");
    for (const [path, text] of Object.entries(options.files ?? DEFAULT_FILES)) {
      this.addFile(path, text);
    }
  }

  // ------------------------------------------------------------ scripting

  /**
   * The next `times` occurrences of `op` (after letting `after` of them pass)
   * fail with `status`. On 4.0 seqid ops the owner seqid is checked first and
   * consumed as RFC 7530 §9.1.7 says, as if the op itself had failed.
   */
  failNext(
    op: string,
    status: number,
    options: { times?: number; after?: number; detail?: unknown } = {},
  ): void {
    this.#faults.push({
      op,
      status,
      detail: options.detail,
      remaining: options.times ?? 1,
      skip: options.after ?? 0,
    });
  }

  /**
   * Runs `fn` before the next `times` occurrences of `op` (after letting
   * `after` of them pass) are handled; a status it returns fails the op (like
   * {@linkcode failNext}).
   */
  intercept(
    op: string,
    fn: (args: unknown, server: ScriptedServer) => number | void,
    options: { times?: number; after?: number } = {},
  ): void {
    this.#interceptors.push({ op, fn, remaining: options.times ?? 1, skip: options.after ?? 0 });
  }

  /** Sets SEQ4_STATUS bits on the next `times` SEQUENCE replies only. */
  flagNextSequence(flags: number, options: { times?: number } = {}): void {
    for (let i = 0; i < (options.times ?? 1); i++) this.#onceFlags.push(flags);
  }

  /** Forgets every pending {@linkcode failNext}. */
  clearFaults(): void {
    this.#faults = [];
  }

  /** Faults not yet used up. */
  get pendingFaults(): number {
    return this.#faults.length;
  }

  /**
   * The server restarts: clients, sessions, owners and state are forgotten,
   * ids from the old instance become stale, and (by default) a grace period
   * starts in which only reclaims may OPEN and LOCK (RFC 7530 §9.6.2).
   */
  reboot(options: { grace?: boolean } = {}): void {
    this.epoch++;
    this.clients.clear();
    this.sessions.clear();
    this.owners.clear();
    this.states.clear();
    this.delegations.clear();
    this.#waiters = [];
    this.#lastClosed.clear();
    this.grace = options.grace ?? true;
  }

  /**
   * 4.1: the server needs the clients to reclaim again (RFC 8881 §18.46.3,
   * SEQ4_STATUS_RESTART_RECLAIM_NEEDED): a grace period starts, every client
   * may reclaim (and must RECLAIM_COMPLETE) anew, and the next SEQUENCE
   * reply says so.
   */
  restartReclaim(): void {
    this.grace = true;
    for (const client of this.clients.values()) client.reclaimComplete = false;
    this.flagNextSequence(0x100);
  }

  /** The grace period ends: reclaims now get NFS4ERR_NO_GRACE. */
  endGrace(): void {
    this.grace = false;
  }

  /**
   * The lease of a client (default: every client) ran out: its state is
   * revoked (NFS4ERR_EXPIRED on use), 4.0 RENEW answers NFS4ERR_EXPIRED and
   * 4.1 SEQUENCE raises SEQ4_STATUS_EXPIRED_ALL_STATE_REVOKED until freed.
   */
  expireLease(clientid?: bigint): void {
    for (const client of this.clients.values()) {
      if (clientid !== undefined && client.clientid !== clientid) continue;
      client.expired = true;
      for (const state of this.states.values()) {
        if (state.owner.client === client && state.revoked === undefined) {
          state.revoked = S.NFS4ERR_EXPIRED;
          if (state.kind === "lock") this.#lockReleased(state.file);
        }
      }
      for (const deleg of this.delegations.values()) {
        if (deleg.client === client && deleg.revoked === undefined) {
          deleg.revoked = S.NFS4ERR_EXPIRED;
        }
      }
    }
  }

  /**
   * The lease of a client (default: every client) ran out and the server
   * forgot the client, as Ganesha 4.3's reaper does (RFC 8881 §8.4.3: "The
   * server may choose to invalidate the session and the associated client
   * ID"): its client ID, sessions, owners, states and delegations are gone
   * (SEQUENCE answers NFS4ERR_BADSESSION, CREATE_SESSION, RENEW and
   * SETCLIENTID_CONFIRM NFS4ERR_STALE_CLIENTID), and its stateids, being of
   * this server instance, answer NFS4ERR_EXPIRED to every later use, CLOSE,
   * LOCKU, DELEGRETURN, TEST_STATEID and FREE_STATEID included, as
   * Ganesha 4.3 answers them. No grace period starts: the server did not
   * restart, and reclaims get NFS4ERR_NO_GRACE.
   */
  purgeClient(clientid?: bigint): void {
    for (const client of [...this.clients.values()]) {
      if (clientid !== undefined && client.clientid !== clientid) continue;
      for (const state of this.states.values()) {
        if (state.owner.client === client) this.#purged.add(hex(state.other));
      }
      for (const deleg of this.delegations.values()) {
        if (deleg.client === client) this.#purged.add(hex(deleg.other));
      }
      this.#dropClient(client);
    }
  }

  /** Stateids of clients {@linkcode purgeClient} forgot: NFS4ERR_EXPIRED to every use. */
  readonly #purged = new Set<string>();

  /**
   * Revokes one state (and, for an open, its locks) or a delegation: its
   * use answers `status` (ADMIN_REVOKED, EXPIRED, DELEG_REVOKED); on 4.1 the
   * SEQUENCE status flag for it stays set until FREE_STATEID (RFC 8881
   * §18.46.3), unless `flag` is false. Lock waiters whose range is now free
   * are notified.
   */
  revoke(
    stateid: Stateid,
    status: number = S.NFS4ERR_ADMIN_REVOKED,
    options: { flag?: boolean } = {},
  ): void {
    const deleg = this.delegations.get(hex(stateid.other));
    if (deleg) {
      deleg.revoked = status;
      deleg.silent = options.flag === false;
      this.#event("revoke", deleg.client, deleg.file, `${deleg.type} ${statusName(status)}`);
      return;
    }
    const rec = this.states.get(hex(stateid.other));
    if (!rec) throw new Error(`revoke: no state ${hex(stateid.other)}`);
    const targets: StateRec[] = rec.kind === "open" ? [rec, ...rec.locks] : [rec];
    for (const target of targets) {
      target.revoked = status;
      target.silent = options.flag === false;
    }
    this.#lockReleased(rec.file);
  }

  /**
   * Revokes a delegation: its use answers `status` (default
   * NFS4ERR_DELEG_REVOKED); on 4.1 SEQUENCE raises
   * SEQ4_STATUS_RECALLABLE_STATE_REVOKED until FREE_STATEID, unless `flag`
   * is false (RFC 8881 §10.2.1, §18.46.3).
   */
  revokeDelegation(
    deleg: DelegRec,
    status: number = S.NFS4ERR_DELEG_REVOKED,
    options: { flag?: boolean } = {},
  ): void {
    this.revoke({ seqid: deleg.seqid, other: deleg.other }, status, options);
  }

  /** Live (not revoked) delegations of a file, for assertions. */
  delegationsOf(path: string): DelegRec[] {
    return [...this.delegations.values()].filter((d) =>
      d.file.path === path && d.revoked === undefined
    );
  }

  /** The stateid of a delegation, as the client holds it. */
  delegationStateid(deleg: DelegRec): Stateid {
    return { seqid: deleg.seqid, other: deleg.other.slice() };
  }

  /** The connection must BIND_CONN_TO_SESSION before its next SEQUENCE. */
  unbind(channel: ScriptedChannel): void {
    for (const session of this.sessions.values()) session.unbound.add(channel.connection);
  }

  /** Adds a file (and its directories). */
  addFile(path: string, text: string): FileNode {
    const parts = path.split("/").filter((p) => p !== "");
    let dir = this.root;
    for (const [i, name] of parts.entries()) {
      const last = i === parts.length - 1;
      let child = dir.children.get(name);
      if (!child) {
        child = this.#node(`/${parts.slice(0, i + 1).join("/")}`, last ? "file" : "dir");
        dir.children.set(name, child);
      }
      dir = child;
    }
    dir.data = enc.encode(text);
    return dir;
  }

  /** The node at a path, or undefined. */
  file(path: string): FileNode | undefined {
    let node: FileNode | undefined = this.root;
    for (const name of path.split("/").filter((p) => p !== "")) {
      node = node?.children.get(name);
    }
    return node;
  }

  /** Live (not revoked) opens of a file, for assertions. */
  opensOf(path: string): OpenRec[] {
    return [...this.states.values()].filter((s): s is OpenRec =>
      s.kind === "open" && s.file.path === path && s.revoked === undefined
    );
  }

  /** Live lock ranges on a file, for assertions. */
  locksOf(path: string): LockRange[] {
    return [...this.states.values()]
      .filter((s): s is LockRec => s.kind === "lock" && s.file.path === path && !s.revoked)
      .flatMap((s) => s.ranges);
  }

  /** A new connection id (each channel is one connection). */
  connect(): number {
    return ++this.#connections;
  }

  // ------------------------------------------------------------ callbacks

  /**
   * Where callbacks for a client go: 4.0 the confirmed SETCLIENTID callback,
   * 4.1 a session with a back channel. Undefined when there is none.
   */
  callbackRoute(clientid: bigint): CallbackRoute | undefined {
    const client = this.clients.get(clientid);
    if (!client) return undefined;
    if (client.minorVersion === 0) {
      const cb = client.callback;
      if (!cb) return undefined;
      return {
        minorVersion: 0,
        clientid,
        conn: client.conn,
        program: cb.program,
        ident: cb.ident,
        netid: cb.netid,
        addr: cb.addr,
      };
    }
    const session = [...this.sessions.values()].find((s) =>
      s.client === client && s.backChannel !== undefined
    );
    if (!session?.backChannel) return undefined;
    return {
      minorVersion: 1,
      clientid,
      conn: session.backChannel.conn,
      program: session.backChannel.program,
      sessionid: session.id,
    };
  }

  /** Whether callbacks can reach the client (delegations are granted only then). */
  callbackPathUp(client: ClientRec): boolean {
    const route = this.callbackRoute(client.clientid);
    return route !== undefined && this.callbacks !== undefined && this.callbacks.reachable(route);
  }

  /**
   * Sends a CB_COMPOUND to a client (the default {@linkcode sendCallback}):
   * on 4.1 with CB_SEQUENCE first (slot 0 of the back channel, its own
   * sequence ids), on 4.0 with the callback_ident from SETCLIENTID and after
   * a CB_NULL the first time. Never throws: failures are in the log entry.
   */
  callback(
    clientid: bigint,
    ops: readonly Nfs4Op<unknown>[],
    options: CallbackOptions = {},
  ): Promise<CallbackOutcome> {
    // One callback at a time per client: the back channel has one slot.
    const previous = this.#cbQueue.get(clientid) ?? Promise.resolve();
    const next = previous.then(() => this.#callbackNow(clientid, ops, options));
    const tail = next.then(() => {}, () => {});
    this.#cbQueue.set(clientid, tail);
    void tail.then(() => {
      if (this.#cbQueue.get(clientid) === tail) this.#cbQueue.delete(clientid);
    });
    return next;
  }

  async #callbackNow(
    clientid: bigint,
    ops: readonly Nfs4Op<unknown>[],
    options: CallbackOptions,
  ): Promise<CallbackOutcome> {
    const route = this.callbackRoute(clientid);
    const client = this.clients.get(clientid);
    if (route?.minorVersion === 0 && client && this.callbacks && !client.cbProbed) {
      client.cbProbed = true;
      await this.cbNull(clientid);
    }
    const base = {
      at: this.#now(),
      clientid,
      minorVersion: options.minorVersion ?? client?.minorVersion ?? 0,
      procedure: "CB_COMPOUND" as const,
    };
    if (!route || !client || !this.callbacks) {
      const names = ops.map((o) => o.name);
      const entry = { ...base, via: "none", ops: names, error: "no callback path" };
      this.callbackLog.push(entry);
      return { entry, reply: undefined };
    }
    const request = this.#cbRequest(route, ops, options);
    const names = request.ops.map((o) => o.name);
    const via = this.callbacks.describe(route);
    let entry: CallbackLogEntry;
    let reply: CompoundReply | undefined;
    try {
      const raw = await this.callbacks.call(
        route,
        CB_COMPOUND,
        (w) => encodeCbCompound(w, request),
      );
      if (raw.acceptStat === SUCCESS && raw.results) {
        reply = decodeCbCompoundReply(raw.results, request.ops);
        const first = reply.outcomes[0];
        const back = route.minorVersion === 1
          ? this.sessions.get(hex(route.sessionid))?.backChannel
          : undefined;
        if (
          back && first?.name === "CB_SEQUENCE" && first.status === S.NFS4_OK &&
          options.sessionid === undefined && options.slotid === undefined
        ) {
          back.seqid = (request.ops[0]!.args as CbSequenceArgs).sequenceid;
        }
        entry = {
          ...base,
          via,
          xid: raw.xid,
          ops: names,
          acceptStat: raw.acceptStat,
          status: reply.status,
          results: reply.outcomes.map((o) => ({ name: o.name, status: o.status })),
        };
      } else {
        entry = {
          ...base,
          via,
          xid: raw.xid,
          ops: names,
          ...(raw.acceptStat !== undefined ? { acceptStat: raw.acceptStat } : {}),
          ...(raw.denied ? { error: raw.denied } : {}),
        };
      }
    } catch (e) {
      entry = { ...base, via, ops: names, error: (e as Error).message };
    }
    this.callbackLog.push(entry);
    return { entry, reply };
  }

  /** CB_NULL to a client (RFC 7530 §16.33.1: the server probes the callback path). */
  async cbNull(clientid: bigint): Promise<CallbackLogEntry> {
    return (await this.rawCallback(clientid, CB_NULL, () => {})).entry;
  }

  /**
   * Sends a callback CALL whose arguments `args` writes as it likes (garbage
   * included) and returns the raw reply, logged.
   */
  async rawCallback(
    clientid: bigint,
    procedure: number,
    args: (w: XdrWriter) => void,
  ): Promise<{ entry: CallbackLogEntry; raw: RawCallbackReply | undefined }> {
    const route = this.callbackRoute(clientid);
    const client = this.clients.get(clientid);
    const base = {
      at: this.#now(),
      clientid,
      minorVersion: client?.minorVersion ?? 0,
      procedure: procedure === CB_NULL
        ? "CB_NULL" as const
        : procedure === CB_COMPOUND
        ? "CB_COMPOUND" as const
        : `procedure ${procedure}` as const,
      ops: [],
    };
    if (!route || !this.callbacks) {
      const entry = { ...base, via: "none", error: "no callback path" };
      this.callbackLog.push(entry);
      return { entry, raw: undefined };
    }
    const via = this.callbacks.describe(route);
    let entry: CallbackLogEntry;
    let raw: RawCallbackReply | undefined;
    try {
      raw = await this.callbacks.call(route, procedure, args);
      entry = {
        ...base,
        via,
        xid: raw.xid,
        ...(raw.acceptStat !== undefined ? { acceptStat: raw.acceptStat } : {}),
        ...(raw.denied ? { error: raw.denied } : {}),
      };
    } catch (e) {
      entry = { ...base, via, error: (e as Error).message };
    }
    this.callbackLog.push(entry);
    return { entry, raw };
  }

  /** CB_COMPOUND4args for a route, with CB_SEQUENCE on 4.1. */
  #cbRequest(
    route: CallbackRoute,
    ops: readonly Nfs4Op<unknown>[],
    options: CallbackOptions,
  ): CbCompoundRequest {
    const tag = options.tag ?? "";
    if (route.minorVersion === 0) {
      return {
        tag,
        minorVersion: options.minorVersion ?? 0,
        callbackIdent: options.ident ?? route.ident,
        ops,
      };
    }
    if (options.noSequence) {
      return { tag, minorVersion: options.minorVersion ?? 1, callbackIdent: 0, ops };
    }
    const back = this.sessions.get(hex(route.sessionid))?.backChannel;
    // The next sequence id of slot 0; the server moves on once the client
    // accepted it (see callback()).
    const sequenceid = options.sequenceid === "replay"
      ? back?.seqid ?? 0
      : options.sequenceid ?? ((back?.seqid ?? 0) + 1) % UINT32;
    const sequence = cbSequence({
      sessionid: options.sessionid ?? route.sessionid,
      sequenceid,
      slotid: options.slotid ?? 0,
      highestSlotid: 0,
      cachethis: options.cachethis ?? false,
      referringCallLists: options.referringCallLists ?? [],
    }) as Nfs4Op<unknown>;
    return {
      tag,
      minorVersion: options.minorVersion ?? 1,
      callbackIdent: 0,
      ops: [sequence, ...ops],
    };
  }

  /** Sends a callback after the COMPOUND being handled is answered. */
  #callbackLater(clientid: bigint, ops: readonly Nfs4Op<unknown>[]): Promise<CallbackOutcome> {
    return Promise.resolve().then(() => this.sendCallback(clientid, ops));
  }

  #event(kind: ServerEvent["kind"], client: ClientRec, file: FileNode, detail?: string): void {
    this.events.push({
      at: this.#now(),
      kind,
      clientid: client.clientid,
      path: file.path,
      ...(detail !== undefined ? { detail } : {}),
    });
  }

  // ------------------------------------------------------------ delegations

  /**
   * Grants a delegation when the policy asks for one (RFC 7530 §10.4): read
   * for an OPEN for reading only, write for an OPEN for writing; only with a
   * working callback path, when the client wants one (4.1 WANT bits), holds
   * none on the file yet, and no other client has the file open for writing
   * (nor, for a write delegation, open at all) or holds a delegation on it.
   */
  #maybeDelegate(client: ClientRec, file: FileNode, shareAccess: number): DelegRec | undefined {
    const policy = this.delegationPolicy;
    if (!policy) return undefined;
    const want = shareAccess & ShareAccess.OPEN4_SHARE_ACCESS_WANT_DELEG_MASK;
    if (want === ShareAccess.OPEN4_SHARE_ACCESS_WANT_NO_DELEG) return undefined;
    const writing = (shareAccess & ShareAccess.OPEN4_SHARE_ACCESS_WRITE) !== 0;
    const type = writing
      ? (policy.write ? "write" : undefined)
      : (policy.read ? "read" : undefined);
    if (!type || !this.callbackPathUp(client)) return undefined;
    for (const deleg of this.delegations.values()) {
      if (deleg.file !== file || deleg.revoked !== undefined) continue;
      if (deleg.client === client) return undefined;
      if (type === "write" || deleg.type === "write") return undefined;
    }
    for (const state of this.states.values()) {
      if (state.kind !== "open" || state.file !== file || state.revoked !== undefined) continue;
      if (state.owner.client === client) continue;
      if (type === "write" || (state.access & ShareAccess.OPEN4_SHARE_ACCESS_WRITE) !== 0) {
        return undefined;
      }
    }
    return this.#newDelegation(client, file, type, "grant");
  }

  #newDelegation(
    client: ClientRec,
    file: FileNode,
    type: "read" | "write",
    kind: "grant" | "reclaim",
  ): DelegRec {
    const deleg: DelegRec = {
      kind: "deleg",
      other: this.#newId(12),
      file,
      client,
      type,
      seqid: 1,
      revoked: undefined,
      silent: false,
      recalledAt: undefined,
    };
    this.delegations.set(hex(deleg.other), deleg);
    this.#event(kind, client, file, type);
    return deleg;
  }

  /** open_delegation4 for a granted delegation. */
  #delegationResult(deleg: DelegRec | undefined): OpenDelegation {
    if (!deleg) return { type: DelegationType.OPEN_DELEGATE_NONE };
    const permissions = { type: 0, flag: 0, accessMask: 0, who: "EVERYONE@" };
    if (deleg.type === "read") {
      return {
        type: DelegationType.OPEN_DELEGATE_READ,
        stateid: this.delegationStateid(deleg),
        recall: false,
        permissions,
      };
    }
    return {
      type: DelegationType.OPEN_DELEGATE_WRITE,
      stateid: this.delegationStateid(deleg),
      recall: false,
      spaceLimit: { limitBy: LimitBy.NFS_LIMIT_SIZE, filesize: MAX_U64 },
      permissions,
    };
  }

  /**
   * Delegations of other clients that an OPEN with `shareAccess` conflicts
   * with (RFC 7530 §10.4.1): a read delegation conflicts with opening for
   * writing, a write delegation with any open.
   */
  #delegationConflicts(client: ClientRec, file: FileNode, shareAccess: number): DelegRec[] {
    const writing = (shareAccess & ShareAccess.OPEN4_SHARE_ACCESS_WRITE) !== 0;
    return [...this.delegations.values()].filter((d) =>
      d.file === file && d.client !== client && d.revoked === undefined &&
      (writing || d.type === "write")
    );
  }

  /** CB_RECALL, once per delegation (RFC 7530 §10.4.4). */
  #recall(deleg: DelegRec): void {
    if (deleg.recalledAt !== undefined) return;
    deleg.recalledAt = this.#now();
    this.#event("recall", deleg.client, deleg.file, deleg.type);
    void this.#callbackLater(deleg.client.clientid, [
      cbRecall({ stateid: this.delegationStateid(deleg), truncate: false, fh: deleg.file.fh }),
    ] as Nfs4Op<unknown>[]);
  }

  /** DELEGRETURN (RFC 7530 §16.8, RFC 8881 §18.6). */
  #delegreturn(ctx: Ctx, op: Nfs4Op<unknown>, stateid: Stateid): OpOutcome {
    if (!ctx.cfh) return fail(op, S.NFS4ERR_NOFILEHANDLE);
    if (this.#epochOf(stateid.other) !== this.epoch) {
      return fail(op, ctx.minor === 0 ? S.NFS4ERR_STALE_STATEID : S.NFS4ERR_BAD_STATEID);
    }
    if (this.#purged.has(hex(stateid.other))) return fail(op, S.NFS4ERR_EXPIRED);
    const deleg = this.delegations.get(hex(stateid.other));
    if (!deleg || deleg.file !== ctx.cfh) return fail(op, S.NFS4ERR_BAD_STATEID);
    if (deleg.revoked !== undefined) {
      // 4.1 keeps a revoked delegation until FREE_STATEID; 4.0 has none.
      if (ctx.minor === 0) this.delegations.delete(hex(deleg.other));
      return fail(op, deleg.revoked);
    }
    this.delegations.delete(hex(deleg.other));
    this.#event("return", deleg.client, deleg.file, deleg.type);
    return ok(op);
  }

  // ------------------------------------------------------------ lock waiters

  /** A 4.1 blocking LOCK was denied: the owner waits for the range (RFC 8881 §9.6). */
  #addWaiter(client: ClientRec, file: FileNode, owner: WireOwner, range: LockRange): void {
    this.#removeWaiter(client, file, owner);
    this.#waiters.push({
      client,
      file,
      owner: { clientid: owner.clientid, owner: owner.owner.slice() },
      range,
    });
  }

  #removeWaiter(client: ClientRec, file: FileNode, owner: WireOwner): void {
    this.#waiters = this.#waiters.filter((w) =>
      !(w.client === client && w.file === file && hex(w.owner.owner) === hex(owner.owner))
    );
  }

  /**
   * A lock on `file` went away: each waiter whose range is now free gets
   * CB_NOTIFY_LOCK (RFC 8881 §20.11), once; it waits again if denied again.
   */
  #lockReleased(file: FileNode): void {
    if (!this.notifyLocks) return;
    for (const waiter of [...this.#waiters]) {
      if (waiter.file !== file) continue;
      const key = this.#ownerKey(waiter.client, "lock", waiter.owner.owner);
      if (this.#conflict(file, this.owners.get(key), waiter.range)) continue;
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      this.#event("notify-lock", waiter.client, file);
      void this.#callbackLater(waiter.client.clientid, [
        cbNotifyLock({ fh: file.fh, lockOwner: waiter.owner }),
      ] as Nfs4Op<unknown>[]);
    }
  }

  /** Clients waiting for a lock, for assertions. */
  get lockWaiters(): number {
    return this.#waiters.length;
  }

  #node(path: string, type: "dir" | "file"): FileNode {
    const fileid = ++this.#fileids;
    const node: FileNode = {
      path,
      fh: enc.encode(`fh:${fileid}`),
      type,
      fileid,
      children: new Map(),
      data: new Uint8Array(),
      change: 1n,
    };
    this.#files.set(hex(node.fh), node);
    return node;
  }

  /** 12 bytes: epoch, counter, zero; or 16 for a session id. */
  #newId(size: number): Uint8Array {
    const id = new Uint8Array(size);
    const view = new DataView(id.buffer);
    view.setUint32(0, this.epoch);
    view.setUint32(4, ++this.#counter);
    return id;
  }

  #epochOf(id: Uint8Array): number {
    return new DataView(id.buffer, id.byteOffset, id.byteLength).getUint32(0);
  }

  #takeFault(op: string): Fault | undefined {
    const fault = this.#faults.find((f) => f.op === op);
    if (!fault) return undefined;
    if (fault.skip > 0) {
      fault.skip--;
      return undefined;
    }
    if (--fault.remaining <= 0) this.#faults.splice(this.#faults.indexOf(fault), 1);
    return fault;
  }

  #intercepted(op: Nfs4Op<unknown>): number | undefined {
    const hook = this.#interceptors.find((h) => h.op === op.name);
    if (!hook) return undefined;
    if (hook.skip > 0) {
      hook.skip--;
      return undefined;
    }
    if (--hook.remaining <= 0) this.#interceptors.splice(this.#interceptors.indexOf(hook), 1);
    const status = hook.fn(op.args, this);
    return typeof status === "number" ? status : undefined;
  }

  // ------------------------------------------------------------ COMPOUND

  /** Handles one decoded COMPOUND from connection `conn`. */
  handle(request: CompoundRequest, conn: number): CompoundReply {
    const tag = request.tag ?? "";
    const ops = request.ops;
    const entry = {
      connection: conn,
      at: this.#now(),
      minorVersion: request.minorVersion,
      ops: ops.map((o) => o.name),
      args: ops.map((o) => o.args),
    };
    const finish = (reply: CompoundReply, extra: Partial<LogEntry> = {}): CompoundReply => {
      this.log.push({
        ...entry,
        ...extra,
        status: reply.status,
        statuses: reply.outcomes.map((o) => o.status),
      });
      return reply;
    };
    if (
      request.minorVersion > this.maxMinorVersion || request.minorVersion < this.minMinorVersion
    ) {
      return finish({ status: S.NFS4ERR_MINOR_VERS_MISMATCH, tag, outcomes: [] });
    }
    const ctx: Ctx = {
      conn,
      minor: request.minorVersion,
      cfh: undefined,
      client: undefined,
      hooked: undefined,
    };
    const outcomes: OpOutcome[] = [];
    let slot: SlotRec | undefined;
    let seqArgs: SequenceArgs | undefined;

    if (ctx.minor === 1 && ops.length > 0) {
      const first = ops[0]!;
      if (first.name === "SEQUENCE") {
        seqArgs = first.args as SequenceArgs;
        const seq = this.#sequence(ctx, first, ops);
        if (seq.kind === "fail") {
          return finish(
            { status: seq.outcome.status, tag, outcomes: [seq.outcome] },
            { slotid: seqArgs.slotid, sequenceid: seqArgs.sequenceid },
          );
        }
        if (seq.kind === "replay") {
          return finish({ ...seq.reply, tag }, {
            slotid: seqArgs.slotid,
            sequenceid: seqArgs.sequenceid,
            replay: true,
          });
        }
        slot = seq.slot;
        outcomes.push(seq.outcome);
      } else if (!SESSIONLESS_OPS.has(first.name)) {
        const outcome = fail(first, S.NFS4ERR_OP_NOT_IN_SESSION);
        return finish({ status: outcome.status, tag, outcomes: [outcome] });
      } else if (ops.length > 1) {
        const outcome = fail(first, S.NFS4ERR_NOT_ONLY_OP);
        return finish({ status: outcome.status, tag, outcomes: [outcome] });
      }
    }

    for (let i = outcomes.length; i < ops.length; i++) {
      const op = ops[i]!;
      const outcome = this.#withCurrentStateid(ctx, op);
      outcomes.push(outcome);
      if (outcome.status !== S.NFS4_OK) break;
    }
    const reply: CompoundReply = {
      status: outcomes.at(-1)?.status ?? S.NFS4_OK,
      tag,
      outcomes,
    };
    if (slot && seqArgs) {
      slot.seqid = seqArgs.sequenceid;
      slot.cached = seqArgs.cachethis && this.replyCache ? reply : undefined;
      return finish(reply, { slotid: seqArgs.slotid, sequenceid: seqArgs.sequenceid });
    }
    return finish(reply);
  }

  /** SEQUENCE (RFC 8881 §18.46, slot rules §2.10.6.1). */
  #sequence(
    ctx: Ctx,
    op: Nfs4Op<unknown>,
    requestOps: readonly Nfs4Op<unknown>[],
  ):
    | { kind: "fail"; outcome: OpOutcome }
    | { kind: "replay"; reply: CompoundReply }
    | { kind: "new"; slot: SlotRec; outcome: OpOutcome } {
    const args = op.args as SequenceArgs;
    const status = this.#takeFault("SEQUENCE")?.status ?? this.#intercepted(op);
    if (status !== undefined) return { kind: "fail", outcome: fail(op, status) };
    const session = this.sessions.get(hex(args.sessionid));
    if (!session) return { kind: "fail", outcome: fail(op, S.NFS4ERR_BADSESSION) };
    if (session.unbound.has(ctx.conn)) {
      return { kind: "fail", outcome: fail(op, S.NFS4ERR_CONN_NOT_BOUND_TO_SESSION) };
    }
    const slot = session.slots[args.slotid];
    if (!slot) return { kind: "fail", outcome: fail(op, S.NFS4ERR_BADSLOT) };
    const next = (slot.seqid + 1) % UINT32;
    const highest = session.slots.length - 1;
    const result = (): SequenceResult => ({
      sessionid: session.id,
      sequenceid: args.sequenceid,
      slotid: args.slotid,
      highestSlotid: this.claimedSlots === undefined ? highest : this.claimedSlots - 1,
      targetHighestSlotid: this.claimedSlots === undefined
        ? Math.min(this.targetHighestSlotid ?? highest, highest)
        : this.claimedSlots - 1,
      statusFlags: this.#statusFlags(session.client),
    });
    if (args.sequenceid === slot.seqid && slot.seqid !== 0) {
      // A retry of the last request on this slot: the cached reply, or
      // SEQUENCE then NFS4ERR_RETRY_UNCACHED_REP (RFC 8881 §2.10.6.1.3).
      if (slot.cached) return { kind: "replay", reply: slot.cached };
      const outcomes = [ok(op, result())];
      const second = requestOps[1];
      if (second) outcomes.push(fail(second, S.NFS4ERR_RETRY_UNCACHED_REP));
      return {
        kind: "replay",
        reply: { status: outcomes.at(-1)!.status, tag: "", outcomes },
      };
    }
    if (args.sequenceid !== next) {
      return { kind: "fail", outcome: fail(op, S.NFS4ERR_SEQ_MISORDERED) };
    }
    ctx.client = session.client;
    return { kind: "new", slot, outcome: ok(op, result()) };
  }

  #statusFlags(client: ClientRec): number {
    let flags = this.seqStatusFlags | (this.#onceFlags.shift() ?? 0);
    for (const state of this.states.values()) {
      if (state.owner.client !== client || state.revoked === undefined || state.silent) continue;
      switch (state.revoked) {
        case S.NFS4ERR_ADMIN_REVOKED:
          flags |= SEQ4.ADMIN_STATE_REVOKED;
          break;
        case S.NFS4ERR_EXPIRED:
          flags |= client.expired
            ? SEQ4.EXPIRED_ALL_STATE_REVOKED
            : SEQ4.EXPIRED_SOME_STATE_REVOKED;
          break;
        case S.NFS4ERR_DELEG_REVOKED:
          flags |= SEQ4.RECALLABLE_STATE_REVOKED;
          break;
      }
    }
    for (const deleg of this.delegations.values()) {
      if (deleg.client !== client || deleg.revoked === undefined || deleg.silent) continue;
      // Delegations are the recallable state (RFC 8881 §18.46.3).
      flags |= deleg.revoked === S.NFS4ERR_EXPIRED
        ? (client.expired ? SEQ4.EXPIRED_ALL_STATE_REVOKED : SEQ4.EXPIRED_SOME_STATE_REVOKED)
        : SEQ4.RECALLABLE_STATE_REVOKED;
    }
    return flags;
  }

  /**
   * 4.1: READ, WRITE, SETATTR and CLOSE naming the current stateid {seqid 1, other 0} use
   * the one the last OPEN or CLOSE of this COMPOUND set (RFC 8881
   * §16.2.3.1.2); without one, or when the server is told not to know it,
   * NFS4ERR_BAD_STATEID. A new current filehandle clears it.
   */
  #withCurrentStateid(ctx: Ctx, op: Nfs4Op<unknown>): OpOutcome {
    if (ctx.minor >= 1 && CURRENT_STATEID_OPS.has(op.name)) {
      const args = op.args as { stateid: Stateid };
      const named = args.stateid;
      if (named.seqid === 1 && named.other.every((b) => b === 0)) {
        if (!this.currentStateid || !ctx.current) return fail(op, S.NFS4ERR_BAD_STATEID);
        op = { ...op, args: { ...args, stateid: ctx.current } };
      }
    }
    const outcome = this.#op(ctx, op);
    if (op.name === "PUTFH" || op.name === "PUTROOTFH") ctx.current = undefined;
    if (outcome.status === S.NFS4_OK) {
      if (op.name === "OPEN") ctx.current = (outcome.value as OpenResult).stateid;
      if (op.name === "CLOSE") ctx.current = outcome.value as Stateid;
    }
    return outcome;
  }

  #op(ctx: Ctx, op: Nfs4Op<unknown>): OpOutcome {
    if (ctx.minor === 0 && V41_ONLY.has(op.name)) return fail(op, S.NFS4ERR_OP_ILLEGAL);
    if (ctx.minor === 1 && V40_ONLY.has(op.name)) return fail(op, S.NFS4ERR_NOTSUPP);
    if (ctx.minor === 1 && op.name === "SEQUENCE") return fail(op, S.NFS4ERR_SEQUENCE_POS);
    // Interceptors run first, whatever the op; on 4.0 seqid ops their status
    // (like failNext's) applies once the seqid is found in order.
    ctx.hooked = this.#intercepted(op);
    if (!SEQID_OPS.has(op.name) || ctx.minor === 1) {
      const fault = this.#takeFault(op.name);
      if (fault) return fail(op, fault.status, fault.detail);
      if (ctx.hooked !== undefined) return fail(op, ctx.hooked);
    }
    switch (op.name) {
      case "PUTROOTFH":
        ctx.cfh = this.root;
        return ok(op);
      case "PUTFH": {
        const node = this.#files.get(hex(op.args as Uint8Array));
        if (!node) return fail(op, S.NFS4ERR_STALE);
        ctx.cfh = node;
        return ok(op);
      }
      case "LOOKUP": {
        if (!ctx.cfh) return fail(op, S.NFS4ERR_NOFILEHANDLE);
        if (ctx.cfh.type !== "dir") return fail(op, S.NFS4ERR_NOTDIR);
        const child = ctx.cfh.children.get(op.args as string);
        if (!child) return fail(op, S.NFS4ERR_NOENT);
        ctx.cfh = child;
        return ok(op);
      }
      case "GETFH":
        return ctx.cfh ? ok(op, ctx.cfh.fh) : fail(op, S.NFS4ERR_NOFILEHANDLE);
      case "SAVEFH":
        if (!ctx.cfh) return fail(op, S.NFS4ERR_NOFILEHANDLE);
        ctx.sfh = ctx.cfh;
        return ok(op);
      case "REMOVE": {
        // RFC 7530 §16.25: the name in the current directory.
        const dir = ctx.cfh;
        if (!dir) return fail(op, S.NFS4ERR_NOFILEHANDLE);
        if (dir.type !== "dir") return fail(op, S.NFS4ERR_NOTDIR);
        if (!dir.children.delete(op.args as string)) return fail(op, S.NFS4ERR_NOENT);
        dir.change++;
        return ok(op, { atomic: true, before: dir.change - 1n, after: dir.change });
      }
      case "RENAME": {
        // RFC 7530 §16.26: from the saved directory to the current one.
        const args = op.args as RenameArgs;
        const from = ctx.sfh;
        const to = ctx.cfh;
        if (!from || !to) return fail(op, S.NFS4ERR_NOFILEHANDLE);
        const node = from.children.get(args.oldName);
        if (!node) return fail(op, S.NFS4ERR_NOENT);
        from.children.delete(args.oldName);
        to.children.set(args.newName, node);
        from.change++;
        if (to !== from) to.change++;
        const cinfo = (d: FileNode) => ({ atomic: true, before: d.change - 1n, after: d.change });
        return ok(op, { sourceCinfo: cinfo(from), targetCinfo: cinfo(to) });
      }
      case "LINK": {
        // RFC 7530 §16.9: the saved file gets a name in the current directory.
        const file = ctx.sfh;
        const dir = ctx.cfh;
        if (!file || !dir) return fail(op, S.NFS4ERR_NOFILEHANDLE);
        if (dir.type !== "dir") return fail(op, S.NFS4ERR_NOTDIR);
        if (file.type === "dir") return fail(op, S.NFS4ERR_ISDIR);
        const name = op.args as string;
        if (dir.children.has(name)) return fail(op, S.NFS4ERR_EXIST);
        dir.children.set(name, file);
        dir.change++;
        return ok(op, { atomic: true, before: dir.change - 1n, after: dir.change });
      }
      case "GETATTR":
        return ctx.cfh
          ? ok(op, this.#getattrResult(ctx.cfh, op.args as ReadonlySet<number>))
          : fail(op, S.NFS4ERR_NOFILEHANDLE);
      case "VERIFY": {
        // RFC 8881 §18.31: NFS4ERR_NOT_SAME unless every attribute given
        // equals the current file's.
        if (!ctx.cfh) return fail(op, S.NFS4ERR_NOFILEHANDLE);
        const given = op.args as Record<string, unknown>;
        const ids = new Set(Object.keys(given).map((k) => attrId(k as keyof FileAttributes)));
        const current = this.#attrs(ctx.cfh, ids) as Record<string, unknown>;
        const same = Object.keys(given).every((k) => current[k] === given[k]);
        return same ? ok(op) : fail(op, S.NFS4ERR_NOT_SAME);
      }
      case "SETCLIENTID":
        return this.#setclientid(op, op.args as SetclientidArgs);
      case "SETCLIENTID_CONFIRM":
        return this.#setclientidConfirm(ctx, op, op.args as SetclientidConfirmArgs);
      case "RENEW": {
        const client = this.clients.get(op.args as bigint);
        if (!client || !client.confirmed) return fail(op, S.NFS4ERR_STALE_CLIENTID);
        if (client.expired) return fail(op, S.NFS4ERR_EXPIRED);
        return ok(op);
      }
      case "EXCHANGE_ID":
        return this.#exchangeId(op, op.args as ExchangeIdArgs);
      case "CREATE_SESSION":
        return this.#createSession(ctx, op, op.args as CreateSessionArgs);
      case "DESTROY_SESSION":
        return this.sessions.delete(hex(op.args as Uint8Array))
          ? ok(op)
          : fail(op, S.NFS4ERR_BADSESSION);
      case "DESTROY_CLIENTID":
        return this.#destroyClientid(op, op.args as bigint);
      case "BIND_CONN_TO_SESSION": {
        const args = op.args as BindConnToSessionArgs;
        const session = this.sessions.get(hex(args.sessionid));
        if (!session) return fail(op, S.NFS4ERR_BADSESSION);
        session.unbound.delete(ctx.conn);
        // A connection bound for both directions carries the back channel
        // from now on (RFC 8881 §18.34.3).
        const both = args.dir === ChannelDirFromClient.CDFC4_FORE_OR_BOTH ||
          args.dir === ChannelDirFromClient.CDFC4_BACK_OR_BOTH;
        if (both && session.backChannel) session.backChannel.conn = ctx.conn;
        return ok(op, {
          sessionid: session.id,
          dir: both && session.backChannel
            ? ChannelDirFromServer.CDFS4_BOTH
            : ChannelDirFromServer.CDFS4_FORE,
          useConnInRdmaMode: false,
        });
      }
      case "RECLAIM_COMPLETE": {
        const client = ctx.client!;
        if (client.reclaimComplete) return fail(op, S.NFS4ERR_COMPLETE_ALREADY);
        client.reclaimComplete = true;
        return ok(op);
      }
      case "OPEN":
        return this.#open(ctx, op, op.args as OpenArgs);
      case "OPEN_CONFIRM":
        return this.#openConfirm(ctx, op, op.args as OpenConfirmArgs);
      case "OPEN_DOWNGRADE":
        return this.#openDowngrade(ctx, op, op.args as OpenDowngradeArgs);
      case "CLOSE":
        return this.#close(ctx, op, op.args as CloseArgs);
      case "LOCK":
        return this.#lock(ctx, op, op.args as LockArgs);
      case "LOCKU":
        return this.#locku(ctx, op, op.args as LockuArgs);
      case "LOCKT":
        return this.#lockt(ctx, op, op.args as LocktArgs);
      case "READ":
        return this.#read(ctx, op, op.args as ReadArgs);
      case "WRITE":
      case "SETATTR": {
        const outcome = op.name === "WRITE"
          ? this.#write(ctx, op, op.args as WriteArgs)
          : this.#setattr(ctx, op, op.args as SetattrArgs);
        // An exclusive create's verifier lives in the times until they are
        // set (RFC 8881 §18.16.3); Linux also takes a file whose size
        // changed as no longer the one created: a resent OPEN then meets
        // NFS4ERR_EXIST. A SETATTR of the mode alone keeps it.
        const attrs = op.name === "SETATTR" ? (op.args as SetattrArgs).attrs : undefined;
        const changesVerifier = attrs
          ? attrs.timeModifySet !== undefined || attrs.timeAccessSet !== undefined ||
            attrs.size !== undefined
          : (op.args as WriteArgs).data.length > 0;
        if (outcome.status === S.NFS4_OK && ctx.cfh && changesVerifier) {
          ctx.cfh.createVerifier = undefined;
        }
        return outcome;
      }
      case "COMMIT":
        if (!ctx.cfh) return fail(op, S.NFS4ERR_NOFILEHANDLE);
        return ok(op, this.writeVerifier.slice());
      case "TEST_STATEID":
        return ok(
          op,
          (op.args as Stateid[]).map((s) => this.#checkStateid(ctx, s, { special: false }).status),
        );
      case "FREE_STATEID":
        return this.#freeStateid(op, op.args as Stateid);
      case "RELEASE_LOCKOWNER":
        return this.#releaseLockowner(op, op.args as WireOwner);
      case "DELEGRETURN":
        return this.#delegreturn(ctx, op, op.args as Stateid);
      case "ILLEGAL":
        return fail(op, S.NFS4ERR_OP_ILLEGAL);
      default:
        return fail(op, S.NFS4ERR_NOTSUPP);
    }
  }

  #attrs(node: FileNode, wanted: ReadonlySet<number>): FileAttributes {
    const all: FileAttributes = {
      type: node.type === "dir" ? FileType.NF4DIR : FileType.NF4REG,
      change: node.change,
      size: BigInt(node.data.length),
      leaseTime: this.leaseTime,
      fileid: node.fileid,
      mode: node.type === "dir" ? 0o755 : 0o644,
    };
    const maxread = this.#maxread(node.path);
    if (maxread !== undefined) (all as { maxread?: bigint }).maxread = maxread;
    const maxwrite = this.#maxwrite(node.path);
    if (maxwrite !== undefined) (all as { maxwrite?: bigint }).maxwrite = maxwrite;
    const fs = this.#fileSystemOf(node.path);
    if (fs) {
      (all as { fsid?: Fsid }).fsid = fs.fsid;
      if (fs.maxname !== undefined) (all as { maxname?: number }).maxname = fs.maxname;
    }
    const supported = fs?.supportedAttrs ? new Set(fs.supportedAttrs) : this.supportedAttrs;
    if (supported) {
      (all as { supportedAttrs?: ReadonlySet<number> }).supportedAttrs = supported;
    }
    if (this.exclusiveCreateAttrs) {
      (all as { suppattrExclcreat?: ReadonlySet<number> }).suppattrExclcreat =
        this.exclusiveCreateAttrs;
    }
    const owned = this.#ownerStrings(node);
    if (owned) Object.assign(all, { owner: owned[0], ownerGroup: owned[1] });
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(all)) {
      const id = attrId(key as keyof FileAttributes);
      // An attribute outside supported_attrs has no value to give.
      if (wanted.has(id) && (!supported || supported.has(id))) out[key] = value;
    }
    return out as FileAttributes;
  }

  /** The file system (`fileSystems`) the object at `path` is on, if any. */
  #fileSystemOf(path: string): ScriptedFileSystem | undefined {
    let best: ScriptedFileSystem | undefined;
    for (const fs of this.fileSystems) {
      const root = fs.path.replace(/\/+$/, "");
      const within = root === "" || path === root || path.startsWith(`${root}/`);
      if (within && (!best || root.length > best.path.replace(/\/+$/, "").length)) best = fs;
    }
    return best;
  }

  /** GETATTR's result: `getattrNoValue`'s bits asked for go with no value. */
  #getattrResult(node: FileNode, wanted: ReadonlySet<number>): { attrs: FileAttributes } {
    const noValue = [...wanted].filter((id) => this.getattrNoValue.has(id));
    if (noValue.length === 0) return { attrs: this.#attrs(node, wanted) };
    const attrs = this.#attrs(node, new Set([...wanted].filter((id) => !noValue.includes(id))));
    return Object.assign({ attrs }, { [NO_VALUE]: noValue });
  }

  /** The owner and group strings of the file at `path` (`owners`), or undefined. */
  ownerStringsOf(path: string): readonly [string, string] | undefined {
    const node = this.file(path);
    return node && this.#ownerStrings(node);
  }

  /** A file's owner and group strings (`ownerNames`), or undefined without. */
  #ownerStrings(node: FileNode): readonly [string, string] | undefined {
    const owners = this.ownerNames;
    if (!owners) return undefined;
    const root = `root@${owners.domain}`;
    return this.#ownersSet.get(node) ?? owners.of?.[node.path] ?? [root, root];
  }

  /**
   * SETATTR of owner and owner_group (`ownerNames`): NFS4ERR_BADOWNER for a
   * numeric string or a name not known at this domain; else kept as
   * `name@domain`. Nothing is kept unless both are good.
   */
  #setOwners(node: FileNode, attrs: SetattrArgs["attrs"]): number | undefined {
    const owners = this.ownerNames;
    if (!owners || (attrs.owner === undefined && attrs.ownerGroup === undefined)) return undefined;
    const mapped = (text: string | undefined): string | undefined | null => {
      if (text === undefined) return undefined;
      const at = text.lastIndexOf("@");
      const name = text.slice(0, at);
      const known = at > 0 && owners.names.includes(name) &&
        text.slice(at + 1).toLowerCase() === owners.domain.toLowerCase();
      return known ? `${name}@${owners.domain}` : null;
    };
    const owner = mapped(attrs.owner);
    const group = mapped(attrs.ownerGroup);
    if (owner === null || group === null) return S.NFS4ERR_BADOWNER;
    const [was, wasGroup] = this.#ownerStrings(node)!;
    this.#ownersSet.set(node, [owner ?? was, group ?? wasGroup]);
    return undefined;
  }

  // ------------------------------------------------------------ client IDs

  #newClient(ownerId: string, verifier: Uint8Array, minorVersion: number): ClientRec {
    const clientid = (BigInt(this.epoch) << 32n) | BigInt(++this.#counter);
    const client: ClientRec = {
      clientid,
      ownerId,
      verifier: verifier.slice(),
      minorVersion,
      confirmed: false,
      confirm: this.#newId(8),
      createSessionSeq: 1,
      createSessionCache: undefined,
      expired: false,
      reclaimComplete: false,
      callback: undefined,
      pendingCallback: undefined,
      conn: undefined,
      cbProbed: false,
    };
    this.clients.set(clientid, client);
    return client;
  }

  /** Forgets a client and everything it holds. */
  #dropClient(client: ClientRec): void {
    this.clients.delete(client.clientid);
    for (const [key, session] of this.sessions) {
      if (session.client === client) this.sessions.delete(key);
    }
    for (const [key, owner] of this.owners) {
      if (owner.client === client) {
        this.owners.delete(key);
        this.#lastClosed.delete(owner);
      }
    }
    for (const [key, state] of this.states) {
      if (state.owner.client === client) this.states.delete(key);
    }
    for (const [key, deleg] of this.delegations) {
      if (deleg.client === client) this.delegations.delete(key);
    }
    this.#waiters = this.#waiters.filter((w) => w.client !== client);
  }

  /** Other incarnations of a confirmed client's owner are gone (RFC 7530 §9.1.1). */
  #dropOtherIncarnations(client: ClientRec): void {
    for (const other of [...this.clients.values()]) {
      if (other !== client && other.ownerId === client.ownerId) this.#dropClient(other);
    }
  }

  #setclientid(op: Nfs4Op<unknown>, args: SetclientidArgs): OpOutcome {
    const ownerId = new TextDecoder().decode(args.client.id);
    if (this.clidInUse.has(ownerId)) {
      return fail(op, S.NFS4ERR_CLID_INUSE, { netid: "tcp", addr: "192.0.2.7.3.232" });
    }
    const same = [...this.clients.values()].find((c) =>
      c.ownerId === ownerId && c.confirmed && !c.expired &&
      hex(c.verifier) === hex(args.client.verifier)
    );
    const callback: CallbackInfo = {
      program: args.callback.program,
      netid: args.callback.location.netid,
      addr: args.callback.location.addr,
      ident: args.callbackIdent,
    };
    if (same) {
      // RFC 7530 §16.33.5: same incarnation, new callback: same client ID.
      same.confirm = this.#newId(8);
      same.pendingCallback = callback;
      return ok(op, { clientid: same.clientid, confirm: same.confirm });
    }
    const client = this.#newClient(ownerId, args.client.verifier, 0);
    client.pendingCallback = callback;
    return ok(op, { clientid: client.clientid, confirm: client.confirm });
  }

  #setclientidConfirm(ctx: Ctx, op: Nfs4Op<unknown>, args: SetclientidConfirmArgs): OpOutcome {
    const client = this.clients.get(args.clientid);
    if (!client || hex(client.confirm) !== hex(args.confirm)) {
      return fail(op, S.NFS4ERR_STALE_CLIENTID);
    }
    client.confirmed = true;
    if (client.pendingCallback) {
      client.callback = client.pendingCallback;
      client.pendingCallback = undefined;
      client.cbProbed = false;
    }
    client.conn = ctx.conn;
    this.#dropOtherIncarnations(client);
    return ok(op);
  }

  #exchangeId(op: Nfs4Op<unknown>, args: ExchangeIdArgs): OpOutcome {
    const ownerId = new TextDecoder().decode(args.clientOwner.ownerid);
    if (this.clidInUse.has(ownerId)) return fail(op, S.NFS4ERR_CLID_INUSE);
    let client = [...this.clients.values()].find((c) =>
      c.ownerId === ownerId && !c.expired && hex(c.verifier) === hex(args.clientOwner.verifier)
    );
    client ??= this.#newClient(ownerId, args.clientOwner.verifier, 1);
    const result: ExchangeIdResult = {
      clientid: client.clientid,
      sequenceid: client.createSessionSeq,
      flags: (ExchangeIdFlags.EXCHGID4_FLAG_USE_NON_PNFS |
        (client.confirmed ? ExchangeIdFlags.EXCHGID4_FLAG_CONFIRMED_R : 0)) >>> 0,
      stateProtect: { how: StateProtectHow.SP4_NONE },
      serverOwner: { minorId: 0n, majorId: enc.encode("scripted") },
      serverScope: enc.encode("scripted"),
      ...(this.implId ? { implId: this.implId } : {}),
    };
    return ok(op, result);
  }

  #createSession(ctx: Ctx, op: Nfs4Op<unknown>, args: CreateSessionArgs): OpOutcome {
    const client = this.clients.get(args.clientid);
    if (!client) return fail(op, S.NFS4ERR_STALE_CLIENTID);
    if (args.sequence === client.createSessionSeq - 1 && client.createSessionCache) {
      return ok(op, client.createSessionCache);
    }
    if (args.sequence !== client.createSessionSeq) return fail(op, S.NFS4ERR_SEQ_MISORDERED);
    const granted = Math.max(1, Math.min(args.foreChannel.maxRequests, this.maxSlots));
    // RFC 8881 §18.36.3: the back channel rides on this connection when asked.
    const backChan = (args.flags & CreateSessionFlags.CREATE_SESSION4_FLAG_CONN_BACK_CHAN) !== 0;
    const session: SessionRec = {
      id: this.#newId(16),
      client,
      slots: Array.from({ length: granted }, () => ({ seqid: 0, cached: undefined })),
      unbound: new Set(),
      backChannel: backChan ? { conn: ctx.conn, program: args.cbProgram, seqid: 0 } : undefined,
    };
    this.sessions.set(hex(session.id), session);
    client.confirmed = true;
    client.createSessionSeq = (client.createSessionSeq + 1) % UINT32;
    this.#dropOtherIncarnations(client);
    const result: CreateSessionResult = {
      sessionid: session.id,
      sequence: args.sequence,
      flags: (backChan ? CreateSessionFlags.CREATE_SESSION4_FLAG_CONN_BACK_CHAN : 0) |
        (this.persistentSession ? CreateSessionFlags.CREATE_SESSION4_FLAG_PERSIST : 0),
      foreChannel: {
        ...args.foreChannel,
        ...this.foreChannelGrant,
        maxRequests: this.claimedSlots ?? granted,
      },
      backChannel: args.backChannel,
    };
    client.createSessionCache = result;
    return ok(op, result);
  }

  #destroyClientid(op: Nfs4Op<unknown>, clientid: bigint): OpOutcome {
    const client = this.clients.get(clientid);
    if (!client) return fail(op, S.NFS4ERR_STALE_CLIENTID);
    if ([...this.sessions.values()].some((s) => s.client === client)) {
      return fail(op, S.NFS4ERR_CLIENTID_BUSY);
    }
    this.#dropClient(client);
    return ok(op);
  }

  /** The client an op names: 4.1 from SEQUENCE, 4.0 from the clientid it carries. */
  #clientFor(ctx: Ctx, clientid: bigint): ClientRec | number {
    if (ctx.minor === 1) return ctx.client!;
    const client = this.clients.get(clientid);
    if (!client || !client.confirmed) return S.NFS4ERR_STALE_CLIENTID;
    if (client.expired) return S.NFS4ERR_EXPIRED;
    return client;
  }

  // ------------------------------------------------------------ stateids

  #checkStateid(
    ctx: Ctx,
    stateid: Stateid,
    options: { special: boolean },
  ): { status: number; rec?: StateRec } {
    const other = stateid.other;
    if (other.every((b) => b === 0) || other.every((b) => b === 0xff)) {
      return { status: options.special ? S.NFS4_OK : S.NFS4ERR_BAD_STATEID };
    }
    if (this.#epochOf(other) !== this.epoch) {
      return { status: ctx.minor === 0 ? S.NFS4ERR_STALE_STATEID : S.NFS4ERR_BAD_STATEID };
    }
    if (this.#purged.has(hex(other))) return { status: S.NFS4ERR_EXPIRED };
    const rec = this.states.get(hex(other));
    const deleg = rec ? undefined : this.delegations.get(hex(other));
    if (deleg) {
      // A delegation stateid (TEST_STATEID, or I/O under the delegation).
      if (deleg.revoked !== undefined) return { status: deleg.revoked };
      if (ctx.minor === 1 && stateid.seqid === 0) return { status: S.NFS4_OK };
      if (stateid.seqid !== deleg.seqid) return { status: S.NFS4ERR_BAD_STATEID };
      return { status: S.NFS4_OK };
    }
    if (!rec) {
      const closed = [...this.#lastClosed.values()].find((c) => hex(c.other) === hex(other));
      return closed
        ? { status: S.NFS4ERR_BAD_STATEID, rec: closed }
        : { status: S.NFS4ERR_BAD_STATEID };
    }
    if (rec.revoked !== undefined) return { status: rec.revoked, rec };
    if (ctx.minor === 1 && stateid.seqid === 0) return { status: S.NFS4_OK, rec };
    if (stateid.seqid > rec.seqid) return { status: S.NFS4ERR_BAD_STATEID, rec };
    if (stateid.seqid < rec.seqid) return { status: S.NFS4ERR_OLD_STATEID, rec };
    return { status: S.NFS4_OK, rec };
  }

  #stateid(rec: StateRec): Stateid {
    return { seqid: rec.seqid, other: rec.other.slice() };
  }

  #ownerKey(client: ClientRec, kind: "open" | "lock", owner: Uint8Array): string {
    return `${client.clientid}/${kind}/${hex(owner)}`;
  }

  /** RFC 7530 §9.1.7: the next seqid, a replay of the last, or out of step. */
  #seqidCheck(owner: OwnerRec, seqid: number): "next" | "replay" | "bad" {
    if (seqid === (owner.seqid + 1) % UINT32) return "next";
    if (seqid === owner.seqid && owner.last) return "replay";
    return "bad";
  }

  /** Records a seqid op's outcome on its owner unless the status keeps the seqid. */
  #consume(owner: OwnerRec, seqid: number, outcome: OpOutcome): OpOutcome {
    if (!SEQID_KEPT.has(outcome.status)) {
      owner.seqid = seqid;
      owner.last = outcome;
    }
    return outcome;
  }

  /** An injected failure for a 4.0 seqid op, after its seqid was found in order. */
  #seqidFault(ctx: Ctx, op: Nfs4Op<unknown>): OpOutcome | undefined {
    const fault = this.#takeFault(op.name);
    if (fault) return fail(op, fault.status, fault.detail);
    return ctx.hooked === undefined ? undefined : fail(op, ctx.hooked);
  }

  /**
   * The state a 4.0 seqid op names, with its owner's seqid checked. A stateid
   * that is revoked, expired or old still consumes the seqid (RFC 7530
   * §9.1.7 lists only STALE_STATEID and BAD_STATEID among the stateid errors
   * that do not).
   */
  #seqidState(
    ctx: Ctx,
    op: Nfs4Op<unknown>,
    stateid: Stateid,
    kind: "open" | "lock",
    seqid: number,
  ): { done: OpOutcome } | { rec: StateRec } {
    const { status, rec } = this.#checkStateid(ctx, stateid, { special: false });
    if (!rec || rec.kind !== kind) {
      return { done: fail(op, status === S.NFS4_OK ? S.NFS4ERR_BAD_STATEID : status) };
    }
    if (ctx.minor === 0) {
      // As nfsd: the seqid (and a replay) is checked before the stateid's generation.
      const check = this.#seqidCheck(rec.owner, seqid);
      if (check === "bad") return { done: fail(op, S.NFS4ERR_BAD_SEQID) };
      if (check === "replay") return { done: rec.owner.last! };
      if (status !== S.NFS4_OK) return { done: this.#consume(rec.owner, seqid, fail(op, status)) };
      const injected = this.#seqidFault(ctx, op);
      if (injected) return { done: this.#consume(rec.owner, seqid, injected) };
    } else if (status !== S.NFS4_OK) {
      return { done: fail(op, status) };
    }
    return { rec };
  }

  // ------------------------------------------------------------ OPEN / CLOSE

  #open(ctx: Ctx, op: Nfs4Op<unknown>, args: OpenArgs): OpOutcome {
    const client = this.#clientFor(ctx, args.owner.clientid);
    if (typeof client === "number") return fail(op, client);
    if (!ctx.cfh) return fail(op, S.NFS4ERR_NOFILEHANDLE);
    const key = this.#ownerKey(client, "open", args.owner.owner);
    let owner = this.owners.get(key);
    const v40 = ctx.minor === 0;
    // Linux nfsd: an unconfirmed owner is replaced without a seqid check.
    const known = owner !== undefined && (owner.confirmed || !v40);
    if (v40 && known) {
      const check = this.#seqidCheck(owner!, args.seqid);
      if (check === "bad") return fail(op, S.NFS4ERR_BAD_SEQID);
      if (check === "replay") {
        const cached = owner!.last!;
        if (cached.name === "OPEN" && cached.status === S.NFS4_OK) {
          const other = (cached.value as OpenResult).stateid.other;
          ctx.cfh = this.states.get(hex(other))?.file ?? ctx.cfh;
        }
        return cached;
      }
    } else if (owner && !known) {
      // The unconfirmed owner and its opens are released.
      for (const [k, state] of this.states) if (state.owner === owner) this.states.delete(k);
      this.owners.delete(key);
    }
    const finish = (outcome: OpOutcome): OpOutcome => {
      if (v40 && known) return this.#consume(owner!, args.seqid, outcome);
      return outcome;
    };
    if (v40) {
      const injected = this.#seqidFault(ctx, op);
      if (injected) return finish(injected);
    }

    // Which file, and by what right.
    const claim = args.claim;
    let file: FileNode;
    /** The createattrs set on a file this OPEN made (its attrset, RFC 8881 §18.16.3). */
    let attrset: ReadonlySet<number> = new Set();
    switch (claim.claim) {
      case OpenClaimType.CLAIM_NULL: {
        if (ctx.cfh.type !== "dir") return finish(fail(op, S.NFS4ERR_NOTDIR));
        const refused = this.#createRefusal(args);
        if (refused !== undefined) return finish(fail(op, refused));
        const existing = ctx.cfh.children.get(claim.file);
        if (existing && args.create?.mode === CreateMode.GUARDED4) {
          return finish(fail(op, S.NFS4ERR_EXIST));
        }
        // An exclusive create opens an existing file only when it made it
        // with this verifier (a resent OPEN), RFC 8881 §18.16.3, RFC 7530 §16.16.5.
        const exclusive = args.create?.mode === CreateMode.EXCLUSIVE4 ||
            args.create?.mode === CreateMode.EXCLUSIVE4_1
          ? args.create as { verifier: Uint8Array }
          : undefined;
        if (
          existing && exclusive &&
          !(existing.createVerifier && bytesEqual(existing.createVerifier, exclusive.verifier))
        ) {
          return finish(fail(op, S.NFS4ERR_EXIST));
        }
        if (!existing && !args.create) return finish(fail(op, S.NFS4ERR_NOENT));
        if (this.grace) return finish(fail(op, S.NFS4ERR_GRACE));
        file = existing ?? this.addFile(`${ctx.cfh.path.replace(/\/$/, "")}/${claim.file}`, "");
        if (!existing && exclusive) file.createVerifier = exclusive.verifier.slice();
        if (!existing) attrset = this.#createAttrsSet(file, args);
        break;
      }
      case OpenClaimType.CLAIM_PREVIOUS:
        if (!this.grace || (ctx.minor === 1 && client.reclaimComplete)) {
          return finish(fail(op, S.NFS4ERR_NO_GRACE));
        }
        file = ctx.cfh;
        break;
      case OpenClaimType.CLAIM_FH:
        if (v40) return finish(fail(op, S.NFS4ERR_BADXDR));
        if (this.grace) return finish(fail(op, S.NFS4ERR_GRACE));
        file = ctx.cfh;
        break;
      default:
        return finish(fail(op, S.NFS4ERR_NOTSUPP));
    }
    if (file.type === "dir") return finish(fail(op, S.NFS4ERR_ISDIR));

    // Share reservations (RFC 7530 §9.9).
    for (const other of this.states.values()) {
      if (other.kind !== "open" || other.file !== file || other.revoked !== undefined) continue;
      if (other.owner.client === client && hex(other.owner.owner) === hex(args.owner.owner)) {
        continue;
      }
      if ((other.deny & args.shareAccess) !== 0 || (other.access & args.shareDeny) !== 0) {
        return finish(fail(op, S.NFS4ERR_SHARE_DENIED));
      }
    }

    // Other clients' delegations this OPEN conflicts with are recalled, and
    // the OPEN waits (NFS4ERR_DELAY) until they come back (RFC 7530 §10.4.4).
    if (claim.claim !== OpenClaimType.CLAIM_PREVIOUS) {
      const conflicts = this.#delegationConflicts(client, file, args.shareAccess);
      if (conflicts.length > 0) {
        for (const deleg of conflicts) {
          this.#event(
            "conflict",
            client,
            file,
            `${deleg.type} delegation of ${deleg.client.clientid}`,
          );
          this.#recall(deleg);
        }
        return finish(fail(op, S.NFS4ERR_DELAY));
      }
    }

    let rflags = OpenResultFlags.OPEN4_RESULT_LOCKTYPE_POSIX;
    if (!known) {
      owner = {
        kind: "open",
        client,
        owner: args.owner.owner.slice(),
        seqid: args.seqid,
        confirmed: !(v40 && this.confirmOpens),
        last: undefined,
      };
      this.owners.set(key, owner);
      if (!owner.confirmed) rflags |= OpenResultFlags.OPEN4_RESULT_CONFIRM;
    }
    let rec = [...this.states.values()].find((s): s is OpenRec =>
      s.kind === "open" && s.owner === owner && s.file === file && s.revoked === undefined
    );
    if (rec) {
      rec.access |= args.shareAccess & 3;
      rec.deny |= args.shareDeny;
      rec.shares.push({ access: args.shareAccess & 3, deny: args.shareDeny });
      rec.seqid++;
    } else {
      rec = {
        kind: "open",
        other: this.#newId(12),
        file,
        owner: owner!,
        seqid: 1,
        revoked: undefined,
        silent: false,
        access: args.shareAccess & 3,
        deny: args.shareDeny,
        shares: [{ access: args.shareAccess & 3, deny: args.shareDeny }],
        locks: new Set(),
      };
      this.states.set(hex(rec.other), rec);
    }
    ctx.cfh = file;
    let deleg: DelegRec | undefined;
    if (claim.claim === OpenClaimType.CLAIM_PREVIOUS) {
      // RFC 7530 §10.2.1, §16.16.5: the reclaim names the delegation it
      // held (delegate_type), which is granted again.
      const held = claim.delegateType;
      if (
        held === DelegationType.OPEN_DELEGATE_READ || held === DelegationType.OPEN_DELEGATE_WRITE
      ) {
        const type = held === DelegationType.OPEN_DELEGATE_READ ? "read" : "write";
        deleg = this.#newDelegation(client, file, type, "reclaim");
      }
    } else {
      deleg = this.#maybeDelegate(client, file, args.shareAccess);
    }
    const result: OpenResult = {
      stateid: this.#stateid(rec),
      cinfo: { atomic: true, before: file.change, after: file.change },
      rflags,
      attrset,
      delegation: this.#delegationResult(deleg),
    };
    const outcome = ok(op, result);
    if (!known) owner!.last = outcome;
    return finish(outcome);
  }

  /**
   * Why a create is refused for its mode or createattrs, if it is:
   * EXCLUSIVE4_1 NFS4ERR_NOTSUPP (`exclusive41Unsupported`), createattrs
   * outside suppattr_exclcreat NFS4ERR_INVAL (`exclusiveCreateAttrs`,
   * RFC 8881 §18.16.3), outside supported_attrs NFS4ERR_ATTRNOTSUPP.
   */
  #createRefusal(args: OpenArgs): number | undefined {
    const how = args.create;
    if (!how) return undefined;
    if (how.mode === CreateMode.EXCLUSIVE4_1 && this.exclusive41Unsupported) {
      return S.NFS4ERR_NOTSUPP;
    }
    if (how.mode === CreateMode.EXCLUSIVE4) return undefined;
    const ids = attrIds(how.attrs);
    const supported = this.supportedAttrs;
    if (supported && ids.some((id) => !supported.has(id))) return S.NFS4ERR_ATTRNOTSUPP;
    const exclusive = this.exclusiveCreateAttrs;
    if (how.mode === CreateMode.EXCLUSIVE4_1 && exclusive && ids.some((id) => !exclusive.has(id))) {
      return S.NFS4ERR_INVAL;
    }
    return undefined;
  }

  /** The attrset of an OPEN that made `file`: its createattrs (none with `openIgnoresCreateAttrs`). */
  #createAttrsSet(file: FileNode, args: OpenArgs): ReadonlySet<number> {
    const how = args.create;
    if (how?.mode === CreateMode.EXCLUSIVE4 && this.verifierInTimes) {
      return new Set([Attr.TIME_ACCESS, Attr.TIME_MODIFY]);
    }
    if (!how || how.mode === CreateMode.EXCLUSIVE4 || this.openIgnoresCreateAttrs) return new Set();
    if (how.attrs.mode !== undefined) file.modeSet = how.attrs.mode;
    return new Set(attrIds(how.attrs));
  }

  #openConfirm(ctx: Ctx, op: Nfs4Op<unknown>, args: OpenConfirmArgs): OpOutcome {
    const found = this.#seqidState(ctx, op, args.stateid, "open", args.seqid);
    if ("done" in found) return found.done;
    const rec = found.rec;
    rec.owner.confirmed = true;
    rec.seqid++;
    return this.#consume(rec.owner, args.seqid, ok(op, this.#stateid(rec)));
  }

  /**
   * OPEN_DOWNGRADE (RFC 7530 §16.19, RFC 8881 §18.18): share_access READ,
   * WRITE or BOTH only (any other bit, an OPEN4_SHARE_ACCESS_WANT_* among
   * them, is NFS4ERR_INVAL), share_deny a DENY_*, and the two the union of
   * some subset of the OPENs in effect on the open, else NFS4ERR_INVAL
   * (§16.19.4; Ganesha checks the same). The OPENs outside the new share are
   * no longer in effect.
   */
  #openDowngrade(ctx: Ctx, op: Nfs4Op<unknown>, args: OpenDowngradeArgs): OpOutcome {
    const found = this.#seqidState(ctx, op, args.stateid, "open", args.seqid);
    if ("done" in found) return found.done;
    const rec = found.rec as OpenRec;
    const finish = (
      o: OpOutcome,
    ) => (ctx.minor === 0 ? this.#consume(rec.owner, args.seqid, o) : o);
    const access = args.shareAccess;
    const deny = args.shareDeny;
    if (access < 1 || access > 3 || deny > 3) return finish(fail(op, S.NFS4ERR_INVAL));
    const within = rec.shares.filter((s) => (s.access & ~access) === 0 && (s.deny & ~deny) === 0);
    const union = within.reduce(
      (u, s) => ({ access: u.access | s.access, deny: u.deny | s.deny }),
      { access: 0, deny: 0 },
    );
    if (union.access !== access || union.deny !== deny) {
      return finish(fail(op, S.NFS4ERR_INVAL));
    }
    rec.access = access;
    rec.deny = deny;
    rec.shares = within;
    rec.seqid++;
    return finish(ok(op, this.#stateid(rec)));
  }

  #close(ctx: Ctx, op: Nfs4Op<unknown>, args: CloseArgs): OpOutcome {
    const found = this.#seqidState(ctx, op, args.stateid, "open", args.seqid);
    if ("done" in found) return found.done;
    const rec = found.rec as OpenRec;
    const finish = (
      o: OpOutcome,
    ) => (ctx.minor === 0 ? this.#consume(rec.owner, args.seqid, o) : o);
    if ([...rec.locks].some((l) => l.ranges.length > 0 && l.revoked === undefined)) {
      return finish(fail(op, S.NFS4ERR_LOCKS_HELD));
    }
    for (const lock of rec.locks) this.states.delete(hex(lock.other));
    this.states.delete(hex(rec.other));
    rec.seqid++;
    if (ctx.minor === 0) this.#lastClosed.set(rec.owner, rec);
    return finish(ok(op, this.#stateid(rec)));
  }

  // ------------------------------------------------------------ locks

  #conflict(file: FileNode, owner: OwnerRec | undefined, range: LockRange): LockDenied | undefined {
    for (const state of this.states.values()) {
      if (state.kind !== "lock" || state.file !== file || state.revoked !== undefined) continue;
      if (owner && state.owner === owner) continue;
      for (const held of state.ranges) {
        if (!rangesOverlap(held, range)) continue;
        if (!isWrite(held.type) && !isWrite(range.type)) continue;
        return {
          offset: held.offset,
          length: held.length,
          locktype: held.type,
          owner: { clientid: state.owner.client.clientid, owner: state.owner.owner.slice() },
        };
      }
    }
    return undefined;
  }

  #lock(ctx: Ctx, op: Nfs4Op<unknown>, args: LockArgs): OpOutcome {
    const v40 = ctx.minor === 0;
    const locker = args.locker;
    let open: OpenRec;
    let lockRec: LockRec | undefined;
    let lockOwner: OwnerRec | undefined;
    let newOwner: { key: string; client: ClientRec; owner: Uint8Array } | undefined;
    // The owners whose seqids this LOCK consumes.
    const consumed: [OwnerRec, number][] = [];
    if (locker.newLockOwner) {
      const checked = this.#checkStateid(ctx, locker.openStateid, { special: false });
      if (checked.rec?.kind !== "open") {
        return fail(op, checked.status === S.NFS4_OK ? S.NFS4ERR_BAD_STATEID : checked.status);
      }
      open = checked.rec;
      if (v40) {
        const check = this.#seqidCheck(open.owner, locker.openSeqid);
        if (check === "bad") return fail(op, S.NFS4ERR_BAD_SEQID);
        if (check === "replay") return open.owner.last!;
      }
      if (checked.status !== S.NFS4_OK) {
        const outcome = fail(op, checked.status);
        return v40 ? this.#consume(open.owner, locker.openSeqid, outcome) : outcome;
      }
      const client = this.#clientFor(ctx, locker.lockOwner.clientid);
      if (typeof client === "number") return fail(op, client);
      const key = this.#ownerKey(client, "lock", locker.lockOwner.owner);
      lockOwner = this.owners.get(key);
      if (v40) {
        consumed.push([open.owner, locker.openSeqid]);
        if (lockOwner) {
          // nfsd: with a known lock owner, its seqid must be the next one.
          if (this.#seqidCheck(lockOwner, locker.lockSeqid) !== "next") {
            return fail(op, S.NFS4ERR_BAD_SEQID);
          }
          consumed.push([lockOwner, locker.lockSeqid]);
        }
      }
      if (!lockOwner) newOwner = { key, client, owner: locker.lockOwner.owner };
      lockRec = lockOwner
        ? [...open.locks].find((l) => l.owner === lockOwner && l.revoked === undefined)
        : undefined;
    } else {
      const checked = this.#checkStateid(ctx, locker.lockStateid, { special: false });
      if (checked.rec?.kind !== "lock") {
        return fail(op, checked.status === S.NFS4_OK ? S.NFS4ERR_BAD_STATEID : checked.status);
      }
      lockRec = checked.rec;
      open = lockRec.open;
      lockOwner = lockRec.owner;
      if (v40) {
        const check = this.#seqidCheck(lockOwner, locker.lockSeqid);
        if (check === "bad") return fail(op, S.NFS4ERR_BAD_SEQID);
        if (check === "replay") return lockOwner.last!;
      }
      if (checked.status !== S.NFS4_OK) {
        const outcome = fail(op, checked.status);
        return v40 ? this.#consume(lockOwner, locker.lockSeqid, outcome) : outcome;
      }
      if (v40) consumed.push([lockOwner, locker.lockSeqid]);
    }
    const finish = (outcome: OpOutcome): OpOutcome => {
      for (const [owner, seqid] of consumed) this.#consume(owner, seqid, outcome);
      return outcome;
    };
    if (v40) {
      const injected = this.#seqidFault(ctx, op);
      if (injected) return finish(injected);
    }
    if (ctx.cfh !== open.file) return finish(fail(op, S.NFS4ERR_BAD_STATEID));
    const client = open.owner.client;
    if (args.reclaim) {
      if (!this.grace || (ctx.minor === 1 && client.reclaimComplete)) {
        return finish(fail(op, S.NFS4ERR_NO_GRACE));
      }
    } else if (this.grace) {
      return finish(fail(op, S.NFS4ERR_GRACE));
    }
    const range: LockRange = { type: args.locktype, offset: args.offset, length: args.length };
    const denied = this.#conflict(open.file, lockOwner, range);
    const wireOwner: WireOwner = lockOwner
      ? { clientid: lockOwner.client.clientid, owner: lockOwner.owner }
      : { clientid: newOwner!.client.clientid, owner: newOwner!.owner };
    if (denied) {
      // A blocking lock type says the client waits (RFC 8881 §9.6, §20.11).
      if (
        ctx.minor === 1 &&
        (args.locktype === LockType.READW_LT || args.locktype === LockType.WRITEW_LT)
      ) {
        this.#addWaiter(client, open.file, wireOwner, range);
      }
      return finish(fail(op, S.NFS4ERR_DENIED, denied));
    }
    this.#removeWaiter(client, open.file, wireOwner);
    if (newOwner) {
      lockOwner = {
        kind: "lock",
        client: newOwner.client,
        owner: newOwner.owner.slice(),
        seqid: v40 ? (locker as { lockSeqid: number }).lockSeqid : 0,
        confirmed: true,
        last: undefined,
      };
      this.owners.set(newOwner.key, lockOwner);
    }
    if (!lockRec) {
      lockRec = {
        kind: "lock",
        other: this.#newId(12),
        file: open.file,
        owner: lockOwner!,
        open,
        seqid: 0,
        revoked: undefined,
        silent: false,
        ranges: [],
      };
      open.locks.add(lockRec);
      this.states.set(hex(lockRec.other), lockRec);
    }
    lockRec.ranges.push(range);
    lockRec.seqid++;
    const outcome = ok(op, this.#stateid(lockRec));
    if (newOwner) lockOwner!.last = outcome;
    return finish(outcome);
  }

  #locku(ctx: Ctx, op: Nfs4Op<unknown>, args: LockuArgs): OpOutcome {
    const found = this.#seqidState(ctx, op, args.stateid, "lock", args.seqid);
    if ("done" in found) return found.done;
    const rec = found.rec as LockRec;
    const range: LockRange = { type: args.locktype, offset: args.offset, length: args.length };
    rec.ranges = rec.ranges.filter((r) => !rangesOverlap(r, range));
    rec.seqid++;
    this.#lockReleased(rec.file);
    const outcome = ok(op, this.#stateid(rec));
    return ctx.minor === 0 ? this.#consume(rec.owner, args.seqid, outcome) : outcome;
  }

  #lockt(ctx: Ctx, op: Nfs4Op<unknown>, args: LocktArgs): OpOutcome {
    if (!ctx.cfh) return fail(op, S.NFS4ERR_NOFILEHANDLE);
    const client = this.#clientFor(ctx, args.owner.clientid);
    if (typeof client === "number") return fail(op, client);
    const owner = this.owners.get(this.#ownerKey(client, "lock", args.owner.owner));
    const range: LockRange = { type: args.locktype, offset: args.offset, length: args.length };
    const denied = this.#conflict(ctx.cfh, owner, range);
    return denied ? fail(op, S.NFS4ERR_DENIED, denied) : ok(op);
  }

  #releaseLockowner(op: Nfs4Op<unknown>, args: WireOwner): OpOutcome {
    const client = this.clients.get(args.clientid);
    if (!client) return fail(op, S.NFS4ERR_STALE_CLIENTID);
    const key = this.#ownerKey(client, "lock", args.owner);
    const owner = this.owners.get(key);
    if (!owner) return ok(op);
    const held = [...this.states.values()].filter((s): s is LockRec =>
      s.kind === "lock" && s.owner === owner
    );
    if (held.some((l) => l.ranges.length > 0 && l.revoked === undefined)) {
      return fail(op, S.NFS4ERR_LOCKS_HELD);
    }
    for (const lock of held) {
      lock.open.locks.delete(lock);
      this.states.delete(hex(lock.other));
    }
    this.owners.delete(key);
    return ok(op);
  }

  // ------------------------------------------------------------ READ, FREE

  #read(ctx: Ctx, op: Nfs4Op<unknown>, args: ReadArgs): OpOutcome {
    if (!ctx.cfh) return fail(op, S.NFS4ERR_NOFILEHANDLE);
    if (ctx.cfh.type === "dir") return fail(op, S.NFS4ERR_ISDIR);
    const { status, rec } = this.#checkStateid(ctx, args.stateid, { special: true });
    if (status !== S.NFS4_OK) return fail(op, status);
    if (rec) {
      if (rec.file !== ctx.cfh) return fail(op, S.NFS4ERR_BAD_STATEID);
      const open = rec.kind === "open" ? rec : rec.open;
      if ((open.access & 1) === 0) return fail(op, S.NFS4ERR_OPENMODE);
    }
    const data = ctx.cfh.data;
    const start = Math.min(Number(args.offset), data.length);
    const end = Math.min(start + args.count, data.length);
    if (this.readNothingFrom !== undefined && start < data.length) {
      if (start >= this.readNothingFrom) return ok(op, { eof: false, data: new Uint8Array(0) });
      // A READ across that point is short, ending there: whatever the READ size.
      if (end > this.readNothingFrom) {
        return ok(op, { eof: false, data: data.slice(start, this.readNothingFrom) });
      }
    }
    const surplus = this.readSurplus;
    if (surplus > 0 && start + args.count <= data.length) {
      const more = new Uint8Array(end - start + surplus).fill(0xee);
      more.set(data.subarray(start, end));
      return ok(op, { eof: false, data: more });
    }
    return ok(op, { eof: end >= data.length, data: data.slice(start, end) });
  }

  /**
   * WRITE through an open for writing (or a special stateid): the bytes go
   * into the file. Answered `writeCommitted` (FILE_SYNC4 by default) and
   * `writeVerifier`.
   */
  #write(ctx: Ctx, op: Nfs4Op<unknown>, args: WriteArgs): OpOutcome {
    if (!ctx.cfh) return fail(op, S.NFS4ERR_NOFILEHANDLE);
    if (ctx.cfh.type === "dir") return fail(op, S.NFS4ERR_ISDIR);
    const { status, rec } = this.#checkStateid(ctx, args.stateid, { special: true });
    if (status !== S.NFS4_OK) return fail(op, status);
    if (rec) {
      if (rec.file !== ctx.cfh) return fail(op, S.NFS4ERR_BAD_STATEID);
      const open = rec.kind === "open" ? rec : rec.open;
      if ((open.access & 2) === 0) return fail(op, S.NFS4ERR_OPENMODE);
    }
    const node = ctx.cfh;
    // A broken server (writeOvercount) keeps half and claims more than all.
    const kept = this.writeOvercount > 0 || this.writeShort
      ? args.data.subarray(0, args.data.length >> 1)
      : args.data;
    const end = Number(args.offset) + kept.length;
    const data = new Uint8Array(Math.max(end, node.data.length));
    data.set(node.data);
    data.set(kept, Number(args.offset));
    node.data = data;
    node.change++;
    return ok(op, {
      count: this.writeShort ? kept.length : args.data.length + this.writeOvercount,
      committed: Math.min(args.stable, this.writeCommitted),
      writeverf: this.writeVerifier.slice(),
    });
  }

  /** SETATTR: the size is applied (truncated or zero-extended); the rest is taken as set. */
  #setattr(ctx: Ctx, op: Nfs4Op<unknown>, args: SetattrArgs): OpOutcome {
    if (!ctx.cfh) return fail(op, S.NFS4ERR_NOFILEHANDLE);
    const { status, rec } = this.#checkStateid(ctx, args.stateid, { special: true });
    if (status !== S.NFS4_OK) return fail(op, status);
    if (rec && rec.file !== ctx.cfh) return fail(op, S.NFS4ERR_BAD_STATEID);
    const node = ctx.cfh;
    // An attribute outside supported_attrs (RFC 7530 §16.32.4): nothing set.
    const supported = this.supportedAttrs;
    if (supported && attrIds(args.attrs).some((id) => !supported.has(id))) {
      return fail(op, S.NFS4ERR_ATTRNOTSUPP, new Set());
    }
    const badOwner = this.#setOwners(node, args.attrs);
    if (badOwner !== undefined) return fail(op, badOwner);
    if (args.attrs.mode !== undefined && !this.setattrIgnores.has(Attr.MODE)) {
      node.modeSet = args.attrs.mode;
    }
    if (args.attrs.size !== undefined && !this.setattrIgnores.has(Attr.SIZE)) {
      if (node.type === "dir") return fail(op, S.NFS4ERR_ISDIR);
      const data = new Uint8Array(Number(args.attrs.size));
      data.set(node.data.subarray(0, data.length));
      node.data = data;
    }
    node.change++;
    // attrsset: what was set, here all that was asked for (RFC 7530
    // §16.32.4, RFC 8881 §18.30.4).
    return ok(op, new Set(attrIds(args.attrs).filter((id) => !this.setattrIgnores.has(id))));
  }

  #freeStateid(op: Nfs4Op<unknown>, stateid: Stateid): OpOutcome {
    if (this.#purged.has(hex(stateid.other))) return fail(op, S.NFS4ERR_EXPIRED);
    const deleg = this.delegations.get(hex(stateid.other));
    if (deleg) {
      // RFC 8881 §18.38.3: only a revoked delegation may be freed.
      if (deleg.revoked === undefined) return fail(op, S.NFS4ERR_LOCKS_HELD);
      this.delegations.delete(hex(deleg.other));
      return ok(op);
    }
    const rec = this.states.get(hex(stateid.other));
    if (!rec) return fail(op, S.NFS4ERR_BAD_STATEID);
    if (rec.revoked === undefined) {
      if (rec.kind === "open" || rec.ranges.length > 0) return fail(op, S.NFS4ERR_LOCKS_HELD);
    }
    this.states.delete(hex(rec.other));
    if (rec.kind === "lock") rec.open.locks.delete(rec);
    return ok(op);
  }
}

// ------------------------------------------------------------------ channel

/**
 * One connection to a {@linkcode ScriptedServer}: the `CompoundChannel` the
 * state manager is given.
 */
export class ScriptedChannel implements CompoundChannel {
  readonly server: ScriptedServer;
  readonly connection: number;
  /** COMPOUNDs carried by this channel. */
  readonly log: LogEntry[] = [];
  /** A guard against runaway retry loops: more COMPOUNDs than this throw. */
  maxCompounds = 400;
  /** Awaited before each request is handled (latency, scripted stalls). */
  latency: (() => Promise<void>) | undefined;
  /** Requests sent and not yet answered. */
  inFlight = 0;
  closed = false;

  /** The client's callback service reachable over this connection (in-memory callbacks). */
  callbackHandler: CallHandler | undefined;
  /** The program it serves. */
  callbackProgram: number | undefined;
  /**
   * Set by {@linkcode enableBackchannel}: the client then serves its 4.1
   * callbacks on this connection (and asks for CONN_BACK_CHAN).
   */
  serveCallbacks?: (program: number, handler: CallHandler) => void;

  #count = 0;
  #held: (() => void)[] | undefined;
  #drops: {
    op: string;
    remaining: number;
    skip: number;
    beforeServer: boolean;
    late: boolean;
  }[] = [];
  /**
   * Replies that came after their call timed out on a connection that
   * stands ({@linkcode lateReplies}), by the request's attempt: the
   * transport keeps the xid, and the attempt called again takes the reply.
   */
  readonly #lateReplies = new Map<RpcAttempt, CompoundReply>();
  /** Connections the client broke (`dropConnection`), and RPC NULLs it sent. */
  drops = 0;
  pings = 0;

  constructor(
    server: ScriptedServer = new ScriptedServer(),
    options: { backchannel?: boolean } = {},
  ) {
    this.server = server;
    this.connection = server.connect();
    server.channels.set(this.connection, this);
    if (options.backchannel) this.enableBackchannel();
  }

  /**
   * 4.1: the channel offers `serveCallbacks`, so the client asks for the
   * back channel in CREATE_SESSION and serves callbacks on this connection.
   * Call before the client creates its session.
   */
  enableBackchannel(): void {
    this.serveCallbacks = (program, handler) => this.attachCallbacks(program, handler);
  }

  /**
   * Makes the client's callback service reachable over this connection (on
   * 4.0, where a real client would listen on its own port: pass
   * `manager.callbacks.handler` and CALLBACK_PROGRAM).
   */
  attachCallbacks(program: number, handler: CallHandler): void {
    this.callbackProgram = program;
    this.callbackHandler = handler;
  }

  async compound(
    request: CompoundRequest,
    options: CompoundCallOptions = {},
  ): Promise<CompoundReply> {
    if (++this.#count > this.maxCompounds) {
      throw new Error(`ScriptedChannel: more than ${this.maxCompounds} COMPOUNDs (runaway loop?)`);
    }
    options.signal?.throwIfAborted();
    const late = options.attempt && this.#lateReplies.get(options.attempt);
    if (late !== undefined) {
      // The request is not sent again on the connection: its reply, which
      // came after the call timed out, is the answer (RFC 7530 §3.1.1).
      this.#lateReplies.delete(options.attempt!);
      this.waitedOn++;
      return late;
    }
    const w = new XdrWriter();
    encodeCompound(w, request);
    const bytes = w.bytes().slice();
    // Written: counted as the real transport counts what it writes
    // (RpcAttempt.sends; the state manager tells a resend by it).
    if (options.attempt) options.attempt.sends = (options.attempt.sends ?? 0) + 1;
    this.inFlight++;
    try {
      if (this.#held) {
        const held = new Promise<void>((resolve) => this.#held!.push(resolve));
        const signal = options.signal;
        if (signal) {
          // A call stopped while held was sent all the same: the server runs
          // it at release() and its answer goes nowhere (what a transport
          // does with a call abandoned in flight).
          const answered = held.then(() => this.#deliver(request, bytes, options));
          answered.catch(() => {});
          const stopped = new Promise<never>((_, reject) => {
            signal.addEventListener("abort", () => reject(signal.reason), { once: true });
          });
          return await Promise.race([answered, stopped]);
        }
        await held;
      }
      const reply = await this.#deliver(request, bytes, options);
      const gate = [...this.#replyGates].find(([op]) => request.ops.some((o) => o.name === op));
      if (gate) await new Promise<void>((resolve) => gate[1].push(resolve));
      return reply;
    } finally {
      this.inFlight--;
    }
  }

  /** Ops whose COMPOUNDs' replies are held back, and the replies waiting. */
  readonly #replyGates = new Map<string, (() => void)[]>();

  /**
   * COMPOUNDs holding `op` are run by the server at once, but their replies
   * wait until {@linkcode releaseReplies}: a reply still on its way while
   * the server acts on what the request did (a CB_RECALL of the delegation
   * an OPEN granted, RFC 7530 §10.4.5, RFC 8881 §2.10.6.3).
   */
  holdReplies(op: string): void {
    if (!this.#replyGates.has(op)) this.#replyGates.set(op, []);
  }

  /**
   * Lets the replies {@linkcode holdReplies} held for `op` (default: every
   * op) through, in order, and holds no more of them.
   */
  releaseReplies(op?: string): void {
    for (const [held, waiting] of [...this.#replyGates]) {
      if (op !== undefined && held !== op) continue;
      this.#replyGates.delete(held);
      for (const resolve of waiting) resolve();
    }
  }

  /** Replies waiting in {@linkcode holdReplies} (for `op`, or for all). */
  heldReplies(op?: string): number {
    let count = 0;
    for (const [held, waiting] of this.#replyGates) {
      if (op === undefined || held === op) count += waiting.length;
    }
    return count;
  }

  /** The server runs a request and answers it (unless a drop says otherwise). */
  async #deliver(
    request: CompoundRequest,
    bytes: Uint8Array,
    options: CompoundCallOptions,
  ): Promise<CompoundReply> {
    if (this.latency) await this.latency();
    const bare = this.#bareAnswers.findIndex((a) => request.ops.some((o) => o.name === a.op));
    if (bare >= 0) {
      // Not run: answered with a status and no results at all.
      const [{ status }] = this.#bareAnswers.splice(bare, 1) as [{ op: string; status: number }];
      return { status, tag: request.tag ?? "", outcomes: [] };
    }
    const drop = this.#takeDrop(request.ops.map((o) => o.name));
    if (drop?.beforeServer) {
      throw new RpcConnectionError("connection reset (scripted)", {
        host: "scripted",
        port: 2049,
        code: "ECONNRESET",
      });
    }
    const decoded = decodeCompoundRequest(new XdrReader(bytes), OP_CODECS);
    const before = this.server.log.length;
    const reply = this.server.handle(decoded, this.connection);
    this.log.push(...this.server.log.slice(before));
    const rw = new XdrWriter();
    encodeCompoundReply(rw, reply, OP_CODECS);
    const answer = decodeCompoundReply(new XdrReader(rw.bytes().slice()), request.ops);
    if (drop?.late) {
      if (options.attempt) this.#lateReplies.set(options.attempt, answer);
      throw new RpcTimeoutError("no reply in time (scripted)", options.timeoutMs ?? 0);
    }
    // Over TCP a reply is lost only with its connection (RFC 7530 §3.1.1):
    // the request goes out again on the next one.
    if (drop) {
      throw new RpcConnectionError("no reply (scripted)", { host: "scripted", port: 2049 });
    }
    return answer;
  }

  /** COMPOUNDs answered by a late reply instead of being sent again ({@linkcode lateReplies}). */
  waitedOn = 0;

  readonly #bareAnswers: { op: string; status: number }[] = [];

  /**
   * The next COMPOUND holding `op` is not run: it is answered `status` with
   * no results at all (how some servers answer a session they do not know,
   * RFC 8881 §2.10.6's SEQUENCE never decoded).
   */
  answerBare(op: string, status: number): void {
    this.#bareAnswers.push({ op, status });
  }

  /** RPC NULL is not answered either (a server that is gone). */
  silent = false;

  ping(options: CompoundCallOptions = {}): Promise<void> {
    this.pings++;
    if (this.silent) {
      return Promise.reject(new RpcTimeoutError("no reply (scripted)", options.timeoutMs ?? 0));
    }
    return Promise.resolve();
  }

  /**
   * The client broke the connection (no answer, not even to NULL): replies
   * still to come on it are lost ({@linkcode lateReplies}); the channel
   * stands for the next connection too.
   */
  dropConnection(_reason: string): boolean {
    this.drops++;
    this.#lateReplies.clear();
    return true;
  }

  stopWaiting(attempt: RpcAttempt): void {
    this.#lateReplies.delete(attempt);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /**
   * The next `times` COMPOUNDs holding `op` (after `after` of them) are
   * executed by the server but their replies are lost with the connection
   * (over TCP the only way a reply is lost, RFC 7530 §3.1.1): the call
   * fails with a retriable `RpcConnectionError`. With `beforeServer` the
   * request itself is lost instead (nothing executed).
   */
  dropReplies(
    op: string,
    options: { times?: number; after?: number; beforeServer?: boolean } = {},
  ): void {
    this.#drops.push({
      op,
      remaining: options.times ?? 1,
      skip: options.after ?? 0,
      beforeServer: options.beforeServer ?? false,
      late: false,
    });
  }

  /**
   * The next `times` COMPOUNDs holding `op` are executed by the server, and
   * their replies come after the call timed out, on a connection that
   * stands: the call fails with a retriable `RpcTimeoutError`, and the same
   * request's attempt, called again, takes the reply without anything being
   * sent (what the transport does: `RpcCallOptions.attempt`), unless the
   * client broke the connection meanwhile ({@linkcode dropConnection}).
   */
  lateReplies(op: string, options: { times?: number } = {}): void {
    this.#drops.push({
      op,
      remaining: options.times ?? 1,
      skip: 0,
      beforeServer: false,
      late: true,
    });
  }

  /** Forgets every pending {@linkcode dropReplies}. */
  clearDrops(): void {
    this.#drops = [];
  }

  #takeDrop(names: readonly string[]) {
    const drop = this.#drops.find((d) => names.includes(d.op));
    if (!drop) return undefined;
    if (drop.skip > 0) {
      drop.skip--;
      return undefined;
    }
    if (--drop.remaining <= 0) this.#drops.splice(this.#drops.indexOf(drop), 1);
    return drop;
  }

  /** Requests wait (unanswered) until {@linkcode release}. */
  hold(): void {
    this.#held ??= [];
  }

  /** Lets held requests through, in the order they were sent. */
  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const resolve of held) resolve();
  }

  /** Lets the oldest held request through; later ones stay held. */
  releaseOne(): void {
    this.#held?.shift()?.();
  }

  /** Requests waiting in {@linkcode hold}. */
  get heldCount(): number {
    return this.#held?.length ?? 0;
  }

  /**
   * The op names of each COMPOUND from entry `from` on, comma-joined, with
   * ` -> STATUS` when the COMPOUND failed: `SEQUENCE,PUTFH,READ -> NFS4ERR_BADSESSION`.
   */
  opNames(from = 0): string[] {
    return this.log.slice(from).map(formatEntry);
  }
}

/**
 * Callbacks delivered in memory: the CALL is encoded, answered by the
 * client's own RPC dispatch (`answerCall`, as its transport or listener
 * would) through the handler attached to the channel the route names, and
 * the REPLY decoded. Real XDR both ways, no sockets.
 */
export class MemoryCallbacks implements CallbackSender {
  readonly #server: ScriptedServer;
  #xid = 0x1000;

  constructor(server: ScriptedServer) {
    this.#server = server;
  }

  #channel(route: CallbackRoute): ScriptedChannel | undefined {
    return route.conn === undefined ? undefined : this.#server.channels.get(route.conn);
  }

  reachable(route: CallbackRoute): boolean {
    const channel = this.#channel(route);
    return channel !== undefined && !channel.closed && channel.callbackHandler !== undefined &&
      channel.callbackProgram === route.program;
  }

  describe(route: CallbackRoute): string {
    return `memory conn ${route.conn ?? "?"}`;
  }

  async call(
    route: CallbackRoute,
    procedure: number,
    args: (w: XdrWriter) => void,
  ): Promise<RawCallbackReply> {
    const channel = this.#channel(route);
    const handler = channel?.callbackHandler;
    if (!channel || channel.closed || !handler) {
      throw new Error(`no callback service on connection ${route.conn ?? "?"}`);
    }
    const xid = ++this.#xid;
    const w = new XdrWriter();
    writeCallHeader(w, { xid, program: route.program, version: 1, procedure });
    args(w);
    const call = new XdrReader(w.bytes().slice());
    readMessageStart(call);
    const program = channel.callbackProgram;
    const answer = await answerCall(xid, call, (p) => (p === program ? handler : undefined));
    const r = new XdrReader(answer.bytes().slice(4));
    const header = readReplyHeader(r);
    if (header.replyStat !== MSG_ACCEPTED) {
      return { xid, acceptStat: undefined, denied: `MSG_DENIED reject_stat ${header.rejectStat}` };
    }
    return { xid: header.xid, acceptStat: header.acceptStat, results: r };
  }
}

/** Delivers the server's callbacks in memory ({@linkcode MemoryCallbacks}). */
export function deliverCallbacksInMemory(server: ScriptedServer): MemoryCallbacks {
  const sender = new MemoryCallbacks(server);
  server.callbacks = sender;
  return sender;
}

/** `SEQUENCE,PUTFH,READ` or `PUTFH,READ -> NFS4ERR_STALE_STATEID`. */
export function formatEntry(entry: LogEntry): string {
  const names = entry.ops.join(",");
  return entry.status === S.NFS4_OK ? names : `${names} -> ${statusName(entry.status)}`;
}
