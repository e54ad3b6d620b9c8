/**
 * A LOCK stopped in flight that the server ran: the server holds a lock
 * this client does not know of, and its CLOSE is answered
 * NFS4ERR_LOCKS_HELD (RFC 7530 §16.2.4, RFC 8881 §18.2.4). On 4.1 the
 * client then leaves its client ID to expire instead of destroying it: a
 * client ID with state is not to be destroyed (RFC 8881 §18.50.3), and
 * Ganesha 4.3, which destroys it all the same, kept such a lock for good
 * (the next `nfs4 lock` of the file was refused minutes later, by a client
 * that no longer existed).
 *
 * On 4.0 there is no client ID to destroy (the lease ends it). The lost
 * LOCK is taken as run, so the CLOSE carries the open owner's next sequence
 * id: were it sent with the LOCK's, the server would take it as that LOCK's
 * replay (RFC 7530 §9.1.9) and answer it with the LOCK's reply.
 */

import assert from "node:assert/strict";
import { harness } from "./_harness.ts";
import { NFS4_UINT64_MAX, ShareAccess } from "../../lib/nfs4/constants.ts";
import { lockFile } from "../../lib/state/files.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";

for (const vers of [0, 1] as const) {
  Deno.test(`NFSv4.${vers}: a LOCK stopped in flight and run by the server, which the close cannot settle: CLOSE -> LOCKS_HELD, and the client ID is left to expire, not destroyed (RFC 8881 §18.50.3)`, async () => {
    await using h = await harness(vers);
    const file = await h.open("file", ShareAccess.OPEN4_SHARE_ACCESS_BOTH);
    h.channel.hold();
    const stop = new AbortController();
    const locking = lockFile(h.m, file, {
      type: "write",
      offset: 0n,
      length: NFS4_UINT64_MAX,
    }, { signal: stop.signal });
    locking.catch(() => {});
    await h.tick(10, 10);
    stop.abort(new Error("stopped"));
    await assert.rejects(locking, /stopped/);
    // The server runs the LOCK; its answer goes nowhere.
    h.channel.release();
    await h.tick(10, 10);
    // The close settles such a lock first (lock_unknown_outcome_test.ts):
    // here its LOCKT fails, and the lock stays unknown.
    h.server.failNext("LOCKT", S.NFS4ERR_SERVERFAULT);
    h.mark();
    await h.m.shutdown();
    const ops = h.ops();
    assert.ok(ops.some((o) => /CLOSE -> NFS4ERR_LOCKS_HELD$/.test(o)), ops.join("\n"));
    assert.ok(!ops.some((o) => o.includes("DESTROY_CLIENTID")), ops.join("\n"));
    assert.deepEqual(h.events(["open"]), ["CLOSE -> NFS4ERR_LOCKS_HELD"]);
    if (vers === 1) {
      assert.ok(ops.includes("DESTROY_SESSION"), ops.join("\n"));
      assert.match(
        h.details(["clid"]).join("\n"),
        /DESTROY_CLIENTID not sent \(\/vfs\/file: the server holds a lock this client does not know of; it is freed when the lease expires \(\d+ s\)\)/,
      );
    }
  });
}
