/**
 * COMMIT: flush unstable writes to stable storage (RFC 7530 §16.3).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeVerifier, encodeVerifier, type Verifier } from "../types.ts";

/** COMMIT4args: a count of 0 means from `offset` to the end of the file. */
export interface CommitArgs {
  readonly offset: bigint;
  readonly count: number;
}

export const COMMIT: OpCodec<CommitArgs, Verifier> = {
  opnum: Op.COMMIT,
  name: "COMMIT",
  encodeArgs(w, args) {
    w.writeUhyper(args.offset);
    w.writeUint(args.count);
  },
  decodeArgs(r) {
    const offset = r.readUhyper();
    const count = r.readUint();
    return { offset, count };
  },
  encodeResult: encodeVerifier,
  decodeResult: decodeVerifier,
};

/** COMMIT; the result is the write verifier to compare with WRITE's. */
export function commit(args: CommitArgs = { offset: 0n, count: 0 }): Nfs4Op<Verifier> {
  return bindOp(COMMIT, args);
}
