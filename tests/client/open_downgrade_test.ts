/**
 * OPEN_DOWNGRADE against NFS-Ganesha (RFC 7530 §16.19, RFC 8881 §18.18):
 * one client's two handles of a file, read-write and read-only, share one
 * server open whose share is their union (RFC 7530 §9.11). Once the
 * read-write handle is closed the open is narrowed to read, so another
 * client may open the file denying WRITE; before, the server refuses that
 * OPEN with NFS4ERR_SHARE_DENIED, as it must while the first client holds
 * WRITE access.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import { ShareAccess, ShareDeny } from "../../lib/nfs4/constants.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { getfh } from "../../lib/nfs4/ops/getfh.ts";
import { lookup } from "../../lib/nfs4/ops/lookup.ts";
import { putrootfh } from "../../lib/nfs4/ops/putrootfh.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { closeFile, type OpenedFile, openFile } from "../../lib/state/files.ts";
import type { TraceEvent } from "../../lib/state/trace.ts";
import { serverTest } from "../_server.ts";

for (const version of ["4.0", "4.1"] as const) {
  serverTest(
    `NFSv${version}: closing the read-write handle while a read-only one stays sends OPEN_DOWNGRADE, and another client's OPEN denying WRITE, refused before, is granted (RFC 7530 §9.11, §16.19; RFC 8881 §18.18)`,
    async (server) => {
      const content = "downgraded\n";
      await Deno.writeTextFile(`${server.exportDir}/f`, content);
      const events: TraceEvent[] = [];
      const connect = (name: string, onTrace?: (e: TraceEvent) => void) =>
        Nfs4Client.connect({
          host: "127.0.0.1",
          port: server.port,
          version,
          uid: 0,
          gid: 0,
          clientId: `open-downgrade-${name}-${crypto.randomUUID()}`,
          ...(onTrace ? { onTrace } : {}),
        });
      const a = await connect("a", (e) => events.push(e));
      const b = await connect("b");
      try {
        const [, , dirFh] = await b.manager.run(
          () => [putrootfh(), lookup("vfs"), getfh()] as const,
        );
        /** B's OPEN of the file for reading, denying WRITE (state layer: the API has no deny). */
        const denyWrite = (): Promise<OpenedFile> =>
          openFile(b.manager, {
            dirFh,
            name: "f",
            path: "/vfs/f",
            access: ShareAccess.OPEN4_SHARE_ACCESS_READ,
            deny: ShareDeny.OPEN4_SHARE_DENY_WRITE,
          });

        const both = await a.open("/vfs/f", { access: "both" });
        const read = await a.open("/vfs/f", { access: "read" });
        assert.equal(read.state, both.state, "one open state for both handles");
        await assert.rejects(
          denyWrite(),
          (e) => e instanceof NfsError && e.status === S.NFS4ERR_SHARE_DENIED,
          "A holds WRITE access",
        );

        await both.close();
        // A holds read access alone now: B's OPEN denying WRITE goes through.
        const granted = await denyWrite();
        const opens = events.filter((e) => e.category === "open");
        const downgrades = opens.filter((e) => e.event.startsWith("OPEN_DOWNGRADE"));
        assert.deepEqual(
          downgrades.map((e) => e.event),
          ["OPEN_DOWNGRADE"],
          opens.map((e) => `${e.event} (${e.detail})`).join("\n"),
        );
        assert.match(downgrades[0]!.detail ?? "", /^\/vfs\/f .* read\+write -> read users 1$/);
        assert.equal(read.state.access, ShareAccess.OPEN4_SHARE_ACCESS_READ);

        const { data } = await read.read(0n, 100);
        assert.equal(new TextDecoder().decode(data), content);

        await closeFile(b.manager, granted.state);
        await read.close();
        assert.deepEqual(a.describeState().opens, []);
        assert.equal(b.manager.opens.size, 0);
      } finally {
        await a.close();
        await b.close();
      }
      assert.equal(a.leftOnServer, undefined);
      assert.equal(b.leftOnServer, undefined);
    },
  );
}
