/**
 * Nfs4Client.readdir() against NFS-Ganesha: `fields` narrows what READDIR
 * asks for (RFC 7530 §16.24, RFC 8881 §18.23: attr_request), and what is
 * not asked for stays unknown; symlink targets are read when asked, by
 * name in the directory; a listing of many pages (the next one asked for
 * while one is used) is complete and in order, and a caller that leaves
 * early leaves nothing in flight.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import type { FileInfo } from "../../lib/client/types.ts";
import { serverTest, type TestServer } from "../_server.ts";

async function connect(server: TestServer, version: "4.0" | "4.1"): Promise<Nfs4Client> {
  return await Nfs4Client.connect({
    host: "127.0.0.1",
    port: server.port,
    version,
    uid: 0,
    gid: 0,
    clientId: `nfs4-readdir-test-${crypto.randomUUID()}`,
  });
}

async function list(
  client: Nfs4Client,
  path: string,
  options?: Parameters<Nfs4Client["readdir"]>[1],
): Promise<Map<string, FileInfo>> {
  const infos = new Map<string, FileInfo>();
  for await (const info of client.readdir(path, options)) infos.set(info.name, info);
  return infos;
}

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `Nfs4Client --vers ${vers}: readdir() asks only for the fields named; the others are unknown`,
    async (server) => {
      const root = server.exportDir;
      await Deno.mkdir(`${root}/d`);
      await Deno.writeTextFile(`${root}/d/file`, "12345");
      await Deno.chmod(`${root}/d/file`, 0o640);
      await Deno.mkdir(`${root}/d/sub`);
      await Deno.symlink("file", `${root}/d/link`);
      const client = await connect(server, vers);
      try {
        const all = await list(client, "/vfs/d");
        const file = all.get("file")!;
        assert.equal(file.kind, "file");
        assert.equal(file.size, 5n);
        assert.equal(file.mode, 0o640);
        assert.ok(file.mtimeNs !== undefined && file.atimeNs !== undefined);
        assert.ok(file.fileid !== undefined && file.fsid !== undefined);
        assert.equal(all.get("link")!.linkTarget, "file");

        // Names and kinds only: what plain `ls` and `ls -R` need.
        const bare = await list(client, "/vfs/d", { fields: [] });
        assert.deepEqual([...bare.keys()].sort(), ["file", "link", "sub"]);
        assert.equal(bare.get("sub")!.kind, "directory");
        assert.equal(bare.get("link")!.kind, "symlink");
        const plain = bare.get("file")!;
        assert.equal(plain.path, "/vfs/d/file");
        for (
          const field of [
            "mode",
            "nlink",
            "owner",
            "group",
            "size",
            "spaceUsed",
            "mtime",
            "mtimeNs",
            "atime",
            "ctime",
            "fileid",
            "fsid",
            "change",
            "linkTarget",
          ] as const
        ) {
          assert.equal(plain[field], undefined, field);
        }
        assert.equal(bare.get("link")!.linkTarget, undefined, "no READLINK unless asked");

        // What `ls -l` asks for: its columns, and link targets (read by name).
        const long = await list(client, "/vfs/d", {
          fields: [
            "mode",
            "nlink",
            "owner",
            "group",
            "size",
            "spaceUsed",
            "rdev",
            "mtime",
            "linkTarget",
          ],
        });
        const row = long.get("file")!;
        assert.equal(row.mode, 0o640);
        assert.equal(row.size, 5n);
        assert.equal(row.nlink, 1);
        assert.equal(row.owner, file.owner);
        assert.equal(row.mtimeNs, file.mtimeNs);
        assert.ok(row.spaceUsed !== undefined);
        assert.equal(row.atime, undefined);
        assert.equal(row.fileid, undefined);
        assert.equal(long.get("link")!.linkTarget, "file");
      } finally {
        await client.close();
      }
    },
  );
}

serverTest(
  "Nfs4Client: readdir() of 5,000 entries across many pages is complete, in the server's order, and may be left early",
  async (server) => {
    const dir = `${server.exportDir}/many`;
    await Deno.mkdir(dir);
    // Long names: READDIR pages of 256 KiB hold fewer of them, so there are several.
    const names: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const name = `${"n".repeat(40 + (i % 60))}-${i}`;
      names.push(name);
      await Deno.writeTextFile(`${dir}/${name}`, "");
    }
    const client = await connect(server, "4.1");
    try {
      const listed: string[] = [];
      for await (const info of client.readdir("/vfs/many", { fields: ["size"] })) {
        assert.equal(info.size, 0n);
        listed.push(info.name);
      }
      assert.deepEqual([...listed].sort(), [...names].sort());
      // The same order again (the server's), and the same with every field.
      const again: string[] = [];
      for await (const info of client.readdir("/vfs/many")) again.push(info.name);
      assert.deepEqual(again, listed);
      // Leaving after the first entry: the page asked for ahead is waited
      // for, so the session closes cleanly right after.
      for await (const info of client.readdir("/vfs/many", { fields: [] })) {
        assert.equal(info.name, listed[0]);
        break;
      }
    } finally {
      await client.close();
    }
  },
);
