/**
 * SEQUENCE: the first op of every NFSv4.1 COMPOUND: session, slot and
 * sequence for exactly-once semantics (RFC 8881 §18.46). Added by the
 * session layer, not by callers.
 * @module
 */

import type { XdrReader, XdrWriter } from "../../xdr/mod.ts";
import { NFS4_SESSIONID_SIZE, Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { Nfs4ProtocolError } from "../errors.ts";
import { decodeSessionId, encodeSessionId, type SessionId } from "../types.ts";

/** SEQUENCE4args. */
export interface SequenceArgs {
  readonly sessionid: SessionId;
  readonly sequenceid: number;
  readonly slotid: number;
  readonly highestSlotid: number;
  readonly cachethis: boolean;
}

/** SEQUENCE4resok. `statusFlags` holds `SequenceStatus.SEQ4_STATUS_*` bits. */
export interface SequenceResult {
  readonly sessionid: SessionId;
  readonly sequenceid: number;
  readonly slotid: number;
  readonly highestSlotid: number;
  readonly targetHighestSlotid: number;
  readonly statusFlags: number;
}

export const SEQUENCE: OpCodec<SequenceArgs, SequenceResult> = {
  opnum: Op.SEQUENCE,
  name: "SEQUENCE",
  encodeArgs(w, args) {
    encodeSessionId(w, args.sessionid);
    w.writeUint(args.sequenceid);
    w.writeUint(args.slotid);
    w.writeUint(args.highestSlotid);
    w.writeBool(args.cachethis);
  },
  decodeArgs(r) {
    const sessionid = decodeSessionId(r);
    const sequenceid = r.readUint();
    const slotid = r.readUint();
    const highestSlotid = r.readUint();
    const cachethis = r.readBool();
    return { sessionid, sequenceid, slotid, highestSlotid, cachethis };
  },
  encodeResult(w, result) {
    encodeSlotReply(w, result);
    w.writeUint(result.statusFlags);
  },
  decodeResult(r, args) {
    const sessionid = decodeReplySessionId(r);
    const sequenceid = r.readUint();
    const slotid = r.readUint();
    const highestSlotid = r.readUint();
    const targetHighestSlotid = r.readUint();
    const statusFlags = r.readUint();
    // The reply names the session, slot and sequence id it answers, the
    // request's own (RFC 8881 §18.46.3). Another request's reply would put
    // its results (a READ of other bytes) in this one's place; the Linux
    // client rejects it too (decode_sequence: EREMOTEIO).
    if (
      args !== undefined &&
      (slotid !== args.slotid || sequenceid !== args.sequenceid ||
        !sameSessionId(sessionid, args.sessionid))
    ) {
      throw new Nfs4ProtocolError(
        `SEQUENCE answered slot ${slotid} sequence ${sequenceid}` +
          `${sameSessionId(sessionid, args.sessionid) ? "" : " of another session"}, ` +
          `not slot ${args.slotid} sequence ${args.sequenceid}`,
      );
    }
    return { sessionid, sequenceid, slotid, highestSlotid, targetHighestSlotid, statusFlags };
  },
};

/**
 * The fields SEQUENCE4resok and CB_SEQUENCE4resok share (RFC 8881 §18.46,
 * §20.9): session, sequence id, slot, highest and target highest slot.
 */
export interface SlotReply {
  readonly sessionid: SessionId;
  readonly sequenceid: number;
  readonly slotid: number;
  readonly highestSlotid: number;
  readonly targetHighestSlotid: number;
}

export function encodeSlotReply(w: XdrWriter, reply: SlotReply): void {
  encodeSessionId(w, reply.sessionid);
  w.writeUint(reply.sequenceid);
  w.writeUint(reply.slotid);
  w.writeUint(reply.highestSlotid);
  w.writeUint(reply.targetHighestSlotid);
}

/**
 * The session id of the last SEQUENCE or CB_SEQUENCE reply decoded. Every
 * reply of a session carries the same 16 bytes, and a copy of them per reply
 * (the reply's buffer may be reused) was an allocation per COMPOUND: a
 * reply with the same id gets this same array. Session ids are never
 * modified in place.
 */
let lastSessionId: SessionId | undefined;

function sameSessionId(a: SessionId, b: SessionId): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function decodeReplySessionId(r: XdrReader): SessionId {
  const view = r.readFixedOpaque(NFS4_SESSIONID_SIZE);
  const last = lastSessionId;
  if (last !== undefined) {
    let same = true;
    for (let i = 0; i < NFS4_SESSIONID_SIZE; i++) {
      if (view[i] !== last[i]) {
        same = false;
        break;
      }
    }
    if (same) return last;
  }
  return lastSessionId = view.slice();
}

export function decodeSlotReply(r: XdrReader): SlotReply {
  const sessionid = decodeReplySessionId(r);
  const sequenceid = r.readUint();
  const slotid = r.readUint();
  const highestSlotid = r.readUint();
  const targetHighestSlotid = r.readUint();
  return { sessionid, sequenceid, slotid, highestSlotid, targetHighestSlotid };
}

export function sequence(args: SequenceArgs): Nfs4Op<SequenceResult> {
  return bindOp(SEQUENCE, args);
}
