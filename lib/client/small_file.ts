/**
 * Files read whole in few requests: the client side of
 * lib/state/small_file.ts. `nfs4 cat` of many files and `cp -r` of small
 * files open each file by name from its directory's handle, walked once
 * per directory ({@linkcode DirectoryHandles}), and get the file's first
 * bytes with the OPEN (on NFSv4.1 in the OPEN's own COMPOUND, closed in it
 * too when that was all of the file). What they get back is an
 * {@linkcode OpenFile} like any other: {@linkcode PrefetchedFile} serves
 * the bytes already read and goes on reading through the open, if the file
 * is larger.
 * @module
 */

import type { OpenFile } from "./api.ts";
import type { FileHandle } from "../nfs4/types.ts";
import { FileClosedError } from "./errors.ts";
import { checkInteger, UINT32, UINT64 } from "./arguments.ts";

/**
 * Directory handles by path, walked once each, for one batch of files (one
 * `cat`, one copy). It lives no longer than the batch: a directory renamed
 * or replaced later is found by the next batch's walk, as by any walk. A
 * handle the server calls stale is dropped and walked again once
 * (Nfs4Client.openReadAhead).
 */
export class DirectoryHandles {
  readonly #byPath = new Map<string, Promise<FileHandle | undefined>>();

  /** The handle of `path` (undefined: not a directory or not found), walking it once. */
  get(path: string, walk: () => Promise<FileHandle | undefined>): Promise<FileHandle | undefined> {
    let handle = this.#byPath.get(path);
    if (!handle) {
      handle = walk().catch(() => undefined);
      this.#byPath.set(path, handle);
    }
    return handle;
  }

  /** Forgets `path` (its handle went stale). */
  drop(path: string): void {
    this.#byPath.delete(path);
  }
}

/** What a client offers for reading small files this way (Nfs4Client does). */
export interface ReadAheadOpener {
  openReadAhead(
    path: string,
    options: { readonly count: number; readonly directories: DirectoryHandles },
  ): Promise<OpenFile>;
}

/**
 * Opens `path` for reading with its first `count` bytes read at once when
 * `client` can (Nfs4Client.openReadAhead), else with a plain `openRead`.
 */
export function openReadAhead(
  client: { openRead(path: string): Promise<OpenFile> },
  path: string,
  options: { readonly count: number; readonly directories: DirectoryHandles },
): Promise<OpenFile> {
  const opener = client as Partial<ReadAheadOpener>;
  return opener.openReadAhead ? opener.openReadAhead(path, options) : client.openRead(path);
}

/**
 * An open file whose first bytes (`head`, from byte 0) are already here:
 * `complete` when they are all of it (then it is closed on the server
 * already, and `rest` is undefined), else `rest` is the open to read on
 * from. Reads inside `head` are served from it.
 *
 * `head` is handed out as views (no copy), as a READ's data is: it may be
 * a pooled reply buffer (lib/rpc/socket_buffers.ts) that the consumer hands
 * back once written, so each range of it is handed out once, as `chunks()`
 * does when read through once.
 *
 * Once close() is called it behaves as the client's own file handle does:
 * every read throws {@linkcode FileClosedError} (the head too: a pooled
 * buffer may be someone else's by then), and a second close() returns the
 * first one's promise.
 */
export class PrefetchedFile implements OpenFile {
  readonly path: string;
  readonly size: bigint | undefined;
  readonly head: Uint8Array;
  readonly complete: boolean;
  readonly #rest: (OpenFile & { readonly rsize?: number }) | undefined;
  /** The negotiated READ size of the open, when there is one. */
  readonly rsize: number | undefined;
  #closing: Promise<void> | undefined;

  constructor(
    path: string,
    size: bigint | undefined,
    head: Uint8Array,
    complete: boolean,
    rest: (OpenFile & { readonly rsize?: number }) | undefined,
  ) {
    this.path = path;
    this.size = complete ? BigInt(head.length) : size;
    this.head = head;
    this.complete = complete;
    this.#rest = rest;
    this.rsize = rest?.rsize;
  }

  read(offset: bigint, count: number): Promise<{ data: Uint8Array; eof: boolean }> {
    if (this.#closing !== undefined) return Promise.reject(new FileClosedError(this.path));
    // The same checks as the client's own handle (lib/client/arguments.ts):
    // a negative or fractional count would slice the head from its end.
    try {
      checkInteger(this.path, "read offset", offset, UINT64);
      checkInteger(this.path, "read count", count, UINT32);
    } catch (e) {
      return Promise.reject(e);
    }
    const length = BigInt(this.head.length);
    if (offset < length) {
      const start = Number(offset);
      const end = Math.min(this.head.length, start + count);
      return Promise.resolve({
        data: this.head.subarray(start, end),
        eof: this.complete && end === this.head.length,
      });
    }
    if (!this.#rest) return Promise.resolve({ data: new Uint8Array(0), eof: true });
    return this.#rest.read(offset, count);
  }

  get seek(): OpenFile["seek"] {
    return this.#rest?.seek;
  }

  async *chunks(offset = 0n): AsyncIterable<Uint8Array> {
    if (this.#closing !== undefined) throw new FileClosedError(this.path);
    checkInteger(this.path, "read offset", offset, UINT64);
    if (offset < BigInt(this.head.length)) {
      yield this.head.subarray(Number(offset));
      offset = BigInt(this.head.length);
    }
    if (this.#rest) yield* this.#rest.chunks(offset);
  }

  close(): Promise<void> {
    this.#closing ??= this.#rest ? this.#rest.close() : Promise.resolve();
    return this.#closing;
  }
}
