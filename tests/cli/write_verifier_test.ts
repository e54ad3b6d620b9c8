/**
 * A server whose write verifier changes while a file is uploaded (RFC 7530
 * §16.36.4, RFC 8881 §18.32.3: a new verifier means the server restarted
 * and may have lost what it had not committed). Data written UNSTABLE4
 * under the old verifier must be sent again, or the copy must fail; never
 * reported done. Against the scripted server (tests/_nfs4_server.ts) whose
 * WRITEs are short (half of what was sent, which RFC 7530 §16.36.4
 * allows), so each WRITE of the copy is two on the wire, and which
 * "restarts" at the second WRITE: its verifier changes and every byte it
 * holds of the upload is lost.
 */

import assert from "node:assert/strict";
import type { WriteArgs } from "../../lib/nfs4/ops/write.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import type { FileNode, ScriptedServer } from "../state/_scripted.ts";
import { BIG_CONTENT, copyUp, withBrokenServer } from "./_broken_server.ts";

/**
 * Every WRITE keeps and answers only the first half of its data (a short
 * write); at the `restartAt`th WRITE (1-based) the server restarts first: a
 * new verifier, and the upload's unstable data gone.
 */
function shortWritesAndRestart(server: ScriptedServer, restartAt: number): void {
  let count = 0;
  server.intercept("WRITE", (args) => {
    if (++count === restartAt) {
      server.writeVerifier = new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9]);
      const vfs: FileNode = server.root.children.get("vfs")!;
      for (const [name, node] of vfs.children) if (name !== "big") node.data.fill(0);
    }
    const write = args as { data: Uint8Array };
    if (write.data.length > 1) write.data = write.data.subarray(0, write.data.length >> 1);
  }, { times: 1_000_000 });
}

for (const vers of ["4.0", "4.1"]) {
  Deno.test(`nfs4 --vers ${vers} cp to the server sends again what a short WRITE wrote before the write verifier changed, and the copy is whole (RFC 7530 §16.36.4, RFC 8881 §18.32.3)`, async () => {
    await withBrokenServer({}, async (url, server) => {
      shortWritesAndRestart(server, 2);
      const r = await copyUp(vers, url, BIG_CONTENT);
      const node = server.root.children.get("vfs")!.children.get("up");
      if (r.code === 0) {
        // Success is only believed with every byte there.
        assert.ok(node, "the file is there");
        assert.equal(node.data.length, BIG_CONTENT.length);
        const want = new TextEncoder().encode(BIG_CONTENT);
        const bad = node.data.findIndex((b, i) => b !== want[i]);
        assert.equal(bad, -1, `cp exited 0 with byte ${bad} wrong: ${r.stderr}`);
      } else {
        assert.equal(r.code, 1, r.stderr);
        assert.equal(node, undefined, "no file left");
      }
      const writes = server.log.flatMap((e) =>
        e.ops.flatMap((name, i) => (name === "WRITE" ? [e.args[i] as WriteArgs] : []))
      );
      assert.ok(
        writes.some((w) => w.offset === 0n) && writes.filter((w) => w.offset === 0n).length > 1,
        "the start was sent again",
      );
    });
  });
}

for (const vers of ["4.0", "4.1"]) {
  Deno.test(`nfs4 --vers ${vers} cp to the server fails, and leaves no file, when every COMMIT answers another write verifier than the WRITEs' (RFC 7530 §16.3.4, RFC 8881 §18.3.4)`, async () => {
    await withBrokenServer({}, async (url, server) => {
      let n = 0;
      server.intercept("COMMIT", () => {
        // A restart before each COMMIT: the WRITEs' data is never there.
        server.writeVerifier = new Uint8Array(8).fill(++n);
      }, { times: 1_000_000 });
      const r = await copyUp(vers, url, BIG_CONTENT);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /write verifier kept changing/);
      assert.equal(server.root.children.get("vfs")!.children.get("up"), undefined);
    });
  });

  Deno.test(`nfs4 --vers ${vers} cp to the server fails, and leaves no file, when COMMIT is answered NFS4ERR_NOTSUPP (COMMIT is mandatory: RFC 7530 §16.3, RFC 8881 §18.3)`, async () => {
    await withBrokenServer({}, async (url, server) => {
      server.failNext("COMMIT", S.NFS4ERR_NOTSUPP, { times: 1_000_000 });
      const r = await copyUp(vers, url, BIG_CONTENT);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /NFS4ERR_NOTSUPP/);
      assert.equal(server.root.children.get("vfs")!.children.get("up"), undefined);
    });
  });
}
