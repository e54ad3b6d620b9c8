/**
 * What a status means: the one table that turns an nfsstat4 into a recovery
 * action (the kernel's nfs4_do_handle_exception and
 * nfs4_recovery_handle_error; RFC 7530 §9.6, §13; RFC 8881 §15.1).
 *
 * Operation code throws; the state manager looks the status up here and
 * decides. Nothing else in the code base maps statuses to recovery.
 * @module
 */

import { Nfs4Status as S } from "../nfs4/status.ts";
import type { ClientFlag } from "./flags.ts";

export type RecoveryAction =
  /** The status is the answer: report it to the caller. */
  | { readonly kind: "fail" }
  /**
   * Transient: wait with backoff and send again (DELAY, GRACE). With
   * `maxWaitMs`, only while the next wait would be at most that long; then
   * the status is the answer (FILE_OPEN).
   */
  | { readonly kind: "delay"; readonly maxWaitMs?: number }
  /** Send again at once, re-reading stateids and seqids (OLD_STATEID). */
  | { readonly kind: "retry" }
  /** Set these client flags, wait for the state manager, then send again. */
  | { readonly kind: "recover"; readonly flags: readonly ClientFlag[] }
  /**
   * The stateid used is no longer valid (revoked or expired): recover that
   * one state without grace, then send again. Without a state to recover,
   * the lease is checked instead.
   */
  | { readonly kind: "recover-state" }
  /** The open owner's seqid is out of step: retire the owner, retry with a new one. */
  | { readonly kind: "bad-seqid" }
  /**
   * The client ID's lease is gone, whatever the ops asked (SEQUENCE itself
   * failed, so none of them ran): what a lease check answered so means
   * ({@linkcode leaseErrorFlags}: a new client ID, then reclaim), then
   * send again.
   */
  | { readonly kind: "lease" };

const FAIL: RecoveryAction = { kind: "fail" };
const DELAY: RecoveryAction = { kind: "delay" };
const RETRY: RecoveryAction = { kind: "retry" };
const RECOVER_STATE: RecoveryAction = { kind: "recover-state" };
const SESSION_RESET: RecoveryAction = { kind: "recover", flags: ["SESSION_RESET"] };

/**
 * NFS4ERR_FILE_OPEN is waited out only while the next wait would be at most
 * this long: 0.1 + 0.2 + 0.4 + 0.8 s, five tries, then the status is the
 * answer. The kernel's nfs4_do_handle_exception: "We have retried a decent
 * amount, time to fail" once exception->timeout (the next wait) is past HZ,
 * and the caller gets EBUSY.
 */
export const FILE_OPEN_MAX_WAIT_MS = 1_000;

/** The ordinary-operation table. */
const TABLE = new Map<number, RecoveryAction>([
  // Transient conditions: the kernel sets exception->delay.
  [S.NFS4ERR_DELAY, DELAY],
  [S.NFS4ERR_GRACE, DELAY],
  // REMOVE or RENAME of a file that is open, where the server forbids that
  // (RFC 7530 §13.1.4, §16.25, §16.26; RFC 8881 §15.1.4, §18.25, §18.26;
  // Windows Server answers it for a file another client holds open).
  // Waiting does not clear it: a short wait for a close already on its way,
  // then the status (EBUSY to the kernel's callers, nfs4_do_handle_exception).
  [S.NFS4ERR_FILE_OPEN, { kind: "delay", maxWaitMs: FILE_OPEN_MAX_WAIT_MS }],
  [S.NFS4ERR_LAYOUTTRYLATER, DELAY],
  [S.NFS4ERR_RECALLCONFLICT, DELAY],
  [S.NFS4ERR_RETURNCONFLICT, DELAY],
  // Resend with the current stateid (RFC 8881 §8.2.2) or a fresh request.
  [S.NFS4ERR_OLD_STATEID, RETRY],
  [S.NFS4ERR_RETRY_UNCACHED_REP, RETRY],
  // The server lost our client ID or state: check the lease, which finds
  // out whether it rebooted (RFC 7530 §9.6.2; kernel nfs4_schedule_lease_recovery).
  [S.NFS4ERR_STALE_CLIENTID, { kind: "recover", flags: ["CHECK_LEASE"] }],
  [S.NFS4ERR_STALE_STATEID, { kind: "recover", flags: ["CHECK_LEASE"] }],
  // One state is gone; recover it (kernel nfs_inode_find_state_and_recover).
  [S.NFS4ERR_EXPIRED, RECOVER_STATE],
  [S.NFS4ERR_BAD_STATEID, RECOVER_STATE],
  [S.NFS4ERR_ADMIN_REVOKED, RECOVER_STATE],
  [S.NFS4ERR_DELEG_REVOKED, RECOVER_STATE],
  // Session errors (RFC 8881 §2.10.6, §15.1.11): reset the session.
  [S.NFS4ERR_BADSESSION, SESSION_RESET],
  [S.NFS4ERR_DEADSESSION, SESSION_RESET],
  // A BADSLOT for a slot above the target the server set is first sent
  // again on another slot (badSlotAction); the one that comes here resets.
  [S.NFS4ERR_BADSLOT, SESSION_RESET],
  [S.NFS4ERR_BAD_HIGH_SLOT, SESSION_RESET],
  [S.NFS4ERR_SEQ_FALSE_RETRY, SESSION_RESET],
  // A SEQ_MISORDERED on a slot whose seqid was not 1 first sets the slot
  // to seqid 1 and is sent again (seqMisorderedAction); the one that comes
  // here resets.
  [S.NFS4ERR_SEQ_MISORDERED, SESSION_RESET],
  [S.NFS4ERR_CONN_NOT_BOUND_TO_SESSION, { kind: "recover", flags: ["BIND_CONN_TO_SESSION"] }],
  // RFC 7530 §9.1.7: the server and we disagree on the owner's seqid.
  [S.NFS4ERR_BAD_SEQID, { kind: "bad-seqid" }],
]);

/** The action for a status returned by an ordinary operation. */
export function actionForStatus(status: number): RecoveryAction {
  return TABLE.get(status) ?? FAIL;
}

const LEASE: RecoveryAction = { kind: "lease" };

/**
 * The action for a status that SEQUENCE itself answered (4.1: nothing else
 * in the COMPOUND ran). NFS4ERR_EXPIRED there says the client ID's lease
 * ran out, not that a stateid of the COMPOUND did: RFC 8881 §18.46 does
 * not list it for SEQUENCE, but Ganesha 4.3 answers it for a client ID it
 * has expired (before it purges it: the next request meets
 * NFS4ERR_BADSESSION, then CREATE_SESSION NFS4ERR_STALE_CLIENTID, RFC 8881
 * §8.4.3). It is taken as the lease check would take it (the kernel's
 * nfs41_sequence_handle_errors starts lease recovery, whose SEQUENCE
 * answered NFS4ERR_EXPIRED sets LEASE_EXPIRED and a no-grace reclaim,
 * nfs4_recovery_handle_error): never as an answer for the ops, whatever a
 * caller takes as final for them (a release's NFS4ERR_EXPIRED), and never
 * as one stateid's expiry to recover. The rest as any op's status.
 */
export function sequenceAction(status: number): RecoveryAction {
  return status === S.NFS4ERR_EXPIRED ? LEASE : actionForStatus(status);
}

/**
 * Statuses that answer a FREE_STATEID for good. It frees a stateid the
 * client is letting go (RFC 8881 §8.2.4, §18.38), so what the server says
 * of that stateid is the answer: unknown or old (BAD_STATEID, OLD_STATEID,
 * STALE_STATEID), or expired or revoked (NFS4ERR_EXPIRED is not among the
 * statuses RFC 8881 §15.2 lists for FREE_STATEID, but Ganesha 4.3 answers
 * it for a stateid of an expired client ID). Nothing is recovered and no
 * lease is checked for it: the stateid is not used again, and the table's
 * RECOVER_STATE would start a lease check for a FREE_STATEID that carries
 * no state, again at each try (the kernel's nfs41_free_stateid_done retries
 * NFS4ERR_DELAY alone and recovers nothing). DELAY is waited out, and a
 * failed SEQUENCE goes through the table, as for any op.
 */
export const FREE_STATEID_FINAL: ReadonlySet<number> = new Set([
  S.NFS4ERR_BAD_STATEID,
  S.NFS4ERR_OLD_STATEID,
  S.NFS4ERR_STALE_STATEID,
  S.NFS4ERR_EXPIRED,
  S.NFS4ERR_ADMIN_REVOKED,
  S.NFS4ERR_DELEG_REVOKED,
]);

/**
 * SEQUENCE answered NFS4ERR_BADSLOT for slot `slotid` while the slot
 * table's target highest slot id is `targetHighest` (RFC 8881 §2.10.6.1,
 * §18.46.3; the kernel's nfs41_sequence_process: "The slot id we used was
 * probably retired. Try again using a different slot id"). Below the
 * target the session is wrong: reset it. At or above it, the server shrank
 * its slot table and let that slot go: send the request again at once on
 * another slot ("retry"). The server ran nothing of a COMPOUND whose
 * SEQUENCE failed; the caller sends it again this way only when the
 * BADSLOT answered its only transmission (a resend's first transmission
 * may have run before the slot went).
 */
export function badSlotAction(slotid: number, targetHighest: number): RecoveryAction {
  return slotid < targetHighest ? SESSION_RESET : RETRY;
}

/**
 * SEQUENCE answered NFS4ERR_SEQ_MISORDERED on a slot whose sequence id was
 * `slotSeqid` (RFC 8881 §2.10.6.1, §18.46.3; the kernel's
 * nfs41_sequence_process: "Could this slot have been previously retired?
 * If so, then the server may be expecting seq_nr = 1!"). Not 1: the
 * server may have let the slot go and made it anew, and expects 1: set
 * the slot's sequence id to 1 and send the request again ("retry"; it
 * waits for a slot like any request, and the first one free, this one at
 * seqid 1 or another, carries it). Already 1: the session is out of step: reset it. The server
 * ran nothing of a COMPOUND whose SEQUENCE failed; the caller sends it
 * again this way once, and only when the refusal answered its only
 * transmission (a resend's first transmission may have run before the
 * slot went), as for {@linkcode badSlotAction}.
 */
export function seqMisorderedAction(slotSeqid: number): RecoveryAction {
  return slotSeqid === 1 ? SESSION_RESET : RETRY;
}

/**
 * What DESTROY_SESSION answered means for the client destroying it (the
 * kernel's nfs4_reset_session; RFC 8881 §18.37, its errors §15.2):
 * `destroyed` (NFS4_OK, or the session gone already: BADSESSION,
 * DEADSESSION); `wait` (NFS4ERR_DELAY: a request on the session is still
 * being run; NFS4ERR_BACK_CHAN_BUSY: callbacks are outstanding; the kernel
 * sleeps a second and tries again, commit c489ee290bdb); `bind`
 * (NFS4ERR_CONN_NOT_BOUND_TO_SESSION: bind this connection, then destroy,
 * RFC 8881 §18.37.3); else `left`: the server keeps the session.
 */
export function destroySessionOutcome(
  status: number,
): "destroyed" | "wait" | "bind" | "left" {
  switch (status) {
    case S.NFS4_OK:
    case S.NFS4ERR_BADSESSION:
    case S.NFS4ERR_DEADSESSION:
      return "destroyed";
    case S.NFS4ERR_DELAY:
    case S.NFS4ERR_BACK_CHAN_BUSY:
      return "wait";
    case S.NFS4ERR_CONN_NOT_BOUND_TO_SESSION:
      return "bind";
    default:
      return "left";
  }
}

/**
 * What a lease check (RENEW, SEQUENCE) or a client-ID step answering with
 * `status` means for the client flags (kernel nfs4_recovery_handle_error).
 * `undefined` when the status is not a recovery condition.
 */
export function leaseErrorFlags(
  status: number,
): { readonly set: readonly ClientFlag[]; readonly reclaim?: "reboot" | "nograce" } | undefined {
  switch (status) {
    case S.NFS4ERR_STALE_CLIENTID:
      // The server rebooted: a new client ID, then reclaim within grace.
      return { set: ["LEASE_EXPIRED"], reclaim: "reboot" };
    case S.NFS4ERR_EXPIRED:
      // Our lease ran out: a new client ID, then reopen without grace.
      return { set: ["LEASE_EXPIRED"], reclaim: "nograce" };
    case S.NFS4ERR_BADSESSION:
    case S.NFS4ERR_DEADSESSION:
    case S.NFS4ERR_BADSLOT:
    case S.NFS4ERR_BAD_HIGH_SLOT:
    case S.NFS4ERR_SEQ_FALSE_RETRY:
    case S.NFS4ERR_SEQ_MISORDERED:
      return { set: ["SESSION_RESET"] };
    case S.NFS4ERR_CONN_NOT_BOUND_TO_SESSION:
      return { set: ["BIND_CONN_TO_SESSION"] };
    case S.NFS4ERR_CB_PATH_DOWN:
      // RFC 7530 §16.28.5: RENEW says the callback path is down; the lease
      // was renewed. Delegations must be returned (kernel nfs40_handle_cb_pathdown).
      return { set: ["DELEGRETURN"] };
    default:
      return undefined;
  }
}

/** SEQ4_STATUS_* bits (RFC 8881 §18.46.3). */
export const SeqStatus = {
  CB_PATH_DOWN: 0x1,
  CB_GSS_CONTEXTS_EXPIRING: 0x2,
  CB_GSS_CONTEXTS_EXPIRED: 0x4,
  EXPIRED_ALL_STATE_REVOKED: 0x8,
  EXPIRED_SOME_STATE_REVOKED: 0x10,
  ADMIN_STATE_REVOKED: 0x20,
  RECALLABLE_STATE_REVOKED: 0x40,
  LEASE_MOVED: 0x80,
  RESTART_RECLAIM_NEEDED: 0x100,
  CB_PATH_DOWN_SESSION: 0x200,
  BACKCHANNEL_FAULT: 0x400,
  DEVID_CHANGED: 0x800,
  DEVID_DELETED: 0x1000,
} as const;

/** Names of the bits set in a sr_status_flags value, for traces. */
export function seqStatusNames(flags: number): string[] {
  return Object.entries(SeqStatus)
    .filter(([, bit]) => (flags & bit) !== 0)
    .map(([name]) => `SEQ4_STATUS_${name}`);
}

/**
 * What SEQUENCE's status flags ask of the state manager (kernel
 * nfs41_handle_sequence_flag_errors).
 */
export function sequenceFlagActions(
  flags: number,
): { readonly set: readonly ClientFlag[]; readonly reclaim?: "reboot" | "nograce" } {
  const set: ClientFlag[] = [];
  let reclaim: "reboot" | "nograce" | undefined;
  if (flags & SeqStatus.RESTART_RECLAIM_NEEDED) reclaim = "reboot";
  if (
    flags &
    (SeqStatus.EXPIRED_ALL_STATE_REVOKED | SeqStatus.EXPIRED_SOME_STATE_REVOKED |
      SeqStatus.ADMIN_STATE_REVOKED)
  ) {
    // RFC 8881 §18.46.3: find the revoked stateids with TEST_STATEID.
    set.push("TEST_STATEIDS");
  }
  if (flags & SeqStatus.RECALLABLE_STATE_REVOKED) set.push("TEST_STATEIDS");
  // LEASE_MOVED asks for migration recovery, which nfs4 does not do: the
  // manager notes it (manager.ts #sequenceDone); a lease check would not
  // clear it.
  if (flags & SeqStatus.BACKCHANNEL_FAULT) set.push("SESSION_RESET");
  else if (flags & (SeqStatus.CB_PATH_DOWN | SeqStatus.CB_PATH_DOWN_SESSION)) {
    // The server keeps the bit set while the back channel is down (RFC 8881
    // §18.46.3): the manager removes it first where binding is known not
    // to help (no back channel asked for; a bind on this connection that
    // left it down, manager.ts #backChannelLost).
    set.push("BIND_CONN_TO_SESSION");
  }
  return reclaim ? { set, reclaim } : { set };
}
