/**
 * Page-aligned record buffers (socket_buffers.ts, `pageAligned`): under
 * Deno a large ArrayBuffer starts 16 bytes into a page (malloc's header),
 * and the kernel's copy of a READ reply into such a buffer cost twice the
 * system time of one into a page-aligned buffer. The tests run with FFI
 * permitted (`-A`), which is what tells a buffer's address.
 */

import assert from "node:assert/strict";
import { RecordBufferPool, recordBuffers } from "../../lib/rpc/socket_buffers.ts";

const ffiGranted = Deno.permissions.querySync({ name: "ffi" }).state === "granted";

function address(view: Uint8Array): number {
  return Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(view)));
}

Deno.test({
  name: "RecordBufferPool with pageAligned gives views that start on a page, reused as they are",
  ignore: !ffiGranted,
  fn() {
    const pool = new RecordBufferPool(4 << 20, { pageAligned: true });
    const sizes = [64 * 1024, 100_000, (1 << 20) + 200, 3 << 20];
    const views = sizes.map((size) => pool.take(size));
    for (const [i, view] of views.entries()) {
      assert.equal(view.length, sizes[i]);
      assert.equal(address(view) % 4096, 0, `view ${i} starts on a page`);
      assert.ok(view.byteOffset + view.length <= view.buffer.byteLength, "within its buffer");
      view.fill(0xa5); // the whole view is writable
    }
    const first = views[1]!;
    const start = first.byteOffset;
    assert.ok(pool.release(first.subarray(5, 6)), "any view of the buffer hands it back");
    const again = pool.take(99_000); // the same rounded size
    assert.equal(again.buffer, first.buffer, "reused");
    assert.equal(again.byteOffset, start, "at the same aligned start");
    assert.equal(again.length, 99_000);
    assert.deepEqual(pool.stats, { allocated: 4, reused: 1, released: 1 });
  },
});

Deno.test({
  name: "RecordBufferPool with pageAligned counts free bytes by rounded size, not the slack",
  ignore: !ffiGranted,
  fn() {
    const pool = new RecordBufferPool(128 * 1024, { pageAligned: true });
    const views = [pool.take(64 * 1024), pool.take(64 * 1024), pool.take(64 * 1024)];
    assert.equal(pool.release(views[0]!), true);
    assert.equal(pool.release(views[1]!), true);
    assert.equal(pool.release(views[2]!), false, "over the cap: left to the GC");
    assert.equal(pool.freeBytes, 128 * 1024);
    const reused = pool.take(60 * 1024);
    assert.equal(pool.freeBytes, 64 * 1024);
    assert.equal(address(reused) % 4096, 0);
  },
});

Deno.test({
  name: "the transports' shared pool gives page-aligned record buffers under Deno",
  ignore: !ffiGranted,
  fn() {
    const view = recordBuffers.take((1 << 20) + 180);
    try {
      assert.equal(address(view) % 4096, 0);
    } finally {
      recordBuffers.release(view);
    }
  },
});

Deno.test("RecordBufferPool without pageAligned keeps views at the start of their buffer", () => {
  const pool = new RecordBufferPool(1 << 20);
  const view = pool.take(200_000);
  assert.equal(view.byteOffset, 0);
  assert.equal(view.buffer.byteLength, 256 * 1024);
});

Deno.test("without FFI permission the shared pool works unaligned, without asking", async () => {
  const module = new URL("../../lib/rpc/socket_buffers.ts", import.meta.url).href;
  const script = `import { recordBuffers } from ${JSON.stringify(module)};
const view = recordBuffers.take(100_000);
console.log(JSON.stringify({ offset: view.byteOffset, length: view.length,
  bytes: view.buffer.byteLength, back: recordBuffers.release(view) }));`;
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(file, script);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--no-check", "--allow-read", file],
    stdout: "piped",
    stderr: "piped",
  }).output().finally(() => Deno.remove(file));
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), {
    offset: 0,
    length: 100_000,
    bytes: 128 * 1024,
    back: true,
  });
});
