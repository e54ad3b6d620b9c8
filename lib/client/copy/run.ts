/**
 * One copy run: options, sides, counters, progress and abort, and the attributes a copy gets.
 * @module
 */

import { Nfs4Client } from "../client.ts";
import {
  CopyError,
  type CopyOptions,
  type CopySummary,
  type CopyTuning,
  DEFAULT_TUNING,
  type Location,
} from "./options.ts";
import type { FinalAttrs, Side, Stat, Writer } from "./side.ts";
import { LocalSide } from "./local_side.ts";
import { NfsSide } from "./nfs_side.ts";

/** A name no one else uses, in the same directory: `.NAME.nfs4-XXXXXX`. */
export function temporaryName(name: string): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const random = crypto.getRandomValues(new Uint8Array(6));
  const suffix = Array.from(random, (b) => alphabet[b % alphabet.length]).join("");
  // Keep the whole name within NAME_MAX (255 bytes).
  let base = name;
  const encoder = new TextEncoder();
  while (encoder.encode(base).length > 255 - 13 && base.length > 0) base = base.slice(0, -1);
  return `.${base}.nfs4-${suffix}`;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new CopyError("copy interrupted");
}

/** One copy run: options, sides, counters. */
export class CopyRun {
  readonly options: CopyOptions;
  readonly tuning: CopyTuning;
  readonly summary: CopySummary = {
    files: 0,
    directories: 0,
    symlinks: 0,
    bytes: 0,
    skipped: 0,
    errors: 0,
    seconds: 0,
    resentWrites: 0,
  };
  readonly local: LocalSide;
  bytesTotal: number | undefined = 0;
  filesTotal = 0;
  filesDone = 0;
  current: string | undefined;
  readonly umask: number;

  constructor(options: CopyOptions) {
    this.options = options;
    this.tuning = { ...DEFAULT_TUNING, ...options.tuning };
    this.local = new LocalSide(this.tuning);
    this.umask = options.umask ?? 0o022;
  }

  get preserve(): boolean {
    return this.options.preserve === true;
  }

  checkAbort(): void {
    const signal = this.options.signal;
    if (signal?.aborted) throw abortReason(signal);
  }

  progress(): void {
    this.options.onProgress?.({
      bytesDone: this.summary.bytes,
      bytesTotal: this.bytesTotal,
      filesDone: this.filesDone,
      filesTotal: this.filesTotal,
      current: this.current,
    });
  }

  /** Reports a failure and goes on; once aborted, stops instead. */
  fail(error: unknown, side: Side | undefined): void {
    const signal = this.options.signal;
    if (signal?.aborted) throw abortReason(signal);
    this.summary.errors++;
    this.options.onError(error, error instanceof CopyError ? error.url : side?.url);
  }

  async side(location: Location): Promise<{ side: Side; path: string }> {
    if (location.kind === "local") return { side: this.local, path: location.path };
    if (location.kind === "nfs") {
      const client = await this.options.connect(location.url);
      const side = new NfsSide(client, location.url, this.tuning, (count) => {
        this.summary.resentWrites += count;
        if (client instanceof Nfs4Client) {
          client.tracer.emit("retry", "WRITE resend", `${count} WRITEs after a verifier change`);
        }
      });
      return { side, path: location.url.path };
    }
    throw new Error("stdin/stdout has no file system");
  }

  /** Waits for `promise`, giving up as soon as the copy is aborted. */
  async abortable<T>(promise: Promise<T>): Promise<T> {
    const signal = this.options.signal;
    if (!signal) return await promise;
    this.checkAbort();
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(abortReason(signal));
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([promise, aborted]);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Copies `chunks` into `writer`, counting bytes. */
  async pump(chunks: AsyncIterable<Uint8Array>, writer: Writer): Promise<bigint> {
    let total = 0n;
    const iterator = chunks[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await this.abortable(iterator.next());
        if (next.done) break;
        const chunk = next.value;
        await this.abortable(writer.write(chunk));
        total += BigInt(chunk.length);
        this.summary.bytes += chunk.length;
        this.progress();
      }
    } catch (e) {
      // Stop the source (its READs in flight are left to settle on their own).
      void iterator.return?.().catch(() => undefined);
      throw e;
    }
    return total;
  }
}

/** The attributes a new copy of a file gets. */
export function finalAttrs(run: CopyRun, source: Stat, existing: Stat | undefined): FinalAttrs {
  const sourceMode = source.mode ?? 0o644;
  if (run.preserve) {
    return {
      mode: sourceMode,
      ...(source.mtime && source.atime ? { mtime: source.mtime, atime: source.atime } : {}),
    };
  }
  // Like cp: an existing destination keeps its mode; a new one gets the
  // source's permission bits less the umask.
  if (existing?.mode !== undefined) return { mode: existing.mode };
  return { mode: sourceMode & 0o777 & ~run.umask };
}
