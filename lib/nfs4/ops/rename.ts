/**
 * RENAME: rename `oldName` in the saved directory to `newName` in the
 * current directory (RFC 7530 §16.27).
 * @module
 */

import { Limits, Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { writeComponent } from "../names.ts";
import { type ChangeInfo, decodeChangeInfo, encodeChangeInfo } from "../types.ts";

/** RENAME4args. */
export interface RenameArgs {
  readonly oldName: string;
  readonly newName: string;
}

/** RENAME4resok. */
export interface RenameResult {
  readonly sourceCinfo: ChangeInfo;
  readonly targetCinfo: ChangeInfo;
}

export const RENAME: OpCodec<RenameArgs, RenameResult> = {
  opnum: Op.RENAME,
  name: "RENAME",
  encodeArgs(w, args) {
    writeComponent(w, args.oldName, "RENAME");
    writeComponent(w, args.newName, "RENAME");
  },
  decodeArgs(r) {
    const oldName = r.readString(Limits.name);
    const newName = r.readString(Limits.name);
    return { oldName, newName };
  },
  encodeResult(w, result) {
    encodeChangeInfo(w, result.sourceCinfo);
    encodeChangeInfo(w, result.targetCinfo);
  },
  decodeResult(r) {
    const sourceCinfo = decodeChangeInfo(r);
    const targetCinfo = decodeChangeInfo(r);
    return { sourceCinfo, targetCinfo };
  },
};

export function rename(args: RenameArgs): Nfs4Op<RenameResult> {
  return bindOp(RENAME, args);
}
