/**
 * Test helpers for the NFSv4 codecs: hex literals, encode/decode shorthands
 * and fast-check arbitraries for the protocol's data types.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";
import type { FileAttributes, SettableAttributes } from "../../lib/nfs4/attrs.ts";
import type { Ace, NfsTime, Stateid, StateOwner } from "../../lib/nfs4/types.ts";
import type { OpCodec } from "../../lib/nfs4/compound.ts";

import { hex } from "../xdr/_hex.ts";

export { hex };

/** Like `hex`, with `# comments` to the end of each line. */
export function hexc(text: string): Uint8Array {
  return hex(text.replace(/#[^\n]*/g, ""));
}

/** The bytes `write` produces for `value`. */
export function encode<T>(write: (w: XdrWriter, value: T) => void, value: T): Uint8Array {
  const w = new XdrWriter();
  write(w, value);
  return w.bytes().slice();
}

/** Decodes `bytes` with `read`, which must consume them exactly. */
export function decode<T>(read: (r: XdrReader) => T, bytes: Uint8Array): T {
  const r = new XdrReader(bytes);
  const value = read(r);
  r.assertEnd();
  return value;
}

/** Asserts `value` survives encode then decode unchanged. */
export function assertRoundTrip<T>(
  write: (w: XdrWriter, value: T) => void,
  read: (r: XdrReader) => T,
  value: T,
  message?: string,
): void {
  const decoded = decode(read, encode(write, value));
  if (message === undefined) assert.deepStrictEqual(decoded, value);
  else assert.deepStrictEqual(decoded, value, message);
}

/** Asserts a codec's args encode to `bytes`, and `bytes` decode back to the args. */
export function assertArgsVector<A>(codec: OpCodec<A, unknown>, args: A, bytes: Uint8Array): void {
  assert.deepStrictEqual(encode(codec.encodeArgs, args), bytes, `${codec.name} args encode`);
  assert.deepStrictEqual(decode(codec.decodeArgs, bytes), args, `${codec.name} args decode`);
}

/** The same for results. */
export function assertResultVector<R>(
  codec: OpCodec<unknown, R>,
  result: R,
  bytes: Uint8Array,
): void {
  assert.deepStrictEqual(encode(codec.encodeResult, result), bytes, `${codec.name} result encode`);
  assert.deepStrictEqual(decode(codec.decodeResult, bytes), result, `${codec.name} result decode`);
}

// ---------------------------------------------------------- arbitraries

/** `fc.record` with ordinary prototypes, so results compare with decoded objects. */
export function rec<T>(
  model: { [K in keyof T]: fc.Arbitrary<T[K]> },
  options: { requiredKeys?: (keyof T)[] } = {},
): fc.Arbitrary<T> {
  if (options.requiredKeys) {
    return fc.record(model, {
      noNullPrototype: true,
      requiredKeys: options.requiredKeys as never,
    }) as never;
  }
  return fc.record(model, { noNullPrototype: true }) as never;
}

export const u32 = fc.integer({ min: 0, max: 0xffffffff });
export const i32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
export const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
export const i64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
export const bool = fc.boolean();
export const str = fc.string({ maxLength: 24, unit: "grapheme" });
export const name = fc.string({ minLength: 1, maxLength: 24, unit: "grapheme" });

export function opaque(maxLength = 32): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ maxLength });
}

export function fixed(length: number): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength: length, maxLength: length });
}

export const verifier = fixed(8);
export const sessionid = fixed(16);
export const fh = fc.uint8Array({ minLength: 1, maxLength: 128 });
export const stateid: fc.Arbitrary<Stateid> = rec({ seqid: u32, other: fixed(12) });
export const stateOwner: fc.Arbitrary<StateOwner> = rec({
  clientid: u64,
  owner: opaque(64),
});
export const nfsTime: fc.Arbitrary<NfsTime> = rec({
  seconds: i64,
  nseconds: u32,
});
export const changeInfo = rec({ atomic: bool, before: u64, after: u64 });
export const ace: fc.Arbitrary<Ace> = rec({
  type: u32,
  flag: u32,
  accessMask: u32,
  who: str,
});
export const idSet = fc.uniqueArray(fc.integer({ min: 0, max: 511 }), { maxLength: 12 }).map(
  (ids) => new Set(ids) as ReadonlySet<number>,
);
export const setTime = fc.oneof(fc.constant("server" as const), nfsTime);
const pathname = fc.array(name, { maxLength: 4 });
const acl41 = rec({ flag: u32, aces: fc.array(ace, { maxLength: 3 }) });
const pair = rec({ major: u64, minor: u64 });

/** Every field of {@linkcode FileAttributes}, each present or absent. */
export const fileAttributes: fc.Arbitrary<FileAttributes> = rec({
  supportedAttrs: idSet,
  type: i32,
  fhExpireType: u32,
  change: u64,
  size: u64,
  linkSupport: bool,
  symlinkSupport: bool,
  namedAttr: bool,
  fsid: pair,
  uniqueHandles: bool,
  leaseTime: u32,
  rdattrError: u32,
  acl: fc.array(ace, { maxLength: 3 }),
  aclSupport: u32,
  archive: bool,
  cansettime: bool,
  caseInsensitive: bool,
  casePreserving: bool,
  chownRestricted: bool,
  filehandle: fh,
  fileid: u64,
  filesAvail: u64,
  filesFree: u64,
  filesTotal: u64,
  fsLocations: rec({
    fsRoot: pathname,
    locations: fc.array(
      rec({ server: fc.array(name, { maxLength: 3 }), rootpath: pathname }),
      { maxLength: 3 },
    ),
  }),
  hidden: bool,
  homogeneous: bool,
  maxfilesize: u64,
  maxlink: u32,
  maxname: u32,
  maxread: u64,
  maxwrite: u64,
  mimetype: str,
  mode: u32,
  noTrunc: bool,
  numlinks: u32,
  owner: str,
  ownerGroup: str,
  quotaAvailHard: u64,
  quotaAvailSoft: u64,
  quotaUsed: u64,
  rawdev: rec({ specdata1: u32, specdata2: u32 }),
  spaceAvail: u64,
  spaceFree: u64,
  spaceTotal: u64,
  spaceUsed: u64,
  system: bool,
  timeAccess: nfsTime,
  timeAccessSet: setTime,
  timeBackup: nfsTime,
  timeCreate: nfsTime,
  timeDelta: nfsTime,
  timeMetadata: nfsTime,
  timeModify: nfsTime,
  timeModifySet: setTime,
  mountedOnFileid: u64,
  dirNotifDelay: nfsTime,
  direntNotifDelay: nfsTime,
  dacl: acl41,
  sacl: acl41,
  changePolicy: pair,
  fsStatus: rec({
    absent: bool,
    type: i32,
    source: str,
    current: str,
    age: i32,
    version: nfsTime,
  }),
  fsLayoutTypes: fc.array(i32, { maxLength: 4 }),
  layoutHint: rec({ type: i32, body: opaque() }),
  layoutTypes: fc.array(i32, { maxLength: 4 }),
  layoutBlksize: u32,
  layoutAlignment: u32,
  retentionHold: u64,
  modeSetMasked: rec({ valueToSet: u32, maskBits: u32 }),
  suppattrExclcreat: idSet,
  fsCharsetCap: u32,
  cloneBlksize: u32,
  spaceFreed: u64,
  changeAttrType: i32,
  modeUmask: rec({ mode: u32, umask: u32 }),
  xattrSupport: bool,
}, { requiredKeys: [] });

/** The attributes a client sets. */
export const settableAttributes: fc.Arbitrary<SettableAttributes> = rec({
  size: u64,
  acl: fc.array(ace, { maxLength: 2 }),
  archive: bool,
  hidden: bool,
  mimetype: str,
  mode: u32,
  owner: str,
  ownerGroup: str,
  system: bool,
  timeAccessSet: setTime,
  timeBackup: nfsTime,
  timeCreate: nfsTime,
  timeModifySet: setTime,
  retentionHold: u64,
  modeSetMasked: rec({ valueToSet: u32, maskBits: u32 }),
  modeUmask: rec({ mode: u32, umask: u32 }),
}, { requiredKeys: [] });
