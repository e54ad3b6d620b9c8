/**
 * A server that says it moved more bytes than the request could: a READ
 * answered with more data than it asked for (RFC 7530 §16.23, RFC 8881
 * §18.22: at most `count` bytes), a WRITE answered with a count larger
 * than the data sent (RFC 7530 §16.36, RFC 8881 §18.32). Believed, the
 * first writes the surplus into the output and the next READ's bytes again
 * after it; the second skips data never written. Either way a silently
 * corrupted copy reported as done. Against the scripted server
 * (tests/_nfs4_server.ts) with `readSurplus` and `writeOvercount`, on
 * NFSv4.0 and 4.1: `cat`, `cp` from the server and `cp` to it end with exit
 * 1 and one `nfs4: ` line that says what the server did; `cat` printed
 * nothing but a prefix of the file; a copy left no file at the destination
 * and no temporary beside it; and the server is left clean (no open state;
 * on 4.1 no session or client ID).
 */

import assert from "node:assert/strict";
import type { FileNode, ScriptedServer } from "../state/_scripted.ts";
import {
  assertCopyDownFails,
  assertOneErrorLine,
  BIG_CONTENT as CONTENT,
  copyUp,
  withBrokenServer,
} from "./_broken_server.ts";
import { nfs4 } from "./_spawn.ts";

function assertOneLine(stderr: string, what: RegExp): void {
  assertOneErrorLine(stderr, what);
  assert.match(stderr, /^nfs4: 127\.0\.0\.1:\d+: /);
}

const READ_SURPLUS = /READ returned \d+ bytes, more than the \d+ asked for/;
const WRITE_OVERCOUNT = /WRITE says it wrote \d+ bytes, more than the \d+ sent/;

/** The names in the scripted export's `/vfs`. */
function exportNames(server: ScriptedServer): string[] {
  const vfs: FileNode | undefined = server.root.children.get("vfs");
  return [...(vfs?.children.keys() ?? [])].sort();
}

for (const vers of ["4.0", "4.1"]) {
  Deno.test(`nfs4 --vers ${vers} cat refuses a READ reply longer than asked for`, async () => {
    await withBrokenServer({ readSurplus: 5 }, async (url) => {
      const r = await nfs4(["--vers", vers, "--timeout", "5", "cat", `${url}/vfs/big`]);
      assert.equal(r.code, 1, r.stderr);
      assertOneLine(r.stderr, READ_SURPLUS);
      const expected = new TextEncoder().encode(CONTENT);
      assert.ok(r.bytes.length < expected.length, "not the whole file");
      assert.deepEqual(r.bytes, expected.subarray(0, r.bytes.length), "only a prefix of the file");
    });
  });

  Deno.test(`nfs4 --vers ${vers} cp refuses a READ reply longer than asked for, and keeps no file`, async () => {
    await withBrokenServer({ readSurplus: 5 }, async (url) => {
      await assertCopyDownFails(vers, url, READ_SURPLUS);
    });
  });

  // A large file (WRITEs of 1 MiB) and a small one (one WRITE, sent with its
  // SETATTR and, on 4.1, its CLOSE: lib/state/small_upload.ts).
  for (const [kind, content] of [["large", CONTENT], ["small", "hello\n".repeat(300)]] as const) {
    Deno.test(`nfs4 --vers ${vers} cp of a ${kind} file to the server refuses a WRITE count larger than the data sent`, async () => {
      await withBrokenServer({ writeOvercount: 5 }, async (url, server) => {
        const before = exportNames(server);
        const r = await copyUp(vers, url, content);
        assert.equal(r.code, 1, r.stderr);
        assertOneLine(r.stderr, WRITE_OVERCOUNT);
        assert.deepEqual(exportNames(server), before, "no file and no temporary on the server");
      });
    });
  }
}
