/**
 * Nfs4Client.attributes() against NFS-Ganesha, on NFSv4.0 and NFSv4.1: one
 * GETATTR of every attribute the server supports (RFC 7530 §5, RFC 8881
 * §5), named as the RFCs name them, with the filehandle; what it supports
 * but does not return is listed as unknown, never an error.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { serverTest } from "../_server.ts";

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `Nfs4Client.attributes() --vers ${vers}: every supported attribute, by name`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/f`, "hello");
      await Deno.symlink("f", `${server.exportDir}/link`);
      const client = await Nfs4Client.connect({
        host: "127.0.0.1",
        port: server.port,
        version: vers,
        uid: 0,
        gid: 0,
        clientId: `nfs4-attributes-test-${crypto.randomUUID()}`,
      });
      try {
        const report = await client.attributes("/vfs/f");
        const names = report.returned.map((r) => r.name);
        for (
          const name of [
            "type",
            "change",
            "size",
            "fsid",
            "lease_time",
            "fileid",
            "mode",
            "numlinks",
            "owner",
            "owner_group",
            "space_used",
            "time_access",
            "time_metadata",
            "time_modify",
            "maxread",
            "maxwrite",
            "filehandle",
          ]
        ) {
          assert.ok(names.includes(name), `${name} missing from ${names.join(" ")}`);
          assert.ok(report.supported.includes(name));
        }
        assert.ok(!names.includes("time_modify_set"), "write-only attributes are not asked for");
        assert.deepEqual(
          names,
          [...names].sort((a, b) => {
            const ids = new Map(report.returned.map((r) => [r.name, r.id]));
            return ids.get(a)! - ids.get(b)!;
          }),
        );
        assert.equal(report.values.size, 5n);
        assert.equal(report.info.kind, "file");
        const local = await Deno.stat(`${server.exportDir}/f`);
        assert.equal(report.values.fileid, BigInt(local.ino!));
        assert.equal(report.values.mode! & 0o7777, local.mode! & 0o7777);
        assert.deepEqual(report.filehandle, report.values.filehandle);
        assert.ok(report.filehandle.length > 0);
        // Everything supported is either returned or unknown.
        for (const name of report.supported) {
          if (name === "rdattr_error" || name.endsWith("_set")) continue;
          assert.ok(names.includes(name) || report.unknown.includes(name), name);
        }

        const link = await client.attributes("/vfs/link");
        assert.equal(link.info.kind, "symlink");
        assert.equal(link.info.linkTarget, "f");
        const followed = await client.attributes("/vfs/link", { follow: true });
        assert.equal(followed.values.fileid, report.values.fileid);

        await assert.rejects(
          client.attributes("/vfs/missing"),
          (e) =>
            e instanceof NfsError && e.statusName === "NFS4ERR_NOENT" && e.path === "/vfs/missing",
        );
      } finally {
        await client.close();
      }
    },
  );
}
