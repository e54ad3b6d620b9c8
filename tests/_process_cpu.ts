/**
 * For tests that bound a waiting process's CPU time (a spin is a hang-like
 * fault, not a speed): its CPU time from /proc, and reading its output
 * until a line shows.
 */

import assert from "node:assert/strict";

/** User and system CPU time of process `pid` so far, in clock ticks (proc(5) fields 14 and 15). */
export function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // The fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** Clock ticks per second (getconf CLK_TCK; 100 when it cannot tell). */
export async function clockTicksPerSecond(): Promise<number> {
  const out = await new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped" }).output();
  const ticks = Number(new TextDecoder().decode(out.stdout).trim());
  return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
}

/** CPU seconds process `pid` uses over the next `ms` milliseconds. */
export async function cpuSecondsOver(pid: number, ms: number): Promise<number> {
  const before = cpuTicks(pid);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (cpuTicks(pid) - before) / await clockTicksPerSecond();
}

/** Reads `reader` as text until `pattern` matches what was read; returns all of it. */
export async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  pattern: RegExp,
  what: string,
): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  while (!pattern.test(text)) {
    const { value, done } = await reader.read();
    if (done) assert.fail(`${what} ended before ${pattern}:\n${text}`);
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

/** What {@linkcode assertWaitsWithoutSpinning} runs and watches. */
export interface SpinWatch {
  /** Bun's executable. */
  readonly bun: string;
  /** Its arguments (a script and what the script takes). */
  readonly args: readonly string[];
  /** The working directory. */
  readonly cwd: string;
  /** What stdout shows once the program holds its state (before the server goes). */
  readonly ready: RegExp;
  /** Ends the server (a crash: the connection is refused from then on). */
  readonly crash: () => Promise<void>;
  /** How long the waiting program's CPU is watched (default 3 s). */
  readonly watchMs?: number;
  /** The most CPU it may take meanwhile (default 0.3 s; a spin takes 2-3 s in 3 s). */
  readonly maxCpuSeconds?: number;
}

/**
 * Runs a program under Bun until it is `ready`, crashes the server, waits
 * until its trace says a request waits to be sent again (`resend …
 * connection refused`), and asserts the program then uses at most
 * `maxCpuSeconds` over `watchMs`: it sleeps while it waits, it does not
 * spin. A bound on a hang-like fault, not a speed.
 */
export async function assertWaitsWithoutSpinning(watch: SpinWatch): Promise<void> {
  const watchMs = watch.watchMs ?? 3_000;
  const maxCpuSeconds = watch.maxCpuSeconds ?? 0.3;
  const child = new Deno.Command(watch.bun, {
    args: [...watch.args],
    cwd: watch.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const out = child.stdout.getReader();
  const err = child.stderr.getReader();
  try {
    await readUntil(out, watch.ready, "stdout");
    await watch.crash();
    await readUntil(err, /resend .*connection refused/, "the trace");
    const used = await cpuSecondsOver(child.pid, watchMs);
    assert.ok(
      used < maxCpuSeconds,
      `the waiting program used ${used.toFixed(2)} CPU-s in ${watchMs / 1000} s (spinning)`,
    );
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await out.cancel();
    await err.cancel();
  }
}
