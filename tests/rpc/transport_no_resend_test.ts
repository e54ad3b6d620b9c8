/**
 * RFC 7530 §3.1.1 and RFC 8881 §2.9.2: over TCP the server does not drop a
 * request silently, so a client "MUST NOT retry a request unless ... the
 * transport connection has been broken" (or the procedure is NULL). The
 * transport keeps a timed-out request's xid registered on a connection that
 * stands, and the same attempt called again waits for that reply rather
 * than sending the request a second time (RpcCallOptions.attempt); after
 * dropConnection() it goes out again on the new connection, same xid.
 */

import assert from "node:assert/strict";
import {
  type RpcAttempt,
  RpcConnectionError,
  RpcTimeoutError,
  type RpcTransport,
} from "../../lib/rpc/mod.ts";
import {
  delay,
  type FakeRpcServer,
  rejection,
  successReply,
  withTransport,
} from "./_fake_server.ts";

const PROGRAM = 0x20000099;

/**
 * A call of procedure 1 under a new attempt, its request received by the
 * server and left unanswered until the call timed out (50 ms): the attempt,
 * the call (to call again), the connection it went out on and the request.
 */
async function timedOut(transport: RpcTransport, server: FakeRpcServer) {
  const attempt: RpcAttempt = {};
  const call = { program: PROGRAM, version: 1, procedure: 1, timeoutMs: 50, attempt };
  const first = transport.call(call);
  const connection = await server.connections.next();
  const sent = await connection.calls.next();
  assert.ok((await rejection(first)) instanceof RpcTimeoutError);
  return { attempt, call, connection, sent };
}

Deno.test("RpcTransport does not send a timed-out request again on the same connection: the same attempt waits for its late reply (RFC 7530 §3.1.1, RFC 8881 §2.9.2)", async () => {
  await withTransport(async (transport, server) => {
    const { attempt, call, connection, sent } = await timedOut(transport, server);
    // Called again on the connection that stands: nothing is written.
    const again = transport.call({ ...call, timeoutMs: 2_000 });
    again.catch(() => {}); // awaited below, unless an assertion fails first
    await delay(100);
    assert.equal(connection.calls.size, 0, "the request was sent a second time on the connection");
    assert.equal(attempt.sends, 1);
    connection.send(successReply(sent.xid, (w) => w.writeUint(42)));
    assert.equal((await again).reader.readUint(), 42);
    assert.equal(server.accepted, 1);
  });
});

Deno.test("RpcTransport keeps a reply that came while no call of its attempt waited, for the next one (RFC 7530 §3.1.1)", async () => {
  await withTransport(async (transport, server) => {
    const { attempt, call, connection, sent } = await timedOut(transport, server);
    connection.send(successReply(sent.xid, (w) => w.writeUint(7)));
    await delay(50);
    const again = await transport.call({ ...call, timeoutMs: 2_000 });
    assert.equal(again.reader.readUint(), 7);
    assert.equal(again.xid, sent.xid);
    assert.equal(connection.calls.size, 0);
    assert.equal(attempt.sends, 1);
  });
});

Deno.test("RpcTransport.dropConnection() fails the calls on the connection as lost; a timed-out attempt then goes out again on the new connection under its xid (RFC 7530 §3.1.1, RFC 5531 §9)", async () => {
  await withTransport(async (transport, server) => {
    const { attempt, call, connection, sent } = await timedOut(transport, server);
    // Another call in flight on the connection fails as on any lost connection.
    const other = transport.call({ program: PROGRAM, version: 1, procedure: 2 });
    await connection.calls.next();
    assert.equal(transport.dropConnection("no answer, not even to NULL"), true);
    const lost = await rejection(other);
    assert.ok(lost instanceof RpcConnectionError, String(lost));
    assert.equal(lost.retriable, true);
    assert.match(
      lost.message,
      /^dropped connection to 127\.0\.0\.1:\d+: no answer, not even to NULL$/,
    );
    const again = transport.call({ ...call, timeoutMs: 2_000 });
    again.catch(() => {}); // awaited below, unless an assertion fails first
    const next = await server.connections.next();
    const resent = await next.calls.next();
    assert.equal(resent.xid, sent.xid);
    assert.equal(attempt.sends, 2);
    next.send(successReply(resent.xid, (w) => w.writeUint(3)));
    assert.equal((await again).reader.readUint(), 3);
    assert.equal(transport.dropConnection("x"), true);
    assert.equal(transport.dropConnection("x"), false, "no connection left to drop");
  });
});

Deno.test("RpcTransport.stopWaiting() lets a timed-out attempt's xid go: its late reply is ignored, and a call without an attempt still times out and is forgotten", async () => {
  await withTransport(async (transport, server) => {
    const { attempt, connection, sent } = await timedOut(transport, server);
    transport.stopWaiting(attempt);
    // Its late reply is ignored as any unknown xid's; the connection goes on.
    connection.send(successReply(sent.xid, (w) => w.writeUint(1)));
    const next = transport.call({ program: PROGRAM, version: 1, procedure: 2 });
    const call = await connection.calls.next();
    assert.notEqual(call.xid, sent.xid);
    connection.send(successReply(call.xid, (w) => w.writeUint(9)));
    assert.equal((await next).reader.readUint(), 9);
    // No attempt: nothing is kept past the timeout.
    const plain = transport.call({ program: PROGRAM, version: 1, procedure: 3, timeoutMs: 50 });
    assert.ok((await rejection(plain)) instanceof RpcTimeoutError);
    assert.equal(transport.pendingCalls, 0);
  });
});
