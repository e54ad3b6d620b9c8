/**
 * SECINFO_NO_NAME: the security flavors for the current file handle or its
 * parent, NFSv4.1 (RFC 8881 §18.45). Consumes the current file handle.
 * @module
 */

import { Op, SecinfoStyle } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { decodeSecinfoList, encodeSecinfoList, type SecInfo } from "./secinfo.ts";

const STYLES: ReadonlySet<number> = new Set(Object.values(SecinfoStyle));

export const SECINFO_NO_NAME: OpCodec<number, SecInfo[]> = {
  opnum: Op.SECINFO_NO_NAME,
  name: "SECINFO_NO_NAME",
  encodeArgs(w, style) {
    w.writeEnum(style);
  },
  decodeArgs(r) {
    return r.readEnum(STYLES, "secinfo_style4");
  },
  encodeResult: encodeSecinfoList,
  decodeResult: decodeSecinfoList,
};

/** SECINFO_NO_NAME with `SecinfoStyle.*` (default: the current file handle). */
export function secinfoNoName(
  style: number = SecinfoStyle.SECINFO_STYLE4_CURRENT_FH,
): Nfs4Op<SecInfo[]> {
  return bindOp(SECINFO_NO_NAME, style);
}
