/**
 * `nfs4 shell URL`: one NFSv4 client for a whole interactive session.
 *
 * The shell connects once (one client ID and, on 4.1, one session), keeps
 * the lease renewed while the prompt waits, and runs each line's verbs on
 * that client: the nfs4 subcommands (`ls`, `cat`, `stat`, `rm`, ...; each
 * runs exactly as the command of that name, through `run()`, with remote
 * paths taken relative to the current directory) and the shell's own
 * (cd, get, put, open, lock, state, ... in shell_builtins.ts). What the
 * state manager goes through (a failed renewal, a server reboot and its
 * reclaim, a recall) is printed above the prompt as it happens, and the
 * prompt says when it is recovering or state was lost.
 *
 * Ctrl-C ends the running verb and comes back to the prompt; the client
 * stays (the verb's work is stopped softly: lib/state/operation_scope.ts).
 * At the prompt it drops the line. Ctrl-D or `exit` releases everything
 * (CLOSE, LOCKU, DESTROY_SESSION, DESTROY_CLIENTID) and ends the shell.
 *
 * Without a terminal (`nfs4 shell URL < script`, or `-c 'cd a; ls'`) the
 * lines run with no prompt, and the first failing verb ends the shell with
 * its status, as `sh -e`, unless `--keep-going`.
 * @module
 */

import process from "node:process";
import { builtin } from "../lib/os/builtins.ts";
import type { Nfs4ClientApi } from "../lib/client/api.ts";
import { withOperationSignal } from "../lib/client/operation_scope.ts";
import {
  filteredSink,
  formatTraceJson,
  formatTraceText,
  TRACE_CATEGORIES,
  visible,
} from "../lib/client/trace.ts";
import type { TraceEvent } from "../lib/client/trace.ts";
import { formatHostPort, type NfsUrl, parseNfsUrl, urlPath } from "../lib/client/url.ts";
import type { CliContext, CliIo, StopSignal } from "./context.ts";
import { describeError } from "./errors.ts";
import { ExitCode } from "./exit_codes.ts";
import type { TraceOutput } from "./trace_output.ts";
import { opsSentAt, TraceClock } from "./trace_clock.ts";
import { type GlobalOptions, readGlobalOptions, type RootCommand } from "./globals.ts";
import { createProgram, run } from "./program.ts";
import {
  BUILTINS,
  displayPath,
  lostStateText,
  type ShellState,
  type TraceMode,
  verbMessage,
} from "./shell_builtins.ts";
import { completeLine } from "./shell_complete.ts";
import { historyFile, isTerminal, LineEditor, processStdin } from "./shell_line.ts";
import {
  COMMAND_VERBS,
  EmptyPathError,
  emptyPathMessage,
  type OptionShape,
  rewritePaths,
  urlOfWord,
} from "./shell_paths.ts";

/**
 * Verbs that refuse a path ending in `.` or `..` (rm, rmdir; mv, whose
 * source must not be the directory itself): the word keeps it in its URL.
 */
const KEEPS_LAST_DOT: ReadonlySet<string> = new Set(["rm", "rmdir", "mv"]);
import { continuesOnNextLine, joinContinuedLines, splitCommands } from "./shell_words.ts";
import { StopSignalRepeats } from "./stop_signal.ts";

const HELP = `
Examples:
  $ nfs4 shell nfs://127.0.0.1/vfs
  nfs4 127.0.0.1:2049 4.1 /vfs> cd logs; ls -l
  nfs4 127.0.0.1:2049 4.1 /vfs/logs> get today.log /tmp/
  nfs4 127.0.0.1:2049 4.1 /vfs/logs> lock -x app.lock
  nfs4 127.0.0.1:2049 4.1 /vfs/logs> state
  $ nfs4 shell nfs://server/export -c 'cd a; put report.pdf; ls -l'
  $ nfs4 shell nfs://server/export < commands.txt

Verbs: the nfs4 commands that work on files (ls cat cp stat df rm rmdir mkdir
mv ln chmod chown touch truncate du find head tail info), with paths relative
to the current directory, and cd pwd lcd lpwd get put open close lock unlock
state trace renew help exit. 'help VERB' says more.

Without a terminal, or with -c, lines run without a prompt and the first
failing verb ends the shell with its status (as sh -e) unless --keep-going.
History: $XDG_STATE_HOME/nfs4/history (default ~/.local/state/nfs4/history).
`;

/** Adds `shell` to the program. */
export function registerShell(program: RootCommand, ctx: CliContext): void {
  program
    .command("shell")
    .description("an interactive session on one NFSv4 client (cd, ls, get, put, lock, state...)")
    .argument("<url>", "nfs:// URL of the directory to start in")
    .option("-c, --command <lines>", "run these verbs (separated by ; or newlines) and exit")
    .option("--keep-going", "without a terminal, go on after a failing verb")
    .addHelpText("after", HELP)
    .action(async (text, opts, cmd) => {
      const globals = readGlobalOptions(cmd.optsWithGlobals());
      const url = parseNfsUrl(text);
      const shell = new Shell(ctx, globals, url, opts.keepGoing === true);
      ctx.exitStatus = await shell.run(opts.command);
    });
}

/** Where the shell is, what it holds, and how it talks to the user. */
class Shell implements ShellState {
  readonly ctx: CliContext;
  readonly globals: GlobalOptions;
  readonly start: NfsUrl;
  readonly keepGoing: boolean;
  client!: Nfs4ClientApi;
  cwd: string;
  previousCwd: string;
  readonly held: ShellState["held"] = new Map();
  lastStatus = 0;
  #editor: LineEditor | undefined;
  /** Where a verb's questions get their answers (undefined: the verb reads stdin). */
  #readAnswer: (() => Promise<string | undefined>) | undefined;
  /** Stops the running verb (Ctrl-C); undefined at the prompt. */
  #stopVerb: ((signal: StopSignal) => void) | undefined;
  #ending: StopSignal | undefined;
  /** Tells a second stop signal from a repeat of the first (cli/stop_signal.ts). */
  readonly #stopRepeats = new StopSignalRepeats();
  #signalEnding: () => void = () => {};
  /** Resolves when a signal ends the shell (#signal). */
  readonly #endingSignalled: Promise<undefined> = new Promise((resolve) => {
    this.#signalEnding = () => resolve(undefined);
  });
  /** The stop was a SIGHUP (taken as SIGTERM): the shell ends 129. */
  #hungUp = false;

  /** The exit status of a shell a signal ended. */
  #endStatus(): number {
    if (this.#hungUp) return ExitCode.SIGHUP;
    return this.#ending === "SIGTERM" ? ExitCode.SIGTERM : ExitCode.SIGINT;
  }
  /** Ctrl-Cs typed so far (a continued line started before one is dropped). */
  #interrupts = 0;
  /** Verbs a stop (Ctrl-C, or a SIGINT from kill) came to while they ran. */
  #verbInterrupts = 0;
  /** The running verb said `interrupted by SIG...` itself (get, put, lock). */
  #saidInterrupted = false;
  /** The verb running, as typed: its messages name it. */
  #verb: string | undefined;
  #options = new Map<string, OptionShape[]>();
  #globalOptions: OptionShape[] = [];
  readonly #started = performance.now();
  /** The categories `--trace=...` named, for the mode it set. */
  #asked: { mode: string; categories: ReadonlySet<string> } | undefined;
  /** Connected: from now on the client's events are news. */
  #ready = false;
  /**
   * `--trace-file`'s stream: the trace lines go there instead of the
   * terminal (README, "The trace"), whatever mode `trace` sets later.
   */
  #traceFile: TraceOutput | undefined;
  /** The trace's time base: when each `trace` mode began, in trace seconds. */
  readonly #traceClock = new TraceClock();
  /** The mode set when the shell started. */
  #firstMode: TraceMode = "off";
  /**
   * The modes `trace` set since, each with when (trace seconds), latest
   * last: an `ops` event is shown by the mode in force when its COMPOUND
   * (or its run of READs or WRITEs) was sent. A run is told only at the
   * next event (lib/state/trace.ts), which may come after `trace` changed
   * the mode: `trace ops; cat f; trace on` still shows cat's READ.
   */
  #modeChanges: { at: number; mode: TraceMode }[] = [];
  /** Who else hears the client's events while a verb runs (renew). */
  readonly #traceWatchers = new Set<(event: TraceEvent) => void>();

  /** What `trace` set: off, on, ops or json. */
  get traceMode(): TraceMode {
    return this.#modeChanges.at(-1)?.mode ?? this.#firstMode;
  }

  set traceMode(mode: TraceMode) {
    if (mode === this.traceMode) return;
    this.#modeChanges.push({ at: this.#traceClock.seconds(), mode });
    // A run is told at the next event; one that began more changes ago than this is long told.
    if (this.#modeChanges.length > 16) this.#firstMode = this.#modeChanges.shift()!.mode;
  }

  /** The mode in force at `seconds` of the trace. */
  #modeAt(seconds: number): TraceMode {
    let mode = this.#firstMode;
    for (const change of this.#modeChanges) {
      if (change.at > seconds) break;
      mode = change.mode;
    }
    return mode;
  }

  watchTrace(listener: (event: TraceEvent) => void): () => void {
    this.#traceWatchers.add(listener);
    return () => this.#traceWatchers.delete(listener);
  }

  constructor(ctx: CliContext, globals: GlobalOptions, start: NfsUrl, keepGoing: boolean) {
    this.ctx = ctx;
    this.globals = globals;
    this.start = start;
    this.keepGoing = keepGoing;
    this.cwd = start.path;
    this.previousCwd = start.path;
    const categories = globals.traceFilter?.categories;
    this.#firstMode = globals.trace === undefined
      ? "off"
      : globals.trace === "json"
      ? "json"
      : categories?.length === 1 && categories[0] === "ops"
      ? "ops"
      : "on";
    if (categories && this.traceMode !== "ops") {
      this.#asked = { mode: this.traceMode, categories: new Set(categories) };
    }
    this.#learnOptions();
  }

  /** Runs the session; resolves with the shell's exit status. */
  async run(commands: string | undefined): Promise<number> {
    let status: number = ExitCode.FAILURE;
    try {
      status = await this.#session(commands);
    } finally {
      // State lost in recovery fails the shell even when every verb succeeded.
      if (!await this.#release() && status === 0) status = ExitCode.FAILURE;
    }
    return status;
  }

  async #session(commands: string | undefined): Promise<number> {
    this.ctx.ownsSignals = true;
    const onInt = () => this.#signal("SIGINT");
    const onTerm = () => this.#signal("SIGTERM");
    const onHup = () => this.#hangUp();
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    process.on("SIGHUP", onHup);
    try {
      // Created (or emptied) before connecting, as every other command does;
      // one that cannot be created fails the shell, naming it.
      if (this.globals.traceFile !== undefined) {
        const output = this.ctx.traceOutput(this.globals);
        if (output?.toFile) this.#traceFile = output;
      }
      // Every category, ops too: `trace ops` may be asked for at any time.
      const sink = filteredSink((e) => this.#event(e), { categories: TRACE_CATEGORIES });
      this.client = await this.ctx.io.connect(this.start, this.globals, sink);
      this.client.keepLease(true);
      this.#ready = true;
      // The start must be a directory the shell can stand in.
      const dir = urlPath(this.start);
      await this.client.stat(dir === "/" ? dir : dir.replace(/\/?$/, "/"));
      const stdin = processStdin();
      if (commands !== undefined) {
        return await this.#script(joinContinuedLines(commands.split("\n")));
      }
      if (!isTerminal(stdin) || !isTerminal(process.stdout)) {
        const lines = joinContinuedLines(readLines(stdin))[Symbol.asyncIterator]();
        // A verb's question (rm -i) is answered by the script's next line, as in sh.
        this.#readAnswer = async () => {
          const next = await lines.next();
          return next.done ? undefined : next.value;
        };
        return await this.#script({ [Symbol.asyncIterator]: () => lines });
      }
      return await this.#interactive(stdin);
    } catch (err) {
      if (this.#ending) return this.#endStatus();
      this.ctx.error(describeError(err, this.globals.verbose, {
        url: this.start,
        timeoutSeconds: this.globals.timeoutSeconds,
      }));
      return ExitCode.FAILURE;
    } finally {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      process.off("SIGHUP", onHup);
      this.#editor?.close();
    }
  }

  /** Lines without a prompt: stop at the first failure unless --keep-going. */
  async #script(lines: AsyncIterable<string> | Iterable<string>): Promise<number> {
    let failed = 0;
    const iterator = Symbol.asyncIterator in lines
      ? lines[Symbol.asyncIterator]()
      : (async function* () {
        yield* lines;
      })();
    for (;;) {
      // A signal ends the wait for the next line: a script read from a pipe
      // whose writer stays open would otherwise never see it.
      const next = await Promise.race([iterator.next(), this.#endingSignalled]);
      if (next === undefined || next.done) break;
      const line = next.value;
      const status = await this.#runLine(line);
      if (status === "exit") return this.lastStatus;
      if (this.#ending) break;
      if (status !== 0) {
        failed = status;
        if (!this.keepGoing) return status;
      }
    }
    if (this.#ending) return this.#endStatus();
    return failed;
  }

  async #interactive(stdin: NodeJS.ReadableStream): Promise<number> {
    const editor = new LineEditor({
      input: stdin,
      output: process.stdout,
      historyFile: historyFile(this.ctx.io.env),
      completer: (line) => completeLine(this, line),
      onInterrupt: () => {
        this.#interrupts++;
        if (this.#stopVerb) {
          process.stdout.write("^C\n");
          // As a terminal flushes its input at ^C: what was typed while the
          // verb ran is not run after it (`mkdir x` typed during a lock wait).
          editor.discardTypedAhead();
          this.#stopVerb("SIGINT");
        } else editor.discardLine(this.prompt());
      },
    });
    this.#editor = editor;
    // A verb's question (rm -i) is answered on the terminal, through the editor.
    this.#readAnswer = () => editor.read("");
    this.#say(
      `connected to ${formatHostPort(this.start)} with NFSv4.${this.client.minorVersion}, ` +
        `client ID ${this.client.describeState().clientId}; 'help' lists the verbs`,
    );
    for (;;) {
      const line = await this.#readLogicalLine(editor);
      if (this.#ending) return this.#endStatus();
      if (line === undefined && editor.hungUp) {
        // The terminal closed before its SIGHUP came (or none comes: the
        // shell is not the session leader): the same ending, 129.
        this.#hangUp();
        return this.#endStatus();
      }
      if (line === undefined) {
        process.stdout.write("\n");
        return this.lastStatus;
      }
      if (await this.#runLine(line) === "exit") return this.lastStatus;
      if (this.#ending) return this.#endStatus();
    }
  }

  /**
   * The next line typed, lines ending in a backslash joined to the next (a
   * `> ` prompt asks for it), as sh does; Ctrl-C at the `> ` prompt drops
   * the lines before too. Undefined at Ctrl-D on an empty line.
   */
  async #readLogicalLine(editor: LineEditor): Promise<string | undefined> {
    let line = await editor.read(this.prompt());
    while (line !== undefined && continuesOnNextLine(line)) {
      const interrupts = this.#interrupts;
      const more = await editor.read("> ");
      if (more === undefined) return line.slice(0, -1);
      line = this.#interrupts === interrupts ? line.slice(0, -1) + more : more;
    }
    return line;
  }

  /** `nfs4 127.0.0.1:2049 4.1 /vfs/dir> `, with a marker while recovering or after a loss. */
  prompt(): string {
    const state = this.client.describeState();
    const marks: string[] = [];
    if (state.flags.length > 0) marks.push(`recovering: ${state.flags.join(",")}`);
    const lost = state.opens.filter((o) => o.lost || o.locks.some((l) => l.lost)).length;
    if (lost > 0) marks.push(`state lost on ${lost} file(s)`);
    const mark = marks.length > 0 ? ` [${marks.join("; ")}]` : "";
    return `nfs4 ${formatHostPort(this.start)} 4.${state.minorVersion} ${
      displayPath(this.cwd)
    }${mark}> `;
  }

  /**
   * Runs every verb of `line`; the status of the last that failed (with
   * --keep-going a failure before a `;` still counts), else 0; or "exit".
   */
  async #runLine(line: string): Promise<number | "exit"> {
    let commands: string[][];
    try {
      commands = splitCommands(line);
    } catch (err) {
      this.ctx.error(describeError(err, false));
      return (this.lastStatus = ExitCode.USAGE);
    }
    let failed = 0;
    for (const words of commands) {
      const interrupts = this.#verbInterrupts;
      const status = await this.runVerb(words);
      if (status === "exit") return "exit";
      this.lastStatus = status;
      if (status !== 0) failed = status;
      if (this.#ending) return status;
      // Ctrl-C ends the line, as in sh: `get big; ls` does not go on to ls;
      // also when the verb had done its work by then (its status is its own).
      if (this.#verbInterrupts !== interrupts) return status;
      if (status !== 0 && !this.keepGoing && this.#editor === undefined) return status;
    }
    return failed;
  }

  /**
   * Runs one verb and resolves with its exit status. A stop (Ctrl-C) while
   * it runs counts in {@linkcode #verbInterrupts}, for the line to end.
   */
  async runVerb(words: readonly string[]): Promise<number | "exit"> {
    const [verb, ...args] = words;
    if (verb === undefined) return 0;
    const stop = new AbortController();
    const stopCommand = new Set<(signal: StopSignal) => boolean>();
    let stoppedBy: StopSignal | undefined;
    this.#stopVerb = (signal) => {
      if (stoppedBy === undefined) this.#verbInterrupts++;
      stoppedBy ??= signal;
      stop.abort(new Error(`interrupted by ${signal}`));
      for (const listener of stopCommand) listener(signal);
    };
    this.#verb = verb;
    // A verb a signal stopped (Ctrl-C) ends with the signal's status, as sh
    // reports a job a signal ended (130 for SIGINT), whatever failure the
    // verb itself said (get's 1 after its "interrupted by SIGINT").
    const stopped = () => {
      // Said as get, put and lock say it, when the command did not (cat,
      // cp -r); a builtin says its own.
      if (stoppedBy === "SIGINT" && !this.#saidInterrupted && !BUILTINS.has(verb)) {
        this.ctx.error(`interrupted by ${stoppedBy}`);
      }
      return stoppedBy === "SIGTERM" ? ExitCode.SIGTERM : ExitCode.SIGINT;
    };
    this.#saidInterrupted = false;
    try {
      const status = await withOperationSignal(stop.signal, async () => {
        const builtin = BUILTINS.get(verb);
        if (builtin) return await builtin.run(this, args, stop.signal);
        if (!COMMAND_VERBS.includes(verb)) {
          this.ctx.error(`${verb}: not a verb here ('help' lists them)`);
          return ExitCode.USAGE;
        }
        return await this.runCommand(verb, args, {
          signals: (listener) => {
            stopCommand.add(listener);
            return () => stopCommand.delete(listener);
          },
        });
      });
      // The stop came as the verb ended, or while it did what a stop lets
      // finish (an OPEN or a CLOSE in flight is answered and kept: the file
      // is held, or not): a verb that succeeded did its work, and says so.
      // Only one that failed was stopped by it (a verb the stop ends fails:
      // its next request is refused, its wait ends; run() gives 130 itself).
      if (stoppedBy === undefined || status === "exit" || status === 0) return status;
      return stopped();
    } catch (err) {
      if (stop.signal.aborted) return stopped();
      if (err instanceof EmptyPathError) {
        // Found before anything was sent: the verb did nothing.
        this.ctx.error(emptyPathMessage(verb));
        return ExitCode.FAILURE;
      }
      this.ctx.error(verbMessage(
        verb,
        describeError(err, this.globals.verbose, {
          timeoutSeconds: this.globals.timeoutSeconds,
        }),
      ));
      return ExitCode.FAILURE;
    } finally {
      this.#stopVerb = undefined;
      this.#verb = undefined;
    }
  }

  /**
   * Runs nfs4 `verb` with `args` (paths made URLs) as the command of that
   * name runs, on the shell's client. Another server's URL gets a client of
   * its own for the verb.
   */
  runCommand(
    verb: string,
    args: readonly string[],
    how: { signals?: CliIo["signals"]; raw?: boolean } = {},
  ): Promise<number> {
    const options = [...(this.#options.get(verb) ?? []), ...this.#globalOptions];
    const argv = [
      verb,
      ...(how.raw ? args : rewritePaths(
        verb,
        args,
        options,
        // What removes or moves keeps a last `.` or `..` (it refuses them).
        (w) => urlOfWord(this.start, this.cwd, w, { keepLastDot: KEEPS_LAST_DOT.has(verb) }),
      )),
    ];
    const signals = how.signals;
    const shared = this.client;
    // Its messages name the verb typed (`get`, not the `cp` underneath).
    const named = this.#verb ?? verb;
    const io: CliIo = {
      ...this.ctx.io,
      signals,
      messageLine: (message) => {
        if (/^interrupted by SIG[A-Z]+$/.test(message)) this.#saidInterrupted = true;
        return verbMessage(named, message);
      },
      // A verb never ends the shell; Ctrl-C has stopped its work already.
      exit: () => {},
      readAnswer: this.#readAnswer,
      connect: (url, globals, onTrace, extra) => {
        if (url.host === this.start.host && url.port === this.start.port) {
          return Promise.resolve(keepOpen(shared));
        }
        return this.ctx.io.connect(url, globals, onTrace, extra);
      },
    };
    return run(argv, io);
  }

  /** The URL of a path word, relative to the current directory. */
  urlOf(word: string): string {
    return urlOfWord(this.start, this.cwd, word);
  }

  /** A line for the user on stderr, above the prompt when one is showing. */
  #say(text: string): void {
    const line = `${text}\n`;
    if (this.#editor) this.#editor.printAbove(line, this.prompt());
    else this.ctx.diag.raw(line);
  }

  /** Prints a message (`* ...`) about what happened, above the prompt. */
  notify(text: string): void {
    this.#say(`* ${text}`);
  }

  /** The shell's client's trace events: shown as `trace` says, and the notable ones always. */
  #event(event: TraceEvent): void {
    this.#traceClock.see(event);
    for (const watcher of this.#traceWatchers) watcher(event);
    const ops = event.category === "ops";
    // A COMPOUND (or a run of READs or WRITEs, told later) by the mode when it was sent.
    const mode = ops ? this.#modeAt(opsSentAt(event)) : this.traceMode;
    // A fresh client's start (new client ID, nothing to reclaim) is no news.
    if (!this.#ready && mode === "off") return;
    // --trace=CATEGORY,... shows those categories until `trace` changes the mode.
    const asked = mode === this.#asked?.mode ? this.#asked.categories : undefined;
    const shown = asked ? asked.has(event.category) || event.category === "server" : !ops;
    if (mode === "ops" ? ops : mode !== "off" && shown) {
      const line = mode === "json" ? formatTraceJson(event) : formatTraceText(event);
      if (this.#traceFile) this.#traceFile.line(line);
      else this.#say(line);
    } else if (mode === "off" && notable(event)) {
      const seconds = ((performance.now() - this.#started) / 1000).toFixed(1);
      // What a server sent (a name in a reclaim's detail) never reaches the terminal raw.
      this.notify(
        `${seconds} s ${event.category}: ${visible(event.event)}${
          event.detail ? ` (${visible(event.detail)})` : ""
        }`,
      );
    }
  }

  /**
   * The terminal closed (SIGHUP, or the editor's input gone): released as at
   * SIGTERM, ending 129. Told once: the SIGHUP that follows the input's end,
   * or bash passing its own on, is the same hang-up, not a second signal
   * that would cut the release short.
   */
  #hangUp(): void {
    if (this.#hungUp) return;
    this.#hungUp = true;
    this.#signal("SIGTERM");
  }

  /** SIGINT/SIGTERM as signals (no terminal, or sent by kill). */
  #signal(signal: StopSignal): void {
    // A repeat of the first SIGTERM (timeout(1) sends two) is the same stop,
    // not a second one that would cut the release short.
    if (this.#stopRepeats.isRepeat(signal)) return;
    if (this.#editor && signal === "SIGINT") {
      // A terminal's Ctrl-C comes as a key; a SIGINT from kill stops the verb
      // the same way, but keeps the lines typed meanwhile: a terminal flushes
      // its input at the ^C keystroke (termios ISIG without NOFLSH), never at
      // a kill(2) from another process, so what the user typed ahead is still
      // theirs to run, as under sh when a job is killed from elsewhere.
      if (this.#stopVerb) this.#stopVerb(signal);
      return;
    }
    if (this.#ending) {
      // A second signal: stop releasing too.
      this.ctx.stopClients(signal);
      return;
    }
    this.#ending = signal;
    this.#signalEnding();
    this.#stopVerb?.(signal);
    // Never throws, the terminal gone (LineEditor.close): the release must run.
    this.#editor?.close();
    // Releasing gets a few seconds; then whatever is in flight is stopped.
    setTimeout(() => this.ctx.stopClients(signal), 2000).unref?.();
  }

  /**
   * Closes what the shell holds and the client (DESTROY_SESSION,
   * DESTROY_CLIENTID); false when some of it was lost or could not be
   * released (each said in one line).
   */
  async #release(): Promise<boolean> {
    let released = true;
    for (const [path, held] of this.held) {
      const lost = this.client ? lostStateText(this, path, held) : undefined;
      if (lost) {
        released = false;
        this.ctx.error(`exit: ${lost}`);
        await held.file.close().catch(() => {});
        continue;
      }
      try {
        for (const range of held.locks) await held.file.unlock(range);
        await held.file.close();
      } catch (err) {
        released = false;
        // The error names the path already (most do); else it is added.
        const message = describeError(err, false);
        const url = this.urlOf(path);
        this.ctx.error(
          `exit: ${
            message.includes(path) || message.includes(url) ? message : `${url}: ${message}`
          }`,
        );
      }
    }
    this.held.clear();
    if (!this.client) return released;
    try {
      await this.client.close();
    } catch (err) {
      if (this.globals.verbose) this.ctx.error(`warning: closing: ${describeError(err, true)}`);
    }
    return released;
  }

  /** The options of each verb and the global ones, to read command lines. */
  #learnOptions(): void {
    const program = createProgram(this.ctx);
    const shape = (o: { short?: string; long?: string; required: boolean; optional: boolean }) => ({
      short: o.short,
      long: o.long,
      required: o.required,
      optional: o.optional,
    });
    this.#globalOptions = program.options.map(shape);
    for (const command of program.commands) {
      const shapes = command.options.map(shape);
      this.#options.set(command.name(), shapes);
      for (const alias of command.aliases()) this.#options.set(alias, shapes);
    }
  }

  /** The options of nfs4 `verb` and the global ones, to read its words. */
  commandOptions(verb: string): readonly OptionShape[] {
    return [...(this.#options.get(verb) ?? []), ...this.#globalOptions];
  }

  /** The options of `verb` (for completion). */
  optionsOf(verb: string): readonly OptionShape[] {
    return this.#options.get(verb) ?? [];
  }
}

/** A client whose `close()` does nothing: the shell closes it at the end. */
function keepOpen(client: Nfs4ClientApi): Nfs4ClientApi {
  return new Proxy(client, {
    get(target, key) {
      if (key === "close") return () => Promise.resolve();
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * Events worth telling at once even with the trace off: flags set and
 * cleared (recovery), state lost or reclaimed, callbacks, renewals that
 * failed. An open's or a lock's is told by its name alone (`lock lost`,
 * `OPEN(CLAIM_PREVIOUS) reclaimed`, `TEST_STATEID ... -> NFS4ERR_BAD_STATEID`),
 * the stateids in it left out: its detail holds the path and the stateid,
 * and `cat bad.txt`'s OPEN, or a stateid whose hex reads `...6bad...`, is
 * routine.
 */
function notable(event: TraceEvent): boolean {
  if (event.category === "state") return /^[+-]/.test(event.event);
  if (event.category === "cb") return /^CB_(RECALL|NOTIFY)/.test(event.event);
  if (event.category === "deleg") return true;
  if (event.category === "open" || event.category === "lock") {
    // lib/nfs4/types.ts formatStateid: `<other in hex>:<seqid>`.
    const name = event.event.replace(/\b[0-9a-f]{24}:\d+\b/gi, "");
    return /reclaim|\blost\b|\bbad\b|BAD_|revoked/i.test(name);
  }
  if (event.category === "lease") {
    return /fail|expired|NFS4ERR/i.test(`${event.event} ${event.detail ?? ""}`);
  }
  return false;
}

async function* readLines(input: NodeJS.ReadableStream): AsyncIterable<string> {
  const rl = builtin("node:readline").createInterface({
    input,
    terminal: false,
    crlfDelay: Infinity,
  });
  try {
    for await (const line of rl) yield line;
  } finally {
    rl.close();
  }
}
