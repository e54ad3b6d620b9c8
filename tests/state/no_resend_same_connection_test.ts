/**
 * RFC 7530 §3.1.1 and RFC 8881 §2.9.2: over TCP the server does not drop a
 * request silently, so a client "MUST NOT retry a request unless ... the
 * transport connection has been broken" (or the procedure is NULL). After a
 * call timeout (lib/state/manager.ts #afterCallTimeout) the state manager
 * sends an RPC NULL on the connection: answered, it waits on for the reply
 * (the transport keeps the xid; the scripted channel's lateReplies model
 * that), nothing is sent again; unanswered, it breaks the connection and the
 * request goes out again on the next, with the same seqid (4.0) or slot and
 * sequence id (4.1), as after any cut.
 */

import assert from "node:assert/strict";
import type { OpenArgs } from "../../lib/nfs4/ops/open.ts";
import { hex } from "../../lib/nfs4/types.ts";
import { harness } from "./_harness.ts";

for (const minor of [0, 1] as const) {
  Deno.test(`4.${minor}: a reply late past the call timeout on a connection that answers RPC NULL is waited for, not asked for again on that connection (RFC 7530 §3.1.1, RFC 8881 §2.9.2)`, async () => {
    await using h = await harness(minor);
    await h.open("file");
    h.mark();
    h.channel.lateReplies("OPEN");
    const other = await h.drive(h.open("other"), 50);
    // The server saw the OPEN once; its reply was taken when it came.
    assert.deepEqual(h.ops().filter((o) => o.includes("OPEN")).length, 1, h.ops().join("\n"));
    assert.equal(h.channel.waitedOn, 1);
    assert.equal(h.channel.pings, 1);
    assert.equal(h.channel.drops, 0);
    assert.deepEqual(h.details(["conn"]), [
      "no answer in 30 s to OPEN+GETFH+GETATTR (RPC NULL answered: waiting on (not sent again))",
    ]);
    assert.deepEqual(h.events(["retry"]), [], "nothing was resent");
    assert.equal(hex(other.stateid.other), hex(h.server.opensOf("/vfs/other")[0]!.other));
    assert.equal(await h.readText(other), "other file contents\n");
  });

  Deno.test(`4.${minor}: a call timeout whose RPC NULL goes unanswered too breaks the connection; the request goes out again on the next, same seqid or slot and sequence id (RFC 7530 §3.1.1, RFC 8881 §2.9.2, §2.10.6.2)`, async () => {
    await using h = await harness(minor);
    await h.open("file");
    h.mark();
    h.channel.lateReplies("OPEN");
    h.channel.silent = true;
    const other = await h.drive(h.open("other"), 50);
    h.channel.silent = false;
    assert.equal(h.channel.drops, 1);
    assert.equal(h.channel.waitedOn, 0);
    const opens = h.entries().filter((e) => e.ops.includes("OPEN"));
    assert.equal(opens.length, 2, h.ops().join("\n"));
    const at = opens[0]!.ops.indexOf("OPEN");
    assert.equal((opens[0]!.args[at] as OpenArgs).seqid, (opens[1]!.args[at] as OpenArgs).seqid);
    if (minor === 1) {
      assert.deepEqual(
        [opens[1]!.slotid, opens[1]!.sequenceid],
        [opens[0]!.slotid, opens[0]!.sequenceid],
      );
      assert.equal(opens[1]!.replay, true);
    }
    assert.deepEqual(h.details(["conn"]), [
      "no answer in 30 s to OPEN+GETFH+GETATTR (RPC NULL unanswered too: reconnecting)",
    ]);
    assert.equal(h.events(["retry"]).length, 1);
    assert.match(
      h.details(["retry"])[0]!,
      /^OPEN\+GETFH\+GETATTR resend \(no reply in time \(scripted\); no answer to RPC NULL either: connection dropped; same request in 100\.0 ms\)$/,
    );
    // One open on the server, the one the client holds.
    assert.equal(h.server.opensOf("/vfs/other").length, 1);
    assert.equal(hex(other.stateid.other), hex(h.server.opensOf("/vfs/other")[0]!.other));
  });
}

Deno.test("4.1: requests timing out together share one RPC NULL (RFC 7530 §3.1.1)", async () => {
  await using h = await harness(1);
  const file = await h.open("file");
  h.mark();
  h.channel.lateReplies("READ", { times: 3 });
  const reads = await h.drive(Promise.all([h.read(file), h.read(file), h.read(file)]), 50);
  assert.equal(reads.length, 3);
  assert.equal(h.channel.pings, 1);
  assert.equal(h.channel.waitedOn, 3);
  assert.equal(h.ops().length, 3, h.ops().join("\n"));
});
