/**
 * `nfs4 ls` against NFS-Ganesha, on NFSv4.0 and NFSv4.1, compared byte for
 * byte with GNU coreutils `ls` run on the folder behind the `/vfs` export
 * (LC_ALL=C.UTF-8, TZ=UTC): piped for many option combinations (names that
 * are not UTF-8 come out as their exact bytes), and on a terminal (both
 * under script(1): shell-escape quoting, columns). Also `--json`'s
 * name_bytes and target_bytes, and URLs ending in `/` (a symlink to a
 * directory is followed; a file is "Not a directory").
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { decodeByteString } from "../../lib/client/names.ts";
import { serverTest } from "../_server.ts";
import {
  bytesOf,
  coreutilsLs,
  createDir,
  createFile,
  createSymlink,
  hasScript,
  LS_ENV,
  withoutCarriageReturns,
} from "./_coreutils.ts";
import { nfs4, ROOT } from "./_spawn.ts";

const VERSIONS = ["4.0", "4.1"] as const;

/** Runs a local program; fails the test when it fails. */
async function run(program: string, args: string[], cwd?: string): Promise<void> {
  const out = await new Deno.Command(program, {
    args,
    ...(cwd !== undefined ? { cwd } : {}),
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(out.success, `${program} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

/** The bytes of the file named lat\xe9in1 (not UTF-8 either). */
const LATIN = bytesOf("caf", 0xe9, " au lait\n", 0xff, 0x00);

/**
 * A folder with every kind of entry and awkward names: bytes that are not
 * UTF-8, spaces, quotes, control characters; sizes for -h and -S; a sparse
 * 5 GiB file; directories (one sticky), symlinks (to a directory, to a
 * name that is not UTF-8, dangling), a FIFO, a character device, hard
 * links, a file of another uid and gid, an old file, a dotfile.
 */
async function makeFixture(dir: string): Promise<void> {
  await Deno.mkdir(dir);
  const sizes: [string, number][] = [
    ["empty", 0],
    ["one", 1],
    ["k1023", 1023],
    ["k1025", 1025],
    ["k10240", 10240],
    ["m1", 1048577],
  ];
  for (const [name, size] of sizes) createFile([dir, "/", name], new Uint8Array(size).fill(0x61));
  createFile([dir, "/lat", 0xe9, "in1"], LATIN);
  createFile([dir, "/", 0xff, 0xfe], bytesOf("ff fe\n"));
  createFile([dir, "/café"], bytesOf("café\n"));
  createFile([dir, "/a b"], bytesOf("ab"));
  createFile([dir, "/it's"], bytesOf("it"));
  createFile([dir, "/tab\there"], bytesOf("tab"));
  createFile([dir, "/esc\x1bx"], bytesOf("esc"));
  createFile([dir, "/at@x"], bytesOf("@"));
  createFile([dir, "/run.sh"], bytesOf("#!/bin/sh\n"), 0o755);
  createFile([dir, "/setuid"], bytesOf("s"), 0o4755);
  createFile([dir, "/.dot"], bytesOf(".."));
  createFile([dir, "/theirs"], bytesOf("t"), 0o640);
  await Deno.chown(`${dir}/theirs`, 1234, 5678);
  createFile([dir, "/old"], bytesOf("old"));
  await Deno.utime(
    `${dir}/old`,
    new Date("2001-02-03T04:05:06Z"),
    new Date("2001-02-03T04:05:06Z"),
  );
  createFile([dir, "/hard"], bytesOf("hh"));
  await Deno.link(`${dir}/hard`, `${dir}/hard2`);
  await Deno.writeFile(`${dir}/sparse`, new Uint8Array(0));
  await Deno.truncate(`${dir}/sparse`, 5 * 2 ** 30 + 3);
  createDir([dir, "/sub"]);
  createFile([dir, "/sub/inside"], bytesOf("in"));
  createDir([dir, "/sticky"], 0o1777);
  await Deno.chmod(`${dir}/sticky`, 0o1777);
  createDir([dir, "/d", 0xe9]);
  createFile([dir, "/d", 0xe9, "/f"], bytesOf("in a directory not named in UTF-8\n"));
  createSymlink(["sub"], [dir, "/dirlink"]);
  createSymlink(["lat", 0xe9, "in1"], [dir, "/link", 0xe9]);
  createSymlink(["nowhere"], [dir, "/dangling"]);
  await run("mkfifo", [`${dir}/fifo`]);
  await run("mknod", [`${dir}/null`, "c", "1", "3"]);
  // Once, so that atimes that a first read would move (relatime) stay put.
  await coreutilsLs(["-lRa"], dir);
}

/** `nfs4 ls ARGS URL` piped: code, stdout bytes, stderr. */
function nfs4Ls(vers: string, args: string[], url: string) {
  return nfs4(["ls", "--vers", vers, ...args, url], LS_ENV);
}

/** `nfs4 ls` on a terminal of `columns` columns, under script(1). */
async function nfs4LsOnTty(vers: string, args: string[], url: string, columns = 80) {
  const words = [
    Deno.execPath(),
    "run",
    "-A",
    `${ROOT}cli/main.ts`,
    "ls",
    "--vers",
    vers,
    ...args,
    url,
  ]
    .map((w) => `'${w.replaceAll("'", `'\\''`)}'`);
  const out = await new Deno.Command("script", {
    args: ["-qfc", `stty cols ${columns}; exec ${words.join(" ")}`, "/dev/null"],
    cwd: ROOT,
    env: { ...LS_ENV, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
  }).output();
  return withoutCarriageReturns(out.stdout);
}

/** Bytes as text for assertion messages: escapes shown. */
function show(data: Uint8Array): string {
  return decodeByteString(data);
}

const PIPED_OPTIONS = [
  [],
  ["-1"],
  ["-l"],
  ["-lh"],
  ["-n"],
  ["-t"],
  ["-S"],
  ["-S", "-r"],
  ["-r"],
  ["-A"],
  ["-a"],
  ["-F"],
  ["-i"],
  ["-li"],
  ["-lF"],
  ["-la"],
  ["-lS"],
  ["-ltr"],
  ["-lA", "--full-time"],
  ["-l", "--time-style=long-iso"],
  ["-l", "--time-style=iso"],
  ["-l", "--time-style=+%s.%N"],
  ["-lc"],
  ["-lu"],
  ["-ltc"],
  ["-b"],
  ["-Q"],
  ["-q"],
  ["-p"],
  ["--file-type"],
  ["-U"],
  ["-C", "-w", "70"],
  ["-lhiF", "--quoting-style=shell-escape"],
];

for (const vers of VERSIONS) {
  serverTest(
    `nfs4 ls --vers ${vers} piped prints what coreutils ls prints on the exported folder, byte for byte`,
    async (server) => {
      const dir = `${server.exportDir}/t`;
      await makeFixture(dir);
      const url = `${server.url}/vfs/t`;
      for (const args of PIPED_OPTIONS) {
        const ours = await nfs4Ls(vers, args, url);
        assert.equal(ours.code, 0, `ls ${args.join(" ")}: ${ours.stderr}`);
        assert.equal(ours.stderr, "");
        // -T0: coreutils would otherwise align -C columns with tabs.
        const expected = await coreutilsLs(args.includes("-C") ? ["-T0", ...args] : args, dir);
        assert.equal(show(ours.bytes), show(expected), `ls ${args.join(" ")}`);
        assert.deepEqual(ours.bytes, expected, `ls ${args.join(" ")} (bytes)`);
      }
    },
  );

  serverTest(
    `nfs4 ls --vers ${vers} on a terminal quotes and lays out names as coreutils ls does`,
    async (server) => {
      const dir = `${server.exportDir}/t`;
      await makeFixture(dir);
      const url = `${server.url}/vfs/t`;
      for (const args of [[], ["-l"], ["-F"], ["-lh"], ["-i"], ["-N"], ["-1"], ["-lF", "-Q"]]) {
        const ours = await nfs4LsOnTty(vers, args, url, 90);
        const expected = await coreutilsLs(["-T0", ...args], dir, { tty: true, columns: 90 });
        assert.equal(show(ours), show(expected), `ls ${args.join(" ")} on a terminal`);
      }
      // Not two empty outputs: the terminal default quotes as the shell would.
      const plain = show(await nfs4LsOnTty(vers, [], url, 90));
      assert.match(plain, /'lat'\$'\\351''in1'/);
      assert.match(plain, / café /);
      assert.ok(plain.isWellFormed(), "nothing but text on the terminal");
    },
    { ignore: !hasScript },
  );

  serverTest(
    `nfs4 ls --vers ${vers} --json carries the exact bytes of names and targets that are not UTF-8`,
    async (server) => {
      const dir = `${server.exportDir}/t`;
      await makeFixture(dir);
      const url = `${server.url}/vfs/t`;
      const r = await nfs4Ls(vers, ["--json", "-A"], url);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.isWellFormed());
      // deno-lint-ignore no-explicit-any
      const records: any[] = r.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
      const exact = (record: { name: string; name_bytes?: string }) =>
        record.name_bytes === undefined
          ? bytesOf(record.name)
          : new Uint8Array(Buffer.from(record.name_bytes, "base64"));
      // The names coreutils reads from the folder, as bytes.
      const local = decodeByteString(await coreutilsLs(["-A", "--zero"], dir)).split("\0")
        .slice(0, -1);
      assert.deepEqual(records.map((rec) => decodeByteString(exact(rec))), local);
      const latin = records.find((rec) => rec.url === `${url}/lat%E9in1`);
      assert.equal(latin.name, "lat\ufffdin1");
      assert.deepEqual(exact(latin), bytesOf("lat", 0xe9, "in1"));
      assert.deepEqual(
        new Uint8Array(Buffer.from(latin.path_bytes, "base64")),
        bytesOf("/vfs/t/lat", 0xe9, "in1"),
      );
      const link = records.find((rec) => rec.url === `${url}/link%E9`);
      assert.deepEqual(
        new Uint8Array(Buffer.from(link.target_bytes, "base64")),
        bytesOf("lat", 0xe9, "in1"),
      );
      assert.equal(link.target, "lat\ufffdin1");
      const cafe = records.find((rec) => rec.name === "café");
      assert.equal("name_bytes" in cafe, false, "valid UTF-8 needs no bytes");
      // Each record's URL names that file.
      const again = await nfs4Ls(vers, ["--json"], latin.url);
      assert.equal(JSON.parse(again.stdout).size, LATIN.length);
    },
  );

  serverTest(
    `nfs4 ls --vers ${vers} URL/ follows a symlink to a directory; a file there is Not a directory`,
    async (server) => {
      const dir = `${server.exportDir}/t`;
      await makeFixture(dir);
      const url = `${server.url}/vfs/t`;
      for (const args of [[], ["-l"], ["-la"], ["-F"]]) {
        for (const name of ["dirlink/", "dirlink/.", "sub/"]) {
          const ours = await nfs4Ls(vers, args, `${url}/${name}`);
          assert.equal(ours.code, 0, ours.stderr);
          const expected = await coreutilsLs([...args, name], dir);
          assert.equal(show(ours.bytes), show(expected), `ls ${args.join(" ")} ${name}`);
        }
      }
      // -d and -l list the directory itself, named as typed.
      const ld = await nfs4Ls(vers, ["-ld"], `${url}/dirlink/`);
      const expected = show(await coreutilsLs(["-ld", "dirlink/"], dir));
      assert.equal(ld.stdout, expected.replace(/dirlink\/\n$/, `${url}/dirlink/\n`));
      assert.match(ld.stdout, /^drwx/);
      const link = await nfs4Ls(vers, ["-ld"], `${url}/dirlink`);
      assert.match(link.stdout, /^lrwxrwxrwx .* -> sub\n$/);

      for (const name of ["one/", "one/.", "lat%E9in1/", "link%E9/", "null/"]) {
        const r = await nfs4Ls(vers, ["-l"], `${url}/${name}`);
        assert.equal(r.code, 1, name);
        assert.equal(r.stderr, `nfs4: ${url}/${name}: Not a directory (NFS4ERR_NOTDIR)\n`);
        assert.equal(r.stdout, "");
      }
      const dangling = await nfs4Ls(vers, [], `${url}/dangling/`);
      assert.equal(dangling.code, 1);
      assert.equal(
        dangling.stderr,
        `nfs4: ${url}/dangling/: No such file or directory (NFS4ERR_NOENT)\n`,
      );
      // The others are still listed.
      const mixed = await nfs4(["ls", "--vers", vers, `${url}/one/`, `${url}/one`], LS_ENV);
      assert.equal(mixed.code, 1);
      assert.equal(mixed.stdout, `${url}/one\n`);
    },
  );
}
