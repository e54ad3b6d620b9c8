/**
 * connect() that fails or is aborted after the server made a client ID
 * leaves the server clean (lib/client/client.ts `#giveUp`): on 4.1 the
 * session and client ID it made are destroyed (DESTROY_SESSION,
 * DESTROY_CLIENTID, RFC 8881 §18.37, §18.50) within the release window
 * (1.5 s), then it rejects; on 4.0 nothing is sent (SETCLIENTID has no
 * inverse, RFC 7530 §16.33, §16.34: the lease lapses). Faults from the fault
 * proxy (tests/_fault_proxy.ts) in front of Ganesha.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import { FaultProxy, type OpName } from "../_fault_proxy.ts";
import { serverTest } from "../_server.ts";

/**
 * connect() through `proxy` with `version`, aborted once the COMPOUND with
 * `op` was sent (its reply held `holdMs` by the proxy): what it rejected
 * with, and how long after the abort.
 */
async function abortedAt(
  proxy: FaultProxy,
  version: "4.0" | "4.1",
  op: OpName,
  holdMs: number,
): Promise<{ error: unknown; afterAbortMs: number }> {
  proxy.delayReply(op, holdMs);
  const stop = new AbortController();
  const connecting = Nfs4Client.connect({
    host: proxy.host,
    port: proxy.port,
    version,
    signal: stop.signal,
    callback: false,
  });
  const settled = connecting.then((c) => c, (e: unknown) => e);
  for (let i = 0; i < 500 && proxy.opCount(op) === 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(proxy.opCount(op), 1, `${op} was sent`);
  // Ganesha has answered by now; the proxy holds the reply.
  await new Promise((r) => setTimeout(r, 100));
  const abortedAt = performance.now();
  stop.abort(new Error("stop"));
  const outcome = await settled;
  const afterAbortMs = performance.now() - abortedAt;
  if (outcome instanceof Nfs4Client) {
    await outcome.close();
    assert.fail("connect() resolved after the abort");
  }
  return { error: outcome, afterAbortMs };
}

serverTest(
  "Nfs4Client.connect() (NFSv4.1) aborted after CREATE_SESSION was answered: the session " +
    "and the client ID are destroyed before it rejects",
  async (server) => {
    await using proxy = await FaultProxy.start({ target: server, log: () => {} });
    // RECLAIM_COMPLETE follows CREATE_SESSION: the session exists when it is held.
    const { error, afterAbortMs } = await abortedAt(proxy, "4.1", "RECLAIM_COMPLETE", 5_000);
    assert.equal((error as Error).message, "stop");
    assert.ok(afterAbortMs < 2_500, `rejected ${afterAbortMs} ms after the abort`);
    const ops = proxy.compounds.map((c) => c.ops.join(","));
    const created = proxy.compoundsWith("CREATE_SESSION");
    assert.equal(created.length, 1, ops.join("\n"));
    const destroySession = proxy.compoundsWith("DESTROY_SESSION");
    const destroyClient = proxy.compoundsWith("DESTROY_CLIENTID");
    assert.equal(destroySession.length, 1, ops.join("\n"));
    assert.equal(destroyClient.length, 1, ops.join("\n"));
    assert.equal(destroySession[0]!.reply?.statusName, "NFS4_OK");
    assert.equal(destroyClient[0]!.reply?.statusName, "NFS4_OK");
  },
);

serverTest(
  "Nfs4Client.connect() (NFSv4.1) aborted while CREATE_SESSION's reply is held: " +
    "DESTROY_CLIENTID is sent before it rejects",
  async (server) => {
    await using proxy = await FaultProxy.start({ target: server, log: () => {} });
    const { error, afterAbortMs } = await abortedAt(proxy, "4.1", "CREATE_SESSION", 5_000);
    assert.equal((error as Error).message, "stop");
    assert.ok(afterAbortMs < 2_500, `rejected ${afterAbortMs} ms after the abort`);
    const ops = proxy.compounds.map((c) => `${c.ops.join(",")} -> ${c.reply?.statusName}`);
    // The session Ganesha made is not known to the client (its reply never
    // came): Ganesha answers NFS4ERR_CLIENTID_BUSY (RFC 8881 §18.50.3), and
    // both go when the lease ends. The client ID alone would have gone.
    assert.equal(proxy.opCount("DESTROY_CLIENTID"), 1, ops.join("\n"));
  },
);

serverTest(
  "Nfs4Client.connect() (NFSv4.0) aborted after SETCLIENTID_CONFIRM: rejects at once, " +
    "nothing more sent (4.0 has no DESTROY; the lease lapses)",
  async (server) => {
    await using proxy = await FaultProxy.start({ target: server, log: () => {} });
    const { error, afterAbortMs } = await abortedAt(proxy, "4.0", "SETCLIENTID_CONFIRM", 5_000);
    assert.equal((error as Error).message, "stop");
    assert.ok(afterAbortMs < 2_500, `rejected ${afterAbortMs} ms after the abort`);
    const ops = proxy.compounds.map((c) => c.ops.join(","));
    assert.deepEqual(ops.filter((o) => !/^(SETCLIENTID|SETCLIENTID_CONFIRM)$/.test(o)), []);
  },
);
