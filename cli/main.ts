/**
 * The `nfs4` executable: `deno run -A cli/main.ts <command> ...`, or the
 * compiled binary. It runs the program with the real streams and the real
 * client, and is the only place that exits the process (see exit_codes.ts).
 * @module
 */

import "./early_restart.ts";
import "./early_descriptors.ts";
import process from "node:process";
import { setTimeout } from "node:timers";
import { releaseExecutablePages } from "../lib/os/executable_pages.ts";
import { holdEventLoop } from "../lib/os/timers.ts";
import { exactArgv } from "./argv.ts";
import type { ConnectFn, StopSignal } from "./context.ts";
import { ExitCode } from "./exit_codes.ts";
import { type IdDatabase, localIdDatabase } from "./ls_owners.ts";
import { flushed, outputDrained } from "./output.ts";
import { run } from "./program.ts";
import { StopSignalRepeats } from "./stop_signal.ts";

/** How long a stopped command may spend releasing server state before it exits anyway. */
const STOP_BACKSTOP_MS = 3_000;
/**
 * When the executable's pages that start-up touched go back
 * (lib/os/executable_pages.ts): start-up is over by then, and a 1 GiB `cat`
 * has not yet reached its peak memory (at 500 ms it had); a command that ends
 * sooner keeps them, and its peak is small.
 */
const RELEASE_STARTUP_PAGES_MS = 250;

/** A SIGHUP came (the terminal closed): the process exits 129, as one killed by it would report. */
let hungUp = false;

/**
 * SIGINT and SIGTERM for commands that leave them to the CLI: the first
 * interrupts every operation (run() then exits 130/143 once state is
 * released, which the state manager bounds to 1.5 s); should anything hang,
 * the process exits after STOP_BACKSTOP_MS; a second signal exits at once,
 * but not a repeat of the first SIGTERM or SIGHUP (cli/stop_signal.ts: as
 * timeout(1) sends it, to nfs4 and then to its process group), which is
 * the same stop and reaches no listener, so that the release goes on.
 * SIGHUP (the terminal of `nfs4 shell` or of a `lock` closed) stops the
 * command as SIGTERM does, so that its state is released rather than left
 * until the lease ends, and the process exits 129.
 */
function signals(listener: (signal: StopSignal) => boolean): () => void {
  let stopping = false;
  const repeats = new StopSignalRepeats();
  const on = (signal: StopSignal, status: number, sent: string = signal) => {
    if (repeats.isRepeat(sent)) return;
    if (!listener(signal)) return;
    if (stopping) process.exit(status);
    stopping = true;
    setTimeout(() => process.exit(status), STOP_BACKSTOP_MS).unref();
  };
  const onInt = () => on("SIGINT", ExitCode.SIGINT);
  const onTerm = () => on("SIGTERM", ExitCode.SIGTERM);
  const onHup = () => {
    hungUp = true;
    on("SIGTERM", ExitCode.SIGHUP, "SIGHUP");
  };
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  process.on("SIGHUP", onHup);
  return () => {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
    process.off("SIGHUP", onHup);
  };
}

/**
 * cli/connect.ts, and the client behind it, imported by the first
 * connection: `--version`, help and usage errors start without them.
 */
let connector: typeof import("./connect.ts") | undefined;
const connect: ConnectFn = async (...args) => {
  connector ??= await import("./connect.ts");
  return await connector.connectClient(...args);
};

setTimeout(releaseExecutablePages, RELEASE_STARTUP_PAGES_MS).unref();
// Under Bun the event loop is held until process.exit(): when all that the
// command waits for is unref'd timers (the state manager's, while it waits
// to resend to a server that has gone), Bun otherwise spins at 100% of a
// core (lib/os/timers.ts). The command owns its process and ends it with
// process.exit(), so the hold keeps nothing running that would have ended.
// Deno sleeps without it, and reports a top-level await that nothing can
// settle any more (a bug) rather than waiting for it for ever.
if ("Bun" in globalThis) holdEventLoop();

let ids: IdDatabase | undefined;
// Every way out (the end, a failure, a signal's backstop) ends the --pcap capture.
process.on("exit", () => connector?.closePcap());
const code = await run(exactArgv(process.argv.slice(2)), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  now: () => new Date(),
  connect,
  signals,
  ids: () => ids ??= localIdDatabase(),
});
// Let buffered output reach its reader before exiting (a closed pipe resolves
// too), a write nobody awaited included (cli/output.ts's outputDrained: a
// line still waiting for a full pipe would be lost); not after a signal,
// when stdout's reader may have stopped reading. A signal during this wait
// ends the process as the system would (run() has let go of the signals).
const interrupted = code === ExitCode.SIGINT || code === ExitCode.SIGTERM;
await Promise.all([
  interrupted ? undefined : outputDrained(process.stdout).then(() => flushed(process.stdout)),
  flushed(process.stderr),
]);
process.exit(hungUp && code === ExitCode.SIGTERM ? ExitCode.SIGHUP : code);
