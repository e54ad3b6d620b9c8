/**
 * Lock owners against Ganesha: one per open file, as the Linux client has
 * one per nfs4_lock_state. On NFSv4.0 a lock owner's sequence id orders its
 * LOCKs and LOCKUs (RFC 7530 §9.1.7), and servers differ on whether a LOCK
 * refused for a new lock owner (open_to_lock_owner4) uses one up: Ganesha
 * 4.3 does not. With one owner for every file, a refusal on one file put
 * the owner's locks on another out of step (their LOCKU refused with
 * NFS4ERR_BAD_SEQID, the lock held until the lease ended).
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Nfs4Client } from "../../lib/client/client.ts";
import { LockConflictError } from "../../lib/client/errors.ts";
import { serverTest } from "../_server.ts";

const WHOLE = 0xffff_ffff_ffff_ffffn;

for (const version of ["4.0", "4.1"] as const) {
  serverTest(
    `NFSv${version}: a LOCK refused on one file leaves the locks held on another in step: their LOCKU goes through and the lock is free at once (RFC 7530 §9.1.7)`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "f\n");
      writeFileSync(join(server.exportDir, "x"), "x\n");
      const connect = (name: string) =>
        Nfs4Client.connect({
          host: server.host,
          port: server.port,
          version,
          clientId: `lock-owners-${name}-${crypto.randomUUID()}`,
        });
      const other = await connect("other");
      const us = await connect("us");
      try {
        const held = await other.open("/vfs/x", { access: "both" });
        await held.lock({ type: "write", offset: 0n, length: WHOLE });
        const f = await us.open("/vfs/f", { access: "both" });
        await f.lock({ type: "write", offset: 0n, length: WHOLE });
        const x = await us.open("/vfs/x", { access: "both" });
        await assert.rejects(
          x.lock({ type: "write", offset: 0n, length: WHOLE }),
          LockConflictError,
        );
        await f.unlock({ type: "write", offset: 0n, length: WHOLE });
        // Another client takes f at once: the LOCKU really released it.
        const g = await other.open("/vfs/f", { access: "both" });
        await g.lock({ type: "write", offset: 0n, length: WHOLE });
        await g.unlock({ type: "write", offset: 0n, length: WHOLE });
        await held.unlock({ type: "write", offset: 0n, length: WHOLE });
        await g.close();
        await held.close();
        await x.close();
        await f.close();
      } finally {
        await us.close();
        await other.close();
      }
    },
  );
}
