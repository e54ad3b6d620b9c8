/**
 * A trace sink (the `onTrace` callback) that throws. It is called
 * synchronously from inside the client's work: a CLOSE the server did, a
 * renewal run by a timer. What it throws must change nothing the client
 * does (the CLOSE is still recorded, no error escapes a timer as an
 * uncaught one); the sink is dropped and the failure reported once
 * (lib/state/trace.ts, TraceSink).
 */

import assert from "node:assert/strict";
import { type TraceEvent, Tracer } from "../../lib/state/trace.ts";
import { closeFile } from "../../lib/state/files.ts";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import { harness } from "./_harness.ts";

/** Runs `fn` with console.error captured (restored after). */
async function capturingStderr<T>(
  fn: () => Promise<T> | T,
): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  try {
    return { result: await fn(), lines };
  } finally {
    console.error = original;
  }
}

Deno.test("Tracer: a sink that throws is dropped; emit() does not throw, the other sinks get every event and one `trace sink dropped` error, and the failure is printed once", async () => {
  let now = 0;
  const tracer = new Tracer(() => now);
  let thrown = 0;
  tracer.subscribe(() => {
    thrown++;
    throw new Error("sink broke");
  });
  const seen: TraceEvent[] = [];
  tracer.subscribe((e) => seen.push(e));
  const { lines } = await capturingStderr(() => {
    tracer.emit("open", "CLOSE", "/vfs/a");
    now = 5;
    tracer.emit("open", "CLOSE", "/vfs/b");
  });
  assert.equal(thrown, 1, "told nothing after it threw");
  assert.deepEqual(seen.map((e) => `${e.category} ${e.event} ${e.detail}`), [
    "error trace sink dropped it threw on open CLOSE: sink broke",
    "open CLOSE /vfs/a",
    "open CLOSE /vfs/b",
  ]);
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(lines[0]!, /trace sink threw on "open CLOSE".*sink broke/s);
});

Deno.test("Tracer: a sink of `ops` events that throws is dropped too; then no sink wants them and the state manager builds none", async () => {
  const tracer = new Tracer(() => 0);
  const sink = Object.assign(() => {
    throw new Error("no");
  }, { filter: { categories: ["ops" as const] } });
  tracer.subscribe(sink);
  assert.equal(tracer.wants("ops"), true);
  await capturingStderr(() => {
    tracer.compound({ direction: "call", ops: ["PUTFH", "OPEN"], outcomes: [], ms: 1 });
  });
  assert.equal(tracer.wants("ops"), false);
  assert.equal(tracer.active, false);
});

for (const vers of [0, 1] as const) {
  Deno.test(`NFSv4.${vers}: a sink that throws on LOCKU and CLOSE changes nothing: the file is closed on the server and forgotten by the client (RFC 7530 §16.2)`, async () => {
    await using h = await harness(vers);
    const state = await h.open("file", ShareAccess.OPEN4_SHARE_ACCESS_BOTH);
    await h.lock(state);
    h.m.tracer.subscribe((e) => {
      if (e.category === "lock" || e.category === "open") {
        throw new Error(`sink failed on ${e.event}`);
      }
    });
    const { lines } = await capturingStderr(() => closeFile(h.m, state));
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.equal(h.server.states.size, 0, "closed on the server");
    assert.equal(h.m.opens.size, 0, "and forgotten by the client");
    assert.equal(state.closed, true);
    assert.ok(h.events(["error"]).includes("trace sink dropped"), h.events(["error"]).join("\n"));
  });

  Deno.test(`NFSv4.${vers}: a sink that throws on the lease renewal a timer runs raises no uncaught error; the lease is still renewed (RFC 7530 §9.5, RFC 8881 §8.3)`, async () => {
    await using h = await harness(vers);
    await h.open("file");
    h.m.tracer.subscribe((e) => {
      if (e.category === "lease") throw new Error(`sink failed on ${e.event}`);
    });
    h.mark();
    const uncaught: unknown[] = [];
    const onUnhandled = (event: PromiseRejectionEvent) => {
      event.preventDefault();
      uncaught.push(event.reason);
    };
    globalThis.addEventListener("unhandledrejection", onUnhandled);
    try {
      await capturingStderr(() => h.tick(3 * h.m.client.renewalPeriodMs, 500));
      // Let a rejection no one handles be reported.
      await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      globalThis.removeEventListener("unhandledrejection", onUnhandled);
    }
    assert.deepEqual(uncaught.map(String), []);
    assert.ok(h.ops().length >= 2, `renewed more than once:\n${h.ops().join("\n")}`);
    assert.ok(h.m.leaseLeftMs() > 0, "the lease is held");
  });
}
