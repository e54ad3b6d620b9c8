/**
 * A release whose SEQUENCE failed was not run (RFC 8881 §18.46.3: nothing
 * after a failed SEQUENCE runs): the status is the SEQUENCE's, and the
 * trace says so, as it names any failed SEQUENCE (`SEQUENCE ->
 * NFS4ERR_EXPIRED`), with the release it stopped (`/vfs/file: CLOSE not
 * run`), never as the release's own answer (`CLOSE -> NFS4ERR_EXPIRED`,
 * which would say the server refused the CLOSE of that stateid). After an
 * interrupt no new client ID is made for the releases, so each takes its
 * status as the answer.
 */

import assert from "node:assert/strict";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { harness } from "./_harness.ts";

Deno.test("4.1: after an interrupt, a CLOSE and LOCKU met by SEQUENCE NFS4ERR_EXPIRED are traced as the SEQUENCE's status, each naming the release it stopped: `SEQUENCE -> NFS4ERR_EXPIRED (/vfs/file: CLOSE not run)`, not `CLOSE -> NFS4ERR_EXPIRED` (RFC 8881 §18.46.3)", async () => {
  await using h = await harness(1);
  const file = await h.open("file", 3);
  await h.lock(file, { offset: 0n, length: 10n });
  h.m.interrupt(new Error("SIGINT"));
  // The lease is gone by the server's word (Ganesha 4.3 before its reaper).
  h.server.failNext("SEQUENCE", S.NFS4ERR_EXPIRED, { times: 10 });
  h.mark();
  await h.drive(h.m.shutdown(), 50, 2_000);
  assert.deepEqual(h.ops().slice(0, 2), [
    "SEQUENCE,PUTFH,LOCKU -> NFS4ERR_EXPIRED",
    "SEQUENCE,PUTFH,CLOSE -> NFS4ERR_EXPIRED",
  ]);
  const details = h.details(["open", "lock"]);
  assert.ok(
    details.includes("SEQUENCE -> NFS4ERR_EXPIRED (/vfs/file: CLOSE not run)"),
    details.join("\n"),
  );
  assert.ok(
    details.includes("SEQUENCE -> NFS4ERR_EXPIRED (/vfs/file write 0-9: LOCKU not run)"),
    details.join("\n"),
  );
  assert.ok(!details.some((d) => d.startsWith("CLOSE -> ")), details.join("\n"));
  assert.ok(!details.some((d) => d.startsWith("LOCKU -> ")), details.join("\n"));
  // Nothing was freed on the SEQUENCE's word: it said nothing of the stateid.
  assert.ok(!h.ops().some((o) => o.includes("FREE_STATEID")), h.ops().join("\n"));
});

Deno.test("4.1: a CLOSE the server itself refuses is still traced as the CLOSE's answer (`CLOSE -> NFS4ERR_EXPIRED`), and its stateid freed (RFC 8881 §8.2.4)", async () => {
  await using h = await harness(1);
  const file = await h.open("file");
  h.server.revoke(file.stateid, S.NFS4ERR_EXPIRED, { flag: false });
  h.m.interrupt(new Error("SIGINT"));
  h.mark();
  await h.drive(h.m.shutdown(), 50, 2_000);
  assert.ok(h.ops().includes("SEQUENCE,PUTFH,CLOSE -> NFS4ERR_EXPIRED"), h.ops().join("\n"));
  assert.ok(h.details(["open"]).includes("CLOSE -> NFS4ERR_EXPIRED (/vfs/file)"));
  assert.ok(h.ops().includes("SEQUENCE,FREE_STATEID"), h.ops().join("\n"));
});
