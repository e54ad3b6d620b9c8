/**
 * `cp -p`, `cp -a` and a `mv` that copies, onto an export that squashes
 * owners: Ganesha's `all_squash` (every owner) and `root_squash` (root's)
 * answer the SETATTR of `owner` and `owner_group` NFS4_OK with both in its
 * attrsset (RFC 7530 §16.32.4) and keep their anonymous ids (4242 here).
 * The copy reads the owner back and says so, one warning per file as for
 * an owner refused (README, `cp`), naming what the server set as `nfs4
 * chown` does; exit 0; no set-id bits on a file it could not give away.
 * The same copies onto the `/vfs` export of the same server (no squashing)
 * keep every owner and warn of none. Small files (NFSv4.1: one COMPOUND),
 * a file of 3 MiB (the pipelined writer), a tree (directories, a symlink,
 * a fifo), on 4.0 and 4.1.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { squashServerTest } from "../_squash_server.ts";
import { messageLines, nfs4 } from "./_spawn.ts";
import { tempDir, VERSIONS, writeRandom } from "./_cp.ts";
import { ownerKept } from "../../lib/client/copy/owners.ts";

/** Runs `script` under sh in `cwd`; fails the test when it fails. */
async function sh(script: string, cwd: string): Promise<string> {
  const out = await new Deno.Command("sh", { args: ["-c", script], cwd }).output();
  const text = new TextDecoder();
  assert.equal(out.code, 0, `${script}\n${text.decode(out.stderr)}`);
  return text.decode(out.stdout);
}

/** `stat -c '%u:%g %a'` of `file` (owner, group, mode in octal). */
async function owners(file: string): Promise<string> {
  const st = await fs.lstat(file);
  return `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`;
}

const SET = (uid: string) =>
  `cannot preserve ownership: the server set owner to '4242', not '${uid}' and group to '4242', not '${uid}'`;

/** The symlink times warning Ganesha's VFS export gives any `-a` (README, `cp`). */
const SYMLINK_TIMES =
  "cannot preserve the times of a symlink: the server accepted them but did not set them";

squashServerTest(
  "nfs4 cp -p onto an all_squash export warns once per file that the server set another owner (a small file, a large one), exits 0, gives no set-id bit; onto /vfs of the same server it keeps the owner and warns of nothing",
  { squash: "all_squash" },
  async (server) => {
    const local = await tempDir();
    try {
      await sh("printf 'a\\n' > small", local);
      const sha = await writeRandom(`${local}/large`, 3 * 1024 * 1024);
      // chown(2) clears set-id bits: the modes after it.
      await sh("chown 1234:1234 small large && chmod 4755 small && chmod 2750 large", local);
      for (const version of VERSIONS) {
        for (const name of ["small", "large"]) {
          const asq = `${server.url}/asq/${version}-${name}`;
          const r = await nfs4(["--vers", version, "cp", "-p", "--json", `${local}/${name}`, asq]);
          assert.equal(r.code, 0, r.stderr);
          assert.deepEqual(messageLines(r.stderr), [`nfs4: warning: ${asq}: ${SET("1234")}`]);
          assert.equal(JSON.parse(r.stdout).warnings, 1);
          assert.equal(JSON.parse(r.stdout).errors, 0);
          // As for a refused owner: the data and times kept, no set-id bit.
          const copy = `${server.squashDir}/${version}-${name}`;
          assert.equal(await owners(copy), name === "small" ? "4242:4242 755" : "4242:4242 750");
          assert.equal(
            (await fs.stat(copy)).mtimeMs,
            (await fs.stat(`${local}/${name}`)).mtimeMs,
          );
          if (name === "large") {
            assert.equal(
              (await sh(`sha256sum ${version}-large`, server.squashDir)).slice(0, 64),
              sha,
            );
          }

          // The export that keeps owners: nothing to warn of.
          const vfs = `${server.url}/vfs/${version}-${name}`;
          const kept = await nfs4(["--vers", version, "cp", "-p", `${local}/${name}`, vfs]);
          assert.equal(kept.code, 0, kept.stderr);
          assert.deepEqual(messageLines(kept.stderr), []);
          assert.equal(
            await owners(`${server.exportDir}/${version}-${name}`),
            name === "small" ? "1234:1234 4755" : "1234:1234 2750",
          );
        }
      }
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  },
);

squashServerTest(
  "nfs4 cp -a of a tree onto an all_squash export warns once for each directory, file, symlink and fifo the server gave its anonymous owner; onto /vfs it warns of none",
  { squash: "all_squash" },
  async (server) => {
    const local = await tempDir();
    try {
      await sh(
        "mkdir -p t/sub && printf 'x' > t/x && printf 'y' > t/sub/y && ln -s x t/l && " +
          "mkfifo t/f && head -c 2000000 /dev/urandom > t/sub/big && " +
          "chown -R -h 1234:1234 t && chmod 4711 t/x",
        local,
      );
      const entries = ["", "/f", "/l", "/sub", "/sub/big", "/sub/y", "/x"];
      for (const version of VERSIONS) {
        const asq = `${server.url}/asq/${version}`;
        const r = await nfs4(["--vers", version, "cp", "-a", `${local}/t`, asq]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(
          messageLines(r.stderr).sort(),
          [
            ...entries.map((e) => `nfs4: warning: ${asq}${e}: ${SET("1234")}`),
            `nfs4: warning: ${asq}/l: ${SYMLINK_TIMES}`,
          ].sort(),
        );
        const copy = `${server.squashDir}/${version}`;
        for (const e of entries) {
          assert.match(await owners(`${copy}${e}`), /^4242:4242 /, e);
        }
        assert.equal(await owners(`${copy}/x`), "4242:4242 711");
        assert.equal(await fs.readFile(`${copy}/sub/y`, "utf8"), "y");

        const vfs = `${server.url}/vfs/${version}`;
        const kept = await nfs4(["--vers", version, "cp", "-a", `${local}/t`, vfs]);
        assert.equal(kept.code, 0, kept.stderr);
        assert.deepEqual(messageLines(kept.stderr), [`nfs4: warning: ${vfs}/l: ${SYMLINK_TIMES}`]);
        for (const e of entries) {
          assert.match(await owners(`${server.exportDir}/${version}${e}`), /^1234:1234 /, e);
        }
        assert.equal(await owners(`${server.exportDir}/${version}/x`), "1234:1234 4711");
      }
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  },
);

squashServerTest(
  "nfs4 cp -p onto a root_squash export: root's owner squashed to the anonymous one is a warning per file, a large file's too; another owner is refused (NFS4ERR_PERM) as before",
  { squash: "root_squash" },
  async (server) => {
    const local = await tempDir();
    try {
      await sh("printf 'r' > root-small && head -c 1500000 /dev/urandom > root-large", local);
      await sh("printf 'o' > other && chown 1234:1234 other", local);
      for (const version of VERSIONS) {
        for (const name of ["root-small", "root-large"]) {
          const asq = `${server.url}/asq/${version}-${name}`;
          const r = await nfs4(["--vers", version, "cp", "-p", `${local}/${name}`, asq]);
          assert.equal(r.code, 0, r.stderr);
          assert.deepEqual(messageLines(r.stderr), [`nfs4: warning: ${asq}: ${SET("0")}`]);
          assert.match(await owners(`${server.squashDir}/${version}-${name}`), /^4242:4242 /);
        }
        const other = `${server.url}/asq/${version}-other`;
        const r = await nfs4(["--vers", version, "cp", "-p", `${local}/other`, other]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(messageLines(r.stderr), [
          `nfs4: warning: ${other}: cannot preserve ownership: Operation not permitted (NFS4ERR_PERM)`,
        ]);
      }
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  },
);

squashServerTest(
  "nfs4 mv from /vfs to an all_squash export of the same server (a copy) warns that the server set another owner, naming the target, and still moves",
  { squash: "all_squash" },
  async (server) => {
    for (const version of VERSIONS) {
      await sh(
        `mkdir ${version}-d && printf 'm' > ${version}-d/m && printf 'f' > ${version}-f && ` +
          `chown -R 1234:1234 ${version}-d ${version}-f`,
        server.exportDir,
      );
      for (const name of [`${version}-f`, `${version}-d`]) {
        const target = `${server.url}/asq/${name}`;
        const r = await nfs4(["--vers", version, "mv", `${server.url}/vfs/${name}`, target]);
        assert.equal(r.code, 0, r.stderr);
        const expected = name.endsWith("-d") ? [target, `${target}/m`] : [target];
        assert.deepEqual(
          messageLines(r.stderr).sort(),
          expected.map((t) => `nfs4: warning: ${t}: ${SET("1234")}`).sort(),
        );
        await assert.rejects(fs.lstat(`${server.exportDir}/${name}`));
        assert.match(await owners(`${server.squashDir}/${name}`), /^4242:4242 /);
      }
    }
  },
);

Deno.test("ownerKept() compares owner strings as nfs4 chown's read-back does", async () => {
  assert.equal(await ownerKept("1234", "1234", "user"), true);
  assert.equal(await ownerKept("4242", "1234", "user"), false);
  assert.equal(await ownerKept("01234", "1234", "group"), true);
  // A name is this host's id (root is 0 everywhere), with or without a domain.
  assert.equal(await ownerKept("0", "root@localdomain", "user"), true);
  assert.equal(await ownerKept("root@localdomain", "0", "user"), true);
  assert.equal(await ownerKept("4242", "root@example.org", "user"), false);
  // Names this host does not know: by name, the domain's case aside.
  assert.equal(
    await ownerKept("no-such-user-x@EXAMPLE.org", "no-such-user-x@example.org", "user"),
    true,
  );
  assert.equal(
    await ownerKept("no-such-user-y@example.org", "no-such-user-x@example.org", "user"),
    false,
  );
  // A number against a name this host does not know cannot be told: kept,
  // unless it is the anonymous owner a server squashes to.
  assert.equal(await ownerKept("1005", "no-such-user-x@example.org", "user"), true);
  assert.equal(await ownerKept("4294967294", "no-such-user-x@example.org", "user"), false);
  assert.equal(await ownerKept("nobody@example.org", "1234", "user"), false);
});

squashServerTest(
  "nfs4 cp (no -p) over an existing file on an all_squash export keeps that file's owner: the temporary given it and answered NFS4_OK but squashed, the file itself is written instead (as cp writes into an existing file)",
  { squash: "all_squash" },
  async (server) => {
    const local = await tempDir();
    try {
      await sh("printf 'new contents\\n' > src", local);
      for (const version of VERSIONS) {
        const name = `${version}-existing`;
        const there = `${server.squashDir}/${name}`;
        await sh(
          `printf 'old\\n' > ${name} && chown 1234:1234 ${name} && chmod 666 ${name}`,
          server.squashDir,
        );
        const r = await nfs4([
          "--vers",
          version,
          "cp",
          `${local}/src`,
          `${server.url}/asq/${name}`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(messageLines(r.stderr), []);
        assert.equal(await Deno.readTextFile(there), "new contents\n");
        // Before: renamed over it, the squashed temporary's 4242.
        assert.equal(await owners(there), "1234:1234 666");
        const left = [...Deno.readDirSync(server.squashDir)].filter((e) =>
          e.name.includes(".nfs4-")
        );
        assert.deepEqual(left, []);
      }
    } finally {
      await Deno.remove(local, { recursive: true });
    }
  },
);
