/**
 * RPC program numbers used by NFSv4. RFC 5531 §8.3 describes how program
 * numbers are assigned; the NFS program is defined by RFC 7530 (NFSv4.0) and
 * RFC 8881 (NFSv4.1).
 * @module
 */

/** The NFS program number. */
export const NFS_PROGRAM = 100003;
/** NFS program version 4, shared by every NFSv4 minor version. */
export const NFS_V4 = 4;
/**
 * A callback program number for the NFSv4 callback service, taken from the
 * transient range 0x40000000 to 0x5fffffff (RFC 5531 §8.3). NFSv4.0 clients
 * name it in SETCLIENTID, NFSv4.1 clients in CREATE_SESSION.
 */
export const NFS4_CALLBACK_PROGRAM_DEFAULT = 0x40000000;
