/**
 * `nfs4 ls` as a black box against NFS-Ganesha, on NFSv4.0 and NFSv4.1: what
 * it lists is compared with what the local file system says about the
 * directory behind the `/vfs` export (node:fs lstat, coreutils
 * `LC_ALL=C ls`), with libnfs's `nfs-ls`, and for the `/mem` export with
 * what was created in it through NFS. Also its error messages and exit
 * codes, and that the server holds nothing for the command once it exited.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as fs from "node:fs";
import * as path from "node:path";
import { serverTest, type TestServer } from "../_server.ts";
import {
  destroyClientIdStatus,
  freePort,
  messageLines,
  nfs4,
  probeClient,
  type Result,
  traceClientId,
  traceEvents,
} from "./_spawn.ts";

const VERSIONS = ["4.0", "4.1"] as const;
type Version = (typeof VERSIONS)[number];

// ------------------------------------------------------------ fixtures

/** Byte order of the UTF-8 encodings, as `LC_ALL=C ls` sorts. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Runs a local program and returns its stdout; fails the test when it fails. */
async function local(program: string, args: string[], cwd?: string): Promise<string> {
  const output = await new Deno.Command(program, {
    args,
    ...(cwd !== undefined ? { cwd } : {}),
    env: { LC_ALL: "C", TZ: "UTC" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  assert.ok(output.success, `${program} ${args.join(" ")}: ${decoder.decode(output.stderr)}`);
  return decoder.decode(output.stdout);
}

/** A file of `size` bytes with `mode`. */
async function file(at: string, size: number, mode = 0o644): Promise<void> {
  await Deno.writeFile(at, new Uint8Array(size).fill(0x61));
  await Deno.chmod(at, mode);
}

const OLD = new Date("2001-02-03T04:05:06Z");

/**
 * Every kind of entry `ls -l` has a column for: regular files of several
 * sizes and modes (setuid, read-only, a sparse 5 GiB one), directories (one
 * sticky), a hard-linked pair, a symlink, a FIFO, a character device, a file
 * owned by another uid and gid, an old file, and a dotfile.
 */
async function makeKinds(dir: string): Promise<void> {
  await Deno.mkdir(`${dir}/sub/inner`, { recursive: true });
  await Deno.chmod(`${dir}/sub`, 0o750);
  await Deno.mkdir(`${dir}/sticky`);
  await Deno.chmod(`${dir}/sticky`, 0o1777);
  await file(`${dir}/empty`, 0);
  await file(`${dir}/one`, 1, 0o600);
  await file(`${dir}/exec.sh`, 4096, 0o755);
  await file(`${dir}/setuid`, 10, 0o4755);
  await file(`${dir}/readonly`, 4095, 0o444);
  await file(`${dir}/hard`, 7);
  await Deno.link(`${dir}/hard`, `${dir}/hard2`);
  await Deno.symlink("one", `${dir}/link`);
  await file(`${dir}/old`, 3);
  await Deno.utime(`${dir}/old`, OLD, OLD);
  await file(`${dir}/theirs`, 5, 0o640);
  await Deno.chown(`${dir}/theirs`, 1234, 5678);
  await file(`${dir}/.dot`, 2);
  await Deno.writeFile(`${dir}/sparse`, new Uint8Array(0));
  await Deno.truncate(`${dir}/sparse`, 5 * 2 ** 30 + 3);
  await local("mkfifo", [`${dir}/fifo`]);
  await local("mknod", [`${dir}/chr`, "c", "1", "3"]);
}

/** `lstat` of every entry of `dir` (dotfiles only with `all`), in byte order. */
function lstatEntries(dir: string, all = false): { name: string; st: fs.BigIntStats }[] {
  return fs.readdirSync(dir)
    .filter((name) => all || !name.startsWith("."))
    .sort(byteOrder)
    .map((name) => ({ name, st: fs.lstatSync(path.join(dir, name), { bigint: true }) }));
}

function typeOf(st: fs.BigIntStats): string {
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "directory";
  if (st.isSymbolicLink()) return "symlink";
  if (st.isFIFO()) return "fifo";
  if (st.isCharacterDevice()) return "char";
  if (st.isBlockDevice()) return "block";
  if (st.isSocket()) return "socket";
  return "unknown";
}

const TYPE_LETTERS: Record<string, string> = {
  file: "-",
  directory: "d",
  symlink: "l",
  fifo: "p",
  char: "c",
  block: "b",
  socket: "s",
};

/** An `ls -l` mode column, written out independently of cli/ls_format.ts. */
function modeString(type: string, mode: number): string {
  const triplet = (shift: number, special: number, on: string, off: string) => {
    const bits = (mode >> shift) & 7;
    const x = bits & 1 ? (mode & special ? on : "x") : (mode & special ? off : "-");
    return (bits & 4 ? "r" : "-") + (bits & 2 ? "w" : "-") + x;
  };
  return (TYPE_LETTERS[type] ?? "?") + triplet(6, 0o4000, "s", "S") +
    triplet(3, 0o2000, "s", "S") + triplet(0, 0o1000, "t", "T");
}

/** The `ls -l` mode column of a local lstat. */
function modeColumn(st: fs.BigIntStats): string {
  return modeString(typeOf(st), Number(st.mode));
}

/** Linux dev_t to major and minor (glibc gnu_dev_major/minor). */
function majorMinor(rdev: bigint): { major: number; minor: number } {
  return {
    major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
  };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** The `ls -l` time column in UTC: `Mon DD HH:MM` within the last six months, else `Mon DD  YYYY`. */
function timeColumn(mtime: Date, now: Date): string {
  const day = `${MONTHS[mtime.getUTCMonth()]} ${String(mtime.getUTCDate()).padStart(2)}`;
  const recent = now.getTime() - mtime.getTime() < 182 * 86_400_000 && mtime < now;
  if (!recent) return `${day}  ${mtime.getUTCFullYear()}`;
  const hh = String(mtime.getUTCHours()).padStart(2, "0");
  const mm = String(mtime.getUTCMinutes()).padStart(2, "0");
  return `${day} ${hh}:${mm}`;
}

/** One `ls -l` row split into its columns. */
interface LongRow {
  mode: string;
  nlink: number;
  owner: string;
  group: string;
  /** The size, or `major, minor` for a device. */
  size: string;
  time: string;
  name: string;
}

// Owners and groups: names left-aligned, numbers right-aligned (as coreutils).
const LONG_ROW =
  /^(\S{10}) +(\d+) +(\S+) +(\S+) +(\d+|\d+, +\d+) ([A-Z][a-z]{2} [ \d]\d (?:\d\d:\d\d| \d{4})) (.*)$/;

function parseLongRow(line: string): LongRow {
  const m = LONG_ROW.exec(line);
  assert.ok(m, `not an ls -l row: ${JSON.stringify(line)}`);
  return {
    mode: m[1]!,
    nlink: Number(m[2]),
    owner: m[3]!,
    group: m[4]!,
    size: m[5]!.replace(/, +/, ", "),
    time: m[6]!,
    name: m[7]!,
  };
}

/** stdout as lines, without the newline of the last one. */
function lines(r: Result): string[] {
  assert.ok(r.stdout === "" || r.stdout.endsWith("\n"), "output ends with a newline");
  return r.stdout === "" ? [] : r.stdout.slice(0, -1).split("\n");
}

function ok(r: Result): Result {
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  return r;
}

/** The mtime of `file` (not followed) as GNU stat's `%.9Y`: `seconds.nanoseconds`. */
function gnuMtime(file: string): string {
  const out = new Deno.Command("stat", { args: ["-c", "%.9Y", file] }).outputSync();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

/** `ls --json` output as records. */
// deno-lint-ignore no-explicit-any
function records(r: Result): any[] {
  return lines(r).map((line) => JSON.parse(line));
}

// ------------------------------------------------------------------ tests

for (const vers of VERSIONS) {
  const v = ["--vers", vers];

  serverTest(
    `nfs4 ls --vers ${vers} lists what lstat sees behind the VFS export: names, -l columns, every --json field`,
    async (server) => {
      const dir = `${server.exportDir}/kinds`;
      await Deno.mkdir(dir);
      await makeKinds(dir);
      const url = `${server.url}/vfs/kinds`;
      const expected = lstatEntries(dir);

      const plain = ok(await nfs4(["ls", ...v, url]));
      assert.deepEqual(lines(plain), expected.map((e) => e.name));

      const before = new Date();
      // -n: owners as the numbers the server sends (-l alone names them as this host does).
      const long = ok(await nfs4(["ls", ...v, "-ln", url], { TZ: "UTC" }));
      const [total, ...rows] = lines(long);
      const blocks = expected.reduce((sum, e) => sum + e.st.blocks, 0n);
      assert.equal(total, `total ${(blocks + 1n) / 2n}`);
      assert.equal(rows.length, expected.length);
      rows.forEach((line, i) => {
        const { name, st } = expected[i]!;
        const device = st.isCharacterDevice() || st.isBlockDevice();
        const { major, minor } = majorMinor(st.rdev);
        const target = st.isSymbolicLink() ? ` -> ${fs.readlinkSync(path.join(dir, name))}` : "";
        assert.deepEqual(parseLongRow(line), {
          mode: modeColumn(st),
          nlink: Number(st.nlink),
          owner: String(st.uid),
          group: String(st.gid),
          size: device ? `${major}, ${minor}` : String(st.size),
          time: timeColumn(new Date(Number(st.mtimeMs)), before),
          name: name + target,
        }, `ls -l row of ${name}`);
      });
      assert.match(long.stdout, / Feb {2}3 {2}2001 old\n/);

      const json = records(ok(await nfs4(["ls", ...v, "--json", url])));
      assert.deepEqual(json.map((r) => r.name), expected.map((e) => e.name));
      json.forEach((record, i) => {
        const { name, st } = expected[i]!;
        const what = `--json record of ${name}`;
        assert.equal(record.path, `/vfs/kinds/${name}`, what);
        assert.equal(record.url, `${url}/${name}`, what);
        assert.equal(record.type, typeOf(st), what);
        assert.equal(record.mode, Number(st.mode & 0o7777n), what);
        assert.equal(record.modeString, modeColumn(st), what);
        assert.equal(record.nlink, Number(st.nlink), what);
        assert.equal(record.owner, String(st.uid), what);
        assert.equal(record.group, String(st.gid), what);
        assert.equal(record.size, Number(st.size), what);
        assert.equal(record.spaceUsed, Number(st.blocks * 512n), what);
        assert.equal(record.fileid, String(st.ino), what);
        // Times as every --json writes them: {seconds, nseconds}, to the
        // nanosecond (GNU stat's; node:fs's mtimeNs has milliseconds only under Deno).
        const [seconds, nseconds] = gnuMtime(path.join(dir, name)).split(".");
        assert.deepEqual(record.mtime, {
          seconds: Number(seconds),
          nseconds: Number(nseconds),
        }, `${what}: mtime`);
        for (const field of ["atime", "ctime"]) {
          const time = record[field];
          assert.deepEqual(Object.keys(time), ["seconds", "nseconds"], `${what}: ${field}`);
          assert.ok(Number.isSafeInteger(time.seconds), `${what}: ${field}`);
          assert.ok(time.nseconds >= 0 && time.nseconds < 1e9, `${what}: ${field}`);
        }
        if (st.isSymbolicLink()) assert.equal(record.target, "one", what);
        else assert.equal("target" in record, false, what);
        if (st.isCharacterDevice()) assert.deepEqual(record.rdev, majorMinor(st.rdev), what);
        else assert.equal("rdev" in record, false, what);
      });
    },
  );

  serverTest(
    `nfs4 ls --vers ${vers} lists a MEM export as the files created in it through NFS`,
    async (server) => {
      const made = [
        { name: "a", size: 0, mode: 0o644 },
        { name: "b b", size: 12_345, mode: 0o640 },
        { name: "café", size: (1 << 20) + 1, mode: 0o600 },
      ];
      const probe = await probeClient(server, vers);
      try {
        for (const { name, size, mode } of made) {
          const f = await probe.open(`/mem/${name}`, { access: "write", create: "guarded", mode });
          if (size > 0) await f.write(0n, new Uint8Array(size), "file");
          await f.close();
        }
      } finally {
        await probe.close();
      }
      const url = `${server.url}/mem`;

      const plain = ok(await nfs4(["ls", ...v, url]));
      assert.deepEqual(lines(plain), made.map((m) => m.name));

      const long = ok(await nfs4(["ls", ...v, "-l", url]));
      const rows = lines(long).slice(1).map(parseLongRow);
      assert.deepEqual(
        rows.map((r) => [r.mode, r.size, r.name]),
        made.map((m) => [
          modeString("file", m.mode),
          String(m.size),
          m.name,
        ]),
      );

      const json = records(ok(await nfs4(["ls", ...v, "--json", url])));
      assert.deepEqual(
        json.map((r) => [r.name, r.type, r.mode, r.size, r.path]),
        made.map((m) => [m.name, "file", m.mode, m.size, `/mem/${m.name}`]),
      );
      assert.equal(new Set(json.map((r) => r.fileid)).size, made.length, "distinct fileids");
    },
  );

  serverTest(
    `nfs4 ls --vers ${vers} lists a 10,000-entry directory completely (READDIR across many pages)`,
    async (server) => {
      const dir = `${server.exportDir}/many`;
      await Deno.mkdir(dir);
      // Names of varied length, so READDIR pages end at many different places.
      const names: string[] = [];
      for (let i = 0; i < 10_000; i++) {
        const name = `${String(i).padStart(5, "0")}-${"x".repeat(i % 97)}`;
        names.push(name);
        fs.closeSync(fs.openSync(path.join(dir, name), "w"));
      }
      names.sort(byteOrder);
      const url = `${server.url}/vfs/many`;

      const plain = ok(await nfs4(["ls", ...v, url]));
      assert.equal(plain.stdout, names.join("\n") + "\n");

      const json = records(ok(await nfs4(["ls", ...v, "--json", url])));
      assert.deepEqual(json.map((r) => r.name), names);
      const inodes = new Map(
        fs.readdirSync(dir).map((name) => [name, String(fs.lstatSync(path.join(dir, name)).ino)]),
      );
      for (const r of json) assert.equal(r.fileid, inodes.get(r.name), r.name);
    },
  );

  serverTest(
    `nfs4 ls --vers ${vers} prints names with spaces and non-ASCII in byte order, as LC_ALL=C ls does`,
    async (server) => {
      const dir = `${server.exportDir}/names`;
      await Deno.mkdir(dir);
      const names = [
        "a b",
        "café",
        "日本語.txt",
        "emoji-😀",
        "Zebra",
        "apple",
        "_under",
        "É",
        "e",
        "straße",
        "tab\there",
        "x%41",
      ];
      for (const name of names) await file(`${dir}/${name}`, name.length);
      const url = `${server.url}/vfs/names`;
      const sorted = [...names].sort(byteOrder);

      const plain = ok(await nfs4(["ls", ...v, url]));
      assert.equal(plain.stdout, await local("ls", ["-1", dir]));
      assert.deepEqual(lines(plain), sorted);

      const long = ok(await nfs4(["ls", ...v, "-l", url]));
      assert.deepEqual(lines(long).slice(1).map((l) => parseLongRow(l).name), sorted);

      const json = records(ok(await nfs4(["ls", ...v, "--json", url])));
      assert.deepEqual(json.map((r) => r.name), sorted);
      assert.deepEqual(
        json.map((r) => r.size),
        sorted.map((n) => fs.statSync(`${dir}/${n}`).size),
      );
      // Each record's URL names that file: listing them all gives the names back.
      const again = records(ok(await nfs4(["ls", ...v, "--json", ...json.map((r) => r.url)])));
      assert.deepEqual(again.map((r) => r.name).sort(byteOrder), sorted);
      assert.equal(json.find((r) => r.name === "a b")?.url, `${url}/a%20b`);
      assert.equal(json.find((r) => r.name === "x%41")?.url, `${url}/x%2541`);
    },
  );

  serverTest(
    `nfs4 ls --vers ${vers} -R prints the sections LC_ALL=C ls -R prints, headings as URLs`,
    async (server) => {
      const top = `${server.exportDir}/tree`;
      await Deno.mkdir(`${top}/b b/inner`, { recursive: true });
      await Deno.mkdir(`${top}/c/d/e`, { recursive: true });
      await Deno.mkdir(`${top}/empty`);
      await Deno.mkdir(`${top}/.hidden-dir`);
      await Deno.mkdir(`${top}/ünï`);
      await file(`${top}/a`, 1);
      await file(`${top}/b b/x`, 2);
      await file(`${top}/c/d/e/deep`, 3);
      await file(`${top}/ünï/f`, 4);
      await file(`${top}/.hidden-dir/never`, 5);
      await Deno.symlink("c", `${top}/lnk`); // not followed by -R
      const url = `${server.url}/vfs/tree`;

      const ours = ok(await nfs4(["ls", ...v, "-R", url]));
      const coreutils = await local("ls", ["-R", "tree"], server.exportDir);
      // Headings: `${url}/b%20b:` for us, `tree/b b:` for coreutils.
      const prefix = `${server.url}/vfs/`;
      const mapped = ours.stdout.split("\n").map((line) => {
        if (!line.startsWith(prefix) || !line.endsWith(":")) return line;
        return line.slice(prefix.length, -1).split("/").map(decodeURIComponent).join("/") + ":";
      }).join("\n");
      assert.equal(mapped, coreutils);
      assert.match(ours.stdout, /^nfs:\/\/127\.0\.0\.1:\d+\/vfs\/tree\/b%20b:$/m);
    },
  );

  // Regression: a directory whose READDIR is refused gets no section
  // (coreutils prints no heading and no `total` when opendir fails).
  serverTest(
    `nfs4 ls --vers ${vers} --uid 1000 prints no section for a directory it may not read, as LC_ALL=C ls does`,
    async (server) => {
      const top = `${server.exportDir}/perm`;
      await Deno.mkdir(`${top}/closed`, { recursive: true });
      await Deno.mkdir(`${top}/open`);
      await file(`${top}/closed/s`, 1);
      await file(`${top}/open/o`, 1);
      await Deno.chmod(`${top}/closed`, 0o700);
      const url = `${server.url}/vfs/perm`;
      const as1000 = [...v, "--uid", "1000", "--gid", "1000"];
      const denied = `nfs4: ${url}/closed: Permission denied (NFS4ERR_ACCESS)\n`;

      const coreutils = await new Deno.Command("setpriv", {
        args: ["--reuid", "1000", "--regid", "1000", "--clear-groups", "ls", "-R", "perm"],
        cwd: server.exportDir,
        env: { LC_ALL: "C" },
        stdout: "piped",
        stderr: "null",
      }).output();
      const expected = new TextDecoder().decode(coreutils.stdout)
        .replaceAll(/^perm(.*):$/gm, `${url}$1:`);
      const recursive = await nfs4(["ls", ...as1000, "-R", url]);
      assert.equal(recursive.code, 1);
      assert.equal(recursive.stderr, denied);
      assert.equal(recursive.stdout, expected);

      const long = await nfs4(["ls", ...as1000, "-l", `${url}/closed`]);
      assert.equal(long.code, 1);
      assert.equal(long.stderr, denied);
      assert.equal(long.stdout, "");
    },
  );

  serverTest(`nfs4 ls --vers ${vers} -d lists a directory itself`, async (server) => {
    const dir = `${server.exportDir}/dir`;
    await Deno.mkdir(`${dir}/sub`, { recursive: true });
    await file(`${dir}/f`, 1);
    const url = `${server.url}/vfs/dir`;
    const st = fs.lstatSync(dir, { bigint: true });

    assert.equal(ok(await nfs4(["ls", ...v, "-d", url])).stdout, `${url}\n`);
    const long = lines(ok(await nfs4(["ls", ...v, "-d", "-l", url], { TZ: "UTC" })));
    assert.equal(long.length, 1, "no total line for -d");
    const row = parseLongRow(long[0]!);
    assert.deepEqual(
      [row.mode, row.nlink, row.size, row.name],
      [modeColumn(st), Number(st.nlink), String(st.size), url],
    );
    const [record, ...more] = records(ok(await nfs4(["ls", ...v, "-d", "--json", url])));
    assert.equal(more.length, 0);
    assert.equal(record.type, "directory");
    assert.equal(record.fileid, String(st.ino));
    assert.equal(record.nlink, 3);
  });

  serverTest(`nfs4 ls --vers ${vers} -a shows dotfiles, . and ..`, async (server) => {
    const dir = `${server.exportDir}/dots`;
    await Deno.mkdir(`${dir}/.config`, { recursive: true });
    await file(`${dir}/.hidden`, 6);
    await file(`${dir}/visible`, 7);
    await file(`${dir}/..two`, 0);
    const url = `${server.url}/vfs/dots`;

    assert.deepEqual(lines(ok(await nfs4(["ls", ...v, url]))), ["visible"]);
    const all = ok(await nfs4(["ls", ...v, "-a", url]));
    assert.equal(all.stdout, await local("ls", ["-a", dir]));
    assert.deepEqual(lines(all), [".", "..", "..two", ".config", ".hidden", "visible"]);

    const long = lines(ok(await nfs4(["ls", ...v, "-la", url]))).slice(1).map(parseLongRow);
    const dot = fs.lstatSync(dir, { bigint: true });
    const dotdot = fs.lstatSync(server.exportDir, { bigint: true });
    assert.deepEqual(long.map((r) => r.name), lines(all));
    assert.deepEqual([long[0]!.mode, long[0]!.nlink], [modeColumn(dot), Number(dot.nlink)]);
    assert.deepEqual([long[1]!.mode, long[1]!.nlink], [modeColumn(dotdot), Number(dotdot.nlink)]);

    const json = records(ok(await nfs4(["ls", ...v, "-a", "--json", url])));
    assert.deepEqual(json.map((r) => r.name), ["..two", ".config", ".hidden", "visible"]);
  });

  serverTest(`nfs4 ls --vers ${vers} of a file URL lists just that file`, async (server) => {
    await Deno.mkdir(`${server.exportDir}/dir`);
    await file(`${server.exportDir}/dir/f.txt`, 321, 0o640);
    await file(`${server.exportDir}/dir/other`, 1);
    const url = `${server.url}/vfs/dir/f.txt`;

    assert.equal(ok(await nfs4(["ls", ...v, url])).stdout, `${url}\n`);
    const long = lines(ok(await nfs4(["ls", ...v, "-l", url])));
    assert.equal(long.length, 1, "no total line for a file");
    const row = parseLongRow(long[0]!);
    assert.deepEqual([row.mode, row.size, row.name], ["-rw-r-----", "321", url]);
    const json = records(ok(await nfs4(["ls", ...v, "--json", url])));
    assert.deepEqual(json.map((r) => [r.name, r.size, r.url]), [["f.txt", 321, url]]);
  });

  serverTest(
    `nfs4 ls --vers ${vers} of the pseudo-fs root lists the exports mem and vfs`,
    async (server) => {
      for (const root of [`${server.url}/`, server.url]) {
        assert.equal(ok(await nfs4(["ls", ...v, root])).stdout, "mem\nvfs\n", root);
      }
      const long = lines(ok(await nfs4(["ls", ...v, "-l", `${server.url}/`])));
      assert.deepEqual(
        long.slice(1).map(parseLongRow).map((r) => [r.mode[0], r.name]),
        [["d", "mem"], ["d", "vfs"]],
      );
    },
  );

  serverTest(
    `nfs4 ls --vers ${vers} -l agrees with libnfs nfs-ls (NFSv4.0) on names, modes, links, owners and sizes`,
    async (server) => {
      const dir = `${server.exportDir}/kinds`;
      await Deno.mkdir(dir);
      await makeKinds(dir);
      await file(`${dir}/a b`, 11);
      await file(`${dir}/日本語.txt`, 12);
      const libnfs = await local("nfs-ls", [
        `nfs://127.0.0.1/vfs/kinds?version=4&nfsport=${server.port}`,
      ]);
      // nfs-ls prints mode, links, uid, gid, size and name; dotfiles but not . and ..
      // Its mode column knows only the types - d l (a FIFO's has no letter) and
      // shows setuid, setgid and sticky bits as plain x.
      const theirs = new Map<string, string>();
      const types = new Map<string, string>();
      for (const line of libnfs.split("\n").filter(Boolean)) {
        const m = /^(\S{9,10}) +(\d+) +(\d+) +(\d+) +(\d+) (.*)$/.exec(line);
        assert.ok(m, `not an nfs-ls line: ${JSON.stringify(line)}`);
        theirs.set(m[6]!, [m[1]!.slice(-9), m[2], m[3], m[4], m[5]].join(" "));
        if (m[1]!.length === 10) types.set(m[6]!, m[1]![0]!);
      }
      const long = ok(await nfs4(["ls", ...v, "-lan", `${server.url}/vfs/kinds`]));
      const ours = new Map<string, string>();
      for (const row of lines(long).slice(1).map(parseLongRow)) {
        if (row.name === "." || row.name === "..") continue;
        const name = row.name.replace(/ -> .*$/, "");
        // libnfs prints a device's size (0) where ls prints major, minor.
        const size = row.size.includes(",") ? "0" : row.size;
        const perms = row.mode.slice(1).replace(/[st]/g, "x").replace(/[ST]/g, "-");
        ours.set(name, [perms, row.nlink, row.owner, row.group, size].join(" "));
        const type = types.get(name);
        if (type !== undefined) assert.equal(row.mode[0], type, `type of ${name}`);
      }
      assert.deepEqual(
        [...ours.keys()].sort(byteOrder),
        [...theirs.keys()].sort(byteOrder),
      );
      for (const [name, columns] of ours) assert.equal(columns, theirs.get(name), name);
      assert.ok(ours.size >= 17);
      assert.ok(types.size >= 15, "most of nfs-ls's rows have a type letter");
    },
  );

  // ------------------------------------------------------------ errors

  serverTest(
    `nfs4 ls --vers ${vers} of a missing path exits 1 with the NFS4ERR_NOENT line`,
    async (server) => {
      const url = `${server.url}/vfs/nope`;
      const r = await nfs4(["ls", ...v, url]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `nfs4: ${url}: No such file or directory (NFS4ERR_NOENT)\n`);
      assert.equal(r.stdout, "");
    },
  );

  serverTest(
    `nfs4 ls --vers ${vers} through a file (file.txt/x) exits 1 with the NFS4ERR_NOTDIR line naming the URL as typed`,
    async (server) => {
      await file(`${server.exportDir}/file.txt`, 4);
      const url = `${server.url}/vfs/file.txt`;
      const r = await nfs4(["ls", ...v, `${url}/x`]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `nfs4: ${url}/x: Not a directory (NFS4ERR_NOTDIR)\n`);
      assert.equal(r.stdout, "");
    },
  );

  serverTest(
    `nfs4 ls --vers ${vers} reports each failing URL on one line and still lists the others`,
    async (server) => {
      await Deno.mkdir(`${server.exportDir}/dir`);
      await file(`${server.exportDir}/dir/in`, 1);
      await file(`${server.exportDir}/f`, 1);
      const u = `${server.url}/vfs`;
      const r = await nfs4(["ls", ...v, `${u}/nope`, `${u}/dir`, `${u}/f/x`, `${u}/f`]);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        `nfs4: ${u}/nope: No such file or directory (NFS4ERR_NOENT)\n` +
          `nfs4: ${u}/f/x: Not a directory (NFS4ERR_NOTDIR)\n`,
      );
      assert.equal(r.stdout, `${u}/f\n\n${u}/dir:\nin\n`);
    },
  );

  serverTest(
    `nfs4 ls --vers ${vers} with a bad URL exits 2 before listing anything`,
    async (server) => {
      const good = `${server.url}/vfs`;
      const cases: [string, string][] = [
        [`${good}?x`, "query strings ('?') are not supported; write %3F for a '?' in a name"],
        [`${good}/%zz`, "bad percent-escape '%zz'"],
        [`nfs://127.0.0.1:0/vfs`, "port out of range"],
        ["http://127.0.0.1/vfs", "not an nfs:// URL (expected nfs://HOST[:PORT]/PATH)"],
      ];
      for (const [bad, reason] of cases) {
        const r = await nfs4(["ls", ...v, good, bad]);
        assert.equal(r.code, 2, bad);
        assert.equal(r.stderr, `nfs4: ${bad}: ${reason}\n`);
        assert.equal(r.stdout, "", "nothing is listed when any URL is bad");
      }
    },
  );

  Deno.test(`nfs4 ls --vers ${vers} of a closed port exits 1 with Connection refused`, async () => {
    const port = await freePort();
    const r = await nfs4(["ls", ...v, `nfs://127.0.0.1:${port}/vfs`]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `nfs4: 127.0.0.1:${port}: Connection refused\n`);
    assert.equal(r.stdout, "");
  });

  // ------------------------------------------------- state after exit

  serverTest(
    `nfs4 ls --vers ${vers} leaves no state on the server once it exits`,
    async (server) => {
      await Deno.mkdir(`${server.exportDir}/dir/sub`, { recursive: true });
      await file(`${server.exportDir}/dir/f`, 1);
      await Deno.symlink("f", `${server.exportDir}/dir/link`);
      const u = `${server.url}/vfs`;
      const runs = [
        ["-l", `${u}/dir`],
        ["-R", "-a", `${u}/dir`],
        ["--json", `${u}/dir/link`, `${u}/`],
        [`${u}/nope`, `${u}/dir/f/x`], // failing
      ];
      for (const args of runs) {
        const r = await nfs4(["ls", ...v, "--trace=json", ...args]);
        const what = `ls ${args.join(" ")}`;
        assert.equal(r.code, args[0]!.endsWith("nope") ? 1 : 0, `${what}: ${r.stderr}`);
        const events = traceEvents(r.stderr);
        // --trace=json: every line on stderr is JSON, the failures too (category
        // error, named "error"); no state-manager error events.
        assert.deepEqual(messageLines(r.stderr), [], what);
        assert.deepEqual(
          events.filter((e) => e.cat === "error" && e.event === "error").map((
            e,
          ) => [e.url, e.status]),
          r.code === 0 ? [] : [[`${u}/nope`, "NFS4ERR_NOENT"], [`${u}/dir/f/x`, "NFS4ERR_NOTDIR"]],
          what,
        );
        assert.deepEqual(events.filter((e) => e.cat === "open" || e.cat === "lock"), [], what);
        assert.deepEqual(events.filter((e) => e.cat === "error" && e.event !== "error"), [], what);
        assert.ok(r.ms < server.leaseSeconds * 1000, `${what} ended after ${r.ms} ms`);
        await assertClientGone(server, vers, events, what);
      }
    },
  );
}

/**
 * The server holds nothing for the client of a command that has exited.
 * 4.1: DESTROY_CLIENTID of its client ID from another client answers
 * NFS4ERR_STALE_CLIENTID (the command destroyed it), where a live client's
 * gives NFS4ERR_CLIENTID_BUSY. 4.0 has no DESTROY_CLIENTID: the trace shows
 * the command released its lock owner only if it locked, and its client ID
 * lapses with the lease.
 */
async function assertClientGone(
  server: TestServer,
  vers: Version,
  events: ReturnType<typeof traceEvents>,
  what: string,
): Promise<void> {
  const clientId = traceClientId(events);
  const names = events.map((e) => e.event);
  if (vers === "4.0") {
    assert.ok(
      !names.some((n) => n.startsWith("RELEASE_LOCKOWNER")),
      `${what}: no locks, no release`,
    );
    assert.ok(!names.some((n) => n.startsWith("DESTROY_")), what);
    return;
  }
  assert.ok(names.includes("DESTROY_SESSION ok"), what);
  assert.ok(names.includes("DESTROY_CLIENTID ok"), what);
  assert.equal(await destroyClientIdStatus(server, clientId), "NFS4ERR_STALE_CLIENTID", what);
  // The control: a client that still exists is not stale.
  const live = await probeClient(server, "4.1");
  try {
    assert.equal(
      await destroyClientIdStatus(server, live.manager.client.clientId!),
      "NFS4ERR_CLIENTID_BUSY",
    );
  } finally {
    await live.close();
  }
}
