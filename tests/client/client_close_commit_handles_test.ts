/**
 * Nfs4Client.close() whose COMMITs do not vouch for the writes of several
 * handles of one file (a write verifier that changed: the server
 * restarted, RFC 8881 §18.3.3): one WriteNotCommittedError per handle, and
 * the AggregateError's message counts the files, each path named once.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import { WriteNotCommittedError } from "../../lib/client/errors.ts";
import { StableHow } from "../../lib/nfs4/constants.ts";
import { startScriptedNfsServer } from "../_nfs4_server.ts";
import { ScriptedServer } from "../state/_scripted.ts";
import { bytes, rejectionOf } from "./_commit_scenarios.ts";

Deno.test("NFSv4.1: Nfs4Client.close() with the writes of four handles of one file and one of another not vouched for names each file once: the writes of 5 handles of 2 open files (RFC 8881 §18.3.3)", async () => {
  const server = new ScriptedServer({ now: () => performance.now() });
  server.writeCommitted = StableHow.UNSTABLE4;
  const nfs = await startScriptedNfsServer(server);
  try {
    const client = await Nfs4Client.connect({
      host: nfs.host,
      port: nfs.port,
      version: "4.1",
      clientId: `client-close-handles-${crypto.randomUUID()}`,
    });
    try {
      for (let i = 0; i < 4; i++) {
        const handle = await client.open("/vfs/file", { access: "write" });
        await handle.write(BigInt(i), bytes(String(i)));
      }
      const other = await client.open("/vfs/other", { access: "write" });
      await other.write(0n, bytes("OTHER"));
      server.writeVerifier = new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9]);
      const error = await rejectionOf(client.close(), "client.close() resolved");
      assert.ok(error instanceof AggregateError, String(error));
      assert.match(
        error.message,
        /: the writes of 5 handles of 2 open files are not known committed \(\/vfs\/file, \/vfs\/other\)$/,
      );
      assert.equal(error.errors.length, 5);
      assert.ok(error.errors.every((e: unknown) => e instanceof WriteNotCommittedError));
    } finally {
      await client.close().catch(() => {});
    }
  } finally {
    await nfs.close();
  }
});
