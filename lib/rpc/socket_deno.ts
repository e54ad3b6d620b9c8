/**
 * The Deno socket backend: `Deno.connect`. Each read is one `conn.read()`
 * straight into the view the transport names (the rest of a large record's
 * own buffer) or into a small buffer reused between records: the kernel's
 * copy is the only one, and no stream machinery, event or Buffer object
 * stands between the socket and the record. Writes go out one at a time,
 * following short writes, from where the chunk lies.
 *
 * Measured on loopback against Ganesha (1 GiB `nfs4 cat` and `cp` both
 * ways): the same CPU time and memory as Deno's `node:net` with `onread`,
 * which also reads in place, so it is not the default; `NFS4_SOCKET=deno`
 * selects it, and the transport tests run it.
 * @module
 */

import type { RpcSocket, SocketEndpoint, SocketEvents } from "./socket_backend.ts";

/** The part of Deno's TCP connection used here. */
interface DenoConn {
  read(buffer: Uint8Array): Promise<number | null>;
  write(data: Uint8Array): Promise<number>;
  close(): void;
  setNoDelay(noDelay?: boolean): void;
  readonly localAddr: { hostname?: string; port?: number };
  readonly remoteAddr: { hostname?: string; port?: number };
}

interface DenoNamespace {
  connect(options: {
    hostname: string;
    port: number;
    transport: "tcp";
    signal?: AbortSignal;
  }): Promise<DenoConn>;
}

function deno(): DenoNamespace | undefined {
  const d = (globalThis as { Deno?: Partial<DenoNamespace> }).Deno;
  return typeof d?.connect === "function" ? d as DenoNamespace : undefined;
}

/** Whether `Deno.connect` exists (running under Deno). */
export function denoAvailable(): boolean {
  return deno() !== undefined;
}

/** `[::1]` and `::1` alike. */
function bareHost(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** Deno's errors carry `code` for socket failures; a failed lookup has none. */
function withCode(error: unknown): Error & { code?: unknown } {
  const e: Error & { code?: unknown } = error instanceof Error ? error : new Error(String(error));
  if (e.code === undefined && /failed to lookup address/i.test(e.message)) {
    return Object.assign(new Error(e.message, { cause: e }), { code: "ENOTFOUND" });
  }
  return e;
}

/** Opens a `Deno.connect` socket to `endpoint`. */
export function connectDeno(
  endpoint: SocketEndpoint,
  events: SocketEvents,
  readBufferSize: number,
): RpcSocket {
  const api = deno();
  if (!api) throw new Error("Deno.connect is not available in this runtime");
  const abort = new AbortController();
  const scratch = new Uint8Array(Math.max(1, readBufferSize));
  let conn: DenoConn | undefined;
  let destroyed = false;
  let closed = false;
  const queue: { chunk: Uint8Array; done: () => void }[] = [];
  let writing = false;

  const close = () => {
    if (closed) return;
    closed = true;
    events.closed();
  };
  const fail = (error: unknown) => {
    if (!destroyed) events.error(withCode(error));
    destroy();
  };
  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    abort.abort();
    try {
      conn?.close();
    } catch {
      // already closed
    }
    // Writes not yet taken are dropped; their callbacks still run.
    if (!writing) { for (const w of queue.splice(0)) w.done(); }
    // Without a connection (refused, aborted) the connect's settling closes;
    // with one, the read loop's end.
  };

  const readLoop = async (c: DenoConn) => {
    try {
      for (;;) {
        const target = events.readTarget();
        const buffer = target ?? scratch;
        const n = await c.read(buffer);
        if (n === null || destroyed) break;
        if (n > 0) events.received(buffer.subarray(0, n), target ? "target" : "transient");
        if (destroyed) break;
      }
      destroy();
    } catch (error) {
      fail(error);
    }
    close();
  };

  const writeLoop = async (c: DenoConn) => {
    writing = true;
    try {
      while (queue.length > 0 && !destroyed) {
        const { chunk, done } = queue[0]!;
        let at = 0;
        while (at < chunk.length) {
          at += await c.write(at === 0 ? chunk : chunk.subarray(at));
          if (destroyed) break;
        }
        queue.shift();
        done();
      }
    } catch (error) {
      fail(error);
    } finally {
      writing = false;
      for (const w of queue.splice(0)) w.done();
    }
  };

  api.connect({
    hostname: bareHost(endpoint.host),
    port: endpoint.port,
    transport: "tcp",
    signal: abort.signal,
  }).then(
    (c) => {
      if (destroyed) {
        c.close();
        close();
        return;
      }
      conn = c;
      events.connected();
      if (!destroyed) void readLoop(c);
      else close();
    },
    (error) => {
      if (!destroyed) events.error(withCode(error));
      destroyed = true;
      close();
    },
  );

  return {
    write(chunk, done) {
      if (destroyed || !conn) {
        queueMicrotask(done);
        return;
      }
      queue.push({ chunk, done });
      if (!writing) void writeLoop(conn);
    },
    setNoDelay() {
      conn?.setNoDelay(true);
    },
    destroy,
    get localAddress() {
      return conn?.localAddr.hostname;
    },
    get localPort() {
      return conn?.localAddr.port;
    },
    get remoteAddress() {
      return conn?.remoteAddr.hostname;
    },
    get remotePort() {
      return conn?.remoteAddr.port;
    },
  };
}
