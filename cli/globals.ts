/**
 * The options every subcommand takes (`--vers`, `--uid`, `--gid`, `--trace`,
 * `--trace-file`, `--timeout`, `--verbose`, ...), defined once on the root command. Commander
 * recognises them before or after the subcommand name, and every
 * subcommand's `--help` lists them under "Global Options".
 * @module
 */

import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import type { VersionChoice } from "../lib/client/types.ts";
import { TRACE_CATEGORIES, type TraceCategory, type TraceFilter } from "../lib/client/trace.ts";

/** The global options after parsing and validation. */
export interface GlobalOptions {
  /** Which NFSv4 minor version to speak. */
  readonly vers: VersionChoice;
  /** AUTH_SYS uid; the process's own when undefined. */
  readonly uid: number | undefined;
  /** AUTH_SYS gid; the process's own when undefined. */
  readonly gid: number | undefined;
  /** Print trace events (to stderr, or `traceFile`), as text or JSON lines. */
  readonly trace: "text" | "json" | undefined;
  /** Which events `--trace` asked for (absent: the default categories, all but `ops`). */
  readonly traceFilter?: TraceFilter;
  /** `--trace-file PATH`: the trace goes there, not to stderr (absent when not asked). */
  readonly traceFile?: string;
  /** Per-call and connect timeout. */
  readonly timeoutSeconds: number;
  /** Add the cause chain to error messages. */
  readonly verbose: boolean;
  /** Where the 4.0 callback listener listens and what it announces; or false for no callbacks. */
  readonly callback: { host: string; port: number } | false | undefined;
  /** `--pcap FILE`: write every RPC record sent and received to FILE (absent when not asked). */
  readonly pcap?: string;
  /** `--resvport` / `--no-resvport` (absent: a reserved source port when running as root). */
  readonly reservedPort?: boolean;
}

/** The defaults, for commands run without options (and for tests). */
export const DEFAULT_GLOBALS: GlobalOptions = {
  vers: "auto",
  uid: undefined,
  gid: undefined,
  trace: undefined,
  timeoutSeconds: 30,
  verbose: false,
  callback: undefined,
};

const MAX_ID = 0xffffffff;

/** Parses a uid or gid: a decimal integer from 0 to 2^32 - 1. */
export function parseId(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) > MAX_ID) {
    throw new InvalidArgumentError(`Expected an integer from 0 to ${MAX_ID}`);
  }
  return Number(value);
}

/**
 * Parses `--timeout` (and other durations): a number of seconds, fractions
 * allowed, of at least one millisecond (timers count whole milliseconds, and
 * 0 would mean no limit at all) and at most a day.
 */
export function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!/^[0-9]*\.?[0-9]+$/.test(value) || !(seconds >= 0.001) || seconds > 86400) {
    throw new InvalidArgumentError("Expected a number of seconds from 0.001 to 86400");
  }
  return seconds;
}

/** Parses `--callback-addr HOST[:PORT]` (IPv6 in brackets). */
export function parseCallbackAddr(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]+))(?::([0-9]+))?$/.exec(value);
  const port = m?.[3] === undefined ? 0 : Number(m[3]);
  if (!m || port > 65535) {
    throw new InvalidArgumentError("Expected HOST or HOST:PORT (IPv6 as [ADDR]:PORT)");
  }
  return { host: m[1] ?? m[2]!, port };
}

/** What `--trace=WORD,...` asked for. */
export interface TraceSpec {
  readonly format: "text" | "json";
  /** Absent: the default categories (every one but `ops`). */
  readonly filter?: TraceFilter;
}

/** The words `--trace=` takes besides the category names. */
const TRACE_WORDS = ["text", "json", "all", "ops-all"] as const;

/**
 * Parses `--trace=WORD,...`: comma-separated words in any order, each a
 * format (`text`, the default, or `json`: one JSON object per line) or what
 * to trace: a category (`state`, `ops`, ...), `all` (every category) or
 * `ops-all` (`ops` with every READ and WRITE on its own line). Without a
 * category word, every category but `ops`.
 */
export function parseTraceFormat(value: string): TraceSpec {
  const words = value.split(",");
  let format: "text" | "json" | undefined;
  const categories = new Set<TraceCategory>();
  let everyOp = false;
  for (const word of words) {
    if (word === "text" || word === "json") {
      if (format !== undefined && format !== word) {
        throw new InvalidArgumentError("Expected text or json, not both");
      }
      format = word;
    } else if (word === "all") {
      for (const c of TRACE_CATEGORIES) categories.add(c);
    } else if (word === "ops-all") {
      categories.add("ops");
      everyOp = true;
    } else if ((TRACE_CATEGORIES as readonly string[]).includes(word)) {
      categories.add(word as TraceCategory);
    } else {
      throw new InvalidArgumentError(
        `Expected text or json and categories, comma separated (--trace=json,ops); ` +
          `'${word}' is none of ${[...TRACE_WORDS, ...TRACE_CATEGORIES].join(", ")}`,
      );
    }
  }
  const filter: TraceFilter | undefined = categories.size > 0
    ? { categories: TRACE_CATEGORIES.filter((c) => categories.has(c)), everyOp }
    : undefined;
  return { format: format ?? "text", ...(filter ? { filter } : {}) };
}

/** The root command `nfs4` with the global options (nothing else). */
export function createRootCommand() {
  return new Command("nfs4")
    .addOption(
      new Option("--vers <version>", "NFSv4 minor version to speak")
        .choices(["4.0", "4.1", "4.2", "auto"] as const)
        .default("auto" as const),
    )
    .addOption(
      new Option("--uid <n>", "AUTH_SYS user id to send (default: this process's)")
        .argParser(parseId),
    )
    .addOption(
      new Option("--gid <n>", "AUTH_SYS group id to send (default: this process's)")
        .argParser(parseId),
    )
    .addOption(
      new Option(
        "--trace [words]",
        "print what the client does to stderr: state-manager events (leases, sessions, " +
          "recovery) by default. After '=', comma separated, in any order: text (the " +
          "default) or json (every stderr line JSON, errors too), and what to show: ops " +
          "(each COMPOUND: ops, statuses, bytes, time; READ/WRITE runs summarised), " +
          "ops-all (every one), all, or categories: " + TRACE_CATEGORIES.join(" "),
      ).argParser(parseTraceFormat),
    )
    .addOption(
      new Option(
        "--trace-file <path>",
        "write the trace to PATH (created or truncated) instead of stderr; implies --trace",
      ),
    )
    .addOption(
      new Option("--timeout <seconds>", "give up on a call or a connection after this long")
        .argParser(parseSeconds)
        .default(30),
    )
    .addOption(new Option("--verbose", "explain errors with their cause chain"))
    .addOption(
      new Option(
        "--callback-addr <host[:port]>",
        "NFSv4.0 callback listener address (default: the address the server sees us at)",
      ).argParser(parseCallbackAddr),
    )
    .addOption(
      new Option("--no-callback", "run without a callback channel (and so without delegations)"),
    )
    .addOption(
      new Option(
        "--resvport",
        "connect from a reserved port (below 1024), as servers exporting with 'secure' require (default as root)",
      ),
    )
    .addOption(new Option("--no-resvport", "connect from an ordinary port, even as root"))
    .addOption(
      new Option(
        "--pcap <file>",
        "write every RPC record sent and received to FILE as a pcap capture (tshark -r FILE)",
      ),
    );
}

/** The root command's type; subcommands are created from it with `.command()`. */
export type RootCommand = ReturnType<typeof createRootCommand>;

/** How `--trace` is shown in help: its value may only be attached with `=`. */
export const TRACE_TERM = "--trace[=text|json][,CATEGORY...]";

/**
 * Rewrites a bare `--trace` (before `--`) as `--trace=text`, so that it never
 * takes the next argument (a URL) as its format. `--trace=json` is unchanged.
 * Likewise a bare `--preserve` (cp) is `--preserve=mode,ownership,timestamps`,
 * as in coreutils, whose list is only ever given with `=`.
 */
export function normalizeArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      out.push(...argv.slice(i));
      break;
    }
    out.push(
      arg === "--trace"
        ? "--trace=text"
        : arg === "--preserve"
        ? "--preserve=mode,ownership,timestamps"
        : arg,
    );
  }
  return out;
}

/** The global options as a subcommand's action sees them (`cmd.optsWithGlobals()`). */
export function readGlobalOptions(
  values: {
    vers: VersionChoice;
    uid?: number | undefined;
    gid?: number | undefined;
    trace?: TraceSpec | true | undefined;
    traceFile?: string | undefined;
    timeout: number;
    verbose?: true | undefined;
    callbackAddr?: { host: string; port: number } | undefined;
    callback?: boolean | undefined;
    pcap?: string | undefined;
    resvport?: boolean | undefined;
  },
): GlobalOptions {
  return {
    vers: values.vers,
    uid: values.uid,
    gid: values.gid,
    // --trace-file alone turns the trace on, as text.
    trace: typeof values.trace === "object"
      ? values.trace.format
      : values.trace === true || values.traceFile !== undefined
      ? "text"
      : undefined,
    timeoutSeconds: values.timeout,
    verbose: values.verbose === true,
    callback: values.callback === false ? false : values.callbackAddr,
    ...(values.pcap !== undefined ? { pcap: values.pcap } : {}),
    ...(values.resvport !== undefined ? { reservedPort: values.resvport } : {}),
    ...(typeof values.trace === "object" && values.trace.filter
      ? { traceFilter: values.trace.filter }
      : {}),
    ...(values.traceFile !== undefined ? { traceFile: values.traceFile } : {}),
  };
}
