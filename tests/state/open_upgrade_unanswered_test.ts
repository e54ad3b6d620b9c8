/**
 * An OPEN that upgrades an open this owner holds on the file (RFC 7530
 * §9.11, §16.16.5; RFC 8881 §9.7, §18.16.3: the server keeps one open per
 * owner and file, and its stateid's seqid moves on with each OPEN) whose
 * answer never came (every reply lost until the deadline): the server may
 * have run it, moving the stateid on unseen, as after an OPEN_DOWNGRADE
 * left unanswered (open_downgrade_unanswered_test.ts). The last CLOSE with
 * the stateid before is refused NFS4ERR_OLD_STATEID, and goes again with
 * the next seqid (the kernel's nfs4_refresh_open_old_stateid), so nothing
 * is left open on the server.
 */

import assert from "node:assert/strict";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import { closeFile } from "../../lib/state/files.ts";
import { failureOf, harness, TIMEOUT_2S } from "./_harness.ts";

const READ = ShareAccess.OPEN4_SHARE_ACCESS_READ;
const BOTH = ShareAccess.OPEN4_SHARE_ACCESS_BOTH;

for (const vers of [0, 1] as const) {
  Deno.test(
    `NFSv4.${vers}: an OPEN upgrade the server ran but whose replies were lost until its deadline: the last CLOSE, refused NFS4ERR_OLD_STATEID, goes again with the stateid's next seqid and closes the open (RFC ${
      vers === 0 ? "7530 §9.1.4.2, §16.16.5" : "8881 §8.2.2, §18.16.3"
    })`,
    async () => {
      await using h = await harness(vers, TIMEOUT_2S);
      const state = await h.open("file", READ);
      h.channel.dropReplies("OPEN", { times: 1_000 });
      await failureOf(h, h.open("file", BOTH), h.clock.now());
      assert.equal(h.server.opensOf("/vfs/file")[0]?.access, BOTH, "the server ran it");
      assert.equal(state.unansweredChanges, 1);
      h.channel.clearDrops();
      h.mark();
      await h.drive(closeFile(h.m, state, { access: READ, deny: 0 }), 50);
      assert.deepEqual(h.ops().map((o) => o.replace(/^SEQUENCE,/, "")), [
        "PUTFH,CLOSE -> NFS4ERR_OLD_STATEID",
        "PUTFH,CLOSE",
      ]);
      assert.ok(
        h.details(["retry"]).some((d) =>
          /^CLOSE -> NFS4ERR_OLD_STATEID \(\/vfs\/file \S+:\d+: a change of the open whose answer never came ran; again with \S+:\d+\)$/
            .test(d)
        ),
        h.details(["retry"]).join("\n"),
      );
      assert.deepEqual(h.server.opensOf("/vfs/file"), []);
    },
  );
}

for (const vers of [0, 1] as const) {
  Deno.test(
    `NFSv4.${vers}: an OPEN upgrade that never reached the server (every transmission lost on the way) until its deadline: the open counted changed costs nothing, the last CLOSE closes it (RFC ${
      vers === 0 ? "7530 §9.1.7" : "8881 §8.2.2"
    })`,
    async () => {
      await using h = await harness(vers, TIMEOUT_2S);
      const state = await h.open("file", READ);
      h.channel.dropReplies("OPEN", { times: 1_000, beforeServer: true });
      await failureOf(h, h.open("file", BOTH), h.clock.now());
      assert.equal(h.server.opensOf("/vfs/file")[0]?.access, READ, "the server never ran it");
      h.channel.clearDrops();
      h.mark();
      await h.drive(closeFile(h.m, state, { access: READ, deny: 0 }), 50);
      // 4.0: the owner's seqid taken as used is refused, which says the OPEN
      // never came; the CLOSE goes again with the seqid the server expects.
      assert.deepEqual(
        h.ops().map((o) => o.replace(/^SEQUENCE,/, "")),
        vers === 0 ? ["PUTFH,CLOSE -> NFS4ERR_BAD_SEQID", "PUTFH,CLOSE"] : ["PUTFH,CLOSE"],
      );
      assert.deepEqual(h.server.opensOf("/vfs/file"), []);
    },
  );
}
