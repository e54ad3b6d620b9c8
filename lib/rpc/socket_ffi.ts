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
 * `connect`, `recv` and `send` itself. Readiness comes from one small worker
 * for the whole process (the poller), which blocks in `epoll_wait(2)` on one
 * epoll set holding every socket of this backend, each one-shot
 * (`EPOLLONESHOT`). For each event it ORs the event bits into the socket's
 * slot of a SharedArrayBuffer and bumps the slot's counter; the main thread
 * waits for the counter with `Atomics.waitAsync`, then sends what is queued
 * and receives until the kernel has nothing more (`EAGAIN`; a read budget
 * per turn hands the rest to `setImmediate`, so timers and output run in
 * between), and only then arms the socket again (`EPOLL_CTL_MOD`) and
 * waits. Arming a socket that is already readable reports it at once, so
 * data that arrived after the last read always wakes it again; and while
 * the main thread reads, the poller is not woken for every segment that
 * arrives (a 1 GiB `cat`: 3,400 -> 340 poller wakes, 3-4% less CPU, for one
 * `epoll_ctl` per wait).
 *
 * The poller is started with the first socket, unref'd (it never keeps the
 * process alive; an open socket does, through a timer held while it is
 * open) and lives as long as the process (`process.exit()` ends it; a
 * socket is taken out of the set before it is closed). Its source is a
 * function of this module turned into a Blob URL, so the binary needs no
 * second entry point.
 *
 * Measured (1 GiB from a local sender, receiver CPU, compiled): recv through
 * this design 0.16-0.17 CPU-s and 46 MB peak, against 0.21-0.40 and 66-79 MB
 * for a `Bun.connect` loop; a small request/response round trip costs ~10 µs
 * more CPU than through `Bun.connect` (one thread hand-off per wake).
 *
 * Only on Linux x64/arm64 in Bun (the constants and `struct epoll_event`
 * layout below are Linux's); elsewhere `Bun.connect` (socket_bun.ts) is
 * the default. `NFS4_SOCKET=bun` selects it in the binary as well.
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
const EPOLL_CLOEXEC = 0x80000;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const SOL_SOCKET = 1;
const SO_ERROR = 4;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const SHUT_RDWR = 2;
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CTL_MOD = 3;
const EPOLLIN = 0x1;
const EPOLLOUT = 0x4;
const EPOLLERR = 0x8;
const EPOLLHUP = 0x10;
const EPOLLRDHUP = 0x2000;
const EPOLLONESHOT = 0x40000000;
const EINTR = 4;
const EAGAIN = 11;
const EINPROGRESS = 115;

/** Sockets this process may have open through this backend at once (more fall back to Bun.connect). */
const MAX_SOCKETS = 1024;
/** Bytes received in one turn of the event loop before the rest waits for `setImmediate`. */
const READ_BUDGET = 4 * 1024 * 1024;
/** Events the poller takes from one `epoll_wait`. */
const POLL_BATCH = 64;

type Pointer = number;
type FfiArg = number | bigint | ArrayBufferView | null;

/** The C functions used, as bun:ffi binds them. */
interface Libc {
  socket(domain: number, type: number, protocol: number): number;
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
  epoll_create1(flags: number): number;
  epoll_ctl(epfd: number, op: number, fd: number, event: ArrayBufferView | null): number;
  inet_pton(family: number, text: ArrayBufferView, out: ArrayBufferView): number;
  if_nametoindex(name: ArrayBufferView): number;
  __errno_location(): Pointer;
}

/** The part of bun:ffi used here. */
interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: string[]; returns: string }>,
  ): { symbols: Record<string, (...args: FfiArg[]) => number> };
  read: { i32(pointer: Pointer, offset?: number): number };
}

/** `struct epoll_event`: packed on x86-64 (12 bytes), naturally aligned elsewhere (16). */
const EPOLL_EVENT_SIZE = process.arch === "x64" ? 12 : 16;
const EPOLL_DATA_OFFSET = process.arch === "x64" ? 4 : 8;

/** The C library bound through bun:ffi, or undefined where that is not possible. */
let bound: { libc: Libc; ffi: BunFfi } | null | undefined;

function bind(): { libc: Libc; ffi: BunFfi } | undefined {
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
      connect: { args: [i32, ptr, u32], returns: i32 },
      recv: { args: [i32, ptr, u64, i32], returns: ssize },
      send: { args: [i32, ptr, u64, i32], returns: ssize },
      shutdown: { args: [i32, i32], returns: i32 },
      close: { args: [i32], returns: i32 },
      setsockopt: { args: [i32, i32, i32, ptr, u32], returns: i32 },
      getsockopt: { args: [i32, i32, i32, ptr, ptr], returns: i32 },
      getsockname: { args: [i32, ptr, ptr], returns: i32 },
      getpeername: { args: [i32, ptr, ptr], returns: i32 },
      epoll_create1: { args: [i32], returns: i32 },
      epoll_ctl: { args: [i32, i32, i32, ptr], returns: i32 },
      inet_pton: { args: [i32, ptr, ptr], returns: i32 },
      if_nametoindex: { args: [ptr], returns: u32 },
      __errno_location: { args: [], returns: ptr },
    });
    bound = { libc: symbols as unknown as Libc, ffi };
  } catch {
    bound = null; // no glibc (musl, say): Bun.connect it is
  }
  return bound ?? undefined;
}

/** Whether this backend can run here (Bun on Linux x64/arm64 with glibc). */
export function ffiAvailable(): boolean {
  return bind() !== undefined;
}

/**
 * The poller's code, run in the worker (from its source text: it must not
 * refer to anything outside itself). Blocks in `epoll_wait` for ever; for
 * each event ORs its bits into the slot's flags and bumps the slot's
 * counter.
 */
function pollerMain(): void {
  const scope = self as unknown as { onmessage: (event: MessageEvent) => void };
  scope.onmessage = (event: MessageEvent) => {
    const { shared, epfd, slots, eventSize, dataOffset, batch } = event.data as {
      shared: SharedArrayBuffer;
      epfd: number;
      slots: number;
      eventSize: number;
      dataOffset: number;
      batch: number;
    };
    const ffi = (import.meta as unknown as { require(id: string): BunFfi }).require("bun:ffi");
    const epoll_wait = ffi.dlopen("libc.so.6", {
      epoll_wait: { args: ["i32", "ptr", "i32", "i32"], returns: "i32" },
    }).symbols.epoll_wait!;
    const control = new Int32Array(shared);
    const events = new Uint8Array(eventSize * batch);
    const view = new DataView(events.buffer);
    for (;;) {
      const n = epoll_wait(epfd, events, batch, -1);
      for (let i = 0; i < n; i++) {
        const bits = view.getUint32(i * eventSize, true);
        const slot = view.getUint32(i * eventSize + dataOffset, true);
        if (slot >= slots) continue;
        Atomics.or(control, slots + slot, bits | 0);
        Atomics.add(control, slot, 1);
        Atomics.notify(control, slot);
      }
    }
  };
}

/** The process's one epoll set, its poller and the slots of its sockets. */
class Poller {
  /** [0, MAX_SOCKETS): each slot's event counter; [MAX_SOCKETS, 2×): its pending event bits. */
  readonly control = new Int32Array(new SharedArrayBuffer(8 * MAX_SOCKETS));
  readonly epfd: number;
  readonly #free: number[] = [];
  readonly #libc: Libc;
  readonly #event = new Uint8Array(EPOLL_EVENT_SIZE);
  readonly #eventView = new DataView(this.#event.buffer);

  constructor(libc: Libc) {
    this.#libc = libc;
    this.epfd = libc.epoll_create1(EPOLL_CLOEXEC);
    if (this.epfd < 0) throw new Error("epoll_create1 failed");
    for (let slot = MAX_SOCKETS - 1; slot >= 0; slot--) this.#free.push(slot);
    const source = `(${pollerMain.toString()})()`;
    const url = URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
    // `smol`: a small heap for a worker that allocates nothing after its start.
    const worker = new Worker(url, { smol: true } as WorkerOptions) as Worker & {
      unref?: () => void;
    };
    worker.postMessage({
      shared: this.control.buffer,
      epfd: this.epfd,
      slots: MAX_SOCKETS,
      eventSize: EPOLL_EVENT_SIZE,
      dataOffset: EPOLL_DATA_OFFSET,
      batch: POLL_BATCH,
    });
    // A poller that fails to start (it binds epoll_wait itself) would leave
    // sockets unwoken: later connections use Bun.connect (those already
    // waiting end at their deadlines).
    worker.addEventListener("error", () => {
      bound = null;
      poller = undefined;
    });
    worker.unref?.();
  }

  /** A free slot, its counter and flags cleared; undefined when all are taken. */
  takeSlot(): number | undefined {
    const slot = this.#free.pop();
    if (slot === undefined) return undefined;
    Atomics.store(this.control, MAX_SOCKETS + slot, 0);
    return slot;
  }

  releaseSlot(slot: number): void {
    this.#free.push(slot);
  }

  /** Adds (`EPOLL_CTL_ADD`) or changes (`EPOLL_CTL_MOD`) what `fd` is watched for. */
  watch(op: number, fd: number, slot: number, events: number): boolean {
    this.#eventView.setUint32(0, events >>> 0, true);
    this.#eventView.setUint32(EPOLL_DATA_OFFSET, slot, true);
    this.#eventView.setUint32(EPOLL_DATA_OFFSET + 4, 0, true);
    return this.#libc.epoll_ctl(this.epfd, op, fd, this.#event) === 0;
  }

  forget(fd: number): void {
    this.#libc.epoll_ctl(this.epfd, EPOLL_CTL_DEL, fd, this.#event);
  }
}

let poller: Poller | undefined;

/** The error a failed call left in errno, with node:net's `code`. */
function errnoError(ffi: BunFfi, libc: Libc, what: string): Error & { code?: string } {
  const errno = ffi.read.i32(libc.__errno_location());
  return errnoCodeError(errno, what);
}

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
  // Not here, or given up (see the Poller): Bun.connect.
  if (!binding) return connectBun(endpoint, events, readBufferSize);
  const { libc, ffi } = binding;
  try {
    poller ??= new Poller(libc);
  } catch {
    // No epoll set or no worker here: this process uses Bun.connect instead.
    bound = null;
    return connectBun(endpoint, events, readBufferSize);
  }
  const { control } = poller;
  const scratch = new Uint8Array(Math.max(1, readBufferSize));
  const intValue = new Int32Array(1);
  const peer = new Uint8Array(28);
  const lengthValue = new Uint32Array(1);

  let fd = -1;
  let slot: number | undefined;
  let state: "resolving" | "connecting" | "open" | "done" = "resolving";
  /** `state` as it is now (after calls that may have changed it). */
  const isOpen = () => state === "open";
  let closed = false;
  /** The slot's counter as last seen: a change means events to look at. */
  let seen = 0;
  let watchingOut = true;
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

  /** Ends the socket: out of the epoll set, shut down, closed; `closed()` follows. */
  const destroy = () => {
    if (state === "done") return;
    state = "done";
    dropQueue();
    if (fd >= 0) {
      poller!.forget(fd);
      libc.shutdown(fd, SHUT_RDWR);
      libc.close(fd);
      fd = -1;
    }
    if (slot !== undefined) {
      // A wait still pending on the slot ends now (and finds the socket done).
      Atomics.add(control, slot, 1);
      Atomics.notify(control, slot);
      poller!.releaseSlot(slot);
      slot = undefined;
    }
    clearInterval(keepAlive);
    keepAlive = undefined;
    queueMicrotask(finish);
  };

  const fail = (error: Error & { code?: unknown }) => {
    if (state === "done") return;
    events.error(error);
    destroy();
  };

  /** Waits for the poller to bump the slot's counter past `seen`. */
  const arm = () => {
    if (state === "done" || slot === undefined) return;
    // One-shot: the event that woke us disarmed the socket; arm it again
    // (a socket already readable or writable reports at once).
    if (fd >= 0) poller!.watch(EPOLL_CTL_MOD, fd, slot, watchedEvents(watchingOut));
    const wait = Atomics.waitAsync(control, slot, seen);
    if (wait.async) void wait.value.then(service);
    else setImmediate(service);
  };

  /** Sends what the kernel takes; returns false on failure (the socket is then destroyed). */
  const pump = (): boolean => {
    while (queue.length > 0 && state === "open") {
      const { chunk, done } = queue[0]!;
      const rest = written === 0 ? chunk : chunk.subarray(written);
      const n = libc.send(fd, rest, rest.length, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) {
        const errno = ffi.read.i32(libc.__errno_location());
        if (errno === EINTR) continue;
        if (errno === EAGAIN) break;
        fail(errnoCodeError(errno, "send"));
        return false;
      }
      written += n;
      if (written < chunk.length) continue;
      queue.shift();
      written = 0;
      queueMicrotask(done);
    }
    // Writability is watched only while something waits to be sent.
    const wantOut = queue.length > 0;
    if (state === "open" && wantOut !== watchingOut && slot !== undefined) {
      watchingOut = wantOut;
      poller!.watch(EPOLL_CTL_MOD, fd, slot, watchedEvents(wantOut));
    }
    return state === "open";
  };

  /** Receives until the kernel has nothing more, or the turn's budget is spent. */
  const drain = () => {
    let taken = 0;
    while (state === "open") {
      const target = events.readTarget();
      const buffer = target ?? scratch;
      const n = libc.recv(fd, buffer, buffer.length, MSG_DONTWAIT);
      if (n > 0) {
        collectionHints.received(n);
        events.received(buffer.subarray(0, n), target ? "target" : "transient");
        taken += n;
        if (taken >= READ_BUDGET) {
          setImmediate(service); // more may wait: the socket is not armed until EAGAIN
          return;
        }
        continue;
      }
      if (n === 0) {
        destroy(); // the server closed its side: as node:net without allowHalfOpen, close ours
        return;
      }
      const errno = ffi.read.i32(libc.__errno_location());
      if (errno === EINTR) continue;
      if (errno !== EAGAIN) fail(errnoCodeError(errno, "recv"));
      break;
    }
    arm();
  };

  /** Looks at the slot's events: finishes a connect, sends, receives. */
  function service(): void {
    if (state === "done" || slot === undefined) return;
    seen = Atomics.load(control, slot);
    const bits = Atomics.exchange(control, MAX_SOCKETS + slot, 0);
    if (state === "connecting") {
      if ((bits & (EPOLLOUT | EPOLLERR | EPOLLHUP)) === 0) {
        arm();
        return;
      }
      lengthValue[0] = 4;
      if (libc.getsockopt(fd, SOL_SOCKET, SO_ERROR, intValue, lengthValue) !== 0) {
        fail(errnoError(ffi, libc, "getsockopt"));
        return;
      }
      if (intValue[0] !== 0) {
        fail(errnoCodeError(intValue[0]!, "connect"));
        return;
      }
      // Events are hints: the bits may be a closed socket's that had this
      // slot before (the poller can apply them after the slot was taken
      // again). Only a peer address proves the connection is made.
      lengthValue[0] = peer.length;
      if (libc.getpeername(fd, peer, lengthValue) !== 0) {
        arm();
        return;
      }
      established();
      if (!isOpen()) return;
    }
    if (queue.length > 0 && !pump()) return;
    if ((bits & EPOLLERR) !== 0) {
      lengthValue[0] = 4;
      libc.getsockopt(fd, SOL_SOCKET, SO_ERROR, intValue, lengthValue);
      if (intValue[0] !== 0) {
        fail(errnoCodeError(intValue[0]!, "socket"));
        return;
      }
    }
    drain();
  }

  const watchedEvents = (out: boolean) =>
    EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP | EPOLLONESHOT | (out ? EPOLLOUT : 0);

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
      fail(errnoError(ffi, libc, "socket"));
      return;
    }
    slot = poller!.takeSlot();
    if (slot === undefined) {
      fail(Object.assign(new Error("too many sockets"), { code: "EMFILE" }));
      return;
    }
    seen = Atomics.load(control, slot);
    if (!poller!.watch(EPOLL_CTL_ADD, fd, slot, watchedEvents(true))) {
      fail(errnoError(ffi, libc, "epoll_ctl"));
      return;
    }
    state = "connecting";
    if (libc.connect(fd, sa, sa.length) === 0) {
      established();
      if (isOpen()) drain();
      return;
    }
    const errno = ffi.read.i32(libc.__errno_location());
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
