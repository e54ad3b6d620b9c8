/**
 * A DELEGRETURN the server refuses for now (NFS4ERR_SERVERFAULT, or
 * NFS4ERR_DELAY until the call's deadline) leaves the delegation the
 * server's: it is kept, to go back later (CLOSE, exit), and when the
 * server revokes it instead, TEST_STATEID finds it and FREE_STATEID frees
 * it (RFC 8881 §10.2.1, §8.2.4, §18.46.3; the kernel's
 * nfs4_delegreturn_done retries NFS4ERR_DELAY). And a revoked-state bit
 * the server keeps up after a TEST_STATEID round found nothing revoked is
 * not answered with a TEST_STATEID after every COMPOUND.
 */

import assert from "node:assert/strict";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import { Nfs4Status as S, statusName } from "../../lib/nfs4/status.ts";
import { formatStateid, type Stateid } from "../../lib/nfs4/types.ts";
import { closeFile } from "../../lib/state/files.ts";
import { drain, harness } from "./_harness.ts";
import { bare, pair, withCallbacks } from "./_delegations.ts";

const READ = ShareAccess.OPEN4_SHARE_ACCESS_READ;
const WRITE = ShareAccess.OPEN4_SHARE_ACCESS_WRITE;
const RECALLABLE_STATE_REVOKED = 0x40;
const ADMIN_STATE_REVOKED = 0x20;

for (const status of [S.NFS4ERR_SERVERFAULT, S.NFS4ERR_DELAY]) {
  Deno.test(`4.1: a recalled delegation whose DELEGRETURN is refused ${statusName(status)} is kept; when the server revokes it, one TEST_STATEID finds it, FREE_STATEID frees it, and later COMPOUNDs test nothing (RFC 8881 §10.2.1, §8.2.4, §18.46.3)`, async () => {
    const { a, b } = await pair(1);
    const server = a.server;
    await using _a = a;
    await using _b = b;
    const fileA = await a.open("file", READ);
    const delegation = formatStateid(fileA.delegation!.stateid);
    // NFS4ERR_DELAY: every try until the call's deadline.
    server.failNext("DELEGRETURN", status, { times: status === S.NFS4ERR_DELAY ? 1000 : 1 });
    a.mark();
    const opening = b.drive(b.open("file", WRITE)).catch((e) => e);
    await drain();
    // (Coarse steps: NFS4ERR_DELAY is waited out to the deadline.)
    await a.drive(a.m.waitForRecovery(), 500);
    server.clearFaults();
    assert.ok(
      a.events(["deleg"]).includes("DELEGRETURN failed, kept"),
      a.details(["deleg"]).join("\n"),
    );
    assert.equal(fileA.delegation && formatStateid(fileA.delegation.stateid), delegation);
    // The server gives up on the recall and revokes it (RFC 8881 §10.2.1):
    // SEQ4_STATUS_RECALLABLE_STATE_REVOKED until it is freed.
    for (const d of server.delegations.values()) server.revokeDelegation(d);
    await opening;
    a.mark();
    for (let i = 0; i < 5; i++) assert.equal(await a.drive(a.readText(fileA)), "hello, world\n");
    await a.drive(a.m.waitForRecovery());
    const ops = bare(a.ops());
    assert.equal(ops.filter((o) => o.startsWith("TEST_STATEID")).length, 1, ops.join("\n"));
    const freed = a.entries().flatMap((e) =>
      e.ops.flatMap((n, i) => (n === "FREE_STATEID" ? [formatStateid(e.args[i] as Stateid)] : []))
    );
    assert.deepEqual(freed, [delegation]);
    assert.ok(a.events(["deleg"]).includes("delegation revoked, dropped"));
    assert.equal(fileA.delegation, undefined);
    assert.equal(server.delegations.size, 0, "the revoked delegation freed");
    // The flag is down: nothing more is tested.
    a.mark();
    await a.drive(a.readText(fileA));
    await a.drive(a.m.waitForRecovery());
    assert.deepEqual(bare(a.ops()), ["PUTFH,READ"]);
  });
}

for (const minor of [0, 1] as const) {
  Deno.test(
    `4.${minor}: a recalled delegation whose DELEGRETURN is refused NFS4ERR_DELAY until the deadline is sent again after a wait, as the kernel retries it, and the conflicting OPEN then succeeds (RFC ${
      minor === 0 ? "7530 §10.4.4" : "8881 §10.2.1"
    })`,
    async () => {
      const { a, b } = await pair(minor);
      const server = a.server;
      await using _a = a;
      await using _b = b;
      await a.open("file", READ);
      server.failNext("DELEGRETURN", S.NFS4ERR_DELAY, { times: 1000 });
      a.mark();
      const first = b.drive(b.open("file", READ | WRITE), 500).catch((e) => e);
      await drain();
      await a.drive(a.m.waitForRecovery(), 500);
      assert.ok(a.events(["deleg"]).includes("DELEGRETURN failed, kept"));
      assert.equal(server.delegations.size, 1, "the server still holds it");
      assert.match(String(await first), /NFS4ERR_DELAY/, "B's OPEN waited it out");
      // The server takes it now: it goes back at the next try.
      server.clearFaults();
      a.mark();
      await a.tick(16_000);
      await a.drive(a.m.waitForRecovery());
      assert.deepEqual(bare(a.ops()), ["PUTFH,DELEGRETURN"]);
      assert.equal(server.delegations.size, 0);
      assert.ok(a.steps().some((s) => s.startsWith("+DELEGRETURN")), a.steps().join("\n"));
      const fileB = await b.drive(b.open("file", READ | WRITE));
      assert.equal(await b.drive(b.readText(fileB)), "hello, world\n");
    },
  );

  Deno.test(
    `4.${minor}: a recalled delegation whose DELEGRETURN is refused NFS4ERR_SERVERFAULT goes back at CLOSE: nothing is left on the server (RFC ${
      minor === 0 ? "7530" : "8881"
    } §10.4.4)`,
    async () => {
      const { a, b } = await pair(minor);
      const server = a.server;
      await using _a = a;
      await using _b = b;
      const fileA = await a.open("file", READ);
      server.failNext("DELEGRETURN", S.NFS4ERR_SERVERFAULT);
      const opening = b.drive(b.open("file", READ | WRITE)).catch((e) => e);
      await drain();
      await a.drive(a.m.waitForRecovery());
      assert.equal(server.delegations.size, 1, "the server still holds it");
      a.mark();
      await a.drive(closeFile(a.m, fileA));
      assert.deepEqual(bare(a.ops()), ["PUTFH,DELEGRETURN", "PUTFH,CLOSE"]);
      assert.equal(server.delegations.size, 0);
      await opening;
    },
  );
}

Deno.test("4.1: a DELEGRETURN refused at CLOSE is kept apart from the closed open and sent again at exit; refused again, it is reported not released (RFC 8881 §10.2.1)", async () => {
  for (const refusals of [1, 2]) {
    await using a = await withCallbacks(1);
    const state = await a.open("file", READ);
    a.server.failNext("DELEGRETURN", S.NFS4ERR_SERVERFAULT, { times: refusals });
    a.mark();
    await a.drive(closeFile(a.m, state));
    assert.deepEqual(bare(a.ops()), ["PUTFH,DELEGRETURN -> NFS4ERR_SERVERFAULT", "PUTFH,CLOSE"]);
    a.mark();
    await a.drive(a.m.shutdown());
    const returns = bare(a.ops()).filter((o) => o.includes("DELEGRETURN"));
    if (refusals === 1) {
      assert.deepEqual(returns, ["PUTFH,DELEGRETURN"]);
      assert.equal(a.server.delegations.size, 0, "nothing left on the server");
      assert.deepEqual(a.m.notReleased, []);
    } else {
      assert.deepEqual(returns, ["PUTFH,DELEGRETURN -> NFS4ERR_SERVERFAULT"]);
      assert.deepEqual(a.m.notReleased.map((n) => n.what), ["DELEGRETURN /vfs/file"]);
    }
  }
});

Deno.test("4.1: SEQ4_STATUS_RECALLABLE_STATE_REVOKED kept up after TEST_STATEID found nothing revoked (state this client never knew of) gets no TEST_STATEID after every COMPOUND: said once, tested again after a lease, and at once for a bit not reported before (RFC 8881 §18.46.3)", async () => {
  await using h = await harness(1);
  const file = await h.open("file", READ);
  h.server.seqStatusFlags = RECALLABLE_STATE_REVOKED;
  h.mark();
  for (let i = 0; i < 5; i++) assert.equal(await h.drive(h.readText(file)), "hello, world\n");
  await h.drive(h.m.waitForRecovery());
  let ops = bare(h.ops());
  assert.equal(ops.filter((o) => o === "TEST_STATEID").length, 1, ops.join("\n"));
  assert.equal(ops.filter((o) => o === "PUTFH,READ").length, 5, ops.join("\n"));
  assert.equal(h.steps().filter((s) => s === "TEST_STATEIDS not repeated").length, 1);
  assert.ok(!ops.includes("FREE_STATEID"), "nothing of ours revoked");
  // A lease later the bit is still up: tested once more.
  h.mark();
  await h.tick(h.m.client.leaseTime * 1000 + 1000);
  await h.drive(h.readText(file));
  await h.drive(h.m.waitForRecovery());
  ops = bare(h.ops());
  assert.equal(ops.filter((o) => o === "TEST_STATEID").length, 1, ops.join("\n"));
  // A bit the quiet round did not see asks at once.
  h.mark();
  h.server.seqStatusFlags = RECALLABLE_STATE_REVOKED | ADMIN_STATE_REVOKED;
  await h.drive(h.readText(file));
  await h.drive(h.m.waitForRecovery());
  ops = bare(h.ops());
  assert.equal(ops.filter((o) => o === "TEST_STATEID").length, 1, ops.join("\n"));
  h.server.seqStatusFlags = 0;
});
