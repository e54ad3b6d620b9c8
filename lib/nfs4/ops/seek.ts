/**
 * SEEK: where the next data or hole starts, without reading (NFSv4.2,
 * RFC 7862 §15.11; XDR in RFC 7863).
 *
 * `what` is NFS4_CONTENT_DATA (the next byte of data at or after `offset`)
 * or NFS4_CONTENT_HOLE (the next hole; the end of the file counts as one).
 * With nothing of that kind after `offset` the server answers `eof` (and,
 * for data, may answer NFS4ERR_NXIO: RFC 7862 §15.11.3).
 * @module
 */

import { Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeStateid, encodeStateid, type Stateid } from "../types.ts";

/** data_content4 (RFC 7862 §15.11.1). */
export const SeekContent = {
  NFS4_CONTENT_DATA: 0,
  NFS4_CONTENT_HOLE: 1,
} as const;

/** SEEK4args. */
export interface SeekArgs {
  readonly stateid: Stateid;
  readonly offset: bigint;
  readonly what: number;
}

/** seek_res4. */
export interface SeekResult {
  readonly eof: boolean;
  readonly offset: bigint;
}

export const SEEK: OpCodec<SeekArgs, SeekResult> = {
  opnum: Op.SEEK,
  name: "SEEK",
  encodeArgs(w, args) {
    encodeStateid(w, args.stateid);
    w.writeUhyper(args.offset);
    w.writeUint(args.what);
  },
  decodeArgs(r) {
    const stateid = decodeStateid(r);
    const offset = r.readUhyper();
    const what = r.readUint();
    return { stateid, offset, what };
  },
  encodeResult(w, result) {
    w.writeBool(result.eof);
    w.writeUhyper(result.offset);
  },
  decodeResult(r) {
    const eof = r.readBool();
    const offset = r.readUhyper();
    return { eof, offset };
  },
};

/** SEEK from `offset` for the next data or hole. */
export function seek(args: SeekArgs): Nfs4Op<SeekResult> {
  return bindOp(SEEK, args);
}
