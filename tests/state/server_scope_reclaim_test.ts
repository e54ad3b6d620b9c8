/**
 * RFC 8881 §2.10.4 (server scope), §8.4.2.1: state may be reclaimed only
 * from the server that granted it; a server whose EXCHANGE_ID answers a
 * different eir_server_scope after a restart (another server now answers at
 * that address: a failover, a re-addressed host) is not the same server,
 * and its grace period is not ours to reclaim in. The Linux client compares
 * the scopes (nfs4_proc_exchange_id: NFS4CLNT_SERVER_SCOPE_MISMATCH) and
 * then recovers without grace (nfs4_reclaim_lease -> nograce), still
 * ending with RECLAIM_COMPLETE (lib/state/procs.ts exchangeId41).
 *
 * Adopted from the audit (/tmp/hE/tests/server_scope_reclaim_test.ts,
 * finding F3).
 */
import assert from "node:assert/strict";
import { harness } from "./_harness.ts";
import type { CompoundReply } from "../../lib/nfs4/compound.ts";
import type { OpenArgs } from "../../lib/nfs4/ops/open.ts";
import type { LockArgs } from "../../lib/nfs4/ops/lock.ts";
import { OpenClaimType } from "../../lib/nfs4/constants.ts";
import type { Harness } from "./_harness.ts";

/** From now on EXCHANGE_ID answers say the server is of scope `scope`. */
function answerScope(h: Harness, scope: string): void {
  const channel = h.channel as unknown as {
    compound: (...a: unknown[]) => Promise<CompoundReply>;
  };
  const original = channel.compound.bind(channel);
  channel.compound = async (...args: unknown[]) => {
    const reply = await original(...args);
    for (const o of reply.outcomes) {
      if (o.name === "EXCHANGE_ID" && o.value) {
        (o.value as { serverScope: Uint8Array }).serverScope = new TextEncoder().encode(scope);
      }
    }
    return reply;
  };
}

/** The OPEN claims and LOCK reclaim flags sent since the mark. */
function claims(h: Harness): { opens: number[]; lockReclaims: boolean[] } {
  const entries = h.entries();
  return {
    opens: entries.filter((e) => e.ops.includes("OPEN"))
      .map((e) => (e.args[e.ops.indexOf("OPEN")] as OpenArgs).claim.claim),
    lockReclaims: entries.filter((e) => e.ops.includes("LOCK"))
      .map((e) => (e.args[e.ops.indexOf("LOCK")] as LockArgs).reclaim),
  };
}

Deno.test("4.1: a restart answering another eir_server_scope is not reclaimed in grace: RECLAIM_COMPLETE, then OPEN(CLAIM_FH), the lock lost, not reclaimed (RFC 8881 §2.10.4, §8.4.2.1)", async () => {
  await using h = await harness(1);
  const file = await h.open("file", 3);
  await h.lock(file, { offset: 0n, length: 5n });
  answerScope(h, "another-server");
  h.mark();
  h.server.reboot();
  // The other server's own grace period (for its own clients) ends 10 s
  // on: its NFS4ERR_GRACE to the re-OPEN is waited out, not taken as lost.
  const rebootAt = h.clock.now();
  h.clock.setTimer(() => h.server.endGrace(), 10_000);
  await h.drive(h.read(file));
  assert.ok(h.clock.now() >= rebootAt + 10_000);
  const sent = claims(h);
  assert.ok(
    !sent.opens.includes(OpenClaimType.CLAIM_PREVIOUS),
    `reclaimed with CLAIM_PREVIOUS on a server of another scope: ${h.ops().join(" | ")}`,
  );
  // Re-opened by handle (sent again while the server answered NFS4ERR_GRACE).
  assert.ok(sent.opens.length >= 1 && sent.opens.every((c) => c === OpenClaimType.CLAIM_FH));
  // A lock recovered without grace is lost unless asked for (reacquireLostLocks):
  // another client may have taken the range meanwhile. Never reclaimed.
  assert.deepEqual(sent.lockReclaims, []);
  assert.deepEqual(file.locks.map((l) => l.bad), [
    'lock lost: EXCHANGE_ID: server scope "another-server", not "scripted"',
  ]);
  const ops = h.ops();
  const complete = ops.findIndex((o) => o.includes("RECLAIM_COMPLETE"));
  const open = ops.findIndex((o) => o.includes("OPEN"));
  assert.ok(complete >= 0 && complete < open, ops.join("\n"));
  assert.deepEqual(h.details(["clid"]).filter((d) => d.startsWith("server scope")), [
    `server scope changed ("scripted" before, "another-server" now: ` +
    "not the server that granted our state; no reclaim in grace)",
  ]);
  assert.ok(h.steps().includes("+RECLAIM_NOGRACE"), h.steps().join("\n"));
  assert.equal(h.ops().filter((o) => o.includes("RECLAIM_COMPLETE")).length, 1);
  // The state is the client's again.
  assert.equal(file.bad, undefined);
  assert.equal(await h.readText(file), "hello, world\n");
});

Deno.test("4.1: a restart answering the same eir_server_scope is reclaimed in grace as before (RFC 8881 §8.4.2.1)", async () => {
  await using h = await harness(1);
  const file = await h.open("file", 3);
  await h.lock(file, { offset: 0n, length: 5n });
  h.mark();
  h.server.reboot();
  await h.drive(h.read(file));
  const sent = claims(h);
  assert.deepEqual(sent.opens, [OpenClaimType.CLAIM_PREVIOUS]);
  assert.deepEqual(sent.lockReclaims, [true]);
  assert.deepEqual(h.details(["clid"]).filter((d) => d.startsWith("server scope")), []);
});
