/**
 * File attributes: bitmap4 and fattr4 (RFC 7530 §5, RFC 8881 §5, RFC 7862 §12).
 *
 * A fattr4 is a bitmap of attribute ids and one opaque holding their values
 * in ascending id order. Each value has its own XDR type, so a decoder that
 * meets an id whose format it does not know cannot find the values after
 * it. Since the opaque's length is known, decoding then stops there without
 * failing: the ids not decoded are reported in `undecoded`, and the rest of
 * the reply is read normally.
 *
 * @example
 * ```ts
 * const ops = [putfh(fh), getattr([Attr.TYPE, Attr.SIZE, Attr.MODE])] as const;
 * const [, { attrs }] = compoundResults(reply, ops);
 * attrs.size; // bigint | undefined
 * ```
 * @module
 */

import { decodeByteString, XdrError, XdrReader, type XdrWriter } from "../xdr/mod.ts";
import { Limits, NFS4_FHSIZE, TimeHow } from "./constants.ts";
import {
  type Ace,
  decodeAces,
  decodeFileHandle,
  decodeNfsTime,
  decodeSpecData,
  encodeAces,
  encodeFileHandle,
  encodeNfsTime,
  encodeSpecData,
  type FileHandle,
  type NfsTime,
  type SpecData,
} from "./types.ts";

/** FATTR4_* attribute ids of NFSv4.0, 4.1 and 4.2 (RFC 7531, RFC 5662, RFC 7863, RFC 8275, RFC 8276). */
export const Attr = {
  SUPPORTED_ATTRS: 0,
  TYPE: 1,
  FH_EXPIRE_TYPE: 2,
  CHANGE: 3,
  SIZE: 4,
  LINK_SUPPORT: 5,
  SYMLINK_SUPPORT: 6,
  NAMED_ATTR: 7,
  FSID: 8,
  UNIQUE_HANDLES: 9,
  LEASE_TIME: 10,
  RDATTR_ERROR: 11,
  ACL: 12,
  ACLSUPPORT: 13,
  ARCHIVE: 14,
  CANSETTIME: 15,
  CASE_INSENSITIVE: 16,
  CASE_PRESERVING: 17,
  CHOWN_RESTRICTED: 18,
  FILEHANDLE: 19,
  FILEID: 20,
  FILES_AVAIL: 21,
  FILES_FREE: 22,
  FILES_TOTAL: 23,
  FS_LOCATIONS: 24,
  HIDDEN: 25,
  HOMOGENEOUS: 26,
  MAXFILESIZE: 27,
  MAXLINK: 28,
  MAXNAME: 29,
  MAXREAD: 30,
  MAXWRITE: 31,
  MIMETYPE: 32,
  MODE: 33,
  NO_TRUNC: 34,
  NUMLINKS: 35,
  OWNER: 36,
  OWNER_GROUP: 37,
  QUOTA_AVAIL_HARD: 38,
  QUOTA_AVAIL_SOFT: 39,
  QUOTA_USED: 40,
  RAWDEV: 41,
  SPACE_AVAIL: 42,
  SPACE_FREE: 43,
  SPACE_TOTAL: 44,
  SPACE_USED: 45,
  SYSTEM: 46,
  TIME_ACCESS: 47,
  TIME_ACCESS_SET: 48,
  TIME_BACKUP: 49,
  TIME_CREATE: 50,
  TIME_DELTA: 51,
  TIME_METADATA: 52,
  TIME_MODIFY: 53,
  TIME_MODIFY_SET: 54,
  MOUNTED_ON_FILEID: 55,
  DIR_NOTIF_DELAY: 56,
  DIRENT_NOTIF_DELAY: 57,
  DACL: 58,
  SACL: 59,
  CHANGE_POLICY: 60,
  FS_STATUS: 61,
  FS_LAYOUT_TYPES: 62,
  LAYOUT_HINT: 63,
  LAYOUT_TYPES: 64,
  LAYOUT_BLKSIZE: 65,
  LAYOUT_ALIGNMENT: 66,
  FS_LOCATIONS_INFO: 67,
  MDSTHRESHOLD: 68,
  RETENTION_GET: 69,
  RETENTION_SET: 70,
  RETENTEVT_GET: 71,
  RETENTEVT_SET: 72,
  RETENTION_HOLD: 73,
  MODE_SET_MASKED: 74,
  SUPPATTR_EXCLCREAT: 75,
  FS_CHARSET_CAP: 76,
  CLONE_BLKSIZE: 77,
  SPACE_FREED: 78,
  CHANGE_ATTR_TYPE: 79,
  SEC_LABEL: 80,
  MODE_UMASK: 81,
  XATTR_SUPPORT: 82,
} as const;

const attrNames = new Map<number, string>(Object.entries(Attr).map(([name, id]) => [id, name]));

/** `SIZE` for 4; `ATTR_99` for an id this client does not know. */
export function attrName(id: number): string {
  return attrNames.get(id) ?? `ATTR_${id}`;
}

/** fsid4: which file system an object is on (RFC 7530 §5.8.1.9). */
export interface Fsid {
  /** fsid4's major. */
  readonly major: bigint;
  /** fsid4's minor. */
  readonly minor: bigint;
}

/** fs_location4: servers and the path of the file system on them. */
export interface FsLocation {
  /** The servers' names or addresses. */
  readonly server: readonly string[];
  /** The path on them, by component. */
  readonly rootpath: readonly string[];
}

/** fs_locations4: where a file system is, for migration and referrals (RFC 7530 §8.8). */
export interface FsLocations {
  /** The file system's path on this server, by component. */
  readonly fsRoot: readonly string[];
  /** The servers it is on, each with its path there. */
  readonly locations: readonly FsLocation[];
}

/** nfsacl41: an ACL with its flags, the `dacl` and `sacl` attributes (RFC 8881 §6.2.2). */
export interface Acl41 {
  /** ACL4_* flags (auto-inherit, protected, defaulted). */
  readonly flag: number;
  /** Its entries. */
  readonly aces: readonly Ace[];
}

/** change_policy4: changes when the file system's policy changes (RFC 8881 §5.8). */
export interface ChangePolicy {
  /** change_policy4's major. */
  readonly major: bigint;
  /** change_policy4's minor. */
  readonly minor: bigint;
}

/** fs4_status: the file system's availability and version (RFC 8881 §11.11). */
export interface FsStatus {
  /** It is absent (migrated or a referral). */
  readonly absent: boolean;
  /** STATUS4_* (fixed, versioned, updated, writable, referral). */
  readonly type: number;
  /** The source of the data. */
  readonly source: string;
  /** The version of the data. */
  readonly current: string;
  /** Its age, in seconds. */
  readonly age: number;
  /** When it was made. */
  readonly version: NfsTime;
}

/** layouthint4: the layout a client would like (pNFS, RFC 8881). */
export interface LayoutHint {
  /** The layout type (LAYOUT4_*). */
  readonly type: number;
  /** Its opaque body. */
  readonly body: Uint8Array;
}

/** mode_masked4: mode bits to set and which bits to change (RFC 8881). */
export interface ModeMasked {
  /** The mode bits to set. */
  readonly valueToSet: number;
  /** Which bits of the mode to change. */
  readonly maskBits: number;
}

/** mode_umask4: a mode and the umask to apply to it (RFC 8275). */
export interface ModeUmask {
  /** The mode asked for. */
  readonly mode: number;
  /** The umask to apply to it. */
  readonly umask: number;
}

/** settime4: the server's clock, or a time the client names. */
export type SetTime = "server" | NfsTime;

/**
 * The attributes this client decodes and encodes, by field: one per NFSv4
 * attribute, named as the RFC's in camelCase (`time_modify`: `timeModify`).
 * Every field is optional: a reply carries those that were asked for and
 * that the server supports. Where a field's RFC attribute is (RFC 7530 §5.8
 * for 4.0's, RFC 8881 §5.8 for 4.1's, RFC 7862 §12.2 for 4.2's), its meaning
 * and units are the RFC's. The library's API shows it as `AttributeValues`
 * (`AttributeReport.values`, what `nfs4 stat` and `nfs4 df` show).
 */
export interface FileAttributes {
  /** `supported_attrs`: the attribute ids the server supports for the object. */
  supportedAttrs?: ReadonlySet<number>;
  /** `type`: nfs_ftype4 (NF4REG 1, NF4DIR 2, NF4LNK 5...). */
  type?: number;
  /** `fh_expire_type`: whether and when the filehandle may expire (FH4_*). */
  fhExpireType?: number;
  /** `change`: differs after every change to the object. */
  change?: bigint;
  /** `size`: in bytes. */
  size?: bigint;
  /** `link_support`: the file system supports hard links. */
  linkSupport?: boolean;
  /** `symlink_support`: it supports symbolic links. */
  symlinkSupport?: boolean;
  /** `named_attr`: the object has named attributes. */
  namedAttr?: boolean;
  /** `fsid`: the file system the object is on. */
  fsid?: Fsid;
  /** `unique_handles`: two distinct objects never share a filehandle. */
  uniqueHandles?: boolean;
  /** `lease_time`: the server's lease, in seconds. */
  leaseTime?: number;
  /** `rdattr_error`: why READDIR could not get an entry's attributes (an NFS4ERR_* status). */
  rdattrError?: number;
  /** `acl`: the access control list. */
  acl?: readonly Ace[];
  /** `aclsupport`: the ACE types supported (ACL4_SUPPORT_* bits). */
  aclSupport?: number;
  /** `archive`: the object needs archiving. */
  archive?: boolean;
  /** `cansettime`: the server can set the times the client asks for. */
  cansettime?: boolean;
  /** `case_insensitive`: names are compared without case. */
  caseInsensitive?: boolean;
  /** `case_preserving`: names keep the case they were given. */
  casePreserving?: boolean;
  /** `chown_restricted`: only a privileged user may change the owner. */
  chownRestricted?: boolean;
  /** `filehandle`: the object's filehandle. */
  filehandle?: FileHandle;
  /** `fileid`: the object's number within its file system. */
  fileid?: bigint;
  /** `files_avail`: file slots available to this user. */
  filesAvail?: bigint;
  /** `files_free`: file slots free. */
  filesFree?: bigint;
  /** `files_total`: file slots in all. */
  filesTotal?: bigint;
  /** `fs_locations`: where the file system is (migration, referrals: RFC 7530 §8.8). */
  fsLocations?: FsLocations;
  /** `hidden`: the object is hidden (Windows). */
  hidden?: boolean;
  /** `homogeneous`: every object of the file system supports the same attributes. */
  homogeneous?: boolean;
  /** `maxfilesize`: the largest file size supported, in bytes. */
  maxfilesize?: bigint;
  /** `maxlink`: the most hard links to one object. */
  maxlink?: number;
  /** `maxname`: the longest name, in bytes. */
  maxname?: number;
  /** `maxread`: the largest READ the server takes, in bytes. */
  maxread?: bigint;
  /** `maxwrite`: the largest WRITE the server takes, in bytes. */
  maxwrite?: bigint;
  /** `mimetype`: the object's MIME type. */
  mimetype?: string;
  /** `mode`: permission bits and set-id/sticky bits (07777). */
  mode?: number;
  /** `no_trunc`: a name too long is an error rather than truncated. */
  noTrunc?: boolean;
  /** `numlinks`: hard links to the object. */
  numlinks?: number;
  /** `owner`: the owner, as an owner string (`1000`, `user@domain`). */
  owner?: string;
  /** `owner_group`: the group, as an owner string. */
  ownerGroup?: string;
  /** `quota_avail_hard`: bytes this user may still use before the hard quota. */
  quotaAvailHard?: bigint;
  /** `quota_avail_soft`: bytes before the soft quota. */
  quotaAvailSoft?: bigint;
  /** `quota_used`: bytes this user's quota counts. */
  quotaUsed?: bigint;
  /** `rawdev`: a device's major (`specdata1`) and minor (`specdata2`) numbers. */
  rawdev?: SpecData;
  /** `space_avail`: bytes available to this user on the file system. */
  spaceAvail?: bigint;
  /** `space_free`: bytes free on the file system. */
  spaceFree?: bigint;
  /** `space_total`: bytes in all on the file system. */
  spaceTotal?: bigint;
  /** `space_used`: bytes of storage the object takes. */
  spaceUsed?: bigint;
  /** `system`: a system file (Windows). */
  system?: boolean;
  /** `time_access`: last access. */
  timeAccess?: NfsTime;
  /** `time_access_set` (settime4): only set, never returned by a server. */
  timeAccessSet?: SetTime;
  /** `time_backup`: last backup. */
  timeBackup?: NfsTime;
  /** `time_create`: creation. */
  timeCreate?: NfsTime;
  /** `time_delta`: the granularity of the server's times. */
  timeDelta?: NfsTime;
  /** `time_metadata`: last change of the data or attributes (ctime). */
  timeMetadata?: NfsTime;
  /** `time_modify`: last change of the data (mtime). */
  timeModify?: NfsTime;
  /** `time_modify_set` (settime4): only set, never returned by a server. */
  timeModifySet?: SetTime;
  /** `mounted_on_fileid`: the fileid of the directory another file system is mounted on. */
  mountedOnFileid?: bigint;
  /** `dir_notif_delay` (4.1): how long directory notifications may be delayed. */
  dirNotifDelay?: NfsTime;
  /** `dirent_notif_delay` (4.1): how long entry notifications may be delayed. */
  direntNotifDelay?: NfsTime;
  /** `dacl` (4.1): the discretionary ACL, with its flags. */
  dacl?: Acl41;
  /** `sacl` (4.1): the system (audit and alarm) ACL, with its flags. */
  sacl?: Acl41;
  /** `change_policy` (4.1): changes when the file system's policy changes. */
  changePolicy?: ChangePolicy;
  /** `fs_status` (4.1, RFC 8881 §11.11): the file system's availability and version. */
  fsStatus?: FsStatus;
  /** `fs_layout_type` (4.1 pNFS): the layout types the file system supports. */
  fsLayoutTypes?: readonly number[];
  /** `layout_hint` (4.1 pNFS): the layout a client would like. */
  layoutHint?: LayoutHint;
  /** `layout_type` (4.1 pNFS): the file's layout types. */
  layoutTypes?: readonly number[];
  /** `layout_blksize` (4.1 pNFS): the preferred I/O size, in bytes. */
  layoutBlksize?: number;
  /** `layout_alignment` (4.1 pNFS): the preferred I/O alignment, in bytes. */
  layoutAlignment?: number;
  /** `retention_hold` (4.1): the retention hold bits. */
  retentionHold?: bigint;
  /** `mode_set_masked` (4.1): only set, never returned by a server. */
  modeSetMasked?: ModeMasked;
  /** `suppattr_exclcreat` (4.1): the attributes an EXCLUSIVE4_1 create can set. */
  suppattrExclcreat?: ReadonlySet<number>;
  /** `fs_charset_cap` (4.1): FSCHARSET_CAP4_* bits (UTF-8 handling). */
  fsCharsetCap?: number;
  /** `clone_blksize` (4.2): the CLONE granularity, in bytes. */
  cloneBlksize?: number;
  /** `space_freed` (4.2): bytes a REMOVE of the file would free. */
  spaceFreed?: bigint;
  /** `change_attr_type` (4.2): how `change` grows (NFS4_CHANGE_TYPE_IS_*). */
  changeAttrType?: number;
  /** `mode_umask` (RFC 8275): only set, never returned by a server. */
  modeUmask?: ModeUmask;
  /** `xattr_support` (RFC 8276): the object supports extended attributes. */
  xattrSupport?: boolean;
}

/** The attributes a client sets with SETATTR, CREATE and OPEN. */
export type SettableAttributes = Pick<
  FileAttributes,
  | "size"
  | "acl"
  | "archive"
  | "hidden"
  | "mimetype"
  | "mode"
  | "owner"
  | "ownerGroup"
  | "system"
  | "timeAccessSet"
  | "timeBackup"
  | "timeCreate"
  | "timeModifySet"
  | "dacl"
  | "sacl"
  | "layoutHint"
  | "retentionHold"
  | "modeSetMasked"
  | "modeUmask"
>;

/** A decoded fattr4. */
export interface DecodedFattr {
  /** The values decoded. */
  readonly attrs: FileAttributes;
  /** Every id in the bitmap the server sent. */
  readonly returned: ReadonlySet<number>;
  /** The ids whose values were not decoded (an unknown format stops decoding). */
  readonly undecoded: ReadonlySet<number>;
}

type Key = keyof FileAttributes;

interface AttrCodec {
  readonly id: number;
  readonly key: Key;
  encode(w: XdrWriter, value: unknown): void;
  decode(r: XdrReader): unknown;
}

function def<K extends Key>(
  id: number,
  key: K,
  encode: (w: XdrWriter, value: NonNullable<FileAttributes[K]>) => void,
  decode: (r: XdrReader) => NonNullable<FileAttributes[K]>,
): AttrCodec {
  return { id, key, encode: encode as (w: XdrWriter, value: unknown) => void, decode };
}

const int = [
  (w: XdrWriter, v: number) => void w.writeInt(v),
  (r: XdrReader) => r.readInt(),
] as const;
const bool = [
  (w: XdrWriter, v: boolean) => void w.writeBool(v),
  (r: XdrReader) => r.readBool(),
] as const;
const u32 = [
  (w: XdrWriter, v: number) => void w.writeUint(v),
  (r: XdrReader) => r.readUint(),
] as const;
const u64 = [
  (w: XdrWriter, v: bigint) => void w.writeUhyper(v),
  (r: XdrReader) => r.readUhyper(),
] as const;
const time = [encodeNfsTime, decodeNfsTime] as const;
const bitmap = [encodeBitmap, decodeBitmap] as const;
const owner = [
  (w: XdrWriter, v: string) => void w.writeString(v, Limits.owner),
  (r: XdrReader) => r.readString(Limits.owner),
] as const;

function encodeSetTime(w: XdrWriter, value: SetTime): void {
  if (value === "server") {
    w.writeInt(TimeHow.SET_TO_SERVER_TIME4);
  } else {
    w.writeInt(TimeHow.SET_TO_CLIENT_TIME4);
    encodeNfsTime(w, value);
  }
}

function decodeSetTime(r: XdrReader): SetTime {
  const how = r.readEnum(SET_TIME_HOWS, "time_how4");
  return how === TimeHow.SET_TO_CLIENT_TIME4 ? decodeNfsTime(r) : "server";
}
const SET_TIME_HOWS: ReadonlySet<number> = new Set(Object.values(TimeHow));

function encodePathname(w: XdrWriter, path: readonly string[]): void {
  w.writeArray(path, (w, c) => w.writeString(c, Limits.name), Limits.pathComponents);
}

function decodePathname(r: XdrReader): string[] {
  return r.readArray((r) => r.readString(Limits.name), Limits.pathComponents);
}

function encodeFsLocations(w: XdrWriter, value: FsLocations): void {
  encodePathname(w, value.fsRoot);
  w.writeArray(value.locations, (w, loc) => {
    w.writeArray(loc.server, (w, s) => w.writeString(s, Limits.name), Limits.fsLocations);
    encodePathname(w, loc.rootpath);
  }, Limits.fsLocations);
}

function decodeFsLocations(r: XdrReader): FsLocations {
  const fsRoot = decodePathname(r);
  const locations = r.readArray(
    (r) => {
      const server = r.readArray((r) => r.readString(Limits.name), Limits.fsLocations);
      const rootpath = decodePathname(r);
      return { server, rootpath };
    },
    Limits.fsLocations,
    8,
  );
  return { fsRoot, locations };
}

function encodeAcl41(w: XdrWriter, value: Acl41): void {
  w.writeUint(value.flag);
  encodeAces(w, value.aces);
}

function decodeAcl41(r: XdrReader): Acl41 {
  const flag = r.readUint();
  const aces = decodeAces(r);
  return { flag, aces };
}

function encodePair(w: XdrWriter, value: { major: bigint; minor: bigint }): void {
  w.writeUhyper(value.major);
  w.writeUhyper(value.minor);
}

function decodePair(r: XdrReader): { major: bigint; minor: bigint } {
  const major = r.readUhyper();
  const minor = r.readUhyper();
  return { major, minor };
}

function encodeFsStatus(w: XdrWriter, value: FsStatus): void {
  w.writeBool(value.absent);
  w.writeInt(value.type);
  w.writeString(value.source, Limits.name);
  w.writeString(value.current, Limits.name);
  w.writeInt(value.age);
  encodeNfsTime(w, value.version);
}

function decodeFsStatus(r: XdrReader): FsStatus {
  const absent = r.readBool();
  const type = r.readInt();
  const source = r.readString(Limits.name);
  const current = r.readString(Limits.name);
  const age = r.readInt();
  const version = decodeNfsTime(r);
  return { absent, type, source, current, age, version };
}

const layoutTypes = [
  (w: XdrWriter, v: readonly number[]) =>
    void w.writeArray(v, (w, t) => w.writeInt(t), Limits.layoutTypes),
  (r: XdrReader) => r.readArray((r) => r.readInt(), Limits.layoutTypes),
] as const;

function encodeLayoutHint(w: XdrWriter, value: LayoutHint): void {
  w.writeInt(value.type);
  w.writeOpaque(value.body, Limits.smallOpaque);
}

function decodeLayoutHint(r: XdrReader): LayoutHint {
  const type = r.readInt();
  const body = r.readOpaque(Limits.smallOpaque).slice();
  return { type, body };
}

function encodeModeMasked(w: XdrWriter, value: ModeMasked): void {
  w.writeUint(value.valueToSet);
  w.writeUint(value.maskBits);
}

function decodeModeMasked(r: XdrReader): ModeMasked {
  const valueToSet = r.readUint();
  const maskBits = r.readUint();
  return { valueToSet, maskBits };
}

function encodeModeUmask(w: XdrWriter, value: ModeUmask): void {
  w.writeUint(value.mode);
  w.writeUint(value.umask);
}

function decodeModeUmask(r: XdrReader): ModeUmask {
  const mode = r.readUint();
  const umask = r.readUint();
  return { mode, umask };
}

/**
 * The attributes whose value format this client knows, by id. Absent:
 * fs_locations_info (67), mdsthreshold (68), the retention attributes
 * (69-72) and sec_label (80).
 */
const CODECS: ReadonlyMap<number, AttrCodec> = new Map(
  [
    def(Attr.SUPPORTED_ATTRS, "supportedAttrs", ...bitmap),
    def(Attr.TYPE, "type", ...int),
    def(Attr.FH_EXPIRE_TYPE, "fhExpireType", ...u32),
    def(Attr.CHANGE, "change", ...u64),
    def(Attr.SIZE, "size", ...u64),
    def(Attr.LINK_SUPPORT, "linkSupport", ...bool),
    def(Attr.SYMLINK_SUPPORT, "symlinkSupport", ...bool),
    def(Attr.NAMED_ATTR, "namedAttr", ...bool),
    def(Attr.FSID, "fsid", encodePair, decodePair),
    def(Attr.UNIQUE_HANDLES, "uniqueHandles", ...bool),
    def(Attr.LEASE_TIME, "leaseTime", ...u32),
    def(Attr.RDATTR_ERROR, "rdattrError", ...u32),
    def(Attr.ACL, "acl", encodeAces, decodeAces),
    def(Attr.ACLSUPPORT, "aclSupport", ...u32),
    def(Attr.ARCHIVE, "archive", ...bool),
    def(Attr.CANSETTIME, "cansettime", ...bool),
    def(Attr.CASE_INSENSITIVE, "caseInsensitive", ...bool),
    def(Attr.CASE_PRESERVING, "casePreserving", ...bool),
    def(Attr.CHOWN_RESTRICTED, "chownRestricted", ...bool),
    def(Attr.FILEHANDLE, "filehandle", encodeFileHandle, decodeFileHandle),
    def(Attr.FILEID, "fileid", ...u64),
    def(Attr.FILES_AVAIL, "filesAvail", ...u64),
    def(Attr.FILES_FREE, "filesFree", ...u64),
    def(Attr.FILES_TOTAL, "filesTotal", ...u64),
    def(Attr.FS_LOCATIONS, "fsLocations", encodeFsLocations, decodeFsLocations),
    def(Attr.HIDDEN, "hidden", ...bool),
    def(Attr.HOMOGENEOUS, "homogeneous", ...bool),
    def(Attr.MAXFILESIZE, "maxfilesize", ...u64),
    def(Attr.MAXLINK, "maxlink", ...u32),
    def(Attr.MAXNAME, "maxname", ...u32),
    def(Attr.MAXREAD, "maxread", ...u64),
    def(Attr.MAXWRITE, "maxwrite", ...u64),
    def(
      Attr.MIMETYPE,
      "mimetype",
      (w, v) => void w.writeString(v, Limits.name),
      (r) => r.readString(Limits.name),
    ),
    def(Attr.MODE, "mode", ...u32),
    def(Attr.NO_TRUNC, "noTrunc", ...bool),
    def(Attr.NUMLINKS, "numlinks", ...u32),
    def(Attr.OWNER, "owner", ...owner),
    def(Attr.OWNER_GROUP, "ownerGroup", ...owner),
    def(Attr.QUOTA_AVAIL_HARD, "quotaAvailHard", ...u64),
    def(Attr.QUOTA_AVAIL_SOFT, "quotaAvailSoft", ...u64),
    def(Attr.QUOTA_USED, "quotaUsed", ...u64),
    def(Attr.RAWDEV, "rawdev", encodeSpecData, decodeSpecData),
    def(Attr.SPACE_AVAIL, "spaceAvail", ...u64),
    def(Attr.SPACE_FREE, "spaceFree", ...u64),
    def(Attr.SPACE_TOTAL, "spaceTotal", ...u64),
    def(Attr.SPACE_USED, "spaceUsed", ...u64),
    def(Attr.SYSTEM, "system", ...bool),
    def(Attr.TIME_ACCESS, "timeAccess", ...time),
    def(Attr.TIME_ACCESS_SET, "timeAccessSet", encodeSetTime, decodeSetTime),
    def(Attr.TIME_BACKUP, "timeBackup", ...time),
    def(Attr.TIME_CREATE, "timeCreate", ...time),
    def(Attr.TIME_DELTA, "timeDelta", ...time),
    def(Attr.TIME_METADATA, "timeMetadata", ...time),
    def(Attr.TIME_MODIFY, "timeModify", ...time),
    def(Attr.TIME_MODIFY_SET, "timeModifySet", encodeSetTime, decodeSetTime),
    def(Attr.MOUNTED_ON_FILEID, "mountedOnFileid", ...u64),
    def(Attr.DIR_NOTIF_DELAY, "dirNotifDelay", ...time),
    def(Attr.DIRENT_NOTIF_DELAY, "direntNotifDelay", ...time),
    def(Attr.DACL, "dacl", encodeAcl41, decodeAcl41),
    def(Attr.SACL, "sacl", encodeAcl41, decodeAcl41),
    def(Attr.CHANGE_POLICY, "changePolicy", encodePair, decodePair),
    def(Attr.FS_STATUS, "fsStatus", encodeFsStatus, decodeFsStatus),
    def(Attr.FS_LAYOUT_TYPES, "fsLayoutTypes", ...layoutTypes),
    def(Attr.LAYOUT_HINT, "layoutHint", encodeLayoutHint, decodeLayoutHint),
    def(Attr.LAYOUT_TYPES, "layoutTypes", ...layoutTypes),
    def(Attr.LAYOUT_BLKSIZE, "layoutBlksize", ...u32),
    def(Attr.LAYOUT_ALIGNMENT, "layoutAlignment", ...u32),
    def(Attr.RETENTION_HOLD, "retentionHold", ...u64),
    def(Attr.MODE_SET_MASKED, "modeSetMasked", encodeModeMasked, decodeModeMasked),
    def(Attr.SUPPATTR_EXCLCREAT, "suppattrExclcreat", ...bitmap),
    def(Attr.FS_CHARSET_CAP, "fsCharsetCap", ...u32),
    def(Attr.CLONE_BLKSIZE, "cloneBlksize", ...u32),
    def(Attr.SPACE_FREED, "spaceFreed", ...u64),
    def(Attr.CHANGE_ATTR_TYPE, "changeAttrType", ...int),
    def(Attr.MODE_UMASK, "modeUmask", encodeModeUmask, decodeModeUmask),
    def(Attr.XATTR_SUPPORT, "xattrSupport", ...bool),
  ].map((c) => [c.id, c]),
);

const CODECS_BY_KEY: ReadonlyMap<string, AttrCodec> = new Map(
  [...CODECS.values()].map((c) => [c.key, c]),
);

/** The attribute ids whose values this client can decode and encode. */
export const DECODABLE_ATTRS: ReadonlySet<number> = new Set(CODECS.keys());

/** The {@linkcode FileAttributes} field of attribute `id`, when this client decodes it. */
export function attrKey(id: number): keyof FileAttributes | undefined {
  return CODECS.get(id)?.key;
}

/** The attribute id of a {@linkcode FileAttributes} field: `attrId("size") === 4`. */
export function attrId(key: keyof FileAttributes): number {
  return CODECS_BY_KEY.get(key)!.id;
}

/** The ids of the fields present in `attrs`, ascending. */
export function attrIds(attrs: FileAttributes): number[] {
  const ids: number[] = [];
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined) continue;
    const codec = CODECS_BY_KEY.get(key);
    if (!codec) throw new TypeError(`unknown attribute field ${key}`);
    ids.push(codec.id);
  }
  return ids.sort((a, b) => a - b);
}

/**
 * bitmap4 (RFC 7530 §3.3.7): bit `id % 32` of word `id / 32`. Only the words
 * up to the highest id are sent.
 */
export function encodeBitmap(w: XdrWriter, ids: Iterable<number>): void {
  const words: number[] = [];
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= Limits.bitmapWords * 32) {
      throw new XdrError(`bitmap id out of range: ${id}`, w.length);
    }
    const word = id >>> 5;
    while (words.length <= word) words.push(0);
    words[word] = (words[word]! | (1 << (id & 31))) >>> 0;
  }
  w.writeArray(words, (w, word) => w.writeUint(word), Limits.bitmapWords);
}

/** Decodes a bitmap4 into the set of ids it holds, in ascending order. */
export function decodeBitmap(r: XdrReader): Set<number> {
  const words = r.readArray((r) => r.readUint(), Limits.bitmapWords);
  const ids = new Set<number>();
  for (let i = 0; i < words.length; i++) {
    let word = words[i]!;
    for (let bit = 0; word !== 0; bit++, word >>>= 1) {
      if (word & 1) ids.add(i * 32 + bit);
    }
  }
  return ids;
}

/**
 * Decodes a fattr4. Values are read in id order until the first id whose
 * format this client does not know; that id and all after it are reported
 * as `undecoded`. A value that is malformed or exceeds its maximum (an owner
 * longer than {@linkcode Limits.owner}) raises `XdrError`.
 */
export function decodeFattr(r: XdrReader): DecodedFattr {
  const returned = decodeBitmap(r);
  const values = new XdrReader(r.readOpaque(Limits.attrValues));
  const attrs: Record<string, unknown> = {};
  const undecoded = new Set<number>();
  for (const id of returned) {
    const codec = undecoded.size === 0 ? CODECS.get(id) : undefined;
    if (!codec) {
      undecoded.add(id);
      continue;
    }
    attrs[codec.key] = codec.decode(values);
  }
  if (undecoded.size === 0) values.assertEnd();
  return { attrs: attrs as FileAttributes, returned, undecoded };
}

/**
 * Encodes a fattr4 holding every field present in `attrs`, in id order: what
 * a server sends for GETATTR and READDIR, and what VERIFY and NVERIFY carry.
 */
export function encodeFattrResult(w: XdrWriter, attrs: FileAttributes): void {
  const ids = attrIds(attrs);
  encodeBitmap(w, ids);
  const lengthAt = w.reserveUint();
  const start = w.length;
  const values = attrs as Record<string, unknown>;
  for (const id of ids) {
    const codec = CODECS.get(id)!;
    codec.encode(w, values[codec.key]);
  }
  // Every value is a whole number of XDR units, so no padding follows.
  w.patchUint(lengthAt, w.length - start);
}

/** Encodes the attributes a client sets (SETATTR, CREATE, OPEN createattrs). */
export function encodeFattr(w: XdrWriter, attrs: SettableAttributes): void {
  encodeFattrResult(w, attrs);
}

// ------------------------------------------------------------ planned decoding

/**
 * How {@linkcode FattrDecoder} reads one value in place. Derived from the
 * codec table above (by the decode function each attribute uses), so the
 * two decoders cannot disagree about an attribute's format.
 */
const Step = {
  INT: 1,
  UINT: 2,
  BOOL: 3,
  UHYPER: 4,
  TIME: 5,
  PAIR: 6,
  SPECDATA: 7,
  OWNER: 8,
  HANDLE: 9,
} as const;

const STEP_OF_DECODER: ReadonlyMap<unknown, number> = new Map<unknown, number>([
  [int[1], Step.INT],
  [u32[1], Step.UINT],
  [bool[1], Step.BOOL],
  [u64[1], Step.UHYPER],
  [decodeNfsTime, Step.TIME],
  [decodePair, Step.PAIR],
  [decodeSpecData, Step.SPECDATA],
  [owner[1], Step.OWNER],
  [decodeFileHandle, Step.HANDLE],
]);

/** What the planned decoder does for one bitmap: the ids it holds and how to read each value. */
interface FattrPlan {
  /** The bitmap's words as sent. */
  readonly words: readonly number[];
  /** The ids, ascending: shared by every fattr4 decoded with this plan. */
  readonly returned: ReadonlySet<number>;
  readonly keys: readonly Key[];
  /** The attribute id of each key. */
  readonly ids: readonly number[];
  readonly steps: readonly number[];
}

/** A bitmap's plan, or null when one of its ids has a format read only by {@linkcode decodeFattr}. */
function makePlan(words: readonly number[]): FattrPlan | null {
  const returned = new Set<number>();
  for (let i = 0; i < words.length; i++) {
    for (let word = words[i]!, bit = 0; word !== 0; bit++, word >>>= 1) {
      if (word & 1) returned.add(i * 32 + bit);
    }
  }
  const keys: Key[] = [];
  const ids: number[] = [];
  const steps: number[] = [];
  for (const id of returned) {
    const codec = CODECS.get(id);
    const step = codec && STEP_OF_DECODER.get(codec.decode);
    if (!codec || step === undefined) return null;
    keys.push(codec.key);
    ids.push(id);
    steps.push(step);
  }
  return { words, returned, keys, ids, steps };
}

/** Plans kept per decoder (a server sends a few bitmaps; a hostile one cannot fill memory). */
const MAX_PLANS = 64;
const NOTHING_UNDECODED: ReadonlySet<number> = new Set();

/**
 * A uint64 or int64 value of {@linkcode FattrValues}: a Number from -2^53
 * up to 2^53 (exclusive), where every integer is exact, else a bigint.
 */
export type Int64Value = number | bigint;

/**
 * The attributes of one fattr4 that listings use, read by
 * {@linkcode FattrDecoder.valuesAt} (or copied from a decoded fattr4 by
 * {@linkcode fill}) into one object that the caller reuses for every entry
 * of a READDIR page: decoding then makes nothing per entry but what the
 * caller keeps of it (no attribute object, no time objects, no bigint that
 * is converted and dropped). Read its fields before the next entry.
 *
 * A field is undefined when its attribute was not among those returned.
 * 64-bit values are {@linkcode Int64Value}s; a time is its seconds and
 * nanoseconds (nfstime4); `rawdev` is its two numbers.
 */
export class FattrValues {
  /**
   * The ids returned for the values held. Shared by every fattr4 of one
   * bitmap decoded by {@linkcode FattrDecoder.valuesAt}: the decoder clears
   * the fields when it changes.
   */
  returned: ReadonlySet<number> = NOTHING_UNDECODED;
  type: number | undefined = undefined;
  change: Int64Value | undefined = undefined;
  size: Int64Value | undefined = undefined;
  fsidMajor: Int64Value | undefined = undefined;
  fsidMinor: Int64Value | undefined = undefined;
  rdattrError: number | undefined = undefined;
  filehandle: FileHandle | undefined = undefined;
  fileid: Int64Value | undefined = undefined;
  mode: number | undefined = undefined;
  numlinks: number | undefined = undefined;
  owner: string | undefined = undefined;
  ownerGroup: string | undefined = undefined;
  rawdevMajor: number | undefined = undefined;
  rawdevMinor: number | undefined = undefined;
  spaceUsed: Int64Value | undefined = undefined;
  atimeSeconds: Int64Value | undefined = undefined;
  atimeNseconds = 0;
  ctimeSeconds: Int64Value | undefined = undefined;
  ctimeNseconds = 0;
  mtimeSeconds: Int64Value | undefined = undefined;
  mtimeNseconds = 0;

  /** Every field undefined (`returned` empty). */
  clear(): void {
    this.returned = NOTHING_UNDECODED;
    this.type = undefined;
    this.change = undefined;
    this.size = undefined;
    this.fsidMajor = undefined;
    this.fsidMinor = undefined;
    this.rdattrError = undefined;
    this.filehandle = undefined;
    this.fileid = undefined;
    this.mode = undefined;
    this.numlinks = undefined;
    this.owner = undefined;
    this.ownerGroup = undefined;
    this.rawdevMajor = undefined;
    this.rawdevMinor = undefined;
    this.spaceUsed = undefined;
    this.atimeSeconds = undefined;
    this.atimeNseconds = 0;
    this.ctimeSeconds = undefined;
    this.ctimeNseconds = 0;
    this.mtimeSeconds = undefined;
    this.mtimeNseconds = 0;
  }

  /** The values of a decoded fattr4 (`decoded.attrs`, `decoded.returned`). */
  fill(decoded: DecodedFattr): void {
    this.clear();
    const a = decoded.attrs;
    this.returned = decoded.returned;
    this.type = a.type;
    this.change = int64Value(a.change);
    this.size = int64Value(a.size);
    if (a.fsid) {
      this.fsidMajor = int64Value(a.fsid.major);
      this.fsidMinor = int64Value(a.fsid.minor);
    }
    this.rdattrError = a.rdattrError;
    this.filehandle = a.filehandle;
    this.fileid = int64Value(a.fileid);
    this.mode = a.mode;
    this.numlinks = a.numlinks;
    this.owner = a.owner;
    this.ownerGroup = a.ownerGroup;
    if (a.rawdev) {
      this.rawdevMajor = a.rawdev.specdata1;
      this.rawdevMinor = a.rawdev.specdata2;
    }
    this.spaceUsed = int64Value(a.spaceUsed);
    if (a.timeAccess) {
      this.atimeSeconds = int64Value(a.timeAccess.seconds);
      this.atimeNseconds = a.timeAccess.nseconds;
    }
    if (a.timeMetadata) {
      this.ctimeSeconds = int64Value(a.timeMetadata.seconds);
      this.ctimeNseconds = a.timeMetadata.nseconds;
    }
    if (a.timeModify) {
      this.mtimeSeconds = int64Value(a.timeModify.seconds);
      this.mtimeNseconds = a.timeModify.nseconds;
    }
  }
}

function int64Value(value: bigint): Int64Value;
function int64Value(value: bigint | undefined): Int64Value | undefined;
function int64Value(value: bigint | undefined): Int64Value | undefined {
  if (value === undefined) return undefined;
  return value < 9007199254740992n && value >= -9007199254740992n ? Number(value) : value;
}

/** An {@linkcode Int64Value} as a bigint. */
export function int64Bigint(value: Int64Value): bigint {
  return typeof value === "bigint" ? value : BigInt(value);
}

/**
 * An nfstime4's seconds this client believes, exclusive on both sides: what
 * a date holds (JavaScript's Date: 8.64e15 ms either side of 1970, about
 * 275,760 years). A time beyond them cannot be shown, compared with a date
 * or set on a local file.
 */
export const MAX_TIME_SECONDS = 8_640_000_000_000;

/**
 * Whether an nfstime4 (its seconds as a bigint or an
 * {@linkcode Int64Value}) is one to believe: nanoseconds of at most
 * 999,999,999 (RFC 7530 §3.3.1: "Values greater than 999,999,999 for
 * nseconds are considered invalid"; added to the seconds, they would move
 * the time by up to four seconds) and seconds within
 * {@linkcode MAX_TIME_SECONDS}. The codecs decode any time, as sent (they
 * round-trip what they encode); lib/client treats one that is not usable
 * as unknown, as an attribute the server does not support.
 */
export function usableTime(seconds: Int64Value, nseconds: number): boolean {
  return nseconds <= 999_999_999 && seconds > -MAX_TIME_SECONDS && seconds < MAX_TIME_SECONDS;
}

/** A scratch of 8 bytes: a bigint from two 32-bit halves is made with one allocation. */
const HALVES = new DataView(new ArrayBuffer(8));

/**
 * Nanoseconds since the epoch of an nfstime4 (`seconds * 10^9 +
 * nseconds`, exactly), making only the bigint returned when the seconds
 * are within 2^32 of the epoch (1833 to 2106).
 */
export function nfsTimeNanoseconds(seconds: Int64Value, nseconds: number): bigint {
  if (typeof seconds === "number" && seconds > -4294967296 && seconds < 4294967296) {
    // seconds = a * 2^16 + b (0 <= b < 2^16): every product and sum below
    // is an integer under 2^53, so exact; the result (under 2^62 in
    // magnitude) is put together from its two 32-bit halves. (Floors by
    // remainders: no call to Math.floor, which the interpreter makes.)
    let b = seconds % 65536;
    if (b < 0) b += 65536;
    const a = (seconds - b) / 65536;
    const x = a * 1e9; // |x| < 2^46
    const y = b * 1e9 + nseconds; // 0 <= y < 2^47
    // total = x * 2^16 + y = xHigh * 2^32 + (xLow * 2^16 + y)
    let xLow = x % 65536;
    if (xLow < 0) xLow += 65536;
    const z = xLow * 65536 + y; // 0 <= z < 2^48
    const zLow = z % 4294967296;
    HALVES.setInt32(0, (x - xLow) / 65536 + (z - zLow) / 4294967296);
    HALVES.setUint32(4, zLow);
    return HALVES.getBigInt64(0);
  }
  return BigInt(seconds) * 1_000_000_000n + BigInt(nseconds);
}

/**
 * A fattr4 decoder for replies that carry thousands of fattr4s with the
 * same bitmap (each entry of a READDIR page, RFC 7530 §16.24, RFC 8881
 * §18.23). Its results are exactly {@linkcode decodeFattr}'s, faster: the
 * bitmap is matched against the last one seen and its plan (which value
 * format each attribute has) reused, values are read in place from the
 * reply with one bounds check each, no reader, view or set is made per
 * fattr4 (`returned` is the plan's set, shared), and an owner string equal
 * to the last one in its position is not decoded again (a directory has
 * few owners).
 *
 * Anything out of the ordinary — an attribute with another format (ACLs,
 * fs_locations, bitmaps), an id this client does not decode, a length over
 * its maximum or past the value list, a bool that is not 0 or 1, padding
 * that is not zero, values that do not fill the list exactly — is handed to
 * {@linkcode decodeFattr} from the same position, so a malformed or hostile
 * reply meets the same checks and raises the same errors.
 *
 * @example
 * ```ts
 * const fattrs = new FattrDecoder();
 * for (let i = 0; i < count; i++) entries.push(fattrs.decode(reader).attrs);
 * ```
 */
export class FattrDecoder {
  readonly #plans = new Map<string, FattrPlan | null>();
  #last: FattrPlan | undefined;
  /** Per value position: the bytes and text of the last string decoded there. */
  readonly #textBytes: (Uint8Array | undefined)[] = [];
  readonly #textValues: string[] = [];
  /** Where the fattr4 that {@linkcode decodeAt} last decoded ends. */
  end = 0;

  /** Decodes a fattr4 at the reader's position: what {@linkcode decodeFattr} returns. */
  decode(r: XdrReader): DecodedFattr {
    const attrs = this.decodeAt(r.input, r.inputView, r.offset);
    if (!attrs) return decodeFattr(r);
    r.skip(this.end - r.offset);
    return { attrs, returned: this.#last!.returned, undecoded: NOTHING_UNDECODED };
  }

  /** The values of the fattr4 at the reader's position: `decode(r).attrs`, with nothing else made. */
  decodeAttrs(r: XdrReader): FileAttributes {
    const attrs = this.decodeAt(r.input, r.inputView, r.offset);
    if (!attrs) return decodeFattr(r).attrs;
    r.skip(this.end - r.offset);
    return attrs;
  }

  /**
   * The values of the fattr4 at `at` in `bytes` (`view` over the same
   * bytes), {@linkcode end} set to where it ends: for a caller that walks a
   * reply in place (READDIR's entries). Undefined when it is one to leave
   * to {@linkcode decodeFattr} from `at` (not one to plan, or not as it
   * should be).
   */
  decodeAt(bytes: Uint8Array, view: DataView, at: number): FileAttributes | undefined {
    const plan = this.#plan(bytes, view, at);
    return plan ? this.#values(bytes, view, at, plan) : undefined;
  }

  /**
   * The values of the fattr4 at `at` in `bytes` (`view` over the same
   * bytes) read into `values` (the attributes it has no field for are
   * checked and skipped), {@linkcode end} set to where it ends. False, and
   * `values` to be ignored, when it is one to leave to
   * {@linkcode decodeFattr} from `at` (as {@linkcode decodeAt}).
   */
  valuesAt(bytes: Uint8Array, view: DataView, at: number, values: FattrValues): boolean {
    const plan = this.#plan(bytes, view, at);
    if (!plan) return false;
    if (values.returned !== plan.returned) {
      values.clear();
      values.returned = plan.returned;
    }
    let p = at + 4 + plan.words.length * 4;
    // #plan() checked that the length word is there.
    const length = view.getUint32(p);
    p += 4;
    if (length > Limits.attrValues || length > bytes.length - p || (length & 3) !== 0) {
      return false;
    }
    const stop = p + length;
    const { steps, ids } = plan;
    for (let i = 0; i < steps.length; i++) {
      const id = ids[i];
      // The stores are by name, from switches with literal cases (see #values).
      switch (steps[i]) {
        case 1: // Step.INT
          if (stop - p < 4) return false;
          if (id === 1) values.type = view.getInt32(p); // Attr.TYPE
          p += 4;
          break;
        case 2: { // Step.UINT
          if (stop - p < 4) return false;
          const word = view.getUint32(p);
          switch (id) {
            case 11: // Attr.RDATTR_ERROR
              values.rdattrError = word;
              break;
            case 33: // Attr.MODE
              values.mode = word;
              break;
            case 35: // Attr.NUMLINKS
              values.numlinks = word;
              break;
          }
          p += 4;
          break;
        }
        case 3: // Step.BOOL
          if (stop - p < 4 || view.getUint32(p) > 1) return false;
          p += 4;
          break;
        case 4: { // Step.UHYPER
          if (stop - p < 8) return false;
          const high = view.getUint32(p);
          const value = high < 0x200000
            ? high * 4294967296 + view.getUint32(p + 4)
            : view.getBigUint64(p);
          switch (id) {
            case 3: // Attr.CHANGE
              values.change = value;
              break;
            case 4: // Attr.SIZE
              values.size = value;
              break;
            case 20: // Attr.FILEID
              values.fileid = value;
              break;
            case 45: // Attr.SPACE_USED
              values.spaceUsed = value;
              break;
          }
          p += 8;
          break;
        }
        case 5: { // Step.TIME
          if (stop - p < 12) return false;
          const high = view.getInt32(p);
          const seconds = high >= -0x200000 && high < 0x200000
            ? high * 4294967296 + view.getUint32(p + 4)
            : view.getBigInt64(p);
          const nseconds = view.getUint32(p + 8);
          switch (id) {
            case 47: // Attr.TIME_ACCESS
              values.atimeSeconds = seconds;
              values.atimeNseconds = nseconds;
              break;
            case 52: // Attr.TIME_METADATA
              values.ctimeSeconds = seconds;
              values.ctimeNseconds = nseconds;
              break;
            case 53: // Attr.TIME_MODIFY
              values.mtimeSeconds = seconds;
              values.mtimeNseconds = nseconds;
              break;
          }
          p += 12;
          break;
        }
        case 6: // Step.PAIR
          if (stop - p < 16) return false;
          if (id === 8) { // Attr.FSID
            const major = view.getUint32(p);
            values.fsidMajor = major < 0x200000
              ? major * 4294967296 + view.getUint32(p + 4)
              : view.getBigUint64(p);
            const minor = view.getUint32(p + 8);
            values.fsidMinor = minor < 0x200000
              ? minor * 4294967296 + view.getUint32(p + 12)
              : view.getBigUint64(p + 8);
          }
          p += 16;
          break;
        case 7: // Step.SPECDATA
          if (stop - p < 8) return false;
          if (id === 41) { // Attr.RAWDEV
            values.rawdevMajor = view.getUint32(p);
            values.rawdevMinor = view.getUint32(p + 4);
          }
          p += 8;
          break;
        case 8: // Step.OWNER
        case 9: { // Step.HANDLE
          if (stop - p < 4) return false;
          const size = view.getUint32(p);
          if (size > (steps[i] === 8 ? Limits.owner : NFS4_FHSIZE)) return false; // Step.OWNER
          const padded = (size + 3) & ~3;
          if (padded > stop - p - 4) return false;
          const start = p + 4;
          for (let k = start + size; k < start + padded; k++) if (bytes[k] !== 0) return false;
          switch (id) {
            case 19: // Attr.FILEHANDLE
              values.filehandle = bytes.slice(start, start + size);
              break;
            case 36: // Attr.OWNER
              values.owner = this.#text(i, bytes, start, size);
              break;
            case 37: // Attr.OWNER_GROUP
              values.ownerGroup = this.#text(i, bytes, start, size);
              break;
          }
          p = start + padded;
          break;
        }
        default:
          return false;
      }
    }
    if (p !== stop) return false;
    this.end = stop;
    return true;
  }

  /** The plan for the bitmap at `at` (null: not one to plan; undefined: malformed). */
  #plan(bytes: Uint8Array, view: DataView, at: number): FattrPlan | null | undefined {
    const remaining = bytes.length - at;
    if (remaining < 4) return undefined;
    const count = view.getUint32(at);
    if (count > Limits.bitmapWords || count * 4 + 4 > remaining - 4) return undefined;
    const last = this.#last;
    if (last !== undefined && last.words.length === count) {
      let same = true;
      for (let i = 0; i < count; i++) {
        if (view.getUint32(at + 4 + i * 4) !== last.words[i]) {
          same = false;
          break;
        }
      }
      if (same) return last;
    }
    const words: number[] = [];
    for (let i = 0; i < count; i++) words.push(view.getUint32(at + 4 + i * 4));
    const key = words.join(",");
    let plan = this.#plans.get(key);
    if (plan === undefined) {
      if (this.#plans.size >= MAX_PLANS) this.#plans.clear();
      plan = makePlan(words);
      this.#plans.set(key, plan);
    }
    if (plan) this.#last = plan;
    return plan;
  }

  /** The values of a fattr4 at `at` whose bitmap has `plan`, end noted; undefined to leave it to decodeFattr. */
  #values(
    bytes: Uint8Array,
    view: DataView,
    at: number,
    plan: FattrPlan,
  ): FileAttributes | undefined {
    let p = at + 4 + plan.words.length * 4;
    // #plan() checked that the length word is there.
    const length = view.getUint32(p);
    p += 4;
    if (length > Limits.attrValues || length > bytes.length - p || (length & 3) !== 0) {
      return undefined;
    }
    const stop = p + length;
    const attrs: Record<string, unknown> = {};
    const { steps, keys, ids } = plan;
    for (let i = 0; i < steps.length; i++) {
      let value: unknown;
      switch (steps[i]) {
        case 1: // Step.INT
          if (stop - p < 4) return undefined;
          value = view.getInt32(p);
          p += 4;
          break;
        case 2: // Step.UINT
          if (stop - p < 4) return undefined;
          value = view.getUint32(p);
          p += 4;
          break;
        case 3: { // Step.BOOL
          if (stop - p < 4) return undefined;
          const word = view.getUint32(p);
          if (word > 1) return undefined;
          value = word === 1;
          p += 4;
          break;
        }
        case 4: // Step.UHYPER
          if (stop - p < 8) return undefined;
          value = view.getBigUint64(p);
          p += 8;
          break;
        case 5: // Step.TIME
          if (stop - p < 12) return undefined;
          value = { seconds: view.getBigInt64(p), nseconds: view.getUint32(p + 8) };
          p += 12;
          break;
        case 6: // Step.PAIR
          if (stop - p < 16) return undefined;
          value = { major: view.getBigUint64(p), minor: view.getBigUint64(p + 8) };
          p += 16;
          break;
        case 7: // Step.SPECDATA
          if (stop - p < 8) return undefined;
          value = { specdata1: view.getUint32(p), specdata2: view.getUint32(p + 4) };
          p += 8;
          break;
        case 8: // Step.OWNER
        case 9: { // Step.HANDLE
          if (stop - p < 4) return undefined;
          const size = view.getUint32(p);
          const max = steps[i] === 8 ? Limits.owner : NFS4_FHSIZE; // Step.OWNER
          if (size > max) return undefined;
          const padded = (size + 3) & ~3;
          if (padded > stop - p - 4) return undefined;
          const start = p + 4;
          for (let k = start + size; k < start + padded; k++) if (bytes[k] !== 0) return undefined;
          value = steps[i] === 8 // Step.OWNER
            ? this.#text(i, bytes, start, size)
            : bytes.slice(start, start + size);
          p = start + padded;
          break;
        }
        default:
          return undefined;
      }
      // The fields listings carry are stored by name: each such store is one
      // the engine has seen before, where a store by a computed key is looked
      // up each time until the loop is compiled (most of a short command).
      // Both switches have literal cases (a jump table, not a comparison per
      // case); tests/nfs4/attrs_fattr_decoder_test.ts holds every one of them
      // to decodeFattr() (a wrong number would store a wrong field). A
      // literal in brackets is the same named store as a dot (`attrs` is a
      // record: noPropertyAccessFromIndexSignature wants the brackets).
      switch (ids[i]) {
        case 1: // Attr.TYPE
          attrs["type"] = value;
          break;
        case 3: // Attr.CHANGE
          attrs["change"] = value;
          break;
        case 4: // Attr.SIZE
          attrs["size"] = value;
          break;
        case 8: // Attr.FSID
          attrs["fsid"] = value;
          break;
        case 11: // Attr.RDATTR_ERROR
          attrs["rdattrError"] = value;
          break;
        case 19: // Attr.FILEHANDLE
          attrs["filehandle"] = value;
          break;
        case 20: // Attr.FILEID
          attrs["fileid"] = value;
          break;
        case 33: // Attr.MODE
          attrs["mode"] = value;
          break;
        case 35: // Attr.NUMLINKS
          attrs["numlinks"] = value;
          break;
        case 36: // Attr.OWNER
          attrs["owner"] = value;
          break;
        case 37: // Attr.OWNER_GROUP
          attrs["ownerGroup"] = value;
          break;
        case 41: // Attr.RAWDEV
          attrs["rawdev"] = value;
          break;
        case 45: // Attr.SPACE_USED
          attrs["spaceUsed"] = value;
          break;
        case 47: // Attr.TIME_ACCESS
          attrs["timeAccess"] = value;
          break;
        case 52: // Attr.TIME_METADATA
          attrs["timeMetadata"] = value;
          break;
        case 53: // Attr.TIME_MODIFY
          attrs["timeModify"] = value;
          break;
        default:
          attrs[keys[i]!] = value;
      }
    }
    if (p !== stop) return undefined;
    this.end = stop;
    return attrs as FileAttributes;
  }

  /** The string of `length` bytes at `start`, decoded once per run of equal values in `slot`. */
  #text(slot: number, bytes: Uint8Array, start: number, length: number): string {
    const known = this.#textBytes[slot];
    if (known !== undefined && known.length === length) {
      let same = true;
      for (let k = 0; k < length; k++) {
        if (known[k] !== bytes[start + k]) {
          same = false;
          break;
        }
      }
      if (same) return this.#textValues[slot]!;
    }
    const raw = bytes.slice(start, start + length);
    const text = decodeByteString(raw);
    this.#textBytes[slot] = raw;
    this.#textValues[slot] = text;
    return text;
  }
}
