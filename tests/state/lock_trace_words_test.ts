/**
 * What the trace says of locks and opens as they are made: a LOCK line that
 * names the operation, its lock owner and (for the first, with
 * open_to_lock_owner4) the open it comes from, with the data OPEN's line
 * has; a lock owner introduced once (`owner new lock-…`), as open owners
 * are; a reclaim of a lock told in one line, old stateid to new; an OPEN
 * line that shows its deny mode. RFC 7530 §16.10 (LOCK), §9.9 (share
 * reservations), RFC 8881 §18.10, §9.7.
 */

import assert from "node:assert/strict";
import { ShareAccess, ShareDeny } from "../../lib/nfs4/constants.ts";
import { openFile } from "../../lib/state/files.ts";
import { harness } from "./_harness.ts";

const RW = ShareAccess.OPEN4_SHARE_ACCESS_BOTH;
const SID = "[0-9a-f]{24}:\\d+";

for (const minor of [0, 1] as const) {
  const rfc = minor === 0 ? "RFC 7530 §16.10" : "RFC 8881 §18.10";
  Deno.test(
    `4.${minor}: a LOCK line names the operation, its lock owner (introduced once) and the open a new lock owner comes from, with path and stateid data (${rfc})`,
    async () => {
      await using h = await harness(minor);
      const file = await h.open("file", RW);
      const from = h.trace.length;
      await h.lock(file, { offset: 0n, length: 10n });
      await h.lock(file, { offset: 100n, length: 10n });
      const lines = h.trace.slice(from).filter((e) =>
        e.category === "lock" || e.category === "owner"
      );
      const owner = file.locks[0]!.owner.label;
      assert.deepEqual(
        lines.map((e) => e.event),
        [`new ${owner}`, "LOCK", "LOCK"],
        lines.map((e) => `${e.event} (${e.detail})`).join("\n"),
      );
      assert.equal(
        lines[0]!.detail,
        `lock owner for /vfs/file, open_to_lock_owner4 from ${file.owner.label}`,
      );
      assert.match(
        lines[1]!.detail ?? "",
        new RegExp(
          `^/vfs/file write 0-9 ${SID} \\(new lock owner ${owner}, from open ${SID}\\)$`,
        ),
      );
      assert.match(
        lines[2]!.detail ?? "",
        new RegExp(`^/vfs/file write 100-109 ${SID} -> ${SID} \\(lock owner ${owner}\\)$`),
      );
      assert.deepEqual(Object.keys(lines[1]!.data ?? {}).sort(), [
        "newLockOwner",
        "owner",
        "path",
        "stateid",
      ]);
      assert.equal(lines[1]!.data?.["path"], "/vfs/file");
      assert.equal(lines[2]!.data?.["newLockOwner"], false);
      assert.match(String(lines[2]!.data?.["before"]), new RegExp(`^${SID}$`));
    },
  );

  Deno.test(
    `4.${minor}: a lock reclaimed after a reboot is one line, old stateid to new, not a LOCK line beside it (${
      minor === 0 ? "RFC 7530 §9.6.2" : "RFC 8881 §8.4.2.1"
    })`,
    async () => {
      await using h = await harness(minor);
      const file = await h.open("file", RW);
      await h.lock(file);
      const old = h.trace.findLast((e) => e.event === "LOCK")!.data?.["stateid"];
      h.mark();
      h.server.reboot();
      await h.drive(h.read(file));
      await h.drive(h.m.waitForRecovery());
      const lock = h.details(["lock"]);
      assert.equal(lock.length, 1, lock.join("\n"));
      assert.match(
        lock[0]!,
        new RegExp(`^LOCK\\(reclaim\\) reclaimed \\(/vfs/file write 0- ${old} -> ${SID}\\)$`),
      );
      const reclaimed = h.trace.find((e) => e.event === "LOCK(reclaim) reclaimed")!;
      assert.equal(reclaimed.data?.["before"], old);
      assert.equal(reclaimed.data?.["path"], "/vfs/file");
      assert.equal(reclaimed.data?.["stateid"], lock[0]!.match(new RegExp(`-> (${SID})\\)$`))![1]);
    },
  );

  Deno.test(
    `4.${minor}: an OPEN line shows its deny mode when it has one (${
      minor === 0 ? "RFC 7530 §9.9" : "RFC 8881 §9.7"
    })`,
    async () => {
      await using h = await harness(minor);
      const dirFh = await h.vfs();
      await openFile(h.m, {
        dirFh,
        name: "file",
        path: "/vfs/file",
        access: ShareAccess.OPEN4_SHARE_ACCESS_READ,
        deny: ShareDeny.OPEN4_SHARE_DENY_WRITE,
      });
      await h.open("other", RW);
      const opens = h.details(["open"]).filter((d) => d.startsWith("OPEN ("));
      assert.match(opens[0]!, new RegExp(`^OPEN \\(/vfs/file ${SID} access read deny write\\)$`));
      assert.match(opens[1]!, new RegExp(`^OPEN \\(/vfs/other ${SID} access read\\+write\\)$`));
    },
  );
}
