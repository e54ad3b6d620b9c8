/** The 4.1 fore-channel slot table (lib/state/slot_table.ts; RFC 8881 §2.10.6). */

import assert from "node:assert/strict";
import fc from "fast-check";
import { type Slot, SlotTable, type SlotTableChange } from "../../lib/state/slot_table.ts";

Deno.test("SlotTable rejects fewer than one slot", () => {
  assert.throws(() => new SlotTable(0), RangeError);
  assert.throws(() => new SlotTable(1.5), RangeError);
});

Deno.test("SlotTable.acquire() hands out the lowest free slot first (RFC 8881 §2.10.6.1)", async () => {
  const table = new SlotTable(4);
  const a = await table.acquire();
  const b = await table.acquire();
  const c = await table.acquire();
  assert.deepEqual([a.id, b.id, c.id], [0, 1, 2]);
  assert.equal(table.highestUsed, 2);
  table.release(b);
  assert.equal((await table.acquire()).id, 1);
  table.release(a);
  assert.equal((await table.acquire()).id, 0);
  assert.equal(table.inUse, 3);
});

Deno.test("SlotTable slots start at sequence id 1 and keep their own", async () => {
  const table = new SlotTable(2);
  const a = await table.acquire();
  assert.equal(a.seqid, 1);
  a.seqid = 5;
  table.release(a);
  const again = await table.acquire();
  assert.equal(again, a);
  assert.equal(again.seqid, 5);
});

Deno.test("SlotTable.acquire() waits FIFO when every slot is busy", async () => {
  const table = new SlotTable(2);
  const a = await table.acquire();
  const b = await table.acquire();
  const got: string[] = [];
  const w1 = table.acquire().then((s) => (got.push(`w1:${s.id}`), s));
  const w2 = table.acquire().then((s) => (got.push(`w2:${s.id}`), s));
  const w3 = table.acquire().then((s) => (got.push(`w3:${s.id}`), s));
  await Promise.resolve();
  assert.equal(table.waiting, 3);
  table.release(b);
  const s1 = await w1;
  assert.deepEqual(got, ["w1:1"]);
  table.release(a);
  await w2;
  table.release(s1);
  await w3;
  assert.deepEqual(got, ["w1:1", "w2:0", "w3:1"]);
  assert.equal(table.waiting, 0);
});

Deno.test("SlotTable.update() shrinks to the target: slots above it are not handed out (RFC 8881 §18.46.3)", async () => {
  const changes: SlotTableChange[] = [];
  const table = new SlotTable(4, (c) => changes.push(c));
  const held = await Promise.all([table.acquire(), table.acquire(), table.acquire()]);
  table.update(3, 1);
  assert.equal(table.size, 2);
  assert.deepEqual(changes.map((c) => [c.from, c.to]), [[4, 2]]);
  assert.match(changes[0]!.reason, /target_highest_slotid 1, highest_slotid 3/);
  // Slot 2 comes back but is above the target: a waiter must wait for 0 or 1.
  table.release(held[2]!);
  let got: Slot | undefined;
  const waiter = table.acquire().then((s) => (got = s));
  await Promise.resolve();
  assert.equal(got, undefined);
  assert.equal(table.waiting, 1);
  table.release(held[1]!);
  await waiter;
  assert.equal(got!.id, 1);
});

Deno.test("SlotTable.update(): slots above a lowered sr_highest_slotid start again at sequence id 1, those in flight when released; slots only above the target keep theirs (RFC 8881 §18.46.3; the kernel's nfs41_set_server_slotid_locked)", async () => {
  const table = new SlotTable(4);
  const slots = await Promise.all([0, 1, 2, 3].map(() => table.acquire()));
  slots.forEach((slot, i) => (slot.seqid = 10 + i));
  for (const slot of [slots[0]!, slots[1]!, slots[2]!]) table.release(slot);
  slots[2]!.uncertain = true;
  // The target only: the server keeps slot 2 and 3.
  table.update(3, 1);
  assert.deepEqual(slots.map((s) => s.seqid), [10, 11, 12, 13]);
  // The server lets slots 2 and 3 go; 3 is still in flight.
  table.update(1, 1);
  assert.deepEqual(slots.map((s) => s.seqid), [10, 11, 1, 13]);
  assert.equal(slots[2]!.uncertain, false);
  table.release(slots[3]!);
  assert.equal(slots[3]!.seqid, 1);
  // Given back later, they are new to the server.
  table.update(3, 3);
  const again = await Promise.all([0, 1, 2, 3].map(() => table.acquire()));
  assert.deepEqual(again.map((s) => [s.id, s.seqid]), [[0, 10], [1, 11], [2, 1], [3, 1]]);
});

Deno.test("SlotTable.update() grows when the target is raised and wakes waiters", async () => {
  const changes: SlotTableChange[] = [];
  const table = new SlotTable(4, (c) => changes.push(c));
  table.update(3, 0);
  const a = await table.acquire();
  assert.equal(a.id, 0);
  const waiters = [table.acquire(), table.acquire()];
  await Promise.resolve();
  assert.equal(table.waiting, 2);
  table.update(7, 5);
  const ids = (await Promise.all(waiters)).map((s) => s.id);
  assert.deepEqual(ids, [1, 2]);
  assert.equal(table.size, 6);
  assert.deepEqual(changes.map((c) => [c.from, c.to]), [[4, 1], [1, 6]]);
});

Deno.test("SlotTable.update() never targets above the server's highest slot id", () => {
  const changes: SlotTableChange[] = [];
  const table = new SlotTable(8, (c) => changes.push(c));
  table.update(3, 6);
  assert.equal(table.size, 4);
  assert.equal(table.serverHighest, 3);
  // Unchanged target: no event.
  table.update(3, 3);
  assert.deepEqual(changes.map((c) => [c.from, c.to]), [[8, 4]]);
});

Deno.test("SlotTable.acquire() with an aborted signal leaves the queue; the next waiter gets the slot", async () => {
  const table = new SlotTable(1);
  const a = await table.acquire();
  const controller = new AbortController();
  const aborted = table.acquire(controller.signal);
  const next = table.acquire();
  await Promise.resolve();
  assert.equal(table.waiting, 2);
  controller.abort(new Error("cancelled"));
  await assert.rejects(aborted, /cancelled/);
  assert.equal(table.waiting, 1);
  table.release(a);
  assert.equal((await next).id, 0);
});

Deno.test("SlotTable.acquire() rejects at once with an already aborted signal", async () => {
  const table = new SlotTable(1);
  await table.acquire();
  const controller = new AbortController();
  controller.abort(new Error("gone"));
  await assert.rejects(table.acquire(controller.signal), /gone/);
  assert.equal(table.waiting, 0);
});

Deno.test("SlotTable.failWaiters() rejects every waiter and empties the queue", async () => {
  const table = new SlotTable(1);
  await table.acquire();
  const waiters = [table.acquire(), table.acquire()];
  await Promise.resolve();
  table.failWaiters(new Error("session destroyed"));
  for (const w of waiters) await assert.rejects(w, /session destroyed/);
  assert.equal(table.waiting, 0);
});

Deno.test("SlotTable: random acquire/release never hands out a busy slot or one above target", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.oneof(
          fc.constant({ kind: "acquire" as const }),
          fc.record({ kind: fc.constant("release" as const), pick: fc.nat() }),
          fc.record({ kind: fc.constant("target" as const), target: fc.nat(7) }),
        ),
        { maxLength: 60 },
      ),
      async (steps) => {
        const table = new SlotTable(8);
        const held = new Set<Slot>();
        let target = 7;
        const pending: Promise<void>[] = [];
        for (const step of steps) {
          if (step.kind === "acquire") {
            pending.push(
              table.acquire().then((slot) => {
                assert.ok(!held.has(slot), `slot ${slot.id} handed out twice`);
                assert.ok(slot.id <= target, `slot ${slot.id} above target ${target}`);
                held.add(slot);
              }),
            );
          } else if (step.kind === "release") {
            const slots = [...held];
            if (slots.length === 0) continue;
            const slot = slots[step.pick % slots.length]!;
            held.delete(slot);
            table.release(slot);
          } else {
            target = step.target;
            table.update(7, target);
          }
          await Promise.resolve();
          await Promise.resolve();
        }
        // Let everyone through.
        table.update(7, 7);
        target = 7;
        for (const slot of held) table.release(slot);
        held.clear();
        for (let i = 0; i < pending.length; i++) {
          await Promise.resolve();
          for (const slot of [...held]) {
            held.delete(slot);
            table.release(slot);
          }
        }
        await Promise.all(pending);
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("SlotTable.acquire(): a wait that got its slot takes its listener off the signal (the state manager's own lives as long as the client), and acquireNow() takes a free slot or none", async () => {
  const table = new SlotTable(1);
  const held = table.acquireNow();
  assert.equal(held?.id, 0);
  assert.equal(table.acquireNow(), undefined);
  const controller = new AbortController();
  let listeners = 0;
  const signal = controller.signal;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<typeof add>) => {
    listeners++;
    add(...args);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
    listeners--;
    remove(...args);
  }) as typeof signal.removeEventListener;
  for (let i = 0; i < 3; i++) {
    const waiting = table.acquire(signal);
    table.release(held!);
    const slot = await waiting;
    assert.equal(slot.id, 0);
  }
  assert.equal(listeners, 0);
  table.beginDrain(new Error("draining"));
  assert.throws(() => table.acquireNow(), /draining/);
});
