/**
 * The client API checks what it is given before anything is sent
 * (lib/client/arguments.ts): a number its XDR field cannot hold is a
 * RangeError (a TypeError for the wrong type) naming the argument and the
 * path, not an XdrError from the encoder; a path that does not start at the
 * pseudo-fs root is a PathError, not walked from the root anyway. Through
 * the scripted NFSv4.1 server over TCP, whose log shows nothing was sent.
 */

import assert from "node:assert/strict";
import { withScriptedClient } from "./_scripted_client.ts";
import { PathError } from "../../lib/client/errors.ts";

/** `e` is a `Kind` whose message is exactly `message`. */
function refused(kind: ErrorConstructor, message: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof kind, `${String(e)} is a ${kind.name}`);
    assert.equal((e as Error).message, message);
    return true;
  };
}

const BELOW_2_64 = "must be a non-negative integer below 2^64";

Deno.test("NfsFile.read(), write(), setattr(), lock(), unlock() refuse numbers their fields cannot hold, naming the argument and the path, nothing sent", async () => {
  await withScriptedClient({}, "4.1", "args-file", async (client, server) => {
    const file = await client.open("/vfs/file", { access: "both" });
    const sent = server.log.length;
    const at = "/vfs/file";
    await assert.rejects(
      file.read(-1n, 10),
      refused(RangeError, `${at}: read offset ${BELOW_2_64}, got -1`),
    );
    await assert.rejects(
      file.read(1n << 64n, 10),
      refused(RangeError, `${at}: read offset ${BELOW_2_64}, got 18446744073709551616`),
    );
    for (const count of [-1, Number.NaN, 1.5, 2 ** 32]) {
      await assert.rejects(
        file.read(0n, count),
        refused(
          RangeError,
          `${at}: read count must be a non-negative integer below 2^32, got ${count}`,
        ),
      );
    }
    await assert.rejects(
      file.read(0 as unknown as bigint, 10),
      refused(TypeError, `${at}: read offset must be a bigint, got 0 (number)`),
    );
    await assert.rejects(
      file.write(-5n, new Uint8Array([1])),
      refused(RangeError, `${at}: write offset ${BELOW_2_64}, got -5`),
    );
    await assert.rejects(
      file.setattr({ size: -1n }),
      refused(RangeError, `${at}: size ${BELOW_2_64}, got -1`),
    );
    await assert.rejects(
      file.setattr({ mode: -1 }),
      refused(RangeError, `${at}: mode must be an integer from 0 to 0o7777, got -1`),
    );
    await assert.rejects(
      file.lock({ type: "write", offset: -1n, length: 1n }),
      refused(RangeError, `${at}: lock offset ${BELOW_2_64}, got -1`),
    );
    await assert.rejects(
      file.lock({ type: "write", offset: 0n, length: 1n << 64n }),
      refused(RangeError, `${at}: lock length ${BELOW_2_64}, got 18446744073709551616`),
    );
    await assert.rejects(
      file.unlock({ type: "write", offset: -1n, length: 1n }),
      refused(RangeError, `${at}: unlock offset ${BELOW_2_64}, got -1`),
    );
    await assert.rejects(
      (async () => {
        for await (const _ of file.chunks(-1n)) { /* nothing */ }
      })(),
      refused(RangeError, `${at}: read offset ${BELOW_2_64}, got -1`),
    );
    assert.equal(server.log.length, sent, "nothing was sent");
    // A count larger than one READ is no mistake: it is read as one READ (rsize).
    const { data, eof } = await file.read(0n, 0);
    assert.deepEqual([data.length, eof], [0, false]);
    await file.close();
  });
});

Deno.test("Nfs4Client.testLock(), mkdir(), mknod(), setattrPath() refuse numbers their fields cannot hold, naming the argument and the path, nothing sent", async () => {
  await withScriptedClient({}, "4.1", "args-client", async (client, server) => {
    await client.stat("/vfs/file"); // the root's traits asked once, before counting
    const sent = server.log.length;
    await assert.rejects(
      client.testLock("/vfs/file", { type: "read", offset: -1n, length: 1n }),
      refused(RangeError, `/vfs/file: testLock offset ${BELOW_2_64}, got -1`),
    );
    await assert.rejects(
      client.mkdir("/vfs/d", -1),
      refused(RangeError, "/vfs/d: mode must be an integer from 0 to 0o7777, got -1"),
    );
    await assert.rejects(
      client.mkdir("/vfs/d", 0o10000),
      refused(RangeError, "/vfs/d: mode must be an integer from 0 to 0o7777, got 4096"),
    );
    await assert.rejects(
      client.mknod("/vfs/n", "char", 0o644, { major: -1, minor: 0 }),
      refused(
        RangeError,
        "/vfs/n: device major number must be a non-negative integer below 2^32, got -1",
      ),
    );
    await assert.rejects(
      client.setattrPath("/vfs/file", { mode: 1.5 }),
      refused(RangeError, "/vfs/file: mode must be an integer from 0 to 0o7777, got 1.5"),
    );
    await assert.rejects(
      client.open("/vfs/new", { access: "write", create: "guarded", mode: -1 }),
      refused(RangeError, "/vfs/new: mode must be an integer from 0 to 0o7777, got -1"),
    );
    assert.equal(server.log.length, sent, "nothing was sent");
  });
});

Deno.test("Nfs4Client refuses a path that does not start at the pseudo-fs root (PathError naming it), nothing sent", async () => {
  await withScriptedClient({}, "4.1", "relative", async (client, server) => {
    await client.stat("/vfs/file");
    const sent = server.log.length;
    const relative = (path: string) => (e: unknown) => {
      assert.ok(e instanceof PathError, String(e));
      assert.equal(e.path, path);
      assert.equal(
        e.message,
        `${path === "" ? '""' : path}: not an absolute path (client paths start at the ` +
          `server's pseudo-fs root, as ${JSON.stringify(`/${path}`)})`,
      );
      return true;
    };
    await assert.rejects(client.stat("vfs/file"), relative("vfs/file"));
    await assert.rejects(client.stat(""), relative(""));
    await assert.rejects(client.openRead("vfs/file"), relative("vfs/file"));
    await assert.rejects(
      client.open("vfs/new", { access: "write", create: "guarded" }),
      relative("vfs/new"),
    );
    await assert.rejects(
      (async () => {
        for await (const _ of client.readdir("vfs")) { /* nothing */ }
      })(),
      relative("vfs"),
    );
    await assert.rejects(client.mkdir("vfs/d"), relative("vfs/d"));
    await assert.rejects(client.remove("vfs/file"), relative("vfs/file"));
    await assert.rejects(client.rename("/vfs/file", "vfs/moved"), relative("vfs/moved"));
    await assert.rejects(client.link("/vfs/file", "vfs/hard"), relative("vfs/hard"));
    await assert.rejects(client.readlink("./vfs/file"), relative("./vfs/file"));
    await assert.rejects(client.setattrPath("vfs/file", { mode: 0o644 }), relative("vfs/file"));
    await assert.rejects(
      client.testLock("vfs/file", { type: "read", offset: 0n, length: 1n }),
      relative("vfs/file"),
    );
    assert.throws(() => client.guardTree("vfs"), relative("vfs"));
    assert.equal(server.log.length, sent, "nothing was sent");
    assert.equal((await client.stat("/vfs/file")).path, "/vfs/file");
  });
});
