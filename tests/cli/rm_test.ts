/**
 * `nfs4 rm` against NFS-Ganesha compared with GNU coreutils `rm` run on a
 * local copy of the same tree (tests/cli/_tree_ops.ts), on NFSv4.0 and
 * 4.1: files, hard links, trees, symlinks to directories (the link goes,
 * the target stays), `link/`, `-f` on missing files, `-d`, `.` and `..`
 * refused, `-i` and `-I` prompts, permission denied inside a tree as uid
 * 1000; then what coreutils cannot be compared on: the pseudo-fs root and
 * export roots refused, and no state left on the server.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { cpServerTest, tempDir, VERSIONS } from "./_cp.ts";
import {
  destroyClientIdStatus,
  exclusiveOpenStatus,
  ROOT,
  traceClientId,
  traceEvents,
} from "./_spawn.ts";
import { buildSample, compareRow, findTree, type Row, runNfs4 } from "./_tree_ops.ts";

const ROWS: readonly Row[] = [
  { name: "a file", cmd: "rm", args: ["@f"] },
  { name: "-v: files, one empty", cmd: "rm", args: ["-v", "@f", "@g"] },
  { name: "a symlink to a file: the link goes", cmd: "rm", args: ["-v", "@t/lf"] },
  { name: "one name of a hard-linked file: the other has one link left", cmd: "rm", args: ["@hl"] },
  { name: "a directory without -r", cmd: "rm", args: ["@e", "@f"], code: 1 },
  { name: "-r: a tree with nested directories", cmd: "rm", args: ["-rv", "@t"], unordered: true },
  { name: "-R: the same", cmd: "rm", args: ["-R", "@i1", "@e"] },
  {
    name: "-r of a symlink to a directory: the link goes, the target stays",
    cmd: "rm",
    args: ["-rv", "@lnk", "@t/ld"],
  },
  {
    name: "-r link/: what it points to is emptied, the link stays (Not a directory)",
    cmd: "rm",
    args: ["-rv", "@t/ld/"],
    code: 1,
    unordered: true,
  },
  { name: "-f: missing files are no error", cmd: "rm", args: ["-f", "@missing", "@f/x", "@no/x"] },
  { name: "-f: the others still go", cmd: "rm", args: ["-fv", "@missing", "@g"] },
  {
    name: "a missing file fails, the others still go",
    cmd: "rm",
    args: ["@missing", "@f"],
    code: 1,
  },
  { name: "-d: an empty directory", cmd: "rm", args: ["-dv", "@e", "@t/e2"] },
  { name: "-d: a directory with entries", cmd: "rm", args: ["-d", "@t"], code: 1 },
  { name: "-r of DIR/.. is refused", cmd: "rm", args: ["-r", "@t/a/.."], code: 1 },
  { name: "-r of DIR/. is refused", cmd: "rm", args: ["-rf", "@t/.", "@f"], code: 1 },
  {
    name: "-i: descend, remove, keep the directory",
    cmd: "rm",
    args: ["-riv", "@i1"],
    as: { stdin: "y\ny\ny\ny\nn\n" },
    prompts: true,
  },
  {
    name: "-i: a no keeps that one",
    cmd: "rm",
    args: ["-i", "@f", "@g", "@t/lf", "@e"],
    as: { stdin: "n\ny\ny\n" },
    prompts: true,
    code: 1,
  },
  {
    name: "-I: one question for more than three, answered no",
    cmd: "rm",
    args: ["-I", "@f", "@g", "@hl", "@keep"],
    as: { stdin: "n\n" },
    prompts: true,
  },
  {
    name: "-I -r: one question, answered yes",
    cmd: "rm",
    args: ["-rI", "@t"],
    as: { stdin: "yes\n" },
    prompts: true,
  },
  { name: "-i then -f: -f wins, no prompt", cmd: "rm", args: ["-i", "-f", "@f"] },
  {
    name: "uid 1000 in a root-owned tree: every entry denied, nothing goes",
    cmd: "rm",
    args: ["-r", "@t"],
    as: { uid: 1000 },
    code: 1,
  },
  {
    name: "uid 1000, its own directory in a root-owned one: its contents go, it stays",
    cmd: "rm",
    args: ["-rv", "@u", "@f"],
    as: { uid: 1000 },
    code: 1,
  },
];

cpServerTest("nfs4 rm compared with coreutils rm (4.0 and 4.1)", async (server, t) => {
  const local = await tempDir("nfs4-rm-test-");
  await fs.chmod(local, 0o755); // uid 1000 runs coreutils in it
  try {
    for (const vers of VERSIONS) {
      for (const [i, row] of ROWS.entries()) {
        await t.step(`--vers ${vers} rm ${row.args.join(" ")}: ${row.name}`, async () => {
          await compareRow(server, vers, local, `rm${i}-${vers}`, row);
        });
      }
    }
  } finally {
    await fs.rm(local, { recursive: true, force: true });
  }
});

cpServerTest(
  "nfs4 rm -r refuses the pseudo-fs root and export roots, and leaves no state",
  async (server, t) => {
    for (const vers of VERSIONS) {
      const name = `roots-${vers}`;
      const root = `${server.exportDir}/${name}`;
      await buildSample(root);
      // A symlink to the export root: followed by up/, so refused too.
      await fs.symlink("..", `${root}/up`);
      const before = await findTree(server.exportDir);
      const url = server.url;

      await t.step(`--vers ${vers}: the pseudo-fs root`, async () => {
        for (const target of [`${url}/`, url]) {
          const r = await runNfs4(["--vers", vers, "rm", "-rf", target]);
          assert.equal(r.code, 1, r.stderr);
          assert.equal(
            r.stderr,
            `nfs4: it is dangerous to operate recursively on '${target}' (the pseudo-fs root); ` +
              "use --no-preserve-root to override this failsafe\n",
          );
        }
      });

      await t.step(`--vers ${vers}: the export root, however named`, async () => {
        for (const target of [`${url}/vfs`, `${url}/vfs/`, `${url}/vfs/${name}/up/`]) {
          const r = await runNfs4(["--vers", vers, "rm", "-r", target]);
          assert.equal(r.code, 1, r.stderr);
          assert.equal(
            r.stderr,
            `nfs4: it is dangerous to operate recursively on '${target}' (an export root); ` +
              "use --no-preserve-root to override this failsafe\n",
          );
        }
        // .. that ends up at the root is refused as .. first, as coreutils does.
        const r = await runNfs4(["--vers", vers, "rm", "-r", `${url}/vfs/${name}/..`]);
        assert.equal(r.code, 1);
        assert.equal(
          r.stderr,
          `nfs4: refusing to remove '.' or '..' directory: skipping '${url}/vfs/${name}/..'\n`,
        );
        assert.deepEqual(await findTree(server.exportDir), before, "nothing removed");
      });

      await t.step(`--vers ${vers}: up (no slash) is only a symlink`, async () => {
        const r = await runNfs4(["--vers", vers, "rm", "-rv", `${url}/vfs/${name}/up`]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, `removed '${url}/vfs/${name}/up'\n`);
        assert.equal((await fs.stat(`${root}/keep`)).isFile(), true);
      });

      await t.step(`--vers ${vers}: Ctrl-C at an -i question ends rm at once`, async () => {
        // stdin stays open with no answer: only the signal can end the wait.
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "cli/main.ts", "--vers", vers, "rm", "-i", `${url}/vfs/${name}/f`],
          cwd: ROOT,
          stdin: "piped",
          stdout: "null",
          stderr: "piped",
        }).spawn();
        const reader = child.stderr.getReader();
        let said = "";
        while (!said.includes("?")) {
          const { value, done } = await reader.read();
          if (done) break;
          said += new TextDecoder().decode(value);
        }
        assert.equal(said, `nfs4: remove regular file '${url}/vfs/${name}/f'? `);
        const asked = performance.now();
        child.kill("SIGINT");
        const { code } = await child.status;
        const ms = performance.now() - asked;
        reader.releaseLock();
        await child.stderr.cancel();
        await child.stdin.close().catch(() => {});
        assert.equal(code, 130);
        // Not the 3 s backstop of cli/main.ts: the question itself gave way.
        assert.ok(ms < 2000, `ended ${ms} ms after SIGINT`);
        assert.equal((await fs.stat(`${root}/f`)).isFile(), true, "nothing removed");
      });

      await t.step(`--vers ${vers}: no state left`, async () => {
        const r = await runNfs4([
          "--vers",
          vers,
          "--trace=json",
          "rm",
          "-r",
          `${url}/vfs/${name}/t`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        const id = traceClientId(traceEvents(r.stderr));
        if (vers === "4.1") {
          // The session and client ID were destroyed on the way out.
          assert.equal(await destroyClientIdStatus(server, id), "NFS4ERR_STALE_CLIENTID");
        }
        assert.equal(await exclusiveOpenStatus(server, vers, `/vfs/${name}/keep`), "NFS4_OK");
      });
    }

    await t.step(
      "--no-preserve-root: the export is emptied; the server refuses its root",
      async () => {
        const r = await runNfs4([
          "rm",
          "-r",
          "--preserve-root",
          "--no-preserve-root",
          `${server.url}/vfs`,
        ]);
        assert.equal(r.code, 1);
        assert.equal(r.stderr, `nfs4: ${server.url}/vfs: Read-only file system (NFS4ERR_ROFS)\n`);
        assert.deepEqual(await fs.readdir(server.exportDir), []);
      },
    );
  },
);
