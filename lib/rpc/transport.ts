/**
 * ONC RPC version 2 over TCP (RFC 5531 §9 messages, §11 record marking).
 *
 * One {@linkcode RpcTransport} owns one TCP connection to one server and
 * pipelines calls on it: each call gets the next xid (starting at a random
 * value), its reply is matched by xid whatever order replies come in, and at
 * most `maxInFlight` calls are outstanding while the rest wait their turn.
 *
 * Failure is per call where it can be: a timeout, an abort, a non-success
 * reply status or a malformed reply fails that call only. Losing the
 * connection fails every call sent on it with a retriable
 * {@linkcode RpcConnectionError}; the next call opens a new connection.
 * A call timeout is not a lost request: over TCP the server never drops one
 * silently, and a client "MUST NOT retry a request unless ... the transport
 * connection has been broken" or the procedure is NULL (RFC 7530 §3.1.1,
 * RFC 8881 §2.9.2). So a call that is one request's transmission (its
 * `attempt`) keeps its xid registered past its timeout while the
 * connection stands, and the same attempt called again waits for that
 * reply instead of sending the request a second time on the connection;
 * only on another connection (this one lost, or broken on purpose:
 * {@linkcode RpcTransport.dropConnection}) does it go out again, under the
 * same xid. Whether to wait on or break the connection is the caller's
 * decision (lib/state's RPC NULL probe). A
 * record over `maxRecordSize` puts the stream out of step, so it drops the
 * connection and fails the calls on it with {@linkcode RpcRecordTooLargeError}.
 * When the record is the peer's first and its mark is absurd (no
 * last-fragment bit, past the maximum), the peer does not speak ONC RPC at
 * all (an HTTP server on the port: "HTTP" read as a record mark is a 1.2 GB
 * fragment): the calls fail with {@linkcode RpcProtocolError} saying so,
 * with the bytes it started with (only a connection's first bytes are
 * kept for that).
 *
 * NFSv4.1 servers send callbacks as CALLs on the client's own connection
 * (RFC 8881 §2.10.3.1); {@linkcode RpcTransport.onCall} registers a handler
 * per program for them and the transport sends the REPLY.
 *
 * Bulk data is copied as little as it can be. A record gets its buffer once
 * its record mark has passed the size check: a large one (a READ reply)
 * from a pool of buffers that the final reader of its data hands back when
 * done (socket_buffers.ts: no fresh megabyte, page faults and collector
 * pressure per reply), a small one a piece of a shared slab (allocateRecord).
 * The socket reads straight into the rest of that buffer while a large
 * record is arriving, and otherwise into one small buffer that it reuses,
 * from which what belongs to a record is copied; a runtime that cannot read into a given buffer
 * delivers chunks of its own, which are taken instead. On the way out, data
 * an encoder referenced rather than copied (a WRITE's payload,
 * `XdrWriter.writeOpaqueView`) is written to the socket from where it lies;
 * the transport keeps its own queue of chunks so that at most one of them
 * waits inside the socket (a runtime may join waiting chunks into one new
 * buffer: Deno does). The buffer a call is encoded in is reused for a later
 * call once the socket has written it, and every call's timeout waits on
 * one timer (deadlines.ts): per call, what is made and collected costs more
 * than the rest of its bookkeeping.
 *
 * The socket itself is behind one small interface (socket_backend.ts):
 * `node:net` by default outside Bun (it runs under Deno, Node and Bun), a
 * socket of our own through Bun's FFI in the binary (socket_ffi.ts), or
 * `Deno.connect` / `Bun.connect` (`NFS4_SOCKET`, or the `socket` option).
 *
 * @example
 * ```ts
 * const transport = new RpcTransport({ host: "127.0.0.1", port: 2049 });
 * const reply = await transport.call({ program: 100003, version: 4, procedure: 0 });
 * reply.reader.assertEnd(); // NULL has no results
 * await transport.close();
 * ```
 * @module
 */

import process from "node:process";
import { XdrReader, XdrWriter } from "../xdr/mod.ts";
import { authNone, type OpaqueAuth } from "./auth.ts";
import {
  formatEndpoint,
  replyError,
  RpcConnectionError,
  type RpcError,
  RpcProtocolError,
  RpcRecordTooLargeError,
  RpcTimeoutError,
} from "./errors.ts";
import {
  MSG_ACCEPTED,
  readMessageType,
  readReplyBody,
  REPLY,
  SUCCESS,
  type VersionRange,
  writeCallHeader,
} from "./message.ts";
import {
  DEFAULT_MAX_RECORD_SIZE,
  encodeRecord,
  LAST_FRAGMENT,
  MAX_FRAGMENT_LENGTH,
  RecordDecoder,
} from "./record_marking.ts";
import { answerCall } from "./dispatch.ts";
import { type ConnectionTap, type RecordTap, singleFragmentMark } from "./tap.ts";
import {
  defaultSocketKind,
  type RpcSocket,
  type SocketFactory,
  socketFactory,
  type SocketKind,
  socketKindOf,
} from "./socket_backend.ts";
import { POOLED_RECORD_MIN, recordBuffers } from "./socket_buffers.ts";
import { type Deadline, DeadlineQueue } from "./deadlines.ts";
import { ChurnMap, ChurnSet } from "./churn.ts";

/** Default time allowed for the TCP connection to be established. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Default time a call waits for its reply. */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;
/** Default cap on calls outstanding at once. */
export const DEFAULT_MAX_IN_FLIGHT = 64;
/** Default size of the reused buffer the socket reads into between large records. */
export const DEFAULT_READ_BUFFER_SIZE = 64 * 1024;
/** The rest of a record is read in place when at least this much of it is missing. */
const READ_IN_PLACE_MIN = 16 * 1024;

/**
 * Bytes queued for the socket beyond which senders wait (backpressure): a
 * call is encoded only once what is ahead of it has gone down to this.
 */
const WRITE_HIGH_WATER = 1024 * 1024;
/** Chunks shorter than this are gathered into one write when several wait. */
const COALESCE_LIMIT = 64 * 1024;
/** Chunks handed to the socket at once: one being written, one waiting. */
const SOCKET_CHUNKS = 2;

/** The credential and verifier of calls that name none (never modified). */
const AUTH_NONE: OpaqueAuth = authNone();

/** A call's first buffer: a READ's COMPOUND with AUTH_SYS takes ~200 bytes. */
const CALL_WRITER_CAPACITY = 512;
/** Writers kept for reuse, and the largest buffer one may have to be kept. */
const WRITER_POOL_SIZE = 64;
const WRITER_KEEP_MAX = 16 * 1024;

/** The longest delay timers honour; longer timeouts mean "no timeout". */
const MAX_TIMER_MS = 0x7fffffff;

/** Where to connect and how patiently. */
export interface RpcTransportOptions {
  host: string;
  port: number;
  /** Time allowed to establish the connection; default 10000 ms, 0 for none. */
  connectTimeoutMs?: number;
  /** Default per-call timeout; default 30000 ms, 0 for none. */
  callTimeoutMs?: number;
  /** Largest record accepted from the server; default 4 MiB + 64 KiB. */
  maxRecordSize?: number;
  /** Cap on concurrent calls, default 64; extra calls queue. */
  maxInFlight?: number;
  /**
   * Size of the reused buffer the socket reads into (`onread`) when it does
   * not read into a large record's own buffer; default 64 KiB. 0 takes the
   * socket's 'data' events instead.
   */
  readBufferSize?: number;
  /** Sees every record sent and received, on every connection (`--pcap`). */
  tap?: RecordTap;
  /**
   * The socket API (socket_backend.ts): `node` (`node:net`, everywhere),
   * `deno` (`Deno.connect`), `bun` (`Bun.connect`), `ffi` (Bun on Linux),
   * or a factory of one's own. Default: `NFS4_SOCKET` from the environment,
   * else `ffi` in Bun on Linux, `bun` in Bun elsewhere, `node` outside Bun.
   */
  socket?: SocketKind | SocketFactory;
  /**
   * Connect from a reserved source port (below 1024), as the Linux client
   * and libnfs do when they may: servers export with `secure` by default
   * (Linux nfsd, exports(5)) and refuse AUTH_SYS requests from other ports
   * (NFS4ERR_PERM inside the export). `true`: try one, `false`: never;
   * default: when running as root. Where the system refuses the bind
   * (EACCES: not privileged) or none is free, an ordinary port is used.
   */
  reservedPort?: boolean;
}

/**
 * The reserved ports tried, as the Linux client's (xprt_min_resvport to
 * xprt_max_resvport): a random start, then downward, wrapping; less the
 * ports Wireshark gives a dissector of another protocol (tshark 4.0 read a
 * call from each: 705 AgentX, 802, 853, 993 and 995 TLS, 854 DLEP, 862
 * TWAMP, 873 rsync, 925, 988), so that a capture (`--pcap`, or one taken
 * on the wire) shows our RPC as RPC without a "Decode As".
 */
export const RESERVED_PORTS = { low: 665, high: 1023 } as const;
export const RESERVED_PORTS_SKIPPED: ReadonlySet<number> = new Set([
  705,
  802,
  853,
  854,
  862,
  873,
  925,
  988,
  993,
  995,
]);

/** The reserved port tried after `port`: the next one down, wrapping, skipping those above. */
export function nextReservedPort(port: number): number {
  const { low, high } = RESERVED_PORTS;
  do port = port > low ? port - 1 : high; while (RESERVED_PORTS_SKIPPED.has(port));
  return port;
}

/** Reserved ports tried for one connection before an ordinary one is used. */
const RESERVED_PORT_TRIES = 32;

/** Whether this process runs as root (POSIX; false where there is no uid). */
function runningAsRoot(): boolean {
  const getuid = (process as { geteuid?: () => number; getuid?: () => number }).geteuid ??
    (process as { getuid?: () => number }).getuid;
  try {
    return typeof getuid === "function" && getuid.call(process) === 0;
  } catch {
    return false;
  }
}

/**
 * Whether a source port may be bound on 0.0.0.0, as a reserved port is:
 * under Deno only with net permission for it (with `--allow-net=HOST` alone
 * Deno's node:net throws NotCapable from a later tick, outside any promise,
 * and the process ends); elsewhere always.
 */
function mayBindAnyAddress(): boolean {
  const permissions = (globalThis as {
    Deno?: {
      permissions?: { querySync?: (d: { name: "net"; host: string }) => { state: string } };
    };
  }).Deno?.permissions;
  if (typeof permissions?.querySync !== "function") return true;
  try {
    return permissions.querySync({ name: "net", host: "0.0.0.0" }).state === "granted";
  } catch {
    return false;
  }
}

/** One call: what to call and how to encode its arguments. */
export interface RpcCallOptions {
  program: number;
  version: number;
  procedure: number;
  /** Defaults to AUTH_NONE. */
  credential?: OpaqueAuth | undefined;
  /** Defaults to AUTH_NONE. */
  verifier?: OpaqueAuth | undefined;
  /** Appends the procedure's arguments after the call header. */
  args?: (w: XdrWriter) => void;
  /** Overrides the transport's `callTimeoutMs` for this call; 0 for none. */
  timeoutMs?: number | undefined;
  /** Aborting fails the call with `signal.reason`; a late reply is ignored. */
  signal?: AbortSignal | undefined;
  /**
   * One request across its transmissions: the transport records the xid it
   * sent under here, and a call given an attempt that already has one is
   * sent under the same xid (RFC 5531 §9: a retransmission keeps its xid so
   * the server's duplicate request cache can recognise it). A new xid is
   * used only when that one is still pending on the connection for another
   * call.
   *
   * Over TCP a request is sent once per connection (RFC 7530 §3.1.1, RFC
   * 8881 §2.9.2): when such a call times out while its connection stands,
   * its xid stays registered there (the call itself fails with
   * {@linkcode RpcTimeoutError}), and a later call with the same attempt on
   * that connection sends nothing: it waits for the reply, or takes it at
   * once if it came meanwhile. After the connection is lost or dropped
   * ({@linkcode RpcTransport.dropConnection}) the attempt is sent again, on
   * the new one. {@linkcode RpcTransport.stopWaiting} lets the xid go when
   * the request is given up.
   */
  attempt?: RpcAttempt | undefined;
}

/** The identity of one request across retransmissions (see `RpcCallOptions.attempt`). */
export interface RpcAttempt {
  xid?: number;
  /** Transmissions so far. */
  sends?: number;
  /** Bytes of the last transmission's RPC message (record mark excluded), for traces. */
  sentBytes?: number;
  /** Bytes of the reply's RPC message, for traces. */
  receivedBytes?: number;
}

/**
 * A call whose SUCCESS reply is decoded as it arrives
 * ({@linkcode RpcTransport.callDecoded}).
 */
export interface DecodedCallOptions<T> extends RpcCallOptions {
  /** Turns the reply into the call's value; what it throws fails the call with that. */
  decode(reply: RpcReply): T;
}

/** A successful (MSG_ACCEPTED, SUCCESS) reply. */
export interface RpcReply {
  xid: number;
  /** Positioned at the procedure results. */
  reader: XdrReader;
  /** The server's verifier. */
  verifier: OpaqueAuth;
}

/** A CALL the server sent on this connection (the NFSv4.1 backchannel). */
export interface IncomingCall {
  xid: number;
  program: number;
  version: number;
  procedure: number;
  credential: OpaqueAuth;
  verifier: OpaqueAuth;
  /** Positioned at the procedure arguments. */
  args: XdrReader;
}

/**
 * What a handler returns: a function that appends the results of a SUCCESS
 * reply, or a non-success `accept_stat` (with the supported range for
 * PROG_MISMATCH).
 */
export type CallHandlerResult =
  | ((w: XdrWriter) => void)
  | { acceptStat: number; mismatch?: VersionRange };

/**
 * Serves incoming CALLs of one program. Throwing an `XdrError` (arguments
 * that do not decode) answers GARBAGE_ARGS; any other error SYSTEM_ERR.
 */
export type CallHandler = (call: IncomingCall) => Promise<CallHandlerResult>;

/** Detail of the "connect" event. */
export interface RpcConnectEventDetail {
  /** False for the first connection, true for every later one. */
  reconnect: boolean;
}

/** Detail of the "disconnect" event. */
export interface RpcDisconnectEventDetail {
  /** Why the connection ended; the calls pending on it failed with this. */
  error: RpcError;
}

/** Events of {@linkcode RpcTransport}. */
export interface RpcTransportEventMap {
  connect: CustomEvent<RpcConnectEventDetail>;
  disconnect: CustomEvent<RpcDisconnectEventDetail>;
}

/** A call from `call()` until it settles. */
interface PendingCall {
  readonly options: RpcCallOptions;
  /** `options` has a `decode` to run on the reply (`callDecoded`). */
  readonly decodes: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  settled: boolean;
  holdsSlot: boolean;
  /** Its timeout, on the transport's one timer. */
  deadline: Deadline | undefined;
  /** The calls of its signal (`#watchAbort`), while it waits on one. */
  watched: ChurnSet<PendingCall> | undefined;
  /** Set once the call is registered on a connection. */
  xid: number | undefined;
  connection: Connection | undefined;
  /**
   * Timed out with its xid kept registered (`#timedOut`): the caller was
   * told, and a later call with the same attempt takes the reply over.
   */
  parked: boolean;
  /** A parked call's reply (or what failed it), once it came. */
  late: LateOutcome | undefined;
}

/** What came for a parked call while no caller waited on it. */
type LateOutcome = { readonly value: unknown } | { readonly error: unknown };

/** How many of a connection's first bytes are kept to show a peer that does not speak ONC RPC. */
const HEAD_BYTES = 16;

/** One socket's life. */
interface Connection {
  /** Set right after the connection record is made (events may come at once). */
  socket: RpcSocket;
  readonly decoder: RecordDecoder;
  /** Calls sent on this connection, by xid. */
  readonly pending: ChurnMap<number, PendingCall>;
  /**
   * Chunks not yet handed to the socket, from `outHead` on. An XdrWriter
   * follows the last chunk of a record encoded in it: the writer goes back
   * to the pool once the socket has written that chunk (`#flush`).
   */
  outbox: (Uint8Array | XdrWriter | undefined)[];
  outHead: number;
  /** Chunks handed to the socket and not yet written. */
  inSocket: number;
  /** Bytes queued or inside the socket, not yet written. */
  unsent: number;
  /** Set while `unsent` is over the high-water mark; resolves below it or on close. */
  drain: Promise<void> | undefined;
  releaseDrain: (() => void) | undefined;
  established: boolean;
  /** Rejects the connection attempt (until established). */
  failConnect: (error: RpcError) => void;
  /** Set once torn down: the error pending calls failed with. */
  closedWith: RpcError | undefined;
  /** Resolves when the socket has emitted 'close'. */
  readonly socketClosed: Promise<void>;
  /** Sees this connection's records, once established, when the transport has a tap. */
  tap: ConnectionTap | undefined;
  /** Takes each record the decoder completes (one function for the connection's life). */
  onRecord: (record: Uint8Array) => void;
  /** Records the decoder has completed (whether a read handed one over). */
  records: number;
  /**
   * The first bytes the peer sent (up to {@linkcode HEAD_BYTES}), kept until
   * its first record is whole: what a peer that is no RPC server at all
   * said, for the error that tells so (`#notRpc`).
   */
  head: Uint8Array | undefined;
  /** Incoming CALLs (the backchannel) being served or waiting to send their reply. */
  serving: number;
  /** The transport's reply count (`#replies`) at this connection's last reply record; 0 before any. */
  lastReply: number;
}

/**
 * Incoming CALLs a connection serves at once (the 4.1 backchannel, whose
 * one slot the server may use for one call at a time, RFC 8881 §2.10.6.1).
 * More are dropped unanswered, as a request the server will send again on
 * its slot (§2.10.6.2): a server that calls without reading the replies, or
 * faster than they are answered, cannot make them pile up.
 */
const MAX_SERVING_CALLS = 16;

/**
 * A pipelined ONC RPC client (and backchannel server) over one TCP
 * connection, reconnecting on demand after the connection is lost.
 *
 * Events: "connect" (`CustomEvent<{ reconnect }>`) on every established
 * connection and "disconnect" (`CustomEvent<{ error }>`) when one ends.
 */
export class RpcTransport extends EventTarget {
  readonly host: string;
  readonly port: number;
  readonly connectTimeoutMs: number;
  readonly callTimeoutMs: number;
  readonly maxRecordSize: number;
  readonly maxInFlight: number;
  readonly readBufferSize: number;
  readonly #tap: RecordTap | undefined;
  /** The socket backend's name, or "custom" for a factory given in the options. */
  readonly socketKind: SocketKind | "custom";
  readonly #socketFactory: SocketFactory;
  /**
   * Connections come from a reserved source port (`reservedPort`) while
   * true; false once the system refused one (not privileged).
   */
  #reservedPort: boolean;

  #connection: Connection | undefined;
  #connecting: Promise<Connection> | undefined;
  readonly #sockets = new Set<Connection>();
  #closed = false;
  #closing: Promise<void> | undefined;
  #everConnected = false;
  #nextXid: number;
  #inFlight = 0;
  /** Reply records received on any connection, for replyMark() and repliedSince(). */
  #replies = 0;
  /** Calls waiting for a slot, from `#queueHead` on. */
  #queue: PendingCall[] = [];
  #queueHead = 0;
  readonly #calls = new ChurnSet<PendingCall>();
  /**
   * Writers of calls whose bytes the socket has written, reused by later
   * calls: a buffer per call, made and collected, was a good part of a
   * call's cost.
   */
  readonly #writers: XdrWriter[] = [];
  /** Every call's timeout, on one timer (deadlines.ts). */
  readonly #deadlines = new DeadlineQueue();
  /** Calls waiting on each abort signal, for its one listener (`#watchAbort`). */
  readonly #abortable = new WeakMap<AbortSignal, ChurnSet<PendingCall>>();
  readonly #handlers = new Map<number, CallHandler>();
  /** The call of each attempt that timed out with its xid kept (`#timedOut`). */
  readonly #parked = new WeakMap<RpcAttempt, PendingCall>();

  constructor(options: RpcTransportOptions) {
    super();
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
      throw new RangeError(`port must be an integer from 0 to 65535, got ${options.port}`);
    }
    this.host = options.host;
    this.port = options.port;
    this.connectTimeoutMs = nonNegative(
      "connectTimeoutMs",
      options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    );
    this.callTimeoutMs = nonNegative(
      "callTimeoutMs",
      options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
    );
    this.maxRecordSize = nonNegative(
      "maxRecordSize",
      options.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE,
    );
    this.maxInFlight = nonNegative("maxInFlight", options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT);
    if (this.maxInFlight < 1) throw new RangeError("maxInFlight must be at least 1");
    this.readBufferSize = nonNegative(
      "readBufferSize",
      options.readBufferSize ?? DEFAULT_READ_BUFFER_SIZE,
    );
    if (!Number.isSafeInteger(this.readBufferSize)) {
      throw new RangeError(`readBufferSize must be an integer, got ${this.readBufferSize}`);
    }
    this.#tap = options.tap;
    const socket = options.socket ?? defaultSocketKind();
    if (typeof socket === "function") {
      this.socketKind = "custom";
      this.#socketFactory = socket;
    } else {
      this.#socketFactory = socketFactory(socket, this.readBufferSize);
      // What actually runs: 'data' events (readBufferSize 0) and runtimes
      // without the API asked for fall back (socket_backend.ts).
      this.socketKind = socketKindOf(this.#socketFactory) ?? socket;
    }
    this.#nextXid = crypto.getRandomValues(new Uint32Array(1))[0] ?? 1;
    // Deno.connect and Bun.connect take no local port: with those backends
    // (chosen with NFS4_SOCKET; never the default) connections come from
    // an ordinary port.
    const anyAddress = mayBindAnyAddress();
    if (options.reservedPort === true && !anyAddress) {
      // Asked for outright: an ordinary port instead could be refused by
      // the server, and binding without the permission would throw outside
      // any promise (Deno's node:net), ending the process.
      throw new Error(
        "reservedPort needs net permission for 0.0.0.0 (the source port is bound there): " +
          "run with --allow-net, or --allow-net=0.0.0.0,HOST",
      );
    }
    this.#reservedPort = (options.reservedPort ?? (runningAsRoot() && anyAddress)) &&
      this.socketKind !== "deno" && this.socketKind !== "bun";
  }

  /** Whether a connection is established now. */
  get connected(): boolean {
    return this.#connection !== undefined;
  }

  /** Local address of the current connection, if any. */
  get localAddress(): string | undefined {
    return this.#connection?.socket.localAddress;
  }

  /** Local port of the current connection, if any. */
  get localPort(): number | undefined {
    return this.#connection?.socket.localPort;
  }

  /** Remote address of the current connection, if any. */
  get remoteAddress(): string | undefined {
    return this.#connection?.socket.remoteAddress;
  }

  /** Remote port of the current connection, if any. */
  get remotePort(): number | undefined {
    return this.#connection?.socket.remotePort;
  }

  /** Calls started or waiting for a slot that have not settled. */
  get pendingCalls(): number {
    return this.#calls.size;
  }

  /** Bytes queued on the current connection but not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.#connection?.unsent ?? 0;
  }

  /** Whether {@linkcode close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Establishes the connection if there is none. Idempotent: concurrent
   * callers share one attempt. `call()` calls it itself.
   */
  async connect(): Promise<void> {
    await this.#connect();
  }

  /**
   * Sends a call and resolves with its SUCCESS reply. Rejects with
   * {@linkcode RpcAcceptedError} or {@linkcode RpcDeniedError} for other reply
   * statuses, {@linkcode RpcTimeoutError}, {@linkcode RpcConnectionError},
   * {@linkcode RpcProtocolError}, {@linkcode RpcRecordTooLargeError}, the
   * signal's reason when aborted, or whatever `args` throws.
   */
  call(options: RpcCallOptions): Promise<RpcReply> {
    return this.#call(options, false) as Promise<RpcReply>;
  }

  /**
   * As {@linkcode call}, resolving with `options.decode(reply)`, run as the
   * reply arrives; what `decode` throws fails the call with that error. A
   * caller that would only decode the reply after `call()` resolves saves
   * its own async step per call (the COMPOUND channel: one per READ).
   */
  callDecoded<T>(options: DecodedCallOptions<T>): Promise<T> {
    return this.#call(options, true) as Promise<T>;
  }

  #call(options: RpcCallOptions, decodes: boolean): Promise<unknown> {
    this.#program = options.program;
    return new Promise<unknown>((resolve, reject) => {
      if (this.#closed) {
        reject(this.#closedError());
        return;
      }
      const { signal } = options;
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const call: PendingCall = {
        options,
        decodes,
        resolve,
        reject,
        settled: false,
        holdsSlot: false,
        deadline: undefined,
        watched: undefined,
        xid: undefined,
        connection: undefined,
        parked: false,
        late: undefined,
      };
      this.#calls.add(call);
      const timeoutMs = options.timeoutMs ?? this.callTimeoutMs;
      if (timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS) {
        call.deadline = this.#deadlines.add(timeoutMs, this.#timedOut, call);
      }
      if (signal) this.#watchAbort(call, signal);
      if (this.#inFlight < this.maxInFlight) this.#start(call);
      else this.#queue.push(call);
    });
  }

  /**
   * Routes incoming CALLs of `program` on this connection to `handler`
   * (replacing any earlier handler). CALLs of a program with no handler are
   * answered PROG_UNAVAIL.
   */
  onCall(program: number, handler: CallHandler): void {
    this.#handlers.set(program, handler);
  }

  /**
   * Closes the connection and fails every unsettled call with a
   * non-retriable {@linkcode RpcConnectionError} ("transport closed"). The
   * transport does not reconnect afterwards. Resolves once the socket is
   * closed.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    const error = this.#closedError();
    this.#queue = [];
    this.#queueHead = 0;
    for (const call of [...this.#calls]) this.#fail(call, error);
    this.#deadlines.clear();
    const closing: Promise<void>[] = [];
    for (const connection of this.#sockets) {
      this.#teardown(connection, error);
      closing.push(connection.socketClosed);
    }
    this.#closing = Promise.all(closing).then(() => {});
    return this.#closing;
  }

  override addEventListener<K extends keyof RpcTransportEventMap>(
    type: K,
    listener: (this: RpcTransport, event: RpcTransportEventMap[K]) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    super.addEventListener(type, listener, options);
  }

  override removeEventListener<K extends keyof RpcTransportEventMap>(
    type: K,
    listener: (this: RpcTransport, event: RpcTransportEventMap[K]) => void,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void {
    super.removeEventListener(type, listener, options);
  }

  // Calls -------------------------------------------------------------------

  #start(call: PendingCall): void {
    this.#inFlight++;
    call.holdsSlot = true;
    const connection = this.#connection;
    // Connected and not held back: sent now, without a trip through the
    // event loop's promise queue.
    if (connection && !connection.drain && !connection.closedWith) this.#transmit(call, connection);
    else void this.#sendWhenReady(call);
  }

  /** Sends `call` once there is a connection and room in its queue. */
  async #sendWhenReady(call: PendingCall): Promise<void> {
    try {
      const connection = await this.#connect();
      while (connection.drain && !call.settled && !connection.closedWith) await connection.drain;
      if (call.settled) return;
      if (connection.closedWith) throw connection.closedWith;
      this.#transmit(call, connection);
    } catch (error) {
      this.#fail(call, error);
    }
  }

  /** Encodes `call` under its xid and queues it on `connection`. */
  #transmit(call: PendingCall, connection: Connection): void {
    const parked = call.options.attempt && this.#parked.get(call.options.attempt);
    if (parked !== undefined && this.#takeOver(call, parked, connection)) return;
    try {
      const { options } = call;
      const reused = options.attempt?.xid;
      const xid = reused !== undefined && !connection.pending.has(reused)
        ? reused
        : this.#allocateXid(connection);
      if (options.attempt) {
        options.attempt.xid = xid;
        options.attempt.sends = (options.attempt.sends ?? 0) + 1;
      }
      const w = this.#writers.pop() ?? new XdrWriter(CALL_WRITER_CAPACITY);
      const mark = w.reserveUint();
      writeCallHeader(w, {
        xid,
        program: options.program,
        version: options.version,
        procedure: options.procedure,
        credential: options.credential ?? AUTH_NONE,
        verifier: options.verifier ?? AUTH_NONE,
      });
      options.args?.(w);
      if (options.attempt) options.attempt.sentBytes = w.length - mark - 4;
      call.xid = xid;
      call.connection = connection;
      connection.pending.set(xid, call);
      this.#write(connection, w, mark, true);
    } catch (error) {
      this.#fail(call, error);
    }
  }

  /**
   * A call of an attempt whose earlier call timed out with its xid kept:
   * it takes that call's reply if one came, else, on the same connection,
   * its place (it waits; nothing is sent: RFC 7530 §3.1.1, RFC 8881
   * §2.9.2). False when that connection is gone: the request is sent again.
   */
  #takeOver(call: PendingCall, parked: PendingCall, connection: Connection): boolean {
    this.#parked.delete(call.options.attempt!);
    const { late, xid } = parked;
    if (late !== undefined) {
      // It came while nobody waited: the answer, whatever became of the connection since.
      if ("error" in late) this.#fail(call, late.error);
      else if (this.#finish(call)) call.resolve(late.value);
      return true;
    }
    if (
      parked.connection !== connection || connection.closedWith || xid === undefined ||
      connection.pending.get(xid) !== parked
    ) {
      return false;
    }
    call.xid = xid;
    call.connection = connection;
    connection.pending.set(xid, call);
    return true;
  }

  #allocateXid(connection: Connection): number {
    let xid: number;
    do {
      xid = this.#nextXid;
      this.#nextXid = (this.#nextXid + 1) >>> 0;
    } while (connection.pending.has(xid));
    return xid;
  }

  /**
   * A call's deadline passed (one function for every call's deadline). A
   * request's transmission (one with an `attempt`) keeps its xid on the
   * connection, which stands: the reply may still come, and the request
   * must not be sent again on it (RFC 7530 §3.1.1; `RpcCallOptions.attempt`).
   */
  readonly #timedOut = (call: PendingCall): void => {
    const timeoutMs = call.options.timeoutMs ?? this.callTimeoutMs;
    const error = this.#timeoutError(call, timeoutMs);
    const { attempt } = call.options;
    const { connection, xid } = call;
    if (
      attempt === undefined || connection === undefined || xid === undefined ||
      connection.closedWith || connection.pending.get(xid) !== call
    ) {
      this.#fail(call, error);
      return;
    }
    if (!this.#finish(call, true)) return;
    call.parked = true;
    this.#parked.set(attempt, call);
    call.reject(error);
  };

  /**
   * Stops waiting for the reply to `attempt`'s request, which timed out
   * with its xid kept (`RpcCallOptions.attempt`): the request was given up.
   * A late reply is then ignored, as any unknown xid's.
   */
  stopWaiting(attempt: RpcAttempt): void {
    const parked = this.#parked.get(attempt);
    if (parked === undefined) return;
    this.#parked.delete(attempt);
    const { connection, xid } = parked;
    if (connection && xid !== undefined && connection.pending.get(xid) === parked) {
      connection.pending.delete(xid);
    }
  }

  /** A mark of the replies received so far, for {@linkcode RpcTransport.repliedSince}. */
  replyMark(): number {
    return this.#replies;
  }

  /**
   * Whether the current connection, still standing, received a reply
   * record since `mark` ({@linkcode RpcTransport.replyMark}): a reply to
   * any call, even one no longer waited for, or one queued behind large
   * records. The peer answers on it.
   */
  repliedSince(mark: number): boolean {
    const connection = this.#connection;
    return connection !== undefined && connection.closedWith === undefined &&
      connection.lastReply > mark;
  }

  /**
   * Breaks the current connection, if there is one: every call on it fails
   * with a retriable {@linkcode RpcConnectionError} saying `reason`, and the
   * next call connects anew. For a connection judged dead though TCP has
   * not noticed (the server answers nothing, not even RPC NULL): the
   * requests it carried may then be sent again, on the new one (RFC 7530
   * §3.1.1). True if there was a connection.
   */
  dropConnection(reason: string): boolean {
    const connection = this.#connection;
    if (connection === undefined) return false;
    this.#teardown(
      connection,
      new RpcConnectionError(`dropped connection to ${this.#endpoint()}: ${reason}`, {
        host: this.host,
        port: this.port,
      }),
    );
    return true;
  }

  /**
   * Fails `call` with `signal`'s reason when it aborts. One listener per
   * signal serves every call given it (calls share the state manager's
   * signal): a listener, its closure and options object per call were a
   * good part of what a call left to the collector. The calls are failed in
   * the order they were made, as listeners of their own would have been.
   */
  #watchAbort(call: PendingCall, signal: AbortSignal): void {
    const calls = this.#abortable.get(signal) ?? this.#watchSignal(signal);
    calls.add(call);
    call.watched = calls;
  }

  /** The set of `signal`'s calls, and its listener (apart: a closure makes a scope per call). */
  #watchSignal(signal: AbortSignal): ChurnSet<PendingCall> {
    const watched = new ChurnSet<PendingCall>();
    this.#abortable.set(signal, watched);
    signal.addEventListener("abort", () => {
      for (const waiting of [...watched]) this.#fail(waiting, signal.reason);
    }, { once: true });
    return watched;
  }

  /**
   * Marks a call settled and releases what it holds; false if it already
   * was. `keepXid`: its xid stays registered on its connection (`#timedOut`).
   */
  #finish(call: PendingCall, keepXid = false): boolean {
    if (call.settled) return false;
    call.settled = true;
    this.#calls.delete(call);
    if (call.deadline !== undefined) this.#deadlines.cancel(call.deadline);
    if (call.watched) call.watched.delete(call);
    const { connection, xid } = call;
    if (!keepXid && connection && xid !== undefined && connection.pending.get(xid) === call) {
      connection.pending.delete(xid);
    }
    if (call.holdsSlot) {
      call.holdsSlot = false;
      this.#inFlight--;
      this.#startQueued();
    }
    return true;
  }

  #fail(call: PendingCall, error: unknown): void {
    if (this.#finish(call)) call.reject(error);
  }

  #succeed(call: PendingCall, reply: RpcReply): void {
    if (!call.decodes) {
      if (this.#finish(call)) call.resolve(reply);
      return;
    }
    let value: unknown;
    try {
      value = (call.options as DecodedCallOptions<unknown>).decode(reply);
    } catch (error) {
      this.#fail(call, error);
      return;
    }
    if (this.#finish(call)) call.resolve(value);
  }

  #startQueued(): void {
    while (this.#inFlight < this.maxInFlight && this.#queueHead < this.#queue.length) {
      const next = this.#queue[this.#queueHead++];
      if (next && !next.settled) this.#start(next);
    }
    // Drop the consumed front now and then rather than shifting every time.
    if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
  }

  #timeoutError(call: PendingCall, timeoutMs: number): RpcTimeoutError {
    const { program, version, procedure } = call.options;
    const xid = call.xid === undefined ? "" : ` (xid 0x${call.xid.toString(16).padStart(8, "0")})`;
    return new RpcTimeoutError(
      `call to program ${program} version ${version} procedure ${procedure}${xid} on ${this.#endpoint()} timed out after ${timeoutMs} ms`,
      timeoutMs,
    );
  }

  #closedError(): RpcConnectionError {
    return new RpcConnectionError("transport closed", { host: this.host, port: this.port }, {
      retriable: false,
    });
  }

  #endpoint(): string {
    return formatEndpoint(this.host, this.port);
  }

  // Connections -------------------------------------------------------------

  #connect(): Promise<Connection> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (this.#connection) return Promise.resolve(this.#connection);
    this.#connecting ??= this.#openConnection().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  /**
   * A new connection: from a reserved source port while `#reservedPort`
   * (the next one tried when one is taken), else, or when none could be had
   * in {@linkcode RESERVED_PORT_TRIES} tries, from any port.
   */
  async #openConnection(): Promise<Connection> {
    if (!this.#reservedPort) return await this.#open(undefined);
    const { low, high } = RESERVED_PORTS;
    let port = nextReservedPort(low + Math.floor(Math.random() * (high - low + 1)));
    for (let tries = 0; tries < RESERVED_PORT_TRIES && this.#reservedPort; tries++) {
      // Closed between two tries: no socket after close().
      if (this.#closed) throw this.#closedError();
      try {
        return await this.#open(port);
      } catch (error) {
        const code = error instanceof RpcConnectionError ? error.code : undefined;
        // Not privileged (EACCES; EPERM under some sandboxes): never again.
        if (code === "EACCES" || code === "EPERM") this.#reservedPort = false;
        // Taken: EADDRINUSE from the bind, EADDRNOTAVAIL from the connect
        // (the port's connection to this server is still open or in
        // TIME_WAIT), which Deno's node:net reports as EINVAL.
        else if (code !== "EADDRINUSE" && code !== "EADDRNOTAVAIL" && code !== "EINVAL") {
          throw error;
        }
        port = nextReservedPort(port);
      }
    }
    if (this.#closed) throw this.#closedError();
    return await this.#open(undefined);
  }

  #open(localPort: number | undefined): Promise<Connection> {
    return new Promise<Connection>((resolve, reject) => {
      const endpoint = localPort === undefined
        ? { host: this.host, port: this.port }
        : { host: this.host, port: this.port, localPort };
      let timer: ReturnType<typeof setTimeout> | undefined;
      let socketError: RpcConnectionError | undefined;
      let markSocketClosed!: () => void;
      // What the socket's events do, set once `connection` exists (the
      // factory may not call them before it returns).
      const connection: Connection = {
        socket: undefined as unknown as RpcSocket,
        decoder: new RecordDecoder({ maxRecordSize: this.maxRecordSize, allocate: allocateRecord }),
        pending: new ChurnMap(),
        outbox: [],
        outHead: 0,
        inSocket: 0,
        unsent: 0,
        drain: undefined,
        releaseDrain: undefined,
        established: false,
        failConnect: (error) => {
          clearTimeout(timer);
          reject(error);
        },
        closedWith: undefined,
        socketClosed: new Promise<void>((resolve) => markSocketClosed = resolve),
        tap: undefined,
        onRecord: (record) => {
          connection.records++;
          if (!connection.closedWith) this.#onRecord(connection, record);
        },
        records: 0,
        head: undefined,
        serving: 0,
        lastReply: 0,
      };
      const socket = this.#socketFactory(endpoint, {
        readTarget: () =>
          connection.closedWith ? undefined : connection.decoder.readTarget(READ_IN_PLACE_MIN),
        awaitingReplies: () => !connection.closedWith && connection.pending.size > 0,
        received: (bytes, mode) => {
          const before = connection.records;
          if (mode === "target") this.#onReadInPlace(connection, bytes.length);
          else this.#onData(connection, bytes, mode === "transient");
          return connection.records !== before;
        },
        error: (error) => {
          socketError ??= RpcConnectionError.fromSocketError(this.host, this.port, error);
        },
        closed: () => {
          this.#sockets.delete(connection);
          const message = connection.established
            ? `connection closed by ${this.#endpoint()}`
            : `connection to ${this.#endpoint()} closed before it was established`;
          this.#teardown(connection, socketError ?? new RpcConnectionError(message, endpoint));
          connection.tap?.close();
          markSocketClosed();
        },
        connected: () => {
          if (connection.closedWith) return;
          clearTimeout(timer);
          connection.established = true;
          socket.setNoDelay();
          if (this.#tap) connection.tap = this.#tapConnection(socket);
          this.#connection = connection;
          const reconnect = this.#everConnected;
          this.#everConnected = true;
          resolve(connection);
          this.#emit("connect", { reconnect });
        },
      }, this.readBufferSize);
      connection.socket = socket;
      this.#sockets.add(connection);

      if (this.connectTimeoutMs > 0 && this.connectTimeoutMs <= MAX_TIMER_MS) {
        timer = setTimeout(() => {
          const message =
            `connection to ${this.#endpoint()} timed out after ${this.connectTimeoutMs} ms`;
          this.#teardown(
            connection,
            new RpcConnectionError(message, { ...endpoint, code: "ETIMEDOUT" }),
          );
        }, this.connectTimeoutMs);
      }
    });
  }

  /**
   * Ends a connection once: a connection attempt fails; an established
   * connection fails the calls sent on it with `error`, wakes writers waiting
   * for 'drain' and emits "disconnect". The socket is destroyed either way.
   */
  #teardown(connection: Connection, error: RpcError): void {
    if (connection.closedWith) return;
    connection.closedWith = error;
    connection.socket.destroy();
    if (!connection.established) {
      connection.failConnect(error);
      return;
    }
    if (this.#connection === connection) this.#connection = undefined;
    connection.outbox = [];
    connection.outHead = 0;
    connection.unsent = 0;
    for (const call of [...connection.pending.values()]) this.#fail(call, error);
    this.#releaseDrain(connection);
    this.#emit("disconnect", { error });
  }

  /** The tap's view of a connection just established. */
  #tapConnection(socket: RpcSocket): ConnectionTap | undefined {
    return this.#tap?.connect({
      local: { host: socket.localAddress ?? "", port: socket.localPort ?? 0 },
      remote: { host: socket.remoteAddress ?? this.host, port: socket.remotePort ?? this.port },
      opener: "local",
    });
  }

  #emit<K extends keyof RpcTransportEventMap>(
    type: K,
    detail: RpcTransportEventMap[K]["detail"],
  ): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // Writing -----------------------------------------------------------------

  /**
   * Queues the record built in `w`, whose first four bytes were reserved at
   * `mark` for the record mark, and starts writing it. Respects
   * backpressure: while {@linkcode WRITE_HIGH_WATER} bytes or more are
   * queued, later senders wait in `#send`.
   */
  #write(connection: Connection, w: XdrWriter, mark: number, pooled = false): void {
    const length = w.length - mark - 4;
    let chunks: Uint8Array[];
    if (length <= MAX_FRAGMENT_LENGTH) {
      w.patchUint(mark, LAST_FRAGMENT + length);
      chunks = w.chunks();
      if (mark > 0) chunks = skipBytes(chunks, mark);
    } else {
      chunks = encodeRecord(w.bytes().subarray(mark + 4));
    }
    if (connection.tap) connection.tap.record("sent", chunks);
    for (const chunk of chunks) {
      if (chunk.length === 0) continue;
      connection.outbox.push(chunk);
      connection.unsent += chunk.length;
    }
    // The chunks are views of the writer's buffer: it is reused only once they are written.
    if (pooled && length <= MAX_FRAGMENT_LENGTH) connection.outbox.push(w);
    this.#flush(connection);
    if (connection.unsent >= WRITE_HIGH_WATER && !connection.drain && !connection.closedWith) {
      holdWrites(connection);
    }
  }

  /**
   * Hands queued chunks to the socket, no more than {@linkcode SOCKET_CHUNKS}
   * at a time: a runtime may join chunks waiting inside the socket into one
   * new buffer, which would copy a WRITE's payload. Small chunks waiting
   * together (calls' headers, a record's padding) go as one.
   */
  #flush(connection: Connection): void {
    while (connection.inSocket < SOCKET_CHUNKS && connection.outHead < connection.outbox.length) {
      const { outbox } = connection;
      let chunk = outbox[connection.outHead] as Uint8Array;
      outbox[connection.outHead++] = undefined;
      // Writers whose last chunk goes out with this write: handed back to
      // the pool once it is written (writes complete in order, so their
      // earlier chunks are written by then too).
      let writers: XdrWriter | XdrWriter[] | undefined;
      let end = connection.outHead;
      let total = chunk.length;
      let chunks = 1;
      for (; end < outbox.length; end++) {
        const next = outbox[end]!;
        if (next instanceof XdrWriter) {
          writers = writers === undefined
            ? next
            : Array.isArray(writers)
            ? (writers.push(next), writers)
            : [writers, next];
          continue;
        }
        if (chunk.length >= COALESCE_LIMIT || total + next.length > COALESCE_LIMIT) break;
        total += next.length;
        chunks++;
      }
      if (chunks > 1) {
        const joined = new Uint8Array(total);
        let at = 0;
        for (let i = connection.outHead - 1; i < end; i++) {
          const next = i < connection.outHead ? chunk : outbox[i]!;
          if (next instanceof XdrWriter) continue;
          joined.set(next, at);
          at += next.length;
        }
        chunk = joined;
      }
      for (; connection.outHead < end; connection.outHead++) {
        outbox[connection.outHead] = undefined;
      }
      connection.inSocket++;
      const size = chunk.length;
      // The callback comes later (Node's streams never call it synchronously).
      // Bound rather than a closure: a closure here made this loop and this
      // function keep their variables in scope objects, three per call.
      connection.socket.write(chunk, this.#written.bind(this, connection, size, writers));
    }
    // Drop what was handed on, now and then rather than at every chunk.
    const { outbox, outHead } = connection;
    if (outHead === outbox.length) {
      connection.outbox = [];
      connection.outHead = 0;
    } else if (outHead > 1024 && outHead * 2 > outbox.length) {
      connection.outbox = outbox.slice(outHead);
      connection.outHead = 0;
    }
  }

  /** A chunk handed to the socket was written (or the socket failed). */
  #written(
    connection: Connection,
    size: number,
    writers: XdrWriter | XdrWriter[] | undefined,
  ): void {
    connection.inSocket--;
    if (writers !== undefined) {
      if (Array.isArray(writers)) { for (const w of writers) this.#recycleWriter(w); }
      else this.#recycleWriter(writers);
    }
    if (connection.closedWith) return;
    connection.unsent -= size;
    this.#flush(connection);
    if (connection.unsent < WRITE_HIGH_WATER) this.#releaseDrain(connection);
  }

  /** Keeps a writer whose chunks are written for the next call, unless it grew large. */
  #recycleWriter(w: XdrWriter): void {
    if (this.#writers.length < WRITER_POOL_SIZE && w.capacity <= WRITER_KEEP_MAX) {
      this.#writers.push(w.reset());
    }
  }

  #releaseDrain(connection: Connection): void {
    const release = connection.releaseDrain;
    connection.drain = undefined;
    connection.releaseDrain = undefined;
    release?.();
  }

  // Reading -----------------------------------------------------------------

  /**
   * Takes the next chunk of the stream: `transient` when it is a view of the
   * reused read buffer (the decoder then copies what it keeps).
   */
  #onData(connection: Connection, data: Uint8Array, transient: boolean): void {
    if (connection.closedWith) return;
    // Until the first record is whole, its first bytes are kept: they show a
    // peer that is not an RPC server (one comparison per chunk afterwards).
    if (connection.records === 0) keepHead(connection, data);
    try {
      if (transient) {
        connection.decoder.pushTransient(data, connection.onRecord);
      } else {
        // Records may be views of the chunk: callers get plain Uint8Arrays,
        // not Node Buffers (whose slice() does not copy).
        const chunk = data.constructor === Uint8Array
          ? data
          : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        connection.decoder.pushEach(chunk, connection.onRecord);
      }
    } catch (error) {
      // RpcRecordTooLargeError: the stream cannot be resynchronised. Before
      // the first record, the peer does not speak ONC RPC at all.
      this.#teardown(connection, this.#notRpc(connection, error) ?? error as RpcError);
    }
  }

  /** Takes `nread` bytes the socket read into the view `readTarget()` gave. */
  #onReadInPlace(connection: Connection, nread: number): void {
    if (connection.closedWith) return;
    try {
      connection.decoder.pushInPlace(nread, connection.onRecord);
    } catch (error) {
      // RpcRecordTooLargeError, or a count the read target cannot hold.
      this.#teardown(
        connection,
        error instanceof RpcRecordTooLargeError
          ? this.#notRpc(connection, error) ?? error
          : new RpcConnectionError(
            `dropped connection to ${this.#endpoint()}: ${(error as Error).message}`,
            { host: this.host, port: this.port },
            { cause: error },
          ),
      );
    }
  }

  #onRecord(connection: Connection, record: Uint8Array): void {
    if (connection.tap) {
      connection.tap.record("received", [singleFragmentMark(record.length), record]);
    }
    const r = new XdrReader(record);
    let xid: number;
    let msgType: number;
    try {
      // readMessageStart() without its object: this runs for every record.
      xid = r.readUint();
      msgType = readMessageType(r);
    } catch (error) {
      if (record.length < 4) {
        const cause = new RpcProtocolError(
          `received a ${record.length}-byte record, too short for an RPC message`,
          undefined,
          { cause: error },
        );
        this.#teardown(
          connection,
          new RpcConnectionError(
            `dropped connection to ${this.#endpoint()} after a malformed record`,
            { host: this.host, port: this.port },
            { cause },
          ),
        );
        return;
      }
      const badXid = new DataView(record.buffer, record.byteOffset, 4).getUint32(0);
      this.#failCall(connection, badXid, "message", error);
      return;
    }
    if (msgType === REPLY) {
      // Any reply counts, even to a call no longer waited for: the peer
      // answers on this connection (repliedSince).
      connection.lastReply = ++this.#replies;
      this.#onReply(connection, xid, r);
    } else if (connection.serving < MAX_SERVING_CALLS) void this.#serveCall(connection, xid, r);
  }

  /**
   * The error for a peer that is not an RPC server, when `error` is the
   * decoder's refusal of the connection's very first record mark, and that
   * mark is absurd: no last-fragment bit, and a length past the largest
   * record (text, as "HTTP" is: 0x48545450, a 1.2 GB fragment; a TLS
   * record, 0x16030100...). `127.0.0.1:8080: not an NFS server (its reply
   * is not ONC RPC: it starts "HTTP/1.1 400 Bad")`. Undefined otherwise: a
   * last fragment that is merely too large, or any later record, is a
   * server's record too large, told as such ({@linkcode RpcRecordTooLargeError});
   * a malformed record after a plausible mark fails its call, as
   * anywhere in the stream.
   */
  #notRpc(connection: Connection, error: unknown): RpcProtocolError | undefined {
    const head = connection.head;
    if (
      connection.records !== 0 || !(error instanceof RpcRecordTooLargeError) ||
      head === undefined || head.length < 4
    ) {
      return undefined;
    }
    const mark = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
    if ((mark & LAST_FRAGMENT) !== 0 || mark <= this.maxRecordSize) return undefined;
    // The program called last names what it was taken for (a peer that
    // speaks first may do so before the first call was written).
    const program = this.#program;
    const what = program === NFS_PROGRAM
      ? "an NFS server"
      : `an ONC RPC server${program !== undefined ? ` of program ${program}` : ""}`;
    return new RpcProtocolError(
      `${this.#endpoint()}: not ${what} (its reply is not ONC RPC: it starts ${
        describeHead(head)
      })`,
      undefined,
      { cause: error },
    );
  }

  /** The program of the latest call (for {@linkcode #notRpc}'s message). */
  #program: number | undefined;

  #failCall(connection: Connection, xid: number, what: string, cause: unknown): void {
    const call = connection.pending.get(xid);
    if (!call) return;
    const detail = cause instanceof Error ? `: ${cause.message}` : "";
    this.#failOrKeep(
      connection,
      call,
      new RpcProtocolError(
        `malformed ${what} for xid 0x${
          xid.toString(16).padStart(8, "0")
        } from ${this.#endpoint()}${detail}`,
        xid,
        { cause },
      ),
    );
  }

  #onReply(connection: Connection, xid: number, r: XdrReader): void {
    const call = connection.pending.get(xid);
    if (!call) return; // unknown, timed out or aborted: ignored
    let body;
    try {
      body = readReplyBody(r);
    } catch (error) {
      this.#failCall(connection, xid, "reply", error);
      return;
    }
    if (body.replyStat === MSG_ACCEPTED && body.acceptStat === SUCCESS) {
      if (call.options.attempt) call.options.attempt.receivedBytes = r.offset + r.remaining;
      const reply = { xid, reader: r, verifier: body.verifier };
      if (call.parked) this.#keepLate(connection, call, reply);
      else this.#succeed(call, reply);
      return;
    }
    const { program, version, procedure } = call.options;
    const error = replyError({ xid, program, version, procedure }, body);
    this.#failOrKeep(
      connection,
      call,
      error ?? new RpcProtocolError(`unexpected reply status from ${this.#endpoint()}`, xid),
    );
  }

  /** Fails `call`, or, parked, keeps the error for the call that takes it over. */
  #failOrKeep(connection: Connection, call: PendingCall, error: unknown): void {
    if (!call.parked) {
      this.#fail(call, error);
      return;
    }
    if (call.xid !== undefined) connection.pending.delete(call.xid);
    call.late = { error };
  }

  /**
   * The reply to a parked call, kept for the call of its attempt that takes
   * it over (`#takeOver`); decoded now, while its record is whole.
   */
  #keepLate(connection: Connection, call: PendingCall, reply: RpcReply): void {
    if (call.xid !== undefined) connection.pending.delete(call.xid);
    if (!call.decodes) {
      call.late = { value: reply };
      return;
    }
    try {
      call.late = { value: (call.options as DecodedCallOptions<unknown>).decode(reply) };
    } catch (error) {
      call.late = { error };
    }
  }

  // Serving the backchannel -------------------------------------------------

  async #serveCall(connection: Connection, xid: number, r: XdrReader): Promise<void> {
    connection.serving++;
    try {
      const reply = await this.#answer(xid, r);
      // The reply goes back on the connection the call came in on.
      while (connection.drain && !connection.closedWith) await connection.drain;
      if (!connection.closedWith) this.#write(connection, reply, 0);
    } catch {
      // Nothing a peer sends may crash the client; the caller times out.
    } finally {
      connection.serving--;
    }
  }

  /** Builds the record (mark reserved at offset 0) answering an incoming CALL. */
  #answer(xid: number, r: XdrReader): Promise<XdrWriter> {
    return answerCall(xid, r, (program) => this.#handlers.get(program));
  }
}

/** The program number of NFS (RFC 7530 §16.1), to name what a peer was taken for. */
const NFS_PROGRAM = 100003;

/** Adds the start of `data` to the connection's first bytes, up to {@linkcode HEAD_BYTES}. */
function keepHead(connection: Connection, data: Uint8Array): void {
  const held = connection.head?.length ?? 0;
  if (held >= HEAD_BYTES) return;
  const head = new Uint8Array(Math.min(HEAD_BYTES, held + data.length));
  if (connection.head) head.set(connection.head);
  head.set(data.subarray(0, head.length - held), held);
  connection.head = head;
}

/**
 * A peer's first bytes, shown: as text in quotes while they are printable
 * ASCII (`"HTTP/1.1 400 Bad"`, `"SSH-2.0-OpenSSH_"`), else in hex
 * (`0x16030100…`, a TLS record).
 */
function describeHead(head: Uint8Array): string {
  let text = 0;
  while (text < head.length && head[text]! >= 0x20 && head[text]! < 0x7f) text++;
  if (text >= 4) return JSON.stringify(String.fromCharCode(...head.subarray(0, text)));
  return `0x${Array.from(head, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * A record's buffer: large ones (READ replies) from the shared pool, which
 * their final reader may hand back (socket_buffers.ts); small ones of their own.
 */
function allocateRecord(size: number): Uint8Array {
  if (size >= POOLED_RECORD_MIN) return recordBuffers.take(size);
  if (size > SLAB_RECORD_MAX) return new Uint8Array(size);
  // Small records (most replies) are carved out of a shared slab, as Node's
  // Buffer.allocUnsafe does: an ArrayBuffer per reply, made and collected,
  // was a good part of a small call's cost. A slab is never reused; it is
  // collected once nothing refers to any of its records (a value kept from
  // a reply holds at most one slab).
  if (slabAt + size > slab.length) {
    slab = new Uint8Array(SLAB_SIZE);
    slabAt = 0;
  }
  const record = slab.subarray(slabAt, slabAt + size);
  slabAt += (size + 7) & ~7;
  return record;
}

/** Records up to this size share slabs of `SLAB_SIZE` bytes. */
const SLAB_RECORD_MAX = 1024;
const SLAB_SIZE = 8 * 1024;
let slab = new Uint8Array(SLAB_SIZE);
let slabAt = 0;

/**
 * Makes later senders wait for `connection` to drain (`#write`). Apart from
 * it: a closure in `#write` made a scope object in every call.
 */
function holdWrites(connection: Connection): void {
  connection.drain = new Promise<void>((resolve) => connection.releaseDrain = resolve);
}

/** `chunks` without their first `count` bytes. */
function skipBytes(chunks: readonly Uint8Array[], count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const chunk of chunks) {
    if (count >= chunk.length) {
      count -= chunk.length;
      continue;
    }
    out.push(count > 0 ? chunk.subarray(count) : chunk);
    count = 0;
  }
  return out;
}

function nonNegative(name: string, value: number): number {
  if (typeof value !== "number" || Number.isNaN(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative number, got ${value}`);
  }
  return value;
}
