/**
 * What the state manager sends once shutdown() (a client's close()) has
 * begun: its release and nothing else. LOCKU and CLOSE of each open (RFC
 * 7530 §16.12, §16.2), DELEGRETURN (§10.4.4), then on 4.1
 * DESTROY_SESSION and DESTROY_CLIENTID (RFC 8881 §18.37, §18.50). A call
 * begun meanwhile, or one going round again after a retry, is refused
 * with ClientClosedError before it is sent, so nothing it would make (an
 * OPEN, a LOCK) is left on the server after the release; recovery makes no
 * new client ID for it; and after the release every call is refused at
 * once.
 */

import assert from "node:assert/strict";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { drain, harness } from "./_harness.ts";

/**
 * ClientClosedError (lib/state/manager.ts), told by its name: the tests
 * run, and fail, against a manager without it too.
 */
function isClientClosed(e: unknown): boolean {
  return e instanceof Error && e.name === "ClientClosedError";
}

/** Settles `promise` if it settles without the fake clock moving, else `"pending"`. */
async function settledAtOnce<T>(promise: Promise<T>): Promise<PromiseSettledResult<T> | "pending"> {
  const settled = Promise.allSettled([promise]).then(([r]) => r!);
  for (let i = 0; i < 20; i++) await drain();
  return await Promise.race([settled, Promise.resolve("pending" as const)]);
}

for (const vers of [0, 1] as const) {
  Deno.test(`NFSv4.${vers}: an OPEN begun while shutdown() releases is refused with ClientClosedError and never sent; the release leaves nothing on the server`, async () => {
    await using h = await harness(vers);
    const held = await h.open("file", ShareAccess.OPEN4_SHARE_ACCESS_BOTH);
    await h.lock(held);
    h.mark();
    const closing = h.m.shutdown();
    const opening = h.open("other");
    await assert.rejects(opening, isClientClosed);
    await h.drive(closing, 50, 2_000);
    const ops = h.ops();
    assert.ok(!ops.some((o) => o.split(/[,\s]/).includes("OPEN")), ops.join("\n"));
    assert.equal(h.server.states.size, 0, `nothing left:\n${ops.join("\n")}`);
    assert.equal(h.m.opens.size, 0);
  });

  Deno.test(`NFSv4.${vers}: a READ waiting out NFS4ERR_DELAY when shutdown() begins is not sent again: ClientClosedError (RFC 8881 §15.1.1.3)`, async () => {
    await using h = await harness(vers);
    const state = await h.open("file");
    h.server.failNext("READ", S.NFS4ERR_DELAY);
    h.mark();
    const reading = h.read(state);
    reading.catch(() => {});
    await h.tick(20, 10);
    const closing = h.m.shutdown();
    await assert.rejects(h.drive(reading, 50, 2_000), isClientClosed);
    await h.drive(closing, 50, 2_000);
    const reads = h.ops().filter((o) => o.split(/[,\s]/).includes("READ"));
    assert.equal(reads.length, 1, h.ops().join("\n"));
    assert.equal(h.server.states.size, 0);
  });

  Deno.test(`NFSv4.${vers}: shutdown() called again, or while it runs, returns the first call's promise`, async () => {
    await using h = await harness(vers);
    await h.open("file");
    const first = h.m.shutdown();
    const second = h.m.shutdown();
    assert.equal(second, first);
    await h.drive(second, 50, 2_000);
    assert.equal(h.server.states.size, 0, "released when the second call resolves");
    assert.equal(h.m.shutdown(), first);
  });

  Deno.test(`NFSv4.${vers}: after shutdown() every call is refused at once with ClientClosedError, with nothing sent (no NFS4ERR_BADSESSION tried again with backoff)`, async () => {
    await using h = await harness(vers);
    const state = await h.open("file");
    await h.drive(h.m.shutdown(), 50, 2_000);
    h.mark();
    const outcome = await settledAtOnce(h.read(state));
    assert.notEqual(outcome, "pending", "refused without waiting");
    assert.equal((outcome as PromiseSettledResult<unknown>).status, "rejected");
    const reason = (outcome as PromiseRejectedResult).reason;
    assert.ok(isClientClosed(reason), String(reason));
    assert.match(reason.message, /^scripted: client closed/);
    assert.deepEqual(h.ops(), []);
    await assert.rejects(h.m.send([]), isClientClosed);
    await assert.rejects(h.m.sendSessionless([]), isClientClosed);
  });

  Deno.test(`NFSv4.${vers}: a server restart met by the release is not recovered from: no new client ID, no reclaim, only to be released again (RFC 7530 §9.6, RFC 8881 §8.4.2.1)`, async () => {
    await using h = await harness(vers);
    const state = await h.open("file", ShareAccess.OPEN4_SHARE_ACCESS_BOTH);
    await h.lock(state);
    h.server.reboot();
    h.mark();
    await h.drive(h.m.shutdown(), 50, 5_000);
    const ops = h.ops();
    const sent = (op: string) => ops.some((o) => o.split(/[,\s]/).includes(op));
    for (const op of ["OPEN", "LOCK", "SETCLIENTID", "EXCHANGE_ID", "RECLAIM_COMPLETE"]) {
      assert.ok(!sent(op), `${op} sent:\n${ops.join("\n")}`);
    }
    assert.ok(
      h.events(["retry"]).some((e) => e.includes("not recovered")),
      h.events(["retry"]).join("\n"),
    );
    assert.equal(h.m.opens.size, 0);
  });
}

Deno.test("NFSv4.1: once the release destroyed the session no session is made again: a call then is refused, not sent on a new session (RFC 8881 §18.37)", async () => {
  await using h = await harness(1);
  await h.open("file");
  h.mark();
  // A call begun right after the DESTROY_SESSION went out.
  let late: Promise<unknown> | undefined;
  h.server.intercept("DESTROY_SESSION", () => {
    late = h.m.renewNow();
    late.catch(() => {});
  });
  await h.drive(h.m.shutdown(), 50, 2_000);
  assert.ok(late, "DESTROY_SESSION was sent");
  const outcome = await settledAtOnce(late);
  assert.equal((outcome as PromiseSettledResult<unknown>).status, "rejected", String(outcome));
  assert.ok(isClientClosed((outcome as PromiseRejectedResult).reason));
  await h.tick(5_000, 100);
  const ops = h.ops();
  const destroyed = ops.findIndex((o) => o.includes("DESTROY_SESSION"));
  assert.ok(destroyed >= 0, ops.join("\n"));
  assert.ok(
    !ops.slice(destroyed).some((o) => o.includes("CREATE_SESSION") || o.includes("EXCHANGE_ID")),
    ops.join("\n"),
  );
  assert.equal(h.server.sessions.size, 0);
  assert.equal(h.server.clients.size, 0);
});
