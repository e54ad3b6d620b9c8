/**
 * When a READ reply ends a file's data, for every loop that reads a file
 * through (`cat`, `cp`, `head`, `tail`, byte ranges).
 * @module
 */

import { NfsError } from "../nfs4/errors.ts";
import { Nfs4Status as S } from "../nfs4/status.ts";

/**
 * Whether the reply to a READ at `offset` ends the data: EOF, or no bytes
 * at or past `size` (the size known when the file was opened: the end,
 * from a server that leaves eof unset there). No bytes and no EOF before
 * that size is a server that made no progress: the file reaches further
 * (eof is set whenever a READ reaches the end, RFC 7530 §16.23, RFC 8881
 * §18.22, so a file that shrank would say so), yet nothing came. Asking
 * again could go on forever, and stopping would pass a truncated file off
 * as whole; the Linux client fails such a read with EIO
 * (fs/nfs/read.c, nfs_readpage_retry), and so does this, naming where.
 */
export function endOfData(
  path: string,
  offset: bigint,
  size: bigint | undefined,
  reply: { readonly data: Uint8Array; readonly eof: boolean },
): boolean {
  if (reply.eof) return true;
  if (reply.data.length > 0) return false;
  if (size === undefined || offset >= size) return true;
  throw new Error(
    `${path}: the server returned no data and no end of file at byte ${offset} ` +
      `of ${size} (I/O error)`,
  );
}

/** The first offset past what any server's file can hold (offsets are signed 64-bit in POSIX). */
const PAST_ANY_FILE = 2n ** 63n;

/**
 * Whether a READ at `offset` that failed with `error` stands for the end of
 * the file: a READ past the size known at OPEN (or past 2^63 - 1) that the
 * server refuses as beyond the largest file it holds (NFS4ERR_FBIG, as
 * Ganesha answers an offset of 2^63) or as an offset it cannot take
 * (NFS4ERR_INVAL). No byte can be there, so there is nothing to read: the
 * end, as read(2) past the end of a local file.
 */
export function refusedPastEnd(offset: bigint, size: bigint | undefined, error: unknown): boolean {
  if (!(error instanceof NfsError)) return false;
  if (error.status !== S.NFS4ERR_FBIG && error.status !== S.NFS4ERR_INVAL) return false;
  return offset >= PAST_ANY_FILE || (size !== undefined && offset >= size);
}
