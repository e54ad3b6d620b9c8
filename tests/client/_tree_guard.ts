/**
 * Helpers of the tree guard's tests (tests/client/tree_guard_test.ts,
 * tests/cli/tree_guard_test.ts): a real client, a directory outside the
 * tree that nothing may touch, and another user who replaces a directory of
 * the tree by a symlink at the moment a tree command is about to change
 * something inside it.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import type { Nfs4ClientApi } from "../../lib/client/api.ts";
import type { TestServer } from "../_server.ts";

/** A client of `server` as root (another user's, or the command's own). */
export async function connect(server: TestServer, version: "4.0" | "4.1"): Promise<Nfs4Client> {
  return await Nfs4Client.connect({
    host: "127.0.0.1",
    port: server.port,
    version,
    uid: 0,
    gid: 0,
    clientId: `nfs4-tree-guard-test-${crypto.randomUUID()}`,
  });
}

/** `/etc` of the export (`root`): what no tree command of these tests may touch. */
export async function makeOutside(root: string): Promise<void> {
  await Deno.mkdir(`${root}/etc`);
  await Deno.chmod(`${root}/etc`, 0o755);
  await Deno.writeTextFile(`${root}/etc/x`, "outside x\n");
  await Deno.writeTextFile(`${root}/etc/y`, "outside y\n");
  await Deno.chmod(`${root}/etc/x`, 0o644);
  await Deno.chmod(`${root}/etc/y`, 0o644);
}

/** `/etc` as {@linkcode makeOutside} made it: the same names, bytes, modes and owners. */
export async function assertOutsideUntouched(root: string): Promise<void> {
  const names = [...Deno.readDirSync(`${root}/etc`)].map((e) => e.name).sort();
  assert.deepEqual(names, ["x", "y"]);
  for (const name of names) {
    const path = `${root}/etc/${name}`;
    assert.equal(await Deno.readTextFile(path), `outside ${name}\n`, path);
    const info = await Deno.stat(path);
    assert.equal(info.mode! & 0o7777, 0o644, `${path}: mode`);
    assert.equal(info.uid, 0, `${path}: owner`);
    assert.equal(info.gid, 0, `${path}: group`);
  }
  assert.equal((await Deno.stat(`${root}/etc`)).mode! & 0o7777, 0o755, `${root}/etc: mode`);
}

/**
 * `client` whose methods named in `methods` (each returning a promise), the
 * first time one is called with a path below `below`, first run `swap`
 * (done before the client walks that path, or any other of those methods
 * runs). Everything else passes through.
 */
export function swappingOnce<T extends Nfs4ClientApi>(
  client: T,
  methods: readonly string[],
  below: string,
  swap: () => Promise<void>,
): T & { swapped: boolean } {
  let swapping: Promise<void> | undefined;
  return new Proxy(client, {
    get(target, key) {
      if (key === "swapped") return swapping !== undefined;
      const value = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      if (!methods.includes(String(key))) return value.bind(target);
      return async (...args: unknown[]) => {
        const path = args[0];
        if (!swapping && typeof path === "string" && path.startsWith(below)) swapping = swap();
        // Calls made meanwhile (REMOVEs run several at a time) wait for it too.
        await swapping;
        return await value.apply(target, args);
      };
    },
  }) as T & { swapped: boolean };
}

/**
 * Another user's client replaces the directory `path` by a symlink to
 * `target` (the directory renamed aside, to `kept-NAME` in the export).
 * Through the server, as another NFS client would: a change made behind
 * Ganesha's back on its disk may be hidden by its cache of names.
 */
export async function replaceBySymlink(
  other: Nfs4ClientApi,
  path: string,
  target: string,
): Promise<void> {
  await other.rename(path, `/vfs/kept-${path.split("/").filter(Boolean).slice(1).join("-")}`);
  await other.symlink(path, target);
}
