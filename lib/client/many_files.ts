/**
 * Reading many files at once, delivered one after the other in order: what
 * `nfs4 cat a b c ...` needs to be fast on many small files.
 *
 * One file at a time costs a round trip per step (LOOKUPs, OPEN, READ,
 * CLOSE) and leaves the session's other slots idle. {@linkcode readInOrder}
 * opens up to `ahead` files beyond the one being delivered, each with its own
 * calls in flight over the session's slots; a file no larger than
 * `prefetchBytes` is read whole and closed at once, a larger one waits,
 * opened, for its turn and is then streamed with its READs pipelined as
 * usual. Memory stays bounded: at most `ahead` prefetched files of at most
 * `prefetchBytes` each, plus the file being streamed.
 *
 * Delivery is strictly in the given order, failures included: a file that
 * could not be opened is reported when its turn comes, after the output of
 * those before it, as reading them one by one would. When the sink stops
 * (its `failed` throws, say stdout was closed) or a write to it fails (a
 * full disk: no file's failure, and thrown as it is, as cat(1) stops at its
 * first write error), nothing new is started and every file opened ahead
 * is closed before `readInOrder` returns.
 *
 * The chunks handed to `write` are each a READ reply's own data: once
 * `write` has resolved, the reply's buffer is handed back for reuse
 * (lib/rpc/socket_buffers.ts), so `write` must not keep the chunk beyond
 * its promise (stdout's write resolves once the bytes are taken).
 * @module
 */

import { releaseRecordBuffer } from "../rpc/socket_buffers.ts";

/** A file opened for reading, as {@linkcode readInOrder} uses it. */
export interface OrderedSource {
  /** Bytes that will be read, when known (the size, or what is left of a range). */
  readonly size: bigint | undefined;
  /** The data, in order (each chunk a READ reply's own). */
  chunks(): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
  /**
   * Nothing is open on the server any more (the file was read whole and
   * closed with its OPEN, lib/client/small_file.ts): `close()` sends nothing
   * and need not wait for OPENs.
   */
  readonly closedOnServer?: boolean;
}

/** Where the files go, in order. */
export interface OrderedSink<T> {
  /**
   * Takes one chunk; resolves once it no longer needs it. A rejection stops
   * everything: `readInOrder` rejects with it (it is not given to `failed`).
   */
  write(chunk: Uint8Array): Promise<void>;
  /** `item` failed (to open, read or close); throwing stops everything. */
  failed(item: T, error: unknown): void | Promise<void>;
}

export interface ReadInOrderOptions {
  /** Files opened beyond the one being delivered; default 16. 0 reads one at a time. */
  readonly ahead?: number;
  /** A file of at most this many bytes is read whole ahead of its turn; default 256 KiB. */
  readonly prefetchBytes?: number;
}

/** One file's state between opening and delivery. */
interface Slot<T> {
  readonly item: T;
  /** Settles once the file is opened, or has failed to. */
  opened: Promise<void>;
  /** Settles once the file is opened (and, when small, read and closed) or has failed. */
  ready: Promise<void>;
  /** Small enough to be read ahead (its size known, at most `prefetchBytes`). */
  small: boolean;
  source: OrderedSource | undefined;
  iterator: AsyncIterator<Uint8Array> | undefined;
  buffered: Uint8Array[];
  /** All of the data is in `buffered`. */
  complete: boolean;
  /** The file has been closed (after a complete prefetch, or on a failure). */
  closed: boolean;
  /** Why the file could not be opened or read ahead. */
  failure: { error: unknown } | undefined;
  /** `ready` has settled. */
  settled: boolean;
}

/**
 * Keeps OPENs and CLOSEs apart: any number of either at once, never both.
 * Two opens of one file (`cat a link-to-a`) share one open state, and a
 * CLOSE racing an OPEN of the same file under the same open-owner leaves
 * the server and the client disagreeing about that state (on NFSv4.0 the
 * CLOSE meets NFS4ERR_BAD_SEQID and the open stays behind).
 */
class OpenCloseGate {
  readonly #active = { open: 0, close: 0 };
  #wake: (() => void)[] = [];

  async run<R>(kind: "open" | "close", fn: () => Promise<R>): Promise<R> {
    const other = kind === "open" ? "close" : "open";
    while (this.#active[other] > 0) await new Promise<void>((resolve) => this.#wake.push(resolve));
    this.#active[kind]++;
    try {
      return await fn();
    } finally {
      if (--this.#active[kind] === 0) { for (const wake of this.#wake.splice(0)) wake(); }
    }
  }
}

/** A write to the sink failed, inside a file's delivery: not the file's failure. */
class SinkWriteFailed {
  constructor(readonly error: unknown) {}
}

/** Small files' data written in one write, up to this many bytes. */
const BATCH_BYTES = 256 * 1024;

function concat(chunks: readonly Uint8Array[], bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

export const DEFAULT_AHEAD = 16;
export const DEFAULT_PREFETCH_BYTES = 256 * 1024;

/**
 * Opens each of `items` with `open`, reads it and hands its data to `sink`,
 * in order, with up to `ahead` files opened and small ones read ahead.
 */
export async function readInOrder<T>(
  items: readonly T[],
  open: (item: T) => Promise<OrderedSource>,
  sink: OrderedSink<T>,
  options: ReadInOrderOptions = {},
): Promise<void> {
  const ahead = Math.max(0, Math.floor(options.ahead ?? DEFAULT_AHEAD));
  const prefetchBytes = options.prefetchBytes ?? DEFAULT_PREFETCH_BYTES;
  const slots: (Slot<T> | undefined)[] = [];
  let started = 0;
  let stopped = false;
  const gate = new OpenCloseGate();
  const close = (source: OrderedSource) => gate.run("close", () => source.close());

  const closeQuietly = async (slot: Slot<T>) => {
    if (slot.closed || !slot.source) return;
    slot.closed = true;
    await slot.iterator?.return?.().catch(() => undefined);
    await close(slot.source).catch(() => undefined);
  };

  const prepare = async (slot: Slot<T>, opened: () => void) => {
    try {
      slot.source = await gate.run("open", () => open(slot.item));
      const size = slot.source.size;
      slot.small = size !== undefined && size <= BigInt(prefetchBytes);
      opened();
      if (stopped || !slot.small) return;
      const iterator = slot.iterator = slot.source.chunks()[Symbol.asyncIterator]();
      let bytes = 0;
      while (bytes <= prefetchBytes && !stopped) {
        const next = await iterator.next();
        if (next.done) {
          slot.complete = true;
          break;
        }
        // A chunk is valid until the next one is asked for (a reader may
        // reuse its buffer): what is kept is copied, the reply handed back.
        slot.buffered.push(next.value.slice());
        releaseRecordBuffer(next.value);
        bytes += next.value.length;
      }
      if (slot.complete) {
        slot.closed = true;
        if (slot.source.closedOnServer) await slot.source.close();
        else await close(slot.source);
      }
    } catch (error) {
      slot.failure = { error };
      opened();
      await closeQuietly(slot);
    }
  };

  const start = (index: number) => {
    let opened!: () => void;
    const slot: Slot<T> = {
      item: items[index]!,
      opened: new Promise<void>((resolve) => opened = resolve),
      ready: Promise.resolve(),
      small: false,
      source: undefined,
      iterator: undefined,
      buffered: [],
      complete: false,
      closed: false,
      failure: undefined,
      settled: false,
    };
    slots[index] = slot;
    slot.ready = prepare(slot, opened).finally(() => slot.settled = true);
  };

  // Small files read whole are written in batches of up to BATCH_BYTES, in
  // one write each: a write per file costs more than the bytes of a small
  // file. A batch is written before anything is waited for, so output never
  // waits behind a file that is not ready.
  const batch: { chunks: Uint8Array[]; bytes: number } = { chunks: [], bytes: 0 };
  const flush = async () => {
    if (batch.chunks.length === 0) return;
    const data = batch.chunks.length === 1 ? batch.chunks[0]! : concat(batch.chunks, batch.bytes);
    batch.chunks = [];
    batch.bytes = 0;
    // A failure is the sink's, thrown as it is: no file of the batch failed.
    await sink.write(data);
  };

  const deliver = async (slot: Slot<T>) => {
    await slot.ready;
    // What was read before a failure is written first, as reading the file
    // in its turn would have.
    for (let chunk = slot.buffered.shift(); chunk; chunk = slot.buffered.shift()) {
      try {
        await sink.write(chunk);
      } catch (error) {
        throw new SinkWriteFailed(error);
      }
    }
    if (slot.failure) throw slot.failure.error;
    const source = slot.source!;
    if (slot.complete) return;
    const iterator = slot.iterator ??= source.chunks()[Symbol.asyncIterator]();
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      try {
        await sink.write(next.value);
      } catch (error) {
        throw new SinkWriteFailed(error);
      }
      releaseRecordBuffer(next.value);
    }
    slot.closed = true;
    await close(source);
  };

  try {
    for (let i = 0; i < items.length; i++) {
      if (started === i) start(started++);
      const slot = slots[i]!;
      if (!slot.settled) await flush();
      // The files ahead: opened (and, if small, read) while this one is
      // written; not while a large one streams (it gains nothing from them,
      // and they would hold opens and memory the while).
      await slot.opened;
      if (slot.small || slot.failure) {
        while (started < items.length && started <= i + ahead) start(started++);
      }
      if (slot.settled && slot.complete && !slot.failure) {
        for (const chunk of slot.buffered) {
          batch.chunks.push(chunk);
          batch.bytes += chunk.length;
        }
        slots[i] = undefined;
        if (batch.bytes >= BATCH_BYTES) await flush();
        continue;
      }
      await flush();
      try {
        await deliver(slot);
      } catch (error) {
        await closeQuietly(slot);
        // A failed write stops everything (the finally below closes the rest).
        if (error instanceof SinkWriteFailed) throw error.error;
        // The error that stopped the file is the one reported.
        await sink.failed(slot.item, error);
      } finally {
        slots[i] = undefined;
      }
    }
    await flush();
  } finally {
    stopped = true;
    // Stopped early: whatever was opened ahead is closed before returning.
    for (const slot of slots) {
      if (!slot) continue;
      await slot.ready;
      await closeQuietly(slot);
    }
  }
}
