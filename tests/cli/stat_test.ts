/**
 * `nfs4 stat` as a black box against NFS-Ganesha, on NFSv4.0 and NFSv4.1:
 * `--format` output compared with GNU `stat -c` run on the same files in
 * the folder behind the export (every kind: regular, empty, directory,
 * symlink with and without -L, fifo; set-id bits, an owner with no local
 * name, times before 1970 and to the nanosecond); the default block names
 * every attribute; `--json` parses and carries the same values; errors are
 * one line naming the URL, and a URL that fails does not stop the next.
 * Plus the in-memory client for what Ganesha cannot show (unknown values).
 */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { serverTest, type TestServer } from "../_server.ts";
import { dir, file, runFake, symlink } from "./_fake.ts";
import { messageLines, nfs4, type Result } from "./_spawn.ts";

const VERSIONS = ["4.0", "4.1"] as const;
const decoder = new TextDecoder();

function ok(r: Result, what: string): Result {
  assert.equal(r.code, 0, `${what}: exit ${r.code}: ${r.stderr}`);
  assert.equal(r.stderr, "", what);
  return r;
}

/** GNU stat in `cwd` (UTC, C.UTF-8). */
function gnuStat(args: string[], cwd: string): string {
  const out = new Deno.Command("stat", {
    args,
    cwd,
    env: { LC_ALL: "C.UTF-8", TZ: "UTC" },
  }).outputSync();
  assert.equal(out.code, 0, `stat ${args.join(" ")}: ${decoder.decode(out.stderr)}`);
  return decoder.decode(out.stdout);
}

function run(cwd: string, cmd: string, ...args: string[]): void {
  const out = new Deno.Command(cmd, { args, cwd }).outputSync();
  assert.equal(out.code, 0, `${cmd} ${args.join(" ")}: ${decoder.decode(out.stderr)}`);
}

/** The objects of the table, in the folder behind the export. */
const NAMES = ["file", "empty", "dir", "link", "dirlink", "fifo", "setid", "stranger", "old"];

function makeTree(root: string): void {
  fs.writeFileSync(path.join(root, "file"), "hello, world\n");
  fs.writeFileSync(path.join(root, "empty"), "");
  fs.mkdirSync(path.join(root, "dir"));
  fs.writeFileSync(path.join(root, "dir", "inner"), "x".repeat(10000));
  fs.symlinkSync("file", path.join(root, "link"));
  fs.symlinkSync("dir", path.join(root, "dirlink"));
  run(root, "mkfifo", "fifo");
  fs.writeFileSync(path.join(root, "setid"), "#!/bin/sh\n");
  fs.chmodSync(path.join(root, "setid"), 0o6755);
  fs.writeFileSync(path.join(root, "stranger"), "x".repeat(5000));
  fs.chownSync(path.join(root, "stranger"), 1234, 4321); // no such user or group here
  fs.writeFileSync(path.join(root, "old"), "old\n");
  run(root, "touch", "-d", "2001-02-03 04:05:06.007008009", "file");
  run(root, "touch", "-d", "1999-12-31 23:59:59.999999999", "dir");
  run(root, "touch", "-d", "1969-12-31 23:59:59.25", "old"); // -0.75 s
  run(root, "touch", "-d", "1960-06-15 12:00:00", "fifo");
  // The client reads symlinks (READLINK), which updates their atime unless
  // it is already after their mtime and ctime (relatime): in the future, it
  // stays what GNU stat then sees.
  run(root, "touch", "-h", "-d", "2030-01-01 00:00:00.000000001", "link", "dirlink");
  run(root, "touch", "-h", "-a", "-d", "2031-01-01 00:00:00.5", "link", "dirlink");
}

/**
 * Formats compared with GNU stat byte for byte. Not in them, because they
 * cannot be the same through NFS (each is checked on its own below):
 * %n %N (the URL instead of the local name), %d %D %Hd %Ld (the server's
 * fsid, not the local st_dev), %o (the I/O size of an NFS mount, not the
 * local st_blksize), %m (the export's path, not the local mount point),
 * %W %w (this server does not support time_create; the local statx has a
 * birth time), %C (SELinux).
 */
const FORMATS: readonly string[] = [
  "%s|%b|%B|%f|%F|%a|%A|%h|%u|%U|%g|%G|%i|%t|%T|%r|%R|%Hr|%Lr",
  "%X|%Y|%Z|%x|%y|%z",
  "%.X|%.9Y|%.3Z|%-15.3Y|%015.3Y|%+.1X|%12.Y",
  "%-8a|%#a|%+5s|%.3s|%#f|%-10h|%010U|%5u|%.3x|%%|%j",
];

serverTest(
  "stat -c prints what GNU stat -c prints of the same files, on 4.0 and 4.1",
  async (server) => {
    const root = server.exportDir;
    makeTree(root);
    const urls = NAMES.map((name) => `${server.url}/vfs/${name}`);
    for (const vers of VERSIONS) {
      for (const follow of [[], ["-L"]]) {
        for (const format of FORMATS) {
          const what = `--vers ${vers} stat ${follow.join(" ")} -c '${format}'`;
          const gnu = gnuStat([...follow, "-c", format, ...NAMES], root);
          const ours = ok(
            await nfs4(["--vers", vers, "stat", ...follow, "-c", format, ...urls], { TZ: "UTC" }),
            what,
          );
          assert.equal(ours.stdout, gnu, what);
        }
        // %n is the URL as typed; %N quotes it and adds a symlink's target as GNU does.
        const what = `--vers ${vers} stat ${follow.join(" ")} -c '%n|%N'`;
        const gnu = gnuStat([...follow, "-c", "%N", ...NAMES], root).split("\n");
        const ours = ok(
          await nfs4(["--vers", vers, "stat", ...follow, "-c", "%n|%N", ...urls]),
          what,
        );
        const expected = NAMES.map((name, i) => {
          const rest = gnu[i]!.slice(`'${name}'`.length);
          return `${urls[i]}|'${urls[i]}'${rest}\n`;
        }).join("");
        assert.equal(ours.stdout, expected, what);
      }
    }
  },
);

serverTest("stat -c: what cannot be the local value is the NFS one", async (server) => {
  makeTree(server.exportDir);
  const url = `${server.url}/vfs/file`;
  for (const vers of VERSIONS) {
    const json = JSON.parse(ok(await nfs4(["--vers", vers, "stat", "--json", url]), "json").stdout);
    const a = json.attributes;
    const r = ok(await nfs4(["--vers", vers, "stat", "-c", "%Hd|%Ld|%o|%m|%W|%w|%C", url]), vers);
    // The fsid as every --json writes it: "major:minor".
    const [major, minor] = (a.fsid as string).split(":");
    const io = Math.min(Number(a.maxwrite), 1 << 20);
    // No time_create on this server: 0 and -, as GNU stat prints an unknown birth.
    assert.deepEqual(a.time_create, undefined);
    assert.ok(json.not_supported.includes("time_create"));
    assert.equal(r.stdout, `${major}|${minor}|${io}|/vfs|0|-|?\n`);
    // -t: GNU's terse line, its device and I/O fields from the same NFS values.
    const terse = ok(await nfs4(["--vers", vers, "stat", "-t", url]), "terse").stdout.split(" ");
    const gnu = gnuStat(["-t", "file"], server.exportDir).split(" ");
    assert.equal(terse[0], url);
    assert.deepEqual(terse.slice(1, 6), gnu.slice(1, 6), "size blocks mode uid gid");
    assert.deepEqual(terse.slice(7, 14), gnu.slice(7, 14), "inode links major minor times");
    assert.equal(terse[14], "0"); // %W
    assert.equal(terse[15], `${io}\n`);
  }
});

const LISTED = [
  "type",
  "mode",
  "numlinks",
  "owner",
  "owner_group",
  "size",
  "space_used",
  "fileid",
  "fsid",
  "mounted_on_fileid",
  "change",
  "time_access",
  "time_modify",
  "time_metadata",
  "time_create",
  "filehandle",
  "maxread",
  "maxwrite",
  "maxfilesize",
  "maxname",
  "lease_time",
  "fh_expire_type",
  "supported_attrs",
  "aclsupport",
  "fs_locations",
  "space_total",
  "space_free",
  "space_avail",
  "files_total",
  "files_free",
  "files_avail",
];

/** `name value` lines of the default block, by name. */
function blockLines(text: string): Map<string, string> {
  const lines = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^ {2}([a-z_0-9]+) +(.*)$/.exec(line);
    if (m) lines.set(m[1]!, m[2]!);
  }
  return lines;
}

serverTest(
  "stat: the default block names every attribute; --json carries the same",
  async (server) => {
    makeTree(server.exportDir);
    const local = fs.statSync(path.join(server.exportDir, "file"));
    const url = `${server.url}/vfs/file`;
    for (const vers of VERSIONS) {
      const r = ok(await nfs4(["--vers", vers, "stat", url], { TZ: "UTC" }), `${vers} stat`);
      const text = r.stdout;
      assert.match(text, new RegExp(`^File: ${url}\nPath: /vfs/file\nObject:\n`));
      assert.match(text, /\nTimes:\n/);
      assert.match(text, /\nFile system:\n/);
      const lines = blockLines(text);
      for (const name of LISTED) assert.ok(lines.has(name), `${vers}: ${name} in\n${text}`);
      assert.equal(lines.get("type"), "1 (NF4REG, regular file)");
      assert.equal(lines.get("mode"), "0644 (-rw-r--r--)");
      assert.equal(lines.get("numlinks"), "1");
      assert.equal(lines.get("owner"), "0 (uid 0, user root)");
      assert.equal(lines.get("owner_group"), "0 (gid 0, group root)");
      assert.equal(lines.get("size"), "13");
      assert.equal(lines.get("space_used"), String(local.blocks * 512));
      assert.equal(lines.get("fileid"), String(local.ino));
      assert.equal(
        lines.get("time_modify"),
        "981173106.007008009 (2001-02-03 04:05:06.007008009 +0000)",
      );
      // What this server does not support, and what it supports but did not give.
      assert.equal(lines.get("time_create"), "not supported");
      assert.equal(lines.get("acl"), "not supported");
      assert.match(lines.get("fs_locations")!, /^(unknown|fs_root .*)$/);
      assert.match(lines.get("lease_time")!, /^[1-9][0-9]*$/);
      assert.match(lines.get("filehandle")!, /^[0-9a-f]+$/);

      const jsonText = ok(await nfs4(["--vers", vers, "stat", "--json", url]), "json").stdout;
      const json = JSON.parse(jsonText);
      assert.equal(json.url, url);
      assert.equal(json.path, "/vfs/file");
      assert.equal(json.type, "file");
      assert.equal(json.filehandle, lines.get("filehandle"));
      const a = json.attributes;
      assert.equal(a.size, 13);
      // An identifier: a decimal string, whatever its size.
      assert.equal(a.fileid, String(local.ino));
      assert.equal(a.mode, 0o644);
      assert.equal(a.owner, "0");
      assert.deepEqual(a.time_modify, { seconds: 981173106, nseconds: 7008009 });
      // A size is a number, with all its digits also above 2^53 - 1 (Ganesha's is 2^63 - 1).
      assert.equal(typeof a.maxfilesize, "number");
      assert.ok(jsonText.includes(`"maxfilesize": ${lines.get("maxfilesize")},`), jsonText);
      assert.ok(Array.isArray(a.supported_attrs) && a.supported_attrs.includes("time_modify"));
      assert.deepEqual(json.ids, { uid: 0, user: "root", gid: 0, group: "root" });
      assert.ok(json.supported.includes("size"));
      assert.ok(Array.isArray(json.unknown));
      for (const name of LISTED.filter((n) => n !== "filehandle")) {
        const known = name in a || json.unknown.includes(name) || json.not_supported.includes(name);
        assert.ok(known, `${name} in --json`);
      }

      // Several URLs: an array, one object each, in order.
      const both = JSON.parse(
        ok(await nfs4(["--vers", vers, "stat", "--json", url, `${server.url}/vfs/link`]), "two")
          .stdout,
      );
      assert.equal(both.length, 2);
      assert.equal(both[1].type, "symlink");
      assert.equal(both[1].target, "file");
      const followed = JSON.parse(
        ok(await nfs4(["--vers", vers, "stat", "-L", "--json", `${server.url}/vfs/link`]), "-L")
          .stdout,
      );
      assert.equal(followed.type, "file");
      assert.equal(followed.attributes.fileid, String(local.ino));
    }
  },
);

serverTest(
  "stat: errors name the URL on one line and the next URL is still shown",
  async (server) => {
    makeTree(server.exportDir);
    fs.mkdirSync(path.join(server.exportDir, "private"), { mode: 0o700 });
    fs.writeFileSync(path.join(server.exportDir, "private", "f"), "secret");
    fs.symlinkSync("nowhere", path.join(server.exportDir, "dangling"));
    const u = `${server.url}/vfs`;
    for (const vers of VERSIONS) {
      const v = ["--vers", vers];
      const missing = await nfs4([...v, "stat", "-c", "%s", `${u}/missing`, `${u}/file`]);
      assert.equal(missing.code, 1);
      assert.equal(missing.stdout, "13\n");
      assert.deepEqual(messageLines(missing.stderr), [
        `nfs4: ${u}/missing: No such file or directory (NFS4ERR_NOENT)`,
      ]);

      const block = await nfs4([...v, "stat", `${u}/file`, `${u}/missing`, `${u}/empty`]);
      assert.equal(block.code, 1);
      assert.match(block.stdout, new RegExp(`^File: ${u}/file\n[^]*\n\nFile: ${u}/empty\n`));
      assert.equal(messageLines(block.stderr).length, 1);

      const notDir = await nfs4([...v, "stat", "-c", "%F", `${u}/file/`, `${u}/dirlink/`]);
      assert.equal(notDir.code, 1);
      assert.equal(notDir.stdout, "directory\n", "a symlink to a directory, followed for the /");
      assert.deepEqual(messageLines(notDir.stderr), [
        `nfs4: ${u}/file/: Not a directory (NFS4ERR_NOTDIR)`,
      ]);

      const dangling = await nfs4([...v, "stat", "-L", "-c", "%F", `${u}/dangling`]);
      assert.equal(dangling.code, 1);
      assert.deepEqual(messageLines(dangling.stderr), [
        `nfs4: ${u}/dangling: No such file or directory (NFS4ERR_NOENT)`,
      ]);
      const unfollowed = ok(await nfs4([...v, "stat", "-c", "%F %N", `${u}/dangling`]), "dangling");
      assert.equal(unfollowed.stdout, `symbolic link '${u}/dangling' -> 'nowhere'\n`);

      const denied = await nfs4([...v, "--uid", "1000", "--gid", "1000", "stat", `${u}/private/f`]);
      assert.equal(denied.code, 1);
      assert.deepEqual(messageLines(denied.stderr), [
        `nfs4: ${u}/private/f: Permission denied (NFS4ERR_ACCESS)`,
      ]);
      assert.equal(denied.stdout, "");

      const jsonMissing = await nfs4([...v, "stat", "--json", `${u}/missing`, `${u}/file`]);
      assert.equal(jsonMissing.code, 1);
      const parsed = JSON.parse(jsonMissing.stdout);
      assert.equal(parsed.length, 1);
      assert.equal(parsed[0].path, "/vfs/file");
    }
  },
);

serverTest(
  "stat: usage errors exit 2; of -c and --printf the last wins",
  async (server: TestServer) => {
    const url = `${server.url}/vfs`;
    const bad = await nfs4(["stat", "-c", "%5%", url]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /'%5%': invalid directive/);
    const both = await nfs4(["stat", "--json", "-c", "%s", url]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--json cannot be combined/);
    const printf = ok(await nfs4(["stat", "--printf", "%F\\t%a\\n", url]), "printf");
    assert.equal(printf.stdout, gnuStat(["--printf", "%F\\t%a\\n", "."], server.exportDir));
    // The last of -c and --printf wins, as in GNU stat.
    const last = ok(await nfs4(["stat", "--printf", "x", "-c", "%F", url]), "last");
    assert.equal(last.stdout, "directory\n");
  },
);

Deno.test("stat: unknown and unsupported attributes are shown as such, never fatal", async () => {
  const world = {
    servers: {
      "srv:2049": dir({ vfs: dir({ a: file("abc"), l: symlink("a") }) }),
    },
  };
  const r = await runFake(["stat", "nfs://srv/vfs/a", "nfs://srv/vfs/l"], world);
  assert.equal(r.code, 0, r.stderr);
  const lines = blockLines(r.stdout.split("\n\n")[0]!);
  assert.equal(lines.get("size"), "3");
  assert.equal(lines.get("time_modify"), "not supported");
  assert.equal(lines.get("fsid"), "not supported");
  // (The in-memory client gives no symlink target with attributes().)
  assert.match(
    r.stdout,
    /\n\nFile: nfs:\/\/srv\/vfs\/l\n[^]*\n {2}type {17}5 \(NF4LNK, symbolic link\)\n/,
  );
  const formatted = await runFake(
    ["stat", "-c", "%s|%h|%U|%Y|%y|%W|%w|%d", "nfs://srv/vfs/a"],
    world,
  );
  assert.equal(formatted.stdout, "3|?|?|?|?|0|-|?\n");
  const json = await runFake(["stat", "--json", "nfs://srv/vfs/a"], world);
  const parsed = JSON.parse(json.stdout);
  assert.equal(parsed.attributes.size, 3);
  assert.ok(parsed.not_supported.includes("time_modify"));
  assert.equal(r.log.clientsClosed, 1);
});
