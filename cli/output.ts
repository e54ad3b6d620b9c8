/**
 * Writing to stdout and stderr with backpressure and a quiet end on EPIPE.
 *
 * `Output.write()` resolves only once the stream has taken the bytes (the
 * write callback), so a caller that awaits it holds one chunk at a time:
 * memory stays constant however large the file, and a chunk that is a view
 * into a buffer the reader reuses is safe to hand over.
 *
 * Text is written as UTF-8, except that a string holding bytes that are
 * not UTF-8 (names, as lib/client/names.ts keeps them) is written as those
 * exact bytes.
 *
 * Under `deno run`, data (bytes, not text) goes to fd 1 with write(2)
 * through Deno's FFI rather than through `process.stdout`: every way Deno
 * offers to write to stdout (`process.stdout`, `Deno.stdout`, node:fs on fd
 * 1) ends in Rust's line-buffered stdout, which looks for the last newline
 * in every write, a scan of the whole chunk when it holds none (0.07 CPU-s
 * per GiB of zeros; random data has a newline every ~256 bytes and costs
 * 0.006 s per GiB), and splits a chunk that has one in two write(2)s. It is
 * the same descriptor, so a regular file's offset is shared as before with
 * whoever else writes to it. See {@linkcode RawStdout} for the failures.
 *
 * When fd 1 is a pipe or a socket, its reader can stop reading: a blocking
 * write(2) would then hold the thread that answers signals, and SIGINT,
 * SIGTERM, the release of the command's state and even the exit backstop
 * would wait for a reader that never comes (`nfs4 cat big | less`, then
 * Ctrl-C in another window). There each write(2) is made non-blocking for
 * its duration (O_NONBLOCK set and put back around the one call, so whoever
 * shares the descriptor never sees it), and a full pipe is waited for with
 * poll(2) on a thread of the runtime's pool; {@linkcode Output.abandon}
 * makes that wait, and every later write, reject.
 *
 * A write that waits (a full pipe, a stream not yet called back) is counted
 * in {@linkcode Output.pendingBytes} until it ends: a caller that does not
 * await each write (`cp -v`'s lines) waits on {@linkcode Output.room} for the
 * backlog to shrink, and {@linkcode Output.drained} (or
 * {@linkcode outputDrained} for every Output of a stream, cli/main.ts before
 * it exits) for it to be gone. A failure other than a closed pipe (a full
 * disk) becomes a {@linkcode StdoutWriteError}, `write error: …`, as
 * coreutils names a failure to write standard output. A command that may
 * not write for long (`tail -f`) asks {@linkcode Output.throwIfReaderGone}
 * whether the reader is gone without writing.
 * @module
 */

import { fstatSync } from "node:fs";
import process from "node:process";
import { encodeByteString } from "../lib/client/names.ts";
import { errnoText } from "../lib/client/errno_text.ts";
import { closedAtStart } from "../lib/os/closed_stdio.ts";
import { type OutputWatch, watchOutput } from "../lib/os/output_alive.ts";

/** The part of a Node-style writable stream we use (`process.stdout`, a test double). */
export interface WritableLike {
  write(chunk: string | Uint8Array, callback?: (error?: Error | null) => void): boolean;
  on(event: "error", listener: (error: Error) => void): unknown;
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
  /** Bytes written but not yet handed to the system (Node's `writableLength`). */
  readonly writableLength?: number | undefined;
  /**
   * Whether the reader has gone away, told without writing (a test double's;
   * for this process's stdout, lib/os/output_alive.ts asks poll(2)).
   */
  readerGone?(): boolean;
}

/**
 * Streams whose write threw. Deno's `process.stdout` throws a failed write
 * (ENOSPC, EAGAIN) instead of calling back with it, and then holds every
 * later write as waiting behind the failed one: nothing will be flushed.
 */
const failedStreams = new WeakSet<WritableLike>();

/** Linux's errno values met here. */
const EINTR = 4;
const EAGAIN = 11;
const EPIPE = 32;
/**
 * How long a write to a full pipe waits on the thread that answers signals
 * before it waits on a pool thread instead (a signal ends the wait at once).
 */
const SYNC_WAIT_MS = 20;
/** fcntl(2) commands and the flag for a non-blocking descriptor (Linux). */
const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;

/** The FFI of Deno that {@linkcode rawStdout} needs. */
interface DenoFfi {
  dlopen(
    path: string,
    symbols: Record<string, { parameters: string[]; result: string }>,
  ): { symbols: Record<string, (...args: unknown[]) => unknown> };
  UnsafePointerView: new (pointer: unknown) => { getInt32(offset?: number): number };
  permissions: { querySync(descriptor: { name: "ffi" }): { state: string } };
}

/**
 * write(2) on fd 1, and poll(2) to wait until it takes more. Both block the
 * thread, as Deno's own writes to a full pipe already do (they are
 * synchronous too); a non-blocking pipe (EAGAIN, where `process.stdout`
 * fails) is waited for with poll(2).
 */
interface RawStdout {
  /** Bytes written, or the negated errno. */
  write(bytes: Uint8Array): number;
  /** Waits until fd 1 can be written (or has failed, which the next write tells). */
  waitWritable(): void;
  /**
   * poll(2) for POLLOUT on this thread for at most `ms`: whether fd 1 can
   * be written (or has failed) now; false on the timeout or a signal.
   */
  writableWithin(ms: number): boolean;
  /** fd 1 is a pipe or a socket: a reader that stops reading would block a write. */
  readonly mayBlock: boolean;
  /** write(2) with O_NONBLOCK for this call only: bytes written, or the negated errno (EAGAIN: full). */
  writeNow(bytes: Uint8Array): number;
  /** poll(2) for POLLOUT on a thread of the pool, so this thread stays free for signals. */
  writable(): Promise<unknown>;
}

/**
 * fd 1 through FFI under Deno on Linux with glibc, when FFI is granted and
 * stdout is not a terminal; otherwise undefined (and `process.stdout` it is).
 */
function rawStdout(): RawStdout | undefined {
  const deno = (globalThis as { Deno?: Partial<DenoFfi> }).Deno;
  if (process.platform !== "linux" || typeof deno?.dlopen !== "function") return undefined;
  try {
    if (deno.permissions?.querySync({ name: "ffi" }).state !== "granted") return undefined;
    const { symbols } = deno.dlopen("libc.so.6", {
      write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
      poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
      pollOnThread: {
        name: "poll",
        parameters: ["buffer", "u64", "i32"],
        result: "i32",
        nonblocking: true,
      },
      fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
      __errno_location: { parameters: [], result: "pointer" },
    } as Record<string, { parameters: string[]; result: string }>);
    const View = deno.UnsafePointerView!;
    const errno = () => new View(symbols.__errno_location!()).getInt32(0);
    // struct pollfd { int fd; short events = POLLOUT; short revents; }
    const pollfd = new Uint8Array([1, 0, 0, 0, 4, 0, 0, 0]);
    const threadPollfd = new Uint8Array(pollfd);
    const write = (bytes: Uint8Array) => {
      const n = Number(symbols.write!(1, bytes, BigInt(bytes.length)));
      return n >= 0 ? n : -errno();
    };
    let mayBlock = false;
    try {
      const st = fstatSync(1);
      mayBlock = st.isFIFO() || st.isSocket();
    } catch {
      // Not to be told: as before.
    }
    return {
      write,
      waitWritable() {
        while (Number(symbols.poll!(pollfd, 1n, -1)) < 0 && errno() === EINTR) {
          // Interrupted by a signal: wait again.
        }
      },
      writableWithin: (ms) => Number(symbols.poll!(pollfd, 1n, ms)) > 0,
      mayBlock,
      writeNow(bytes) {
        const flags = Number(symbols.fcntl!(1, F_GETFL, 0));
        if (flags < 0 || (flags & O_NONBLOCK) !== 0) return write(bytes);
        symbols.fcntl!(1, F_SETFL, flags | O_NONBLOCK);
        try {
          return write(bytes);
        } finally {
          symbols.fcntl!(1, F_SETFL, flags);
        }
      },
      writable: () => symbols.pollOnThread!(threadPollfd, 1n, -1) as Promise<unknown>,
    };
  } catch {
    // No glibc, a missing symbol: process.stdout it is.
    return undefined;
  }
}

/**
 * stdout was closed by the reader (EPIPE). Commands let it propagate; the
 * CLI then exits with status 0 and prints nothing.
 */
export class BrokenPipeError extends Error {
  constructor(options?: ErrorOptions) {
    super("stdout closed", options);
    this.name = "BrokenPipeError";
  }
}

/** Whether `err` is the {@linkcode BrokenPipeError} of stdout (not an RPC connection's EPIPE). */
export function isBrokenPipe(err: unknown): boolean {
  return err instanceof Error && err.name === "BrokenPipeError";
}

/**
 * Whether `err` ends the command's output: stdout's reader gone
 * ({@linkcode isBrokenPipe}) or a write to it failed
 * ({@linkcode StdoutWriteError}). No failure of the file or URL at hand: a
 * command that goes on to the next one would fail each in turn (coreutils
 * stops at its first failed write).
 */
export function isStdoutFailure(err: unknown): boolean {
  return isBrokenPipe(err) || err instanceof StdoutWriteError;
}

/**
 * Writing to stdout failed otherwise than by its reader going away (ENOSPC
 * on `> /dev/full`, EIO): the command stops and prints
 * `nfs4: write error: No space left on device`, as coreutils does, and
 * exits 1. The system's error is the cause.
 */
export class StdoutWriteError extends Error {
  /** The system's error code (`ENOSPC`), when it has one. */
  readonly code: string | undefined;

  constructor(cause: Error) {
    // strerror(3)'s words, whichever runtime wrote: Deno's message is "No
    // space left on device (os error 28)", Node's and Bun's (the single
    // binary's) "ENOSPC: no space left on device, write".
    const code = (cause as { code?: unknown }).code;
    const why = cause instanceof Error ? cause.message || cause.name : String(cause);
    super(`write error: ${errnoText(code) ?? why.replace(/ \(os error \d+\)$/, "")}`, { cause });
    this.name = "StdoutWriteError";
    this.code = typeof code === "string" ? code : undefined;
  }
}

/** The Outputs that have writes waiting, by stream ({@linkcode outputDrained}). */
const busyOutputs = new WeakMap<WritableLike, Set<Output>>();

function isEpipe(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "EPIPE";
}

/**
 * The Outputs over each stream, told of its 'error' events by its one
 * listener; held weakly, so that an Output done with is collected.
 */
const outputsOf = new WeakMap<WritableLike, Set<WeakRef<Output>>>();

/** Has `output.streamFailed` called on `stream`'s errors while `output` lives. */
function listenForErrors(stream: WritableLike, output: Output): void {
  let outputs = outputsOf.get(stream);
  if (!outputs) {
    const all = outputs = new Set();
    outputsOf.set(stream, all);
    stream.on("error", (error: Error) => {
      for (const ref of all) {
        const live = ref.deref();
        if (live === undefined) all.delete(ref);
        else live.streamFailed(error);
      }
    });
  }
  for (const ref of outputs) if (ref.deref() === undefined) outputs.delete(ref);
  outputs.add(new WeakRef(output));
}

/**
 * stdout: data, written in order, one awaited chunk at a time.
 *
 * This is where a closed stdout is recognised, for every command: an EPIPE
 * from a write, or from the stream's 'error' event, becomes a
 * {@linkcode BrokenPipeError} that awaited writes throw, and aborts
 * {@linkcode Output.closed}, which commands that run until told to stop
 * (renew-watch) listen to. The command then ends through its ordinary
 * `finally` (CLOSE, LOCKU, DESTROY_SESSION) and `run()` exits 0.
 */
export class Output {
  readonly #stream: WritableLike;
  readonly #closed = new AbortController();
  #error: Error | undefined;
  /**
   * fd 1 itself, for bytes, when the stream is this process's stdout under
   * Deno: null until the first bytes are written, undefined when not.
   */
  #raw: RawStdout | undefined | null;
  /** Why every write now rejects ({@linkcode Output.abandon}), and the wait that rejects with it. */
  #abandoned: Error | undefined;
  readonly #abandon = Promise.withResolvers<never>();

  constructor(stream: WritableLike) {
    this.#abandon.promise.catch(() => {});
    this.#stream = stream;
    this.#raw = stream === process.stdout && !stream.isTTY && "Deno" in globalThis
      ? null
      : undefined;
    // An 'error' event without a listener would crash the process. One
    // listener per stream, whatever the number of Outputs over it (each verb
    // of `nfs4 shell` makes one): a listener each was a leak, and Node's
    // MaxListenersExceededWarning after ten verbs.
    listenForErrors(stream, this);
    // Started with stdout closed (`>&-`): the runtime's /dev/null there is
    // not where the output was asked to go. Every write fails as write(2)
    // on a closed descriptor would, EBADF (`nfs4: write error: Bad file
    // descriptor`, exit 1), as coreutils' cat says, instead of exit 0 with
    // the output thrown away.
    if (stream === process.stdout && closedAtStart(1)) {
      this.#error = new StdoutWriteError(
        Object.assign(new Error("Bad file descriptor"), { code: "EBADF" }),
      );
    }
  }

  /** The stream's 'error' event (listenForErrors): later writes reject with it. */
  streamFailed(error: Error): void {
    void this.#wrap(error);
  }

  /**
   * Aborted, with a {@linkcode BrokenPipeError} as its reason, once a write
   * has found stdout closed by its reader. A write is the only way to find
   * out: a command that prints nothing for a while notices at its next line.
   */
  get closed(): AbortSignal {
    return this.#closed.signal;
  }

  /**
   * Asks, without writing, whether stdout's reader has gone away (a pipe
   * whose reader exited, a socket closed by its peer: lib/os/output_alive.ts),
   * and when it has, ends as a write would have: {@linkcode Output.closed}
   * is aborted and a {@linkcode BrokenPipeError} is thrown, so the command
   * ends through its ordinary `finally` (CLOSE, DESTROY_SESSION) and exits
   * as on EPIPE. For commands that may not write for a long time (`tail
   * -f` of an idle file). Nothing is known, and nothing thrown, where stdout
   * is a terminal or a file, or poll(2) cannot be reached: the next write
   * tells, as before.
   */
  throwIfReaderGone(): void {
    if (this.#watch === null) {
      this.#watch = this.#stream.readerGone
        ? { readerGone: () => this.#stream.readerGone?.() === true }
        : this.#stream === process.stdout
        ? watchOutput(1)
        : undefined;
    }
    if (this.#watch?.readerGone()) {
      throw this.#wrap(Object.assign(new Error("stdout's reader is gone"), { code: "EPIPE" }));
    }
  }

  /** How {@linkcode Output.throwIfReaderGone} asks: null until first asked. */
  #watch: OutputWatch | undefined | null = null;

  /** Whether stdout is a terminal (columns, escaping of control characters). */
  get isTTY(): boolean {
    return this.#stream.isTTY === true;
  }

  /** The terminal's width, when stdout is a terminal that knows it. */
  get columns(): number | undefined {
    const columns = this.#stream.columns;
    return typeof columns === "number" && columns > 0 ? columns : undefined;
  }

  /**
   * Bytes handed to {@linkcode Output.write} that stdout has not taken yet
   * (a full pipe, a stream not yet called back); 0 when nothing waits.
   */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /**
   * Resolves once at most `bytes` are pending (at once when so). Never
   * rejects: a write that fails waits no longer, and its own promise says
   * why.
   */
  room(bytes: number): Promise<void> {
    if (this.#pendingBytes <= bytes) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#roomWaits.push({ bytes, resolve });
    return promise;
  }

  /** Resolves once every write made so far has ended (taken or failed); never rejects. */
  drained(): Promise<void> {
    return this.room(0);
  }

  #pendingBytes = 0;
  readonly #roomWaits: { bytes: number; resolve: () => void }[] = [];

  /**
   * Counts `bytes` more as pending (fewer, once taken or failed), keeps
   * {@linkcode outputDrained}'s list of busy Outputs and wakes those
   * waiting for room.
   */
  #pending(bytes: number): void {
    const before = this.#pendingBytes;
    const after = this.#pendingBytes = before + bytes;
    if (before === 0 && after > 0) {
      let busy = busyOutputs.get(this.#stream);
      if (!busy) busyOutputs.set(this.#stream, busy = new Set());
      busy.add(this);
    } else if (before > 0 && after === 0) {
      busyOutputs.get(this.#stream)?.delete(this);
    }
    if (bytes >= 0 || this.#roomWaits.length === 0) return;
    let kept = 0;
    for (const wait of this.#roomWaits) {
      if (after <= wait.bytes) wait.resolve();
      else this.#roomWaits[kept++] = wait;
    }
    this.#roomWaits.length = kept;
  }

  /**
   * Writes `chunk` and resolves once the stream has taken it. Throws
   * {@linkcode BrokenPipeError} when the reader has gone away.
   */
  write(chunk: string | Uint8Array): Promise<void> {
    // Not an async function: `cat` writes every READ through here, and an
    // async frame per chunk was garbage the collector had to promote. What
    // is thrown before the write still comes back as a rejection.
    try {
      if (this.#error) throw this.#wrap(this.#error);
      if (this.#abandoned) throw this.#abandoned;
      if (chunk.length === 0) return Promise.resolve();
      // Text holding escaped bytes (names that are not UTF-8) goes out as those bytes.
      if (typeof chunk === "string" && !chunk.isWellFormed()) chunk = encodeByteString(chunk);
      if (this.#raw !== undefined && !this.#stream.writableLength) {
        this.#raw ??= rawStdout();
        // A pipe: text too goes through the waits the command can be stopped in.
        if (typeof chunk === "string" && this.#raw?.mayBlock) {
          chunk = new TextEncoder().encode(chunk);
        }
      }
      if (typeof chunk !== "string" && this.#raw && !this.#stream.writableLength) {
        if (this.#raw.mayBlock) return this.#writeOrWait(this.#raw, chunk);
        const rest = this.#writeRaw(this.#raw, chunk);
        if (rest === undefined) return Promise.resolve();
        chunk = rest;
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#streamWrite(chunk, true);
  }

  /**
   * Stops writing: a write waiting for a reader that stopped reading, and
   * every later write, rejects with `reason` (the command was interrupted,
   * and must get on with releasing its state).
   */
  abandon(reason: Error): void {
    if (this.#abandoned) return;
    this.#abandoned = reason;
    this.#abandon.reject(reason);
    for (const abandoned of this.#waits) abandoned(reason);
    this.#waits.clear();
  }

  /**
   * Writes `chunk` to fd 1, a pipe or a socket, without ever blocking this
   * thread. What the pipe takes at once is written here and now; the rest
   * waits (`#writeRawWaiting`), and so do the writes that come after it,
   * in order.
   */
  #writeOrWait(raw: RawStdout, chunk: Uint8Array): Promise<void> {
    if (this.#waiting) {
      return this.#queue(() => this.#writeRawWaiting(raw, chunk, 0), chunk.length);
    }
    let done = 0;
    while (done < chunk.length) {
      const n = raw.writeNow(done === 0 ? chunk : chunk.subarray(done));
      if (n > 0) done += n;
      else if (n === -EINTR) continue;
      // A reader that keeps up frees room within a moment: waiting for it
      // here costs one poll(2), where a wait on a pool thread costs a hop
      // and a promise (a 64 KiB pipe fills 16 times per MiB). A signal
      // (EINTR) or a reader slower than that makes the wait asynchronous.
      else if (n !== -EAGAIN || !raw.writableWithin(SYNC_WAIT_MS)) {
        return this.#queue(() => this.#writeRawWaiting(raw, chunk, done), chunk.length - done);
      }
    }
    return Promise.resolve();
  }

  /** A write of `bytes` that runs once the waiting one before it has ended. */
  #queue(write: () => Promise<void>, bytes: number): Promise<void> {
    this.#pending(bytes);
    const next = (this.#waiting ?? Promise.resolve()).catch(() => {}).then(write);
    const settled = next.catch(() => {}).then(() => {
      this.#pending(-bytes);
      if (this.#waiting === settled) this.#waiting = undefined;
    });
    this.#waiting = settled;
    return next;
  }

  /** A write to fd 1 that waits for a full pipe (or socket) on a thread of the pool. */
  #waiting: Promise<void> | undefined;

  /**
   * Writes `chunk` from `done` on to fd 1, a pipe or a socket, without ever
   * blocking this thread: a full pipe is waited for on a thread of the pool,
   * and the wait gives way to {@linkcode Output.abandon}. Failures as in
   * `#writeRaw`.
   */
  async #writeRawWaiting(raw: RawStdout, chunk: Uint8Array, done: number): Promise<void> {
    if (this.#error) throw this.#wrap(this.#error);
    if (!this.#raw) {
      // An earlier chunk fell back to the stream: this one follows it there.
      return await this.#streamWrite(chunk.subarray(done), false);
    }
    while (done < chunk.length) {
      if (this.#abandoned) throw this.#abandoned;
      const n = raw.writeNow(done === 0 ? chunk : chunk.subarray(done));
      if (n > 0) done += n;
      else if (n === -EINTR) continue;
      else if (n === -EAGAIN) await Promise.race([raw.writable(), this.#abandon.promise]);
      else if (n === -EPIPE) {
        throw this.#wrap(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
      } else {
        this.#raw = undefined;
        return await this.#streamWrite(chunk.subarray(done), false);
      }
    }
  }

  /**
   * `chunk` through the stream, resolved once it has taken it; rejected at
   * once by {@linkcode Output.abandon} (a stream, as Bun's stdout, that
   * queues what a stalled reader has not taken would never call back).
   * `counted`: pending until then (not when a queued write, counted
   * already, falls back to the stream).
   */
  #streamWrite(chunk: string | Uint8Array, counted: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const bytes = counted ? chunk.length : 0;
      let waiting = true;
      const ended = () => {
        if (!waiting) return false;
        waiting = false;
        this.#waits.delete(abandoned);
        if (bytes) this.#pending(-bytes);
        return true;
      };
      const abandoned = (reason: Error) => {
        if (ended()) reject(reason);
      };
      this.#waits.add(abandoned);
      if (bytes) this.#pending(bytes);
      try {
        this.#stream.write(chunk, (error) => {
          // Told even when abandoned: a closed stdout still aborts `closed`.
          const failure = error ? this.#wrap(error) : undefined;
          if (!ended()) return;
          if (failure) reject(failure);
          else resolve();
        });
      } catch (error) {
        ended();
        failedStreams.add(this.#stream);
        reject(this.#wrap(error as Error));
      }
    });
  }

  /** The stream writes not called back yet: {@linkcode Output.abandon} rejects them. */
  readonly #waits = new Set<(reason: Error) => void>();

  /**
   * Writes `chunk` without waiting for it (a live status line, an event as
   * it happens). Nothing is thrown or rejected: a closed stdout aborts
   * {@linkcode Output.closed}, any other failure is thrown by the next
   * awaited {@linkcode Output.write}.
   */
  post(chunk: string | Uint8Array): void {
    this.write(chunk).catch((e) => {
      if (e instanceof StdoutWriteError) this.#postFailed ??= e;
    });
  }

  /**
   * A write made with {@linkcode Output.post} that failed otherwise than by
   * its reader going away (`> /dev/full`): a command that never awaits a
   * write after it (`mv -v`, `renew-watch`) would otherwise end 0 with
   * nothing said. cli/program.ts run() says it and exits 1, as coreutils'
   * close_stdout() does.
   */
  get postFailed(): StdoutWriteError | undefined {
    return this.#postFailed;
  }

  #postFailed: StdoutWriteError | undefined;

  /** Writes lines, each followed by a newline, in chunks of about 64 KiB. */
  async writeLines(lines: Iterable<string>): Promise<void> {
    let batch = "";
    for (const line of lines) {
      batch += line + "\n";
      if (batch.length >= 65536) {
        await this.write(batch);
        batch = "";
      }
    }
    await this.write(batch);
  }

  /**
   * Writes `chunk` to fd 1 and answers undefined, or what is left of it for
   * the stream when write(2) failed otherwise than on a closed pipe: the
   * stream then takes that and every later chunk, and fails as it always
   * did (ENOSPC, EIO: the same message). Only called while the stream holds
   * nothing unwritten, so the bytes stay in order; Deno writes text through
   * the stream at once (flushing its line buffer each time).
   */
  #writeRaw(raw: RawStdout, chunk: Uint8Array): Uint8Array | undefined {
    let done = 0;
    while (done < chunk.length) {
      const n = raw.write(done === 0 ? chunk : chunk.subarray(done));
      if (n > 0) done += n;
      else if (n === -EINTR) continue;
      else if (n === -EAGAIN) raw.waitWritable();
      else if (n === -EPIPE) {
        throw this.#wrap(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
      } else {
        this.#raw = undefined;
        return chunk.subarray(done);
      }
    }
    return undefined;
  }

  #wrap(error: Error): Error {
    if (!isEpipe(error) && !isBrokenPipe(error)) {
      const failure = error instanceof StdoutWriteError ? error : new StdoutWriteError(error);
      this.#error ??= failure;
      return failure;
    }
    this.#error ??= error;
    const broken = isBrokenPipe(error) ? error : new BrokenPipeError({ cause: error });
    if (!this.#closed.signal.aborted) this.#closed.abort(broken);
    return broken;
  }
}

/** Streams whose 'error' event came: diagnostics to them are dropped from then on. */
const erroredStreams = new WeakSet<WritableLike>();
/** Streams that have the one 'error' listener shared by every Diagnostics over them. */
const diagnosedStreams = new WeakSet<WritableLike>();

/** stderr: diagnostics and trace lines, written without waiting, failures ignored. */
export class Diagnostics {
  readonly #stream: WritableLike;
  #closed = false;

  constructor(stream: WritableLike) {
    this.#stream = stream;
    // An 'error' event without a listener would crash the process. One
    // listener per stream, as Output's: `nfs4 shell` makes a Diagnostics
    // per verb, and a listener each piled up for the whole session (Node's
    // MaxListenersExceededWarning after ten verbs).
    if (!diagnosedStreams.has(stream)) {
      diagnosedStreams.add(stream);
      stream.on("error", () => erroredStreams.add(stream));
    }
  }

  /** Writes `text` and a newline. */
  line(text: string): void {
    if (this.#closed || erroredStreams.has(this.#stream)) return;
    try {
      this.#stream.write(text + "\n");
    } catch {
      failedStreams.add(this.#stream);
      this.#closed = true;
    }
  }

  /** Writes `text` as is (commander's help and messages end in their own newline). */
  raw(text: string): void {
    if (this.#closed || erroredStreams.has(this.#stream)) return;
    try {
      this.#stream.write(text);
    } catch {
      failedStreams.add(this.#stream);
      this.#closed = true;
    }
  }
}

/**
 * Resolves once every write made so far through an {@linkcode Output} on
 * `stream` has ended (taken or failed), including those nobody awaited;
 * {@linkcode flushed} then covers the stream's own buffer.
 */
export function outputDrained(stream: WritableLike): Promise<void> {
  const busy = busyOutputs.get(stream);
  if (!busy || busy.size === 0) return Promise.resolve();
  return Promise.all([...busy].map((output) => output.drained())).then(() => {});
}

/** Resolves once everything written to `stream` so far has been flushed (or failed). */
export function flushed(stream: WritableLike): Promise<void> {
  if (failedStreams.has(stream)) return Promise.resolve();
  return new Promise((resolve) => {
    try {
      stream.write("", () => resolve());
    } catch {
      resolve();
    }
  });
}
