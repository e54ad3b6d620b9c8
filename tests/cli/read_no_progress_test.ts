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
import {
  assertCopyDownFails,
  assertOneErrorLine,
  BIG_CONTENT as CONTENT,
  withBrokenServer,
} from "./_broken_server.ts";
import { nfs4 } from "./_spawn.ts";

/** Where the server stops making progress: 512 KiB past the point where its READs end short (1 MiB). */
const STALL = 1536 * 1024;

/** Every READ from the second MiB on: the first one there is the stall. */
function withStallingServer(fn: (url: string) => Promise<void>): Promise<void> {
  return withBrokenServer({ readNothingFrom: 1024 * 1024 }, (url) => fn(url));
}

// Named by the URL given (a PathError), as every failure about a file is.
const NO_PROGRESS =
  /^nfs4: nfs:\/\/[^ ]*\/big: the server returned no data and no end of file at byte 1048576 of 3145728 \(I\/O error\)$/m;

function assertOneLine(stderr: string): void {
  assertOneErrorLine(stderr, NO_PROGRESS);
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
      await assertCopyDownFails(vers, url, NO_PROGRESS);
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
