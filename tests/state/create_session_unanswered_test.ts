/**
 * A CREATE_SESSION whose answer never came (RFC 8881 §18.36.4): the server
 * may have made the session. The client sends CREATE_SESSION again with
 * the same csa_sequence, whatever a later EXCHANGE_ID says, so that the
 * server answers it from its CREATE_SESSION replay cache with that session
 * rather than make a second one; a CREATE_SESSION in flight at an
 * interrupt is given the release window to be answered, as any state
 * change is, and the session it made is destroyed with the client ID. One
 * still unanswered when the command gives up leaves a session no
 * DESTROY_SESSION can name, and DESTROY_CLIENTID, sent all the same, is
 * refused NFS4ERR_CLIENTID_BUSY (§18.50.3): reported, with why.
 */

import assert from "node:assert/strict";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { harness } from "./_harness.ts";

Deno.test("4.1: a CREATE_SESSION whose reply was lost, and whose resend the server answers NFS4ERR_DELAY (still running the first), goes again after the next EXCHANGE_ID with the same csa_sequence, not the one EXCHANGE_ID gives: one session on the server, and at exit DESTROY_CLIENTID is not refused NFS4ERR_CLIENTID_BUSY (RFC 8881 §18.36.4, §18.50.3)", async () => {
  await using h = await harness(1, { noStart: true });
  h.channel.dropReplies("CREATE_SESSION");
  h.server.failNext("CREATE_SESSION", S.NFS4ERR_DELAY, { after: 1 });
  await h.drive(h.m.start(), 50);
  const creates = h.entries().filter((e) => e.ops.includes("CREATE_SESSION"));
  assert.equal(creates.length, 3);
  const sequence = (i: number) => (creates[i]!.args[0] as { sequence: number }).sequence;
  assert.deepEqual([sequence(0), sequence(1), sequence(2)], [1, 1, 1]);
  assert.deepEqual(h.ops().slice(0, 5), [
    "EXCHANGE_ID",
    "CREATE_SESSION",
    "CREATE_SESSION -> NFS4ERR_DELAY",
    "EXCHANGE_ID",
    "CREATE_SESSION",
  ]);
  assert.equal(h.server.sessions.size, 1, "no second session");
  assert.ok(
    h.details(["sess"]).includes(
      "CREATE_SESSION sent again (csa_sequence 1 (EXCHANGE_ID said 2): the one sent before got no answer, and the server may have made its session)",
    ),
    h.details(["sess"]).join("\n"),
  );
  await h.drive(h.m.shutdown(), 50);
  assert.equal(h.server.sessions.size, 0);
  assert.equal(h.server.clients.size, 0);
  assert.ok(h.events(["clid"]).includes("DESTROY_CLIENTID ok"), h.events(["clid"]).join(", "));
  assert.deepEqual(h.m.notReleased, []);
});

Deno.test("4.1: a CREATE_SESSION in flight at an interrupt (Ctrl-C while connecting) is answered in the release window; nothing more is sent for the connect, and the release destroys the session it made and the client ID (RFC 8881 §18.36.4, §18.37, §18.50)", async () => {
  await using h = await harness(1, { noStart: true });
  // Everything after the EXCHANGE_ID waits: the CREATE_SESSION is in flight.
  h.server.intercept("EXCHANGE_ID", () => h.channel.hold());
  const starting = h.m.start();
  starting.catch(() => {});
  await h.tick(20, 10);
  assert.equal(h.channel.heldCount, 1, "the CREATE_SESSION went out");
  h.m.interrupt(new Error("SIGINT"));
  const closing = h.m.shutdown();
  await h.tick(500, 50);
  h.channel.release();
  await assert.rejects(h.drive(starting, 50, 3_000), /SIGINT/);
  await h.drive(closing, 50, 3_000);
  assert.deepEqual(h.ops(), [
    "EXCHANGE_ID",
    "CREATE_SESSION",
    "DESTROY_SESSION",
    "DESTROY_CLIENTID",
  ]);
  assert.equal(h.server.sessions.size, 0);
  assert.equal(h.server.clients.size, 0);
  assert.deepEqual(h.m.notReleased, []);
});

Deno.test("4.1: a CREATE_SESSION still unanswered when its part of the release window ends (the first half): its session cannot be named, DESTROY_CLIENTID is sent all the same, and its refusal (NFS4ERR_CLIENTID_BUSY) is reported saying what is left until the lease expires (RFC 8881 §18.50.3)", async () => {
  await using h = await harness(1, { noStart: true, callTimeoutMs: 2_000 });
  // The server makes the session; no answer ever reaches the client.
  h.channel.dropReplies("CREATE_SESSION", { times: 1_000 });
  const starting = h.m.start();
  starting.catch(() => {});
  await h.tick(300, 50);
  h.m.interrupt(new Error("SIGINT"));
  await h.drive(h.m.shutdown(), 50, 5_000);
  await assert.rejects(h.drive(starting, 50, 1_000));
  assert.equal(h.server.sessions.size, 1, "the session the server made is left");
  assert.equal(h.ops().at(-1), "DESTROY_CLIENTID -> NFS4ERR_CLIENTID_BUSY");
  // Sent within the release window: the CREATE_SESSION had its first half.
  const [at] = h.timeline().at(-1)!;
  assert.ok(at > 300 + 700 && at < 300 + 1_500, `DESTROY_CLIENTID at ${at} ms`);
  assert.ok(!h.ops().some((o) => o.startsWith("DESTROY_SESSION")), h.ops().join("\n"));
  assert.deepEqual(h.m.notReleased, [{
    what: "DESTROY_CLIENTID",
    why: "DESTROY_CLIENTID -> NFS4ERR_CLIENTID_BUSY: the session of a CREATE_SESSION " +
      "that got no answer is left, with the client ID, until the lease expires",
  }]);
});
