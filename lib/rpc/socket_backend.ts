/**
 * The one small interface between {@linkcode RpcTransport} and a TCP socket,
 * and the choice of the runtime API behind it.
 *
 * A backend connects, reads and writes bytes; the transport does the rest
 * (record marking, calls, timeouts, taps). Reads are driven by the backend:
 * before each read it asks `readTarget()` where the bytes should go (the rest
 * of a large record's own buffer, so they land in place) and otherwise reads
 * into a buffer of its own that it reuses. Writes are handed over one chunk
 * at a time with a callback once the runtime has taken the chunk; the
 * transport keeps at most two of them in a backend at once.
 *
 * Backends:
 * - `node` (socket_node.ts): `node:net` with `onread`; runs everywhere (Deno,
 *   Node, Bun) and is the default outside Bun.
 * - `deno` (socket_deno.ts): `Deno.connect`, reading with `conn.read()`
 *   straight into the buffer given.
 * - `ffi` (socket_ffi.ts): a socket of our own through Bun's FFI, read
 *   straight into the record's buffer; the default in Bun on Linux once the
 *   program asked for it ({@linkcode useFfiSockets}: the `nfs4` command and
 *   the single binary do), since it takes the process's SIGIO.
 * - `bun` (socket_bun.ts): `Bun.connect`, the default in Bun otherwise
 *   (a library in someone else's program, or where `ffi` cannot run).
 *
 * What was measured (1 GiB over loopback from Ganesha, CPU time of the
 * client): a bare receive loop costs the same 0.18-0.23 s through Deno's
 * `node:net` with `onread` and through `Deno.connect`, and nfs4 `cat`/`cp`
 * cost the same through either. In Bun both APIs copy each chunk out of
 * Bun's own receive buffer into a new buffer (`onread` is emulated: a
 * second copy into the buffer given follows); the bare loop costs
 * 0.21-0.24 s through `Bun.connect` and 0.33 s through `node:net`, and a
 * 1 GiB `nfs4 cat` 5-15% less CPU through `Bun.connect`. What paid most
 * was not allocating a buffer per record (socket_buffers.ts).
 *
 * `NFS4_SOCKET=node|deno|bun|ffi` in the environment picks one (the test
 * suite can be run with each); `deno` outside Deno and `bun` outside Bun
 * fall back to `node`, `ffi` where it cannot run to `bun` or `node`.
 * @module
 */

import process from "node:process";
import { connectNode } from "./socket_node.ts";
import { connectDeno, denoAvailable } from "./socket_deno.ts";
import { bunAvailable, connectBun } from "./socket_bun.ts";
import { connectFfi, ffiAvailable } from "./socket_ffi.ts";

export { setStreamingReplyWait } from "./socket_ffi.ts";

/** Whether the program asked for the FFI backend by default ({@linkcode useFfiSockets}). */
let ffiWanted = false;

/**
 * Makes the FFI socket backend (socket_ffi.ts) the default in Bun on Linux
 * for every connection made from now on. That backend installs a handler of
 * SIGIO for the whole process, never removed (the signal's default action
 * would end the process, and one already sent may still arrive), and puts
 * its sockets in signal-driven mode aimed at the main thread: a library
 * must not take a process-wide signal the program did not ask it to, so it
 * is off unless the program calls this (the `nfs4` command does, in
 * cli/connect.ts, for its fewer copies per byte read). `NFS4_SOCKET=ffi` in
 * the environment asks for it too. Nothing changes outside Bun on Linux.
 *
 * @example
 * ```ts
 * // A program that owns its process and event loop, as the nfs4 command:
 * useFfiSockets();
 * setStreamingReplyWait(20);
 * ```
 */
export function useFfiSockets(on = true): void {
  ffiWanted = on;
}

/** Where to connect. */
export interface SocketEndpoint {
  readonly host: string;
  readonly port: number;
  /**
   * The local port to connect from (a reserved one: transport.ts
   * `reservedPort`); `node` and `ffi` bind it, the others cannot. A port
   * that cannot be had fails the connect with its errno code (EACCES,
   * EADDRINUSE, EADDRNOTAVAIL).
   */
  readonly localPort?: number;
}

/** What a backend tells the transport. Called on the event loop, never re-entrantly. */
export interface SocketEvents {
  /** Established: reads start after this. */
  connected(): void;
  /**
   * Before every read: a view the next bytes may be read into (the rest of a
   * record's buffer), or undefined for the backend's own buffer. Without
   * side effects: a backend may also ask it to learn how much of the current
   * record is still to come (the FFI socket's low-water mark).
   */
  readTarget(): Uint8Array | undefined;
  /** Whether calls sent on this socket still wait for their replies. */
  awaitingReplies(): boolean;
  /**
   * Bytes arrived. `mode`: `"target"` when they were read into the start of
   * the view the last `readTarget()` gave; `"transient"` when `bytes` is a
   * view of a buffer the backend reuses (valid only during the call);
   * `"owned"` when `bytes` is the caller's to keep. Returns whether they
   * completed a record (one is handed over, its reply's reactions pending).
   */
  received(bytes: Uint8Array, mode: "target" | "transient" | "owned"): boolean;
  /** A failure; `closed()` follows. */
  error(error: Error & { code?: unknown }): void;
  /** The socket is closed (by either side, or after a failed connect); once, last. */
  closed(): void;
}

/** A connected (or connecting) socket, as the transport uses it. */
export interface RpcSocket {
  /**
   * Queues `chunk` (not copied: left untouched until `done`) and calls
   * `done` once the runtime has taken it, or the socket has failed. Chunks
   * go out in the order given.
   */
  write(chunk: Uint8Array, done: () => void): void;
  /** Disables Nagle's algorithm (calls are latency-bound). */
  setNoDelay(): void;
  /** Closes at once; queued writes are dropped (their callbacks still run), `closed()` follows. */
  destroy(): void;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
}

/** The backends by name. */
export type SocketKind = "node" | "deno" | "bun" | "ffi";

/** Opens a socket: connecting starts at once, `events.connected()` tells when it is up. */
export type SocketFactory = (
  endpoint: SocketEndpoint,
  events: SocketEvents,
  readBufferSize: number,
) => RpcSocket;

/**
 * The backend to use: `NFS4_SOCKET` when set, else `ffi` in Bun on Linux
 * when the program asked for it ({@linkcode useFfiSockets}), `bun` in Bun
 * otherwise and `node` outside Bun. (`readBufferSize` 0 means 'data'
 * events, which only the node backend has.)
 */
export function defaultSocketKind(): SocketKind {
  let wanted: string | undefined;
  try {
    // Bracket access: `env` is an index signature (noPropertyAccessFromIndexSignature).
    wanted = process.env["NFS4_SOCKET"];
  } catch {
    wanted = undefined; // no permission to read the environment
  }
  if (wanted === "deno" || wanted === "bun" || wanted === "node" || wanted === "ffi") return wanted;
  if (ffiWanted && ffiAvailable()) return "ffi";
  return bunAvailable() ? "bun" : "node";
}

/** The factory of a backend; `deno` falls back to `node` outside Deno. */
export function socketFactory(kind: SocketKind, readBufferSize: number): SocketFactory {
  if (kind === "deno" && denoAvailable() && readBufferSize > 0) return connectDeno;
  if (kind === "ffi" && ffiAvailable() && readBufferSize > 0) return connectFfi;
  if ((kind === "bun" || kind === "ffi") && bunAvailable() && readBufferSize > 0) return connectBun;
  return connectNode;
}

/** Which backend a factory from {@linkcode socketFactory} is (what actually runs after fallbacks). */
export function socketKindOf(factory: SocketFactory): SocketKind | undefined {
  if (factory === connectFfi) return "ffi";
  if (factory === connectBun) return "bun";
  if (factory === connectDeno) return "deno";
  if (factory === connectNode) return "node";
  return undefined;
}
