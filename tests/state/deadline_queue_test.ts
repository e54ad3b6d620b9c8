/**
 * The waits before a request goes out end at its operation's deadline too
 * (StateManagerOptions.recoveryTimeoutMs, 4 × `--timeout` in the CLI):
 *
 * - on 4.1, waiting for a free session slot while every slot is held by a
 *   request still waiting for its reply (RFC 8881 §2.10.6: one request per
 *   slot at a time);
 * - on 4.0, waiting behind another request of the same open owner, whose
 *   seqid-mutating requests go one at a time (RFC 7530 §9.1.7).
 *
 * Each used to wait as long as the requests ahead of it took, however long
 * past its own deadline, and then go out (README "Deadlines and signals":
 * "never waits past its deadline"). At the deadline the operation now fails
 * with SendWaitTimeoutError, nothing of it sent, and those queued behind it
 * keep their order.
 */

import assert from "node:assert/strict";
import { putfh } from "../../lib/nfs4/ops/putfh.ts";
import { remove } from "../../lib/nfs4/ops/remove.ts";
import { openFile } from "../../lib/state/files.ts";
import { drain, failureOf, harness, TIMEOUT_2S } from "./_harness.ts";

/**
 * The fields of lib/state/manager.ts's SendWaitTimeoutError, checked by
 * name (so that this file also runs against the code from before it, and
 * fails there on what it does, not on an import).
 */
interface SendWaitTimeout extends Error {
  readonly waitedMs: number;
  readonly waitedFor: "slot" | "owner";
  readonly mayHaveRun: boolean;
}

function assertSendWaitTimeout(error: unknown): asserts error is SendWaitTimeout {
  assert.ok(error instanceof Error && error.name === "SendWaitTimeoutError", String(error));
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await drain();
}

Deno.test("4.1: a REMOVE waiting for the one session slot, held by a READ whose reply does not come, fails at its 8 s deadline unsent (SendWaitTimeoutError), and the READ's slot is then its own (RFC 8881 §2.10.6)", async () => {
  await using h = await harness(1, { wantedSlots: 1, ...TIMEOUT_2S });
  const file = await h.open();
  const dir = await h.vfs();
  h.mark();
  h.channel.holdReplies("READ");
  const reading = h.read(file);
  reading.catch(() => {});
  await settle();
  const start = h.clock.now();
  const { error, at } = await failureOf(
    h,
    h.m.run(() => [putfh(dir), remove("file")] as const),
    start,
  );
  assertSendWaitTimeout(error);
  assert.equal(at, 8_000);
  assert.equal(
    error.message,
    "scripted: not sent in 8 s: every session slot (1) held by requests waiting for replies",
  );
  assert.equal(error.waitedFor, "slot");
  assert.equal(error.mayHaveRun, false);
  // Never sent: the file is there, and only the READ went out.
  assert.ok(h.server.file("/vfs/file"));
  assert.deepEqual(h.ops(), ["SEQUENCE,PUTFH,READ"]);
  assert.ok(
    h.details(["retry"]).includes(
      "not sent (no session slot free by the operation's deadline)",
    ),
  );
  // The READ is answered when its reply comes, and the slot serves the next request.
  h.channel.releaseReplies();
  assert.equal(new TextDecoder().decode((await reading).data), "hello, world\n");
  assert.equal(await h.readText(file), "hello, world\n");
  assert.equal(h.m.client.session?.slots.uncertainCount, 0);
});

Deno.test("4.1: a request that gets the slot before its deadline is sent as before, however long it waited (RFC 8881 §2.10.6)", async () => {
  await using h = await harness(1, { wantedSlots: 1, ...TIMEOUT_2S });
  const file = await h.open();
  h.mark();
  h.channel.holdReplies("READ");
  const first = h.read(file);
  first.catch(() => {});
  await settle();
  const second = h.read(file, 0n, 5);
  second.catch(() => {});
  await h.tick(7_500, 500);
  h.channel.releaseReplies();
  assert.equal(new TextDecoder().decode((await h.drive(second)).data), "hello");
  await first;
});

Deno.test("4.1: Ctrl-C (the state manager's interrupt) still stops a wait for a slot at once, before the deadline", async () => {
  await using h = await harness(1, { wantedSlots: 1, ...TIMEOUT_2S });
  const file = await h.open();
  const dir = await h.vfs();
  h.channel.holdReplies("READ");
  h.read(file).catch(() => {});
  await settle();
  const removing = h.m.run(() => [putfh(dir), remove("file")] as const);
  const failed = removing.then(() => "ok", (e: unknown) => e);
  await h.tick(1_000, 500);
  h.m.interrupt(new Error("interrupted"));
  await settle();
  const error = await failed;
  assert.notEqual(error, "ok");
  assert.ok(!(error instanceof Error && error.name === "SendWaitTimeoutError"), String(error));
  assert.ok(h.server.file("/vfs/file"));
  h.channel.releaseReplies();
});

Deno.test("4.0: an OPEN queued behind another OPEN of the same open owner, whose reply does not come, fails at its 8 s deadline unsent (SendWaitTimeoutError naming the owner), and a third OPEN queued behind it still waits for the first (RFC 7530 §9.1.7)", async () => {
  await using h = await harness(0, TIMEOUT_2S);
  const dirFh = await h.vfs();
  h.mark();
  h.channel.holdReplies("OPEN");
  const open = (name: string) => openFile(h.m, { dirFh, name, path: `/vfs/${name}`, access: 1 });
  const first = open("file");
  first.catch(() => {});
  await settle();
  const start = h.clock.now();
  const second = open("other");
  const secondOutcome = second.then(() => "ok", (e: unknown) => e);
  await h.tick(4_000, 500);
  // Queued behind the second, 4 s later: its own deadline is at 12 s.
  const third = open("other");
  third.catch(() => {});
  await h.tick(4_000, 500);
  const error = await secondOutcome;
  assertSendWaitTimeout(error);
  assert.equal(h.clock.now() - start, 8_000);
  assert.match(
    error.message,
    /^scripted: not sent in 8 s: queued behind another request of open-\S+$/,
  );
  assert.equal(error.waitedFor, "owner");
  // Only the first OPEN went out; the third still waits for it, not beside it.
  assert.equal(h.ops().length, 1, h.ops().join(" | "));
  assert.match(h.ops()[0]!, /^PUTFH,OPEN\b/);
  // The first is answered (and confirmed) within the third's deadline; the third then goes out.
  h.channel.releaseReplies();
  const firstState = await h.drive(first);
  const thirdState = await h.drive(third);
  assert.ok(firstState.state.stateid && thirdState.state.stateid);
  assert.equal(h.server.opensOf("/vfs/other").length, 1);
});
