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
 * @module
 */

import { encodeByteString } from "../lib/client/names.ts";

/** The part of a Node-style writable stream we use (`process.stdout`, a test double). */
export interface WritableLike {
  write(chunk: string | Uint8Array, callback?: (error?: Error | null) => void): boolean;
  on(event: "error", listener: (error: Error) => void): unknown;
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
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

  constructor(stream: WritableLike) {
    this.#stream = stream;
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
  async write(chunk: string | Uint8Array): Promise<void> {
    if (this.#error) throw this.#wrap(this.#error);
    if (chunk.length === 0) return;
    // Text holding escaped bytes (names that are not UTF-8) goes out as those bytes.
    if (typeof chunk === "string" && !chunk.isWellFormed()) chunk = encodeByteString(chunk);
    await new Promise<void>((resolve, reject) => {
      try {
        this.#stream.write(chunk, (error) => {
          if (error) reject(this.#wrap(error));
          else resolve();
        });
      } catch (error) {
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
      this.#closed = true;
    }
  }

  /** Writes `text` as is (commander's help and messages end in their own newline). */
  raw(text: string): void {
    if (this.#closed) return;
    try {
      this.#stream.write(text);
    } catch {
      this.#closed = true;
    }
  }
}

/** Resolves once everything written to `stream` so far has been flushed (or failed). */
export function flushed(stream: WritableLike): Promise<void> {
  return new Promise((resolve) => {
    try {
      stream.write("", () => resolve());
    } catch {
      resolve();
    }
  });
}
