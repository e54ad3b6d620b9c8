/**
 * Where `--trace` goes and in what form: stderr, or the file of
 * `--trace-file` (created or truncated, each line written at once with a
 * synchronous write, so a crash keeps every line before it); text or JSON
 * lines; the categories asked for, carried on the sink so that the library
 * builds nothing for the others (lib/client/trace.ts `filteredSink`).
 *
 * With `--trace=json` every line this invocation writes to the trace stream
 * is JSON: the `nfs4: ...` messages become events of category `error`
 * (`{"t":1.2,"cat":"error","event":"error","detail":"nfs://h/vfs/x: No such
 * file or directory (NFS4ERR_NOENT)","url":"nfs://h/vfs/x","status":"NFS4ERR_NOENT"}`).
 * When the trace goes to a file, stderr keeps the human lines as well.
 * @module
 */

import { closeSync, constants, openSync, statSync, writeSync } from "node:fs";
import {
  filteredSink,
  formatTraceJson,
  formatTraceText,
  type TraceEvent,
  type TraceSink,
} from "../lib/client/trace.ts";
import { errnoText } from "../lib/client/errno_text.ts";
import type { NfsUrl } from "../lib/client/url.ts";
import type { GlobalOptions } from "./globals.ts";
import type { Diagnostics } from "./output.ts";

/** The trace stream of one invocation. */
export class TraceOutput {
  readonly format: "text" | "json";
  /** The trace file, when `--trace-file` named one. */
  readonly file: string | undefined;
  readonly #diag: Diagnostics;
  /** Where error events count their time from: the first client's trace clock, once seen. */
  #start: number;
  #startSeen = false;
  readonly #sink: TraceSink;
  #fd: number | undefined;
  #closed = false;

  /**
   * Opens the trace stream `globals` ask for (`--trace`, `--trace-file`);
   * `start` is the instant error events count their time from. Throws when
   * the trace file cannot be created.
   */
  constructor(diag: Diagnostics, globals: GlobalOptions, start = performance.now()) {
    this.format = globals.trace ?? "text";
    this.file = globals.traceFile;
    this.#diag = diag;
    this.#start = start;
    if (this.file !== undefined) {
      try {
        this.#fd = openTraceFile(this.file);
      } catch (err) {
        const code = (err as { code?: string }).code;
        throw new Error(
          `--trace-file ${this.file}: ${code ? openErrorText(code) : String(err)}`,
          { cause: err },
        );
      }
    }
    const format = this.format === "json" ? formatTraceJson : formatTraceText;
    const print = (event: TraceEvent) => {
      this.#learnStart(event);
      this.line(format(event));
    };
    const filter = globals.traceFilter;
    if (filter?.categories) {
      // The library delivers only these (and builds nothing for the rest);
      // the check here keeps the output right whoever calls the sink.
      const wanted = new Set<string>([...filter.categories, "server"]);
      this.#sink = filteredSink((event) => {
        if (wanted.has(event.category)) print(event);
      }, filter);
    } else {
      this.#sink = print;
    }
  }

  /** The sink to connect clients with: prints what the filter asks for. */
  get sink(): TraceSink {
    return this.#sink;
  }

  get json(): boolean {
    return this.format === "json";
  }

  /** Whether the trace goes to a file (and stderr stays for people). */
  get toFile(): boolean {
    return this.#fd !== undefined;
  }

  /**
   * A client's events count seconds from its own start; its first event,
   * delivered as it happens, tells when that was, so error events share
   * its time line.
   */
  #learnStart(event: TraceEvent): void {
    if (this.#startSeen) return;
    this.#startSeen = true;
    this.#start = performance.now() - event.time * 1000;
  }

  /** Writes one line to the trace stream. */
  line(text: string): void {
    if (this.#closed) return;
    if (this.#fd === undefined) {
      this.#diag.line(text);
      return;
    }
    try {
      writeSync(this.#fd, text + "\n");
    } catch {
      // A full disk or a closed file must not end the command; stderr still says what matters.
    }
  }

  /**
   * A message the command prints (`nfs4: MESSAGE`) as an event of category
   * `error`: `event` is `warning` for `warning: ...` messages, else `error`;
   * the URL and the NFS status of `err` go with it.
   */
  message(message: string, err?: unknown, url?: NfsUrl, note = false): void {
    const warning = message.startsWith("warning: ");
    const status = statusOf(err);
    const event: TraceEvent = {
      time: (performance.now() - this.#start) / 1000,
      category: "error",
      event: note ? "note" : warning ? "warning" : "error",
      detail: message,
      ...(url !== undefined || status !== undefined
        ? {
          data: {
            ...(url !== undefined ? { url: url.text } : {}),
            ...(status !== undefined ? { status } : {}),
          },
        }
        : {}),
    };
    this.line(this.json ? formatTraceJson(event) : formatTraceText(event));
  }

  /** Ends the trace: closes the file; later lines go nowhere. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#fd === undefined) return;
    try {
      closeSync(this.#fd);
    } catch {
      // Nothing to do about it.
    }
  }
}

/** The NFS status name of an error or of the first error in its cause chain. */
function statusOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 16; depth++) {
    const name = (e as { statusName?: unknown }).statusName;
    if (typeof name === "string") return name;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** How long `--trace-file FIFO` waits for the FIFO's reader. */
const FIFO_READER_WAIT_MS = 2_000;
/** How often it looks meanwhile. */
const FIFO_READER_POLL_MS = 50;

/**
 * Creates (or truncates) `path` for the trace. A FIFO waits for its reader
 * at most FIFO_READER_WAIT_MS, looking every FIFO_READER_POLL_MS with an
 * O_NONBLOCK open (ENXIO while no process reads it; fifo(7)): a blocking
 * open(2) would wait for good, deaf to Ctrl-C, since the trace opens
 * synchronously, before the command has anything to wait on. With a
 * reader there, the trace's own open returns at once; the probing end is
 * closed only after it, so the reader never sees an end of input between.
 */
function openTraceFile(path: string): number {
  let isFifo = false;
  try {
    isFifo = statSync(path).isFIFO();
  } catch {
    // Not there: created below, or the reason said.
  }
  if (!isFifo) return openSync(path, "w");
  const until = performance.now() + FIFO_READER_WAIT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    let probe: number;
    try {
      probe = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      if ((err as { code?: string }).code !== "ENXIO" || performance.now() >= until) throw err;
      Atomics.wait(pause, 0, 0, FIFO_READER_POLL_MS);
      continue;
    }
    try {
      return openSync(path, "w");
    } finally {
      closeSync(probe);
    }
  }
}

/** Why a trace file could not be created, as coreutils says it (strerror(3), lib/client/errno_text.ts). */
function openErrorText(code: string): string {
  if (code === "ENXIO") return "no process has the FIFO open for reading (start its reader first)";
  return errnoText(code) ?? code;
}
