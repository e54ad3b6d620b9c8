/**
 * An OPEN upgrade whose answer never came is counted against the open this
 * owner holds of the same file (files.ts upgradeUnanswered) when it names
 * the file by another name too, a hard link, matched by the handle the
 * path walk found (OpenRequest.fh), as the library's opens pass it. The
 * server keeps one open per owner and file (RFC 7530 §9.11, RFC 8881
 * §9.7), so an upgrade it ran by either name moves that open's stateid
 * on: the last CLOSE, refused NFS4ERR_OLD_STATEID, goes again with the
 * next seqid (open_upgrade_unanswered_test.ts, by the same name).
 */

import assert from "node:assert/strict";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import { closeFile, openFile } from "../../lib/state/files.ts";
import { failureOf, harness, TIMEOUT_2S } from "./_harness.ts";

const READ = ShareAccess.OPEN4_SHARE_ACCESS_READ;
const BOTH = ShareAccess.OPEN4_SHARE_ACCESS_BOTH;

for (const vers of [0, 1] as const) {
  Deno.test(
    `NFSv4.${vers}: an OPEN upgrade by a hard link's name (its handle known), run by the server but unanswered: the last CLOSE, refused NFS4ERR_OLD_STATEID, goes again and closes the open (RFC ${
      vers === 0 ? "7530 §9.11, §16.16.5" : "8881 §9.7, §18.16.3"
    })`,
    async () => {
      await using h = await harness(vers, TIMEOUT_2S);
      const state = await h.open("file", READ);
      // A second name of the same file.
      const vfs = h.server.root.children.get("vfs")!;
      vfs.children.set("link", vfs.children.get("file")!);
      const dirFh = await h.vfs();
      h.channel.dropReplies("OPEN", { times: 1_000 });
      const upgrade = openFile(h.m, {
        dirFh,
        name: "link",
        path: "/vfs/link",
        access: BOTH,
        fh: state.fh,
      });
      await failureOf(h, upgrade, h.clock.now());
      assert.equal(h.server.opensOf("/vfs/file")[0]?.access, BOTH, "the server ran it");
      assert.equal(state.unansweredChanges, 1);
      h.channel.clearDrops();
      h.mark();
      await h.drive(closeFile(h.m, state, { access: READ, deny: 0 }), 50);
      assert.deepEqual(h.ops().map((o) => o.replace(/^SEQUENCE,/, "")), [
        "PUTFH,CLOSE -> NFS4ERR_OLD_STATEID",
        "PUTFH,CLOSE",
      ]);
      assert.deepEqual(h.server.opensOf("/vfs/file"), []);
    },
  );
}
