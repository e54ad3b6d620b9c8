/**
 * ChurnSet and ChurnMap: the transport's call tables. They rebuild their
 * storage now and then (lib/rpc/churn.ts says why); whatever the rebuilds,
 * they must answer exactly as a Set and a Map would.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { ChurnMap, ChurnSet, REBUILD_AFTER_DELETIONS } from "../../lib/rpc/churn.ts";

type Step =
  | { readonly kind: "add"; readonly key: number; readonly value: number }
  | { readonly kind: "delete"; readonly key: number }
  | { readonly kind: "clear" };

/** Mostly adds and deletes over few keys (deletions that hit), a clear now and then. */
const steps = fc.array(
  fc.oneof(
    {
      weight: 10,
      arbitrary: fc.record({
        kind: fc.constant("add" as const),
        key: fc.nat(40),
        value: fc.integer(),
      }),
    },
    { weight: 10, arbitrary: fc.record({ kind: fc.constant("delete" as const), key: fc.nat(40) }) },
    { weight: 1, arbitrary: fc.constant({ kind: "clear" as const }) },
  ),
  { maxLength: 400 },
);

Deno.test("ChurnSet answers as a Set through any adds, deletions, clears and rebuilds", () => {
  fc.assert(fc.property(steps, (script) => {
    const set = new ChurnSet<number>();
    const model = new Set<number>();
    for (const step of script) {
      if (step.kind === "add") {
        assert.equal(set.add(step.key), set);
        model.add(step.key);
      } else if (step.kind === "delete") {
        assert.equal(set.delete(step.key), model.delete(step.key));
      } else {
        set.clear();
        model.clear();
      }
      assert.equal(set.size, model.size);
      assert.deepEqual([...set], [...model], "the same members, in insertion order");
    }
    for (let key = 0; key <= 40; key++) assert.equal(set.has(key), model.has(key));
  }));
});

Deno.test("ChurnMap answers as a Map through any sets, deletions, clears and rebuilds", () => {
  fc.assert(fc.property(steps, (script) => {
    const map = new ChurnMap<number, number>();
    const model = new Map<number, number>();
    for (const step of script) {
      if (step.kind === "add") {
        assert.equal(map.set(step.key, step.value), map);
        model.set(step.key, step.value);
      } else if (step.kind === "delete") {
        assert.equal(map.delete(step.key), model.delete(step.key));
      } else {
        map.clear();
        model.clear();
      }
      assert.equal(map.size, model.size);
      assert.deepEqual([...map.values()], [...model.values()], "the same values, in order");
    }
    for (let key = 0; key <= 40; key++) {
      assert.equal(map.has(key), model.has(key));
      assert.equal(map.get(key), model.get(key));
    }
  }));
});

Deno.test("a long-lived table that sees thousands of entries come and go keeps only the live ones", () => {
  // What a long read does to the transport's tables: a few calls in flight,
  // each added and deleted. Members iterated after many rebuilds are the
  // live ones, oldest first.
  const set = new ChurnSet<object>();
  const live: object[] = [];
  for (let i = 0; i < 50 * REBUILD_AFTER_DELETIONS; i++) {
    const call = { i };
    set.add(call);
    live.push(call);
    if (live.length > 4) assert.ok(set.delete(live.shift()!));
  }
  assert.deepEqual([...set], live);
  assert.equal(set.delete({}), false, "a stranger is not a member");
});
