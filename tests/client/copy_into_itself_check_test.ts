/**
 * The "directory into itself" check of a copy to a server (copy/tree.ts
 * canonical, resolvedOnServer) resolves the destination's nearest existing
 * ancestor with its symlinks followed. A lookup that got no answer it can
 * trust (NFS4ERR_DELAY, a timeout) fails the copy: passed without an
 * answer, the check let `cp -r a link-to-a/sub/new` copy a directory into
 * itself. A name that is no directory (NFS4ERR_NOTDIR) or a symlink loop
 * ends the walk, the copy meeting that failure itself (RFC 7530 §16.13.5,
 * RFC 8881 §18.15.3 LOOKUP statuses).
 */

import assert from "node:assert/strict";
import { canonical } from "../../lib/client/copy/tree.ts";
import type { Side, Stat } from "../../lib/client/copy/side.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";

/** A server side whose lookups of `failing` fail with `error`; `/vfs/a` exists (at `/vfs/real`). */
function serverSide(failing: string, error: Error): Side {
  const side = {
    kind: "nfs",
    stat: (path: string): Promise<Stat | undefined> => {
      if (path === failing) return Promise.reject(error);
      if (path === "/vfs/a") return Promise.resolve({ path: "/vfs/real" } as Stat);
      return Promise.resolve(undefined);
    },
    dirname: (path: string) => path.slice(0, Math.max(1, path.lastIndexOf("/"))),
    basename: (path: string) => path.slice(path.lastIndexOf("/") + 1),
    join: (dir: string, name: string) => `${dir}/${name}`,
  };
  return side as unknown as Side;
}

Deno.test("canonical() on a server: the nearest existing ancestor resolved, the rest joined on", async () => {
  const side = serverSide("", new Error("unused"));
  assert.equal(await canonical(side, "/vfs/a/sub/new"), "/vfs/real/sub/new");
});

Deno.test("canonical() on a server: a lookup answered NFS4ERR_DELAY fails the copy rather than pass the into-itself check unanswered", async () => {
  const delay = new NfsError(S.NFS4ERR_DELAY, "LOOKUP", { path: "/vfs/a/sub" });
  const side = serverSide("/vfs/a/sub", delay);
  await assert.rejects(canonical(side, "/vfs/a/sub/new"), (e) => e === delay);
});

Deno.test("canonical() on a server: a name that is no directory ends the walk (the copy meets it itself)", async () => {
  const notDir = new NfsError(S.NFS4ERR_NOTDIR, "LOOKUP", { path: "/vfs/a/sub" });
  const side = serverSide("/vfs/a/sub", notDir);
  assert.equal(await canonical(side, "/vfs/a/sub/new"), "/vfs/a/sub/new");
});
