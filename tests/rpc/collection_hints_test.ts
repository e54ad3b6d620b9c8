/**
 * The collector hints of the Bun binary (lib/rpc/collection_hints.ts),
 * with a fake collector: a full collection is asked for only when the heap
 * has grown past the last one by the set amount, looked at every
 * CHECK_EVERY_READS socket reads, run after the current callbacks, one at a
 * time; without a collector (Deno, Node) nothing happens.
 */

import assert from "node:assert/strict";
import {
  CHECK_EVERY_READS,
  collectionHints,
  type Collector,
  CollectorPolicy,
} from "../../lib/rpc/collection_hints.ts";

class FakeCollector implements Collector {
  heap = 10;
  collections = 0;
  looks = 0;
  heapUsed(): number {
    this.looks++;
    return this.heap;
  }
  fullGC(): void {
    this.collections++;
    this.heap = 12; // what was still in use
  }
}

function manual(): { defer: (run: () => void) => void; flush: () => void; waiting: () => number } {
  const queue: (() => void)[] = [];
  return {
    defer: (run) => queue.push(run),
    flush: () => queue.splice(0).forEach((run) => run()),
    waiting: () => queue.length,
  };
}

Deno.test("CollectorPolicy asks for a full collection once the heap grew past the last one", () => {
  const collector = new FakeCollector();
  const later = manual();
  const policy = new CollectorPolicy(collector, { defer: later.defer, fullGrowthBytes: 100 });
  const reads = (n: number) => {
    for (let i = 0; i < n; i++) policy.received(1000);
  };
  reads(CHECK_EVERY_READS * 3);
  assert.equal(later.waiting(), 0, "heap not grown: nothing asked");
  assert.equal(
    collector.looks,
    1 + 3,
    "looked at once per CHECK_EVERY_READS reads (and at the start)",
  );
  collector.heap = 111; // 101 past the baseline of 10
  reads(CHECK_EVERY_READS);
  assert.equal(later.waiting(), 1, "asked for");
  assert.equal(collector.collections, 0, "not inside the read's callback");
  reads(CHECK_EVERY_READS * 2);
  assert.equal(later.waiting(), 1, "one at a time");
  later.flush();
  assert.equal(collector.collections, 1);
  assert.equal(policy.counts.full, 1);
  // The new baseline is what the collection left (12): 100 more is needed again.
  collector.heap = 100;
  reads(CHECK_EVERY_READS);
  assert.equal(later.waiting(), 0);
  collector.heap = 113;
  reads(CHECK_EVERY_READS);
  later.flush();
  assert.equal(collector.collections, 2);
});

Deno.test("CollectorPolicy without a collector does nothing", () => {
  const later = manual();
  const policy = new CollectorPolicy(undefined, { defer: later.defer, fullGrowthBytes: 0 });
  for (let i = 0; i < CHECK_EVERY_READS * 4; i++) policy.received(1 << 20);
  assert.equal(later.waiting(), 0);
  assert.deepEqual(policy.counts, { full: 0, ms: 0 });
});

Deno.test("collectionHints is a no-op under Deno", () => {
  for (let i = 0; i < CHECK_EVERY_READS * 2; i++) collectionHints.received(1 << 20);
  assert.equal(collectionHints.counts.full, 0);
});
