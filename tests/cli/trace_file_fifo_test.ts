/**
 * `--trace-file FIFO` with no reader: the FIFO is waited for once, at most
 * 2 s, then the command fails with one line (README). Before, the failed
 * open was tried again when the error was reported, and the command took
 * 4 s. Also: a trace file that cannot be created is told in strerror(3)'s
 * words.
 */

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, messageLines, nfs4 } from "./_spawn.ts";

Deno.test("--trace-file FIFO without a reader: one wait of 2 s, one line, exit 1", async () => {
  const dir = mkdtempSync(join(tmpdir(), "nfs4-trace-fifo-"));
  try {
    const fifo = join(dir, "t.fifo");
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.equal(made.code, 0);
    const url = `nfs://127.0.0.1:${await freePort()}/vfs`;
    const r = await nfs4(["--trace-file", fifo, "ls", url]);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(messageLines(r.stderr), [
      `nfs4: --trace-file ${fifo}: no process has the FIFO open for reading (start its reader first)`,
    ]);
    // 2 s of waiting and the start of the process; twice the wait was 4 s and more.
    assert.ok(r.ms >= 2000 && r.ms < 3500, `took ${r.ms.toFixed(0)} ms`);

    const missing = await nfs4(["--trace-file", join(dir, "no/such/t"), "ls", url]);
    assert.equal(missing.code, 1, missing.stderr);
    assert.deepEqual(messageLines(missing.stderr), [
      `nfs4: --trace-file ${join(dir, "no/such/t")}: No such file or directory`,
    ]);
    const isDir = await nfs4(["--trace-file", dir, "ls", url]);
    assert.deepEqual(messageLines(isDir.stderr), [`nfs4: --trace-file ${dir}: Is a directory`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
