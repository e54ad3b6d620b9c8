/**
 * The `nfs4` command line: the root command, the list of subcommands, and
 * `run()`, which parses, dispatches and turns the outcome into an exit code.
 * It never exits the process; cli/main.ts does.
 * @module
 */

import { CommanderError, Help, type Option } from "@commander-js/extra-typings";
import { registerCat } from "./cat.ts";
import { addCompletions } from "./completions.ts";
import { registerCp } from "./cp.ts";
import { registerLock } from "./lock.ts";
import { registerRenewWatch } from "./renew_watch.ts";
import { registerSimulateReboot } from "./simulate_reboot.ts";
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
import { registerLs } from "./ls.ts";
import { registerInfo } from "./info.ts";
import { registerShell } from "./shell.ts";
import { registerStat } from "./stat.ts";
import { registerDf } from "./df.ts";
import { registerRm } from "./rm.ts";
import { registerRmdir } from "./rmdir.ts";
import { registerMkdir } from "./mkdir.ts";
import { registerMv } from "./mv.ts";
import { registerLn } from "./ln.ts";
import { registerChmod } from "./chmod.ts";
import { registerChown } from "./chown.ts";
import { registerTouch } from "./touch.ts";
import { registerTruncate } from "./truncate.ts";
import { registerDu } from "./du.ts";
import { registerFind } from "./find.ts";
import { registerHead } from "./head.ts";
import { registerTail } from "./tail.ts";
import { isBrokenPipe } from "./output.ts";
import { versionText } from "./version.ts";

/** Adds one subcommand (`program.command(...)`) whose action uses `ctx`. */
export type RegisterCommand = (program: RootCommand, ctx: CliContext) => void;

/** The subcommands, in the order `nfs4 --help` lists them. */
export const COMMANDS: readonly RegisterCommand[] = [
  registerLs,
  registerCat,
  registerCp,
  registerStat,
  registerDf,
  registerRm,
  registerRmdir,
  registerMkdir,
  registerMv,
  registerLn,
  registerChmod,
  registerChown,
  registerTouch,
  registerTruncate,
  registerDu,
  registerFind,
  registerHead,
  registerTail,
  registerInfo,
  registerShell,
  registerRenewWatch,
  registerLock,
  registerSimulateReboot,
];

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

/** Builds the program; actions report through `ctx`. */
export function createProgram(ctx: CliContext): RootCommand {
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
  for (const register of COMMANDS) register(program, ctx);
  addCompletions(program);
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
  const program = createProgram(ctx);
  const unsubscribe = io.signals?.((signal) => ctx.interrupt(signal));
  try {
    await program.parseAsync(normalizeArgv(argv), { from: "user" });
    const stopped = ctx.interruption.signal.reason;
    if (stopped !== undefined) return exitCodeFor(stopped);
    if (ctx.exitStatus !== undefined) return ctx.exitStatus as ExitCode;
    return ctx.failed ? ExitCode.FAILURE : ExitCode.OK;
  } catch (err) {
    if (isBrokenPipe(err)) return ExitCode.OK;
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
