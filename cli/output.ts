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
 * @module
 */

import process from "node:process";
import { encodeByteString } from "../lib/client/names.ts";

/** The part of a Node-style writable stream we use (`process.stdout`, a test double). */
export interface WritableLike {
  write(chunk: string | Uint8Array, callback?: (error?: Error | null) => void): boolean;
  on(event: "error", listener: (error: Error) => void): unknown;
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
  /** Bytes written but not yet handed to the system (Node's `writableLength`). */
  readonly writableLength?: number | undefined;
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
      __errno_location: { parameters: [], result: "pointer" },
    });
    const View = deno.UnsafePointerView!;
    const errno = () => new View(symbols.__errno_location!()).getInt32(0);
    // struct pollfd { int fd; short events = POLLOUT; short revents; }
    const pollfd = new Uint8Array([1, 0, 0, 0, 4, 0, 0, 0]);
    return {
      write(bytes) {
        const n = Number(symbols.write!(1, bytes, BigInt(bytes.length)));
        return n >= 0 ? n : -errno();
      },
      waitWritable() {
        while (Number(symbols.poll!(pollfd, 1n, -1)) < 0 && errno() === EINTR) {
          // Interrupted by a signal: wait again.
        }
      },
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

function isEpipe(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "EPIPE";
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

  constructor(stream: WritableLike) {
    this.#stream = stream;
    this.#raw = stream === process.stdout && !stream.isTTY && "Deno" in globalThis
      ? null
      : undefined;
    // An 'error' event without a listener would crash the process.
    stream.on("error", (error) => void this.#wrap(error));
  }

  /**
   * Aborted, with a {@linkcode BrokenPipeError} as its reason, once a write
   * has found stdout closed by its reader. A write is the only way to find
   * out: a command that prints nothing for a while notices at its next line.
   */
  get closed(): AbortSignal {
    return this.#closed.signal;
  }

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
   * Writes `chunk` and resolves once the stream has taken it. Throws
   * {@linkcode BrokenPipeError} when the reader has gone away.
   */
  write(chunk: string | Uint8Array): Promise<void> {
    // Not an async function: `cat` writes every READ through here, and an
    // async frame per chunk was garbage the collector had to promote. What
    // is thrown before the write still comes back as a rejection.
    try {
      if (this.#error) throw this.#wrap(this.#error);
      if (chunk.length === 0) return Promise.resolve();
      // Text holding escaped bytes (names that are not UTF-8) goes out as those bytes.
      if (typeof chunk === "string" && !chunk.isWellFormed()) chunk = encodeByteString(chunk);
      if (typeof chunk !== "string" && this.#raw !== undefined && !this.#stream.writableLength) {
        this.#raw ??= rawStdout();
        const rest = this.#raw ? this.#writeRaw(this.#raw, chunk) : chunk;
        if (rest === undefined) return Promise.resolve();
        chunk = rest;
      }
    } catch (error) {
      return Promise.reject(error);
    }
    const bytes = chunk;
    return new Promise<void>((resolve, reject) => {
      try {
        this.#stream.write(bytes, (error) => {
          if (error) reject(this.#wrap(error));
          else resolve();
        });
      } catch (error) {
        failedStreams.add(this.#stream);
        reject(this.#wrap(error as Error));
      }
    });
  }

  /**
   * Writes `chunk` without waiting for it (a live status line, an event as
   * it happens). Nothing is thrown or rejected: a closed stdout aborts
   * {@linkcode Output.closed}, any other failure is thrown by the next
   * awaited {@linkcode Output.write}.
   */
  post(chunk: string | Uint8Array): void {
    this.write(chunk).catch(() => {});
  }

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
    this.#error ??= error;
    if (!isEpipe(error) && !isBrokenPipe(error)) return error;
    const broken = isBrokenPipe(error) ? error : new BrokenPipeError({ cause: error });
    if (!this.#closed.signal.aborted) this.#closed.abort(broken);
    return broken;
  }
}

/** stderr: diagnostics and trace lines, written without waiting, failures ignored. */
export class Diagnostics {
  readonly #stream: WritableLike;
  #closed = false;

  constructor(stream: WritableLike) {
    this.#stream = stream;
    stream.on("error", () => {
      this.#closed = true;
    });
  }

  /** Writes `text` and a newline. */
  line(text: string): void {
    if (this.#closed) return;
    try {
      this.#stream.write(text + "\n");
    } catch {
      failedStreams.add(this.#stream);
      this.#closed = true;
    }
  }

  /** Writes `text` as is (commander's help and messages end in their own newline). */
  raw(text: string): void {
    if (this.#closed) return;
    try {
      this.#stream.write(text);
    } catch {
      failedStreams.add(this.#stream);
      this.#closed = true;
    }
  }
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
