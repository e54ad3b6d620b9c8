/**
 * The end of a small file written through an open (what `cp -r` of many
 * small files to a server spends its requests on): its only WRITE, the
 * SETATTR that sets its final size, mode and times, and the CLOSE, in one
 * COMPOUND on NFSv4.1: `SEQUENCE PUTFH WRITE(FILE_SYNC4) SETATTR CLOSE`,
 * where three COMPOUNDs went before (two on NFSv4.0, below). The state manager owns the shape, as
 * it owns CLOSE: the open is forgotten only once a CLOSE the server
 * answered NFS4_OK says it is gone, and the trace says so.
 *
 * **The CLOSE only on NFSv4.1 and later.** There a resend is answered
 * from the session's reply cache (RFC 8881 §2.10.6: the COMPOUND changes
 * state, so its reply is cached, sa_cachethis, lib/state/exactly_once.ts),
 * so the COMPOUND runs once whatever happens to its reply. On NFSv4.0 a
 * resend after a reconnect runs the WRITE and SETATTR again (only the
 * CLOSE would be answered from the owner's replay cache, RFC 7530 §9.1.9),
 * against a state its first run may have closed: there the COMPOUND is
 * `PUTFH WRITE SETATTR` (both run again harmlessly on a state still open:
 * the same bytes, the same attributes), and the CLOSE follows alone, with
 * its seqid, as any CLOSE.
 *
 * **Not for a shared open.** A state with other users, locks or a
 * delegation is not closed here (closeOpen decides what its CLOSE needs):
 * the caller is told, and writes as usual.
 *
 * **When it stops part way** (a COMPOUND stops at its first failure, RFC
 * 8881 §16.2.3):
 * - WRITE failed: nothing after it ran; the manager's usual rules apply to
 *   the COMPOUND as they would to the WRITE alone (a resend runs the same
 *   WRITE of the same bytes), and a failure comes back with the state
 *   still open, for the caller to close as after any failed WRITE.
 * - WRITE done, SETATTR failed: from the moment the reply shows the WRITE
 *   done, every status comes back here (the COMPOUND is never sent again
 *   as a whole). The SETATTR goes again alone, through the usual rules
 *   (setting the same size, mode and times twice is the same as once); a
 *   failure of that comes back with the state open, as above.
 * - WRITE and SETATTR done, CLOSE failed: the CLOSE goes again alone
 *   (closeFile: its recovery, its final statuses for a state the server
 *   no longer holds).
 *
 * **What the WRITE said.** FILE_SYNC4 asked: the data and metadata are on
 * stable storage with the reply (RFC 8881 §18.32.3), no COMMIT needed. A
 * server that answers with less (it must not) is sent `PUTFH COMMIT` after
 * the CLOSE (COMMIT names no stateid, RFC 8881 §18.3) and its verifier is
 * handed back beside the WRITE's for the caller to compare.
 *
 * **A short WRITE** (fewer bytes than sent, NFS4_OK: a server may write
 * less without an error, RFC 8881 §18.32.3, RFC 7530 §16.36.4, a file
 * system nearly full say) is followed by WRITEs of the rest, as the
 * pipelined writer's are (lib/client/client.ts NfsFile.write), never
 * sending a byte written already: {@linkcode writeRest}. The COMPOUND
 * cannot branch, so its SETATTR ran all the same (the size filled out with
 * zeros, written over by the rest) and, on NFSv4.1, its CLOSE: the rest
 * then goes through a new OPEN of the file by its handle (CLAIM_FH, RFC
 * 8881 §18.16.3); on NFSv4.0 the CLOSE had not been sent, and the rest
 * goes through the same open. The SETATTR goes again after the rest (a
 * WRITE moves the times it set), then the CLOSE. The rest fails with the
 * server's own status (NFS4ERR_NOSPC); a WRITE that writes nothing with
 * NFS4_OK (which the server should have answered with an error, §18.32.3)
 * fails as the pipelined writer fails it, never sent again. What is
 * handed back is then the whole file's WRITE: every byte counted.
 * @module
 */

import type { SettableAttributes } from "../nfs4/attrs.ts";
import { tapped } from "../nfs4/compound.ts";
import { OpenClaimType, ShareAccess, StableHow } from "../nfs4/constants.ts";
import { NfsError } from "../nfs4/errors.ts";
import { close } from "../nfs4/ops/close.ts";
import { commit } from "../nfs4/ops/commit.ts";
import { getfh } from "../nfs4/ops/getfh.ts";
import { open, type OpenClaim, type OpenResult } from "../nfs4/ops/open.ts";
import { putfh } from "../nfs4/ops/putfh.ts";
import { setattr } from "../nfs4/ops/setattr.ts";
import { checkAttributesSet } from "../nfs4/attrs_set.ts";
import { write, type WriteResult } from "../nfs4/ops/write.ts";
import { Nfs4Status as S } from "../nfs4/status.ts";
import {
  ANONYMOUS_STATEID,
  bytesEqual,
  type FileHandle,
  formatStateid,
  type Verifier,
} from "../nfs4/types.ts";
import { asClose, closeFile, recordOpen } from "./files.ts";
import type { StateManager } from "./manager.ts";
import type { OpenState } from "./open_state.ts";
import { outsideOperationScope } from "./operation_scope.ts";
import { closeOpen, forgetOpen, releaseInProgress } from "./procs.ts";

/** What {@linkcode writeSetattrClose} did. */
export type SmallUploadEnd =
  /** The shape does not apply (a shared open): nothing was sent. */
  | { readonly done: false }
  | {
    readonly done: true;
    /**
     * The WRITE's result (undefined: there was no data to write); after a
     * short WRITE, its rest's too, as one ({@linkcode writeRest}).
     */
    readonly write: WriteResult | undefined;
    /** A COMMIT's verifier, when the WRITE was answered less than FILE_SYNC4. */
    readonly commitVerifier?: Verifier;
  };

/** Whether `state` may be ended with {@linkcode writeSetattrClose}. */
export function canEndInOne(_m: StateManager, state: OpenState): boolean {
  return !state.closed && state.bad === undefined && state.users === 1 &&
    state.locks.length === 0 && !state.delegation;
}

/**
 * What the COMPOUND of {@linkcode writeSetattrClose} did (undefined: the
 * shape did not apply once the releases before it ended, nothing sent).
 * `open`: a WRITE short of its data left the state open where the COMPOUND
 * did not close it (NFSv4.0), for the rest to go through.
 */
interface InOne {
  readonly wrote: WriteResult | undefined;
  readonly open: boolean;
}

/**
 * `PUTFH WRITE(FILE_SYNC4, data at 0) SETATTR(attrs) CLOSE` on `state` in
 * one COMPOUND (no WRITE when `data` is undefined): see the module comment.
 * A short WRITE's rest follows ({@linkcode writeRest}); a failure of it
 * comes back with `state` still open where the COMPOUND had not closed it
 * (NFSv4.0), for the caller to close as after any failed WRITE.
 */
export async function writeSetattrClose(
  m: StateManager,
  state: OpenState,
  data: Uint8Array | undefined,
  attrs: SettableAttributes,
): Promise<SmallUploadEnd> {
  if (!canEndInOne(m, state)) return { done: false };
  const ran = await asClose(m, async (): Promise<InOne | undefined> => {
    // Another user's close of this open on its way (an OPEN_DOWNGRADE)
    // ends first: its users are counted after it.
    const releasing = releaseInProgress(state);
    if (releasing) await releasing;
    state.assertUsable();
    if (!canEndInOne(m, state)) return undefined;
    let wrote: WriteResult | undefined;
    let attrsSet = false;
    /** The attrsset of the SETATTR that ran, held to what it asked for once the file is closed. */
    let setBits: ReadonlySet<number> = new Set();
    let closed = false;
    try {
      await m.run(
        () => {
          wrote = undefined;
          attrsSet = false;
          closed = false;
          return [
            putfh(state.fh),
            ...(data
              ? [tapped(
                write({
                  stateid: state.stateid,
                  offset: 0n,
                  stable: StableHow.FILE_SYNC4,
                  data,
                }),
                (v) => wrote = v,
              )]
              : []),
            tapped(setattr({ stateid: state.stateid, attrs }), (set) => {
              attrsSet = true;
              setBits = set;
            }),
            ...(m.sessions
              ? [tapped(close({ seqid: 0, stateid: state.stateid }), () => closed = true)]
              : []),
          ];
        },
        {
          states: [state],
          // Once the WRITE (or, without one, the SETATTR) is done, the
          // COMPOUND is never sent again as a whole: see the module comment.
          final: { has: () => (data ? wrote !== undefined : attrsSet) },
        },
      );
    } catch (e) {
      const started = data ? wrote !== undefined : attrsSet;
      if (!started) throw e instanceof NfsError ? e.withPath(state.path) : e;
      const failedAt = e instanceof NfsError ? e.op : "?";
      m.tracer.emit(
        "retry",
        `${failedAt} of WRITE+SETATTR+CLOSE failed`,
        `${state.path}: the rest goes alone`,
      );
    }
    const result = wrote as WriteResult | undefined;
    // A short WRITE: its rest goes first, then the SETATTR again (below).
    const short = data !== undefined && result !== undefined && result.count < data.length;
    if (!attrsSet && !short) {
      // The WRITE is done; the SETATTR goes alone, under the usual rules.
      try {
        [, setBits] = await m.run(
          () => [putfh(state.fh), setattr({ stateid: state.stateid, attrs })] as const,
          { states: [state] },
        );
      } catch (e) {
        throw e instanceof NfsError ? e.withPath(state.path) : e;
      }
    }
    if (closed) {
      if (m.tracer.active) {
        m.tracer.emit(
          "open",
          "CLOSE",
          `${state.path} ${formatStateid(state.stateid)} (with ${data ? "WRITE, " : ""}SETATTR)`,
        );
      }
      forgetOpen(m, state);
    } else if (short) {
      // NFSv4.0 (or a CLOSE that failed): the open stays for the rest.
      return { wrote: result, open: true };
    } else {
      // The CLOSE alone (ordered after the OPENs in flight already, by asClose),
      // a release: never stopped by the work's soft stop (as files.ts closeFile).
      await outsideOperationScope(() => closeOpen(m, state));
    }
    // Closed either way: a SETATTR that set less than it asked for (its
    // attrsset, RFC 8881 §18.30.4) fails the file, as a SETATTR alone does
    // (lib/client/client.ts). After a short WRITE, the SETATTR that
    // follows the rest is the one held to it.
    if (!short) checkAttributesSet(state.path, attrs, setBits);
    return { wrote: result, open: false };
  });
  if (!ran) return { done: false };
  let result = ran.wrote;
  if (data && result && result.count < data.length) {
    result = await writeRest(
      m,
      ran.open
        ? { state }
        : { fh: state.fh, parentFh: state.parentFh, name: state.name, path: state.path },
      data,
      result,
      attrs,
    );
  }
  if (result && result.committed !== StableHow.FILE_SYNC4) {
    const [, verifier] = await m.run(() => [putfh(state.fh), commit()] as const).catch((e) => {
      throw e instanceof NfsError ? e.withPath(state.path) : e;
    });
    return { done: true, write: result, commitVerifier: verifier };
  }
  return { done: true, write: result };
}

/** A file closed after a short WRITE, to open again by its handle for the rest. */
export interface ReopenTarget {
  readonly fh: FileHandle;
  /**
   * Its directory and name: the OPEN by name where the server has no
   * CLAIM_FH, and the state's for a re-open after a lost lease (procs.ts).
   */
  readonly parentFh: FileHandle | undefined;
  readonly name: string | undefined;
  /** The path the user named, for messages and traces. */
  readonly path: string;
}

/**
 * The rest of `data` after a WRITE at offset 0 that wrote only its first
 * `first.count` bytes with NFS4_OK (RFC 8881 §18.32.3, RFC 7530 §16.36.4:
 * "the client will need to send another WRITE to write the remaining
 * data"), then the SETATTR of `attrs` again (the WRITEs moved the times it
 * set) and the CLOSE. Through `file.state` when it is still open, else
 * through a new OPEN of `file.fh` (CLAIM_FH, NFSv4.1 only: the shapes that
 * close before their WRITE is seen are 4.1's), which is closed again when
 * anything fails; a state the caller gave stays open on a failure, for the
 * caller to close. Each WRITE is FILE_SYNC4, from where the last one ended:
 * nothing written is sent again. A WRITE that writes nothing fails the file
 * (as NfsFile.write fails it), and so does any status of the server's
 * (NFS4ERR_NOSPC), named by `path`. Returns what the WRITEs did as one: all
 * of `data` counted, the lowest stability answered, and the verifier a
 * COMMIT must match (the first WRITE's answered below FILE_SYNC4: a
 * restart after it changes the COMMIT's, RFC 8881 §18.3.3).
 */
export async function writeRest(
  m: StateManager,
  file: { readonly state: OpenState } | ReopenTarget,
  data: Uint8Array,
  first: WriteResult,
  attrs: SettableAttributes,
): Promise<WriteResult> {
  const given = "state" in file ? file.state : undefined;
  const path = given ? given.path : (file as ReopenTarget).path;
  m.tracer.emit(
    "retry",
    "short WRITE",
    `${path}: ${first.count} of ${data.length} bytes written; the rest goes on ${
      given ? "the same open" : "an OPEN by its handle (CLAIM_FH)"
    } (RFC 8881 §18.32.3, RFC 7530 §16.36.4)`,
  );
  /** The reopen gave the owner write permission for the rest (see reopen()). */
  const loosened = { mode: false };
  const state = given ?? await reopen(m, file as ReopenTarget, attrs, loosened);
  let written = first.count;
  let committed = first.committed;
  let writeverf = first.writeverf;
  let unstable = first.committed !== StableHow.FILE_SYNC4;
  try {
    while (written < data.length) {
      const offset = written;
      const [, result] = await m.run(
        () =>
          [
            putfh(state.fh),
            write({
              stateid: state.stateid,
              offset: BigInt(offset),
              stable: StableHow.FILE_SYNC4,
              data: data.subarray(offset),
            }),
          ] as const,
        { states: [state] },
      );
      if (result.count === 0) {
        // No progress, and no error: sent again it would answer the same.
        throw new Error(`${path}: server accepted no data at offset ${offset}`);
      }
      written += result.count;
      committed = Math.min(committed, result.committed);
      if (!unstable && result.committed !== StableHow.FILE_SYNC4) {
        unstable = true;
        writeverf = result.writeverf;
      }
    }
    await setattrThenClose(m, state, attrs);
  } catch (e) {
    // An open of this function's own is closed; the caller's is the caller's.
    if (!given && !state.closed) await closeFile(m, state).catch(() => undefined);
    // The mode asked for, which the COMPOUND had set, again: a failure of
    // the rest leaves the file no more open to writing than it was asked to be.
    if (loosened.mode) await restoreMode(m, state.fh, attrs);
    throw e instanceof NfsError ? e.withPath(path) : e;
  }
  return { count: written, committed, writeverf };
}

/**
 * SETATTR of `attrs` and CLOSE on `state`: in one COMPOUND where the
 * shape applies ({@linkcode writeSetattrClose} without data), else the
 * SETATTR and then the CLOSE (closeFile). A failure leaves `state` open.
 */
export async function setattrThenClose(
  m: StateManager,
  state: OpenState,
  attrs: SettableAttributes,
): Promise<void> {
  const end = await writeSetattrClose(m, state, undefined, attrs);
  if (end.done) return;
  const [, set] = await m.run(
    () => [putfh(state.fh), setattr({ stateid: state.stateid, attrs })] as const,
    { states: [state] },
  ).catch((e) => {
    throw e instanceof NfsError ? e.withPath(state.path) : e;
  });
  checkAttributesSet(state.path, attrs, set);
  await closeFile(m, state);
}

/**
 * OPEN for writing of `file` by its handle (CLAIM_FH, RFC 8881 §18.16.3),
 * recorded as any OPEN (files.ts recordOpen). A server without CLAIM_FH
 * (NFS4ERR_NOTSUPP, or NFS4ERR_INVAL for a claim it does not know) gets the
 * OPEN by name (CLAIM_NULL), as procs.ts's re-open falls back, and an open
 * of another file found by that name (the name replaced meanwhile) is
 * closed and fails. Refused NFS4ERR_ACCESS when `attrs`' mode (set by the
 * SETATTR that ran with the short WRITE) denies its owner writing (0444):
 * an OPEN for writing is checked against the file's mode, as open(2) is,
 * the OPEN that creates the file aside (Ganesha refuses its owner so), so
 * the file's owner gets write permission back (that mode plus 0200, by a
 * SETATTR that needs no open: its stateid matters only for the size, RFC
 * 8881 §18.30.3; `loosened.mode` says so) and the OPEN goes again; the
 * SETATTR after the rest sets `attrs`' mode once more, and so does a
 * failure of the OPEN or of the rest (restoreMode): the file never stays
 * more open to writing than asked.
 */
/**
 * Sets `attrs`' mode on `fh` again after reopen() loosened it (best effort:
 * a failure here is not the failure to report, which follows).
 */
async function restoreMode(
  m: StateManager,
  fh: FileHandle,
  attrs: SettableAttributes,
): Promise<void> {
  if (attrs.mode === undefined) return;
  const mode = attrs.mode;
  await m.run(() => [putfh(fh), setattr({ stateid: ANONYMOUS_STATEID, attrs: { mode } })] as const)
    .catch(() => undefined);
}

async function reopen(
  m: StateManager,
  file: ReopenTarget,
  attrs: SettableAttributes,
  loosened: { mode: boolean },
): Promise<OpenState> {
  const { parentFh, name } = file;
  if (parentFh === undefined || name === undefined) {
    throw new Error(`${file.path}: cannot open the file again for the rest of a short WRITE`);
  }
  const access = ShareAccess.OPEN4_SHARE_ACCESS_WRITE;
  const owner = m.openOwner();
  const openOp = (claim: OpenClaim) =>
    open({
      seqid: 0,
      // A delegation would be given back at once: ask for none.
      shareAccess: access | ShareAccess.OPEN4_SHARE_ACCESS_WANT_NO_DELEG,
      shareDeny: 0,
      owner: { clientid: m.client.clientId!, owner: owner.id },
      claim,
    });
  const send = async (): Promise<OpenResult> => {
    try {
      const [, result] = await m.run(() =>
        [putfh(file.fh), openOp({ claim: OpenClaimType.CLAIM_FH })] as const
      );
      return result;
    } catch (e) {
      if (
        !(e instanceof NfsError) ||
        (e.status !== S.NFS4ERR_NOTSUPP && e.status !== S.NFS4ERR_INVAL)
      ) throw e;
    }
    m.tracer.emit("open", "OPEN(CLAIM_FH) refused", `${file.path}: by name`);
    const [, result, fh] = await m.run(() =>
      [
        putfh(parentFh),
        openOp({ claim: OpenClaimType.CLAIM_NULL, file: name }),
        getfh(),
      ] as const
    );
    if (!bytesEqual(fh, file.fh)) {
      const other = recordOpen(
        m,
        owner,
        { dirFh: parentFh, name, path: file.path, access },
        result,
        fh,
      );
      await closeFile(m, other).catch(() => undefined);
      throw new Error(`${file.path}: its name is another file now (opened again by name)`);
    }
    return result;
  };
  try {
    let result: OpenResult;
    try {
      result = await send();
    } catch (e) {
      const mode = attrs.mode;
      const ownerMayNotWrite = mode !== undefined && (mode & 0o200) === 0;
      if (!(e instanceof NfsError && e.status === S.NFS4ERR_ACCESS && ownerMayNotWrite)) throw e;
      await m.run(() =>
        [
          putfh(file.fh),
          setattr({ stateid: ANONYMOUS_STATEID, attrs: { mode: mode! | 0o200 } }),
        ] as const
      );
      loosened.mode = true;
      try {
        result = await send();
      } catch (again) {
        await restoreMode(m, file.fh, attrs);
        loosened.mode = false;
        throw again;
      }
    }
    return recordOpen(
      m,
      owner,
      { dirFh: parentFh, name, path: file.path, access },
      result,
      file.fh,
    );
  } catch (e) {
    throw e instanceof NfsError ? e.withPath(file.path) : e;
  }
}
