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
  Leftovers,
  LocalFileError,
  type Location,
  PRESERVE_NONE,
  PRESERVE_P,
  type PreserveSet,
  tuningWith,
} from "./options.ts";
import type { FinalAttrs, Side, Stat, Writer } from "./side.ts";
import { LocalSide } from "./local_side.ts";
import { NfsSide } from "./nfs_side.ts";
import type { HoleFinder, Segment } from "./sparse.ts";
import type { NfsUrl } from "../url.ts";
import { releaseRecordBuffer } from "../../rpc/socket_buffers.ts";

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

/**
 * What move.ts adds to {@linkcode CopyOptions}: not public, because it
 * gives up the copy's promise that a destination that looks complete is
 * complete (README "cp"): the caller vouches for the name instead.
 */
export interface CopyRunOptions extends CopyOptions {
  /**
   * The destination operand is a name of the caller's own that no one else
   * uses or takes for complete (mv's temporary, which it renames onto the
   * target only once the copy is verified): a file, symlink or special
   * file copied to it is made there directly, not through a temporary of
   * its own renamed onto it. What is left of it on a failure or a stop is
   * the caller's to remove and to name; it never replaces an existing file.
   */
  readonly writeDirectly?: boolean | undefined;
}

// Where cli/cp.ts and cli/mv.ts have always taken it from (options.ts now).
export { type Leftover, Leftovers } from "./options.ts";

/** One copy run: options, sides, counters. */
export class CopyRun {
  readonly options: CopyRunOptions;
  readonly tuning: CopyTuning;
  /** What this run may leave behind now (see {@linkcode Leftovers}). */
  readonly leftovers: Leftovers;
  readonly summary: CopySummary = {
    files: 0,
    directories: 0,
    symlinks: 0,
    specials: 0,
    bytes: 0,
    skipped: 0,
    skippedSpecial: 0,
    warnings: 0,
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
  /**
   * `--preserve=links`: the destination of the first copy of each file with
   * several links, by source identity (undefined when that copy failed).
   */
  readonly links = new Map<string, Promise<string | undefined>>();
  /** Directories this copy made (MKDIR answered), by destination side. */
  readonly #made = new Map<Side, Set<string>>();

  constructor(options: CopyRunOptions) {
    this.options = options;
    this.leftovers = options.leftovers ?? new Leftovers();
    this.tuning = tuningWith(options.tuning);
    this.local = new LocalSide(this.tuning);
    this.umask = options.umask ?? 0o022;
  }

  /** The destination made directly ({@linkcode CopyRunOptions.writeDirectly}), once known. */
  #direct: { readonly side: Side; readonly path: string } | undefined;

  /**
   * Says that the destination operand, `path` on `side`, does not exist and
   * is made directly ({@linkcode CopyRunOptions.writeDirectly}).
   */
  writeDirectlyAt(side: Side, path: string): void {
    this.#direct = { side, path };
  }

  /** Whether `path` on `side` is made directly, without a temporary of its own. */
  writesDirectly(side: Side, path: string): boolean {
    return this.#direct !== undefined && this.#direct.side === side && this.#direct.path === path;
  }

  /** Says that this copy made the directory `path` on `side` (it did not exist). */
  madeDirectory(side: Side, path: string): void {
    let paths = this.#made.get(side);
    if (!paths) this.#made.set(side, paths = new Set());
    paths.add(path);
  }

  /** Says that what is in `path` on `side` may not all be this copy's: merged into again. */
  forgetDirectory(side: Side, path: string): void {
    this.#made.get(side)?.delete(path);
  }

  /**
   * Whether this copy made the directory `path` on `side`: what is in it is
   * what the copy put there, unless someone else wrote into it meanwhile.
   */
  madeByThisCopy(side: Side, path: string): boolean {
    return this.#made.get(side)?.has(path) ?? false;
  }

  /** What is kept of each file (`-p`, `-a`, `--preserve`). */
  get keep(): PreserveSet {
    const p = this.options.preserve;
    if (p === true) return PRESERVE_P;
    if (!p) return PRESERVE_NONE;
    // Each one asked for (true), not merely present: undefined is not kept.
    return {
      mode: p.mode === true,
      ownership: p.ownership === true,
      timestamps: p.timestamps === true,
      links: p.links === true,
    };
  }

  /** Whether symlinks are followed: operands (`top`) or met in a tree. */
  follows(top: boolean): boolean {
    const d = this.options.dereference ?? (this.options.recursive ? "never" : "command-line");
    return d === "always" || (top && d === "command-line");
  }

  /** Something could not be kept (an owner refused): said, counted, not an error. */
  warn(message: string, side: Side | undefined): void {
    this.summary.warnings++;
    this.options.onWarning?.(message, side?.url);
  }

  /** Warnings said once per side, by what they are about ({@linkcode warnOnce}). */
  readonly #warnedOnce = new WeakMap<Side, Set<string>>();

  /**
   * {@linkcode warn}, once per copy for `side` and `about` (a server that
   * cannot keep an attribute at all is said once, not for each file).
   */
  warnOnce(about: string, message: string, side: Side): void {
    let said = this.#warnedOnce.get(side);
    if (!said) {
      said = new Set();
      this.#warnedOnce.set(side, said);
    }
    if (said.has(about)) return;
    said.add(about);
    this.warn(message, side);
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

  /**
   * Reports a failure and goes on; once aborted, stops instead. `url` names
   * the server when there is no side yet (a connection that failed).
   */
  fail(error: unknown, side: Side | undefined, url?: NfsUrl): void {
    const signal = this.options.signal;
    if (signal?.aborted) throw abortReason(signal);
    this.summary.errors++;
    // A local failure names a local path: no server's URL goes with it.
    const where = error instanceof CopyError
      ? error.url
      : error instanceof LocalFileError
      ? undefined
      : side?.url ?? url;
    this.options.onError(error, where);
  }

  /**
   * Reports what a stopped copy must still say (a destination left
   * incomplete), where fail() would stop instead: the stop ends the copy
   * after it.
   */
  reportBesideStop(error: CopyError, side: Side): void {
    this.summary.errors++;
    this.options.onError(error, side.url);
  }

  /** What a stop left ({@linkcode Leftovers.take}), reported as a failure. */
  reportLeft(error: Error): void {
    this.summary.errors++;
    this.options.onError(error, error instanceof CopyError ? error.url : undefined);
  }

  /** A special file left out: a warning and a count of its own, not an error. */
  skipSpecial(message: string, side: Side): void {
    this.summary.skippedSpecial++;
    this.options.onWarning?.(message, side.url);
  }

  /** `-v`: `from` is now at `to` (a side's path, or stdin's and stdout's `-` without one). */
  async copied(
    fromSide: Side | undefined,
    from: string,
    toSide: Side | undefined,
    to: string,
  ): Promise<void> {
    await this.options.onCopied?.(
      fromSide ? fromSide.display(from) : from,
      toSide ? toSide.display(to) : to,
    );
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
    if (signal.aborted) {
      // Started already: left to settle, as below.
      this.#abandoned.add(promise.then(() => undefined, () => undefined));
      throw abortReason(signal);
    }
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(abortReason(signal));
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([promise, aborted]);
    } catch (e) {
      // Given up on, not stopped: it goes on (an OPEN, a WRITE) until
      // settleAbandoned(), and its failure is nobody's to report.
      if (signal.aborted) this.#abandoned.add(promise.then(() => undefined, () => undefined));
      throw e;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Operations abortable() stopped waiting for, still in flight on a server. */
  readonly #abandoned = new Set<Promise<void>>();

  /**
   * Waits, at most `ms`, for the operations an abort left in flight: the
   * caller closes its clients next, and a request still in flight then
   * would meet a destroyed session (and make a new one) or a closed
   * connection. After SIGINT reads and lookups were stopped already and
   * settle at once; a state change (an OPEN) may take the state manager's
   * release window, and the clients' shutdown waits for what is left of it
   * (then closes what it opened).
   */
  async settleAbandoned(ms: number): Promise<void> {
    if (this.#abandoned.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
    try {
      await Promise.race([Promise.all(this.#abandoned), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Copies data and holes the source reported (SEEK) into `writer`:
   * data written, holes left; both count towards the size and progress.
   */
  async pumpSegments(segments: AsyncIterable<Segment>, writer: Writer): Promise<bigint> {
    let total = 0n;
    const iterator = segments[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await this.abortable(iterator.next());
        if (next.done) break;
        const segment = next.value;
        const length = segment.kind === "data" ? segment.bytes.length : segment.length;
        if (segment.kind === "data") await this.abortable(writer.write(segment.bytes));
        else await this.abortable(writer.hole(segment.length));
        total += BigInt(length);
        this.summary.bytes += length;
        this.progress();
      }
    } catch (e) {
      void iterator.return?.().catch(() => undefined);
      throw e;
    }
    return total;
  }

  /**
   * Copies `chunks` into `writer`, counting bytes; with `holes`, zero
   * blocks it finds are left unwritten (the writer's `finish` sets the size).
   */
  async pump(
    chunks: AsyncIterable<Uint8Array>,
    writer: Writer,
    holes?: HoleFinder,
  ): Promise<bigint> {
    let total = 0n;
    const iterator = chunks[Symbol.asyncIterator]();
    const put = async (segments: readonly Segment[]) => {
      for (const segment of segments) {
        if (segment.kind === "data") await this.abortable(writer.write(segment.bytes));
        else await this.abortable(writer.hole(segment.length));
      }
    };
    try {
      for (;;) {
        const next = await this.abortable(iterator.next());
        if (next.done) break;
        const chunk = next.value;
        if (holes) await put(holes.push(chunk));
        // The writer says when it is done with the chunk: a READ reply's
        // buffer then carries a later reply (lib/rpc/socket_buffers.ts).
        else await this.abortable(writer.write(chunk, () => releaseRecordBuffer(chunk)));
        total += BigInt(chunk.length);
        this.summary.bytes += chunk.length;
        this.progress();
      }
      if (holes) await put(holes.end());
    } catch (e) {
      // Stop the source (its READs in flight are left to settle on their own).
      void iterator.return?.().catch(() => undefined);
      throw e;
    }
    return total;
  }
}

/** The attributes a new copy of a file gets. */
export function finalAttrs(
  run: CopyRun,
  source: Stat,
  existing: Stat | undefined,
  stdin = false,
): FinalAttrs {
  const sourceMode = source.mode ?? 0o644;
  // stdin has no mode or times to keep: a new file gets 0666 less the umask, as cp makes it.
  const keep = stdin ? PRESERVE_NONE : run.keep;
  const times = keep.timestamps && source.mtime && source.atime
    ? { mtime: source.mtime, atime: source.atime }
    : {};
  if (keep.mode) return { mode: sourceMode, ...times };
  // Like cp: an existing destination keeps its mode; a new one gets the
  // source's permission bits less the umask (no set-id or sticky bits).
  if (existing?.mode !== undefined) return { mode: existing.mode, ...times };
  return { mode: sourceMode & 0o777 & ~run.umask, ...times };
}
