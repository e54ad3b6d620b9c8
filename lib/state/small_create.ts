/**
 * A new small file made and written whole in one COMPOUND: what `cp -r` of
 * many small files to a server spends its requests on. On NFSv4.1:
 * `SEQUENCE PUTFH(dir) OPEN(EXCLUSIVE4_1, CLAIM_NULL name) GETFH GETATTR
 * WRITE(current stateid, FILE_SYNC4) SETATTR(current stateid)
 * CLOSE(current stateid)`, where two COMPOUNDs went before (the OPEN, then
 * lib/state/small_upload.ts's WRITE+SETATTR+CLOSE). With an owner to give
 * (`cp -p`), a SETATTR of owner and group comes right after the GETATTR,
 * before the data and the mode: refused (PERM, ACCESS, BADOWNER), the
 * COMPOUND stops there and the open is handed back with the refusal; run
 * but the COMPOUND stopped later, the open is handed back saying so
 * (`ownerGiven`), never to be sent again. A GETATTR of what it set follows
 * it (`... GETATTR SETATTR(owner, owner_group) GETATTR(owner, owner_group)
 * WRITE ...`): a server may answer that SETATTR NFS4_OK, both in its
 * attrsset, and hold others (a squashing export keeps its anonymous ids,
 * RFC 7530 §16.32.4), which the copy compares with what it gave
 * (`ownership`) with no GETATTR of its own. Only what the SETATTR just set
 * is asked (a server without `owner_group` refused that SETATTR already),
 * and an attribute a server does not support is left out of a GETATTR's
 * reply, not refused (RFC 8881 §18.7.3). A GETATTR that fails all the same
 * stops the COMPOUND with the owner given and nothing written, which goes
 * on as any stop after the owner's SETATTR (below): the file does not fail
 * for it, its owner is only not read back here; a server that failed it
 * for anything but NFS4ERR_DELAY is not asked it in this COMPOUND again
 * (the copy reads the owner back by itself). OPEN sets the current
 * stateid, which WRITE, SETATTR and CLOSE name with the special stateid
 * {seqid 1, other 0} (RFC 8881 §16.2.3.1.2), as lib/state/small_file.ts's
 * OPEN+READ+CLOSE does. The state manager owns the shape, as it owns OPEN
 * and CLOSE: the open is recorded exactly as any OPEN (files.ts recordOpen),
 * so the trace and recovery see it, and forgotten only once a CLOSE the
 * server answered NFS4_OK says it is gone.
 *
 * **Only for a file no one else can know of.** The name is a temporary of
 * the copy's own (random), created EXCLUSIVE4_1 with a verifier of its own:
 * no other OPEN can share its open state, so no ordering against other
 * OPENs and CLOSEs is needed (files.ts flights). On a persistent session
 * (CREATE_SESSION4_FLAG_PERSIST), or a server that refused EXCLUSIVE4_1
 * (NFS4ERR_NOTSUPP: the COMPOUND, stopped at its OPEN, is sent again), it
 * is GUARDED4 (files.ts exclusiveCreateHow, RFC 8881 §18.16.3).
 *
 * **Its createattrs are its mode**, less what the server does not support
 * (files.ts createAttributes: an ACL-only volume has no mode) and, for
 * EXCLUSIVE4_1, less what its suppattr_exclcreat does not allow. The
 * COMPOUND's SETATTR sets them as well (the caller's `settable` over
 * them), so an OPEN whose attrset lacks one (a server that ignored the
 * mode) does not leave it unset; when the COMPOUND stops before that
 * SETATTR and the open is handed back, what the attrset lacks is set first
 * (files.ts setAfterCreate).
 *
 * **The reply is cached.** The COMPOUND changes state, so its reply is
 * cached for a resend (sa_cachethis, lib/state/exactly_once.ts): a lost
 * reply is answered from the session's reply cache, never run again. Not
 * when the session itself is lost (the server restarted, or destroyed it)
 * between a transmission and its resend: the manager then sends the
 * COMPOUND again on a new session, and a first run that did happen made
 * the file and wrote it, which a server takes as no longer matching the
 * create's verifier (the verifier lives in the times until they are set,
 * RFC 8881 §18.16.3; Linux also wants the size still 0). The resent OPEN is
 * refused NFS4ERR_EXIST (marked as answering a resend) and the file fails;
 * the copy removes its temporary and says the first attempt may have made it.
 * Opening the name again without the create would go on, but would also
 * open a file someone else had put there first, which the exclusive create
 * is there to refuse: the failure is the lesser harm. (The two-COMPOUND
 * shape's OPEN alone was found again by its verifier.)
 *
 * **When it stops part way** (a COMPOUND stops at its first failure, RFC
 * 8881 §16.2.3): as soon as the reply shows the OPEN succeeded, every
 * status comes back here (the COMPOUND is never sent again as a whole), the
 * open is recorded, and only what did not run is done, each through the
 * usual rules: the WRITE not done: the open is handed back (`done: false`)
 * with its GETATTR, for the caller to write, set and close the ordinary
 * way; the WRITE done: the SETATTR and the CLOSE (small_upload.ts, without
 * data), or the CLOSE alone once the SETATTR was done too; a reply that
 * cannot be read past the OPEN (a malformed result) closes the open and
 * fails the file, nothing after the OPEN sent again. A WRITE, SETATTR or
 * CLOSE refused NFS4ERR_BAD_STATEID is taken to mean the server does not
 * honour the current stateid after OPEN: this client
 * then makes its files the two-COMPOUND way for the rest of its life (the
 * trace says so once). Failures before the OPEN succeeded went through the
 * usual table and come back with nothing made.
 *
 * **What the WRITE said.** As small_upload.ts: FILE_SYNC4 asked; a server
 * that answers with less is sent `PUTFH COMMIT` after the CLOSE and its
 * verifier is handed back beside the WRITE's. A short WRITE (fewer bytes
 * than sent, NFS4_OK, RFC 8881 §18.32.3) is followed by WRITEs of the rest,
 * then the SETATTR again and the CLOSE (small_upload.ts writeRest): the
 * COMPOUND cannot branch, so its SETATTR and CLOSE ran all the same, and
 * the rest goes through a new OPEN of the file by its handle (CLAIM_FH);
 * where the COMPOUND stopped before its CLOSE (the placing's VERIFY, a
 * CLOSE that failed), through the open it left. The rest fails the file
 * with the server's own status (NFS4ERR_NOSPC); what is handed back counts
 * every byte.
 *
 * **Placing in the same COMPOUND** (`placeAs`, a copy into a directory it
 * made, or `cp -n`): the file also takes its final name while the name is
 * free, `... WRITE VERIFY(size) SETATTR CLOSE SAVEFH PUTFH(dir) LINK(final)
 * REMOVE(temporary)`, where a COMPOUND of LINK+REMOVE followed (one COMPOUND
 * per small file instead of two). The VERIFY stops a short WRITE (the file
 * is not the size it was sent, NFS4ERR_NOT_SAME, RFC 8881 §18.31) before
 * the SETATTR would fill it out with zeros and the LINK show it under its
 * final name: the rest is written on the open it leaves, the file is set
 * and closed, and the caller places it with its own LINK once it is whole.
 * A file placed all the same after a short WRITE (a VERIFY that let it
 * through: its count or its size was not true) gets the rest through an
 * OPEN of its handle, and placing is given up for this client; when the
 * rest fails, its final name is taken back as below. A LINK refused
 * (NFS4ERR_EXIST: the name is taken) stops the COMPOUND before the REMOVE;
 * its status comes back in `placing`, for the caller to remove the
 * temporary (or to try its own LINK, for any other status); a REMOVE that
 * failed after the LINK leaves the caller the temporary's name to take
 * away. A reply unreadable past the CLOSE leaves the LINK `unknown`, for the
 * caller to look up. A file placed whose WRITE was answered less than
 * FILE_SYNC4 and whose COMMIT then failed or changed verifier (the server
 * restarted: the data may be lost) is taken out of its final name again
 * before the caller fails it (only while the name still is this file, by
 * its FILEID); such a server gets no placing after that file, and neither
 * does one that refuses VERIFY or SAVEFH as unsupported, or whose VERIFY
 * says NFS4ERR_NOT_SAME after a WRITE that wrote it all. After a lost
 * session the resent COMPOUND's OPEN may meet the temporary its first run
 * made, or (the first run having removed it) its LINK the name that run
 * took: NFS4ERR_EXIST marked as answering a resend
 * (NfsError.answeredResend), which the copy looks up and reports as such.
 *
 * **Not on NFSv4.0**, which has no current stateid: its OPEN also needs the
 * owner's seqid and, at times, OPEN_CONFIRM.
 * @module
 */

import { Attr, type DecodedFattr, type SettableAttributes } from "../nfs4/attrs.ts";
import { type Nfs4Op, tapped } from "../nfs4/compound.ts";
import { OpenClaimType, ShareAccess, StableHow } from "../nfs4/constants.ts";
import { NfsError } from "../nfs4/errors.ts";
import { close } from "../nfs4/ops/close.ts";
import { link } from "../nfs4/ops/link.ts";
import { lookup } from "../nfs4/ops/lookup.ts";
import { remove } from "../nfs4/ops/remove.ts";
import { savefh } from "../nfs4/ops/savefh.ts";
import { verify } from "../nfs4/ops/verify.ts";
import { commit } from "../nfs4/ops/commit.ts";
import { getattr } from "../nfs4/ops/getattr.ts";
import { getfh } from "../nfs4/ops/getfh.ts";
import { open, type OpenResult } from "../nfs4/ops/open.ts";
import { putfh } from "../nfs4/ops/putfh.ts";
import { setattr } from "../nfs4/ops/setattr.ts";
import {
  attributesNotSet,
  type AttributesNotSetError,
  checkAttributesSet,
} from "../nfs4/attrs_set.ts";
import { write, type WriteResult } from "../nfs4/ops/write.ts";
import { Nfs4Status as S } from "../nfs4/status.ts";
import { CURRENT_STATEID, type FileHandle, formatStateid, type Verifier } from "../nfs4/types.ts";
import { failedAfterChange } from "./exactly_once.ts";
import { outsideOperationScope } from "./operation_scope.ts";
import {
  closeFile,
  createAttributes,
  createRefused,
  exclusiveCreateHow,
  notSetByOpen,
  type OpenedFile,
  recordOpen,
  setAfterCreate,
  withFileid,
} from "./files.ts";
import type { StateManager } from "./manager.ts";
import { forgetOpen, returnDelegation } from "./procs.ts";
import { setattrThenClose, writeRest } from "./small_upload.ts";

/** A new file to make by name in a directory whose handle the caller holds. */
export interface SmallCreateRequest {
  readonly dirFh: FileHandle;
  readonly name: string;
  /** The path the user named, for messages and traces. */
  readonly path: string;
  /** Permission bits to create it with (EXCLUSIVE4_1's createattrs). */
  readonly mode: number;
  /** Attributes for the OPEN's GETATTR (what an open to go on with needs). */
  readonly attrs: readonly number[];
  /** The whole file (written at offset 0); empty: no WRITE. */
  readonly data: Uint8Array;
  /** The SETATTR after the WRITE: the final size, mode and times. */
  readonly settable: SettableAttributes;
  /**
   * An owner and group to give first (`cp -p`, `-a`: owner and ownerGroup
   * only), by a SETATTR right after the OPEN's GETATTR: before the data,
   * and before the SETATTR of the mode, which a change of owner would
   * strip of its set-id bits. Refused, the COMPOUND stops there: the open
   * is handed back with the refusal (`ownerError`), nothing written. Set,
   * what the server holds then is read back in the same COMPOUND
   * (`ownership` of {@linkcode SmallCreateEnd}).
   */
  readonly owner?: SettableAttributes;
  /**
   * The file's final name in the same directory, to take only while it is
   * free: after the CLOSE, `SAVEFH PUTFH(dir) LINK(placeAs) REMOVE(name)`
   * (see the module comment). Undefined: the file keeps `name`.
   */
  readonly placeAs?: string;
}

/**
 * The owner and group a server answered a GETATTR with right after a
 * SETATTR of them (RFC 7530 §5.9 strings, as it gives them): only those
 * that SETATTR set were asked; one it did not return is undefined.
 */
export interface OwnershipRead {
  readonly owner?: string;
  readonly group?: string;
}

/** The attributes to read back after a SETATTR of `attrs`: the owner and group it sets. */
export function ownershipAsked(attrs: SettableAttributes): number[] {
  return [
    ...(attrs.owner !== undefined ? [Attr.OWNER] : []),
    ...(attrs.ownerGroup !== undefined ? [Attr.OWNER_GROUP] : []),
  ];
}

/** What a GETATTR of {@linkcode ownershipAsked}'s attributes answered. */
export function ownershipOf(fattr: DecodedFattr): OwnershipRead {
  const { owner, ownerGroup } = fattr.attrs;
  return {
    ...(owner !== undefined ? { owner } : {}),
    ...(ownerGroup !== undefined ? { group: ownerGroup } : {}),
  };
}

/** What became of {@linkcode SmallCreateRequest.placeAs}. */
export type Placing =
  /** The final name is the file's; `temporaryRemoved`: so is no other (REMOVE ran). */
  | { readonly linked: true; readonly temporaryRemoved: boolean }
  /**
   * Not placed: `error` is the LINK's failure (NFS4ERR_EXIST: the name is
   * taken), or why the LINK never ran (an op before it stopped the
   * COMPOUND); the file is made, written, closed, and keeps its temporary
   * name. `error` undefined: it was placed, and its final name was taken
   * back again (its data not known durable; the temporary's name may be
   * gone too): the caller fails it.
   */
  | { readonly linked: false; readonly error: unknown }
  /** The reply could not be read past the CLOSE: whether the LINK ran is not known. */
  | { readonly linked: "unknown"; readonly error: unknown };

/** What {@linkcode createWriteSetattrClose} did. */
export type SmallCreateEnd =
  /** Made, written, its attributes set and closed: the server holds no open. */
  | {
    readonly done: true;
    readonly fh: FileHandle;
    /** The WRITE's result (undefined: there was no data). */
    readonly write: WriteResult | undefined;
    /** A COMMIT's verifier, when the WRITE was answered less than FILE_SYNC4. */
    readonly commitVerifier?: Verifier;
    /** The final name's fate, when one was asked for. */
    readonly placing?: Placing;
    /**
     * The owner and group the server holds after the owner's SETATTR
     * (`request.owner`), read in the same COMPOUND; undefined without an
     * owner, or when that GETATTR did not run.
     */
    readonly ownership?: OwnershipRead;
    /**
     * The COMMIT's failure, for a file that had been placed (its final
     * name taken back if it could be: `placing`; unplaced, it is thrown);
     * or the failure of a short WRITE's rest (small_upload.ts writeRest),
     * placed or not: handed back rather than thrown, the file is known made
     * (and its temporary to be removed) whatever op failed, the rest's own
     * OPEN by handle too.
     */
    readonly commitError?: unknown;
  }
  /**
   * Made and open, nothing written: the caller goes on with the open and
   * closes it. `ownerError`: the owner's SETATTR was refused (the caller's
   * to judge: cp warns and goes on without it).
   */
  | {
    readonly done: false;
    readonly opened: OpenedFile;
    readonly ownerError?: unknown;
    /** The owner's SETATTR ran (never to be sent again): only the data and the rest are left. */
    readonly ownerGiven?: boolean;
    /** What the server holds after it, when the GETATTR after it ran too (as for `done: true`). */
    readonly ownership?: OwnershipRead;
  };

/** Ops in the shape, SEQUENCE included. */
const OPS = 8;

/** Ops a placing adds: VERIFY after the WRITE, SAVEFH PUTFH LINK REMOVE after the CLOSE. */
const PLACING_OPS = 5;

/** Ops an owner adds: its SETATTR, and the GETATTR that reads it back. */
const OWNER_OPS = 2;

/** The ops of the shape that name the current stateid. */
const CURRENT_STATEID_USERS: ReadonlySet<string> = new Set(["WRITE", "SETATTR", "CLOSE"]);

/** Per manager: whether the current stateid after an OPEN was refused. */
const refused = new WeakMap<StateManager, boolean>();

/** Per manager: whether placing in the one COMPOUND was given up (refusePlacing). */
const placingRefused = new WeakMap<StateManager, boolean>();

/** Per manager: whether the GETATTR after the owner's SETATTR failed (not asked again). */
const ownershipReadRefused = new WeakMap<StateManager, boolean>();

/**
 * Whether a file made by {@linkcode createWriteSetattrClose} may also take
 * its final name in the same COMPOUND (`placeAs`): the session takes the
 * longer COMPOUND, and placing has not been given up for this client
 * ({@linkcode refusePlacing}).
 */
export function canPlaceInOne(m: StateManager, withOwner = false): boolean {
  const session = m.client.session;
  return session !== undefined && !placingRefused.get(m) &&
    session.fore.maxOperations >= OPS + PLACING_OPS + (withOwner ? OWNER_OPS : 0) &&
    session.fore.maxResponseSizeCached >= PLACING_REPLY_ROOM;
}

/**
 * Whether {@linkcode createWriteSetattrClose} may be used now, for a file of
 * `bytes`: NFSv4.1 with a session whose requests hold it (with room for the
 * rest), and the current stateid not refused before.
 */
export function canCreateInOne(m: StateManager, bytes: number, withOwner = false): boolean {
  const session = m.client.session;
  if (!m.sessions || !session || refused.get(m)) return false;
  if (session.fore.maxOperations < OPS + (withOwner ? OWNER_OPS : 0)) return false;
  // The reply is cached (state changes): small, but it must fit.
  if (session.fore.maxResponseSizeCached < REPLY_ROOM + (withOwner ? OWNER_REPLY_ROOM : 0)) {
    return false;
  }
  return bytes + REQUEST_ROOM <= session.fore.maxRequestSize;
}

/**
 * Reply bytes of the shape (no data comes back): the cached reply must hold
 * them. At most about 500 with a handle of 128 bytes, the rest to spare.
 */
const REPLY_ROOM = 1024;

/**
 * What an owner adds: its SETATTR's result, and the GETATTR's that reads
 * it back, two owner strings (RFC 7530 §5.9) of up to 128 bytes (longer
 * ones are what the spare room is for).
 */
const OWNER_REPLY_ROOM = 2 * (4 + 128) + 48;

/**
 * The same with the placing's results (two more change_info4s among them)
 * and an owner's: at most about 900 bytes with a handle of 128 bytes and
 * owner strings of 128. Not more: Linux's knfsd caches no larger a reply
 * (NFSD_SLOT_CACHE_SIZE, 2048 bytes past the SEQUENCE's header).
 */
const PLACING_REPLY_ROOM = 2048;

/**
 * Request bytes besides the WRITE's data and the owner's strings: the RPC
 * header and credential (up to ~430), SEQUENCE, two handles, three names of
 * up to 255 (the temporary's twice, the final one), attributes.
 */
const REQUEST_ROOM = 4096;

/** What the decoder saw of one attempt's reply, op by op, even when a later op failed. */
interface Seen {
  open?: OpenResult;
  fh?: FileHandle;
  attrs?: DecodedFattr;
  write?: WriteResult;
  ownerSet?: boolean;
  /** What the GETATTR after the owner's SETATTR answered. */
  ownership?: OwnershipRead;
  attrsSet?: boolean;
  /** The attrsset of the SETATTR of `settable`, when it ran. */
  setBits?: ReadonlySet<number>;
  closed?: boolean;
  linked?: boolean;
  removed?: boolean;
}

/**
 * Makes `request.name` in `request.dirFh` (EXCLUSIVE4_1, or GUARDED4 as
 * files.ts exclusiveCreateHow says; share WRITE), writes `request.data` at
 * 0, sets `request.settable` (over its createattrs) and closes it, in one
 * COMPOUND: see the module comment. Failures name `request.path`.
 */
export async function createWriteSetattrClose(
  m: StateManager,
  request: SmallCreateRequest,
): Promise<SmallCreateEnd> {
  const owner = m.openOwner();
  // One verifier for every transmission: a re-run OPEN finds the file by it.
  const verifier = crypto.getRandomValues(new Uint8Array(8));
  const data = request.data.length > 0 ? request.data : undefined;
  const placeAs = request.placeAs;
  // The FILEID too: a placed name is taken back by it (unplace), and a
  // file made and then failed is removed only while its name is still it
  // (files.ts setAfterCreate).
  const getattrs = withFileid(request.attrs);
  // What the owner's SETATTR sets, read back after it (none: not asked).
  const ownershipIds = request.owner && !ownershipReadRefused.get(m)
    ? ownershipAsked(request.owner)
    : [];
  // The createattrs the server supports (the mode, unless an ACL-only
  // volume's supported_attrs lack it), and how: EXCLUSIVE4_1, or GUARDED4 on
  // a persistent session or a server that refused EXCLUSIVE4_1 (files.ts
  // exclusiveCreateHow). The COMPOUND's SETATTR sets them too (the caller's
  // `settable` first): what the OPEN did not set (its attrset) is set before
  // the file is closed, and held to that SETATTR's attrsset.
  let asked = createAttributes(m, { mode: request.mode }, request.path);
  let settable: SettableAttributes = { ...asked, ...request.settable };
  let how = exclusiveCreateHow(m, verifier, asked);
  let seen: Seen = {};
  let failure: { error: unknown } | undefined;
  const runShape = () =>
    m.run(
      () => {
        const attempt: Seen = seen = {};
        return [
          putfh(request.dirFh),
          tapped(
            open({
              seqid: 0,
              // A delegation would be given back at once (below): ask for none.
              shareAccess: ShareAccess.OPEN4_SHARE_ACCESS_WRITE |
                ShareAccess.OPEN4_SHARE_ACCESS_WANT_NO_DELEG,
              shareDeny: 0,
              owner: { clientid: m.client.clientId!, owner: owner.id },
              create: how,
              claim: { claim: OpenClaimType.CLAIM_NULL, file: request.name },
            }),
            (v) => attempt.open = v,
          ),
          tapped(getfh(), (v) => attempt.fh = v),
          tapped(getattr(getattrs), (v) => attempt.attrs = v),
          ...(request.owner
            ? [tapped(
              setattr({ stateid: CURRENT_STATEID, attrs: request.owner }),
              () => attempt.ownerSet = true,
            )]
            : []),
          // The owner the server holds now (it may have kept another and
          // said NFS4_OK): a failure stops the COMPOUND here, the owner given.
          ...(ownershipIds.length > 0
            ? [tapped(getattr(ownershipIds), (v) => attempt.ownership = ownershipOf(v))]
            : []),
          ...(data
            ? [tapped(
              write({ stateid: CURRENT_STATEID, offset: 0n, stable: StableHow.FILE_SYNC4, data }),
              (v) => attempt.write = v,
            )]
            : []),
          // Placing: a short WRITE stops the COMPOUND here, before the
          // SETATTR would fill the file out to its size with zeros and the
          // LINK would show it under its final name (RFC 8881 §18.31).
          ...(data && placeAs !== undefined ? [verify({ size: BigInt(data.length) })] : []),
          tapped(
            setattr({ stateid: CURRENT_STATEID, attrs: settable }),
            (set) => {
              attempt.attrsSet = true;
              attempt.setBits = set;
            },
          ),
          tapped(close({ seqid: 0, stateid: CURRENT_STATEID }), () => attempt.closed = true),
          ...(placeAs !== undefined
            ? [
              // LINK: the saved file gets the final name in the current
              // directory, NFS4ERR_EXIST when it is taken (RFC 8881 §18.9);
              // the temporary's name goes only then (a COMPOUND stops at its
              // first failure, §16.2.3).
              savefh(),
              putfh(request.dirFh),
              tapped(link(placeAs), () => attempt.linked = true),
              tapped(remove(request.name), () => attempt.removed = true),
            ]
            : []),
        ] as Nfs4Op<unknown>[];
      },
      // Once the OPEN has succeeded, every status comes back here.
      { final: { has: () => seen.open !== undefined } },
    );
  for (let tries = 0;; tries++) {
    failure = undefined;
    try {
      await runShape();
    } catch (error) {
      failure = { error };
    }
    const error = failure?.error;
    if (
      !seen.open && tries < 4 && error instanceof NfsError &&
      await createRefused(m, how, error, request.dirFh, request.path)
    ) {
      // Refused as a create mode or for its createattrs: nothing after the
      // OPEN ran (a COMPOUND stops at its first failure); sent again the
      // way this client creates from now on.
      asked = createAttributes(m, { mode: request.mode }, request.path);
      settable = { ...asked, ...request.settable };
      how = exclusiveCreateHow(m, verifier, asked);
      continue;
    }
    break;
  }
  if (!seen.open) {
    const error = failure?.error;
    throw error instanceof NfsError ? error.withPath(request.path) : error;
  }
  if (!seen.fh) {
    // GETFH failed (or its reply could not be read): no handle to CLOSE by.
    // The open lapses with the client ID (DESTROY_CLIENTID at exit) or lease.
    m.tracer.emit("error", "OPEN without a file handle", `${request.path}: left to the lease`);
    throw failedAfterChange(failure?.error, request.path);
  }
  const state = recordOpen(
    m,
    owner,
    {
      dirFh: request.dirFh,
      name: request.name,
      path: request.path,
      access: ShareAccess.OPEN4_SHARE_ACCESS_WRITE,
    },
    seen.open,
    seen.fh,
  );
  // Each end of a file made and written (its data's COMMIT, see committed()),
  // with the owner read back after the owner's SETATTR when it was.
  const fh = seen.fh;
  const finish = async (
    wrote: WriteResult | undefined,
    placing: Placing | undefined,
    attrsError?: AttributesNotSetError,
    restError?: unknown,
  ): Promise<SmallCreateEnd> =>
    withOwnership(
      seen,
      await committed(m, request, fh, fileidOf(seen), wrote, placing, attrsError, restError),
    );
  if (!seen.closed && failure && !(failure.error instanceof NfsError)) {
    // The reply could not be read past the OPEN (a malformed result): what
    // ran after it is not known, so nothing of it is done again. The open
    // is closed (a CLOSE the server already ran is answered BAD_STATEID,
    // final for closeOpen), and the file fails.
    await closeFile(m, state).catch(() => undefined);
    throw failedAfterChange(failure.error, request.path);
  }
  if (!seen.closed) {
    const error = failure?.error;
    if (
      error instanceof NfsError && CURRENT_STATEID_USERS.has(error.op) &&
      error.status === S.NFS4ERR_BAD_STATEID && !refused.get(m)
    ) {
      refused.set(m, true);
      m.tracer.emit(
        "open",
        "current stateid refused",
        `${error.op} -> NFS4ERR_BAD_STATEID after OPEN in one COMPOUND (${request.path}); ` +
          "OPEN, then WRITE+SETATTR+CLOSE, from now on (RFC 8881 §16.2.3.1.2)",
      );
    } else {
      if (
        error instanceof NfsError && error.op === "GETATTR" && seen.ownerSet &&
        error.status !== S.NFS4ERR_DELAY && !ownershipReadRefused.get(m)
      ) {
        // The GETATTR after the owner's SETATTR (the OPEN's ran before it).
        ownershipReadRefused.set(m, true);
        m.tracer.emit(
          "open",
          "owner read-back refused",
          `GETATTR -> ${error.statusName} after the owner's SETATTR in one COMPOUND ` +
            `(${request.path}); not asked there from now on`,
        );
      }
      if (
        error instanceof NfsError && error.op === "VERIFY" &&
        // Refused, or NFS4ERR_NOT_SAME after a WRITE that says it wrote it
        // all (a server whose size lags): placing would never get through.
        (UNSUPPORTED.has(error.status) ||
          (error.status === S.NFS4ERR_NOT_SAME && seen.write?.count === data?.length))
      ) {
        refusePlacing(m, `VERIFY -> ${error.statusName} in one COMPOUND`, request.path);
      }
      if (m.tracer.active) {
        const failedAt = error instanceof NfsError ? `${error.op} -> ${error.statusName}` : "?";
        m.tracer.emit(
          "retry",
          `${failedAt} after OPEN in one COMPOUND`,
          `${request.path}: the rest goes on the open`,
        );
      }
    }
    if ((data && !seen.write) || (request.owner && !seen.ownerSet)) {
      // Nothing written: the caller writes, sets and closes on the open
      // (and gives the owner unless its SETATTR ran, or judges its refusal).
      const attrs = seen.attrs ?? await attributesOf(m, seen.fh, request).catch(async (e) => {
        // No attributes to go on with: close what was opened, then fail.
        await closeFile(m, state).catch(() => undefined);
        throw failedAfterChange(e, request.path);
      });
      // Refused as an owner this client may not give; any other status
      // (DELAY, BAD_STATEID) the caller's own SETATTR of the owner meets again.
      const ownerRefused = request.owner && seen.attrs && !seen.ownerSet &&
        error instanceof NfsError && error.op === "SETATTR" && OWNER_REFUSALS.has(error.status);
      // What the OPEN did not set (its attrset: a mode the server ignored)
      // is set before the caller writes into the file (files.ts): the
      // COMPOUND's own SETATTR did not run.
      const missing = notSetByOpen(how, asked, seen.open);
      if (missing) await setAfterCreate(m, request, { state, attrs }, missing);
      return {
        done: false,
        opened: { state, attrs, result: seen.open },
        ...(ownerRefused ? { ownerError: error.withPath(request.path) } : {}),
        ...(seen.ownerSet ? { ownerGiven: true } : {}),
        ...(seen.ownership ? { ownership: seen.ownership } : {}),
      };
    }
    // Not placed: the caller's own LINK places it (NfsSide.renameNoReplace).
    const placing = placeAs === undefined ? undefined : { linked: false, error } as const;
    let wrote = seen.write;
    if (data && wrote && wrote.count < data.length) {
      // A short WRITE (the placing's VERIFY stopped the COMPOUND, or its
      // CLOSE failed): the rest on this open, then SETATTR and CLOSE.
      let restError: unknown;
      try {
        wrote = await writeRest(m, { state }, data, wrote, settable);
      } catch (e) {
        if (!state.closed) await closeFile(m, state).catch(() => undefined);
        restError = failedAfterChange(e, request.path);
      }
      return finish(wrote, placing, undefined, restError);
    }
    try {
      if (!seen.attrsSet) {
        await setattrThenClose(m, state, settable);
      } else {
        await closeFile(m, state);
        checkAttributesSet(request.path, settable, seen.setBits ?? new Set());
      }
    } catch (e) {
      if (!state.closed) await closeFile(m, state).catch(() => undefined);
      throw failedAfterChange(e, request.path);
    }
    return finish(wrote, placing);
  }
  // The COMPOUND's CLOSE succeeded: the server holds no open any more.
  if (m.tracer.active) {
    m.tracer.emit(
      "open",
      "CLOSE",
      `${request.path} ${formatStateid(state.stateid)} (in the OPEN's COMPOUND, after ${
        data ? "WRITE, " : ""
      }SETATTR)`,
    );
  }
  forgetOpen(m, state);
  if (state.delegation) await returnDelegation(m, state);
  const placing = placingAfterClose(m, request, seen, failure);
  let wrote = seen.write;
  if (!(data && wrote && wrote.count < data.length)) {
    return finish(
      wrote,
      placing,
      attributesNotSet(request.path, settable, seen.setBits ?? new Set()),
    );
  }
  // A short WRITE, the file closed by its COMPOUND: the rest through a new
  // OPEN of its handle, then SETATTR (held to its attrsset) and CLOSE.
  const placed = placing !== undefined && placing.linked !== false;
  if (placed) {
    // Placed though not whole: the VERIFY cannot be trusted to stop that.
    refusePlacing(
      m,
      `a WRITE of ${wrote.count} of ${data.length} bytes passed VERIFY(size)`,
      request.path,
    );
  }
  // Its name now (an OPEN by name where the server has no CLAIM_FH).
  const name = placing?.linked === true && placing.temporaryRemoved ? placeAs! : request.name;
  let restError: unknown;
  try {
    wrote = await writeRest(
      m,
      { fh: seen.fh, parentFh: request.dirFh, name, path: request.path },
      data,
      wrote,
      settable,
    );
  } catch (e) {
    restError = failedAfterChange(e, request.path);
  }
  return finish(wrote, placing, undefined, restError);
}

/** `end` with the owner and group read back after the owner's SETATTR, when they were. */
function withOwnership(seen: Seen, end: SmallCreateEnd & { done: true }): SmallCreateEnd {
  return seen.ownership ? { ...end, ownership: seen.ownership } : end;
}

/** The file's FILEID, as the OPEN's GETATTR gave it (asked for when placing). */
function fileidOf(seen: Seen): bigint | undefined {
  return seen.attrs?.attrs.fileid;
}

/** What became of the final name, the COMPOUND's CLOSE having succeeded. */
function placingAfterClose(
  m: StateManager,
  request: SmallCreateRequest,
  seen: Seen,
  failure: { error: unknown } | undefined,
): Placing | undefined {
  if (request.placeAs === undefined) return undefined;
  if (seen.linked) return { linked: true, temporaryRemoved: seen.removed === true };
  const error = failure?.error;
  // A reply that could not be read past the CLOSE: the LINK may have run.
  if (!(error instanceof NfsError)) return { linked: "unknown", error };
  // (VERIFY comes before the CLOSE: its failures never reach here.)
  if (error.op === "SAVEFH" && UNSUPPORTED.has(error.status)) {
    refusePlacing(m, `${error.op} -> ${error.statusName} in one COMPOUND`, request.path);
  }
  return { linked: false, error };
}

/**
 * No more placing in the one COMPOUND for this client (`why`): a server
 * that refused one of its ops, or whose answers would let a file show under
 * its final name before its data are known whole and durable.
 */
function refusePlacing(m: StateManager, why: string, path: string): void {
  if (placingRefused.get(m)) return;
  placingRefused.set(m, true);
  m.tracer.emit(
    "open",
    "placing refused",
    `${why} (${path}); LINK+REMOVE on their own from now on`,
  );
}

/** Statuses of a SETATTR that refuse the owner or group itself (RFC 8881 §5.9, §15.1). */
const OWNER_REFUSALS: ReadonlySet<number> = new Set([
  S.NFS4ERR_PERM,
  S.NFS4ERR_ACCESS,
  S.NFS4ERR_BADOWNER,
]);

/**
 * Statuses that say an op is not there at all (not that it failed this
 * time). (An op the server does not know comes back as ILLEGAL, RFC 8881
 * §15.2, not under its own name: such a server ends the COMPOUND there.)
 */
const UNSUPPORTED: ReadonlySet<number> = new Set([
  S.NFS4ERR_NOTSUPP,
  S.NFS4ERR_ATTRNOTSUPP,
]);

/**
 * The end of a file made, written and closed: a WRITE answered less than
 * FILE_SYNC4 gets its COMMIT (by handle, RFC 8881 §18.3), whose verifier is
 * handed back beside the WRITE's for the caller to compare.
 *
 * A file already placed (its LINK ran) whose data then turn out not whole
 * or not known durable (a short count a lying VERIFY let through, a COMMIT
 * that failed or whose verifier changed: the server restarted and may have
 * lost them) loses its final name again ({@linkcode unplace}); `placing`
 * then says `linked: false` (also when the name turned out to be no
 * longer this file's), or, when whether it went is not known, keeps what
 * it said, for the caller to say the destination may be damaged. A COMMIT's
 * failure then comes back as `commitError` rather than thrown. A server
 * that answers a WRITE with less than FILE_SYNC4 gets no placing after
 * this file: only the files already on their way then (the copy's files
 * in flight) are placed before their data are durable. `restError`: the
 * rest of a short WRITE failed (it comes back as `commitError`, placed or
 * not, and no COMMIT is sent).
 */
async function committed(
  m: StateManager,
  request: SmallCreateRequest,
  fh: FileHandle,
  fileid: bigint | undefined,
  wrote: WriteResult | undefined,
  placing: Placing | undefined,
  attrsError?: AttributesNotSetError,
  restError?: unknown,
): Promise<SmallCreateEnd & { done: true }> {
  const placed = placing !== undefined && placing.linked !== false;
  let end: SmallCreateEnd & { done: true } = {
    done: true,
    fh,
    write: wrote,
    ...(placing ? { placing } : {}),
  };
  if (restError !== undefined) {
    end = { ...end, commitError: restError };
  } else if (wrote && wrote.committed !== StableHow.FILE_SYNC4) {
    if (placing !== undefined) {
      refusePlacing(
        m,
        `WRITE answered less than FILE_SYNC4 (stable_how ${wrote.committed})`,
        request.path,
      );
    }
    try {
      // Placed, the COMMIT decides whether the name stays: sent even after
      // a stop (a COMMIT refused unsent would take a good file's name away).
      const sendCommit = () => m.run(() => [putfh(fh), commit()] as const);
      const [, verifier] = await (placed ? outsideOperationScope(sendCommit) : sendCommit());
      end = { ...end, commitVerifier: verifier };
    } catch (e) {
      const error = failedAfterChange(e, request.path);
      if (!placed) throw error;
      end = { ...end, commitError: error };
    }
  }
  const whole = !wrote || wrote.count === request.data.length;
  const durable = !wrote || end.commitError === undefined &&
      (end.commitVerifier === undefined || sameBytes(end.commitVerifier, wrote.writeverf));
  if (attrsError !== undefined) {
    // Its SETATTR set less than it asked for (attrsset, RFC 8881
    // §18.30.4): the file fails as one whose SETATTR went alone does;
    // placed, it loses its final name as below.
    if (!placed) throw attrsError;
    end = { ...end, commitError: end.commitError ?? attrsError };
  }
  if (placed && (!whole || !durable || attrsError !== undefined)) {
    const why = !whole
      ? `the server wrote ${wrote!.count} of ${request.data.length} bytes`
      : !durable
      ? "its data are not known durable (COMMIT)"
      : "its attributes were not all set (SETATTR attrsset)";
    const after = await outsideOperationScope(() => unplace(m, request, fileid)).catch(() =>
      "unknown" as const
    );
    const shown = finalPath(request);
    m.tracer.emit(
      "error",
      after === "gone"
        ? "placed file taken back"
        : after === "not ours"
        ? "placed file's name no longer its own"
        : "placed file not taken back",
      `${shown}: ${why}`,
    );
    // Still this file's name only when that is not known: the caller then
    // says the destination may be damaged.
    if (after !== "unknown") end = { ...end, placing: { linked: false, error: undefined } };
  }
  return end;
}

/**
 * Takes the final name (`placeAs`) from the file again, only while the
 * name still is this file (`fileid`): `PUTFH(dir) LOOKUP(name) VERIFY(fileid)
 * PUTFH(dir) REMOVE(name)`, the VERIFY stopping the REMOVE when the name is
 * another file's (NFS4ERR_NOT_SAME, RFC 8881 §18.31), in the same
 * COMPOUND. "gone": removed (or, a resend's NOENT, removed by its first
 * run); "not ours": the name is no file or another's; "unknown": no fileid
 * to tell by, or the REMOVE failed.
 */
async function unplace(
  m: StateManager,
  request: SmallCreateRequest,
  fileid: bigint | undefined,
): Promise<"gone" | "not ours" | "unknown"> {
  const name = request.placeAs!;
  if (fileid === undefined) return "unknown";
  try {
    await m.run(() =>
      [
        putfh(request.dirFh),
        lookup(name),
        verify({ fileid }),
        putfh(request.dirFh),
        remove(name),
      ] as const
    );
  } catch (e) {
    if (!(e instanceof NfsError)) return "unknown";
    if (e.op === "LOOKUP" && e.status === S.NFS4ERR_NOENT) {
      return e.answeredResend ? "gone" : "not ours";
    }
    if (e.op === "VERIFY" && e.status === S.NFS4ERR_NOT_SAME) return "not ours";
    return "unknown";
  }
  return "gone";
}

/** The final name's path, as the user would name it (`request.path`'s directory). */
function finalPath(request: SmallCreateRequest): string {
  return request.path.slice(0, request.path.lastIndexOf("/") + 1) + request.placeAs;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The GETATTR of the file `fh` (the open's own failed with a later op). */
async function attributesOf(
  m: StateManager,
  fh: FileHandle,
  request: SmallCreateRequest,
): Promise<DecodedFattr> {
  const [, attrs] = await m.run(() => [putfh(fh), getattr(request.attrs)] as const);
  return attrs;
}
