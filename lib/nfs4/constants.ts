/**
 * Protocol constants of NFSv4.0 (RFC 7530/7531) and NFSv4.1 (RFC 8881/5662):
 * operation numbers, the COMPOUND procedure and limits.
 * @module
 */

/** ONC RPC program and version of NFSv4 (RFC 7530 §16). */
export const NFS4_PROGRAM = 100003;
export const NFS4_VERSION = 4;
/** NFSPROC4_NULL and NFSPROC4_COMPOUND (RFC 7530 §16.1, §16.2). */
export const NFSPROC4_NULL = 0;
export const NFSPROC4_COMPOUND = 1;
/** CB_NULL and CB_COMPOUND of the callback program (RFC 7530 §17). */
export const CB_NULL = 0;
export const CB_COMPOUND = 1;

/** nfs_opnum4 (RFC 7531, RFC 5662, RFC 7863). */
export const Op = {
  ACCESS: 3,
  CLOSE: 4,
  COMMIT: 5,
  CREATE: 6,
  DELEGPURGE: 7,
  DELEGRETURN: 8,
  GETATTR: 9,
  GETFH: 10,
  LINK: 11,
  LOCK: 12,
  LOCKT: 13,
  LOCKU: 14,
  LOOKUP: 15,
  LOOKUPP: 16,
  NVERIFY: 17,
  OPEN: 18,
  OPENATTR: 19,
  OPEN_CONFIRM: 20,
  OPEN_DOWNGRADE: 21,
  PUTFH: 22,
  PUTPUBFH: 23,
  PUTROOTFH: 24,
  READ: 25,
  READDIR: 26,
  READLINK: 27,
  REMOVE: 28,
  RENAME: 29,
  RENEW: 30,
  RESTOREFH: 31,
  SAVEFH: 32,
  SECINFO: 33,
  SETATTR: 34,
  SETCLIENTID: 35,
  SETCLIENTID_CONFIRM: 36,
  VERIFY: 37,
  WRITE: 38,
  RELEASE_LOCKOWNER: 39,
  // NFSv4.1 (RFC 5662)
  BACKCHANNEL_CTL: 40,
  BIND_CONN_TO_SESSION: 41,
  EXCHANGE_ID: 42,
  CREATE_SESSION: 43,
  DESTROY_SESSION: 44,
  FREE_STATEID: 45,
  GET_DIR_DELEGATION: 46,
  GETDEVICEINFO: 47,
  GETDEVICELIST: 48,
  LAYOUTCOMMIT: 49,
  LAYOUTGET: 50,
  LAYOUTRETURN: 51,
  SECINFO_NO_NAME: 52,
  SEQUENCE: 53,
  SET_SSV: 54,
  TEST_STATEID: 55,
  WANT_DELEGATION: 56,
  DESTROY_CLIENTID: 57,
  RECLAIM_COMPLETE: 58,
  // NFSv4.2 (RFC 7863)
  ALLOCATE: 59,
  COPY: 60,
  COPY_NOTIFY: 61,
  DEALLOCATE: 62,
  IO_ADVISE: 63,
  LAYOUTERROR: 64,
  LAYOUTSTATS: 65,
  OFFLOAD_CANCEL: 66,
  OFFLOAD_STATUS: 67,
  READ_PLUS: 68,
  SEEK: 69,
  WRITE_SAME: 70,
  CLONE: 71,
  ILLEGAL: 10044,
} as const;

/** nfs_cb_opnum4 (RFC 7531 §2, RFC 5662). */
export const CbOp = {
  CB_GETATTR: 3,
  CB_RECALL: 4,
  CB_LAYOUTRECALL: 5,
  CB_NOTIFY: 6,
  CB_PUSH_DELEG: 7,
  CB_RECALL_ANY: 8,
  CB_RECALLABLE_OBJ_AVAIL: 9,
  CB_RECALL_SLOT: 10,
  CB_SEQUENCE: 11,
  CB_WANTS_CANCELLED: 12,
  CB_NOTIFY_LOCK: 13,
  CB_NOTIFY_DEVICEID: 14,
  CB_OFFLOAD: 15,
  CB_ILLEGAL: 10044,
} as const;

const opNames = new Map<number, string>(Object.entries(Op).map(([name, n]) => [n, name]));
const cbOpNames = new Map<number, string>(Object.entries(CbOp).map(([name, n]) => [n, name]));

/** `OPEN` for 18. */
export function opName(opnum: number): string {
  return opNames.get(opnum) ?? `OP_${opnum}`;
}

/** `CB_RECALL` for 4. */
export function cbOpName(opnum: number): string {
  return cbOpNames.get(opnum) ?? `CB_OP_${opnum}`;
}

/** Limits from the protocol (RFC 7531). */
export const NFS4_FHSIZE = 128;
export const NFS4_VERIFIER_SIZE = 8;
export const NFS4_OTHER_SIZE = 12;
export const NFS4_OPAQUE_LIMIT = 1024;
export const NFS4_SESSIONID_SIZE = 16;
export const NFS4_UINT64_MAX = 0xffff_ffff_ffff_ffffn;
export const NFS4_UINT32_MAX = 0xffff_ffff;

/**
 * Sane maxima this client applies when decoding what a server sends, so that
 * a hostile reply cannot make it allocate without bound.
 */
export const Limits = {
  /** Component names and other utf8 strings. */
  name: 4096,
  /** Owner and group strings. */
  owner: 1024,
  /** A symlink target. */
  linkText: 65536,
  /** Operations in one COMPOUND reply. */
  ops: 1024,
  /** Words in a bitmap4. */
  bitmapWords: 16,
  /** Opaque attribute values of one fattr4. */
  attrValues: 1 << 20,
  /** READ data: bounded by the RPC record limit too. */
  readData: 1 << 26,
  /** Directory entries in one READDIR reply. */
  dirEntries: 1 << 20,
  /** Tags echoed by the server. */
  tag: 1024,
} as const;

/** nfs_ftype4 (RFC 7530 §5.8.1.2). */
export const FileType = {
  NF4REG: 1,
  NF4DIR: 2,
  NF4BLK: 3,
  NF4CHR: 4,
  NF4LNK: 5,
  NF4SOCK: 6,
  NF4FIFO: 7,
  NF4ATTRDIR: 8,
  NF4NAMEDATTR: 9,
} as const;
