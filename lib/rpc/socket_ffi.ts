/**
 * The FFI socket backend of the single binary: a TCP socket of our own,
 * driven through the C library with Bun's FFI (`bun:ffi`), so that every
 * read lands where the transport names (the rest of a large record's own
 * buffer) with the kernel's copy as the only one.
 *
 * Why: Bun's socket APIs (`Bun.connect` and `node:net` alike) make a fresh
 * buffer of every socket read. For a 1 GiB download that is ~2,000 buffers
 * of ~512 KiB to allocate, fill, copy into the record and leave to the
 * collector: 0.2-0.4 CPU-s per GiB and 30-40 MB of dead buffers at any
 * moment. Here a read is one `recv(2)` into the record's buffer.
 *
 * How: the main thread owns each socket (non-blocking) and does all of its
 * `connect`, `recv` and `send` itself. Readiness comes from the kernel as a
 * signal: each socket is in signal-driven mode (`O_ASYNC`, owned by the
 * main thread through `F_SETOWN_EX`), so the kernel sends SIGIO to the
 * main thread when data arrives, the connection is made or fails, or room
 * comes back for a send that had found none; Bun turns the signal into an
 * event on its event loop, and the one handler for the process services the
 * sockets waiting for it. Serviced, a socket sends what is queued and
 * receives until the kernel has nothing more (`EAGAIN`; a read budget per
 * turn hands the rest to `setImmediate`, so timers and output run in
 * between). Once a wake has read 64 KiB (a bulk record) the socket leaves
 * signal-driven mode, so segments landing while it reads send no signal;
 * the wake after a bulk one leaves it from the start. A quiet socket waits
 * again only after the records it handed over have been dealt with (an
 * immediate, after their promises' reactions), and is then put back and
 * looked at once more (a peek, and a send if something waits): what
 * arrived meanwhile, which sent no signal, is found then. Each signal that
 * lands while the main thread is busy is serviced later, usually for
 * nothing: these two rules halve the signals of a 1 GiB `cat` (2,300-3,200
 * → 1,400-1,700) and cut its `recv` calls by a quarter, for 3% less CPU.
 * A socket that waits for the rest of a large record
 * sets its low-water mark (`SO_RCVLOWAT`) to that rest, so the kernel
 * signals once when it is all there (or the stream ends), not per segment:
 * 1 GiB `cat`, 20% fewer signals, 25% fewer `recv` calls, 3-10% less CPU.
 * While it streams replies, a socket in the `nfs4` command waits for them
 * in `poll(2)` for up to 20 ms instead of by signal
 * ({@linkcode setStreamingReplyWait}).
 * Bun's signal handler restarts interrupted system calls (SA_RESTART), and
 * the signal goes to the main thread only, whose own calls here take
 * `EINTR` as "again".
 *
 * Measured (1 GiB `cat` from Ganesha, the binary, interleaved runs): the
 * same CPU as a worker thread blocked in `epoll_wait(2)` waking the main
 * thread through a SharedArrayBuffer (this module's design until then),
 * and 4-5 MB less peak memory (the worker's heap and thread).
 *
 * Only on Linux x64/arm64 in Bun (the constants below are Linux's), and
 * only when the program asked for it (socket_backend.ts `useFfiSockets`,
 * which the `nfs4` command calls; or `NFS4_SOCKET=ffi`): the SIGIO handler
 * is the whole process's. Otherwise `Bun.connect` (socket_bun.ts) is the
 * default; `NFS4_SOCKET=bun` selects it in the binary as well.
 * @module
 */

import process from "node:process";
import type { RpcSocket, SocketEndpoint, SocketEvents } from "./socket_backend.ts";
import { bareHost, connectBun } from "./socket_bun.ts";
import { collectionHints } from "./collection_hints.ts";
import { errnoCode } from "../os/libc.ts";
import { builtin, isIPv4Text } from "../os/builtins.ts";

// Linux's values (x86-64 and arm64 share them).
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0x800;
const SOCK_CLOEXEC = 0x80000;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_ERROR = 4;
const SO_RCVLOWAT = 18;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const SHUT_RDWR = 2;
const MSG_PEEK = 0x2;
const F_GETFL = 3;
const F_SETFL = 4;
const F_SETOWN_EX = 15;
const F_OWNER_TID = 0;
const O_ASYNC = 0x2000;
const EINTR = 4;
const EAGAIN = 11;
const EINPROGRESS = 115;
const POLLIN = 0x1;

/**
 * Bytes received in one wake after which a socket leaves signal-driven mode
 * until it waits again: a bulk read would otherwise take a signal per
 * segment (11% more CPU for a 1 GiB `cat`), while a small reply is read
 * without the two extra calls that leaving and re-entering the mode cost
 * (`cat` of 1,000 small files: 7% more CPU when every wake paid them).
 */
const QUIET_AFTER_BYTES = 64 * 1024;
/** Bytes received in one turn of the event loop before the rest waits for `setImmediate`. */
const READ_BUDGET = 4 * 1024 * 1024;
/**
 * The most a socket asks the kernel to gather before it signals (its
 * `SO_RCVLOWAT`, set to what is left of a large record's fragment while the
 * socket waits for it). Linux caps the mark at half the largest receive
 * buffer (`tcp_rmem`) and grows the socket's buffer to hold it.
 */
const LOW_WATER_MAX = 4 * 1024 * 1024;

/**
 * How long a streaming socket may hold the main thread in `poll(2)` for a
 * reply already on its way; 0 (the default) never. See
 * {@linkcode setStreamingReplyWait}.
 */
let streamingReplyWaitMs = 0;
/** FFI sockets open (made and not yet closed) in this process. */
let openSockets = 0;

/** How the FFI sockets of this process have waited to read, since it started. */
const readWaits = { inPoll: 0, forSignal: 0 };

/**
 * How often the FFI sockets waited for data in `poll(2)` (see
 * {@linkcode setStreamingReplyWait}) and how often they waited for SIGIO,
 * since the process started: what the tests hold the streaming wait to.
 */
export function ffiReadWaits(): { readonly inPoll: number; readonly forSignal: number } {
  return { ...readWaits };
}

/**
 * Lets a socket that is streaming replies (its last wake read a bulk record,
 * and calls still wait for theirs) wait for the next bytes in `poll(2)` on
 * the main thread, for at most `ms`, instead of going back to the event
 * loop to wait for SIGIO: before the rest of a record it is reading (its
 * low-water mark set to that rest, so one wake-up brings it all), and
 * between records for the next reply's first bytes. Each such wait saves a
 * signal's round trip (the kernel's signal, Bun's handler waking its event
 * loop through a pipe, the loop's turn, `rt_sigreturn`, the two `fcntl`s
 * that leave and enter signal-driven mode): a 1 GiB `cat` makes 9,700
 * system calls instead of 16,300 (`strace -c`) and takes 2-7% less CPU,
 * the more the busier the machine (medians of interleaved runs: 0.304 →
 * 0.297 s on a quiet one, 25 runs; 0.390 → 0.363 s under load, 21 runs;
 * 4.0 0.304 → 0.281, 13 runs), at the same server CPU.
 *
 * Only for a process that owns its event loop (the `nfs4` command, which
 * sets it): the main thread runs nothing else during the wait, so timers,
 * other I/O and a server in the same process are held up for as long as
 * `ms`: `ms` bounds all the waits one turn of the event loop makes together
 * (the next reply's first bytes, then its rest). Never while this socket
 * has something to send or has just handed back a chunk sent (the
 * transport then has more for it), nor while another FFI socket is open
 * (it would wait behind this one). A signal (Ctrl-C) ends the wait at once
 * (`poll(2)` is never restarted, SA_RESTART or not; one that lands in the
 * instant before the wait begins is handled when it ends, within `ms`), as
 * does the connection's end or failure; a wait that times out falls back to
 * SIGIO. `ms` is at most 2^31 - 1 (poll's limit).
 */
export function setStreamingReplyWait(ms: number): void {
  streamingReplyWaitMs = Number.isFinite(ms) && ms > 0 ? Math.min(Math.floor(ms), 0x7fffffff) : 0;
}

type Pointer = number;
type FfiArg = number | bigint | ArrayBufferView | null;

/** The C functions used, as bun:ffi binds them. */
interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, address: ArrayBufferView, length: number): number;
  connect(fd: number, address: ArrayBufferView, length: number): number;
  recv(fd: number, buffer: ArrayBufferView, length: number, flags: number): number;
  send(fd: number, buffer: ArrayBufferView, length: number, flags: number): number;
  shutdown(fd: number, how: number): number;
  close(fd: number): number;
  setsockopt(
    fd: number,
    level: number,
    name: number,
    value: ArrayBufferView,
    length: number,
  ): number;
  getsockopt(
    fd: number,
    level: number,
    name: number,
    value: ArrayBufferView,
    length: ArrayBufferView,
  ): number;
  getsockname(fd: number, address: ArrayBufferView, length: ArrayBufferView): number;
  getpeername(fd: number, address: ArrayBufferView, length: ArrayBufferView): number;
  /** fcntl(2) with an int argument (F_GETFL, F_SETFL). */
  fcntl(fd: number, command: number, argument: number): number;
  gettid(): number;
  inet_pton(family: number, text: ArrayBufferView, out: ArrayBufferView): number;
  if_nametoindex(name: ArrayBufferView): number;
  __errno_location(): Pointer;
  /** poll(2) on an array of `struct pollfd` (int fd; short events; short revents). */
  poll(fds: ArrayBufferView, count: number, timeoutMs: number): number;
}

/** The part of bun:ffi used here. */
interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: string[]; returns: string }>,
  ): { symbols: Record<string, (...args: FfiArg[]) => number> };
  read: { i32(pointer: Pointer, offset?: number): number };
}

/** The C library bound through bun:ffi, or undefined where that is not possible. */
let bound: { libc: Libc; ffi: BunFfi; setOwner: SetOwner } | null | undefined;

/** fcntl(fd, F_SETOWN_EX, &{ type, pid }): the one call with a pointer argument. */
type SetOwner = (fd: number, command: number, owner: ArrayBufferView) => number;

function bind(): { libc: Libc; ffi: BunFfi; setOwner: SetOwner } | undefined {
  if (bound !== undefined) return bound ?? undefined;
  bound = null;
  // bun:ffi as lib/os/libc.ts reaches it: not an import, so the module
  // also loads (and type-checks) under Deno and Node.
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown })
    .getBuiltinModule;
  if (!("Bun" in globalThis) || typeof getBuiltin !== "function") return undefined;
  if (process.platform !== "linux" || (process.arch !== "x64" && process.arch !== "arm64")) {
    return undefined;
  }
  try {
    const ffi = getBuiltin("bun:ffi") as BunFfi;
    const i32 = "i32", u32 = "u32", u64 = "u64", ptr = "ptr", ssize = "i64_fast";
    const { symbols } = ffi.dlopen("libc.so.6", {
      socket: { args: [i32, i32, i32], returns: i32 },
      bind: { args: [i32, ptr, u32], returns: i32 },
      connect: { args: [i32, ptr, u32], returns: i32 },
      recv: { args: [i32, ptr, u64, i32], returns: ssize },
      send: { args: [i32, ptr, u64, i32], returns: ssize },
      shutdown: { args: [i32, i32], returns: i32 },
      close: { args: [i32], returns: i32 },
      setsockopt: { args: [i32, i32, i32, ptr, u32], returns: i32 },
      getsockopt: { args: [i32, i32, i32, ptr, ptr], returns: i32 },
      getsockname: { args: [i32, ptr, ptr], returns: i32 },
      getpeername: { args: [i32, ptr, ptr], returns: i32 },
      fcntl: { args: [i32, i32, i32], returns: i32 },
      gettid: { args: [], returns: i32 },
      inet_pton: { args: [i32, ptr, ptr], returns: i32 },
      if_nametoindex: { args: [ptr], returns: u32 },
      __errno_location: { args: [], returns: ptr },
      poll: { args: [ptr, u64, i32], returns: i32 },
    });
    // fcntl is variadic: a second binding for the pointer form.
    const setOwner = ffi.dlopen("libc.so.6", {
      fcntl: { args: [i32, i32, ptr], returns: i32 },
    }).symbols["fcntl"] as unknown as SetOwner;
    bound = { libc: symbols as unknown as Libc, ffi, setOwner };
  } catch {
    bound = null; // no glibc (musl, say): Bun.connect it is
  }
  return bound ?? undefined;
}

/** Whether this backend can run here (Bun on Linux x64/arm64 with glibc). */
export function ffiAvailable(): boolean {
  return bind() !== undefined;
}

/** `struct f_owner_ex` naming this (the main) thread: SIGIO goes to it alone. */
function ownSignals(binding: { libc: Libc; setOwner: SetOwner }, fd: number): boolean {
  const owner = new Int32Array([F_OWNER_TID, binding.libc.gettid()]);
  return binding.setOwner(fd, F_SETOWN_EX, owner) === 0;
}

let signalDrivenChecked: boolean | undefined;

/** Whether a socket can be made signal-driven here (tried once, on a socket never connected). */
function signalDrivenWorks(binding: { libc: Libc; setOwner: SetOwner }): boolean {
  if (signalDrivenChecked !== undefined) return signalDrivenChecked;
  const { libc } = binding;
  const fd = libc.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false; // out of descriptors now, perhaps: ask again next time
  try {
    const flags = libc.fcntl(fd, F_GETFL, 0);
    signalDrivenChecked = flags >= 0 && ownSignals(binding, fd) &&
      libc.fcntl(fd, F_SETFL, flags | O_ASYNC) === 0;
  } catch {
    signalDrivenChecked = false;
  } finally {
    libc.close(fd);
  }
  return signalDrivenChecked;
}

/**
 * Sockets waiting for SIGIO: each one's service function, once. An array,
 * not a Set: JavaScriptCore gives a Set new storage at every `clear()` (and
 * every few deletions) and links the old storage to it, so a Set emptied at
 * every signal made a chain of them that young collections kept promoting,
 * about one per READ of a long read, freed only by a full collection.
 */
let waiting: (() => void)[] = [];
let sigioHandled = false;

function waitForSigio(service: () => void): void {
  if (!waiting.includes(service)) waiting.push(service);
}

function stopWaitingForSigio(service: () => void): void {
  const at = waiting.indexOf(service);
  if (at >= 0) waiting.splice(at, 1);
}

/**
 * Handles SIGIO for the process's life (once installed, never removed: the
 * signal's default action ends the process, and a signal already sent may
 * still arrive): every waiting socket is serviced. There are few sockets
 * (one per server a command talks to), and a socket with nothing for it
 * finds `EAGAIN` and waits again.
 */
function handleSigio(): void {
  if (sigioHandled) return;
  process.on("SIGIO", () => {
    const ready = waiting;
    waiting = [];
    for (const service of ready) service();
  });
  sigioHandled = true;
}

/** The error of a failed call from its errno, with node:net's `code`. */
function errnoCodeError(errno: number, what: string): Error & { code?: string } {
  const code = errnoCode(errno);
  return Object.assign(new Error(`${what}: ${code}`), { code, errno });
}

function cString(text: string): Uint8Array {
  return new TextEncoder().encode(`${text}\0`);
}

/** A `sockaddr_in`/`sockaddr_in6` for a numeric address, or undefined if it does not parse. */
function socketAddress(libc: Libc, address: string, family: 4 | 6, port: number) {
  if (family === 4) {
    const sa = new Uint8Array(16);
    const view = new DataView(sa.buffer);
    view.setUint16(0, AF_INET, true);
    view.setUint16(2, port, false);
    if (libc.inet_pton(AF_INET, cString(address), sa.subarray(4, 8)) !== 1) return undefined;
    return sa;
  }
  const percent = address.indexOf("%");
  const bare = percent < 0 ? address : address.slice(0, percent);
  const sa = new Uint8Array(28);
  const view = new DataView(sa.buffer);
  view.setUint16(0, AF_INET6, true);
  view.setUint16(2, port, false);
  if (libc.inet_pton(AF_INET6, cString(bare), sa.subarray(8, 24)) !== 1) return undefined;
  if (percent >= 0) {
    const zone = address.slice(percent + 1);
    const index = /^\d+$/.test(zone) ? Number(zone) : libc.if_nametoindex(cString(zone));
    if (!index) return undefined;
    view.setUint32(24, index, true);
  }
  return sa;
}

/** The text of a `sockaddr_in`/`sockaddr_in6` and its port. */
function parseSocketAddress(sa: Uint8Array): { address: string; port: number } | undefined {
  const view = new DataView(sa.buffer, sa.byteOffset, sa.byteLength);
  const family = view.getUint16(0, true);
  const port = view.getUint16(2, false);
  if (family === AF_INET) return { address: Array.from(sa.subarray(4, 8)).join("."), port };
  if (family !== AF_INET6) return undefined;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(view.getUint16(8 + 2 * i, false));
  // The longest run of two or more zero groups becomes "::" (RFC 5952 §4.2).
  let bestAt = -1, bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestAt, bestLength] = [i, j - i];
    i = j;
  }
  const hex = (list: number[]) => list.map((g) => g.toString(16)).join(":");
  const address = bestAt < 0
    ? hex(groups)
    : `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLength))}`;
  return { address, port };
}

/** Opens a socket of our own to `endpoint` (see the module's note). */
export function connectFfi(
  endpoint: SocketEndpoint,
  events: SocketEvents,
  readBufferSize: number,
): RpcSocket {
  const binding = bind();
  // Not here, or no signal-driven sockets here: Bun.connect.
  if (!binding || !signalDrivenWorks(binding)) return connectBun(endpoint, events, readBufferSize);
  const { libc, ffi } = binding;
  handleSigio();
  const scratch = new Uint8Array(Math.max(1, readBufferSize));
  const peekByte = new Uint8Array(1);
  const lastErrno = () => ffi.read.i32(libc.__errno_location());
  const intValue = new Int32Array(1);
  const peer = new Uint8Array(28);
  const lengthValue = new Uint32Array(1);
  /** One `struct pollfd` (fd, then events and revents as two shorts). */
  const pollFd = new Int32Array(2);
  /**
   * When the waits of this turn of the event loop must have ended
   * (performance.now()); 0 when none has begun. See `waitHere`.
   */
  let holdEnds = 0;
  /**
   * Set when a wait here used up its bound (or a signal ended it), until a
   * timer has run: no wait here before then. A "turn" ends where the code
   * says it does, but not every next turn comes after the timers: an
   * immediate queued from outside an immediate (a SIGIO's service, say)
   * runs before them, and two bounds would hold timers back to back.
   */
  let yieldingToTimers = false;
  const yieldToTimers = () => {
    if (yieldingToTimers) return;
    yieldingToTimers = true;
    setTimeout(() => yieldingToTimers = false, 0);
  };
  /** Whether a chunk was sent and handed back this turn: the transport may have more for it. */
  let handedBack = false;
  /** Whether the last drain stopped at its budget, its wake's reading to be continued. */
  let continuing = false;

  let fd = -1;
  /** The descriptor's status flags without O_ASYNC. */
  let statusFlags = 0;
  /** Whether the socket is signal-driven now (always, but while a wake reads a bulk record). */
  let signalled = false;
  /** Whether the last wake read a bulk record (at least QUIET_AFTER_BYTES): the next likely does too. */
  let bulk = false;
  /** The socket's `SO_RCVLOWAT` as last set (see `setLowWater`). */
  let lowWater = 1;
  let state: "resolving" | "connecting" | "open" | "done" = "resolving";
  /** `state` as it is now (after calls that may have changed it). */
  const isOpen = () => state === "open";
  let closed = false;
  let local: { address: string; port: number } | undefined;
  let remote: { address: string; port: number } | undefined;
  /** Held while the socket is open: a pending read keeps the process alive, as a socket does. */
  let keepAlive: ReturnType<typeof setInterval> | undefined = setInterval(() => {}, 1 << 30);
  /** Chunks not yet all sent, the first from `written` on. */
  const queue: { chunk: Uint8Array; done: () => void }[] = [];
  let written = 0;

  const dropQueue = () => {
    const dropped = queue.splice(0);
    written = 0;
    // Asynchronously, as when they are sent: the transport's flush must not re-enter.
    if (dropped.length > 0) queueMicrotask(() => dropped.forEach((w) => w.done()));
  };

  const finish = () => {
    if (closed) return;
    closed = true;
    events.closed();
  };

  /** Ends the socket: shut down and closed; `closed()` follows. */
  const destroy = () => {
    if (state === "done") return;
    state = "done";
    stopWaitingForSigio(service);
    dropQueue();
    if (fd >= 0) {
      libc.shutdown(fd, SHUT_RDWR);
      libc.close(fd);
      fd = -1;
      openSockets--;
    }
    clearInterval(keepAlive);
    keepAlive = undefined;
    queueMicrotask(finish);
  };

  /** Puts the socket in or out of signal-driven mode. */
  const signalDriven = (on: boolean) => {
    if (signalled === on || fd < 0) return;
    signalled = on;
    libc.fcntl(fd, F_SETFL, on ? statusFlags | O_ASYNC : statusFlags);
  };

  const fail = (error: Error & { code?: unknown }) => {
    if (state === "done") return;
    events.error(error);
    destroy();
  };

  /**
   * Waits for SIGIO. A socket taken out of signal-driven mode while it read
   * is put back and looked at once more, since nothing that happened
   * meanwhile sent a signal: data, the end of the stream or an error waiting
   * (the peek does not answer EAGAIN) mean no wait; what waits to be sent
   * is sent now, so a send that finds no room leaves the kernel to signal
   * when there is. A socket that stayed signal-driven has nothing to look
   * at again: whatever came after its last read signalled.
   */
  const arm = () => {
    if (state === "done" || fd < 0) return;
    // A turn of its own (from an immediate), or the end of a drain's.
    holdEnds = 0;
    handedBack = false;
    if (state === "open") {
      setLowWater();
      if (!isOpen()) return;
    }
    const wasQuiet = !signalled;
    // Streaming: the next reply (or the rest of this one) is on its way.
    if (
      state === "open" && wasQuiet && (events.readTarget() || (bulk && events.awaitingReplies())) &&
      waitHere()
    ) {
      serviceNow();
      return;
    }
    signalDriven(true);
    if (state === "open" && wasQuiet) {
      if (queue.length > 0 && !pump()) return;
      if (libc.recv(fd, peekByte, 1, MSG_DONTWAIT | MSG_PEEK) >= 0 || lastErrno() !== EAGAIN) {
        setImmediate(service);
        return;
      }
    }
    readWaits.forSignal++;
    waitForSigio(service);
  };

  /**
   * Sets the socket's low-water mark (`SO_RCVLOWAT`) to what is left of the
   * large record being read (the transport gives a read target only then),
   * else back to 1 byte: the kernel then signals once that much has arrived
   * (or the stream ends, or fails), not for every segment of a READ reply.
   * Never more than the record still needs, so a wait can always end: the
   * bytes that complete it are on their way, and nothing past them is
   * waited for. A read without waiting takes whatever is there, as before.
   */
  const setLowWater = () => {
    const target = events.readTarget();
    const want = target ? Math.max(1, Math.min(target.length, LOW_WATER_MAX)) : 1;
    if (want === lowWater) return;
    intValue[0] = want;
    if (libc.setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, intValue, 4) === 0) {
      lowWater = want;
    } else if (want < lowWater) {
      // A mark that cannot come down could outlast the record: end the
      // connection (its calls fail retriable) rather than wait past it.
      fail(errnoCodeError(lastErrno(), "setsockopt"));
    } // (a mark that cannot go up stays lower: more signals, as before)
  };

  /**
   * Waits in `poll(2)` for the socket to be readable, for at most what is
   * left of this turn's `streamingReplyWaitMs` (see
   * {@linkcode setStreamingReplyWait}), where that may hold nothing up: only
   * when allowed, this is the one FFI socket open, nothing waits to be sent
   * and no chunk sent this turn was handed back. Out of signal-driven mode, with the
   * low-water mark set: readable means the rest of the record is there (or
   * the stream ended or failed). Returns whether it is readable; false after
   * a timeout or a signal (EINTR), and the caller waits for SIGIO instead.
   */
  const waitHere = (): boolean => {
    if (
      streamingReplyWaitMs === 0 || openSockets !== 1 || queue.length > 0 || handedBack ||
      yieldingToTimers
    ) {
      return false;
    }
    // The bound is for the turn: a wait for a reply's first bytes and then
    // one for its rest share it.
    const now = performance.now();
    if (holdEnds === 0) holdEnds = now + streamingReplyWaitMs;
    const left = Math.ceil(holdEnds - now);
    if (left <= 0) {
      yieldToTimers();
      return false;
    }
    setLowWater();
    if (!isOpen()) return false;
    signalDriven(false);
    pollFd[0] = fd;
    pollFd[1] = POLLIN; // events; revents (the upper half) cleared
    readWaits.inPoll++;
    if (libc.poll(pollFd, 1, left) > 0) return true;
    yieldToTimers(); // the bound is up, or a signal waits for its handler
    return false;
  };

  /** Sends what the kernel takes; returns false on failure (the socket is then destroyed). */
  const pump = (): boolean => {
    while (queue.length > 0 && state === "open") {
      const { chunk, done } = queue[0]!;
      const rest = written === 0 ? chunk : chunk.subarray(written);
      const n = libc.send(fd, rest, rest.length, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) {
        const errno = lastErrno();
        if (errno === EINTR) continue;
        if (errno === EAGAIN) break;
        fail(errnoCodeError(errno, "send"));
        return false;
      }
      written += n;
      if (written < chunk.length) continue;
      queue.shift();
      written = 0;
      handedBack = true;
      queueMicrotask(done);
    }
    return state === "open";
  };

  /** Receives until the kernel has nothing more, or the turn's budget is spent. */
  const drain = () => {
    let taken = 0;
    const continued = continuing;
    continuing = false;
    /** Whether a record was handed over: its reactions must run before any wait here. */
    let handedOver = false;
    /** Whether one read in place (a large record) was: the next is likely large too. */
    let largeHandedOver = false;
    while (state === "open") {
      const target = events.readTarget();
      const buffer = target ?? scratch;
      const n = libc.recv(fd, buffer, buffer.length, MSG_DONTWAIT);
      if (n > 0) {
        collectionHints.received(n);
        if (events.received(buffer.subarray(0, n), target ? "target" : "transient")) {
          handedOver = true;
          if (target) largeHandedOver = true;
        }
        taken += n;
        // A large record: no signal for each segment that lands while it is read.
        if (taken >= QUIET_AFTER_BYTES) signalDriven(false);
        if (taken >= READ_BUDGET) {
          continuing = true;
          holdEnds = 0;
          setImmediate(service); // more may wait: the socket is not armed until EAGAIN
          return;
        }
        continue;
      }
      if (n === 0) {
        destroy(); // the server closed its side: as node:net without allowHalfOpen, close ours
        return;
      }
      const errno = lastErrno();
      if (errno === EINTR) continue;
      if (errno !== EAGAIN) fail(errnoCodeError(errno, "recv"));
      // In the middle of a record, with none handed over yet: its rest is on
      // its way, and nothing is waiting to run.
      else if (!handedOver && events.readTarget() && waitHere()) continue;
      break;
    }
    // (The rest of a wake the budget split is as bulk as the wake: the
    // read ahead of 4 MiB can fill a budget and leave a few bytes. So is a
    // wake that read only the tail of a large record; a wake that found
    // nothing changes nothing.)
    if (taken > 0) bulk = taken >= QUIET_AFTER_BYTES || continued || largeHandedOver;
    // A quiet socket waits again only once the records just handed over have
    // been dealt with (their promises' reactions run before an immediate):
    // segments of the next reply that land meanwhile send no signal, and the
    // look at the socket in arm() finds them.
    if (signalled) arm();
    else setImmediate(arm);
  };

  /** After SIGIO (or when looked at again): a turn of its own. */
  function service(): void {
    holdEnds = 0;
    handedBack = false;
    serviceNow();
  }

  /** Finishes a connect, sends, receives. */
  function serviceNow(): void {
    if (state === "done" || fd < 0) return;
    stopWaitingForSigio(service);
    if (state === "connecting") {
      lengthValue[0] = 4;
      if (libc.getsockopt(fd, SOL_SOCKET, SO_ERROR, intValue, lengthValue) !== 0) {
        fail(errnoCodeError(lastErrno(), "getsockopt"));
        return;
      }
      if (intValue[0] !== 0) {
        fail(errnoCodeError(intValue[0]!, "connect"));
        return;
      }
      // A signal is only a hint (another socket's, say): only a peer
      // address proves the connection is made.
      lengthValue[0] = peer.length;
      if (libc.getpeername(fd, peer, lengthValue) !== 0) {
        arm();
        return;
      }
      established();
      if (!isOpen()) return;
    }
    if (queue.length > 0 && !pump()) return;
    // After a bulk wake, quiet from the start: the segments that land while
    // this wake reads would each send a signal, serviced later for nothing.
    if (bulk) signalDriven(false);
    drain();
  }

  const established = () => {
    state = "open";
    const address = new Uint8Array(28);
    lengthValue[0] = address.length;
    if (libc.getsockname(fd, address, lengthValue) === 0) local = parseSocketAddress(address);
    events.connected();
    if (isOpen()) pump();
  };

  const start = async () => {
    const host = bareHost(endpoint.host);
    let address = host;
    // An address is used as it is (inet_pton checks an IPv6 one); only a
    // name is looked up.
    let family: 0 | 4 | 6 = isIPv4Text(host) ? 4 : host.includes(":") ? 6 : 0;
    if (family === 0) {
      try {
        const found = await builtin("node:dns/promises").lookup(host);
        address = found.address;
        family = found.family as 4 | 6;
      } catch (error) {
        fail(error as Error);
        return;
      }
    }
    if (state === "done") return;
    const sa = socketAddress(libc, address, family as 4 | 6, endpoint.port);
    if (!sa) {
      fail(Object.assign(new Error(`cannot use address ${address}`), { code: "EINVAL" }));
      return;
    }
    remote = { address, port: endpoint.port };
    fd = libc.socket(
      family === 6 ? AF_INET6 : AF_INET,
      SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
      0,
    );
    if (fd < 0) {
      fail(errnoCodeError(lastErrno(), "socket"));
      return;
    }
    openSockets++;
    // Signal-driven from the start: the connect's outcome signals.
    statusFlags = libc.fcntl(fd, F_GETFL, 0);
    if (statusFlags < 0 || !ownSignals(binding, fd)) {
      fail(errnoCodeError(lastErrno(), "fcntl"));
      return;
    }
    signalDriven(true);
    if (endpoint.localPort !== undefined) {
      // A reserved source port (transport.ts reservedPort). SO_REUSEADDR, as
      // the Linux client and node:net bind: a port whose last connection
      // lingers in TIME_WAIT serves another server; to the same one the
      // connect fails with EADDRNOTAVAIL and the transport tries the next.
      const local = socketAddress(
        libc,
        family === 6 ? "::" : "0.0.0.0",
        family as 4 | 6,
        endpoint.localPort,
      );
      intValue[0] = 1;
      if (
        !local || libc.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, intValue, 4) !== 0 ||
        libc.bind(fd, local, local.length) !== 0
      ) {
        fail(errnoCodeError(lastErrno(), "bind"));
        return;
      }
    }
    state = "connecting";
    if (libc.connect(fd, sa, sa.length) === 0) {
      established();
      if (isOpen()) drain();
      return;
    }
    const errno = lastErrno();
    if (errno !== EINPROGRESS && errno !== EINTR) {
      fail(errnoCodeError(errno, "connect"));
      return;
    }
    arm();
  };
  void start();

  return {
    write(chunk, done) {
      if (state === "done") {
        queueMicrotask(done);
        return;
      }
      queue.push({ chunk, done });
      if (queue.length === 1 && state === "open") pump();
    },
    setNoDelay() {
      if (fd < 0) return;
      intValue[0] = 1;
      libc.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, intValue, 4);
    },
    destroy,
    get localAddress() {
      return local?.address;
    },
    get localPort() {
      return local?.port;
    },
    get remoteAddress() {
      return remote?.address;
    },
    get remotePort() {
      return remote?.port;
    },
  };
}
