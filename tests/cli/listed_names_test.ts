/**
 * A server that lists a directory entry under a name that is no file name:
 * holding `/` (`../../x` would leave the destination of a `cp -r`, `a/b`
 * would be looked up as two components), empty, or holding a NUL byte. The
 * Linux VFS fails a listing with such a name (EIO, fs/readdir.c
 * verify_dirent_name), and NFSv4 names are single components (RFC 7530
 * §12.1, RFC 8881 §14.1: component4). Ganesha never lists one, so its
 * READDIR replies are rewritten on the way through the fault proxy: a file
 * named `TRAVERSEMARKER` (14 bytes) is listed as `../../vfs/d/ok` (14
 * bytes, so the reply keeps its lengths), a name that the server resolves
 * to a file (`/vfs/d/ok`) and that, joined to a local destination, leaves
 * it. On NFSv4.0 and 4.1:
 *
 * - `cp -r` from the server ends with exit 1 and one line naming the
 *   directory and the name, and writes nothing outside its destination;
 * - `rm -r` of that directory on the server removes nothing;
 * - `ls` ends with exit 1 and the same line.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { hasGanesha, type TestServer, withServer } from "../_server.ts";
import { tempDir } from "./_cp.ts";
import { runNfs4, startProxy, VERSIONS } from "./_faults.ts";

const MARKER = "TRAVERSEMARKER";
/** A file named as long as MARKER. */
const TWIN = "TRAVERSEMARKEQ";
/** Found on the server (`/vfs/d/../../vfs/d/ok` is `/vfs/d/ok`), two levels above a local `DEST/d`. */
const EVIL = "../../vfs/d/ok";

/** `record` with every `from` replaced by `to` (the same length). */
function replaceBytes(record: Uint8Array, from: string, to: string): Uint8Array {
  const a = new TextEncoder().encode(from);
  const b = new TextEncoder().encode(to);
  assert.equal(a.length, b.length);
  const out = record.slice();
  for (let i = 0; i + a.length <= out.length; i++) {
    let hit = true;
    for (let j = 0; j < a.length && hit; j++) hit = out[i + j] === a[j];
    if (hit) out.set(b, i);
  }
  return out;
}

/**
 * A server whose `/vfs/d` holds `MARKER`, `TWIN` and `ok`, behind a proxy that
 * lists `from` as `to`.
 */
async function withListing(
  fn: (ctx: { server: TestServer; vfs: string; local: string }) => Promise<void>,
  from = MARKER,
  to = EVIL,
): Promise<void> {
  await withServer(async (server) => {
    await fs.mkdir(path.join(server.exportDir, "d"));
    await fs.writeFile(path.join(server.exportDir, "d", MARKER), "evil\n");
    await fs.writeFile(path.join(server.exportDir, "d", "ok"), "ok\n");
    await fs.writeFile(path.join(server.exportDir, "d", TWIN), "twin\n");
    const { proxy, vfs } = await startProxy(server);
    const local = await tempDir("nfs4-names-");
    try {
      proxy.onReply({
        op: "READDIR",
        action: "rewrite",
        times: 1000,
        rewrite: (record) => replaceBytes(record, from, to),
      });
      await fn({ server, vfs, local });
    } finally {
      await proxy.close();
      await fs.rm(local, { recursive: true, force: true });
    }
  });
}

function assertOneLine(stderr: string): void {
  const lines = stderr.split("\n").filter((line) => line.length > 0);
  assert.equal(lines.length, 1, stderr);
  assert.match(
    lines[0]!,
    /^nfs4: .*d.*the server listed an entry with a name holding '\/' \("\.\.\/\.\.\/vfs\/d\/ok"\): not a file name/,
  );
}

/** Every file under `root` that is not under `inside`. */
async function outside(root: string, inside: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const at = path.join(dir, entry.name);
      if (at === inside || at.startsWith(inside + "/")) continue;
      if (entry.isDirectory()) await walk(at);
      else found.push(at);
    }
  };
  await walk(root);
  return found;
}

for (const vers of VERSIONS) {
  Deno.test({
    name: `nfs4 --vers ${vers} cp -r refuses a listed name that would leave its destination`,
    ignore: !hasGanesha,
    async fn() {
      await withListing(async ({ vfs, local }) => {
        const dest = path.join(local, "a", "b");
        await fs.mkdir(dest, { recursive: true });
        // Where `DEST/d/../../vfs/d/ok` lands: there, so that a write would succeed.
        await fs.mkdir(path.join(local, "a", "vfs", "d"), { recursive: true });
        const r = await runNfs4(["--vers", vers, "--timeout", "5", "cp", "-r", `${vfs}/d`, dest]);
        assert.equal(r.code, 1, r.stderr);
        assertOneLine(r.stderr);
        assert.deepEqual(await outside(local, dest), [], "nothing written outside the destination");
      });
    },
  });

  Deno.test({
    name:
      `nfs4 --vers ${vers} rm -r and ls of a directory with such a name: nothing removed, exit 1`,
    ignore: !hasGanesha,
    async fn() {
      await withListing(async ({ server, vfs }) => {
        const rm = await runNfs4(["--vers", vers, "--timeout", "5", "rm", "-r", `${vfs}/d`]);
        assert.equal(rm.code, 1, rm.stderr);
        assertOneLine(rm.stderr);
        assert.deepEqual(
          (await fs.readdir(path.join(server.exportDir, "d"))).sort(),
          [MARKER, TWIN, "ok"].sort(),
          "nothing removed",
        );
        const ls = await runNfs4(["--vers", vers, "--timeout", "5", "ls", `${vfs}/d`]);
        assert.equal(ls.code, 1, ls.stderr);
        assertOneLine(ls.stderr);
      });
    },
  });

  Deno.test({
    name: `nfs4 --vers ${vers} cp -r copies nothing of a directory that lists one name twice`,
    ignore: !hasGanesha,
    async fn() {
      // TWIN listed under MARKER's name: MARKER twice.
      await withListing(
        async ({ vfs, local }) => {
          const dest = path.join(local, "dest");
          const r = await runNfs4(["--vers", vers, "--timeout", "5", "cp", "-r", `${vfs}/d`, dest]);
          assert.equal(r.code, 1, r.stderr);
          const lines = r.stderr.split("\n").filter((line) => line.length > 0);
          assert.equal(lines.length, 1, r.stderr);
          assert.match(lines[0]!, new RegExp(`^nfs4: .*/d: listed "${MARKER}" twice; not copied$`));
          assert.deepEqual(await fs.readdir(dest).catch(() => []), [], "nothing of d copied");
        },
        TWIN,
        MARKER,
      );
    },
  });
}
