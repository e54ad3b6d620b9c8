/**
 * `--pcap FILE`: this process's RPC traffic as a pcap capture, for the CLI
 * (which imports lib/client only). The writer is lib/rpc/pcap.ts's
 * {@linkcode PcapWriter}; give it to `ConnectOptions.pcap` of every client
 * whose connections it should record, and `close()` it when done.
 * `openPcap` is `PcapWriter.open` with the CLI's error (`--pcap PATH:
 * reason`); a program uses `PcapWriter.open` (mod.ts exports it).
 *
 * @example
 * ```ts
 * import { Nfs4Client } from "../../mod.ts";
 *
 * const pcap = openPcap("/tmp/nfs.pcap");
 * const client = await Nfs4Client.connect({ host: "127.0.0.1", port: 2049, pcap });
 * await client.close();
 * pcap.close();
 * ```
 * @module
 */

import { closeSync, constants, openSync, statSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { PcapWriter, type PcapWriterOptions } from "../rpc/pcap.ts";

export { type PcapCounts, PcapWriter, type PcapWriterOptions } from "../rpc/pcap.ts";
export type {
  ConnectionTap,
  RecordDirection,
  RecordTap,
  TapConnectionInfo,
  TapEndpoint,
} from "../rpc/tap.ts";

/** The file could not be opened for the capture. */
export class PcapOpenError extends Error {
  readonly path: string;

  constructor(path: string, options?: ErrorOptions) {
    super(`--pcap ${path}: ${reason(options?.cause)}`, options);
    this.name = "PcapOpenError";
    this.path = path;
  }
}

/** `No such file or directory` from `ENOENT: no such file or directory, open '/x/y'`. */
function reason(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  const m = /^([A-Z]+): ([^,]+)/.exec(message);
  if (!m) return message;
  return `${m[2]![0]!.toUpperCase()}${m[2]!.slice(1)} (${m[1]})`;
}

/** How often a FIFO is looked at again while no process reads it. */
const READER_POLL_MS = 50;

/**
 * A FIFO's writing end, held from the moment a process has it open for
 * reading, so that the capture's own open after it does not wait: opening
 * a FIFO to write blocks until a reader comes (fifo(7)), and a process
 * blocked in open(2) takes no signal its handlers would have to answer
 * (Ctrl-C waited for the reader). Here the wait is a poll, an
 * O_NONBLOCK open every {@linkcode READER_POLL_MS} (ENXIO while there is
 * no reader), which `signal` ends. Undefined when `path` is no FIFO.
 * Release the end with `closeSync` once the capture is open: closed
 * before, the reader would see the end of its input.
 */
export async function fifoReaderHeld(
  path: string,
  signal?: AbortSignal,
): Promise<number | undefined> {
  try {
    if (!statSync(path).isFIFO()) return undefined;
  } catch {
    return undefined; // not there: openPcap creates it, or says why not
  }
  for (;;) {
    signal?.throwIfAborted();
    try {
      return openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (error) {
      if ((error as { code?: string }).code !== "ENXIO") {
        throw new PcapOpenError(path, { cause: error });
      }
    }
    await sleep(READER_POLL_MS, undefined, signal ? { signal } : {});
  }
}

/**
 * Creates (or truncates) `path` and starts a capture in it. A FIFO waits
 * here until a reader opens it (see {@linkcode fifoReaderHeld}, which waits
 * first and takes signals). Throws {@linkcode PcapOpenError}.
 */
export function openPcap(
  path: string,
  options: PcapWriterOptions = {},
  heldFifo?: number,
): PcapWriter {
  try {
    return PcapWriter.open(path, options);
  } catch (error) {
    throw new PcapOpenError(path, { cause: error });
  } finally {
    if (heldFifo !== undefined) closeSync(heldFifo);
  }
}
