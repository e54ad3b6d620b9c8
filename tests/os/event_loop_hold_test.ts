/**
 * Holds of the event loop (lib/os/timers.ts `holdEventLoop`): one timer
 * that is not unref'd runs while any hold lasts, so that Bun sleeps in
 * epoll through a wait made only of unref'd timers instead of spinning, and
 * a released hold keeps nothing alive.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { EventLoopHolds, HOLD_INTERVAL_MS, type HoldRuntime } from "../../lib/os/timers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const bun = `${ROOT}.tools/bun/node_modules/.bin/bun`;

class FakeHoldRuntime implements HoldRuntime {
  running = new Set<number>();
  started: number[] = [];
  #next = 1;

  setInterval(_fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.started.push(ms);
    this.running.add(id);
    return id;
  }

  clearInterval(id: unknown): void {
    this.running.delete(id as number);
  }
}

Deno.test("EventLoopHolds: one timer while any hold lasts; a release twice lets go once", () => {
  const runtime = new FakeHoldRuntime();
  const holds = new EventLoopHolds(runtime);
  assert.equal(holds.held, false);
  const first = holds.hold();
  const second = holds.hold();
  assert.equal(runtime.running.size, 1, "one timer for two holds");
  assert.deepEqual(runtime.started, [HOLD_INTERVAL_MS]);
  first();
  first(); // a second release of the same hold does not let go of the other
  assert.equal(holds.held, true);
  assert.equal(runtime.running.size, 1);
  second();
  assert.equal(holds.held, false);
  assert.equal(runtime.running.size, 0, "the timer stops with the last hold");
  const again = holds.hold();
  assert.equal(runtime.running.size, 1, "a new hold starts a timer again");
  again();
  assert.equal(runtime.running.size, 0);
});

/** The module that `underBun` scripts import `holdEventLoop` from. */
const TIMERS = JSON.stringify(`${ROOT}lib/os/timers.ts`);

/** Runs `script` (a module's text) under Bun; its stdout and exit code. */
async function underBun(script: string): Promise<{ code: number; stdout: string }> {
  const dir = await Deno.makeTempDir({ prefix: "nfs4-hold-" });
  try {
    const file = `${dir}/probe.ts`;
    await Deno.writeTextFile(file, script);
    const out = await new Deno.Command(bun, {
      args: [file],
      cwd: dir,
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).output();
    return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name:
    "holdEventLoop under Bun: a wait on an unref'd timer sleeps (no spin), and once released the hold keeps nothing alive",
  ignore: !existsSync(bun),
  fn: async () => {
    const waited = await underBun(`
      import { holdEventLoop } from ${TIMERS};
      const release = holdEventLoop();
      const before = process.cpuUsage();
      await new Promise((resolve) => setTimeout(resolve, 2000).unref());
      const used = process.cpuUsage(before);
      release();
      console.log((used.user + used.system) / 1e6);
    `);
    assert.equal(waited.code, 0);
    // Spinning, the 2 s took 1-2 CPU-s; asleep, a few ms.
    const cpuSeconds = Number(waited.stdout.trim());
    assert.ok(cpuSeconds < 0.3, `the wait used ${cpuSeconds} CPU-s`);

    // Released: a pending unref'd timer does not keep the process (Bun
    // exits when nothing is ref'd and no top-level await is pending).
    const released = await underBun(`
      import { holdEventLoop } from ${TIMERS};
      holdEventLoop()();
      setTimeout(() => console.log("kept alive"), 60_000).unref();
    `);
    assert.deepEqual(released, { code: 0, stdout: "" });
  },
});
