/**
 * A trailing slash means what it means to coreutils `cp` (issue 13 item 4):
 * `DST/` and `SRC/` name directories. `cp a.txt missing/` and
 * `cp a.txt file/` fail and create nothing, `cp a.txt link-to-dir/` copies
 * into the directory, `cp -r link-to-dir/ x` copies the directory the link
 * points to. Each case runs on a folder laid out the same way twice: once
 * through nfs4 (the folder on the NFS side or the local side), once with
 * coreutils `cp` locally; exit status and resulting tree must agree.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { cpServerTest, tempDir, VERSIONS } from "./_cp.ts";
import { messageLines, nfs4 } from "./_spawn.ts";

/** The layout every case starts from. */
async function layout(dir: string): Promise<void> {
  await fs.mkdir(path.join(dir, "dir"));
  await fs.writeFile(path.join(dir, "dir/inside"), "inside\n");
  await fs.writeFile(path.join(dir, "file"), "existing file\n");
  await fs.symlink("dir", path.join(dir, "linkdir"));
  await fs.symlink("file", path.join(dir, "linkfile"));
  await fs.symlink("nowhere", path.join(dir, "dangling"));
}

/** Every entry under `dir`: kind, link target or contents. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const visit = async (rel: string) => {
    for (const name of (await fs.readdir(path.join(dir, rel))).sort()) {
      const r = path.join(rel, name);
      const full = path.join(dir, r);
      const st = await fs.lstat(full);
      if (st.isSymbolicLink()) out[r] = `-> ${await fs.readlink(full)}`;
      else if (st.isDirectory()) {
        out[r] = "dir";
        await visit(r);
      } else out[r] = await fs.readFile(full, "utf8");
    }
  };
  await visit(".");
  return out;
}

async function coreutilsCp(args: string[], cwd: string): Promise<number> {
  const out = await new Deno.Command("cp", { args, cwd, stdout: "null", stderr: "null" }).output();
  return out.code;
}

/** Destinations (relative to the folder) for copying a file to. */
const DESTS = [
  "missing/",
  "file/",
  "linkdir/",
  "dir/",
  "missing/.",
  "file/.",
  "dangling/",
  "linkfile/",
];

/** Sources (relative to the folder) copied with -r to `copy`. */
const SOURCES = ["linkdir/", "linkdir", "dir/", "file/", "missing/", "linkfile/", "dir/."];

for (const vers of VERSIONS) {
  cpServerTest(`nfs4 cp --vers ${vers}: a trailing slash names a directory`, async (server, t) => {
    const vfs = `${server.url}/vfs`;
    const local = await tempDir();
    try {
      await fs.writeFile(`${local}/a.txt`, "a\n");
      await fs.writeFile(`${server.exportDir}/a.txt`, "a\n");
      let n = 0;
      const compare = async (
        label: string,
        ours: (dir: string, url: string) => string[],
        theirs: string[],
        where: "nfs" | "local",
      ) => {
        await t.step(label, async () => {
          const id = `c${++n}`;
          const ref = path.join(local, `ref-${id}`);
          await fs.mkdir(ref);
          await layout(ref);
          await fs.writeFile(`${ref}/a.txt`, "a\n");
          const want = await coreutilsCp(theirs, ref);
          const dir = where === "nfs" ? path.join(server.exportDir, id) : path.join(local, id);
          await fs.mkdir(dir);
          await layout(dir);
          const r = await nfs4(["--vers", vers, "cp", ...ours(dir, `${vfs}/${id}`)]);
          assert.equal(r.code, want, `exit status (coreutils: ${want}); ${r.stderr}`);
          if (r.code !== 0) assert.equal(messageLines(r.stderr).length, 1, r.stderr);
          const got = await tree(dir);
          const expected = await tree(ref);
          delete expected["a.txt"];
          assert.deepEqual(got, expected);
        });
      };
      for (const dest of DESTS) {
        await compare(
          `upload to DST ${dest}`,
          (_dir, url) => [`${local}/a.txt`, `${url}/${dest}`],
          ["a.txt", dest],
          "nfs",
        );
        await compare(
          `download to DST ${dest}`,
          (dir) => [`${vfs}/a.txt`, `${dir}/${dest}`],
          ["a.txt", dest],
          "local",
        );
      }
      for (const source of SOURCES) {
        await compare(
          `NFS SRC ${source} with -r`,
          (_dir, url) => ["-r", `${url}/${source}`, `${url}/copy`],
          ["-r", source, "copy"],
          "nfs",
        );
        await compare(
          `local SRC ${source} with -r`,
          (dir) => ["-r", `${dir}/${source}`, `${dir}/copy`],
          ["-r", source, "copy"],
          "local",
        );
      }
      await t.step("the messages name the operand and the status", async () => {
        const missing = await nfs4(["--vers", vers, "cp", `${local}/a.txt`, `${vfs}/c1/missing/`]);
        assert.deepEqual(messageLines(missing.stderr), [
          `nfs4: ${vfs}/c1/missing/: Not a directory (NFS4ERR_NOTDIR)`,
        ]);
        const file = await nfs4(["--vers", vers, "cp", `${vfs}/c1/file/`, `${local}/x`]);
        assert.deepEqual(messageLines(file.stderr), [
          `nfs4: ${vfs}/c1/file/: Not a directory (NFS4ERR_NOTDIR)`,
        ]);
      });
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  });
}
