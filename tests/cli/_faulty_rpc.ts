/**
 * A TCP server that speaks just enough ONC RPC to be wrong in one chosen
 * way, the same way every time, for the CLI's error-message tests
 * (tests/cli/errors_test.ts), which assert the exact line printed: faults
 * neither Ganesha nor the scripted server (tests/_nfs4_server.ts) will show,
 * and that the fault proxy (tests/_fault_proxy.ts) gives only at random
 * (garbage) or not at all (RPC_MISMATCH).
 *
 * - `silent`: accepts the connection and never answers;
 * - `rpc-mismatch`: answers every call MSG_DENIED RPC_MISMATCH with the RPC
 *   versions `low` to `high` (RFC 5531 §9);
 * - `garbage-compound`: answers NULL, and every COMPOUND with an accepted
 *   reply whose results are four bytes of nonsense;
 * - `not-rpc`: answers the first bytes with an HTTP error page, then closes.
 *
 * ```ts
 * const server = await startFaultyRpcServer({ mode: "silent" });
 * try {
 *   await nfs4(["ls", "--timeout", "1", `${server.url}/vfs`]);
 * } finally {
 *   await server.close();
 * }
 * ```
 * @module
 */

import { createServer, type Socket } from "node:net";
import { XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";
import {
  readCallBody,
  readMessageStart,
  RPC_MISMATCH,
  SUCCESS,
  writeAcceptedReply,
  writeDeniedReply,
} from "../../lib/rpc/message.ts";
import { encodeRecord, RecordDecoder } from "../../lib/rpc/record_marking.ts";
import { NFSPROC4_NULL } from "../../lib/nfs4/constants.ts";

/** How the server is wrong. */
export type FaultyRpcMode =
  | { readonly mode: "silent" }
  | { readonly mode: "rpc-mismatch"; readonly low: number; readonly high: number }
  | { readonly mode: "garbage-compound" }
  | { readonly mode: "not-rpc" };

/** A running faulty server. */
export interface FaultyRpcServer {
  readonly port: number;
  /** `nfs://127.0.0.1:PORT` */
  readonly url: string;
  /** Calls received so far. */
  readonly calls: number;
  close(): Promise<void>;
}

/** Starts a {@linkcode FaultyRpcMode} server on 127.0.0.1, a port the system picks. */
export async function startFaultyRpcServer(fault: FaultyRpcMode): Promise<FaultyRpcServer> {
  const sockets = new Set<Socket>();
  let calls = 0;
  const answer = (record: Uint8Array): Uint8Array | undefined => {
    const r = new XdrReader(record);
    const { xid } = readMessageStart(r);
    const body = readCallBody(r);
    calls++;
    const w = new XdrWriter(64);
    switch (fault.mode) {
      case "silent":
        return undefined;
      case "rpc-mismatch":
        writeDeniedReply(w, xid, {
          rejectStat: RPC_MISMATCH,
          mismatch: { low: fault.low, high: fault.high },
        });
        return w.bytes().slice();
      case "garbage-compound":
        writeAcceptedReply(w, xid, SUCCESS);
        if (body.procedure !== NFSPROC4_NULL) w.writeUint(0xdeadbeef);
        return w.bytes().slice();
      case "not-rpc":
        return undefined;
    }
  };
  const listener = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    if (fault.mode === "not-rpc") {
      socket.once("data", () => {
        socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
      });
      return;
    }
    const decoder = new RecordDecoder();
    socket.on("data", (chunk: Uint8Array) => {
      for (const record of decoder.push(new Uint8Array(chunk))) {
        const reply = answer(record);
        if (reply !== undefined) { for (const part of encodeRecord(reply)) socket.write(part); }
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(0, "127.0.0.1", () => resolve());
  });
  const address = listener.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return {
    port: address.port,
    url: `nfs://127.0.0.1:${address.port}`,
    get calls() {
      return calls;
    },
    async close() {
      const stopped = new Promise<void>((resolve) => listener.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await stopped;
    },
  };
}
