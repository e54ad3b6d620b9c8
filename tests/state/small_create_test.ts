/**
 * lib/state/small_create.ts against the scripted server through the state
 * manager's harness (a fake clock, replies that can be lost): a placing
 * COMPOUND whose reply was lost is answered from the session's reply cache
 * (RFC 8881 §2.10.6.1.3), so what that answer says is known, not a
 * possible second run.
 */

import assert from "node:assert/strict";
import { Attr } from "../../lib/nfs4/attrs.ts";
import { AttributesNotSetError } from "../../lib/nfs4/attrs_set.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { createWriteSetattrClose } from "../../lib/state/small_create.ts";
import { harness } from "./_harness.ts";

Deno.test("a placing COMPOUND whose reply was lost: the resend's answer comes from the reply cache, one run; its LINK's NFS4ERR_EXIST is that run's own, not marked as answering a resend", async () => {
  await using h = await harness(1, { files: { "/vfs/taken": "theirs\n" } });
  const dirFh = await h.vfs();
  h.mark();
  h.channel.dropReplies("OPEN");
  const end = await h.drive(
    createWriteSetattrClose(h.m, {
      dirFh,
      name: ".taken.tmp",
      path: "/vfs/.taken.tmp",
      mode: 0o600,
      attrs: [Attr.TYPE, Attr.SIZE, Attr.CHANGE],
      data: new TextEncoder().encode("ours\n"),
      settable: { size: 5n, mode: 0o644 },
      placeAs: "taken",
    }),
    50,
  );
  assert.ok(end.done);
  const placing = end.placing;
  assert.ok(placing && placing.linked === false, JSON.stringify(placing));
  const error = placing.error;
  assert.ok(error instanceof NfsError && error.status === S.NFS4ERR_EXIST && error.op === "LINK");
  assert.equal(error.answeredResend, false);
  const sent = h.entries().filter((e) => e.ops.includes("OPEN"));
  assert.equal(sent.length, 2);
  assert.equal(sent[1]!.replay, true, "the resend was answered from the reply cache");
  assert.equal(h.server.file("/vfs/taken")!.data.length, "theirs\n".length);
  assert.ok(h.server.file("/vfs/.taken.tmp"), "the temporary is the caller's to remove");
});

/** A small file's one COMPOUND on a server whose SETATTR leaves the mode unset (attrsset without it). */
function modeIgnoredRequest(dirFh: Uint8Array, placeAs?: string) {
  return {
    dirFh,
    name: ".f.tmp",
    path: "/vfs/.f.tmp",
    mode: 0o600,
    attrs: [Attr.TYPE, Attr.SIZE, Attr.CHANGE],
    data: new TextEncoder().encode("ours\n"),
    settable: { size: 5n, mode: 0o644 },
    ...(placeAs !== undefined ? { placeAs } : {}),
  };
}

Deno.test("a small file's SETATTR answered NFS4_OK without the mode in its attrsset fails the file, nothing left open (RFC 8881 §18.30.4)", async () => {
  await using h = await harness(1, { setattrIgnores: [Attr.MODE] });
  const dirFh = await h.vfs();
  await assert.rejects(
    h.drive(createWriteSetattrClose(h.m, modeIgnoredRequest(dirFh)), 50),
    (e: Error) =>
      e instanceof AttributesNotSetError &&
      e.message === "/vfs/.f.tmp: the server did not set mode (SETATTR attrsset)",
  );
  assert.equal(h.m.opens.size, 0);
  assert.deepEqual(h.server.opensOf("/vfs/.f.tmp"), []);
});

Deno.test("placed in the same COMPOUND, a small file whose SETATTR left the mode unset loses its final name again and says why (RFC 8881 §18.30.4)", async () => {
  await using h = await harness(1, { setattrIgnores: [Attr.MODE] });
  const dirFh = await h.vfs();
  const end = await h.drive(createWriteSetattrClose(h.m, modeIgnoredRequest(dirFh, "f")), 50);
  assert.ok(end.done);
  assert.ok(end.commitError instanceof AttributesNotSetError, String(end.commitError));
  assert.ok(end.placing && end.placing.linked === false, JSON.stringify(end.placing));
  assert.equal(h.server.file("/vfs/f"), undefined, "the final name taken back");
  assert.equal(h.m.opens.size, 0);
});
