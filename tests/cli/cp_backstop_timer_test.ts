/**
 * `cp` stopped by Ctrl-C arms a 3 s backstop (README "Deadlines and
 * signals": exit anyway should the cleanup hang). A command that ends
 * first clears it: `nfs4 shell` runs a command per verb (get, put, cp) in
 * one long process, and a backstop left behind outlived its verb by up to
 * 3 s, holding the command's context and then calling the verb's long
 * over `exit`. Before, the timer was left pending; so was the 1.5 s wait
 * for the goodbye to the servers.
 *
 * Checked without waiting for anything to fire: every timer cli/cp.ts
 * starts is recorded, and none may be pending once the command has ended.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { CliIo, StopSignal } from "../../cli/context.ts";
import { run } from "../../cli/program.ts";
import { FakeStream } from "./_fake.ts";

/** Runs `work` with the timers that cli/cp.ts starts recorded; resolves with those still pending after it. */
async function timersLeftByCp(work: () => Promise<void>): Promise<string[]> {
  const pending = new Map<unknown, string>();
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  globalThis.setTimeout = ((handler: () => void, ms?: number, ...args: unknown[]) => {
    const fromCp = (new Error().stack ?? "").includes("/cli/cp.ts:");
    const handle: unknown = realSet(() => {
      pending.delete(handle);
      (handler as (...a: unknown[]) => void)(...args);
    }, ms);
    if (fromCp) pending.set(handle, `a ${ms} ms timer`);
    return handle;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((handle?: unknown) => {
    pending.delete(handle);
    realClear(handle as number);
  }) as typeof clearTimeout;
  try {
    await work();
  } finally {
    globalThis.setTimeout = realSet;
    globalThis.clearTimeout = realClear;
  }
  const left = [...pending.values()];
  for (const handle of pending.keys()) realClear(handle as number);
  return left;
}

Deno.test("cp stopped by a signal leaves no backstop timer once the command has ended", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nfs4-cp-backstop-" });
  try {
    const source = join(dir, "src");
    await Deno.writeFile(source, new Uint8Array(1024 * 1024));
    const exits: number[] = [];
    const listeners: ((signal: StopSignal) => boolean)[] = [];
    const io: CliIo = {
      stdout: new FakeStream(),
      stderr: new FakeStream(),
      env: {},
      now: () => new Date(),
      connect: () => Promise.reject(new Error("no server in this test")),
      // As nfs4 shell's Ctrl-C reaches the verb it runs: through io.signals,
      // to run()'s listener and cp's; here as soon as cp listens, as the
      // copy starts.
      signals: (listener) => {
        listeners.push(listener);
        if (listeners.length === 2) { for (const each of listeners) each("SIGINT"); }
        return () => {};
      },
      // As in nfs4 shell: a verb never ends the process.
      exit: (status) => void exits.push(status),
    };
    let code: number | undefined;
    const left = await timersLeftByCp(async () => {
      code = await run(["cp", "--no-progress", source, join(dir, "dst")], io);
    });
    assert.equal(listeners.length, 2);
    assert.equal(code, 130);
    assert.deepEqual(left, [], "timers of cli/cp.ts still pending after the command ended");
    assert.deepEqual(exits, []);
    // Nothing was left: no destination, no temporary.
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["src"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
