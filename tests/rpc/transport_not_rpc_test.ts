/**
 * A peer that is not an RPC server (an HTTP server, an SSH daemon, TLS on
 * the port): its first bytes read as a record mark make an absurd record
 * (no last-fragment bit, far past the maximum), and the transport says
 * what the peer is not, with the bytes it started with, instead of a
 * "record of at least 1213486160 bytes" (lib/rpc/transport.ts `#notRpc`).
 * Fake TCP servers on loopback.
 */

import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { RpcProtocolError, RpcRecordTooLargeError, RpcTransport } from "../../lib/rpc/mod.ts";
import { Nfs4Client } from "../../lib/client/client.ts";

/**
 * Runs `fn` with a TCP server on 127.0.0.1 that sends `bytes`: at once
 * when `first`, else in answer to the first bytes it reads.
 */
async function withPeer(
  bytes: Uint8Array,
  first: boolean,
  fn: (port: number) => Promise<void>,
): Promise<void> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
    if (first) socket.write(bytes);
    else socket.once("data", () => socket.write(bytes));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  try {
    await fn(port);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

const HTTP = new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");

Deno.test("RpcTransport: an HTTP server's answer to a call is 'not an NFS server', quoting how it starts", async () => {
  await withPeer(HTTP, false, async (port) => {
    const transport = new RpcTransport({ host: "127.0.0.1", port, callTimeoutMs: 5_000 });
    try {
      const error = await transport.call({ program: 100003, version: 4, procedure: 0 }).then(
        () => assert.fail("the call succeeded"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof RpcProtocolError, String(error));
      assert.equal(error.retriable, false);
      assert.equal(
        error.message,
        `127.0.0.1:${port}: not an NFS server (its reply is not ONC RPC: it starts ` +
          '"HTTP/1.1 400 Bad")',
      );
      assert.ok(error.cause instanceof RpcRecordTooLargeError);
    } finally {
      await transport.close();
    }
  });
});

Deno.test("Nfs4Client.connect() to a port whose server speaks first (an SSH banner) fails saying it is not an NFS server", async () => {
  const banner = new TextEncoder().encode("SSH-2.0-OpenSSH_9.6\r\n");
  await withPeer(banner, true, async (port) => {
    await assert.rejects(
      Nfs4Client.connect({ host: "127.0.0.1", port, timeoutMs: 5_000, callback: false }),
      (e) => {
        assert.ok(e instanceof RpcProtocolError, String(e));
        assert.equal(
          e.message,
          `127.0.0.1:${port}: not an NFS server (its reply is not ONC RPC: it starts ` +
            '"SSH-2.0-OpenSSH_")',
        );
        return true;
      },
    );
  });
});

Deno.test("RpcTransport: a peer whose first bytes are not text (a TLS alert) is shown in hex", async () => {
  const alert = new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a]);
  await withPeer(alert, false, async (port) => {
    const transport = new RpcTransport({ host: "127.0.0.1", port, callTimeoutMs: 5_000 });
    try {
      await assert.rejects(
        transport.call({ program: 100003, version: 4, procedure: 0 }),
        (e) =>
          e instanceof RpcProtocolError &&
          e.message ===
            `127.0.0.1:${port}: not an NFS server (its reply is not ONC RPC: it starts ` +
              "0x1503030002020a)",
      );
    } finally {
      await transport.close();
    }
  });
});

Deno.test("RpcTransport: a first record that is a last fragment merely over the maximum is still RpcRecordTooLargeError", async () => {
  // 0x80000800: the last fragment, 2 KiB, with a maximum of 1 KiB: an RPC
  // server's record too large, not a peer of another protocol.
  await withPeer(new Uint8Array([0x80, 0x00, 0x08, 0x00]), false, async (port) => {
    const transport = new RpcTransport({
      host: "127.0.0.1",
      port,
      callTimeoutMs: 5_000,
      maxRecordSize: 1024,
    });
    try {
      await assert.rejects(
        transport.call({ program: 100003, version: 4, procedure: 0 }),
        (e) => e instanceof RpcRecordTooLargeError && e.size === 2048,
      );
    } finally {
      await transport.close();
    }
  });
});
