/**
 * NFS NULL (program 100003 version 4, procedure 0) against a real server:
 * the one RPC every NFSv4 server answers with an empty SUCCESS reply
 * (RFC 7530 §16.1, RFC 8881 §16.1). Against NFS4_TEST_HOST:NFS4_TEST_PORT
 * when set, else against a Ganesha of the test server script.
 */

import assert from "node:assert/strict";
import process from "node:process";
import { authSys, NFS_PROGRAM, NFS_V4, RpcTransport } from "../../lib/rpc/mod.ts";
import { hasGanesha, withServer } from "../_server.ts";

const envPort = process.env.NFS4_TEST_PORT;
const host = process.env.NFS4_TEST_HOST ?? "127.0.0.1";

Deno.test({
  name: "RpcTransport.call() gets an empty SUCCESS reply to NFS NULL from a real server",
  ignore: envPort === undefined && !hasGanesha,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    if (envPort !== undefined) return await nullCalls(host, Number(envPort));
    await withServer((server) => nullCalls(server.host, server.port));
  },
});

async function nullCalls(host: string, port: number): Promise<void> {
  {
    const transport = new RpcTransport({ host, port, callTimeoutMs: 10_000 });
    try {
      const none = await transport.call({ program: NFS_PROGRAM, version: NFS_V4, procedure: 0 });
      none.reader.assertEnd();
      const credential = authSys({ machineName: "nfs4-test", uid: 0, gid: 0, gids: [0] });
      const replies = await Promise.all(
        Array.from(
          { length: 8 },
          () => transport.call({ program: NFS_PROGRAM, version: NFS_V4, procedure: 0, credential }),
        ),
      );
      assert.equal(new Set(replies.map((r) => r.xid)).size, 8);
      for (const reply of replies) reply.reader.assertEnd();
    } finally {
      await transport.close();
    }
  }
}
