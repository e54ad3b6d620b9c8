/**
 * RpcTransport reuses the buffer a call was encoded in for later calls, and
 * carves small replies out of shared slabs: neither may ever change bytes
 * that are still in use (a socket that has not written a chunk yet, a reply
 * a caller holds).
 */

import assert from "node:assert/strict";
import { RpcTransport } from "../../lib/rpc/transport.ts";
import type { RpcSocket, SocketEvents } from "../../lib/rpc/socket_backend.ts";
import { XdrWriter } from "../../lib/xdr/mod.ts";

/** A socket whose writes complete only when the test says so, and which answers each call. */
function heldSocket() {
  const written: { chunk: Uint8Array; copy: Uint8Array; done: () => void }[] = [];
  let events!: SocketEvents;
  const factory = (_endpoint: unknown, e: SocketEvents): RpcSocket => {
    events = e;
    setTimeout(() => e.connected(), 0);
    return {
      write(chunk, done) {
        written.push({ chunk, copy: chunk.slice(), done });
      },
      setNoDelay() {},
      destroy() {
        setTimeout(() => events.closed(), 0);
      },
      localAddress: "127.0.0.1",
      localPort: 1,
      remoteAddress: "127.0.0.1",
      remotePort: 2,
    };
  };
  /** Sends a SUCCESS reply to `xid` whose results are `body`. */
  const reply = (xid: number, body: Uint8Array) => {
    const w = new XdrWriter();
    const mark = w.reserveUint();
    w.writeUint(xid).writeUint(1).writeUint(0).writeUint(0).writeUint(0).writeUint(0);
    w.writeFixedOpaque(body);
    w.patchUint(mark, 0x80000000 + w.length - 4);
    events.received(w.bytes().slice(), "owned");
  };
  return { factory, written, reply };
}

/** The xids of the calls in the bytes of one write (record marks, then xid). */
function xidsIn(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const xids: number[] = [];
  for (let at = 0; at < bytes.length;) {
    xids.push(view.getUint32(at + 4));
    at += 4 + (view.getUint32(at) & 0x7fffffff);
  }
  return xids;
}

Deno.test("RpcTransport never changes a chunk handed to the socket before the socket has written it", async () => {
  const socket = heldSocket();
  const transport = new RpcTransport({ host: "127.0.0.1", port: 2049, socket: socket.factory });
  try {
    const calls: Promise<unknown>[] = [];
    const call = (i: number) =>
      transport.call({
        program: 100003,
        version: 4,
        procedure: 1,
        args: (w) => w.writeUint(i).writeString(`call ${i} `.repeat(i % 7)),
      });
    // Rounds of calls while writes stay pending, then some writes complete
    // (their writers go back to the pool and are reused by the next round).
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 10; i++) calls.push(call(round * 10 + i));
      await new Promise((resolve) => setTimeout(resolve, 0));
      for (const w of socket.written) {
        assert.deepEqual(w.chunk, w.copy, "a pending chunk was changed");
      }
      const completing = socket.written.splice(0, 1 + (round % 3));
      for (const w of completing) {
        for (const xid of xidsIn(w.copy)) socket.reply(xid, new Uint8Array(0));
        w.done();
      }
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    while (socket.written.length > 0) {
      for (const w of socket.written) assert.deepEqual(w.chunk, w.copy);
      const w = socket.written.shift()!;
      for (const xid of xidsIn(w.copy)) socket.reply(xid, new Uint8Array(0));
      w.done();
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    await Promise.all(calls);
  } finally {
    await transport.close();
  }
});

Deno.test("RpcTransport's small replies stay intact while later replies arrive (slabs are never reused)", async () => {
  const socket = heldSocket();
  const transport = new RpcTransport({ host: "127.0.0.1", port: 2049, socket: socket.factory });
  try {
    const replies: { body: Uint8Array; expected: Uint8Array }[] = [];
    for (let i = 0; i < 300; i++) {
      const pending = transport.call({ program: 100003, version: 4, procedure: 1 });
      await new Promise((resolve) => setTimeout(resolve, 0));
      const w = socket.written.shift()!;
      w.done();
      const expected = new Uint8Array(4 + (i % 200) * 4).fill(i & 0xff);
      socket.reply(xidsIn(w.copy)[0]!, expected);
      const reply = await pending;
      replies.push({ body: reply.reader.rest(), expected });
    }
    for (const { body, expected } of replies) assert.deepEqual(body, expected);
  } finally {
    await transport.close();
  }
});
