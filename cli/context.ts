/**
 * What a command runs with: its streams, the clock, how to connect, and the
 * bookkeeping of failures. `run()` creates one per invocation; tests create
 * one around fake streams and a fake client.
 * @module
 */

import process from "node:process";
import type { Nfs4ClientApi } from "../lib/client/api.ts";
import { formatHostPort, type NfsUrl } from "../lib/client/url.ts";
import { type TraceSink, visible } from "../lib/client/trace.ts";
import { describeError, noteConnectUrl } from "./errors.ts";
import type { GlobalOptions } from "./globals.ts";
import type { IdDatabase } from "./ls_owners.ts";
import { Diagnostics, isStdoutFailure, Output, type WritableLike } from "./output.ts";
import { TraceOutput } from "./trace_output.ts";

/** Connects to the server of `url` with the global options in force (cli/connect.ts). */
export type ConnectFn = (
  url: NfsUrl,
  globals: GlobalOptions,
  onTrace?: TraceSink,
  extra?: ConnectExtras,
) => Promise<Nfs4ClientApi>;

/** What a command adds to the global options when it connects. */
export interface ConnectExtras {
  /** Aborting interrupts every operation of the client (SIGINT/SIGTERM). */
  readonly signal?: AbortSignal;
  /** Take locks lost in recovery again (`nfs4 lock --reacquire`). */
  readonly reacquireLostLocks?: boolean;
}

/** The outside world of one `nfs4` invocation. */
export interface CliIo {
  readonly stdout: WritableLike;
  readonly stderr: WritableLike;
  /** Environment variables (`COLUMNS`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The current time (for `ls -l`'s six-months rule). */
  readonly now: () => Date;
  /** IANA time zone for printed times; the process's local zone when undefined. */
  readonly timeZone?: string | undefined;
  readonly connect: ConnectFn;
  /**
   * Subscribes to SIGINT and SIGTERM (cli/main.ts); the listener answers
   * whether it took the signal as an interrupt. Returns the unsubscribe.
   */
  readonly signals?: ((listener: (signal: StopSignal) => boolean) => () => void) | undefined;
  /**
   * This host's users and groups, for `ls -l`'s owner names (cli/main.ts
   * reads /etc/passwd and /etc/group); none when undefined.
   */
  readonly ids?: (() => IdDatabase) | undefined;
  /**
   * Ends the process now with `status`: a command's last resort after a
   * signal when releasing hangs. `nfs4 shell` makes it end the verb only.
   * Default: `process.exit`.
   */
  readonly exit?: ((status: number) => void) | undefined;
  /**
   * The next line of input, for a question's answer (`rm -i`): stdin by
   * default; `nfs4 shell` answers from its line editor or its script.
   */
  readonly readAnswer?: (() => Promise<string | undefined>) | undefined;
  /**
   * Words a message line of the command on stderr (without `nfs4: `):
   * `nfs4 shell` names the verb in it (`cat: URL: ...`), as an interactive
   * shell names the builtin that failed. As it is when undefined.
   */
  readonly messageLine?: ((message: string) => string) | undefined;
}

/** The signals that stop a command. */
export type StopSignal = "SIGINT" | "SIGTERM";

/**
 * The command was stopped by SIGINT or SIGTERM: every operation in flight
 * rejects with this, and the command exits 130 or 143 (no message).
 */
export class Interrupted extends Error {
  readonly signal: StopSignal;

  constructor(signal: StopSignal) {
    super(`interrupted by ${signal}`);
    this.name = "Interrupted";
    this.signal = signal;
  }
}

/** One invocation: streams, and whether anything has failed. */
export class CliContext {
  readonly io: CliIo;
  /** stdout. */
  readonly out: Output;
  /** stderr. */
  readonly diag: Diagnostics;
  /** Set when a command reported a failure and went on. */
  failed = false;
  /**
   * The exit status a command decided itself (`nfs4 shell` ends with its
   * failing verb's status); wins over `failed`.
   */
  exitStatus: number | undefined;
  /** The global options of the command being run, once it has read them. */
  globals: GlobalOptions | undefined;
  /** Aborted (with {@linkcode Interrupted}) when SIGINT or SIGTERM stops the command. */
  readonly interruption = new AbortController();
  /**
   * Set by commands that give SIGINT/SIGTERM a meaning of their own (`cp`
   * removes its temporary, `lock` passes them to COMMAND, `renew-watch`
   * ends its watch): {@linkcode interrupt} then leaves them alone.
   */
  ownsSignals = false;

  /** The first URL of each server the command connected to, by `host:port`. */
  readonly #servers = new Map<string, NfsUrl>();

  constructor(io: CliIo) {
    // Every connection of every command goes through here: a failure to
    // connect remembers the URL it was for, so its message names it.
    const connect: ConnectFn = async (url, globals, onTrace, extra) => {
      const key = formatHostPort(url);
      if (!this.#servers.has(key)) this.#servers.set(key, url);
      try {
        // Every client stops when the command's clients are stopped (SIGINT/SIGTERM).
        return await io.connect(url, globals, onTrace, {
          ...extra,
          signal: this.#clientStop.signal,
        });
      } catch (err) {
        noteConnectUrl(err, url);
        throw err;
      }
    };
    this.io = { ...io, connect };
    this.out = new Output(io.stdout);
    this.diag = new Diagnostics(io.stderr);
  }

  /**
   * The first URL of the server the command connected to, when it used just
   * one: an error that ended the command without a URL of its own is named
   * by it (a path on that server as a URL on it). With several servers the
   * error names its own (a failed connection does, see noteConnectUrl).
   */
  get soleServerUrl(): NfsUrl | undefined {
    return this.#servers.size === 1 ? [...this.#servers.values()][0] : undefined;
  }

  /**
   * Prints `nfs4: <message>` on stderr. With `--trace=json` it is an event
   * of category `error` on the trace stream instead (with the URL and the
   * NFS status of `err`); with `--trace-file` the trace file gets it as
   * well, and stderr keeps the human line.
   */
  error(message: string, err?: unknown, url?: NfsUrl): void {
    this.#message(message, err, url, false);
  }

  /**
   * Prints `nfs4: <message>` on stderr, a note rather than a failure (`lock`'s
   * "holding ..." line): with `--trace=json` an event `note` of the same
   * category as errors' (every stderr line is JSON while that trace is on).
   */
  note(message: string): void {
    this.#message(message, undefined, undefined, true);
  }

  #message(message: string, err: unknown, url: NfsUrl | undefined, note: boolean): void {
    const trace = this.#traceOutput;
    if (trace?.json || trace?.toFile) trace.message(message, err, url, note);
    if (trace?.json && !trace.toFile) return;
    // One line, and nothing for the terminal to act on: a name or an
    // argument may hold a newline or an escape sequence.
    const line = this.io.messageLine?.(message) ?? message;
    this.diag.line(`nfs4: ${visible(line)}`);
  }

  /** Instant this invocation started, the origin of its error events' times. */
  readonly #started = performance.now();
  #traceOutput: TraceOutput | undefined;
  /** Why the trace file could not be created, once tried: not tried again. */
  #traceFailure: { readonly error: unknown } | undefined;

  /**
   * The trace stream `globals` ask for (`--trace`, `--trace-file`), opened
   * on first use and kept for the invocation; undefined without `--trace`.
   * Throws when the trace file cannot be created, and then throws that same
   * error at every later call: the file is opened once (a FIFO without a
   * reader is waited for once, its 2 s, not again when run() reports it).
   */
  traceOutput(globals: GlobalOptions): TraceOutput | undefined {
    if (this.#traceFailure !== undefined) throw this.#traceFailure.error;
    if (this.#traceOutput === undefined && globals.trace !== undefined) {
      try {
        this.#traceOutput = new TraceOutput(this.diag, globals, this.#started);
      } catch (err) {
        this.#traceFailure = { error: err };
        throw err;
      }
    }
    return this.#traceOutput;
  }

  /** Ends the trace (closes `--trace-file`); run() calls it last. */
  closeTrace(): void {
    this.#traceOutput?.close();
  }

  /**
   * SIGINT or SIGTERM arrived: interrupts every client of the command (their
   * operations reject with {@linkcode Interrupted}); closing them then
   * releases what it can within a short bound. False when the command
   * handles signals itself.
   */
  interrupt(signal: StopSignal): boolean {
    if (this.ownsSignals) return false;
    if (!this.interruption.signal.aborted) this.interruption.abort(new Interrupted(signal));
    this.stopClients(signal);
    return true;
  }

  /**
   * Stops every operation of every client of this command now (a request
   * in flight, a wait for a silent server); what follows (cleanup, closing)
   * gets a short window (the state manager's `interrupt()`). Commands that
   * handle signals themselves call this when their signal means "stop".
   */
  stopClients(why: StopSignal | Error): void {
    if (this.#clientStop.signal.aborted) return;
    const reason = typeof why === "string" ? new Interrupted(why) : why;
    this.#clientStop.abort(reason);
    // On a signal, a write stuck on a reader that stopped reading gives way
    // too (a command stopped for a reason of its own may still print its end).
    if (reason instanceof Interrupted) this.out.abandon(reason);
  }

  readonly #clientStop = new AbortController();

  /** Ends the process now with `status` (a second signal): `io.exit`, else `process.exit`. */
  exitNow(status: number): void {
    if (this.io.exit) this.io.exit(status);
    else process.exit(status);
  }

  /**
   * Aborted when the command's clients are stopped: the soft stop of the
   * command's work (cli/program.ts), so nothing new is sent after it while
   * releasing goes on.
   */
  get clientsStopped(): AbortSignal {
    return this.#clientStop.signal;
  }

  /** Starts a command's use of servers; `close()` it in a `finally`. */
  session(globals: GlobalOptions): CommandSession {
    this.globals = globals;
    return new CommandSession(this, globals);
  }
}

/**
 * The clients a command connects (one per server, reused across its URLs)
 * and the reporting of per-URL failures.
 */
export class CommandSession {
  readonly ctx: CliContext;
  readonly globals: GlobalOptions;
  readonly #clients = new Map<string, Promise<Nfs4ClientApi>>();
  readonly #trace: TraceSink | undefined;

  constructor(ctx: CliContext, globals: GlobalOptions) {
    this.ctx = ctx;
    this.globals = globals;
    this.#trace = ctx.traceOutput(globals)?.sink;
  }

  /** stdout. */
  get out(): Output {
    return this.ctx.out;
  }

  /** Where this command's trace events go (`--trace`), if anywhere. */
  get traceSink(): TraceSink | undefined {
    return this.#trace;
  }

  /**
   * The client for the server of `url`, connecting on first use. A failed
   * connection is remembered, so the URLs of a server that is down fail
   * once each without waiting again.
   */
  client(url: NfsUrl): Promise<Nfs4ClientApi> {
    const key = formatHostPort(url);
    let client = this.#clients.get(key);
    if (!client) {
      client = this.ctx.io.connect(url, this.globals, this.#trace);
      // Handled by whoever awaits it; this keeps a failure from being "unhandled" meanwhile.
      client.catch(() => {});
      this.#clients.set(key, client);
    }
    return client;
  }

  /**
   * Reports a failure concerning `url` on one line and marks the command
   * failed, so it exits 1 after doing the rest. A closed stdout, or one
   * that failed a write (`> /dev/full`), is not a failure of `url`: it is
   * rethrown, to end the command (quietly, or with the one `write error`
   * line and exit 1, as coreutils stops at its first failed write).
   */
  report(err: unknown, url?: NfsUrl): void {
    if (isStdoutFailure(err)) throw err;
    // Stopped: no per-URL line, the command ends (130/143).
    if (this.ctx.interruption.signal.aborted) throw this.ctx.interruption.signal.reason;
    this.ctx.failed = true;
    this.ctx.error(
      describeError(err, this.globals.verbose, {
        url,
        timeoutSeconds: this.globals.timeoutSeconds,
      }),
      err,
      url,
    );
  }

  /** Closes every client (CLOSE of open files, DESTROY_SESSION on 4.1). */
  async close(): Promise<void> {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.all(clients.map(async (pending) => {
      let client: Nfs4ClientApi;
      try {
        client = await pending;
      } catch {
        return; // never connected; already reported
      }
      let left: unknown;
      try {
        await client.close();
        left = client.leftOnServer;
      } catch (err) {
        left = err;
      }
      // Stopped: the command ends 130/143, releasing what it could. A
      // command that failed has said why in its one line (the server gone,
      // most often) and exits 1 already.
      if (left === undefined || this.ctx.interruption.signal.aborted || this.ctx.failed) return;
      // The work is done, but the server was not left clean (opens, locks,
      // the 4.1 session and client ID): a failure, exit 1, so no script
      // takes a lock still held for released.
      this.ctx.failed = true;
      this.ctx.error(describeError(left, this.globals.verbose), left);
    }));
  }
}
