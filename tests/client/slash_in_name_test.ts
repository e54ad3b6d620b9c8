/**
 * A `%2F` in an nfs:// URL is a `/` inside ONE name (RFC 3986 §2.2), and
 * stays one name from the URL to the wire: in client paths such a `/` is
 * U+DC2F (lib/client/names.ts), never a separator. The path plumbing (URL,
 * client paths, copy sides, the tree walk), then the client against the
 * scripted server, whose tree holds `/vfs/pq/new`: a LOOKUP of the one
 * name `pq/new` finds nothing, where LOOKUP `pq`, LOOKUP `new` would find
 * that other file.
 */

import assert from "node:assert/strict";
import { withScriptedClient } from "./_scripted_client.ts";
/** How a client path writes a '/' inside a name (lib/client/names.ts SLASH_IN_NAME). */
const SLASH_IN_NAME = "\udc2f";
import { joinUrl, parseNfsUrl, urlForPath, urlPath } from "../../lib/client/url.ts";
import { splitPath } from "../../lib/client/client.ts";
import { NfsSide } from "../../lib/client/copy/nfs_side.ts";
import { LocalSide } from "../../lib/client/copy/local_side.ts";
import { CopyError, DEFAULT_TUNING } from "../../lib/client/copy/options.ts";
import type { Nfs4ClientApi } from "../../lib/client/api.ts";
import type { FileInfo } from "../../lib/client/types.ts";
import { walk } from "../../lib/client/walk.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import type { LogEntry } from "../state/_scripted.ts";

Deno.test("parseNfsUrl(): %2F stays inside one name of the client path, and comes back as %2F", () => {
  const url = parseNfsUrl("nfs://127.0.0.1:2049/vfs/pq%2Fnew");
  assert.deepEqual(url.components, ["vfs", "pq/new"]);
  assert.equal(url.path, `/vfs/pq${SLASH_IN_NAME}new`);
  assert.notEqual(url.path, "/vfs/pq/new");
  assert.deepEqual(splitPath(url.path), ["vfs", "pq/new"], "what the client LOOKUPs");
  assert.equal(urlPath(parseNfsUrl("nfs://h/vfs/a%2Fb/")), `/vfs/a${SLASH_IN_NAME}b/`);
  // Messages: back to the URL as typed.
  assert.equal(urlForPath(url, url.path), "nfs://127.0.0.1:2049/vfs/pq%2Fnew");
  assert.equal(
    urlForPath(url, `${url.path}/x y`),
    "nfs://127.0.0.1:2049/vfs/pq%2Fnew/x%20y",
  );
  const child = joinUrl(url, "a/b");
  assert.equal(child.path, `/vfs/pq${SLASH_IN_NAME}new/a${SLASH_IN_NAME}b`);
  assert.equal(child.text, "nfs://127.0.0.1:2049/vfs/pq%2Fnew/a%2Fb");
  // Everything else is as it was: `a b`, bytes that are not UTF-8, `..`.
  assert.equal(parseNfsUrl("nfs://h/vfs/a%20b/lat%E9in1").path, "/vfs/a b/lat\udce9in1");
  assert.equal(parseNfsUrl("nfs://h/vfs/a%2Fb/../c").path, "/vfs/c");
});

Deno.test("NfsSide: join() and basename() keep a name's '/' inside the name; LocalSide.join() refuses it", () => {
  const url = parseNfsUrl("nfs://h/vfs/d");
  const nfs = new NfsSide({} as Nfs4ClientApi, url, DEFAULT_TUNING, () => {});
  const path = nfs.join("/vfs/d", "a/b");
  assert.equal(path, `/vfs/d/a${SLASH_IN_NAME}b`);
  assert.equal(nfs.basename(path), "a/b");
  assert.equal(nfs.dirname(path), "/vfs/d");
  assert.equal(nfs.display(path), "nfs://h/vfs/d/a%2Fb");
  assert.equal(nfs.join("/", "x"), "/x");

  const local = new LocalSide(DEFAULT_TUNING);
  assert.equal(local.join("/tmp/d", "x"), "/tmp/d/x");
  assert.throws(() => local.join("/tmp/d", "a/b"), CopyError);
});

Deno.test("walk(): the paths it hands out keep each name one name, '/' or not", async () => {
  const start = parseNfsUrl("nfs://h/vfs/a%2Fb").path;
  const dir = (name: string, path: string): FileInfo =>
    ({ name, path, kind: "directory" }) as FileInfo;
  const listed: string[] = [];
  const client = {
    stat: (path: string) => Promise.resolve(dir("a/b", path)),
    async *readdir(path: string) {
      listed.push(path);
      if (path === start) {
        yield { name: "x", path: "", kind: "file" } as FileInfo;
        // (The client refuses a listed name holding '/', listed_names.ts;
        // one that got here would still be one name.)
        yield { name: "c/d", path: "", kind: "file" } as FileInfo;
      }
    },
  } as unknown as Nfs4ClientApi;
  const paths: string[] = [];
  for await (const item of walk(client, start)) paths.push(item.path);
  assert.deepEqual(paths, [start, `${start}/x`, `${start}/c${SLASH_IN_NAME}d`]);
  assert.deepEqual(splitPath(paths[2]!), ["vfs", "a/b", "c/d"]);
  assert.deepEqual(listed, [start]);
});

/** The names LOOKUP was sent with in `log`. */
function lookedUp(log: readonly LogEntry[]): string[] {
  return log.flatMap((e) => e.ops.flatMap((op, i) => op === "LOOKUP" ? [e.args[i] as string] : []));
}

for (const version of ["4.0", "4.1"] as const) {
  Deno.test(`Nfs4Client ${version}: a name holding '/' is sent as one component, and never reaches the file its parts name`, async () => {
    const files = { "/vfs/pq/new": "the other file\n", "/vfs/file": "f\n" };
    await withScriptedClient({ files }, version, "slash-name", async (client, server) => {
      const path = parseNfsUrl("nfs://h/vfs/pq%2Fnew").path;
      const noent = (e: unknown) =>
        e instanceof NfsError && e.status === S.NFS4ERR_NOENT && e.path === path;
      await assert.rejects(client.stat(path), noent);
      await assert.rejects(client.openRead(path), noent);
      await assert.rejects(client.remove(path), (e) => e instanceof NfsError);
      await assert.rejects(async () => {
        for await (const _ of client.readdir(path)) { /* nothing */ }
      }, noent);
      const names = lookedUp(server.log);
      assert.ok(names.includes("pq/new"), names.join(","));
      assert.ok(!names.includes("new"), "never LOOKUP 'new' in 'pq'");

      // This server takes such a name (Ganesha does not): RENAME makes it
      // one entry of /vfs, which is then found by it, and removed by it.
      await client.rename("/vfs/file", path);
      const vfs = server.file("/vfs")!;
      assert.deepEqual([...vfs.children.keys()].sort(), ["pq", "pq/new"]);
      const info = await client.stat(path);
      assert.equal(info.name, "pq/new");
      assert.equal(info.path, path);
      assert.equal(info.size, 2n);
      await client.remove(path);
      assert.deepEqual([...vfs.children.keys()], ["pq"]);
      // The file its parts name was never touched.
      assert.equal(new TextDecoder().decode(server.file("/vfs/pq/new")!.data), "the other file\n");
    });
  });
}
