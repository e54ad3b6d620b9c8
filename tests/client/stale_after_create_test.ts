/**
 * A stale handle met after a create's OPEN ran is the error, never a
 * reason to walk again and OPEN a second time ("never re-runs an operation
 * the server already did"; RFC 8881 §18.16.3, RFC 7530 §16.16.5). The
 * server here ignores the create's mode (its attrset lacks it), so the
 * client sets it with `PUTFH(file) SETATTR` after the OPEN; that PUTFH is
 * answered NFS4ERR_STALE. The open() fails with it, one OPEN was sent, and
 * the file made is removed.
 */

import assert from "node:assert/strict";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { withScriptedClient } from "./_scripted_client.ts";

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

for (const version of ["4.0", "4.1"] as const) {
  Deno.test(`${version}: a stale handle at the SETATTR after a create's OPEN fails the open(): one OPEN, no walk again, the file removed`, async () => {
    await withScriptedClient(
      { openIgnoresCreateAttrs: true },
      version,
      "stale-after-create",
      async (client, server, events) => {
        let opens = 0;
        server.intercept("OPEN", () => void opens++, { times: 100 });
        // On 4.0 the file's first PUTFH is its OPEN_CONFIRM's, which goes
        // through: the SETATTR's is the one answered stale.
        let fileUses = 0;
        server.intercept("PUTFH", (args) => {
          const made = server.file("/vfs/g");
          if (!made || !sameBytes(args as Uint8Array, made.fh)) return;
          if (++fileUses > (version === "4.0" ? 1 : 0)) return S.NFS4ERR_STALE;
        }, { times: 1000 });
        await assert.rejects(
          client.open("/vfs/g", { access: "write", create: "guarded", mode: 0o640 }),
          (e) => e instanceof NfsError && e.status === S.NFS4ERR_STALE,
        );
        assert.equal(opens, 1, events.join("\n"));
        assert.ok(!events.some((e) => e.startsWith("path walk again")), events.join("\n"));
        assert.equal(server.file("/vfs/g"), undefined, "the file made is removed");
      },
    );
  });
}
