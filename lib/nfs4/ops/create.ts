/**
 * CREATE: create a non-regular file object (directory, symlink, device,
 * socket, fifo) in the current directory (RFC 7530 §16.4).
 * @module
 */

import { FileType, Limits, Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import { writeComponent } from "../names.ts";
import {
  decodeBitmap,
  decodeFattr,
  encodeBitmap,
  encodeFattr,
  type SettableAttributes,
} from "../attrs.ts";
import {
  type ChangeInfo,
  decodeChangeInfo,
  decodeSpecData,
  encodeChangeInfo,
  encodeSpecData,
  type SpecData,
} from "../types.ts";

/** createtype4: what to create. */
export type CreateType =
  | { readonly type: typeof FileType.NF4LNK; readonly linkData: string }
  | {
    readonly type: typeof FileType.NF4BLK | typeof FileType.NF4CHR;
    readonly devData: SpecData;
  }
  | {
    readonly type:
      | typeof FileType.NF4DIR
      | typeof FileType.NF4SOCK
      | typeof FileType.NF4FIFO;
  };

/** CREATE4args: the object type, its name, and the attributes to set. */
export type CreateArgs = CreateType & {
  readonly name: string;
  readonly attrs?: SettableAttributes;
};

/** CREATE4resok. */
export interface CreateResult {
  readonly cinfo: ChangeInfo;
  readonly attrset: ReadonlySet<number>;
}

const CREATE_TYPES: ReadonlySet<number> = new Set([
  FileType.NF4LNK,
  FileType.NF4BLK,
  FileType.NF4CHR,
  FileType.NF4DIR,
  FileType.NF4SOCK,
  FileType.NF4FIFO,
]);

export const CREATE: OpCodec<CreateArgs, CreateResult> = {
  opnum: Op.CREATE,
  name: "CREATE",
  encodeArgs(w, args) {
    w.writeInt(args.type);
    if (args.type === FileType.NF4LNK) {
      w.writeString(args.linkData, Limits.linkText);
    } else if (args.type === FileType.NF4BLK || args.type === FileType.NF4CHR) {
      encodeSpecData(w, args.devData);
    }
    writeComponent(w, args.name, "CREATE");
    encodeFattr(w, args.attrs ?? {});
  },
  decodeArgs(r) {
    const type = r.readEnum(CREATE_TYPES, "createtype4");
    let objtype: CreateType;
    if (type === FileType.NF4LNK) {
      objtype = { type, linkData: r.readString(Limits.linkText) };
    } else if (type === FileType.NF4BLK || type === FileType.NF4CHR) {
      objtype = { type, devData: decodeSpecData(r) };
    } else {
      objtype = { type: type as typeof FileType.NF4DIR };
    }
    const name = r.readString(Limits.name);
    const attrs = decodeFattr(r).attrs as SettableAttributes;
    return { ...objtype, name, attrs };
  },
  encodeResult(w, result) {
    encodeChangeInfo(w, result.cinfo);
    encodeBitmap(w, result.attrset);
  },
  decodeResult(r) {
    const cinfo = decodeChangeInfo(r);
    const attrset = decodeBitmap(r);
    return { cinfo, attrset };
  },
};

/**
 * CREATE, e.g. `create({ type: FileType.NF4DIR, name: "d", attrs: { mode: 0o755 } })`.
 * The created object becomes the current file handle.
 */
export function create(args: CreateArgs): Nfs4Op<CreateResult> {
  return bindOp(CREATE, args);
}
