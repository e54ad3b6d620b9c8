/**
 * RFC 7530 §3.1.1 and RFC 8881 §2.9.2: over TCP the server never drops a
 * request silently, so a client "MUST NOT retry a request unless one or
 * both of the following are true: the transport connection has been
 * broken; the procedure being retried is the NULL procedure". Against
 * Ganesha through the fault proxy, with `--timeout 1`:
 *
 * - a CREATE whose reply is late (held 2.5 s) while the connection stands
 *   and the server answers RPC NULL is waited for: it is sent once;
 * - a CREATE whose reply is held, and the RPC NULL's too, for longer than
 *   two call timeouts: the client breaks the connection and sends the
 *   CREATE again on a new one (once per connection), same slot and seqid
 *   on 4.1;
 * - a reply that never comes while NULL is answered: the client waits on
 *   until the operation's deadline (4 call timeouts), not past it.
 *
 * (Adapted from the audit's /tmp/hE/tests/same_connection_resend_test.ts.)
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { FaultProxy } from "../_fault_proxy.ts";
import { serverTest } from "../_server.ts";
import { nfs4 } from "./_spawn.ts";

/** COMPOUNDs with `op`, by connection: how often each connection carried it. */
function perConnection(proxy: FaultProxy, op: "CREATE"): Map<number, number> {
  const counts = new Map<number, number>();
  for (const c of proxy.compoundsWith(op)) {
    counts.set(c.connection, (counts.get(c.connection) ?? 0) + 1);
  }
  return counts;
}

/** `nfs4 --vers VERS --timeout 1 --trace=TRACE mkdir URL`: call timeouts of 1 s. */
function mkdir(vers: string, trace: string, url: string) {
  return nfs4(["--vers", vers, "--timeout", "1", `--trace=${trace}`, "mkdir", url]);
}

for (const vers of ["4.0", "4.1"]) {
  serverTest(
    `nfs4 --vers ${vers} mkdir whose CREATE reply is late while RPC NULL is answered: the CREATE is sent once, not again on the same connection (RFC 7530 §3.1.1, RFC 8881 §2.9.2)`,
    async (server) => {
      await using proxy = await FaultProxy.start({ target: server, log: () => {} });
      proxy.delayReply("CREATE", 2_500);
      const r = await mkdir(vers, "conn,retry", `${proxy.url}/vfs/late`);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(existsSync(`${server.exportDir}/late`));
      assert.deepEqual([...perConnection(proxy, "CREATE")], [[1, 1]], r.stderr);
      assert.match(r.stderr, /no answer in 1 s to CREATE.*RPC NULL answered: waiting on/);
      assert.doesNotMatch(r.stderr, /CREATE\S* resend/);
      assert.equal(proxy.stats.connections, 1);
    },
  );

  serverTest(
    `nfs4 --vers ${vers} mkdir whose CREATE reply and RPC NULL probe both go unanswered: the connection is broken and the CREATE sent again on a new one, once per connection (RFC 7530 §3.1.1, RFC 8881 §2.9.2)`,
    async (server) => {
      await using proxy = await FaultProxy.start({ target: server, log: () => {} });
      // The CREATE's reply is held until its connection ends; from the
      // moment it is, every reply (the NULL's too) for 2.5 s.
      const held = proxy.delayReply("CREATE", 60_000);
      void held.firstFired.then(() => proxy.stall({ direction: "toClient", seconds: 2.5 }));
      const r = await mkdir(vers, "conn,retry", `${proxy.url}/vfs/dead`);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(existsSync(`${server.exportDir}/dead`));
      assert.deepEqual([...perConnection(proxy, "CREATE")], [[1, 1], [2, 1]], r.stderr);
      assert.match(r.stderr, /no answer in 1 s to CREATE.*RPC NULL unanswered too: reconnecting/);
      if (vers === "4.1") {
        const [first, again] = proxy.compoundsWith("CREATE");
        assert.equal(again!.xid, first!.xid);
        assert.deepEqual(again!.sequence, first!.sequence);
      }
    },
  );
}

serverTest(
  "nfs4 --vers 4.1 mkdir whose CREATE reply never comes while RPC NULL is answered: it waits on, and gives up at its deadline, not later; the CREATE sent once (RFC 7530 §3.1.1; README 'Deadlines and signals')",
  async (server) => {
    await using proxy = await FaultProxy.start({ target: server, log: () => {} });
    proxy.dropReply("CREATE");
    const r = await mkdir("4.1", "conn", `${proxy.url}/vfs/never`);
    assert.notEqual(r.code, 0, r.stderr);
    assert.match(r.stderr, /server not responding/);
    assert.deepEqual([...perConnection(proxy, "CREATE")], [[1, 1]], r.stderr);
    // The operation's budget is 4 call timeouts; the command as a whole
    // (connect, session, the release at exit) takes a few seconds more.
    assert.ok(r.ms < 12_000, `took ${r.ms} ms`);
  },
);
