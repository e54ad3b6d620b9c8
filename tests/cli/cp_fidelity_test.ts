/**
 * `nfs4 cp -a` against coreutils `cp -a`, on NFS-Ganesha's VFS export (a
 * local folder this test reads and writes directly), on 4.0 and 4.1: a tree
 * with every case (names that are not UTF-8, hard links, a file owned by
 * 4242:777 mode 0640, sticky and set-id bits, times before 1970 and to the
 * nanosecond on files, directories and symlinks, a fifo, a socket, a
 * character and a block device, absolute, relative and dangling symlinks,
 * a sparse file) is copied up (local → export), down (export → local) and
 * NFS→NFS (export → export), and each copy is compared with coreutils'
 * copy of the same tree: `find -printf '%m %u %g %n %T@ %y %l %s %b %p'`
 * (atime left out: reading changes it), device numbers, hard links sharing
 * an inode, and `cmp` of every regular file.
 *
 * One documented difference: Ganesha's VFS FSAL answers NFS4_OK to a
 * SETATTR of times on a symlink and sets nothing (vfs_setattr2(): "Setting
 * time on symlinks is illegal"). nfs4 reads the times back and warns, once
 * per symlink; the symlinks it writes to the server keep the time they were
 * created at. The test asserts exactly that.
 *
 * Smaller cases: `cp -r` without -p (sticky kept, set-id dropped, as
 * coreutils), stdin under -p (0666 less the umask), a name that is not UTF-8
 * given on the command line, owners refused to a non-root identity (a
 * warning per file, exit 0), and -L/-H/-P.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { decodeByteString, encodeByteString } from "../../lib/client/names.ts";
import { build } from "../../scripts/build.ts";
import { cpServerTest, tempDir, VERSIONS } from "./_cp.ts";
import { ROOT } from "./_spawn.ts";

/** A shell word for `text` (a byte string): every byte as `\xHH` in bash's $'…'. */
function shellWord(text: string): string {
  const hex = Array.from(encodeByteString(text), (b) => `\\x${b.toString(16).padStart(2, "0")}`);
  return `$'${hex.join("")}'`;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a bash script; arguments and output may hold any bytes (byte strings). */
async function bash(script: string, cwd = ROOT): Promise<Run> {
  const out = await new Deno.Command("bash", {
    args: ["-c", script],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", LC_ALL: "C" },
  }).output();
  return {
    code: out.code,
    stdout: decodeByteString(out.stdout),
    stderr: decodeByteString(out.stderr),
  };
}

/** `nfs4 ...args`, the arguments passed as exact bytes (through bash). */
function nfs4(args: readonly string[], stdin?: string): Promise<Run> {
  const words = args.map(shellWord).join(" ");
  const feed = stdin === undefined ? "</dev/null" : `<<< ${shellWord(stdin)}`;
  return bash(
    `umask 022 && exec ${shellWord(Deno.execPath())} run -A cli/main.ts ${words} ${feed}`,
  );
}

async function must(script: string, cwd?: string): Promise<string> {
  const r = await bash(script, cwd);
  assert.equal(r.code, 0, `${script}\n${r.stderr}`);
  return r.stdout;
}

/**
 * The tree under `root`: every case, times set last (deepest first, as
 * adding entries changes a directory's mtime).
 */
async function makeTree(root: string): Promise<void> {
  await must(`set -e
    mkdir ${shellWord(root)} && cd ${shellWord(root)}
    printf 'hello\\n' > plain
    printf 'latin\\n' > $'lat\\xe9in1'
    mkdir $'dir\\xff' && printf 'x' > $'dir\\xff/inner'
    printf 'linked\\n' > hard1 && ln hard1 hard2 && ln hard1 $'dir\\xff/hard3'
    printf 'owned\\n' > owned && chown 4242:777 owned && chmod 0640 owned
    mkdir sticky && chmod 1777 sticky
    mkdir sgid && chown 0:777 sgid && chmod 2775 sgid
    printf '#!/bin/sh\\n' > suid && chmod 4755 suid
    printf 'g' > sgidfile && chmod 2755 sgidfile
    printf 's' > stickyfile && chmod 1644 stickyfile
    mkfifo fifo && chmod 0620 fifo
    mknod null c 1 3 && mknod blk b 7 200
    python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind("sock")'
    ln -s /etc/hostname abslink && ln -s plain rellink && ln -s nowhere dangling
    ln -s $'lat\\xe9in1' $'link\\xe9'
    truncate -s 1M sparse && printf 'data' | dd of=sparse bs=1 seek=4096 conv=notrunc 2>/dev/null
    touch -d @-100.123456789 plain
    touch -d @1700000000.123456789 owned
    touch -d @1600000000.999999999 hard1
    touch -d @-1999999999.75 $'lat\\xe9in1'
    touch -d @12345.678901234 fifo
    touch -d @1000000000.000000001 null
    touch -h -d @-5000.5 rellink
    touch -h -d @1234567890.123456789 abslink
    touch -h -d @-1.000000001 $'link\\xe9'
    touch -d @1.000000001 sticky
    touch -d @-86400 sgid
    touch -d @-1.999999999 $'dir\\xff'
    touch -d @1500000000.5 .
  `);
}

/** One line per entry (atime left out): `path\tmode uid gid links mtime type target size blocks`. */
async function listing(dir: string): Promise<Map<string, string>> {
  const out = await must(
    `cd ${shellWord(dir)} && find . -printf '%p\\t%m %u %g %n %T@ %y %l %s %b\\n'`,
  );
  const map = new Map<string, string>();
  for (const line of out.split("\n")) {
    if (line === "") continue;
    const [path, rest] = line.split("\t");
    map.set(path!, rest!);
  }
  return map;
}

/** Device numbers (`major:minor`) of the devices, by path. */
async function devices(dir: string): Promise<string> {
  return await must(
    `cd ${
      shellWord(dir)
    } && find . \\( -type c -o -type b \\) -printf '%p ' -exec stat -c '%t:%T' {} \\; | sort`,
  );
}

/** Regular files of `from` that differ from (or are missing in) `to`, and how many were compared. */
async function compareFiles(from: string, to: string): Promise<{ differ: string; count: number }> {
  const out = await must(
    `cd ${shellWord(from)} && find . -type f \\( -exec cmp -s -- {} ${
      shellWord(to)
    }/{} \\; -printf 'same %p\\n' -o -printf 'DIFFERS %p\\n' \\)`,
  );
  const lines = out.split("\n").filter((l) => l !== "");
  return {
    differ: lines.filter((l) => l.startsWith("DIFFERS")).join("\n"),
    count: lines.length,
  };
}

/** Whether `a` and `b` under `dir` are the same inode. */
async function sameInode(dir: string, a: string, b: string): Promise<boolean> {
  const out = await must(`cd ${shellWord(dir)} && stat -c %i -- ${shellWord(a)} ${shellWord(b)}`);
  const [x, y] = out.trim().split("\n");
  return x === y;
}

const SYMLINKS = ["./abslink", "./dangling", "./link\udce9", "./rellink"];

/**
 * Asserts `copy` is `reference` entry for entry, field for field; with
 * `symlinkTimes` false, a symlink's mtime is not compared (the server kept
 * its own) but must differ from the source's only there.
 */
async function assertSameAsCoreutils(
  copy: string,
  reference: string,
  options: { symlinkTimes: boolean },
): Promise<void> {
  const got = await listing(copy);
  const want = await listing(reference);
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), "the same entries");
  const strip = (line: string) => line.split(" ").filter((_, i) => i !== 4).join(" ");
  for (const [path, line] of want) {
    const other = got.get(path)!;
    if (!options.symlinkTimes && SYMLINKS.includes(path)) {
      assert.equal(strip(other), strip(line), `${path} (times aside)`);
    } else {
      assert.equal(other, line, path);
    }
  }
  assert.equal(await devices(copy), await devices(reference), "device numbers");
  assert.ok(await sameInode(copy, "hard1", "hard2"), "hard1 and hard2 share an inode");
  assert.ok(await sameInode(copy, "hard1", "dir\udcff/hard3"), "hard1 and dir\\xff/hard3 too");
  const files = await compareFiles(reference, copy);
  assert.equal(files.differ, "", "every regular file byte for byte");
  assert.equal(files.count, 11);
}

/** The summary `--json` printed. */
function summaryOf(r: Run): Record<string, unknown> {
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

/** Asserts the one warning per symlink that Ganesha leaves without its times, and nothing else. */
function assertSymlinkTimeWarnings(r: Run, base: string): void {
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  const expected = ["abslink", "dangling", "link%E9", "rellink"].map((name) =>
    `nfs4: warning: ${base}/${name}: cannot preserve the times of a symlink: the server accepted them but did not set them`
  );
  assert.deepEqual(lines.sort(), expected.sort(), r.stderr);
  assert.equal(summaryOf(r).warnings, 4);
}

for (const vers of VERSIONS) {
  cpServerTest(
    `nfs4 cp --vers ${vers} -a copies like coreutils cp -a, both ways and NFS→NFS`,
    async (server, t) => {
      const local = await tempDir();
      try {
        await makeTree(`${local}/src`);
        await must(`cp -a src ref`, local);
        // The server's copy of the tree, made by coreutils directly in the export.
        await must(`cp -a ${shellWord(`${local}/src`)} ${shellWord(`${server.exportDir}/nsrc`)}`);
        const vfs = `${server.url}/vfs`;

        await t.step("local → NFS", async () => {
          const r = await nfs4(["--vers", vers, "cp", "-a", "--json", `${local}/src`, `${vfs}/up`]);
          assert.equal(r.code, 0, r.stderr);
          const summary = summaryOf(r);
          assert.deepEqual(
            [
              summary.files,
              summary.directories,
              summary.symlinks,
              summary.specials,
              summary.errors,
            ],
            [11, 4, 4, 4, 0],
          );
          assertSymlinkTimeWarnings(r, `${vfs}/up`);
          await assertSameAsCoreutils(`${server.exportDir}/up`, `${local}/ref`, {
            symlinkTimes: false,
          });
        });

        await t.step("NFS → local", async () => {
          const r = await nfs4([
            "--vers",
            vers,
            "cp",
            "-a",
            "--json",
            `${vfs}/nsrc`,
            `${local}/down`,
          ]);
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stderr, "");
          assert.equal(summaryOf(r).warnings, 0);
          // Everything, symlink times too: the local side sets them (utimensat).
          await assertSameAsCoreutils(`${local}/down`, `${local}/ref`, { symlinkTimes: true });
        });

        await t.step("NFS → NFS", async () => {
          const r = await nfs4(["--vers", vers, "cp", "-a", "--json", `${vfs}/nsrc`, `${vfs}/n2n`]);
          assert.equal(r.code, 0, r.stderr);
          assertSymlinkTimeWarnings(r, `${vfs}/n2n`);
          await assertSameAsCoreutils(`${server.exportDir}/n2n`, `${local}/ref`, {
            symlinkTimes: false,
          });
        });
      } finally {
        await fs.rm(local, { recursive: true, force: true });
      }
    },
  );
}

/** Modes and types of a tree (`%m %y %p`), sorted. */
async function modes(dir: string): Promise<string> {
  return await must(`cd ${shellWord(dir)} && find . -printf '%m %u %g %y %p\\n' | sort -k5`);
}

cpServerTest(
  "nfs4 cp -r without -p sets modes as coreutils cp -r does, both ways",
  async (server) => {
    const local = await tempDir();
    try {
      await makeTree(`${local}/src`);
      await must(`umask 022 && cp -r src ref`, local);
      const up = await bash(
        `umask 022 && exec ${shellWord(Deno.execPath())} run -A cli/main.ts cp -r ${
          shellWord(`${local}/src`)
        } ${shellWord(`${server.url}/vfs/r`)}`,
      );
      assert.equal(up.code, 0, up.stderr);
      assert.equal(up.stderr, "");
      const want = await modes(`${local}/ref`);
      // The sticky directory keeps its bit (1755), set-id bits are not copied.
      assert.match(want, /^1755 root root d \.\/sticky$/m);
      assert.equal(await modes(`${server.exportDir}/r`), want);
      const down = await bash(
        `umask 022 && exec ${shellWord(Deno.execPath())} run -A cli/main.ts cp -r ${
          shellWord(`${server.url}/vfs/r`)
        } ${shellWord(`${local}/down`)}`,
      );
      assert.equal(down.code, 0, down.stderr);
      assert.equal(await modes(`${local}/down`), want);
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  },
);

cpServerTest(
  "nfs4 cp -p - makes a file like cp: 0666 less the umask, never world-writable",
  async (server) => {
    for (const args of [["cp", "-p", "-"], ["cp", "-"]]) {
      const name = `stdin${args.length}`;
      const r = await nfs4([...args, `${server.url}/vfs/${name}`], "data");
      assert.equal(r.code, 0, r.stderr);
      const st = await fs.stat(`${server.exportDir}/${name}`);
      assert.equal((st.mode & 0o7777).toString(8), "644");
    }
  },
);

cpServerTest(
  "nfs4 cp takes a name that is not UTF-8 from the command line, both ways",
  async (server) => {
    const local = await tempDir();
    try {
      await must(`printf 'latin\\n' > $'lat\\xe9in1' && touch -d @-100.5 $'lat\\xe9in1'`, local);
      const up = await nfs4(["cp", "-p", `${local}/lat\udce9in1`, `${server.url}/vfs/`]);
      assert.equal(up.code, 0, up.stderr);
      assert.equal(
        await must(`stat -c '%s %.9Y' $'lat\\xe9in1'`, server.exportDir),
        "6 -100.500000000\n",
      );
      const down = await nfs4(["cp", "-p", `${server.url}/vfs/lat%E9in1`, `${local}/back\udce9`]);
      assert.equal(down.code, 0, down.stderr);
      assert.equal(
        await must(`cat $'back\\xe9' && stat -c '%.9Y' $'back\\xe9'`, local),
        "latin\n-100.500000000\n",
      );
      // A name that does not exist is named in the message (its bytes shown as U+FFFD).
      const missing = await nfs4(["cp", `${local}/no\udce9`, `${server.url}/vfs/`]);
      assert.equal(missing.code, 1);
      assert.equal(missing.stderr, `nfs4: ${local}/no\ufffd: No such file or directory\n`);
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  },
);

cpServerTest(
  "nfs4 cp -p warns once per file when the server refuses its owner, and goes on",
  async (server) => {
    const local = await tempDir();
    try {
      await must(
        `printf 'x' > owned && chown 4242:777 owned && chmod 4750 owned && touch -d @5.5 owned`,
        local,
      );
      const r = await nfs4([
        "--uid",
        "1000",
        "--gid",
        "1000",
        "cp",
        "-p",
        "--json",
        `${local}/owned`,
        `${server.url}/vfs/owned`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stderr,
        `nfs4: warning: ${server.url}/vfs/owned: cannot preserve ownership: Operation not permitted (NFS4ERR_PERM)\n`,
      );
      assert.equal(summaryOf(r).warnings, 1);
      // As cp: no set-user-ID bit on a file it could not give away; the times are kept.
      assert.equal(
        await must(`stat -c '%a %u %g %.9Y' owned`, server.exportDir),
        "750 1000 1000 5.500000000\n",
      );
      // In group 777, the group alone is given, as cp tries it after the pair.
      const member = await nfs4([
        "--uid",
        "1000",
        "--gid",
        "777",
        "cp",
        "-p",
        `${local}/owned`,
        `${server.url}/vfs/member`,
      ]);
      assert.equal(member.code, 0, member.stderr);
      assert.match(
        member.stderr,
        /^nfs4: warning: .*\/member: cannot preserve ownership: .*NFS4ERR_PERM\)\n$/,
      );
      assert.equal(await must(`stat -c '%a %u %g' member`, server.exportDir), "750 1000 777\n");
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  },
);

cpServerTest("nfs4 cp -L, -H and -P follow the symlinks coreutils follows", async (server) => {
  const local = await tempDir();
  try {
    await must(
      `mkdir -p d/sub && printf 'f' > d/file && ln -s file d/lf && ln -s sub d/ld && ln -s d top`,
      local,
    );
    const vfs = `${server.url}/vfs`;
    const cases: [string[], string][] = [
      [["-r"], "top:l"],
      [["-rH"], "top/ld:l top/lf:l top:d"],
      [["-rL"], "top/ld:d top/lf:f top:d"],
      [["-rL", "-P"], "top:l"],
      [["-a"], "top:l"],
    ];
    for (const [i, [flags, expected]] of cases.entries()) {
      // A fresh directory each time (one removed behind Ganesha's back would be stale).
      await fs.mkdir(`${server.exportDir}/c${i}`);
      const r = await nfs4(["cp", ...flags, `${local}/top`, `${vfs}/c${i}/`]);
      assert.equal(r.code, 0, r.stderr);
      const got = await must(
        `cd c${i} && find top -maxdepth 1 \\( -name top -o -name 'l?' \\) -printf '%p:%y\\n' | sort`,
        server.exportDir,
      );
      assert.equal(got.trim().split("\n").join(" "), expected, flags.join(" "));
    }
  } finally {
    await fs.rm(local, { recursive: true, force: true });
  }
});

cpServerTest(
  "the single binary (built by Bun) copies -a as exactly, both ways",
  async (server, t) => {
    // Bun differs from Deno where it matters here (its node:path turns a lone
    // surrogate into U+FFFD; its FFI is bun:ffi): the same comparison, run by
    // the binary.
    const local = await tempDir();
    try {
      const { outfile } = build(`${local}/nfs4`);
      const binary = (args: string[]) =>
        bash(`umask 022 && exec ${shellWord(outfile)} ${args.map(shellWord).join(" ")} </dev/null`);
      await makeTree(`${local}/src`);
      await must(`cp -a src ref`, local);
      await must(`cp -a ${shellWord(`${local}/src`)} ${shellWord(`${server.exportDir}/nsrc`)}`);
      const vfs = `${server.url}/vfs`;
      await t.step("local → NFS", async () => {
        const r = await binary(["cp", "-a", "--json", `${local}/src`, `${vfs}/up`]);
        assert.equal(r.code, 0, r.stderr);
        assertSymlinkTimeWarnings(r, `${vfs}/up`);
        await assertSameAsCoreutils(`${server.exportDir}/up`, `${local}/ref`, {
          symlinkTimes: false,
        });
      });
      await t.step("NFS → local", async () => {
        const r = await binary(["cp", "-a", "--json", `${vfs}/nsrc`, `${local}/down`]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, "");
        await assertSameAsCoreutils(`${local}/down`, `${local}/ref`, { symlinkTimes: true });
      });
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  },
);

cpServerTest(
  "without FFI a local name that is not UTF-8 is refused, by its path, never another name",
  async (server) => {
    // Deno's node:fs would reach `lat\xef\xbf\xbdin1` for `lat\xe9in1`: without
    // FFI (--deny-ffi) nfs4 says so instead, and copies the rest.
    const local = await tempDir();
    try {
      await must(`printf 'a' > $'lat\\xe9in1' && printf 'b' > plain`, server.exportDir);
      const r = await bash(
        `exec ${shellWord(Deno.execPath())} run -A --deny-ffi cli/main.ts cp -r ${
          shellWord(`${server.url}/vfs/`)
        } ${shellWord(`${local}/down`)} </dev/null`,
      );
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        `nfs4: ${local}/down/lat\ufffdin1: a name that is not UTF-8 cannot be reached without FFI (--allow-ffi)\n`,
      );
      assert.equal(await must(`ls | od -An -c | tr -s ' '`, `${local}/down`), " p l a i n \\n\n");
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  },
);

cpServerTest(
  "nfs4 cp -a again onto its own copy keeps the hard links and leaves no temporary",
  async (server) => {
    const local = await tempDir();
    try {
      await must(`printf 'linked\\n' > h1 && ln h1 h2 && ln -s h1 sl && mkfifo fifo`, local);
      const sources = ["h1", "h2", "sl", "fifo"].map((n) => `${local}/${n}`);
      await fs.mkdir(`${server.exportDir}/twice`);
      await fs.mkdir(`${local}/back`);
      for (let round = 1; round <= 2; round++) {
        const up = await nfs4(["cp", "-a", ...sources, `${server.url}/vfs/twice/`]);
        assert.equal(up.code, 0, up.stderr);
        const sources2 = ["h1", "h2", "sl", "fifo"].map((n) => `${server.url}/vfs/twice/${n}`);
        const down = await nfs4(["cp", "-a", ...sources2, `${local}/back/`]);
        assert.equal(down.code, 0, down.stderr);
        for (const dir of [`${server.exportDir}/twice`, `${local}/back`]) {
          assert.equal(await must(`ls -A`, dir), "fifo\nh1\nh2\nsl\n", `round ${round}: ${dir}`);
          assert.ok(await sameInode(dir, "h1", "h2"), `round ${round}: ${dir} h1 and h2 linked`);
        }
      }
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  },
);
