/**
 * NFS4ERR_RETRY_UNCACHED_REP to a resend (lib/state/manager.ts `run()`): an
 * idempotent request whose reply was lost is resent, the server says it ran
 * but kept no reply, and it is sent anew under the next sequence id (RFC 8881
 * §2.10.6.1.3). When that happens again and again (a connection that loses
 * every third reply, issue 14: `cat` failed with "Retry of uncached reply"
 * after 9 in a row), each is the answer to a resend, not a spin: only the
 * recovery deadline bounds them, not the cap on immediate retries.
 */

import assert from "node:assert/strict";
import { harness } from "./_harness.ts";

Deno.test("a 4.1 READ whose reply is lost 10 times in a row, each resend answered RETRY_UNCACHED_REP, still completes", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.mark();
  // Lost, resend answered (UNCACHED), sent anew and lost, resend answered, ...
  h.channel.dropReplies("READ");
  for (let i = 1; i < 10; i++) h.channel.dropReplies("READ", { after: 1 });
  assert.equal(await h.drive(h.readText(file), 50), "hello, world\n");
  const uncached = h.details(["retry"]).filter((d) => d.includes("RETRY_UNCACHED_REP"));
  assert.equal(uncached.length, 10, h.details(["retry"]).join("\n"));
  const reads = h.entries().filter((e) => e.ops.includes("READ"));
  assert.equal(reads.length, 21, "10 × (lost, resent) and the one answered");
  // Each resend is its original byte for byte: one slot/seqid, one request.
  for (let i = 0; i < 20; i += 2) {
    assert.deepEqual(
      [reads[i + 1]!.slotid, reads[i + 1]!.sequenceid, reads[i + 1]!.replay],
      [reads[i]!.slotid, reads[i]!.sequenceid, true],
    );
  }
});
