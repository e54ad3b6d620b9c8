/**
 * `--pcap FILE`: this process's RPC traffic as a pcap capture, for the CLI
 * (which imports lib/client only). The writer is lib/rpc/pcap.ts's
 * {@linkcode PcapWriter}; give it to `ConnectOptions.pcap` of every client
 * whose connections it should record, and `close()` it when done.
 *
 * @example
 * ```ts
 * const pcap = openPcap("/tmp/nfs.pcap");
 * const client = await Nfs4Client.connect({ host: "127.0.0.1", port: 2049, pcap });
 * await client.close();
 * pcap.close();
 * ```
 * @module
 */

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

/**
 * Creates (or truncates) `path` and starts a capture in it. A FIFO waits
 * here until a reader opens it. Throws {@linkcode PcapOpenError}.
 */
export function openPcap(path: string, options: PcapWriterOptions = {}): PcapWriter {
  try {
    return PcapWriter.open(path, options);
  } catch (error) {
    throw new PcapOpenError(path, { cause: error });
  }
}
