/**
 * The scripted NFSv4 server (tests/state/_scripted.ts) on a real TCP port,
 * for tests that need a whole client (`Nfs4Client`, the `nfs4` CLI, tshark)
 * against server behaviour Ganesha will not show: delegations, recalls,
 * CB_NOTIFY_LOCK, malformed callbacks.
 *
 * The fore channel is ONC RPC over TCP (RFC 5531 §11 record marking):
 * NFSPROC4_NULL and NFSPROC4_COMPOUND, the request decoded with
 * `decodeCompoundRequest(OP_CODECS)`, handled by the {@linkcode ScriptedServer}
 * (one server connection id per TCP connection) and the reply encoded with
 * `encodeCompoundReply`. AUTH_NONE and AUTH_SYS are accepted; other flavors
 * get AUTH_ERROR, other programs PROG_UNAVAIL, other versions PROG_MISMATCH,
 * undecodable arguments GARBAGE_ARGS.
 *
 * Callbacks ({@linkcode TcpCallbacks}, the server's `CallbackSender`):
 * - 4.0 (RFC 7530 §16.33.1): a TCP connection to the client's cb_location
 *   (the universal address from SETCLIENTID), one per client and address,
 *   CB_NULL first (the server's probe), then CB_COMPOUND with the program
 *   and callback_ident the client gave;
 * - 4.1 (RFC 8881 §2.10.3.1, §18.36): CALLs on the client's own connection,
 *   the one that did CREATE_SESSION with CONN_BACK_CHAN (or was bound with
 *   BIND_CONN_TO_SESSION for both directions), CB_SEQUENCE first with the
 *   back channel's own slot sequence ids; REPLYs matched by xid, whatever
 *   else the client sends on that connection meanwhile.
 * Every callback and the client's answer is logged in `callbackLog`.
 *
 * @example
 * ```ts
 * const server = new ScriptedServer({ delegations: { read: true }, now: () => performance.now() });
 * const nfs = await startScriptedNfsServer(server);
 * try {
 *   const client = await Nfs4Client.connect({ host: nfs.host, port: nfs.port, version: "4.1" });
 *   // ...
 *   await client.close();
 * } finally {
 *   await nfs.close();
 * }
 * ```
 * @module
 */

import { connect as netConnect, createServer, type Server, type Socket } from "node:net";
import { XdrReader, XdrWriter } from "../lib/xdr/mod.ts";
import {
  AUTH_ERROR,
  GARBAGE_ARGS,
  MSG_ACCEPTED,
  PROC_UNAVAIL,
  PROG_MISMATCH,
  PROG_UNAVAIL,
  readCallBody,
  readMessageStart,
  readReplyBody,
  REPLY,
  RPC_MISMATCH,
  RPC_VERSION,
  SUCCESS,
  SYSTEM_ERR,
  writeAcceptedReply,
  writeCallHeader,
  writeDeniedReply,
} from "../lib/rpc/message.ts";
import { AUTH_NONE, AUTH_SYS } from "../lib/rpc/auth.ts";
import { encodeRecord, RecordDecoder } from "../lib/rpc/record_marking.ts";
import { decodeCompoundRequest, encodeCompoundReply } from "../lib/nfs4/compound.ts";
import { OP_CODECS } from "../lib/nfs4/registry.ts";
import {
  NFS4_PROGRAM,
  NFS4_VERSION,
  NFSPROC4_COMPOUND,
  NFSPROC4_NULL,
} from "../lib/nfs4/constants.ts";
import type {
  CallbackLogEntry,
  CallbackRoute,
  CallbackSender,
  RawCallbackReply,
  ScriptedServer,
} from "./state/_scripted.ts";

/** auth_stat AUTH_BADCRED (RFC 5531 §9). */
const AUTH_BADCRED = 1;
/** The callback program's version (RFC 7530 §16.33, RFC 8881 §20). */
const CB_VERSION = 1;

export interface ScriptedNfsServerOptions {
  /** Address to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** How long a callback waits for the client's REPLY (default 5000 ms). */
  readonly callbackTimeoutMs?: number;
}

/** A running scripted server. */
export interface ScriptedNfsServer {
  readonly host: string;
  readonly port: number;
  /** `nfs://HOST:PORT` */
  readonly url: string;
  readonly server: ScriptedServer;
  /** Every callback sent and the client's answer (the server's own log). */
  readonly callbackLog: CallbackLogEntry[];
  /** Errors thrown while serving (a bug in the scripted server): tests assert none. */
  readonly errors: Error[];
  /** TCP connections accepted so far. */
  readonly accepted: number;
  /** Sockets open now: fore connections and 4.0 callback connections. */
  readonly openSockets: number;
  /** Ports of the 4.0 callback listeners the server connected to. */
  callbackPorts(): number[];
  /** Stops listening, drops every connection, fails pending callbacks. */
  close(): Promise<void>;
}

/** A netaddr4 universal address (RFC 5665 §5.2.3.4): host and port, or undefined. */
export function parseUniversalAddress(addr: string): { host: string; port: number } | undefined {
  const parts = addr.split(".");
  if (parts.length < 3) return undefined;
  const p1 = Number(parts.at(-2));
  const p2 = Number(parts.at(-1));
  if (!Number.isInteger(p1) || !Number.isInteger(p2) || p1 < 0 || p1 > 255 || p2 < 0 || p2 > 255) {
    return undefined;
  }
  return { host: parts.slice(0, -2).join("."), port: p1 * 256 + p2 };
}

interface PendingCall {
  readonly resolve: (reply: RawCallbackReply) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/**
 * One TCP connection carrying ONC RPC records both ways: CALLs it receives
 * go to `onCall` (the fore channel), CALLs it sends (callbacks) are matched
 * to their REPLYs by xid.
 */
class RpcPeer {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  #open = true;
  readonly #decoder = new RecordDecoder({ maxRecordSize: 8 << 20 });
  readonly #pending = new Map<number, PendingCall>();
  #xid = (Math.random() * 0x7fff_ffff) >>> 0;
  readonly #onCall: ((xid: number, r: XdrReader) => Uint8Array | undefined) | undefined;

  constructor(
    socket: Socket,
    onCall: ((xid: number, r: XdrReader) => Uint8Array | undefined) | undefined,
  ) {
    this.socket = socket;
    this.#onCall = onCall;
    socket.setNoDelay(true);
    this.closed = new Promise<void>((resolve) => {
      socket.on("close", () => {
        this.#open = false;
        for (const [xid, call] of this.#pending) {
          clearTimeout(call.timer);
          call.reject(new Error(`connection closed before the reply to xid 0x${xid.toString(16)}`));
        }
        this.#pending.clear();
        resolve();
      });
    });
    socket.on("error", () => {});
    socket.on("data", (data: Uint8Array) => {
      const chunk = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      try {
        this.#decoder.pushEach(chunk, (record) => this.#record(record));
      } catch {
        socket.destroy();
      }
    });
  }

  get open(): boolean {
    return this.#open && !this.socket.destroyed;
  }

  #record(record: Uint8Array): void {
    const r = new XdrReader(record);
    let start;
    try {
      start = readMessageStart(r);
    } catch {
      this.socket.destroy();
      return;
    }
    if (start.msgType === REPLY) {
      const call = this.#pending.get(start.xid);
      if (!call) return;
      this.#pending.delete(start.xid);
      clearTimeout(call.timer);
      try {
        const body = readReplyBody(r);
        if (body.replyStat === MSG_ACCEPTED) {
          call.resolve({ xid: start.xid, acceptStat: body.acceptStat, results: r });
        } else {
          call.resolve({
            xid: start.xid,
            acceptStat: undefined,
            denied: `MSG_DENIED reject_stat ${body.rejectStat}`,
          });
        }
      } catch (e) {
        call.reject(e as Error);
      }
      return;
    }
    const reply = this.#onCall?.(start.xid, r);
    if (reply) this.send(reply);
  }

  /** Writes one record. */
  send(message: Uint8Array): void {
    if (!this.open) return;
    for (const fragment of encodeRecord(message)) this.socket.write(fragment);
  }

  /** Sends a CALL and resolves with its REPLY. */
  call(
    program: number,
    procedure: number,
    args: (w: XdrWriter) => void,
    timeoutMs: number,
  ): Promise<RawCallbackReply> {
    if (!this.open) return Promise.reject(new Error("connection closed"));
    const xid = this.#xid = (this.#xid + 1) >>> 0;
    const w = new XdrWriter();
    writeCallHeader(w, { xid, program, version: CB_VERSION, procedure });
    args(w);
    return new Promise<RawCallbackReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(xid);
        reject(new Error(`no reply to callback xid 0x${xid.toString(16)} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(xid, { resolve, reject, timer });
      this.send(w.bytes().slice());
    });
  }

  destroy(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }
}

/**
 * The server's callbacks over TCP: 4.1 on the client's back-channel
 * connection, 4.0 on a connection of ours to the client's cb_location.
 */
export class TcpCallbacks implements CallbackSender {
  readonly #fore: Map<number, RpcPeer>;
  readonly #timeoutMs: number;
  /** 4.0 callback connections by universal address. */
  readonly #outbound = new Map<string, Promise<RpcPeer>>();
  readonly #ports = new Set<number>();

  constructor(fore: Map<number, RpcPeer>, timeoutMs: number) {
    this.#fore = fore;
    this.#timeoutMs = timeoutMs;
  }

  reachable(route: CallbackRoute): boolean {
    if (route.minorVersion === 1) return this.#fore.get(route.conn)?.open ?? false;
    const target = parseUniversalAddress(route.addr);
    return target !== undefined && target.port !== 0 && target.host !== "0.0.0.0" &&
      target.host !== "::";
  }

  describe(route: CallbackRoute): string {
    if (route.minorVersion === 1) return `backchannel conn ${route.conn}`;
    const target = parseUniversalAddress(route.addr);
    return target ? `cb_location ${target.host}:${target.port}` : `cb_location ${route.addr}`;
  }

  async call(
    route: CallbackRoute,
    procedure: number,
    args: (w: XdrWriter) => void,
  ): Promise<RawCallbackReply> {
    const peer = route.minorVersion === 1
      ? this.#fore.get(route.conn)
      : await this.#connect(route.addr);
    if (!peer?.open) throw new Error(`${this.describe(route)}: connection closed`);
    return await peer.call(route.program, procedure, args, this.#timeoutMs);
  }

  #connect(addr: string): Promise<RpcPeer> {
    const existing = this.#outbound.get(addr);
    if (existing) {
      return existing.then((peer) => (peer.open ? peer : this.#dial(addr)));
    }
    return this.#dial(addr);
  }

  #dial(addr: string): Promise<RpcPeer> {
    const target = parseUniversalAddress(addr);
    if (!target) return Promise.reject(new Error(`bad universal address ${addr}`));
    const dialing = new Promise<RpcPeer>((resolve, reject) => {
      const socket = netConnect({ host: target.host, port: target.port });
      const peer = new RpcPeer(socket, undefined);
      socket.once("connect", () => {
        this.#ports.add(target.port);
        resolve(peer);
      });
      socket.once("error", (e: Error) => reject(new Error(`cb_location ${addr}: ${e.message}`)));
    });
    this.#outbound.set(addr, dialing);
    dialing.catch(() => this.#outbound.delete(addr));
    return dialing;
  }

  /** Ports of the callback listeners connected to. */
  ports(): number[] {
    return [...this.#ports];
  }

  /** Open callback connections. */
  async openCount(): Promise<number> {
    let n = 0;
    for (const dialing of this.#outbound.values()) {
      const peer = await dialing.catch(() => undefined);
      if (peer?.open) n++;
    }
    return n;
  }

  async close(): Promise<void> {
    const peers = await Promise.all(
      [...this.#outbound.values()].map((p) => p.catch(() => undefined)),
    );
    this.#outbound.clear();
    await Promise.all(peers.map((peer) => peer?.destroy()));
  }
}

/**
 * Serves `server` on a TCP port (127.0.0.1, a port the system picks) and
 * sends its callbacks over TCP. Close it in `finally`.
 */
export async function startScriptedNfsServer(
  server: ScriptedServer,
  options: ScriptedNfsServerOptions = {},
): Promise<ScriptedNfsServer> {
  const host = options.host ?? "127.0.0.1";
  const fore = new Map<number, RpcPeer>();
  const errors: Error[] = [];
  const callbacks = new TcpCallbacks(fore, options.callbackTimeoutMs ?? 5000);
  server.callbacks = callbacks;
  let accepted = 0;

  const serveNfs = (conn: number, xid: number, r: XdrReader): Uint8Array => {
    const w = new XdrWriter(256);
    const accept = (stat: number, extra?: (w: XdrWriter) => void) => {
      writeAcceptedReply(
        w,
        xid,
        stat,
        stat === PROG_MISMATCH ? { mismatch: { low: NFS4_VERSION, high: NFS4_VERSION } } : {},
      );
      extra?.(w);
      return w.bytes().slice();
    };
    let body;
    try {
      body = readCallBody(r);
    } catch {
      return accept(GARBAGE_ARGS);
    }
    if (body.rpcVersion !== RPC_VERSION) {
      writeDeniedReply(w, xid, {
        rejectStat: RPC_MISMATCH,
        mismatch: { low: RPC_VERSION, high: RPC_VERSION },
      });
      return w.bytes().slice();
    }
    const flavor = body.credential.flavor;
    if (flavor !== AUTH_NONE && flavor !== AUTH_SYS) {
      writeDeniedReply(w, xid, { rejectStat: AUTH_ERROR, authStat: AUTH_BADCRED });
      return w.bytes().slice();
    }
    if (body.program !== NFS4_PROGRAM) return accept(PROG_UNAVAIL);
    if (body.version !== NFS4_VERSION) return accept(PROG_MISMATCH);
    if (body.procedure === NFSPROC4_NULL) return accept(SUCCESS);
    if (body.procedure !== NFSPROC4_COMPOUND) return accept(PROC_UNAVAIL);
    let request;
    try {
      request = decodeCompoundRequest(r, OP_CODECS);
    } catch {
      return accept(GARBAGE_ARGS);
    }
    try {
      const reply = server.handle(request, conn);
      const results = new XdrWriter(256);
      encodeCompoundReply(results, reply, OP_CODECS);
      const bytes = results.bytes();
      return accept(SUCCESS, (w) => void w.writeFixedOpaque(bytes, bytes.length));
    } catch (e) {
      errors.push(e as Error);
      const fallback = new XdrWriter(64);
      writeAcceptedReply(fallback, xid, SYSTEM_ERR);
      return fallback.bytes().slice();
    }
  };

  const listener: Server = createServer((socket) => {
    accepted++;
    const conn = server.connect();
    const peer = new RpcPeer(socket, (xid, r) => serveNfs(conn, xid, r));
    fore.set(conn, peer);
    void peer.closed.then(() => fore.delete(conn));
  });
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(0, host, () => {
      listener.off("error", reject);
      resolve();
    });
  });
  const address = listener.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  const port = address.port;

  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    url: `nfs://${host}:${port}`,
    server,
    callbackLog: server.callbackLog,
    errors,
    get accepted() {
      return accepted;
    },
    get openSockets() {
      return [...fore.values()].filter((p) => p.open).length;
    },
    callbackPorts: () => callbacks.ports(),
    close() {
      closing ??= (async () => {
        if (server.callbacks === callbacks) server.callbacks = undefined;
        const stopped = new Promise<void>((resolve) => listener.close(() => resolve()));
        await Promise.all([...fore.values()].map((peer) => peer.destroy()));
        await callbacks.close();
        await stopped;
      })();
      return closing;
    },
  };
}
