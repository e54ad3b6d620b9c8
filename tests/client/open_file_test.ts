/**
 * One open file handle (what open() returns) against NFS-Ganesha. Two
 * handles of one file share the server's open (one stateid, its users
 * counted: RFC 7530 §9.1.1), so a handle's close() must end its own use
 * once only: closed twice, or twice at once, it must not close the open
 * the other handle still reads through. After its close() every call
 * through it fails at once with FileClosedError. And open() with
 * `truncate` reports the size the file has after it: 0.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../mod.ts";
import { serverTest, type TestServer } from "../_server.ts";
import { exclusiveOpenStatus } from "../cli/_spawn.ts";

/**
 * `e` is the library's error of that name (exports_test.ts checks each
 * class mod.ts exports): told by name, so that the test runs, and fails,
 * against a library without it too.
 */
function isError(e: unknown, name: string): e is Error & { path?: string } {
  return e instanceof Error && e.name === name;
}

function connect(server: TestServer, vers: "4.0" | "4.1"): Promise<Nfs4Client> {
  return Nfs4Client.connect({
    host: "127.0.0.1",
    port: server.port,
    version: vers,
    uid: 0,
    gid: 0,
    clientId: `nfs4-open-file-test-${crypto.randomUUID()}`,
  });
}

const text = (data: Uint8Array) => new TextDecoder().decode(data);

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `Nfs4Client --vers ${vers}: closing one handle twice, one after the other or at once, leaves the open another handle of the same file reads through`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/hello.txt`, "hello\n");
      const client = await connect(server, vers);
      try {
        const f1 = await client.openRead("/vfs/hello.txt");
        const f2 = await client.openRead("/vfs/hello.txt");
        await f1.close();
        await f1.close();
        assert.equal(client.describeState().opens.length, 1, "f2's use of the open is left");
        assert.equal(text((await f2.read(0n, 5)).data), "hello");
        const g = await client.openRead("/vfs/hello.txt");
        const closing = g.close();
        assert.equal(g.close(), closing, "a later call returns the first one's promise");
        await Promise.all([closing, g.close()]);
        assert.equal(text((await f2.read(0n, 5)).data), "hello");
        await f2.close();
        assert.deepEqual(client.describeState().opens, []);
      } finally {
        await client.close();
      }
      assert.equal(await exclusiveOpenStatus(server, vers, "/vfs/hello.txt"), "NFS4_OK");
    },
  );

  serverTest(
    `Nfs4Client --vers ${vers}: after a handle's close(), reads, writes, locks and SETATTR through it fail at once with FileClosedError; other handles go on`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/f`, "0123456789");
      const client = await connect(server, vers);
      try {
        const closed = await client.open("/vfs/f", { access: "both" });
        const other = await client.open("/vfs/f", { access: "both" });
        await closed.close();
        const range = { type: "write", offset: 0n, length: 1n } as const;
        const calls: [string, () => Promise<unknown>][] = [
          ["read", () => closed.read(0n, 4)],
          ["chunks", async () => {
            for await (const _ of closed.chunks()) break;
          }],
          ["write", () => closed.write(0n, new Uint8Array(1))],
          ["commit", () => closed.commit()],
          ["setattr", () => closed.setattr({ size: 0n })],
          ["lock", () => closed.lock(range)],
          ["unlock", () => closed.unlock(range)],
        ];
        for (const [name, call] of calls) {
          const error = await call().then(() => undefined, (e) => e);
          assert.ok(isError(error, "FileClosedError"), `${name}: ${error}`);
          assert.equal(error.path, "/vfs/f");
          assert.match(error.message, /^\/vfs\/f: file closed/);
        }
        assert.equal(text((await other.read(0n, 4)).data), "0123");
        await other.lock(range);
        await other.close();
        assert.deepEqual(client.describeState().opens, []);
      } finally {
        await client.close();
      }
      assert.equal(await exclusiveOpenStatus(server, vers, "/vfs/f"), "NFS4_OK");
    },
  );

  serverTest(
    `Nfs4Client --vers ${vers}: open() with truncate of an existing file reports size 0, the size it has after the truncate (RFC 7530 §16.16.5)`,
    async (server) => {
      await Deno.writeFile(`${server.exportDir}/t`, new Uint8Array(1000));
      await Deno.writeFile(`${server.exportDir}/u`, new Uint8Array(1000));
      const client = await connect(server, vers);
      try {
        const plain = await client.open("/vfs/t", { access: "write", truncate: true });
        assert.equal(plain.size, 0n);
        assert.equal((await client.stat("/vfs/t")).size, 0n);
        await plain.close();
        // UNCHECKED4 of a file that exists, with size 0 among the createattrs.
        const created = await client.open("/vfs/u", {
          access: "write",
          create: "unchecked",
          truncate: true,
        });
        assert.equal(created.size, 0n);
        assert.equal((await client.stat("/vfs/u")).size, 0n);
        await created.close();
        // Without truncate the size is the file's.
        await Deno.writeFile(`${server.exportDir}/t`, new Uint8Array(7));
        const kept = await client.open("/vfs/t", { access: "write" });
        assert.equal(kept.size, 7n);
        await kept.close();
      } finally {
        await client.close();
      }
    },
  );
}
