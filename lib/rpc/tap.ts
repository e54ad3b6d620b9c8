/**
 * A hook that sees every ONC RPC record a connection carries, both ways,
 * as it is on the wire (record marks included): what `--pcap` writes to a
 * capture file ({@linkcode PcapWriter} in pcap.ts is one).
 *
 * {@linkcode RpcTransport} (our own connections to a server) and
 * {@linkcode RpcServer} (connections a server makes to the NFSv4.0
 * callback listener) call {@linkcode RecordTap.connect} once a connection is
 * established, then the returned {@linkcode ConnectionTap}'s `record()` for
 * every record sent (when it is queued for the socket) and received (when it
 * is complete), and `close()` when the socket closes. Without a tap the cost
 * is one null check per record.
 *
 * A tap is called synchronously, on the transport's own path: it must be
 * quick, must not keep the chunks it is given (they may be views of a
 * caller's data or of a record the client goes on using) and must not throw.
 *
 * @example
 * ```ts
 * let records = 0;
 * const counter: RecordTap = {
 *   connect: () => ({ record: () => void records++, close: () => {} }),
 * };
 * const transport = new RpcTransport({ host: "127.0.0.1", port: 2049, tap: counter });
 * ```
 * @module
 */

/** Which way a record went, seen from this process. */
export type RecordDirection = "sent" | "received";

/** One end of a TCP connection. */
export interface TapEndpoint {
  /** The address as the socket reports it (`127.0.0.1`, `::1`, `::ffff:10.0.0.1`). */
  readonly host: string;
  /** The TCP port. */
  readonly port: number;
}

/** A connection a tap is told about. */
export interface TapConnectionInfo {
  /** This process's end. */
  readonly local: TapEndpoint;
  /** The peer's end. */
  readonly remote: TapEndpoint;
  /**
   * Who opened the connection: `local` for ours to a server, `remote` for
   * one a server made to us (the 4.0 callback connection).
   */
  readonly opener: "local" | "remote";
}

/** Sees the records of every connection it is given. */
export interface RecordTap {
  /** A connection was established; the returned tap sees its records. */
  connect(info: TapConnectionInfo): ConnectionTap;
}

/** Sees the records of one connection. */
export interface ConnectionTap {
  /**
   * One whole record, as its bytes go over the wire: the concatenation of
   * `chunks` is its record mark(s) and the RPC message. A received record
   * that came in several fragments is given as one fragment of the same
   * content. The chunks are only valid during the call.
   */
  record(direction: RecordDirection, chunks: readonly Uint8Array[]): void;
  /** The connection closed; no record follows. */
  close(): void;
}

/** The record mark of a record sent as one fragment of `length` bytes (RFC 5531 §11). */
export function singleFragmentMark(length: number): Uint8Array {
  const mark = new Uint8Array(4);
  new DataView(mark.buffer).setUint32(0, (0x80000000 + length) >>> 0);
  return mark;
}
