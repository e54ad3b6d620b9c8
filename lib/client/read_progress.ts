/**
 * When a READ reply ends a file's data, for every loop that reads a file
 * through (`cat`, `cp`, `head`, `tail`, byte ranges), and when its end of
 * file is believed.
 *
 * A READ sets eof only when it reached the end of the file (RFC 7530
 * §16.23.4, RFC 8881 §18.22.4). One that sets it before the size known at
 * OPEN is either a file another client cut shorter meanwhile, or a server
 * that is wrong; taken at its word, the second passes a truncated copy off
 * as whole. {@linkcode EndOfFileCheck} tells them apart with one GETATTR of
 * the open file's size (the client's own file handle asks it in
 * `Nfs4Client.readAt`), and {@linkcode nothingPast} with what the READs
 * already in flight past that end brought back. An eof at or past the known
 * size costs one comparison and no request.
 * @module
 */

import { NfsError } from "../nfs4/errors.ts";
import { Nfs4Status as S } from "../nfs4/status.ts";
import { PathError } from "./errors.ts";

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
 * An EOF before that size is the end here only as far as it was believed:
 * the client's file checks it ({@linkcode EndOfFileCheck}), and a
 * pipelined loop then calls {@linkcode nothingPast}.
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
  // A PathError, so that a command names the file by its URL.
  throw new PathError(
    path,
    `the server returned no data and no end of file at byte ${offset} of ${size} (I/O error)`,
  );
}

/**
 * The failure of an end of file shown false, naming the file and the byte
 * as the no-progress one does; a {@linkcode PathError}, as an empty symlink
 * target is, so that a command names the file by its URL.
 */
function endOfFileError(path: string, end: bigint, size: bigint): PathError {
  return new PathError(
    path,
    `the server returned end of file at byte ${end} of ${size} (I/O error)`,
  );
}

/**
 * Whether a READ at `offset` whose reply ended the data (see
 * {@linkcode endOfData}) reported an end of file before `size`, the size
 * known at OPEN: one comparison, made once per file.
 */
function endsEarly(
  offset: bigint,
  size: bigint | undefined,
  reply: { readonly data: Uint8Array; readonly eof: boolean },
): boolean {
  return reply.eof && size !== undefined && offset + BigInt(reply.data.length) < size;
}

/**
 * For a pipelined read whose READ at `offset` ended the data with an end of
 * file before `size` (the size known at OPEN): fails when a READ issued
 * past it (`later`, already in flight, so no request is added) came back
 * with data. The file goes on there, so the end of file was false (RFC
 * 7530 §16.23.4, RFC 8881 §18.22.4 set it only at the end), whatever the
 * server's GETATTR said of the size; stopping would hand a truncated file
 * on as whole. An eof at or past `size` returns at once.
 */
export async function nothingPast(
  path: string,
  offset: bigint,
  size: bigint | undefined,
  reply: { readonly data: Uint8Array; readonly eof: boolean },
  later: readonly { readonly result: Promise<{ readonly data: Uint8Array }> }[],
): Promise<void> {
  if (!endsEarly(offset, size, reply) || later.length === 0) return;
  const end = offset + BigInt(reply.data.length);
  for (const settled of await Promise.allSettled(later.map((l) => l.result))) {
    if (settled.status === "fulfilled" && settled.value.data.length > 0) {
      throw endOfFileError(path, end, size!);
    }
  }
}

/**
 * What an open file's READs are held to at their end of file: the size
 * known at OPEN, lowered to the size a GETATTR then found. An eof before
 * it ({@linkcode early}) is believed only when the file's size, asked
 * again ({@linkcode confirm}: one GETATTR, shared by the READs answered
 * meanwhile), is now no larger than where the data ended: another client
 * truncated the file, and reading ends there as before. A size still
 * larger makes the eof false (RFC 7530 §16.23.4, RFC 8881 §18.22.4: eof
 * only at the end): `PATH: the server returned end of file at byte N of
 * SIZE (I/O error)`, as {@linkcode endOfData}'s no-progress failure, where
 * the data before would have passed as the whole file.
 *
 * @example
 * ```ts
 * const check = new EndOfFileCheck("/vfs/big", 5_000_000n, () => sizeByGetattr());
 * if (reply.eof && check.early(offset, reply.data.length)) {
 *   await check.confirm(offset + BigInt(reply.data.length)); // throws when the file goes on
 * }
 * ```
 */
export class EndOfFileCheck {
  readonly #path: string;
  #size: bigint;
  readonly #sizeNow: () => Promise<bigint | undefined>;
  /** The GETATTR in flight, which READs answered meanwhile share. */
  #asking: Promise<bigint | undefined> | undefined;

  constructor(path: string, size: bigint, sizeNow: () => Promise<bigint | undefined>) {
    this.#path = path;
    this.#size = size;
    this.#sizeNow = sizeNow;
  }

  /** Whether a READ at `offset` that brought `length` bytes and eof ended before the size. */
  early(offset: bigint, length: number): boolean {
    return offset + BigInt(length) < this.#size;
  }

  /**
   * Believes an end of file at `end` (before the size) when the file is now
   * no larger, else throws. A size the server leaves out is no proof of a
   * truncation: the eof is not believed.
   */
  async confirm(end: bigint): Promise<void> {
    const size = this.#size;
    if (end >= size) return;
    const now = await (this.#asking ??= this.#ask());
    if (now === undefined || now > end) throw endOfFileError(this.#path, end, size);
  }

  /**
   * The GETATTR, the size lowered to its answer before the next READ can
   * look: the READs past a real truncation, answered after it, then ask
   * nothing (a truncated file costs one GETATTR, not one per READ in flight).
   */
  async #ask(): Promise<bigint | undefined> {
    try {
      const now = await this.#sizeNow();
      if (now !== undefined && now < this.#size) this.#size = now;
      return now;
    } finally {
      this.#asking = undefined;
    }
  }
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
