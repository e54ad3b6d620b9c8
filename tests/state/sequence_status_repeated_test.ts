/**
 * SEQ4_STATUS bits a server keeps setting (RFC 8881 §18.46.3): the recovery
 * a bit asks for is done at most once per lease period, noted in the trace,
 * rather than after every COMPOUND; bits this client has no use for are
 * noted once; the "no back channel" note names the bit the server sent
 * (audit a7 F2, F3).
 */
import assert from "node:assert/strict";
import { drain, harness } from "./_harness.ts";
import { SeqStatus } from "../../lib/state/error_table.ts";

Deno.test("4.1: SEQ4_STATUS_BACKCHANNEL_FAULT the server never clears resets the session once per lease period, not after every COMPOUND, and is noted once (RFC 8881 §18.46.3)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.mark();
  h.server.seqStatusFlags = SeqStatus.BACKCHANNEL_FAULT;
  for (let i = 0; i < 10; i++) {
    assert.equal(await h.readText(file), "hello, world\n");
    await h.m.waitForRecovery();
  }
  const resets = () => h.ops().filter((o) => o.startsWith("DESTROY_SESSION")).length;
  assert.equal(resets(), 1, h.ops().join("\n"));
  assert.equal(h.ops().filter((o) => o.startsWith("SEQUENCE,PUTFH,READ")).length, 10);
  const noted = h.details(["sess"]).filter((e) => e.startsWith("status flag still set"));
  assert.equal(noted.length, 1, h.details(["sess"]).join("\n"));
  assert.match(noted[0]!, /SEQ4_STATUS_BACKCHANNEL_FAULT after the session reset it asked for/);
  // Still set a lease period later: acted on again (not ignored for good).
  await h.tick(h.m.client.leaseTime * 1000 + 1000);
  assert.equal(await h.readText(file), "hello, world\n");
  await h.m.waitForRecovery();
  assert.ok(resets() >= 2, h.ops().join("\n"));
  h.server.seqStatusFlags = 0;
});

Deno.test("4.1: SEQ4_STATUS_RESTART_RECLAIM_NEEDED still set after RECLAIM_COMPLETE is reclaimed for once per lease period, not after every COMPOUND (RFC 8881 §18.46.3, §18.51.3)", async () => {
  await using h = await harness(1);
  const file = await h.open("file", 3);
  await h.lock(file, { offset: 0n, length: 10n });
  h.mark();
  h.server.seqStatusFlags = SeqStatus.RESTART_RECLAIM_NEEDED;
  for (let i = 0; i < 10; i++) {
    assert.equal(await h.readText(file), "hello, world\n");
    await h.m.waitForRecovery();
  }
  const reclaims = h.ops().filter((o) => o.startsWith("SEQUENCE,PUTFH,OPEN"));
  assert.equal(reclaims.length, 1, h.ops().join("\n"));
  assert.equal(h.ops().filter((o) => o.startsWith("SEQUENCE,RECLAIM_COMPLETE")).length, 1);
  const noted = h.details(["sess"]).filter((e) => e.startsWith("status flag still set"));
  assert.equal(noted.length, 1, h.details(["sess"]).join("\n"));
  assert.match(noted[0]!, /SEQ4_STATUS_RESTART_RECLAIM_NEEDED after the reclaim it asked for/);
  // The open and its lock are not lost on the way.
  assert.equal(file.bad, undefined);
  assert.ok(!h.events(["lock"]).includes("lock lost"), h.details(["lock"]).join("\n"));
  h.server.seqStatusFlags = 0;
});

for (
  const [name, bit] of [
    ["CB_GSS_CONTEXTS_EXPIRING", SeqStatus.CB_GSS_CONTEXTS_EXPIRING],
    ["CB_GSS_CONTEXTS_EXPIRED", SeqStatus.CB_GSS_CONTEXTS_EXPIRED],
    ["DEVID_CHANGED", SeqStatus.DEVID_CHANGED],
    ["DEVID_DELETED", SeqStatus.DEVID_DELETED],
  ] as const
) {
  Deno.test(`4.1: SEQ4_STATUS_${name}, which concerns nothing this client uses, is noted once and nothing is sent for it (RFC 8881 §18.46.3)`, async () => {
    await using h = await harness(1);
    const file = await h.open();
    h.mark();
    h.server.seqStatusFlags = bit;
    await h.read(file);
    await h.read(file);
    await drain();
    assert.deepEqual(h.steps(), []);
    assert.deepEqual(h.ops(), ["SEQUENCE,PUTFH,READ", "SEQUENCE,PUTFH,READ"]);
    const noted = h.details(["sess"]).filter((e) => e.startsWith("status flag ignored"));
    assert.equal(noted.length, 1, h.details(["sess"]).join("\n"));
    assert.ok(noted[0]!.includes(`SEQ4_STATUS_${name}:`), noted.join("\n"));
    h.server.seqStatusFlags = 0;
  });
}

Deno.test("4.1: the 'no back channel' note names SEQ4_STATUS_CB_PATH_DOWN_SESSION when that is the bit the server sent (RFC 8881 §18.46.3)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.mark();
  h.server.seqStatusFlags = SeqStatus.CB_PATH_DOWN_SESSION;
  await h.read(file);
  await drain();
  assert.deepEqual(h.details(["cb"]), [
    "no back channel (server reports SEQ4_STATUS_CB_PATH_DOWN_SESSION; running without delegations)",
  ]);
  h.server.seqStatusFlags = 0;
});
