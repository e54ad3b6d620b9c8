/**
 * The verbs only `nfs4 shell` has: moving around (cd, pwd, lcd, lpwd),
 * copying to and from here (get, put: `cp` underneath), holding opens and
 * locks across prompts (open, close, lock, unlock), and looking at the
 * client itself (state, trace, renew, help, exit). Each resolves with an
 * exit status, as a command would.
 * @module
 */

import * as path from "node:path";
import process from "node:process";
import { builtin } from "../lib/os/builtins.ts";
import type {
  LeaseProbe,
  LockRange,
  Nfs4ClientApi,
  StateSummary,
  WritableFile,
} from "../lib/client/api.ts";
import { describeLockHolder, LockConflictError } from "../lib/client/errors.ts";
import { type TraceEvent, visible } from "../lib/client/trace.ts";
import { lockWithWait } from "../lib/client/lock_wait.ts";
import { type NfsUrl, parseNfsUrl, UsageError } from "../lib/client/url.ts";
import type { CliContext } from "./context.ts";
import { describeError } from "./errors.ts";
import { ExitCode } from "./exit_codes.ts";
import type { GlobalOptions } from "./globals.ts";
import { lockConflictText, parseRange, parseWait } from "./lock.ts";
import { quoteName } from "./ls_quote.ts";
import { COMMAND_VERBS, EmptyPathError, type OptionShape, resolvePath } from "./shell_paths.ts";

/** What `trace` shows: nothing but the notable events (off), the events, every COMPOUND, JSON. */
export type TraceMode = "off" | "on" | "ops" | "json";

/** What the built-in verbs see of the shell. */
export interface ShellState {
  readonly ctx: CliContext;
  readonly globals: GlobalOptions;
  readonly start: NfsUrl;
  readonly client: Nfs4ClientApi;
  cwd: string;
  previousCwd: string;
  traceMode: TraceMode;
  /** Hears the client's trace events (every category) until the returned function is called. */
  watchTrace(listener: (event: TraceEvent) => void): () => void;
  /** Files held open by `open` and `lock`, by absolute path. */
  readonly held: Map<string, HeldFile>;
  lastStatus: number;
  /** The options of nfs4 `verb` and the global ones (which take a value). */
  commandOptions(verb: string): readonly OptionShape[];
  /** Runs nfs4 `verb` (paths made URLs, unless `raw`) on the shell's client. */
  runCommand(verb: string, args: readonly string[], how?: { raw?: boolean }): Promise<number>;
  /** The nfs:// URL of a path word. */
  urlOf(word: string): string;
  /** A message above the prompt. */
  notify(text: string): void;
}

/** A file held open by `open` or `lock`. */
export interface HeldFile {
  file: WritableFile;
  /** read, write or both. */
  access: string;
  readonly locks: LockRange[];
}

/** A built-in verb. */
export interface Builtin {
  readonly usage: string;
  readonly summary: string;
  /** Another name of this verb (`quit` of `exit`): `help` lists only the verb itself. */
  readonly aliasOf?: string;
  run(shell: ShellState, args: string[], signal: AbortSignal): Promise<number | "exit">;
}

const TO_END = 0xffff_ffff_ffff_ffffn;

function out(shell: ShellState, text: string): Promise<void> {
  return shell.ctx.out.write(text.endsWith("\n") ? text : `${text}\n`);
}

function usage(shell: ShellState, verb: string, message: string): number {
  shell.ctx.error(`${verb}: ${message} (usage: ${BUILTINS.get(verb)!.usage})`);
  return ExitCode.USAGE;
}

/**
 * A remote path as the terminal shows it: control characters and bytes that
 * are not UTF-8 as `ls -b` writes them (`\033`, `\351`), never raw.
 */
export function displayPath(path: string): string {
  return quoteName(path, { style: "escape" }).text;
}

/**
 * The absolute path a word names: relative to the current directory, or an
 * nfs:// URL of the shell's server taken as it is. Another server's URL is
 * refused: what the shell holds is on its own client.
 */
function targetOf(shell: ShellState, word: string): string {
  if (!word.startsWith("nfs://")) return resolvePath(shell.cwd, word);
  const url = parseNfsUrl(word);
  if (url.host !== shell.start.host || url.port !== shell.start.port) {
    throw new UsageError(`${word}: not on this shell's server`);
  }
  return url.path;
}

/**
 * The one-line message of a failed verb, the verb named first as bash names
 * a builtin (`cd: nfs://srv/vfs/x: No such file or directory
 * (NFS4ERR_NOENT)`): in a line or a script of several verbs it says which
 * failed. A message that names the verb already is left as it is, and so
 * is the note of a stop (`interrupted by SIGINT`), which follows the `^C`
 * that caused it and is no failure of the verb's own.
 */
export function verbMessage(verb: string, message: string): string {
  if (message.startsWith(`${verb}: `) || /^interrupted by SIG[A-Z]+$/.test(message)) {
    return message;
  }
  return `${verb}: ${message}`;
}

function fail(shell: ShellState, verb: string, err: unknown, url?: string): number {
  shell.ctx.error(verbMessage(
    verb,
    describeError(err, shell.globals.verbose, {
      timeoutSeconds: shell.globals.timeoutSeconds,
      ...(url ? { url: parseNfsUrl(url) } : {}),
    }),
  ));
  return ExitCode.FAILURE;
}

type OptionSpec = Record<string, { type: "boolean" | "string"; short?: string }>;

/** Parses a builtin's options with node:util parseArgs; a usage error is reported. */
function options(
  shell: ShellState,
  verb: string,
  args: string[],
  spec: OptionSpec,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } | undefined {
  try {
    const parsed = builtin("node:util").parseArgs({
      args,
      options: spec,
      allowPositionals: true,
      strict: true,
    });
    return {
      values: parsed.values as Record<string, string | boolean | undefined>,
      positionals: parsed.positionals,
    };
  } catch (err) {
    usage(shell, verb, (err as Error).message.replace(/\. To specify.*$/s, ""));
    return undefined;
  }
}

const cd: Builtin = {
  usage: "cd [DIR|-]",
  summary: "change the remote directory (no DIR: where the shell started; -: the previous one)",
  async run(shell, args) {
    if (args.length > 1) return usage(shell, "cd", "too many arguments");
    const word = args[0];
    const target = word === undefined
      ? shell.start.path
      : word === "-"
      ? shell.previousCwd
      : targetOf(shell, word);
    try {
      // A trailing slash: it must be a directory (symlinks to one are fine).
      await shell.client.stat(target === "/" ? "/" : `${target}/`);
    } catch (err) {
      return fail(shell, "cd", err, shell.urlOf(target));
    }
    shell.previousCwd = shell.cwd;
    shell.cwd = target;
    if (word === "-") await out(shell, shell.ctx.out.isTTY ? displayPath(target) : target);
    return 0;
  },
};

const pwd: Builtin = {
  usage: "pwd",
  summary: "print the remote directory (and its URL with -u)",
  async run(shell, args) {
    // Off a terminal the path as it is, for scripts (as ls writes names).
    const cwd = shell.ctx.out.isTTY ? displayPath(shell.cwd) : shell.cwd;
    await out(shell, args[0] === "-u" ? shell.urlOf(".") : cwd);
    return 0;
  },
};

const lcd: Builtin = {
  usage: "lcd [DIR]",
  summary: "change the local directory (for get and put)",
  run(shell, args) {
    const dir = args[0] ?? shell.ctx.io.env.HOME ?? "/";
    try {
      process.chdir(dir);
      return Promise.resolve(0);
    } catch (err) {
      shell.ctx.error(
        `lcd: ${dir}: ${
          (err as NodeJS.ErrnoException).code === "ENOENT"
            ? "No such file or directory"
            : (err as Error).message
        }`,
      );
      return Promise.resolve(ExitCode.FAILURE);
    }
  },
};

const lpwd: Builtin = {
  usage: "lpwd",
  summary: "print the local directory",
  async run(shell) {
    await out(shell, process.cwd());
    return 0;
  },
};

/**
 * Splits `cp`'s options from the operands as commander reads them: an
 * option that takes a value takes the next word when it is not attached
 * (`--sparse always`, `-tDIR`), options may come after operands, and
 * everything after `--` is an operand.
 */
function splitOptions(
  args: string[],
  shapes: readonly OptionShape[],
): { flags: string[]; operands: string[] } {
  const byName = new Map<string, OptionShape>();
  for (const shape of shapes) {
    if (shape.short) byName.set(shape.short, shape);
    if (shape.long) byName.set(shape.long, shape);
  }
  const flags: string[] = [];
  const operands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    if (word === "--") {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (!word.startsWith("-") || word === "-") {
      operands.push(word);
      continue;
    }
    flags.push(word);
    if (word.startsWith("--")) {
      if (!word.includes("=") && byName.get(word)?.required && i + 1 < args.length) {
        flags.push(args[++i]!);
      }
      continue;
    }
    // A cluster of short options: the first that takes a value takes the
    // rest of the word, or the next word when it ends the cluster.
    for (let j = 1; j < word.length; j++) {
      const shape = byName.get(`-${word[j]}`);
      if (!shape?.required && !shape?.optional) continue;
      if (j === word.length - 1 && shape.required && i + 1 < args.length) flags.push(args[++i]!);
      break;
    }
  }
  return { flags, operands };
}

const get: Builtin = {
  usage: "get [CP-OPTION...] REMOTE [LOCAL]",
  summary: "copy a remote file (or tree, with -r) here (cp underneath)",
  run(shell, args) {
    const { flags, operands } = splitOptions(args, shell.commandOptions("cp"));
    if (operands.length < 1 || operands.length > 2) {
      return Promise.resolve(usage(shell, "get", "one or two operands"));
    }
    if (operands.includes("")) throw new EmptyPathError();
    const remote = operands[0]!;
    // `-` is stdout, as for cp.
    const local = operands[1] === "-" ? "-" : path.resolve(operands[1] ?? ".");
    return shell.runCommand("cp", [...flags, "--", shell.urlOf(remote), local], { raw: true });
  },
};

const put: Builtin = {
  usage: "put [CP-OPTION...] LOCAL [REMOTE]",
  summary: "copy a local file (or tree, with -r) to the remote directory (cp underneath)",
  run(shell, args) {
    const { flags, operands } = splitOptions(args, shell.commandOptions("cp"));
    if (operands.length < 1 || operands.length > 2) {
      return Promise.resolve(usage(shell, "put", "one or two operands"));
    }
    if (operands.includes("")) throw new EmptyPathError();
    const local = operands[0] === "-" ? "-" : path.resolve(operands[0]!);
    const remote = shell.urlOf(operands[1] ?? "./");
    return shell.runCommand("cp", [...flags, "--", local, remote], { raw: true });
  },
};

const ACCESS = new Set(["read", "write", "both"]);

type Access = "read" | "write" | "both";

/** The access that gives both `a` and `b`. */
function unionAccess(a: Access, b: Access): Access {
  return a === b ? a : "both";
}

/**
 * The file held at `target`, open with at least `access`: opened when it
 * is not held yet, its open upgraded when held with less (`lock -x` on a
 * file `open`ed for reading: a write lock needs the file open for writing,
 * RFC 7530 §16.10.4 NFS4ERR_OPENMODE). The upgrade is an OPEN of the same
 * open owner, so the server keeps one open state and its locks.
 */
async function hold(
  shell: ShellState,
  target: string,
  access: Access,
): Promise<HeldFile> {
  const held = shell.held.get(target);
  if (held) {
    const wanted = unionAccess(held.access as Access, access);
    if (wanted === held.access) return held;
    const upgraded = await shell.client.open(target, { access: wanted });
    // The older user of the shared open state goes; the state stays.
    await held.file.close();
    held.file = upgraded;
    held.access = wanted;
    return held;
  }
  const file = await shell.client.open(target, { access });
  const entry = { file, access, locks: [] as LockRange[] };
  shell.held.set(target, entry);
  return entry;
}

const open: Builtin = {
  usage: "open PATH [read|write|both]",
  summary: "OPEN a file and hold it across prompts (see it with state)",
  async run(shell, args) {
    const [word, access = "read"] = args;
    if (word === undefined || args.length > 2 || !ACCESS.has(access)) {
      return usage(shell, "open", "a path, then read, write or both");
    }
    const target = targetOf(shell, word);
    if (shell.held.has(target)) {
      shell.ctx.error(`open: ${shell.urlOf(target)}: already held (close it first)`);
      return ExitCode.FAILURE;
    }
    try {
      await hold(shell, target, access as "read" | "write" | "both");
      return 0;
    } catch (err) {
      return fail(shell, "open", err, shell.urlOf(target));
    }
  },
};

const close: Builtin = {
  usage: "close [PATH]",
  summary: "CLOSE a file held by open or lock (its locks are released first); no PATH: all",
  async run(shell, args) {
    const targets = args.length === 0
      ? [...shell.held.keys()]
      : args.map((word) => targetOf(shell, word));
    let status = 0;
    for (const target of targets) {
      const held = shell.held.get(target);
      if (!held) {
        shell.ctx.error(`close: ${shell.urlOf(target)}: not held`);
        status = ExitCode.FAILURE;
        continue;
      }
      const lost = lostStateText(shell, target, held);
      if (lost) {
        // What is left is released as well as it can be; the loss is the news.
        shell.held.delete(target);
        await held.file.close().catch(() => {});
        shell.ctx.error(`close: ${lost}`);
        status = ExitCode.FAILURE;
        continue;
      }
      try {
        for (const range of held.locks) await held.file.unlock(range);
        held.locks.length = 0;
        await held.file.close();
        shell.held.delete(target);
      } catch (err) {
        status = fail(shell, "close", err, shell.urlOf(target));
      }
    }
    return status;
  },
};

const lock: Builtin = {
  usage: "lock [-s|-x] [-n|-w SECONDS] [--range OFFSET[:LENGTH]] PATH",
  summary: "take a byte-range lock and hold it across prompts (Ctrl-C stops a wait)",
  async run(shell, args, signal) {
    const parsed = options(shell, "lock", args, {
      shared: { type: "boolean", short: "s" },
      exclusive: { type: "boolean", short: "x" },
      nonblock: { type: "boolean", short: "n" },
      wait: { type: "string", short: "w" },
      range: { type: "string" },
    });
    if (!parsed) return ExitCode.USAGE;
    const { values, positionals } = parsed;
    if (positionals.length !== 1) return usage(shell, "lock", "one path");
    let range: LockRange;
    let timeoutMs: number | undefined;
    try {
      const bytes = values.range === undefined
        ? { offset: 0n, length: TO_END }
        : parseRange(values.range as string);
      range = { type: values.shared ? "read" : "write", ...bytes };
      if (values.nonblock) timeoutMs = 0;
      else if (values.wait !== undefined) timeoutMs = parseWait(values.wait as string) * 1000;
    } catch (err) {
      return usage(shell, "lock", (err as Error).message);
    }
    const target = targetOf(shell, positionals[0]!);
    const url = shell.urlOf(target);
    // A file `open` or an earlier `lock` holds stays held when this lock fails.
    const heldBefore = shell.held.has(target);
    let started: number | undefined;
    try {
      // A shared lock needs the file open for reading, an exclusive one for
      // writing (cli/lock.ts); reading too, for what the user does next.
      const held = await hold(shell, target, range.type === "read" ? "read" : "both");
      started = performance.now();
      const result = await lockWithWait(held.file, range, {
        timeoutMs,
        signal,
        wake: (listener) => held.file.onLockAvailable(listener),
        onDenied: (denial) => {
          if (denial.attempt === 1 && denial.delayMs > 0) {
            shell.notify(`waiting: ${describeLockHolder(denial.holder)}`);
          }
        },
      });
      held.locks.push(range);
      if (result.attempts > 1) {
        shell.notify(`locked after ${(result.waitedMs / 1000).toFixed(1)} s`);
      }
      return 0;
    } catch (err) {
      if (!heldBefore) await dropIfUnlocked(shell, target);
      if (signal.aborted) {
        // As get and put say it: `interrupted by SIGINT`.
        shell.ctx.error(describeError(signal.reason, false));
        return ExitCode.SIGINT;
      }
      if (err instanceof LockConflictError) {
        // As `nfs4 lock -w` says it: how long the wait took before it gave up.
        const waitedMs = timeoutMs && started !== undefined
          ? performance.now() - started
          : undefined;
        shell.ctx.error(`lock: ${url}: ${lockConflictText(err, waitedMs)}`);
        return ExitCode.FAILURE;
      }
      return fail(shell, "lock", err, url);
    }
  },
};

/**
 * What recovery lost of the state held on `target` (the open, or a lock the
 * shell still counts as held), as a message: `URL: lock lost: REASON
 * (EBADF)`; undefined when nothing was lost. An unlock or close of lost
 * state finds nothing to release on the server and must not pass that off
 * as success.
 */
export function lostStateText(
  shell: Pick<ShellState, "client" | "urlOf">,
  target: string,
  held: HeldFile,
): string | undefined {
  const open = shell.client.describeState().opens.find((o) => o.path === target);
  if (!open) return undefined;
  const lock = held.locks.length > 0 ? open.locks.find((l) => l.lost !== undefined) : undefined;
  const what = open.lost !== undefined ? ["open", open.lost] : lock ? ["lock", lock.lost!] : [];
  if (what.length === 0) return undefined;
  // The reason may say "lock lost: ..." itself.
  const [kind, reason] = what as [string, string];
  const text = reason.startsWith(`${kind} lost`) ? reason : `${kind} lost: ${reason}`;
  return `${shell.urlOf(target)}: ${text} (EBADF)`;
}

/** Closes a file `lock` opened when it holds no lock and was not `open`ed. */
async function dropIfUnlocked(shell: ShellState, target: string): Promise<void> {
  const held = shell.held.get(target);
  if (!held || held.locks.length > 0) return;
  shell.held.delete(target);
  await held.file.close().catch(() => {});
}

const unlock: Builtin = {
  usage: "unlock [--range OFFSET[:LENGTH]] PATH",
  summary: "release a lock taken with lock (the file stays open until close)",
  async run(shell, args) {
    const parsed = options(shell, "unlock", args, { range: { type: "string" } });
    if (!parsed) return ExitCode.USAGE;
    const { values, positionals } = parsed;
    if (positionals.length !== 1) return usage(shell, "unlock", "one path");
    const target = targetOf(shell, positionals[0]!);
    const held = shell.held.get(target);
    if (!held || held.locks.length === 0) {
      shell.ctx.error(`unlock: ${shell.urlOf(target)}: no lock held`);
      return ExitCode.FAILURE;
    }
    let bytes: { offset: bigint; length: bigint } | undefined;
    try {
      if (values.range !== undefined) bytes = parseRange(values.range as string);
    } catch (err) {
      return usage(shell, "unlock", (err as Error).message);
    }
    const ranges = bytes
      ? held.locks.filter((r) => r.offset === bytes!.offset && r.length === bytes!.length)
      : [...held.locks];
    if (ranges.length === 0) {
      shell.ctx.error(`unlock: ${shell.urlOf(target)}: no lock held on that range`);
      return ExitCode.FAILURE;
    }
    const lost = lostStateText(shell, target, held);
    if (lost) {
      // Told once: the shell no longer counts these ranges as held.
      for (const range of ranges) held.locks.splice(held.locks.indexOf(range), 1);
      shell.ctx.error(`unlock: ${lost}`);
      return ExitCode.FAILURE;
    }
    try {
      for (const range of ranges) {
        await held.file.unlock(range);
        held.locks.splice(held.locks.indexOf(range), 1);
      }
      return 0;
    } catch (err) {
      return fail(shell, "unlock", err, shell.urlOf(target));
    }
  },
};

/**
 * The client record as `state` prints it. Control characters never go out
 * raw, on a terminal or not: the record is lines for a reader (`state
 * --json` has every field as it is), and a name with an escape sequence
 * or a newline must neither drive the terminal nor break a line. A path
 * is written on a `terminal` as the prompt and `pwd` write it there
 * (`\033`, `\351`: displayPath), elsewhere with only its control
 * characters as `\xHH`; other text that may hold what a server sent (a
 * loss's reason, an owner) likewise (visible()).
 */
export function formatState(state: StateSummary, options: { terminal: boolean }): string {
  const shown = options.terminal ? displayPath : visible;
  const lines = [
    `server      ${visible(state.server)} (NFSv4.${state.minorVersion})`,
    `client ID   ${state.clientId}`,
    `owner       ${visible(state.ownerId)}`,
  ];
  if (state.session !== undefined) {
    lines.push(`session     ${state.session} (${state.slots ?? "?"} slots)`);
  }
  lines.push(
    `lease       ${state.leaseSeconds} s, ${(state.leaseLeftMs / 1000).toFixed(1)} s left`,
    `flags       ${state.flags.length > 0 ? state.flags.join(" ") : "none"}`,
  );
  if (state.opens.length === 0) lines.push("opens       none");
  for (const open of state.opens) {
    lines.push(
      `open        ${shown(open.path)}  ${open.access}  stateid ${open.stateid}  ` +
        `owner ${visible(open.owner)}` + (open.lost ? `  LOST: ${visible(open.lost)}` : ""),
    );
    if (open.delegation) {
      lines.push(
        `  delegation ${open.delegation.type}  stateid ${open.delegation.stateid}` +
          (open.delegation.recalled ? "  (recalled)" : ""),
      );
    }
    for (const lock of open.locks) {
      lines.push(
        `  lock      ${lock.ranges.join(", ") || "(none)"}  stateid ${lock.stateid ?? "none"}  ` +
          `owner ${visible(lock.owner)}` + (lock.lost ? `  LOST: ${visible(lock.lost)}` : ""),
      );
    }
  }
  return lines.join("\n") + "\n";
}

const state: Builtin = {
  usage: "state [--json]",
  summary: "the client record: client ID, session, lease, flags, opens, locks, delegations",
  async run(shell, args) {
    const parsed = options(shell, "state", args, { json: { type: "boolean" } });
    if (!parsed) return ExitCode.USAGE;
    if (parsed.positionals.length > 0) {
      return usage(shell, "state", `unexpected argument '${parsed.positionals[0]}'`);
    }
    const summary = shell.client.describeState();
    if (parsed.values.json) await out(shell, JSON.stringify(summary));
    else await shell.ctx.out.write(formatState(summary, { terminal: shell.ctx.out.isTTY }));
    return 0;
  },
};

const trace: Builtin = {
  usage: "trace [on|off|ops|json]",
  summary:
    "show the state manager's events (on), every COMPOUND (ops), the events as JSON (json), " +
    "or only the notable ones (off, the default)",
  async run(shell, args) {
    const mode = args[0];
    if (mode === undefined) {
      await out(shell, `trace ${shell.traceMode}`);
      return 0;
    }
    if (mode !== "on" && mode !== "off" && mode !== "ops" && mode !== "json") {
      return usage(shell, "trace", `unknown mode '${mode}'`);
    }
    shell.traceMode = mode;
    return 0;
  },
};

const renew: Builtin = {
  usage: "renew",
  summary: "check the lease now (RENEW on 4.0, SEQUENCE on 4.1), recovering if needed",
  async run(shell) {
    try {
      const before = shell.client.describeState();
      // Named as the trace names it: RENEW on 4.0 (RFC 7530 §16.28), a lone
      // SEQUENCE on 4.1 (RFC 8881 §18.46).
      const op = before.minorVersion === 0 ? "RENEW" : "SEQUENCE";
      const exchange = new LeaseExchange(shell, op);
      const stop = shell.watchTrace((event) => exchange.see(event));
      const started = performance.now();
      let probe;
      try {
        probe = await shell.client.probeLease();
      } finally {
        stop();
      }
      const ended = performance.now();
      const after = shell.client.describeState();
      await out(shell, renewText(op, probe, exchange.answered, { started, ended, after }));
      return 0;
    } catch (err) {
      return fail(shell, "renew", err);
    }
  },
};

/** The renewal `renew` sent, as the trace told it. */
interface AnsweredRenewal {
  /** `NFS4_OK`, `NFS4ERR_STALE_CLIENTID`... */
  readonly answer: string;
  /** The round trip of the request the server answered (not its resends, not the recovery after it). */
  readonly rttMs: number | undefined;
  /** The client ID (and 4.1 session) it renewed, or that the server refused. */
  readonly clientId: string;
  readonly session: string | undefined;
  /** When its answer was told (performance.now()). */
  readonly answeredAt: number;
  /** The recovery its answer started (a flag set after it), if any. */
  recovery: boolean;
}

/**
 * Finds, among the client's events while `renew` runs, the renewal it sent
 * and what followed: the `lease` event of the RENEW or lone SEQUENCE that
 * the state manager sent while no recovery was under way (probeLease waits
 * for one first), the COMPOUND that carried it (its round trip: one
 * exchange, not the resends before it nor the recovery after), and whether
 * a recovery began with its answer (a flag set next). The client ID it
 * names is the one in force when the answer came: a recovery that answer
 * starts replaces it only afterwards.
 */
class LeaseExchange {
  readonly #shell: ShellState;
  readonly #op: string;
  /** The last COMPOUND of the op alone that was answered, and its round trip. */
  #lastCompoundMs: number | undefined;
  answered: AnsweredRenewal | undefined;

  constructor(shell: ShellState, op: string) {
    this.#shell = shell;
    this.#op = op;
  }

  see(event: TraceEvent): void {
    if (this.answered?.recovery) return;
    if (event.category === "ops") {
      const ms = answeredAlone(event, this.#op);
      if (ms !== undefined) this.#lastCompoundMs = ms;
      return;
    }
    if (event.category === "state" && event.event.startsWith("+")) {
      if (this.answered) this.answered.recovery = true;
      return;
    }
    if (event.category !== "lease") return;
    const answer = event.event === `${this.#op} ok`
      ? "NFS4_OK"
      : event.event.startsWith(`${this.#op} -> `)
      ? event.event.slice(this.#op.length + 4)
      : undefined;
    if (answer === undefined) return;
    // Another sender's renewal (the renewer's, CHECK_LEASE's) beside it:
    // not renew's, nor is the COMPOUND just before it.
    const by = event.data?.by;
    if (by !== undefined && by !== "lease probe") {
      this.#lastCompoundMs = undefined;
      return;
    }
    const state = this.#shell.client.describeState();
    // A renewal of a recovery (CHECK_LEASE) is not the one renew sent.
    if (state.flags.length > 0) return;
    const rtt = event.data?.rttMs;
    this.answered = {
      answer,
      rttMs: this.#lastCompoundMs ?? (typeof rtt === "number" ? rtt : undefined),
      clientId: state.clientId,
      session: state.session,
      answeredAt: performance.now(),
      recovery: false,
    };
    this.#lastCompoundMs = undefined;
  }
}

/** The round trip of an `ops` event of `op` alone that the server answered, else undefined. */
function answeredAlone(event: TraceEvent, op: string): number | undefined {
  const ops = event.data?.ops;
  const ms = event.data?.ms;
  if (!Array.isArray(ops) || ops.length !== 1 || typeof ms !== "number") return undefined;
  const only = ops[0] as { op?: unknown; status?: unknown };
  const answered = only.status !== undefined || event.data?.status !== undefined;
  return only.op === op && answered ? ms : undefined;
}

/**
 * `renew`'s line: the answer, the round trip of that exchange and the
 * client ID it was for; then, when the answer began a recovery (a server
 * restart: RFC 7530 §9.6.2, RFC 8881 §8.4.2), how long the recovery took
 * and the client ID (and session) it made, apart.
 */
function renewText(
  op: string,
  probe: LeaseProbe,
  answered: AnsweredRenewal | undefined,
  times: { started: number; ended: number; after: StateSummary },
): string {
  if (!answered || answered.answer !== probe.answer) {
    // Not told by the trace (a client that tells no events), or not as the
    // probe's answer: the probe as a whole.
    return `${op} -> ${probe.answer} in ${probe.ms.toFixed(1)} ms, client ID ${probe.clientId}`;
  }
  const rtt = answered.rttMs ?? answered.answeredAt - times.started;
  // A SEQUENCE refused may be refused for its session (NFS4ERR_BADSESSION): named too.
  const refusedSession = answered.answer !== "NFS4_OK" && answered.session !== undefined
    ? `, session ${answered.session}`
    : "";
  const text = `${op} -> ${answered.answer} in ${
    rtt.toFixed(1)
  } ms, client ID ${answered.clientId}${refusedSession}`;
  if (!answered.recovery) return text;
  const made = [
    ...(probe.clientId !== answered.clientId ? [`client ID ${probe.clientId}`] : []),
    ...(times.after.session !== undefined && times.after.session !== answered.session
      ? [`session ${times.after.session}`]
      : []),
  ];
  return `${text}; recovered in ${(times.ended - answered.answeredAt).toFixed(1)} ms` +
    (made.length > 0 ? `: new ${made.join(", ")}` : "");
}

const help: Builtin = {
  usage: "help [VERB]",
  summary: "list the verbs, or explain one",
  async run(shell, args) {
    const verb = args[0];
    const width = shell.ctx.out.columns ?? 80;
    if (verb !== undefined) {
      const builtin = BUILTINS.get(verb);
      if (builtin) {
        await out(shell, [builtin.usage, ...wrap(builtin.summary, width, 2)].join("\n"));
        return 0;
      }
      if (!COMMAND_VERBS.includes(verb)) {
        // As an unknown verb at the prompt is told; not nfs4's whole --help.
        shell.ctx.error(`help: ${visible(verb)}: not a verb here ('help' lists them)`);
        return ExitCode.FAILURE;
      }
      return await shell.runCommand(verb, ["--help"]);
    }
    await out(shell, verbTable(width));
    return 0;
  },
};

/**
 * `help`'s list, fitted to WIDTH columns: each verb's usage, its summary
 * beside it (wrapped below itself), or below it when the usage is long.
 */
export function verbTable(width: number): string {
  // An alias is named in its verb's summary, not listed again.
  const verbs = [...BUILTINS.values()].filter((b) => b.aliasOf === undefined);
  // The summaries' column: after the usages, but for those too long to
  // leave the summaries most of the line (they go above their summary).
  const cap = Math.max(12, Math.floor(width * 0.35));
  const fits = verbs.map((b) => b.usage.length).filter((n) => n <= cap);
  const column = 2 + Math.max(4, ...fits) + 2;
  const lines = ["Shell verbs:"];
  for (const builtin of verbs) {
    const summary = wrap(builtin.summary, width, column);
    if (2 + builtin.usage.length + 2 <= column) {
      lines.push(`  ${builtin.usage.padEnd(column - 4)}  ${summary[0]!.trimStart()}`);
      lines.push(...summary.slice(1));
    } else {
      // A usage longer than the line goes on below itself, further in.
      const usage = wrap(builtin.usage, width - 2, 2);
      lines.push(usage[0]!, ...usage.slice(1).map((l) => `  ${l}`), ...summary);
    }
  }
  lines.push(
    ...wrap(
      "nfs4 commands (paths relative to the current directory; 'help CMD' for options):",
      width,
      0,
    ),
    ...wrap(
      "ls cat cp stat df rm rmdir mkdir mv ln chmod chown touch truncate du find head tail info",
      width,
      2,
    ),
  );
  return lines.join("\n");
}

/**
 * TEXT in lines of at most WIDTH columns (a longer word stands alone),
 * each indented by INDENT spaces; a narrow WIDTH still leaves 20 for text.
 */
function wrap(text: string, width: number, indent: number): string[] {
  const room = Math.max(20, width - indent);
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines.map((l) => " ".repeat(indent) + l);
}

const exit: Builtin = {
  usage: "exit [STATUS]",
  summary: "release everything and leave (also quit, Ctrl-D)",
  run(shell, args) {
    if (args[0] !== undefined) {
      if (!/^[0-9]+$/.test(args[0]) || Number(args[0]) > 255) {
        return Promise.resolve(usage(shell, "exit", "a status from 0 to 255"));
      }
      shell.lastStatus = Number(args[0]);
    }
    return Promise.resolve("exit" as const);
  },
};

const quit: Builtin = {
  usage: "quit [STATUS]",
  summary: "the same as exit: release everything and leave (also Ctrl-D)",
  aliasOf: "exit",
  run: exit.run,
};

/** The built-in verbs by name. */
export const BUILTINS: ReadonlyMap<string, Builtin> = new Map([
  ["cd", cd],
  ["pwd", pwd],
  ["lcd", lcd],
  ["lpwd", lpwd],
  ["get", get],
  ["put", put],
  ["open", open],
  ["close", close],
  ["lock", lock],
  ["unlock", unlock],
  ["state", state],
  ["trace", trace],
  ["renew", renew],
  ["help", help],
  ["exit", exit],
  ["quit", quit],
]);
