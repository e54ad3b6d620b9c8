/**
 * The rest of a short WRITE (RFC 8881 §18.32.3) after the one-COMPOUND
 * upload closed the file (4.1) goes through an OPEN by handle; a file whose
 * new mode denies its owner writing (0444, set by the COMPOUND's SETATTR)
 * refuses that OPEN NFS4ERR_ACCESS, so the owner's write bit is given back
 * for the rest. Whatever happens then, the file ends with the mode asked
 * for: a rest that fails (NFS4ERR_NOSPC) left it 0600 before, on any file
 * the caller wrote, not only a copy's temporary (a review of aa7d61a).
 */

import assert from "node:assert/strict";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { writeSetattrClose } from "../../lib/state/small_upload.ts";
import { harness } from "./_harness.ts";

const WRITE = ShareAccess.OPEN4_SHARE_ACCESS_WRITE;

/** The modes the SETATTRs since the mark asked for, in order (octal text). */
function modesSet(h: Awaited<ReturnType<typeof harness>>): string[] {
  return h.server.log.flatMap((e) =>
    e.ops.flatMap((op, i) =>
      op === "SETATTR"
        ? [(e.args[i] as { attrs: { mode?: number } }).attrs.mode?.toString(8) ?? "-"]
        : []
    )
  );
}

for (const fails of [false, true]) {
  Deno.test(`4.1 short WRITE, the rest's OPEN refused NFS4ERR_ACCESS for mode 0444: the owner's write bit only is given back, and the file ends 0444 ${fails ? "when the rest fails NFS4ERR_NOSPC" : "when the rest is written"} (RFC 8881 §18.32.3, §18.30.3)`, async () => {
    await using h = await harness(1);
    const state = await h.open("file", WRITE);
    h.server.file("/vfs/file")!.modeSet = 0o664;
    h.mark();
    h.server.writeShort = true;
    // Short once: the rest is written whole.
    h.server.intercept("WRITE", (_, s) => void (s.writeShort = false), { after: 1 });
    // The reopen (the first OPEN after the mark) refused once.
    h.server.intercept("OPEN", () => S.NFS4ERR_ACCESS);
    if (fails) h.server.failNext("WRITE", S.NFS4ERR_NOSPC, { after: 1, times: 10 });
    const data = new Uint8Array(1000).fill(7);
    const outcome = await writeSetattrClose(h.m, state, data, { size: 1000n, mode: 0o444 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (fails) {
      assert.match(String(outcome), /NFS4ERR_NOSPC|No space left/);
    } else {
      assert.equal(outcome, undefined);
    }
    // The COMPOUND's 444, the owner's write bit back (644), then 444 again.
    assert.deepEqual(modesSet(h), ["444", "644", "444"]);
    assert.equal(h.server.file("/vfs/file")!.modeSet, 0o444);
  });
}
