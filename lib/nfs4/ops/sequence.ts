/**
 * SEQUENCE: the first op of every NFSv4.1 COMPOUND: session, slot and
 * sequence for exactly-once semantics (RFC 8881 §18.46). Added by the
 * session layer, not by callers.
 * @module
 */

import type { XdrReader, XdrWriter } from "../../xdr/mod.ts";
import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
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
  decodeResult(r) {
    const slots = decodeSlotReply(r);
    const statusFlags = r.readUint();
    return { ...slots, statusFlags };
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

export function decodeSlotReply(r: XdrReader): SlotReply {
  const sessionid = decodeSessionId(r);
  const sequenceid = r.readUint();
  const slotid = r.readUint();
  const highestSlotid = r.readUint();
  const targetHighestSlotid = r.readUint();
  return { sessionid, sequenceid, slotid, highestSlotid, targetHighestSlotid };
}

export function sequence(args: SequenceArgs): Nfs4Op<SequenceResult> {
  return bindOp(SEQUENCE, args);
}
