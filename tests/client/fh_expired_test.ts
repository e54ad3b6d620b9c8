/**
 * NFS4ERR_FHEXPIRED: a volatile file handle (RFC 7530 §4.2.3, RFC 8881
 * §4.2.3; the server's fh_expire_type) that expired is looked up by its
 * path once more, as a stale one (NFS4ERR_STALE) is; a second answer of
 * it is the answer, naming the path. Through the scripted NFSv4 server
 * over TCP, on 4.0 and 4.1.
 */

import assert from "node:assert/strict";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { withScriptedClient } from "./_scripted_client.ts";

for (const version of ["4.0", "4.1"] as const) {
  Deno.test(`Nfs4Client ${version}: an expired handle during a path walk (NFS4ERR_FHEXPIRED) is walked again once; twice is the answer`, async () => {
    await withScriptedClient({}, version, "fhexpired-walk", async (client, server, events) => {
      server.failNext("LOOKUP", S.NFS4ERR_FHEXPIRED);
      assert.equal((await client.stat("/vfs/file")).kind, "file");
      assert.ok(
        events.includes("path walk again (/vfs/file: LOOKUP -> NFS4ERR_FHEXPIRED)"),
        events.join("\n"),
      );
      server.failNext("LOOKUP", S.NFS4ERR_FHEXPIRED, { times: 2 });
      await assert.rejects(
        client.stat("/vfs/file"),
        (e) => e instanceof NfsError && e.status === S.NFS4ERR_FHEXPIRED && e.path === "/vfs/file",
      );
    });
  });

  Deno.test(`Nfs4Client ${version}: attributes() (nfs4 stat) looks an expired or stale handle up by its path once`, async () => {
    await withScriptedClient({}, version, "fhexpired-attrs", async (client, server, events) => {
      // The walk's handle of /vfs/file expired before its GETATTR.
      server.failNext("PUTFH", S.NFS4ERR_FHEXPIRED);
      const report = await client.attributes("/vfs/file");
      assert.equal(report.values.size, 13n);
      assert.ok(
        events.includes("path walk again (/vfs/file: PUTFH -> NFS4ERR_FHEXPIRED)"),
        events.join("\n"),
      );
      // The same for a handle gone stale (the file replaced since the walk).
      server.failNext("PUTFH", S.NFS4ERR_STALE);
      assert.equal((await client.attributes("/vfs/file")).values.size, 13n);
      // Expired again after the second walk: the answer.
      server.failNext("PUTFH", S.NFS4ERR_FHEXPIRED, { times: 2 });
      await assert.rejects(
        client.attributes("/vfs/file"),
        (e) => e instanceof NfsError && e.status === S.NFS4ERR_FHEXPIRED && e.path === "/vfs/file",
      );
    });
  });
}
