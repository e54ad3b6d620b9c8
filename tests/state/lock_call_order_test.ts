/**
 * lock() and unlock() calls of one open run as they were made, and a close
 * waits only where it must (review of the lock-concurrency changes):
 *
 * - an unlock() made while the open's first lock() is still on its way
 *   waits for it: it found no lock stateid yet, sent no LOCKU, resolved,
 *   and the lock stayed on the server (RFC 7530 §16.12, RFC 8881 §18.12);
 * - a close() of a handle beside others gives up only its share and does
 *   not wait for another handle's LOCK (one waiting out NFS4ERR_DELAY held
 *   that close, and every OPEN of the client behind it, for the LOCK's
 *   whole deadline); the last user's close still does (RFC 7530 §16.2.4).
 */

import assert from "node:assert/strict";
import { NFS4_UINT64_MAX, Nfs4Client } from "../../mod.ts";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { closeFile } from "../../lib/state/files.ts";
import { serverTest, type TestServer } from "../_server.ts";
import { drain, harness } from "./_harness.ts";

const BOTH = ShareAccess.OPEN4_SHARE_ACCESS_BOTH;

/** Whether another client gets an exclusive lock of the whole file at once. */
async function otherCanLock(server: TestServer, path: string): Promise<string> {
  const other = await Nfs4Client.connect({
    host: "127.0.0.1",
    port: server.port,
    version: "4.1",
    uid: 0,
    gid: 0,
    clientId: `lock-call-order-other-${crypto.randomUUID()}`,
  });
  try {
    const file = await other.open(path, { access: "both" });
    try {
      await file.lock({ type: "write", offset: 0n, length: NFS4_UINT64_MAX }, { noWait: true });
      return "free";
    } catch (e) {
      return `held: ${(e as Error).message}`;
    } finally {
      await file.close();
    }
  } finally {
    await other.close();
  }
}

for (const version of ["4.0", "4.1"] as const) {
  serverTest(
    `NFSv${version}: unlock() made while the open's first lock() is on its way waits for it, then unlocks: another client gets the lock (RFC 7530 §16.12)`,
    async (server) => {
      await Deno.writeFile(`${server.exportDir}/f`, new Uint8Array(100));
      const client = await Nfs4Client.connect({
        host: "127.0.0.1",
        port: server.port,
        version,
        uid: 0,
        gid: 0,
        clientId: `lock-call-order-${crypto.randomUUID()}`,
      });
      try {
        const file = await client.open("/vfs/f", { access: "both" });
        const range = { type: "write" as const, offset: 0n, length: 10n };
        const results = await Promise.allSettled([file.lock(range), file.unlock(range)]);
        assert.deepEqual(results.map((r) => r.status), ["fulfilled", "fulfilled"]);
        // Checked while the file is still open: only the LOCKU can have freed it.
        assert.equal(await otherCanLock(server, "/vfs/f"), "free");
        await file.close();
      } finally {
        await client.close();
      }
      assert.equal(client.leftOnServer, undefined);
    },
  );
}

for (const minor of [0, 1] as const) {
  Deno.test(
    `4.${minor}: close() of one of two handles and an OPEN of another file do not wait for the other handle's LOCK waiting out NFS4ERR_DELAY (RFC 7530 §16.2.4: only the CLOSE needs the locks settled)`,
    async () => {
      await using h = await harness(minor);
      const state = await h.open("file", BOTH);
      assert.equal(await h.open("file", BOTH), state, "one open, two users");
      assert.equal(state.users, 2);
      h.server.failNext("LOCK", S.NFS4ERR_DELAY, { times: 1000 });
      const locking = h.lock(state, { offset: 0n, length: 10n });
      locking.catch(() => {});
      for (let i = 0; i < 20; i++) await drain();
      let closed = false;
      const closing = closeFile(h.m, state).finally(() => (closed = true));
      closing.catch(() => {});
      let opened = false;
      const opening = h.open("other", BOTH).finally(() => (opened = true));
      opening.catch(() => {});
      for (let i = 0; i < 50; i++) await drain();
      assert.ok(closed, "the close of a user beside another settled without the LOCK");
      assert.ok(opened, "an OPEN of another file was not held behind it");
      await h.drive(locking.catch(() => undefined), 50, 600_000);
    },
  );
}
