/**
 * The state manager (the kernel's nfs4_state_manager in nfs4state.c).
 *
 * Everything that keeps NFSv4 state valid happens here, in one place:
 * - `run()` sends ordinary COMPOUNDs (adding SEQUENCE on 4.1), serialises
 *   and advances 4.0 owner seqids, and turns every failing status into an
 *   action through the one table in error_table.ts: retry after a delay, or
 *   set client flags and wait for recovery, or fail;
 * - one async loop handles the client flags in a fixed order (flags.ts):
 *   purge state, establish the client ID, check the lease, reset the session,
 *   bind the connection, reclaim after a reboot, test stateids, reclaim
 *   without grace, return delegations;
 * - the renewer keeps the lease alive at 2/3 of its time while state is held;
 * - every transition is a trace event.
 *
 * Operations never make recovery decisions themselves: they set flags (via
 * the table) and wait.
 * @module
 */

import { authSys, type OpaqueAuth } from "../rpc/auth.ts";
import { operationSignal, outsideOperationScope } from "./operation_scope.ts";
import { RpcConnectionError, RpcError, RpcTimeoutError } from "../rpc/errors.ts";
import type { RpcAttempt } from "../rpc/transport.ts";
import type { CompoundCallOptions, CompoundChannel } from "../nfs4/channel.ts";
import {
  type CompoundReply,
  type CompoundRequest,
  compoundResults,
  type OpList,
  type OpOutcome,
  type ResultsOf,
} from "../nfs4/compound.ts";
import { ChannelDirFromServer, CreateSessionFlags, Op } from "../nfs4/constants.ts";
import { Nfs4ProtocolError, NfsError } from "../nfs4/errors.ts";
import { Nfs4Status as S, statusName } from "../nfs4/status.ts";
import {
  type FileHandle,
  formatStateid,
  hex,
  isSpecialStateid,
  sameStateOther,
  type Stateid,
} from "../nfs4/types.ts";
import { type Clock, systemClock, type TimerHandle } from "./clock.ts";
import { holdEventLoop } from "../os/timers.ts";
import { ClientRecord } from "./client.ts";
import {
  actionForStatus,
  badSlotAction,
  leaseErrorFlags,
  type RecoveryAction,
  seqMisorderedAction,
  SeqStatus,
  seqStatusNames,
  sequenceAction,
  sequenceFlagActions,
} from "./error_table.ts";
import { type ClientFlag, FLAG_ORDER } from "./flags.ts";
import {
  BadStateError,
  formatRange,
  type LockState,
  type OpenState,
  StateDroppedError,
} from "./open_state.ts";
import { type LockOwner, newLockOwner, OpenOwner, OwnerCache, type StateOwner } from "./owners.ts";
import type { Slot, SlotTable } from "./slot_table.ts";
import { Tracer } from "./trace.ts";
import { changesState } from "./exactly_once.ts";
import * as procs from "./procs.ts";
import { CallbackService } from "./callback.ts";
import type { RpcServer } from "../rpc/server.ts";
import type { RecordTap } from "../rpc/tap.ts";

/** The AUTH_SYS identity requests are sent with. */
export interface Identity {
  readonly uid: number;
  readonly gid: number;
  readonly gids: readonly number[];
  readonly machineName: string;
}

export interface StateManagerOptions {
  readonly channel: CompoundChannel;
  readonly minorVersion: 0 | 1 | 2;
  readonly identity: Identity;
  /** Client owner string and boot verifier (client_owner.ts). */
  readonly owner: { readonly id: string; readonly verifier: Uint8Array };
  /** Server address, for the record and traces. */
  readonly server: string;
  readonly clock?: Clock;
  readonly tracer?: Tracer;
  /** Per-call RPC timeout (ms). */
  readonly callTimeoutMs?: number;
  /**
   * How long an operation may keep retrying through recovery, DELAY, GRACE
   * and reconnects before it fails (ms), counted from its start (run()).
   * Default: 2 minutes.
   */
  readonly recoveryTimeoutMs?: number;
  /**
   * Aborting it interrupts every operation and wait at once (Ctrl-C);
   * `shutdown()` still releases what it can within its own short bound.
   */
  readonly signal?: AbortSignal;
  /**
   * Re-take locks lost to a lease expiry or revocation during no-grace
   * recovery (the kernel's recover_lost_locks=1). Off by default: a lost
   * lock is marked lost and every later use of it fails.
   */
  readonly reacquireLostLocks?: boolean;
  /** Slots to ask for in CREATE_SESSION (the server may grant fewer). */
  readonly wantedSlots?: number;
  /**
   * The callback channel: on by default. On 4.0 a listener on the address
   * the server sees us at (or `address`); on 4.1 the session's backchannel.
   * Off: no delegations, and the trace says so.
   */
  readonly callback?: {
    readonly enabled: boolean;
    readonly address?: { host: string; port: number };
  };
  /** Sees the records of the 4.0 callback connections (`--pcap`). */
  readonly tap?: RecordTap;
}

/** What `run()` needs to know about the state an operation uses. */
export interface RunOptions {
  /** Owners whose seqids the ops carry (4.0): serialised and advanced. */
  readonly seqidOwners?: readonly StateOwner[];
  /**
   * Runs once the turn of `seqidOwners` (4.0) or `serialOwners` (4.1) has
   * come, before `build`: the further seqid owners the ops will carry (4.0:
   * taken in turn after those, and advanced with them; ignored on 4.1). A
   * LOCK decides there whether it goes as open_to_lock_owner4, carrying the
   * open owner's seqid too, or as exist_lock_owner4 (RFC 7530 §16.10), as
   * the kernel's nfs4_lock_prepare waits for the open seqid only while the
   * lock state is not yet initialised: decided before its lock owner's
   * turn, a LOCK queued behind the first one would take and advance the
   * open owner's seqid though the exist_lock_owner4 it sends carries none.
   */
  readonly seqidOwnersInTurn?: () => readonly StateOwner[];
  /**
   * 4.1: owners whose requests of this kind go one at a time all the same,
   * each built once the previous one's answer is recorded
   * (`recordUnderOwners`): a lock owner's LOCK and LOCKU, which carry its
   * lock stateid (procs.ts lockRange). On 4.0 `seqidOwners` does it.
   */
  readonly serialOwners?: readonly StateOwner[];
  /**
   * Runs after each fully successful reply while the owners' turn is still
   * held, before another request of theirs is built: records the stateid
   * the reply moved on (a LOCK's or LOCKU's), as the kernel's
   * nfs4_lock_done updates the lock stateid before nfs_free_seqid lets the
   * next request of the lock owner go. Recorded after run() returns, the
   * next LOCK or LOCKU of the owner, built meanwhile, carried the old
   * stateid (NFS4ERR_OLD_STATEID). Not for a reply run() does not take as
   * granted (#foreignStateid).
   */
  readonly recordUnderOwners?: (values: readonly unknown[]) => void;
  /** States whose stateids the ops carry: checked, and recovered on stateid errors. */
  readonly states?: readonly (OpenState | LockState)[];
  /**
   * Statuses to return to the caller at once, whatever the table says (a
   * set, or anything that answers `has` for a status: lib/state/small_file.ts
   * hands every status back once an OPEN of its COMPOUND has succeeded).
   */
  readonly final?: { has(status: number): boolean };
  /**
   * A release of a stateid (CLOSE, LOCKU, DELEGRETURN, FREE_STATEID,
   * OPEN_DOWNGRADE): read before each attempt, why it is not to be sent,
   * if it is not (StateManager.clientIdGone: its stateid belongs to a
   * client ID recovery has replaced since, which the server no longer
   * holds). run() then throws {@linkcode StateDroppedError}, nothing sent;
   * the release drops the state locally and traces why. Read after any
   * wait for recovery: a release that met a lost lease (or a server
   * restart) is not sent again with the old stateid.
   */
  readonly stateGone?: () => string | undefined;
  /** Whether the op is a reclaim (NFS4ERR_GRACE is then not a reason to wait). */
  readonly reclaim?: boolean;
  /** 4.1: sa_cachethis. */
  readonly cacheThis?: boolean;
  /**
   * The time (ms from the call) by which the caller's `signal` will stop it
   * (`lock -w`): DELAY and GRACE are waited out only while a request sent
   * after the wait still has room to be answered before then (twice the
   * longest round trip of this call's attempts, at least
   * {@linkcode LAST_SEND_ROOM_MS}); after
   * that the status is the answer, so that nothing is left in flight (run,
   * perhaps, by the server) when the signal stops it.
   */
  readonly answerWithinMs?: number;
  /**
   * Sent by the state manager's own steps: do not wait for recovery (that
   * would wait on itself), and hand conditions that need other recovery
   * back to the loop instead of waiting.
   */
  readonly inRecovery?: boolean;
  /**
   * Runs after a fully successful reply while the seqid owners are still
   * held, with a way to send one more COMPOUND under them: the 4.0
   * OPEN_CONFIRM that must follow its OPEN before any other request of the
   * owner (RFC 7530 §16.18.5).
   */
  readonly underOwners?: (
    values: readonly unknown[],
    send: (ops: OpList) => Promise<CompoundReply>,
  ) => Promise<void>;
  /**
   * Runs after a reply with a failure while the 4.0 seqid owners are still
   * held (not at all without owners), with a way to send one more COMPOUND
   * under them: a CLOSE that settles whether a resent READ+CLOSE's first
   * run closed the file (files.ts readThenClose), before any other request
   * of the owner takes the seqid.
   */
  readonly refusedUnderOwners?: (
    reply: CompoundReply,
    send: (ops: OpList) => Promise<CompoundReply>,
  ) => Promise<void>;
  readonly signal?: AbortSignal;
  /**
   * Told when run() gives up on a request whose outcome it leaves unknown:
   * sent, and no answer came (every transmission timed out or lost its
   * connection), or stopped in flight (`signal`, the end of the release
   * window). The server may have run it: a first LOCK may have granted a
   * lock under a lock owner the caller would otherwise forget (files.ts
   * lockFile keeps it, for the release to settle).
   */
  readonly onOutcomeUnknown?: () => void;
  /**
   * Sent by the release itself though not one of RELEASE_OPS: the LOCKT
   * and LOCK that settle a lock whose first LOCK got no answer (procs.ts
   * settleUnknownLocks), before its LOCKU and CLOSE. Not refused once
   * close() began.
   */
  readonly partOfRelease?: boolean;
}

const CB_PATH_DOWN_BITS = SeqStatus.CB_PATH_DOWN | SeqStatus.CB_PATH_DOWN_SESSION;
/** The SEQUENCE status bits that say state was revoked (RFC 8881 §18.46.3). */
const REVOKED_STATE_BITS = SeqStatus.EXPIRED_ALL_STATE_REVOKED |
  SeqStatus.EXPIRED_SOME_STATE_REVOKED | SeqStatus.ADMIN_STATE_REVOKED |
  SeqStatus.RECALLABLE_STATE_REVOKED;

/**
 * After a BIND_CONN_TO_SESSION answered CDFS4_BOTH, how long the server
 * may still say the callback path is down before the client takes the back
 * channel as down on that connection: the server checks the new back
 * channel on its own time (knfsd sends CB_NULL after the bind,
 * nfsd4_probe_callback), and its SEQUENCE replies carry the flag meanwhile.
 */
const BACK_CHANNEL_PROBE_MS = 2_000;

/**
 * The operations of the release close() makes (procs.ts releaseAll): LOCKU
 * and CLOSE of each open (RFC 7530 §16.12, §16.2), DELEGRETURN before its
 * CLOSE (§10.4.4), FREE_STATEID of what a release found revoked (RFC 8881
 * §8.2.4), each after the PUTFH of its file. Once close() began, run()
 * sends a COMPOUND only when it holds nothing else (the SEQUENCE is added
 * by send(); DESTROY_SESSION, DESTROY_CLIENTID and RELEASE_LOCKOWNER do not
 * go through run()).
 */
const RELEASE_OPS: ReadonlySet<string> = new Set([
  "PUTFH",
  "LOCKU",
  "CLOSE",
  "DELEGRETURN",
  "FREE_STATEID",
]);

/** The seqid-mutating operations of RFC 7530 §9.1.7. */
const SEQID_OPS = new Set(["OPEN", "OPEN_CONFIRM", "OPEN_DOWNGRADE", "CLOSE", "LOCK", "LOCKU"]);

/** After an interrupt (Ctrl-C), how long releasing state may take. */
const AFTER_INTERRUPT_MS = 1_500;

/**
 * How much of the release window a CREATE_SESSION in flight at an
 * interrupt is given to be answered (sendSessionless): the first half. The
 * rest is for the release that follows (DESTROY_SESSION of the session it
 * made, DESTROY_CLIENTID), which the window's end would stop before it is
 * sent.
 */
const CREATE_SESSION_SETTLE_MS = AFTER_INTERRUPT_MS / 2;

/**
 * The least room a request sent after a DELAY or GRACE wait is given before
 * RunOptions.answerWithinMs; twice the call's longest round trip where that
 * is more (run()'s `sendRoom`).
 */
const LAST_SEND_ROOM_MS = 100;

/**
 * Times a request answered NFS4ERR_BADSLOT for a retired slot is sent again
 * at once on another slot (error_table.ts badSlotAction); then the status
 * goes through the table (a session reset). The kernel does not count them.
 */
const MAX_BAD_SLOT_RETRIES = 8;

/**
 * 4.0: times a request refused NFS4ERR_BAD_SEQID goes again with its
 * owners' guessed seqids one back (owners.ts takeBackGuess); each owner
 * stops at its first unanswered request's seqid before that.
 */
const MAX_SEQID_TAKE_BACKS = 8;

/** Backoff for DELAY and GRACE (kernel NFS4_POLL_RETRY_MIN/MAX: 0.1 s to 15 s). */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 15_000;

/**
 * A renewal timer this late (or half a renewal period, if more) means this
 * process did not run meanwhile (stopped, starved), not that renewals failed.
 */
const LATE_TIMER_MS = 1_000;

/**
 * The recovery steps still taken after an interrupt or once close() began,
 * in their order: they re-make the means to reach the server
 * (StateManager #flagForReleases).
 */
const TAKEN_AFTER_INTERRUPT: readonly ClientFlag[] = ["SESSION_RESET", "BIND_CONN_TO_SESSION"];

/** The state manager gave up (recovery failed for good). */
export class RecoveryError extends Error {
  /** `message` says which step failed and why; `cause` is that step's error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RecoveryError";
  }
}

/**
 * A call made after `close()` (the state manager's `shutdown()`) began:
 * refused at once, with nothing sent, unless it is part of the release
 * itself (see {@linkcode StateManager.shutdown}). The message names the
 * path the call was for when it is known (`/vfs/a: client closed ...`),
 * else the server.
 */
export class ClientClosedError extends Error {
  /** The server, as `host:port`. */
  readonly server: string;
  /** The path the refused call was for, when known. */
  readonly path: string | undefined;

  /** A refusal by the client of `server`, for a call on `options.path` when known. */
  constructor(server: string, options: { path?: string | undefined } = {}) {
    super(`${options.path ?? server}: client closed (close() was called)`);
    this.name = "ClientClosedError";
    this.server = server;
    this.path = options.path;
  }

  /** The same refusal, naming `path` (the one the caller was given). */
  withPath(path: string): ClientClosedError {
    return path === this.path ? this : new ClientClosedError(this.server, { path });
  }
}

/**
 * The server answered nothing for a whole recovery deadline: every
 * transmission timed out or lost its connection. The client stops using
 * that server, so a command against a dead server ends within one deadline
 * whatever it has left to do. Also a request resent until its operation's
 * deadline, which came first (the operation had waited for recovery, or
 * sent other requests, before): `operationMs`, how long the operation
 * tried, is then told too, and the server is judged gone only if it was
 * silent for as long as above.
 */
export class ServerNotRespondingError extends RpcError {
  /** The server, as `host:port`. */
  readonly server: string;
  /** How long requests went unanswered (ms). */
  readonly waitedMs: number;
  /** Transmissions and waits of the request, the first included. */
  readonly tries: number;

  /**
   * `server` silent for `waitedMs` over `tries`, each given `callTimeoutMs`;
   * `cause` the last failure; `operationMs` how long the operation tried,
   * when its deadline cut the wait short.
   */
  constructor(
    server: string,
    waitedMs: number,
    tries: number,
    callTimeoutMs: number,
    cause: unknown,
    operationMs?: number,
  ) {
    super(
      `${server}: server not responding: no reply in ${seconds(waitedMs)} ` +
        `(${tries} ${tries === 1 ? "try" : "tries"}, each waiting up to ${seconds(callTimeoutMs)}` +
        `${lastFailure(cause)}` +
        `${
          operationMs !== undefined && seconds(operationMs) !== seconds(waitedMs)
            ? `; the operation gave up after ${seconds(operationMs)}`
            : ""
        })`,
      { cause, retriable: false },
    );
    this.name = "ServerNotRespondingError";
    this.server = server;
    this.waitedMs = waitedMs;
    this.tries = tries;
  }
}

/**
 * An operation's deadline (StateManagerOptions.recoveryTimeoutMs) passed
 * while it waited for the state manager's recovery: the operation stops
 * waiting, recovery goes on (later operations use what it makes). Nothing
 * of the operation is in flight: it was not sent again. `mayHaveRun` when
 * the server may have run it all the same, or part of it (an earlier
 * transmission whose resend was answered by a lost session, a 4.0 resend,
 * a state change in its COMPOUND before the status that called for the
 * recovery; NfsError.answeredResend), as for an operation that got no
 * reply. Its `cause` is that status, if one called for the recovery.
 */
export class RecoveryTimeoutError extends Error {
  /** The server, as `host:port`. */
  readonly server: string;
  /** The recovery step running, or first pending, at the deadline (flags.ts). */
  readonly step: ClientFlag | undefined;
  /** How long the operation tried (ms): from its start to the deadline. */
  readonly waitedMs: number;
  /** The server may have run (part of) the operation: its outcome is unknown. */
  readonly mayHaveRun: boolean;

  /**
   * `server`'s recovery not done within `waitedMs`: `step` the step then
   * running or pending, `ran` what the server may have run of the operation.
   */
  constructor(
    server: string,
    waitedMs: number,
    step: { readonly flag: ClientFlag; readonly reason: string | undefined } | undefined,
    ran: string | undefined,
    options?: ErrorOptions,
  ) {
    const what = step === undefined
      ? "recovery"
      : `${step.flag}${step.reason !== undefined ? ` (${step.reason})` : ""}`;
    super(
      `${server}: recovery not done in ${seconds(waitedMs)}: ${what}` +
        (ran !== undefined ? `; the server may have run ${ran}` : ""),
      options,
    );
    this.name = "RecoveryTimeoutError";
    this.server = server;
    this.step = step?.flag;
    this.waitedMs = waitedMs;
    this.mayHaveRun = ran !== undefined;
  }
}

/**
 * An operation's status that called for a recovery, the operation giving
 * up on it (run(): the same status after every recovery, or no room left
 * before its deadline) while a recovery step kept failing: the message
 * names both, what started the recovery and what defeated it
 * (`recoveryFailure`), on one line. Still the NfsError of that status,
 * for callers that look at it; {@linkcode withPath} keeps the note.
 */
export class RecoveryFailedNfsError extends NfsError {
  /** The recovery step that failed and how, e.g. `recovery failed: SESSION_RESET: …`. */
  readonly recoveryFailure: string;

  /** `error`, with `recoveryFailure` after its own message; `path` as NfsError's. */
  constructor(error: NfsError, recoveryFailure: string, path: string | undefined = error.path) {
    super(error.status, error.op, {
      path,
      detail: error.detail,
      cause: error,
      opIndex: error.opIndex,
      answeredResend: error.answeredResend,
    });
    this.recoveryFailure = recoveryFailure;
    this.message = `${this.message}; ${recoveryFailure}`;
  }

  /** The same error naming `path`, the recovery's failure kept in its message. */
  override withPath(path: string): NfsError {
    if (this.path === path) return this;
    return new RecoveryFailedNfsError(this, this.recoveryFailure, path);
  }
}

/**
 * Whether operations hold the event loop while they run (see run()): under
 * Bun and Node, not Deno.
 */
const HOLD_FOR_OPERATIONS = !("Deno" in globalThis);

/**
 * The 4.1 session the server granted is too small for this client to
 * work in: fewer operations per COMPOUND than it sends in one
 * (`ca_maxoperations`), or requests or replies too small for the smallest
 * READ or WRITE it makes with the COMPOUND around it (RFC 8881 §18.36.3:
 * the server may lower every fore-channel attribute the client asked for).
 * The Linux client refuses a session granting fewer operations than it
 * asked for (nfs4_verify_fore_channel_attrs: "not prepared to break up
 * compounds"); the size floors are this client's own (it reads and writes
 * no less than 4 KiB at a time). The session and client ID are destroyed
 * as after any failed connect.
 */
export class SessionGrantError extends Error {
  /** The server, as `host:port`. */
  readonly server: string;
  /** What the server granted that is too small, e.g. `4 operations per COMPOUND (ca_maxoperations)`. */
  readonly shortfalls: readonly string[];

  /** `server`'s session refused for each of `shortfalls`. */
  constructor(server: string, shortfalls: readonly string[]) {
    super(`${server}: the server's NFSv4.1 session is too small to use: ${shortfalls.join("; ")}`);
    this.name = "SessionGrantError";
    this.server = server;
    this.shortfalls = shortfalls;
  }
}

/**
 * The server answered EXCHANGE_ID with state protection this client did not
 * ask for: it asks for SP4_NONE, which the server MUST NOT enforce (RFC
 * 8881 §18.35.3), and cannot honour SP4_MACH_CRED or SP4_SSV, which need
 * RPCSEC_GSS (§2.10.8.3, §18.35.3: this client sends AUTH_SYS only). A
 * client ID whose state operations the server would refuse is not used:
 * no CREATE_SESSION confirms it (an unconfirmed record the server may drop,
 * RFC 8881 §18.35.4), and nothing is sent under it. At connect with
 * version `auto`, NFSv4.0 is tried next (Nfs4Client.connect). Met later
 * (a new client ID after the lease expired), it is fatal as any error a
 * recovery cannot get past: opens are bad, locks told lost, and the former
 * session and client ID, not destroyed, lapse with the lease.
 */
export class StateProtectionError extends Error {
  /** The server, as `host:port`. */
  readonly server: string;
  /** The spr_how the server answered: `SP4_MACH_CRED`, `SP4_SSV`. */
  readonly how: string;

  /** `server` answered EXCHANGE_ID with spr_how `how`. */
  constructor(server: string, how: string) {
    super(
      `${server}: the server answered EXCHANGE_ID with ${how} state protection, which this ` +
        "client did not ask for (SP4_NONE) and cannot honour (it needs RPCSEC_GSS)",
    );
    this.name = "StateProtectionError";
    this.server = server;
    this.how = how;
  }
}

/**
 * An operation's deadline (StateManagerOptions.recoveryTimeoutMs) passed
 * before its request could go out: on 4.1 every usable session slot was
 * held by requests still waiting for their replies (RFC 8881 §2.10.6: one
 * request per slot at a time), on 4.0 another request of the same open or
 * lock owner was in flight (their seqids go one at a time, RFC 7530
 * §9.1.7). This request was not sent. `mayHaveRun` when an earlier attempt
 * of the same operation may have run (as RecoveryTimeoutError's).
 */
export class SendWaitTimeoutError extends Error {
  /** The server, as `host:port`. */
  readonly server: string;
  /** How long the operation tried (ms): from its start to the deadline. */
  readonly waitedMs: number;
  /** What it waited for: a free session slot (4.1) or its owner's turn (4.0). */
  readonly waitedFor: "slot" | "owner";
  /** The slots in use, or the owners waited behind (their labels). */
  readonly detail: { readonly slots: number } | { readonly owner: string };
  /** The server may have run an earlier attempt of the operation. */
  readonly mayHaveRun: boolean;

  /** A request to `server` not sent within `waitedMs` for want of `waitedFor`; `ran` as RecoveryTimeoutError's. */
  constructor(
    server: string,
    waitedMs: number,
    waitedFor: { readonly slots: number } | { readonly owner: string },
    ran?: string,
  ) {
    const what = "slots" in waitedFor
      ? `every session slot (${waitedFor.slots}) held by requests waiting for replies`
      : `queued behind another request of ${waitedFor.owner}`;
    super(
      `${server}: not sent in ${seconds(waitedMs)}: ${what}` +
        (ran !== undefined ? `; the server may have run ${ran}` : ""),
    );
    this.name = "SendWaitTimeoutError";
    this.server = server;
    this.waitedMs = waitedMs;
    this.waitedFor = "slots" in waitedFor ? "slot" : "owner";
    this.detail = waitedFor;
    this.mayHaveRun = ran !== undefined;
  }
}

/** `; last: Connection refused` for a connection that could not be made, else nothing. */
function lastFailure(cause: unknown): string {
  const code = (cause as { code?: unknown })?.code;
  const text: Record<string, string> = {
    ECONNREFUSED: "Connection refused",
    ECONNRESET: "Connection reset by peer",
    EHOSTUNREACH: "No route to host",
    ENETUNREACH: "Network is unreachable",
  };
  return typeof code === "string" && text[code] ? `; last: ${text[code]}` : "";
}

function seconds(ms: number): string {
  // Below 0.1 s in milliseconds: `--timeout 0.001` waited "up to 1 ms", not "up to 0 s".
  if (ms < 100) return `${Math.round(ms)} ms`;
  return `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))} s`;
}

export class StateManager {
  readonly client: ClientRecord;
  readonly channel: CompoundChannel;
  readonly clock: Clock;
  readonly tracer: Tracer;
  readonly identity: Identity;
  readonly credential: OpaqueAuth;
  readonly callTimeoutMs: number;
  readonly recoveryTimeoutMs: number;
  readonly wantedSlots: number;
  readonly reacquireLostLocks: boolean;

  /** Open owners in use, by uid. */
  readonly openOwners: Map<number, OpenOwner> = new Map();
  /** Idle open owners kept for reuse (kernel state-owner LRU). */
  readonly idleOwners: OwnerCache<OpenOwner>;
  /** Every open state held. */
  readonly opens: Set<OpenState> = new Set();
  /**
   * The lock owner LOCKT tests with when no lock state of ours is on the
   * file. A lock state has an owner of its own (newLockOwner()).
   */
  readonly lockOwner: LockOwner;
  /**
   * What shutdown() could not release, each with why (a CLOSE or
   * DESTROY_SESSION unanswered): left on the server until the lease ends.
   */
  readonly notReleased: { what: string; why: string }[] = [];
  /**
   * The lock owners a LOCK reached, granted or refused, whose owner the
   * server may keep (RFC 7530 §16.10.5): 4.0 RELEASE_LOCKOWNER at exit.
   */
  readonly lockOwnersUsed: Set<LockOwner> = new Set();
  /** Answers the server's callbacks (CB_RECALL, CB_NOTIFY_LOCK, ...). */
  readonly callbacks: CallbackService;
  readonly callbackOptions: {
    readonly enabled: boolean;
    readonly address?: { host: string; port: number };
  };
  /** The 4.0 callback listener, once started. */
  callbackServer: RpcServer | undefined;
  /** Sees the records of the 4.0 callback connections (`--pcap`). */
  readonly tap: RecordTap | undefined;
  /** Fault injection for recovery drills (simulate-reboot --fail-reclaim). */
  readonly faults: { failReclaim?: "open" | "lock" | undefined } = {};

  #loop: Promise<void> | undefined;
  /** The flag whose step the loop is running, if any. */
  #handling: ClientFlag | undefined;
  #fatal: Error | undefined;
  /** Aborted to interrupt every operation and wait (see `interrupt()`). */
  #stop = new AbortController();
  /**
   * What stops a state-changing request in flight (OPEN, CLOSE, LOCK, a
   * 4.0 seqid op): not the interrupt itself, but the end of the release
   * window after it (or a second interrupt, or shutdown's bound). The
   * server may have run such a request; abandoned, its outcome is unknown:
   * on 4.0 it is taken as run (owners.ts assumeRan), and if it was not,
   * the owner's next CLOSE is refused (NFS4ERR_BAD_SEQID, its opens left
   * until the lease ends); a LOCK may hold a lock the client does not know
   * of.
   * Answered, it is known and released like the rest, as the kernel lets
   * an interrupted LOCK finish and unlocks it (nfs4_lock_release).
   */
  #settle = new AbortController();
  /** The server stopped answering for a whole recovery deadline: later calls fail at once. */
  #unreachable: ServerNotRespondingError | undefined;
  /** When the last reply of any kind arrived (the server is alive). */
  #lastAnswerAt = 0;
  /** Replies #isAnswer saw: #probeConnection's sign of life when the channel counts none. */
  #answers = 0;
  /**
   * Replies that answered a resend (the first transmission's reply was
   * lost): on 4.1 counted by the slot's transmissions, on 4.0 by sends.
   */
  readonly #answersToResends = new WeakSet<CompoundReply>();
  /**
   * 4.1 answers whose SEQUENCE failed on a session already replaced when the
   * answer came (NFS4ERR_BADSESSION for a request sent before a reset): the
   * reset they call for is done, and another would tear down the new session.
   */
  readonly #fromReplacedSession = new WeakSet<CompoundReply>();
  /** Aborted when the manager closes: ends its background probes. */
  readonly #life = new AbortController();
  #renewTimer: TimerHandle | undefined;
  #closed = false;
  /** Reason each flag was set, for the trace of its handling. */
  readonly #reasons = new Map<ClientFlag, string>();
  /**
   * A client ID and (4.1) session were made once (a LEASE_EXPIRED step
   * done): failures after that are no longer the connect's version
   * negotiation.
   */
  #established = false;
  #noBackChannelNoted = false;
  /** SEQ4_STATUS_LEASE_MOVED was noted (once: the server repeats it). */
  #leaseMovedNoted = false;
  /** SEQ4_STATUS bits this client has no use for, noted once each (#noteUnusedStatus). */
  readonly #unusedStatusNoted = new Set<number>();
  /**
   * When a SEQ4_STATUS bit damped by #dampRepeatedStatus was last acted on,
   * and whether its being set again since was noted.
   */
  readonly #statusActedOn = new Map<number, { at: number; noted: boolean }>();

  constructor(options: StateManagerOptions) {
    this.channel = options.channel;
    this.clock = options.clock ?? systemClock;
    this.tracer = options.tracer ?? new Tracer(() => this.clock.now());
    this.identity = options.identity;
    this.credential = authSys({
      machineName: options.identity.machineName,
      uid: options.identity.uid,
      gid: options.identity.gid,
      gids: [...options.identity.gids],
    });
    this.callTimeoutMs = options.callTimeoutMs ?? 30_000;
    this.recoveryTimeoutMs = options.recoveryTimeoutMs ?? 120_000;
    this.wantedSlots = options.wantedSlots ?? 32;
    this.reacquireLostLocks = options.reacquireLostLocks ?? false;
    this.client = new ClientRecord({
      server: options.server,
      minorVersion: options.minorVersion,
      ownerId: options.owner.id,
      verifier: options.owner.verifier,
    });
    this.idleOwners = new OwnerCache(5 * 60_000, () => this.clock.now());
    const signal = options.signal;
    if (signal?.aborted) this.interrupt(signal.reason);
    signal?.addEventListener("abort", () => this.interrupt(signal.reason), { once: true });
    this.lockOwner = newLockOwner();
    this.callbacks = new CallbackService(this);
    this.callbackOptions = options.callback ?? { enabled: true };
    this.tap = options.tap;
    this.channel.onConnectionChange?.((change) => {
      if (change.kind === "connected") {
        // A new connection: a back channel found down on the last one may
        // be bound on this one (#sequenceDone).
        this.#connections++;
        this.tracer.emit(
          "conn",
          change.reconnect ? "reconnected" : "connected",
          `to ${this.client.server} from ${change.local}`,
        );
      } else if (!this.#closed) {
        this.tracer.emit("conn", "connection lost", change.reason);
      }
    });
  }

  get minorVersion(): number {
    return this.client.minorVersion;
  }

  /**
   * Whether this client uses sessions: NFSv4.1 and NFSv4.2 (RFC 7862 §1.4:
   * 4.2 is 4.1 plus operations; its state model is 4.1's).
   */
  get sessions(): boolean {
    return this.client.minorVersion >= 1;
  }

  // ---------------------------------------------------------------- flags

  /** Sets a client flag (with the reason, for the trace) and runs the loop. */
  setFlag(flag: ClientFlag, reason: string): void {
    if (this.#closed) return;
    if (!this.client.flags.has(flag)) {
      this.client.flags.add(flag);
      this.#reasons.set(flag, reason);
      this.tracer.emit("state", `+${flag}`, reason);
    }
    this.#schedule();
  }

  clearFlag(flag: ClientFlag, note?: string): void {
    if (this.client.flags.delete(flag)) {
      this.#reasons.delete(flag);
      this.tracer.emit("state", `-${flag}`, note);
    }
  }

  hasFlag(flag: ClientFlag): boolean {
    return this.client.flags.has(flag);
  }

  /**
   * Grace ended (NO_GRACE, RECLAIM_BAD) partway through a reboot reclaim: the
   * states still waiting for it are recovered without grace; those already
   * reclaimed stay as they are, and so do the owners' seqids (the client ID
   * did not change).
   */
  markPendingNoGrace(reason: string): void {
    let count = 0;
    let locks = 0;
    for (const open of this.opens) {
      if (open.reclaim === "reboot") {
        open.reclaim = "nograce";
        count++;
      }
      for (const lock of open.locks) {
        if (lock.reclaim !== "reboot") continue;
        lock.needsNoGrace(reason, this.clock.now());
        if (lock.ranges.length > 0) locks++;
      }
    }
    this.setFlag(
      "RECLAIM_NOGRACE",
      `${reason}; ${count} open(s)${locks > 0 ? `, ${locks} lock(s)` : ""} left to recover`,
    );
  }

  /**
   * Marks every open (and its locks) for reclaim, as the kernel's
   * nfs4_state_mark_reclaim_reboot / _nograce, but for those recovery is
   * not to re-make, each traced with why (`not reclaimed`): an open whose
   * CLOSE is on its way (re-made only to be closed; its CLOSE is not sent
   * either once the client ID is replaced, procs.ts closeOpen), and a lock
   * lost already (the server may have given it to another client since,
   * RFC 8881 §8.4.3, RFC 7530 §9.6.3: never re-taken behind the user's
   * back, procs.ts recoverLostLock). The flag's reason counts what will be
   * reclaimed.
   */
  markAllForReclaim(kind: "reboot" | "nograce", reason: string): void {
    const left = (open: OpenState) =>
      open.bad !== undefined || open.closed ||
      // A reboot reclaim never downgrades a state already marked no-grace.
      (kind === "reboot" && open.reclaim === "nograce");
    // Counted first: the flag, which starts the recovery, comes before the
    // lines of what it leaves out. A no-grace recovery is no reclaim in
    // RFC terms (RFC 8881 §8.4.2.1, RFC 7530 §9.6.2): "to recover".
    let opens = 0;
    let locks = 0;
    let closing = 0;
    for (const open of this.opens) {
      if (left(open)) continue;
      if (open.closing) {
        closing++;
        continue;
      }
      opens++;
      locks += open.locks.filter((l) => l.bad === undefined && l.ranges.length > 0).length;
    }
    const verb = kind === "reboot" ? "to reclaim" : "to recover";
    const what = locks > 0 ? `${opens} open(s), ${locks} lock(s)` : `${opens} open(s)`;
    this.setFlag(
      kind === "reboot" ? "RECLAIM_REBOOT" : "RECLAIM_NOGRACE",
      `${reason}; ${
        closing === 0
          ? `${what} ${verb}`
          : opens === 0
          ? `nothing ${verb}: ${closing} open(s) being closed`
          : `${what} ${verb}, ${closing} more being closed`
      }`,
    );
    for (const open of this.opens) {
      if (left(open)) continue;
      if (open.closing) {
        this.tracer.emit("open", "not reclaimed", `${open.path}: being closed`);
        continue;
      }
      open.reclaim = kind;
      for (const lock of open.locks) {
        if (lock.bad !== undefined) {
          this.noteLockNotReclaimed(lock);
          continue;
        }
        if (kind === "nograce") lock.needsNoGrace(reason, this.clock.now());
        else lock.reclaim = kind;
      }
    }
    // The owners' seqids start over once the client ID is made again, and
    // only if it is a new one (#establishLease, #resetSeqids).
    this.idleOwners.clear();
  }

  /** Traces a lock recovery leaves lost (markAllForReclaim, procs.ts reclaims). */
  noteLockNotReclaimed(lock: LockState): void {
    lock.reclaim = "none";
    const ranges = lock.ranges.map((r) => `${r.type} ${formatRange(r.offset, r.length)}`);
    // A lease that ran out is found at its end or later (a stopped
    // process): when it ended and when that was noticed, for the reason
    // was measured at the second.
    const why = lock.lostAt === undefined
      ? lock.bad ?? "lost"
      : `${
        lock.lostNoticedAt !== undefined
          ? `lease ended at ${this.tracer.at(lock.lostAt)}, noticed at ${
            this.tracer.at(lock.lostNoticedAt)
          }`
          : `lost at ${this.tracer.at(lock.lostAt)}`
      } (${lock.lostReason ?? lock.bad})`;
    this.tracer.emit(
      "lock",
      "not reclaimed",
      `${lock.open.path}${ranges.length > 0 ? ` ${ranges.join(", ")}` : ""}: ${why}`,
    );
  }

  /**
   * Client IDs this client held and replaced with a new one (the server
   * no longer had them), with why: what is left of their state is not
   * released (clientIdGone).
   */
  readonly #replacedClientIds = new Map<bigint, string>();

  /**
   * Why a stateid issued under `clientId` is not to be released, or
   * undefined when it may be: `clientId` is one this client replaced since
   * (the lease expired, or the server restarted: a new client ID was made).
   * The server keeps nothing of a client ID it no longer knows (RFC 8881
   * §8.4.2, §8.4.3; RFC 7530 §9.6.2, §9.6.3): a CLOSE, LOCKU or
   * DELEGRETURN of its stateids releases nothing, and FREE_STATEID frees
   * only stateids of the current client ID (RFC 8881 §8.2.4, §18.38), so
   * the state is dropped locally (the kernel discards such state without a
   * word to the server: nfs_delegation_reap_unclaimed, and a reclaim that
   * fails leaves the open NFS_CONTEXT_BAD, nothing sent for it).
   * Undefined `clientId` (a state made under the current one) is never
   * gone.
   */
  clientIdGone(clientId: bigint | undefined): string | undefined {
    if (clientId === undefined || clientId === this.client.clientId) return undefined;
    const why = this.#replacedClientIds.get(clientId);
    if (why === undefined) return undefined;
    return `its client ID ${hexClientId(clientId)} was replaced after ${why}`;
  }

  /**
   * A new client ID replaced `former`: every state made under it, and not
   * reclaimed since, keeps that client ID on record (OpenState.clientId),
   * for its release to see it is gone (clientIdGone). A reclaim gives the
   * state a stateid of the new one, and records that instead.
   */
  #clientIdReplaced(former: bigint, why: string): void {
    // What the status said, in words, for readers of the trace.
    const meaning = why.includes("NFS4ERR_EXPIRED")
      ? " (the lease expired)"
      : why.includes("NFS4ERR_STALE_CLIENTID")
      ? " (the server no longer knew it)"
      : "";
    this.#replacedClientIds.set(former, `${why}${meaning}`);
    for (const open of this.opens) {
      open.clientId ??= former;
      for (const lock of open.locks) {
        if (lock.stateid !== undefined) lock.clientId ??= former;
      }
    }
  }

  /**
   * 4.1: a new client ID was made and RECLAIM_COMPLETE has not been sent
   * for it yet. RFC 8881 §18.51.3: before its first non-reclaim locking
   * operation, even with nothing to reclaim. The RECLAIM_REBOOT step sends
   * it; after a lease expiry, where that step is not taken (nothing may be
   * reclaimed in grace), RECLAIM_NOGRACE sends it first (procs.ts).
   */
  reclaimCompleteDue = false;

  #schedule(): void {
    if (this.#loop || this.#closed || this.#stop.signal.aborted) return;
    if (this.#onlyReleases && this.#flagForReleases() === undefined) return;
    // The loop is the manager's own work, whoever's operation started it.
    this.#loop = outsideOperationScope(() => this.#runLoop()).finally(() => {
      this.#loop = undefined;
      // A flag set while the loop was finishing.
      if (this.client.flags.size > 0 && !this.#fatal) this.#schedule();
    });
  }

  /**
   * Resolves when no recovery is pending (after an interrupt: when the loop
   * has stopped, flags it does not handle then left set); throws if
   * recovery gave up, or the reason when `signal` (or `interrupt()`) stops
   * the wait.
   */
  async waitForRecovery(signal?: AbortSignal): Promise<void> {
    const stop = this.#signal(signal);
    while (this.#loop) {
      stop.throwIfAborted();
      await abortable(this.#loop, stop);
    }
    stop.throwIfAborted();
    if (this.#fatal) throw this.#fatal;
  }

  /**
   * waitForRecovery() for an ordinary operation (run()), until its
   * `deadline`: false when recovery still runs then. Recovery itself is
   * not stopped: it goes on for the operations after this one. Throws as
   * waitForRecovery() does (recovery gave up, `signal` or an interrupt
   * stopped the wait).
   */
  async #recoveredBy(deadline: number, signal: AbortSignal | undefined): Promise<boolean> {
    const left = deadline - this.clock.now();
    if (this.#loop && left > 0) {
      const due = new AbortController();
      const timer = this.clock.setTimer(() => due.abort(), left);
      try {
        await this.waitForRecovery(signal ? AbortSignal.any([signal, due.signal]) : due.signal);
        return true;
      } catch (e) {
        if (!due.signal.aborted || e !== due.signal.reason) throw e;
      } finally {
        timer.cancel();
      }
    }
    if (this.#loop) return false;
    // Done meanwhile, or only recovery's failure to tell (#fatal).
    await this.waitForRecovery(signal);
    return true;
  }

  /**
   * What an operation whose deadline came while recovery still ran fails
   * with (run()): the step running, or the first pending, with why it was
   * set; the status that called for the recovery, if one did, marked as
   * #results marks it (NfsError.answeredResend), as its cause; and whether
   * the server may have run the operation: an earlier transmission of it
   * (that answer's resend), or a state change of its COMPOUND before the
   * status. Traced.
   */
  #recoveryNotDone(
    started: number,
    reply: CompoundReply | undefined,
    ops: OpList | undefined,
    mayHaveRun: boolean,
  ): RecoveryTimeoutError {
    const flag = this.#handling ?? FLAG_ORDER.find((f) => this.client.flags.has(f));
    const step = flag === undefined ? undefined : { flag, reason: this.#reasons.get(flag) };
    let cause: unknown;
    let ran: string | undefined;
    if (reply !== undefined && ops !== undefined) {
      try {
        this.#results(reply, ops, mayHaveRun);
      } catch (e) {
        cause = e;
      }
      const failedAt = reply.outcomes.findIndex((o) => o.status !== S.NFS4_OK);
      const before = failedAt < 0 ? [] : ops.slice(0, failedAt);
      if (cause instanceof NfsError && cause.answeredResend) ran = opNames(ops);
      else if (changesState(before)) ran = opNames(before);
    }
    const error = new RecoveryTimeoutError(
      this.client.server,
      this.clock.now() - started,
      step,
      ran,
      cause !== undefined ? { cause } : undefined,
    );
    this.tracer.emit(
      "retry",
      "recovery not awaited",
      `${flag ?? "recovery"} still running at the operation's deadline` +
        (ran !== undefined ? `; the server may have run ${ran}` : ": not sent again"),
    );
    return error;
  }

  /**
   * Interrupts every operation and wait now (Ctrl-C, a command's deadline):
   * each rejects with `reason`, except a state change already sent (OPEN,
   * CLOSE, LOCK...), which is given the release window (1.5 s) to be
   * answered (see `#settle`). Recovery stops where it is. What runs from now
   * on (the caller's releases, `shutdown()`) runs within that window; the
   * caller keeps its own work from starting anything new (a soft stop,
   * operation_scope.ts). A second interrupt ends the window at once.
   */
  interrupt(reason: unknown): void {
    if (this.#interrupted) {
      // A second interrupt: the release window ends now too.
      this.#releaseEndsAt = Math.min(this.#releaseEndsAt ?? Infinity, this.clock.now());
      this.#stop.abort(reason);
      this.#settle.abort(reason);
      this.#sessionSettle.abort(reason);
      return;
    }
    this.#interrupted = true;
    this.#interruptReason = reason ?? new RecoveryError("interrupted");
    this.tracer.emit(
      "state",
      "interrupted",
      reason instanceof Error ? reason.message : String(reason),
    );
    const stopped = this.#stop;
    // What runs from now on (a command's cleanup, shutdown()) runs within a
    // short window, then is stopped too: release what can be, never hang.
    const window = new AbortController();
    this.#stop = window;
    const settle = this.#settle;
    this.#releaseEndsAt = this.clock.now() + AFTER_INTERRUPT_MS;
    this.clock.setTimer(
      () => {
        const ended = new RecoveryError(
          `stopped ${seconds(AFTER_INTERRUPT_MS)} after the interrupt`,
        );
        window.abort(ended);
        settle.abort(ended);
      },
      AFTER_INTERRUPT_MS,
    );
    const sessionSettle = this.#sessionSettle;
    this.clock.setTimer(
      () =>
        sessionSettle.abort(
          new RecoveryError(
            `stopped ${
              seconds(CREATE_SESSION_SETTLE_MS)
            } after the interrupt (the rest of the window is the release's)`,
          ),
        ),
      CREATE_SESSION_SETTLE_MS,
    );
    stopped.abort(reason);
    this.client.session?.slots.failWaiters(reason);
  }

  /**
   * What stops a CREATE_SESSION in flight at the interrupt: the first
   * {@linkcode CREATE_SESSION_SETTLE_MS} of the release window (see
   * sendSessionless).
   */
  #sessionSettle = new AbortController();

  #interrupted = false;
  #interruptReason: unknown;
  #releaseEndsAt: number | undefined;

  /**
   * When the release window after interrupt() ends (clock ms), undefined
   * before any interrupt: what starts within it must be answered by then,
   * or is stopped in flight with its outcome unknown. A release step that
   * would leave state behind if cut off (the LOCK that settles a lock
   * whose answer never came, procs.ts settleUnknownLocks) is not started
   * when too little of it is left. A second interrupt ends it at once.
   */
  get releaseEndsAt(): number | undefined {
    return this.#releaseEndsAt;
  }

  /** Whether interrupt() came: from then on nothing is sent but releases. */
  get interrupted(): boolean {
    return this.#interrupted;
  }

  /**
   * For a recovery step's own loops (procs.ts): once interrupt() came, ends
   * the step with the interrupt's reason before its next state is handled.
   */
  throwIfInterrupted(): void {
    if (this.#interrupted) throw this.#interruptReason;
  }

  /**
   * A recovery step the interrupt found running (a reclaim of many opens)
   * sends nothing more; what it had sent is answered in the release window.
   * The steps still taken after an interrupt (#flagAfterInterrupt) go on.
   */
  #stopIfStepInterrupted(options: RunOptions): void {
    if (
      options.inRecovery && this.#interrupted && this.#handling !== undefined &&
      !TAKEN_AFTER_INTERRUPT.includes(this.#handling)
    ) {
      throw this.#interruptReason;
    }
  }

  /**
   * After an interrupt, or once close() began, the one recovery step still
   * taken, if any: one that re-makes the means to release what the server
   * still holds (a session, a connection bound to it), and only while the
   * client ID stands (no PURGE_STATE or LEASE_EXPIRED; a pending lease
   * check is answered by the CREATE_SESSION itself) and the release has not
   * destroyed the session (a session made after DESTROY_SESSION would be
   * left on the server, and only a call that should not have been sent
   * would want it). Anything else (a new client ID, a lease check,
   * reclaiming or re-opening files, testing stateids) would make state
   * only to let it go again, or find that there is none left to let go: the
   * releases' own statuses answer that (RFC 7530 §9.6, RFC 8881 §8.4.2.1:
   * after a restart the server holds nothing of this client).
   */
  #flagForReleases(): ClientFlag | undefined {
    const flags = this.client.flags;
    if (flags.has("PURGE_STATE") || flags.has("LEASE_EXPIRED")) return undefined;
    if (this.#sessionReleased) return undefined;
    return TAKEN_AFTER_INTERRUPT.find((f) => flags.has(f));
  }

  /**
   * Whether only the releases go on: after an interrupt, or once close()
   * began (then nothing but the release is sent, and recovery makes no new
   * client ID, see {@linkcode shutdown}).
   */
  get #onlyReleases(): boolean {
    return this.#interrupted || this.#closing;
  }

  /** `extra` joined with the manager's own stop signal. */
  #signal(extra?: AbortSignal): AbortSignal {
    return extra ? AbortSignal.any([extra, this.#stop.signal]) : this.#stop.signal;
  }

  /** `extra` joined with what stops a state change in flight (`#settle`). */
  #settling(extra?: AbortSignal): AbortSignal {
    return extra ? AbortSignal.any([extra, this.#settle.signal]) : this.#settle.signal;
  }

  /** The longest wait between retries: below a third of the lease, so waiting keeps the lease. */
  get #maxBackoff(): number {
    return Math.max(RETRY_MIN_MS, Math.min(RETRY_MAX_MS, (this.client.leaseTime * 1000) / 3));
  }

  /**
   * The last failure of a recovery step since one was last done, with how
   * many times in a row the step failed so: what an operation that gives
   * up waiting for that recovery names besides its own status
   * (#gaveUpOnRecovery).
   */
  #stepFailure: { flag: ClientFlag; what: string; times: number; at: number } | undefined;

  #noteStepFailure(flag: ClientFlag, e: unknown): void {
    const what = e instanceof NfsError
      ? `${e.op} answered ${e.statusName}`
      : e instanceof Error
      ? e.message
      : String(e);
    const last = this.#stepFailure;
    if (last !== undefined && last.flag === flag && last.what === what) {
      last.times++;
      last.at = this.clock.now();
    } else {
      this.#stepFailure = { flag, what, times: 1, at: this.clock.now() };
    }
  }

  /**
   * run() gives up on the recovery `reply`'s status called for: its
   * NfsError names, besides that status (what started the recovery), the
   * step failure that defeated it since the operation `started`, if one
   * did (#stepFailure), on one line: "SEQUENCE: Bad session
   * (NFS4ERR_BADSESSION); recovery failed: SESSION_RESET: CREATE_SESSION
   * kept answering NFS4ERR_DELAY (9 times)".
   */
  #gaveUpOnRecovery<T extends OpList>(
    reply: CompoundReply,
    ops: T,
    mayHaveRun: boolean,
    started: number,
  ): ResultsOf<T> {
    try {
      return this.#results(reply, ops, mayHaveRun);
    } catch (e) {
      const failure = this.#stepFailure;
      if (!(e instanceof NfsError) || failure === undefined || failure.at < started) throw e;
      const what = failure.times > 1
        ? `${failure.what.replace(" answered ", " kept answering ")} (${failure.times} times)`
        : failure.what;
      throw new RecoveryFailedNfsError(e, `recovery failed: ${failure.flag}: ${what}`);
    }
  }

  async #runLoop(): Promise<void> {
    // Start on a later tick: flags set together (LEASE_EXPIRED and
    // RECLAIM_REBOOT after STALE_CLIENTID) must all be in place before the
    // loop picks the most urgent one.
    await Promise.resolve();
    const started = this.clock.now();
    let backoff = RETRY_MIN_MS;
    let leaseErrors = 0;
    while (this.client.flags.size > 0 && !this.#closed) {
      const flag = this.#onlyReleases
        ? this.#flagForReleases()
        : FLAG_ORDER.find((f) => this.client.flags.has(f))!;
      if (flag === undefined) {
        this.tracer.emit(
          "step",
          "recovery stopped",
          `${this.#interrupted ? "interrupted" : "closing"}; left: ${
            FLAG_ORDER.filter((f) => this.client.flags.has(f)).join(", ")
          }`,
        );
        return;
      }
      const reason = this.#reasons.get(flag);
      this.tracer.emit("step", `${flag} start`, reason);
      const t0 = this.clock.now();
      // What stops this step: interrupt() replaces #stop with the release
      // window's before it aborts this one.
      const stop = this.#stop.signal;
      try {
        this.#handling = flag;
        try {
          await this.#handle(flag);
        } finally {
          this.#handling = undefined;
        }
        backoff = RETRY_MIN_MS;
        this.#stepFailure = undefined;
        if (flag === "LEASE_EXPIRED") this.#established = true;
        this.tracer.emit("step", `${flag} done`, `${ms(this.clock.now() - t0)}`);
      } catch (e) {
        // Interrupted: stop here, flags kept; nothing was decided, and
        // shutdown() still releases what is held.
        if (stop.aborted || this.#stop.signal.aborted) {
          const why: unknown = stop.aborted ? stop.reason : this.#stop.signal.reason;
          this.tracer.emit(
            "step",
            `${flag} stopped`,
            why instanceof Error ? why.message : String(why),
          );
          return;
        }
        this.#noteStepFailure(flag, e);
        // A lost connection, or a server asking to wait (NFS4ERR_DELAY on
        // EXCHANGE_ID, CREATE_SESSION, RENEW, ...): try the step again.
        const retriable = (e instanceof RpcError && e.retriable) ||
          (e instanceof NfsError && actionForStatus(e.status).kind === "delay");
        const elapsed = this.clock.now() - started;
        if (retriable && elapsed < this.recoveryTimeoutMs) {
          this.tracer.emit(
            "retry",
            `${flag} waiting for server`,
            `${(e as Error).message}; next try in ${ms(backoff)}`,
          );
          try {
            await this.clock.sleep(backoff, this.#stop.signal);
          } catch {
            return;
          }
          backoff = Math.min(backoff * 2, 5_000);
          continue;
        }
        if (e instanceof NfsError && e.status === S.NFS4ERR_STALE_STATEID) {
          // A state from before a new reboot: check the lease, which finds
          // the reboot and starts reclaim over (kernel nfs4_recovery_handle_error).
          this.setFlag("CHECK_LEASE", `${e.op} -> ${e.statusName} during ${flag}`);
          if (++leaseErrors <= 10) continue;
        }
        if (e instanceof NfsError && leaseErrorFlags(e.status)) {
          // A lease-level error inside a step (e.g. OPEN -> EXPIRED while
          // re-opening): the kernel's nfs4_recovery_handle_error. The step's
          // own flag stays set, so it runs again after the lease is back.
          this.applyLeaseError(e.status, e.op);
          if (++leaseErrors <= 10) continue;
        }
        if (this.#onlyReleases) {
          // After an interrupt, or once close() began, a failed step (one
          // taken for the releases' sake) gives up on nothing else: the
          // releases still run, and each takes its own status as the answer.
          this.tracer.emit("step", `${flag} failed`, (e as Error).message ?? String(e));
          return;
        }
        this.#fatal = e instanceof Error ? e : new Error(String(e));
        if (
          flag === "LEASE_EXPIRED" && this.client.clientId === undefined &&
          e instanceof NfsError && e.status === S.NFS4ERR_MINOR_VERS_MISMATCH
        ) {
          // The first client ID, refused for its minor version (RFC 7530
          // §15.2, RFC 8881 §15.1.3.5: the server ran none of the ops): an
          // answer of version negotiation, not an error. The connect tries
          // the next minor version, or fails saying none is served
          // (Nfs4Client.connect's `clid` events, MinorVersionError): the
          // step ends `refused`, not as an `error` event.
          this.tracer.emit(
            "step",
            `${flag} refused`,
            `NFSv4.${this.minorVersion}: ${e.op} -> ${e.statusName} ` +
              "(the server does not serve this minor version)",
          );
        } else if (
          flag === "LEASE_EXPIRED" && !this.#established && e instanceof SessionGrantError
        ) {
          // The first session, granted too small to use (RFC 8881
          // §18.36.3): as above, an answer of version negotiation, for the
          // connect falls back to NFSv4.0 (no sessions) when it may
          // (Nfs4Client.connect's `clid` events), and fails with this
          // error's own one line when it may not. The step ends `refused`.
          this.tracer.emit(
            "step",
            `${flag} refused`,
            `NFSv4.${this.minorVersion}: the session granted is too small to use: ` +
              e.shortfalls.join("; "),
          );
        } else if (
          flag === "LEASE_EXPIRED" && !this.#established && e instanceof StateProtectionError
        ) {
          // The first EXCHANGE_ID, answered with state protection this
          // client cannot honour: as above, the connect falls back to
          // NFSv4.0 (no state protection) when it may.
          this.tracer.emit(
            "step",
            `${flag} refused`,
            `NFSv4.${this.minorVersion}: EXCHANGE_ID answered with ${e.how} state protection ` +
              "(it needs RPCSEC_GSS)",
          );
        } else {
          this.tracer.emit("error", `${flag} failed`, this.#fatal.message);
        }
        this.#failAll(this.#fatal);
        return;
      }
    }
  }

  /**
   * Recovery gave up: every state is lost, and with it every lock held (RFC
   * 8881 §8.4.2, RFC 7530 §9.6: the lease they hang on is not renewed and
   * no one reclaims them), which the lock-lost path traces and tells the
   * onLockLost listeners of now, not at the user's next call.
   */
  #failAll(error: Error): void {
    const reason = `recovery failed: ${error.message}`;
    const givenUp = [...this.opens].filter((open) => open.bad === undefined);
    for (const open of givenUp) open.bad = reason;
    this.client.flags.clear();
    for (const open of givenUp) procs.markHeldLocksLost(this, open, reason);
  }

  #handle(flag: ClientFlag): Promise<void> {
    switch (flag) {
      case "PURGE_STATE":
        return this.#purgeState();
      case "LEASE_EXPIRED":
        return this.#establishLease();
      case "CHECK_LEASE":
        return this.#checkLease();
      case "SESSION_RESET":
        return this.#resetSession();
      case "BIND_CONN_TO_SESSION":
        return this.#bindConnection();
      case "RECLAIM_REBOOT":
        return this.#reclaimReboot();
      case "TEST_STATEIDS":
        return this.#testStateids();
      case "RECLAIM_NOGRACE":
        return this.#reclaimNoGrace();
      case "DELEGRETURN":
        return this.#returnDelegations();
    }
  }

  // ------------------------------------------------------- recovery steps

  /** PURGE_STATE: forget every state locally; the client ID must be made anew. */
  #purgeState(): Promise<void> {
    const count = this.opens.size;
    const givenUp = [...this.opens].filter((open) => open.bad === undefined);
    for (const open of givenUp) open.bad = "state purged";
    this.opens.clear();
    this.openOwners.clear();
    this.idleOwners.clear();
    this.client.clientId = undefined;
    this.client.session = undefined;
    // Forgotten here, its locks are no longer held by this client either
    // (RFC 8881 §8.4.2, RFC 7530 §9.6): told as lost, as #failAll tells them.
    for (const open of givenUp) procs.markHeldLocksLost(this, open, "state purged");
    this.clearFlag("PURGE_STATE", `${count} open(s) dropped`);
    this.setFlag("LEASE_EXPIRED", "state purged");
    return Promise.resolve();
  }

  /**
   * LEASE_EXPIRED: establish a client ID (kernel nfs4_reclaim_lease). With
   * state held, reclaim follows: after a reboot within grace, otherwise
   * without. With no state, 4.1 still sends RECLAIM_COMPLETE (RFC 8881
   * §18.51.3: required after a fresh establish before any non-reclaim open).
   */
  async #establishLease(): Promise<void> {
    const fresh = !this.#serverNamed;
    const former = this.client.clientId;
    const why = this.#reasons.get("LEASE_EXPIRED") ?? "the client ID was lost";
    await procs.establishClientId(this);
    const current = this.client.clientId;
    this.clientIdKept = former !== undefined && current === former;
    if (former !== undefined && current !== undefined && current !== former) {
      this.#clientIdReplaced(former, why);
    }
    if (!this.clientIdKept) this.#resetSeqids();
    // A CREATE_SESSION answered in the release window after an interrupt
    // (sendSessionless): its session is recorded, for the release to
    // destroy; nothing more is sent for the step (the lease time, a
    // reclaim), only the releases.
    this.throwIfInterrupted();
    if (this.sessions) this.reclaimCompleteDue = true;
    if (!this.#serverNamed) {
      this.#serverNamed = true;
      this.#traceServer();
    }
    await procs.fetchLeaseTime(this);
    this.clearFlag("CHECK_LEASE");
    this.clearFlag("SESSION_RESET");
    this.clearFlag("BIND_CONN_TO_SESSION");
    this.clearFlag("LEASE_EXPIRED", `clientid ${this.client.clientIdText}`);
    // Kernel: if no no-grace reclaim is pending, reclaim as after a reboot.
    // With no state at all that step only ends the reclaim (4.1
    // RECLAIM_COMPLETE): the trace says so, for readers who do not know the
    // kernel's model and take the flag for a reboot.
    if (!this.hasFlag("RECLAIM_NOGRACE")) {
      const held = [...this.opens].some((open) => open.bad === undefined && !open.closed);
      this.setFlag(
        "RECLAIM_REBOOT",
        held
          ? "new client ID"
          : fresh
          ? "new client ID; nothing to reclaim: a fresh client holds no state"
          : "new client ID; nothing to reclaim: no state held",
      );
    }
    this.#armRenewal();
  }

  #serverNamed = false;

  /**
   * Whether the last LEASE_EXPIRED step got back the client ID it had
   * before (the server kept, or revived, its record: RFC 8881 §18.35.4, a
   * confirmed record of the same owner and verifier; RFC 7530 §16.33.5, a
   * SETCLIENTID of the same verifier, "probable callback information
   * update"), rather than a new one. The state made under it is then not
   * gone with a replaced client ID: the server may still hold it, or some
   * of it (a lease it answered NFS4ERR_EXPIRED may have lost its locks,
   * RFC 7530 §9.6.3.1, RFC 8881 §8.4.3, or kept them as courtesy locks).
   * On 4.1 the no-grace reclaim asks the server with TEST_STATEID which
   * (procs.ts keepValidStates); the owners' seqids go on (#resetSeqids).
   * The no-grace reclaim that follows clears it when done.
   */
  clientIdKept = false;

  /**
   * A new client ID: every owner is new to the server, retired ones too
   * (their states are reclaimed under them), and its seqids start over, as
   * the kernel's nfs4_reset_seqids on a reclaim. Not when the same client
   * ID came back (clientIdKept): on 4.0 the server may still hold the
   * owners with their seqids (RFC 7530 §16.33.5: the callback update keeps
   * the client's state), and a re-OPEN or LOCKU with seqid 0 would be
   * refused NFS4ERR_BAD_SEQID, the open then marked bad and left on the
   * server (its CLOSE never sent); an owner the server dropped is new to it
   * and takes whatever seqid comes first (RFC 7530 §9.1.7: the server
   * records the seqid of an owner's first request). Seqids mean nothing on
   * 4.1 (RFC 8881 §8.13).
   */
  #resetSeqids(): void {
    for (const owner of this.openOwners.values()) owner.resetSeqid();
    for (const open of this.opens) {
      open.owner.resetSeqid();
      for (const lock of open.locks) lock.owner.resetSeqid();
    }
  }

  /**
   * Names the server once, at the first client ID: the implementation id
   * from EXCHANGE_ID (4.1), which SETCLIENTID (4.0) has no room for.
   */
  #traceServer(): void {
    const at = this.client.server;
    const vers = `NFSv4.${this.minorVersion}`;
    const x = this.client.exchangeId;
    if (!this.sessions || !x) {
      this.tracer.emit(
        "server",
        `${vers}: no implementation id`,
        `${at}: SETCLIENTID carries none`,
        {
          server: at,
          minorVersion: this.minorVersion,
        },
      );
      return;
    }
    const owner = `server owner ${
      showOpaque(x.serverOwner.majorId)
    } (minor ${x.serverOwner.minorId})`;
    const scope = `scope ${showOpaque(x.serverScope)}`;
    const impl = x.implId;
    const built = impl && impl.date.seconds !== 0n ? implDate(impl.date.seconds) : undefined;
    this.tracer.emit(
      "server",
      impl ? `${vers}: ${impl.name} (${impl.domain})` : `${vers}: no implementation id`,
      `${at}${built ? `, built ${built}` : ""}${
        impl ? "" : ": EXCHANGE_ID answered with none"
      }; ${owner}, ${scope}`,
      {
        server: at,
        minorVersion: this.minorVersion,
        ...(impl ? { implDomain: impl.domain, implName: impl.name } : {}),
        ...(built ? { implDate: built } : {}),
        serverOwner: opaqueValue(x.serverOwner.majorId),
        serverOwnerMinor: x.serverOwner.minorId,
        serverScope: opaqueValue(x.serverScope),
      },
    );
  }

  /** CHECK_LEASE: RENEW (4.0) or SEQUENCE (4.1); errors say what is wrong. */
  async #checkLease(): Promise<void> {
    const status = await procs.renewLease(this, "CHECK_LEASE");
    if (status === S.NFS4_OK) {
      this.clearFlag("CHECK_LEASE", "lease valid");
      return;
    }
    this.clearFlag("CHECK_LEASE", statusName(status));
    this.applyLeaseError(status, this.minorVersion === 0 ? "RENEW" : "SEQUENCE");
  }

  /** The trace's note, once, that a file system with our state migrated (not followed). */
  #noteLeaseMoved(reason: string): void {
    if (this.#leaseMovedNoted) return;
    this.#leaseMovedNoted = true;
    this.tracer.emit(
      "lease",
      "lease moved",
      `${reason}: a file system with our state has migrated; migration is not followed`,
    );
  }

  /** Applies what a lease-level error means (kernel nfs4_recovery_handle_error). */
  applyLeaseError(status: number, op: string): void {
    const effect = leaseErrorFlags(status);
    const reason = `${op} -> ${statusName(status)}`;
    if (status === S.NFS4ERR_LEASE_MOVED) {
      // 4.0's way of saying SEQ4_STATUS_LEASE_MOVED (RFC 7530 §16.30.5,
      // RFC 7931 §4.2): not this lease's end, nothing to recover here;
      // noted once, as the server says it on every renewal.
      this.#noteLeaseMoved(reason);
      return;
    }
    if (!effect) {
      throw new NfsError(status, op);
    }
    if (status === S.NFS4ERR_CB_PATH_DOWN) {
      // RFC 7530 §16.28.5: the lease was renewed (#sendNow noted it), but
      // recalls cannot reach us: every delegation goes back, recalled or
      // not (the kernel's nfs40_handle_cb_pathdown).
      let held = 0;
      for (const open of this.opens) {
        if (open.delegation && !open.delegation.recalled) {
          open.delegation.recalled = true;
          held++;
        }
      }
      if (held === 0) return;
      this.tracer.emit("deleg", "callback path down", `${held} delegation(s) to return`);
    }
    if (
      effect.reclaim && effect.set.every((flag) => this.hasFlag(flag)) &&
      this.hasFlag(effect.reclaim === "reboot" ? "RECLAIM_REBOOT" : "RECLAIM_NOGRACE")
    ) {
      // Told again (a renewal and a release in flight both answered
      // NFS4ERR_EXPIRED): the recovery it calls for is pending already.
      return;
    }
    for (const flag of effect.set) this.setFlag(flag, reason);
    if (effect.reclaim) this.markAllForReclaim(effect.reclaim, reason);
  }

  /**
   * Drains the slot table of a session about to be destroyed (the kernel's
   * nfs4_begin_drain_session before DESTROY_SESSION; RFC 8881 §18.46.3 asks
   * the same of a client told SEQ4_STATUS_BACKCHANNEL_FAULT: stop sending,
   * wait for the outstanding requests, then destroy the session). From now
   * on no request takes one of its slots: one waiting for a slot, and any
   * later one, fails with NFS4ERR_BADSESSION, which run() sends again on the
   * next session once recovery is done. The requests in flight are waited
   * for, at most a call timeout, or until the manager is stopped (the
   * release window after an interrupt): none of them waits on the step
   * draining (#sendNow releases its slot before run() waits for recovery),
   * but one resent to a server that stopped answering keeps its slot for
   * up to the recovery deadline, and DESTROY_SESSION goes out then all
   * the same (a server that still runs it answers NFS4ERR_DELAY, which
   * procs.ts destroySessionNow waits out). Returns how many requests were
   * still in flight at the end.
   */
  async drainSession(slots: SlotTable, session: string): Promise<number> {
    if (this.#closing && this.#handling !== "SESSION_RESET") {
      // The release's DESTROY_SESSION (see sendSessionless): a request
      // coming while it drains finds no session, and none is made again.
      this.#sessionReleased = true;
    }
    slots.beginDrain(new NfsError(S.NFS4ERR_BADSESSION, "SEQUENCE"));
    const busy = slots.inUse;
    if (busy === 0) return 0;
    if (this.#unreachable) {
      // Nothing will be answered (and DESTROY_SESSION fails at once).
      this.tracer.emit(
        "sess",
        "session not drained",
        `session ${session}: ${busy} request(s) in flight; server not responding`,
      );
      return busy;
    }
    const t0 = this.clock.now();
    this.tracer.emit(
      "sess",
      "draining session",
      `session ${session}: ${busy} request(s) in flight, no new ones`,
    );
    const bound = new AbortController();
    const stop = AbortSignal.any([this.#stop.signal, this.#life.signal, bound.signal]);
    try {
      await Promise.race([
        slots.idle(),
        this.clock.sleep(this.callTimeoutMs, stop).catch(() => {}),
      ]);
    } finally {
      bound.abort();
    }
    const left = slots.inUse;
    this.tracer.emit(
      "sess",
      left === 0 ? "session drained" : "session not drained",
      left === 0
        ? `session ${session}, in ${ms(this.clock.now() - t0)}`
        : `session ${session}: ${left} request(s) still in flight after ${
          ms(this.clock.now() - t0)
        }; destroying it all the same`,
    );
    return left;
  }

  /**
   * Waits `waitMs` unless the manager is stopped (an interrupt, the end of
   * the release window, shutdown's bound), which rejects: for a recovery
   * step's or a release's own wait (procs.ts).
   */
  pause(waitMs: number): Promise<void> {
    return this.clock.sleep(waitMs, AbortSignal.any([this.#stop.signal, this.#life.signal]));
  }

  /**
   * SESSION_RESET: drain the session, DESTROY_SESSION (waited out while the
   * server answers NFS4ERR_DELAY or NFS4ERR_BACK_CHAN_BUSY, other errors
   * ignored), CREATE_SESSION (the kernel's nfs4_reset_session).
   */
  async #resetSession(): Promise<void> {
    if (this.minorVersion === 0) {
      this.clearFlag("SESSION_RESET", "no session on 4.0");
      return;
    }
    await procs.destroySession(this);
    const status = await procs.createSession(this);
    if (status === S.NFS4_OK) {
      this.clearFlag("SESSION_RESET", `session ${this.client.sessionIdText}`);
      return;
    }
    this.clearFlag("SESSION_RESET", statusName(status));
    // CREATE_SESSION -> STALE_CLIENTID: the server rebooted (seeds, 001).
    this.applyLeaseError(status, "CREATE_SESSION");
  }

  /** BIND_CONN_TO_SESSION (RFC 8881 §18.34). */
  async #bindConnection(): Promise<void> {
    const { status, dir } = await procs.bindConnection(this);
    const session = this.client.session;
    if (status === S.NFS4_OK) {
      if (
        session && session.flags & CreateSessionFlags.CREATE_SESSION4_FLAG_CONN_BACK_CHAN &&
        dir !== ChannelDirFromServer.CDFS4_BOTH
      ) {
        // Asked for both directions, the server bound the fore channel
        // only (bctsr_dir CDFS4_FORE, RFC 8881 §18.34.3): the back channel
        // stays down, and binding again would change nothing.
        this.clearFlag("BIND_CONN_TO_SESSION", "fore channel only (CDFS4_FORE)");
        this.#backChannelLost(session, "BIND_CONN_TO_SESSION bound the fore channel only");
        return;
      }
      if (session) this.#bound = { session, connection: this.#connections, at: this.clock.now() };
      this.clearFlag("BIND_CONN_TO_SESSION", "connection bound");
      return;
    }
    this.clearFlag("BIND_CONN_TO_SESSION", statusName(status));
    if (!leaseErrorFlags(status)) {
      // NOTSUPP and the like: the fore channel works without it (SP4_NONE
      // binds implicitly, RFC 8881 §2.10.3.1); only callbacks may be lost.
      this.tracer.emit(
        "sess",
        `BIND_CONN_TO_SESSION -> ${statusName(status)}`,
        "continuing without",
      );
      return;
    }
    this.applyLeaseError(status, "BIND_CONN_TO_SESSION");
  }

  /** Connections made so far (counted at each "connected"): which one a bind was on. */
  #connections = 0;
  /** The last BIND_CONN_TO_SESSION that bound both channels: its session, connection and time. */
  #bound:
    | { readonly session: object; readonly connection: number; readonly at: number }
    | undefined;
  /**
   * The session's back channel is down on this connection, and binding it
   * again does not help (#backChannelLost): not bound again until another
   * connection or session, or until the server stops saying so.
   */
  #backChannelDown: { readonly session: object; readonly connection: number } | undefined;

  /**
   * 4.1: whether the current session's back channel is known down on the
   * current connection, binding it again not helping: OPENs then ask for
   * no delegation (procs.ts shareAccessWire), as none could be recalled.
   */
  get backChannelDown(): boolean {
    const down = this.#backChannelDown;
    return down !== undefined && down.session === this.client.session &&
      down.connection === this.#connections;
  }

  /**
   * The back channel of `session` cannot be brought back on this
   * connection (RFC 8881 §18.46.3: SEQ4_STATUS_CB_PATH_DOWN_SESSION stays
   * set while it has none; §18.34.3: a bind may take the fore channel
   * only). The Linux client binds again on every flagged SEQUENCE
   * (nfs41_handle_cb_path_down), one BIND_CONN_TO_SESSION per COMPOUND
   * against such a server; here it is not bound again on this connection
   * of this session. A client without a back channel "is subject to having
   * recallable state revoked" (§18.46.3): its delegations go back, as 4.0
   * returns them on NFS4ERR_CB_PATH_DOWN (RFC 7530 §16.28.5, the kernel's
   * nfs40_handle_cb_pathdown), and OPENs ask for none meanwhile
   * (OPEN4_SHARE_ACCESS_WANT_NO_DELEG, RFC 8881 §18.16.3).
   */
  #backChannelLost(session: object, why: string): void {
    if (this.backChannelDown) return;
    this.#backChannelDown = { session, connection: this.#connections };
    let held = 0;
    for (const open of this.opens) {
      if (open.delegation && !open.delegation.recalled) {
        open.delegation.recalled = true;
        held++;
      }
    }
    this.tracer.emit(
      "cb",
      "back channel down",
      `${why}: not bound again on this connection; ${held} delegation(s) to return, ` +
        "OPENs ask for none",
    );
    if (held > 0) this.setFlag("DELEGRETURN", `back channel down: ${why}`);
  }

  /** RECLAIM_REBOOT: reclaim within grace, then RECLAIM_COMPLETE (4.1). */
  async #reclaimReboot(): Promise<void> {
    const done = await procs.reclaimReboot(this);
    // What came of it, counted: "done" alone would hide a reclaim that failed.
    const parts = [
      [done.opens.reclaimed, "open(s) reclaimed"],
      [done.opens.lost, "open(s) lost"],
      [done.opens.noGrace, "open(s) left to recover without grace"],
      [done.locks.reclaimed, "lock(s) reclaimed"],
      [done.locks.lost, "lock(s) lost"],
      [done.locks.noGrace, "lock(s) left to recover without grace"],
    ].filter(([n]) => (n as number) > 0).map(([n, what]) => `${n} ${what}`);
    this.clearFlag(
      "RECLAIM_REBOOT",
      `reclaim done: ${parts.length > 0 ? parts.join(", ") : "nothing reclaimed"}`,
    );
  }

  /** TEST_STATEIDS (4.1): find revoked stateids, free them, recover those states. */
  async #testStateids(): Promise<void> {
    const found = await procs.testStateids(this);
    this.clearFlag("TEST_STATEIDS");
    // A round that found nothing revoked: a SEQUENCE status still asking
    // is not answered with another round at once (#revokedStillFlagged).
    this.#quietTestRound = found === 0
      ? { at: this.clock.now(), bits: this.#revokedBitsSeen, noted: false }
      : undefined;
  }

  /** The revoked-state bits of the last SEQUENCE answered (#sequenceDone). */
  #revokedBitsSeen = 0;

  /**
   * When the last TEST_STATEIDS round found nothing revoked (or had nothing
   * to test), and whether a SEQUENCE status still asking for one was said.
   */
  #quietTestRound: { readonly at: number; readonly bits: number; noted: boolean } | undefined;

  /**
   * Whether a SEQUENCE status that asks for TEST_STATEIDS (a revoked-state
   * bit, RFC 8881 §18.46.3) is to be let be: the last round, less than a
   * lease ago, found nothing revoked among every stateid this client holds,
   * and the server reports no revoked-state bit it did not report then.
   * The server keeps the bit up until the stateids are freed; one this
   * client does not know of (a delegation granted in a reply it never got)
   * it cannot free, and testing again after every COMPOUND would only send
   * a TEST_STATEID after each (the kernel tests only the delegations it
   * holds, nfs41_handle_recallable_state_revoked). Tested again once a
   * lease has passed; said once per quiet round.
   */
  #revokedStillFlagged(bits: number, names: readonly string[]): boolean {
    const quiet = this.#quietTestRound;
    if (quiet === undefined || this.hasFlag("TEST_STATEIDS")) return false;
    if ((bits & ~quiet.bits) !== 0) return false;
    const leaseMs = this.client.leaseTime * 1000;
    const since = this.clock.now() - quiet.at;
    if (since >= leaseMs) {
      this.#quietTestRound = undefined;
      return false;
    }
    if (!quiet.noted) {
      quiet.noted = true;
      this.tracer.emit(
        "state",
        "TEST_STATEIDS not repeated",
        `SEQUENCE status ${names.join("|")} still set, but TEST_STATEID found nothing ` +
          `revoked ${ms(since)} ago; tested again after ${ms(leaseMs - since)}`,
      );
    }
    return true;
  }

  /** RECLAIM_NOGRACE: re-open and re-lock without grace. */
  async #reclaimNoGrace(): Promise<void> {
    const handled = await procs.reclaimNoGrace(this);
    this.clearFlag("RECLAIM_NOGRACE", handled > 0 ? "states recovered" : "nothing to recover");
  }

  async #returnDelegations(): Promise<void> {
    await procs.returnDelegations(this);
    this.clearFlag("DELEGRETURN");
  }

  /**
   * A DELEGRETURN the server refused for now (procs.ts DELEGRETURN_LATER):
   * the delegation is kept, and the DELEGRETURN step runs again after a
   * wait (below a third of the lease), until it goes back, is found revoked
   * and freed (TEST_STATEIDS), or the client ends (the kernel's
   * nfs4_delegreturn_done retries NFS4ERR_DELAY without end). One wait at
   * a time; none once shutdown() began (its release sends it once more).
   */
  retryDelegreturnLater(): void {
    if (this.closing || this.#delegreturnRetry !== undefined) return;
    this.#delegreturnRetry = this.clock.setTimer(() => {
      this.#delegreturnRetry = undefined;
      // shutdown() began meanwhile: its release sends it once more.
      if (this.closing) return;
      this.setFlag("DELEGRETURN", "a DELEGRETURN the server refused for now, sent again");
    }, this.#maxBackoff);
  }

  /** The wait before a refused DELEGRETURN is sent again (retryDelegreturnLater). */
  #delegreturnRetry: TimerHandle | undefined;

  #cancelDelegreturnRetry(): void {
    this.#delegreturnRetry?.cancel();
    this.#delegreturnRetry = undefined;
  }

  // --------------------------------------------------------------- renewal

  /** Records a request that renewed the lease, sent at `sentAt`. */
  noteRenewal(sentAt: number): void {
    if (sentAt > this.client.lastRenewal) {
      this.client.lastRenewal = sentAt;
      // A renewal only moves the lease's end later: a watch already armed
      // fires at the old end, finds the lease renewed and re-arms for the
      // rest (#checkLeaseExpiry). Re-arming at every reply cost a timer
      // cancelled and created per COMPOUND.
      if (!this.#expiryTimer) this.#armLeaseExpiry();
    }
  }

  #expiryTimer: TimerHandle | undefined;

  /**
   * Watches the lease's end: when it passes with no renewal (a partition, a
   * stopped process), locks are lost from that moment, whatever the server
   * says later (it may have given them to another client meanwhile). The
   * client knows this as early as its own clock does, not only when the
   * server answers again (RFC 7530 §9.6.3, RFC 8881 §8.3).
   */
  #armLeaseExpiry(): void {
    this.#expiryTimer?.cancel();
    if (this.#closed) return;
    const left = this.leaseLeftMs();
    this.#expiryDueAt = this.clock.now() + Math.max(0, left) + 1;
    this.#expiryTimer = this.clock.setTimer(() => this.#checkLeaseExpiry(), Math.max(0, left) + 1);
  }

  /** When the lease watch (#expiryTimer) was set to fire (clock ms). */
  #expiryDueAt = 0;

  #checkLeaseExpiry(): void {
    this.#expiryTimer = undefined;
    if (this.#closed) return;
    if (this.leaseLeftMs() > 0) {
      // Renewed since the watch was armed (noteRenewal leaves it be).
      this.#armLeaseExpiry();
      return;
    }
    const locks = [...this.opens].flatMap((o) => o.locks)
      .filter((l) => l.bad === undefined && l.ranges.length > 0 && l.lostAt === undefined);
    if (locks.length === 0) return;
    const now = this.clock.now();
    // The renewal timer still waiting past its time (this process did not
    // run), else this watch's own lateness.
    const seen = this.#leaseRanOut(
      now,
      this.#renewTimer !== undefined
        ? { timer: "renewal", lateMs: now - this.#renewDueAt, stillWaiting: true }
        : { timer: "lease", lateMs: now - this.#expiryDueAt, stillWaiting: false },
    );
    // The event names what happened; its detail says only what it does not.
    // The lock's own reason (`lock lost: ...`) says both.
    const reason = `lease ran out locally: ${seen}`;
    for (const lock of locks) {
      // When the lease ended, and when this client found out: after a
      // stopped process these are far apart, and the reason was measured
      // at the second (noteLockNotReclaimed says both).
      lock.lostAt = this.client.lastRenewal + this.client.leaseTime * 1000;
      lock.lostNoticedAt = now;
      lock.lostReason = reason;
      if (!this.reacquireLostLocks) procs.markLockLost(this, lock, reason);
    }
  }

  /** The lease end `lease ran out locally` was told for (client.lastRenewal then), and its words. */
  #ranOut: { readonly lastRenewal: number; readonly seen: string } | undefined;

  /**
   * Says `lease ran out locally`, once for a lease end (both the renewal
   * timer and the lease watch find it, in either order after a stopped
   * process): told by what was seen, not guessed: renewals that went out
   * and failed (a silent server, a cut connection), or a timer that fired
   * long after it was due (this process stopped or starved). The server
   * may have expired the lease meanwhile; the next renewal finds out (RFC
   * 7530 §9.6.3, RFC 8881 §8.3). Returns the words, which a lock lost with
   * the lease takes as its reason.
   */
  #leaseRanOut(
    now: number,
    late: { readonly timer: "renewal" | "lease"; readonly lateMs: number; stillWaiting: boolean },
  ): string {
    const lastRenewal = this.client.lastRenewal;
    if (this.#ranOut?.lastRenewal === lastRenewal) return this.#ranOut.seen;
    const sinceLast = now - lastRenewal;
    const timerLate = late.lateMs >= Math.max(LATE_TIMER_MS, this.client.renewalPeriodMs / 2);
    const seen = [
      `no renewal answered for ${ms(sinceLast)} with a ${this.client.leaseTime} s lease`,
      this.#renewalFailure !== undefined
        ? `last renewal: ${this.#renewalFailure}`
        : "no renewal failed meanwhile",
      ...(timerLate
        ? [
          `the ${late.timer} timer ${late.stillWaiting ? "is" : "fired"} ${
            ms(late.lateMs)
          } late: this process did not run`,
        ]
        : []),
    ].join("; ");
    this.#ranOut = { lastRenewal, seen };
    this.tracer.emit("lease", "lease ran out locally", seen, {
      noRenewalForMs: Math.round(sinceLast),
      lastRenewal: this.#renewalFailure ?? null,
      ...(timerLate ? { timerLateMs: Math.round(late.lateMs) } : {}),
    });
    return seen;
  }

  /** Milliseconds of lease left. */
  leaseLeftMs(): number {
    return this.client.lastRenewal + this.client.leaseTime * 1000 - this.clock.now();
  }

  #keepLease = false;

  /** Whether there is state the lease protects (or renewal was asked for anyway). */
  holdsState(): boolean {
    return this.opens.size > 0 || this.#keepLease;
  }

  /** Renew the lease even with no state held (renew-watch shows the lease itself). */
  keepLease(on: boolean): void {
    this.#keepLease = on;
    this.#armRenewal();
  }

  /**
   * Schedules the next renewal at 2/3 of the lease after the last one (the
   * kernel's nfs4_schedule_state_renewal: lease * 2/3), earlier for a lease
   * of a few seconds (ClientRecord.renewalPeriodMs).
   */
  #armRenewal(): void {
    this.#renewTimer?.cancel();
    // Once close() began its releases renew the lease as they go (RFC 7530
    // §9.5; each SEQUENCE on 4.1): no renewal of state being let go.
    if (this.#closed || this.#closing) return;
    this.#armLeaseExpiry();
    const period = this.client.renewalPeriodMs;
    const due = this.client.lastRenewal + period;
    const now = this.clock.now();
    // When the due time has passed without a renewal (no state held, or
    // recovery running), look again a period later rather than at once
    // (the kernel's renewd waits at least a second too).
    const wait = due > now ? due - now : period;
    this.#renewDueAt = now + wait;
    this.#renewTimer = this.clock.setTimer(() => void this.#renewTick(), wait);
  }

  /** When the renewal timer was set to fire (clock ms). */
  #renewDueAt = 0;
  /**
   * How the last renewal the timer sent failed (`RENEW -> NFS4ERR_EXPIRED`,
   * `renewal failed: …`), until one succeeds: what a lease that ran out is
   * told with.
   */
  #renewalFailure: string | undefined;

  async #renewTick(): Promise<void> {
    this.#renewTimer = undefined;
    // Interrupted, the client is ending (its release has the short window):
    // nothing is renewed any more, and no renewal refused by the interrupt
    // is traced every period for as long as the process lives (`nfs4 lock
    // --on-lost ignore` stops its client at the loss while COMMAND runs on).
    // The lease watch (#armLeaseExpiry) still says when the lease runs out.
    if (this.#closed || this.#interrupted) return;
    const now = this.clock.now();
    const sinceLast = now - this.client.lastRenewal;
    const period = this.client.renewalPeriodMs;
    if (this.holdsState() && this.leaseLeftMs() < 0) {
      // The renewal below finds out what the server made of it.
      this.#leaseRanOut(now, {
        timer: "renewal",
        lateMs: now - this.#renewDueAt,
        stillWaiting: false,
      });
    }
    if (
      this.holdsState() && this.#renewsNow() && this.client.clientId !== undefined &&
      sinceLast >= period - 1
    ) {
      try {
        const status = await procs.renewLease(this, "renewer");
        const op = this.minorVersion === 0 ? "RENEW" : "SEQUENCE";
        this.#renewalFailure = status === S.NFS4_OK ? undefined : `${op} -> ${statusName(status)}`;
        if (status !== S.NFS4_OK) this.applyLeaseError(status, op);
      } catch (e) {
        this.#renewalFailure = `renewal failed: ${(e as Error).message}`;
        this.tracer.emit("lease", "renewal failed", `renewer: ${(e as Error).message}`, {
          by: "renewer",
        });
        if (e instanceof RpcError && e.retriable) {
          this.setFlag("CHECK_LEASE", `renewal failed: ${(e as Error).message}`);
        }
      }
    }
    this.#armRenewal();
  }

  /**
   * Whether the timer's renewal goes out now: always but while recovery
   * runs, and then while it reclaims state under a client ID it holds. A
   * reclaim may wait out the server's grace period, longer than the lease,
   * with OPENs answered NFS4ERR_GRACE, which renew nothing on 4.0: renewal
   * must go on, as the kernel's renewd goes on whatever the state manager
   * does (nfs4renewd.c), or the server expires the client ID recovery just
   * made (RFC 7530 §9.5, §9.6.2). While the lease or the session is being
   * re-established there is nothing to renew.
   */
  #renewsNow(): boolean {
    return !this.#loop || this.#handling === "RECLAIM_REBOOT" ||
      this.#handling === "RECLAIM_NOGRACE";
  }

  /**
   * Sends a renewal now (renew-watch, the shell's `renew`, a drill's check,
   * tests), traced as sent by `by` (default `lease probe`), not by the renewer.
   */
  async renewNow(by: procs.RenewalSender = "lease probe"): Promise<number> {
    return await this.whileAwaited(() => this.#renewNow(by));
  }

  async #renewNow(by: procs.RenewalSender): Promise<number> {
    const status = await procs.renewLease(this, by);
    if (status !== S.NFS4_OK) {
      this.applyLeaseError(status, this.minorVersion === 0 ? "RENEW" : "SEQUENCE");
    }
    this.#armRenewal();
    return status;
  }

  // -------------------------------------------------------- ordinary calls

  /** Establishes the client ID (and session) if not yet done. */
  async start(): Promise<void> {
    if (this.client.clientId === undefined && !this.hasFlag("LEASE_EXPIRED")) {
      this.setFlag("LEASE_EXPIRED", "new client");
    }
    await this.whileAwaited(() => this.waitForRecovery());
  }

  /**
   * Runs `work`, which a caller awaits, with the event loop held under Bun
   * and Node (lib/os/timers.ts holdEventLoop): its waits are unref'd timers
   * (resend backoff, DELAY, GRACE, recovery), and with no socket left (the
   * server refused the connection) Bun then polls its event loop at 100% of
   * a core, and Node ends the program (exit 13) with the call pending. Not
   * under Deno, which sleeps on such timers while a caller awaits. What the
   * state manager does on its own (renewal, the lease watch, a recovery no
   * call waits for) is not held: an idle client keeps no program alive.
   * @internal the client API's own waits that are no run() (probeLease)
   */
  whileAwaited<T>(work: () => Promise<T>): Promise<T> {
    if (!HOLD_FOR_OPERATIONS) return work();
    const letGo = holdEventLoop();
    return work().finally(letGo);
  }

  /**
   * Sends one COMPOUND for an ordinary operation and returns its results,
   * handling every status through the table: waits while recovery runs,
   * retries with fresh stateids and seqids (`build` is called for each
   * attempt), and throws `NfsError` for a final status or
   * `BadStateError` for a state recovery gave up.
   *
   * Everything it waits for ends by its deadline (`recoveryTimeoutMs` from
   * the call): DELAY and GRACE, the backoff after a recovery, the wait for
   * recovery ({@linkcode RecoveryTimeoutError} when recovery still runs
   * then; recovery goes on) and the resends of a request that got no reply
   * ({@linkcode ServerNotRespondingError}). Nothing is sent after it, so the
   * call ends by then plus what is left of the one transmission in flight
   * (at most `callTimeoutMs`). Waiting for a turn to send (a free 4.1 slot,
   * a 4.0 owner's previous request) ends at the deadline too, with
   * {@linkcode SendWaitTimeoutError} and nothing sent. Exceptions: a 4.0
   * OPEN_CONFIRM (`underOwners`) or settling CLOSE
   * (`refusedUnderOwners`) follows an answer that came in the last
   * transmission, once (one more `callTimeoutMs`). The state manager's own
   * requests (`inRecovery`) and the releases once close() began or after
   * an interrupt keep their bounds: a resend budget per request, and the
   * release window.
   */
  run<T extends OpList>(build: () => T, options: RunOptions = {}): Promise<ResultsOf<T>> {
    // A caller's operation holds the event loop while it runs
    // (whileAwaited); the state manager's own requests (`inRecovery`) do
    // not: a caller waiting on that recovery holds it already, and one no
    // caller waits for must not keep a finished program alive.
    if (options.inRecovery) return this.#run(build, options);
    return this.whileAwaited(() => this.#run(build, options));
  }

  async #run<T extends OpList>(build: () => T, options: RunOptions): Promise<ResultsOf<T>> {
    const started = this.clock.now();
    const deadline = started + this.recoveryTimeoutMs;
    /**
     * An ordinary operation: its deadline also bounds its wait for recovery
     * and its resends (README "Deadlines and signals": nothing is sent for
     * it after the deadline, so it ends by then but for the call in
     * flight). The state manager's own requests (recovery goes on whoever
     * waits for it) and the releases once close() began or after an
     * interrupt (bounded by their own window) keep a resend budget per
     * request, as before.
     */
    const bounded = !options.inRecovery && !this.#onlyReleases;
    /** Its last answer, and what it answered: what giving up on recovery reports. */
    let lastReply: CompoundReply | undefined;
    let lastOps: T | undefined;
    const answerBy = options.answerWithinMs === undefined
      ? undefined
      : this.clock.now() + options.answerWithinMs;
    let backoff = RETRY_MIN_MS;
    let immediateRetries = 0;
    /** READ/WRITE resends after NFS4ERR_OLD_STATEID for a stateid moved on meanwhile (case "retry"). */
    let movedOnResends = 0;
    // The room a request is given to be answered before `answerBy`: twice
    // the longest this call's own attempts took to be answered, never less
    // than LAST_SEND_ROOM_MS. Its own, not the session's: a big WRITE or a
    // slow COMMIT beside it says nothing of how soon a LOCK is answered.
    let longestTripMs = 0;
    const sendRoom = () => Math.max(LAST_SEND_ROOM_MS, 2 * longestTripMs);
    let leaseChecked = false;
    let recoveries = 0;
    /** 4.0 NFS4ERR_BAD_SEQIDs that took the owners' guessed seqids back one. */
    let seqidTakenBack = 0;
    /**
     * An attempt's resend was answered in a way that leaves unknown whether
     * its first transmission ran (#leftUnknown): a state change sent again
     * may meet its own effect, so a later attempt's failure is marked as
     * answering a resend (NfsError.answeredResend), for the caller to look
     * the effect up rather than take NFS4ERR_EXIST or NOENT at its word.
     */
    let mayHaveRun = false;
    /** An attempt was made already (sent, or given to #sendUnderOwners to send). */
    let attempted = false;
    /** A DELAY/GRACE wait just ended, sized to leave the room before `answerBy`: send now. */
    let waitedForRoom = false;
    for (;;) {
      // `signal` is a hard limit (lock -w, Ctrl-C): it also stops a request
      // in flight. Its outcome is then unknown; send() leaves the slot (4.1)
      // or the owner (4.0, retired below) out of use, and a LOCK the server
      // may have granted lapses with the lease. The trace says so.
      options.signal?.throwIfAborted();
      this.#stop.signal.throwIfAborted();
      this.#stopIfStepInterrupted(options);
      // Once close() began only its release is sent: anything else (a call
      // begun meanwhile, or one going round again after a retry) is refused
      // here, before it waits for anything (see shutdown()).
      if (this.#closed || (this.#closing && !options.inRecovery)) {
        this.#refuseWhileClosing(build, options);
      }
      // A soft stop (operation_scope.ts) ends the work before a send and
      // in waits, never with a request in flight.
      // The caller's signal, and the work's soft stop beside it when both are
      // there (`lockWithWait` gives a deadline and runs in a verb's scope).
      const scoped = options.inRecovery ? undefined : operationSignal();
      const soft = options.signal === undefined
        ? scoped
        : scoped === undefined || scoped === options.signal
        ? options.signal
        : AbortSignal.any([options.signal, scoped]);
      soft?.throwIfAborted();
      // Nothing to wait for most of the time: no promise made for it then.
      if (!options.inRecovery && (this.#loop || this.#fatal)) {
        if (!bounded) {
          await this.waitForRecovery(soft);
        } else if (!await this.#recoveredBy(deadline, soft)) {
          // Recovery still runs at the operation's deadline: the operation
          // stops waiting (not sent again), recovery goes on.
          throw this.#recoveryNotDone(started, lastReply, lastOps, mayHaveRun);
        }
      }
      if (
        answerBy !== undefined && attempted && !waitedForRoom &&
        answerBy - this.clock.now() < sendRoom()
      ) {
        // Sent again (after a recovery, a resend's answer) with no room left
        // to be answered before the caller stops it: not sent, so nothing is
        // left in flight (a LOCK the server might grant); the caller's stop
        // (`signal`, which comes with answerWithinMs) is the answer.
        this.tracer.emit("retry", "not sent again", "no room before the caller's deadline");
        await this.clock.sleep(
          Math.max(0, answerBy - this.clock.now()) + sendRoom(),
          this.#signal(soft),
        );
      }
      // Again after the waits: close() may have begun meanwhile.
      if (this.#closed || (this.#closing && !options.inRecovery)) {
        this.#refuseWhileClosing(build, options);
      }
      attempted = true;
      waitedForRoom = false;
      const sendStarted = this.clock.now();
      const states = options.states;
      if (states) { for (const state of states) state.assertUsable(); }
      const gone = options.stateGone?.();
      if (gone !== undefined) throw new StateDroppedError(gone);
      let owners = this.minorVersion === 0 ? options.seqidOwners ?? NO_OWNERS : NO_OWNERS;
      let ops!: T;
      let reply: CompoundReply;
      try {
        if (
          owners.length === 0 && !options.underOwners && !options.recordUnderOwners &&
          !options.seqidOwnersInTurn
        ) {
          // No owner to serialise or advance, nothing to run under them (a
          // READ, a WRITE, most calls): what the general path below does
          // then, without its two async closures per call. send() reads only
          // `cacheThis` and `signal` of the options.
          ops = build();
          reply = await this.send(ops, options, soft, bounded ? deadline : undefined);
        } else {
          const built: { ops?: T; owners?: readonly StateOwner[] } = {};
          try {
            reply = await this.#sendUnderOwners(
              owners,
              build,
              options,
              built,
              soft,
              bounded ? deadline : undefined,
            );
          } finally {
            if (built.ops !== undefined) ops = built.ops;
            // With those taken in turn (seqidOwnersInTurn): every owner
            // whose seqid the ops sent carry, retired with the others.
            if (built.owners !== undefined) owners = built.owners;
          }
        }
        longestTripMs = Math.max(longestTripMs, this.clock.now() - sendStarted);
      } catch (e) {
        const abandoned = this.#abandoned(options);
        if (ops && this.#outcomeUnknown(e, options)) {
          // send() resent it until it gave up, or it was stopped in flight.
          // 4.0: the owners' seqids are now out of step in an unknown way
          // (exactly_once.ts).
          if (abandoned) {
            this.tracer.emit(
              "retry",
              `${opNames(ops)} abandoned`,
              "stopped while in flight: the server may have run it",
            );
          }
          for (const owner of owners) this.#retireOwner(owner, `no reply to ${opNames(ops)}`);
          options.onOutcomeUnknown?.();
          throw e;
        }
        if (e instanceof SendWaitTimeoutError && mayHaveRun && lastOps !== undefined) {
          // Not sent this time, but an earlier attempt's outcome was left unknown.
          throw new SendWaitTimeoutError(e.server, e.waitedMs, e.detail, opNames(lastOps));
        }
        if (
          e instanceof NfsError && !options.inRecovery && this.clock.now() < deadline &&
          (e.status === S.NFS4ERR_BADSESSION || e.status === S.NFS4ERR_DEADSESSION)
        ) {
          // It waited for a slot of a session that was reset meanwhile:
          // send it on the new session once recovery is done.
          continue;
        }
        throw e;
      }
      if (!mayHaveRun && this.#answersToResends.has(reply)) {
        mayHaveRun = this.#leftUnknown(reply, ops);
      }
      lastReply = reply;
      lastOps = ops;
      // A failure with no results at all (a server that would not start the
      // COMPOUND: NFS4ERR_DELAY, NFS4ERR_RESOURCE; on 4.1 #sendNow already
      // takes it as SEQUENCE's) goes through the table as any failure, so
      // what may be waited out is; NFS4ERR_MINOR_VERS_MISMATCH (RFC 7530
      // §15.2) is the answer, for the version choice.
      const failed = firstFailed(reply.outcomes) ??
        (reply.outcomes.length === 0 && reply.status !== S.NFS4_OK &&
            reply.status !== S.NFS4ERR_MINOR_VERS_MISMATCH
          ? { name: "COMPOUND", status: reply.status }
          : undefined);
      if (!failed) {
        const foreign = options.inRecovery || options.reclaim
          ? undefined
          : this.#foreignStateid(reply, ops);
        if (foreign !== undefined) {
          // Not this request's grant (see #foreignStateid): the owners'
          // seqids are out of step in an unknown way.
          for (const owner of owners) this.#retireOwner(owner, foreign);
          throw new Nfs4ProtocolError(`${opNames(ops)}: ${foreign}: not taken as granted`);
        }
        return this.#results(reply, ops, mayHaveRun);
      }
      const status = failed.status;
      const label = `${failed.name} -> ${statusName(status)}`;
      // A SEQUENCE that failed ran nothing else: what it says of the lease
      // is never the answer a caller takes as final for its ops (a
      // release's NFS4ERR_EXPIRED), error_table.ts sequenceAction.
      const seqAction = failed.name === "SEQUENCE" ? sequenceAction(status) : undefined;
      if (seqAction?.kind !== "lease" && options.final?.has(status)) {
        return this.#results(reply, ops, mayHaveRun);
      }
      if (this.clock.now() >= deadline) return this.#results(reply, ops, mayHaveRun);
      const action: RecoveryAction = seqAction ??
        (options.reclaim && status === S.NFS4ERR_GRACE
          ? { kind: "fail" as const }
          : actionForStatus(status));
      switch (action.kind) {
        case "fail":
          return this.#results(reply, ops, mayHaveRun);
        case "delay": {
          if (action.maxWaitMs !== undefined && backoff > action.maxWaitMs) {
            // Waited out only briefly (NFS4ERR_FILE_OPEN): the status is the answer.
            this.tracer.emit(
              "retry",
              label,
              `the same after ${ms(this.clock.now() - started)}: the answer`,
            );
            return this.#results(reply, ops, mayHaveRun);
          }
          // The wait ends early enough for the next request to be answered
          // before the caller stops it (`answerBy`) and before the
          // operation's deadline, or it is not made: the status is the
          // answer. (Its last wait was a whole backoff, up to 15 s, past
          // the deadline.)
          const now = this.clock.now();
          const callerRoom = answerBy === undefined ? Infinity : answerBy - now - sendRoom();
          if (callerRoom <= 0) {
            this.tracer.emit("retry", label, "no room before the caller's deadline: the answer");
            return this.#results(reply, ops, mayHaveRun);
          }
          const room = deadline - now - sendRoom();
          if (room <= 0) {
            this.tracer.emit("retry", label, "no room before the operation's deadline: the answer");
            return this.#results(reply, ops, mayHaveRun);
          }
          const wait = Math.min(backoff, callerRoom, room);
          this.tracer.emit("retry", label, `waiting ${ms(wait)}`);
          try {
            await this.clock.sleep(wait, this.#signal(soft));
          } catch (cause) {
            // Stopped while waiting out DELAY or GRACE: the status is the answer.
            throw new NfsError(status, failed.name, { cause });
          }
          backoff = Math.min(backoff * 2, this.#maxBackoff);
          waitedForRoom = true;
          continue;
        }
        case "retry":
          // It ran, but its answer is lost: only an idempotent COMPOUND may
          // simply run again; the caller must look a state change up.
          if (status === S.NFS4ERR_RETRY_UNCACHED_REP && changesState(ops)) {
            return this.#results(reply, ops, mayHaveRun);
          }
          // NFS4ERR_OLD_STATEID to a READ or WRITE whose stateid has moved on
          // since it was sent: another handle's OPEN of the same file (an
          // upgrade of the one open the owner has of it) or a LOCK bumped
          // its seqid while it was in flight (RFC 7530 §9.1.4.2; 4.1 sends
          // seqid 0 for READ and WRITE, RFC 8881 §8.2.2, client.ts
          // ioStateid, and so does not get here from them). The server did
          // not do it (a COMPOUND stops at its first failure, RFC 7530
          // §15.2, RFC 8881 §15.1.5.5): it is sent again at once with the
          // current stateid, and not counted as a spin, as the kernel's
          // nfs4_read_stateid_changed() and nfs4_write_stateid_changed()
          // restart it. Refused though it is the newest this client holds:
          // the server ran an OPEN or LOCK whose reply is still on its way,
          // waited for briefly on 4.0 (500 ms at most). Each uncounted resend
          // follows a change of this client's own state; the deadline and a
          // cap of 256 bound them. Counted below as any retry: a stateid
          // still the newest after the wait (a server answering OLD_STATEID
          // to the current stateid ends in the status), and an answer to a
          // resend (its first transmission may have run: #leftUnknown).
          if (
            status === S.NFS4ERR_OLD_STATEID && movedOnResends < 256 &&
            (failed.name === "READ" || failed.name === "WRITE") &&
            !this.#answersToResends.has(reply)
          ) {
            type Sid = { readonly seqid: number; readonly other: Uint8Array };
            const sent = (ops.find((op) => op.name === failed.name)?.args as
              | { stateid?: Sid }
              | undefined)?.stateid;
            // The same state's stateid held now, when newer than the one sent.
            const newer = (): Sid | undefined => {
              if (!sent || sent.seqid === 0) return undefined;
              for (const held of options.states ?? []) {
                const open = "open" in held ? held.open : held;
                for (const sid of [open.stateid, ...open.locks.map((l) => l.stateid)]) {
                  if (
                    sid && hex(sid.other) === hex(sent.other) && ((sid.seqid - sent.seqid) | 0) > 0
                  ) return sid;
                }
              }
              return undefined;
            };
            const refusedAt = this.clock.now();
            // 4.0 only: 4.1 sends READ and WRITE with seqid 0, and what
            // else sends one with a seqid goes again at once, as before.
            const waitEnd = this.minorVersion === 0
              ? Math.min(refusedAt + 500, deadline - sendRoom())
              : refusedAt;
            let now = newer();
            let polls = 0;
            while (sent && sent.seqid !== 0 && !now && this.clock.now() < waitEnd) {
              polls++;
              // Stopped meanwhile (Ctrl-C, the caller's signal, a soft
              // stop): the stop is what ends the call, as it ends a wait for
              // recovery. Not the status, as a DELAY's is: OLD_STATEID here
              // is no answer of the server's to the call but a race with
              // this client's own OPEN or LOCK (RFC 7530 §9.1.4.2), which
              // the caller can do nothing with; nothing was done (RFC 7530
              // §15.2), and an interrupted command exits 130 saying
              // `interrupted`, not NFS4ERR_OLD_STATEID.
              await this.clock.sleep(2, this.#signal(soft));
              now = newer();
            }
            const waited = this.clock.now() - refusedAt;
            if (sent && now) {
              movedOnResends++;
              this.tracer.emit(
                "retry",
                label,
                `stateid ${formatStateid(sent)} moved on to ${formatStateid(now)} ${
                  polls > 0 ? `${ms(waited)} after the refusal` : "while in flight"
                }: sending again with it (not counted)`,
              );
              continue;
            }
            if (sent && polls > 0) {
              this.tracer.emit(
                "retry",
                label,
                `stateid ${formatStateid(sent)} is the newest held; none newer came in ${
                  ms(waited)
                }`,
              );
            }
          }
          // RETRY_UNCACHED_REP to a resend is what a lost reply leads to, not
          // a spin: each one follows a lost connection or timeout, and the
          // deadline above bounds them. Only immediate answers are counted.
          if (
            !(status === S.NFS4ERR_RETRY_UNCACHED_REP && this.#answersToResends.has(reply)) &&
            ++immediateRetries > 8
          ) {
            return this.#results(reply, ops, mayHaveRun);
          }
          this.tracer.emit("retry", label, "sending again");
          continue;
        case "recover":
          if (this.#fromReplacedSession.has(reply)) {
            // Sent on the session a recovery replaced since: sent again on
            // the new one, which nothing is wrong with.
            this.tracer.emit("retry", `${label} from a replaced session`, "sending again");
            if (++recoveries > 8) return this.#results(reply, ops, mayHaveRun);
            continue;
          }
          for (const flag of action.flags) this.setFlag(flag, label);
          if (options.inRecovery) return this.#results(reply, ops, mayHaveRun);
          if (this.#onlyReleases && this.#flagForReleases() === undefined) {
            // Not recovered only to be released (see #flagForReleases):
            // the status is the answer.
            this.tracer.emit(
              "retry",
              `${label} not recovered`,
              this.#interrupted ? "interrupted" : "closing",
            );
            return this.#results(reply, ops, mayHaveRun);
          }
          // The same condition right after recovery: do not spin on it.
          if (++recoveries > 8) return this.#gaveUpOnRecovery(reply, ops, mayHaveRun, started);
          if (recoveries > 1) {
            // Never past the operation's deadline, as the DELAY wait above.
            const room = deadline - this.clock.now() - sendRoom();
            if (room <= 0) {
              this.tracer.emit(
                "retry",
                label,
                "no room before the operation's deadline: the answer",
              );
              return this.#gaveUpOnRecovery(reply, ops, mayHaveRun, started);
            }
            await this.clock.sleep(Math.min(backoff, room), this.#signal(soft));
            backoff = Math.min(backoff * 2, this.#maxBackoff);
          }
          continue;
        case "recover-state": {
          // Inside recovery the loop decides (kernel nfs4_reclaim_open_state
          // hands such errors to nfs4_recovery_handle_error).
          if (options.inRecovery) return this.#results(reply, ops, mayHaveRun);
          const state = options.states?.[0];
          if (++immediateRetries > 8) return this.#results(reply, ops, mayHaveRun);
          if (!state) {
            // After an interrupt, or once close() began, no lease check
            // either: the status is the answer. Otherwise one lease check
            // for this call, which tells a lease lost (RFC 7530 §9.6.3,
            // RFC 8881 §8.3) from a stateid the server holds no longer; a
            // lease found valid leaves the status the answer, never a
            // lease check at each try for the same stateid.
            if (this.#onlyReleases || leaseChecked) return this.#results(reply, ops, mayHaveRun);
            leaseChecked = true;
            this.setFlag("CHECK_LEASE", label);
            continue;
          }
          const open = "open" in state ? state.open : state;
          if (this.#onlyReleases || open.closing || open.closed) {
            // Not opened again only to be closed: after an interrupt, or
            // once close() began, nothing new is sent but releases, and an
            // open whose CLOSE is on its way is let go by that CLOSE (RFC
            // 8881 §8.2.4, RFC 7530 §9.1.4.4: a
            // stateid the server no longer knows needs no CLOSE; a revoked
            // one is freed once the CLOSE says so, procs.ts closeOpen). The
            // status is the answer.
            this.tracer.emit(
              "retry",
              `${label} not recovered`,
              `${open.path}: ${
                this.#interrupted ? "interrupted" : this.#closing ? "closing" : "being closed"
              }`,
            );
            return this.#results(reply, ops, mayHaveRun);
          }
          if (this.sessions) {
            // RFC 8881 §8.2.4: find out which stateids are gone (TEST_STATEID).
            this.setFlag("TEST_STATEIDS", `${label} for ${formatStateid(open.stateid)}`);
          } else if (status === S.NFS4ERR_EXPIRED && !leaseChecked) {
            // RFC 7530 §13.1.5.3: on 4.0, EXPIRED means the lease that covers
            // this state ran out. Check the lease first: RENEW tells a server
            // reboot (STALE_CLIENTID: reclaim in grace) from an expiry. The
            // kernel instead re-opens this one state without grace at once,
            // which after a reboot gives up the chance to reclaim.
            leaseChecked = true;
            this.setFlag("CHECK_LEASE", `${label} for ${open.path}`);
          } else {
            open.reclaim = "nograce";
            for (const lock of open.locks) lock.needsNoGrace(label, this.clock.now());
            this.setFlag("RECLAIM_NOGRACE", `${label} for ${open.path}`);
          }
          continue;
        }
        case "bad-seqid": {
          // The owners' seqids were guessed after a request of theirs went
          // unanswered (owners.ts assumeRan): this answer says the last such
          // request did not run, and the seqid one back is no replay of
          // anything the server ran (owners.ts takeBackGuess). Sent again
          // with it: a CLOSE or LOCKU of the owner's other state, or the one
          // after a LOCK the release settles, is then not refused for good.
          // Only with one seqid owner in the COMPOUND: NFS4ERR_BAD_SEQID does
          // not say whose seqid was wrong (a LOCK with open_to_lock_owner4
          // carries the open owner's and the lock owner's, RFC 7530 §16.10.4).
          // Were a guessed open owner's guess right and the lock owner's seqid
          // the refused one, its seqid one back would be the server's last of
          // it: taken as a replay (RFC 7530 §9.1.8), answered from the reply
          // cache with that request's reply, maybe a LOCK of another file.
          const guessed = owners.length === 1 && owners[0]!.guessed ? owners : [];
          if (guessed.length > 0 && seqidTakenBack < MAX_SEQID_TAKE_BACKS) {
            seqidTakenBack++;
            for (const owner of guessed) owner.takeBackGuess();
            this.tracer.emit(
              "retry",
              label,
              `${
                guessed.map((o) => o.label).join(", ")
              }: the request left unanswered before did not run; ` +
                "its seqid again",
            );
            continue;
          }
          // RFC 7530 §9.1.7; kernel nfs4_drop_state_owner: the owner is
          // unusable; an OPEN may retry with a new owner, others fail.
          for (const owner of owners) this.#retireOwner(owner, label);
          return this.#results(reply, ops, mayHaveRun);
        }
        case "lease": {
          if (this.#fromReplacedSession.has(reply)) {
            // Said of the client ID a recovery replaced since: sent again.
            this.tracer.emit("retry", `${label} from a replaced session`, "sending again");
            if (++recoveries > 8) return this.#results(reply, ops, mayHaveRun);
            continue;
          }
          // Inside recovery the loop applies it (a step's NfsError, #runLoop).
          if (options.inRecovery) return this.#results(reply, ops, mayHaveRun);
          if (this.#onlyReleases) {
            // No new client ID only for the releases (#flagForReleases):
            // the status is the answer.
            this.tracer.emit(
              "retry",
              `${label} not recovered`,
              this.#interrupted ? "interrupted" : "closing",
            );
            return this.#results(reply, ops, mayHaveRun);
          }
          if (++recoveries > 8) return this.#gaveUpOnRecovery(reply, ops, mayHaveRun, started);
          this.applyLeaseError(status, failed.name);
          continue;
        }
      }
    }
  }

  /**
   * Throws {@linkcode ClientClosedError} for a call run() must not send:
   * any after shutdown() ended, and, once it began, any that is not part of
   * its release (a COMPOUND of {@linkcode RELEASE_OPS} only). `build` makes
   * the operations only to look at them: nothing is sent or advanced.
   */
  #refuseWhileClosing(build: () => OpList, options: RunOptions): void {
    if (!this.#closed && options.partOfRelease) return;
    if (!this.#closed && build().every((op) => RELEASE_OPS.has(op.name))) return;
    throw new ClientClosedError(this.client.server);
  }

  /**
   * Whether `reply`, which answered a resend of a state change, leaves its
   * first transmission's outcome unknown while the call goes on: on 4.1 the
   * session's reply cache could not answer (the SEQUENCE failed: the session
   * is gone, the server restarted; or NFS4ERR_RETRY_UNCACHED_REP), on 4.0
   * any failure (a duplicate request cache per connection may not know the
   * resend). A reply from the session's cache (an op's NFS4ERR_DELAY, say)
   * is the first transmission's own answer: nothing unknown.
   */
  #leftUnknown(reply: CompoundReply, ops: OpList): boolean {
    if (!changesState(ops)) return false;
    const failed = firstFailed(reply.outcomes);
    if (!failed) return false;
    return this.minorVersion === 0 || failed.name === "SEQUENCE" ||
      failed.status === S.NFS4ERR_RETRY_UNCACHED_REP;
  }

  /**
   * run()'s send under seqid owners (4.0) or with `underOwners`: serialised
   * on the owners, which advance with the reply; `built.ops` is set once
   * `build` has made them. Apart from run() so that its closures make no
   * scope objects in every run() (a READ's) call.
   */
  #sendUnderOwners<T extends OpList>(
    seqidOwners: readonly StateOwner[],
    build: () => T,
    options: RunOptions,
    built: { ops?: T; owners?: readonly StateOwner[] },
    soft: AbortSignal | undefined,
    until: number | undefined,
  ): Promise<CompoundReply> {
    // 4.1: no seqid, but a turn all the same (RunOptions.serialOwners).
    const turnOwners = this.minorVersion === 0 ? seqidOwners : options.serialOwners ?? NO_OWNERS;
    let owners = seqidOwners;
    const checkStops = () => {
      // It may have waited for the owners (another request of theirs in
      // flight): a soft stop or an interrupt that came meanwhile ends it
      // before the send.
      soft?.throwIfAborted();
      this.#stopIfStepInterrupted(options);
      // It may have waited while close() began (see run()).
      if (this.#closed || (this.#closing && !options.inRecovery)) {
        this.#refuseWhileClosing(build, options);
      }
    };
    const inTurn = () => {
      checkStops();
      const more = options.seqidOwnersInTurn?.() ?? NO_OWNERS;
      if (this.minorVersion !== 0 || more.length === 0) return underOwners();
      // Taken after those held (a LOCK's lock owner, then its open owner,
      // as nfs4_lock_prepare waits on them), and only now: its seqid is
      // advanced with theirs.
      owners = built.owners = [...seqidOwners, ...more];
      if (until === undefined || more.every((owner) => owner.idle)) {
        return withOwners(more, underOwners);
      }
      return this.#waitingUntil(
        until,
        (wait) => withOwners(more, underOwners, AbortSignal.any([this.#signal(soft), wait])),
        { owner: more.filter((owner) => !owner.idle).map((owner) => owner.label).join(", ") },
      );
    };
    const underOwners = async () => {
      checkStops();
      const ops = built.ops = build();
      const sendAdvancing = async (more: OpList) => {
        let sent: CompoundReply;
        try {
          sent = await this.send(
            more,
            {
              ...(options.cacheThis !== undefined ? { cacheThis: options.cacheThis } : {}),
              ...(options.signal ? { signal: options.signal } : {}),
            },
            undefined,
            until,
          );
        } catch (e) {
          // No answer: the server may have run it (owners.ts assumeRan).
          if (this.#outcomeUnknown(e, options) && more.some((op) => SEQID_OPS.has(op.name))) {
            for (const owner of owners) owner.assumeRan();
          }
          throw e;
        }
        const seqidOp = sent.outcomes.find((o) => SEQID_OPS.has(o.name));
        if (seqidOp) { for (const owner of owners) owner.advance(seqidOp.status); }
        return sent;
      };
      const sent = await sendAdvancing(ops);
      const allDone = sent.outcomes.every((o) => o.status === S.NFS4_OK);
      if (
        options.recordUnderOwners && allDone &&
        (options.inRecovery || options.reclaim || this.#foreignStateid(sent, ops) === undefined)
      ) {
        options.recordUnderOwners(sent.outcomes.map((o) => o.value));
      }
      if (options.underOwners && allDone) {
        await options.underOwners(sent.outcomes.map((o) => o.value), sendAdvancing);
      } else if (options.refusedUnderOwners && !allDone && owners.length > 0) {
        await options.refusedUnderOwners(sent, sendAdvancing);
      }
      return sent;
    };
    // Nothing to wait for most of the time: no timer then.
    if (until === undefined || turnOwners.every((owner) => owner.idle)) {
      return withOwners(turnOwners, inTurn);
    }
    // Behind another request of its owners: waiting for the turn ends at
    // the operation's deadline (nothing of it sent then), at an interrupt
    // or at a soft stop.
    const queuedBehind = turnOwners.filter((owner) => !owner.idle).map((owner) => owner.label);
    return this.#waitingUntil(
      until,
      (wait) => withOwners(turnOwners, inTurn, AbortSignal.any([this.#signal(soft), wait])),
      { owner: queuedBehind.join(", ") },
    );
  }

  /**
   * `wait(deadline)`, whose `deadline` signal aborts at `until`: a wait
   * for a turn to send (#sendUnderOwners, #sendNow's slot) cut then with
   * {@linkcode SendWaitTimeoutError}. At once when `until` has passed.
   */
  async #waitingUntil<T>(
    until: number,
    wait: (deadline: AbortSignal) => Promise<T>,
    waitedFor: { readonly slots: number } | { readonly owner: string },
  ): Promise<T> {
    const notSent = () => {
      const error = new SendWaitTimeoutError(
        this.client.server,
        this.clock.now() - (until - this.recoveryTimeoutMs),
        waitedFor,
      );
      this.tracer.emit(
        "retry",
        "not sent",
        "slots" in waitedFor
          ? "no session slot free by the operation's deadline"
          : `${waitedFor.owner} still busy at the operation's deadline`,
      );
      return error;
    };
    const left = until - this.clock.now();
    if (left <= 0) throw notSent();
    const due = new AbortController();
    const timer = this.clock.setTimer(() => due.abort(), left);
    try {
      return await wait(due.signal);
    } catch (e) {
      if (due.signal.aborted && e === due.signal.reason) throw notSent();
      throw e;
    } finally {
      timer.cancel();
    }
  }

  /**
   * What is wrong when a LOCK or OPEN of `reply` names, as its new state,
   * the stateid ("other") of a state this client holds for another file: a
   * stateid is one file's state (RFC 7530 §9.1.4, RFC 8881 §8.2), so that
   * answer is no grant of this request. A reply cache's answer to another
   * request (a seqid the server took as a replay, RFC 7530 §9.1.8) looks so,
   * or a server fault. Undefined when nothing is wrong.
   */
  #foreignStateid(reply: CompoundReply, ops: OpList): string | undefined {
    if (this.opens.size === 0) return undefined;
    const outcomes = reply.outcomes;
    let fh: FileHandle | undefined;
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i]!;
      if (outcome.name === "PUTFH" && ops[i]?.name === "PUTFH") {
        fh = ops[i]!.args as FileHandle;
        continue;
      }
      let stateid: Stateid;
      let file = fh;
      if (outcome.name === "LOCK") {
        stateid = outcome.value as Stateid;
      } else if (outcome.name === "OPEN") {
        stateid = (outcome.value as { stateid: Stateid }).stateid;
        // The file opened: the GETFH after it.
        file = outcomes.slice(i + 1).find((o) => o.name === "GETFH")?.value as
          | FileHandle
          | undefined;
      } else continue;
      if (file === undefined || stateid === undefined) continue;
      const key = hex(file);
      // Only states of the current client ID: a server's stateids of an
      // earlier one (before a reboot) may come again.
      const current = (state: { clientId: bigint | undefined }) =>
        state.clientId === undefined || state.clientId === this.client.clientId;
      for (const open of this.opens) {
        if (open.closed || hex(open.fh) === key) continue;
        const held = current(open) && sameStateOther(open.stateid, stateid)
          ? "open"
          : open.locks.some((l) =>
              l.stateid !== undefined && current(l) && sameStateOther(l.stateid, stateid)
            )
          ? "lock"
          : undefined;
        if (held !== undefined) {
          return `${outcome.name} answered with stateid ${
            formatStateid(stateid)
          }, the ${held} state of another file (${open.path})`;
        }
      }
    }
    return undefined;
  }

  /**
   * `compoundResults`, its failure marked when it answered a resend, or
   * `mayHaveRun` (run()'s: an earlier attempt's outcome was left unknown)
   * (NfsError.answeredResend).
   */
  #results<T extends OpList>(reply: CompoundReply, ops: T, mayHaveRun = false): ResultsOf<T> {
    try {
      return compoundResults(reply, ops);
    } catch (e) {
      // On 4.1 a resend that got past its SEQUENCE was answered from the
      // session's reply cache or ran for the first time: its answer is the
      // one run's own, nothing unknown (RFC 8881 §2.10.6.1). On 4.0 a
      // server's duplicate request cache may not know it (a reconnect).
      const unknown = mayHaveRun || (this.minorVersion === 0 && this.#answersToResends.has(reply));
      if (!(e instanceof NfsError) || !unknown) throw e;
      throw new NfsError(e.status, e.op, {
        path: e.path,
        detail: e.detail,
        opIndex: e.opIndex,
        answeredResend: true,
      });
    }
  }

  /**
   * Sends `ops` and returns the reply: on 4.1 with a SEQUENCE from a slot
   * first, whose result is processed here (slot sequence ids, slot table
   * size, status flags, lease renewal) and stripped from the reply.
   *
   * A request that gets no reply (timeout, connection lost) is sent again as
   * itself until a reply comes, the recovery deadline passes or `signal`
   * aborts (exactly_once.ts): same bytes, same xid, on 4.1 the same slot and
   * sequence id. Giving up leaves the slot uncertain, never reused.
   *
   * `softStop` (a command's, operation_scope.ts) ends it before it is sent
   * (on 4.1 it may wait for a slot first); one that changes no state and
   * is on its way is left to its answer, the caller no longer waiting.
   *
   * `until`: the deadline of the operation it is part of (run()'s), which
   * the resends stop at when it comes before the request's own (the
   * recovery deadline from its first transmission).
   */
  send(
    ops: OpList,
    options: { cacheThis?: boolean; signal?: AbortSignal } = {},
    softStop?: AbortSignal,
    until?: number,
  ): Promise<CompoundReply> {
    if (this.#closed) return Promise.reject(new ClientClosedError(this.client.server));
    const changes = options.cacheThis ?? changesState(ops);
    if (!changes) {
      const sending = this.#sendNow(ops, options, false, softStop, until);
      if (this.minorVersion === 0) {
        // Counted on 4.0: shutdown() lets it be answered before the
        // connection goes (4.1's DESTROY_SESSION drains the session instead).
        // Beside the caller's wait, not in front of it: no hop added to it.
        this.#readsInFlight++;
        sending.then(this.#readSettled, this.#readSettled);
      }
      if (!softStop || softStop.aborted) return sending;
      // A request that changes nothing is left behind at the soft stop: the
      // caller stops waiting at once (a server that stopped answering does
      // not hold a shell's Ctrl-C through every resend), while the request
      // goes on to its answer, which frees its slot as any answer does
      // (abandoning it would leave the slot uncertain, never used again).
      sending.catch(() => {});
      return new Promise<CompoundReply>((resolve, reject) => {
        const stop = () => reject(softStop.reason);
        softStop.addEventListener("abort", stop, { once: true });
        sending.then(resolve, reject).finally(() => softStop.removeEventListener("abort", stop));
      });
    }
    // Counted: shutdown() waits for the state changes in flight (`#settle`).
    this.#changesInFlight++;
    return this.#sendNow(ops, options, true, softStop, until).finally(() => {
      if (--this.#changesInFlight === 0) {
        for (const wake of this.#changesSettled.splice(0)) wake();
      }
    });
  }

  /** State-changing sends in flight, and who waits for there to be none. */
  #changesInFlight = 0;
  readonly #changesSettled: (() => void)[] = [];
  /** 4.0: the other sends in flight (GETATTR, READ, READDIR...), and who waits for none. */
  #readsInFlight = 0;
  readonly #readsSettled: (() => void)[] = [];
  readonly #readSettled = (): void => {
    if (--this.#readsInFlight === 0) {
      for (const wake of this.#readsSettled.splice(0)) wake();
    }
  };

  /**
   * 4.0, at shutdown: the requests that change nothing still in flight
   * (sent before close() began) are answered before the caller closes the
   * connection, as a 4.1 session is drained before DESTROY_SESSION: at most
   * a call timeout, or until the manager is stopped (the release window, or
   * shutdown's bound). Not when the server stopped answering.
   */
  async #readsAnswered(): Promise<void> {
    if (this.#readsInFlight === 0 || this.#unreachable) return;
    const bound = new AbortController();
    const stop = AbortSignal.any([this.#stop.signal, this.#life.signal, bound.signal]);
    try {
      await Promise.race([
        new Promise<void>((resolve) => this.#readsSettled.push(resolve)),
        this.clock.sleep(this.callTimeoutMs, stop).catch(() => {}),
      ]);
    } finally {
      bound.abort();
    }
  }

  async #sendNow(
    ops: OpList,
    options: { cacheThis?: boolean; signal?: AbortSignal },
    changes: boolean,
    softStop: AbortSignal | undefined,
    until: number | undefined,
    badSlots = 0,
    seqidOneTried = false,
  ): Promise<CompoundReply> {
    if (this.#unreachable) throw this.#unreachable;
    const sentAt = this.clock.now();
    // A state change, once sent, is stopped only when the release window
    // after an interrupt ends (`#settle`); the rest at the interrupt (the
    // caller's soft stop leaves them behind instead: send()).
    const signal = changes ? this.#settling(options.signal) : this.#signal(options.signal);
    const attempt: RpcAttempt = {};
    const callOptions = {
      credential: this.credential,
      timeoutMs: this.callTimeoutMs,
      attempt,
      signal,
    };
    /**
     * Transmissions so far: those the channel wrote (RpcAttempt.sends), not
     * the tries, so that one whose connection was refused or never made
     * (nothing sent) does not make the answer after it a resend's.
     */
    const written = () => attempt.sends ?? 0;
    if (this.minorVersion === 0) {
      const transmit = () => this.#compound({ minorVersion: 0, ops }, callOptions);
      // The first transmission here, the rest (if any) in #untilAnswered.
      const started = this.clock.now();
      let reply: CompoundReply | undefined, error: unknown;
      try {
        reply = await transmit();
      } catch (e) {
        error = e;
      }
      reply = await this.#fromFirst(
        ops,
        transmit,
        signal,
        { started, reply, error },
        until,
        attempt,
      );
      if (renewed(reply) && this.#renewsLease(ops)) this.noteRenewal(sentAt);
      // 4.0 has no session reply cache: a server whose duplicate request
      // cache is per connection runs a resend after a reconnect again.
      if (written() > 1) this.#answersToResends.add(reply);
      return reply;
    }
    const session = this.client.session;
    if (!session) {
      // Destroyed by close()'s release: nothing is sent any more, and no
      // session is made again for it (#flagForReleases).
      if (this.#sessionReleased) throw new ClientClosedError(this.client.server);
      // No session (not yet established, or lost): have one made, then retry.
      this.setFlag("SESSION_RESET", "no session");
      return syntheticFailure(S.NFS4ERR_BADSESSION);
    }
    // Waiting for a slot is before the send: the interrupt stops it, and the
    // operation's deadline (`until`, SendWaitTimeoutError).
    const slotStop = changes ? this.#signal(options.signal) : signal;
    // (A free slot is awaited too: the requests made in one tick all take
    // theirs before any builds its SEQUENCE, whose sa_highest_slotid then
    // counts them all.)
    const slot = await (session.slots.acquireNow() ??
      (until === undefined ? session.slots.acquire(slotStop) : this.#waitingUntil(
        until,
        (deadline) => session.slots.acquire(AbortSignal.any([slotStop, deadline])),
        { slots: session.slots.size },
      )));
    if (softStop?.aborted) {
      // Stopped while it waited for the slot: not sent.
      session.slots.release(slot);
      throw softStop.reason;
    }
    let reply: CompoundReply;
    /** The slot answered NFS4ERR_BADSLOT was retired: send again on another (badSlotAction). */
    let retired: { readonly slot: number; readonly target: number } | undefined;
    /** NFS4ERR_SEQ_MISORDERED, the slot set to seqid 1: send again (seqMisorderedAction). */
    let misordered: { readonly slot: number; readonly seqid: number } | undefined;
    try {
      // Built once: every resend below is this request byte for byte.
      const seq = procs.sequenceOp(session, slot, changes);
      const transmit = () =>
        this.#compound(
          { minorVersion: this.minorVersion, ops: [seq, ...ops] },
          callOptions,
          slot,
        );
      try {
        // The first transmission here, the rest (if any) in #untilAnswered:
        // its async frame only when there is something to send again.
        const started = this.clock.now();
        let answer: CompoundReply | undefined, error: unknown;
        try {
          answer = await transmit();
        } catch (e) {
          error = e;
        }
        reply = await this.#fromFirst(
          ops,
          transmit,
          signal,
          { started, reply: answer, error },
          until,
          attempt,
        );
      } catch (e) {
        // No usable answer (none came, the wait was interrupted, or it did
        // not decode): the server may or may not have run it. The slot
        // carries no other request under this seqid (RFC 8881 §2.10.6.2).
        this.#slotUncertain(session.slots, slot, e);
        throw e;
      }
      let seqOutcome = reply.outcomes[0];
      if (!seqOutcome && reply.status !== S.NFS4_OK) {
        // A failure with no results at all (how some servers answer a
        // session they no longer know): taken as the SEQUENCE's, so that
        // it goes through the table like one, and a resend it answered
        // is known as such (run()'s mayHaveRun).
        seqOutcome = { opnum: Op.SEQUENCE, name: "SEQUENCE", status: reply.status };
        reply = { status: reply.status, tag: reply.tag, outcomes: [seqOutcome] };
      }
      if (!seqOutcome) throw new NfsError(reply.status, "SEQUENCE");
      if (seqOutcome.status === S.NFS4_OK) {
        this.#sequenceDone(session, slot, seqOutcome.value as procs.SequenceResultLike, sentAt);
      } else if (seqOutcome.status === S.NFS4ERR_DELAY) {
        // Still DELAY at the deadline (#isAnswer): the server is still
        // running a request under this slot and seqid (RFC 8881 §2.10.6.2),
        // perhaps an earlier transmission whose reply was lost. The next
        // request on this slot with this seqid would be answered from that
        // one's reply cache, and with seqid+1 it may be misordered: the slot
        // is not reused.
        this.#slotUncertain(session.slots, slot, new NfsError(S.NFS4ERR_DELAY, "SEQUENCE"));
      } else if (
        seqOutcome.status === S.NFS4ERR_BADSLOT && written() === 1 &&
        badSlots < MAX_BAD_SLOT_RETRIES && this.client.session === session &&
        (until === undefined || this.clock.now() < until) &&
        badSlotAction(slot.id, session.slots.targetHighest).kind === "retry"
      ) {
        // The server shrank its slot table and let this slot go: nothing
        // ran (its SEQUENCE failed, and this was the only transmission).
        retired = { slot: slot.id, target: session.slots.targetHighest };
      } else if (
        seqOutcome.status === S.NFS4ERR_SEQ_MISORDERED && written() === 1 && !seqidOneTried &&
        this.client.session === session && (until === undefined || this.clock.now() < until) &&
        seqMisorderedAction(slot.seqid).kind === "retry"
      ) {
        // The server may have let the slot go and made it anew, expecting
        // seqid 1 (RFC 8881 §2.10.6.1): nothing ran (its SEQUENCE failed,
        // §18.46.3, and this was the only transmission), so sending it
        // again is no second execution. Seqid 1 is taken for a retry only
        // by a slot whose last request carried 1: this client's last on
        // the slot carried seqid - 1 (not 1: seqid 2 would have been in
        // order after it), and a slot made anew has run none of this
        // client's requests since (each refused, as this one). Once:
        // refused again, the status goes to the table (a session reset).
        misordered = { slot: slot.id, seqid: slot.seqid };
        slot.seqid = 1;
      } else {
        this.#sequenceFailed(slot, seqOutcome.status);
      }
    } finally {
      session.slots.release(slot);
    }
    if (retired !== undefined) {
      // Sent again at once, as a new request on a slot within the target
      // (the kernel's retry_nowait), not through the table: no session reset.
      this.tracer.emit(
        "retry",
        "SEQUENCE -> NFS4ERR_BADSLOT",
        `slot ${retired.slot} retired (target highest slot ${retired.target}): ` +
          "sending again on another slot",
      );
      return this.#sendNow(ops, options, changes, softStop, until, badSlots + 1, seqidOneTried);
    }
    if (misordered !== undefined) {
      // Sent again as a new request (the kernel's retry_nowait after
      // setting seq_nr to 1), not through the table: no session reset. The
      // slot went back to the table, now at seqid 1: the resend waits for
      // a slot like any request, and the first free one carries it.
      this.tracer.emit(
        "retry",
        "SEQUENCE -> NFS4ERR_SEQ_MISORDERED",
        `slot ${misordered.slot} seqid ${misordered.seqid}: the server may have made the slot ` +
          `anew (RFC 8881 §2.10.6.1); slot ${misordered.slot} set to seqid 1, sending again`,
      );
      return this.#sendNow(ops, options, changes, softStop, until, badSlots, true);
    }
    // A failed SEQUENCE is reported as the failing op.
    const answer: CompoundReply = reply.outcomes[0]!.status !== S.NFS4_OK
      ? { status: reply.status, tag: reply.tag, outcomes: [reply.outcomes[0]!] }
      : { status: reply.status, tag: reply.tag, outcomes: reply.outcomes.slice(1) };
    if (written() > 1) this.#answersToResends.add(answer);
    const exchange = this.#answeredExchanges.get(reply);
    if (exchange !== undefined) this.#answeredExchanges.set(answer, exchange);
    if (answer.outcomes[0]?.name === "SEQUENCE" && this.client.session !== session) {
      this.#fromReplacedSession.add(answer);
    }
    return answer;
  }

  /**
   * Whether `reply` (from send()) is a failed SEQUENCE of a session that
   * recovery replaced while the request was in flight: what it says is of
   * that session, not of the current one (procs.ts renewLease sends again).
   */
  answeredOnReplacedSession(reply: CompoundReply): boolean {
    return this.#fromReplacedSession.has(reply);
  }

  /**
   * Sends a 4.1 COMPOUND that carries no SEQUENCE (EXCHANGE_ID,
   * CREATE_SESSION, DESTROY_SESSION, BIND_CONN_TO_SESSION,
   * DESTROY_CLIENTID: RFC 8881 §2.10.6.4) and returns the reply. An
   * unanswered one is resent as itself like any other: CREATE_SESSION's
   * csa_sequence makes its resend a replay, never a second session
   * (RFC 8881 §18.36.4).
   */
  sendSessionless(ops: OpList): Promise<CompoundReply> {
    if (this.#closed) return Promise.reject(new ClientClosedError(this.client.server));
    if (this.#unreachable) return Promise.reject(this.#unreachable);
    if (
      this.#closing && this.#handling !== "SESSION_RESET" &&
      ops.some((op) => op.name === "DESTROY_SESSION")
    ) {
      // The release's DESTROY_SESSION (not a session reset's): from now on
      // no session is made again (#flagForReleases).
      this.#sessionReleased = true;
    }
    // CREATE_SESSION makes state on the server, as an OPEN does: sent, it
    // is given the release window after an interrupt to be answered (not
    // stopped by the interrupt itself, `#settle`), and shutdown() waits for
    // it (`#changesInFlight`), so that a session it made is known, and
    // destroyed by the release with the client ID. Stopped in flight, the
    // server may hold a session whose id never came: no DESTROY_SESSION can
    // name it, and DESTROY_CLIENTID is refused while it stands (procs.ts
    // releaseAll).
    const makesSession = ops.some((op) => op.name === "CREATE_SESSION");
    // One sent before the interrupt: the first half of the window (the
    // rest is the release's, CREATE_SESSION_SETTLE_MS). One sent after it
    // (a session reset for the releases, #flagForReleases): the window.
    const signal = !makesSession
      ? this.#signal()
      : this.#interrupted
      ? this.#settling()
      : this.#settling(this.#sessionSettle.signal);
    const callOptions = {
      credential: this.credential,
      timeoutMs: this.callTimeoutMs,
      attempt: {},
      signal,
    };
    const sending = this.#untilAnswered(
      ops,
      () => this.#compound({ minorVersion: this.minorVersion, ops }, callOptions),
      signal,
      undefined,
      undefined,
      callOptions.attempt,
    );
    if (!makesSession) return sending;
    this.#changesInFlight++;
    return sending.finally(() => {
      if (--this.#changesInFlight === 0) {
        for (const wake of this.#changesSettled.splice(0)) wake();
      }
    });
  }

  /**
   * One transmission of a COMPOUND. With `ops` tracing on, also its trace
   * event: xid, 4.1 slot and sequence id, each operation's status, bytes
   * each way and the round trip; nothing is built for it otherwise.
   */
  #compound(
    request: CompoundRequest,
    options: CompoundCallOptions & { readonly attempt: RpcAttempt },
    slot?: Slot,
  ): Promise<CompoundReply> {
    if (!this.tracer.wants("ops")) return this.channel.compound(request, options);
    return this.#tracedCompound(request, options, slot);
  }

  async #tracedCompound(
    request: CompoundRequest,
    options: CompoundCallOptions & { readonly attempt: RpcAttempt },
    slot: Slot | undefined,
  ): Promise<CompoundReply> {
    const attempt = options.attempt;
    delete attempt.sentBytes;
    delete attempt.receivedBytes;
    const seqid = slot?.seqid;
    const started = this.clock.now();
    const trace = (reply: CompoundReply | undefined, error?: unknown) =>
      this.tracer.compound({
        direction: "call",
        xid: attempt.xid,
        slot: slot?.id,
        seqid,
        ops: request.ops.map((op) => op.name),
        ...(reply ? { outcomes: reply.outcomes, status: reply.status } : {}),
        ...(error !== undefined
          ? { error: error instanceof Error ? error.message : String(error) }
          : {}),
        sentBytes: attempt.sentBytes,
        receivedBytes: reply ? attempt.receivedBytes : undefined,
        ms: this.clock.now() - started,
      });
    let reply: CompoundReply;
    try {
      reply = await this.channel.compound(request, options);
    } catch (e) {
      trace(undefined, e);
      throw e;
    }
    trace(reply);
    return reply;
  }

  /**
   * Calls `call` (one transmission of one request) until a reply comes:
   * after a lost connection the same request goes out again on the next,
   * with backoff, until the recovery deadline or `signal`. After a call
   * timeout on a connection that stands it is not sent again there: over
   * TCP a client "MUST NOT retry a request unless ... the transport
   * connection has been broken" (RFC 7530 §3.1.1, RFC 8881 §2.9.2). Either
   * the server answers an RPC NULL on it, and `call` waits on for the
   * reply (the transport keeps the xid: RpcCallOptions.attempt), or it
   * does not, and the connection is broken and the request sent again on a
   * new one (#afterCallTimeout). A 4.1 SEQUENCE answered NFS4ERR_DELAY is
   * sent again on the same slot and seqid: the server is still running the
   * first transmission (RFC 8881 §2.10.6.2), and a new request would run
   * it twice. `attempt` (the request's, in `call`'s options) is let go of
   * when the request is given up.
   */
  async #untilAnswered(
    ops: OpList,
    call: () => Promise<CompoundReply>,
    signal: AbortSignal | undefined,
    first?: FirstTransmission,
    until?: number,
    attempt?: RpcAttempt,
  ): Promise<CompoundReply> {
    try {
      return await this.#resendUntilAnswered(ops, call, signal, first, until);
    } finally {
      // Answered, its reply was taken; given up, one still awaited on its
      // connection is not waited for any longer.
      if (attempt !== undefined) this.channel.stopWaiting?.(attempt);
    }
  }

  /**
   * Replies answered through the resend loop (#resendUntilAnswered), resent
   * or not: when the try that got the answer began, and how many resends
   * were traced before it (0 when none; renewLease's round trip is that
   * exchange's, not the whole wait). A reply absent here was answered
   * without that loop (its first transmission, made by the caller).
   */
  readonly #answeredExchanges = new WeakMap<
    CompoundReply,
    { readonly sentAt: number; readonly resends: number }
  >();

  /** {@linkcode #answeredExchanges}' record of `reply`, when the resend loop answered it. */
  answeredExchange(
    reply: CompoundReply,
  ): { readonly sentAt: number; readonly resends: number } | undefined {
    return this.#answeredExchanges.get(reply);
  }

  async #resendUntilAnswered(
    ops: OpList,
    call: () => Promise<CompoundReply>,
    signal: AbortSignal | undefined,
    first: FirstTransmission | undefined,
    until: number | undefined,
  ): Promise<CompoundReply> {
    const started = first ? first.started : this.clock.now();
    // Its own budget, or what is left of its operation's (run()'s
    // deadline): an operation that waited for recovery, or sent other
    // requests, before this one does not get a whole budget again. But a
    // request on the wire keeps room for one resend (two call timeouts),
    // even past the operation's deadline: a lost reply is answered by
    // sending it again on its slot or seqid (RFC 8881 §2.10.6.2; the reply
    // cache has it, a change that ran is not reported as not done), where
    // giving up left the slot uncertain and cost the session.
    const deadline = Math.min(
      started + this.recoveryTimeoutMs,
      Math.max(until ?? Infinity, started + 2 * this.callTimeoutMs),
    );
    let backoff = RETRY_MIN_MS;
    /** When the try that is answered began (not a wait taken over), and the resends traced before. */
    let triedAt = started;
    let resends = 0;
    let takenOver = false;
    for (let tries = 1;; tries++) {
      let why: string;
      try {
        // The first transmission may have been made by the caller: its
        // outcome stands in for this try's.
        const given = first;
        first = undefined;
        let reply: CompoundReply;
        if (given === undefined) {
          if (!takenOver) triedAt = this.clock.now();
          takenOver = false;
          reply = await call();
        } else if (given.reply !== undefined) reply = given.reply;
        else throw given.error;
        if (given === undefined && this.#isAnswer(reply, deadline)) {
          this.#answeredExchanges.set(reply, { sentAt: triedAt, resends });
          return reply;
        }
        why = "SEQUENCE -> NFS4ERR_DELAY";
      } catch (e) {
        if (!isNoReply(e) || signal?.aborted) throw e;
        // Another request found the server gone while this one was resending.
        if (this.#unreachable) throw this.#unreachable;
        let cause = e;
        if (e instanceof RpcTimeoutError && this.clock.now() + RETRY_MIN_MS < deadline) {
          const verdict = await this.#afterCallTimeout(ops, e, signal, deadline);
          // The server answers: wait on for the reply. The same attempt
          // called again takes it over on the connection; nothing is sent.
          if (verdict.answering && this.clock.now() + RETRY_MIN_MS < deadline) {
            takenOver = true;
            continue;
          }
          if (this.#unreachable) throw this.#unreachable;
          cause = verdict.cause;
        }
        if (this.clock.now() + Math.min(backoff, RETRY_MIN_MS) >= deadline) {
          const error = new ServerNotRespondingError(
            this.client.server,
            this.clock.now() - started,
            tries,
            this.callTimeoutMs,
            cause,
            // How long its operation tried (run()'s deadline is its start's plus the budget).
            until !== undefined ? this.clock.now() - (until - this.recoveryTimeoutMs) : undefined,
          );
          // Nothing at all came back meanwhile (a reply to another request
          // just after this one went out does not count: the server has been
          // silent for all but one call timeout of the budget): it is gone,
          // and later calls, and those already resending, fail at once
          // instead of each waiting as long. A budget its operation's
          // deadline cut short (the operation waited for recovery, or sent
          // other requests, before) tells that only after as long a silence
          // (less a backoff step or two: a request sent a moment after its
          // operation began).
          const silentMs = this.clock.now() - this.#lastAnswerAt;
          const allButOneCall = this.recoveryTimeoutMs - this.callTimeoutMs;
          const gone = (this.#lastAnswerAt <= started &&
            silentMs >= this.recoveryTimeoutMs - 2 * RETRY_MIN_MS) ||
            (allButOneCall > 0 && silentMs >= allButOneCall);
          if (gone && !this.#unreachable) {
            this.#unreachable = error;
            this.tracer.emit("error", "server not responding", error.message);
            void this.#probeUntilAnswering();
          }
          throw error;
        }
        why = (cause as Error).message;
      }
      const wait = Math.min(backoff, Math.max(0, deadline - this.clock.now()));
      this.tracer.emit("retry", `${opNames(ops)} resend`, `${why}; same request in ${ms(wait)}`);
      resends++;
      await this.clock.sleep(wait, signal);
      backoff = Math.min(backoff * 2, this.#maxBackoff);
    }
  }

  /**
   * The answer, from a request's first transmission (made by send() itself,
   * so that #untilAnswered's async frame is made only when needed): its
   * reply when that is the answer, else #untilAnswered going on from it (a
   * reply to send again for, or the error it met).
   */
  #fromFirst(
    ops: OpList,
    transmit: () => Promise<CompoundReply>,
    signal: AbortSignal | undefined,
    first: FirstTransmission,
    until: number | undefined,
    attempt: RpcAttempt,
  ): CompoundReply | Promise<CompoundReply> {
    const { reply, started } = first;
    if (
      reply !== undefined &&
      this.#isAnswer(reply, Math.min(until ?? Infinity, started + this.recoveryTimeoutMs))
    ) {
      return reply;
    }
    return this.#untilAnswered(ops, transmit, signal, first, until, attempt);
  }

  /**
   * A request got no reply in a call timeout, and its connection stands.
   * Over TCP the server does not drop a request silently, so the client
   * "MUST NOT retry a request unless ... the transport connection has been
   * broken" or it is NULL (RFC 7530 §3.1.1, RFC 8881 §2.9.2): a resend on
   * the same connection would be a duplicate the server is still working
   * on (4.1: NFS4ERR_DELAY on the busy slot; 4.0 knfsd keeps no duplicate
   * request cache for COMPOUNDs, and would run a CREATE or RENAME twice).
   * The Linux client sends NFSv4 over TCP with RPC_TASK_NO_RETRANS_TIMEOUT
   * (it waits on, and resends only after a disconnect) and finds a dead
   * peer with TCP_USER_TIMEOUT (xs_tcp_set_socket_timeouts); a userspace
   * socket has no portable TCP_USER_TIMEOUT, so the same question is asked
   * in RPC: an RPC NULL (procedure 0, which may be retried, RFC 5531) on
   * the same connection (#checkConnection, one for every request waiting).
   * Answered, the server is alive but slow: the request waits on, until its
   * deadline or `signal`. Not answered within a call timeout either, the
   * connection is dead though TCP has not said so: it is broken, and every
   * request in flight on it goes out again on the next connection with the
   * same xid (4.1: slot and seqid), as after any cut. The wait for the
   * verdict ends at `deadline` or `signal` as any wait does.
   */
  async #afterCallTimeout(
    ops: OpList,
    error: RpcTimeoutError,
    signal: AbortSignal | undefined,
    deadline: number,
  ): Promise<{ answering: boolean; cause: unknown }> {
    const check = this.#checkConnection(ops, error.timeoutMs);
    const bound = new AbortController();
    const stop = signal ? AbortSignal.any([signal, bound.signal]) : bound.signal;
    let verdict: ConnectionVerdict | undefined;
    try {
      verdict = await Promise.race([
        check,
        this.clock.sleep(Math.max(0, deadline - this.clock.now()), stop).then(
          () => undefined,
          (e) => {
            if (signal?.aborted) throw e;
            return undefined;
          },
        ),
      ]);
    } finally {
      bound.abort();
    }
    if (verdict === "answering") return { answering: true, cause: error };
    if (verdict === "dropped") {
      return {
        answering: false,
        cause: new Error(`${error.message}; no answer to RPC NULL either: connection dropped`, {
          cause: error,
        }),
      };
    }
    // The connection was lost meanwhile (the request goes out again on the
    // next), or the deadline came first.
    return { answering: false, cause: error };
  }

  /** The RPC NULL probe after a call timeout, shared by the requests waiting meanwhile. */
  #connectionCheck: Promise<ConnectionVerdict> | undefined;

  #checkConnection(ops: OpList, timeoutMs: number): Promise<ConnectionVerdict> {
    this.#connectionCheck ??= this.#probeConnection(ops, timeoutMs).finally(() => {
      this.#connectionCheck = undefined;
    });
    return this.#connectionCheck;
  }

  /**
   * See #afterCallTimeout: NULL on the connection; unanswered, the
   * connection is broken, unless replies to other requests came on it while
   * the NULL waited: NULL's reply comes in TCP order behind theirs (large
   * READ replies) and its call may wait behind a full send buffer, so a
   * connection that answers is not dropped: dropping it would send its
   * requests again to a live server (RFC 7530 §3.1.1). Counted from the
   * probe's start, not from the timed-out request's send: replies before
   * that request timed out say nothing of the connection since.
   */
  async #probeConnection(ops: OpList, timeoutMs: number): Promise<ConnectionVerdict> {
    const silence = `no answer in ${seconds(timeoutMs)} to ${opNames(ops)}`;
    // Per connection when the channel tells (the transport's reply records);
    // otherwise the replies this manager was given.
    const channelMark = this.channel.replyMark?.();
    const answers = this.#answers;
    const repliedMeanwhile = () =>
      channelMark !== undefined && this.channel.repliedSince
        ? this.channel.repliedSince(channelMark)
        : this.#answers > answers;
    try {
      await this.channel.ping({ timeoutMs: this.callTimeoutMs, signal: this.#life.signal });
    } catch (e) {
      if (e instanceof RpcTimeoutError && repliedMeanwhile()) {
        this.#lastAnswerAt = this.clock.now();
        this.tracer.emit(
          "conn",
          silence,
          "RPC NULL unanswered but other replies came on the connection: waiting on (not sent again)",
        );
        return "answering";
      }
      if (e instanceof RpcTimeoutError) {
        this.tracer.emit("conn", silence, "RPC NULL unanswered too: reconnecting");
        this.channel.dropConnection?.(
          `${silence} and to RPC NULL in ${seconds(this.callTimeoutMs)}`,
        );
        return "dropped";
      }
      // An RPC-level refusal of NULL is an answer all the same: the server is there.
      if (e instanceof RpcError && !e.retriable && !(e instanceof RpcConnectionError)) {
        return this.#answering(silence);
      }
      // The connection went (the requests on it are sent again on the
      // next), or the manager closed.
      return "lost";
    }
    return this.#answering(silence);
  }

  #answering(silence: string): ConnectionVerdict {
    this.#lastAnswerAt = this.clock.now();
    this.tracer.emit("conn", silence, "RPC NULL answered: waiting on (not sent again)");
    return "answering";
  }

  /**
   * Notes that a reply came, and tells whether it is the answer: anything
   * but a 4.1 SEQUENCE answered NFS4ERR_DELAY before `deadline` (the
   * request's resend deadline, #untilAnswered; that one goes out again).
   */
  #isAnswer(reply: CompoundReply, deadline: number): boolean {
    this.#lastAnswerAt = this.clock.now();
    this.#answers++;
    const seq = reply.outcomes[0];
    if (this.minorVersion === 0 || seq?.name !== "SEQUENCE") return true;
    return seq.status !== S.NFS4ERR_DELAY || this.clock.now() >= deadline;
  }

  /**
   * While the server is judged unreachable, an RPC NULL every call timeout
   * (at least a second) finds out when it answers again: then requests flow
   * again. A server whose NULL answers was only starving us (all slots busy
   * or uncertain), not gone.
   */
  async #probeUntilAnswering(): Promise<void> {
    const every = Math.max(1000, this.callTimeoutMs);
    const signal = AbortSignal.any([this.#stop.signal, this.#life.signal]);
    while (this.#unreachable && !signal.aborted) {
      try {
        await this.channel.ping({ timeoutMs: this.callTimeoutMs, signal });
        this.#unreachable = undefined;
        this.#lastAnswerAt = this.clock.now();
        this.tracer.emit("conn", "server answering again", "RPC NULL answered");
        return;
      } catch {
        try {
          await this.clock.sleep(every, signal);
        } catch {
          return;
        }
      }
    }
  }

  /** A slot whose request went unanswered: out of use until the session is reset. */
  #slotUncertain(slots: SlotTable, slot: Slot, cause: unknown): void {
    slot.uncertain = true;
    this.tracer.emit(
      "sess",
      `slot ${slot.id} uncertain`,
      `seqid ${slot.seqid} unanswered (${(cause as Error).message}); not reused`,
    );
    if (slots.allUncertain) this.setFlag("SESSION_RESET", "every slot uncertain");
  }

  /**
   * SEQ4_STATUS bits about what this client does not use, taken out of
   * `flags` and noted once each (RFC 8881 §18.46.3):
   * CB_GSS_CONTEXTS_EXPIRING/EXPIRED concern RPCSEC_GSS callback contexts
   * (CREATE_SESSION offers AUTH_NONE callbacks only), DEVID_CHANGED/DELETED
   * pNFS device IDs (no layout is ever asked for). The kernel does not act
   * on them either (nfs41_handle_sequence_flag_errors).
   */
  #noteUnusedStatus(flags: number): number {
    const unused: readonly [number, string][] = [
      [SeqStatus.CB_GSS_CONTEXTS_EXPIRING, "no RPCSEC_GSS callback context is used"],
      [SeqStatus.CB_GSS_CONTEXTS_EXPIRED, "no RPCSEC_GSS callback context is used"],
      [SeqStatus.DEVID_CHANGED, "no pNFS device is used"],
      [SeqStatus.DEVID_DELETED, "no pNFS device is used"],
    ];
    for (const [bit, why] of unused) {
      if (!(flags & bit)) continue;
      flags &= ~bit;
      if (this.#unusedStatusNoted.has(bit)) continue;
      this.#unusedStatusNoted.add(bit);
      this.tracer.emit("sess", "status flag ignored", `${seqStatusNames(bit)[0]}: ${why}`);
    }
    return flags;
  }

  /**
   * SEQ4_STATUS_BACKCHANNEL_FAULT (a session reset) and
   * SEQ4_STATUS_RESTART_RECLAIM_NEEDED (a reclaim) are acted on at most
   * once per lease period each: a server that never clears the bit (RFC
   * 8881 §18.46.3 has it cleared once the client has reset the session or
   * sent RECLAIM_COMPLETE) would otherwise get the same recovery after
   * every COMPOUND; the kernel loops so (nfs41_handle_sequence_flag_errors).
   * As LEASE_MOVED and a CB_PATH_DOWN that binding does not cure (above),
   * the bit is then taken out of `flags` and noted once; set again a lease
   * period later it is acted on again, so a server that asks anew is not
   * ignored for good. A reply without the bit ends the damping. The bit set
   * while the recovery it started is pending is only taken out.
   */
  #dampRepeatedStatus(flags: number): number {
    const damped: readonly [number, string, readonly ClientFlag[]][] = [
      [SeqStatus.BACKCHANNEL_FAULT, "session reset", ["SESSION_RESET"]],
      [SeqStatus.RESTART_RECLAIM_NEEDED, "reclaim", ["RECLAIM_REBOOT", "RECLAIM_NOGRACE"]],
    ];
    const now = this.clock.now();
    const periodMs = this.client.leaseTime * 1000;
    for (const [bit, recovery, pending] of damped) {
      if (!(flags & bit)) {
        this.#statusActedOn.delete(bit);
        continue;
      }
      const acted = this.#statusActedOn.get(bit);
      if (acted === undefined || now - acted.at >= periodMs) {
        this.#statusActedOn.set(bit, { at: now, noted: false });
        continue;
      }
      flags &= ~bit;
      if (acted.noted || pending.some((flag) => this.hasFlag(flag))) continue;
      acted.noted = true;
      this.tracer.emit(
        "sess",
        "status flag still set",
        `${seqStatusNames(bit)[0]} after the ${recovery} it asked for at ${
          this.tracer.at(acted.at)
        }: not acted on again before ${this.tracer.at(acted.at + periodMs)}`,
      );
    }
    return flags;
  }

  #sequenceDone(
    session: { slots: SlotTable; flags: number },
    slot: Slot,
    result: procs.SequenceResultLike,
    sentAt: number,
  ): void {
    slot.seqid = (slot.seqid + 1) >>> 0;
    slot.uncertain = false;
    session.slots.update(result.highestSlotid, result.targetHighestSlotid);
    this.noteRenewal(sentAt);
    let flags = result.statusFlags;
    this.#revokedBitsSeen = flags & REVOKED_STATE_BITS;
    if (
      flags & CB_PATH_DOWN_BITS &&
      !(session.flags & CreateSessionFlags.CREATE_SESSION4_FLAG_CONN_BACK_CHAN)
    ) {
      // No back channel was asked for, so the server rightly reports the
      // callback path down on every SEQUENCE; binding the connection would
      // not change that. Say so once and run without delegations.
      flags &= ~CB_PATH_DOWN_BITS;
      if (!this.#noBackChannelNoted) {
        this.#noBackChannelNoted = true;
        this.tracer.emit(
          "cb",
          "no back channel",
          `server reports ${
            seqStatusNames(result.statusFlags & CB_PATH_DOWN_BITS).join("|")
          }; running without delegations`,
        );
      }
    } else if (flags & CB_PATH_DOWN_BITS) {
      const bound = this.#bound;
      if (this.backChannelDown) {
        // Known down on this connection: not bound again (#backChannelLost).
        flags &= ~CB_PATH_DOWN_BITS;
      } else if (
        bound !== undefined && bound.session === session &&
        bound.connection === this.#connections &&
        this.clock.now() - bound.at < BACK_CHANNEL_PROBE_MS
      ) {
        // Just bound: the server may not have checked the back channel yet.
        flags &= ~CB_PATH_DOWN_BITS;
      } else if (
        bound !== undefined && bound.session === session &&
        bound.connection === this.#connections &&
        sentAt >= bound.at
      ) {
        // Still down well after a bind of both channels on this connection.
        flags &= ~CB_PATH_DOWN_BITS;
        this.#backChannelLost(
          session,
          `${seqStatusNames(result.statusFlags & CB_PATH_DOWN_BITS).join("|")} still set ` +
            `${ms(this.clock.now() - bound.at)} after BIND_CONN_TO_SESSION`,
        );
      }
    } else if (this.#backChannelDown?.session === session) {
      // The server no longer says so: the back channel works again.
      this.#backChannelDown = undefined;
      this.tracer.emit(
        "cb",
        "back channel up",
        "SEQUENCE no longer reports the callback path down",
      );
    }
    if (flags & SeqStatus.LEASE_MOVED) {
      // A file system we hold state on has migrated (RFC 8881 §11.11.7;
      // the kernel probes fs_locations, nfs41_handle_migration). nfs4 does
      // not follow migrations (EXCHANGE_ID does not claim to): the server
      // asserts the bit until the client has probed, so acting on it would
      // send a lease check after every COMPOUND. Noted once; ops on the
      // file system that moved answer NFS4ERR_MOVED, which is reported.
      flags &= ~SeqStatus.LEASE_MOVED;
      this.#noteLeaseMoved("SEQUENCE status SEQ4_STATUS_LEASE_MOVED");
    }
    flags = this.#noteUnusedStatus(flags);
    flags = this.#dampRepeatedStatus(flags);
    if (flags !== 0) {
      const names = seqStatusNames(flags);
      const effect = sequenceFlagActions(flags);
      const reason = `SEQUENCE status ${names.join("|")}`;
      if (effect.reclaim) this.markAllForReclaim(effect.reclaim, reason);
      for (const flag of effect.set) {
        if (
          flag === "TEST_STATEIDS" && this.#revokedStillFlagged(flags & REVOKED_STATE_BITS, names)
        ) continue;
        this.setFlag(flag, reason);
      }
    }
  }

  /** The caller or an interrupt stopped the request (run()'s `signal`, #stop). */
  #abandoned(options: RunOptions): boolean {
    return options.signal?.aborted === true || this.#stop.signal.aborted;
  }

  /**
   * Whether a request that failed with `error` may have run all the same:
   * no reply came (send() resent it until it gave up) or it was stopped in
   * flight.
   */
  #outcomeUnknown(error: unknown, options: RunOptions): boolean {
    return isNoReply(error) || error instanceof ServerNotRespondingError ||
      this.#abandoned(options);
  }

  /**
   * The slot after a failed SEQUENCE (kernel nfs41_sequence_process). The
   * recovery itself comes from the status table: DELAY retries on the same
   * slot and sequence id; the session errors reset the session. Only a
   * false retry moves the slot on: the server holds a different request
   * under that sequence id (RFC 8881 §2.10.6.1.3).
   */
  #sequenceFailed(slot: Slot, status: number): void {
    // FALSE_RETRY: the server holds a different request under this seqid;
    // RETRY_UNCACHED_REP: it ran this one (RFC 8881 §2.10.6.1.3). Either way
    // the seqid is used up.
    if (status === S.NFS4ERR_SEQ_FALSE_RETRY || status === S.NFS4ERR_RETRY_UNCACHED_REP) {
      slot.seqid = (slot.seqid + 1) >>> 0;
    }
  }

  /**
   * An owner out of step with the server: later OPENs use a new open owner,
   * later new lock states a new lock owner.
   */
  #retireOwner(owner: StateOwner, why: string): void {
    if (owner.retired) return;
    if (owner instanceof OpenOwner) {
      owner.retired = true;
      this.tracer.emit("owner", `retire ${owner.label}`, why);
    } else {
      // Its lock state keeps it for LOCKU; a new lock on the file takes a
      // new lock state, with a new owner (files.ts lockStateFor).
      owner.retired = true;
      this.tracer.emit("owner", `retire ${owner.label}`, why);
    }
  }

  /**
   * 4.0: requests carrying a clientid or a stateid of ours renew the lease
   * (RFC 7530 §9.5); a READ, WRITE or SETATTR with a special stateid
   * (anonymous: chmod, touch, a small upload's SETATTR; READ bypass) names
   * no client and renews nothing, so it does not stand in for RENEW.
   */
  #renewsLease(ops: OpList): boolean {
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      if (!procs.RENEWING_OPS.has(op.name)) continue;
      if (!procs.SPECIAL_STATEID_OPS.has(op.name)) return true;
      const stateid = (op.args as { stateid?: Stateid } | undefined)?.stateid;
      if (stateid !== undefined && !isSpecialStateid(stateid)) return true;
    }
    return false;
  }

  // ------------------------------------------------------------ lifecycle

  /** The open owner for the current identity, creating or reusing one. */
  openOwner(): OpenOwner {
    const uid = this.identity.uid;
    const current = this.openOwners.get(uid);
    if (current && !current.retired) return current;
    const reused = this.idleOwners.take((o) => o.uid === uid && !o.retired);
    const owner = reused ?? new OpenOwner(uid, `u${uid}`);
    this.openOwners.set(uid, owner);
    this.tracer.emit("owner", reused ? `reuse ${owner.label}` : `new ${owner.label}`, `uid ${uid}`);
    return owner;
  }

  /**
   * Releases every state and the client ID: CLOSE each open (its locks
   * first), then on 4.1 DESTROY_SESSION and DESTROY_CLIENTID; on 4.0
   * RELEASE_LOCKOWNER (the server's lease then lapses by itself).
   *
   * From the call on, run() sends nothing but that release: any other
   * call, begun before or after, is refused at once with
   * {@linkcode ClientClosedError} before it is sent (one already sent is
   * answered, and what it made released with the rest); recovery takes only
   * the steps the releases need (a session made again while the client ID
   * stands, before the release destroys it), never a new client ID, a
   * reclaim or a new session after DESTROY_SESSION. Once it has ended,
   * every call is refused so. Called again, it returns the first call's
   * promise.
   */
  shutdown(options: { withinMs?: number } = {}): Promise<void> {
    if (this.#shutdown) return this.#shutdown;
    if (this.#closed) return Promise.resolve();
    this.#closing = true;
    return this.#shutdown = this.whileAwaited(() => this.#release(options));
  }

  /** shutdown()'s promise, once called. */
  #shutdown: Promise<void> | undefined;
  /** shutdown() began: only its release is sent (see there). */
  #closing = false;
  /** The release sent DESTROY_SESSION: no session is made again. */
  #sessionReleased = false;

  /** Whether shutdown() began (it may still be releasing). */
  get closing(): boolean {
    return this.#closing || this.#closed;
  }

  async #release(options: { withinMs?: number }): Promise<void> {
    this.#renewTimer?.cancel();
    // The release below sends a refused DELEGRETURN once more itself.
    this.#cancelDelegreturnRetry();
    // After an interrupt the release window bounds this already.
    const withinMs = options.withinMs;
    let bound: TimerHandle | undefined;
    if (withinMs !== undefined) {
      const stop = this.#stop;
      const settle = this.#settle;
      bound = this.clock.setTimer(() => {
        const ended = new RecoveryError(`shutdown gave up after ${seconds(withinMs)}`);
        stop.abort(ended);
        settle.abort(ended);
      }, withinMs);
    }
    try {
      // A state change still in flight (an OPEN sent before an interrupt)
      // is answered within the release window or this call's bound, which
      // stop it: wait for it, then let its caller record what it made, so
      // that it is released below with the rest. Again while its answer
      // leads to another (a 4.0 OPEN's OPEN_CONFIRM, sent before it is recorded).
      while (this.#changesInFlight > 0) {
        await new Promise<void>((resolve) => this.#changesSettled.push(resolve));
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
      }
      // Releasing is never stopped by the soft stop that ended the work
      // calling it (a command's, after Ctrl-C: operation_scope.ts).
      // Not after recovery failed for good (what the server holds of this
      // client is unknown), except when it failed on a session too small to
      // use: that session and the client ID stand, and are destroyed.
      if (!this.#fatal || this.#fatal instanceof SessionGrantError) {
        await outsideOperationScope(() => procs.releaseAll(this));
      }
      await this.#readsAnswered();
    } finally {
      this.tracer.flush();
      bound?.cancel();
      this.#closed = true;
      this.#life.abort();
      this.#renewTimer?.cancel();
      await this.callbackServer?.close();
    }
  }

  /** Stops timers without telling the server anything (a simulated crash). */
  abandon(): void {
    this.#closed = true;
    this.#life.abort();
    this.#renewTimer?.cancel();
    this.#cancelDelegreturnRetry();
    void this.callbackServer?.close();
    this.client.session?.slots.failWaiters(new RecoveryError("client abandoned"));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Re-arms renewal after lease time changes. */
  rearmRenewal(): void {
    this.#armRenewal();
  }
}

/**
 * Opaque bytes from the server as text when they are printable ASCII (C
 * servers often count a trailing NUL), else as `0x` and hex.
 */
function opaqueValue(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  const text = bytes.subarray(0, end);
  return end > 0 && text.every((b) => b >= 0x20 && b < 0x7f)
    ? new TextDecoder().decode(text)
    : `0x${hex(bytes)}`;
}

/**
 * A server's build date (nii_date, RFC 8881 §18.35) as ISO 8601, or its
 * seconds as sent when no Date can hold them (any 64-bit value decodes).
 */
function implDate(seconds: bigint): string {
  const date = new Date(Number(seconds) * 1000);
  return Number.isNaN(date.getTime())
    ? `${seconds} s since 1970`
    : date.toISOString().replace(/\.000Z$/, "Z");
}

/** {@linkcode opaqueValue} for a line of text: the text in quotes, or the hex. */
export function showOpaque(bytes: Uint8Array): string {
  const value = opaqueValue(bytes);
  return value === `0x${hex(bytes)}` ? value : JSON.stringify(value);
}

/** `0x6b16a81f00000005`: a client ID as ClientRecord.clientIdText and tshark give it. */
function hexClientId(clientId: bigint): string {
  return `0x${clientId.toString(16).padStart(16, "0")}`;
}

/** `promise`, or the abort reason as soon as `signal` aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * Runs `fn` with every one of `owners` serialised (StateOwner.serialise);
 * `wait`, when given, stops the waiting for their turns (not `fn`).
 */
function withOwners<T>(
  owners: readonly StateOwner[],
  fn: () => Promise<T>,
  wait?: AbortSignal,
): Promise<T> {
  if (owners.length === 0) return fn();
  const [first, ...rest] = owners;
  return first!.serialise(() => withOwners(rest, fn, wait), wait);
}

/**
 * What an RPC NULL after a call timeout found (#afterCallTimeout): the
 * server answers on the connection; it did not, and the connection was
 * broken; or the connection was lost meanwhile.
 */
type ConnectionVerdict = "answering" | "dropped" | "lost";

/**
 * A request's first transmission, made by send() itself, for #untilAnswered
 * to go on from: when it started, and the reply that must be sent again for
 * (a SEQUENCE answered NFS4ERR_DELAY, already noted) or the error it met.
 */
interface FirstTransmission {
  readonly started: number;
  /** Its reply, or undefined when it met `error`. */
  readonly reply: CompoundReply | undefined;
  readonly error: unknown;
}

/** Owners of a call that has none (one array for all). */
const NO_OWNERS: readonly StateOwner[] = Object.freeze([]);

/** The first outcome that is not NFS4_OK (a loop: no closure per call). */
function firstFailed(outcomes: readonly OpOutcome[]): OpOutcome | undefined {
  for (let i = 0; i < outcomes.length; i++) {
    const outcome = outcomes[i]!;
    if (outcome.status !== S.NFS4_OK) return outcome;
  }
  return undefined;
}

/** The call got no reply at all (timeout, connection lost): its outcome is unknown. */
function isNoReply(error: unknown): boolean {
  return error instanceof RpcError && error.retriable;
}

/** A reply standing for a SEQUENCE that could not be sent for lack of a session. */
function syntheticFailure(status: number): CompoundReply {
  return { status, tag: "", outcomes: [{ opnum: 53, name: "SEQUENCE", status }] };
}

/**
 * Whether a 4.0 reply renewed the lease: any success, and RENEW's
 * NFS4ERR_CB_PATH_DOWN, which renews it too (RFC 7530 §16.28.5).
 */
function renewed(reply: CompoundReply): boolean {
  return reply.status === S.NFS4_OK ||
    (reply.status === S.NFS4ERR_CB_PATH_DOWN && reply.outcomes.at(-1)?.name === "RENEW");
}

/**
 * The operations of a request, for the trace (`LOCKU`, `READ+CLOSE`):
 * PUTFH left out. A 4.1 request of no operations of its own is the
 * SEQUENCE alone that send() puts before them (a renewal, RFC 8881
 * §18.46): `SEQUENCE`, as 4.0's is `RENEW`.
 */
function opNames(ops: OpList | undefined): string {
  if (!ops) return "COMPOUND";
  if (ops.length === 0) return "SEQUENCE";
  const named = ops.map((o) => o.name).filter((n) => n !== "PUTFH");
  return named.length > 0 ? named.join("+") : ops.map((o) => o.name).join("+");
}

export function ms(value: number): string {
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`;
}

export { BadStateError };
