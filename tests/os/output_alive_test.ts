/**
 * lib/os/output_alive.ts: the write end of a pipe reports its reader gone
 * (poll(2) POLLERR, Linux pipe_poll()) only once every reader has closed
 * it; a regular file or /dev/null is never watched.
 */

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libc, O } from "../../lib/os/libc.ts";
import { watchOutput } from "../../lib/os/output_alive.ts";

Deno.test("watchOutput(): a FIFO's writer sees its reader go, a file is not watched", () => {
  const c = libc();
  assert.ok(c, "libc through FFI (deno test -A on Linux)");
  const dir = mkdtempSync(join(tmpdir(), "nfs4-output-alive-"));
  try {
    const fifo = join(dir, "fifo");
    c.mknod(fifo, 0o010600, { major: 0, minor: 0 });
    // The reader first, non-blocking, so that opening the writer does not wait.
    const reader = c.open(fifo, O.RDONLY | O.NONBLOCK | O.CLOEXEC, 0);
    const writer = c.open(fifo, O.WRONLY | O.CLOEXEC, 0);
    try {
      const watch = watchOutput(writer);
      assert.ok(watch, "a FIFO is watched");
      assert.equal(watch.readerGone(), false, "its reader is there");
      assert.equal(watch.readerGone(), false, "asking again changes nothing");
      c.close(reader);
      assert.equal(watch.readerGone(), true, "its reader has gone");
    } finally {
      c.close(writer);
    }
    const plain = join(dir, "plain");
    const file = c.open(plain, O.WRONLY | O.CREAT | O.CLOEXEC, 0o600);
    try {
      assert.equal(watchOutput(file), undefined, "a regular file has no reader to lose");
    } finally {
      c.close(file);
    }
    const nul = c.open("/dev/null", O.WRONLY | O.CLOEXEC, 0);
    try {
      assert.equal(watchOutput(nul), undefined, "nor /dev/null");
    } finally {
      c.close(nul);
    }
    assert.equal(watchOutput(987654), undefined, "a descriptor that is not open");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
