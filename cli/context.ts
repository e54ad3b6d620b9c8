/**
 * What a command runs with: its streams, the clock, how to connect, and the
 * bookkeeping of failures. `run()` creates one per invocation; tests create
 * one around fake streams and a fake client.
 * @module
 */

import type { Nfs4ClientApi } from "../lib/client/api.ts";
import { formatHostPort, type NfsUrl } from "../lib/client/url.ts";
import { formatTraceJson, formatTraceText, type TraceSink } from "../lib/client/trace.ts";
import { describeError, noteConnectUrl } from "./errors.ts";
import type { GlobalOptions } from "./globals.ts";
import type { IdDatabase } from "./ls_owners.ts";
import { Diagnostics, isBrokenPipe, Output, type WritableLike } from "./output.ts";

/** Connects to the server of `url` with the global options in force (cli/connect.ts). */
export type ConnectFn = (
  url: NfsUrl,
  globals: GlobalOptions,
  onTrace?: TraceSink,
) => Promise<Nfs4ClientApi>;

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
   * This host's users and groups, for `ls -l`'s owner names (cli/main.ts
   * reads /etc/passwd and /etc/group); none when undefined.
   */
  readonly ids?: (() => IdDatabase) | undefined;
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
  /** The global options of the command being run, once it has read them. */
  globals: GlobalOptions | undefined;

  /** The first URL of each server the command connected to, by `host:port`. */
  readonly #servers = new Map<string, NfsUrl>();

  constructor(io: CliIo) {
    // Every connection of every command goes through here: a failure to
    // connect remembers the URL it was for, so its message names it.
    const connect: ConnectFn = async (url, ...rest) => {
      const key = formatHostPort(url);
      if (!this.#servers.has(key)) this.#servers.set(key, url);
      try {
        return await io.connect(url, ...rest);
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

  /** Prints `nfs4: <message>` on stderr. */
  error(message: string): void {
    this.diag.line(`nfs4: ${message}`);
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
    if (globals.trace !== undefined) {
      const format = globals.trace === "json" ? formatTraceJson : formatTraceText;
      this.#trace = (event) => ctx.diag.line(format(event));
    }
  }

  /** stdout. */
  get out(): Output {
    return this.ctx.out;
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
   * failed, so it exits 1 after doing the rest. A closed stdout is not a
   * failure of `url`: it is rethrown, to end the command.
   */
  report(err: unknown, url?: NfsUrl): void {
    if (isBrokenPipe(err)) throw err;
    this.ctx.failed = true;
    this.ctx.error(describeError(err, this.globals.verbose, {
      url,
      timeoutSeconds: this.globals.timeoutSeconds,
    }));
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
      try {
        await client.close();
      } catch (err) {
        // The command's work is done; a failed goodbye only matters when asked.
        if (this.globals.verbose) {
          this.ctx.error(`warning: closing the connection failed: ${describeError(err, true)}`);
        }
      }
    }));
  }
}
