/**
 * The client's callback service (RFC 7530 §16.33, §17; RFC 8881 §2.10.3.1,
 * §20): what the server calls back for. The kernel's callback_xdr.c and
 * callback_proc.c.
 *
 * One handler serves both minor versions: on 4.0 the server connects to a
 * listener of ours (cb_location from SETCLIENTID), on 4.1 it sends the calls
 * on the session's own connection (the backchannel). CB_COMPOUND is decoded,
 * each operation acted on through the state manager (a recall sets
 * DELEGRETURN; the return itself happens in the manager's loop), and the
 * reply encoded. Unknown operations get NFS4ERR_OP_ILLEGAL and operations
 * this client does not implement NFS4ERR_NOTSUPP; nothing the server sends
 * can crash it.
 *
 * A recall may overtake the OPEN reply that grants the delegation (RFC 7530
 * §10.4.5, RFC 8881 §2.10.6.3). On 4.1 the CB_SEQUENCE names the OPEN among
 * its referring calls: while that call's reply is still to be processed,
 * the callback is answered NFS4ERR_DELAY without taking its slot sequence
 * id, and the server sends it again later (the kernel's
 * referring_call_exists). On 4.0, and whenever the recall still finds no
 * such delegation, it is answered as the kernel does (NFS4ERR_BADHANDLE, or
 * NFS4ERR_BAD_STATEID when another delegation is held on the file) and
 * remembered for about a lease: an OPEN reply that then grants that very
 * delegation gives it back at once (procs.ts noteDelegation).
 * @module
 */

import { outsideOperationScope } from "./operation_scope.ts";
import type { CallHandler, IncomingCall } from "../rpc/transport.ts";
import { PROC_UNAVAIL, PROG_MISMATCH } from "../rpc/message.ts";
import { XdrWriter } from "../xdr/mod.ts";
import { Attr, type FileAttributes } from "../nfs4/attrs.ts";
import {
  type CbCompoundRequest,
  type CbGetattrArgs,
  type CbNotifyLockArgs,
  type CbRecallAnyArgs,
  type CbRecallArgs,
  type CbSequenceArgs,
  decodeCbCompoundRequest,
  encodeCbCompoundReply,
} from "../nfs4/callback.ts";
import type { CompoundReply, OpOutcome } from "../nfs4/compound.ts";
import { CB_COMPOUND, CB_NULL, CbOp, RecallAnyType } from "../nfs4/constants.ts";
import { Nfs4Status as S, statusName } from "../nfs4/status.ts";
import {
  bytesEqual,
  type FileHandle,
  formatStateid,
  hex,
  sameStateOther,
  type Stateid,
} from "../nfs4/types.ts";
import type { StateManager } from "./manager.ts";
import type { Delegation } from "./open_state.ts";

/**
 * The program number we ask the server to call back on (RFC 7530
 * §16.33.1: any transient number). 0x40000000, as the Linux client uses:
 * Wireshark decodes the NFSv4 callback program under that number only.
 */
export const CALLBACK_PROGRAM = 0x40000000;
/** The one version of the callback program (RFC 7530 §16.33.1, RFC 8881 §20: `NFS_CB = 1`). */
export const CALLBACK_VERSION = 1;

/**
 * The 4.1 back channel we ask for in CREATE_SESSION (RFC 8881 §18.36): one
 * slot, small requests. A server may grant less, never more; a callback
 * beyond what was granted is refused in CB_SEQUENCE (RFC 8881 §2.10.6.4).
 */
export const BACK_CHANNEL_LIMITS = {
  maxRequestSize: 16 * 1024,
  maxOperations: 4,
  maxRequests: 1,
} as const;

/**
 * The most recalls of delegations not (yet) held that are remembered at
 * once: the oldest is forgotten past it, so a server that recalls
 * stateids it never granted cannot make the list grow.
 */
export const PENDING_RECALLS_MAX = 64;

/** A CB_RECALL of a delegation this client did not hold when it came. */
interface PendingRecall {
  readonly stateid: Stateid;
  readonly fh: FileHandle;
  readonly at: number;
}

/** A CB_NOTIFY_LOCK: the lock a waiter asked for may now be available. */
export interface LockNotification {
  readonly fh: Uint8Array;
  readonly owner: Uint8Array;
}

export class CallbackService {
  /**
   * The callback_ident given on 4.0 in SETCLIENTID and expected back in
   * every CB_COMPOUND (RFC 7530 §16.33.1): random, nonzero, so that another
   * host reaching the callback port cannot pass a callback off as the
   * server's by knowing a fixed number (the listener is on the address the
   * server sees this client at).
   */
  readonly ident: number = (crypto.getRandomValues(new Uint32Array(1))[0]! % 0xffff_fffe) + 1;
  readonly #m: StateManager;
  /** 4.1 back channel slot 0: last sequence id and the reply cached for it. */
  #slotSeqid = 0;
  #cachedReply: Uint8Array | undefined;
  readonly #lockListeners = new Set<(n: LockNotification) => void>();
  /** Recalls of delegations not held when they came, oldest first (RFC 7530 §10.4.5). */
  #pendingRecalls: PendingRecall[] = [];
  /** Calls answered, for tests and renew-watch. */
  calls = 0;

  constructor(m: StateManager) {
    this.#m = m;
  }

  /** The RPC handler for the callback program. */
  readonly handler: CallHandler = (call) =>
    // A recall is served whatever verb's work happens to be running.
    outsideOperationScope(() => this.#serve(call));

  /** Listens for CB_NOTIFY_LOCK; returns the unsubscribe function. */
  onLockNotify(listener: (n: LockNotification) => void): () => void {
    this.#lockListeners.add(listener);
    return () => this.#lockListeners.delete(listener);
  }

  /**
   * Whether the delegation `stateid` on `fh`, which an OPEN reply has just
   * granted, was recalled before that reply was processed (a CB_RECALL that
   * found no such delegation, within about a lease). It is taken off the
   * list: the caller gives the delegation back at once (RFC 7530 §10.4.5:
   * a delegation on the pending recall list is not used).
   */
  takePendingRecall(stateid: Stateid, fh: FileHandle): boolean {
    this.#expirePendingRecalls();
    const i = this.#pendingRecalls.findIndex((r) =>
      sameStateOther(r.stateid, stateid) && bytesEqual(r.fh, fh)
    );
    if (i < 0) return false;
    this.#pendingRecalls.splice(i, 1);
    return true;
  }

  /** Recalls of delegations not held, remembered now (for `state` and the tests). */
  get pendingRecalls(): number {
    this.#expirePendingRecalls();
    return this.#pendingRecalls.length;
  }

  #rememberRecall(stateid: Stateid, fh: FileHandle): void {
    this.#expirePendingRecalls();
    // The server sends a recall again until it is answered so (knfsd's
    // nfsd4_cb_recall_done retries NFS4ERR_BADHANDLE): one entry each.
    if (
      this.#pendingRecalls.some((r) => sameStateOther(r.stateid, stateid) && bytesEqual(r.fh, fh))
    ) return;
    this.#pendingRecalls.push({
      // Copies: the decoded arguments may be views of the request's buffer.
      stateid: { seqid: stateid.seqid, other: stateid.other.slice() },
      fh: fh.slice(),
      at: this.#m.clock.now(),
    });
    if (this.#pendingRecalls.length > PENDING_RECALLS_MAX) this.#pendingRecalls.shift();
  }

  /** Forgets recalls older than a lease: an OPEN reply is not held up that long. */
  #expirePendingRecalls(): void {
    const oldest = this.#m.clock.now() - this.#m.client.leaseTime * 1000;
    while (this.#pendingRecalls.length > 0 && this.#pendingRecalls[0]!.at < oldest) {
      this.#pendingRecalls.shift();
    }
  }

  /** A new session: its back channel slot starts over (RFC 8881 §2.10.6.1). */
  resetSlot(): void {
    this.#slotSeqid = 0;
    this.#cachedReply = undefined;
  }

  #serve(call: IncomingCall): Promise<((w: XdrWriter) => void) | { acceptStat: number }> {
    this.calls++;
    if (call.version !== CALLBACK_VERSION) {
      // RFC 5531 §9: a version we do not serve, with the range we do.
      this.#m.tracer.emit("cb", "callback refused", `program version ${call.version}`);
      return Promise.resolve({
        acceptStat: PROG_MISMATCH,
        mismatch: { low: CALLBACK_VERSION, high: CALLBACK_VERSION },
      });
    }
    if (call.procedure === CB_NULL) {
      this.#m.tracer.emit("cb", "CB_NULL", "callback path probed by the server");
      return Promise.resolve(() => {});
    }
    if (call.procedure !== CB_COMPOUND) return Promise.resolve({ acceptStat: PROC_UNAVAIL });
    // A malformed CB_COMPOUND throws XdrError here: the dispatcher answers GARBAGE_ARGS.
    const tracing = this.#m.tracer.wants("ops");
    const started = tracing ? this.#m.clock.now() : 0;
    // The whole CALL as received (for ca_maxrequestsize, RFC 8881 §18.36.3).
    const received = call.args.offset + call.args.remaining;
    const request = decodeCbCompoundRequest(call.args);
    this.#answered = undefined;
    const bytes = this.#compound(request, received);
    if (tracing) this.#trace(call, request, bytes, started);
    return Promise.resolve((w: XdrWriter) => void w.writeFixedOpaque(bytes, bytes.length));
  }

  /** The outcomes of the CB_COMPOUND just answered (none for a replay from the cache). */
  #answered: readonly OpOutcome[] | undefined;

  /** The `ops` event of a CB_COMPOUND answered. */
  #trace(call: IncomingCall, request: CbCompoundRequest, reply: Uint8Array, started: number): void {
    const seq = request.ops[0]?.opnum === CbOp.CB_SEQUENCE
      ? request.ops[0].args as CbSequenceArgs
      : undefined;
    const outcomes = this.#answered;
    this.#m.tracer.compound({
      direction: "callback",
      xid: call.xid,
      slot: seq?.slotid,
      seqid: seq?.sequenceid,
      ops: request.ops.map((op) => op.name),
      ...(outcomes ? { outcomes } : { error: "answered from the reply cache (replay)" }),
      // The whole CALL as received; the reply's accepted header (24 bytes
      // with an AUTH_NONE verifier) and CB_COMPOUND4res.
      receivedBytes: call.args.offset + call.args.remaining,
      sentBytes: 24 + reply.length,
      ms: this.#m.clock.now() - started,
    });
  }

  /** Answers one CB_COMPOUND; returns the encoded CB_COMPOUND4res. */
  #compound(request: CbCompoundRequest, received: number): Uint8Array {
    const m = this.#m;
    const tag = request.tag ?? "";
    const finish = (outcomes: OpOutcome[], status?: number): Uint8Array => {
      const last = outcomes.at(-1);
      const reply: CompoundReply = { status: status ?? last?.status ?? S.NFS4_OK, tag, outcomes };
      this.#answered = outcomes;
      const w = new XdrWriter(256);
      encodeCbCompoundReply(w, reply);
      return w.bytes().slice();
    };
    if (request.minorVersion !== m.minorVersion) {
      m.tracer.emit("cb", "CB_COMPOUND refused", `minor version ${request.minorVersion}`);
      return finish([], S.NFS4ERR_MINOR_VERS_MISMATCH);
    }
    const outcomes: OpOutcome[] = [];
    const ops = request.ops;
    let start = 0;
    if (m.sessions) {
      const first = ops[0];
      if (!first || first.opnum !== CbOp.CB_SEQUENCE) {
        if (first) {
          outcomes.push({
            opnum: first.opnum,
            name: first.name,
            status: S.NFS4ERR_OP_NOT_IN_SESSION,
          });
        }
        return finish(outcomes);
      }
      const seq = first.args as CbSequenceArgs;
      const check = this.#checkSequence(seq, ops.length, received);
      if (check.replay) {
        m.tracer.emit("cb", "CB_SEQUENCE replay", `slot ${seq.slotid} seqid ${seq.sequenceid}`);
        return check.replay;
      }
      outcomes.push(
        check.status === S.NFS4_OK
          ? {
            opnum: first.opnum,
            name: first.name,
            status: S.NFS4_OK,
            value: {
              sessionid: seq.sessionid,
              sequenceid: seq.sequenceid,
              slotid: seq.slotid,
              highestSlotid: 0,
              targetHighestSlotid: 0,
            },
          }
          : { opnum: first.opnum, name: first.name, status: check.status },
      );
      if (check.status === S.NFS4ERR_DELAY) {
        // The server will send its recalls again; what they recall is
        // known now, and goes back as soon as the OPEN reply is recorded,
        // whether or not the server tries again first.
        for (const op of ops.slice(1)) {
          if (op.opnum !== CbOp.CB_RECALL) continue;
          const { stateid, fh } = op.args as CbRecallArgs;
          this.#rememberRecall(stateid, fh);
        }
      }
      if (check.status !== S.NFS4_OK) {
        m.tracer.emit(
          "cb",
          `CB_SEQUENCE -> ${statusName(check.status)}`,
          `slot ${seq.slotid} seqid ${seq.sequenceid}`,
        );
        return finish(outcomes);
      }
      start = 1;
    } else if (request.callbackIdent !== this.ident) {
      // RFC 7530 §16.33.1: the ident tells our callbacks from another client's.
      m.tracer.emit("cb", "CB_COMPOUND refused", `unknown callback_ident ${request.callbackIdent}`);
      const first = ops[0];
      if (first) {
        outcomes.push({ opnum: first.opnum, name: first.name, status: S.NFS4ERR_BADHANDLE });
      }
      return finish(outcomes);
    }
    for (const op of ops.slice(start)) {
      const outcome = this.#op(op.opnum, op.name, op.args);
      outcomes.push(outcome);
      if (outcome.status !== S.NFS4_OK) break;
    }
    const bytes = finish(outcomes);
    if (m.sessions) this.#cachedReply = bytes;
    return bytes;
  }

  /**
   * RFC 8881 §2.10.6.1 on our one back channel slot; before the slot is
   * looked at, a request beyond the back channel's ca_maxoperations or
   * ca_maxrequestsize (what we asked for, or less when the server granted
   * less) is refused, and its operations are not run (§2.10.6.4).
   */
  #checkSequence(
    seq: CbSequenceArgs,
    operations: number,
    received: number,
  ): { status: number; replay?: Uint8Array } {
    const session = this.#m.client.session;
    if (!session || !bytesEqual(session.id, seq.sessionid)) return { status: S.NFS4ERR_BADSESSION };
    const back = session.back;
    const maxOperations = Math.min(
      BACK_CHANNEL_LIMITS.maxOperations,
      back?.maxOperations || BACK_CHANNEL_LIMITS.maxOperations,
    );
    const maxRequestSize = Math.min(
      BACK_CHANNEL_LIMITS.maxRequestSize,
      back?.maxRequestSize || BACK_CHANNEL_LIMITS.maxRequestSize,
    );
    if (operations > maxOperations) return { status: S.NFS4ERR_TOO_MANY_OPS };
    if (received > maxRequestSize) return { status: S.NFS4ERR_REQ_TOO_BIG };
    if (seq.slotid !== 0) return { status: S.NFS4ERR_BADSLOT };
    if (seq.sequenceid === this.#slotSeqid && this.#cachedReply) {
      return { status: S.NFS4_OK, replay: this.#cachedReply };
    }
    if (seq.sequenceid !== ((this.#slotSeqid + 1) >>> 0)) {
      return { status: S.NFS4ERR_SEQ_MISORDERED };
    }
    const waiting = this.#outstandingReferringCall(seq);
    if (waiting) {
      // RFC 8881 §2.10.6.3: the callback relates to a call whose reply this
      // client has not yet processed (an OPEN whose delegation it recalls).
      // Answered NFS4ERR_DELAY, the slot not taken: the server sends the
      // same sequence id again, and by then the reply has been processed
      // (the kernel's referring_call_exists, which waits a little first).
      this.#m.tracer.emit(
        "cb",
        "CB_SEQUENCE referring call outstanding",
        `slot ${waiting.slotid} seqid ${waiting.sequenceid}: answered NFS4ERR_DELAY`,
      );
      return { status: S.NFS4ERR_DELAY };
    }
    this.#slotSeqid = seq.sequenceid;
    this.#cachedReply = undefined;
    return { status: S.NFS4_OK };
  }

  /**
   * A referring call of this session (RFC 8881 §20.9.3, csa_referring_call_lists)
   * that is still outstanding on the fore channel: sent, its reply not yet
   * processed. Calls of other sessions are long done, or never ours.
   */
  #outstandingReferringCall(
    seq: CbSequenceArgs,
  ): { slotid: number; sequenceid: number } | undefined {
    const session = this.#m.client.session;
    if (!session) return undefined;
    for (const list of seq.referringCallLists) {
      if (!bytesEqual(list.sessionid, session.id)) continue;
      for (const call of list.calls) {
        if (session.slots.outstanding(call.slotid, call.sequenceid)) return call;
      }
    }
    return undefined;
  }

  #op(opnum: number, name: string, args: unknown): OpOutcome {
    const m = this.#m;
    const ok = (value?: unknown): OpOutcome =>
      value === undefined
        ? { opnum, name, status: S.NFS4_OK }
        : { opnum, name, status: S.NFS4_OK, value };
    const fail = (status: number): OpOutcome => ({ opnum, name, status });
    switch (opnum) {
      case CbOp.CB_RECALL: {
        const { stateid, fh } = args as CbRecallArgs;
        // RFC 8881 §20.2.3: a file we hold no delegation on is
        // NFS4ERR_BADHANDLE; a delegation on the file, but not that one,
        // NFS4ERR_BAD_STATEID (as the kernel's nfs4_callback_recall).
        // Both must match: a stateid alone recalls nothing.
        const onFile = [...m.opens].filter((o) => o.delegation && bytesEqual(o.fh, fh));
        const state = onFile.find((o) => sameStateOther(o.delegation!.stateid, stateid));
        if (!state || !state.delegation) {
          // Perhaps granted by an OPEN whose reply is still on its way (RFC
          // 7530 §10.4.5): answered as unknown (RFC 7530 §18.2.4: BADHANDLE
          // for a file with no delegation held, BAD_STATEID for another
          // delegation of it; knfsd tries a recall so answered again), and
          // remembered, so that the reply's delegation goes back as soon as
          // it is recorded (procs.ts noteDelegation).
          this.#rememberRecall(stateid, fh);
          m.tracer.emit(
            "cb",
            "CB_RECALL of an unknown delegation",
            `${formatStateid(stateid)} fh ${hex(fh)}; returned if an OPEN reply grants it`,
          );
          return fail(onFile.length === 0 ? S.NFS4ERR_BADHANDLE : S.NFS4ERR_BAD_STATEID);
        }
        // RFC 7530 §10.4.4: answer at once; the delegation goes back from
        // the state manager's loop (flush, then DELEGRETURN).
        state.delegation.recalled = true;
        m.tracer.emit(
          "cb",
          "CB_RECALL",
          `${state.path} ${state.delegation.type} delegation ${formatStateid(stateid)}`,
        );
        m.setFlag("DELEGRETURN", `CB_RECALL of ${state.path}`);
        return ok();
      }
      case CbOp.CB_GETATTR: {
        const { fh, attrRequest } = args as CbGetattrArgs;
        const state = [...m.opens].find((o) =>
          o.delegation?.type === "write" && bytesEqual(o.fh, fh)
        );
        // A file this client holds no write delegation on: NFS4ERR_BADHANDLE
        // (RFC 7530 §18.1.4; the kernel's nfs4_callback_getattr).
        if (!state) return fail(S.NFS4ERR_BADHANDLE);
        const d = state.delegation!;
        const attrs = delegatedAttributes(d, attrRequest);
        m.tracer.emit(
          "cb",
          "CB_GETATTR",
          `${state.path}${d.change !== undefined ? ` change ${d.change}` : ""}${
            d.size !== undefined ? ` size ${d.size}` : ""
          }`,
        );
        if (d.change === undefined && !d.recalled) {
          // Granted without the file's change attribute (an OPEN in a
          // COMPOUND of another shape): nothing to tell the server its own
          // attributes are current by. It goes back, and the server's
          // attributes are the file's (RFC 8881 §10.4.3: a server may recall
          // rather than ask).
          d.recalled = true;
          m.setFlag("DELEGRETURN", `CB_GETATTR of ${state.path}: change attribute not known`);
        }
        return ok(attrs);
      }
      case CbOp.CB_RECALL_ANY: {
        // RFC 8881 §20.6.3: keep at most craa_objects_to_keep of the kinds
        // the mask names; this client holds file delegations only, read
        // (RCA4_TYPE_MASK_RDATA_DLG) and write (RCA4_TYPE_MASK_WDATA_DLG).
        const { objectsToKeep, typeMask } = args as CbRecallAnyArgs;
        const kept = [...m.opens].filter((o) =>
          o.delegation !== undefined && !o.delegation.recalled &&
          typeMask.has(
            o.delegation.type === "read"
              ? RecallAnyType.RCA4_TYPE_MASK_RDATA_DLG
              : RecallAnyType.RCA4_TYPE_MASK_WDATA_DLG,
          )
        );
        const excess = kept.slice(0, Math.max(0, kept.length - objectsToKeep));
        for (const state of excess) state.delegation!.recalled = true;
        m.tracer.emit(
          "cb",
          "CB_RECALL_ANY",
          `${excess.length} of ${kept.length} delegation(s) of the types asked for to return, ` +
            `${objectsToKeep} to keep`,
        );
        if (excess.length > 0) m.setFlag("DELEGRETURN", "CB_RECALL_ANY");
        return ok();
      }
      case CbOp.CB_RECALLABLE_OBJ_AVAIL:
        m.tracer.emit("cb", "CB_RECALLABLE_OBJ_AVAIL");
        return ok();
      case CbOp.CB_RECALL_SLOT: {
        const target = args as number;
        const session = m.client.session;
        m.tracer.emit("cb", "CB_RECALL_SLOT", `target highest slot ${target}`);
        session?.slots.update(session.slots.serverHighest, target);
        return ok();
      }
      case CbOp.CB_NOTIFY_LOCK: {
        const { fh, lockOwner } = args as CbNotifyLockArgs;
        m.tracer.emit("cb", "CB_NOTIFY_LOCK", `fh ${hex(fh)}`);
        for (const listener of this.#lockListeners) listener({ fh, owner: lockOwner.owner });
        return ok();
      }
      case CbOp.CB_SEQUENCE:
        return fail(S.NFS4ERR_SEQUENCE_POS);
      case CbOp.CB_ILLEGAL:
        m.tracer.emit(
          "cb",
          "unknown callback operation",
          `op ${String(args)} answered NFS4ERR_OP_ILLEGAL`,
        );
        return { opnum: CbOp.CB_ILLEGAL, name: "CB_ILLEGAL", status: S.NFS4ERR_OP_ILLEGAL };
      default:
        m.tracer.emit("cb", `${name} not supported`, "answered NFS4ERR_NOTSUPP");
        return fail(S.NFS4ERR_NOTSUPP);
    }
  }
}

/**
 * What CB_GETATTR answers for a write delegation (RFC 7530 §10.4.3, §18.1;
 * RFC 8881 §10.4.3, §20.1): of change and size, those asked for. This
 * client caches no data: it never holds modified data, so it reports the
 * change attribute as it was when the delegation was granted ("c", not the
 * "d" that says modified data is held), and its current view of the size,
 * which is the server's (the size at the grant, followed by this client's
 * own WRITEs and SETATTRs: files.ts noteWritten, noteSizeSet). The kernel's
 * nfs4_callback_getattr answers the same two (with the times, which this
 * client does not keep).
 */
function delegatedAttributes(d: Delegation, asked: ReadonlySet<number>): FileAttributes {
  const attrs: FileAttributes = {};
  if (asked.has(Attr.CHANGE) && d.change !== undefined) attrs.change = d.change;
  if (asked.has(Attr.SIZE) && d.size !== undefined) attrs.size = d.size;
  return attrs;
}
