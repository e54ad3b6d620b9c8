/**
 * The rule "a command never changes a byte it was not asked to change", for
 * the commands that change a tree entry by entry: `rm -r`, `chmod -R`,
 * `chown -R`, `find -delete`, `mv` across file systems (the removal of its
 * source) and `cp -r` to a server. Each lists a directory and then reaches
 * its entries again by their paths; here another user replaces a directory
 * of the tree by a symlink to `/vfs/etc` just before the first change
 * inside it goes out. The command runs in-process (cli/program.ts) with
 * the real Nfs4Client against NFS-Ganesha (4.0 and 4.1); the swap is made
 * through the server by a second client. Nothing in `/vfs/etc` may change,
 * the command exits 1, and each refusal is one line naming the entry and
 * the symlink.
 */

import assert from "node:assert/strict";
import { connectClient } from "../../cli/connect.ts";
import type { CliIo } from "../../cli/context.ts";
import { run } from "../../cli/program.ts";
import { hasGanesha, type TestServer, withServer } from "../_server.ts";
import {
  assertOutsideUntouched,
  connect,
  makeOutside,
  replaceBySymlink,
  swappingOnce,
} from "../client/_tree_guard.ts";
import { FakeStream } from "./_fake.ts";

interface Swap {
  /** The client methods whose first call below `below` swaps. */
  readonly methods: readonly string[];
  readonly below: string;
  /** The directory replaced by a symlink to `../etc`. */
  readonly directory: string;
}

/** Runs `nfs4 argv` in-process; its client swaps as `swap` says. */
async function runSwapping(
  server: TestServer,
  vers: "4.0" | "4.1",
  argv: readonly string[],
  swap: Swap,
): Promise<{ code: number; stdout: string; stderr: string; swapped: boolean }> {
  const other = await connect(server, vers);
  const stdout = new FakeStream();
  const stderr = new FakeStream();
  let swapped = () => false;
  const io: CliIo = {
    stdout,
    stderr,
    env: {},
    now: () => new Date(),
    timeZone: "UTC",
    connect: async (url, globals, onTrace, extra) => {
      const client = swappingOnce(
        await connectClient(url, globals, onTrace, extra),
        swap.methods,
        swap.below,
        () => replaceBySymlink(other, swap.directory, "../etc"),
      );
      swapped = () => client.swapped;
      return client;
    },
  };
  try {
    const code = await run(["--vers", vers, ...argv], io);
    await new Promise((resolve) => setTimeout(resolve, 5));
    return { code, stdout: stdout.text(), stderr: stderr.text(), swapped: swapped() };
  } finally {
    await other.close();
  }
}

/**
 * One case's directory of the export, `/vfs/NAME` (each case its own, so no
 * name the server has seen is made again behind its back): `etc` (what
 * must not change) and `shared/a`, `shared/sub/{x,y}` (mode 0644, root's).
 */
async function makeCase(server: TestServer, name: string): Promise<{ dir: string; path: string }> {
  const dir = `${server.exportDir}/${name}`;
  await Deno.mkdir(`${dir}/shared/sub`, { recursive: true });
  await makeOutside(dir);
  for (const entry of ["a", "sub/x", "sub/y"]) {
    await Deno.writeTextFile(`${dir}/shared/${entry}`, `inside ${entry}\n`);
    await Deno.chmod(`${dir}/shared/${entry}`, 0o644);
  }
  return { dir, path: `/vfs/${name}` };
}

/** The refusal line for `entry` of `shared` in the case at `path`, the link being `shared/sub`. */
function refusal(server: TestServer, path: string, entry: string): string {
  return `nfs4: ${server.url}${path}/shared/${entry}: ${REASON}`;
}

const REASON = "Symbolic link not followed: 'shared/sub' is a symlink inside the tree being " +
  "changed (NFS4ERR_SYMLINK)";

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

/** `shared/sub` replaced before the first call of one of `methods` below it. */
function swapSub(path: string, methods: readonly string[]): Swap {
  return { methods, below: `${path}/shared/sub/`, directory: `${path}/shared/sub` };
}

for (const vers of ["4.0", "4.1"] as const) {
  Deno.test({
    name:
      `tree commands --vers ${vers}: a directory replaced by a symlink mid-command leads nothing out of the tree`,
    ignore: !hasGanesha,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: (t) => withServer((server) => cases(server, vers, t)),
  });
}

async function cases(server: TestServer, vers: "4.0" | "4.1", t: Deno.TestContext): Promise<void> {
  await t.step("rm -r", async () => {
    const { dir, path } = await makeCase(server, "rm");
    const r = await runSwapping(
      server,
      vers,
      ["rm", "-r", `${server.url}${path}/shared`],
      swapSub(path, ["remove"]),
    );
    assert.equal(r.swapped, true, r.stderr);
    await assertOutsideUntouched(dir);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(lines(r.stderr).sort(), [
      refusal(server, path, "sub/x"),
      refusal(server, path, "sub/y"),
    ]);
    // The rest went; the link stays (its directory could not be emptied).
    assert.deepEqual([...Deno.readDirSync(`${dir}/shared`)].map((e) => e.name), ["sub"]);
  });

  await t.step("find -delete", async () => {
    const { dir, path } = await makeCase(server, "find");
    const r = await runSwapping(
      server,
      vers,
      ["find", `${server.url}${path}/shared`, "-delete"],
      swapSub(path, ["remove"]),
    );
    assert.equal(r.swapped, true, r.stderr);
    await assertOutsideUntouched(dir);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(lines(r.stderr).includes(refusal(server, path, "sub/x")), r.stderr);
    assert.ok(lines(r.stderr).includes(refusal(server, path, "sub/y")), r.stderr);
  });

  await t.step("chmod -R", async () => {
    const { dir, path } = await makeCase(server, "chmod");
    const r = await runSwapping(
      server,
      vers,
      ["chmod", "-R", "go-r", `${server.url}${path}/shared`],
      swapSub(path, ["setattrPath"]),
    );
    assert.equal(r.swapped, true, r.stderr);
    await assertOutsideUntouched(dir);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(lines(r.stderr).sort(), [
      refusal(server, path, "sub/x"),
      refusal(server, path, "sub/y"),
    ]);
    // What is in the tree was still changed.
    assert.equal(Deno.statSync(`${dir}/shared/a`).mode! & 0o777, 0o600);
  });

  await t.step("chown -R", async () => {
    const { dir, path } = await makeCase(server, "chown");
    const r = await runSwapping(
      server,
      vers,
      ["chown", "-R", "4242:4343", `${server.url}${path}/shared`],
      swapSub(path, ["setattrPath"]),
    );
    assert.equal(r.swapped, true, r.stderr);
    await assertOutsideUntouched(dir);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(lines(r.stderr).sort(), [
      refusal(server, path, "sub/x"),
      refusal(server, path, "sub/y"),
    ]);
    assert.equal(Deno.statSync(`${dir}/shared/a`).uid, 4242);
  });

  await t.step("mv across file systems: the removal of the source", async () => {
    const { dir, path } = await makeCase(server, "mv");
    const local = await Deno.makeTempDir({ prefix: "nfs4-tree-guard-" });
    try {
      const r = await runSwapping(
        server,
        vers,
        ["mv", `${server.url}${path}/shared`, `${local}/moved`],
        swapSub(path, ["remove"]),
      );
      assert.equal(r.swapped, true, r.stderr);
      await assertOutsideUntouched(dir);
      assert.equal(r.code, 1, r.stderr);
      for (const entry of ["sub/x", "sub/y"]) {
        assert.ok(
          lines(r.stderr).includes(
            `nfs4: cannot remove '${server.url}${path}/shared/${entry}': ${REASON}`,
          ),
          r.stderr,
        );
      }
      // The copy is whole.
      assert.equal(await Deno.readTextFile(`${local}/moved/sub/x`), "inside sub/x\n");
    } finally {
      await Deno.remove(local, { recursive: true });
    }
  });

  await t.step("cp -r to the server: the destination tree", async () => {
    const { dir, path } = await makeCase(server, "cp");
    const local = await Deno.makeTempDir({ prefix: "nfs4-tree-guard-" });
    try {
      await Deno.mkdir(`${local}/shared/sub`, { recursive: true });
      await Deno.writeTextFile(`${local}/shared/a`, "a\n");
      await Deno.writeTextFile(`${local}/shared/sub/new`, "new\n");
      await Deno.chmod(`${local}/shared/sub`, 0o700);
      // Into `dst`, whose `sub` (made by the copy) is replaced before
      // anything goes into it.
      const r = await runSwapping(
        server,
        vers,
        ["cp", "-r", `${local}/shared`, `${server.url}${path}/dst`],
        {
          methods: [
            "createWriteCloseIn",
            "createExclusiveIn",
            "open",
            "statIn",
            "stat",
            "setattrPath",
            "mkdir",
            "symlink",
            "rename",
            "renameIn",
          ],
          below: `${path}/dst/sub/`,
          directory: `${path}/dst/sub`,
        },
      );
      assert.equal(r.swapped, true, r.stderr);
      await assertOutsideUntouched(dir);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /Symbolic link not followed: 'dst\/sub' is a symlink inside the tree being changed \(NFS4ERR_SYMLINK\)/,
      );
      assert.equal(await Deno.readTextFile(`${dir}/dst/a`), "a\n");
    } finally {
      await Deno.remove(local, { recursive: true });
    }
  });
}
