/**
 * `cp -r DIR/. DST/`: a source whose last name is `.` copies DIR's contents
 * into DST itself, merged with what DST holds, as GNU cp does (`.` is no
 * name to copy it under). Before, a source on a server landed one level
 * deeper (DST/DIR, its `.` lost when the URL was parsed), and a local one
 * was refused ("it has no name"). Each direction is compared with GNU
 * `cp -r` of the same tree into the same starting directory.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { assertSameTree, snapshotTree, tempDir } from "./_cp.ts";
import { nfs4 } from "./_spawn.ts";

/** A small tree: two files, a subdirectory with one. */
async function makeTree(dir: string): Promise<void> {
  await Deno.mkdir(join(dir, "sub"), { recursive: true });
  await Deno.writeTextFile(join(dir, "f1"), "one\n");
  await Deno.writeTextFile(join(dir, "sub", "f2"), "two\n");
  await Deno.writeTextFile(join(dir, "shared"), "from the source\n");
}

/** A destination directory that holds something already (kept) and a name the copy replaces. */
async function makeDestination(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "kept"), "was there\n");
  await Deno.writeTextFile(join(dir, "shared"), "old\n");
}

async function gnuCp(args: string[]): Promise<void> {
  const out = await new Deno.Command("cp", { args }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

serverTest(
  "nfs4 cp -r DIR/. DST/ copies DIR's contents into DST, as GNU cp: local → NFS, " +
    "NFS → local, NFS → NFS, with and without DST's slash",
  async (server) => {
    const local = await tempDir("nfs4-cp-dot-");
    const vfs = `${server.url}/vfs`;
    const exp = server.exportDir;
    try {
      await makeTree(join(local, "src"));
      await makeTree(join(exp, "src"));
      await makeDestination(join(local, "gnu"));
      await gnuCp(["-r", `${join(local, "src")}/.`, `${join(local, "gnu")}/`]);
      const expected = await snapshotTree(join(local, "gnu"));
      assert.ok(expected.has("f1") && expected.has("kept") && !expected.has("src"));

      const cases: { name: string; from: string; to: string; at: string }[] = [
        { name: "up", from: `${join(local, "src")}/.`, to: `${vfs}/up/`, at: join(exp, "up") },
        { name: "up2", from: `${join(local, "src")}/./`, to: `${vfs}/up2`, at: join(exp, "up2") },
        {
          name: "down",
          from: `${vfs}/src/.`,
          to: `${join(local, "down")}/`,
          at: join(local, "down"),
        },
        { name: "down2", from: `${vfs}/src/.`, to: join(local, "down2"), at: join(local, "down2") },
        { name: "nn", from: `${vfs}/src/.`, to: `${vfs}/nn/`, at: join(exp, "nn") },
      ];
      for (const c of cases) {
        await makeDestination(c.at);
        const r = await nfs4(["cp", "-r", c.from, c.to]);
        assert.equal(r.code, 0, `${c.name}: ${r.stderr}`);
        assertSameTree(await snapshotTree(c.at), expected, { mtimes: false, rootAttrs: false });
      }

      // Into a directory not there yet: made as a copy of DIR (as `cp -r DIR new`).
      await gnuCp(["-r", `${join(local, "src")}/.`, join(local, "gnunew")]);
      const r = await nfs4(["cp", "-r", `${join(local, "src")}/.`, `${vfs}/new`]);
      assert.equal(r.code, 0, r.stderr);
      assertSameTree(
        await snapshotTree(join(exp, "new")),
        await snapshotTree(join(local, "gnunew")),
        {
          mtimes: false,
          rootAttrs: false,
        },
      );

      // DIR/. into DIR itself is refused, as GNU cp refuses it.
      const self = await nfs4(["cp", "-r", `${vfs}/src/.`, `${vfs}/src/`]);
      assert.equal(self.code, 1, self.stderr);
      assert.match(self.stderr, /into itself/);
    } finally {
      await Deno.remove(local, { recursive: true });
    }
  },
);
