/** RpcTransport against an in-process fake RPC server (RFC 5531 §9, §11 over node:net). */

import assert from "node:assert/strict";
import { createServer } from "node:net";
import {
  AUTH_SYS,
  authSys,
  decodeAuthSys,
  encodeRecord,
  GARBAGE_ARGS,
  MSG_ACCEPTED,
  MSG_DENIED,
  PROC_UNAVAIL,
  PROG_MISMATCH,
  PROG_UNAVAIL,
  RPC_MISMATCH,
  RpcAcceptedError,
  type RpcAttempt,
  type RpcConnectEventDetail,
  RpcConnectionError,
  type RpcDisconnectEventDetail,
  RpcError,
  RpcProtocolError,
  RpcRecordTooLargeError,
  RpcTimeoutError,
  RpcTransport,
  type RpcTransportOptions,
  SUCCESS,
  SYSTEM_ERR,
  writeAcceptedReply,
} from "../../lib/rpc/mod.ts";
import { XDR_VIEW_MIN, XdrError, XdrWriter } from "../../lib/xdr/mod.ts";
import { recordBuffers, releaseRecordBuffer } from "../../lib/rpc/socket_buffers.ts";
import { hex } from "../xdr/_hex.ts";
import {
  autoReply,
  delay,
  type FakeConnection,
  FakeRpcServer,
  frame,
  rejection,
  successReply,
  withTransport,
} from "./_fake_server.ts";

const PROGRAM = 0x20000099;

/** The most `transport.bufferedAmount` reached, sampled every 10 ms for 200 ms. */
async function peakBufferedAmount(transport: RpcTransport): Promise<number> {
  let peak = 0;
  for (let i = 0; i < 20; i++) {
    await delay(10);
    peak = Math.max(peak, transport.bufferedAmount);
  }
  return peak;
}

/**
 * The ways the transport can read: into a reused buffer and in place into
 * each large record (the default), with a buffer so small that records
 * always straddle reads, and from 'data' events (runtimes without `onread`);
 * through node:net and through Deno.connect (socket_backend.ts).
 */
const READ_MODES: { name: string; options: Partial<RpcTransportOptions> }[] = [
  { name: "onread", options: { socket: "node" } },
  { name: "onread, 7-byte buffer", options: { socket: "node", readBufferSize: 7 } },
  { name: "'data' events", options: { socket: "node", readBufferSize: 0 } },
  { name: "Deno.connect", options: { socket: "deno" } },
  { name: "Deno.connect, 7-byte buffer", options: { socket: "deno", readBufferSize: 7 } },
];

Deno.test("RpcTransport.call() sends header and arguments and returns the results", async () => {
  await withTransport(async (transport, server) => {
    const credential = authSys({ stamp: 9, machineName: "me", uid: 1000, gid: 100, gids: [4] });
    const reply = transport.call({
      program: PROGRAM,
      version: 3,
      procedure: 7,
      credential,
      args: (w) => w.writeString("ping"),
    });
    const connection = await server.connections.next();
    const call = await connection.calls.next();
    assert.equal(call.rpcVersion, 2);
    assert.equal(call.program, PROGRAM);
    assert.equal(call.version, 3);
    assert.equal(call.procedure, 7);
    assert.equal(call.credential.flavor, AUTH_SYS);
    assert.deepEqual(decodeAuthSys(call.credential).gids, [4]);
    assert.equal(call.args.readString(), "ping");
    connection.send(successReply(call.xid, (w) => w.writeString("pong")));
    const { xid, reader } = await reply;
    assert.equal(xid, call.xid);
    assert.equal(reader.readString(), "pong");
    reader.assertEnd();
    assert.ok(transport.connected);
    assert.equal(transport.remoteAddress, "127.0.0.1");
    assert.equal(transport.localAddress, "127.0.0.1");
    assert.equal(typeof transport.localPort, "number");
  });
});

Deno.test("RpcTransport.call() matches pipelined replies answered out of order by xid", async () => {
  await withTransport(async (transport, server) => {
    const calls = Array.from(
      { length: 20 },
      (_, i) =>
        transport.call({ program: PROGRAM, version: 1, procedure: 1, args: (w) => w.writeUint(i) }),
    );
    const connection = await server.connections.next();
    const received = [];
    for (let i = 0; i < 20; i++) received.push(await connection.calls.next());
    // xids start at a random value and increase by one per call.
    for (let i = 1; i < 20; i++) {
      assert.equal(received[i]!.xid, (received[0]!.xid + i) >>> 0);
    }
    for (const call of received.reverse()) {
      const n = call.args.readUint();
      connection.send(successReply(call.xid, (w) => w.writeUint(n * 10)));
    }
    const replies = await Promise.all(calls);
    assert.deepEqual(
      replies.map((r) => r.reader.readUint()),
      Array.from({ length: 20 }, (_, i) => i * 10),
    );
    assert.equal(server.accepted, 1, "one connection carries every call");
  });
});

for (const mode of READ_MODES) {
  Deno.test(`RpcTransport receives a 1 MiB reply split into fragments and many small writes (${mode.name})`, async () => {
    await withTransport(async (transport, server) => {
      const data = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 0xff);
      const reply = transport.call({ program: PROGRAM, version: 1, procedure: 25 });
      const connection = await server.connections.next();
      const call = await connection.calls.next();
      const message = successReply(call.xid, (w) => w.writeOpaque(data));
      const stream = encodeRecord(message, 100_000);
      for (const fragment of stream) {
        for (let offset = 0; offset < fragment.length; offset += 1000) {
          connection.sendRaw(fragment.subarray(offset, offset + 1000));
        }
        await delay(1);
      }
      const { reader } = await reply;
      assert.deepEqual(reader.readOpaque(), data);
      reader.assertEnd();
    }, mode.options);
  });
}

for (const mode of READ_MODES) {
  Deno.test(`RpcTransport reuses a released reply's buffer and the next reply arrives intact (${mode.name})`, async () => {
    await withTransport(async (transport, server) => {
      const before = recordBuffers.stats.reused;
      let connection: FakeConnection | undefined;
      for (let round = 0; round < 4; round++) {
        const data = new Uint8Array(300_000).map((_, i) => (i * 13 + round) & 0xff);
        const reply = transport.call({ program: PROGRAM, version: 1, procedure: 25 });
        connection ??= await server.connections.next();
        const call = await connection.calls.next();
        connection.send(successReply(call.xid, (w) => w.writeOpaque(data)));
        const { reader } = await reply;
        const bytes = reader.readOpaque();
        assert.deepEqual(bytes, data, `round ${round}`);
        releaseRecordBuffer(bytes);
      }
      if (mode.options.readBufferSize !== 0) {
        assert.ok(recordBuffers.stats.reused > before, "a released buffer carried a later reply");
      }
    }, mode.options);
  });
}

Deno.test("RpcTransport ignores replies for unknown xids", async () => {
  await withTransport(async (transport, server) => {
    const reply = transport.call({ program: PROGRAM, version: 1, procedure: 0 });
    const connection = await server.connections.next();
    const call = await connection.calls.next();
    connection.send(successReply((call.xid + 1000) >>> 0, (w) => w.writeUint(1)));
    connection.send(successReply(call.xid, (w) => w.writeUint(2)));
    assert.equal((await reply).reader.readUint(), 2);
  });
});

Deno.test("RpcTransport.call() rejects with a retriable RpcTimeoutError and forgets the call", async () => {
  await withTransport(async (transport, server) => {
    const started = performance.now();
    const error = await rejection(
      transport.call({ program: PROGRAM, version: 1, procedure: 4, timeoutMs: 50 }),
    );
    assert.ok(error instanceof RpcTimeoutError);
    assert.equal(error.retriable, true);
    assert.equal(error.timeoutMs, 50);
    assert.match(
      error.message,
      /^call to program \d+ version 1 procedure 4 \(xid 0x[0-9a-f]{8}\) on 127\.0\.0\.1:\d+ timed out after 50 ms$/,
    );
    assert.ok(performance.now() - started >= 45);
    assert.equal(transport.pendingCalls, 0);
    // A late reply to the forgotten call is ignored; the connection still works.
    const connection = await server.connections.next();
    const late = await connection.calls.next();
    connection.send(successReply(late.xid));
    const next = transport.call({ program: PROGRAM, version: 1, procedure: 5 });
    const call = await connection.calls.next();
    connection.send(successReply(call.xid, (w) => w.writeUint(5)));
    assert.equal((await next).reader.readUint(), 5);
  });
});

Deno.test("RpcTransport uses callTimeoutMs when a call names no timeout", async () => {
  await withTransport(async (transport) => {
    const error = await rejection(transport.call({ program: PROGRAM, version: 1, procedure: 0 }));
    assert.ok(error instanceof RpcTimeoutError);
    assert.equal(error.timeoutMs, 30);
  }, { callTimeoutMs: 30 });
});

Deno.test("RpcTransport.call() rejects with the signal's reason when aborted", async () => {
  await withTransport(async (transport, server) => {
    const controller = new AbortController();
    const reply = transport.call({
      program: PROGRAM,
      version: 1,
      procedure: 0,
      signal: controller.signal,
    });
    const connection = await server.connections.next();
    const call = await connection.calls.next();
    controller.abort(new Error("user gave up"));
    const error = await rejection(reply);
    assert.ok(error instanceof Error);
    assert.equal(error.message, "user gave up");
    connection.send(successReply(call.xid)); // late, ignored
    assert.equal(transport.pendingCalls, 0);
  });
});

Deno.test("RpcTransport.call() rejects at once for an already aborted signal", async () => {
  await withTransport(async (transport, server) => {
    const error = await rejection(
      transport.call({ program: PROGRAM, version: 1, procedure: 0, signal: AbortSignal.abort() }),
    );
    assert.ok(error instanceof DOMException);
    assert.equal(error.name, "AbortError");
    assert.equal(server.accepted, 0, "nothing sent, no connection made");
  });
});

Deno.test("RpcTransport fails pending calls with a retriable RpcConnectionError when the connection drops, then reconnects", async () => {
  await withTransport(async (transport, server) => {
    const connects: RpcConnectEventDetail[] = [];
    const disconnects: RpcDisconnectEventDetail[] = [];
    transport.addEventListener("connect", (e) => connects.push(e.detail));
    transport.addEventListener("disconnect", (e) => disconnects.push(e.detail));
    const first = transport.call({ program: PROGRAM, version: 1, procedure: 1 });
    const second = transport.call({ program: PROGRAM, version: 1, procedure: 2 });
    const connection = await server.connections.next();
    await connection.calls.next();
    await connection.calls.next();
    await connection.destroy();
    for (const error of [await rejection(first), await rejection(second)]) {
      assert.ok(error instanceof RpcConnectionError);
      assert.equal(error.retriable, true);
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${server.port}`));
    }
    assert.equal(transport.connected, false);
    assert.equal(disconnects.length, 1);
    assert.ok(disconnects[0]?.error instanceof RpcConnectionError);
    // The next call opens a fresh connection.
    const third = transport.call({ program: PROGRAM, version: 1, procedure: 3 });
    const again = await server.connections.next();
    const call = await again.calls.next();
    assert.equal(call.procedure, 3);
    again.send(successReply(call.xid));
    await third;
    assert.equal(server.accepted, 2);
    assert.deepEqual(connects, [{ reconnect: false }, { reconnect: true }]);
  });
});

Deno.test("RpcTransport.connect() rejects with 'connection refused by host:port'", async () => {
  // Find a port with nothing listening: bind one, note it, close it.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", () => resolve()));
  const address = probe.address();
  assert.ok(address !== null && typeof address === "object");
  const port = address.port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const transport = new RpcTransport({ host: "127.0.0.1", port });
  try {
    const error = await rejection(transport.call({ program: PROGRAM, version: 1, procedure: 0 }));
    assert.ok(error instanceof RpcConnectionError);
    assert.equal(error.message, `connection refused by 127.0.0.1:${port}`);
    assert.equal(error.code, "ECONNREFUSED");
    assert.equal(error.retriable, true);
    assert.equal(error.host, "127.0.0.1");
    assert.equal(error.port, port);
    assert.ok(error.cause instanceof Error);
    assert.equal(transport.connected, false);
  } finally {
    await transport.close();
  }
});

Deno.test("RpcTransport.connect() is idempotent and shares one attempt", async () => {
  await withTransport(async (transport, server) => {
    await Promise.all([transport.connect(), transport.connect(), transport.connect()]);
    await transport.connect();
    assert.ok(transport.connected);
    await server.connections.next();
    await delay(20);
    assert.equal(server.accepted, 1);
  });
});

for (const mode of READ_MODES) {
  Deno.test(`RpcTransport fails pending calls with RpcRecordTooLargeError for an oversized record (${mode.name})`, async () => {
    await withTransport(async (transport, server) => {
      const a = transport.call({ program: PROGRAM, version: 1, procedure: 1 });
      const b = transport.call({ program: PROGRAM, version: 1, procedure: 2 });
      const connection = await server.connections.next();
      await connection.calls.next();
      await connection.calls.next();
      // Claims 2 KiB; only the header is sent.
      connection.sendRaw(hex("80000800"));
      for (const error of [await rejection(a), await rejection(b)]) {
        assert.ok(error instanceof RpcRecordTooLargeError);
        assert.equal(error.limit, 1024);
        assert.equal(error.size, 2048);
      }
      await connection.closed;
      assert.equal(transport.connected, false);
      // The next call reconnects.
      const c = transport.call({ program: PROGRAM, version: 1, procedure: 3 });
      const again = await server.connections.next();
      again.send(successReply((await again.calls.next()).xid));
      await c;
    }, { ...mode.options, maxRecordSize: 1024 });
  });
}

for (const mode of READ_MODES) {
  Deno.test(`RpcTransport delivers a reply that precedes an oversized record in the same chunk (${mode.name})`, async () => {
    await withTransport(async (transport, server) => {
      const a = transport.call({ program: PROGRAM, version: 1, procedure: 1 });
      const b = transport.call({ program: PROGRAM, version: 1, procedure: 2 });
      const connection = await server.connections.next();
      const first = await connection.calls.next();
      await connection.calls.next();
      const good = frame(successReply(first.xid, (w) => w.writeUint(42)));
      const chunk = new Uint8Array(good.length + 4);
      chunk.set(good);
      chunk.set(hex("80000800"), good.length);
      connection.sendRaw(chunk);
      assert.equal((await a).reader.readUint(), 42);
      assert.ok(await rejection(b) instanceof RpcRecordTooLargeError);
    }, { ...mode.options, maxRecordSize: 1024 });
  });
}

Deno.test("RpcTransport fails only the affected call with RpcProtocolError for a malformed reply", async () => {
  await withTransport(async (transport, server) => {
    const bad = transport.call({ program: PROGRAM, version: 1, procedure: 1 });
    const good = transport.call({ program: PROGRAM, version: 1, procedure: 2 });
    const connection = await server.connections.next();
    const c1 = await connection.calls.next();
    const c2 = await connection.calls.next();
    // reply_stat 7 does not exist.
    const w = new XdrWriter().writeUint(c1.xid).writeUint(1).writeUint(7);
    connection.send(w.bytes().slice());
    const error = await rejection(bad);
    assert.ok(error instanceof RpcProtocolError);
    assert.equal(error.xid, c1.xid);
    assert.ok(error.cause instanceof XdrError);
    assert.match(
      error.message,
      /^malformed reply for xid 0x[0-9a-f]{8} from 127\.0\.0\.1:\d+: unknown reply_stat value 7/,
    );
    // The connection survives for the other call.
    connection.send(successReply(c2.xid, (w) => w.writeUint(2)));
    assert.equal((await good).reader.readUint(), 2);
    assert.equal(server.accepted, 1);
  });
});

Deno.test("RpcTransport fails a call with RpcProtocolError for a truncated reply", async () => {
  await withTransport(async (transport, server) => {
    const reply = transport.call({ program: PROGRAM, version: 1, procedure: 1 });
    const connection = await server.connections.next();
    const call = await connection.calls.next();
    // xid, REPLY, MSG_ACCEPTED, then a verifier cut short.
    connection.send(
      new XdrWriter().writeUint(call.xid).writeUint(1).writeUint(0).writeUint(0).bytes().slice(),
    );
    const error = await rejection(reply);
    assert.ok(error instanceof RpcProtocolError);
    assert.ok(error.cause instanceof XdrError);
  });
});

Deno.test("RpcTransport fails a call with RpcProtocolError for an unknown msg_type", async () => {
  await withTransport(async (transport, server) => {
    const reply = transport.call({ program: PROGRAM, version: 1, procedure: 1 });
    const connection = await server.connections.next();
    const call = await connection.calls.next();
    connection.send(new XdrWriter().writeUint(call.xid).writeUint(2).bytes().slice());
    const error = await rejection(reply);
    assert.ok(error instanceof RpcProtocolError);
    assert.match(error.message, /malformed message/);
  });
});

Deno.test("RpcTransport drops the connection for a record too short to hold an xid", async () => {
  await withTransport(async (transport, server) => {
    const reply = transport.call({ program: PROGRAM, version: 1, procedure: 1 });
    const connection = await server.connections.next();
    await connection.calls.next();
    connection.sendRaw(hex("80000002 0102"));
    const error = await rejection(reply);
    assert.ok(error instanceof RpcConnectionError);
    assert.equal(error.retriable, true);
    assert.ok(error.cause instanceof RpcProtocolError);
    assert.match(error.message, /dropped connection to 127\.0\.0\.1:\d+ after a malformed record/);
    await connection.closed;
  });
});

for (const mode of READ_MODES) {
  Deno.test(`RpcTransport survives random garbage records without crashing (${mode.name})`, async () => {
    await withTransport(async (transport, server) => {
      const reply = transport.call({ program: PROGRAM, version: 1, procedure: 1 });
      const connection = await server.connections.next();
      const call = await connection.calls.next();
      for (let i = 0; i < 200; i++) {
        const garbage = crypto.getRandomValues(new Uint8Array(4 + (i % 40)));
        // Never let garbage carry the pending xid or form a CALL to a handler.
        new DataView(garbage.buffer).setUint32(0, (call.xid + 1 + i) >>> 0);
        connection.send(garbage);
      }
      connection.send(successReply(call.xid, (w) => w.writeUint(77)));
      assert.equal((await reply).reader.readUint(), 77);
    }, mode.options);
  });
}

for (const mode of READ_MODES) {
  Deno.test(`RpcTransport only ever fails calls with RpcError when fed random byte streams (${mode.name})`, async () => {
    // Each call is answered with random bytes (random record marks included)
    // and then a valid reply. The stream may stay in step, swallow the reply,
    // claim a huge record or be cut: the call then succeeds or fails with an
    // RpcError, nothing throws elsewhere, and the next call still works.
    const onConnection = (connection: FakeConnection) => {
      (async () => {
        for (;;) {
          const call = await Promise.race([connection.calls.next(), connection.closed]);
          if (!call) return;
          const noise = crypto.getRandomValues(new Uint8Array(1 + (call.procedure % 48)));
          if (call.procedure % 3 === 0) noise[0] = 0x80; // plausible last-fragment headers
          connection.sendRaw(noise);
          connection.send(successReply(call.xid));
        }
      })();
    };
    await withTransport(async (transport) => {
      let failures = 0;
      for (let i = 0; i < 40; i++) {
        try {
          await transport.call({ program: PROGRAM, version: 1, procedure: i, timeoutMs: 100 });
        } catch (error) {
          assert.ok(error instanceof RpcError, `call ${i} failed with ${String(error)}`);
          failures++;
        }
      }
      assert.ok(failures > 0, "the noise did some damage");
    }, { ...mode.options, onConnection, maxRecordSize: 64 * 1024 });
  });
}

Deno.test("RpcReply carries the server's verifier", async () => {
  await withTransport(async (transport, server) => {
    const reply = transport.call({ program: PROGRAM, version: 1, procedure: 0 });
    const connection = await server.connections.next();
    const call = await connection.calls.next();
    const w = new XdrWriter();
    writeAcceptedReply(w, call.xid, SUCCESS, { verifier: { flavor: 6, body: hex("cafe") } });
    connection.send(w.bytes().slice());
    const { verifier } = await reply;
    assert.deepEqual(verifier, { flavor: 6, body: hex("cafe") });
  });
});

Deno.test("RpcTransport.call() rejects with RpcAcceptedError for PROG_MISMATCH", async () => {
  await withTransport(async (transport, server) => {
    const reply = transport.call({ program: 100003, version: 5, procedure: 0 });
    const connection = await server.connections.next();
    const call = await connection.calls.next();
    const w = new XdrWriter();
    writeAcceptedReply(w, call.xid, PROG_MISMATCH, { mismatch: { low: 3, high: 4 } });
    connection.send(w.bytes().slice());
    const error = await rejection(reply);
    assert.ok(error instanceof RpcAcceptedError);
    assert.equal(error.acceptStatName, "PROG_MISMATCH");
    assert.deepEqual(error.mismatch, { low: 3, high: 4 });
    assert.equal(error.version, 5);
    assert.equal(error.retriable, false);
  });
});

Deno.test("RpcTransport.call() rejects with what args throws and frees its slot", async () => {
  await withTransport(async (transport) => {
    const error = await rejection(
      transport.call({
        program: PROGRAM,
        version: 1,
        procedure: 0,
        args: () => {
          throw new TypeError("bad argument");
        },
      }),
    );
    assert.ok(error instanceof TypeError);
    const reply = await transport.call({ program: PROGRAM, version: 1, procedure: 0 });
    reply.reader.assertEnd();
  }, { maxInFlight: 1, onConnection: autoReply() });
});

Deno.test("RpcTransport caps calls in flight at maxInFlight and queues the rest", async () => {
  await withTransport(async (transport, server) => {
    const calls = Array.from(
      { length: 5 },
      (_, i) => transport.call({ program: PROGRAM, version: 1, procedure: i }),
    );
    const connection = await server.connections.next();
    const first = [await connection.calls.next(), await connection.calls.next()];
    await delay(30);
    assert.equal(connection.calls.size, 0, "only two calls sent");
    assert.equal(transport.pendingCalls, 5);
    for (const call of first) connection.send(successReply(call.xid));
    const rest = [];
    for (let i = 0; i < 3; i++) {
      const call = await connection.calls.next();
      rest.push(call.procedure);
      connection.send(successReply(call.xid));
    }
    assert.deepEqual(rest, [2, 3, 4], "queued calls go out in order");
    await Promise.all(calls);
  }, { maxInFlight: 2 });
});

Deno.test("RpcTransport drains a queue of thousands of calls through a small in-flight cap", async () => {
  await withTransport(async (transport) => {
    const n = 5000;
    const replies = await Promise.all(
      Array.from(
        { length: n },
        (_, i) =>
          transport.call({
            program: PROGRAM,
            version: 1,
            procedure: i % 100,
            args: (w) => w.writeUint(i),
          }),
      ),
    );
    assert.deepEqual(
      replies.map((r) => r.reader.readUint()),
      Array.from({ length: n }, (_, i) => i),
    );
    assert.equal(transport.pendingCalls, 0);
  }, { maxInFlight: 4, onConnection: autoReply((call, w) => w.writeUint(call.args.readUint())) });
});

Deno.test("RpcTransport times out a call still waiting for a slot", async () => {
  await withTransport(async (transport, server) => {
    const blocker = transport.call({ program: PROGRAM, version: 1, procedure: 1 });
    const queued = transport.call({ program: PROGRAM, version: 1, procedure: 2, timeoutMs: 30 });
    const error = await rejection(queued);
    assert.ok(error instanceof RpcTimeoutError);
    assert.doesNotMatch(error.message, /xid/, "never sent, so no xid");
    const connection = await server.connections.next();
    const call = await connection.calls.next();
    connection.send(successReply(call.xid));
    await blocker;
    await delay(20);
    assert.equal(connection.calls.size, 0, "the timed-out call was never sent");
  }, { maxInFlight: 1 });
});

Deno.test("RpcTransport.close() fails pending calls with a non-retriable 'transport closed'", async () => {
  const server = await FakeRpcServer.start();
  const transport = new RpcTransport({ host: "127.0.0.1", port: server.port, maxInFlight: 1 });
  try {
    // Handlers attached now: the calls reject while close() is awaited.
    const sent = rejection(transport.call({ program: PROGRAM, version: 1, procedure: 1 }));
    const queued = rejection(transport.call({ program: PROGRAM, version: 1, procedure: 2 }));
    const connection = await server.connections.next();
    await connection.calls.next();
    const disconnected = new Promise((resolve) =>
      transport.addEventListener("disconnect", resolve)
    );
    await transport.close();
    await disconnected;
    for (const error of [await sent, await queued]) {
      assert.ok(error instanceof RpcConnectionError);
      assert.equal(error.message, "transport closed");
      assert.equal(error.retriable, false);
    }
    assert.equal(transport.closed, true);
    assert.equal(transport.connected, false);
    // No reconnect afterwards.
    const later = await rejection(transport.call({ program: PROGRAM, version: 1, procedure: 3 }));
    assert.ok(later instanceof RpcConnectionError);
    assert.equal(later.message, "transport closed");
    assert.ok(await rejection(transport.connect()) instanceof RpcConnectionError);
    await connection.closed;
    assert.equal(server.accepted, 1);
    await transport.close(); // idempotent
  } finally {
    await transport.close();
    await server.close();
  }
});

Deno.test("RpcTransport.close() during a connection attempt fails the attempt", async () => {
  const server = await FakeRpcServer.start();
  const transport = new RpcTransport({ host: "127.0.0.1", port: server.port });
  try {
    const connecting = rejection(transport.connect());
    const call = rejection(transport.call({ program: PROGRAM, version: 1, procedure: 1 }));
    await transport.close();
    const errors = [await connecting, await call];
    for (const error of errors) {
      assert.ok(error instanceof RpcConnectionError);
      assert.equal(error.message, "transport closed");
    }
    assert.equal(transport.connected, false);
  } finally {
    await server.close();
  }
});

Deno.test("RpcTransport.onCall() serves an incoming CALL and the reply reaches the server", async () => {
  await withTransport(async (transport, server) => {
    const seen: { program: number; version: number; procedure: number; arg: string }[] = [];
    transport.onCall(0x40000000, (call) => {
      const arg = call.args.readString();
      call.args.assertEnd();
      seen.push({ program: call.program, version: call.version, procedure: call.procedure, arg });
      return Promise.resolve((w) => w.writeString(arg.toUpperCase()));
    });
    await transport.connect();
    const connection = await server.connections.next();
    connection.sendCall(0xabcdef01, 0x40000000, 1, 1, (w) => w.writeString("recall"));
    const reply = await connection.replies.next();
    assert.equal(reply.xid, 0xabcdef01);
    assert.equal(reply.body.replyStat, MSG_ACCEPTED);
    assert.ok(reply.body.replyStat === MSG_ACCEPTED);
    assert.equal(reply.body.acceptStat, SUCCESS);
    assert.equal(reply.results.readString(), "RECALL");
    reply.results.assertEnd();
    assert.deepEqual(seen, [{ program: 0x40000000, version: 1, procedure: 1, arg: "recall" }]);
  });
});

Deno.test("RpcTransport answers incoming CALLs it cannot serve with the right status", async () => {
  await withTransport(async (transport, server) => {
    transport.onCall(1, () => Promise.reject(new Error("handler bug")));
    transport.onCall(2, (call) => {
      call.args.readUhyper(); // the server sends no arguments
      return Promise.resolve(() => {});
    });
    transport.onCall(3, () => Promise.resolve({ acceptStat: PROC_UNAVAIL }));
    transport.onCall(
      4,
      () => Promise.resolve({ acceptStat: PROG_MISMATCH, mismatch: { low: 1, high: 1 } }),
    );
    transport.onCall(5, () =>
      Promise.resolve(() => {
        throw new Error("encoding bug");
      }));
    transport.onCall(6, () => Promise.resolve({ acceptStat: PROG_MISMATCH })); // range missing
    await transport.connect();
    const connection = await server.connections.next();
    const expect: [number, number][] = [
      [99, PROG_UNAVAIL],
      [1, SYSTEM_ERR],
      [2, GARBAGE_ARGS],
      [3, PROC_UNAVAIL],
      [4, PROG_MISMATCH],
      [5, SYSTEM_ERR],
      [6, SYSTEM_ERR],
    ];
    for (const [i, [program, acceptStat]] of expect.entries()) {
      connection.sendCall(100 + i, program, 1, 0);
      const reply = await connection.replies.next();
      assert.equal(reply.xid, 100 + i);
      assert.ok(reply.body.replyStat === MSG_ACCEPTED, `program ${program}`);
      assert.equal(reply.body.acceptStat, acceptStat, `program ${program}`);
      if (acceptStat === PROG_MISMATCH) assert.deepEqual(reply.body.mismatch, { low: 1, high: 1 });
    }
  });
});

Deno.test("RpcTransport answers an incoming CALL of RPC version 3 with RPC_MISMATCH", async () => {
  await withTransport(async (transport, server) => {
    await transport.connect();
    const connection = await server.connections.next();
    const w = new XdrWriter().writeUint(55).writeUint(0).writeUint(3).writeUint(1).writeUint(1)
      .writeUint(0);
    w.writeUint(0).writeUint(0).writeUint(0).writeUint(0);
    connection.send(w.bytes().slice());
    const reply = await connection.replies.next();
    assert.equal(reply.xid, 55);
    assert.ok(reply.body.replyStat === MSG_DENIED && reply.body.rejectStat === RPC_MISMATCH);
    assert.deepEqual(reply.body.mismatch, { low: 2, high: 2 });
  });
});

Deno.test("RpcTransport answers an incoming CALL with a garbled header with GARBAGE_ARGS", async () => {
  await withTransport(async (transport, server) => {
    await transport.connect();
    const connection = await server.connections.next();
    // xid 56, CALL, rpcvers 2, then the header stops.
    connection.send(new XdrWriter().writeUint(56).writeUint(0).writeUint(2).bytes().slice());
    const reply = await connection.replies.next();
    assert.equal(reply.xid, 56);
    assert.ok(reply.body.replyStat === MSG_ACCEPTED);
    assert.equal(reply.body.acceptStat, GARBAGE_ARGS);
  });
});

Deno.test("RpcTransport serves incoming CALLs while its own calls are pending", async () => {
  await withTransport(async (transport, server) => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    transport.onCall(7, async () => {
      await gate;
      return (w) => w.writeUint(1);
    });
    const own = transport.call({ program: PROGRAM, version: 1, procedure: 1 });
    const connection = await server.connections.next();
    const call = await connection.calls.next();
    connection.sendCall(9, 7, 1, 0);
    connection.send(successReply(call.xid, (w) => w.writeUint(2)));
    assert.equal((await own).reader.readUint(), 2, "a slow handler does not hold up replies");
    release();
    const reply = await connection.replies.next();
    assert.equal(reply.results.readUint(), 1);
  });
});

Deno.test("RpcTransport waits for 'drain' so a pipelined upload stays in bounded memory", async () => {
  const MiB = 1024 * 1024;
  const payload = new Uint8Array(MiB).fill(0x5a);
  await withTransport(async (transport, server) => {
    const pending = [];
    const connected = transport.connect();
    await connected;
    const connection = await server.connections.next();
    connection.socket.pause(); // the server stops reading
    for (let i = 0; i < 32; i++) {
      pending.push(
        transport.call({
          program: PROGRAM,
          version: 1,
          procedure: 1,
          args: (w) => w.writeOpaque(payload),
        }),
      );
    }
    // Handled from now on, so a failed assertion below reports cleanly.
    const all = Promise.all(pending);
    all.catch(() => {});
    const peak = await peakBufferedAmount(transport);
    // Without backpressure all 32 MiB would sit in the socket's buffer.
    assert.ok(peak <= 2 * MiB, `buffered ${peak} bytes`);
    assert.ok(peak > 0, "the socket did fill up");
    // Resume, answer everything, and every call completes.
    connection.socket.resume();
    for (let i = 0; i < 32; i++) {
      const call = await connection.calls.next();
      assert.equal(call.args.readOpaque().length, MiB);
      connection.send(successReply(call.xid));
    }
    await all;
  }, { callTimeoutMs: 60_000 });
});

for (const mode of READ_MODES) {
  Deno.test(`RpcTransport receives small and large replies sent together intact (${mode.name})`, async () => {
    await withTransport(async (transport, server) => {
      const sizes = [0, 5, 70_000, 3, 300_000, 16 * 1024, 1 << 20, 9];
      const calls = sizes.map((_, i) =>
        transport.call({ program: PROGRAM, version: 1, procedure: i })
      );
      const connection = await server.connections.next();
      const messages: Uint8Array[] = [];
      for (let i = 0; i < sizes.length; i++) {
        const call = await connection.calls.next();
        const data = new Uint8Array(sizes[call.procedure]!).map((_, j) =>
          (j + call.procedure) & 0xff
        );
        messages.push(frame(successReply(call.xid, (w) => w.writeOpaque(data))));
      }
      // All in one write, then again cut at odd places.
      const stream = new Uint8Array(messages.reduce((n, m) => n + m.length, 0));
      let at = 0;
      for (const message of messages) {
        stream.set(message, at);
        at += message.length;
      }
      connection.sendRaw(stream);
      const replies = await Promise.all(calls);
      const views = replies.map((reply) => reply.reader.readOpaque());
      for (let i = 0; i < sizes.length; i++) {
        assert.equal(views[i]!.length, sizes[i]);
        assert.ok(views[i]!.every((b, j) => b === ((j + i) & 0xff)), `reply ${i} intact`);
      }
      // Later replies leave earlier data alone: each record has its own buffer.
      const more = sizes.map((_, i) =>
        transport.call({ program: PROGRAM, version: 1, procedure: i })
      );
      for (let i = 0; i < sizes.length; i++) {
        const call = await connection.calls.next();
        const data = new Uint8Array(sizes[call.procedure]!).fill(0xee);
        const message = frame(successReply(call.xid, (w) => w.writeOpaque(data)));
        for (let offset = 0; offset < message.length; offset += 33_333) {
          connection.sendRaw(message.subarray(offset, offset + 33_333));
        }
      }
      await Promise.all(more);
      for (let i = 0; i < sizes.length; i++) {
        assert.ok(views[i]!.every((b, j) => b === ((j + i) & 0xff)), `reply ${i} still intact`);
      }
    }, mode.options);
  });
}

Deno.test("RpcTransport sends data referenced with writeOpaqueView() intact, padded", async () => {
  await withTransport(async (transport, server) => {
    const lengths = [XDR_VIEW_MIN, XDR_VIEW_MIN + 1, 100_002, 1 << 20, (1 << 20) + 3, 5];
    const payloads = lengths.map((n, i) => new Uint8Array(n).map((_, j) => (j * 3 + i) & 0xff));
    const calls = payloads.map((data, i) =>
      transport.call({
        program: PROGRAM,
        version: 1,
        procedure: i,
        args: (w) => w.writeUint(i).writeOpaqueView(data).writeUint(0xabcdef),
      })
    );
    const connection = await server.connections.next();
    for (let i = 0; i < payloads.length; i++) {
      const call = await connection.calls.next();
      assert.equal(call.args.readUint(), call.procedure);
      assert.deepEqual(call.args.readOpaque(), payloads[call.procedure]);
      assert.equal(call.args.readUint(), 0xabcdef);
      call.args.assertEnd();
      connection.send(successReply(call.xid));
    }
    await Promise.all(calls);
    assert.equal(transport.bufferedAmount, 0);
  });
});

Deno.test("RpcTransport keeps a pipelined upload of referenced data in bounded memory", async () => {
  const MiB = 1024 * 1024;
  const payload = new Uint8Array(MiB).fill(0x5a);
  await withTransport(async (transport, server) => {
    await transport.connect();
    const connection = await server.connections.next();
    connection.socket.pause(); // the server stops reading
    const encoded: number[] = [];
    const pending = Array.from({ length: 32 }, (_, i) =>
      transport.call({
        program: PROGRAM,
        version: 1,
        procedure: i,
        args: (w) => {
          encoded.push(i);
          w.writeOpaqueView(payload);
        },
      }));
    const all = Promise.all(pending);
    all.catch(() => {});
    const peak = await peakBufferedAmount(transport);
    assert.ok(peak <= 2 * MiB, `queued ${peak} bytes`);
    assert.ok(
      encoded.length < 32,
      `${encoded.length} calls encoded while the server reads nothing`,
    );
    connection.socket.resume();
    for (let i = 0; i < 32; i++) {
      const call = await connection.calls.next();
      assert.deepEqual(call.args.readOpaque(), payload);
      connection.send(successReply(call.xid));
    }
    await all;
  }, { callTimeoutMs: 60_000 });
});

Deno.test("RpcTransport sends many small calls queued at once, in order", async () => {
  await withTransport(async (transport, server) => {
    const calls = Array.from(
      { length: 500 },
      (_, i) =>
        transport.call({ program: PROGRAM, version: 1, procedure: i, args: (w) => w.writeUint(i) }),
    );
    const connection = await server.connections.next();
    for (let i = 0; i < 500; i++) {
      const call = await connection.calls.next();
      assert.equal(call.procedure, i);
      assert.equal(call.args.readUint(), i);
      connection.send(successReply(call.xid));
    }
    await Promise.all(calls);
  });
});

Deno.test("RpcTransport validates its options", () => {
  assert.throws(() => new RpcTransport({ host: "h", port: 70000 }), RangeError);
  assert.throws(() => new RpcTransport({ host: "h", port: 1, maxInFlight: 0 }), RangeError);
  assert.throws(() => new RpcTransport({ host: "h", port: 1, callTimeoutMs: -1 }), RangeError);
  const t = new RpcTransport({ host: "h", port: 1 });
  assert.equal(t.callTimeoutMs, 30_000);
  assert.equal(t.maxInFlight, 64);
  assert.equal(t.maxRecordSize, 4 * 1024 * 1024 + 64 * 1024);
  assert.equal(t.connected, false);
  assert.equal(t.localAddress, undefined);
});

Deno.test("RpcTransport resends a call given the same attempt under the same xid after a reconnect (RFC 5531 §9)", async () => {
  await withTransport(async (transport, server) => {
    const attempt: RpcAttempt = {};
    const first = transport.call({ program: PROGRAM, version: 1, procedure: 1, attempt });
    const connection = await server.connections.next();
    const sent = await connection.calls.next();
    assert.equal(attempt.xid, sent.xid);
    await connection.destroy();
    assert.ok((await rejection(first)) instanceof RpcConnectionError);
    const again = transport.call({ program: PROGRAM, version: 1, procedure: 1, attempt });
    const next = await server.connections.next();
    const resent = await next.calls.next();
    assert.equal(resent.xid, sent.xid);
    assert.equal(attempt.sends, 2);
    next.send(successReply(resent.xid));
    await again;
    // A call without an attempt gets a fresh xid.
    const other = transport.call({ program: PROGRAM, version: 1, procedure: 2 });
    const fresh = await next.calls.next();
    assert.notEqual(fresh.xid, sent.xid);
    next.send(successReply(fresh.xid));
    await other;
  });
});

Deno.test("RpcTransport serves at most 16 incoming CALLs at once; more are dropped unanswered, for the server to send again (RFC 8881 §2.10.6.2)", async () => {
  await withTransport(async (transport, server) => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    let served = 0;
    transport.onCall(7, async () => {
      served++;
      await gate;
      return (w) => w.writeUint(1);
    });
    await transport.connect();
    const connection = await server.connections.next();
    for (let xid = 1; xid <= 100; xid++) connection.sendCall(xid, 7, 1, 0);
    await delay(100);
    assert.equal(served, 16);
    release();
    const xids = [];
    for (let i = 0; i < 16; i++) xids.push((await connection.replies.next()).xid);
    assert.deepEqual(xids, Array.from({ length: 16 }, (_, i) => i + 1));
    // Served again once there is room.
    connection.sendCall(101, 7, 1, 0);
    assert.equal((await connection.replies.next()).xid, 101);
  });
});
