/**
 * Stateful file operations the client layer asks of the state manager:
 * OPEN (with OPEN_CONFIRM on 4.0), CLOSE, LOCK, LOCKU. The state they
 * create lives in the manager, where recovery can find it and the trace can
 * show it (RFC 7530 §9, §16.16; RFC 8881 §18.16).
 *
 * Creates (the "creates" section): which createmode an exclusive create
 * uses on this client (EXCLUSIVE4_1; GUARDED4 on a persistent session or
 * after EXCLUSIVE4_1 was refused; EXCLUSIVE4 on 4.0), which createattrs go
 * (what the server's supported_attrs and suppattr_exclcreat allow, when
 * known), and what an OPEN's attrset says was set: what it lacks is set by
 * a SETATTR before the open is handed over. What is learned holds for the
 * client's life, per StateManager.
 *
 * Shared opens (see openFile): an open of a file this owner holds open
 * already, asking for no more than that open holds while the open denies
 * some of its own access, sends no OPEN (the server would refuse it
 * against that deny) and counts one more user of the state.
 * @module
 */

import { CreatedFileLeftError, leftBy } from "./created_left.ts";
import { failedAfterChange } from "./exactly_once.ts";
import { outsideOperationScope } from "./operation_scope.ts";
import { ChurnSet } from "../rpc/churn.ts";
import {
  Attr,
  attrId,
  attrIds,
  attrName,
  type DecodedFattr,
  type FileAttributes,
  type SettableAttributes,
} from "../nfs4/attrs.ts";
import { checkAttributesSet } from "../nfs4/attrs_set.ts";
import { CreateMode, CreateSessionFlags, OpenClaimType } from "../nfs4/constants.ts";
import { NfsError } from "../nfs4/errors.ts";
import { getattr } from "../nfs4/ops/getattr.ts";
import { getfh } from "../nfs4/ops/getfh.ts";
import { lookup } from "../nfs4/ops/lookup.ts";
import { type CreateHow, open, type OpenResult } from "../nfs4/ops/open.ts";
import { close } from "../nfs4/ops/close.ts";
import { putfh } from "../nfs4/ops/putfh.ts";
import { read } from "../nfs4/ops/read.ts";
import { remove } from "../nfs4/ops/remove.ts";
import { setattr } from "../nfs4/ops/setattr.ts";
import { verify } from "../nfs4/ops/verify.ts";
import { Nfs4Status as S } from "../nfs4/status.ts";
import {
  bytesEqual,
  type FileHandle,
  formatStateid,
  newerStateid,
  sameStateOther,
  type Verifier,
} from "../nfs4/types.ts";
import { RecoveryTimeoutError, SendWaitTimeoutError, type StateManager } from "./manager.ts";
import {
  type Delegation,
  formatRange,
  formatShare,
  type LockRange,
  LockState,
  OpenState,
  type ShareModes,
} from "./open_state.ts";
import { rangesOverlap, recordLocked } from "./lock_ranges.ts";
import { newLockOwner, type OpenOwner } from "./owners.ts";
import {
  closeOpen,
  confirmUnderOwner,
  forgetOpen,
  lockRange,
  noteDelegation,
  releaseInProgress,
  shareAccessWire,
  unlockRange,
} from "./procs.ts";

export interface OpenRequest {
  /** The directory holding the file, and its name (CLAIM_NULL). */
  readonly dirFh: FileHandle;
  readonly name: string;
  /** The path the user named, for messages and traces. */
  readonly path: string;
  /** OPEN4_SHARE_ACCESS_* */
  readonly access: number;
  readonly deny?: number;
  /**
   * Create the file: UNCHECKED4 (truncate-free), GUARDED4 (fail if it
   * exists) or exclusive (see {@linkcode exclusiveCreateHow}: EXCLUSIVE4_1,
   * EXCLUSIVE4 on 4.0, GUARDED4 on a persistent session). `attrs` the server
   * does not support are not sent; those the OPEN's attrset says it did not
   * set are set by a SETATTR before the open is handed over (see
   * {@linkcode openFile}).
   */
  readonly create?: {
    readonly mode: "unchecked" | "guarded" | "exclusive";
    readonly attrs?: SettableAttributes;
    readonly verifier?: Verifier;
  };
  /** Attributes to fetch with the OPEN. */
  readonly attrs?: Iterable<number>;
  /** RunOptions.answerWithinMs: GRACE and DELAY are the answer past it. */
  readonly answerWithinMs?: number;
  /**
   * The file's handle, when the caller has just looked the name up (a path
   * walk): an open of that handle this owner holds may then take the
   * request without an OPEN (a shared open, see {@linkcode openFile}).
   */
  readonly fh?: FileHandle;
  /**
   * The caller truncates the file once it is open (a SETATTR of size 0):
   * the OPEN is sent whatever open is held, as for a create (the Linux
   * client's can_open_cached() refuses O_TRUNC and O_EXCL).
   */
  readonly truncate?: boolean;
}

export interface OpenedFile {
  readonly state: OpenState;
  /** The OPEN's GETATTR; a shared open's own GETATTR. */
  readonly attrs: DecodedFattr;
  /** The OPEN's result; undefined for a shared open, which sent none. */
  readonly result: OpenResult | undefined;
}

/** `attrs` with FILEID among them. */
export function withFileid(attrs: Iterable<number>): number[] {
  const ids = [...attrs];
  return ids.includes(Attr.FILEID) ? ids : [...ids, Attr.FILEID];
}

/** Default attributes fetched with OPEN. */
const OPEN_ATTRS = [Attr.TYPE, Attr.SIZE, Attr.CHANGE, Attr.MODE, Attr.FILEID];

/**
 * The OPENs and CLOSEs of a manager in flight. An OPEN of a file this
 * client has open already is an upgrade of the same server state (one
 * stateid, RFC 7530 §9.1.1; the client counts its users), so an OPEN must
 * never cross a CLOSE: a CLOSE decided while an OPEN was on its way would
 * close the state that OPEN just joined, and the new user's READs fail
 * NFS4ERR_BAD_STATEID (a hard link opened under its second name while the
 * first is being closed). So an OPEN waits for the CLOSEs in flight, and a
 * CLOSE for the OPENs begun before it, then counts the users. The
 * OPEN_DOWNGRADE a close sends while other users remain is ordered the
 * same way, as part of that close: one that crossed an upgrading OPEN
 * would take away the access the OPEN just added (RFC 7530 §16.19.4: the
 * downgrade replaces the open's access and deny).
 *
 * A create that fails after its OPEN (its SETATTR refused) closes what it
 * made from inside its own openFile(), which a CLOSE would wait for: so
 * that undoing is ordered against the OPEN COMPOUNDs instead (`calls`:
 * each from its sending to its reply recorded, never waiting for anything
 * here). It waits for the OPENs already sent, which may join the state it
 * closes (then the close is one user's: procs.ts closeOpen downgrades), and
 * an OPEN sends nothing while one is `undoing`, so one sent after it opens
 * afresh, never the state being closed. See {@linkcode setAfterCreate}.
 */
const inFlight = new WeakMap<StateManager, {
  // ChurnSets: a promise per OPEN and CLOSE comes and goes (lib/rpc/churn.ts).
  readonly opens: ChurnSet<Promise<unknown>>;
  readonly closes: ChurnSet<Promise<unknown>>;
  readonly calls: ChurnSet<Promise<unknown>>;
  readonly undoing: ChurnSet<Promise<unknown>>;
  /** The openFile() calls on their way, by name: a shared open waits for one of its file. */
  readonly named: ChurnSet<NamedOpen>;
}>();

/** An openFile() on its way, until it has ended. */
interface NamedOpen {
  readonly dirFh: FileHandle;
  readonly name: string;
  /** Its place in the order openFile() was called: each waits only for those before it. */
  readonly order: number;
  readonly opening: Promise<unknown>;
}

/** The order of openFile() calls (NamedOpen). */
let openOrder = 0;

function flights(m: StateManager) {
  let f = inFlight.get(m);
  if (!f) {
    f = {
      opens: new ChurnSet(),
      closes: new ChurnSet(),
      calls: new ChurnSet(),
      undoing: new ChurnSet(),
      named: new ChurnSet(),
    };
    inFlight.set(m, f);
  }
  return f;
}

/**
 * Sends an OPEN COMPOUND (`send`: the call, and the recording of its
 * answer), after the undoing of any failed create on its way (see
 * `inFlight`), and counts it among the `calls` until it has ended.
 */
async function openCall<T>(m: StateManager, send: () => Promise<T>): Promise<T> {
  const f = flights(m);
  while (f.undoing.size > 0) await Promise.allSettled([...f.undoing]);
  // From here to the add, nothing is awaited: an undoing begun later sees this call.
  const call = send();
  f.calls.add(call);
  try {
    return await call;
  } finally {
    f.calls.delete(call);
  }
}

/**
 * OPEN by name in a directory; records the open state in the manager.
 *
 * A create is held to its answer (RFC 8881 §18.16.3, RFC 7530 §16.16.5:
 * "the server will return to the client an attribute mask signifying which
 * attributes were successfully set"): an attribute asked for in createattrs
 * and missing from the OPEN's attrset is set by a SETATTR on the new open
 * before it is handed over, as the Linux client's nfs4_exclusive_attrset
 * sends what the OPEN did not set (here for GUARDED4, EXCLUSIVE4_1, and an
 * UNCHECKED4 that made the file: its directory's change_info4 changed,
 * atomically, as _nfs4_proc_open's `file_created`). Refused, or set short
 * (its attrsset, {@linkcode AttributesNotSetError}), the file is closed and
 * removed (only while its name is still it) and the open fails: a mode the
 * server ignored never passes as set. (4.0's EXCLUSIVE4 carries no
 * attributes: its caller sets them, lib/client/client.ts.) An exclusive
 * create the server refuses as such changes how this client creates, for
 * its life, and is sent again at once ({@linkcode createRefused}).
 *
 * Shared opens. An OPEN by this owner of a file it has open is an upgrade
 * of the one open the server keeps per owner and file, which holds the
 * union of the OPENs' shares (RFC 7530 §9.11, RFC 8881 §9.9); the state
 * counts one more user. The server checks that OPEN's share like any
 * other, "with no exception for the existing OPEN held by the same owner"
 * (RFC 7530 §16.16.5, §9.9; RFC 8881 §9.7: the file's state "includes bits
 * that reflect all current opens, including those for the open-owner
 * making the new OPEN request"). So while the open denies some of its own
 * access (`read+write deny write`, `read deny read`: OpenState
 * deniesOwnAccess), every further OPEN of it is refused,
 * NFS4ERR_SHARE_DENIED: by the RFC's rule when the new access meets the
 * deny (`read` under `read deny read`), and by Ganesha (4.0 and 4.1) for
 * any, as it checks the union the upgrade would make (`read` under
 * `read+write deny write` too). Handles of one file could not share the
 * open then. When the caller knows the file's handle (`request.fh`, from a
 * walk just made, so the name is this file now), the request is neither a
 * create nor a truncate, and this owner's open of that handle holds the
 * share asked for (OpenState covers) and denies some of its own access,
 * no OPEN is sent: the request becomes one more user of the state, with a
 * GETATTR for the attributes an OPEN's would have brought (size and change
 * as the server has them now, another client's writes included), as the
 * Linux client's nfs4_try_open_cached() counts one more user of an
 * nfs4_state whose mode covers the open (can_open_cached(): not for
 * O_EXCL or O_TRUNC). See {@linkcode joinHeldOpen}.
 *
 * Any other OPEN is sent. One the open covers but that its deny does not
 * meet changes nothing on the server and is granted; it is sent all the
 * same (as Linux sends every CLAIM_NULL OPEN: can_open_cached() takes no
 * cached open for CLAIM_NULL or CLAIM_FH), for its share is then one of
 * the OPENs in effect, which a later OPEN_DOWNGRADE may narrow to (RFC
 * 7530 §16.19.4, RFC 8881 §18.18.3: "SHOULD equal the union of the
 * share_access bits ... specified for some subset of the OPENs in effect";
 * Ganesha and knfsd refuse another with NFS4ERR_INVAL). A shared open's
 * share is not one of those: when the users that hold more close, the
 * OPEN_DOWNGRADE to what it holds may be refused, and the open keeps its
 * wider share, its deny too, until the last CLOSE (procs.ts
 * downgradeOpen). An OPEN that asks for more than the open holds (an
 * upgrade: `write` under `read deny write`) is sent; when the union it
 * would make denies some of its own access the server refuses it,
 * NFS4ERR_SHARE_DENIED (RFC 7530 §9.9: "no exception for an existing OPEN
 * for the same open-owner"; Ganesha does), and that answer is the
 * caller's: the open cannot be widened while its deny stands.
 */
export async function openFile(m: StateManager, request: OpenRequest): Promise<OpenedFile> {
  const f = flights(m);
  if (f.closes.size > 0) await Promise.allSettled([...f.closes]);
  // CLOSEs begun while this waited counted the opens before this one and
  // do not wait for it: a shared open waits for them (joinHeldOpen).
  const before = { closes: [...f.closes], order: ++openOrder };
  const opening = openFileNow(m, request, before);
  f.opens.add(opening);
  const named: NamedOpen = { dirFh: request.dirFh, name: request.name, ...before, opening };
  f.named.add(named);
  try {
    return await opening;
  } finally {
    f.opens.delete(opening);
    f.named.delete(named);
  }
}

async function openFileNow(
  m: StateManager,
  request: OpenRequest,
  before: { readonly closes: readonly Promise<unknown>[]; readonly order: number },
): Promise<OpenedFile> {
  if (request.fh !== undefined && !request.create && !request.truncate) {
    const shared = await joinHeldOpen(m, request, request.fh, before);
    if (shared) return shared;
  }
  const clientid = () => m.client.clientId!;
  let owner = m.openOwner();
  for (let attempt = 0;; attempt++) {
    // Chosen again for each attempt: a refusal (below) changes how.
    const asked = request.create
      ? createAttributes(m, request.create.attrs ?? {}, request.path)
      : {};
    const create = request.create ? createHowFor(m, request.create, asked) : undefined;
    let opened: OpenedFile & { readonly result: OpenResult };
    try {
      opened = await openCall(m, async () => {
        const [, result, fh, attrs] = await m.run(
          () =>
            [
              putfh(request.dirFh),
              open({
                seqid: owner.seqid,
                shareAccess: shareAccessWire(m, request.access),
                shareDeny: request.deny ?? 0,
                owner: { clientid: clientid(), owner: owner.id },
                ...(create ? { create } : {}),
                claim: { claim: OpenClaimType.CLAIM_NULL, file: request.name },
              }),
              getfh(),
              // A create's FILEID too: a file made and then failed is removed
              // only while its name is still it (setAfterCreate).
              getattr(
                request.create
                  ? withFileid(request.attrs ?? OPEN_ATTRS)
                  : request.attrs ?? OPEN_ATTRS,
              ),
            ] as const,
          {
            seqidOwners: [owner],
            underOwners: confirmUnderOwner(m, owner, 1, 2),
            // No answer: an upgrade the server may have run (upgradeUnanswered).
            onOutcomeUnknown: () => upgradeUnanswered(m, owner, request),
            ...(request.answerWithinMs !== undefined
              ? { answerWithinMs: request.answerWithinMs }
              : {}),
          },
        );
        return { state: recordOpen(m, owner, request, result, fh, attrs.attrs), attrs, result };
      });
    } catch (e) {
      // RFC 7530 §9.1.7: BAD_SEQID retires the owner; OPEN retries with a new one.
      if (e instanceof NfsError && e.status === S.NFS4ERR_BAD_SEQID && attempt < 2) {
        owner = m.openOwner();
        continue;
      }
      if (
        create && attempt < 4 && e instanceof NfsError &&
        await createRefused(m, create, e, request.dirFh, request.path)
      ) {
        owner = m.openOwner();
        continue;
      }
      throw e instanceof NfsError ? e.withPath(request.path) : e;
    }
    if (create) {
      const missing = notSetByOpen(create, asked, opened.result);
      if (missing) await setAfterCreate(m, request, opened, missing);
    }
    return opened;
  }
}

/**
 * A user joins the open this owner holds on `fh` without an OPEN, when an
 * OPEN could not join it ({@linkcode openFile}, "Shared opens"): the open
 * holds the share asked for and denies some of its own access. Undefined:
 * the OPEN is to be sent.
 *
 * Only a live open is joined: not one closed or being closed, not one a
 * release is on its way for (an OPEN_DOWNGRADE or CLOSE, procs.ts
 * closeOpen: waited for, then looked at again, the users counted after
 * it), not one recovery gave up (BadStateError: the OPEN then opens
 * afresh, as recordOpen does), and only the current open owner's (a
 * retired owner's states take no new users). First waited for: the
 * CLOSEs begun while openFile waited (`before.closes`), which counted the
 * opens before this one, and, when no open of the file is held, the
 * openFile() calls of the same name begun before this one, whose OPEN may
 * record it (two opens of the file at once). None of these waits for this
 * open (a CLOSE begun after it waits for it, see `inFlight`; an openFile()
 * only for those begun before it). The GETATTR goes before the
 * user is counted, and the open is looked at again after it: a failed
 * GETATTR leaves nothing to undo. A delegation held changes nothing here
 * (this client keeps no local opens under one: procs.ts closeOpen), nor
 * does 4.0's owner seqid: nothing seqid-mutating is sent.
 */
async function joinHeldOpen(
  m: StateManager,
  request: OpenRequest,
  fh: FileHandle,
  before: { readonly closes: readonly Promise<unknown>[]; readonly order: number },
): Promise<OpenedFile | undefined> {
  const f = flights(m);
  const share: ShareModes = { access: request.access, deny: request.deny ?? 0 };
  if (before.closes.length > 0) await Promise.allSettled(before.closes);
  const held = () => {
    const owner = m.openOwner();
    return [...m.opens].find((o) =>
      o.owner === owner && !o.closed && !o.closing && o.bad === undefined && bytesEqual(o.fh, fh)
    );
  };
  const joinable = (state: OpenState) =>
    state.covers(share) && state.deniesOwnAccess && releaseInProgress(state) === undefined;
  for (;;) {
    const state = held();
    if (state === undefined) {
      const earlier = [...f.named].filter((n) =>
        n.order < before.order && n.name === request.name && bytesEqual(n.dirFh, request.dirFh)
      );
      if (earlier.length === 0) return undefined;
      await Promise.allSettled(earlier.map((n) => n.opening));
      continue;
    }
    if (!state.covers(share) || !state.deniesOwnAccess) return undefined;
    const releasing = releaseInProgress(state);
    if (releasing) {
      await releasing;
      continue;
    }
    const [, attrs] = await m.run(
      () => [putfh(fh), getattr(request.attrs ?? OPEN_ATTRS)] as const,
      request.answerWithinMs !== undefined ? { answerWithinMs: request.answerWithinMs } : {},
    ).catch((e) => {
      throw e instanceof NfsError ? e.withPath(request.path) : e;
    });
    // Nothing awaited from here to the count: a CLOSE decided later sees this user.
    if (held() !== state || !joinable(state)) continue;
    state.addUser(share);
    m.tracer.emit(
      "open",
      "OPEN not sent (shared)",
      `${request.path} ${formatStateid(state.stateid)} users ${state.users}: ${
        formatShare(share)
      } within ${
        formatShare(state)
      }; an OPEN would meet the open's own deny (RFC 7530 §16.16.5, RFC 8881 §9.7)`,
    );
    return { state, attrs, result: undefined };
  }
}

/**
 * Records an OPEN the server granted: a new open state in the manager (where
 * recovery, the trace and CLOSE find it), or one more user of the state
 * this owner already holds on the file (the server upgraded it, RFC 7530
 * §9.1.1). Every OPEN is recorded here, whatever COMPOUND carried it
 * (lib/state/small_file.ts's OPEN+READ+CLOSE too), and so is the
 * delegation it grants, an upgrade's too (procs.ts noteDelegation). `attrs`,
 * the OPEN's GETATTR when it had one, give a write delegation the change
 * and size that CB_GETATTR reports.
 */
export function recordOpen(
  m: StateManager,
  owner: OpenOwner,
  request: Pick<OpenRequest, "dirFh" | "name" | "path" | "access" | "deny">,
  result: OpenResult,
  fh: FileHandle,
  attrs?: FileAttributes,
): OpenState {
  const shared = [...m.opens].find((o) =>
    o.owner === owner && !o.closed && o.bad === undefined &&
    sameStateOther(o.stateid, result.stateid)
  );
  if (shared) {
    // The server upgraded our open of this file: one state, two users (and
    // live: a CLOSE of it that went unanswered did not end it).
    shared.stateid = newerStateid(shared.stateid, result.stateid);
    shared.closing = false;
    // The server's open is now the union of both OPENs' access and deny
    // (RFC 7530 §9.11, RFC 8881 §9.7), and this user's share is counted
    // for the OPEN_DOWNGRADE its CLOSE may call for (procs.ts closeOpen).
    shared.noteOpened({ access: request.access, deny: request.deny ?? 0 });
    shared.access |= request.access;
    shared.deny |= request.deny ?? 0;
    shared.addUser({ access: request.access, deny: request.deny ?? 0 });
    m.tracer.emit(
      "open",
      "OPEN (upgrade)",
      `${request.path} ${formatStateid(shared.stateid)} users ${shared.users}`,
    );
    // The upgrade may bring a delegation (none was granted with the first
    // OPEN: another client had the file open then, say).
    noteDelegation(m, shared, result, "open", attrs);
    return shared;
  }
  const state = new OpenState({
    owner,
    fh,
    path: request.path,
    parentFh: request.dirFh,
    name: request.name,
    stateid: result.stateid,
    access: request.access,
    deny: request.deny ?? 0,
  });
  m.opens.add(state);
  if (m.tracer.active) {
    m.tracer.emit(
      "open",
      "OPEN",
      // The deny mode when there is one (RFC 7530 §9.9, RFC 8881 §9.7):
      // what the OPEN keeps other clients from, which a drill's check names.
      `${request.path} ${formatStateid(state.stateid)} access ${accessName(request.access)}${
        state.deny !== 0 ? ` deny ${accessName(state.deny)}` : ""
      }`,
      { path: request.path, stateid: formatStateid(state.stateid) },
    );
  }
  noteDelegation(m, state, result, "open", attrs);
  return state;
}

/**
 * An OPEN by `owner` of `request`'s file went unanswered (no reply by the
 * deadline, stopped in flight). When the owner holds an open of that file
 * (the handle the caller named, or the same name in the same directory),
 * the OPEN was an upgrade of it, which the server may have run: the
 * server's one open per owner and file (RFC 7530 §9.11, RFC 8881 §9.7)
 * then has a stateid whose seqid moved on by one that this client never
 * saw (RFC 7530 §9.1.4.2, §16.16.5; RFC 8881 §8.2.2, §18.16.3), as after
 * an OPEN_DOWNGRADE left unanswered: counted the same way, for the last
 * CLOSE to try the next seqid when refused NFS4ERR_OLD_STATEID (procs.ts
 * releaseOpen). An open counted that the OPEN did not reach costs nothing:
 * its CLOSE is not refused so.
 */
function upgradeUnanswered(
  m: StateManager,
  owner: OpenOwner,
  request: Pick<OpenRequest, "dirFh" | "name" | "fh">,
): void {
  for (const state of m.opens) {
    if (state.owner !== owner || state.closed || state.bad !== undefined) continue;
    const sameHandle = request.fh !== undefined && bytesEqual(state.fh, request.fh);
    const sameName = state.name === request.name && state.parentFh !== undefined &&
      bytesEqual(state.parentFh, request.dirFh);
    if (sameHandle || sameName) state.unansweredChanges++;
  }
}

/**
 * This client's WRITE to `file` (an open state, or anything with its
 * handle) ended at `end` (offset + count written): a write delegation on
 * the file keeps the size
 * CB_GETATTR reports in step (RFC 7530 §10.4.3: the client's current view
 * of the size). Every WRITE goes to the server at once, so that view is the
 * server's: without it, CB_GETATTR would report the size at the grant,
 * which a server that follows RFC 7530 §10.4.3 takes for a modification
 * held here, and shows to the client that asked in place of the file's
 * size. For the client layer to call after each WRITE it sends.
 */
export function noteWritten(
  m: StateManager,
  file: { readonly fh: FileHandle },
  end: bigint,
): void {
  for (const d of writeDelegationsOn(m, file.fh)) {
    if (d.size !== undefined && end > d.size) d.size = end;
  }
}

/** This client's SETATTR set the file's size: see {@linkcode noteWritten}. */
export function noteSizeSet(
  m: StateManager,
  file: { readonly fh: FileHandle },
  size: bigint,
): void {
  for (const d of writeDelegationsOn(m, file.fh)) d.size = size;
}

function writeDelegationsOn(m: StateManager, fh: FileHandle): Delegation[] {
  const found: Delegation[] = [];
  for (const o of m.opens) {
    if (o.delegation?.type === "write" && bytesEqual(o.fh, fh)) found.push(o.delegation);
  }
  return found;
}

// ------------------------------------------------------------------ creates

/**
 * What a file system lets a create set: its supported_attrs (RFC 7530
 * §5.8.1.1, RFC 8881 §5.8.1.1: an attribute outside it is refused,
 * NFS4ERR_ATTRNOTSUPP) and, on 4.1, its suppattr_exclcreat (RFC 8881
 * §5.8.1.14: the attributes EXCLUSIVE4_1's createattrs may carry; "If the
 * client attempts to set in cva_attrs an attribute that is not in
 * suppattr_exclcreat, the server MUST return NFS4ERR_INVAL", §18.16.3).
 * Undefined: not known (not asked, or not answered).
 */
export interface CreateSupport {
  readonly supported?: ReadonlySet<number> | undefined;
  readonly exclusive?: ReadonlySet<number> | undefined;
}

/** What this client has learned about creating on its server, for its life. */
interface CreateKnowledge {
  /** Noted by a caller that asked (lib/client/copy), or learned after a refusal. */
  support?: CreateSupport;
  /** EXCLUSIVE4_1 refused as a create mode: exclusive creates are GUARDED4. */
  exclusive41Refused?: boolean;
  /** EXCLUSIVE4_1's createattrs refused (NFS4ERR_INVAL): sent empty, set by SETATTR. */
  exclusiveAttrsRefused?: boolean;
  /** Attributes left out of creates as unsupported, already traced. */
  readonly leftOut: Set<number>;
}

const creating = new WeakMap<StateManager, CreateKnowledge>();

function knowledge(m: StateManager): CreateKnowledge {
  let k = creating.get(m);
  if (!k) {
    k = { leftOut: new Set() };
    creating.set(m, k);
  }
  return k;
}

/**
 * What this client knows of its server's file system's attributes for
 * creates ({@linkcode noteCreateSupport}, or learned after a refusal);
 * undefined when nothing is known. One per client: a client that writes on
 * two file systems of different support takes the first's.
 */
export function knownCreateSupport(m: StateManager): CreateSupport | undefined {
  return creating.get(m)?.support;
}

/**
 * Notes what `m`'s server supports (the copy asks its destination's file
 * system once): creates leave out what it does not, and EXCLUSIVE4_1 sends
 * only what suppattr_exclcreat allows (the rest by SETATTR).
 */
export function noteCreateSupport(m: StateManager, support: CreateSupport): void {
  knowledge(m).support = support;
}

/**
 * Asks the file system of `fh` its supported_attrs (and on 4.1 its
 * suppattr_exclcreat) in one GETATTR, notes and returns them.
 */
export async function learnCreateSupport(m: StateManager, fh: FileHandle): Promise<CreateSupport> {
  const wanted = m.minorVersion > 0
    ? [Attr.SUPPORTED_ATTRS, Attr.SUPPATTR_EXCLCREAT]
    : [Attr.SUPPORTED_ATTRS];
  const [, fattr] = await m.run(() => [putfh(fh), getattr(wanted)] as const);
  // What the server did not answer stays as it was known.
  const known = creating.get(m)?.support;
  const support = {
    supported: fattr.attrs.supportedAttrs ?? known?.supported,
    exclusive: fattr.attrs.suppattrExclcreat ?? known?.exclusive,
  };
  noteCreateSupport(m, support);
  return support;
}

/** Whether the session's reply cache is persistent (CREATE_SESSION4_FLAG_PERSIST, RFC 8881 §18.36). */
function persistentSession(m: StateManager): boolean {
  const flags = m.client.session?.flags ?? 0;
  return (flags & CreateSessionFlags.CREATE_SESSION4_FLAG_PERSIST) !== 0;
}

/** `attrs` without `drop`'s ids. */
function withoutIds(
  attrs: SettableAttributes,
  drop: (id: number) => boolean,
): SettableAttributes {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && !drop(attrId(key as keyof FileAttributes))) kept[key] = value;
  }
  return kept as SettableAttributes;
}

/**
 * A create's attributes less those the server's file system does not
 * support, when that is known (RFC 7530 §5.8.1.1: supported_attrs): an
 * ACL-only volume without `mode` takes the file without it, as an
 * open(O_CREAT) on a mount of it would. Each attribute left out is traced
 * once per client.
 */
export function createAttributes(
  m: StateManager,
  attrs: SettableAttributes,
  path: string,
): SettableAttributes {
  const supported = creating.get(m)?.support?.supported;
  if (!supported) return attrs;
  const kept = withoutIds(attrs, (id) => !supported.has(id));
  const k = knowledge(m);
  for (const id of attrIds(attrs)) {
    if (supported.has(id) || k.leftOut.has(id)) continue;
    k.leftOut.add(id);
    m.tracer.emit(
      "open",
      "create attribute left out",
      `${attrName(id).toLowerCase()} not in the server's supported_attrs (${path}); ` +
        "not sent in creates from now on",
    );
  }
  return kept;
}

/**
 * How an exclusive create goes on this client now (RFC 8881 §18.16.3,
 * "Required methods for exclusive create"):
 * - NFSv4.0: EXCLUSIVE4 with the verifier (no attributes: its caller sets
 *   them after, RFC 7530 §16.16.5);
 * - a persistent session (CREATE_SESSION4_FLAG_PERSIST granted, §18.36):
 *   GUARDED4 with the attributes. Such a server need support no other
 *   ("With persistent sessions, exclusive create semantics are fully
 *   achievable via GUARDED4, and so EXCLUSIVE4 or EXCLUSIVE4_1 MUST NOT be
 *   used"), as the Linux client's nfs4_open_prepare chooses: a resend is
 *   answered from the persistent reply cache, never run again, so its
 *   NFS4ERR_EXIST is not its own first run's (a resend on a new session
 *   after the old one was lost is another matter: its failure is marked as
 *   answering a resend, NfsError.answeredResend, for the caller to say so);
 * - an EXCLUSIVE4_1 this client's server refused as a create mode
 *   ({@linkcode createRefused}): GUARDED4 too;
 * - else EXCLUSIVE4_1 with the verifier and the attributes its
 *   suppattr_exclcreat allows (all when not known; none once the server
 *   refused them): the rest are set after the OPEN (openFile).
 */
export function exclusiveCreateHow(
  m: StateManager,
  verifier: Verifier,
  attrs: SettableAttributes,
): CreateHow {
  if (!m.sessions) return { mode: CreateMode.EXCLUSIVE4, verifier };
  const k = creating.get(m);
  if (persistentSession(m) || k?.exclusive41Refused) return { mode: CreateMode.GUARDED4, attrs };
  const allowed = k?.support?.exclusive;
  const sent = k?.exclusiveAttrsRefused
    ? {}
    : allowed
    ? withoutIds(attrs, (id) => !allowed.has(id))
    : attrs;
  return { mode: CreateMode.EXCLUSIVE4_1, verifier, attrs: sent };
}

function createHowFor(
  m: StateManager,
  create: NonNullable<OpenRequest["create"]>,
  attrs: SettableAttributes,
): CreateHow {
  switch (create.mode) {
    case "unchecked":
      return { mode: CreateMode.UNCHECKED4, attrs };
    case "guarded":
      return { mode: CreateMode.GUARDED4, attrs };
    case "exclusive":
      return exclusiveCreateHow(m, create.verifier ?? new Uint8Array(8), attrs);
  }
}

/**
 * Whether a create the server refused (`error`, answering the OPEN sent
 * with `how`) is to be sent again another way, this client's way of
 * creating changed for its life (each change traced once):
 * - EXCLUSIVE4_1 answered NFS4ERR_NOTSUPP ("If the server cannot support
 *   exclusive create semantics ... it should fail the OPEN request with the
 *   error NFS4ERR_NOTSUPP", RFC 8881 §18.16.4), or NFS4ERR_INVAL with no
 *   createattrs (nothing else in it to refuse): GUARDED4 from now on;
 * - EXCLUSIVE4_1 answered NFS4ERR_INVAL (or, as knfsd does,
 *   NFS4ERR_ATTRNOTSUPP) with createattrs: an attribute outside
 *   suppattr_exclcreat (§18.16.3). Learned from the directory when not
 *   known; when that does not leave the attribute out, EXCLUSIVE4_1 goes
 *   with no createattrs from now on, and they are set after it;
 * - any create answered NFS4ERR_ATTRNOTSUPP while the server's
 *   supported_attrs are not known: learned from the directory, and sent
 *   again when that leaves an attribute out.
 * Never for an answer to a resend (its first run may have made the file).
 */
export async function createRefused(
  m: StateManager,
  how: CreateHow,
  error: NfsError,
  dirFh: FileHandle,
  path: string,
): Promise<boolean> {
  if (error.op !== "OPEN" || error.answeredResend) return false;
  const k = knowledge(m);
  const attrs = how.mode === CreateMode.EXCLUSIVE4 ? {} : how.attrs;
  const withAttrs = attrIds(attrs).length > 0;
  // Asked once: what is known already has nothing new to say.
  const learned = (): Promise<CreateSupport | undefined> =>
    k.support?.supported && (m.minorVersion === 0 || k.support.exclusive)
      ? Promise.resolve(undefined)
      : learnCreateSupport(m, dirFh).catch(() => undefined);
  if (how.mode === CreateMode.EXCLUSIVE4_1) {
    if (
      error.status === S.NFS4ERR_NOTSUPP ||
      (error.status === S.NFS4ERR_INVAL && !withAttrs)
    ) {
      k.exclusive41Refused = true;
      m.tracer.emit(
        "open",
        "EXCLUSIVE4_1 refused",
        `OPEN -> ${error.statusName} (${path}); exclusive creates are GUARDED4 from now on ` +
          "(RFC 8881 §18.16.3, §18.16.4)",
      );
      return true;
    }
    if (
      withAttrs && (error.status === S.NFS4ERR_INVAL || error.status === S.NFS4ERR_ATTRNOTSUPP)
    ) {
      const support = await learned();
      const allowed = support?.exclusive;
      const supported = support?.supported;
      if (
        (allowed && attrIds(attrs).some((id) => !allowed.has(id))) ||
        (supported && attrIds(attrs).some((id) => !supported.has(id)))
      ) {
        m.tracer.emit(
          "open",
          "EXCLUSIVE4_1 attributes refused",
          `OPEN -> ${error.statusName} (${path}); suppattr_exclcreat learned, the rest ` +
            "by SETATTR after the OPEN (RFC 8881 §18.16.3)",
        );
        return true;
      }
      if (k.exclusiveAttrsRefused) return false;
      k.exclusiveAttrsRefused = true;
      m.tracer.emit(
        "open",
        "EXCLUSIVE4_1 attributes refused",
        `OPEN -> ${error.statusName} (${path}); EXCLUSIVE4_1 without createattrs from now on, ` +
          "set by SETATTR after the OPEN (RFC 8881 §18.16.3)",
      );
      return true;
    }
    return false;
  }
  if (withAttrs && error.status === S.NFS4ERR_ATTRNOTSUPP) {
    const supported = (await learned())?.supported;
    return supported !== undefined && attrIds(attrs).some((id) => !supported.has(id));
  }
  return false;
}

/**
 * The attributes asked for in a create (`asked`, as sent for UNCHECKED4
 * and GUARDED4; all of them for EXCLUSIVE4_1, whose createattrs may have
 * held fewer) that the OPEN's attrset says it did not set, when the OPEN
 * made the file: undefined when there are none. EXCLUSIVE4 (4.0) sets no
 * attribute (its caller's). An UNCHECKED4 made the file when its
 * directory's change_info4 says so, atomically (as the Linux client's
 * `file_created`); an existing file's attributes are not a create's.
 */
export function notSetByOpen(
  how: CreateHow,
  asked: SettableAttributes,
  result: OpenResult,
): SettableAttributes | undefined {
  if (how.mode === CreateMode.EXCLUSIVE4) return undefined;
  if (
    how.mode === CreateMode.UNCHECKED4 &&
    !(result.cinfo.atomic && result.cinfo.before !== result.cinfo.after)
  ) {
    return undefined;
  }
  const missing = withoutIds(asked, (id) => result.attrset.has(id));
  return attrIds(missing).length > 0 ? missing : undefined;
}

/**
 * Sets on a file just made what its OPEN did not (`missing`): a SETATTR
 * under the open's stateid, its attrsset held to what it asked for. When
 * that fails the file is closed and removed (`PUTFH LOOKUP VERIFY(fileid)
 * PUTFH REMOVE` when its fileid is known: only while the name is still
 * it), outside the work's soft stop, and the failure thrown. The close is
 * this open's (`request.access` and `deny`, when given, are what it opened
 * with), ordered against the other OPENs as `inFlight` says: another OPEN
 * of the file by the same owner may have joined the state meanwhile.
 */
export async function setAfterCreate(
  m: StateManager,
  request:
    & Pick<OpenRequest, "dirFh" | "name" | "path">
    & Partial<Pick<OpenRequest, "access" | "deny">>,
  opened: Pick<OpenedFile, "state" | "attrs">,
  missing: SettableAttributes,
): Promise<void> {
  const state = opened.state;
  const names = attrIds(missing).map((id) => attrName(id).toLowerCase()).join(", ");
  m.tracer.emit(
    "open",
    "create attributes not set",
    `${request.path}: OPEN attrset lacks ${names}; SETATTR (RFC 8881 §18.16.3)`,
  );
  try {
    const [, set] = await m.run(
      () => [putfh(state.fh), setattr({ stateid: state.stateid, attrs: missing })] as const,
      { states: [state] },
    );
    checkAttributesSet(request.path, missing, set);
  } catch (e) {
    // The OPEN ran: no caller may take this failure for one before it.
    const failure = failedAfterChange(e, request.path);
    const fileid = opened.attrs.attrs.fileid;
    const dirFh = request.dirFh;
    const share = request.access === undefined
      ? {}
      : { share: { access: request.access, deny: request.deny ?? 0 } };
    const f = flights(m);
    // The OPENs sent before now, taken at once, before anything is awaited
    // (see openCall): one of them may join this state, and is counted first.
    const sent = [...f.calls];
    const undoing = outsideOperationScope(() =>
      Promise.all([
        // Not closeFile(): it waits for the OPENs in flight, this one among
        // them; the OPEN COMPOUNDs sent before it are what may join the state.
        (async () => {
          if (sent.length > 0) await Promise.allSettled(sent);
          await closeOpen(m, state, share);
        })().catch(() => undefined),
        // Only while the name is still this file (its FILEID, which the
        // create's GETATTR asked for): never by the name alone, which may
        // be another's by now.
        fileid === undefined
          ? Promise.resolve<unknown>(
            new Error("its fileid is not known, and the name alone may be another file's"),
          )
          : m.run(() =>
            [
              putfh(dirFh),
              lookup(request.name),
              verify({ fileid }),
              putfh(dirFh),
              remove(request.name),
            ] as const
          ).then(() => undefined, (error: unknown) => error),
      ])
    );
    f.undoing.add(undoing);
    let removal: unknown;
    try {
      [, removal] = await undoing;
    } finally {
      f.undoing.delete(undoing);
    }
    if (removal !== undefined && leftBy(removal)) {
      const why = removal instanceof Error ? removal.message : String(removal);
      m.tracer.emit("error", "created file left", `${request.path}: not removed: ${why}`);
      throw new CreatedFileLeftError(request.path, { cause: failure, removal });
    }
    throw failure;
  }
}

function accessName(access: number): string {
  return ["none", "read", "write", "read+write"][access & 3] ?? String(access);
}

/**
 * One user of `state` closes: CLOSE (after unlocking what it holds) when it
 * is the last; else OPEN_DOWNGRADE when the users left hold less than the
 * state (procs.ts closeOpen). `share` is the access and deny this user
 * opened with; a caller that does not say leaves the others' union as wide
 * as it was, so nothing is downgraded for it.
 */
export function closeFile(m: StateManager, state: OpenState, share?: ShareModes): Promise<void> {
  // Releasing is never stopped by the scope that stopped the work (a
  // Ctrl-C'd verb of nfs4 shell still closes its files).
  return outsideOperationScope(() => {
    const f = flights(m);
    const before = [...f.opens];
    const closing = (async () => {
      if (before.length > 0) await Promise.allSettled(before);
      // Only the close that sends the CLOSE waits for them (the last user):
      // a handle closed beside others only gives up its share, and waiting
      // for another handle's LOCK (up to its deadline, waiting out
      // NFS4ERR_GRACE) held every OPEN of the client behind it.
      if (state.users <= 1) await lockCallsEnded(state);
      await closeOpen(m, state, share === undefined ? {} : { share });
    })();
    f.closes.add(closing);
    return closing.finally(() => f.closes.delete(closing));
  });
}

/**
 * The lockFile() and unlockFile() calls on their way, per open: users of
 * the open as its handles are. A close waits for them (closeFile), so what
 * a LOCK grants is known, and unlocked, before the CLOSE, which the server
 * refuses while the open holds a lock (RFC 7530 §16.2.4, RFC 8881
 * §18.2.4: NFS4ERR_LOCKS_HELD). `f.lock(r); f.close()` thus runs as the
 * calls were made: the LOCK, then the LOCKU and CLOSE; the lock() resolves
 * (the lock was granted, then released by the close). Refusing a LOCK not
 * yet sent instead would need to know, at close, whether it was: a LOCK
 * waiting for its owner's turn (4.0) or a recovery may be on the wire a
 * moment later. The kernel likewise never sends CLOSE while an fcntl() of
 * the file is under way: the call holds a reference to the open file.
 */
const lockCalls = new WeakMap<OpenState, ChurnSet<Promise<unknown>>>();

/** Counts `call`, a LOCK or LOCKU of `state`, among its `lockCalls` until it has ended. */
function countLockCall<T>(state: OpenState, call: Promise<T>): Promise<T> {
  let calls = lockCalls.get(state);
  if (calls === undefined) {
    calls = new ChurnSet();
    lockCalls.set(state, calls);
  }
  const counted = calls;
  counted.add(call);
  return call.finally(() => counted.delete(call));
}

/** Settles once no lockFile() or unlockFile() of `state` is on its way (`lockCalls`). */
async function lockCallsEnded(state: OpenState): Promise<void> {
  const calls = lockCalls.get(state);
  while (calls !== undefined && calls.size > 0) await Promise.allSettled([...calls]);
}

/**
 * Runs `closing`, a COMPOUND that CLOSEs (with other ops before it), as
 * {@linkcode closeFile} runs a CLOSE: after the OPENs begun before it, and
 * before the OPENs begun after it (see `inFlight`). For the shapes of
 * lib/state/small_upload.ts.
 */
export function asClose<T>(m: StateManager, closing: () => Promise<T>): Promise<T> {
  const f = flights(m);
  const before = [...f.opens];
  const running = (async () => {
    if (before.length > 0) await Promise.allSettled(before);
    return await closing();
  })();
  f.closes.add(running);
  return running.finally(() => f.closes.delete(running));
}

/** READ statuses of readThenClose() handed to its caller (see there). */
const READ_STATEID_REFUSED: ReadonlySet<number> = new Set([
  S.NFS4ERR_BAD_STATEID,
  S.NFS4ERR_OLD_STATEID,
]);

/**
 * READ the first `count` bytes of a file just opened and CLOSE it in the
 * same COMPOUND: `PUTFH READ CLOSE` (RFC 7530 §16.23, §16.2), what a small
 * file needs once its OPEN is done (NFSv4.0, which has no current stateid
 * to put READ into the OPEN's own COMPOUND). READ carries the open stateid
 * and does not use the owner's seqid; CLOSE does and advances it (RFC 7530
 * §9.1.7), so the COMPOUND holds the owner as any CLOSE does.
 *
 * It is a CLOSE like {@linkcode closeFile}'s: it waits for the OPENs begun
 * before it, and the OPENs after it wait for it, so it never closes a state
 * an OPEN of the same file (a hard link) has just joined. A state with other
 * users, locks or a delegation is not closed here: READ goes alone, and
 * `closed` says so. The CLOSE only runs when the READ succeeded (a COMPOUND
 * stops at its first failure): a failure leaves the state open for the
 * caller to close, with the usual path.
 */
export function readThenClose(
  m: StateManager,
  state: OpenState,
  count: number,
): Promise<{ data: Uint8Array; eof: boolean; closed: boolean }> {
  const f = flights(m);
  const before = [...f.opens];
  const closing = (async () => {
    if (before.length > 0) await Promise.allSettled(before);
    // A release of this state on its way (an OPEN_DOWNGRADE after another
    // user closed) ends first: the users are counted after it.
    const releasing = releaseInProgress(state);
    if (releasing) await releasing;
    state.assertUsable();
    if (state.closed) throw new Error(`${state.path}: already closed`);
    if (state.users > 1 || state.locks.length > 0 || state.delegation) {
      const [, alone] = await m.run(
        () => [putfh(state.fh), read({ stateid: state.stateid, offset: 0n, count })] as const,
        { states: [state] },
      );
      return { data: alone.data, eof: alone.eof, closed: false };
    }
    const owner = state.owner;
    let closedByReplay = false;
    const running = m.run(
      () =>
        [
          putfh(state.fh),
          read({ stateid: state.stateid, offset: 0n, count }),
          close({ seqid: owner.seqid, stateid: state.stateid }),
        ] as const,
      {
        seqidOwners: [owner],
        states: [state],
        // To the caller, not to recovery: a READ refused for its stateid
        // may be a resend whose first run closed the state already (4.0
        // after a reconnect: the owner's replay cache answers a replayed
        // CLOSE, but this READ runs again first, RFC 7530 §9.1.9), and the
        // caller opens anew.
        final: READ_STATEID_REFUSED,
        // The CLOSE alone, with the same seqid, while the owner is still
        // held: the replay cache answers it if that first run closed the
        // file (else it runs now). Sent later, by the caller, another OPEN
        // of the owner could take the seqid first, and the server, whose
        // last seqid it is, refused that OPEN (NFS4ERR_BAD_SEQID) and every
        // CLOSE of the owner after it (opens left until the lease ended).
        refusedUnderOwners: async (reply, send) => {
          const refused = reply.outcomes[1];
          if (refused?.name !== "READ" || !READ_STATEID_REFUSED.has(refused.status)) return;
          const closed = await send([
            putfh(state.fh),
            close({ seqid: owner.seqid, stateid: state.stateid }),
          ]);
          closedByReplay = closed.status === S.NFS4_OK;
        },
      },
    );
    let got;
    try {
      [, got] = await running;
    } finally {
      if (closedByReplay) {
        m.tracer.emit("open", "CLOSE", `${state.path} ${formatStateid(state.stateid)} (replayed)`);
        forgetOpen(m, state);
      }
    }
    if (m.tracer.active) {
      m.tracer.emit("open", "CLOSE", `${state.path} ${formatStateid(state.stateid)} (with READ)`);
    }
    forgetOpen(m, state);
    return { data: got.data, eof: got.eof, closed: true };
  })();
  f.closes.add(closing);
  return closing.finally(() => f.closes.delete(closing)).catch((e) => {
    throw e instanceof NfsError ? e.withPath(state.path) : e;
  });
}

/**
 * This process's lock state on an open, created on first use with a lock
 * owner of its own (owners.ts newLockOwner); a new one when the owner of
 * the last is retired (out of step with the server).
 */
export function lockStateFor(state: OpenState): LockState {
  let lockState = currentLockState(state);
  if (!lockState) {
    lockState = new LockState(state.refusedLockOwner ?? newLockOwner(), state);
    state.refusedLockOwner = undefined;
    state.locks.push(lockState);
  }
  return lockState;
}

/** The lock state new locks of an open go to: the one whose owner is not retired. */
function currentLockState(state: OpenState): LockState | undefined {
  return state.locks.find((l) => !l.owner.retired);
}

/** How one LOCK is sent (lockFile). */
interface LockFileOptions {
  blocking?: boolean | undefined;
  signal?: AbortSignal | undefined;
  noWait?: boolean | undefined;
  answerWithinMs?: number | undefined;
}

/**
 * LOCK one range; NFS4ERR_DENIED comes back as an `NfsError` whose `detail`
 * is the LOCK4denied (who holds the conflicting lock).
 *
 * A 4.0 try that takes again the lock owner of a refused try (lockOnce)
 * sends the lock_seqid the refusal stepped on (RFC 7530 §9.1.7). A server
 * that did not count it refuses that NFS4ERR_BAD_SEQID, which runs nothing
 * and uses no seqid (§9.1.7): the owner is out of step (retired), and the
 * try goes once more with a new lock owner, which the server does not know.
 */
export function lockFile(
  m: StateManager,
  state: OpenState,
  range: LockRange,
  options: LockFileOptions = {},
): Promise<void> {
  // Counted from the call on: a close() called next waits for it (`lockCalls`).
  return countLockCall(state, lockFileNow(m, state, range, options));
}

async function lockFileNow(
  m: StateManager,
  state: OpenState,
  range: LockRange,
  options: LockFileOptions,
): Promise<void> {
  const kept = m.minorVersion === 0 && currentLockState(state) === undefined
    ? state.refusedLockOwner
    : undefined;
  try {
    await lockOnce(m, state, range, options);
  } catch (e) {
    if (
      kept === undefined || !kept.retired || !(e instanceof NfsError) ||
      e.status !== S.NFS4ERR_BAD_SEQID || e.op !== "LOCK" || options.signal?.aborted
    ) throw e;
    m.tracer.emit(
      "owner",
      "kept lock owner refused",
      `${state.path} ${kept.label}: LOCK -> NFS4ERR_BAD_SEQID (the server did not count its ` +
        "refused LOCK's seqid); a new lock owner",
    );
    await lockOnce(m, state, range, options);
  }
}

async function lockOnce(
  m: StateManager,
  state: OpenState,
  range: LockRange,
  options: LockFileOptions,
): Promise<void> {
  const existed = currentLockState(state) !== undefined;
  const lockState = lockStateFor(state);
  lockState.assertUsable();
  let unknown = false;
  // Recorded in the lock owner's turn, with the stateid (lockRange
  // onGranted): an unlock() queued behind this LOCK finds the range held.
  const granted = () => {
    m.lockOwnersUsed.add(lockState.owner);
    // What the owner holds now, as the server keeps it (POSIX: the range
    // takes this type and joins its neighbours, lock_ranges.ts), never the
    // list of requests: recovery reclaims it (RFC 7530 §9.6.2, RFC 8881
    // §8.4.2.1).
    recordLocked(lockState.ranges, range);
    // A range left unsettled by an earlier LOCK of this owner is held now,
    // and known: unlocked as any other.
    const settled = lockState.unsettled.findIndex((r) =>
      r.type === range.type && r.offset === range.offset && r.length === range.length
    );
    if (settled >= 0) lockState.unsettled.splice(settled, 1);
  };
  try {
    await lockRange(m, lockState, range, {
      ...options,
      onOutcomeUnknown: () => (unknown = true),
      onGranted: granted,
    });
  } catch (e) {
    if (lockState.stateid === undefined && mayHaveLocked(e, unknown)) {
      // Sent, and its answer never came (or answered a resend, or an
      // earlier attempt's outcome was left unknown): the server may hold
      // the lock for this lock owner (RFC 7530 §9.1.7: it may have run the
      // request). The lock state and its owner are kept with the range,
      // for the release to settle before the CLOSE (procs.ts
      // settleUnknownLocks), and under the client ID it was sent for: a
      // new one since (a lease expiry, a restart) took it with the old.
      if (!lockState.unsettled.includes(range)) lockState.unsettled.push(range);
      lockState.clientId ??= m.client.clientId;
      m.lockOwnersUsed.add(lockState.owner);
      m.tracer.emit(
        "lock",
        "outcome unknown",
        `${state.path} ${range.type} ${formatRange(range.offset, range.length)} ` +
          `(${lockState.owner.label}): the server may have granted it; settled at close`,
      );
    } else if (!existed && lockState.stateid === undefined) {
      // A first LOCK that was refused leaves no lock state behind (nothing
      // to reclaim), but the server may keep its lock owner: the
      // open_to_lock_owner4's lock_seqid "establishes an initial sequence
      // value for the new lock-owner" (RFC 7530 §16.10.5), and knfsd keeps
      // the owner, its seqid stepped on, until RELEASE_LOCKOWNER or the
      // client ID goes (nfsd4_lock). So the next try keeps the owner, as
      // the kernel's nfs4_retry_setlk keeps its nfs4_lock_state: on 4.1 the
      // server queues blocked locks and sends CB_NOTIFY_LOCK by lock owner
      // (RFC 8881 §9.6, §20.11); on 4.0 its next open_to_lock_owner4
      // carries the lock_seqid StateOwner.advance() left (NFS4ERR_DENIED
      // uses the seqid, RFC 7530 §9.1.7), which knfsd expects, and Ganesha
      // takes any lock_seqid of an owner it saved no reply for (its refused
      // LOCK saved the open owner's; Check_nfs4_seqid). A new owner per
      // try left one owner per try of a `lock -w` on the server. An owner
      // out of step (retired: NFS4ERR_BAD_SEQID) is not taken again. On
      // 4.0 an owner a LOCK reached is released at exit
      // (RELEASE_LOCKOWNER, procs.ts releaseAll; RFC 7530 §16.37), granted
      // or not.
      state.locks.splice(state.locks.indexOf(lockState), 1);
      state.refusedLockOwner = lockState.owner.retired ? undefined : lockState.owner;
      if (m.minorVersion === 0 && e instanceof NfsError && e.op === "LOCK") {
        m.lockOwnersUsed.add(lockState.owner);
      }
    }
    throw e instanceof NfsError ? e.withPath(state.path) : e;
  }
}

/**
 * Whether a LOCK that failed with `e` may have been granted all the same:
 * run() left its outcome unknown (`unknown`: no answer came, or it was
 * stopped in flight), or the failure says an earlier transmission may have
 * run (a recovery or a send wait given up on after one, a status that
 * answered a resend).
 */
function mayHaveLocked(e: unknown, unknown: boolean): boolean {
  if (unknown) return true;
  if (e instanceof RecoveryTimeoutError || e instanceof SendWaitTimeoutError) return e.mayHaveRun;
  return e instanceof NfsError && e.answeredResend === true && e.status !== S.NFS4ERR_DENIED;
}

/** Records a refused LOCK its caller waits on (the client's lock-wait policy). */
export function noteLockWait(
  m: StateManager,
  detail: string,
  delayMs: number,
  attempt: number,
): void {
  m.tracer.emit(
    "retry",
    delayMs > 0 ? "LOCK denied, waiting" : "LOCK denied, giving up",
    `${detail}; ${
      delayMs > 0 ? `try ${attempt + 1} in ${delayMs.toFixed(0)} ms` : `${attempt} tries`
    }`,
    { attempt, delayMs },
  );
}

/** LOCKU one held range. */
export function unlockFile(
  m: StateManager,
  state: OpenState,
  range: LockRange,
): Promise<void> {
  // The lock() and unlock() calls made before it first, as they were made:
  // an unlock() of a range whose first LOCK is still on its way found no
  // lock stateid yet, sent nothing and resolved, and the lock stayed.
  const earlier = [...(lockCalls.get(state) ?? [])];
  // As CLOSE: a release is never stopped by the work's scope. A close()
  // called next waits for it (`lockCalls`).
  return countLockCall(
    state,
    outsideOperationScope(async () => {
      if (earlier.length > 0) await Promise.allSettled(earlier);
      return await unlockHeldRange(m, state, range);
    }).catch((e) => {
      // Named as lock()'s errors are (lockOnce).
      throw e instanceof NfsError ? e.withPath(state.path) : e;
    }),
  );
}

/**
 * LOCKU through every lock state of the open that holds part of `range`,
 * the current one (a lock owner not retired) also when it has no record of
 * it. A lock state whose owner was retired (NFS4ERR_BAD_SEQID, a request
 * left unanswered) keeps its locks on the server until they are unlocked:
 * its owner is kept for their LOCKU (owners.ts `retired`), so the range is
 * unlocked through it, never through a new lock state the server gave no
 * stateid yet, which sends nothing. Its seqid may be out of step: the
 * server's refusal is then the caller's error, naming the path.
 */
async function unlockHeldRange(
  m: StateManager,
  state: OpenState,
  range: LockRange,
): Promise<void> {
  const holders = state.locks.filter((l) =>
    l.stateid !== undefined && l.ranges.some((r) => rangesOverlap(r, range))
  );
  const current = currentLockState(state);
  if (current?.stateid !== undefined && !holders.includes(current)) holders.push(current);
  for (const lockState of holders) {
    const held = lockState.ranges.find((r) =>
      r.offset === range.offset && r.length === range.length
    ) ??
      range;
    await unlockRange(m, lockState, held);
  }
}
