/**
 * State owners (lib/state/owners.ts): 4.0 seqid rules (RFC 7530 §9.1.7),
 * per-owner serialisation, and the idle-owner cache.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  LockOwner,
  OpenOwner,
  OwnerCache,
  seqidAdvances,
  StateOwner,
} from "../../lib/state/owners.ts";
import { FakeClock } from "../../lib/state/clock.ts";
import { Nfs4Status as S, statusName } from "../../lib/nfs4/status.ts";
import { harness } from "./_harness.ts";

/** RFC 7530 §9.1.7: the errors after which the seqid is not incremented. */
const NOT_ADVANCED: readonly number[] = [
  S.NFS4ERR_STALE_CLIENTID,
  S.NFS4ERR_STALE_STATEID,
  S.NFS4ERR_BAD_STATEID,
  S.NFS4ERR_BAD_SEQID,
  S.NFS4ERR_BADXDR,
  S.NFS4ERR_RESOURCE,
  S.NFS4ERR_NOFILEHANDLE,
  S.NFS4ERR_MOVED,
];

Deno.test("seqidAdvances() is false exactly for the RFC 7530 §9.1.7 list", () => {
  for (const status of Object.values(S)) {
    assert.equal(seqidAdvances(status), !NOT_ADVANCED.includes(status), statusName(status));
  }
});

Deno.test("StateOwner.advance() steps on OK and ordinary errors (RFC 7530 §9.1.7)", () => {
  const owner = new OpenOwner(1000, "u1000");
  assert.equal(owner.seqid, 0);
  owner.advance(S.NFS4_OK);
  assert.equal(owner.seqid, 1);
  for (const status of [S.NFS4ERR_DENIED, S.NFS4ERR_DELAY, S.NFS4ERR_GRACE, S.NFS4ERR_NOENT]) {
    owner.advance(status);
  }
  assert.equal(owner.seqid, 5);
});

Deno.test("StateOwner.advance() keeps the seqid after the RFC 7530 §9.1.7 errors", () => {
  const owner = new LockOwner("p1");
  owner.seqid = 7;
  for (const status of NOT_ADVANCED) owner.advance(status);
  assert.equal(owner.seqid, 7);
});

Deno.test("StateOwner.advance() wraps at 2^32 (seqid4 is a uint32)", () => {
  const owner = new LockOwner("p1");
  owner.seqid = 0xffff_ffff;
  owner.advance(S.NFS4_OK);
  assert.equal(owner.seqid, 0);
});

Deno.test("StateOwner.resetSeqid() starts over at 0 (new client ID)", () => {
  const owner = new OpenOwner(1, "u1");
  owner.seqid = 42;
  owner.resetSeqid();
  assert.equal(owner.seqid, 0);
});

Deno.test("owners have distinct wire ids and printable labels", () => {
  const a = new OpenOwner(1000, "u1000");
  const b = new OpenOwner(1000, "u1000");
  const l = new LockOwner("p9");
  assert.notEqual(a.label, b.label);
  assert.match(a.label, /^open-u1000-\d+$/);
  assert.match(l.label, /^lock-p9-\d+$/);
  assert.equal(new TextDecoder().decode(a.id), a.label);
});

/** Yields `n` times to the microtask queue. */
async function yieldTimes(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

Deno.test("StateOwner.serialise() runs one owner's operations strictly one at a time, in call order (RFC 7530 §9.1.7)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ delay: fc.nat(20), fails: fc.boolean(), lateStart: fc.nat(5) }), {
        minLength: 1,
        maxLength: 12,
      }),
      async (jobs) => {
        const owner = new StateOwner("open", "prop");
        let running = 0;
        let maxRunning = 0;
        const started: number[] = [];
        const finished: number[] = [];
        const calls: Promise<unknown>[] = [];
        for (const [i, job] of jobs.entries()) {
          await yieldTimes(job.lateStart);
          calls.push(
            owner.serialise(async () => {
              running++;
              maxRunning = Math.max(maxRunning, running);
              started.push(i);
              await yieldTimes(job.delay);
              running--;
              finished.push(i);
              if (job.fails) throw new Error(`job ${i}`);
              return i;
            }),
          );
        }
        const results = await Promise.allSettled(calls);
        assert.equal(maxRunning, 1);
        const order = jobs.map((_, i) => i);
        assert.deepEqual(started, order);
        assert.deepEqual(finished, order);
        for (const [i, result] of results.entries()) {
          if (jobs[i]!.fails) assert.equal(result.status, "rejected");
          else assert.deepEqual(result, { status: "fulfilled", value: i });
        }
      },
    ),
    { numRuns: 150 },
  );
});

Deno.test("StateOwner.serialise() of different owners does not wait on each other", async () => {
  const a = new StateOwner("open", "a");
  const b = new StateOwner("open", "b");
  let release!: () => void;
  const blocker = new Promise<void>((resolve) => (release = resolve));
  const first = a.serialise(() => blocker);
  let ranB = false;
  await b.serialise(() => {
    ranB = true;
    return Promise.resolve();
  });
  assert.equal(ranB, true);
  release();
  await first;
});

Deno.test("OwnerCache keeps an idle owner for its limit and forgets it after (FakeClock)", async () => {
  const clock = new FakeClock();
  const cache = new OwnerCache<OpenOwner>(5 * 60_000, () => clock.now());
  const owner = new OpenOwner(1000, "u1000");
  cache.park(owner);
  assert.equal(cache.size, 1);
  await clock.advance(5 * 60_000);
  // At exactly the limit it is still reusable.
  assert.equal(cache.take((o) => o.uid === 1000), owner);
  assert.equal(cache.size, 0);

  cache.park(owner);
  await clock.advance(5 * 60_000 + 1);
  assert.equal(cache.take(() => true), undefined);
  assert.equal(cache.size, 0);
});

Deno.test("OwnerCache.expire() returns the owners it forgets, oldest first", async () => {
  const clock = new FakeClock();
  const cache = new OwnerCache<OpenOwner>(1000, () => clock.now());
  const a = new OpenOwner(1, "u1");
  const b = new OpenOwner(2, "u2");
  const c = new OpenOwner(3, "u3");
  cache.park(a);
  await clock.advance(500);
  cache.park(b);
  await clock.advance(600);
  cache.park(c);
  assert.deepEqual(cache.expire(), [a]);
  await clock.advance(500);
  assert.deepEqual(cache.expire(), [b]);
  assert.equal(cache.size, 1);
  cache.clear();
  assert.equal(cache.size, 0);
});

Deno.test("OwnerCache.take() picks only an owner that matches", () => {
  const clock = new FakeClock();
  const cache = new OwnerCache<OpenOwner>(1000, () => clock.now());
  const a = new OpenOwner(1, "u1");
  const b = new OpenOwner(2, "u2");
  cache.park(a);
  cache.park(b);
  assert.equal(cache.take((o) => o.uid === 2), b);
  assert.equal(cache.take((o) => o.uid === 2), undefined);
  assert.equal(cache.take((o) => o.uid === 1), a);
});

Deno.test("4.0: concurrent OPENs of a new open owner are confirmed in order, none slips between OPEN and OPEN_CONFIRM (RFC 7530 §16.18.5)", async () => {
  await using h = await harness(0);
  h.mark();
  const [a, b, c] = await Promise.all([h.open("file"), h.open("other"), h.open("file")]);
  for (const state of [a, b, c]) assert.equal(state.bad, undefined);
  const ops = h.ops();
  const confirm = ops.findIndex((o) => o.includes("OPEN_CONFIRM"));
  assert.ok(confirm > 0, ops.join("\n"));
  // The first OPEN (of the new owner, which asked for the confirmation) is
  // right before it: no other OPEN of the owner went out in between.
  const firstOpen = ops.findIndex((o) => /\bOPEN\b/.test(o));
  assert.equal(confirm, firstOpen + 1, ops.join("\n"));
  assert.equal(ops.filter((o) => o.includes("OPEN_CONFIRM")).length, 1, ops.join("\n"));
  assert.ok(!ops.some((o) => /BAD_STATEID|BAD_SEQID/.test(o)), ops.join("\n"));
});
