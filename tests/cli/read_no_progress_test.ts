/**
 * A server whose READ, short of the end of the file, returns no data and
 * no end of file: no progress (RFC 7530 §16.23, RFC 8881 §18.22 set eof
 * whenever a READ reaches the end). Asking again could go on forever, and
 * stopping there would pass a truncated file off as whole; the Linux client
 * fails such a read with EIO (fs/nfs/read.c, nfs_readpage_retry). Against
 * the scripted server (tests/_nfs4_server.ts) with `readNothingFrom`, on
 * NFSv4.0 and 4.1: `cat`, `cp` from the server and `head -c` past that
 * point end with exit 1 and one `nfs4: ` line naming the file and the
 * byte; `cat` printed only a prefix of the file, `cp` left no file and no
 * temporary; and the server is left clean (no open state; on 4.1 no
 * session or client ID).
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { startScriptedNfsServer } from "../_nfs4_server.ts";
import { ScriptedServer } from "../state/_scripted.ts";
import { tempDir, temporaries } from "./_cp.ts";
import { nfs4 } from "./_spawn.ts";

/** Larger than what `cat` reads with its OPEN (256 KiB), so plain READs follow. */
const SIZE = 3 * 1024 * 1024;
const CONTENT = "0123456789abcdef".repeat(SIZE / 16);
/** Where the server stops making progress: within the second READ of 1 MiB. */
const STALL = 1536 * 1024;

async function withStallingServer(fn: (url: string) => Promise<void>): Promise<void> {
  const server = new ScriptedServer({
    now: () => performance.now(),
    files: { "/vfs/big": CONTENT },
    // Every READ from the second MiB on: the first one there is the stall.
    readNothingFrom: 1024 * 1024,
  });
  const served = await startScriptedNfsServer(server);
  try {
    await fn(served.url);
    assert.deepEqual(served.errors, [], "the scripted server itself did not fail");
    assertLeftClean(server);
  } finally {
    await served.close();
  }
}

/** The command closed what it opened and, on 4.1, destroyed its session and client ID. */
function assertLeftClean(server: ScriptedServer): void {
  assert.equal(server.states.size, 0, "no open or lock state left");
  assert.equal(server.sessions.size, 0, "no session left");
  const clients = [...server.clients.values()].filter((c) => c.minorVersion !== 0);
  assert.equal(clients.length, 0, "no 4.1 client ID left");
}

function assertOneLine(stderr: string): void {
  const lines = stderr.split("\n").filter((line) => line.length > 0);
  assert.equal(lines.length, 1, stderr);
  assert.match(
    lines[0]!,
    /^nfs4: .*big.*the server returned no data and no end of file at byte 1048576 of 3145728/,
  );
}

for (const vers of ["4.0", "4.1"]) {
  Deno.test(`nfs4 --vers ${vers} cat fails on a READ that makes no progress`, async () => {
    await withStallingServer(async (url) => {
      const r = await nfs4(["--vers", vers, "--timeout", "5", "cat", `${url}/vfs/big`]);
      assert.equal(r.code, 1, r.stderr);
      assertOneLine(r.stderr);
      const expected = new TextEncoder().encode(CONTENT);
      assert.ok(r.bytes.length <= 1024 * 1024, "nothing past the stall");
      assert.deepEqual(r.bytes, expected.subarray(0, r.bytes.length), "only a prefix of the file");
    });
  });

  Deno.test(`nfs4 --vers ${vers} cp fails on a READ that makes no progress, and keeps no file`, async () => {
    await withStallingServer(async (url) => {
      const dir = await tempDir("nfs4-noprogress-");
      try {
        const r = await nfs4([
          "--vers",
          vers,
          "--timeout",
          "5",
          "cp",
          `${url}/vfs/big`,
          `${dir}/big`,
        ]);
        assert.equal(r.code, 1, r.stderr);
        assertOneLine(r.stderr);
        await assert.rejects(fs.stat(`${dir}/big`), "no file at the destination");
        assert.deepEqual(await temporaries(dir), [], "no temporary left");
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    });
  });

  Deno.test(`nfs4 --vers ${vers} head -c fails on a READ that makes no progress`, async () => {
    await withStallingServer(async (url) => {
      const r = await nfs4([
        "--vers",
        vers,
        "--timeout",
        "5",
        "head",
        "-c",
        String(STALL),
        `${url}/vfs/big`,
      ]);
      assert.equal(r.code, 1, r.stderr);
      assertOneLine(r.stderr);
    });
  });
}
