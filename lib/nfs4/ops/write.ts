/**
 * WRITE: write data to a file (RFC 7530 §16.36).
 *
 * The data is not copied into the request: the encoder references it
 * (`XdrWriter.writeOpaqueView`) and the transport sends it from where it
 * lies, so it must stay unchanged until the reply (a call that timed out or
 * was aborted may still be on its way out).
 * @module
 */

import { Limits, Op, StableHow } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { Nfs4ProtocolError } from "../errors.ts";
import {
  decodeStateid,
  decodeVerifier,
  encodeStateid,
  encodeVerifier,
  type Stateid,
  type Verifier,
} from "../types.ts";

/** WRITE4args. `stable` is `StableHow.*`; `data` is sent from where it lies, uncopied. */
export interface WriteArgs {
  readonly stateid: Stateid;
  readonly offset: bigint;
  readonly stable: number;
  readonly data: Uint8Array;
}

/** WRITE4resok. */
export interface WriteResult {
  readonly count: number;
  readonly committed: number;
  readonly writeverf: Verifier;
}

const STABLE_HOWS: ReadonlySet<number> = new Set(Object.values(StableHow));

export const WRITE: OpCodec<WriteArgs, WriteResult> = {
  opnum: Op.WRITE,
  name: "WRITE",
  encodeArgs(w, args) {
    encodeStateid(w, args.stateid);
    w.writeUhyper(args.offset);
    w.writeEnum(args.stable);
    w.writeOpaqueView(args.data);
  },
  decodeArgs(r) {
    const stateid = decodeStateid(r);
    const offset = r.readUhyper();
    const stable = r.readEnum(STABLE_HOWS, "stable_how4");
    const data = r.readOpaque(Limits.readData);
    return { stateid, offset, stable, data };
  },
  encodeResult(w, result) {
    w.writeUint(result.count);
    w.writeEnum(result.committed);
    encodeVerifier(w, result.writeverf);
  },
  decodeResult(r, args) {
    const count = r.readUint();
    const committed = r.readEnum(STABLE_HOWS, "stable_how4");
    const writeverf = decodeVerifier(r);
    // The bytes written are some of those sent, never more (RFC 7530
    // §16.36, RFC 8881 §18.32): believed, a larger count would skip data
    // never written and call the copy done.
    if (args !== undefined && count > args.data.length) {
      throw new Nfs4ProtocolError(
        `WRITE says it wrote ${count} bytes, more than the ${args.data.length} sent`,
      );
    }
    return { count, committed, writeverf };
  },
};

export function write(args: WriteArgs): Nfs4Op<WriteResult> {
  return bindOp(WRITE, args);
}
