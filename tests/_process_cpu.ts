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
