/**
 * Lease renewal (manager.ts; the kernel's nfs4renewd.c): RENEW on 4.0, a
 * lone SEQUENCE on 4.1, at 2/3 of the lease after the last renewal, only
 * while state is held; any request that renews the lease postpones it
 * (RFC 7530 §9.5, RFC 8881 §8.3). Driven by a fake clock.
 */

import assert from "node:assert/strict";
import { putrootfh } from "../../lib/nfs4/ops/putrootfh.ts";
import { getattr } from "../../lib/nfs4/ops/getattr.ts";
import { Attr } from "../../lib/nfs4/attrs.ts";
import { closeFile } from "../../lib/state/files.ts";
import { ClientRecord } from "../../lib/state/client.ts";
import { harness } from "./_harness.ts";

for (const [minor, op] of [[0, "RENEW"], [1, "SEQUENCE"]] as const) {
  const rfc = minor === 0 ? "RFC 7530 §9.5" : "RFC 8881 §8.3";

  Deno.test(`renewal: 4.${minor} sends ${op} every 20 s of a 30 s lease while an open is held (${rfc})`, async () => {
    await using h = await harness(minor);
    assert.equal(h.m.client.leaseTime, 30);
    await h.open();
    h.mark();
    await h.tick(65_000);
    assert.deepEqual(h.timeline(), [[20_000, op], [40_000, op], [60_000, op]]);
    assert.deepEqual(h.events(["lease"]), [`${op} ok`, `${op} ok`, `${op} ok`]);
    assert.deepEqual(h.steps(), []);
    assert.equal(h.clock.spins, 0);
  });

  Deno.test(`renewal: 4.${minor} a 3 s lease is renewed every 1.5 s, not 2 s: a server counting its lease in whole seconds ends it up to 1 s early`, async () => {
    await using h = await harness(minor, { leaseTime: 3 });
    assert.equal(h.m.client.leaseTime, 3);
    await h.open();
    h.mark();
    await h.tick(4_600);
    assert.deepEqual(h.timeline(), [[1_500, op], [3_000, op], [4_500, op]]);
    assert.deepEqual(h.steps(), []);
  });

  Deno.test(`renewal: 4.${minor} READ at 15 s counts as a renewal: the next ${op} is at 35 s (${rfc})`, async () => {
    await using h = await harness(minor);
    const file = await h.open();
    await h.tick(15_000);
    assert.equal(await h.readText(file), "hello, world\n");
    h.mark();
    await h.tick(45_000);
    assert.deepEqual(h.timeline(), [[35_000, op], [55_000, op]]);
    assert.equal(h.clock.spins, 0);
  });

  // Regression (fixed in lib/state): with no state held, #renewTick() skips the renewal and #armRenewal()
  // re-arms at `lastRenewal + 2/3 lease`, which is already past: a zero-delay
  // timer that fires and re-arms itself for ever (a busy loop on the real
  // clock; the guarded fake clock refuses it and counts `spins`). The same
  // happens while the recovery loop runs. Fix: when the tick does not renew,
  // re-arm a full period later (or at least 1 s, as the kernel's
  // nfs4_schedule_state_renewal), e.g. `wait = due > now ? due - now : period`.
  Deno.test({
    name: `renewal: 4.${minor} sends no ${op} while no state is held, without spinning (${rfc})`,
    async fn() {
      await using h = await harness(minor);
      await h.tick(65_000);
      assert.deepEqual(h.timeline(), []);
      assert.equal(h.clock.spins, 0);
    },
  });
}

Deno.test("renewal: 4.0 a PUTROOTFH+GETATTR carries no clientid or stateid and does not postpone RENEW (RFC 7530 §9.5)", async () => {
  await using h = await harness(0);
  await h.open();
  await h.tick(15_000);
  await h.vfs(); // cached: no request
  await h.m.run(() => [putrootfh(), getattr([Attr.SIZE])] as const);
  h.mark();
  await h.tick(10_000);
  assert.deepEqual(h.timeline(), [[20_000, "RENEW"]]);
});

Deno.test("renewal: 4.1 any SEQUENCE renews, even one before a GETATTR (RFC 8881 §8.3)", async () => {
  await using h = await harness(1);
  await h.open();
  await h.tick(15_000);
  await h.m.run(() => [putrootfh(), getattr([Attr.SIZE])] as const);
  h.mark();
  await h.tick(25_000);
  assert.deepEqual(h.timeline(), [[35_000, "SEQUENCE"]]);
});

// Regression (fixed in lib/state): see "sends no RENEW while no state is held": after the last CLOSE the
// renewer spins with zero-delay timers instead of going quiet.
Deno.test({
  name: "renewal: 4.0 renewals stop after the last CLOSE (RFC 7530 §9.5)",
  async fn() {
    await using h = await harness(0);
    const file = await h.open();
    await h.tick(20_000);
    await closeFile(h.m, file);
    h.mark();
    await h.tick(60_000);
    assert.deepEqual(h.timeline(), []);
    assert.equal(h.clock.spins, 0);
  },
});

Deno.test("renewal: renewNow() sends RENEW at once and restarts the 20 s period (RFC 7530 §16.28)", async () => {
  await using h = await harness(0);
  await h.open();
  await h.tick(5_000);
  h.mark();
  assert.equal(await h.m.renewNow(), 0);
  await h.tick(30_000);
  assert.deepEqual(h.timeline(), [[5_000, "RENEW"], [25_000, "RENEW"]]);
});

Deno.test("renewalPeriodMs: 2/3 of the lease, no later than 1.5 s before its end, no sooner than 1/3", () => {
  const record = new ClientRecord({
    server: "s:2049",
    minorVersion: 1,
    ownerId: "o",
    verifier: new Uint8Array(8),
  });
  const periods: [number, number][] = [];
  for (const lease of [1, 3, 4, 4.5, 5, 10, 90]) {
    record.leaseTime = lease;
    periods.push([lease, Math.round(record.renewalPeriodMs)]);
  }
  assert.deepEqual(periods, [
    [1, 333],
    [3, 1500],
    [4, 2500],
    [4.5, 3000],
    [5, 3333],
    [10, 6667],
    [90, 60000],
  ]);
});
