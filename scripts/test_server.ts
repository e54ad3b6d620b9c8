/**
 * NFS-Ganesha instances for the integration tests, the demo and the benchmarks.
 *
 * Each instance lives in its own state directory (`dir`): the generated
 * `ganesha.conf`, `instance.json` (what `restart` needs to come back the same),
 * `ganesha.pid`, `ganesha.log`, `ganesha.stderr`, the recovery root `recovery/`
 * and, by default, the directory behind the VFS export, `export/`. Nothing is
 * shared between instances, so several can run at once on different ports.
 *
 * The server listens on 127.0.0.1 only, speaks NFSv4.0, 4.1 and 4.2, and
 * exports a VFS directory at `/vfs` and an in-memory file system at `/mem`
 * (elsewhere in the pseudo file system with `pseudoPaths`).
 * It runs without rpcbind and without D-Bus (it logs that it cannot register
 * with either; both are harmless).
 *
 * As a module:
 * ```ts
 * import { startTestServer } from "./scripts/test_server.ts";
 * const server = await startTestServer({ leaseSeconds: 5 });
 * try {
 *   console.log(server.url); // nfs://127.0.0.1:PORT
 *   await server.restart(); // a reboot: the server comes back in its grace period
 * } finally {
 *   await server.stop();
 * }
 * ```
 *
 * As a command (the server outlives the command):
 * ```
 * deno run -A scripts/test_server.ts start --port 20490 --dir /tmp/g
 * deno run -A scripts/test_server.ts restart --dir /tmp/g
 * deno run -A scripts/test_server.ts stop --dir /tmp/g
 * ```
 *
 * Only `node:` APIs are used, so the module also runs under Node.
 *
 * @module
 */

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

/** Options of {@linkcode startTestServer}. */
export interface TestServerOptions {
  /** TCP port on 127.0.0.1; default: a free port. */
  port?: number;
  /** State directory; default: a fresh temporary directory. */
  dir?: string;
  /** NFSv4 lease lifetime in seconds (1 to 120); default 5. */
  leaseSeconds?: number;
  /** Grace period in seconds after a (re)start (0 to 180); default 5. */
  graceSeconds?: number;
  /** Local directory behind the `/vfs` export; default `DIR/export`. */
  exportDir?: string;
  /** Ganesha's log level (EVENT, INFO, DEBUG, FULL_DEBUG, ...); default EVENT, or $NFS4_GANESHA_LOG_LEVEL. */
  logLevel?: string;
  /**
   * `NFSV4 { Delegations = true; }`: Ganesha then probes a 4.0 client's
   * callback path with CB_NULL after SETCLIENTID_CONFIRM. (The VFS and MEM
   * FSALs of 4.3 still grant no delegations.) Default false.
   */
  delegations?: boolean;
  /**
   * `NFSV4 { Minor_Versions }`: the NFSv4 minor versions served, e.g. `[1]`
   * for a server that refuses 4.0. Default 0, 1 and 2.
   */
  minorVersions?: readonly number[];
  /**
   * The export's `Attr_Expiration_Time`: how long Ganesha trusts the
   * attributes it has cached. Default 0, so that files changed behind its
   * back (the tests write the export directory directly) show at once; the
   * bench's listing rows that measure the client use Ganesha's own default
   * (60), with their data written before the server's first look at it.
   */
  attrExpirationSeconds?: number;
  /**
   * Where the exports appear in the pseudo file system (each `EXPORT`'s
   * `Pseudo`): default `/vfs` and `/mem`. A deeper path puts pseudo-fs
   * directories between the root and the export, as knfsd's
   * `/srv/nfs/home` or Ganesha's `Pseudo = /exports/a` do:
   * `{ vfs: "/top/nested/vfs", mem: "/top/mem" }`. Absolute, names of
   * letters, digits, `.`, `_` and `-`, and neither inside the other.
   */
  pseudoPaths?: { vfs?: string; mem?: string };
}

/** A running (or stopped) NFS-Ganesha instance. */
export interface TestServer {
  port: number;
  host: "127.0.0.1";
  /** The instance's state directory. */
  dir: string;
  /** Local path backing the `/vfs` export. */
  exportDir: string;
  /** `nfs://127.0.0.1:PORT`; the exports are `${url}/vfs` and `${url}/mem` (or at `pseudoPaths`). */
  url: string;
  logFile: string;
  /** Process id of the current ganesha.nfsd (changes on restart; 0 before the first start). */
  pid: number;
  leaseSeconds: number;
  graceSeconds: number;
  /** The fs recovery backend's root (`DIR/recovery`); one directory per client in `v4recov`, moved to `v4old` on a restart. */
  recoveryDir: string;
  /** Clean shutdown: SIGTERM, then SIGKILL if it lingers. Safe to call when already stopped. */
  stop(): Promise<void>;
  /** kill -9; the recovery directory keeps the client records. */
  crash(): Promise<void>;
  /** A reboot: crash, then start with the same config and recovery directory. */
  restart(): Promise<void>;
  /** Starts again after stop() or crash(); resolves once the server answers. No-op when running. */
  start(): Promise<void>;
  /** Whether the server's log says it is in its grace period now. */
  inGrace(): Promise<boolean>;
}

/** A problem starting or controlling a test server (missing Ganesha, not root, a failed start). */
export class TestServerError extends Error {
  override name = "TestServerError";
}

const HOST = "127.0.0.1";
const NFS_PROGRAM = 100003;
const NFS_V4 = 4;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const INSTANCE_FILE = "instance.json";
/** NFS4ERR_OP_NOT_IN_SESSION. */
const OP_NOT_IN_SESSION = 10071;

const DEFAULT_PSEUDO = { vfs: "/vfs", mem: "/mem" } as const;

function pseudoPathsOption(
  paths: { vfs?: string; mem?: string } | undefined,
): { pseudoPaths?: { vfs: string; mem: string } } {
  if (paths === undefined) return {};
  const chosen = { vfs: paths.vfs ?? DEFAULT_PSEUDO.vfs, mem: paths.mem ?? DEFAULT_PSEUDO.mem };
  for (const value of [chosen.vfs, chosen.mem]) {
    if (!/^(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)+$/.test(value)) {
      throw new TestServerError(`pseudoPaths must be absolute paths of plain names: ${value}`);
    }
  }
  const [a, b] = [chosen.vfs + "/", chosen.mem + "/"];
  if (a.startsWith(b) || b.startsWith(a)) {
    throw new TestServerError(`pseudoPaths must not nest: ${chosen.vfs} and ${chosen.mem}`);
  }
  return { pseudoPaths: chosen };
}

function minorVersionsOption(
  versions: readonly number[] | undefined,
): { minorVersions?: readonly number[] } {
  if (versions === undefined) return {};
  if (versions.length === 0 || versions.some((v) => ![0, 1, 2].includes(v))) {
    throw new TestServerError(`minorVersions must be some of 0, 1, 2: ${versions.join(",")}`);
  }
  return { minorVersions: [...new Set(versions)].sort() };
}

/** What is persisted in `DIR/instance.json`, so `restart` and the CLI bring back the same server. */
interface InstanceConfig {
  port: number;
  exportDir: string;
  leaseSeconds: number;
  graceSeconds: number;
  /** Server_Owner and Server_Scope: distinct per instance, stable across restarts. */
  serverId: string;
  logLevel: string;
  delegations?: boolean;
  /** Served minor versions; absent: 0, 1 and 2. */
  minorVersions?: readonly number[];
  /** The export's Attr_Expiration_Time; absent: 0. */
  attrExpirationSeconds?: number;
  /** The exports' `Pseudo` paths; absent: `/vfs` and `/mem`. */
  pseudoPaths?: { vfs: string; mem: string };
}

// ---------------------------------------------------------------------------
// Prerequisites

const SEARCH_PATH = ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"];
const PLUGIN_DIRS = [
  "/usr/lib/x86_64-linux-gnu/ganesha",
  "/usr/lib/aarch64-linux-gnu/ganesha",
  "/usr/lib64/ganesha",
  "/usr/lib/ganesha",
  "/usr/local/lib/ganesha",
  "/usr/local/lib64/ganesha",
];

function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter).filter(Boolean), ...SEARCH_PATH];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Path of ganesha.nfsd, or undefined when it is not installed. */
export function ganeshaBinary(): string | undefined {
  return which("ganesha.nfsd");
}

/** Directory holding the FSAL plugins (libfsalvfs.so, libfsalmem.so), or undefined. */
export function ganeshaPluginsDir(): string | undefined {
  return PLUGIN_DIRS.find((dir) =>
    fs.existsSync(path.join(dir, "libfsalvfs.so")) &&
    fs.existsSync(path.join(dir, "libfsalmem.so"))
  );
}

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/** Why a test server cannot run here, or undefined when it can. */
export function ganeshaUnavailableReason(): string | undefined {
  if (process.platform !== "linux") return "NFS-Ganesha test servers need Linux";
  if (!ganeshaBinary()) {
    return "ganesha.nfsd not found: install it with `scripts/install.sh --system` (as root)";
  }
  if (!ganeshaPluginsDir()) {
    return "the Ganesha VFS and MEM FSALs are missing: install them with `scripts/install.sh --system`";
  }
  if (!isRoot()) return "NFS-Ganesha must run as root (the VFS FSAL needs it): rerun as root";
  return undefined;
}

function assertRunnable(): void {
  const reason = ganeshaUnavailableReason();
  if (reason) throw new TestServerError(reason);
}

// ---------------------------------------------------------------------------
// Configuration

function quote(value: string): string {
  if (/["\n\r\\]/.test(value)) {
    throw new TestServerError(`Path unsuitable for a Ganesha config: ${JSON.stringify(value)}`);
  }
  return `"${value}"`;
}

/** The ganesha.conf of an instance whose state directory is `dir`. */
export function ganeshaConfig(dir: string, config: InstanceConfig, pluginsDir: string): string {
  const { port, leaseSeconds, graceSeconds, exportDir, serverId, logLevel } = config;
  const delegations = config.delegations ? "\n    Delegations = true;" : "";
  return `# Generated by scripts/test_server.ts; rewritten on every start.
NFS_CORE_PARAM {
    Protocols = 4;
    NFS_Port = ${port};
    Bind_addr = ${HOST};
    # No rpcbind here: no NLM, RQUOTA, MOUNT (v3 only) nor UDP listeners.
    Enable_NLM = false;
    Enable_RQUOTA = false;
    Enable_UDP = false;
    Clustered = false;
    heartbeat_freq = 0;
    Plugins_Dir = ${quote(pluginsDir)};
}

NFS_KRB5 {
    Active_krb5 = false;
}

NFSV4 {
    Lease_Lifetime = ${leaseSeconds};
    Grace_Period = ${graceSeconds};
    Graceless = false;${delegations}
    Minor_Versions = ${(config.minorVersions ?? [0, 1, 2]).join(", ")};
    RecoveryBackend = fs;
    RecoveryRoot = ${quote(path.join(dir, "recovery"))};
    Only_Numeric_Owners = true;
    Server_Scope = ${quote(serverId)};
    Server_Owner = ${quote(serverId)};
}

EXPORT {
    Export_Id = 1;
    Path = ${quote(exportDir)};
    Pseudo = ${config.pseudoPaths?.vfs ?? DEFAULT_PSEUDO.vfs};
    Access_Type = RW;
    Squash = No_Root_Squash;
    SecType = sys;
    Protocols = 4;
    Transports = TCP;
    # 0: files changed behind Ganesha's back (in exportDir) show up at once.
    Attr_Expiration_Time = ${config.attrExpirationSeconds ?? 0};
    FSAL {
        Name = VFS;
    }
}

EXPORT {
    Export_Id = 2;
    Path = /mem;
    Pseudo = ${config.pseudoPaths?.mem ?? DEFAULT_PSEUDO.mem};
    Access_Type = RW;
    Squash = No_Root_Squash;
    SecType = sys;
    Protocols = 4;
    Transports = TCP;
    FSAL {
        Name = MEM;
    }
}

LOG {
    Default_Log_Level = ${logLevel};
    FORMAT {
        date_format = ISO-8601;
        time_format = ISO-8601;
        FILE_NAME = false;
        LINE_NUM = false;
    }
}
`;
}

function checkRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TestServerError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

function randomId(): string {
  return `nfs4-test-${Math.random().toString(16).slice(2, 10)}`;
}

async function readInstanceConfig(dir: string): Promise<InstanceConfig | undefined> {
  try {
    return JSON.parse(await fsp.readFile(path.join(dir, INSTANCE_FILE), "utf8")) as InstanceConfig;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new TestServerError(`Cannot read ${path.join(dir, INSTANCE_FILE)}`, { cause: error });
  }
}

// ---------------------------------------------------------------------------
// Ports

function ephemeralLow(): number {
  try {
    const [low] = fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(
      /\s+/,
    );
    return Number(low) || 32768;
  } catch {
    return 32768;
  }
}

function canBind(port: number): Promise<boolean> {
  return listenOn(port).then((held) => {
    if (!held) return false;
    return held.release().then(() => true);
  });
}

/**
 * Listens on `port` on 127.0.0.1 and on the IPv6 wildcard (Ganesha binds
 * both: its tcp6 socket fails with EADDRINUSE if another server has the
 * port there); undefined when either is taken.
 */
async function listenOn(port: number): Promise<{ release(): Promise<void> } | undefined> {
  const servers: net.Server[] = [];
  const release = () =>
    Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => {});
  for (const host of [HOST, "::"]) {
    const server = net.createServer();
    const ok = await new Promise<boolean>((resolve) => {
      server.once("error", (e: NodeJS.ErrnoException) =>
        // No IPv6 on this host: nothing can take the port there either.
        resolve(host === "::" && (e.code === "EAFNOSUPPORT" || e.code === "EADDRNOTAVAIL")));
      server.listen({ host, port, exclusive: true, ipv6Only: host === "::" }, () => {
        servers.push(server);
        resolve(true);
      });
    });
    if (!ok) {
      await release();
      return undefined;
    }
  }
  return { release };
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen({ host: HOST, port: 0, exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A TCP port on 127.0.0.1 that nothing listens on now. Picked at random below
 * the ephemeral range, so that client connections cannot take it in between.
 */
export async function freePort(): Promise<number> {
  const low = 20000;
  const high = Math.min(ephemeralLow(), 32768);
  if (high - low >= 1000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = low + Math.floor(Math.random() * (high - low));
      if (await canBind(port)) return port;
    }
  }
  return await kernelPort();
}

// ---------------------------------------------------------------------------
// Minimal ONC RPC over TCP (RFC 5531, record marking): enough to probe readiness.

function rpcCallRecord(xid: number, procedure: number, cred: Uint8Array, args: Uint8Array) {
  // xid, CALL, rpcvers, prog, vers, proc; credential; AUTH_NONE verifier; args
  const body = new Uint8Array(24 + cred.length + 8 + args.length);
  const view = new DataView(body.buffer);
  const words = [xid, 0, 2, NFS_PROGRAM, NFS_V4, procedure];
  words.forEach((word, i) => view.setUint32(i * 4, word));
  body.set(cred, 24); // flavor, length, body
  const verifier = 24 + cred.length;
  view.setUint32(verifier, 0); // AUTH_NONE verifier
  view.setUint32(verifier + 4, 0);
  body.set(args, verifier + 8);
  const record = new Uint8Array(4 + body.length);
  new DataView(record.buffer).setUint32(0, (0x80000000 | body.length) >>> 0);
  record.set(body, 4);
  return record;
}

function xdrWords(...parts: Array<number | string>): Uint8Array {
  const chunks: number[] = [];
  for (const part of parts) {
    if (typeof part === "number") {
      chunks.push((part >>> 24) & 255, (part >>> 16) & 255, (part >>> 8) & 255, part & 255);
    } else {
      const bytes = new TextEncoder().encode(part);
      chunks.push(...xdrWords(bytes.length));
      chunks.push(...bytes);
      while (chunks.length % 4) chunks.push(0);
    }
  }
  return new Uint8Array(chunks);
}

const AUTH_NONE_CRED = xdrWords(0, 0);
const AUTH_SYS_CRED = (() => {
  const body = xdrWords(0, "nfs4-test-probe", 0, 0, 0); // stamp, machine, uid 0, gid 0, no gids
  return new Uint8Array([...xdrWords(1, body.length), ...body]);
})();

/** Sends one call and resolves with the reply's body (the record marks stripped). */
function rpcExchange(port: number, record: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ host: HOST, port });
    const chunks: Uint8Array[] = [];
    let buffered = new Uint8Array(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`No RPC reply from ${HOST}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (error: Error | undefined, reply?: Uint8Array) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(reply!);
    };
    socket.once("error", (error) => finish(error));
    socket.once("close", () => finish(new Error("Connection closed before the reply")));
    socket.once("connect", () => socket.write(record));
    socket.on("data", (data: Uint8Array) => {
      const joined = new Uint8Array(buffered.length + data.length);
      joined.set(buffered);
      joined.set(data, buffered.length);
      buffered = joined;
      // Gather fragments until the last one.
      while (buffered.length >= 4) {
        const mark = new DataView(buffered.buffer, buffered.byteOffset).getUint32(0);
        const length = mark & 0x7fffffff;
        if (buffered.length < 4 + length) return;
        chunks.push(buffered.slice(4, 4 + length));
        buffered = buffered.slice(4 + length);
        if (mark & 0x80000000) {
          const reply = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
          let at = 0;
          for (const chunk of chunks) {
            reply.set(chunk, at);
            at += chunk.length;
          }
          return finish(undefined, reply);
        }
      }
    });
  });
}

/** Checks an RPC reply header; returns the offset of the procedure's results. */
function acceptedResults(reply: Uint8Array, xid: number): number {
  const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  if (reply.length < 24) throw new Error(`RPC reply too short (${reply.length} bytes)`);
  if (view.getUint32(0) !== xid) throw new Error("RPC reply with a foreign xid");
  if (view.getUint32(4) !== 1) throw new Error("Not an RPC reply");
  if (view.getUint32(8) !== 0) throw new Error("RPC call denied");
  const verifierLength = view.getUint32(16);
  const at = 20 + Math.ceil(verifierLength / 4) * 4;
  if (reply.length < at + 4) throw new Error("RPC reply truncated");
  const acceptStat = view.getUint32(at);
  if (acceptStat !== 0) throw new Error(`RPC call not accepted (accept_stat ${acceptStat})`);
  return at + 4;
}

let nextXid = (Math.random() * 0x7fffffff) >>> 0;

/** Rejects unless an NFSv4 RPC NULL call to 127.0.0.1:port succeeds. */
export async function rpcNull(port: number, timeoutMs = 2000): Promise<void> {
  const xid = nextXid++ >>> 0;
  const reply = await rpcExchange(
    port,
    rpcCallRecord(xid, 0, AUTH_NONE_CRED, new Uint8Array(0)),
    timeoutMs,
  );
  acceptedResults(reply, xid);
}

/**
 * Sends COMPOUND { PUTROOTFH; LOOKUP name (default "vfs"); GETFH } (AUTH_SYS root) and
 * resolves with the COMPOUND's nfsstat4: with minor version 0, NFS4_OK once the
 * pseudo file system is up; with 1 or 2, NFS4ERR_OP_NOT_IN_SESSION (10071)
 * shows the minor version is served (NFS4ERR_MINOR_VERS_MISMATCH, 10021, not).
 */
export async function probeRoot(
  port: number,
  timeoutMs = 2000,
  minorVersion = 0,
  name = "vfs",
): Promise<number> {
  const xid = nextXid++ >>> 0;
  const OP_PUTROOTFH = 24, OP_LOOKUP = 15, OP_GETFH = 10;
  const args = xdrWords("", minorVersion, 3, OP_PUTROOTFH, OP_LOOKUP, name, OP_GETFH);
  const reply = await rpcExchange(port, rpcCallRecord(xid, 1, AUTH_SYS_CRED, args), timeoutMs);
  const at = acceptedResults(reply, xid);
  if (reply.length < at + 4) throw new Error("COMPOUND reply truncated");
  return new DataView(reply.buffer, reply.byteOffset).getUint32(at);
}

// ---------------------------------------------------------------------------
// Processes

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Alive and not a zombie (an orphan reparented to a non-reaping init stays a zombie a while). */
function isAlive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** The live ganesha.nfsd serving `dir`, found by its pid file and checked by its command line. */
function runningPid(dir: string): number {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(dir, "ganesha.pid"), "utf8").trim());
  } catch {
    return 0;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return 0;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return cmdline.includes(path.join(dir, "ganesha.conf")) ? pid : 0;
  } catch {
    return 0;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

async function waitExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** Servers started by this process in module mode; killed when the process exits. */
const owned = new Set<number>();
let exitHookInstalled = false;

function own(pid: number): void {
  owned.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const pid of owned) signal(pid, "SIGKILL");
  });
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

class PortInUse extends TestServerError {}

/** A Ganesha instance bound to a state directory. */
class GaneshaServer implements TestServer {
  readonly host = HOST;
  readonly dir: string;
  readonly logFile: string;
  readonly recoveryDir: string;
  private config: InstanceConfig;
  /** CLI mode: the server outlives this process. */
  private readonly detach: boolean;
  #pid = 0;

  constructor(dir: string, config: InstanceConfig, detach: boolean) {
    this.dir = dir;
    this.config = config;
    this.detach = detach;
    this.logFile = path.join(dir, "ganesha.log");
    this.recoveryDir = path.join(dir, "recovery");
    this.#pid = runningPid(dir);
  }

  get port(): number {
    return this.config.port;
  }
  get exportDir(): string {
    return this.config.exportDir;
  }
  get leaseSeconds(): number {
    return this.config.leaseSeconds;
  }
  get graceSeconds(): number {
    return this.config.graceSeconds;
  }
  get url(): string {
    return `nfs://${HOST}:${this.port}`;
  }
  get pid(): number {
    return this.#livePid() || this.#pid;
  }

  get running(): boolean {
    return isAlive(this.#livePid());
  }

  /** Changes the port before the first start (the retry after a port collision). */
  async setPort(port: number): Promise<void> {
    this.config = { ...this.config, port };
    await this.#save();
  }

  async #save(): Promise<void> {
    await fsp.writeFile(
      path.join(this.dir, INSTANCE_FILE),
      JSON.stringify(this.config, null, 2) + "\n",
    );
  }

  async start(): Promise<void> {
    if (this.running) return;
    assertRunnable();
    const binary = ganeshaBinary()!;
    const confFile = path.join(this.dir, "ganesha.conf");
    await fsp.mkdir(this.recoveryDir, { recursive: true });
    await fsp.writeFile(confFile, ganeshaConfig(this.dir, this.config, ganeshaPluginsDir()!));
    // Ganesha overwrites the pid file without truncating it: a longer old
    // pid would leave digits behind.
    await fsp.rm(path.join(this.dir, "ganesha.pid"), { force: true });
    await this.#save();
    const stderrFile = path.join(this.dir, "ganesha.stderr");
    const ganesha = [
      binary,
      "-F",
      "-f",
      confFile,
      "-L",
      this.logFile,
      "-p",
      path.join(this.dir, "ganesha.pid"),
    ];
    // In module mode the server dies with this process even on Ctrl-C or a
    // crash (ganesha.nfsd ignores SIGINT): the parent-death signal.
    const setpriv = this.detach ? undefined : which("setpriv");
    const command = setpriv ? [setpriv, "--pdeathsig", "KILL", ...ganesha] : ganesha;
    const child = spawn("/bin/sh", ["-c", 'exec "$@" >>"$0" 2>&1', stderrFile, ...command], {
      cwd: this.dir,
      detached: this.detach,
      stdio: "ignore",
    });
    child.on("error", () => {});
    child.unref();
    if (!child.pid) throw new TestServerError(`Cannot spawn ${binary}`);
    this.#pid = child.pid;
    if (!this.detach) own(child.pid);
    await this.#waitReady(child.pid, stderrFile);
  }

  async #waitReady(pid: number, stderrFile: string): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    let lastError: unknown;
    while (Date.now() < deadline) {
      if (!isAlive(pid)) {
        owned.delete(pid);
        const log = tail(this.logFile);
        const stderr = tail(stderrFile, 5);
        const detail = [log, stderr].filter(Boolean).join("\n");
        const message = `ganesha.nfsd exited during start-up (log ${this.logFile})` +
          (detail ? `:\n${detail}` : "");
        if (/Address already in use/.test(log)) throw new PortInUse(message);
        throw new TestServerError(message);
      }
      try {
        await rpcNull(this.port, 1000);
        // The lowest minor version served: 4.0 answers NFS4_OK once the
        // pseudo file system is up, 4.1+ NFS4ERR_OP_NOT_IN_SESSION (no SEQUENCE).
        const minor = Math.min(...(this.config.minorVersions ?? [0]));
        // The first name of the /vfs export's pseudo path.
        const first = (this.config.pseudoPaths?.vfs ?? DEFAULT_PSEUDO.vfs).split("/")[1];
        const status = await probeRoot(this.port, 1000, minor, first);
        if (status === 0 || (minor > 0 && status === OP_NOT_IN_SESSION)) {
          // Another server on the port may have answered while ours dies
          // of "Address already in use": make sure ours is the one up.
          await sleep(60);
          if (isAlive(pid) && !/Address already in use/.test(tail(this.logFile))) return;
          continue;
        }
        lastError = new Error(`PUTROOTFH; LOOKUP ${first} failed with nfsstat4 ${status}`);
      } catch (error) {
        lastError = error;
      }
      await sleep(15);
    }
    signal(pid, "SIGKILL");
    throw new TestServerError(
      `ganesha.nfsd did not answer on ${HOST}:${this.port} within ${START_TIMEOUT_MS} ms ` +
        `(log ${this.logFile})`,
      { cause: lastError },
    );
  }

  /**
   * The live server process: the one started here, or, after a `restart`
   * run through the CLI by someone else (a test's restart command), the one
   * named in the pid file, which this handle did not start.
   */
  #livePid(): number {
    if (isAlive(this.#pid)) return this.#pid;
    const current = runningPid(this.dir);
    if (current !== 0) this.#pid = current;
    return current;
  }

  async stop(): Promise<void> {
    const pid = this.#livePid();
    if (!isAlive(pid)) return void owned.delete(pid);
    signal(pid, "SIGTERM");
    if (!await waitExit(pid, STOP_TIMEOUT_MS)) {
      signal(pid, "SIGKILL");
      await waitExit(pid, STOP_TIMEOUT_MS);
    }
    owned.delete(pid);
  }

  async crash(): Promise<void> {
    const pid = this.#livePid();
    if (!isAlive(pid)) return void owned.delete(pid);
    signal(pid, "SIGKILL");
    await waitExit(pid, STOP_TIMEOUT_MS);
    owned.delete(pid);
  }

  async restart(): Promise<void> {
    // Ganesha stamps client IDs and stateids with its boot time in seconds
    // (the server epoch). A reboot within the same second would come back
    // with the same epoch and could not tell our old client ID from its new
    // ones (NFS4ERR_EXPIRED instead of NFS4ERR_STALE_CLIENTID): a real
    // reboot never does that, so let the second turn over first.
    const started = await fsp.stat(path.join(this.dir, "ganesha.pid")).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    await this.crash();
    // Hold the port while waiting, so that no other test server picks it
    // meanwhile (tests run in parallel, each on a free port of its own).
    const held = await listenOn(this.port);
    const nextSecond = (Math.floor(started / 1000) + 1) * 1000 + 50;
    try {
      if (Date.now() < nextSecond) await sleep(nextSecond - Date.now());
    } finally {
      await held?.release();
    }
    // A restart keeps its port (the client reconnects there), so another
    // test's free-port check, which listens on a random port for a moment,
    // can meet Ganesha's bind: seen once as "Cannot bind NFS tcp6 socket,
    // error 98". Try again shortly; the probe lets go at once.
    for (let attempt = 1;; attempt++) {
      try {
        await this.start();
        return;
      } catch (error) {
        if (!(error instanceof PortInUse) || attempt >= 5) throw error;
        await sleep(100 * attempt);
      }
    }
  }

  async inGrace(): Promise<boolean> {
    return graceFromLog(await fsp.readFile(this.logFile, "utf8").catch(() => ""));
  }
}

/** Whether the last start logged in `log` left the server in its grace period. */
export function graceFromLog(log: string): boolean {
  const since = log.slice(log.lastIndexOf("Starting: Ganesha Version"));
  const entered = since.lastIndexOf("NFS Server Now IN GRACE");
  const lifted = since.lastIndexOf("NFS Server Now NOT IN GRACE");
  return entered >= 0 && entered > lifted;
}

async function prepare(
  options: TestServerOptions,
  detach: boolean,
): Promise<{ server: GaneshaServer; portChosen: boolean }> {
  const dir = path.resolve(
    options.dir ?? await fsp.mkdtemp(path.join(os.tmpdir(), "nfs4-ganesha-")),
  );
  await fsp.mkdir(dir, { recursive: true });
  const saved = await readInstanceConfig(dir);
  const exportDir = path.resolve(options.exportDir ?? saved?.exportDir ?? path.join(dir, "export"));
  if (!fs.existsSync(exportDir)) {
    await fsp.mkdir(exportDir, { recursive: true });
    await fsp.chmod(exportDir, 0o777); // any AUTH_SYS uid may create files
  }
  const portChosen = options.port === undefined && saved === undefined;
  const config: InstanceConfig = {
    port: checkRange("port", options.port ?? saved?.port ?? await freePort(), 1, 65535),
    exportDir: await fsp.realpath(exportDir),
    leaseSeconds: checkRange(
      "leaseSeconds",
      options.leaseSeconds ?? saved?.leaseSeconds ?? 5,
      1,
      120,
    ),
    graceSeconds: checkRange(
      "graceSeconds",
      options.graceSeconds ?? saved?.graceSeconds ?? 5,
      0,
      180,
    ),
    serverId: saved?.serverId ?? randomId(),
    delegations: options.delegations ?? saved?.delegations ?? false,
    attrExpirationSeconds: checkRange(
      "attrExpirationSeconds",
      options.attrExpirationSeconds ?? saved?.attrExpirationSeconds ?? 0,
      0,
      3600,
    ),
    ...minorVersionsOption(options.minorVersions ?? saved?.minorVersions),
    ...pseudoPathsOption(options.pseudoPaths ?? saved?.pseudoPaths),
    logLevel: (options.logLevel ?? saved?.logLevel ?? process.env.NFS4_GANESHA_LOG_LEVEL ?? "EVENT")
      .toUpperCase(),
  };
  return { server: new GaneshaServer(dir, config, detach), portChosen };
}

async function launch(options: TestServerOptions, detach: boolean): Promise<GaneshaServer> {
  assertRunnable();
  const { server, portChosen } = await prepare(options, detach);
  if (server.running) {
    throw new TestServerError(`A server already runs in ${server.dir} (pid ${server.pid})`);
  }
  for (let attempt = 1;; attempt++) {
    try {
      await server.start();
      return server;
    } catch (error) {
      // Another process took our free port between the check and Ganesha's bind.
      if (!(error instanceof PortInUse) || !portChosen || attempt >= 5) throw error;
      await server.setPort(await freePort());
    }
  }
}

/**
 * Starts an NFS-Ganesha instance and resolves once it answers NFSv4 COMPOUNDs.
 * The server is killed when this process exits; call `stop()` to stop it cleanly.
 *
 * @example
 * ```ts
 * const server = await startTestServer();
 * await Deno.writeTextFile(`${server.exportDir}/hello.txt`, "hello\n");
 * // nfs-cat "nfs://127.0.0.1/vfs/hello.txt?version=4&nfsport=" + server.port
 * await server.stop();
 * ```
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  return await launch(options, false);
}

// ---------------------------------------------------------------------------
// Command line

const USAGE = `Usage: deno run -A scripts/test_server.ts <command> [options]

Manages NFS-Ganesha instances for tests, the demo and benchmarks (needs root).

Commands:
  start    [--port N] [--dir DIR] [--lease S] [--grace S] [--export-dir PATH]
           Starts a server and returns once it answers; it keeps running after
           this command exits. Prints the /vfs URL and the state directory.
  stop     --dir DIR    Clean shutdown (SIGTERM, then SIGKILL after ${STOP_TIMEOUT_MS / 1000} s)
  crash    --dir DIR    kill -9
  restart  --dir DIR    A reboot: kill -9, then start with the same config and
                        recovery directory; the server comes back in grace
                        when it had clients
  status   --dir DIR    running or stopped; exit status 0 when running, 1 when not

Options:
  --port N           TCP port on 127.0.0.1 (default: a free port)
  --dir DIR          the instance's state directory (default: a new temp dir)
  --lease S          lease lifetime in seconds (default 5)
  --grace S          grace period in seconds (default 5)
  --minor-versions L NFSv4 minor versions served, e.g. 1 or 0,1 (default 0,1,2)
  --export-dir PATH  directory behind the /vfs export (default DIR/export)
  --log-level L      Ganesha log level (default EVENT)
  --json             print one JSON object instead of lines
  -h, --help         this help

Examples:
  deno run -A scripts/test_server.ts start --port 20490 --dir /tmp/ganesha
  nfs-ls 'nfs://127.0.0.1/vfs?version=4&nfsport=20490'
  deno run -A scripts/test_server.ts restart --dir /tmp/ganesha
  deno run -A scripts/test_server.ts stop --dir /tmp/ganesha`;

class UsageError extends Error {}

function integerOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} needs a whole number, got ${value}`);
  return Number(value);
}

async function describe(
  server: GaneshaServer,
  json: boolean,
  extra: Record<string, unknown> = {},
  withState = false,
) {
  const running = server.running;
  const info = {
    state: running ? "running" : "stopped",
    url: `${server.url}/vfs`,
    memUrl: `${server.url}/mem`,
    dir: server.dir,
    port: server.port,
    pid: running ? server.pid : 0,
    exportDir: server.exportDir,
    logFile: server.logFile,
    inGrace: running ? await server.inGrace() : false,
    ...extra,
  };
  if (json) return console.log(JSON.stringify(info));
  if (withState) console.log(info.state);
  console.log(info.url);
  console.log(`dir ${info.dir}`);
  if (running) console.log(`pid ${info.pid}`);
  console.log(`grace ${info.inGrace ? "yes" : "no"}`);
}

async function existing(dir: string | undefined): Promise<GaneshaServer> {
  if (!dir) throw new UsageError("--dir is required");
  const resolved = path.resolve(dir);
  const config = await readInstanceConfig(resolved);
  if (!config) throw new TestServerError(`No test server instance in ${resolved}`);
  return new GaneshaServer(resolved, config, true);
}

async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        port: { type: "string" },
        dir: { type: "string" },
        lease: { type: "string" },
        grace: { type: "string" },
        "export-dir": { type: "string" },
        "log-level": { type: "string" },
        "minor-versions": { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    console.error(`test_server: ${(error as Error).message} (see --help)`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [command, ...rest] = positionals;
  try {
    if (rest.length > 0) throw new UsageError(`Unexpected argument ${rest[0]}`);
    const json = values.json ?? false;
    switch (command) {
      case "start": {
        const options: TestServerOptions = {};
        const port = integerOption("port", values.port);
        const lease = integerOption("lease", values.lease);
        const grace = integerOption("grace", values.grace);
        if (port !== undefined) options.port = port;
        if (lease !== undefined) options.leaseSeconds = lease;
        if (grace !== undefined) options.graceSeconds = grace;
        if (values.dir !== undefined) options.dir = values.dir;
        if (values["export-dir"] !== undefined) options.exportDir = values["export-dir"];
        if (values["log-level"] !== undefined) options.logLevel = values["log-level"];
        if (values["minor-versions"] !== undefined) {
          options.minorVersions = values["minor-versions"].split(",").map(Number);
        }
        const began = performance.now();
        const server = await launch(options, true);
        const ms = Math.round(performance.now() - began);
        console.error(`test_server: ganesha.nfsd pid ${server.pid} answering in ${ms} ms`);
        await describe(server, json, { startMs: ms });
        return 0;
      }
      case "stop":
      case "crash": {
        const server = await existing(values.dir);
        const pid = runningPid(server.dir);
        if (!pid) {
          console.error(`test_server: not running (${server.dir})`);
          return 0;
        }
        await (command === "stop" ? server.stop() : server.crash());
        console.error(`test_server: ${command === "stop" ? "stopped" : "killed"} pid ${pid}`);
        return 0;
      }
      case "restart": {
        const server = await existing(values.dir);
        const began = performance.now();
        await server.restart();
        const ms = Math.round(performance.now() - began);
        console.error(`test_server: ganesha.nfsd pid ${server.pid} answering in ${ms} ms`);
        await describe(server, json, { startMs: ms });
        return 0;
      }
      case "status": {
        const server = await existing(values.dir);
        await describe(server, json, {}, true);
        return server.running ? 0 : 1;
      }
      case undefined:
        throw new UsageError("A command is required");
      default:
        throw new UsageError(`Unknown command ${command}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`test_server: ${error.message} (see --help)`);
      return 2;
    }
    console.error(`test_server: ${(error as Error).message}`);
    return 1;
  }
}

// import.meta.main is Deno's (and Node >= 24's); older Node compares the entry point.
if (import.meta.main ?? import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.exit(await main(process.argv.slice(2)));
}
