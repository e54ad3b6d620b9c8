/**
 * `nfs4 ls` end to end in-process, against an in-memory client: output
 * layout as coreutils ls prints it, operands, recursion, errors and exit codes.
 */

import assert from "node:assert/strict";
import { dir, type FakeNode, FakeStream, file, runFake, symlink } from "./_fake.ts";

function tree(): FakeNode {
  return dir({
    vfs: dir({
      "b.txt": file("hello\n"),
      "a.txt": file("x"),
      ".hidden": file("h"),
      sub: dir({
        "inner.txt": file("i"),
        deep: dir({ z: file("zz") }),
      }),
      link: symlink("a.txt"),
      dirlink: symlink("sub"),
      dangling: symlink("nowhere"),
      "sp ace": file("s"),
      null: { kind: "char", rdev: { major: 1, minor: 3 } },
    }),
  });
}

const world = () => ({ servers: { "srv:2049": tree() } });

Deno.test("ls lists a directory one name per line, sorted, without dotfiles", async () => {
  const r = await runFake(["ls", "nfs://srv/vfs"], world());
  assert.equal(r.stderr, "");
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "a.txt\nb.txt\ndangling\ndirlink\nlink\nnull\nsp ace\nsub\n");
  assert.equal(r.log.clientsClosed, 1, "the client is closed");
});

Deno.test("ls -a adds dotfiles, . and ..", async () => {
  const r = await runFake(["ls", "-a", "nfs://srv/vfs/sub"], world());
  assert.equal(r.stdout, ".\n..\ndeep\ninner.txt\n");
  const all = await runFake(["ls", "-a", "nfs://srv/vfs"], world());
  assert.match(all.stdout, /^\.\n\.\.\n\.hidden\na\.txt\n/);
});

Deno.test("ls -l prints a total and coreutils-style rows", async () => {
  const r = await runFake(["ls", "-l", "nfs://srv/vfs"], world());
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    [
      "total 28",
      "-rw-r--r-- 1 1000 1000    1 Nov 20 12:00 a.txt",
      "-rw-r--r-- 1 1000 1000    6 Nov 20 12:00 b.txt",
      "lrwxrwxrwx 1 1000 1000    7 Nov 20 12:00 dangling -> nowhere",
      "lrwxrwxrwx 1 1000 1000    3 Nov 20 12:00 dirlink -> sub",
      "lrwxrwxrwx 1 1000 1000    5 Nov 20 12:00 link -> a.txt",
      "crw-r--r-- 1 1000 1000 1, 3 Nov 20 12:00 null",
      "-rw-r--r-- 1 1000 1000    1 Nov 20 12:00 sp ace",
      "drwxr-xr-x 2 1000 1000 4096 Nov 20 12:00 sub",
      "",
    ].join("\n"),
  );
  // -n implies -l.
  const n = await runFake(["ls", "-n", "nfs://srv/vfs"], world());
  assert.equal(n.stdout, r.stdout);
});

Deno.test("ls -la shows . and .. with their own attributes", async () => {
  const world = {
    servers: {
      "srv:2049": dir({ d: dir({ f: file("1") }, { nlink: 3, mode: 0o700 }) }, { nlink: 9 }),
    },
  };
  const r = await runFake(["ls", "-la", "nfs://srv/d"], world);
  assert.equal(
    r.stdout,
    [
      "total 12",
      "drwx------ 3 1000 1000 4096 Nov 20 12:00 .",
      "drwxr-xr-x 9 1000 1000 4096 Nov 20 12:00 ..",
      "-rw-r--r-- 1 1000 1000    1 Nov 20 12:00 f",
      "",
    ].join("\n"),
  );
});

Deno.test("ls -d lists the directory itself, named as typed", async () => {
  const r = await runFake(["ls", "-d", "nfs://srv/vfs/"], world());
  assert.equal(r.stdout, "nfs://srv/vfs/\n");
  const l = await runFake(["ls", "-ld", "nfs://srv:2049/vfs/sub"], world());
  assert.equal(l.stdout, "drwxr-xr-x 2 1000 1000 4096 Nov 20 12:00 nfs://srv:2049/vfs/sub\n");
});

Deno.test("ls of a file lists the file itself", async () => {
  const r = await runFake(["ls", "nfs://srv/vfs/a.txt"], world());
  assert.equal(r.stdout, "nfs://srv/vfs/a.txt\n");
  const l = await runFake(["ls", "-l", "nfs://srv/vfs/link"], world());
  assert.equal(l.stdout, "lrwxrwxrwx 1 1000 1000 5 Nov 20 12:00 nfs://srv/vfs/link -> a.txt\n");
});

Deno.test("ls follows a symlink to a directory named on the command line, except with -l or -d", async () => {
  const plain = await runFake(["ls", "nfs://srv/vfs/dirlink"], world());
  assert.equal(plain.stdout, "deep\ninner.txt\n");
  const long = await runFake(["ls", "-l", "nfs://srv/vfs/dirlink"], world());
  assert.match(long.stdout, /^lrwxrwxrwx .* nfs:\/\/srv\/vfs\/dirlink -> sub\n$/);
  const d = await runFake(["ls", "-d", "nfs://srv/vfs/dirlink"], world());
  assert.equal(d.stdout, "nfs://srv/vfs/dirlink\n");
  const dangling = await runFake(["ls", "nfs://srv/vfs/dangling"], world());
  assert.equal(dangling.stdout, "nfs://srv/vfs/dangling\n");
  assert.equal(dangling.code, 0);
});

Deno.test("ls with several operands: files first, then each directory under a heading", async () => {
  const r = await runFake(
    [
      "ls",
      "nfs://srv/vfs/sub",
      "nfs://srv/vfs/b.txt",
      "nfs://srv/vfs/sub/deep",
      "nfs://srv/vfs/a.txt",
    ],
    world(),
  );
  assert.equal(
    r.stdout,
    [
      "nfs://srv/vfs/a.txt",
      "nfs://srv/vfs/b.txt",
      "",
      "nfs://srv/vfs/sub:",
      "deep",
      "inner.txt",
      "",
      "nfs://srv/vfs/sub/deep:",
      "z",
      "",
    ].join("\n"),
  );
  assert.equal(r.log.calls.filter((c) => c.startsWith("connect")).length, 1, "one connection");
});

Deno.test("ls -R lists subdirectories depth first with headings", async () => {
  const r = await runFake(["ls", "-R", "nfs://srv/vfs"], world());
  assert.equal(
    r.stdout,
    [
      "nfs://srv/vfs:",
      "a.txt",
      "b.txt",
      "dangling",
      "dirlink",
      "link",
      "null",
      "sp ace",
      "sub",
      "",
      "nfs://srv/vfs/sub:",
      "deep",
      "inner.txt",
      "",
      "nfs://srv/vfs/sub/deep:",
      "z",
      "",
    ].join("\n"),
  );
  const long = await runFake(["ls", "-lR", "nfs://srv/vfs/sub/"], world());
  assert.equal(
    long.stdout,
    [
      "nfs://srv/vfs/sub/:",
      "total 8",
      "drwxr-xr-x 2 1000 1000 4096 Nov 20 12:00 deep",
      "-rw-r--r-- 1 1000 1000    1 Nov 20 12:00 inner.txt",
      "",
      "nfs://srv/vfs/sub/deep:",
      "total 4",
      "-rw-r--r-- 1 1000 1000 2 Nov 20 12:00 z",
      "",
    ].join("\n"),
  );
});

Deno.test("ls -R headings percent-encode awkward names", async () => {
  const world = { servers: { "h:2049": dir({ "a b": dir({ "c?d": dir({}) }) }) } };
  const r = await runFake(["ls", "-R", "nfs://h/"], world);
  assert.equal(
    r.stdout,
    "nfs://h/:\na b\n\nnfs://h/a%20b:\nc?d\n\nnfs://h/a%20b/c%3Fd:\n",
  );
});

Deno.test("ls reports a missing URL on one line, lists the rest and exits 1", async () => {
  const r = await runFake(["ls", "nfs://srv/vfs/nope", "nfs://srv/vfs/sub"], world());
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "nfs4: nfs://srv/vfs/nope: No such file or directory (NFS4ERR_NOENT)\n");
  // Two operands: the directory gets a heading, as with `ls missing dir`.
  assert.equal(r.stdout, "nfs://srv/vfs/sub:\ndeep\ninner.txt\n");
});

Deno.test("ls reports an error in the middle of a path with the URL of that path", async () => {
  const r = await runFake(["ls", "nfs://srv/vfs/a.txt/x"], world());
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "nfs4: nfs://srv/vfs/a.txt/x: Not a directory (NFS4ERR_NOTDIR)\n");
});

Deno.test("ls lists what a failing READDIR returned, reports it and exits 1", async () => {
  const r = await runFake(["ls", "-R", "nfs://srv/vfs/sub"], {
    ...world(),
    setup: (client) => client.failReaddir.add("/vfs/sub"),
  });
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "nfs4: nfs://srv/vfs/sub: Input/output error (NFS4ERR_IO)\n");
  // The fake yields entries in reverse order; the one that arrived is listed and recursed into.
  assert.equal(r.stdout, "nfs://srv/vfs/sub:\ndeep\n\nnfs://srv/vfs/sub/deep:\nz\n");
});

Deno.test("ls names the server when the connection is refused, and goes on", async () => {
  const r = await runFake(
    ["ls", "nfs://down:2049/a", "nfs://down:2049/b", "nfs://srv/vfs/sub"],
    { ...world(), refused: ["down:2049"] },
  );
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "nfs4: down:2049: Connection refused\n".repeat(2));
  assert.equal(r.log.calls.filter((c) => c === "connect down:2049").length, 1, "one attempt");
  assert.equal(r.stdout, "nfs://srv/vfs/sub:\ndeep\ninner.txt\n");
});

Deno.test("ls --json prints one object per entry", async () => {
  const r = await runFake(["ls", "--json", "-a", "nfs://srv/vfs"], world());
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(
    lines.map((l) => l.name),
    [".hidden", "a.txt", "b.txt", "dangling", "dirlink", "link", "null", "sp ace", "sub"],
  );
  const space = lines.find((l) => l.name === "sp ace");
  assert.equal(space.url, "nfs://srv/vfs/sp%20ace");
  assert.equal(space.path, "/vfs/sp ace");
  assert.equal(space.type, "file");
  assert.equal(space.size, 1);
  assert.equal(space.mode, 0o644);
  assert.equal(space.modeString, "-rw-r--r--");
  assert.deepEqual(space.mtime, { seconds: Date.UTC(2024, 10, 20, 12) / 1000, nseconds: 0 });
  assert.equal(typeof space.fileid, "string");
  assert.equal(lines.find((l) => l.name === "link").target, "a.txt");
  assert.deepEqual(lines.find((l) => l.name === "null").rdev, { major: 1, minor: 3 });

  const recursive = await runFake(["ls", "--json", "-R", "nfs://srv/vfs/sub"], world());
  assert.deepEqual(
    recursive.stdout.trimEnd().split("\n").map((line) => JSON.parse(line).url),
    ["nfs://srv/vfs/sub/deep", "nfs://srv/vfs/sub/inner.txt", "nfs://srv/vfs/sub/deep/z"],
  );
  const one = await runFake(["ls", "--json", "nfs://srv/vfs/a.txt"], world());
  assert.equal(JSON.parse(one.stdout).url, "nfs://srv/vfs/a.txt");
});

Deno.test("ls puts names in columns on a terminal", async () => {
  const names: Record<string, FakeNode> = {};
  for (const n of ["a", "bb", "ccc", "dddd", "eeeee", "ffffff", "g", "hh", "iii"]) {
    names[n] = file("");
  }
  const world = { servers: { "h:2049": dir(names) } };
  const tty = await runFake(["ls", "nfs://h/"], {
    ...world,
    stdout: new FakeStream({ isTTY: true, columns: 30 }),
  });
  // As coreutils: `COLUMNS=30 ls -C -T0`.
  assert.equal(tty.stdout, "a   ccc   eeeee   g   iii\nbb  dddd  ffffff  hh\n");
  // -1 forces one per line; -C forces columns ($COLUMNS when not a terminal).
  const one = await runFake(["ls", "-1", "nfs://h/"], {
    ...world,
    stdout: new FakeStream({ isTTY: true, columns: 30 }),
  });
  assert.equal(one.stdout.split("\n").length, 10);
  const columns = await runFake(["ls", "-C", "nfs://h/"], { ...world, env: { COLUMNS: "30" } });
  assert.equal(columns.stdout, tty.stdout);
});

Deno.test("ls escapes control characters on a terminal only", async () => {
  const world = { servers: { "h:2049": dir({ "bad\x1b[2Jname": file("") }) } };
  const onTty = (args: string[]) =>
    runFake(["ls", ...args, "nfs://h/"], {
      ...world,
      stdout: new FakeStream({ isTTY: true, columns: 80 }),
    });
  // As coreutils 9 on a terminal: shell-escape quoting; -N: literal with ? for controls.
  assert.equal((await onTty([])).stdout, "'bad'$'\\033''[2Jname'\n");
  assert.equal((await onTty(["-N"])).stdout, "bad?[2Jname\n");
  assert.equal((await onTty(["-N", "--show-control-chars"])).stdout, "bad\x1b[2Jname\n");
  const pipe = await runFake(["ls", "nfs://h/"], world);
  assert.equal(pipe.stdout, "bad\x1b[2Jname\n");
  assert.equal((await runFake(["ls", "-q", "nfs://h/"], world)).stdout, "bad?[2Jname\n");
});

Deno.test("ls checks every URL before connecting: a bad one is a usage error", async () => {
  const r = await runFake(["ls", "nfs://srv/vfs", "nfs://h:99999/"], world());
  assert.equal(r.code, 2);
  assert.equal(r.stderr, "nfs4: nfs://h:99999/: port out of range\n");
  assert.equal(r.stdout, "");
  assert.deepEqual(r.log.calls, []);
});

Deno.test("ls stops quietly with status 0 when stdout is closed", async () => {
  const names: Record<string, FakeNode> = {};
  for (let i = 0; i < 5000; i++) names[`file-${i}`] = file("");
  const r = await runFake(["ls", "nfs://h/"], {
    servers: { "h:2049": dir(names) },
    stdout: new FakeStream({ closeAfter: 10 }),
  });
  assert.equal(r.code, 0);
  assert.equal(r.stderr, "");
  assert.equal(r.log.clientsClosed, 1);
});

Deno.test("ls -h is --human-readable, never help: -lh lists, -h alone misses its URL", async () => {
  const big = { servers: { "h:2049": dir({ big: file(new Uint8Array(1536)), small: file("x") }) } };
  const r = await runFake(["ls", "-lh", "nfs://h/"], big);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    [
      "total 8.0K",
      "-rw-r--r-- 1 1000 1000 1.5K Nov 20 12:00 big",
      "-rw-r--r-- 1 1000 1000    1 Nov 20 12:00 small",
      "",
    ].join("\n"),
  );
  const alone = await runFake(["ls", "-h"], big);
  assert.equal(alone.code, 2);
  assert.equal(alone.stderr, "nfs4: missing required argument 'url'\n");
  assert.equal(alone.stdout, "");
  const help = await runFake(["ls", "--help"], big);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /-h, --human-readable/);
  assert.match(help.stdout, /--help +show help/);
});

Deno.test("ls URL/ names a directory: a symlink to one is followed, with -l and -d too", async () => {
  const plain = await runFake(["ls", "nfs://srv/vfs/dirlink/"], world());
  assert.equal(plain.stdout, "deep\ninner.txt\n");
  const long = await runFake(["ls", "-l", "nfs://srv/vfs/dirlink/"], world());
  assert.equal(long.code, 0, long.stderr);
  assert.match(long.stdout, /^total 8\ndrwxr-xr-x .* deep\n-rw-r--r-- .* inner\.txt\n$/);
  const d = await runFake(["ls", "-ld", "nfs://srv/vfs/dirlink/"], world());
  assert.equal(d.stdout, "drwxr-xr-x 2 1000 1000 4096 Nov 20 12:00 nfs://srv/vfs/dirlink/\n");
  // Without the slash, -l and -d show the link itself.
  const link = await runFake(["ls", "-ld", "nfs://srv/vfs/dirlink"], world());
  assert.match(link.stdout, /^lrwxrwxrwx .* nfs:\/\/srv\/vfs\/dirlink -> sub\n$/);
  // `/.` is a trailing slash too.
  const dot = await runFake(["ls", "-d", "nfs://srv/vfs/dirlink/."], world());
  assert.equal(dot.stdout, "nfs://srv/vfs/dirlink/.\n");
});

Deno.test("ls file/ fails with Not a directory, naming the URL as typed, and goes on", async () => {
  const r = await runFake(
    [
      "ls",
      "nfs://srv/vfs/a.txt/",
      "nfs://srv/vfs/link/",
      "nfs://srv/vfs/dangling/",
      "nfs://srv/vfs/b.txt",
    ],
    world(),
  );
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    "nfs4: nfs://srv/vfs/a.txt/: Not a directory (NFS4ERR_NOTDIR)\n" +
      "nfs4: nfs://srv/vfs/link/: Not a directory (NFS4ERR_NOTDIR)\n" +
      "nfs4: nfs://srv/vfs/dangling/: No such file or directory (NFS4ERR_NOENT)\n",
  );
  assert.equal(r.stdout, "nfs://srv/vfs/b.txt\n");
});

Deno.test("ls -F marks types; -lF puts a link's indicator after its target", async () => {
  const r = await runFake(["ls", "-F", "nfs://srv/vfs"], world());
  assert.equal(r.stdout, "a.txt\nb.txt\ndangling@\ndirlink@\nlink@\nnull\nsp ace\nsub/\n");
  const long = await runFake(["ls", "-lF", "nfs://srv/vfs"], world());
  const names = long.stdout.split("\n").slice(1, -1).map((line) =>
    / \d\d:\d\d (.*)$/.exec(line)![1]
  );
  assert.deepEqual(names, [
    "a.txt",
    "b.txt",
    "dangling -> nowhere",
    "dirlink -> sub/",
    "link -> a.txt",
    "null",
    "sp ace",
    "sub/",
  ]);
  // -F lists a command-line symlink to a directory as the link, like -l.
  const operand = await runFake(["ls", "-F", "nfs://srv/vfs/dirlink"], world());
  assert.equal(operand.stdout, "nfs://srv/vfs/dirlink@\n");
});

Deno.test("ls -A, -i, -S, -t, -r, -U, -1 and --full-time on the fake server", async () => {
  const mtime = (iso: string) => ({ mtime: new Date(iso) });
  const tree = {
    servers: {
      "h:2049": dir({
        // The fake's READDIR gives these in reverse: new, old, mid.
        ".dot": file("...", { fileid: 5n, ...mtime("2024-11-20T10:00:00Z") }),
        mid: file("mmmm", { fileid: 12n, ...mtime("2024-06-01T00:00:00Z") }),
        old: file("oooooo", { fileid: 1000n, ...mtime("2001-01-01T00:00:00Z") }),
        new: file("nn", { fileid: 7n, ...mtime("2024-11-21T11:00:00Z") }),
      }),
    },
  };
  const ls = async (...args: string[]) => (await runFake(["ls", ...args, "nfs://h/"], tree)).stdout;
  assert.equal(await ls("-A"), ".dot\nmid\nnew\nold\n");
  assert.equal(await ls("-a"), ".\n..\n.dot\nmid\nnew\nold\n");
  assert.equal(await ls("-i"), "  12 mid\n   7 new\n1000 old\n");
  assert.equal(await ls("-S"), "old\nmid\nnew\n");
  assert.equal(await ls("-t"), "new\nmid\nold\n");
  assert.equal(await ls("-tr"), "old\nmid\nnew\n");
  assert.equal(await ls("-U"), "new\nold\nmid\n");
  assert.equal(await ls("-Ur"), "new\nold\nmid\n");
  assert.equal(await ls("-Ua"), ".\n..\nnew\nold\nmid\n.dot\n");
  assert.equal(await ls("-C", "-1"), "mid\nnew\nold\n");
  assert.equal(
    await ls("--full-time", "-t"),
    [
      "total 12",
      "-rw-r--r-- 1 1000 1000 2 2024-11-21 11:00:00.000000000 +0000 new",
      "-rw-r--r-- 1 1000 1000 4 2024-06-01 00:00:00.000000000 +0000 mid",
      "-rw-r--r-- 1 1000 1000 6 2001-01-01 00:00:00.000000000 +0000 old",
      "",
    ].join("\n"),
  );
});

Deno.test("ls --json carries names that are not UTF-8 as name_bytes", async () => {
  const r = await runFake(["ls", "--json", "nfs://h/"], {
    servers: { "h:2049": dir({ "lat\udce9in1": file("x"), "café": file("y") }) },
  });
  assert.equal(r.code, 0, r.stderr);
  const [cafe, latin] = r.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
  assert.equal(cafe.name, "café");
  assert.equal("name_bytes" in cafe, false);
  assert.equal(latin.name, "lat\ufffdin1");
  assert.deepEqual(
    [...atob(latin.name_bytes)].map((c) => c.charCodeAt(0)),
    [0x6c, 0x61, 0x74, 0xe9, 0x69, 0x6e, 0x31],
  );
  assert.equal(latin.url, "nfs://h/lat%E9in1");
});

Deno.test("ls prints thousands of names piped, written in chunks, with -F's indicators", async () => {
  // More names than one chunk of pieces holds (three a name with -F).
  const names = Array.from({ length: 3500 }, (_, i) => `f${String(i).padStart(4, "0")}`);
  const entries: Record<string, FakeNode> = {};
  for (const [i, name] of names.entries()) entries[name] = i % 7 === 0 ? dir({}) : file("x");
  const world = { servers: { "h:2049": dir(entries) } };
  const plain = await runFake(["ls", "nfs://h/"], world);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.stdout, names.map((n) => n + "\n").join(""));
  const classified = await runFake(["ls", "-F", "nfs://h/"], world);
  assert.equal(
    classified.stdout,
    names.map((n, i) => n + (i % 7 === 0 ? "/" : "") + "\n").join(""),
  );
});
