/**
 * READ: read data from a file (RFC 7530 §16.23).
 *
 * The data is returned as a view into the reply buffer, not a copy: the
 * caller copies it where it belongs (or keeps the reply alive).
 * @module
 */

import { Limits, Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { Nfs4ProtocolError } from "../errors.ts";
import { decodeStateid, encodeStateid, type Stateid } from "../types.ts";

/** READ4args. */
export interface ReadArgs {
  readonly stateid: Stateid;
  readonly offset: bigint;
  readonly count: number;
}

/** READ4resok: `data` is a view into the reply. */
export interface ReadResult {
  readonly eof: boolean;
  readonly data: Uint8Array;
}

export const READ: OpCodec<ReadArgs, ReadResult> = {
  opnum: Op.READ,
  name: "READ",
  encodeArgs(w, args) {
    encodeStateid(w, args.stateid);
    w.writeUhyper(args.offset);
    w.writeUint(args.count);
  },
  decodeArgs(r) {
    const stateid = decodeStateid(r);
    const offset = r.readUhyper();
    const count = r.readUint();
    return { stateid, offset, count };
  },
  encodeResult(w, result) {
    w.writeBool(result.eof);
    w.writeOpaque(result.data);
  },
  decodeResult(r, args) {
    const eof = r.readBool();
    const data = r.readOpaque(Limits.readData);
    // A server may return less than asked, never more (RFC 7530 §16.23,
    // RFC 8881 §18.22): taken as it is, the surplus would be written as
    // file data, and the next READ's bytes again after it.
    if (args !== undefined && data.length > args.count) {
      throw new Nfs4ProtocolError(
        `READ returned ${data.length} bytes, more than the ${args.count} asked for`,
      );
    }
    return { eof, data };
  },
};

export function read(args: ReadArgs): Nfs4Op<ReadResult> {
  return bindOp(READ, args);
}
