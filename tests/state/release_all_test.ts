/**
 * The release at exit (procs.ts releaseAll) and what it reports as left on
 * the server (`notReleased`): an open recorded while the release runs is
 * closed too; a DESTROY_CLIENTID the server refuses is reported; a revoked
 * delegation whose FREE_STATEID is refused is not taken for freed (RFC 8881
 * §8.2.4, §18.38, §18.50).
 */

import assert from "node:assert/strict";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { closeFile } from "../../lib/state/files.ts";
import { releaseAll } from "../../lib/state/procs.ts";
import { drain, harness } from "./_harness.ts";
import { bare, withCallbacks } from "./_delegations.ts";

const READ = ShareAccess.OPEN4_SHARE_ACCESS_READ;

for (const minor of [0, 1] as const) {
  Deno.test(`4.${minor}: an OPEN recorded while the release runs is closed in a further round, not left on the server`, async () => {
    await using a = await harness(minor);
    await a.open("file", READ);
    a.channel.holdReplies("OPEN");
    const opening = a.open("other", READ);
    for (let i = 0; i < 20 && a.channel.heldReplies() === 0; i++) await drain();
    assert.equal(a.channel.heldReplies(), 1, "the OPEN of /vfs/other ran; its reply is held");
    // The first round's CLOSE is answered only once /vfs/other is recorded
    // (on 4.0 it waits for the open owner, which the OPEN holds).
    a.channel.holdReplies("CLOSE");
    a.mark();
    const releasing = releaseAll(a.m);
    await drain();
    a.channel.releaseReplies("OPEN");
    const other = await a.drive(opening);
    for (let i = 0; i < 20 && a.channel.heldReplies("CLOSE") === 0; i++) await drain();
    assert.equal(a.channel.heldReplies("CLOSE"), 1, "the first round's CLOSE");
    a.channel.releaseReplies("CLOSE");
    await a.drive(releasing);
    assert.equal(other.closed, true);
    assert.equal(a.server.opensOf("/vfs/file").length, 0);
    assert.equal(a.server.opensOf("/vfs/other").length, 0);
    assert.equal(bare(a.ops()).filter((o) => o === "PUTFH,CLOSE").length, 2);
    assert.deepEqual(a.m.notReleased, []);
  });
}

Deno.test("4.1: a DESTROY_CLIENTID the server refuses with NFS4ERR_CLIENTID_BUSY after the session is destroyed (state of this client it was not asked to release) is reported as not released (RFC 8881 §18.50.3)", async () => {
  await using a = await harness(1);
  const state = await a.open("file", READ);
  await closeFile(a.m, state);
  a.server.failNext("DESTROY_CLIENTID", S.NFS4ERR_CLIENTID_BUSY);
  await a.drive(a.m.shutdown());
  assert.deepEqual(a.m.notReleased, [{
    what: "DESTROY_CLIENTID",
    why: "DESTROY_CLIENTID -> NFS4ERR_CLIENTID_BUSY",
  }]);
});

Deno.test("4.1: NFS4ERR_CLIENTID_BUSY that a session the server kept explains (DESTROY_SESSION refused), or NFS4ERR_STALE_CLIENTID, is not reported: the session and client ID lapse with the lease, holding nothing else (RFC 8881 §18.37, §18.50.3)", async () => {
  for (const refusal of ["session kept", "client ID gone"] as const) {
    await using a = await harness(1);
    const state = await a.open("file", READ);
    await closeFile(a.m, state);
    a.mark();
    if (refusal === "session kept") a.server.failNext("DESTROY_SESSION", S.NFS4ERR_SERVERFAULT);
    else a.server.failNext("DESTROY_CLIENTID", S.NFS4ERR_STALE_CLIENTID);
    await a.drive(a.m.shutdown());
    assert.deepEqual(
      a.ops(),
      refusal === "session kept"
        ? ["DESTROY_SESSION -> NFS4ERR_SERVERFAULT", "DESTROY_CLIENTID -> NFS4ERR_CLIENTID_BUSY"]
        : ["DESTROY_SESSION", "DESTROY_CLIENTID -> NFS4ERR_STALE_CLIENTID"],
      refusal,
    );
    assert.deepEqual(a.m.notReleased, [], refusal);
  }
});

Deno.test("4.1: DELEGRETURN answered NFS4ERR_EXPIRED and a FREE_STATEID the server refuses (NFS4ERR_LOCKS_HELD): the stateid is not reported freed (RFC 8881 §8.2.4, §18.38.3)", async () => {
  await using a = await withCallbacks(1);
  const state = await a.open("file", READ);
  // The server answers EXPIRED, yet keeps the delegation as a live one.
  a.server.failNext("DELEGRETURN", S.NFS4ERR_EXPIRED);
  a.mark();
  await a.drive(closeFile(a.m, state));
  assert.deepEqual(bare(a.ops()), [
    "PUTFH,DELEGRETURN -> NFS4ERR_EXPIRED",
    "FREE_STATEID -> NFS4ERR_LOCKS_HELD",
    "PUTFH,CLOSE",
  ]);
  const deleg = a.details(["deleg"]);
  assert.ok(deleg.some((d) => d.startsWith("DELEGRETURN failed, dropped")), deleg.join("\n"));
  assert.ok(!deleg.some((d) => d.startsWith("FREE_STATEID")), deleg.join("\n"));
  assert.ok(
    a.details(["state"]).some((d) => d.startsWith("FREE_STATEID -> NFS4ERR_LOCKS_HELD")),
    a.details(["state"]).join("\n"),
  );
});
