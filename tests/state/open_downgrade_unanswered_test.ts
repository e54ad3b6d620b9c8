/**
 * An OPEN_DOWNGRADE whose answer never came (RFC 7530 §16.19, §9.1.7; RFC
 * 8881 §18.18). Lost once, it is sent again as itself and answered from
 * the server's replay of the owner's last request (4.0, RFC 7530 §9.1.9)
 * or the session's reply cache (4.1). Lost until its deadline, its outcome
 * is unknown:
 * - the server ran it: its stateid's seqid moved on unseen, and the last
 *   CLOSE with the one before is refused NFS4ERR_OLD_STATEID; the CLOSE
 *   goes again with the next seqid (the kernel's
 *   nfs4_refresh_open_old_stateid), and the open is closed;
 * - on 4.0, the server never got it: the owner seqid taken as used is
 *   refused (NFS4ERR_BAD_SEQID), which says so, and the CLOSE goes again
 *   with the downgrade's seqid, which the server expects.
 * Either way nothing is left open on the server.
 */

import assert from "node:assert/strict";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import { closeFile } from "../../lib/state/files.ts";
import { type Harness, harness, TIMEOUT_2S } from "./_harness.ts";

const READ = ShareAccess.OPEN4_SHARE_ACCESS_READ;
const BOTH = ShareAccess.OPEN4_SHARE_ACCESS_BOTH;

/** `PUTFH,CLOSE` for `SEQUENCE,PUTFH,CLOSE`. */
function bare(h: Harness): string[] {
  return h.ops().map((o) => o.replace(/^SEQUENCE,/, ""));
}

/** /vfs/file open for read+write and for read by one owner; the read+write user closes. */
async function downgrade(h: Harness) {
  const state = await h.open("file", BOTH);
  await h.open("file", READ);
  h.mark();
  await h.drive(closeFile(h.m, state, { access: BOTH, deny: 0 }), 50, 60_000);
  return state;
}

for (const vers of [0, 1] as const) {
  const v = `NFSv4.${vers}`;

  Deno.test(
    `${v}: an OPEN_DOWNGRADE whose reply is lost once is sent again as itself and answered (${
      vers === 0 ? "the owner's replay, RFC 7530 §9.1.9" : "the reply cache, RFC 8881 §2.10.6.1"
    }); the CLOSE after it is in step`,
    async () => {
      await using h = await harness(vers);
      h.channel.dropReplies("OPEN_DOWNGRADE");
      const state = await downgrade(h);
      assert.deepEqual(bare(h), ["PUTFH,OPEN_DOWNGRADE", "PUTFH,OPEN_DOWNGRADE"]);
      assert.equal(state.access, READ);
      h.mark();
      await h.drive(closeFile(h.m, state, { access: READ, deny: 0 }), 50);
      assert.deepEqual(bare(h), ["PUTFH,CLOSE"]);
      assert.deepEqual(h.server.opensOf("/vfs/file"), []);
    },
  );

  Deno.test(`${v}: an OPEN_DOWNGRADE the server ran but whose replies were lost until its deadline: the last CLOSE, refused NFS4ERR_OLD_STATEID, goes again with the stateid's next seqid and closes the open (RFC 7530 §9.1.4.2, RFC 8881 §8.2.2)`, async () => {
    await using h = await harness(vers, TIMEOUT_2S);
    h.channel.dropReplies("OPEN_DOWNGRADE", { times: 1_000 });
    const state = await downgrade(h);
    assert.ok(
      h.details(["open"]).some((d) => d.startsWith("OPEN_DOWNGRADE failed (/vfs/file: ")),
      h.details(["open"]).join("\n"),
    );
    assert.equal(h.server.opensOf("/vfs/file")[0]?.access, READ, "the server ran it");
    h.channel.clearDrops();
    h.mark();
    await h.drive(closeFile(h.m, state, { access: READ, deny: 0 }), 50);
    assert.deepEqual(bare(h), ["PUTFH,CLOSE -> NFS4ERR_OLD_STATEID", "PUTFH,CLOSE"]);
    assert.ok(
      h.details(["retry"]).some((d) =>
        /^CLOSE -> NFS4ERR_OLD_STATEID \(\/vfs\/file \S+:\d+: a change of the open whose answer never came ran; again with \S+:\d+\)$/
          .test(d)
      ),
      h.details(["retry"]).join("\n"),
    );
    assert.deepEqual(h.server.opensOf("/vfs/file"), []);
  });
}

Deno.test("NFSv4.0: an OPEN_DOWNGRADE that never reached the server (every transmission lost on the way) until its deadline: the owner's seqid taken as used is refused NFS4ERR_BAD_SEQID, and the CLOSE goes again with the downgrade's seqid, which the server expects (RFC 7530 §9.1.7)", async () => {
  await using h = await harness(0, TIMEOUT_2S);
  h.channel.dropReplies("OPEN_DOWNGRADE", { times: 1_000, beforeServer: true });
  const state = await downgrade(h);
  assert.equal(h.server.opensOf("/vfs/file")[0]?.access, BOTH, "the server never ran it");
  h.channel.clearDrops();
  h.mark();
  await h.drive(closeFile(h.m, state, { access: READ, deny: 0 }), 50);
  assert.deepEqual(h.ops(), ["PUTFH,CLOSE -> NFS4ERR_BAD_SEQID", "PUTFH,CLOSE"]);
  assert.deepEqual(h.server.opensOf("/vfs/file"), []);
});
