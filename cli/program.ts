/**
 * The `nfs4` command line: the root command, the list of subcommands, and
 * `run()`, which parses, dispatches and turns the outcome into an exit code.
 * It never exits the process; cli/main.ts does.
 * @module
 */

import { CommanderError, Help, type Option } from "@commander-js/extra-typings";
import { CliContext, type CliIo } from "./context.ts";
import { describeError, exitCodeFor } from "./errors.ts";
import { EXIT_CODES_HELP, ExitCode } from "./exit_codes.ts";
import {
  createRootCommand,
  normalizeArgv,
  readGlobalOptions,
  type RootCommand,
  TRACE_TERM,
} from "./globals.ts";
import { isBrokenPipe } from "./output.ts";
import { withAddedOperationSignal } from "../lib/client/operation_scope.ts";
import { versionText } from "./version.ts";

/** Adds one subcommand (`program.command(...)`) whose action uses `ctx`. */
export type RegisterCommand = (program: RootCommand, ctx: CliContext) => void;

/** A subcommand: the names it answers to and the module that adds it. */
interface CommandModule {
  /** Its name and aliases. */
  readonly names: readonly string[];
  /** Imports its module (once) and gives its register function. */
  readonly load: () => Promise<RegisterCommand>;
  /** It needs every other command as well (the shell reads their options). */
  readonly everyCommand?: boolean;
}

/**
 * The subcommands, in the order `nfs4 --help` lists them. Each module is
 * imported only when the command line may run it: loading all of them (and
 * the npm packages and parts of lib/ that only some use) costs ~0.04 CPU-s
 * at every start under `deno run`. The specifiers are literal so that
 * `deno compile` and `bun build --compile` include every module.
 */
const COMMAND_MODULES: readonly CommandModule[] = [
  { names: ["ls"], load: async () => (await import("./ls.ts")).registerLs },
  { names: ["cat"], load: async () => (await import("./cat.ts")).registerCat },
  { names: ["cp"], load: async () => (await import("./cp.ts")).registerCp },
  { names: ["stat"], load: async () => (await import("./stat.ts")).registerStat },
  { names: ["df"], load: async () => (await import("./df.ts")).registerDf },
  { names: ["rm"], load: async () => (await import("./rm.ts")).registerRm },
  { names: ["rmdir"], load: async () => (await import("./rmdir.ts")).registerRmdir },
  { names: ["mkdir"], load: async () => (await import("./mkdir.ts")).registerMkdir },
  { names: ["mv"], load: async () => (await import("./mv.ts")).registerMv },
  { names: ["ln"], load: async () => (await import("./ln.ts")).registerLn },
  { names: ["chmod"], load: async () => (await import("./chmod.ts")).registerChmod },
  { names: ["chown"], load: async () => (await import("./chown.ts")).registerChown },
  { names: ["touch"], load: async () => (await import("./touch.ts")).registerTouch },
  { names: ["truncate"], load: async () => (await import("./truncate.ts")).registerTruncate },
  { names: ["du"], load: async () => (await import("./du.ts")).registerDu },
  { names: ["find"], load: async () => (await import("./find.ts")).registerFind },
  { names: ["head"], load: async () => (await import("./head.ts")).registerHead },
  { names: ["tail"], load: async () => (await import("./tail.ts")).registerTail },
  { names: ["info", "probe"], load: async () => (await import("./info.ts")).registerInfo },
  {
    names: ["shell"],
    load: async () => (await import("./shell.ts")).registerShell,
    everyCommand: true,
  },
  {
    names: ["renew-watch"],
    load: async () => (await import("./renew_watch.ts")).registerRenewWatch,
  },
  { names: ["lock"], load: async () => (await import("./lock.ts")).registerLock },
  {
    names: ["simulate-reboot"],
    load: async () => (await import("./simulate_reboot.ts")).registerSimulateReboot,
  },
];

/** The names and aliases of the subcommands, in the order `nfs4 --help` lists them. */
export const COMMAND_NAMES: readonly string[] = COMMAND_MODULES.flatMap((m) => m.names);

/** What a program is built from: some subcommands, and the completions when all are there. */
interface ProgramCommands {
  readonly commands: readonly RegisterCommand[];
  /** Adds `completions` and `complete`, which read the whole command tree. */
  readonly addCompletions?: (program: RootCommand) => void;
}

/** Every subcommand and the completions, once loaded. */
let everyCommand: Required<ProgramCommands> | undefined;

async function loadEveryCommand(): Promise<ProgramCommands> {
  everyCommand ??= {
    commands: await Promise.all(COMMAND_MODULES.map((m) => m.load())),
    // @bomb.sh/tab comes with them.
    addCompletions: (await import("./completions.ts")).addCompletions,
  };
  return everyCommand;
}

/**
 * The subcommands `argv` (normalized) can reach, imported. Commander runs a
 * subcommand when the first operand left after the root's own options names
 * it; the same split made here, on a root with the same options and no
 * subcommands, tells which one. When that split finds no subcommand (help,
 * a usage error, an unknown command: what commander prints then lists or
 * suggests every command) every subcommand is loaded, and none for
 * `--version` alone, which commander answers before it looks at commands.
 */
async function loadCommands(argv: readonly string[]): Promise<ProgramCommands> {
  let operands: string[];
  let version: boolean;
  try {
    const probe = createRootCommand()
      .option("-V, --version")
      .exitOverride()
      .configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} });
    ({ operands } = probe.parseOptions([...argv]));
    version = probe.opts().version === true;
  } catch {
    // An option's value is wrong, or missing: the whole program reports it, as ever.
    return await loadEveryCommand();
  }
  const first = operands[0];
  const module = COMMAND_MODULES.find((m) => first !== undefined && m.names.includes(first));
  if (module && !module.everyCommand) return { commands: [await module.load()] };
  if (!module && operands.length === 0 && version) return { commands: [] };
  return await loadEveryCommand();
}

const ROOT_HELP = `
Examples:
  $ nfs4 ls -l nfs://127.0.0.1/vfs
  $ nfs4 cat nfs://[::1]:2050/vfs/notes.txt > notes.txt
  $ nfs4 --vers 4.0 --trace ls nfs://server/export

URLs are nfs://HOST[:PORT]/PATH (RFC 2224 style): the port defaults to 2049,
an IPv6 address goes in brackets, and a '%' escape such as %20 stands for a
byte of a name (%2F is a '/' inside a name, not a separator).

${EXIT_CODES_HELP}
`;

/**
 * Builds the program with every subcommand; actions report through `ctx`.
 * Every command must have been loaded, as `run()` does before it runs the
 * shell, the one command that calls this.
 */
export function createProgram(ctx: CliContext): RootCommand {
  if (!everyCommand) throw new Error("createProgram() before the commands were loaded");
  return buildProgram(ctx, everyCommand);
}

/** Builds the program with `commands`; actions report through `ctx`. */
function buildProgram(ctx: CliContext, { commands, addCompletions }: ProgramCommands): RootCommand {
  const program = createRootCommand();
  program
    .description("A userspace NFSv4.0/4.1 client")
    .usage("[options] <command> [command-options] <url...>")
    .version(versionText(), "-V, --version", "print the version and exit")
    .helpOption("-h, --help", "show help")
    .helpCommand("help [command]", "show help for a command")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.io.stdout.write(text),
      writeErr: (text) => ctx.diag.raw(text),
      // run() prints commander's errors as `nfs4: …` lines.
      outputError: () => {},
    })
    .configureHelp({
      showGlobalOptions: true,
      optionTerm(option: Option) {
        return option.long === "--trace"
          ? TRACE_TERM
          : Help.prototype.optionTerm.call(this, option);
      },
      // --version belongs to nfs4 itself, not to every subcommand.
      visibleGlobalOptions(cmd) {
        return Help.prototype.visibleGlobalOptions.call(this, cmd)
          .filter((option) => option.long !== "--version");
      },
    })
    .addHelpText("after", ROOT_HELP);
  // Subcommands created with .command() inherit exitOverride and the output
  // and help configuration set above.
  for (const register of commands) register(program, ctx);
  addCompletions?.(program);
  return program;
}

/** Commander's messages start with `error: ` and may suggest on a second line. */
function commanderMessage(err: CommanderError): string {
  return err.message
    .replace(/^error: /, "")
    .replace(/\s*\n\s*/g, " ")
    .replace(/\.$/, "");
}

/**
 * Runs `nfs4` with `argv` (without the runtime and script) and resolves to
 * the exit code. Nothing is thrown: every error becomes a line on stderr.
 */
export async function run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const ctx = new CliContext(io);
  const normalized = normalizeArgv(argv);
  const program = buildProgram(ctx, await loadCommands(normalized));
  const unsubscribe = io.signals?.((signal) => ctx.interrupt(signal));
  try {
    // The command's work runs under a soft stop (lib/state/operation_scope.ts)
    // ended with its clients: after SIGINT or SIGTERM it sends nothing new,
    // while what it releases (CLOSE, LOCKU, its temporary's REMOVE: cleanup
    // outside the scope) still goes out in the state manager's window. As a
    // verb of nfs4 shell, the verb's own soft stop holds too.
    await withAddedOperationSignal(
      ctx.clientsStopped,
      () => program.parseAsync(normalized, { from: "user" }),
    );
    const stopped = ctx.interruption.signal.reason;
    if (stopped !== undefined) return exitCodeFor(stopped);
    if (ctx.exitStatus !== undefined) return ctx.exitStatus as ExitCode;
    // Output written without waiting (`-v` lines, events) that failed and
    // was never thrown by a later awaited write: said now, once.
    const unsaid = ctx.out.postFailed;
    if (unsaid !== undefined && !ctx.failed) {
      ctx.error(describeError(unsaid, ctx.globals?.verbose ?? false, {}), unsaid);
      return ExitCode.FAILURE;
    }
    return ctx.failed ? ExitCode.FAILURE : ExitCode.OK;
  } catch (err) {
    // A closed stdout is no failure of its own; one reported before it still is.
    if (isBrokenPipe(err)) return ctx.failed ? ExitCode.FAILURE : ExitCode.OK;
    // Stopped by a signal: whatever failed on the way out is no news.
    const stopped = ctx.interruption.signal.reason;
    if (stopped !== undefined) return exitCodeFor(stopped);
    if (err instanceof CommanderError) {
      // --help and --version end with exit code 0; anything else is a usage error.
      if (err.exitCode === 0) return ExitCode.OK;
      if (err.code !== "commander.help") ctx.error(commanderMessage(err));
      return ExitCode.USAGE;
    }
    const verbose = ctx.globals?.verbose ?? argv.includes("--verbose");
    // With --trace=json the message is a JSON event (cli/trace_output.ts),
    // also for a command that failed before it started its session.
    try {
      ctx.traceOutput(ctx.globals ?? readGlobalOptions(program.opts()));
    } catch {
      // No trace file (the error being reported may say why): stderr it is.
    }
    ctx.error(
      describeError(err, verbose, {
        url: ctx.soleServerUrl,
        timeoutSeconds: ctx.globals?.timeoutSeconds,
      }),
      err,
      ctx.soleServerUrl,
    );
    return exitCodeFor(err);
  } finally {
    unsubscribe?.();
    ctx.closeTrace();
  }
}
