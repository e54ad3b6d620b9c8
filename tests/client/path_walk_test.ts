/**
 * Nfs4Client's path walk against NFS-Ganesha, on NFSv4.0 and NFSv4.1: a
 * path ending in `/` (or `/.`) names a directory, as in POSIX path
 * resolution. A final symlink is then followed (even by `stat` without
 * `follow`) and anything but a directory fails with NFS4ERR_NOTDIR, for
 * every method that walks a path.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { serverTest, type TestServer } from "../_server.ts";

async function connect(server: TestServer, version: "4.0" | "4.1"): Promise<Nfs4Client> {
  return await Nfs4Client.connect({
    host: "127.0.0.1",
    port: server.port,
    version,
    uid: 0,
    gid: 0,
    clientId: `nfs4-walk-test-${crypto.randomUUID()}`,
  });
}

async function statusOf(promise: Promise<unknown>): Promise<{ status: string; path?: string }> {
  try {
    await promise;
    return { status: "ok" };
  } catch (e) {
    assert.ok(e instanceof NfsError, String(e));
    return { status: e.statusName, ...(e.path !== undefined ? { path: e.path } : {}) };
  }
}

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `Nfs4Client --vers ${vers}: a trailing slash follows a final symlink and requires a directory`,
    async (server) => {
      const root = server.exportDir;
      await Deno.mkdir(`${root}/dir`);
      await Deno.writeTextFile(`${root}/dir/inside`, "in");
      await Deno.writeTextFile(`${root}/file`, "data");
      await Deno.symlink("dir", `${root}/dirlink`);
      await Deno.symlink("file", `${root}/filelink`);
      await Deno.symlink("nowhere", `${root}/dangling`);
      const client = await connect(server, vers);
      try {
        // Without the slash, the link itself; with it, the directory.
        assert.equal((await client.stat("/vfs/dirlink")).kind, "symlink");
        for (const path of ["/vfs/dirlink/", "/vfs/dirlink/.", "/vfs/dirlink//"]) {
          const info = await client.stat(path);
          assert.equal(info.kind, "directory", path);
          assert.equal(info.path, "/vfs/dir", path);
        }
        assert.equal((await client.stat("/vfs/dir/")).kind, "directory");
        assert.equal((await client.stat("/")).kind, "directory");
        const names: string[] = [];
        for await (const entry of client.readdir("/vfs/dirlink/")) names.push(entry.name);
        assert.deepEqual(names, ["inside"]);

        // Anything but a directory is NOTDIR, named as asked.
        for (const path of ["/vfs/file/", "/vfs/file/.", "/vfs/filelink/"]) {
          assert.deepEqual(await statusOf(client.stat(path)), { status: "NFS4ERR_NOTDIR", path });
          assert.deepEqual(
            await statusOf(client.stat(path, { follow: true })),
            { status: "NFS4ERR_NOTDIR", path },
          );
          assert.deepEqual(await statusOf(client.openRead(path)), {
            status: "NFS4ERR_NOTDIR",
            path,
          });
        }
        assert.deepEqual(await statusOf(client.stat("/vfs/dangling/")), {
          status: "NFS4ERR_NOENT",
          path: "/vfs/dangling/",
        });
        assert.deepEqual(await statusOf(client.openRead("/vfs/dir/")), {
          status: "NFS4ERR_ISDIR",
          path: "/vfs/dir/",
        });
        // Without the slash, the file opens as before.
        const file = await client.openRead("/vfs/filelink");
        await file.close();
      } finally {
        await client.close();
      }
    },
  );
}

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `Nfs4Client --vers ${vers}: open(create) of a missing 'name/' is EISDIR and creates nothing`,
    async (server) => {
      const client = await connect(server, vers);
      try {
        const result = await statusOf(
          client.open("/vfs/new/", { access: "write", create: "unchecked" }),
        );
        assert.deepEqual(result, { status: "NFS4ERR_ISDIR", path: "/vfs/new/" });
        assert.deepEqual([...Deno.readDirSync(server.exportDir)], []);
      } finally {
        await client.close();
      }
    },
  );
}
