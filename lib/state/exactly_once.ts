/**
 * Who may send what again: the rules that keep a request from running twice
 * (beside the error table, which says what a status means).
 *
 * - **A request that got no reply is sent again as itself.** A timeout or a
 *   cut connection leaves its outcome unknown: the server may have run it.
 *   The resend is the same COMPOUND, byte for byte: on 4.1 the same slot,
 *   sequence id and SEQUENCE arguments (RFC 8881 §2.10.6.1.2), so the server
 *   answers from its reply cache if it ran it; on 4.0 the same owner seqid
 *   (RFC 7530 §9.1.9, the owner's replay cache) and the same xid (RFC 5531
 *   §9, the server's duplicate request cache). The caller's `build()` is not
 *   called again, so no fresher stateid or seqid slips in.
 * - **A slot carries one request per sequence id.** A slot whose last
 *   request was never answered is *uncertain*: it is not handed to another
 *   request while the session lives (RFC 8881 §2.10.6.2 would let the next
 *   request find out with seqid+1, but a server that replays by slot and
 *   seqid alone would hand that request another's reply). When every usable
 *   slot is uncertain the session is reset, which settles them all.
 * - **State-changing COMPOUNDs ask for their reply to be cached**
 *   (`sa_cachethis`, RFC 8881 §18.46.3), as the kernel does for every
 *   non-idempotent operation: a resend of a RENAME or OPEN(create) the
 *   server already ran then gets the original answer, not NFS4ERR_NOENT or
 *   NFS4ERR_EXIST.
 * - **NFS4ERR_RETRY_UNCACHED_REP means "it ran, the answer is lost"**
 *   (RFC 8881 §2.10.6.1.3): an idempotent COMPOUND is simply sent anew; for
 *   a state-changing one the status goes to the caller, who must look the
 *   result up rather than run the operation again.
 * - **4.0: an owner whose seqid-bearing request was never answered** may be
 *   out of step with the server. The request is taken as run (its seqid
 *   used up, as the kernel's nfs_increment_seqid takes a local error): sent
 *   with the same seqid, the owner's next request would be answered with
 *   the lost one's reply if the server ran it (RFC 7530 §9.1.9); with the
 *   next, a server that did not refuses it (NFS4ERR_BAD_SEQID). The owner is
 *   retired: later OPENs use a new open owner, later new lock states a new
 *   lock owner, as the kernel does after NFS4ERR_BAD_SEQID.
 * - **A handle the server calls stale or expired at a PUTFH means nothing
 *   after that PUTFH ran** (NFS4ERR_STALE, NFS4ERR_FHEXPIRED;
 *   {@linkcode staleAtPutfh}): a path operation walks its path again once
 *   and sends its COMPOUND anew, as the Linux VFS retries a path call once
 *   on ESTALE (LOOKUP_REVAL); not after a resend of a state change, nor for
 *   a stale handle met after the change was done (4.0's OPEN_CONFIRM, a
 *   SETATTR on the file an OPEN made).
 * @module
 */

import type { OpList } from "../nfs4/compound.ts";
import { NfsError } from "../nfs4/errors.ts";
import { Nfs4Status as S } from "../nfs4/status.ts";
import type { StateManager } from "./manager.ts";

/**
 * Operations whose effect a second execution would change (the kernel's
 * `cache_reply` in nfs4proc.c's nfs4_setup_sequence callers; RFC 8881 §2.10.6.1.3).
 */
const STATE_CHANGING_OPS: ReadonlySet<string> = new Set([
  "OPEN",
  "OPEN_CONFIRM",
  "OPEN_DOWNGRADE",
  "CLOSE",
  "LOCK",
  "LOCKU",
  "CREATE",
  "REMOVE",
  "RENAME",
  "LINK",
  "SETATTR",
  "WRITE",
  "COMMIT",
  "DELEGRETURN",
  "FREE_STATEID",
  "RELEASE_LOCKOWNER",
  "LAYOUTCOMMIT",
  "LAYOUTRETURN",
]);

/** Whether a COMPOUND changes state, so its reply must be cached for a resend. */
export function changesState(ops: OpList): boolean {
  return ops.some((op) => STATE_CHANGING_OPS.has(op.name));
}

/**
 * Runs a state change whose outcome may come back unknown, and settles it
 * by looking it up, never by running it again blindly (RFC 8881
 * §2.10.6.1.3). Unknown: NFS4ERR_RETRY_UNCACHED_REP (it ran, its reply was
 * not kept), or a failure that answered a resend whose first transmission
 * may have run it (NfsError.answeredResend: on 4.0 after a reconnect a
 * duplicate request cache per connection does not know the resend, so a
 * RENAME that ran says NFS4ERR_NOENT, a CREATE NFS4ERR_EXIST; on 4.1 a
 * call run again after its resend met a lost session). `done()`
 * says whether its effect is there: then it succeeded; else the status
 * stands.
 */
export async function settleUnknownOutcome(
  m: StateManager,
  op: string,
  path: string,
  change: () => Promise<unknown>,
  done: () => Promise<boolean>,
): Promise<void> {
  try {
    await change();
  } catch (e) {
    const unknown = e instanceof NfsError &&
      (e.status === S.NFS4ERR_RETRY_UNCACHED_REP || e.answeredResend);
    if (!unknown) throw e;
    if (!await lookUpOutcome(m, op, path, done)) throw e;
  }
}

/**
 * Whether a state change whose outcome is unknown took effect, by looking
 * it up (`done()`; a look-up the server refused counts as not done, one
 * that was stopped or got no answer is thrown), and the trace says so: for
 * a caller that learned of the unknown outcome some other way (a reply
 * unreadable past the op, say).
 */
export async function lookUpOutcome(
  m: StateManager,
  op: string,
  path: string,
  done: () => Promise<boolean>,
): Promise<boolean> {
  // A look-up that failed says nothing (not done, the status stands); one
  // that was stopped, or got no answer, stops the caller too.
  const effect = await done().catch((e) => {
    if (!(e instanceof NfsError)) throw e;
    return false;
  });
  m.tracer.emit(
    "retry",
    `${op} outcome looked up`,
    `${path}: ${effect ? "it was done" : "not done; the status stands"}`,
  );
  return effect;
}

/**
 * Whether `e` says a file handle is no longer good: NFS4ERR_STALE (the
 * object is gone, or a directory was replaced behind the server's cache)
 * or NFS4ERR_FHEXPIRED (a volatile handle expired, RFC 7530 §4.2.3, RFC
 * 8881 §4.2.3: the server's fh_expire_type says which may). Either way the
 * object is found again by its path.
 */
export function isStaleHandle(e: unknown): e is NfsError {
  return e instanceof NfsError &&
    (e.status === S.NFS4ERR_STALE || e.status === S.NFS4ERR_FHEXPIRED);
}

/**
 * A failure met after a state change ran (the OPEN of a create, before
 * its SETATTR, WRITE, COMMIT or CLOSE), as its caller gets it: named by
 * `path`, and with no op position, so that {@linkcode staleAtPutfh} never
 * reads a stale handle met then as "nothing ran" and a caller that walks
 * again on one never sends the change a second time (a second exclusive
 * create of the file just made). Anything but an NfsError is as it was.
 */
export function failedAfterChange(e: unknown, path: string): unknown {
  if (!(e instanceof NfsError)) return e;
  return new NfsError(e.status, e.op, {
    path,
    detail: e.detail,
    cause: e,
    answeredResend: e.answeredResend,
  });
}

/**
 * Whether `e` is a stale or expired handle ({@linkcode isStaleHandle}) at a
 * PUTFH of the caller's COMPOUND: the ops after that PUTFH did not run, so
 * the caller may walk its path again and send the COMPOUND anew (see
 * lib/client/client.ts #withWalk), unless the failure answered a resend of
 * a state change (NfsError.answeredResend: the first transmission may have
 * run it). Only for a COMPOUND whose PUTFHs all come before what it changes
 * (PUTFH OPEN, PUTFH SAVEFH PUTFH RENAME). Not a failure whose place in the
 * caller's COMPOUND is not known (`opIndex` undefined): one the state layer
 * met in a COMPOUND of its own after the caller's had run, as 4.0's `PUTFH
 * OPEN_CONFIRM` after an OPEN that was done (RFC 7530 §16.18), where the
 * stale handle is the opened file's and walking its directory again would
 * OPEN it a second time.
 */
export function staleAtPutfh(e: unknown): e is NfsError {
  return isStaleHandle(e) && e.op === "PUTFH" && e.opIndex !== undefined;
}

/**
 * Walks a path once more when a handle went stale under the walk (a
 * directory replaced behind the server's cache) or expired (a volatile
 * handle, {@linkcode isStaleHandle}), as the Linux VFS does on ESTALE
 * (LOOKUP_REVAL); a second NFS4ERR_STALE or NFS4ERR_FHEXPIRED is the answer.
 */
export async function walkAgainOnStale<T>(
  m: StateManager,
  path: string,
  walk: () => Promise<T>,
): Promise<T> {
  try {
    return await walk();
  } catch (e) {
    if (!isStaleHandle(e)) throw e;
    m.tracer.emit("retry", "path walk again", `${path}: ${e.op} -> ${e.statusName}`);
    return await walk();
  }
}
