/**
 * READDIR: read entries of the current directory with their attributes
 * (RFC 7530 §16.24).
 *
 * The entries come as an XDR linked list (`entry4 *nextentry`); they are
 * decoded in a loop, never recursively, and at most
 * {@linkcode Limits.dirEntries} of them.
 * @module
 */

import { decodeByteString, encodeByteString, XdrError, type XdrReader } from "../../xdr/mod.ts";
import { releaseRecordBuffer } from "../../rpc/socket_buffers.ts";
import { Limits, Op } from "../constants.ts";
import { bindOp, type Nfs4Op, type OpCodec } from "../compound.ts";
import {
  decodeBitmap,
  decodeFattr,
  encodeBitmap,
  encodeFattrResult,
  FattrDecoder,
  FattrValues,
  type FileAttributes,
  type Int64Value,
} from "../attrs.ts";
import { decodeVerifier, encodeVerifier, type Verifier } from "../types.ts";

/** READDIR4args. Start with cookie 0 and a zero verifier. */
export interface ReaddirArgs {
  readonly cookie: bigint;
  readonly cookieverf: Verifier;
  readonly dircount: number;
  readonly maxcount: number;
  readonly attrRequest: Iterable<number>;
}

/**
 * entry4. `name` is the name as a byte string (lib/xdr/byte_string.ts:
 * bytes that are not UTF-8 are escaped, never lost); `nameBytes` the exact
 * bytes (decoded: a view into the reply, which no one reuses, rather than
 * a copy per entry).
 */
export interface DirEntry {
  readonly cookie: bigint;
  readonly name: string;
  readonly nameBytes: Uint8Array;
  readonly attrs: FileAttributes;
}

/** READDIR4resok. */
export interface ReaddirResult {
  readonly cookieverf: Verifier;
  readonly entries: readonly DirEntry[];
  readonly eof: boolean;
}

/** A {@linkcode DirEntry} from a string name (for scripted servers and tests). */
export function dirEntry(cookie: bigint, name: string, attrs: FileAttributes = {}): DirEntry {
  return { cookie, name, nameBytes: encodeByteString(name), attrs };
}

/**
 * The fattr4 decoder of READDIR replies: a page holds thousands of fattr4s
 * with one bitmap, which it decodes as decodeFattr() would, faster (its
 * caches hold only plans and an owner string or two).
 */
const fattrs = new FattrDecoder();

/**
 * An entry's name as a byte string (decodeByteString): most names are
 * short and ASCII, whose bytes are their characters, without a trip
 * through the UTF-8 decoder.
 */
function decodeName(bytes: Uint8Array): string {
  return decodeNameAt(bytes, 0, bytes.length);
}

/** {@linkcode decodeName} of the `length` bytes at `start` (no view made for an ASCII name). */
function decodeNameAt(bytes: Uint8Array, start: number, length: number): string {
  if (length > 128) return decodeByteString(bytes.subarray(start, start + length));
  nameCodes.length = length;
  for (let i = 0; i < length; i++) {
    const byte = bytes[start + i]!;
    if (byte >= 0x80) return decodeByteString(bytes.subarray(start, start + length));
    nameCodes[i] = byte;
  }
  return String.fromCharCode.apply(null, nameCodes);
}
const nameCodes: number[] = [];

export const READDIR: OpCodec<ReaddirArgs, ReaddirResult> = {
  opnum: Op.READDIR,
  name: "READDIR",
  encodeArgs(w, args) {
    w.writeUhyper(args.cookie);
    encodeVerifier(w, args.cookieverf);
    w.writeUint(args.dircount);
    w.writeUint(args.maxcount);
    encodeBitmap(w, args.attrRequest);
  },
  decodeArgs(r) {
    const cookie = r.readUhyper();
    const cookieverf = decodeVerifier(r);
    const dircount = r.readUint();
    const maxcount = r.readUint();
    const attrRequest = decodeBitmap(r);
    return { cookie, cookieverf, dircount, maxcount, attrRequest };
  },
  encodeResult(w, result) {
    encodeVerifier(w, result.cookieverf);
    for (const entry of result.entries) {
      w.writeBool(true);
      w.writeUhyper(entry.cookie);
      w.writeOpaque(entry.nameBytes, Limits.name);
      encodeFattrResult(w, entry.attrs);
    }
    w.writeBool(false);
    w.writeBool(result.eof);
  },
  decodeResult(r) {
    const cookieverf = decodeVerifier(r);
    const entries: DirEntry[] = [];
    const bytes = r.input;
    const view = r.inputView;
    const eof = readEntries(
      r,
      () => entries.length,
      (at, length, attrsAt) => {
        const attrs = fattrs.decodeAt(bytes, view, attrsAt);
        if (attrs === undefined) return undefined;
        const nameBytes = bytes.subarray(at + 16, at + 16 + length);
        entries.push({
          cookie: view.getBigUint64(at + 4),
          name: decodeName(nameBytes),
          nameBytes,
          attrs,
        });
        return fattrs.end;
      },
      (cookie, nameBytes) => {
        const attrs = fattrs.decodeAttrs(r);
        entries.push({ cookie, name: decodeName(nameBytes), nameBytes, attrs });
      },
    );
    return { cookieverf, entries, eof };
  },
};

/**
 * Reads the entries of a READDIR4resok after its verifier, and its `eof`.
 * value_follows, cookie and name are read in place, the reader moved once
 * per run, when all is as it should be (a page holds thousands of
 * entries): `inPlace` is given the entry's offset, its name's length and
 * where its attributes start, and returns where the entry ends, or
 * undefined to have it read again, field by field, with the reader's
 * checks: `fieldByField` is given the cookie and the name's bytes with the
 * reader at the attributes, which it reads. At most
 * {@linkcode Limits.dirEntries} entries (`count` says how many were made).
 */
function readEntries(
  r: XdrReader,
  count: () => number,
  inPlace: (at: number, nameLength: number, attrsAt: number) => number | undefined,
  fieldByField: (cookie: bigint, nameBytes: Uint8Array) => void,
): boolean {
  const bytes = r.input;
  const view = r.inputView;
  let at = r.offset;
  for (;;) {
    if (bytes.length - at >= 16 && view.getUint32(at) === 1) {
      const length = view.getUint32(at + 12);
      const padded = (length + 3) & ~3;
      if (
        length <= Limits.name && padded <= bytes.length - at - 16 &&
        count() < Limits.dirEntries &&
        (padded === length || view.getUint32(at + 12 + padded) << ((length & 3) * 8) === 0)
      ) {
        const end = inPlace(at, length, at + 16 + padded);
        if (end !== undefined) {
          at = end;
          continue;
        }
      }
    }
    r.skip(at - r.offset);
    if (!r.readBool()) break;
    if (count() >= Limits.dirEntries) {
      throw new XdrError(`READDIR reply has more than ${Limits.dirEntries} entries`, at);
    }
    const cookie = r.readUhyper();
    fieldByField(cookie, r.readOpaque(Limits.name));
    at = r.offset;
  }
  return r.readBool();
}

export function readdir(args: ReaddirArgs): Nfs4Op<ReaddirResult> {
  return bindOp(READDIR, args);
}

/**
 * Makes what a caller keeps of one READDIR entry from its name (a byte
 * string, as {@linkcode DirEntry.name}) and its attributes. `values` is
 * reused for the next entry: read what is needed before returning.
 */
export type ReaddirEntryMaker<T> = (name: string, values: FattrValues) => T;

/**
 * READDIR4resok with each entry made by a {@linkcode ReaddirEntryMaker}
 * (see {@linkcode readdirCodec}).
 */
export interface ReaddirPage<T> {
  readonly cookieverf: Verifier;
  readonly entries: readonly T[];
  /** Each entry's cookie, by position ({@linkcode Int64Value}: a Number below 2^53). */
  readonly cookies: readonly Int64Value[];
  readonly eof: boolean;
}

/** Options of {@linkcode readdirCodec}. */
export interface ReaddirCodecOptions {
  /**
   * Hand the reply's buffer back to the transport's pool once the page is
   * decoded (lib/rpc/socket_buffers.ts), for a caller whose COMPOUND ends
   * with this READDIR and that keeps nothing else of the reply: what the
   * codec makes refers to none of its bytes. A listing's 256 KiB pages then
   * reuse one buffer instead of each taking a new one.
   */
  readonly releaseReply?: boolean;
}

/**
 * A READDIR codec whose result is a {@linkcode ReaddirPage} of `make`'s
 * entries: a listing of thousands of entries makes its own objects
 * straight from the reply, with no {@linkcode DirEntry}, attribute object,
 * time object or bigint in between ({@linkcode FattrValues}). The same
 * checks as {@linkcode READDIR}'s: in place when the entry is as it should
 * be, else field by field with the reader's checks, and the attributes by
 * decodeFattr() when they are not for the planned decoder (a malformed or
 * hostile reply raises the same errors). Replies only: it has no result
 * encoder (a scripted server uses {@linkcode READDIR}).
 *
 * @example
 * ```ts
 * const names = readdirCodec((name) => name);
 * const [, page] = await run([putfh(fh), bindOp(names, args)]);
 * ```
 */
export function readdirCodec<T>(
  make: ReaddirEntryMaker<T>,
  options: ReaddirCodecOptions = {},
): OpCodec<ReaddirArgs, ReaddirPage<T>> {
  const values = new FattrValues();
  return {
    opnum: Op.READDIR,
    name: "READDIR",
    encodeArgs: READDIR.encodeArgs,
    decodeArgs: READDIR.decodeArgs,
    encodeResult() {
      throw new TypeError("a READDIR page made by an entry maker is not encoded");
    },
    decodeResult(r) {
      const cookieverf = decodeVerifier(r);
      const entries: T[] = [];
      const cookies: Int64Value[] = [];
      const bytes = r.input;
      const view = r.inputView;
      const eof = readEntries(
        r,
        () => entries.length,
        (at, length, attrsAt) => {
          if (!fattrs.valuesAt(bytes, view, attrsAt, values)) return undefined;
          const high = view.getUint32(at + 4);
          cookies.push(
            high < 0x200000
              ? high * 4294967296 + view.getUint32(at + 8)
              : view.getBigUint64(at + 4),
          );
          entries.push(make(decodeNameAt(bytes, at + 16, length), values));
          return fattrs.end;
        },
        (cookie, nameBytes) => {
          const name = decodeName(nameBytes);
          if (fattrs.valuesAt(r.input, r.inputView, r.offset, values)) {
            r.skip(fattrs.end - r.offset);
          } else {
            values.fill(decodeFattr(r));
          }
          cookies.push(cookie < 9007199254740992n ? Number(cookie) : cookie);
          entries.push(make(name, values));
        },
      );
      // Nothing made above refers to the reply's bytes (names, owners and
      // handles are copies): its buffer may serve the next large record.
      if (options.releaseReply) releaseRecordBuffer(bytes);
      return { cookieverf, entries, cookies, eof };
    },
  };
}
