/**
 * The one place the CLI creates a real client. Everything else receives a
 * `ConnectFn` (cli/context.ts), so commands can be run against a fake in
 * tests. cli/main.ts imports it, and `info`, which runs its own probe
 * client (lib/client/probe.ts) with the same options.
 * @module
 */

import type { ConnectOptions, Nfs4ClientApi } from "../lib/client/api.ts";
import process from "node:process";
import { Nfs4Client, setStreamingReplyWait, useFfiSockets } from "../lib/client/client.ts";
import { fifoReaderHeld, openPcap, type PcapWriter } from "../lib/client/pcap.ts";
import type { NfsUrl } from "../lib/client/url.ts";
import type { TraceSink } from "../lib/client/trace.ts";
import type { ConnectExtras } from "./context.ts";
import type { GlobalOptions } from "./globals.ts";

/**
 * How long the binary's socket may hold the main thread for a reply already
 * on its way (lib/rpc/socket_ffi.ts): the command owns its event loop, and
 * 20 ms is the most its timers, signals' handlers or output are held up
 * (a 1 MiB READ reply takes 0.1-1 ms on loopback, 8 ms at 1 Gbit/s).
 */
const STREAMING_REPLY_WAIT_MS = 20;
// The command owns its process: in Bun on Linux its sockets may take SIGIO
// (lib/rpc/socket_ffi.ts), which a library does only when asked.
useFfiSockets();
setStreamingReplyWait(STREAMING_REPLY_WAIT_MS);

/**
 * The {@linkcode ConnectOptions} for `url` and the global options. With
 * `--pcap` it opens the capture file, the first time.
 */
export function connectOptions(
  url: NfsUrl,
  globals: GlobalOptions,
  onTrace?: TraceSink,
  extra: ConnectExtras = {},
): ConnectOptions {
  return {
    host: url.host,
    port: url.port,
    version: globals.vers,
    timeoutMs: Math.round(globals.timeoutSeconds * 1000),
    ...(globals.uid !== undefined ? { uid: globals.uid } : {}),
    ...(globals.gid !== undefined ? { gid: globals.gid } : {}),
    ...(onTrace !== undefined ? { onTrace } : {}),
    ...(globals.callback !== undefined ? { callback: globals.callback } : {}),
    ...(extra.signal !== undefined ? { signal: extra.signal } : {}),
    ...(extra.reacquireLostLocks ? { reacquireLostLocks: true } : {}),
    ...(globals.pcap !== undefined ? { pcap: pcapWriter(globals.pcap) } : {}),
    ...(globals.reservedPort !== undefined ? { reservedPort: globals.reservedPort } : {}),
  };
}

/** Connects an {@linkcode Nfs4Client} to the server of `url`. */
export async function connectClient(
  url: NfsUrl,
  globals: GlobalOptions,
  onTrace?: TraceSink,
  extra?: ConnectExtras,
): Promise<Nfs4ClientApi> {
  await readyPcap(globals, extra?.signal);
  return await Nfs4Client.connect(connectOptions(url, globals, onTrace, extra));
}

/** The `--pcap` capture of this process, once its first connection opened it. */
let capture: PcapWriter | undefined;

/**
 * The `--pcap` writer: opened at the first connection, one per process for
 * every client of the command (cli/main.ts closes it at exit). A write that
 * fails (a FIFO whose reader left) stops the capture with one warning.
 */
function pcapWriter(path: string): PcapWriter {
  capture ??= openPcap(path, {
    onError: (error) => {
      process.stderr.write(`nfs4: warning: --pcap ${path}: ${error.message}; capture stopped\n`);
    },
  }, heldFifo);
  heldFifo = undefined;
  return capture;
}

/** The `--pcap` FIFO's writing end while a reader is known to have it (see readyPcap). */
let heldFifo: number | undefined;

/**
 * Before the first connection with `--pcap` naming a FIFO: waits for its
 * reader in a way `signal` (Ctrl-C) ends (lib/client/pcap.ts
 * fifoReaderHeld), so that connectOptions() then opens it at once.
 */
export async function readyPcap(globals: GlobalOptions, signal?: AbortSignal): Promise<void> {
  if (globals.pcap === undefined || capture !== undefined || heldFifo !== undefined) return;
  heldFifo = await fifoReaderHeld(globals.pcap, signal);
}

/**
 * Ends the `--pcap` capture (FINs for connections still open) and closes
 * its file. Synchronous, for a process 'exit' listener; safe to call again.
 */
export function closePcap(): void {
  capture?.close();
}
