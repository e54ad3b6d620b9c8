/**
 * `nfs4 lock [-s|-x] [-n|-w SECONDS] [-E CODE] [--range OFFSET[:LENGTH]] URL [--] [COMMAND...]`:
 * a byte-range lock on a file on the server, with the options of flock(1).
 *
 * The file is opened with the access the lock needs (READ for a shared lock,
 * WRITE for an exclusive one) and locked with LOCK (open_to_lock_owner4 the
 * first time, exist_lock_owner4 after). While another owner holds a
 * conflicting lock the command polls (lib/client/lock_wait.ts) until it gets
 * the lock, `--wait` runs out or `--nonblock` says not to wait; giving up
 * prints who holds the lock (LOCK4denied). With the lock held it runs
 * COMMAND and exits with its status, or, without COMMAND, prints what it
 * holds and keeps it until SIGINT or SIGTERM. Then LOCKU, CLOSE, and
 * RELEASE_LOCKOWNER (4.0) or DESTROY_SESSION (4.1). The lease is renewed by
 * the state manager meanwhile, and the lock is reclaimed after a server
 * reboot like any other state.
 *
 * `--test` only asks (LOCKT): exit 0 when the range is free, 1 when it is
 * held, with the holder on stdout.
 * @module
 */

import type { ChildProcess } from "node:child_process";
import { builtin } from "../lib/os/builtins.ts";
import { constants as osConstants } from "node:os";
import process from "node:process";
import { type CommandUnknownOpts, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import type { LockHolder, LockRange, Nfs4ClientApi, WritableFile } from "../lib/client/api.ts";
import {
  describeLockHolder,
  LockConflictError,
  Nfs4Status,
  NfsError,
} from "../lib/client/errors.ts";
import { LockWaitDeadline, lockWithWait, openWithWait } from "../lib/client/lock_wait.ts";
import { type NfsUrl, parseNfsUrl, UsageError } from "../lib/client/url.ts";
import {
  DEFAULT_TRACE_CATEGORIES,
  filteredSink,
  formatRange,
  type TraceEvent,
  type TraceSink,
} from "../lib/client/trace.ts";
import type { CliContext } from "./context.ts";
import { describeError } from "./errors.ts";
import { ExitCode } from "./exit_codes.ts";
import { type GlobalOptions, readGlobalOptions, type RootCommand } from "./globals.ts";
import { flushed, isBrokenPipe } from "./output.ts";
import { currentUmask } from "./umask.ts";
import { inForegroundGroup } from "../lib/os/foreground.ts";
import { SAME_STOP_MS, StopSignalRepeats } from "./stop_signal.ts";
import { heldInstanceDescriptors } from "../lib/client/owner_instance.ts";
import { givenAtStart } from "./early_descriptors.ts";

const HELP = `
The lock is exclusive unless -s is given, and covers the whole file unless
--range is: OFFSET[:LENGTH] in bytes, LENGTH 0 or left out meaning to the end
of the file (NFS4_UINT64_MAX). Shared locks are taken on a file opened for
reading, exclusive ones on a file opened for writing, so the user (--uid)
needs that permission. A missing file is made (as flock(1) makes it: mode
0666 less the umask); --test makes none.

With COMMAND, nfs4 takes the lock, runs COMMAND with the lock held (stdin,
stdout and stderr are nfs4's), releases the lock and exits with COMMAND's
status (128+N when a signal N ended it; 0 when SIGPIPE did, as its output was
closed early, e.g. by head). SIGINT, SIGTERM and SIGHUP are passed on to COMMAND. Put
-- before COMMAND when it has options of its own.

Without COMMAND, nfs4 prints one line on stderr saying what it holds, e.g.
  nfs4: holding exclusive lock on nfs://srv/vfs/f bytes 0- (lock owner lock-p4242-1, stateid …)
and holds the lock until SIGINT, SIGTERM or SIGHUP (its terminal closed), then
releases it and exits 0.
stdout stays empty.

When another owner holds a conflicting lock, nfs4 waits: it polls with
blocking LOCKs (READW_LT/WRITEW_LT), 100 ms apart at first, then up to 2 s.
-w gives up after SECONDS, -n does not wait. Giving up prints who holds the
lock (lock owner, client, type, range) and exits 1, or the -E code:
  nfs4: nfs://srv/vfs/f: locked: exclusive lock on bytes 0- held by lock owner lock-p4242-1 (client 0x…) (NFS4ERR_DENIED)

--test takes nothing: it asks the server (LOCKT) and prints on stdout
  nfs://srv/vfs/f: free: no lock conflicts with an exclusive lock on bytes 0-
or the holder's line ("locked: …"); exit 0 when free, 1 (or -E) when held.

A lock can be lost: the lease ran out (a network partition, a stopped
process), the server revoked it, or a reclaim after a reboot was refused.
Another client may then have held it meanwhile, so nfs4 never takes it again
by itself. It says so at once, signals COMMAND (--on-lost term: SIGTERM, the
default; kill: SIGKILL; ignore: let it run) and exits 125 whatever COMMAND
does; without COMMAND it exits 125 too. --reacquire takes a lost lock again
once the server answers, and says for how long it was not held; COMMAND is
then not signalled, and the exit status is COMMAND's (125 when another
client took it meanwhile, or COMMAND ended before it was taken again).

The lock is held by this process's lock owner; each nfs4 process is its own
NFSv4 client. A process killed with SIGKILL releases nothing: the server
keeps its lock until its lease expires. --trace shows every step: OPEN,
LOCK and its stateid, each denial and wait, renewals, LOCKU, CLOSE.

Exit status: COMMAND's; without COMMAND 0; 1 (or -E) when the lock is held
and nfs4 gave up; 1 when an operation failed; 2 for a usage error; 125 when
the lock was lost while held; 126/127 when COMMAND cannot be run; 128+N when
signal N came before the lock was taken.

Examples:
  $ nfs4 lock nfs://srv/export/jobs/nightly.lock -- ./nightly.sh --full
  $ nfs4 lock -n -E 75 nfs://srv/export/cron.lock -- backup.sh || echo "already running"
  $ nfs4 lock -s -w 30 nfs://srv/export/data.lock -- cat report
  $ nfs4 lock --range 0:4096 nfs://srv/export/db.lock          # holds until Ctrl-C
  $ nfs4 lock --test nfs://srv/export/cron.lock                # who holds it?
`;

/** The exit status when the lock was lost while held (as timeout(1)'s 125: the tool, not COMMAND, failed). */
export const LOCK_LOST_STATUS = ExitCode.LOCK_LOST;

/** What `--on-lost` does to COMMAND when the lock is lost. */
export type OnLost = "term" | "kill" | "ignore";

/** NFS4_UINT64_MAX: a lock length meaning "to the end of the file" (RFC 7530 §16.10.4). */
const TO_END = 0xffff_ffff_ffff_ffffn;

/** What `--range` gives. */
export interface ByteRange {
  readonly offset: bigint;
  readonly length: bigint;
}

/**
 * Parses `--range OFFSET[:LENGTH]`: decimal byte counts; LENGTH 0 or left out
 * means to the end of the file. The range must end within 2^64 bytes.
 *
 * @example
 * ```ts
 * parseRange("100:50"); // { offset: 100n, length: 50n }
 * parseRange("4096"); // { offset: 4096n, length: 0xffff_ffff_ffff_ffffn }
 * ```
 */
export function parseRange(text: string): ByteRange {
  const match = /^([0-9]+)(?::([0-9]+))?$/.exec(text);
  if (!match) {
    throw new InvalidArgumentError("Expected OFFSET[:LENGTH], decimal byte counts");
  }
  const offset = BigInt(match[1]!);
  let length = match[2] === undefined ? 0n : BigInt(match[2]);
  if (offset > TO_END) throw new InvalidArgumentError(`OFFSET is more than ${TO_END}`);
  if (length === 0n) length = TO_END;
  else if (length !== TO_END && offset + length > TO_END + 1n) {
    throw new InvalidArgumentError(`OFFSET+LENGTH is more than 2^64 (${TO_END + 1n})`);
  }
  return { offset, length };
}

/** Parses `-w SECONDS`: 0 or more, fractions allowed; 0 is the same as -n. */
export function parseWait(value: string): number {
  const seconds = Number(value);
  if (!/^[0-9]*\.?[0-9]+$/.test(value) || !(seconds >= 0) || seconds > 31_536_000) {
    throw new InvalidArgumentError("Expected a number of seconds from 0 to 31536000");
  }
  return seconds;
}

/** Parses `-E CODE`: an exit status from 0 to 255. */
export function parseExitCode(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) > 255) {
    throw new InvalidArgumentError("Expected an exit status from 0 to 255");
  }
  return Number(value);
}

/** `shared` or `exclusive`, as flock(1) says it. */
function kindOf(type: "read" | "write"): string {
  return type === "read" ? "shared" : "exclusive";
}

/** The holder of a conflicting lock, as the client API words it. */
export const describeHolder: (holder: LockHolder) => string = describeLockHolder;

/**
 * `locked: HOLDER (NFS4ERR_DENIED)` for a lock refused: `lock` and the shell's `lock` say it
 * alike. An earlier refusal given as the answer (no later one came before
 * the deadline) says when it came: its holder may be gone by now. With
 * `waitedMs` (a wait with -w that ran out), how long it waited.
 */
export function lockConflictText(err: LockConflictError, waitedMs?: number): string {
  const asOf = err.answeredAtMs === undefined
    ? ""
    : ` (as the server said at ${(err.answeredAtMs / 1000).toFixed(1)} s; ` +
      "no later answer came before the deadline)";
  const waited = waitedMs === undefined ? "" : `; gave up after ${(waitedMs / 1000).toFixed(1)} s`;
  return `locked: ${describeHolder(err.holder)}${asOf}${waited} (NFS4ERR_DENIED)`;
}

/** Adds `lock` to the program. */
export function registerLock(program: RootCommand, ctx: CliContext): void {
  const command = program
    .command("lock")
    .description("hold a lock on a file, or run a command with it held (like flock)")
    .usage("[options] <url> [--] [command [args...]]")
    .argument("<url>", "nfs:// URL of the file to lock")
    .argument("[command...]", "command to run with the lock held")
    .addOption(new Option("-s, --shared", "take a shared (read) lock").conflicts("exclusive"))
    .addOption(new Option("-x, --exclusive", "take an exclusive (write) lock (the default)"))
    .addOption(
      new Option("-n, --nonblock", "fail at once when the lock is held").conflicts("wait"),
    )
    .addOption(
      new Option("-w, --wait <seconds>", "give up after this many seconds").argParser(parseWait),
    )
    .addOption(
      new Option("-E, --conflict-exit-code <code>", "exit status when giving up (default 1)")
        .argParser(parseExitCode),
    )
    .addOption(
      new Option(
        "--range <offset[:length]>",
        "lock only these bytes; LENGTH 0 or none: to the end (default: the whole file)",
      ).argParser(parseRange),
    )
    .addOption(
      new Option("--test", "only tell whether the range is free or who holds it (LOCKT)")
        .conflicts(["nonblock", "wait"]),
    )
    .addOption(
      new Option("--on-lost <action>", "when the lock is lost while COMMAND runs: signal it")
        .choices(["term", "kill", "ignore"] as const)
        .default("term" as const),
    )
    .addOption(
      new Option("--reacquire", "take a lost lock again (saying it was not held in between)"),
    )
    .addHelpText("after", HELP);
  command.action(async (urlText, argv, opts, cmd) => {
    const globals = readGlobalOptions(cmd.optsWithGlobals());
    ctx.globals = globals;
    const url = parseNfsUrl(urlText);
    if (argv.length > 0) {
      if (opts.test) throw new UsageError("--test takes no command");
      const stray = optionAfterCommand(cmd.parent, command);
      if (stray !== undefined) {
        throw new UsageError(
          `${stray}: option after the command; put -- before the command ` +
            `(nfs4 lock [options] URL -- COMMAND [ARGS...])`,
        );
      }
    }
    const bytes = opts.range ?? { offset: 0n, length: TO_END };
    const range: LockRange = { type: opts.shared ? "read" : "write", ...bytes };
    const conflictCode = opts.conflictExitCode ?? 1;
    const status = opts.test
      ? await testRange(ctx, globals, url, range, conflictCode)
      : await new LockRun(ctx, globals, url, range).run({
        argv,
        conflictCode,
        timeoutMs: opts.nonblock ? 0 : opts.wait !== undefined ? opts.wait * 1000 : undefined,
        onLost: opts.onLost,
        reacquire: opts.reacquire === true,
      });
    await exitWith(ctx, status);
  });
}

/**
 * The exit status of `nfs4 lock` is COMMAND's or the -E code, any of
 * 0-255, but `run()` (cli/program.ts) only returns 0, 1 or 2. Until it can
 * return another status, this exits here, after everything was released
 * and written. Only `nfs4 lock` with such a status gets here.
 */
async function exitWith(ctx: CliContext, status: number): Promise<void> {
  if (status === 0) return;
  if (status === 1) {
    ctx.failed = true;
    return;
  }
  await Promise.all([flushed(ctx.io.stdout), flushed(ctx.io.stderr)]);
  process.exit(status);
}

/**
 * The first option-like word after the start of COMMAND that is not behind
 * a `--`, or undefined. Commander takes options wherever they are, so in
 * `nfs4 lock URL sort -n f` the `-n` would silently become nfs4's; refuse it
 * instead. Reads the words as typed (the root command's `rawArgs`).
 */
function optionAfterCommand(
  root: CommandUnknownOpts | null,
  lock: CommandUnknownOpts,
): string | undefined {
  const raw = (root as { rawArgs?: unknown } | null)?.rawArgs;
  if (!root || !Array.isArray(raw)) return undefined;
  const options = [...root.options, ...lock.options];
  const takesValue = (flag: string) =>
    options.some((o) => (o.long === flag || o.short === flag) && o.required);
  let seenCommandName = false;
  let operands = 0;
  for (let i = 0; i < raw.length; i++) {
    const word = String(raw[i]);
    if (word === "--") return undefined;
    if (word.length > 1 && word.startsWith("-")) {
      if (operands >= 2) return word;
      if (word.startsWith("--")) {
        if (!word.includes("=") && takesValue(word)) i++;
      } else {
        // -abc: flags; the first that takes a value takes the rest, or the next word.
        for (let k = 1; k < word.length; k++) {
          if (takesValue(`-${word[k]}`)) {
            if (k === word.length - 1) i++;
            break;
          }
        }
      }
      continue;
    }
    if (!seenCommandName) {
      seenCommandName = word === lock.name();
      continue;
    }
    operands++;
  }
  return undefined;
}

/** `--test`: LOCKT, nothing taken. */
async function testRange(
  ctx: CliContext,
  globals: GlobalOptions,
  url: NfsUrl,
  range: LockRange,
  conflictCode: number,
): Promise<number> {
  const trace = new TraceOut(ctx, globals);
  let client: Nfs4ClientApi | undefined;
  try {
    client = await ctx.io.connect(url, globals, trace.sink);
    const holder = await client.testLock(url.path, range);
    if (holder === undefined) {
      await ctx.out.write(
        `${url.text}: free: no lock conflicts with ${
          range.type === "read" ? "a shared" : "an exclusive"
        } lock on bytes ${formatRange(range.offset, range.length)}\n`,
      );
      return 0;
    }
    // The answer is the exit status too: a reader gone before the line is
    // written (`lock --test … | true`) does not turn "locked" into 0.
    await ctx.out.write(`${url.text}: locked: ${describeHolder(holder)}\n`).catch((e) => {
      if (!isBrokenPipe(e)) throw e;
    });
    return conflictCode;
  } catch (err) {
    // Not a failure: run() exits 0 (1 if a failure was reported before).
    if (isBrokenPipe(err)) throw err;
    ctx.error(describeError(err, globals.verbose, { url, timeoutSeconds: globals.timeoutSeconds }));
    return 1;
  } finally {
    await client?.close().catch(() => {});
  }
}

/**
 * Output besides the lock itself: the state manager's events with
 * `--trace` (every trace line comes from the state manager), and with
 * `--verbose` notes on what this command does around them (COMMAND started,
 * signals passed on).
 */
class TraceOut {
  readonly #ctx: CliContext;
  readonly #globals: GlobalOptions;
  readonly #verbose: boolean;

  constructor(ctx: CliContext, globals: GlobalOptions) {
    this.#ctx = ctx;
    this.#globals = globals;
    this.#verbose = globals.verbose;
  }

  /** The sink the client reports to (the trace stream: stderr or --trace-file); undefined without --trace. */
  get sink(): TraceSink | undefined {
    return this.#ctx.traceOutput(this.#globals)?.sink;
  }

  /**
   * The trace sink (if any) and `also`, for events the command itself
   * reacts to: the library delivers the categories the trace asks for and
   * the default ones `also` needs; the trace prints only what it asked for.
   */
  sinkAnd(also: (event: TraceEvent) => void): TraceSink {
    const sink = this.sink;
    const asked = this.#globals.traceFilter;
    return filteredSink((event) => {
      sink?.(event);
      also(event);
    }, {
      categories: [...new Set([...(asked?.categories ?? []), ...DEFAULT_TRACE_CATEGORIES])],
      ...(asked?.everyOp ? { everyOp: true } : {}),
    });
  }

  /** A `--verbose` note: `nfs4: COMMAND started: sh (pid 123)`. */
  note(text: string): void {
    if (this.#verbose) this.#ctx.note(text);
  }
}

interface RunOptions {
  /** COMMAND and its arguments; empty to hold until a signal. */
  readonly argv: readonly string[];
  readonly conflictCode: number;
  /** undefined: wait as long as it takes; 0: do not wait. */
  readonly timeoutMs: number | undefined;
  readonly onLost: OnLost;
  /** Take a lost lock again (StateManagerOptions.reacquireLostLocks). */
  readonly reacquire: boolean;
}

const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
type StopSignal = (typeof STOP_SIGNALS)[number];

/** How often the lock's state is checked while held. */
const WATCH_MS = 500;

/** One `nfs4 lock` run: take, hold (or run COMMAND), release. */
class LockRun {
  readonly #ctx: CliContext;
  readonly #globals: GlobalOptions;
  readonly #url: NfsUrl;
  readonly #range: LockRange;
  readonly #trace: TraceOut;
  /** Aborted by SIGINT/SIGTERM when no COMMAND is running. */
  readonly #stop = new AbortController();
  /** The first stop signal, whether it stopped nfs4 itself or was passed on to COMMAND. */
  #signal: StopSignal | undefined;
  /** A Ctrl-C or hangup from the terminal while COMMAND ran (COMMAND had it too). */
  #terminalSignal: StopSignal | undefined;
  #child: ChildProcess | undefined;
  #releasing = false;
  /** Tells a second stop signal (exit at once) from a repeat of the first (cli/stop_signal.ts). */
  readonly #repeats = new StopSignalRepeats();
  /**
   * What of the lock the server may hold, for an exit that does not wait
   * for the release (a second signal): none; "maybe" from the first LOCK
   * sent until an answer says (a LOCK in flight may be granted, and is
   * settled only by the release nfs4 then skips); "held" from the grant
   * until its LOCKU is answered.
   */
  #lockOnServer: "none" | "maybe" | "held" = "none";

  constructor(ctx: CliContext, globals: GlobalOptions, url: NfsUrl, range: LockRange) {
    this.#ctx = ctx;
    this.#globals = globals;
    this.#url = url;
    this.#range = range;
    this.#trace = new TraceOut(ctx, globals);
  }

  #onSignal = (signal: StopSignal): void => {
    if (this.#repeats.isRepeat(signal)) {
      // timeout(1) signals nfs4, then its process group (COMMAND has that
      // one itself): the stop under way goes on, its release included.
      this.#trace.note(`${signal} again within ${SAME_STOP_MS} ms: the same stop`);
      return;
    }
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      // COMMAND decides when it is done; the lock is released after it exits.
      if (signal !== "SIGTERM" && inForegroundGroup()) {
        // Ctrl-C or the terminal's hangup: the terminal signalled COMMAND
        // too (it shares nfs4's process group), as under flock(1), which
        // passes nothing on. Sent again, one Ctrl-C would be two. Whether it
        // stops nfs4 too is COMMAND's to say: a shell or a REPL that takes
        // its Ctrl-C and goes on has not stopped anything (run()'s finally).
        this.#terminalSignal ??= signal;
        this.#trace.note(`${signal} came from the terminal: COMMAND (pid ${child.pid}) has it too`);
        return;
      }
      // Passed on: nfs4 itself was asked to stop, so its release after
      // COMMAND exits gets the release window of a stop (run()'s finally),
      // not a whole operation deadline against a server that may have gone
      // (`timeout 40 nfs4 lock URL sleep 100` must not outlive its SIGTERM
      // by minutes).
      this.#signal ??= signal;
      this.#trace.note(`${signal} passed on to COMMAND (pid ${child.pid})`);
      // process.kill, not child.kill: Deno's node:child_process reports a
      // child it was asked to kill as killed by that signal even when the
      // child handled it and exited with a status of its own, and refuses a
      // second signal (denoland/deno#36643).
      try {
        if (child.pid !== undefined) process.kill(child.pid, signal);
      } catch {
        // It has just exited: its exit event follows.
      }
      return;
    }
    if (this.#signal !== undefined) {
      // A second signal while the first one's stop is still under way (a
      // LOCK sent before it gets the release window to be answered) or
      // while releasing: exit now, as every command does at a second
      // signal, saying what the server may still hold.
      this.#ctx.error(this.#exitingEarlyText());
      void exitWith(this.#ctx, 128 + signalNumber(signal));
      return;
    }
    this.#signal ??= signal;
    this.#stop.abort(new Error(`${signal} received`));
    // No COMMAND is running: stop the wait or the hold now (a LOCK already
    // sent is answered within the state manager's release window, then
    // released); releasing gets that short window.
    this.#ctx.stopClients(signal === "SIGHUP" ? "SIGTERM" : signal);
  };

  #report(err: unknown): void {
    this.#ctx.error(describeError(err, this.#globals.verbose, {
      url: this.#url,
      timeoutSeconds: this.#globals.timeoutSeconds,
    }));
  }

  async run(options: RunOptions): Promise<number> {
    this.#ctx.ownsSignals = true;
    for (const signal of STOP_SIGNALS) process.on(signal, this.#onSignal);
    let client: Nfs4ClientApi | undefined;
    let file: WritableFile | undefined;
    let locked = false;
    let status: number;
    try {
      client = await this.#ctx.io.connect(
        this.#url,
        this.#globals,
        this.#trace.sinkAnd((event) => this.#onEvent(event)),
        { reacquireLostLocks: options.reacquire },
      );
      this.#stop.signal.throwIfAborted();
      // -n and -w bound the OPEN too: a server in its grace period answers
      // it NFS4ERR_GRACE, the answer at once with -n, waited out until -w
      // (not only an operation's 4 × --timeout) otherwise, so the command
      // neither gives up early nor outlasts its limit there.
      const opening = performance.now();
      const access = this.#range.type === "read" ? "read" : "write";
      const opener = client;
      // As flock(1) opens its file O_CREAT (mode 0666 less the umask): a
      // missing lock file is made, with UNCHECKED4, which leaves a file made
      // meanwhile by another as it is (RFC 8881 §18.16.3). Only once the
      // plain OPEN found none: on a read-only export an OPEN that may create
      // is refused even for a file that exists.
      let create = false;
      const openFile = (answerWithinMs: number | undefined) =>
        opener.open(this.#url.path, {
          access,
          ...(create ? { create: "unchecked" as const, mode: 0o666 & ~currentUmask() } : {}),
          ...(answerWithinMs !== undefined ? { answerWithinMs } : {}),
        });
      const openOnce = (answerWithinMs: number | undefined) =>
        openFile(answerWithinMs).catch((e) => {
          if (create || !(e instanceof NfsError && e.status === Nfs4Status.NFS4ERR_NOENT)) throw e;
          create = true;
          return openFile(answerWithinMs);
        });
      file = await openWithWait(openOnce, {
        timeoutMs: options.timeoutMs,
        signal: this.#stop.signal,
      });
      const left = options.timeoutMs === undefined || options.timeoutMs === 0
        ? options.timeoutMs
        : Math.max(1, options.timeoutMs - (performance.now() - opening));
      this.#lockOnServer = "maybe";
      const taken = await this.#take(file, { ...options, timeoutMs: left }, opening);
      if (typeof taken === "number") {
        // -w is a hard limit: giving up releases the open within the short
        // window, even when the server has gone silent meanwhile.
        this.#ctx.stopClients(new Error("gave up waiting for the lock"));
        return (status = taken);
      }
      locked = true;
      this.#lockOnServer = "held";
      // A signal between the LOCK reply and here: do not start COMMAND.
      if (options.argv.length > 0) this.#stop.signal.throwIfAborted();
      status = options.argv.length === 0
        ? await this.#hold(client, file, options.reacquire)
        : await this.#runCommand(client, file, options);
    } catch (err) {
      if (this.#stop.signal.aborted && this.#signal !== undefined) {
        status = 128 + signalNumber(this.#signal);
      } else {
        // -w ran out while the OPEN was refused "not now": said as for the LOCK.
        if (err instanceof LockWaitDeadline) this.#ctx.error(`${this.#url.text}: ${err.message}`);
        else this.#report(err);
        status = 1;
        // Failed: releasing what was taken gets the short window, not a
        // whole retry budget against a server that may have gone.
        this.#ctx.stopClients(new Error("nfs4 lock failed"));
      }
    } finally {
      this.#releasing = true;
      // A stop signal came while COMMAND ran, passed on to it, or from the
      // terminal and COMMAND died of it: COMMAND has exited now, and the
      // release gets the short window, as every stop signal gives it. A
      // terminal's signal that COMMAND took and went on from stops nothing.
      // Once stopped, this is a no-op.
      const terminal = this.#terminalSignal;
      const stopWith = this.#signal ??
        (terminal !== undefined && status! === 128 + signalNumber(terminal) ? terminal : undefined);
      if (stopWith !== undefined) {
        this.#ctx.stopClients(stopWith === "SIGHUP" ? "SIGTERM" : stopWith);
      }
      const released = await this.#release(client, file, locked);
      for (const signal of STOP_SIGNALS) process.off(signal, this.#onSignal);
      // The lock held and let go as asked (no COMMAND, ended by a signal:
      // status 0), but its LOCKU unanswered: the server still holds it until
      // the lease ends, so not a success (README, "Exit codes": releases that
      // go unanswered exit 1), lest a script take the lock for released.
      if (!released && status! === 0) status = 1;
    }
    return status;
  }

  /**
   * Takes the lock, waiting as asked; a number is the status to exit with
   * instead. `waitStartedAt` is when the wait -w bounds began: before the
   * OPEN, which a server in its grace period may have refused for part of
   * it (`gave up after` says the whole wait).
   */
  async #take(
    file: WritableFile,
    options: RunOptions,
    waitStartedAt: number,
  ): Promise<number | undefined> {
    const what = `${kindOf(this.#range.type)} lock on bytes ${
      formatRange(this.#range.offset, this.#range.length)
    }`;
    let said = false;
    try {
      await lockWithWait(file, this.#range, {
        timeoutMs: options.timeoutMs,
        signal: this.#stop.signal,
        // 4.1 servers may say when the lock is free (CB_NOTIFY_LOCK); polling goes on regardless.
        wake: (listener) => file.onLockAvailable(listener),
        // Each refusal is in the state manager's trace (LOCK denied, waiting).
        onDenied: ({ holder, delayMs }) => {
          if (delayMs > 0 && this.#globals.verbose && !said) {
            said = true;
            this.#ctx.note(`waiting for ${what} on ${this.#url.text}: ${describeHolder(holder)}`);
          }
        },
      });
      return undefined;
    } catch (err) {
      if (err instanceof LockWaitDeadline) {
        // -w ran out with no answer at all: say so, naming the URL.
        this.#ctx.error(`${this.#url.text}: ${err.message}`);
        return 1;
      }
      if (!(err instanceof LockConflictError)) throw err;
      // Refused (LOCK4denied): the last LOCK took nothing.
      this.#lockOnServer = "none";
      const waitedMs = options.timeoutMs ? performance.now() - waitStartedAt : undefined;
      this.#ctx.error(`${this.#url.text}: ${lockConflictText(err, waitedMs)}`);
      return options.conflictCode;
    }
  }

  /** Without COMMAND: say what is held and keep it until SIGINT/SIGTERM (0) or it is lost (125). */
  async #hold(client: Nfs4ClientApi, file: WritableFile, reacquire: boolean): Promise<number> {
    const held = this.#heldLock(client);
    this.#ctx.note(
      `holding ${kindOf(this.#range.type)} lock on ${this.#url.text} bytes ${
        formatRange(this.#range.offset, this.#range.length)
      } (lock owner ${held?.owner ?? "?"}, stateid ${held?.stateid ?? "?"})`,
    );
    let unwatch = () => {};
    const lost = await new Promise<Promise<string> | undefined>((resolve) => {
      const done = (reason: Promise<string> | undefined) => {
        this.#stop.signal.removeEventListener("abort", onStop);
        resolve(reason);
      };
      // Stopped: held to the end only if it still is now.
      const onStop = () => {
        const reason = this.#lostNow(client);
        done(reason === undefined ? undefined : Promise.resolve(reason));
      };
      unwatch = this.#watchLoss(client, file, reacquire, (reason) => done(reason));
      if (this.#stop.signal.aborted) return onStop();
      this.#stop.signal.addEventListener("abort", onStop, { once: true });
    });
    try {
      if (lost === undefined) return 0;
      // Watched until the reason is known (the state manager's words).
      this.#ctx.error(`lost the lock on ${this.#url.text}: ${await lost}`);
      return LOCK_LOST_STATUS;
    } finally {
      unwatch();
    }
  }

  /**
   * Watches the held lock until the returned function is called, and calls
   * `onLost` once when it is lost: at once when the state manager gives it
   * up (`file.onLockLost`, called from inside its work: the lease ran out
   * by this client's clock, the server revoked it, a reclaim was refused),
   * and, as a backstop, when a look every WATCH_MS finds it lost or
   * (without --reacquire, which takes such a lock again) the lease run out
   * by this client's clock: after this process was stopped, that look may
   * run before the state manager's own overdue lease watch. `onLost` gets
   * the reason as a promise, so that what is done is done at once: for a
   * lock found lost by the lease clock alone, the state manager's own words
   * when its overdue lease watch says them (at the latest the next look).
   *
   * From the loss on, this client's work is stopped (`stopClients`): the
   * release that follows gets the short window of a stop, not a whole
   * retry budget against a server that may be gone (the server frees what
   * it still holds when the lease ends, RFC 7530 §9.6.3, RFC 8881 §8.3),
   * and recovery makes no new client ID only to release nothing (an
   * EXPIRED or STALE_CLIENTID answer to a renewal would otherwise).
   */
  #watchLoss(
    client: Nfs4ClientApi,
    file: WritableFile,
    reacquire: boolean,
    onLost: (reason: Promise<string>) => void,
  ): () => void {
    let told = false;
    /** Gives the reason of a loss found by the lease clock alone, once known. */
    let sayByClock: (() => void) | undefined;
    const tell = (reason: Promise<string>) => {
      if (told) return;
      told = true;
      // Not from inside the state manager's work (the listener is called
      // from there): once it has finished marking what it marks.
      queueMicrotask(() => this.#ctx.stopClients(new Error("the lock was lost")));
      onLost(reason);
    };
    const stopListening = file.onLockLost(({ reason }) => {
      sayByClock?.();
      tell(Promise.resolve(this.#lost(client) ?? `lock lost: ${reason}`));
    });
    const watch = setInterval(() => {
      sayByClock?.();
      const lost = this.#lost(client);
      if (lost !== undefined) return tell(Promise.resolve(lost));
      const byClock = reacquire ? undefined : this.#lostNow(client);
      if (byClock === undefined || told) return;
      tell(
        new Promise((resolve) => {
          sayByClock = () => {
            sayByClock = undefined;
            resolve(this.#lost(client) ?? byClock);
          };
        }),
      );
    }, WATCH_MS);
    return () => {
      clearInterval(watch);
      stopListening();
      sayByClock?.();
    };
  }

  /**
   * The state manager's events this command speaks of without --trace: a
   * lock taken again (--reacquire) must say it was not held in between.
   */
  #onEvent(event: TraceEvent): void {
    if (event.category === "lock" && event.event === "LOCK re-acquired") {
      this.#ctx.note(`re-acquired the lock on ${this.#url.text}; ${event.detail ?? ""}`);
    }
  }

  /**
   * With COMMAND: run it with the lock held; its status, 128+N for signal N,
   * or LOCK_LOST_STATUS when the lock was lost meanwhile (COMMAND is then
   * signalled as `onLost` says, like timeout(1) does).
   */
  async #runCommand(
    client: Nfs4ClientApi,
    lockFile: WritableFile,
    options: RunOptions,
  ): Promise<number> {
    const { argv, onLost } = options;
    const [file, ...args] = argv as [string, ...string[]];
    /** Said once the loss is known (its reason may come a moment later); awaited before exiting. */
    let said: Promise<void> | undefined;
    const unwatch = this.#watchLoss(client, lockFile, options.reacquire, (reason) => {
      // COMMAND is told at once, the reason said when known.
      const child = this.#child;
      if (onLost !== "ignore" && child?.pid !== undefined && child.exitCode === null) {
        try {
          process.kill(child.pid, onLost === "kill" ? "SIGKILL" : "SIGTERM");
        } catch {
          // It has just exited.
        }
      }
      const action = onLost === "ignore"
        ? "letting it run (--on-lost ignore)"
        : `sending it ${onLost === "kill" ? "SIGKILL" : "SIGTERM"}`;
      said = reason.then((text) =>
        this.#ctx.error(`lost the lock on ${this.#url.text} while ${file} runs: ${text}; ${action}`)
      );
    });
    try {
      return await new Promise<number>((resolve) => {
        const child = builtin("node:child_process").spawn(file, args, {
          stdio: commandStdio(heldInstanceDescriptors()),
        });
        this.#child = child;
        child.once(
          "spawn",
          () => this.#trace.note(`COMMAND started: ${file} (pid ${child.pid})`),
        );
        child.once("error", (err: Error & { code?: string }) => {
          if (child.pid !== undefined) return; // an error of a running child (kill); exit follows
          this.#ctx.error(`cannot run ${file}: ${spawnErrorText(err)}`);
          resolve(err.code === "ENOENT" ? 127 : 126);
        });
        child.once("exit", (code, signal) => {
          // SIGPIPE: COMMAND's output (nfs4's stdout) was closed early, which
          // ends nfs4 itself with 0 too (`nfs4 lock … -- seq 1e9 | head -c1`).
          const status = signal === "SIGPIPE"
            ? 0
            : signal !== null
            ? 128 + signalNumber(signal)
            : code ?? 1;
          this.#trace.note(
            signal !== null
              ? `COMMAND exited: ${file} killed by ${signal} (${status})`
              : `COMMAND exited: ${file} status ${status}`,
          );
          resolve(status);
        });
      }).then(async (status) => {
        if (said !== undefined) {
          await said;
          return LOCK_LOST_STATUS;
        }
        // COMMAND's status is ours only if the lock was held to its end:
        // looked at once more now, not left to the next tick of the watch
        // (a lease that ran out while nfs4 could not renew it, as COMMAND
        // ended, made it exit with COMMAND's status).
        const reason = this.#lostNow(client);
        if (reason === undefined) return status;
        // Released within the short window, as a loss noticed while it ran.
        this.#ctx.stopClients(new Error("the lock was lost"));
        this.#ctx.error(`lost the lock on ${this.#url.text} while ${file} ran: ${reason}`);
        return LOCK_LOST_STATUS;
      });
    } finally {
      unwatch();
      this.#child = undefined;
    }
  }

  /**
   * LOCKU, CLOSE, then the client's goodbye (RELEASE_LOCKOWNER on 4.0,
   * DESTROY_SESSION on 4.1); false when the LOCKU was not answered, or
   * when the server was not left clean otherwise (a CLOSE or goodbye
   * refused or unanswered: the client's leftOnServer, as every command
   * reports it, cli/context.ts), said on one line. Not for a lock already
   * lost, said already; nor after a stop (a signal, a failure), whose
   * release window leaves nothing in leftOnServer.
   */
  async #release(
    client: Nfs4ClientApi | undefined,
    file: WritableFile | undefined,
    locked: boolean,
  ): Promise<boolean> {
    let released = true;
    const lost = this.#lost(client);
    if (file && locked && lost === undefined) {
      await file.unlock(this.#range).then(() => {
        this.#lockOnServer = "none";
      }, (err) => {
        released = false;
        this.#ctx.error(
          `releasing the lock failed (the server frees it when the lease expires): ${
            describeError(err, this.#globals.verbose, { url: this.#url })
          }`,
        );
      });
    }
    await file?.close().catch(() => {});
    await client?.close().catch((err) => {
      if (this.#globals.verbose) {
        this.#ctx.error(`warning: closing the connection failed: ${describeError(err, true)}`);
      }
    });
    const left = client?.leftOnServer;
    if (left !== undefined && released && lost === undefined) {
      // `not released: RELEASE_LOCKOWNER lock-p42-3 (NFS4ERR_LOCKS_HELD: …)`.
      released = false;
      this.#ctx.error(describeError(left, this.#globals.verbose));
    }
    return released;
  }

  /** What an exit at a second signal leaves on the server, as far as this run knows. */
  #exitingEarlyText(): string {
    const what = `the lock on ${this.#url.text}`;
    switch (this.#lockOnServer) {
      case "held":
        return `exiting before ${what} was released (no LOCKU answered): ` +
          `the server holds it until the lease expires`;
      case "maybe":
        return `exiting with a LOCK for ${what} unanswered: the server may have granted it, ` +
          `and then holds it until the lease expires`;
      case "none":
        return `exiting before releasing all state: ${what} is not held; ` +
          `the server drops the rest when the lease expires`;
    }
  }

  /** The lock owner and stateid the state manager holds for the lock. */
  #heldLock(client: Nfs4ClientApi): { owner: string; stateid: string | undefined } | undefined {
    const open = client.describeState().opens.find((o) => o.path === this.#url.path);
    return open?.locks.find((l) => l.ranges.length > 0);
  }

  /**
   * Why the lock may not be held now: lost as the state manager knows it,
   * or a lease that ran out by this client's clock (no renewal answered for
   * the lease time: the server may have freed the lock, RFC 7530 §9.6).
   */
  #lostNow(client: Nfs4ClientApi): string | undefined {
    const lost = this.#lost(client);
    if (lost !== undefined) return lost;
    const state = client.describeState();
    return state.leaseLeftMs <= 0
      ? `the lease ran out (no renewal answered for ${state.leaseSeconds} s)`
      : undefined;
  }

  #lost(client: Nfs4ClientApi | undefined): string | undefined {
    if (!client) return undefined;
    const open = client.describeState().opens.find((o) => o.path === this.#url.path);
    if (!open) return "the open state was dropped";
    if (open.lost !== undefined) return open.lost;
    return open.locks.find((l) => l.lost !== undefined)?.lost;
  }
}

/**
 * The first descriptor number COMMAND gets the client owner's instance
 * locks at (lib/client/owner_instance.ts, heldInstanceDescriptors): above the
 * 3-9 that shell scripts pick for their own redirections (`exec 9>file`, the
 * flock(1) idiom) and the 10 and up bash's `{fd}>` allocates first, so that
 * a script rarely closes it by accident. A number nfs4 was itself given is
 * passed on as it was and the locks go to the next free numbers.
 */
const INSTANCE_FD_IN_COMMAND = 19;

/**
 * COMMAND's stdio: nfs4's stdin, stdout and stderr, every other descriptor
 * nfs4 was given (as flock(1), timeout(1) or env(1) leave them to theirs:
 * a script's `exec 3>log`, make's jobserver pipe), and the client owner's
 * instance locks from INSTANCE_FD_IN_COMMAND on, at numbers not given (the
 * descriptors between are left closed). Holding them, COMMAND keeps the
 * instance from the next nfs4 process should this one be killed with
 * SIGKILL, which it cannot pass on: that process would otherwise present
 * the same owner with a new verifier, the server would drop this client's
 * lock at once (RFC 7530 §9.1.1), and a second holder would run beside
 * COMMAND. As flock(1) leaves its lock's descriptor open in its COMMAND;
 * the lock then lasts until the lease ends.
 */
export function commandStdio(
  instances: readonly number[],
  given: readonly number[] = givenAtStart?.stillOpen() ?? [],
): ("inherit" | "ignore" | number)[] {
  const stdio: ("inherit" | "ignore" | number)[] = ["inherit", "inherit", "inherit"];
  const taken = new Set(given);
  for (const fd of given) {
    if (instances.includes(fd)) continue;
    while (stdio.length <= fd) stdio.push("ignore");
    stdio[fd] = fd;
  }
  let next = INSTANCE_FD_IN_COMMAND;
  for (const instance of instances) {
    while (taken.has(next)) next++;
    while (stdio.length <= next) stdio.push("ignore");
    stdio[next++] = instance;
  }
  return stdio;
}

function signalNumber(signal: string): number {
  return (osConstants.signals as Record<string, number>)[signal] ?? 0;
}

function spawnErrorText(err: Error & { code?: string }): string {
  switch (err.code) {
    case "ENOENT":
      return "No such file or directory";
    case "EACCES":
      return "Permission denied";
    default:
      return err.message;
  }
}
