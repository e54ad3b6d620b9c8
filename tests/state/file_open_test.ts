/**
 * NFS4ERR_FILE_OPEN (RFC 7530 §13.1.4, §16.25, §16.26; RFC 8881 §15.1.4,
 * §18.25, §18.26): a server that will not REMOVE or RENAME a file while it
 * is open (Windows Server, for a file another client holds open). Waiting
 * does not clear it, so it is waited out only briefly, as the kernel's
 * nfs4_do_handle_exception does (EBUSY once the next wait would be past
 * 1 s): 0.1 + 0.2 + 0.4 + 0.8 s, five tries, then the status is the answer.
 * It used to be waited out as NFS4ERR_DELAY for the whole deadline (2
 * minutes by default) per file.
 */

import assert from "node:assert/strict";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { putfh } from "../../lib/nfs4/ops/putfh.ts";
import { remove } from "../../lib/nfs4/ops/remove.ts";
import { rename } from "../../lib/nfs4/ops/rename.ts";
import { savefh } from "../../lib/nfs4/ops/savefh.ts";
import { harness } from "./_harness.ts";

for (const minorVersion of [0, 1] as const) {
  Deno.test(`4.${minorVersion}: REMOVE answered NFS4ERR_FILE_OPEN every time is waited out for 1.5 s, five tries, then fails with that status (kernel nfs4_do_handle_exception; RFC 7530 §16.25, RFC 8881 §18.25)`, async () => {
    await using h = await harness(minorVersion);
    const dir = await h.vfs();
    h.mark();
    h.server.failNext("REMOVE", S.NFS4ERR_FILE_OPEN, { times: 1000 });
    const removing = h.m.run(() => [putfh(dir), remove("file")] as const);
    const error = await h.drive(removing, 50).then(
      () => assert.fail("the REMOVE succeeded"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof NfsError, String(error));
    assert.equal(error.status, S.NFS4ERR_FILE_OPEN);
    assert.equal(error.message, "REMOVE: File is open (NFS4ERR_FILE_OPEN)");
    assert.deepEqual(h.timeline().map(([t]) => t), [0, 100, 300, 700, 1500]);
    assert.deepEqual(h.details(["retry"]), [
      "REMOVE -> NFS4ERR_FILE_OPEN (waiting 100.0 ms)",
      "REMOVE -> NFS4ERR_FILE_OPEN (waiting 200.0 ms)",
      "REMOVE -> NFS4ERR_FILE_OPEN (waiting 400.0 ms)",
      "REMOVE -> NFS4ERR_FILE_OPEN (waiting 800.0 ms)",
      "REMOVE -> NFS4ERR_FILE_OPEN (the same after 1.50 s: the answer)",
    ]);
    assert.equal(h.clock.now(), 1500);
    assert.deepEqual(h.steps(), []);
  });
}

Deno.test("4.1: RENAME answered NFS4ERR_FILE_OPEN is given up on as soon, however long the deadline (RFC 8881 §18.26)", async () => {
  await using h = await harness(1, { recoveryTimeoutMs: 120_000 });
  const dir = await h.vfs();
  h.mark();
  h.server.failNext("RENAME", S.NFS4ERR_FILE_OPEN, { times: 1000 });
  const renaming = h.m.run(() =>
    [putfh(dir), savefh(), putfh(dir), rename({ oldName: "file", newName: "moved" })] as const
  );
  await assert.rejects(h.drive(renaming, 50), (e: unknown) => {
    assert.ok(e instanceof NfsError);
    assert.equal(e.status, S.NFS4ERR_FILE_OPEN);
    return true;
  });
  assert.equal(h.clock.now(), 1500);
  assert.equal(h.ops().length, 5);
});

Deno.test("4.1: NFS4ERR_FILE_OPEN that clears within the short wait (the other open closed meanwhile): the REMOVE goes through (RFC 8881 §18.25)", async () => {
  await using h = await harness(1);
  const dir = await h.vfs();
  h.mark();
  h.server.failNext("REMOVE", S.NFS4ERR_FILE_OPEN, { times: 2 });
  await h.drive(h.m.run(() => [putfh(dir), remove("file")] as const), 50);
  assert.deepEqual(h.timeline(), [
    [0, "SEQUENCE,PUTFH,REMOVE -> NFS4ERR_FILE_OPEN"],
    [100, "SEQUENCE,PUTFH,REMOVE -> NFS4ERR_FILE_OPEN"],
    [300, "SEQUENCE,PUTFH,REMOVE"],
  ]);
});
