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
/** 2^64-1: a lock `length` meaning to the end of the file (RFC 7530 §16.10), the largest offset4 and length4. */
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
  /** ACEs in one ACL or delegation. */
  aces: 1024,
  /** Entries of fs_locations4 and servers per location. */
  fsLocations: 64,
  /** Components of one pathname4. */
  pathComponents: 256,
  /** secinfo4 entries in SECINFO and SECINFO_NO_NAME. */
  secinfo: 64,
  /** Stateids in TEST_STATEID. */
  stateids: 1024,
  /** callback_sec_parms4 entries. */
  callbackSecParms: 16,
  /** Layout types in fs_layout_type and layout_type. */
  layoutTypes: 64,
  /** Referring call lists in CB_SEQUENCE and calls per list. */
  referringCalls: 256,
  /** notify4 entries in CB_NOTIFY and CB_NOTIFY_DEVICEID. */
  notifications: 1024,
  /** GSS handles and algorithm OIDs in EXCHANGE_ID state protection. */
  gssHandles: 64,
  /** Bytes of a netid or universal address (netaddr4). */
  netaddr: 256,
  /** Bytes of a security OID, GSS handle or other small opaque. */
  smallOpaque: 1024,
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

/** ACCESS4_* bits (RFC 7530 §16.1). */
export const AccessMask = {
  ACCESS4_READ: 0x01,
  ACCESS4_LOOKUP: 0x02,
  ACCESS4_MODIFY: 0x04,
  ACCESS4_EXTEND: 0x08,
  ACCESS4_DELETE: 0x10,
  ACCESS4_EXECUTE: 0x20,
} as const;

/** share_access and share_deny of OPEN (RFC 7530 §16.16, RFC 8881 §18.16). */
export const ShareAccess = {
  OPEN4_SHARE_ACCESS_READ: 0x1,
  OPEN4_SHARE_ACCESS_WRITE: 0x2,
  OPEN4_SHARE_ACCESS_BOTH: 0x3,
  OPEN4_SHARE_ACCESS_WANT_DELEG_MASK: 0xff00,
  OPEN4_SHARE_ACCESS_WANT_NO_PREFERENCE: 0x0000,
  OPEN4_SHARE_ACCESS_WANT_READ_DELEG: 0x0100,
  OPEN4_SHARE_ACCESS_WANT_WRITE_DELEG: 0x0200,
  OPEN4_SHARE_ACCESS_WANT_ANY_DELEG: 0x0300,
  OPEN4_SHARE_ACCESS_WANT_NO_DELEG: 0x0400,
  OPEN4_SHARE_ACCESS_WANT_CANCEL: 0x0500,
  OPEN4_SHARE_ACCESS_WANT_SIGNAL_DELEG_WHEN_RESRC_AVAIL: 0x10000,
  OPEN4_SHARE_ACCESS_WANT_PUSH_DELEG_WHEN_UNCONTENDED: 0x20000,
} as const;

export const ShareDeny = {
  OPEN4_SHARE_DENY_NONE: 0x0,
  OPEN4_SHARE_DENY_READ: 0x1,
  OPEN4_SHARE_DENY_WRITE: 0x2,
  OPEN4_SHARE_DENY_BOTH: 0x3,
} as const;

/** opentype4. */
export const OpenType = { OPEN4_NOCREATE: 0, OPEN4_CREATE: 1 } as const;

/** createmode4. */
export const CreateMode = {
  UNCHECKED4: 0,
  GUARDED4: 1,
  EXCLUSIVE4: 2,
  EXCLUSIVE4_1: 3,
} as const;

/** open_claim_type4. */
export const OpenClaimType = {
  CLAIM_NULL: 0,
  CLAIM_PREVIOUS: 1,
  CLAIM_DELEGATE_CUR: 2,
  CLAIM_DELEGATE_PREV: 3,
  CLAIM_FH: 4,
  CLAIM_DELEG_CUR_FH: 5,
  CLAIM_DELEG_PREV_FH: 6,
} as const;

/** open_delegation_type4. */
export const DelegationType = {
  OPEN_DELEGATE_NONE: 0,
  OPEN_DELEGATE_READ: 1,
  OPEN_DELEGATE_WRITE: 2,
  OPEN_DELEGATE_NONE_EXT: 3,
} as const;

/** why_no_delegation4 (RFC 8881 §18.16.3). */
export const WhyNoDelegation = {
  WND4_NOT_WANTED: 0,
  WND4_CONTENTION: 1,
  WND4_RESOURCE: 2,
  WND4_NOT_SUPP_FTYPE: 3,
  WND4_WRITE_DELEG_NOT_SUPP_FTYPE: 4,
  WND4_NOT_SUPP_UPGRADE: 5,
  WND4_NOT_SUPP_DOWNGRADE: 6,
  WND4_CANCELLED: 7,
  WND4_IS_DIR: 8,
} as const;

/** OPEN4_RESULT_* flags. */
export const OpenResultFlags = {
  OPEN4_RESULT_CONFIRM: 0x02,
  OPEN4_RESULT_LOCKTYPE_POSIX: 0x04,
  OPEN4_RESULT_PRESERVE_UNLINKED: 0x08,
  OPEN4_RESULT_MAY_NOTIFY_LOCK: 0x20,
} as const;

/** limit_by4. */
export const LimitBy = { NFS_LIMIT_SIZE: 1, NFS_LIMIT_BLOCKS: 2 } as const;

/** nfs_lock_type4. */
export const LockType = { READ_LT: 1, WRITE_LT: 2, READW_LT: 3, WRITEW_LT: 4 } as const;

/** stable_how4. */
export const StableHow = { UNSTABLE4: 0, DATA_SYNC4: 1, FILE_SYNC4: 2 } as const;

/** time_how4. */
export const TimeHow = { SET_TO_SERVER_TIME4: 0, SET_TO_CLIENT_TIME4: 1 } as const;

/** Security flavors that appear in NFSv4 bodies (RFC 5531, RFC 2203). */
export const SecFlavor = { AUTH_NONE: 0, AUTH_SYS: 1, RPCSEC_GSS: 6 } as const;

/** rpc_gss_svc_t (RFC 2203). */
export const RpcGssService = {
  RPC_GSS_SVC_NONE: 1,
  RPC_GSS_SVC_INTEGRITY: 2,
  RPC_GSS_SVC_PRIVACY: 3,
} as const;

/** EXCHGID4_FLAG_* (RFC 8881 §18.35). */
export const ExchangeIdFlags = {
  EXCHGID4_FLAG_SUPP_MOVED_REFER: 0x00000001,
  EXCHGID4_FLAG_SUPP_MOVED_MIGR: 0x00000002,
  EXCHGID4_FLAG_SUPP_FENCE_OPS: 0x00000004,
  EXCHGID4_FLAG_BIND_PRINC_STATEID: 0x00000100,
  EXCHGID4_FLAG_USE_NON_PNFS: 0x00010000,
  EXCHGID4_FLAG_USE_PNFS_MDS: 0x00020000,
  EXCHGID4_FLAG_USE_PNFS_DS: 0x00040000,
  EXCHGID4_FLAG_MASK_PNFS: 0x00070000,
  EXCHGID4_FLAG_UPD_CONFIRMED_REC_A: 0x40000000,
  EXCHGID4_FLAG_CONFIRMED_R: 0x80000000,
} as const;

/** state_protect_how4. */
export const StateProtectHow = { SP4_NONE: 0, SP4_MACH_CRED: 1, SP4_SSV: 2 } as const;

/** CREATE_SESSION4_FLAG_* (RFC 8881 §18.36). */
export const CreateSessionFlags = {
  CREATE_SESSION4_FLAG_PERSIST: 0x1,
  CREATE_SESSION4_FLAG_CONN_BACK_CHAN: 0x2,
  CREATE_SESSION4_FLAG_CONN_RDMA: 0x4,
} as const;

/** channel_dir_from_client4. */
export const ChannelDirFromClient = {
  CDFC4_FORE: 0x1,
  CDFC4_BACK: 0x2,
  CDFC4_FORE_OR_BOTH: 0x3,
  CDFC4_BACK_OR_BOTH: 0x7,
} as const;

/** channel_dir_from_server4. */
export const ChannelDirFromServer = { CDFS4_FORE: 0x1, CDFS4_BACK: 0x2, CDFS4_BOTH: 0x3 } as const;

/** SEQ4_STATUS_* bits of SEQUENCE4resok.sr_status_flags (RFC 8881 §18.46). */
export const SequenceStatus = {
  SEQ4_STATUS_CB_PATH_DOWN: 0x00000001,
  SEQ4_STATUS_CB_GSS_CONTEXTS_EXPIRING: 0x00000002,
  SEQ4_STATUS_CB_GSS_CONTEXTS_EXPIRED: 0x00000004,
  SEQ4_STATUS_EXPIRED_ALL_STATE_REVOKED: 0x00000008,
  SEQ4_STATUS_EXPIRED_SOME_STATE_REVOKED: 0x00000010,
  SEQ4_STATUS_ADMIN_STATE_REVOKED: 0x00000020,
  SEQ4_STATUS_RECALLABLE_STATE_REVOKED: 0x00000040,
  SEQ4_STATUS_LEASE_MOVED: 0x00000080,
  SEQ4_STATUS_RESTART_RECLAIM_NEEDED: 0x00000100,
  SEQ4_STATUS_CB_PATH_DOWN_SESSION: 0x00000200,
  SEQ4_STATUS_BACKCHANNEL_FAULT: 0x00000400,
  SEQ4_STATUS_DEVID_CHANGED: 0x00000800,
  SEQ4_STATUS_DEVID_DELETED: 0x00001000,
} as const;

/** secinfo_style4. */
export const SecinfoStyle = { SECINFO_STYLE4_CURRENT_FH: 0, SECINFO_STYLE4_PARENT: 1 } as const;

/** gddrnf4_status of GET_DIR_DELEGATION. */
export const GddStatus = { GDD4_OK: 0, GDD4_UNAVAIL: 1 } as const;

/** fh_expire_type bits (RFC 7530 §4.2.1). */
export const FhExpireType = {
  FH4_PERSISTENT: 0x0,
  FH4_NOEXPIRE_WITH_OPEN: 0x1,
  FH4_VOLATILE_ANY: 0x2,
  FH4_VOL_MIGRATION: 0x4,
  FH4_VOL_RENAME: 0x8,
} as const;

/** acetype4 values (RFC 7530 §6.2.1.1). */
export const AceType = {
  ACE4_ACCESS_ALLOWED_ACE_TYPE: 0,
  ACE4_ACCESS_DENIED_ACE_TYPE: 1,
  ACE4_SYSTEM_AUDIT_ACE_TYPE: 2,
  ACE4_SYSTEM_ALARM_ACE_TYPE: 3,
} as const;

/** layoutrecall_type4 (RFC 8881 §20.3). */
export const LayoutRecallType = {
  LAYOUTRECALL4_FILE: 1,
  LAYOUTRECALL4_FSID: 2,
  LAYOUTRECALL4_ALL: 3,
} as const;

/** RCA4_TYPE_MASK_* bit numbers of CB_RECALL_ANY (RFC 8881 §20.6). */
export const RecallAnyType = {
  RCA4_TYPE_MASK_RDATA_DLG: 0,
  RCA4_TYPE_MASK_WDATA_DLG: 1,
  RCA4_TYPE_MASK_DIR_DLG: 2,
  RCA4_TYPE_MASK_FILE_LAYOUT: 3,
  RCA4_TYPE_MASK_BLK_LAYOUT: 4,
} as const;
