/**
 * Servers differ (issue 15 item 7), against the scripted server over TCP
 * (tests/_nfs4_server.ts) on NFSv4.0 and NFSv4.1:
 *
 * - a newer Ganesha answers a refused blocking LOCK with a holder it made
 *   up (`ganesha_unknown_owner`, client ID 0, on 4.0 ranges never filled
 *   in). The client asks LOCKT before naming a holder (RFC 7530 §16.11)
 *   and says "unknown holder" when LOCKT names none either, never the
 *   garbage;
 * - a server may send CB_NOTIFY_LOCK to a 4.0 client, whose callback
 *   program has no such operation: the client answers NFS4ERR_OP_ILLEGAL
 *   (RFC 7530 §16.2.3), and `nfs4 lock -w` still ends by polling within
 *   its limit, with the lock if it came free, without if not.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import { describeLockHolder, LockConflictError } from "../../lib/client/errors.ts";
import { cbNotifyLock } from "../../lib/nfs4/callback.ts";
import type { Nfs4Op } from "../../lib/nfs4/compound.ts";
import { LockType, NFS4_UINT64_MAX } from "../../lib/nfs4/constants.ts";
import type { LockDenied } from "../../lib/nfs4/ops/lock.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import type { TraceEvent } from "../../lib/state/trace.ts";
import { ScriptedServer } from "../state/_scripted.ts";
import { type ScriptedNfsServer, startScriptedNfsServer } from "../_nfs4_server.ts";
import { startNfs4 } from "./_lock.ts";

const WHOLE = { type: "write", offset: 0n, length: NFS4_UINT64_MAX } as const;
const enc = new TextEncoder();

/** What a newer Ganesha sends for a refused blocking lock: nobody, on uninitialised bytes. */
const MADE_UP: LockDenied = {
  offset: 0x7f3a_1c2d_0000_1000n,
  length: 0x5599_aabb_ccdd_0000n,
  locktype: LockType.WRITE_LT,
  owner: { clientid: 0n, owner: enc.encode("ganesha_unknown_owner") },
};

async function withScripted(fn: (nfs: ScriptedNfsServer) => Promise<void>): Promise<void> {
  const server = new ScriptedServer({ now: () => performance.now() });
  const nfs = await startScriptedNfsServer(server);
  try {
    await fn(nfs);
    assert.deepEqual(nfs.errors, []);
  } finally {
    await nfs.close();
  }
}

function connect(
  nfs: ScriptedNfsServer,
  version: "4.0" | "4.1",
  name: string,
  events: TraceEvent[] = [],
): Promise<Nfs4Client> {
  return Nfs4Client.connect({
    host: nfs.host,
    port: nfs.port,
    version,
    clientId: `${name}-${crypto.randomUUID()}`,
    timeoutMs: 10_000,
    onTrace: (e) => events.push(e),
  });
}

/** Waits (polling) until `check` holds; fails after `ms`. */
async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function refusal(lock: Promise<void>): Promise<LockConflictError> {
  try {
    await lock;
  } catch (e) {
    if (e instanceof LockConflictError) return e;
    throw e;
  }
  assert.fail("the LOCK was granted");
}

for (const vers of ["4.0", "4.1"] as const) {
  Deno.test(`NFSv${vers}: a LOCK refused with a made-up holder names the real one from LOCKT`, async () => {
    await withScripted(async (nfs) => {
      const a = await connect(nfs, vers, "holder");
      const events: TraceEvent[] = [];
      const b = await connect(nfs, vers, "waiter", events);
      try {
        const fa = await a.open("/vfs/file", { access: "both" });
        await fa.lock(WHOLE);
        const fb = await b.open("/vfs/file", { access: "both" });
        nfs.server.failNext("LOCK", S.NFS4ERR_DENIED, { detail: MADE_UP });
        const e = await refusal(fb.lock(WHOLE, { blocking: true }));
        assert.equal(e.holder.unknown, undefined);
        assert.equal(e.holder.clientid, a.manager.client.clientId);
        const held = a.describeState().opens.find((o) => o.path === "/vfs/file");
        assert.equal(e.holder.owner, held?.locks.find((l) => l.ranges.length > 0)?.owner);
        assert.equal(e.holder.offset, 0n);
        assert.equal(e.holder.length, NFS4_UINT64_MAX);
        assert.match(
          describeLockHolder(e.holder),
          /^exclusive lock on bytes 0- held by lock owner lock-/,
        );
        const ops = nfs.server.log.filter((l) => l.ops.includes("LOCK") || l.ops.includes("LOCKT"))
          .map((l) => l.ops.filter((o) => o === "LOCK" || o === "LOCKT").join());
        assert.deepEqual(ops.slice(-2), ["LOCK", "LOCKT"]);
        await fb.close();
        await fa.close();
      } finally {
        await b.close();
        await a.close();
      }
    });
  });

  Deno.test(`NFSv${vers}: a made-up holder that LOCKT does not confirm is an unknown holder, never the garbage`, async () => {
    await withScripted(async (nfs) => {
      const events: TraceEvent[] = [];
      const b = await connect(nfs, vers, "waiter", events);
      try {
        const fb = await b.open("/vfs/file", { access: "both" });
        // LOCKT finds the range free (the lock went, or was never an NFSv4 one).
        nfs.server.failNext("LOCK", S.NFS4ERR_DENIED, { detail: MADE_UP });
        const free = await refusal(fb.lock(WHOLE, { blocking: true }));
        assert.equal(free.holder.unknown, true);
        const text = describeLockHolder(free.holder);
        assert.equal(
          text,
          "a conflicting lock held by an unknown holder (the server did not say who)",
        );
        assert.doesNotMatch(text, /ganesha_unknown_owner|0x0000000000000000|7f3a/);
        assert.ok(
          events.some((e) => e.event === "conflicting lock of an unknown holder"),
          "the trace keeps what the server sent",
        );
        // LOCKT made up as well.
        nfs.server.failNext("LOCK", S.NFS4ERR_DENIED, { detail: MADE_UP });
        nfs.server.failNext("LOCKT", S.NFS4ERR_DENIED, { detail: MADE_UP });
        const both = await refusal(fb.lock(WHOLE));
        assert.equal(both.holder.unknown, true);
        // `nfs4 lock --test` (testLock) does not name it either.
        nfs.server.failNext("LOCKT", S.NFS4ERR_DENIED, { detail: MADE_UP });
        const tested = await b.testLock("/vfs/file", WHOLE);
        assert.equal(tested?.unknown, true);
        // A range that does not meet the one asked for is no conflict either.
        nfs.server.failNext("LOCK", S.NFS4ERR_DENIED, {
          detail: { ...MADE_UP, owner: { clientid: 0x6b00000100000001n, owner: enc.encode("x") } },
        });
        const apart = await refusal(fb.lock({ type: "write", offset: 0n, length: 4096n }));
        assert.equal(apart.holder.unknown, true);
        await fb.close();
      } finally {
        await b.close();
      }
    });
  });

  Deno.test(`nfs4 --vers ${vers} lock -n: a made-up holder is reported as unknown`, async () => {
    await withScripted(async (nfs) => {
      nfs.server.failNext("LOCK", S.NFS4ERR_DENIED, { detail: MADE_UP });
      const url = `${nfs.url}/vfs/file`;
      const run = await startNfs4(["--vers", vers, "lock", "-n", url, "--", "true"]).done;
      assert.equal(run.code, 1, run.stderr);
      assert.equal(
        run.stderr,
        `nfs4: ${url}: locked: a conflicting lock held by an unknown holder (the server did not say who) (NFS4ERR_DENIED)\n`,
      );
    });
  });
}

for (const freed of [false, true]) {
  Deno.test(`nfs4 --vers 4.0 lock -w 3: CB_NOTIFY_LOCK is answered NFS4ERR_OP_ILLEGAL and the wait ends by polling ${freed ? "with the lock once it is free" : "at -w while it is held"}`, async () => {
    await withScripted(async (nfs) => {
      const a = await connect(nfs, "4.0", "holder");
      try {
        const fa = await a.open("/vfs/file", { access: "both" });
        await fa.lock(WHOLE);
        const url = `${nfs.url}/vfs/file`;
        const started = performance.now();
        const waiter = startNfs4(["--vers", "4.0", "lock", "-w", "3", url, "--", "true"]);
        // The waiter's client ID, once its LOCK was refused.
        await until(
          () => nfs.server.log.some((l) => l.ops.includes("LOCK") && l.status === S.NFS4ERR_DENIED),
          "the waiter's LOCK refused",
        );
        const holderId = a.manager.client.clientId!;
        const waiterId = [...nfs.server.clients.keys()].find((id) => id !== holderId)!;
        const fh = nfs.server.file("/vfs/file")!.fh;
        const notify = await nfs.server.sendCallback(waiterId, [
          cbNotifyLock({
            fh,
            lockOwner: { clientid: waiterId, owner: enc.encode("lock-p1-1") },
          }) as Nfs4Op<unknown>,
        ]);
        assert.equal(notify.reply?.status, S.NFS4ERR_OP_ILLEGAL);
        assert.deepEqual(
          notify.reply?.outcomes.map((o) => `${o.name} ${o.status}`),
          [`CB_ILLEGAL ${S.NFS4ERR_OP_ILLEGAL}`],
        );
        if (freed) {
          await new Promise((r) => setTimeout(r, 500));
          await fa.unlock(WHOLE);
        }
        const run = await waiter.done;
        const took = performance.now() - started;
        if (freed) {
          assert.equal(run.code, 0, run.stderr);
          assert.ok(took < 3000 + 2000, `took ${took.toFixed(0)} ms`);
        } else {
          assert.equal(run.code, 1, run.stderr);
          assert.match(
            run.stderr,
            /locked: exclusive lock on bytes 0- held by lock owner lock-.*; gave up after 3\.\d s/,
          );
          assert.ok(took < 3000 + 2000, `took ${took.toFixed(0)} ms`);
        }
        await fa.close();
      } finally {
        await a.close();
      }
    });
  });
}

for (const vers of ["4.0", "4.1"] as const) {
  Deno.test(`NFSv${vers}: LOCKT of a range this client holds finds no conflict (its own lock owner on the file, RFC 7530 §16.11); another client's LOCKT finds it`, async () => {
    await withScripted(async (nfs) => {
      const a = await connect(nfs, vers, "holder");
      const b = await connect(nfs, vers, "tester");
      try {
        const fa = await a.open("/vfs/file", { access: "both" });
        await fa.lock(WHOLE);
        assert.equal(await a.testLock("/vfs/file", WHOLE), undefined);
        assert.notEqual(await b.testLock("/vfs/file", WHOLE), undefined);
      } finally {
        await b.close();
        await a.close();
      }
    });
  });
}
