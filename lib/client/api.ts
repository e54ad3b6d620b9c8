/**
 * The shape of the file-level client the commands use. The implementation is
 * `Nfs4Client` in client.ts; commands depend only on this interface, so they
 * can be tested and read without the protocol underneath.
 * @module
 */

import type { FileInfo, VersionChoice } from "./types.ts";
import type { TraceEvent } from "../state/trace.ts";

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly version?: VersionChoice;
  /** AUTH_SYS identity; defaults to the process's uid/gid. */
  readonly uid?: number;
  readonly gid?: number;
  readonly gids?: readonly number[];
  /** Per-call timeout and connect timeout, in milliseconds (default 30 s). */
  readonly timeoutMs?: number;
  /** Receives every state-manager event (what `--trace` prints). */
  readonly onTrace?: (event: TraceEvent) => void;
}

/** An open file (an NFSv4 open stateid held by the state manager). */
export interface OpenFile {
  readonly path: string;
  /** Size when opened (from the OPEN's GETATTR). */
  readonly size: bigint | undefined;
  /** Reads up to `count` bytes at `offset`; `eof` when the end was reached. */
  read(offset: bigint, count: number): Promise<{ data: Uint8Array; eof: boolean }>;
  /**
   * Streams the whole file from `offset` in order, with several READs in
   * flight, in bounded memory. Chunks are views; consume each before the next.
   */
  chunks(offset?: bigint): AsyncIterable<Uint8Array>;
  /** CLOSE (idempotent). */
  close(): Promise<void>;
}

/** How to open a file. */
export interface OpenOptions {
  readonly access: "read" | "write" | "both";
  /** Create when missing: UNCHECKED4, GUARDED4 (fail if it exists) or EXCLUSIVE4(_1). */
  readonly create?: "unchecked" | "guarded" | "exclusive";
  /** Mode of a created file. */
  readonly mode?: number;
  /** Truncate to zero length. */
  readonly truncate?: boolean;
}

export interface Nfs4ClientApi {
  /** The minor version in use after negotiation (0 or 1). */
  readonly minorVersion: number;
  /** Attributes of `path` (symlinks followed in the middle; the last followed only when `follow`). */
  stat(path: string, options?: { follow?: boolean }): Promise<FileInfo>;
  /** Every entry of directory `path`, with attributes, without `.` and `..`. */
  readdir(path: string): AsyncIterable<FileInfo>;
  /** The target of symlink `path`. */
  readlink(path: string): Promise<string>;
  /** OPEN for reading (share READ, deny NONE). */
  openRead(path: string): Promise<OpenFile>;
  /** Closes every open, then (4.1) destroys the session and client ID. */
  close(): Promise<void>;
}
