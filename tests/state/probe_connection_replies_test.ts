/**
 * RFC 7530 §3.1.1, RFC 8881 §2.9.2: the state manager breaks a connection
 * (and so sends its requests again) only when it answers nothing. Its sign
 * of life while an RPC NULL probe waits (lib/state/manager.ts
 * #probeConnection) is the transport's count of reply records on the
 * current connection (RpcTransport.replyMark / repliedSince): any reply
 * counts, even to a call no longer waited for; none on a connection
 * dropped, nor on another connection.
 */

import assert from "node:assert/strict";
import { RpcTimeoutError, RpcTransport } from "../../lib/rpc/mod.ts";
import { FakeRpcServer, successReply } from "../rpc/_fake_server.ts";

const PROGRAM = 0x20000099;

Deno.test("RpcTransport.repliedSince: a reply to another call on the connection since the mark counts; one before it, or on a dropped connection, does not (RFC 7530 §3.1.1)", async () => {
  const server = await FakeRpcServer.start();
  const transport = new RpcTransport({ host: "127.0.0.1", port: server.port });
  try {
    const call = { program: PROGRAM, version: 1, procedure: 1, timeoutMs: 2_000 };
    // A first reply, before the mark.
    const first = transport.call(call);
    const connection = await server.connections.next();
    connection.send(successReply((await connection.calls.next()).xid));
    await first;
    const mark = transport.replyMark();
    assert.equal(transport.repliedSince(mark), false, "a reply before the mark counted");
    // A call left unanswered (the probe's NULL), and another one answered.
    const slow = transport.call({ ...call, timeoutMs: 100 });
    const slowSent = await connection.calls.next();
    const other = transport.call(call);
    connection.send(successReply((await connection.calls.next()).xid));
    await other;
    assert.ok((await slow.catch((e) => e)) instanceof RpcTimeoutError);
    assert.equal(transport.repliedSince(mark), true, "a reply on the connection did not count");
    // A reply to a call no longer waited for counts too: the peer answers.
    const mark2 = transport.replyMark();
    connection.send(successReply(slowSent.xid));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(transport.repliedSince(mark2), true);
    // A dropped connection's replies say nothing of the next.
    assert.equal(transport.dropConnection("test"), true);
    assert.equal(transport.repliedSince(transport.replyMark() - 1), false);
  } finally {
    await transport.close();
    await server.close();
  }
});
