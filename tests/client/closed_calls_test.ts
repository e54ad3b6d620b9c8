/**
 * After close() (or crash()) of the client, and after close() of a
 * handle, every other call of the client and of its open files is refused
 * at once, whether or not it would send anything (README: "every other call
 * of the client or of its open files is refused at once with
 * `ClientClosedError`"; a closed handle's calls throw `FileClosedError`):
 * `onLockAvailable()`, `noteLockWait()`, an `unlock()` of a range never
 * locked, `keepLease(true)`. After crash(), the refusal says crash() was
 * called, not close(). Through the scripted NFSv4.1 server over TCP.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import { FileClosedError } from "../../lib/client/errors.ts";
import { ClientClosedError } from "../../lib/state/manager.ts";
import { startScriptedNfsServer } from "../_nfs4_server.ts";
import { ScriptedServer } from "../state/_scripted.ts";
import { withScriptedClient } from "./_scripted_client.ts";

const HOLDER = {
  holder: { type: "write", offset: 0n, length: 1n, clientid: 1n, owner: "x" },
  attempt: 1,
  delayMs: 10,
} as const;
const RANGE = { type: "write", offset: 0n, length: 1n } as const;

/** A 4.1 client of a scripted server over TCP (the client's own clientId `tag`-…), for `fn`. */
async function withTcpClient(tag: string, fn: (client: Nfs4Client) => Promise<void>) {
  const server = new ScriptedServer({ now: () => performance.now() });
  const nfs = await startScriptedNfsServer(server);
  try {
    await fn(
      await Nfs4Client.connect({
        host: nfs.host,
        port: nfs.port,
        version: "4.1",
        clientId: `${tag}-${crypto.randomUUID()}`,
      }),
    );
  } finally {
    await nfs.close();
  }
}

/** `e` is a ClientClosedError naming `path` and saying `why`. */
function closedBy(why: string, path: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof ClientClosedError, String(e));
    assert.equal(e.path, path);
    assert.equal(e.message, `${path}: ${why}`);
    return true;
  };
}

Deno.test("NfsFile: after its own close(), onLockAvailable(), noteLockWait() and unlock() of a range never locked throw FileClosedError", async () => {
  await withScriptedClient({}, "4.1", "closed-handle", async (client) => {
    const file = await client.open("/vfs/file", { access: "both" });
    await file.close();
    const isClosed = (e: unknown) => e instanceof FileClosedError && e.path === "/vfs/file";
    assert.throws(() => file.onLockAvailable(() => {}), isClosed);
    assert.throws(() => file.noteLockWait(HOLDER), isClosed);
    await assert.rejects(file.unlock(RANGE), isClosed);
  });
});

Deno.test("NfsFile: after the client's close(), onLockAvailable(), noteLockWait() and unlock() of a range never locked throw ClientClosedError; keepLease(true) too", async () => {
  await withTcpClient("closed-client", async (client) => {
    const file = await client.open("/vfs/file", { access: "both" });
    await client.close();
    const closed = closedBy("client closed (close() was called)", "/vfs/file");
    assert.throws(() => file.onLockAvailable(() => {}), closed);
    assert.throws(() => file.noteLockWait(HOLDER), closed);
    await assert.rejects(file.unlock(RANGE), closed);
    await assert.rejects(file.read(0n, 10), closed);
    assert.throws(() => client.keepLease(true), (e) => e instanceof ClientClosedError);
    client.keepLease(false); // what close() did already
  });
});

Deno.test("Nfs4Client: after crash(), calls of the client and of its files are refused saying crash() was called", async () => {
  await withTcpClient("crashed", async (client) => {
    const file = await client.open("/vfs/file", { access: "both" });
    await client.crash();
    const crashed = (path: string) => closedBy("client crashed (crash() was called)", path);
    await assert.rejects(client.stat("/vfs/other"), crashed("/vfs/other"));
    await assert.rejects(client.openRead("/vfs/other"), crashed("/vfs/other"));
    await assert.rejects(file.read(0n, 10), crashed("/vfs/file"));
    await assert.rejects(file.write(0n, new Uint8Array([1])), crashed("/vfs/file"));
    assert.throws(() => file.onLockAvailable(() => {}), crashed("/vfs/file"));
    await client.close(); // resolves: nothing left to release
  });
});
