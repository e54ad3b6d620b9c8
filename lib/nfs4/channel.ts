/**
 * Sending COMPOUNDs (RFC 7530 §16.2) over an ONC RPC transport.
 *
 * `CompoundChannel` is what the state manager talks to. The real one encodes
 * the request into one RPC call and decodes the reply against the ops sent;
 * tests substitute a scripted channel to produce error paths a real server
 * cannot be made to show on demand.
 * @module
 */

import type { OpaqueAuth } from "../rpc/auth.ts";
import { RpcProtocolError } from "../rpc/errors.ts";
import type { RecordTap } from "../rpc/tap.ts";
import {
  type CallHandler,
  type DecodedCallOptions,
  type RpcAttempt,
  type RpcReply,
  RpcTransport,
} from "../rpc/transport.ts";
import { XdrError, type XdrWriter } from "../xdr/mod.ts";
import {
  type CompoundReply,
  type CompoundRequest,
  decodeCompoundReply,
  encodeCompound,
  type OpList,
} from "./compound.ts";
import { NFS4_PROGRAM, NFS4_VERSION, NFSPROC4_COMPOUND, NFSPROC4_NULL } from "./constants.ts";
import { Nfs4ProtocolError } from "./errors.ts";

export interface CompoundCallOptions {
  readonly credential?: OpaqueAuth;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** The same request sent again keeps its xid (see `RpcCallOptions.attempt`). */
  readonly attempt?: RpcAttempt;
}

export interface CompoundChannel {
  compound(request: CompoundRequest, options?: CompoundCallOptions): Promise<CompoundReply>;
  /** NFSPROC4_NULL: is an NFSv4 server there? (On the current connection.) */
  ping(options?: CompoundCallOptions): Promise<void>;
  /**
   * Breaks the current connection (the server answers nothing on it, not
   * even NULL): the COMPOUNDs in flight on it fail as on a lost connection,
   * and may be sent again on the next (RFC 7530 §3.1.1). False if there was
   * none. Without it, a channel is taken as one whose requests need no
   * such break to be sent again.
   */
  dropConnection?(reason: string): boolean;
  /**
   * A mark of the replies received so far, and whether the current
   * connection received one since (RpcTransport.replyMark, repliedSince):
   * a connection whose replies come is answering, even when the reply to
   * one request (a NULL probe) is slow. Without them the state manager
   * counts the replies it was given.
   */
  replyMark?(): number;
  repliedSince?(mark: number): boolean;
  /**
   * Gives up the request of `attempt`, whose COMPOUND timed out while its
   * connection stood: its reply is no longer waited for (see
   * `RpcCallOptions.attempt`: a timed-out request is not sent again on the
   * same connection; calling `compound` with the attempt again waits for it).
   */
  stopWaiting?(attempt: RpcAttempt): void;
  close(): Promise<void>;
  /** Connection changes, for the state manager's trace. */
  onConnectionChange?(listener: (change: ConnectionChange) => void): void;
  /** This end's address on the connection (what the server sees us as). */
  localAddress?(): { host: string; port: number } | undefined;
  /** Serves CALLs of `program` arriving on this connection (the 4.1 backchannel). */
  serveCallbacks?(program: number, handler: CallHandler): void;
}

/** A connection came up (`reconnect` after a loss) or went down. */
export type ConnectionChange =
  | { readonly kind: "connected"; readonly reconnect: boolean; readonly local: string }
  | { readonly kind: "lost"; readonly reason: string };

/**
 * One COMPOUND as the transport sends it: the request encoded after the
 * call header, and the reply decoded against the ops sent. A reply that
 * does not decode fails the call with {@linkcode RpcProtocolError}.
 */
class CompoundCall implements DecodedCallOptions<CompoundReply> {
  readonly program = NFS4_PROGRAM;
  readonly version = NFS4_VERSION;
  readonly procedure = NFSPROC4_COMPOUND;
  readonly credential: OpaqueAuth | undefined;
  readonly timeoutMs: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly attempt: RpcAttempt | undefined;
  readonly request: CompoundRequest;

  constructor(request: CompoundRequest, options: CompoundCallOptions) {
    this.request = request;
    this.credential = options.credential;
    this.timeoutMs = options.timeoutMs;
    this.signal = options.signal;
    this.attempt = options.attempt;
  }

  args(w: XdrWriter): void {
    encodeCompound(w, this.request);
  }

  decode(reply: RpcReply): CompoundReply {
    try {
      return decodeCompoundReply(reply.reader, this.request.ops);
    } catch (e) {
      if (e instanceof XdrError || e instanceof Nfs4ProtocolError) {
        throw new RpcProtocolError(
          `malformed COMPOUND reply to ${opNameList(this.request.ops)}: ${e.message}`,
          reply.xid,
          { cause: e },
        );
      }
      throw e;
    }
  }
}

/**
 * "PUTFH,READ": the ops' names. A function of its own, not a closure in
 * `decode`: that made a scope object in every call.
 */
function opNameList(ops: OpList): string {
  return ops.map((op) => op.name).join(",");
}

/** A channel over a real RPC transport. */
export class RpcCompoundChannel implements CompoundChannel {
  readonly transport: RpcTransport;

  constructor(transport: RpcTransport) {
    this.transport = transport;
  }

  /**
   * A channel over a new TCP transport to an NFSv4 server (it connects on the
   * first call). `timeoutMs` bounds the connect and each call; replies larger
   * than `maxRecordSize` bytes drop the connection. A `tap` sees every
   * record (`--pcap`).
   */
  static to(server: {
    readonly host: string;
    readonly port: number;
    readonly timeoutMs: number;
    readonly maxRecordSize: number;
    readonly tap?: RecordTap;
    /** From a reserved source port (RpcTransportOptions.reservedPort; default: as root). */
    readonly reservedPort?: boolean;
  }): RpcCompoundChannel {
    return new RpcCompoundChannel(
      new RpcTransport({
        host: server.host,
        port: server.port,
        connectTimeoutMs: server.timeoutMs,
        callTimeoutMs: server.timeoutMs,
        maxRecordSize: server.maxRecordSize,
        ...(server.tap ? { tap: server.tap } : {}),
        ...(server.reservedPort !== undefined ? { reservedPort: server.reservedPort } : {}),
      }),
    );
  }

  compound(request: CompoundRequest, options: CompoundCallOptions = {}): Promise<CompoundReply> {
    // One object per call, its encoder and decoder methods (no closures),
    // and the reply decoded as it arrives (no async step of our own): a
    // long read makes a COMPOUND per READ.
    return this.transport.callDecoded(new CompoundCall(request, options));
  }

  async ping(options: CompoundCallOptions = {}): Promise<void> {
    await this.transport.call({
      program: NFS4_PROGRAM,
      version: NFS4_VERSION,
      procedure: NFSPROC4_NULL,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  dropConnection(reason: string): boolean {
    return this.transport.dropConnection(reason);
  }

  replyMark(): number {
    return this.transport.replyMark();
  }

  repliedSince(mark: number): boolean {
    return this.transport.repliedSince(mark);
  }

  stopWaiting(attempt: RpcAttempt): void {
    this.transport.stopWaiting(attempt);
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  localAddress(): { host: string; port: number } | undefined {
    const t = this.transport;
    return t.localAddress && t.localPort ? { host: t.localAddress, port: t.localPort } : undefined;
  }

  serveCallbacks(program: number, handler: CallHandler): void {
    this.transport.onCall(program, handler);
  }

  onConnectionChange(listener: (change: ConnectionChange) => void): void {
    this.transport.addEventListener("connect", (event) => {
      const t = this.transport;
      listener({
        kind: "connected",
        reconnect: event.detail.reconnect,
        local: `${t.localAddress ?? "?"}:${t.localPort ?? "?"}`,
      });
    });
    this.transport.addEventListener("disconnect", (event) => {
      const error = event.detail.error;
      listener({ kind: "lost", reason: error ? error.message : "closed" });
    });
  }
}
