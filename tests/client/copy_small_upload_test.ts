/**
 * Nfs4Client.createExclusiveIn() and renameIn(), what a copy to the server
 * creates and places its temporaries with, against the scripted server over
 * TCP: the directory is walked once for many files; a directory handle the
 * server calls stale at the PUTFH (NFS4ERR_STALE, RFC 8881 §15.1.2.7: the
 * OPEN or RENAME after it did not run) is walked again once. Against
 * NFS-Ganesha: a name that exists already (no walk of it any more) is
 * refused by the exclusive create (RFC 8881 §18.16.3, RFC 7530 §16.16.5),
 * never opened or changed.
 */

import assert from "node:assert/strict";
import { withScriptedClient } from "./_scripted_client.ts";
import { Nfs4Client } from "../../lib/client/client.ts";
import { DirectoryHandles } from "../../lib/client/small_file.ts";
import { NfsSide } from "../../lib/client/copy/nfs_side.ts";
import { DEFAULT_TUNING } from "../../lib/client/copy/options.ts";
import { parseNfsUrl } from "../../lib/client/url.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { startScriptedNfsServer } from "../_nfs4_server.ts";
import { ScriptedServer } from "../state/_scripted.ts";
import { serverTest } from "../_server.ts";
import { probeClient } from "../cli/_spawn.ts";

for (const version of ["4.0", "4.1"] as const) {
  Deno.test(`Nfs4Client.createExclusiveIn()/renameIn() ${version}: one walk of the directory for many files; a stale directory handle is walked again once (RFC 8881 §15.1.2.7)`, async () => {
    await withScriptedClient(
      {
        files: { "/vfs/d/existing": "old\n" },
      },
      version,
      "small-upload",
      async (client, server, events) => {
        const directories = new DirectoryHandles();
        const put = async (name: string, text: string) => {
          const file = await client.createExclusiveIn(`/vfs/d/.${name}.tmp`, {
            mode: 0o600,
            directories,
          });
          await file.write(0n, new TextEncoder().encode(text), "file");
          await file.setattr({ size: BigInt(text.length) });
          await file.close();
          await client.renameIn(`/vfs/d/.${name}.tmp`, `/vfs/d/${name}`, directories);
        };
        const lookupsBefore = server.log.filter((e) => e.ops.includes("LOOKUP")).length;
        await put("a", "first\n");
        await put("b", "second\n");
        // One walk of /vfs/d for both files, both OPENs and both RENAMEs.
        assert.equal(server.log.filter((e) => e.ops.includes("LOOKUP")).length - lookupsBefore, 1);
        // The cached handle goes stale (a directory replaced behind the
        // server's cache): the next OPEN's PUTFH fails, then the RENAME's.
        server.failNext("PUTFH", S.NFS4ERR_STALE);
        const file = await client.createExclusiveIn("/vfs/d/.c.tmp", { mode: 0o600, directories });
        await file.close();
        server.failNext("PUTFH", S.NFS4ERR_STALE);
        await client.renameIn("/vfs/d/.c.tmp", "/vfs/d/c", directories);
        assert.equal(
          events.filter((e) => e.startsWith("directory walk again (/vfs/d:")).length,
          2,
          events.join("\n"),
        );
        const text = (path: string) => new TextDecoder().decode(server.file(path)?.data);
        assert.equal(text("/vfs/d/a"), "first\n");
        assert.equal(text("/vfs/d/b"), "second\n");
        assert.ok(server.file("/vfs/d/c"));
        for (const tmp of [".a.tmp", ".b.tmp", ".c.tmp"]) {
          assert.equal(server.file(`/vfs/d/${tmp}`), undefined, tmp);
        }
        assert.deepEqual(client.describeState().opens, []);
        // What a copy asks of the session once per file, cheaply (4.0 has none).
        if (version === "4.0") assert.equal(client.sessionSlots(), undefined);
        else assert.ok((client.sessionSlots() ?? 0) > 0);
        assert.equal(client.sessionSlots(), client.describeState().slots);
      },
    );
  });
}

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `Nfs4Client.createExclusiveIn() ${vers}: a name that exists is refused by the exclusive create (a directory: ISDIR) and left as it was (RFC 8881 §18.16.3, RFC 7530 §16.16.5)`,
    async (server) => {
      await Deno.mkdir(`${server.exportDir}/x`);
      await Deno.writeTextFile(`${server.exportDir}/x/existing`, "old\n");
      await Deno.mkdir(`${server.exportDir}/x/dir`);
      const client = await probeClient(server, vers);
      try {
        const directories = new DirectoryHandles();
        // A directory by that name: NFS4ERR_ISDIR, as open() refuses it after its walk.
        for (
          const [name, status] of [["existing", S.NFS4ERR_EXIST], ["dir", S.NFS4ERR_ISDIR]] as const
        ) {
          await assert.rejects(
            client.createExclusiveIn(`/vfs/x/${name}`, { mode: 0o600, directories }),
            (e) => e instanceof NfsError && e.status === status && e.path === `/vfs/x/${name}`,
          );
        }
        assert.equal(await Deno.readTextFile(`${server.exportDir}/x/existing`), "old\n");
        assert.deepEqual(client.describeState().opens, []);
      } finally {
        await client.close();
      }
    },
  );
}

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `Nfs4Client.statIn() ${vers}: the same answer as stat() (a file, a symlink and its target, a directory, through a symlinked directory, a missing name)`,
    async (server) => {
      const x = `${server.exportDir}/s`;
      await Deno.mkdir(`${x}/real`, { recursive: true });
      await Deno.writeTextFile(`${x}/real/file`, "data\n");
      await Deno.symlink("file", `${x}/real/link`);
      await Deno.mkdir(`${x}/real/sub`);
      await Deno.symlink("real", `${x}/via`);
      const client = await probeClient(server, vers);
      try {
        const directories = new DirectoryHandles();
        for (
          const path of [
            "/vfs/s/real/file",
            "/vfs/s/real/link",
            "/vfs/s/real/sub",
            "/vfs/s/via/file",
            "/vfs/s/via/link",
          ]
        ) {
          const expected = await client.stat(path);
          const got = await client.statIn(path, directories);
          assert.deepEqual(got, expected, path);
        }
        for (const path of ["/vfs/s/real/missing", "/vfs/s/nodir/missing"]) {
          await assert.rejects(
            client.statIn(path, directories),
            (e) => e instanceof NfsError && e.status === S.NFS4ERR_NOENT && e.path === path,
          );
        }
      } finally {
        await client.close();
      }
    },
  );
}

for (const version of ["4.0", "4.1"] as const) {
  Deno.test(`NfsSide.renameNoReplace() ${version}: LINK and the temporary's REMOVE in one COMPOUND; a REMOVE answered NFS4ERR_DELAY goes again alone, the LINK is never sent again; a name taken is left alone; a LINK refused (NFS4ERR_PERM, a file system without hard links) falls back to a check and a RENAME`, async () => {
    const server = new ScriptedServer({
      now: () => performance.now(),
      files: { "/vfs/d/taken": "theirs\n" },
    });
    const nfs = await startScriptedNfsServer(server);
    const client = await Nfs4Client.connect({
      host: nfs.host,
      port: nfs.port,
      version,
      clientId: `link-place-${crypto.randomUUID()}`,
    });
    const side = new NfsSide(
      client,
      parseNfsUrl(`nfs://${nfs.host}:${nfs.port}/vfs`),
      DEFAULT_TUNING,
      () => {},
    );
    try {
      const place = async (name: string, text: string) => {
        const temp = `/vfs/d/.${name}.tmp`;
        const writer = await side.create(temp);
        await writer.write(new TextEncoder().encode(text));
        await writer.finish({ mode: 0o644 }, BigInt(text.length));
        return await side.renameNoReplace(temp, `/vfs/d/${name}`, writer);
      };
      const sent = (op: string) => server.log.filter((e) => e.ops.includes(op)).length;
      const names = () => [...server.file("/vfs/d")!.children.keys()].sort();
      const text = (name: string) => new TextDecoder().decode(server.file(`/vfs/d/${name}`)!.data);

      // RFC 8881 §15.1.1.3 / RFC 7530 §13.1.1.3: DELAY asks for the same
      // request later; here the LINK before it ran, so only the REMOVE may go.
      server.failNext("REMOVE", S.NFS4ERR_DELAY);
      assert.equal(await place("a", "ours\n"), true);
      assert.equal(sent("LINK"), 1, "the LINK went once");
      assert.deepEqual(names(), ["a", "taken"]);
      assert.equal(text("a"), "ours\n");

      // The name is someone else's (NFS4ERR_EXIST): theirs stays, ours goes.
      assert.equal(await place("taken", "ours\n"), false);
      assert.deepEqual(names(), ["a", "taken"]);
      assert.equal(text("taken"), "theirs\n");

      // No hard links on this file system: a check and a RENAME, this time
      // and after (no LINK tried again).
      server.failNext("LINK", S.NFS4ERR_PERM);
      assert.equal(await place("b", "b\n"), true);
      const links = sent("LINK");
      assert.equal(await place("c", "c\n"), true);
      assert.equal(sent("LINK"), links, "no LINK once refused");
      assert.deepEqual(names(), ["a", "b", "c", "taken"]);
      assert.equal(text("c"), "c\n");
    } finally {
      await client.close();
      await nfs.close();
    }
  });
}
