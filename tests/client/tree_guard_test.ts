/**
 * The tree guard (lib/client/tree_guard.ts) and the rule it keeps: a
 * command never changes a byte it was not asked to change. A tree command
 * reaches each entry again by its path after listing it; a directory that
 * someone replaces by a symlink in between must not lead the command out of
 * the tree. The guard bookkeeping is tested alone; the rest runs the real
 * Nfs4Client's path walk against NFS-Ganesha (4.0 and 4.1), swapping a
 * directory for a symlink on the server's disk at the moment a tree
 * command is about to change something inside it.
 */

import assert from "node:assert/strict";
import { removeTree } from "../../lib/client/remove_tree.ts";
import { SymlinkInTreeError, TreeGuards } from "../../lib/client/tree_guard.ts";
import { walk } from "../../lib/client/walk.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { serverTest } from "../_server.ts";
import {
  assertOutsideUntouched,
  connect,
  makeOutside,
  replaceBySymlink,
  swappingOnce,
} from "./_tree_guard.ts";

Deno.test("TreeGuards: a tree and what is inside it, by whole components, counted", () => {
  const guards = new TreeGuards();
  assert.equal(guards.active, false);
  const release = guards.add(["vfs", "shared"]);
  assert.equal(guards.active, true);
  assert.deepEqual(guards.holding(["vfs", "shared", "sub"]), ["vfs", "shared"]);
  assert.deepEqual(guards.holding(["vfs", "shared", "a", "b"]), ["vfs", "shared"]);
  // Its top counts: it was a directory when it was resolved.
  assert.deepEqual(guards.holding(["vfs", "shared"]), ["vfs", "shared"]);
  // Above it, beside it, or a name that merely starts the same: not inside.
  assert.equal(guards.holding(["vfs"]), undefined);
  assert.equal(guards.holding(["vfs", "shared2", "sub"]), undefined);
  assert.equal(guards.holding(["vfs", "other"]), undefined);
  // Counted: the same tree twice needs two releases; a release twice counts once.
  const again = guards.add(["vfs", "shared"]);
  release();
  release();
  assert.deepEqual(guards.holding(["vfs", "shared", "sub"]), ["vfs", "shared"]);
  again();
  assert.equal(guards.active, false);
  assert.equal(guards.holding(["vfs", "shared", "sub"]), undefined);
});

Deno.test("SymlinkInTreeError: NFS4ERR_SYMLINK naming the path asked for, and the link in the tree", () => {
  const error = new SymlinkInTreeError("/vfs/shared/sub", "/vfs/shared/sub", "shared/sub");
  assert.ok(error instanceof NfsError);
  assert.equal(error.statusName, "NFS4ERR_SYMLINK");
  assert.equal(
    error.message,
    "/vfs/shared/sub: Symbolic link not followed: 'shared/sub' is a symlink inside the tree being changed (NFS4ERR_SYMLINK)",
  );
  const named = error.withPath("/vfs/shared/sub/x");
  assert.ok(named instanceof SymlinkInTreeError);
  assert.equal(named.path, "/vfs/shared/sub/x");
  assert.equal(named.link, "/vfs/shared/sub");
  assert.match(named.message, /^\/vfs\/shared\/sub\/x: Symbolic link not followed: 'shared\/sub'/);
});

async function failure(promise: Promise<unknown>): Promise<NfsError> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof NfsError, String(e));
    return e;
  }
  assert.fail("expected a failure");
}

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `Nfs4Client.guardTree() --vers ${vers}: no walk follows a symlink at or below a guarded tree, however the path is spelled`,
    async (server) => {
      const root = server.exportDir;
      await makeOutside(root);
      await Deno.mkdir(`${root}/shared/sub`, { recursive: true });
      await Deno.writeTextFile(`${root}/shared/sub/f`, "f\n");
      await Deno.symlink("../etc", `${root}/shared/lnk`);
      await Deno.symlink("../etc/x", `${root}/shared/flink`);
      await Deno.symlink("shared", `${root}/above`);
      await Deno.mkdir(`${root}/shared2`);
      await Deno.symlink("../etc", `${root}/shared2/lnk`);
      const client = await connect(server, vers);
      const other = await connect(server, vers);
      try {
        const top = await client.stat("/vfs/above/", { follow: true });
        assert.equal(top.path, "/vfs/shared");
        const release = client.guardTree(top.path);

        // Only named: allowed (lstat, the link's own SETATTR would be too).
        assert.equal((await client.stat("/vfs/shared/lnk")).kind, "symlink");
        assert.equal(await client.readlink("/vfs/shared/lnk"), "../etc");
        // Followed in the middle, at the end, for a READDIR, a REMOVE's or a
        // SETATTR's directory, whatever the spelling: refused, nothing done.
        for (const path of ["/vfs/shared/lnk/x", "/vfs/above/lnk/x", "/vfs/shared/sub/../lnk/x"]) {
          const e = await failure(client.stat(path));
          assert.ok(e instanceof SymlinkInTreeError, String(e));
          assert.equal(e.statusName, "NFS4ERR_SYMLINK");
          assert.equal(e.path, path);
          assert.equal(e.link, "/vfs/shared/lnk");
          assert.equal(
            e.message,
            `${path}: Symbolic link not followed: 'shared/lnk' is a symlink inside the tree being changed (NFS4ERR_SYMLINK)`,
          );
        }
        // An OPEN follows on its own (a file swapped for a symlink after
        // the listing would be written through): refused.
        assert.ok(
          await failure(
            client.open("/vfs/shared/flink", { access: "write", truncate: true }),
          ) instanceof
            SymlinkInTreeError,
        );
        // A path ending in `/` asks for a directory: refused too.
        assert.ok(await failure(client.stat("/vfs/shared/lnk/")) instanceof SymlinkInTreeError);
        // A final symlink the caller itself asks stat (or setattrPath) to
        // follow is its choice (chown -R -H dereferences one it listed).
        assert.equal((await client.stat("/vfs/shared/lnk", { follow: true })).path, "/vfs/etc");
        const listing = (async () => {
          for await (const _ of client.readdir("/vfs/shared/lnk")) { /* nothing */ }
        })();
        assert.ok(await failure(listing) instanceof SymlinkInTreeError);
        assert.ok(await failure(client.remove("/vfs/shared/lnk/x")) instanceof SymlinkInTreeError);
        assert.ok(
          await failure(client.setattrPath("/vfs/shared/lnk/y", { mode: 0o600 })) instanceof
            SymlinkInTreeError,
        );
        assert.ok(
          await failure(client.mkdir("/vfs/shared/lnk/new")) instanceof SymlinkInTreeError,
        );
        await assertOutsideUntouched(root);
        // Outside the tree (a name that only starts the same, the link above): followed.
        assert.equal((await client.stat("/vfs/shared2/lnk/x")).kind, "file");
        assert.equal((await client.stat("/vfs/above/sub/f")).kind, "file");

        // Counted: a second guard of the same tree outlives the first's release.
        const second = client.guardTree("/vfs/shared");
        release();
        assert.ok(await failure(client.stat("/vfs/shared/lnk/x")) instanceof SymlinkInTreeError);
        second();
        assert.equal((await client.stat("/vfs/shared/lnk/x")).kind, "file");

        // The top itself replaced by a symlink: refused too.
        const again = client.guardTree("/vfs/shared");
        try {
          await replaceBySymlink(other, "/vfs/shared", "etc");
          assert.ok(await failure(client.stat("/vfs/shared/x")) instanceof SymlinkInTreeError);
          assert.ok(
            await failure(client.setattrPath("/vfs/shared/x", { mode: 0o600 })) instanceof
              SymlinkInTreeError,
          );
        } finally {
          again();
        }
        await assertOutsideUntouched(root);
      } finally {
        await client.close();
        await other.close();
      }
    },
  );

  serverTest(
    `removeTree() --vers ${vers}: a directory replaced by a symlink while the tree is removed loses nothing outside it`,
    async (server) => {
      const root = server.exportDir;
      await makeOutside(root);
      await Deno.mkdir(`${root}/shared/sub`, { recursive: true });
      await Deno.writeTextFile(`${root}/shared/a`, "a\n");
      await Deno.writeTextFile(`${root}/shared/sub/x`, "inside x\n");
      await Deno.writeTextFile(`${root}/shared/sub/y`, "inside y\n");
      const real = await connect(server, vers);
      const other = await connect(server, vers);
      // `sub` has been listed; its first REMOVE is about to go out.
      const client = swappingOnce(
        real,
        ["remove"],
        "/vfs/shared/sub/",
        () => replaceBySymlink(other, "/vfs/shared/sub", "../etc"),
      );
      try {
        const info = await client.stat("/vfs/shared");
        const errors: { path: string; error: unknown }[] = [];
        const gone = await removeTree(client, { path: "/vfs/shared", names: [], info }, {
          onError: (error, entry) => void errors.push({ path: entry.path, error }),
        });
        assert.equal(client.swapped, true);
        assert.equal(gone, false);
        await assertOutsideUntouched(root);
        assert.deepEqual(errors.map((e) => e.path).sort(), [
          "/vfs/shared/sub/x",
          "/vfs/shared/sub/y",
        ]);
        for (const { path, error } of errors) {
          assert.ok(error instanceof SymlinkInTreeError, String(error));
          assert.equal(error.path, path);
          assert.match(error.message, /Symbolic link not followed: 'shared\/sub'/);
        }
        // The rest of the tree went; the link and its directory stay.
        assert.deepEqual([...Deno.readDirSync(`${root}/shared`)].map((e) => e.name), ["sub"]);
        assert.ok(Deno.lstatSync(`${root}/shared/sub`).isSymlink);
        // The guard ended with the removal.
        assert.equal((await real.stat("/vfs/shared/sub/x")).kind, "file");
      } finally {
        await real.close();
        await other.close();
      }
    },
  );
}

serverTest(
  "walk({ guardTree }) --vers 4.1: the tree is guarded while the walk lasts, released when it ends or is left",
  async (server) => {
    const root = server.exportDir;
    await makeOutside(root);
    await Deno.mkdir(`${root}/shared/sub`, { recursive: true });
    await Deno.symlink("../etc", `${root}/shared/lnk`);
    const client = await connect(server, "4.1");
    try {
      const seen: string[] = [];
      for await (const item of walk(client, "/vfs/shared", { guardTree: true })) {
        seen.push(item.path);
        assert.ok(await failure(client.stat("/vfs/shared/lnk/x")) instanceof SymlinkInTreeError);
      }
      assert.deepEqual(seen.sort(), ["/vfs/shared", "/vfs/shared/lnk", "/vfs/shared/sub"]);
      assert.equal((await client.stat("/vfs/shared/lnk/x")).kind, "file");
      // Left by a break: released too.
      for await (const _ of walk(client, "/vfs/shared", { guardTree: true })) break;
      assert.equal((await client.stat("/vfs/shared/lnk/x")).kind, "file");
      // Without guardTree (ls -R, du, plain find): nothing changes.
      for await (const _ of walk(client, "/vfs/shared")) {
        assert.equal((await client.stat("/vfs/shared/lnk/x")).kind, "file");
      }
      // -L follows symlinks on purpose: no guard.
      for await (const _ of walk(client, "/vfs/shared", { guardTree: true, follow: "always" })) {
        assert.equal((await client.stat("/vfs/shared/lnk/x")).kind, "file");
      }
    } finally {
      await client.close();
    }
  },
);
