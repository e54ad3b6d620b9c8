/**
 * A session left for the release at exit, whose client ID is replaced
 * before then. When EXCHANGE_ID gives the same client ID back after a
 * lease expiry (the server's confirmed record, RFC 8881 §18.35.4), its old
 * session may still stand and is destroyed at exit before DESTROY_CLIENTID
 * (client_id_replaced_test.ts). When the server then purges that client ID
 * before the CREATE_SESSION that follows (CREATE_SESSION ->
 * NFS4ERR_STALE_CLIENTID) and a new client ID is made, the old session is
 * gone with its client ID (§8.4.3): nothing of the old client ID is sent,
 * a DESTROY_SESSION of it included. Seen against Ganesha on a loaded
 * machine (tests/state/client_id_replaced_ganesha_test.ts).
 */

import assert from "node:assert/strict";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { closeFile } from "../../lib/state/files.ts";
import { harness } from "./_harness.ts";

Deno.test("4.1: the same client ID back from EXCHANGE_ID, then CREATE_SESSION NFS4ERR_STALE_CLIENTID (purged meanwhile) and a new client ID: at exit the old client ID's session is not destroyed, only the new one is (RFC 8881 §18.35.4, §8.4.3, §18.37)", async () => {
  await using h = await harness(1);
  const file = await h.open("file", 1);
  const clientId = h.m.client.clientId;
  const oldSession = h.m.client.sessionIdText;
  let expired = true;
  h.server.intercept("SEQUENCE", () => expired ? S.NFS4ERR_EXPIRED : undefined, {
    times: 1_000,
  });
  h.server.intercept("EXCHANGE_ID", () => {
    expired = false;
  });
  // Between that EXCHANGE_ID (the same client ID) and its CREATE_SESSION,
  // the server's reaper forgets the client.
  h.server.intercept("CREATE_SESSION", (_args, server) => {
    server.purgeClient();
  });
  h.mark();
  await h.drive(closeFile(h.m, file), 100);
  await h.drive(h.m.waitForRecovery(), 100);
  assert.notEqual(h.m.client.clientId, clientId, "a new client ID");
  const newSession = h.m.client.sessionIdText;
  await h.drive(h.m.shutdown(), 100);
  const ops = h.ops();
  const destroys = ops.filter((o) => o.startsWith("DESTROY_SESSION"));
  assert.deepEqual(destroys, ["DESTROY_SESSION"], ops.join(" | "));
  const sess = h.details(["sess"]);
  assert.ok(sess.includes(`DESTROY_SESSION ok (session ${newSession})`), sess.join("\n"));
  assert.ok(
    sess.some((d) =>
      d.startsWith(`DESTROY_SESSION not sent (session ${oldSession}: its client ID 0x`) &&
      d.endsWith(" was replaced; the server dropped the session with it)")
    ),
    sess.join("\n"),
  );
  assert.ok(ops.includes("DESTROY_CLIENTID"), ops.join(" | "));
  assert.deepEqual(h.m.notReleased, []);
});
