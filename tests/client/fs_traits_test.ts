/**
 * Nfs4Client holds names to the maxname of the file system they are looked
 * up in, and asks each file system for the attributes it supports
 * (supported_attrs "applies to all objects with a matching fsid": RFC 7530
 * §5.8.1.1, RFC 8881 §5.8.1.1), not what the pseudo-fs root says, learned
 * by fsid from the walk's own GETATTRs: no COMPOUND more. Through the
 * scripted server (tests/state/_scripted.ts `fileSystems`), whose pseudo-fs
 * root takes 255-byte names and has no `mode`, its /vfs takes 1024 and has
 * `mode`, and its /mem takes 255 and has neither maxread nor maxwrite.
 */

import assert from "node:assert/strict";
import { withScriptedClient } from "./_scripted_client.ts";
import { Attr } from "../../lib/nfs4/attrs.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import type { LogEntry, ScriptedServerOptions } from "../state/_scripted.ts";

const BASE = [
  Attr.SUPPORTED_ATTRS,
  Attr.TYPE,
  Attr.CHANGE,
  Attr.SIZE,
  Attr.FSID,
  Attr.LEASE_TIME,
  Attr.FILEID,
  Attr.MAXNAME,
];

const OPTIONS: ScriptedServerOptions = {
  files: { "/vfs/file": "hello\n", "/vfs/dir/inner": "inner\n", "/mem/f": "mem\n" },
  fileSystems: [
    {
      path: "/",
      fsid: { major: 1n, minor: 0n },
      maxname: 255,
      supportedAttrs: [...BASE, Attr.MAXREAD, Attr.MAXWRITE],
    },
    {
      path: "/vfs",
      fsid: { major: 2n, minor: 0n },
      maxname: 1024,
      supportedAttrs: [...BASE, Attr.MODE, Attr.MAXREAD, Attr.MAXWRITE],
    },
    { path: "/mem", fsid: { major: 3n, minor: 0n }, maxname: 255, supportedAttrs: BASE },
  ],
};

/** The names LOOKUP was sent with in `log`. */
function lookedUp(log: readonly LogEntry[]): string[] {
  return log.flatMap((e) => e.ops.flatMap((op, i) => op === "LOOKUP" ? [e.args[i] as string] : []));
}

const tooLong = (e: unknown) => e instanceof NfsError && e.status === S.NFS4ERR_NAMETOOLONG;

for (const version of ["4.0", "4.1"] as const) {
  Deno.test(`Nfs4Client ${version}: a name is held to the maxname of its directory's file system, not the pseudo-root's`, async () => {
    await withScriptedClient(OPTIONS, version, "fs-maxname", async (client, server) => {
      // 300 bytes: over the pseudo-root's 255, within /vfs's 1024: sent,
      // and the server answers for it (here: no such file).
      const n300 = "n".repeat(300);
      await assert.rejects(
        client.stat(`/vfs/${n300}`),
        (e) => e instanceof NfsError && e.status === S.NFS4ERR_NOENT,
      );
      assert.ok(lookedUp(server.log).includes(n300), "the 300-byte name was sent");
      // Made there too: OPEN with the name, the file is the server's.
      const file = await client.open(`/vfs/${n300}`, { access: "write", create: "unchecked" });
      await file.close();
      assert.ok(server.file(`/vfs/${n300}`), "made under /vfs");
      assert.equal((await client.stat(`/vfs/${n300}`)).name, n300);

      // Over /vfs's own limit, or over /mem's: refused, nothing sent.
      const n1100 = "m".repeat(1100);
      await assert.rejects(client.stat(`/vfs/dir/${n1100}`), tooLong);
      await assert.rejects(client.stat(`/mem/${n300}`), tooLong);
      await assert.rejects(client.mkdir(`/mem/${n300}`, 0o755), tooLong);
      const sent = lookedUp(server.log);
      assert.ok(!sent.includes(n1100), "the 1100-byte name was not sent");
      assert.equal(sent.filter((n) => n === n300).length, 3, "the 300-byte name not sent to /mem");
    });
  });

  Deno.test(`Nfs4Client ${version}: each file system is asked for the attributes it supports, learned by fsid with no COMPOUND more`, async () => {
    await withScriptedClient(OPTIONS, version, "fs-supported", async (client, server) => {
      await client.stat("/vfs");
      // /vfs's objects have a mode, which the pseudo-root does not support.
      const before = server.log.length;
      const inner = await client.stat("/vfs/dir/inner");
      assert.equal(inner.mode, 0o644);
      // One COMPOUND, the walk (and 4.1's SEQUENCE in it): nothing sent to learn /vfs.
      assert.deepEqual(
        server.log.slice(before).map((e) => e.ops.filter((op) => op !== "SEQUENCE").join(" ")),
        [
          "PUTROOTFH LOOKUP GETFH GETATTR LOOKUP GETFH GETATTR LOOKUP GETFH GETATTR",
        ],
      );
      // The export's root itself, looked up from the pseudo-fs: its mode
      // too, asked of it once its file system is known.
      assert.equal((await client.stat("/vfs")).mode, 0o755);
      assert.equal((await client.stat("/vfs/file")).mode, 0o644);

      // /mem supports fewer: its file's OPEN asks for no maxread nor maxwrite.
      const opened = server.log.length;
      const file = await client.openRead("/mem/f");
      await file.close();
      const open = server.log.slice(opened).find((e) => e.ops.includes("OPEN"))!;
      const asked = open.args[open.ops.lastIndexOf("GETATTR")] as ReadonlySet<number>;
      assert.ok(asked.has(Attr.SIZE), "the OPEN's GETATTR asks for the size");
      assert.ok(!asked.has(Attr.MAXREAD) && !asked.has(Attr.MAXWRITE), [...asked].join(","));
    });
  });
}
