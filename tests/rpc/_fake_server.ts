/**
 * An in-process RPC server for transport tests: a node:net server on
 * 127.0.0.1 that decodes the client's records and lets each test decide what
 * to send back (replies in any order, garbage, oversized records, CALLs of
 * its own) or whether to drop the connection.
 */

import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import {
  CALL,
  type CallBody,
  readCallBody,
  readMessageStart,
  readReplyBody,
  RecordDecoder,
  type ReplyBody,
  RpcTransport,
  type RpcTransportOptions,
  SUCCESS,
  writeAcceptedReply,
  writeCallHeader,
} from "../../lib/rpc/mod.ts";
import { XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";

/** A FIFO whose `next()` waits for the next item. */
export class AsyncQueue<T> {
  #items: T[] = [];
  #waiters: ((item: T) => void)[] = [];

  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(item);
    else this.#items.push(item);
  }

  next(): Promise<T> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  get size(): number {
    return this.#items.length;
  }
}

/** A CALL the fake server received. */
export interface ReceivedCall extends CallBody {
  xid: number;
  /** The procedure arguments. */
  args: XdrReader;
  record: Uint8Array;
}

/** A REPLY the fake server received (to a CALL it sent on the backchannel). */
export interface ReceivedReply {
  xid: number;
  body: ReplyBody;
  results: XdrReader;
}

/** Prefixes a record mark (single last fragment). */
export function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, 0x80000000 + payload.length);
  out.set(payload, 4);
  return out;
}

/** A SUCCESS reply to `xid` with results appended by `results`. */
export function successReply(xid: number, results?: (w: XdrWriter) => void): Uint8Array {
  const w = new XdrWriter();
  writeAcceptedReply(w, xid, SUCCESS);
  results?.(w);
  return w.bytes().slice();
}

/** One accepted client connection. */
export class FakeConnection {
  readonly socket: Socket;
  readonly calls = new AsyncQueue<ReceivedCall>();
  readonly replies = new AsyncQueue<ReceivedReply>();
  readonly closed: Promise<void>;
  /** Bytes received from the client, total. */
  bytesReceived = 0;

  constructor(socket: Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    const decoder = new RecordDecoder({ maxRecordSize: 1 << 30 });
    socket.on("error", () => {});
    socket.on("data", (chunk: Uint8Array) => {
      this.bytesReceived += chunk.length;
      for (const record of decoder.push(new Uint8Array(chunk))) this.#onRecord(record);
    });
  }

  #onRecord(record: Uint8Array): void {
    const r = new XdrReader(record);
    const { xid, msgType } = readMessageStart(r);
    if (msgType === CALL) {
      this.calls.push({ xid, ...readCallBody(r), args: r, record });
    } else {
      this.replies.push({ xid, body: readReplyBody(r), results: r });
    }
  }

  /** Sends one message as a single-fragment record. */
  send(message: Uint8Array): void {
    this.socket.write(frame(message));
  }

  /** Sends bytes as they are (record marks included or deliberately not). */
  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Sends a CALL to the client (the backchannel) and returns its xid. */
  sendCall(
    xid: number,
    program: number,
    version: number,
    procedure: number,
    args?: (w: XdrWriter) => void,
  ): void {
    const w = new XdrWriter();
    writeCallHeader(w, { xid, program, version, procedure });
    args?.(w);
    this.send(w.bytes().slice());
  }

  /** Closes the connection abruptly and waits until it is closed. */
  async destroy(): Promise<void> {
    this.socket.destroy();
    await this.closed;
  }
}

/** A node:net RPC server on 127.0.0.1 with an ephemeral port. */
export class FakeRpcServer {
  readonly #server: Server;
  readonly connections = new AsyncQueue<FakeConnection>();
  readonly #all: FakeConnection[] = [];
  port = 0;

  private constructor(onConnection?: (connection: FakeConnection) => void) {
    this.#server = createServer((socket) => {
      const connection = new FakeConnection(socket);
      this.#all.push(connection);
      this.connections.push(connection);
      onConnection?.(connection);
    });
  }

  /**
   * Starts listening on `host` (loopback). `onConnection`, when given, runs
   * for every accepted connection (for servers that answer automatically).
   */
  static async start(
    onConnection?: (connection: FakeConnection) => void,
    host = "127.0.0.1",
  ): Promise<FakeRpcServer> {
    const server = new FakeRpcServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      server.#server.once("error", reject);
      server.#server.listen(0, host, () => resolve());
    });
    const address = server.#server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    server.port = address.port;
    return server;
  }

  /** Connections accepted so far. */
  get accepted(): number {
    return this.#all.length;
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await Promise.all(this.#all.map((c) => c.destroy()));
    await closed;
  }
}

/** Answers every CALL with SUCCESS and results from `results` (echo server). */
export function autoReply(
  results: (call: ReceivedCall, w: XdrWriter) => void = () => {},
): (connection: FakeConnection) => void {
  return (connection) => {
    (async () => {
      for (;;) {
        const call = await Promise.race([connection.calls.next(), connection.closed]);
        if (!call) return;
        connection.send(successReply(call.xid, (w) => results(call, w)));
      }
    })();
  };
}

/**
 * Runs `fn` with a fresh server and a transport to it (`options` added to
 * its host and port), closing both afterwards. `onConnection` runs for
 * every connection the server accepts ({@linkcode FakeRpcServer.start}).
 */
export async function withTransport(
  fn: (transport: RpcTransport, server: FakeRpcServer) => Promise<void>,
  options: Partial<RpcTransportOptions> & { onConnection?: (c: FakeConnection) => void } = {},
): Promise<void> {
  const { onConnection, ...rest } = options;
  const server = await FakeRpcServer.start(onConnection);
  const transport = new RpcTransport({ host: "127.0.0.1", port: server.port, ...rest });
  try {
    await fn(transport, server);
  } finally {
    await transport.close();
    await server.close();
  }
}

/** What `promise` rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("expected a rejection");
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
