/**
 * The portable socket backend: `node:net`, which Deno, Node and Bun all
 * have. With a read buffer (`readBufferSize` > 0) it reads through `onread`:
 * into the view the transport names (a large record's own buffer) or into
 * one small buffer it reuses. A runtime that ignores `onread`, or
 * `readBufferSize` 0, delivers 'data' events instead, chunks of their own.
 * @module
 */

import { builtin } from "../os/builtins.ts";
import type { RpcSocket, SocketEndpoint, SocketEvents } from "./socket_backend.ts";
import { collectionHints } from "./collection_hints.ts";

/** Opens a `node:net` socket to `endpoint`. */
export function connectNode(
  endpoint: SocketEndpoint,
  events: SocketEvents,
  readBufferSize: number,
): RpcSocket {
  const netConnect = builtin("node:net").connect;
  const target = { view: undefined as Uint8Array | undefined };
  const scratch = new Uint8Array(readBufferSize);
  const options = endpoint.localPort === undefined
    ? { host: endpoint.host, port: endpoint.port }
    : { host: endpoint.host, port: endpoint.port, localPort: endpoint.localPort };
  const socket = readBufferSize > 0
    ? netConnect({
      ...options,
      onread: {
        // Asked before every read: where the next bytes should go.
        buffer: () => (target.view = events.readTarget()) ?? scratch,
        callback: (nread: number, buffer: Uint8Array) => {
          if (nread > 0) {
            collectionHints.received(nread);
            const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, nread);
            // The scratch buffer, or (a runtime that read elsewhere) a copy.
            events.received(bytes, buffer === target.view ? "target" : "transient");
          }
          return true;
        },
      },
    })
    : netConnect(options);
  // Node hands out Buffers; the transport gets plain Uint8Array views of them.
  socket.on("data", (chunk: Uint8Array) => {
    collectionHints.received(chunk.byteLength);
    events.received(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength), "owned");
  });
  // An 'error' listener must always be present, or Node throws the error.
  socket.on("error", (error: Error) => events.error(error));
  socket.on("close", () => events.closed());
  socket.on("connect", () => events.connected());
  return {
    write(chunk, done) {
      // The callback comes later (Node's streams never call it synchronously).
      socket.write(chunk, () => done());
    },
    setNoDelay() {
      socket.setNoDelay(true);
    },
    destroy() {
      socket.destroy();
    },
    get localAddress() {
      return socket.localAddress;
    },
    get localPort() {
      return socket.localPort;
    },
    get remoteAddress() {
      return socket.remoteAddress;
    },
    get remotePort() {
      return socket.remotePort;
    },
  };
}
