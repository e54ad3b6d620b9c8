import assert from "node:assert/strict";
import { RecordBufferPool } from "../../lib/rpc/socket_buffers.ts";

Deno.test("RecordBufferPool gives views of the asked size and reuses a released buffer", () => {
  const pool = new RecordBufferPool(1 << 20);
  const a = pool.take(100_000);
  assert.equal(a.length, 100_000);
  assert.equal(a.byteOffset, 0);
  a.fill(7);
  assert.ok(pool.release(a.subarray(10, 20)), "any view of the buffer hands it back");
  const b = pool.take(99_000); // the same rounded size
  assert.equal(b.buffer, a.buffer, "reused");
  assert.equal(b.length, 99_000);
  assert.deepEqual(pool.stats, { allocated: 1, reused: 1, released: 1 });
});

Deno.test("RecordBufferPool ignores second releases and buffers it did not make", () => {
  const pool = new RecordBufferPool(1 << 20);
  const a = pool.take(70_000);
  assert.ok(pool.release(a));
  assert.equal(pool.release(a), false, "released twice");
  assert.equal(pool.release(new Uint8Array(70_000)), false, "not the pool's");
  const b = pool.take(70_000);
  const c = pool.take(70_000);
  assert.equal(b.buffer, a.buffer);
  assert.notEqual(c.buffer, a.buffer, "a buffer is never out twice");
});

Deno.test("RecordBufferPool keeps at most maxFreeBytes of free buffers", () => {
  const pool = new RecordBufferPool(128 * 1024);
  const views = [pool.take(64 * 1024), pool.take(64 * 1024), pool.take(64 * 1024)];
  assert.equal(pool.release(views[0]!), true);
  assert.equal(pool.release(views[1]!), true);
  assert.equal(pool.release(views[2]!), false, "over the cap: left to the GC");
  assert.equal(pool.freeBytes, 128 * 1024);
  assert.equal(pool.release(views[2]!), false, "forgotten, not taken back later");
  pool.clear();
  assert.equal(pool.freeBytes, 0);
});
