/**
 * Packet capture on the loopback interface and NFSv4 decoding with tshark,
 * so tests can check that what we put on the wire is what Wireshark expects.
 *
 * ```ts
 * const capture = await startCapture(server.port);
 * // ... talk to the server ...
 * await capture.stop();
 * const decoded = await decodeNfs(capture.file, server.port);
 * assert.equal(decoded.malformed, 0);
 * ```
 *
 * Op names come from a custom column over `nfs.opcode` (every operation of a
 * COMPOUND, in order; `-T fields -e nfs.opcode` would print numbers only);
 * `nfs.main_opcode` is the one Wireshark names in the Info column.
 *
 * @module
 */

import { execFile, spawn } from "node:child_process";
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";

/** A running capture. */
export interface Capture {
  /** Stops capturing and flushes the file. Safe to call twice. */
  stop(): Promise<void>;
  /** The capture file (classic pcap format). */
  file: string;
}

/** One frame that carries ONC RPC (or that Wireshark found malformed). */
export interface DecodedFrame {
  frame: number;
  /** NFSv4 operation names of the COMPOUND(s) in this frame, in order; [] for NULL. */
  ops: string[];
  /** Every RPC message in the frame is a reply. */
  isReply: boolean;
  /** Wireshark's Info column. */
  info: string;
  malformed: boolean;
}

/** What tshark makes of a capture. */
export interface DecodedNfs {
  /** All frames in the file, TCP handshakes included. */
  packets: number;
  /** Frames with a `_ws.malformed` item: Wireshark could not dissect them. */
  malformed: number;
  /**
   * Frames with an expert item of severity Error (malformed ones included).
   * NFS4ERR_* replies are not expert errors.
   */
  expertErrors: number;
  frames: DecodedFrame[];
}

const EXPERT_ERROR = 0x00800000;

function which(name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? "").split(":"), "/usr/bin", "/usr/sbin"]) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** tshark is installed and we may capture (root): use `ignore: !hasTshark`. */
export const hasTshark: boolean = which("tshark") !== undefined &&
  typeof process.getuid === "function" && process.getuid() === 0;

const running = new Set<number>();
let exitHookInstalled = false;

function track(pid: number): void {
  running.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const pid of running) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  });
}

/** Parses a classic pcap byte stream record by record. */
class PcapStream {
  #buffer = new Uint8Array(0);
  #little = true;
  linkType = -1;

  /** Feeds bytes; calls `onHeader` for the global header and `onRecord` for each packet. */
  push(
    data: Uint8Array,
    onHeader: (header: Uint8Array) => void,
    onRecord: (record: Uint8Array, packet: Uint8Array) => void,
  ): void {
    const joined = new Uint8Array(this.#buffer.length + data.length);
    joined.set(this.#buffer);
    joined.set(data, this.#buffer.length);
    let at = 0;
    const view = new DataView(joined.buffer);
    if (this.linkType < 0) {
      if (joined.length < 24) return void (this.#buffer = joined);
      const magic = view.getUint32(0, true);
      this.#little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
      this.linkType = view.getUint32(20, this.#little) & 0xffff;
      onHeader(joined.subarray(0, 24));
      at = 24;
    }
    while (joined.length - at >= 16) {
      const length = view.getUint32(at + 8, this.#little);
      if (joined.length - at < 16 + length) break;
      onRecord(joined.subarray(at, at + 16 + length), joined.subarray(at + 16, at + 16 + length));
      at += 16 + length;
    }
    this.#buffer = joined.slice(at);
  }
}

/** The UDP payload of an IPv4 packet to `port`, if that is what `packet` is. */
function udpPayload(packet: Uint8Array, linkType: number, port: number): Uint8Array | undefined {
  // Ethernet (lo) or Linux cooked capture: both put the EtherType just before the IP header.
  const link = linkType === 1 ? 14 : linkType === 113 ? 16 : -1;
  if (link < 0 || packet.length < link + 28) return undefined;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  if (view.getUint16(link - 2) !== 0x0800 || packet[link + 9] !== 17) return undefined;
  const udp = link + (packet[link]! & 0x0f) * 4;
  if (packet.length < udp + 8 || view.getUint16(udp + 2) !== port) return undefined;
  return packet.subarray(udp + 8);
}

/**
 * Captures `tcp port PORT` on `lo` into `file` (classic pcap; default: a new
 * temp file) and resolves once packets really flow into it.
 *
 * dumpcap says "Capturing on" before its ring buffer delivers anything, and
 * drops what the kernel has not handed over yet when it is stopped, so the
 * capture syncs both ends: it also captures a private UDP port, sends itself a
 * numbered datagram there and waits to see it come through. Those datagrams
 * are left out of the file, which holds only the TCP port's traffic.
 */
export async function startCapture(port: number, file?: string): Promise<Capture> {
  const dumpcap = which("dumpcap");
  const tool = dumpcap ?? which("tshark");
  if (!tool) throw new Error("Neither dumpcap nor tshark found: run scripts/install.sh --system");
  const out = file ??
    path.join(await fsp.mkdtemp(path.join(os.tmpdir(), "nfs4-capture-")), "capture.pcap");

  const sync = dgram.createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    sync.once("error", reject);
    sync.bind({ address: "127.0.0.1", port: 0 }, () => resolve());
  });
  sync.on("message", () => {}); // our own datagrams; only their capture matters
  const syncPort = sync.address().port;

  const filter = `tcp port ${port} or udp port ${syncPort}`;
  // A 32 MiB kernel buffer (-B; the default is 2): a burst of READ replies
  // on a loaded machine overflowed the default, and the packets after the
  // burst (a CLOSE) were missing from the capture.
  const args = dumpcap
    ? ["-i", "lo", "-B", "32", "-f", filter, "-P", "-w", "-"]
    : ["-i", "lo", "-B", "32", "-f", filter, "-F", "pcap", "-w", "-"];
  const setpriv = which("setpriv"); // dies with us, even on Ctrl-C
  const child = setpriv
    ? spawn(setpriv, ["--pdeathsig", "KILL", tool, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    : spawn(tool, args, { stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid) track(child.pid);

  const fd = fs.openSync(out, "w");
  const stream = new PcapStream();
  const seen = new Set<string>();
  let waiter: (() => void) | undefined;
  child.stdout!.on("data", (data: Uint8Array) => {
    stream.push(data, (header) => fs.writeSync(fd, header), (record, packet) => {
      const token = udpPayload(packet, stream.linkType, syncPort);
      if (!token) return void fs.writeSync(fd, record);
      seen.add(new TextDecoder().decode(token));
      waiter?.();
    });
  });
  const stdoutDone = new Promise<void>((resolve) => child.stdout!.once("close", resolve));
  let stderr = "";
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      resolve();
    });
    child.once("error", (error) => {
      stderr += String(error);
      exited = true;
      resolve();
    });
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => stderr += chunk);

  let round = 0;
  /**
   * Sends a datagram every 25 ms until one of them shows up in the capture.
   * The wait is mostly the ring buffer's block timeout (dumpcap's 250 ms).
   */
  async function roundTrip(deadline: number): Promise<boolean> {
    const prefix = `nfs4-capture-sync-${round++}-`;
    let sent = 0;
    while (Date.now() < deadline && !exited) {
      sync.send(`${prefix}${sent++}`, syncPort, "127.0.0.1");
      await new Promise<void>((resolve) => {
        waiter = resolve;
        setTimeout(resolve, 25);
      });
      waiter = undefined;
      for (const token of seen) if (token.startsWith(prefix)) return true;
    }
    return false;
  }

  async function finish(): Promise<void> {
    if (!exited) child.kill("SIGINT");
    const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exit;
    await stdoutDone;
    clearTimeout(killer);
    if (child.pid) running.delete(child.pid);
    child.stderr?.destroy();
    fs.closeSync(fd);
    sync.close();
  }

  if (!await roundTrip(Date.now() + 10_000)) {
    await finish();
    throw new Error(`Capture on lo port ${port} did not start: ${stderr.trim()}`);
  }
  let stopping: Promise<void> | undefined;
  return {
    file: out,
    stop() {
      stopping ??= (async () => {
        // Everything sent before this datagram is in the file once it is seen.
        await roundTrip(Date.now() + 5000);
        await finish();
        // A capture missing packets would fail a test for the wrong reason.
        const dropped = /received\/dropped on interface '[^']*': \d+\/(\d+)/.exec(stderr);
        if (dropped && Number(dropped[1]) > 0) {
          throw new Error(`the capture on lo dropped ${dropped[1]} packets: ${stderr.trim()}`);
        }
      })();
      return stopping;
    },
  };
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} failed: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}

/**
 * Decodes a capture with tshark, treating `port` as ONC RPC (so NFS on a port
 * other than 2049 is dissected), and lists the NFSv4 ops of each RPC frame.
 */
export async function decodeNfs(file: string, port: number): Promise<DecodedNfs> {
  const tshark = which("tshark");
  if (!tshark) throw new Error("tshark not found: run scripts/install.sh --system");
  const fields = ["frame.number", "_ws.col.Op", "rpc.msgtyp", "_ws.malformed"];
  const stdout = await run(tshark, [
    "-n",
    "-r",
    file,
    "-d",
    `tcp.port==${port},rpc`,
    "-o",
    'gui.column.format:"Info","%i","Op","%Cus:nfs.opcode:0:R"',
    "-T",
    "fields",
    ...fields.flatMap((field) => ["-e", field]),
    "-e",
    "_ws.expert.severity",
    "-e",
    "_ws.col.Info",
    "-E",
    "occurrence=a",
    "-E",
    "aggregator=,",
    "-E",
    "separator=/t",
  ]);
  const decoded: DecodedNfs = { packets: 0, malformed: 0, expertErrors: 0, frames: [] };
  for (const line of stdout.split("\n")) {
    if (!line) continue;
    const [frame = "", ops = "", msgtyp = "", malformed = "", severity = "", ...info] = line.split(
      "\t",
    );
    decoded.packets++;
    const isMalformed = malformed !== "";
    if (isMalformed) decoded.malformed++;
    if (severity.split(",").some((level) => Number(level) >= EXPERT_ERROR)) decoded.expertErrors++;
    if (msgtyp === "" && !isMalformed) continue;
    const types = msgtyp.split(",").filter(Boolean);
    decoded.frames.push({
      frame: Number(frame),
      ops: ops.split(",").map((op) => op.trim()).filter(Boolean),
      isReply: types.length > 0 && types.every((type) => type === "1"),
      info: info.join("\t"),
      malformed: isMalformed,
    });
  }
  return decoded;
}

/** tshark's path, for reading capture files (no capture rights needed); undefined when not installed. */
export const tsharkPath: string | undefined = which("tshark");

/**
 * `tshark -n -r FILE ARGS -T fields -e FIELD...`: one row a frame, every
 * occurrence of a field comma-joined, fields split on tabs.
 */
export function tsharkFields(file: string, args: string[], fields: string[]): Promise<string[][]> {
  return new Promise((resolve, reject) => {
    execFile(
      tsharkPath!,
      [
        "-n",
        "-r",
        file,
        ...args,
        "-T",
        "fields",
        ...fields.flatMap((f) => ["-e", f]),
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
      ],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`tshark failed: ${stderr || error.message}`));
        else resolve(stdout.split("\n").filter((l) => l !== "").map((l) => l.split("\t")));
      },
    );
  });
}
