/**
 * `NfsFile.onLockLost`: a library user holding a lock for a long job is
 * told at once when the state manager gives the lock up (RFC 8881 §8.3,
 * §18.46.3: a lock the server revoked is lost, never re-taken behind the
 * caller's back), not only at its next call on the file; and the trace's
 * `lock lost` event carries `{ path, ranges, reason }` as data. Before,
 * nothing was called: the job learnt it from the EBADF of its next call.
 * Against the scripted server over TCP (tests/state/_scripted.ts), which
 * revokes the lock and flags it on SEQUENCE until TEST_STATEID finds it.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import type { LockLost } from "../../lib/client/api.ts";
import { NFS4_UINT64_MAX } from "../../lib/nfs4/constants.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import type { TraceEvent } from "../../lib/state/trace.ts";
import { ScriptedServer } from "../state/_scripted.ts";
import { startScriptedNfsServer } from "../_nfs4_server.ts";

const RANGE = { type: "write", offset: 0n, length: NFS4_UINT64_MAX } as const;

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function withLockedFile(
  fn: (ctx: {
    client: Nfs4Client;
    server: ScriptedServer;
    events: TraceEvent[];
    file: Awaited<ReturnType<Nfs4Client["open"]>>;
  }) => Promise<void>,
): Promise<void> {
  const server = new ScriptedServer({ now: () => performance.now() });
  const nfs = await startScriptedNfsServer(server);
  const events: TraceEvent[] = [];
  try {
    const client = await Nfs4Client.connect({
      host: nfs.host,
      port: nfs.port,
      version: "4.1",
      clientId: `lock-lost-${crypto.randomUUID()}`,
      onTrace: (e) => events.push(e),
    });
    try {
      const file = await client.open("/vfs/file", { access: "write" });
      await file.lock(RANGE);
      await fn({ client, server, events, file });
    } finally {
      await client.close();
    }
    assert.deepEqual(nfs.errors, []);
  } finally {
    await nfs.close();
  }
}

Deno.test({
  name:
    "NfsFile.onLockLost: a revoked lock is told at once, with path, range and reason; the `lock lost` event has the same as data (RFC 8881 §18.46.3)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withLockedFile(async ({ client, server, events, file }) => {
      const told: LockLost[] = [];
      const other: LockLost[] = [];
      file.onLockLost((lost) => told.push(lost));
      const unsubscribed = file.onLockLost((lost) => other.push(lost));
      unsubscribed();
      server.revoke(file.state.locks[0]!.stateid!, S.NFS4ERR_ADMIN_REVOKED);
      // Any request's SEQUENCE carries the revocation flag: recovery
      // finds the lock revoked (TEST_STATEID) and gives it up.
      await client.stat("/vfs");
      await until(() => told.length > 0, "the lock-lost notice");
      assert.equal(told.length, 1);
      assert.equal(told[0]!.path, "/vfs/file");
      assert.deepEqual(told[0]!.range, RANGE);
      assert.match(told[0]!.reason, /revoked/);
      assert.deepEqual(other, []);
      const lost = events.find((e) => e.event === "lock lost");
      assert.ok(lost, events.map((e) => e.event).join("\n"));
      assert.deepEqual(lost.data, {
        path: "/vfs/file",
        ranges: [{ type: "write", offset: 0n, length: NFS4_UINT64_MAX }],
        reason: told[0]!.reason,
      });
      // The next use of the lock fails, as before (EBADF).
      await assert.rejects(file.lock(RANGE), /lock lost: revoked/);
    });
  },
});

Deno.test({
  name:
    "NfsFile.onLockLost: a listener that throws is dropped and reported; the others are told; a closed handle hears nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withLockedFile(async ({ client, server, events, file }) => {
      const second = await client.open("/vfs/file", { access: "write" });
      const closedToo: LockLost[] = [];
      second.onLockLost((lost) => closedToo.push(lost));
      await second.close();
      const told: LockLost[] = [];
      file.onLockLost(() => {
        throw new Error("listener bug");
      });
      file.onLockLost((lost) => told.push(lost));
      const errors: unknown[][] = [];
      const consoleError = console.error;
      console.error = (...args: unknown[]) => errors.push(args);
      try {
        server.revoke(file.state.locks[0]!.stateid!, S.NFS4ERR_ADMIN_REVOKED);
        await client.stat("/vfs");
        await until(() => told.length > 0, "the lock-lost notice");
      } finally {
        console.error = consoleError;
      }
      assert.equal(told.length, 1);
      assert.deepEqual(closedToo, []);
      assert.equal(errors.length, 1);
      const dropped = events.filter((e) => e.event === "onLockLost listener dropped");
      assert.deepEqual(dropped.map((e) => [e.category, e.detail]), [
        ["error", "/vfs/file: listener bug"],
      ]);
    });
  },
});
