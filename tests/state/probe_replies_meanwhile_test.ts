/**
 * RFC 7530 §3.1.1, RFC 8881 §2.9.2: over TCP a request is sent again only
 * once its connection is broken. After a call timeout the state manager asks
 * the connection with an RPC NULL (lib/state/manager.ts #probeConnection).
 * NULL's reply comes in TCP order behind the replies ahead of it (large READ
 * replies of a busy connection), so it may itself miss a call timeout while
 * other replies keep coming on the connection: that connection answers, and
 * is not broken (breaking it would send its requests again to a live server).
 */

import assert from "node:assert/strict";
import { RpcTimeoutError } from "../../lib/rpc/errors.ts";
import { harness } from "./_harness.ts";

for (const minor of [0, 1] as const) {
  Deno.test(`4.${minor}: RPC NULL late behind other replies that come during the probe: the connection answers, nothing is dropped or sent again (RFC 7530 §3.1.1, RFC 8881 §2.9.2)`, async () => {
    await using h = await harness(minor);
    const file = await h.open("file");
    h.mark();
    h.channel.lateReplies("OPEN");
    const reads: Promise<unknown>[] = [];
    // NULL's reply queued behind READ replies: not within a call timeout,
    // while the READs sent meanwhile on the same connection are answered.
    h.channel.ping = async (o = {}) => {
      h.channel.pings++;
      for (let i = 0; i < 5; i++) reads.push(h.readText(file));
      await h.m.clock.sleep(o.timeoutMs ?? 30_000);
      throw new RpcTimeoutError("no reply (queued behind READ replies)", o.timeoutMs ?? 0);
    };
    const other = await h.drive(h.open("other"), 50);
    assert.deepEqual(await Promise.all(reads), Array(5).fill("hello, world\n"));
    assert.equal(h.channel.pings, 1);
    assert.equal(h.channel.drops, 0, h.details(["conn"]).join("\n"));
    // The OPEN's own reply, late, was the answer: sent once.
    assert.equal(h.channel.waitedOn, 1);
    assert.equal(h.ops().filter((o) => o.includes("OPEN")).length, 1, h.ops().join("\n"));
    assert.deepEqual(h.events(["retry"]), [], "nothing was resent");
    assert.deepEqual(h.details(["conn"]), [
      "no answer in 30 s to OPEN+GETFH+GETATTR (RPC NULL unanswered but other replies came on the connection: waiting on (not sent again))",
    ]);
    assert.equal(await h.readText(other), "other file contents\n");
  });
}
