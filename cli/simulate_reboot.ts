/**
 * `nfs4 simulate-reboot URL [--server | --client] [--restart-cmd CMD]
 * [--wait SECONDS] [--range OFFSET[:LENGTH]] [--fail-reclaim open|lock]
 * [--force] [--json]`: a reboot recovery drill against a real server.
 *
 * The drill's file (lib/client/drill_file.ts decides): a new
 * `.nfs4-drill-XXXXXX` in a directory URL, or a new file URL, created
 * exclusively and removed at the end; an existing empty file, truncated
 * back at the end; an existing non-empty file only with `--force`.
 * Otherwise a usage error: the drill never changes a byte of a file it did
 * not create unless told to.
 *
 * Setup (both modes): open the file read-write, lock the range (whole file
 * by default, exclusive), write a marker with FILE_SYNC4 and read it back,
 * and show the state held; within --wait (a server still in grace refuses
 * the OPEN and LOCK with NFS4ERR_GRACE: RFC 7530 §9.6.2).
 *
 * `--server` (the default): the server reboots, by `--restart-cmd` (run with
 * `/bin/sh -c`) or by hand. The ordinary recovery path then runs: a READ
 * through the open meets NFS4ERR_STALE_STATEID (4.0) or NFS4ERR_BADSESSION
 * (4.1), and the state manager checks the lease, re-establishes the client
 * ID, reclaims the open with CLAIM_PREVIOUS and the lock with reclaim set,
 * sends RECLAIM_COMPLETE (4.1) and falls back to no-grace recovery on
 * NFS4ERR_NO_GRACE (RFC 7530 §9.6.2, RFC 8881 §8.4.2). The drill verifies
 * the result through the reclaimed stateids and from a second client owner.
 *
 * `--client`: this client reboots. It drops its state without telling the
 * server, comes back as the same client owner with a new boot verifier, and
 * checks that the server released the old incarnation's open and lock
 * (RFC 7530 §9.1.1, RFC 8881 §2.4).
 *
 * `--fail-reclaim open|lock` makes that reclaim fail (the seeds' fault
 * injection): the state manager marks the state bad, later use of it fails
 * with EBADF, and the drill ends partial.
 *
 * SIGINT and SIGTERM stop the drill: its file is cleaned up as at any end
 * (bounded in time), the report printed, and the exit status is 130 or 143.
 *
 * Exit 0 when all state was recovered and verified, 1 otherwise (also when
 * the drill's file could not be removed, or the setup did not finish within
 * --wait), 2 on a usage error.
 * @module
 */

import { builtin } from "../lib/os/builtins.ts";
import { hostname } from "node:os";
import process from "node:process";
import { InvalidArgumentError, Option } from "@commander-js/extra-typings";
import type {
  LockHolder,
  LockRange,
  Nfs4ClientApi,
  StateSummary,
  WritableFile,
} from "../lib/client/api.ts";
import { Nfs4Client } from "../lib/client/client.ts";
import {
  analyzeRecovery,
  type CheckStatus,
  clientIdsOf,
  describeDrillHolder as holderText,
  type DrillCheck,
  type DrillEvent,
  type DrillIdentity,
  DrillRecorder,
  type DrillRole,
  type DrillStep,
  drillVerdict,
  formatMs,
  holderKind,
  lockCheck,
  locktCheck,
  probeWriteOpens,
  type RecoveryAnalysis,
  recoveryChecks,
  type Settled,
  settleWithin,
  timedOutStepDetail,
  timeline,
  type TimelineEntry,
} from "../lib/client/drill.ts";
import {
  cleanUpDrillFile,
  DRILL_BYTES_WRITTEN,
  DRILL_FILE_PREFIX,
  DRILL_MARKER_BYTES,
  type DrillFile,
  type DrillFileCleanup,
  DrillFileRefusedError,
  drillMarker,
  openDrillFile,
} from "../lib/client/drill_file.ts";
import { Nfs4Status, NfsError } from "../lib/client/errors.ts";
import { withAddedOperationSignal } from "../lib/client/operation_scope.ts";
import { formatNfsUrl, type NfsUrl, parseNfsUrl, UsageError } from "../lib/client/url.ts";
import { formatRange } from "../lib/client/trace.ts";
import {
  DEFAULT_TRACE_CATEGORIES,
  filteredSink,
  formatTraceJson,
  formatTraceText,
  type TraceSink,
} from "../lib/client/trace.ts";
import { connectOptions, readyPcap } from "./connect.ts";
import type { CliContext } from "./context.ts";
import { describeError, noteConnectUrl } from "./errors.ts";
import { jsonCount } from "./json_values.ts";
import { flushed } from "./output.ts";
import { StopSignalRepeats } from "./stop_signal.ts";
import {
  type GlobalOptions,
  parseSeconds,
  readGlobalOptions,
  type RootCommand,
} from "./globals.ts";

/** How long the drill's file may take to clean up after SIGINT or SIGTERM (seconds). */
const CLEANUP_AFTER_SIGNAL_S = 10;
/** How often the server is probed while the drill waits for a restart by hand. */
const PROBE_EVERY_MS = 1_000;
/** How long a new client may take to clean up after the drill's own had to be dropped. */
const FALLBACK_CLEANUP_MS = 10_000;

const HELP = `
The drill's file: the drill writes markers into it, so it runs only where
that changes nobody's bytes:
  - a URL naming a directory: a new file ${DRILL_FILE_PREFIX}XXXXXX in it
    (random suffix), created exclusively (GUARDED4: it never replaces
    anything), removed at the end;
  - a URL naming a file that does not exist: created the same way, removed
    at the end;
  - an existing empty file: used, truncated back to 0 bytes at the end,
    never removed;
  - an existing non-empty file: refused (exit 2), unless --force.
The file is removed (or truncated back) also when the drill fails or is
stopped by SIGINT or SIGTERM, as far as the server allows (it refuses REMOVE
and OPEN during its grace period): for at most --wait seconds, ${CLEANUP_AFTER_SIGNAL_S} s after
a signal. A file that could not be removed is named on stderr (exit 1).

--force: run on an existing non-empty file. The drill then overwrites up to
${DRILL_BYTES_WRITTEN} bytes from the start of the locked range (OFFSET of --range, 0 by
default) with its text markers (${DRILL_MARKER_BYTES.before} bytes before the reboot, ${DRILL_MARKER_BYTES.after} more right
behind them after a server reboot) and does not restore them; a range that
starts near or past the end of the file makes it grow. Nothing else is
changed: the file is left in place, never truncated or removed.

Setup: the file is opened read-write, the range is locked (exclusive; the
whole file by default), a marker is written at the start of the range
(FILE_SYNC4) and read back, all within --wait: a server still in its grace
period (after an earlier reboot) refuses the OPEN and LOCK with
NFS4ERR_GRACE, and the drill then ends after --wait seconds with one line
saying so (exit 1), not when grace ends.

--server (default): the server reboots. With --restart-cmd the command is
run with /bin/sh -c; otherwise you are asked to restart the server, and the
drill asks it about once a second (RENEW on 4.0, SEQUENCE on 4.1) whether
it rebooted, for at most --wait seconds. Then the
state manager recovers as it would for any operation (detect, re-establish,
OPEN CLAIM_PREVIOUS, LOCK reclaim, RECLAIM_COMPLETE on 4.1), and the drill
checks the reclaimed open (READ the marker, WRITE and read back) and, from a
second client owner, that the lock is still held (LOCKT, LOCK refused) by
the client ID in force then and our lock owner: a server that rebooted again
meanwhile is recovered from again first, and a lock of an earlier client ID
of ours is not ours. A check the server did not confirm is never OK.

--client: this client reboots: it drops its state without telling the
server and comes back as the same client owner with a new boot verifier;
the server must release the old incarnation's open and lock at once.

--fail-reclaim open|lock makes that reclaim fail: the state is marked bad,
its next use fails with EBADF, and the drill ends partial (exit 1).

Exit status: 0 when all state was recovered and verified, 1 otherwise, 2 on
a usage error (an existing non-empty file without --force), 130/143 after
SIGINT/SIGTERM.

Examples:
  $ nfs4 simulate-reboot --restart-cmd 'systemctl restart nfs-ganesha' nfs://srv/export/
  $ nfs4 --vers 4.0 --trace simulate-reboot nfs://127.0.0.1/vfs/new-drill-file --wait 300
  $ nfs4 simulate-reboot --client --range 0:4096 nfs://srv/export/tmp
  $ nfs4 simulate-reboot --force nfs://srv/export/scratch.dat
  $ nfs4 simulate-reboot --fail-reclaim lock --json \\
      --restart-cmd 'deno run -A scripts/test_server.ts restart --dir /tmp/g' nfs://127.0.0.1:20490/vfs
`;

const TO_EOF = 0xffff_ffff_ffff_ffffn;

/** Parses `--range OFFSET[:LENGTH]` (decimal or 0x hex; no LENGTH: to the end of file). */
export function parseRange(value: string): { offset: bigint; length: bigint } {
  const match = /^(0x[0-9a-fA-F]+|[0-9]+)(?::(0x[0-9a-fA-F]+|[0-9]+))?$/.exec(value);
  if (!match) throw new InvalidArgumentError("Expected OFFSET or OFFSET:LENGTH (bytes)");
  const offset = BigInt(match[1]!);
  const length = match[2] === undefined ? TO_EOF : BigInt(match[2]);
  if (offset > TO_EOF) throw new InvalidArgumentError("OFFSET is past 2^64-1");
  if (length === 0n) throw new InvalidArgumentError("LENGTH must be at least 1");
  if (length !== TO_EOF && offset + length > TO_EOF + 1n) {
    throw new InvalidArgumentError("OFFSET+LENGTH is past 2^64");
  }
  return { offset, length };
}

/** How the drill connects; the defaults use the library client. */
export interface DrillDeps {
  /** Connects to the server of `url` as `clientId` (a claimed owner when undefined). */
  connect(
    url: NfsUrl,
    globals: GlobalOptions,
    options: {
      clientId?: string | undefined;
      recoveryTimeoutMs: number;
      onTrace: TraceSink;
      /** Stops every operation of the client at once (SIGINT/SIGTERM). */
      signal?: AbortSignal | undefined;
    },
  ): Promise<Nfs4ClientApi>;
  /** OPEN with deny WRITE: whether another open with write access exists (undefined: cannot tell). */
  probeWriteOpens(client: Nfs4ClientApi, path: string): Promise<"granted" | "denied" | undefined>;
  /** Runs the restart command with `/bin/sh -c`; `signal` kills it (SIGTERM). */
  runRestart(command: string, timeoutMs: number, signal?: AbortSignal): Promise<RestartResult>;
}

/** How the restart command ended. */
export interface RestartResult {
  readonly code: number | null;
  readonly signal: string | null;
  readonly ms: number;
  readonly timedOut: boolean;
  /** The end of its stdout and stderr. */
  readonly output: string;
}

const DEFAULT_DEPS: DrillDeps = {
  connect: (url, globals, options) =>
    readyPcap(globals, options.signal).then(() =>
      Nfs4Client.connect({
        ...connectOptions(url, globals, options.onTrace),
        ...(options.clientId !== undefined ? { clientId: options.clientId } : {}),
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
        recoveryTimeoutMs: options.recoveryTimeoutMs,
      })
    ).catch((err) => {
      // Its message names the server, as every other command's does.
      noteConnectUrl(err, url);
      throw err;
    }),
  probeWriteOpens,
  runRestart: runShell,
};

/** Runs `command` with /bin/sh -c; resolves when it exits (daemons it leaves may keep running). */
function runShell(
  command: string,
  timeoutMs: number,
  abort?: AbortSignal,
): Promise<RestartResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    let output = "";
    let timedOut = false;
    const add = (chunk: string) => void (output = (output + chunk).slice(-4000));
    const child = builtin("node:child_process").spawn("/bin/sh", ["-c", command], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.setEncoding("utf8").on("data", add);
    child.stderr.setEncoding("utf8").on("data", add);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGTERM");
    }, timeoutMs);
    const stop = () => child.kill("SIGTERM");
    abort?.addEventListener("abort", stop, { once: true });
    const done = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      abort?.removeEventListener("abort", stop);
      // A daemon the command started may hold the pipes open: stop reading.
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({ code, signal, ms: performance.now() - started, timedOut, output });
    };
    child.once("error", (error) => {
      add(String(error));
      done(127, null);
    });
    child.once("exit", (code, signal) => done(code, signal));
  });
}

type Mode = "server" | "client";
type Check = DrillCheck;

interface DrillOptions {
  readonly mode: Mode;
  readonly restartCmd: string | undefined;
  readonly waitSeconds: number;
  readonly range: LockRange;
  readonly failReclaim: "open" | "lock" | undefined;
  /** Run on an existing non-empty file (its bytes in the range get overwritten). */
  readonly force: boolean;
  readonly json: boolean;
}

/** The drill's file in the report. */
interface FileReport {
  /** Its URL (a directory's URL and the drill's own name in it, for a directory). */
  url: string;
  path: string;
  /** See DrillFileOrigin: `directory`, `new`, `empty` or `forced`. */
  origin: DrillFile["origin"];
  /** The drill created it (and must remove it). */
  created: boolean;
  removed: boolean;
  /** An existing empty file, truncated back to 0 bytes at the end. */
  truncated: boolean;
  /** The bytes the drill wrote into it (`0-72`), or null. */
  written: string | null;
  /** Why it was not removed or truncated back, or null. */
  cleanupError: string | null;
}

/** What the drill reports, as text or one JSON object. */
interface DrillReport {
  mode: Mode;
  url: string;
  minorVersion: number | undefined;
  range: string;
  failReclaim: string | null;
  /** The drill's file; null when the drill stopped before it had one. */
  file: FileReport | null;
  setup: Record<string, unknown>;
  stateBefore: StateSummary | undefined;
  restart: (RestartResult & { command: string }) | null;
  timeline: { t: number; client: string; event: string; detail?: string }[];
  durations: Record<string, number | null>;
  recovery: Record<string, unknown>;
  checks: Check[];
  stateAfter: StateSummary | undefined;
  result: "recovered" | "partial" | "failed" | "interrupted";
  verdict: string;
}

/** SIGINT or SIGTERM stopped the drill. */
class DrillInterrupted extends Error {
  readonly signal: StopSignal;
  constructor(signal: StopSignal) {
    super(`interrupted by ${signal}`);
    this.name = "DrillInterrupted";
    this.signal = signal;
  }
}

type StopSignal = "SIGINT" | "SIGTERM";

/**
 * The drill's setup (open, lock, marker) did not finish within --wait: the
 * server stayed in its grace period, kept answering NFS4ERR_DELAY, or did
 * not answer. Its message is the one line `nfs4:` prints; exit status 1.
 */
class DrillSetupError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DrillSetupError";
  }
}

/**
 * The statuses that say "not yet": NFS4ERR_GRACE (a non-reclaim OPEN or
 * LOCK during the grace period, RFC 7530 §9.6.2) and NFS4ERR_DELAY.
 */
function isWaitStatus(status: number): boolean {
  return status === Nfs4Status.NFS4ERR_GRACE || status === Nfs4Status.NFS4ERR_DELAY;
}

/** 128 + the signal's number, as shells report a process a signal ended. */
const SIGNAL_STATUS: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Exits with `status` once the output is out. `run()` (cli/program.ts)
 * returns 0, 1 or 2 only; as `nfs4 lock` does for its statuses, the drill
 * exits here for 130 and 143, after its cleanup and report.
 */
async function exitWith(ctx: CliContext, status: number): Promise<never> {
  await Promise.all([flushed(ctx.io.stdout), flushed(ctx.io.stderr)]);
  process.exit(status);
}

/** Adds `simulate-reboot` to the program. */
export function registerSimulateReboot(
  program: RootCommand,
  ctx: CliContext,
  deps: DrillDeps = DEFAULT_DEPS,
): void {
  program
    .command("simulate-reboot")
    .description("reboot drill: hold an open and a lock, reboot, watch recovery, verify")
    .argument("<url>", "nfs:// URL of a directory (the drill creates its own file there) or a file")
    .addOption(new Option("--server", "the server reboots (default)").conflicts("client"))
    .addOption(
      new Option("--client", "this client reboots (crashes and comes back)")
        .conflicts(["server", "restartCmd", "failReclaim"]),
    )
    .addOption(new Option("--restart-cmd <cmd>", "command that reboots the server (/bin/sh -c)"))
    .addOption(
      new Option(
        "--wait <seconds>",
        "how long to wait for the server to come back and recovery to finish",
      ).argParser(parseSeconds).default(120),
    )
    .addOption(
      new Option("--range <offset[:length]>", "byte range to lock (default: the whole file)")
        .argParser(parseRange),
    )
    .addOption(
      new Option("--fail-reclaim <state>", "make this reclaim fail (fault injection)")
        .choices(["open", "lock"] as const),
    )
    .option(
      "--force",
      `run on an existing non-empty file: up to ${DRILL_BYTES_WRITTEN} bytes from the start of the range get overwritten (see below)`,
    )
    .option("--json", "print the report as one JSON object")
    .addHelpText("after", HELP)
    .action(async (urlText, opts, cmd) => {
      const globals = readGlobalOptions(cmd.optsWithGlobals());
      ctx.globals = globals;
      const url = parseNfsUrl(urlText);
      const range = opts.range ?? { offset: 0n, length: TO_EOF };
      const drill = new RebootDrill(ctx, deps, globals, url, {
        mode: opts.client ? "client" : "server",
        restartCmd: opts.restartCmd,
        waitSeconds: opts.wait,
        range: { type: "write", ...range },
        failReclaim: opts.failReclaim,
        force: opts.force === true,
        json: opts.json === true,
      });
      // SIGINT/SIGTERM: stop the drill, clean up (bounded), report, exit 130/143.
      const stop = new AbortController();
      const repeats = new StopSignalRepeats();
      const onSignal = (signal: StopSignal) => {
        // A repeat of the first SIGTERM (timeout(1) sends two) is the same stop.
        if (repeats.isRepeat(signal)) return;
        if (stop.signal.aborted) {
          const left = drill.fileLeftBehind();
          ctx.diag.line(
            `simulate-reboot: ${signal} again: exiting now` +
              (left !== undefined ? `; ${left} may be left behind` : ""),
          );
          void exitWith(ctx, SIGNAL_STATUS[signal]);
          return;
        }
        stop.abort(new DrillInterrupted(signal));
        // The cleanup is bounded; this is the backstop should anything hang.
        setTimeout(
          () => void exitWith(ctx, SIGNAL_STATUS[signal]),
          CLEANUP_AFTER_SIGNAL_S * 1000 + FALLBACK_CLEANUP_MS + 5000,
        ).unref?.();
      };
      const onInt = () => onSignal("SIGINT");
      const onTerm = () => onSignal("SIGTERM");
      ctx.ownsSignals = true;
      process.on("SIGINT", onInt);
      process.on("SIGTERM", onTerm);
      try {
        // Under the signal's soft stop too: after it, the drill sends
        // nothing new; its cleanup runs outside it (cleanUpDrillFile).
        const report = await withAddedOperationSignal(stop.signal, () => drill.run(stop.signal));
        if (opts.json) {
          await ctx.out.write(jsonText(report) + "\n");
        } else {
          await drill.printEnd(report);
        }
        const interrupted = stop.signal.reason;
        if (interrupted instanceof DrillInterrupted) {
          await exitWith(ctx, SIGNAL_STATUS[interrupted.signal]);
        }
        if (report.result !== "recovered" || report.file?.cleanupError) ctx.failed = true;
      } finally {
        process.off("SIGINT", onInt);
        process.off("SIGTERM", onTerm);
      }
    });
}

const decoder = new TextDecoder();

function randomTag(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(4)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

/** The lock owner `s` holds the range of `path` with (as LOCK4denied names it). */
function lockOwnerOf(s: StateSummary, path: string): string | undefined {
  return s.opens.find((o) => o.path === path)?.locks.find((l) => l.ranges.length > 0)?.owner;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One run of the drill. */
class RebootDrill {
  readonly #ctx: CliContext;
  readonly #deps: DrillDeps;
  readonly #globals: GlobalOptions;
  readonly #url: NfsUrl;
  readonly #opts: DrillOptions;
  readonly #rec = new DrillRecorder();
  readonly #checks: Check[] = [];
  readonly #traceLine: ((e: DrillEvent) => void) | undefined;
  #main: Nfs4ClientApi | undefined;
  #observer: Nfs4ClientApi | undefined;
  /** The drill's file, once there is one. */
  #target: DrillFile | undefined;
  /** The bytes the drill wrote (or tried to) into its file: from, to (exclusive). */
  #written: { from: bigint; to: bigint } | undefined;
  /** Aborted by SIGINT or SIGTERM (its reason a DrillInterrupted). */
  #stop: AbortSignal | undefined;
  /**
   * Why the clients are crashed rather than closed at the end (the main
   * client is in the middle of a request that got no answer: closing would
   * wait for it), or undefined.
   */
  #abandoned: string | undefined;
  /** What the setup is doing (for the line that says it did not finish). */
  #setupStep: string | undefined;
  /** What the other client's checks wait for now, and on which client. */
  #observerStep: DrillStep | undefined;
  /** The observer was cut off in the middle of an operation: crash it at the end. */
  #dropObserver = false;
  /** The other client's step that got no answer by the deadline (it is crashed at the end). */
  #observerLeft: string | undefined;
  /** The main client is crashed (client mode) and not yet back. */
  #mainDown = false;
  /** The drill's file is cleaned up (or was never there). */
  #fileDone = false;
  /** Where the checks read from the trace go (after those made before the reboot). */
  #traceChecksAt = 0;
  /** The state held before the reboot or crash. */
  #before: StateSummary | undefined;

  constructor(
    ctx: CliContext,
    deps: DrillDeps,
    globals: GlobalOptions,
    url: NfsUrl,
    opts: DrillOptions,
  ) {
    this.#ctx = ctx;
    this.#deps = deps;
    this.#globals = globals;
    this.#url = url;
    this.#opts = opts;
    const trace = ctx.traceOutput(globals);
    if (trace !== undefined) {
      const json = globals.trace === "json";
      const asked = globals.traceFilter?.categories;
      const shown = asked ? new Set<string>([...asked, "server"]) : undefined;
      this.#traceLine = ({ at, role, event }) => {
        if (shown && !shown.has(event.category)) return;
        const restamped = { ...event, time: at / 1000 };
        trace.line(
          json
            ? formatTraceJson({ ...restamped, data: { ...event.data, client: role } })
            : formatTraceText(restamped) + (role === "main" ? "" : `  [${role}]`),
        );
      };
    }
  }

  get #waitMs(): number {
    return this.#opts.waitSeconds * 1000;
  }

  async #say(line: string): Promise<void> {
    if (!this.#opts.json) await this.#ctx.out.write(line + "\n");
  }

  #check(name: string, status: CheckStatus, detail: string): void {
    this.#checks.push({ name, status, detail });
  }

  #describe(error: unknown): string {
    return describeError(error, false, { url: this.#target?.url ?? this.#url });
  }

  /** The path of the drill's file (the URL's until there is one). */
  get #path(): string {
    return this.#target?.path ?? this.#url.path;
  }

  /** Throws the DrillInterrupted when SIGINT or SIGTERM came. */
  #throwIfInterrupted(): void {
    if (this.#stop?.aborted) throw this.#stop.reason;
  }

  /** Notes that bytes [offset, offset+length) of the drill's file are about to be written. */
  #writing(offset: bigint, length: number): void {
    const to = offset + BigInt(length);
    const w = this.#written;
    this.#written = w
      ? { from: w.from < offset ? w.from : offset, to: w.to > to ? w.to : to }
      : { from: offset, to };
  }

  /** The drill's file, when it is still to be removed or truncated back (for a last word). */
  fileLeftBehind(): string | undefined {
    const t = this.#target;
    if (!t || this.#fileDone || !(t.created || t.origin === "empty")) return undefined;
    return formatNfsUrl(t.url);
  }

  /**
   * The trace sink of one client: the recorder gets the default categories'
   * events, whatever --trace asks (the report on stdout is read from them
   * and is the same with any --trace); `ops`, when --trace asks for it,
   * goes to the trace alone.
   */
  #sink(role: DrillRole): TraceSink {
    const record = this.#rec.sink(role, this.#traceLine);
    const asked = this.#globals.traceFilter;
    const traceLine = this.#traceLine;
    if (traceLine === undefined || !asked?.categories?.includes("ops")) return record;
    return filteredSink((event) => {
      if (event.category === "ops") traceLine({ at: this.#rec.now(), role, event });
      else record(event);
    }, {
      categories: [...DEFAULT_TRACE_CATEGORIES, "ops"],
      ...(asked.everyOp ? { everyOp: true } : {}),
    });
  }

  async #connect(
    clientId: string | undefined,
    role: DrillRole,
    recoveryTimeoutMs = this.#waitMs + 60_000,
  ): Promise<Nfs4ClientApi> {
    return await this.#deps.connect(this.#url, this.#globals, {
      clientId,
      // The state manager must not give up while we wait for the server.
      recoveryTimeoutMs,
      onTrace: this.#sink(role),
      // A signal stops the drill's clients at once (their release gets the
      // state manager's short window); the cleanup client comes after it.
      signal: role === "cleanup" ? undefined : this.#stop,
    });
  }

  /**
   * Runs the drill; cleans up whatever happens. `stop` (SIGINT, SIGTERM)
   * ends it early: the report then says `interrupted`.
   */
  async run(stop?: AbortSignal): Promise<DrillReport> {
    this.#stop = stop;
    const o = this.#opts;
    let file: WritableFile | undefined;
    const report: DrillReport = {
      mode: o.mode,
      url: formatNfsUrl(this.#url),
      minorVersion: undefined,
      range: formatRange(o.range.offset, o.range.length),
      failReclaim: o.failReclaim ?? null,
      file: null,
      setup: {},
      stateBefore: undefined,
      restart: null,
      timeline: [],
      durations: {},
      recovery: {},
      checks: this.#checks,
      stateAfter: undefined,
      result: "failed",
      verdict: "",
    };
    try {
      // In client mode the owner must stay ours while we are "down": an
      // explicit one, not an instance another nfs4 process could claim.
      const ownerId = o.mode === "client"
        ? `nfs4-ts/${hostname()}/uid${
          process.getuid?.() ?? "x"
        }/drill-${process.pid}-${randomTag()}`
        : undefined;
      // --wait bounds the setup too: counted from here (RFC 7530 §9.6.2:
      // a server still in grace from an earlier reboot refuses its OPEN
      // and LOCK for as long as grace lasts).
      const setupBy = this.#rec.now() + this.#waitMs;
      this.#main = await this.#connect(ownerId, "main");
      report.minorVersion = this.#main.minorVersion;
      this.#throwIfInterrupted();
      const marker = drillMarker("before");
      const settled = await settleWithin(
        this.#setUp(marker, report, setupBy),
        setupBy - this.#rec.now(),
      );
      // A signal stops the client's operations at once (the setup then
      // fails): that is the answer, not the failure it caused.
      this.#throwIfInterrupted();
      if (settled.kind !== "ok") this.#setupFailed(settled, setupBy);
      file = settled.value;
      const target = this.#target!;
      const before = this.#main.describeState();
      this.#before = before;
      report.stateBefore = before;
      report.setup = {
        path: target.path,
        created: target.created,
        marker: decoder.decode(marker),
        // A byte offset: a number, all its digits (cli/json_values.ts rule 2).
        markerOffset: jsonCount(o.range.offset),
      };
      await this.#printSetup(before, marker.length);
      this.#throwIfInterrupted();
      const result = o.mode === "server"
        ? await this.#serverDrill(file, marker, before, report)
        : await this.#clientDrill(marker, before, report);
      file = result.file;
      report.stateAfter = result.stateAfter;
      Object.assign(
        report,
        drillVerdict(this.#checks, {
          mode: o.mode,
          minorVersion: report.minorVersion,
          path: target.path,
          failReclaim: o.failReclaim,
          durations: report.durations,
        }),
      );
      return report;
    } catch (e) {
      if (!(e instanceof DrillInterrupted)) throw e;
      report.result = "interrupted";
      report.verdict = `interrupted by ${e.signal}: the drill was stopped before its end`;
      return report;
    } finally {
      // A setup that failed half-way: the open it made is what is cleaned up.
      await this.#cleanup(file ?? this.#target?.file, report);
    }
  }

  /**
   * The setup: the drill's file opened (lib/client/drill_file.ts decides
   * which), the range locked, `marker` written with FILE_SYNC4 and read
   * back. The OPEN and the LOCK are to be answered by `answerBy` (recorder
   * ms): a server in its grace period refuses both (NFS4ERR_GRACE, RFC 7530
   * §9.6.2, RFC 8881 §8.4.2), and that refusal is waited out only while
   * another attempt could still be answered in time, then is the answer
   * (OpenOptions/LockOptions.answerWithinMs), as for `lock -w`.
   */
  async #setUp(marker: Uint8Array, report: DrillReport, answerBy: number): Promise<WritableFile> {
    const o = this.#opts;
    const left = () => Math.max(0, answerBy - this.#rec.now());
    this.#setupStep = "OPEN of its file";
    const target = await openDrillFile(this.#main!, this.#url, {
      force: o.force,
      answerWithinMs: left,
    }).catch((e) => {
      if (!(e instanceof DrillFileRefusedError)) throw e;
      throw new UsageError(
        `${e.url.text}: refusing to run the drill on an existing non-empty file (it would ` +
          `overwrite its bytes); name a directory, a new file, or use --force`,
      );
    });
    this.#target = target;
    const file = target.file;
    report.file = fileReport(target);
    this.#throwIfInterrupted();
    this.#setupStep = `LOCK write ${formatRange(o.range.offset, o.range.length)} of ${target.path}`;
    await file.lock(o.range, { answerWithinMs: left() });
    this.#throwIfInterrupted();
    this.#setupStep = `WRITE of the marker to ${target.path}`;
    this.#writing(o.range.offset, marker.length);
    await file.write(o.range.offset, marker, "file");
    this.#setupStep = `READ of the marker from ${target.path}`;
    const back = await file.read(o.range.offset, marker.length);
    if (decoder.decode(back.data) !== decoder.decode(marker)) {
      throw new Error(`${target.path}: the marker read back differs from what was written`);
    }
    this.#setupStep = undefined;
    return file;
  }

  /**
   * Throws what ends a drill whose setup did not finish by `setupBy`: one
   * line that names the URL, the step and the status. A server that stayed
   * in its grace period (or kept answering NFS4ERR_DELAY) through --wait is
   * said so; one that did not answer at all leaves the main client in the
   * middle of its request, so it is dropped at the end rather than closed.
   * Any other error is thrown as it is.
   */
  #setupFailed(settled: Settled<unknown>, setupBy: number): never {
    const step = this.#setupStep ?? "setup";
    const wait = `--wait (${this.#opts.waitSeconds} s)`;
    const where = this.#url.text;
    if (settled.kind === "error") {
      const e = settled.error;
      if (e instanceof NfsError && isWaitStatus(e.status)) {
        const what = e.status === Nfs4Status.NFS4ERR_GRACE
          ? "the server stayed in its grace period"
          : "the server kept answering that it was busy";
        throw new DrillSetupError(
          `${where}: ${what} through ${wait}: the drill's ${step} was refused with ` +
            `${e.statusName} until then; the drill did not start`,
          { cause: e },
        );
      }
      throw e;
    }
    // Timed out (a signal was thrown before): the request is still in flight.
    this.#abandoned = "the setup did not finish";
    const last = this.#rec.after(setupBy - this.#waitMs, "main")
      .findLast((e) => e.event.category === "retry");
    throw new DrillSetupError(
      `${where}: the server did not answer the drill's ${step} within ${wait}` +
        (last ? ` (last retry: ${last.event.event})` : "") + "; the drill did not start",
    );
  }

  async #printSetup(s: StateSummary, markerLength: number): Promise<void> {
    const o = this.#opts;
    const target = this.#target!;
    await this.#say(
      `simulate-reboot: ${o.mode === "server" ? "server" : "client"} reboot drill on ${
        formatNfsUrl(this.#url)
      } (NFSv4.${s.minorVersion})${o.failReclaim ? `, ${o.failReclaim} reclaim made to fail` : ""}`,
    );
    await this.#say(`file: ${fileLine(target)}`);
    await this.#say(
      `setup: opened ${target.path} read-write, locked write ${
        formatRange(o.range.offset, o.range.length)
      }, wrote a ${markerLength}-byte marker at ${o.range.offset} and read it back`,
    );
    for (const line of stateLines(s)) await this.#say(`  ${line}`);
  }

  // ------------------------------------------------------------- server

  async #serverDrill(
    file: WritableFile,
    marker: Uint8Array,
    before: StateSummary,
    report: DrillReport,
  ): Promise<{ file: WritableFile; stateAfter: StateSummary | undefined }> {
    const o = this.#opts;
    const main = this.#main!;
    const path = this.#path;
    const observer = await this.#startObserver(before, "reboot");
    this.#throwIfInterrupted();
    if (o.failReclaim) main.injectFault({ failReclaim: o.failReclaim });

    // --- the reboot
    const since = this.#rec.mark(
      o.restartCmd !== undefined ? "restart command started" : "asked for a server restart",
    );
    this.#traceChecksAt = this.#checks.length;
    let from: number | undefined;
    if (o.restartCmd !== undefined) {
      await this.#say(`restart: /bin/sh -c ${shellQuote(o.restartCmd)}`);
      const r = await this.#deps.runRestart(o.restartCmd, this.#waitMs, this.#stop);
      this.#throwIfInterrupted();
      from = this.#rec.mark("restart command returned");
      report.restart = { command: o.restartCmd, ...r };
      const how = r.timedOut
        ? `killed after ${formatMs(r.ms)} (--wait)`
        : r.signal
        ? `killed by ${r.signal} after ${formatMs(r.ms)}`
        : `exit ${r.code} after ${formatMs(r.ms)}`;
      await this.#say(`  ${how}`);
      if (r.code !== 0) {
        this.#check(
          "restart command",
          "fail",
          `${how}: ${r.output.trim().split("\n").slice(-3).join(" | ")}`,
        );
        for (const line of r.output.trim().split("\n").slice(-5)) {
          this.#ctx.diag.line(`restart: ${line}`);
        }
      }
    } else {
      this.#ctx.diag.line(
        `simulate-reboot: restart the NFS server at ${this.#url.host}:${this.#url.port} now; ` +
          `waiting up to ${o.waitSeconds} s for it to go away and come back`,
      );
      const gone = await this.#waitForReboot(since, since + this.#waitMs);
      this.#throwIfInterrupted();
      if (!gone) {
        this.#check(
          "server reboot",
          "fail",
          `the server did not go away within ${o.waitSeconds} s: the connection stayed up ` +
            `and its answers to lease probes (${
              main.minorVersion === 0 ? "RENEW" : "SEQUENCE"
            }, about once a second) showed no reboot`,
        );
        this.#finishServerReport(report, since, from, before, false);
        return { file, stateAfter: main.describeState() };
      }
    }
    const deadline = this.#rec.now() + this.#waitMs;

    // --- recovery, driven by ordinary I/O through the open, and the checks
    const observerOpen = observer.open(path, { access: "both" });
    observerOpen.catch(() => {});
    const mainOutcome = await settleWithin(
      this.#verifyMain(file, marker),
      deadline - this.#rec.now(),
      this.#stop,
    );
    if (mainOutcome.kind === "aborted") {
      // Cut off in the middle of recovery: closing would wait for it.
      this.#abandoned = "recovery did not finish";
      this.#throwIfInterrupted();
    }
    if (mainOutcome.kind === "timeout") {
      this.#abandoned = "recovery did not finish";
      this.#check(
        "recovery",
        "fail",
        `not finished ${o.waitSeconds} s after the ${
          o.restartCmd !== undefined ? "restart command returned" : "server went away"
        }`,
      );
    } else if (mainOutcome.kind === "error") {
      this.#check("recovery", "fail", this.#describe(mainOutcome.error));
    }
    main.injectFault({ failReclaim: undefined });
    let verified = mainOutcome.kind === "ok";
    if (this.#abandoned === undefined) {
      const observedSince = this.#rec.now();
      const observed = await settleWithin(
        this.#observerChecks(observerOpen),
        deadline - this.#rec.now(),
        this.#stop,
      );
      if (observed.kind === "aborted") {
        this.#dropObserver = true;
        this.#throwIfInterrupted();
      }
      if (observed.kind === "timeout") {
        // Whose request got no answer decides what is dropped and what the
        // check blames: the other client's (its OPEN or LOCKT refused with
        // NFS4ERR_GRACE while grace lasts) says nothing of our recovery.
        const step = this.#observerStep ?? { role: "observer", what: "another client's checks" };
        if (step.role === "main") this.#abandoned = `${step.what} did not finish`;
        else this.#observerLeft = step.what;
        const lastRetry = this.#rec.after(observedSince, step.role)
          .findLast((e) => e.event.category === "retry");
        this.#check(
          "another client's view",
          "fail",
          timedOutStepDetail(step, {
            waitSeconds: o.waitSeconds,
            lastRetry: lastRetry &&
              `${lastRetry.event.event}${
                lastRetry.event.detail ? ` (${lastRetry.event.detail})` : ""
              }`,
          }),
        );
      } else if (observed.kind === "error") {
        this.#check("another client's view", "fail", this.#describe(observed.error));
      }
      verified &&= observed.kind === "ok";
    } else {
      verified = false;
    }
    this.#finishServerReport(report, since, from, before, verified);
    return { file, stateAfter: main.describeState() };
  }

  /**
   * Waits for a restart done by hand: until the main client loses its
   * connection or its state manager sets a recovery flag, `until`
   * (recorder ms) passes or a signal comes. The server is asked about once
   * a second (RENEW on 4.0, SEQUENCE on 4.1: `probeLease()`), not left to
   * the renewer, which asks once every 2/3 of a lease: a server that
   * restarts between two renewals would go unnoticed, and its answer
   * (STALE_CLIENTID, BADSESSION) is what shows it rebooted.
   */
  async #waitForReboot(since: number, until: number): Promise<boolean> {
    const main = this.#main!;
    const seen = () =>
      this.#rec.after(since, "main").some((e) =>
        (e.event.category === "conn" && e.event.event === "connection lost") ||
        (e.event.category === "state" && e.event.event.startsWith("+"))
      );
    let probing: Promise<void> | undefined;
    let lastProbe = -Infinity;
    while (!seen()) {
      if (this.#rec.now() >= until || this.#stop?.aborted) return false;
      if (probing === undefined && this.#rec.now() - lastProbe >= PROBE_EVERY_MS) {
        lastProbe = this.#rec.now();
        probing = main.probeLease().then(() => {}, () => {}).finally(() => (probing = undefined));
      }
      await sleep(50);
    }
    return true;
  }

  /**
   * Who the main client is now, as the server knows it: its lease probed
   * first, so that a reboot since (the server may restart again during
   * recovery) has been noticed and recovered from, and the client ID and
   * lock owner are the ones in force. Its earlier client IDs come from the
   * trace.
   */
  async #identity(): Promise<DrillIdentity> {
    const main = this.#main!;
    await main.probeLease();
    const now = main.describeState();
    return {
      clientId: now.clientId,
      lockOwner: lockOwnerOf(now, this.#path),
      earlier: [
        this.#before!.clientId,
        ...clientIdsOf(this.#rec.events, "main"),
      ].filter((id, i, all) => id !== now.clientId && all.indexOf(id) === i),
    };
  }

  /**
   * The main client after the reboot: READ the marker through the open
   * (which is what makes the state manager notice and recover), WRITE a
   * second marker and read both back. With --fail-reclaim, the state lost
   * must refuse with EBADF.
   */
  async #verifyMain(file: WritableFile, marker: Uint8Array): Promise<void> {
    const o = this.#opts;
    const openKept = o.failReclaim !== "open";
    const lockKept = o.failReclaim === undefined;
    const at = o.range.offset;
    try {
      const got = await file.read(at, marker.length);
      const same = decoder.decode(got.data) === decoder.decode(marker);
      this.#check(
        "READ after the reboot",
        openKept && same ? "ok" : "fail",
        openKept
          ? same
            ? `the marker is intact (open stateid ${this.#openStateid()})`
            : `the marker changed: ${JSON.stringify(decoder.decode(got.data))}`
          : "it succeeded, but the open's reclaim was made to fail: expected EBADF",
      );
    } catch (e) {
      if (!isBadState(e)) throw e;
      this.#check(
        "READ after the reboot",
        openKept ? "fail" : "ok",
        `refused: ${this.#describe(e)}`,
      );
    }
    const second = drillMarker("after");
    try {
      this.#writing(at + BigInt(marker.length), second.length);
      await file.write(at + BigInt(marker.length), second, "file");
      const got = await file.read(at, marker.length + second.length);
      const expected = decoder.decode(marker) + decoder.decode(second);
      const same = decoder.decode(got.data) === expected;
      this.#check(
        "WRITE after the reboot",
        lockKept && same ? "ok" : "fail",
        lockKept
          ? same
            ? `${second.length} bytes at ${
              at + BigInt(marker.length)
            } with open stateid ${this.#openStateid()}, both markers read back`
            : `read back ${JSON.stringify(decoder.decode(got.data))}`
          : `it succeeded, but the ${o.failReclaim} it depends on was lost: expected EBADF` +
            (o.failReclaim === "lock" ? " (the client wrote without the lock it held)" : ""),
      );
    } catch (e) {
      if (!isBadState(e)) throw e;
      this.#check(
        "WRITE after the reboot",
        lockKept ? "fail" : "ok",
        `refused: ${this.#describe(e)}`,
      );
    }
    if (o.failReclaim === "lock") {
      // The lock state itself: LOCKU through it must refuse too.
      try {
        await file.unlock(o.range);
        this.#check("LOCKU through the lost lock state", "fail", "it succeeded: expected EBADF");
      } catch (e) {
        if (!isBadState(e)) throw e;
        this.#check("LOCKU through the lost lock state", "ok", `refused: ${this.#describe(e)}`);
      }
    }
  }

  /** The main client's open stateid of the drill's file now. */
  #openStateid(): string {
    return this.#main!.describeState().opens.find((s) => s.path === this.#path)?.stateid ??
      "none";
  }

  /**
   * A second client owner's view after recovery: its non-reclaim OPEN
   * (refused with NFS4ERR_GRACE while the server is in grace), LOCKT and
   * LOCK on the range (refused while our lock stands). Each answer is
   * judged against who the main client is when it comes (`#identity()`):
   * the server may have rebooted again meanwhile, and a lock of an earlier
   * client ID of ours is not our lock.
   */
  async #observerChecks(observerOpen: Promise<WritableFile>): Promise<void> {
    const o = this.#opts;
    const observer = this.#observer!;
    const lockKept = o.failReclaim === undefined;
    const range = formatRange(o.range.offset, o.range.length);
    const identity = () =>
      this.#waitingOn("main", "our own client's lease probe", this.#identity());
    const testLock = () =>
      this.#waitingOn(
        "observer",
        `another client's LOCKT write ${range}`,
        observer.testLock(this.#path, o.range),
      );
    let us = await identity();
    let holder = await testLock();
    // A reboot while LOCKT waited (for grace, say) gives us a new client
    // ID: ask again under it (a few times at most).
    for (let round = 0; round < 3; round++) {
      const now = await identity();
      if (now.clientId === us.clientId) break;
      us = now;
      holder = await testLock();
    }
    const lockt = locktCheck(holder, us, lockKept);
    this.#check("another client's LOCKT after recovery", lockt.status, lockt.detail);
    const theirs = await this.#waitingOn(
      "observer",
      `another client's OPEN of ${this.#path}`,
      observerOpen,
    );
    try {
      let by: LockHolder | undefined;
      try {
        await this.#waitingOn(
          "observer",
          `another client's LOCK write ${range}`,
          theirs.lock(o.range),
        );
      } catch (e) {
        if (!(e instanceof Error && e.name === "LockConflictError")) throw e;
        by = (e as unknown as { holder: LockHolder }).holder;
      }
      const judged = lockCheck(by, await identity(), lockKept);
      this.#check("another client's LOCK after recovery", judged.status, judged.detail);
    } finally {
      await this.#waitingOn("observer", `another client's CLOSE of ${this.#path}`, theirs.close())
        .catch(() => {});
    }
  }

  /** `work`, noted as the step the other client's checks wait on until it settles. */
  async #waitingOn<T>(role: DrillRole, what: string, work: Promise<T>): Promise<T> {
    const step = { role, what };
    this.#observerStep = step;
    try {
      return await work;
    } finally {
      if (this.#observerStep === step) this.#observerStep = undefined;
    }
  }

  #finishServerReport(
    report: DrillReport,
    since: number,
    from: number | undefined,
    before: StateSummary,
    verified: boolean,
  ): void {
    const a = analyzeRecovery(this.#rec.events, { since, from });
    const after = this.#main!.describeState();
    const lost = after.opens.flatMap((s) => [
      ...(s.lost ? [`open ${s.path}: ${s.lost}`] : []),
      ...s.locks.filter((l) => l.lost && !s.lost).map((l) => `lock ${s.path}: ${l.lost}`),
    ]);
    const fromTrace = recoveryChecks(a, {
      clientIdBefore: before.clientId,
      minorVersion: before.minorVersion,
      failReclaim: this.#opts.failReclaim,
      lostAtEnd: lost,
      verified,
    });
    this.#checks.splice(this.#traceChecksAt, 0, ...fromTrace);
    report.recovery = recoveryJson(a);
    report.durations = {
      detectMs: a.durations.detectMs ?? null,
      reestablishMs: a.durations.reestablishMs ?? null,
      reclaimMs: a.durations.reclaimMs ?? null,
      recoveryMs: a.durations.recoveryMs ?? null,
      downMs: a.durations.downMs ?? null,
      graceWaitedMs: a.durations.graceWaitedMs,
      observerGraceWaitedMs: a.durations.observerGraceWaitedMs,
    };
    report.timeline = timeline(this.#rec.events, this.#rec.marks, since).map((e) =>
      timelineJson(e, since)
    );
    report.recovery.lostAtEnd = lost;
  }

  // ------------------------------------------------------------- client

  /**
   * A second, independent client owner that watches the lock: before the
   * reboot or crash its LOCKT must see ours.
   */
  async #startObserver(before: StateSummary, event: "reboot" | "crash"): Promise<Nfs4ClientApi> {
    const observer = await this.#connect(`${before.ownerId}/observer`, "observer");
    this.#observer = observer;
    const baseline = await observer.testLock(this.#path, this.#opts.range);
    await this.#say(
      `  observer  clientid ${observer.describeState().clientId}: LOCKT ${holderText(baseline)}`,
    );
    const judged = locktCheck(baseline, {
      clientId: before.clientId,
      lockOwner: lockOwnerOf(before, this.#path),
      earlier: [],
    }, true);
    this.#check(`another client's LOCKT before the ${event}`, judged.status, judged.detail);
    return observer;
  }

  async #clientDrill(
    marker: Uint8Array,
    before: StateSummary,
    report: DrillReport,
  ): Promise<{ file: WritableFile | undefined; stateAfter: StateSummary | undefined }> {
    const o = this.#opts;
    const path = this.#path;
    const observer = await this.#startObserver(before, "crash");
    this.#throwIfInterrupted();

    // --- the crash: nothing is sent to the server
    const since = this.#rec.mark("crash");
    this.#mainDown = true;
    await this.#main!.crash();
    await this.#say(`crash: local state dropped, nothing sent to the server`);
    const stillHeld = await observer.testLock(path, o.range);
    const crashed: DrillIdentity = {
      clientId: before.clientId,
      lockOwner: lockOwnerOf(before, path),
      earlier: [],
    };
    const kept = stillHeld !== undefined && holderKind(stillHeld, crashed) === "ours";
    this.#check(
      "the server keeps the old incarnation's lock after the crash",
      kept ? "ok" : "info",
      kept
        ? `${holderText(stillHeld)} (the crashed incarnation)`
        : `${holderText(stillHeld)}: released already`,
    );

    // --- the same client owner comes back with a new boot verifier
    this.#rec.mark("reconnect as the same owner");
    const main = await this.#connect(before.ownerId, "main");
    this.#main = main;
    this.#mainDown = false;
    const now = main.describeState();
    this.#rec.mark("reconnected");
    this.#check(
      "same client owner, new boot verifier",
      now.ownerId === before.ownerId && now.clientId !== before.clientId ? "ok" : "fail",
      `owner ${now.ownerId}: clientid ${now.clientId} (was ${before.clientId})`,
    );
    const opens = await this.#deps.probeWriteOpens(main, path).catch((e) => {
      this.#check("old open released", "fail", this.#describe(e));
      return "error" as const;
    });
    if (opens === "granted") {
      this.#check(
        "old open released",
        "ok",
        "an OPEN with share deny WRITE was granted: no open with write access is left",
      );
    } else if (opens === "denied") {
      this.#check(
        "old open released",
        "fail",
        "an OPEN with share deny WRITE got NFS4ERR_SHARE_DENIED: an open with write access remains",
      );
    } else if (opens === undefined) {
      this.#check("old open released", "info", "not checked (needs the library client)");
    }
    const file = await main.open(path, { access: "both" });
    let lockedAt: number | undefined;
    try {
      await file.lock(o.range);
      lockedAt = this.#rec.mark("new incarnation's LOCK granted");
      this.#check(
        "old lock released",
        "ok",
        `the new incarnation's LOCK write ${
          formatRange(o.range.offset, o.range.length)
        } was granted`,
      );
    } catch (e) {
      if (!(e instanceof Error && e.name === "LockConflictError")) throw e;
      const by = (e as unknown as { holder: LockHolder }).holder;
      this.#check("old lock released", "fail", `LOCK refused: ${holderText(by)}`);
    }
    const got = await file.read(o.range.offset, marker.length);
    const same = decoder.decode(got.data) === decoder.decode(marker);
    this.#check(
      "data written before the crash",
      same ? "ok" : "fail",
      same ? "the marker is intact" : `read ${JSON.stringify(decoder.decode(got.data))}`,
    );
    if (lockedAt !== undefined) {
      const holder = await observer.testLock(path, o.range);
      const judged = locktCheck(holder, {
        clientId: now.clientId,
        lockOwner: lockOwnerOf(main.describeState(), path),
        earlier: [before.clientId],
      }, true);
      this.#check(
        "another client's LOCKT after the reboot",
        judged.status,
        judged.status === "ok" ? `${holderText(holder)} (the new incarnation)` : judged.detail,
      );
      const lease = before.leaseSeconds * 1000;
      const took = lockedAt - since;
      this.#check(
        "released by the new verifier",
        took < lease ? "ok" : "info",
        took < lease
          ? `${
            formatMs(took)
          } after the crash, before the old lease (${before.leaseSeconds} s) could run out`
          : `${
            formatMs(took)
          } after the crash: the old lease (${before.leaseSeconds} s) may have run out first`,
      );
    }
    const a = analyzeRecovery(this.#rec.events, { since });
    report.recovery = recoveryJson(a);
    report.durations = {
      reestablishMs: a.durations.reestablishMs ?? null,
      releasedAfterMs: lockedAt !== undefined ? lockedAt - since : null,
    };
    report.timeline = timeline(this.#rec.events, this.#rec.marks, since).map((e) =>
      timelineJson(e, since)
    );
    return { file, stateAfter: main.describeState() };
  }

  // ------------------------------------------------------------- end

  /** The text report after the setup lines. */
  async printEnd(report: DrillReport): Promise<void> {
    if (report.result === "interrupted") {
      if (report.checks.length > 0) await this.#say("checks (before the drill was stopped):");
      for (const c of report.checks) {
        await this.#say(`  ${c.status.toUpperCase().padEnd(4)}  ${c.name}: ${c.detail}`);
      }
      if (report.file) await this.#say(`file: ${fileEndLine(report.file)}`);
      await this.#say(report.verdict);
      return;
    }
    if (report.timeline.length > 0) {
      await this.#say(
        `timeline (seconds from the ${report.mode === "server" ? "restart" : "crash"}):`,
      );
      for (const e of report.timeline) {
        const who = e.client === "observer" ? "observer " : "";
        await this.#say(
          `  ${e.t >= 0 ? "+" : ""}${e.t.toFixed(3)}  ${who}${e.event}${
            e.detail ? `  (${e.detail})` : ""
          }`,
        );
      }
    }
    await this.#say("checks:");
    for (const c of report.checks) {
      await this.#say(`  ${c.status.toUpperCase().padEnd(4)}  ${c.name}: ${c.detail}`);
    }
    const d = report.durations;
    if (report.mode === "server") {
      await this.#say(
        `durations: server away ${fmt(d.downMs)}, detect ${fmt(d.detectMs)}, re-establish ${
          fmt(d.reestablishMs)
        }, reclaim ${fmt(d.reclaimMs)}, grace waited ${fmt(d.graceWaitedMs)} (another client: ${
          fmt(d.observerGraceWaitedMs)
        })`,
      );
    } else {
      await this.#say(
        `durations: re-establish ${fmt(d.reestablishMs)}, released ${
          fmt(d.releasedAfterMs)
        } after the crash`,
      );
    }
    if (report.stateAfter) {
      await this.#say("state after:");
      for (const line of stateLines(report.stateAfter)) await this.#say(`  ${line}`);
    }
    if (report.file) await this.#say(`file: ${fileEndLine(report.file)}`);
    await this.#say(report.verdict);
  }

  /**
   * The end of every drill: the drill's file removed or truncated back
   * (lib/client/drill_file.ts), through the main client when it can still
   * be used, else through a new client; each bounded in time (--wait, or
   * CLEANUP_AFTER_SIGNAL_S after a signal). A file left behind is reported
   * on stderr and in the report. Then the clients are closed, or crashed
   * when recovery did not finish (closing would wait for it).
   */
  async #cleanup(file: WritableFile | undefined, report: DrillReport): Promise<void> {
    const main = this.#main;
    const observer = this.#observer;
    const target = this.#target;
    const budget = this.#stop?.aborted ? CLEANUP_AFTER_SIGNAL_S * 1000 : this.#waitMs;
    /** The main client is still busy with the file: drop rather than close it. */
    let stuck = false;
    if (this.#dropObserver || this.#observerLeft !== undefined) {
      await observer?.crash().catch(() => {});
    }
    if (this.#observerLeft !== undefined) {
      this.#ctx.diag.line(
        `simulate-reboot: ${this.#observerLeft} did not finish; ` +
          "the other client's state left to expire on the server",
      );
    }
    if (target) {
      const since = this.#rec.now();
      const cleanup = await cleanUpDrillFile(target, {
        client: this.#abandoned !== undefined || this.#mainDown ? undefined : main,
        file,
        written: this.#written,
        timeoutMs: budget,
        connect: () => this.#connect(undefined, "cleanup", FALLBACK_CLEANUP_MS),
        fallbackTimeoutMs: FALLBACK_CLEANUP_MS,
      });
      this.#fileDone = true;
      stuck = cleanup.kind === "timeout" && cleanup.busy;
      this.#reportFileEnd(report, target, cleanup, since);
    }
    if (this.#abandoned !== undefined || stuck) {
      // Drop the state; the server lets it go when the lease runs out.
      await main?.crash().catch(() => {});
      await observer?.crash().catch(() => {});
      this.#ctx.diag.line(
        `simulate-reboot: ${
          this.#abandoned ?? "cleanup did not finish"
        }; state left to expire on the server`,
      );
      return;
    }
    const closing = Promise.all([
      main?.close().catch(() => {}),
      observer?.close().catch(() => {}),
    ]);
    await settleWithin(closing, budget);
  }

  /**
   * What became of the drill's file, into the report; a file left behind
   * also gets one line on stderr that names it.
   */
  #reportFileEnd(
    report: DrillReport,
    target: DrillFile,
    cleanup: DrillFileCleanup,
    since: number,
  ): void {
    const where = target.url.text;
    let failure: string | undefined;
    if (cleanup.kind === "failed") {
      failure = this.#describe(cleanup.error);
      if (!failure.startsWith(`${where}: `)) failure = `${where}: ${failure}`;
    } else if (cleanup.kind === "timeout") {
      // Why it waited: the last retry of the state manager (REMOVE -> NFS4ERR_GRACE, a resend).
      const last = this.#rec.after(since).findLast((e) => e.event.category === "retry");
      failure = `${where}: not done within ${formatMs(cleanup.ms)}` +
        (last ? `; last retry: ${last.event.event}` : "") +
        (last?.event.detail ? ` (${last.event.detail})` : "");
    }
    const end = cleanup.kind === "done" ? cleanup.end : undefined;
    const changed = typeof end === "object"
      ? `${where}: not truncated back to 0 bytes, which would lose what the drill did not write: ` +
        end.changed
      : undefined;
    if (report.file) {
      report.file.removed = end === "removed";
      report.file.truncated = end === "truncated";
      report.file.written = this.#written
        ? formatRange(this.#written.from, this.#written.to - this.#written.from)
        : null;
      report.file.cleanupError = failure ?? changed ?? null;
    }
    if (failure !== undefined) {
      this.#ctx.error(
        `${failure} (${
          target.created
            ? "the drill's file was not removed: remove it by hand"
            : "the file was not truncated back to 0 bytes"
        })`,
      );
    } else if (changed !== undefined) {
      this.#ctx.error(changed);
    }
  }
}

/** The drill's file as the report starts it (the end is filled in by the cleanup). */
function fileReport(t: DrillFile): FileReport {
  return {
    url: formatNfsUrl(t.url),
    path: t.path,
    origin: t.origin,
    created: t.created,
    removed: false,
    truncated: false,
    written: null,
    cleanupError: null,
  };
}

/** What the drill's file is and what becomes of it, for the text report's `file:` line. */
function fileLine(t: DrillFile): string {
  const url = formatNfsUrl(t.url);
  switch (t.origin) {
    case "directory":
      return `${url}, created for the drill in the directory named (removed at the end)`;
    case "new":
      return `${url}, created for the drill (removed at the end)`;
    case "empty":
      return `${url}, an existing empty file (truncated back to 0 bytes at the end, not removed)`;
    case "forced":
      return `${url}, an existing file of ${t.sizeBefore ?? "unknown"} bytes (--force: ` +
        `the bytes the drill writes stay overwritten; the file is left in place)`;
  }
}

/** What the end of the drill did to its file, for the text report. */
function fileEndLine(f: FileReport): string {
  if (f.cleanupError !== null) {
    return `${f.created ? "NOT removed" : "NOT truncated back"}: ${f.cleanupError}`;
  }
  if (f.removed) return `removed ${f.url}`;
  if (f.truncated) return `truncated ${f.url} back to 0 bytes (left in place)`;
  if (f.written !== null && f.origin === "forced") {
    return `${f.url} left in place; bytes ${f.written} hold the drill's markers`;
  }
  return `${f.url} left in place, unchanged`;
}

function isBadState(e: unknown): boolean {
  return e instanceof Error && e.name === "BadStateError";
}

function fmt(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? "-" : formatMs(ms);
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

function stateLines(s: StateSummary): string[] {
  const lines = [
    `client    clientid ${s.clientId} owner ${s.ownerId}` +
    (s.session ? `, session ${s.session} (${s.slots} slots)` : "") +
    `, lease ${s.leaseSeconds} s`,
  ];
  for (const open of s.opens) {
    lines.push(
      `open      ${open.path} stateid ${open.stateid} owner ${open.owner} (${open.access})` +
        (open.lost ? `  LOST: ${open.lost}` : ""),
    );
    for (const lock of open.locks) {
      lines.push(
        `lock      ${open.path} stateid ${lock.stateid ?? "none"} owner ${lock.owner} ${
          lock.ranges.join(", ") || "(no ranges)"
        }` + (open.lost ? "  LOST with its open" : lock.lost ? `  LOST: ${lock.lost}` : ""),
      );
    }
  }
  return lines;
}

function timelineJson(e: TimelineEntry, since: number) {
  return {
    t: Number(((e.at - since) / 1000).toFixed(6)),
    client: e.role,
    event: e.what,
    ...(e.detail !== undefined ? { detail: e.detail } : {}),
  };
}

function recoveryJson(a: RecoveryAnalysis): Record<string, unknown> {
  return {
    detectedBy: a.detectedBy ?? null,
    newClientId: a.newClientId ?? null,
    // More than one when the server rebooted again during recovery.
    clientIds: a.clientIds,
    newSession: a.newSession ?? null,
    reclaimed: a.reclaimed.map((r) => `${r.how}: ${r.detail}`),
    recoveredWithoutGrace: a.recoveredNoGrace.map((r) => `${r.how}: ${r.detail}`),
    lost: a.lost.map((r) => `${r.how}: ${r.detail}`),
    injected: a.injected.map((r) => `${r.how}: ${r.detail}`),
    reclaimComplete: a.reclaimComplete?.result ?? null,
    noGrace: a.noGrace,
    graceRefusals: a.graceRefusals.map((g) => ({
      client: g.role,
      op: g.op,
      count: g.count,
      waitedMs: g.waitedMs,
    })),
  };
}

function jsonText(report: DrillReport): string {
  return JSON.stringify(report, (key, value) => {
    if (typeof value === "bigint") return value.toString();
    // Milliseconds to the microsecond are plenty.
    if (typeof value === "number" && /Ms$|^ms$/.test(key)) return Math.round(value * 1000) / 1000;
    return value;
  });
}
