/**
 * SEQUENCE: the first op of every NFSv4.1 COMPOUND: session, slot and
 * sequence for exactly-once semantics (RFC 8881 §18.46). Added by the
 * session layer, not by callers.
 * @module
 */

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
    encodeSessionId(w, result.sessionid);
    w.writeUint(result.sequenceid);
    w.writeUint(result.slotid);
    w.writeUint(result.highestSlotid);
    w.writeUint(result.targetHighestSlotid);
    w.writeUint(result.statusFlags);
  },
  decodeResult(r) {
    const sessionid = decodeSessionId(r);
    const sequenceid = r.readUint();
    const slotid = r.readUint();
    const highestSlotid = r.readUint();
    const targetHighestSlotid = r.readUint();
    const statusFlags = r.readUint();
    return { sessionid, sequenceid, slotid, highestSlotid, targetHighestSlotid, statusFlags };
  },
};

export function sequence(args: SequenceArgs): Nfs4Op<SequenceResult> {
  return bindOp(SEQUENCE, args);
}
