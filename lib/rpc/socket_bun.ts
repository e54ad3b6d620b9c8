/**
 * The Bun socket backend: `Bun.connect`, Bun's own TCP API (the single
 * binary is built with Bun).
 *
 * Bun cannot read into a buffer the caller names: every socket read becomes
 * a fresh buffer, through `node:net` (whose `onread` is emulated: Bun makes
 * the buffer, then copies it into the one given) and `Bun.connect` alike.
 * This backend takes those buffers as they are (`"transient"`: the decoder
 * copies a large record's bytes into its pooled buffer) and so skips the
 * emulation's second copy and its stream machinery (5-15% less CPU for a
 * 1 GiB read). Each read is also counted for the collector's hints
 * (collection_hints.ts). Writes: Bun's sockets do not buffer, `write()`
 * says how much the kernel took; the rest of a chunk waits for `drain`, and
 * `done` is called once all of it is out.
 * @module
 */

import type { RpcSocket, SocketEndpoint, SocketEvents } from "./socket_backend.ts";
import { collectionHints } from "./collection_hints.ts";

/** The part of a Bun socket used here. */
interface BunSocket {
  write(data: Uint8Array): number;
  setNoDelay(noDelay?: boolean): boolean;
  terminate(): void;
  end(): void;
  readonly localAddress?: string;
  readonly localPort?: number;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
}

interface BunHandlers {
  binaryType: "uint8array";
  open(socket: BunSocket): void;
  data(socket: BunSocket, data: Uint8Array): void;
  drain(socket: BunSocket): void;
  end(socket: BunSocket): void;
  close(socket: BunSocket, error?: Error): void;
  error(socket: BunSocket, error: Error): void;
  connectError(socket: BunSocket, error: Error): void;
}

interface BunNamespace {
  connect(options: { hostname: string; port: number; socket: BunHandlers }): Promise<BunSocket>;
}

function bun(): BunNamespace | undefined {
  const b = (globalThis as { Bun?: Partial<BunNamespace> }).Bun;
  return typeof b?.connect === "function" ? b as BunNamespace : undefined;
}

/** Whether `Bun.connect` exists (running under Bun, or as the single binary). */
export function bunAvailable(): boolean {
  return bun() !== undefined;
}

/** `[::1]` and `::1` alike (also for socket_ffi.ts). */
export function bareHost(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** Opens a `Bun.connect` socket to `endpoint` (`readBufferSize` is unused: Bun sizes its reads). */
export function connectBun(
  endpoint: SocketEndpoint,
  events: SocketEvents,
  _readBufferSize: number,
): RpcSocket {
  const api = bun();
  if (!api) throw new Error("Bun.connect is not available in this runtime");
  let socket: BunSocket | undefined;
  let destroyed = false;
  let closed = false;
  /** Chunks not yet all written, the first from `written` on. */
  const queue: { chunk: Uint8Array; done: () => void }[] = [];
  let written = 0;

  const close = () => {
    if (closed) return;
    closed = true;
    dropQueue();
    events.closed();
  };
  const dropQueue = () => {
    const dropped = queue.splice(0);
    written = 0;
    // Asynchronously, as when they are written: the transport's flush must not re-enter.
    if (dropped.length > 0) queueMicrotask(() => dropped.forEach((w) => w.done()));
  };
  /** Writes what the kernel takes; the rest waits for `drain`. */
  const pump = () => {
    while (socket && !destroyed && queue.length > 0) {
      const { chunk, done } = queue[0]!;
      const n = socket.write(written === 0 ? chunk : chunk.subarray(written));
      if (n < 0) return; // closed: `close` follows and drops the queue
      written += n;
      if (written < chunk.length) return;
      queue.shift();
      written = 0;
      queueMicrotask(done);
    }
  };
  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    dropQueue();
    if (socket) {
      socket.terminate(); // `close` follows
      return;
    }
    // Still connecting: Bun cannot abort a connect, so it is closed as far
    // as the transport is concerned now (a connect timeout must not wait for
    // the kernel to give up), and terminated if it ever succeeds.
    queueMicrotask(close);
  };

  api.connect({
    hostname: bareHost(endpoint.host),
    port: endpoint.port,
    socket: {
      binaryType: "uint8array",
      open(s) {
        if (destroyed) {
          s.terminate();
          return;
        }
        socket = s;
        events.connected();
        pump();
      },
      data(_s, data) {
        collectionHints.received(data.length);
        if (!destroyed && data.length > 0) events.received(data, "transient");
      },
      drain() {
        pump();
      },
      end(s) {
        // The server closed its side: as node:net without allowHalfOpen, close ours.
        s.end();
      },
      close(_s, error) {
        if (error && !destroyed && !closed) events.error(error);
        close();
      },
      error(_s, error) {
        if (!destroyed && !closed) events.error(error);
      },
      connectError(_s, error) {
        if (!destroyed && !closed) events.error(error);
        close();
      },
    },
  }).then(
    (s) => {
      if (destroyed && !closed) s.terminate();
    },
    (error: Error) => {
      // Also reported through connectError; whichever comes first counts.
      if (!destroyed && !closed) events.error(error);
      close();
    },
  );

  return {
    write(chunk, done) {
      if (destroyed || closed) {
        queueMicrotask(done);
        return;
      }
      queue.push({ chunk, done });
      if (queue.length === 1) pump();
    },
    setNoDelay() {
      socket?.setNoDelay(true);
    },
    destroy,
    get localAddress() {
      return socket?.localAddress;
    },
    get localPort() {
      return socket?.localPort;
    },
    get remoteAddress() {
      return socket?.remoteAddress;
    },
    get remotePort() {
      return socket?.remotePort;
    },
  };
}
