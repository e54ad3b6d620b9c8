/**
 * Test doubles for the CLI: an in-memory `Nfs4ClientApi` over a tree of
 * files, and writable streams that record what was written (and can close
 * like a pipe whose reader went away).
 */

import type {
  LeaseProbe,
  LockHolder,
  Nfs4ClientApi,
  OpenFile,
  StateSummary,
  WritableFile,
} from "../../lib/client/api.ts";
import type { AttributeReport, FileInfo, FileKind } from "../../lib/client/types.ts";
import type { NfsUrl } from "../../lib/client/url.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status } from "../../lib/nfs4/status.ts";
import type { CliIo, ConnectFn } from "../../cli/context.ts";
import type { GlobalOptions } from "../../cli/globals.ts";
import type { WritableLike } from "../../cli/output.ts";
import { run } from "../../cli/program.ts";

/** Attributes a test may set on a node; the rest get defaults. */
export interface NodeAttrs {
  mode?: number;
  nlink?: number;
  owner?: string;
  group?: string;
  mtime?: Date;
  spaceUsed?: bigint;
  fileid?: bigint;
  rdev?: { major: number; minor: number };
  /** The server sends no space_used (a RECOMMENDED attribute). */
  noSpaceUsed?: boolean;
  /**
   * Listed by READDIR with this rdattr_error and no other attribute (RFC
   * 7530 §5.8.1.12); stat() of it fails with the same status.
   */
  attrError?: number;
}

export type FakeNode =
  | ({ kind: "file"; data: Uint8Array } & NodeAttrs)
  | ({ kind: "directory"; children: Record<string, FakeNode> } & NodeAttrs)
  | ({ kind: "symlink"; target: string } & NodeAttrs)
  | ({ kind: "char" | "block" | "fifo" | "socket" } & NodeAttrs);

const MTIME = new Date("2024-11-20T12:00:00Z");
let nextFileid = 100n;

export function file(data: string | Uint8Array, attrs: NodeAttrs = {}): FakeNode {
  return {
    kind: "file",
    data: typeof data === "string" ? new TextEncoder().encode(data) : data,
    ...attrs,
  };
}

export function dir(children: Record<string, FakeNode>, attrs: NodeAttrs = {}): FakeNode {
  return { kind: "directory", children, ...attrs };
}

export function symlink(target: string, attrs: NodeAttrs = {}): FakeNode {
  return { kind: "symlink", target, ...attrs };
}

function nfsError(status: number, op: string, path: string): NfsError {
  return new NfsError(status, op, { path });
}

/** What a fake server was asked, for assertions. */
export interface CallLog {
  calls: string[];
  opened: number;
  closed: number;
  clientsClosed: number;
  /** The global options the last connect was given. */
  globals?: GlobalOptions;
}

/**
 * An in-memory client. Paths are absolute; symlinks in the middle of a
 * path are followed, the last only with `follow`. Errors are `NfsError`s
 * naming the plain path, as the real client's are.
 */
export class FakeClient implements Nfs4ClientApi {
  readonly minorVersion = 1;
  readonly root: FakeNode;
  readonly log: CallLog;
  readonly #ids = new Map<FakeNode, bigint>();
  /** Size of each chunk `chunks()` yields. */
  chunkSize = 7;
  /** Paths whose READDIR fails after the first entry. */
  failReaddir = new Set<string>();

  constructor(root: FakeNode, log: CallLog) {
    this.root = root;
    this.log = log;
  }

  // The fake serves the read-only commands; stateful ones are tested
  // against Ganesha and the scripted transport.
  open(): Promise<WritableFile> {
    return Promise.reject(new Error("FakeClient: open() is not faked"));
  }

  testLock(): Promise<LockHolder | undefined> {
    return Promise.reject(new Error("FakeClient: testLock() is not faked"));
  }

  sessionSlots(): number | undefined {
    return undefined;
  }

  describeState(): StateSummary {
    return {
      server: "fake:2049",
      minorVersion: 1,
      clientId: "0x0",
      ownerId: "fake",
      session: undefined,
      slots: undefined,
      leaseSeconds: 90,
      renewalSeconds: 60,
      leaseLeftMs: 90_000,
      flags: [],
      opens: [],
    };
  }

  keepLease(): void {}

  probeLease(): Promise<LeaseProbe> {
    return Promise.resolve({ answer: "NFS4_OK", ms: 0, clientId: "0x0" });
  }

  crash(): Promise<void> {
    return Promise.resolve();
  }

  injectFault(): void {}

  mkdir(): Promise<void> {
    return Promise.reject(new Error("FakeClient: mkdir() is not faked"));
  }

  symlink(): Promise<void> {
    return Promise.reject(new Error("FakeClient: symlink() is not faked"));
  }

  mknod(): Promise<void> {
    return Promise.reject(new Error("FakeClient: mknod() is not faked"));
  }

  link(): Promise<void> {
    return Promise.reject(new Error("FakeClient: link() is not faked"));
  }

  rename(): Promise<void> {
    return Promise.reject(new Error("FakeClient: rename() is not faked"));
  }

  remove(): Promise<void> {
    return Promise.reject(new Error("FakeClient: remove() is not faked"));
  }

  setattrPath(): Promise<void> {
    return Promise.reject(new Error("FakeClient: setattrPath() is not faked"));
  }

  #resolve(path: string, follow: boolean, op: string): { node: FakeNode; path: string } {
    // As the real client: a path ending in / names a directory.
    const bare = path.replace(/(\/\.?)+$/, "");
    if (bare !== path && bare !== "") {
      let resolved: { node: FakeNode; path: string };
      try {
        resolved = this.#resolve(bare, true, op);
      } catch (err) {
        // Named as asked, as the real client names it.
        throw err instanceof NfsError ? nfsError(err.status, op, path) : err;
      }
      if (resolved.node.kind !== "directory") throw nfsError(Nfs4Status.NFS4ERR_NOTDIR, op, path);
      return resolved;
    }
    const parts = path.split("/").filter((p) => p !== "");
    let node = this.root;
    const walked: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      if (node.kind !== "directory") throw nfsError(Nfs4Status.NFS4ERR_NOTDIR, op, path);
      const child = node.children[parts[i]!];
      if (!child) throw nfsError(Nfs4Status.NFS4ERR_NOENT, op, path);
      walked.push(parts[i]!);
      const last = i === parts.length - 1;
      if (child.kind === "symlink" && (!last || follow)) {
        const base = child.target.startsWith("/") ? [] : walked.slice(0, -1);
        const resolved = this.#resolve(
          "/" + [...base, child.target, ...parts.slice(i + 1)].join("/"),
          follow,
          op,
        );
        return resolved;
      }
      node = child;
    }
    return { node, path: "/" + walked.join("/") };
  }

  #info(node: FakeNode, path: string): FileInfo {
    let fileid = this.#ids.get(node);
    if (fileid === undefined) {
      fileid = nextFileid++;
      this.#ids.set(node, fileid);
    }
    const size = node.kind === "file"
      ? BigInt(node.data.length)
      : node.kind === "directory"
      ? 4096n
      : node.kind === "symlink"
      ? BigInt(node.target.length)
      : 0n;
    const name = path === "/" ? "/" : path.slice(path.lastIndexOf("/") + 1);
    if (node.attrError !== undefined) {
      return {
        name,
        path,
        kind: "unknown",
        mode: undefined,
        nlink: undefined,
        owner: undefined,
        group: undefined,
        size: undefined,
        spaceUsed: undefined,
        atime: undefined,
        mtime: undefined,
        ctime: undefined,
        fileid: undefined,
        attrError: node.attrError,
      };
    }
    return {
      name,
      path,
      kind: node.kind as FileKind,
      mode: node.mode ??
        (node.kind === "directory" ? 0o755 : node.kind === "symlink" ? 0o777 : 0o644),
      nlink: node.nlink ?? (node.kind === "directory" ? 2 : 1),
      owner: node.owner ?? "1000",
      group: node.group ?? "1000",
      size,
      spaceUsed: node.noSpaceUsed ? undefined : node.spaceUsed ?? (size + 4095n) / 4096n * 4096n,
      atime: node.mtime ?? MTIME,
      mtime: node.mtime ?? MTIME,
      ctime: node.mtime ?? MTIME,
      fileid: node.fileid ?? fileid,
      ...(node.rdev ? { rdev: node.rdev } : {}),
    };
  }

  stat(path: string, options?: { follow?: boolean }): Promise<FileInfo> {
    this.log.calls.push(`stat ${path}${options?.follow ? " follow" : ""}`);
    try {
      const { node, path: resolved } = this.#resolve(path, options?.follow ?? false, "LOOKUP");
      if (node.attrError !== undefined) throw nfsError(node.attrError, "GETATTR", path);
      return Promise.resolve(this.#info(node, options?.follow ? resolved : normalize(path)));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async attributes(path: string, options?: { follow?: boolean }): Promise<AttributeReport> {
    const info = await this.stat(path, options);
    const values = {
      type: info.kind === "directory" ? 2 : info.kind === "symlink" ? 5 : 1,
      ...(info.mode !== undefined ? { mode: info.mode } : {}),
      ...(info.size !== undefined ? { size: info.size } : {}),
      ...(info.fileid !== undefined ? { fileid: info.fileid } : {}),
    };
    const ids: Record<string, [number, string]> = {
      type: [1, "type"],
      size: [4, "size"],
      fileid: [20, "fileid"],
      mode: [33, "mode"],
    };
    const returned = Object.entries(values).map(([key, value]) => ({
      id: ids[key]![0],
      name: ids[key]![1],
      value,
    })).sort((a, b) => a.id - b.id);
    return {
      info,
      filehandle: new TextEncoder().encode(info.path),
      values,
      returned,
      supported: returned.map((r) => r.name),
      unknown: [],
    };
  }

  async *readdir(path: string): AsyncIterable<FileInfo> {
    this.log.calls.push(`readdir ${path}`);
    const { node } = this.#resolve(path, true, "READDIR");
    if (node.kind !== "directory") throw nfsError(Nfs4Status.NFS4ERR_NOTDIR, "READDIR", path);
    let count = 0;
    // Deliberately not sorted: the server's order is arbitrary.
    for (const name of Object.keys(node.children).reverse()) {
      if (count++ === 1 && this.failReaddir.has(path)) {
        throw nfsError(Nfs4Status.NFS4ERR_IO, "READDIR", path);
      }
      const prefix = normalize(path) === "/" ? "" : normalize(path);
      yield this.#info(node.children[name]!, `${prefix}/${name}`);
    }
  }

  readlink(path: string): Promise<string> {
    this.log.calls.push(`readlink ${path}`);
    try {
      const { node } = this.#resolve(path, false, "READLINK");
      if (node.kind !== "symlink") throw nfsError(Nfs4Status.NFS4ERR_INVAL, "READLINK", path);
      return Promise.resolve(node.target);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  openRead(path: string): Promise<OpenFile> {
    this.log.calls.push(`open ${path}`);
    let node: FakeNode;
    try {
      node = this.#resolve(path, true, "OPEN").node;
    } catch (err) {
      return Promise.reject(err);
    }
    if (node.kind === "directory") {
      return Promise.reject(nfsError(Nfs4Status.NFS4ERR_ISDIR, "OPEN", path));
    }
    if (node.kind !== "file") {
      return Promise.reject(nfsError(Nfs4Status.NFS4ERR_SYMLINK, "OPEN", path));
    }
    this.log.opened++;
    const data = node.data;
    const log = this.log;
    const chunkSize = this.chunkSize;
    let closed = false;
    return Promise.resolve({
      path,
      size: BigInt(data.length),
      read(offset: bigint, count: number) {
        const start = Number(offset);
        const slice = data.subarray(start, start + count);
        return Promise.resolve({ data: slice, eof: start + slice.length >= data.length });
      },
      async *chunks(offset = 0n) {
        // One reused buffer, as a real pipelined reader may do: a consumer
        // that keeps a chunk past the next one sees it overwritten.
        const buffer = new Uint8Array(chunkSize);
        for (let at = Number(offset); at < data.length; at += chunkSize) {
          const n = Math.min(chunkSize, data.length - at);
          buffer.set(data.subarray(at, at + n));
          await Promise.resolve();
          yield buffer.subarray(0, n);
        }
      },
      close() {
        if (!closed) {
          closed = true;
          log.closed++;
        }
        return Promise.resolve();
      },
    });
  }

  close(): Promise<void> {
    this.log.clientsClosed++;
    return Promise.resolve();
  }
}

function normalize(path: string): string {
  const parts = path.split("/").filter((p) => p !== "");
  return "/" + parts.join("/");
}

/** A stream that records writes; `closeAfter` bytes make it fail like a closed pipe. */
export class FakeStream implements WritableLike {
  readonly chunks: Uint8Array[] = [];
  isTTY: boolean;
  columns: number | undefined;
  closeAfter: number | undefined;
  #written = 0;
  #errorListeners: ((error: Error) => void)[] = [];
  /** How many writes were still unfinished at most (backpressure check). */
  pendingMax = 0;
  #pending = 0;

  constructor(options: { isTTY?: boolean; columns?: number; closeAfter?: number } = {}) {
    this.isTTY = options.isTTY ?? false;
    this.columns = options.columns;
    this.closeAfter = options.closeAfter;
  }

  write(chunk: string | Uint8Array, callback?: (error?: Error | null) => void): boolean {
    const bytes = typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk;
    if (this.closeAfter !== undefined && this.#written + bytes.length > this.closeAfter) {
      const error = Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
      queueMicrotask(() => {
        for (const listener of this.#errorListeners) listener(error);
        callback?.(error);
      });
      return false;
    }
    this.#written += bytes.length;
    this.#pending++;
    this.pendingMax = Math.max(this.pendingMax, this.#pending);
    // Keep a reference, not a copy, for a while: like a stream that has
    // not flushed yet. The write callback comes after the bytes are "out".
    const kept = bytes;
    setTimeout(() => {
      this.chunks.push(kept.slice());
      this.#pending--;
      callback?.(null);
    }, 0);
    return true;
  }

  on(event: "error", listener: (error: Error) => void): this {
    if (event === "error") this.#errorListeners.push(listener);
    return this;
  }

  bytes(): Uint8Array {
    const total = this.chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  text(): string {
    return new TextDecoder().decode(this.bytes());
  }
}

/** A fake world: servers by `host:port`, each a tree. */
export interface FakeWorld {
  servers: Record<string, FakeNode>;
  /** Servers that refuse connections. */
  refused?: string[];
  now?: Date;
  env?: Record<string, string>;
  stdout?: FakeStream;
  setup?: (client: FakeClient) => void;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Uint8Array;
  log: CallLog;
}

/** Runs `nfs4 argv` in-process against `world`. */
export async function runFake(argv: string[], world: FakeWorld): Promise<RunResult> {
  const stdout = world.stdout ?? new FakeStream();
  const stderr = new FakeStream();
  const log: CallLog = { calls: [], opened: 0, closed: 0, clientsClosed: 0 };
  const connect: ConnectFn = (url: NfsUrl, globals, onTrace) => {
    const key = `${url.host}:${url.port}`;
    log.calls.push(`connect ${key}`);
    log.globals = globals;
    onTrace?.({
      time: 0.0015,
      category: "clid",
      event: "EXCHANGE_ID ok",
      detail: `server ${key}`,
      data: { clientid: 0x1234n },
    });
    if (world.refused?.includes(key)) {
      const err = Object.assign(new Error(`connection refused by ${key}`), {
        name: "RpcConnectionError",
        host: url.host,
        port: url.port,
        code: "ECONNREFUSED",
      });
      return Promise.reject(err);
    }
    const root = world.servers[key];
    if (!root) return Promise.reject(new Error(`no fake server ${key}`));
    const client = new FakeClient(root, log);
    world.setup?.(client);
    return Promise.resolve(client);
  };
  const io: CliIo = {
    stdout,
    stderr,
    env: world.env ?? {},
    now: () => world.now ?? new Date("2024-11-21T12:00:00Z"),
    timeZone: "UTC",
    connect,
  };
  const code = await run(argv, io);
  // Let the fake streams deliver their last writes.
  await new Promise((resolve) => setTimeout(resolve, 5));
  return {
    code,
    stdout: stdout.text(),
    stderr: stderr.text(),
    stdoutBytes: stdout.bytes(),
    log,
  };
}
