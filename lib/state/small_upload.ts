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
 * handed back beside the WRITE's for the caller to compare. A short WRITE
 * (fewer bytes than sent) is handed back as such: the COMPOUND cannot
 * branch, so its SETATTR and CLOSE ran all the same, and the caller must
 * not take the file as written.
 * @module
 */

import type { SettableAttributes } from "../nfs4/attrs.ts";
import { tapped } from "../nfs4/compound.ts";
import { StableHow } from "../nfs4/constants.ts";
import { NfsError } from "../nfs4/errors.ts";
import { close } from "../nfs4/ops/close.ts";
import { commit } from "../nfs4/ops/commit.ts";
import { putfh } from "../nfs4/ops/putfh.ts";
import { setattr } from "../nfs4/ops/setattr.ts";
import { checkAttributesSet } from "../nfs4/attrs_set.ts";
import { write, type WriteResult } from "../nfs4/ops/write.ts";
import { formatStateid, type Verifier } from "../nfs4/types.ts";
import { asClose } from "./files.ts";
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
    /** The WRITE's result (undefined: there was no data to write). */
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
 * `PUTFH WRITE(FILE_SYNC4, data at 0) SETATTR(attrs) CLOSE` on `state` in
 * one COMPOUND (no WRITE when `data` is undefined): see the module comment.
 */
export function writeSetattrClose(
  m: StateManager,
  state: OpenState,
  data: Uint8Array | undefined,
  attrs: SettableAttributes,
): Promise<SmallUploadEnd> {
  if (!canEndInOne(m, state)) return Promise.resolve({ done: false });
  return asClose(m, async (): Promise<SmallUploadEnd> => {
    // Another user's close of this open on its way (an OPEN_DOWNGRADE)
    // ends first: its users are counted after it.
    const releasing = releaseInProgress(state);
    if (releasing) await releasing;
    state.assertUsable();
    if (!canEndInOne(m, state)) return { done: false };
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
    if (!attrsSet) {
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
    } else {
      // The CLOSE alone (ordered after the OPENs in flight already, by asClose),
      // a release: never stopped by the work's soft stop (as files.ts closeFile).
      await outsideOperationScope(() => closeOpen(m, state));
    }
    // Closed either way: a SETATTR that set less than it asked for (its
    // attrsset, RFC 8881 §18.30.4) fails the file, as a SETATTR alone does
    // (lib/client/client.ts).
    checkAttributesSet(state.path, attrs, setBits);
    const result = wrote as WriteResult | undefined;
    if (result && result.committed !== StableHow.FILE_SYNC4) {
      const [, verifier] = await m.run(() => [putfh(state.fh), commit()] as const).catch((e) => {
        throw e instanceof NfsError ? e.withPath(state.path) : e;
      });
      return { done: true, write: result, commitVerifier: verifier };
    }
    return { done: true, write: result };
  });
}
