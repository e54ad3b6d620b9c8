/**
 * nfsstat4 (RFC 7530 §13, RFC 8881 §15): codes, names and the human meaning
 * printed in one-line errors such as
 * `nfs4: nfs://srv/vfs/x: No such file or directory (NFS4ERR_NOENT)`.
 *
 * What a status *means for recovery* is decided elsewhere, in one table in the
 * state manager; this file only names them.
 * @module
 */

/**
 * Every nfsstat4 value of NFSv4.0, 4.1 and 4.2 by name, each with its code
 * and a short description: `STATUS_TABLE.NFS4ERR_NOENT` is
 * `[2, "No such file or directory"]`. {@linkcode Nfs4Status},
 * {@linkcode statusName} and {@linkcode statusMessage} read it.
 */
export const STATUS_TABLE = {
  NFS4_OK: [0, "Success"],
  NFS4ERR_PERM: [1, "Operation not permitted"],
  NFS4ERR_NOENT: [2, "No such file or directory"],
  NFS4ERR_IO: [5, "Input/output error"],
  NFS4ERR_NXIO: [6, "No such device or address"],
  NFS4ERR_ACCESS: [13, "Permission denied"],
  NFS4ERR_EXIST: [17, "File exists"],
  NFS4ERR_XDEV: [18, "Invalid cross-device link"],
  NFS4ERR_NOTDIR: [20, "Not a directory"],
  NFS4ERR_ISDIR: [21, "Is a directory"],
  NFS4ERR_INVAL: [22, "Invalid argument"],
  NFS4ERR_FBIG: [27, "File too large"],
  NFS4ERR_NOSPC: [28, "No space left on device"],
  NFS4ERR_ROFS: [30, "Read-only file system"],
  NFS4ERR_MLINK: [31, "Too many links"],
  NFS4ERR_NAMETOOLONG: [63, "File name too long"],
  NFS4ERR_NOTEMPTY: [66, "Directory not empty"],
  NFS4ERR_DQUOT: [69, "Disk quota exceeded"],
  NFS4ERR_STALE: [70, "Stale file handle"],
  NFS4ERR_BADHANDLE: [10001, "Illegal file handle"],
  NFS4ERR_BAD_COOKIE: [10003, "Directory cookie is stale"],
  NFS4ERR_NOTSUPP: [10004, "Operation not supported"],
  NFS4ERR_TOOSMALL: [10005, "Buffer too small"],
  NFS4ERR_SERVERFAULT: [10006, "Server fault"],
  NFS4ERR_BADTYPE: [10007, "Object type not supported"],
  NFS4ERR_DELAY: [10008, "Server busy, retry later"],
  NFS4ERR_SAME: [10009, "Attributes are the same"],
  NFS4ERR_DENIED: [10010, "Lock denied"],
  NFS4ERR_EXPIRED: [10011, "Lease expired"],
  NFS4ERR_LOCKED: [10012, "Locked by another owner"],
  NFS4ERR_GRACE: [10013, "Server in grace period"],
  NFS4ERR_FHEXPIRED: [10014, "File handle expired"],
  NFS4ERR_SHARE_DENIED: [10015, "Share reservation denied"],
  NFS4ERR_WRONGSEC: [10016, "Wrong security flavor"],
  NFS4ERR_CLID_INUSE: [10017, "Client ID in use"],
  NFS4ERR_RESOURCE: [10018, "Server out of resources"],
  NFS4ERR_MOVED: [10019, "File system moved"],
  NFS4ERR_NOFILEHANDLE: [10020, "No current file handle"],
  NFS4ERR_MINOR_VERS_MISMATCH: [10021, "Minor version not supported"],
  NFS4ERR_STALE_CLIENTID: [10022, "Stale client ID"],
  NFS4ERR_STALE_STATEID: [10023, "Stale stateid"],
  NFS4ERR_OLD_STATEID: [10024, "Old stateid"],
  NFS4ERR_BAD_STATEID: [10025, "Bad stateid"],
  NFS4ERR_BAD_SEQID: [10026, "Bad sequence id"],
  NFS4ERR_NOT_SAME: [10027, "Attributes not the same"],
  NFS4ERR_LOCK_RANGE: [10028, "Lock range not supported"],
  NFS4ERR_SYMLINK: [10029, "Is a symbolic link"],
  NFS4ERR_RESTOREFH: [10030, "No saved file handle"],
  NFS4ERR_LEASE_MOVED: [10031, "Lease moved"],
  NFS4ERR_ATTRNOTSUPP: [10032, "Attribute not supported"],
  NFS4ERR_NO_GRACE: [10033, "Reclaim outside grace period"],
  NFS4ERR_RECLAIM_BAD: [10034, "Reclaim does not match"],
  NFS4ERR_RECLAIM_CONFLICT: [10035, "Reclaim conflicts"],
  NFS4ERR_BADXDR: [10036, "Malformed XDR"],
  NFS4ERR_LOCKS_HELD: [10037, "Locks still held"],
  NFS4ERR_OPENMODE: [10038, "Wrong open mode"],
  NFS4ERR_BADOWNER: [10039, "Bad owner"],
  NFS4ERR_BADCHAR: [10040, "Invalid character in name"],
  NFS4ERR_BADNAME: [10041, "Invalid name"],
  NFS4ERR_BAD_RANGE: [10042, "Bad byte range"],
  NFS4ERR_LOCK_NOTSUPP: [10043, "Lock type not supported"],
  NFS4ERR_OP_ILLEGAL: [10044, "Illegal operation"],
  NFS4ERR_DEADLOCK: [10045, "Deadlock"],
  NFS4ERR_FILE_OPEN: [10046, "File is open"],
  NFS4ERR_ADMIN_REVOKED: [10047, "State revoked by administrator"],
  NFS4ERR_CB_PATH_DOWN: [10048, "Callback path down"],
  NFS4ERR_BADIOMODE: [10049, "Bad I/O mode"],
  NFS4ERR_BADLAYOUT: [10050, "Bad layout"],
  NFS4ERR_BAD_SESSION_DIGEST: [10051, "Bad session digest"],
  NFS4ERR_BADSESSION: [10052, "Bad session"],
  NFS4ERR_BADSLOT: [10053, "Bad slot"],
  NFS4ERR_COMPLETE_ALREADY: [10054, "Reclaim already complete"],
  NFS4ERR_CONN_NOT_BOUND_TO_SESSION: [10055, "Connection not bound to session"],
  NFS4ERR_DELEG_ALREADY_WANTED: [10056, "Delegation already wanted"],
  NFS4ERR_BACK_CHAN_BUSY: [10057, "Backchannel busy"],
  NFS4ERR_LAYOUTTRYLATER: [10058, "Layout try later"],
  NFS4ERR_LAYOUTUNAVAILABLE: [10059, "Layout unavailable"],
  NFS4ERR_NOMATCHING_LAYOUT: [10060, "No matching layout"],
  NFS4ERR_RECALLCONFLICT: [10061, "Recall conflict"],
  NFS4ERR_UNKNOWN_LAYOUTTYPE: [10062, "Unknown layout type"],
  NFS4ERR_SEQ_MISORDERED: [10063, "Sequence misordered"],
  NFS4ERR_SEQUENCE_POS: [10064, "SEQUENCE not first"],
  NFS4ERR_REQ_TOO_BIG: [10065, "Request too big"],
  NFS4ERR_REP_TOO_BIG: [10066, "Reply too big"],
  NFS4ERR_REP_TOO_BIG_TO_CACHE: [10067, "Reply too big to cache"],
  NFS4ERR_RETRY_UNCACHED_REP: [10068, "Retry of uncached reply"],
  NFS4ERR_UNSAFE_COMPOUND: [10069, "Unsafe compound"],
  NFS4ERR_TOO_MANY_OPS: [10070, "Too many operations"],
  NFS4ERR_OP_NOT_IN_SESSION: [10071, "Operation not in session"],
  NFS4ERR_HASH_ALG_UNSUPP: [10072, "Hash algorithm unsupported"],
  NFS4ERR_CLIENTID_BUSY: [10074, "Client ID busy"],
  NFS4ERR_PNFS_IO_HOLE: [10075, "pNFS I/O hole"],
  NFS4ERR_SEQ_FALSE_RETRY: [10076, "False retry"],
  NFS4ERR_BAD_HIGH_SLOT: [10077, "Bad high slot"],
  NFS4ERR_DEADSESSION: [10078, "Dead session"],
  NFS4ERR_ENCR_ALG_UNSUPP: [10079, "Encryption algorithm unsupported"],
  NFS4ERR_PNFS_NO_LAYOUT: [10080, "No pNFS layout"],
  NFS4ERR_NOT_ONLY_OP: [10081, "Not the only operation"],
  NFS4ERR_WRONG_CRED: [10082, "Wrong credential"],
  NFS4ERR_WRONG_TYPE: [10083, "Not a regular file"],
  NFS4ERR_DIRDELEG_UNAVAIL: [10084, "Directory delegation unavailable"],
  NFS4ERR_REJECT_DELEG: [10085, "Delegation rejected"],
  NFS4ERR_RETURNCONFLICT: [10086, "Return conflict"],
  NFS4ERR_DELEG_REVOKED: [10087, "Delegation revoked"],
  NFS4ERR_PARTNER_NOTSUPP: [10088, "Partner not supported"],
  NFS4ERR_PARTNER_NO_AUTH: [10089, "Partner not authorised"],
  NFS4ERR_UNION_NOTSUPP: [10090, "Union not supported"],
  NFS4ERR_OFFLOAD_DENIED: [10091, "Offload denied"],
  NFS4ERR_WRONG_LFS: [10092, "Wrong labeled file system"],
  NFS4ERR_BADLABEL: [10093, "Bad label"],
  NFS4ERR_OFFLOAD_NO_REQS: [10094, "No offload requests"],
  NFS4ERR_NOXATTR: [10095, "No such extended attribute"],
  NFS4ERR_XATTR2BIG: [10096, "Extended attribute too big"],
} as const;

/** The symbolic name of an nfsstat4, e.g. `NFS4ERR_NOENT`. */
export type Nfs4StatusName = keyof typeof STATUS_TABLE;

/** nfsstat4 values by name: `Nfs4Status.NFS4ERR_NOENT === 2`. */
export const Nfs4Status: { readonly [K in Nfs4StatusName]: (typeof STATUS_TABLE)[K][0] } = Object
  .fromEntries(
    Object.entries(STATUS_TABLE).map(([name, [code]]) => [name, code]),
  ) as never;

const byCode = new Map<number, { name: string; message: string }>(
  Object.entries(STATUS_TABLE).map(([name, [code, message]]) => [code, { name, message }]),
);

/** `NFS4ERR_NOENT` for 2; `NFS4ERR_UNKNOWN(12345)` for a code we do not know. */
export function statusName(status: number): string {
  return byCode.get(status)?.name ?? `NFS4ERR_UNKNOWN(${status})`;
}

/** `No such file or directory` for 2. */
export function statusMessage(status: number): string {
  return byCode.get(status)?.message ?? `Unknown NFS error ${status}`;
}

/** Whether `status` is a code this client knows by name. */
export function isKnownStatus(status: number): boolean {
  return byCode.has(status);
}
