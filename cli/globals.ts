/**
 * The options every subcommand takes (`--vers`, `--uid`, `--gid`, `--trace`,
 * `--timeout`, `--verbose`), defined once on the root command. Commander
 * recognises them before or after the subcommand name, and every
 * subcommand's `--help` lists them under "Global Options".
 * @module
 */

import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import type { VersionChoice } from "../lib/client/types.ts";

/** The global options after parsing and validation. */
export interface GlobalOptions {
  /** Which NFSv4 minor version to speak. */
  readonly vers: VersionChoice;
  /** AUTH_SYS uid; the process's own when undefined. */
  readonly uid: number | undefined;
  /** AUTH_SYS gid; the process's own when undefined. */
  readonly gid: number | undefined;
  /** Print state-manager events to stderr, as text or JSON lines. */
  readonly trace: "text" | "json" | undefined;
  /** Per-call and connect timeout. */
  readonly timeoutSeconds: number;
  /** Add the cause chain to error messages. */
  readonly verbose: boolean;
  /** Where the 4.0 callback listener listens and what it announces; or false for no callbacks. */
  readonly callback: { host: string; port: number } | false | undefined;
  /** `--pcap FILE`: write every RPC record sent and received to FILE (absent when not asked). */
  readonly pcap?: string;
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

/** Parses `--trace=FORMAT`. */
export function parseTraceFormat(value: string): "text" | "json" {
  if (value !== "text" && value !== "json") {
    throw new InvalidArgumentError("Expected text or json (write --trace=json)");
  }
  return value;
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
        "--trace [format]",
        "print state-manager events (leases, sessions, recovery) to stderr, " +
          "as text (the default) or JSON lines",
      ).argParser(parseTraceFormat),
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
        "--pcap <file>",
        "write every RPC record sent and received to FILE as a pcap capture (tshark -r FILE)",
      ),
    );
}

/** The root command's type; subcommands are created from it with `.command()`. */
export type RootCommand = ReturnType<typeof createRootCommand>;

/** How `--trace` is shown in help: its value may only be attached with `=`. */
export const TRACE_TERM = "--trace[=text|json]";

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
    trace?: "text" | "json" | true | undefined;
    timeout: number;
    verbose?: true | undefined;
    callbackAddr?: { host: string; port: number } | undefined;
    callback?: boolean | undefined;
    pcap?: string | undefined;
  },
): GlobalOptions {
  return {
    vers: values.vers,
    uid: values.uid,
    gid: values.gid,
    trace: values.trace === true ? "text" : values.trace,
    timeoutSeconds: values.timeout,
    verbose: values.verbose === true,
    callback: values.callback === false ? false : values.callbackAddr,
    ...(values.pcap !== undefined ? { pcap: values.pcap } : {}),
  };
}
