/**
 * A small ONC RPC server over TCP (RFC 5531 §11 record marking): what the
 * NFSv4.0 client needs to serve its callback program (RFC 7530 §16.33,
 * §17), to which the server connects. Calls are answered by the same
 * dispatch as the client transport's backchannel.
 *
 * What a peer can make it hold is bounded: a record over `maxRecordSize`
 * drops the connection; replies the peer does not read stop the reading of
 * its calls once `maxQueuedReplyBytes` wait to be sent (until they drain);
 * past `maxConnections` peers the oldest connection is dropped (a server
 * calls back on one, and reconnects when it loses it).
 * @module
 */

import type { Server, Socket } from "node:net";
import { builtin } from "../os/builtins.ts";
import { XdrReader } from "../xdr/mod.ts";
import { answerCall } from "./dispatch.ts";
import { readMessageStart, REPLY } from "./message.ts";
import {
  encodeRecord,
  LAST_FRAGMENT,
  MAX_FRAGMENT_LENGTH,
  RecordDecoder,
} from "./record_marking.ts";
import { type ConnectionTap, type RecordTap, singleFragmentMark } from "./tap.ts";
import type { CallHandler } from "./transport.ts";

export interface RpcServerOptions {
  /** Address to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Port (default 0: one the system picks). */
  readonly port?: number;
  /** Largest record accepted from a peer (default 1 MiB: callbacks are small). */
  readonly maxRecordSize?: number;
  /** Sees every record received and sent on every connection (`--pcap`). */
  readonly tap?: RecordTap;
  /** Reply bytes waiting to be sent to a peer before its calls stop being read (default 1 MiB). */
  readonly maxQueuedReplyBytes?: number;
  /** Connections kept at once; a new one past it drops the oldest (default 8). */
  readonly maxConnections?: number;
}

/** A peer connected (`connect`) or a connection ended (`disconnect`). */
export interface RpcServerConnectionEvent {
  readonly remote: string;
}

export class RpcServer extends EventTarget {
  readonly #handlers = new Map<number, CallHandler>();
  readonly #sockets = new Set<Socket>();
  readonly #server: Server;
  readonly #maxRecordSize: number;
  readonly #maxQueuedReplyBytes: number;
  readonly #maxConnections: number;
  readonly #tap: RecordTap | undefined;
  #address: { host: string; port: number } | undefined;

  constructor(options: RpcServerOptions = {}) {
    super();
    this.#maxRecordSize = options.maxRecordSize ?? 1 << 20;
    this.#maxQueuedReplyBytes = options.maxQueuedReplyBytes ?? 1 << 20;
    this.#maxConnections = Math.max(1, options.maxConnections ?? 8);
    this.#tap = options.tap;
    this.#server = builtin("node:net").createServer((socket) => this.#accept(socket));
    this.#server.unref();
  }

  /** Starts listening; resolves with the address actually bound. */
  listen(host = "127.0.0.1", port = 0): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.#server.once("error", onError);
      this.#server.listen(port, host, () => {
        this.#server.off("error", onError);
        const address = this.#server.address();
        if (address === null || typeof address === "string") {
          reject(new Error("RPC server has no TCP address"));
          return;
        }
        this.#address = { host: address.address, port: address.port };
        resolve(this.#address);
      });
    });
  }

  get address(): { host: string; port: number } | undefined {
    return this.#address;
  }

  /** Routes CALLs of `program` to `handler`. */
  onCall(program: number, handler: CallHandler): void {
    this.#handlers.set(program, handler);
  }

  #accept(socket: Socket): void {
    socket.unref();
    socket.setNoDelay(true);
    this.#sockets.add(socket);
    if (this.#sockets.size > this.#maxConnections) {
      // A Set iterates in insertion order: the first is the oldest.
      const oldest = this.#sockets.values().next().value!;
      this.#sockets.delete(oldest);
      oldest.destroy();
    }
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.dispatchEvent(new CustomEvent("connect", { detail: { remote } }));
    const decoder = new RecordDecoder({ maxRecordSize: this.#maxRecordSize });
    const tap = this.#tap?.connect({
      local: { host: socket.localAddress ?? "", port: socket.localPort ?? 0 },
      remote: { host: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 },
      opener: "remote",
    });
    socket.on("data", (data: Uint8Array) => {
      const chunk = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      try {
        decoder.pushEach(chunk, (record) => {
          if (tap) tap.record("received", [singleFragmentMark(record.length), record]);
          void this.#serve(socket, record, tap);
        });
      } catch {
        // An oversized record: the stream cannot be resynchronised.
        socket.destroy();
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      tap?.close();
      this.#sockets.delete(socket);
      this.dispatchEvent(new CustomEvent("disconnect", { detail: { remote } }));
    });
  }

  async #serve(socket: Socket, record: Uint8Array, tap: ConnectionTap | undefined): Promise<void> {
    const r = new XdrReader(record);
    let xid: number;
    try {
      const start = readMessageStart(r);
      if (start.msgType === REPLY) return; // we send no calls
      xid = start.xid;
    } catch {
      socket.destroy(); // not even an xid: drop the peer
      return;
    }
    const w = await answerCall(xid, r, (program) => this.#handlers.get(program));
    if (socket.destroyed) return;
    const length = w.length - 4;
    let chunks: Uint8Array[];
    if (length <= MAX_FRAGMENT_LENGTH) {
      w.patchUint(0, LAST_FRAGMENT + length);
      chunks = [w.bytes()];
    } else {
      chunks = encodeRecord(w.bytes().subarray(4));
    }
    if (tap) tap.record("sent", chunks);
    for (const chunk of chunks) socket.write(chunk);
    // A peer that calls without reading the replies: stop reading its calls
    // until what waits for it has gone (else each call adds a reply here).
    if (socket.writableLength > this.#maxQueuedReplyBytes && !socket.isPaused()) {
      socket.pause();
      socket.once("drain", () => socket.resume());
    }
  }

  /** Stops listening and drops every connection. */
  close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    return new Promise((resolve) => {
      if (!this.#server.listening) return resolve();
      this.#server.close(() => resolve());
    });
  }
}
