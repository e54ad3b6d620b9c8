/**
 * `nfs4 cp` behaves like coreutils `cp` against NFS-Ganesha: an existing
 * destination is replaced (keeping its mode), `-n` leaves it alone, `-f`
 * removes one that cannot be opened; a directory without `-r`, a missing
 * source, a read-only destination, several sources into a non-directory, a
 * file onto itself and a directory into itself give one clear line each and
 * exit 1; usage errors exit 2. No temporary is ever left behind.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { lookup } from "node:dns/promises";
import { hostname } from "node:os";
import { cpServerTest, finish, spawnNfs4, tempDir, temporaries, VERSIONS } from "./_cp.ts";
import { messageLines, nfs4 } from "./_spawn.ts";

const AS_USER = ["--uid", "1000", "--gid", "1000"];

for (const vers of VERSIONS) {
  cpServerTest(`nfs4 cp --vers ${vers}: overwriting, -n and -f`, async (server, t) => {
    const vfs = `${server.url}/vfs`;
    const dir = server.exportDir;
    const local = await tempDir();
    try {
      await fs.writeFile(`${local}/new`, "new contents\n");
      await fs.chmod(`${local}/new`, 0o644);

      await t.step("an existing file is replaced and keeps its mode", async () => {
        await fs.writeFile(`${dir}/existing`, "old\n");
        await fs.chmod(`${dir}/existing`, 0o640);
        const r = await nfs4(["--vers", vers, "cp", `${local}/new`, `${vfs}/existing`]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, "");
        assert.equal(await fs.readFile(`${dir}/existing`, "utf8"), "new contents\n");
        assert.equal((await fs.stat(`${dir}/existing`)).mode & 0o777, 0o640);
      });

      await t.step("-n leaves an existing file alone and creates a missing one", async () => {
        await fs.writeFile(`${dir}/kept`, "kept\n");
        const r = await nfs4([
          "--vers",
          vers,
          "cp",
          "-n",
          "--json",
          `${local}/new`,
          `${vfs}/kept`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout).skipped, 1);
        assert.equal(await fs.readFile(`${dir}/kept`, "utf8"), "kept\n");
        const created = await nfs4(["--vers", vers, "cp", "-n", `${local}/new`, `${vfs}/fresh`]);
        assert.equal(created.code, 0, created.stderr);
        assert.equal(await fs.readFile(`${dir}/fresh`, "utf8"), "new contents\n");
      });

      await t.step("-n on NFS → local keeps the local file", async () => {
        await fs.writeFile(`${local}/mine`, "mine\n");
        const r = await nfs4(["--vers", vers, "cp", "-n", `${vfs}/fresh`, `${local}/mine`]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await fs.readFile(`${local}/mine`, "utf8"), "mine\n");
      });

      await t.step(
        "a file that cannot be opened: refused without -f, replaced with -f",
        async () => {
          await fs.writeFile(`${dir}/readonly`, "read only\n");
          await fs.chmod(`${dir}/readonly`, 0o444);
          const refused = await nfs4([
            "--vers",
            vers,
            ...AS_USER,
            "cp",
            `${local}/new`,
            `${vfs}/readonly`,
          ]);
          assert.equal(refused.code, 1);
          assert.deepEqual(messageLines(refused.stderr), [
            `nfs4: ${vfs}/readonly: Permission denied (NFS4ERR_ACCESS)`,
          ]);
          assert.equal(await fs.readFile(`${dir}/readonly`, "utf8"), "read only\n");
          const forced = await nfs4([
            "--vers",
            vers,
            ...AS_USER,
            "cp",
            "-f",
            `${local}/new`,
            `${vfs}/readonly`,
          ]);
          assert.equal(forced.code, 0, forced.stderr);
          assert.equal(await fs.readFile(`${dir}/readonly`, "utf8"), "new contents\n");
          const st = await fs.stat(`${dir}/readonly`);
          assert.equal(st.uid, 1000, "created anew by the caller");
          assert.equal(st.mode & 0o777, 0o644);
        },
      );

      await t.step(
        "-f: a source that cannot be read leaves the destination as it was; a symlink is replaced, not its target",
        async () => {
          await fs.writeFile(`${dir}/secret`, "secret\n");
          await fs.chmod(`${dir}/secret`, 0o000);
          await fs.writeFile(`${dir}/kept`, "kept\n");
          await fs.chmod(`${dir}/kept`, 0o444);
          const unreadable = await nfs4([
            "--vers",
            vers,
            ...AS_USER,
            "cp",
            "-f",
            `${vfs}/secret`,
            `${vfs}/kept`,
          ]);
          assert.equal(unreadable.code, 1);
          assert.match(unreadable.stderr, /secret: Permission denied \(NFS4ERR_ACCESS\)/);
          assert.equal(await fs.readFile(`${dir}/kept`, "utf8"), "kept\n", "not removed");
          // cp -f onto a symlink to a file it cannot open: the link goes (as
          // coreutils unlinks the name given), never the file it points to.
          await fs.symlink("kept", `${dir}/link`);
          const linked = await nfs4([
            "--vers",
            vers,
            ...AS_USER,
            "cp",
            "-f",
            `${local}/new`,
            `${vfs}/link`,
          ]);
          assert.equal(linked.code, 0, linked.stderr);
          assert.equal(await fs.readFile(`${dir}/kept`, "utf8"), "kept\n", "the target stays");
          assert.equal((await fs.lstat(`${dir}/link`)).isFile(), true);
          assert.equal(await fs.readFile(`${dir}/link`, "utf8"), "new contents\n");
          await fs.rm(`${dir}/secret`);
        },
      );

      assert.deepEqual(await temporaries(dir), []);
      assert.deepEqual(await temporaries(local), []);
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  });
}

/** `localhost` or this host's name when it resolves to 127.0.0.1 (where the test servers listen). */
async function loopbackName(): Promise<string | undefined> {
  for (const name of ["localhost", hostname()]) {
    const found = await lookup(name, { family: 4 }).catch(() => undefined);
    if (found?.address === "127.0.0.1") return name;
  }
  return undefined;
}

cpServerTest("nfs4 cp reports bad operands on one line and exits 1", async (server, t) => {
  const vfs = `${server.url}/vfs`;
  const dir = server.exportDir;
  await fs.mkdir(`${dir}/d/sub`, { recursive: true });
  await fs.writeFile(`${dir}/file`, "file\n");
  await fs.mkdir(`${dir}/target`);
  const local = await tempDir();
  try {
    await t.step("a directory without -r; the other sources are still copied", async () => {
      const r = await nfs4(["cp", `${vfs}/d`, `${vfs}/file`, `${local}/`]);
      assert.equal(r.code, 1);
      assert.deepEqual(messageLines(r.stderr), [
        `nfs4: -r not specified; omitting directory '${vfs}/d'`,
      ]);
      assert.equal(await fs.readFile(`${local}/file`, "utf8"), "file\n");
      await assert.rejects(fs.stat(`${local}/d`), { code: "ENOENT" });
    });

    await t.step("a missing source, on NFS and local", async () => {
      const r = await nfs4(["cp", `${vfs}/missing`, `${local}/nope`, `${vfs}/target`]);
      assert.equal(r.code, 1);
      assert.deepEqual(messageLines(r.stderr), [
        `nfs4: ${vfs}/missing: No such file or directory (NFS4ERR_NOENT)`,
        `nfs4: ${local}/nope: No such file or directory`,
      ]);
    });

    await t.step("a destination in a read-only place", async () => {
      // The pseudo file system above the exports is read-only.
      const rofs = await nfs4(["cp", `${local}/file`, `${server.url}/file`]);
      assert.equal(rofs.code, 1);
      assert.deepEqual(messageLines(rofs.stderr), [
        `nfs4: ${server.url}/file: Read-only file system (NFS4ERR_ROFS)`,
      ]);
      // A directory the caller may not write to.
      await fs.chmod(`${dir}/d`, 0o755);
      const denied = await nfs4([...AS_USER, "cp", `${local}/file`, `${vfs}/d/`]);
      assert.equal(denied.code, 1);
      assert.deepEqual(messageLines(denied.stderr), [
        `nfs4: ${vfs}/d/file: Permission denied (NFS4ERR_ACCESS)`,
      ]);
      assert.deepEqual(await fs.readdir(`${dir}/d`), ["sub"]);
      // A missing directory on the way.
      const missing = await nfs4(["cp", `${local}/file`, `${vfs}/no/such/dir/file`]);
      assert.equal(missing.code, 1);
      assert.match(
        messageLines(missing.stderr)[0]!,
        /No such file or directory \(NFS4ERR_NOENT\)$/,
      );
    });

    await t.step("several sources into a non-directory", async () => {
      const r = await nfs4(["cp", `${local}/file`, `${vfs}/file`, `${vfs}/file`]);
      assert.equal(r.code, 1);
      assert.deepEqual(messageLines(r.stderr), [
        `nfs4: target '${vfs}/file' is not a directory`,
      ]);
      const none = await nfs4(["cp", `${local}/file`, `${vfs}/file`, `${vfs}/none`]);
      assert.equal(none.code, 1);
      assert.deepEqual(messageLines(none.stderr), [
        `nfs4: target '${vfs}/none': No such file or directory`,
      ]);
    });

    await t.step("a file onto itself, a directory into itself", async () => {
      const same = await nfs4(["cp", `${vfs}/file`, `${vfs}/file`]);
      assert.equal(same.code, 1);
      assert.deepEqual(messageLines(same.stderr), [
        `nfs4: '${vfs}/file' and '${vfs}/file' are the same file`,
      ]);
      const into = await nfs4(["cp", "-r", `${vfs}/d`, `${vfs}/d/sub`]);
      assert.equal(into.code, 1);
      assert.deepEqual(messageLines(into.stderr), [
        `nfs4: cannot copy a directory, '${vfs}/d', into itself, '${vfs}/d/sub/d'`,
      ]);
      assert.deepEqual(await fs.readdir(`${dir}/d/sub`), []);
    });

    await t.step(
      "a file onto its own hard link through another spelling of the server: refused, never truncated",
      async () => {
        // A name of this host that is 127.0.0.1: the same server, the same
        // file system and fileid (RFC 7530 §5.8.1.9); the destination has
        // two links, so it would be written in place, truncated first.
        const name = await loopbackName();
        if (name === undefined) return; // no such name here: nothing to tell apart
        const big = "x".repeat(200_000);
        await fs.writeFile(`${dir}/big`, big);
        await fs.link(`${dir}/big`, `${dir}/big2`);
        const other = `nfs://${name}:${server.port}/vfs`;
        for (const vers of VERSIONS) {
          const r = await nfs4(["--vers", vers, "cp", `${vfs}/big`, `${other}/big2`]);
          assert.equal(r.code, 1, r.stderr);
          assert.deepEqual(messageLines(r.stderr), [
            `nfs4: '${vfs}/big' and '${other}/big2' are the same file`,
          ]);
          assert.equal(await fs.readFile(`${dir}/big`, "utf8"), big);
        }
      },
    );

    await t.step(
      "a local file onto the server's name of it (the export served from this host), either way and from stdin: refused, never truncated",
      async () => {
        const own = "y".repeat(200_000);
        await fs.writeFile(`${dir}/own`, own);
        const mine = `${dir}/own`;
        const theirs = `${vfs}/own`;
        for (const vers of VERSIONS) {
          for (
            const [args, message] of [
              [["--inplace", mine, theirs], `'${mine}' and '${theirs}' are the same file`],
              [[mine, theirs], `'${mine}' and '${theirs}' are the same file`],
              [[theirs, mine], `'${theirs}' and '${mine}' are the same file`],
            ] as const
          ) {
            const r = await nfs4(["--vers", vers, "cp", ...args]);
            assert.equal(r.code, 1, r.stderr);
            assert.deepEqual(messageLines(r.stderr), [`nfs4: ${message}`]);
            assert.equal(await fs.readFile(mine, "utf8"), own);
          }
          // `cp - URL < FILE`: stdin is that very file.
          const input = await fs.open(mine);
          try {
            const fromStdin = await new Deno.Command(Deno.execPath(), {
              args: ["run", "-A", "cli/main.ts", "--vers", vers, "cp", "--inplace", "-", theirs],
              cwd: new URL("../../", import.meta.url).pathname,
              stdin: "piped",
              stdout: "piped",
              stderr: "piped",
            }).spawn();
            const writer = fromStdin.stdin.getWriter();
            await writer.write(new TextEncoder().encode(own)).catch(() => {});
            await writer.close().catch(() => {});
            const ended = await fromStdin.output();
            // Through a pipe, stdin is no file: the copy goes ahead, onto
            // the file with the same bytes.
            assert.equal(ended.code, 0, new TextDecoder().decode(ended.stderr));
          } finally {
            await input.close();
          }
          assert.equal(await fs.readFile(mine, "utf8"), own);
          const redirected = await new Deno.Command("sh", {
            args: [
              "-c",
              `exec "$0" run -A cli/main.ts --vers ${vers} cp --inplace - '${theirs}' < '${mine}'`,
              Deno.execPath(),
            ],
            cwd: new URL("../../", import.meta.url).pathname,
            stdout: "piped",
            stderr: "piped",
          }).output();
          assert.equal(redirected.code, 1);
          assert.deepEqual(messageLines(new TextDecoder().decode(redirected.stderr)), [
            `nfs4: standard input and '${theirs}' are the same file`,
          ]);
          assert.equal(await fs.readFile(mine, "utf8"), own);
        }
        await fs.rm(mine);
      },
    );

    await t.step("a file onto a directory, a directory onto a file", async () => {
      await fs.mkdir(`${dir}/target/file`);
      const r = await nfs4(["cp", `${vfs}/file`, `${vfs}/target`]);
      assert.equal(r.code, 1);
      assert.deepEqual(messageLines(r.stderr), [
        `nfs4: cannot overwrite directory '${vfs}/target/file' with non-directory`,
      ]);
      const d = await nfs4(["cp", "-r", `${vfs}/d`, `${vfs}/file`]);
      assert.equal(d.code, 1);
      assert.deepEqual(messageLines(d.stderr), [
        `nfs4: cannot overwrite non-directory '${vfs}/file' with directory '${vfs}/d'`,
      ]);
    });

    await t.step("a directory to stdout", async () => {
      const r = await nfs4(["cp", `${vfs}/d`, "-"]);
      assert.equal(r.code, 1);
      assert.deepEqual(messageLines(r.stderr), [
        `nfs4: ${vfs}/d: cannot copy a directory to stdout`,
      ]);
    });

    await t.step("usage errors exit 2", async () => {
      const one = await nfs4(["cp", `${vfs}/file`]);
      assert.equal(one.code, 2);
      assert.equal(one.stderr, `nfs4: missing destination file operand after '${vfs}/file'\n`);
      const bad = await nfs4(["cp", "nfs://", `${local}/x`]);
      assert.equal(bad.code, 2);
      assert.equal(bad.stderr, "nfs4: nfs://: missing host\n");
      const json = await nfs4(["cp", "--json", `${vfs}/file`, "-"]);
      assert.equal(json.code, 2);
      assert.equal(json.stderr, "nfs4: --json cannot be used when copying to stdout (-)\n");
    });

    assert.deepEqual(await temporaries(dir), []);
    assert.deepEqual(await temporaries(`${dir}/target`), []);
  } finally {
    await fs.rm(local, { recursive: true, force: true });
  }
});

cpServerTest("nfs4 cp shows progress only when asked or on a terminal", async (server) => {
  const local = await tempDir();
  try {
    const big = `${local}/big`;
    const handle = await fs.open(big, "w");
    await handle.truncate(64 * 1024 * 1024);
    await handle.close();
    const quiet = await finish(spawnNfs4(["cp", big, `${server.url}/vfs/quiet`]));
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, "", "nothing on stderr when it is not a terminal");
    const shown = await finish(spawnNfs4(["cp", "--progress", big, `${server.url}/vfs/shown`]));
    assert.equal(shown.code, 0, shown.stderr);
    const lines = shown.stderr.split("\n").filter((line) => line.trim() !== "");
    assert.ok(lines.length >= 1, shown.stderr);
    assert.match(lines.at(-1)!, /\[=+\] +100% {2}67\.1 MB \/ 67\.1 MB {2}[\d.]+ [kMG]?B\/s/);
    const off = await finish(spawnNfs4(["cp", "--no-progress", big, `${server.url}/vfs/off`]));
    assert.equal(off.stderr, "");
  } finally {
    await fs.rm(local, { recursive: true, force: true });
  }
});
