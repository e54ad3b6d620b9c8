/**
 * `nfs4 lock` (NFSv4.0) whose RELEASE_LOCKOWNER at exit the server refuses
 * NFS4ERR_LOCKS_HELD (RFC 7530 §16.37.4: it still holds a lock of that
 * owner), against the scripted server: the lock owner is reported with what
 * is not released, on one line, and nfs4 exits 1, as for a CLOSE left
 * unanswered; the library's client.close() names it in `leftOnServer`.
 * Before, the answer was never read: exit 0, nothing said, and the trace
 * said `RELEASE_LOCKOWNER lock-…` as if it had been done.
 */

import assert from "node:assert/strict";
import { Nfs4Client, StateNotReleasedError } from "../../mod.ts";
import { NFS4_UINT64_MAX } from "../../lib/nfs4/constants.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { ScriptedServer } from "../state/_scripted.ts";
import { startScriptedNfsServer } from "../_nfs4_server.ts";
import { nfs4 } from "./_lock.ts";

Deno.test({
  name:
    "nfs4 lock (4.0): RELEASE_LOCKOWNER refused NFS4ERR_LOCKS_HELD is reported not released, exit 1 (RFC 7530 §16.37.4)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = new ScriptedServer({ now: () => performance.now() });
    const nfs = await startScriptedNfsServer(server);
    try {
      const url = `${nfs.url}/vfs/file`;
      server.failNext("RELEASE_LOCKOWNER", S.NFS4ERR_LOCKS_HELD);
      const run = await nfs4(["--vers", "4.0", "--trace=owner", "lock", url, "true"]);
      assert.equal(run.code, 1, run.stderr);
      const lines = run.stderr.split("\n").filter((l) => l.startsWith("nfs4: "));
      assert.equal(lines.length, 1, run.stderr);
      assert.match(
        lines[0]!,
        new RegExp(
          `^nfs4: 127\\.0\\.0\\.1:${nfs.port}: not released: RELEASE_LOCKOWNER lock-p\\d+-\\d+ ` +
            "\\(NFS4ERR_LOCKS_HELD: the server still holds a lock of this owner\\); " +
            "the server frees it when this client's lease ends$",
        ),
      );
      assert.match(
        run.stderr,
        / owner RELEASE_LOCKOWNER -> NFS4ERR_LOCKS_HELD {2}\(lock-p\d+-\d+: /,
      );
      assert.equal(server.pendingFaults, 0);

      // The library: close() resolves, leftOnServer says what is left.
      const client = await Nfs4Client.connect({
        host: nfs.host,
        port: nfs.port,
        version: "4.0",
        clientId: `lock-release-${crypto.randomUUID()}`,
      });
      const file = await client.open("/vfs/file", { access: "write" });
      const range = { type: "write", offset: 0n, length: NFS4_UINT64_MAX } as const;
      await file.lock(range);
      await file.unlock(range);
      await file.close();
      server.failNext("RELEASE_LOCKOWNER", S.NFS4ERR_LOCKS_HELD);
      await client.close();
      assert.ok(client.leftOnServer instanceof StateNotReleasedError);
      assert.deepEqual(
        client.leftOnServer.left.map((l) => l.why),
        ["NFS4ERR_LOCKS_HELD: the server still holds a lock of this owner"],
      );
      assert.match(client.leftOnServer.left[0]!.what, /^RELEASE_LOCKOWNER lock-p\d+-\d+$/);
      assert.deepEqual(nfs.errors, []);
    } finally {
      await nfs.close();
    }
  },
});
