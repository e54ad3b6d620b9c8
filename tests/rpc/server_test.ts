/**
 * RpcServer (the NFSv4.0 callback listener, RFC 7530 §16.33) against a
 * hostile peer: one that sends calls faster than it reads the replies, and
 * one that opens connection after connection. Neither may make the server
 * hold more without bound.
 */

import assert from "node:assert/strict";
import * as net from "node:net";
import { RpcServer } from "../../lib/rpc/server.ts";
import { writeCallHeader } from "../../lib/rpc/message.ts";
import { XdrWriter } from "../../lib/xdr/mod.ts";
import { frame } from "./_fake_server.ts";

const PROGRAM = 0x40000000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `count` NULL calls, framed, back to back. */
function nullCalls(count: number): Uint8Array {
  const w = new XdrWriter(64);
  writeCallHeader(w, { xid: 1, program: PROGRAM, version: 1, procedure: 0 });
  const one = frame(w.bytes().slice());
  const out = new Uint8Array(one.length * count);
  for (let i = 0; i < count; i++) out.set(one, i * one.length);
  return out;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });
}

Deno.test("RpcServer stops reading the calls of a peer that does not read its replies (RFC 5531 §11: a record stream, answered in order)", async () => {
  const server = new RpcServer({ maxQueuedReplyBytes: 64 * 1024 });
  let served = 0;
  server.onCall(PROGRAM, () => {
    served++;
    return Promise.resolve(() => {});
  });
  const { port } = await server.listen();
  const peer = await connect(port);
  peer.on("error", () => {});
  try {
    // 800,000 calls (32 MB) whose replies (24 MB) are never read: the
    // kernel's buffers take a few MB of them; the rest must not pile up in
    // the server.
    const calls = 800_000;
    peer.pause();
    peer.write(nullCalls(calls));
    let last = -1;
    for (let i = 0; i < 200 && served !== last; i++) {
      last = served;
      await delay(100);
    }
    assert.ok(served < calls / 2, `${served} of ${calls} calls served with no reply read`);
    // Reading the replies lets the rest be served.
    peer.resume();
    for (let i = 0; i < 300 && served < calls; i++) await delay(100);
    assert.equal(served, calls);
  } finally {
    peer.destroy();
    await server.close();
  }
});

Deno.test("RpcServer keeps at most maxConnections connections: a new one drops the oldest", async () => {
  const server = new RpcServer({ maxConnections: 3 });
  server.onCall(PROGRAM, () => Promise.resolve(() => {}));
  const { port } = await server.listen();
  const peers: net.Socket[] = [];
  const closed: boolean[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      const peer = await connect(port);
      peer.on("error", () => {});
      const index = i;
      closed[index] = false;
      peer.on("close", () => closed[index] = true);
      peers.push(peer);
      await delay(50);
    }
    for (let i = 0; i < 50 && !(closed[0] && closed[1]); i++) await delay(20);
    assert.deepEqual(closed, [true, true, false, false, false]);
  } finally {
    for (const peer of peers) peer.destroy();
    await server.close();
  }
});
