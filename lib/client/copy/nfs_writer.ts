/**
 * The pipelined NFS writer: UNSTABLE4 WRITEs in flight, COMMIT windows and
 * verifier checks, resends after a server restart (RFC 7530 §16.36, §16.3;
 * RFC 8881 §18.32, §18.3).
 * @module
 */

import type { SettableAttributes, SetTime } from "../../nfs4/attrs.ts";
import type { NfsTime } from "../../nfs4/types.ts";
import type { WritableFile } from "../api.ts";
import { NfsFile, type OwnershipRead } from "../client.ts";
import type { SmallUploadEnd } from "../../state/small_upload.ts";
import { CopyError } from "./options.ts";
import {
  type FinalAttrs,
  type Ownership,
  type Reread,
  uninitialized,
  type Writer,
} from "./side.ts";
import { FILE_SYNC4, type FileExtras } from "./nfs_side.ts";
import { recordBuffers } from "../../rpc/socket_buffers.ts";

/**
 * One WRITE. Its data is kept until a COMMIT with the same verifier, unless
 * the source can be read again.
 */
interface Piece {
  readonly offset: bigint;
  readonly length: number;
  data: Uint8Array | undefined;
  verifier: string | undefined;
  /** FILE_SYNC4 given: on disk already, no COMMIT needed. */
  stable: boolean;
}

/** WRITEs between two COMMITs. */
interface Window {
  readonly pieces: Piece[];
  bytes: number;
  writes: Promise<void>[];
}

/** What {@linkcode NfsWriter} uses of a file opened for writing. */
export type WriteTarget = Pick<WritableFile, "path" | "write" | "commit" | "setattr" | "close">;

export interface NfsWriterOptions {
  /** WRITEs in flight. */
  readonly depth: number;
  /** Bytes per commit window. */
  readonly commitBytes: number;
  /** Set atime and mtime to the server's time at the end when not given. */
  readonly resetTimes?: boolean;
  /** Called with the number of WRITEs sent again after a verifier change. */
  readonly onResend?: (count: number) => void;
  /** COMMIT rounds for one window before giving up (a server restarting again and again). */
  readonly maxCommitRounds?: number;
  /**
   * A file of one WRITE may end with WRITE, SETATTR and CLOSE in one
   * COMPOUND (a temporary: no one sees it before its RENAME, so a short
   * WRITE found only after its SETATTR, which filled the size out with
   * zeros, is harmless until the rest is written). Not for a file written
   * in place.
   */
  readonly endInOne?: boolean;
  /** Rewrites a failure before it is thrown (to name the file by its URL). */
  readonly named?: (error: unknown) => unknown;
  /**
   * An existing file opened in place (NfsSide.openExisting) that held data
   * when opened: {@linkcode NfsWriter.empty} sends its SETATTR of size 0.
   */
  readonly toEmpty?: boolean;
}

/**
 * The SETATTR that ends a file: its size, and `attrs`' mode and times;
 * `resetTimes`: the server's time where `attrs` gives none (an exclusive
 * create's verifier sits in the times until they are set).
 */
export function finalSettable(
  attrs: FinalAttrs,
  size: bigint,
  resetTimes: boolean,
): SettableAttributes {
  const setTime = (t: NfsTime | undefined): SetTime | undefined =>
    t ?? (resetTimes ? "server" : undefined);
  const mtime = setTime(attrs.mtime);
  const atime = setTime(attrs.atime);
  return {
    size,
    ...(attrs.mode !== undefined ? { mode: attrs.mode } : {}),
    ...(mtime !== undefined ? { timeModifySet: mtime } : {}),
    ...(atime !== undefined ? { timeAccessSet: atime } : {}),
  };
}

/**
 * A file's only WRITE, sent with its SETATTR and CLOSE in one COMPOUND:
 * fails the file (the COMPOUND could not branch, the file is closed) when
 * the server answered less than FILE_SYNC4 and a COMMIT whose verifier
 * differs (it restarted in between). A short WRITE never gets here: its
 * rest is written by the state layer (lib/state/small_upload.ts writeRest)
 * before the WRITE comes back counting every byte, or fails with the
 * server's status; a count still short of `length` is a bug, and fails the
 * file rather than let a temporary short of its data take its final name.
 */
export function checkOneWrite(
  path: string,
  length: number,
  wrote: { readonly count: number; readonly writeverf: Uint8Array } | undefined,
  commitVerifier: Uint8Array | undefined,
): void {
  if (!wrote) return;
  if (wrote.count !== length) {
    throw new CopyError(`${path}: the server wrote ${wrote.count} of ${length} bytes`);
  }
  if (commitVerifier && hex(commitVerifier) !== hex(wrote.writeverf)) {
    throw new CopyError(
      `${path}: the server's write verifier changed before COMMIT; the data is not known to be written`,
    );
  }
}

export function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = uninitialized(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/**
 * Writes a file opened for writing: UNSTABLE4 WRITEs of `wsize`, `depth` in
 * flight, COMMIT every `commitBytes`, verifiers checked and lost data sent
 * again (RFC 7530 §16.36.4 and §16.3.4: a changed verifier means the server
 * may have lost uncommitted data).
 */
export class NfsWriter implements Writer {
  readonly chunkSize: number;
  readonly #file: WriteTarget;
  readonly #options: NfsWriterOptions;
  #offset = 0n;
  #stage: Uint8Array | undefined;
  #staged = 0;
  /**
   * Less than a WRITE's worth that came first, kept as it is rather than
   * copied into a stage of `wsize` bytes: a small file is then sent from
   * the reader's own buffer. Copied into a stage only when more follows.
   */
  #tail: { data: Uint8Array; release: (() => void) | undefined } | undefined;
  readonly #inflight = new Set<Promise<void>>();
  #window: Window = { pieces: [], bytes: 0, writes: [] };
  #committing: Promise<void> = Promise.resolve();
  #failure: { error: unknown } | undefined;
  #reread: Reread | undefined;
  /** What the server answered it holds after the last {@linkcode chown} (read in its COMPOUND). */
  #held: OwnershipRead | undefined;
  /** Counters, for tests and the trace. */
  readonly stats = { writes: 0, commits: 0, resent: 0 };

  constructor(file: WriteTarget, options: NfsWriterOptions) {
    this.#file = file;
    this.#options = options;
    this.chunkSize = (file as unknown as Partial<FileExtras>).wsize ?? 1024 * 1024;
  }

  /** The open state, when the file is an {@linkcode NfsFile}. */
  get state(): NfsFile["state"] | undefined {
    return this.#file instanceof NfsFile ? this.#file.state : undefined;
  }

  useSource(reread: Reread): void {
    this.#reread = reread;
  }

  /**
   * Empties a file opened in place (`toEmpty`): a SETATTR of size 0 with
   * the open stateid (RFC 7530 §16.32, RFC 8881 §18.30), as an open's
   * O_TRUNC reaches the server (RFC 7530 §16.16: OPEN's truncation is a
   * SETATTR of size).
   */
  async empty(): Promise<void> {
    if (!this.#options.toEmpty) return;
    try {
      await this.#file.setattr({ size: 0n });
    } catch (e) {
      throw this.#options.named ? this.#options.named(e) : e;
    }
  }

  #check(): void {
    if (this.#failure) {
      const { error } = this.#failure;
      throw this.#options.named ? this.#options.named(error) : error;
    }
  }

  /**
   * Sends `chunk` in WRITEs of `wsize` (what does not fill one is staged, a
   * copy). `done` is called once no WRITE of it is kept any more: right after
   * the copy, or when its WRITEs were answered and the source can be read
   * again (without a source to read again, data is kept until COMMIT and
   * `done` is never called).
   */
  async write(chunk: Uint8Array, done?: () => void): Promise<void> {
    const size = this.chunkSize;
    let holds = 1;
    const drop = done
      ? () => {
        if (--holds === 0) done();
      }
      : undefined;
    try {
      await this.#writeChunk(chunk, size, drop ? () => (holds++, drop) : () => undefined);
    } finally {
      drop?.();
    }
  }

  async #writeChunk(
    chunk: Uint8Array,
    size: number,
    hold: () => (() => void) | undefined,
  ): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      if (this.#tail) this.#stageTail(size);
      if (this.#staged === 0 && chunk.length - at >= size) {
        await this.#send(chunk.subarray(at, at + size), hold());
        at += size;
        continue;
      }
      if (this.#staged === 0) {
        this.#tail = { data: chunk.subarray(at), release: hold() };
        return;
      }
      // Pooled: handed back once its WRITE is answered (and the source can
      // be read again), else left to the GC.
      const stage = this.#stage ??= recordBuffers.take(size);
      const take = Math.min(size - this.#staged, chunk.length - at);
      stage.set(chunk.subarray(at, at + take), this.#staged);
      this.#staged += take;
      at += take;
      if (this.#staged === size) {
        this.#stage = undefined;
        this.#staged = 0;
        await this.#send(stage, () => recordBuffers.release(stage));
      }
    }
  }

  /** More follows the tail: it goes into a stage (a copy), and its chunk is let go. */
  #stageTail(size: number): void {
    const tail = this.#tail!;
    this.#tail = undefined;
    const stage = this.#stage ??= recordBuffers.take(size);
    stage.set(tail.data, this.#staged);
    this.#staged += tail.data.length;
    tail.release?.();
  }

  async hole(length: number): Promise<void> {
    await this.#flushStage();
    this.#offset += BigInt(length);
  }

  /**
   * Gives the file `owner` and `group` (SETATTR with the open's stateid).
   * On an {@linkcode NfsFile}, what the server holds then is read in the
   * same COMPOUND (`PUTFH SETATTR GETATTR`), for {@linkcode heldOwnership}:
   * a server may answer NFS4_OK and keep others (a squashing export, RFC
   * 7530 §16.32.4), and the copy compares them with no request of its own.
   */
  async chown(owner: string | undefined, group: string | undefined): Promise<void> {
    this.#check();
    if (owner === undefined && group === undefined) return;
    const attrs = {
      ...(owner !== undefined ? { owner } : {}),
      ...(group !== undefined ? { ownerGroup: group } : {}),
    };
    this.#held = undefined;
    try {
      if (this.#file instanceof NfsFile) {
        this.#held = await this.#file.setattr(attrs, { readOwnership: true });
      } else {
        await (this.#file as unknown as FileExtras).setattr(attrs);
      }
    } catch (e) {
      throw this.#options.named ? this.#options.named(e) : e;
    }
  }

  /** The owner and group read back by the last {@linkcode chown}, when they were. */
  heldOwnership(): Ownership | undefined {
    return this.#held;
  }

  /**
   * Sends what is staged or held (a short WRITE). `final`: nothing follows;
   * when it is also the file's only WRITE (a small file) it is sent
   * FILE_SYNC4, which makes a COMMIT unnecessary when the server grants it
   * (RFC 8881 §18.32.3, RFC 7530 §16.36.4: data and metadata on stable
   * storage before the reply); a server that answers UNSTABLE4 instead
   * gets its COMMIT as any other.
   */
  async #flushStage(final = false): Promise<void> {
    const only = final && this.#offset === 0n;
    const tail = this.#tail;
    if (tail) {
      this.#tail = undefined;
      await this.#send(tail.data, tail.release, only);
      return;
    }
    if (this.#staged > 0 && this.#stage) {
      const stage = this.#stage;
      const last = stage.subarray(0, this.#staged);
      this.#stage = undefined;
      this.#staged = 0;
      await this.#send(last, () => recordBuffers.release(stage), only);
    }
  }

  async #waitForRoom(): Promise<void> {
    this.#check();
    while (this.#inflight.size >= this.#options.depth) {
      await Promise.race(this.#inflight);
      this.#check();
    }
  }

  /** `release`: called once the WRITE's data is no longer kept. */
  async #send(data: Uint8Array, release?: () => void, fileSync = false): Promise<void> {
    await this.#waitForRoom();
    const piece: Piece = {
      offset: this.#offset,
      length: data.length,
      data,
      verifier: undefined,
      stable: false,
    };
    this.#offset += BigInt(data.length);
    const window = this.#window;
    window.pieces.push(piece);
    window.bytes += data.length;
    window.writes.push(this.#writePiece(piece, data, release, fileSync));
    if (window.bytes >= this.#options.commitBytes) await this.#rotate();
  }

  #writePiece(
    piece: Piece,
    data: Uint8Array,
    release?: () => void,
    fileSync = false,
  ): Promise<void> {
    this.stats.writes++;
    const how = fileSync ? "file" : "unstable";
    const done: Promise<void> = this.#file.write(piece.offset, data, how).then(
      (result) => {
        piece.verifier = hex(result.verifier);
        piece.stable = result.committed === FILE_SYNC4;
        // What the source can give again need not be kept.
        if (this.#reread) {
          piece.data = undefined;
          release?.();
        }
      },
      (error) => {
        this.#failure ??= { error };
      },
    );
    this.#inflight.add(done);
    void done.then(() => this.#inflight.delete(done));
    return done;
  }

  /** Starts committing the window being filled; waits for the one before (bounded memory). */
  async #rotate(): Promise<void> {
    const window = this.#window;
    this.#window = { pieces: [], bytes: 0, writes: [] };
    await this.#committing;
    this.#check();
    const committing = this.#commitWindow(window).catch((error) => {
      this.#failure ??= { error };
    });
    this.#committing = committing;
  }

  async #commitWindow(window: Window): Promise<void> {
    const maxRounds = this.#options.maxCommitRounds ?? 5;
    for (let round = 1;; round++) {
      await Promise.all(window.writes);
      this.#check();
      const unstable = window.pieces.filter((p) => !p.stable);
      if (unstable.length === 0) return;
      this.stats.commits++;
      const verifier = hex(await this.#file.commit());
      const lost = unstable.filter((p) => p.verifier !== verifier);
      if (lost.length === 0) return;
      if (round >= maxRounds) {
        throw new CopyError(
          `${this.#file.path}: the server's write verifier kept changing; ${lost.length} WRITEs not committed`,
        );
      }
      // The server restarted between these WRITEs and the COMMIT: send them again.
      this.stats.resent += lost.length;
      this.#options.onResend?.(lost.length);
      window.writes = [];
      for (const piece of lost) {
        const data = piece.data ?? await this.#reread!(piece.offset, piece.length);
        if (data.length !== piece.length) {
          throw new CopyError(
            `${this.#file.path}: the source changed while it was copied (resend after a server restart)`,
          );
        }
        await this.#waitForRoom();
        window.writes.push(this.#writePiece(piece, data));
      }
    }
  }

  async finish(attrs: FinalAttrs, size: bigint): Promise<void> {
    const settable = finalSettable(attrs, size, this.#options.resetTimes ?? false);
    if (await this.#finishInOne(settable, size)) return;
    await this.#flushStage(true);
    await this.#rotate();
    await this.#committing;
    this.#check();
    try {
      // NfsFile.setattr takes any settable attribute; the interface names size and mode.
      await (this.#file as unknown as FileExtras).setattr(settable);
      await this.#file.close();
    } catch (e) {
      throw this.#options.named ? this.#options.named(e) : e;
    }
  }

  /**
   * A file whose data is one WRITE's worth, nothing sent yet (or no data at
   * all): the WRITE, the SETATTR and the CLOSE go in one COMPOUND when the
   * open can end so (NfsFile.endInOne, lib/state/small_upload.ts). False:
   * nothing was sent, finish as usual. A WRITE answered with fewer bytes
   * than sent (NFS4_OK, RFC 8881 §18.32.3, RFC 7530 §16.36.4) has its rest
   * sent there, from where it ended (through the same open on NFSv4.0,
   * through an OPEN by handle on 4.1, whose CLOSE ran with the COMPOUND):
   * the file ends whole, or fails with the status the server gave the rest
   * (NFS4ERR_NOSPC), named as the pipelined writer's failures are
   * (`named`). A WRITE answered less than FILE_SYNC4 and a COMMIT whose
   * verifier differs (the server restarted in between) fails the file: it
   * was closed with the COMPOUND, its data not verified written (the
   * temporary goes).
   */
  async #finishInOne(settable: SettableAttributes, size: bigint): Promise<boolean> {
    const file = this.#file as Partial<Pick<NfsFile, "endInOne">>;
    if (!this.#options.endInOne || !file.endInOne) return false;
    if (this.#offset !== 0n || this.#inflight.size > 0) return false;
    this.#check();
    const tail = this.#tail;
    const stage = this.#staged > 0 ? this.#stage : undefined;
    const data = tail ? tail.data : stage?.subarray(0, this.#staged);
    if (BigInt(data?.length ?? 0) !== size) return false;
    let end: SmallUploadEnd;
    try {
      end = await file.endInOne.call(this.#file, data, settable);
    } catch (e) {
      this.#failure ??= { error: e };
      throw this.#options.named ? this.#options.named(e) : e;
    }
    if (!end.done) return false;
    this.#tail = undefined;
    this.#stage = undefined;
    this.#staged = 0;
    tail?.release?.();
    if (stage) recordBuffers.release(stage);
    if (data) {
      this.stats.writes++;
      this.#offset = BigInt(data.length);
    }
    if (data) checkOneWrite(this.#file.path, data.length, end.write, end.commitVerifier);
    return true;
  }

  async abort(): Promise<void> {
    this.#failure ??= { error: new CopyError(`${this.#file.path}: copy aborted`) };
    this.#stage = undefined;
    this.#tail = undefined;
    this.#window = { pieces: [], bytes: 0, writes: [] };
    await this.#file.close().catch(() => undefined);
  }
}
