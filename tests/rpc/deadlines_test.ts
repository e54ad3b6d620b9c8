/** DeadlineQueue: many call deadlines on one timer, fired in order, never early. */

import assert from "node:assert/strict";
import fc from "fast-check";
import { DeadlineQueue, type DeadlineTimers } from "../../lib/rpc/deadlines.ts";

/** A clock and one-shot timers that move only when told. */
class ManualTimers implements DeadlineTimers {
  time = 0;
  /** Runtime timers armed and not cancelled (what the queue asked for). */
  armed: { at: number; fn: () => void }[] = [];
  arms = 0;

  now(): number {
    return this.time;
  }

  arm(fn: () => void, ms: number): () => void {
    assert.ok(ms >= 0, "never armed for the past");
    const timer = { at: this.time + ms, fn };
    this.armed.push(timer);
    this.arms++;
    return () => {
      this.armed = this.armed.filter((t) => t !== timer);
    };
  }

  /** Moves the clock to `to`, running each timer due on the way at its time. */
  advanceTo(to: number): void {
    for (;;) {
      const due = this.armed.filter((t) => t.at <= to).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.armed = this.armed.filter((t) => t !== due);
      this.time = Math.max(this.time, due.at);
      due.fn();
    }
    this.time = to;
  }
}

Deno.test("DeadlineQueue fires a deadline at its time, not before", () => {
  const timers = new ManualTimers();
  const queue = new DeadlineQueue(timers);
  const fired: number[] = [];
  queue.add(100, () => fired.push(timers.now()));
  timers.advanceTo(99);
  assert.deepEqual(fired, []);
  timers.advanceTo(100);
  assert.deepEqual(fired, [100]);
  assert.equal(queue.size, 0);
  assert.equal(queue.armed, false, "nothing left: no timer armed");
});

Deno.test("DeadlineQueue never fires a cancelled deadline", () => {
  const timers = new ManualTimers();
  const queue = new DeadlineQueue(timers);
  const fired: string[] = [];
  const a = queue.add(10, () => fired.push("a"));
  queue.add(20, () => fired.push("b"));
  queue.cancel(a);
  queue.cancel(a); // twice: nothing more
  assert.equal(queue.size, 1);
  timers.advanceTo(100);
  assert.deepEqual(fired, ["b"]);
});

Deno.test("DeadlineQueue keeps one runtime timer for calls sharing a timeout", () => {
  const timers = new ManualTimers();
  const queue = new DeadlineQueue(timers);
  // 10,000 calls, each answered before its 30 s deadline: one timer armed,
  // never cancelled and re-armed per call.
  for (let i = 0; i < 10_000; i++) {
    timers.time = i;
    queue.cancel(queue.add(30_000, () => assert.fail("answered in time")));
  }
  assert.equal(timers.arms, 1);
  assert.equal(queue.size, 0);
  timers.advanceTo(100_000);
  assert.equal(queue.armed, false);
});

Deno.test("DeadlineQueue keeps the live deadlines through compaction of cancelled ones", () => {
  const timers = new ManualTimers();
  const queue = new DeadlineQueue(timers);
  const fired: string[] = [];
  queue.add(50_000, () => fired.push("slow call"));
  for (let i = 0; i < 5_000; i++) queue.add(40_000 + i, () => fired.push(`call ${i}`));
  // Answered calls in between: cancelled entries pile up and are compacted away.
  let cancelled = 0;
  for (let i = 0; i < 5_000; i++) {
    const entry = queue.add(30_000, () => fired.push("answered"));
    queue.cancel(entry);
    cancelled++;
  }
  assert.equal(cancelled, 5_000);
  assert.equal(queue.size, 5_001);
  timers.advanceTo(60_000);
  assert.equal(fired.length, 5_001);
  assert.equal(fired.at(-1), "slow call");
  assert.ok(!fired.includes("answered"));
});

Deno.test("DeadlineQueue re-arms for an earlier deadline added later", () => {
  const timers = new ManualTimers();
  const queue = new DeadlineQueue(timers);
  const fired: string[] = [];
  queue.add(1000, () => fired.push("long"));
  queue.add(50, () => fired.push("short"));
  timers.advanceTo(50);
  assert.deepEqual(fired, ["short"]);
  timers.advanceTo(1000);
  assert.deepEqual(fired, ["short", "long"]);
});

Deno.test("DeadlineQueue fires deadlines due together in the order they were added", () => {
  const timers = new ManualTimers();
  const queue = new DeadlineQueue(timers);
  const fired: number[] = [];
  queue.add(10, () => fired.push(1));
  queue.add(30, () => fired.push(3));
  queue.add(10, () => fired.push(2));
  timers.advanceTo(30);
  assert.deepEqual(fired, [1, 2, 3]);
});

Deno.test("DeadlineQueue lets a firing deadline add and cancel others", () => {
  const timers = new ManualTimers();
  const queue = new DeadlineQueue(timers);
  const fired: string[] = [];
  const later = queue.add(20, () => fired.push("later"));
  queue.add(10, () => {
    fired.push("first");
    queue.cancel(later);
    queue.add(5, () => fired.push("added"));
  });
  timers.advanceTo(100);
  assert.deepEqual(fired, ["first", "added"]);
  assert.equal(queue.size, 0);
});

Deno.test("DeadlineQueue.clear() cancels everything and disarms", () => {
  const timers = new ManualTimers();
  const queue = new DeadlineQueue(timers);
  queue.add(10, () => assert.fail("cleared"));
  queue.add(20, () => assert.fail("cleared"));
  queue.clear();
  assert.equal(queue.size, 0);
  assert.equal(queue.armed, false);
  assert.deepEqual(timers.armed, []);
  timers.advanceTo(100);
});

Deno.test("DeadlineQueue fires every live deadline once, in time order, never early (property)", () => {
  // Each step adds a deadline, cancels one, or lets time pass.
  const step = fc.oneof(
    fc.record({ kind: fc.constant("add" as const), ms: fc.integer({ min: 0, max: 200 }) }),
    fc.record({ kind: fc.constant("cancel" as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant("wait" as const), ms: fc.integer({ min: 0, max: 100 }) }),
  );
  fc.assert(
    fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
      const timers = new ManualTimers();
      const queue = new DeadlineQueue(timers);
      const live = new Map<number, { at: number; entry: ReturnType<DeadlineQueue["add"]> }>();
      const fired: { id: number; at: number; time: number }[] = [];
      let next = 0;
      for (const s of steps) {
        if (s.kind === "add") {
          const id = next++;
          const at = timers.now() + s.ms;
          const entry = queue.add(s.ms, () => {
            fired.push({ id, at, time: timers.now() });
            live.delete(id);
          });
          live.set(id, { at, entry });
        } else if (s.kind === "cancel") {
          const ids = [...live.keys()];
          if (ids.length === 0) continue;
          const id = ids[s.pick % ids.length]!;
          queue.cancel(live.get(id)!.entry);
          live.delete(id);
        } else {
          timers.advanceTo(timers.now() + s.ms);
          // Time passed: whatever was due has fired, none is late.
          for (const { at } of live.values()) assert.ok(at > timers.now(), "a due deadline fired");
        }
        assert.equal(queue.size, live.size);
      }
      const pending = [...live.entries()].map(([id, { at }]) => ({ id, at }));
      timers.advanceTo(timers.now() + 1000);
      for (const f of fired) assert.ok(f.time >= f.at, "never before its time");
      for (let i = 1; i < fired.length; i++) {
        const a = fired[i - 1]!;
        const b = fired[i]!;
        assert.ok(a.at < b.at || (a.at === b.at && a.id < b.id), "time order, ties by addition");
      }
      assert.deepEqual(
        fired.slice(fired.length - pending.length).map((f) => f.id).sort((a, b) => a - b),
        pending.map((p) => p.id).sort((a, b) => a - b),
        "the rest fired at the end",
      );
      assert.equal(queue.size, 0);
      assert.equal(queue.armed, false);
    }),
  );
});
