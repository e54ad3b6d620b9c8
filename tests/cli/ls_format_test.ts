/**
 * cli/ls_format.ts against what GNU coreutils `ls` prints (expected outputs
 * captured from coreutils 9.1, `-T0` for spaces, or produced by the `ls`
 * installed here in the test).
 */

import assert from "node:assert/strict";
import {
  compareNames,
  displayWidth,
  formatLongRows,
  humanSize,
  jsonRecord,
  layoutColumns,
  modeString,
  totalBlocks,
  totalLine,
} from "../../cli/ls_format.ts";
import { parseTimeStyle } from "../../cli/ls_time.ts";
import { decodeByteString } from "../../lib/client/names.ts";
import { bytesOf, coreutilsLs, createFile, nameOf, outputLines } from "./_coreutils.ts";
import type { FileInfo } from "../../lib/client/types.ts";

function info(fields: Partial<FileInfo> & Pick<FileInfo, "name">): FileInfo {
  return {
    path: `/vfs/${fields.name}`,
    kind: "file",
    mode: 0o644,
    nlink: 1,
    owner: "root",
    group: "root",
    size: 0n,
    spaceUsed: 0n,
    atime: undefined,
    mtime: undefined,
    ctime: undefined,
    fileid: undefined,
    ...fields,
  };
}

const NOW = new Date("2024-11-21T10:48:00Z");

Deno.test("compareNames() orders by UTF-8 bytes like ls in the C locale", () => {
  const names = [
    "b",
    "B",
    "a",
    "_x",
    ".hidden",
    "10",
    "9",
    "é",
    "z",
    "\uffff",
    "😀",
    "日",
    "aa",
    "a",
  ];
  const sorted = [...names].sort(compareNames);
  const byBytes = [...names].sort((x, y) => {
    const a = new TextEncoder().encode(x);
    const b = new TextEncoder().encode(y);
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (a[i] !== b[i]) return a[i]! - b[i]!;
    }
    return a.length - b.length;
  });
  assert.deepEqual(sorted, byBytes);
  assert.deepEqual(sorted.slice(0, 8), [".hidden", "10", "9", "B", "_x", "a", "a", "aa"]);
  // A supplementary character (surrogate pair) sorts after U+FFFF, as in UTF-8.
  assert.ok(compareNames("\uffff", "😀") < 0);
  assert.equal(compareNames("same", "same"), 0);
});

Deno.test("modeString() prints type and permission bits like ls -l", () => {
  const cases: [Parameters<typeof modeString>, string][] = [
    [["file", 0o644], "-rw-r--r--"],
    [["directory", 0o755], "drwxr-xr-x"],
    [["directory", 0o1777], "drwxrwxrwt"],
    [["directory", 0o1776], "drwxrwxrwT"],
    [["file", 0o4755], "-rwsr-xr-x"],
    [["file", 0o4644], "-rwSr--r--"],
    [["file", 0o2755], "-rwxr-sr-x"],
    [["file", 0o2745], "-rwxr-Sr-x"],
    [["file", 0o1754], "-rwxr-xr-T"],
    [["file", 0o7777], "-rwsrwsrwt"],
    [["file", 0o7000], "---S--S--T"],
    [["file", 0], "----------"],
    [["symlink", 0o777], "lrwxrwxrwx"],
    [["block", 0o600], "brw-------"],
    [["char", 0o666], "crw-rw-rw-"],
    [["socket", 0o755], "srwxr-xr-x"],
    [["fifo", 0o644], "prw-r--r--"],
    [["unknown", 0o644], "?rw-r--r--"],
    [["attrdir", 0o755], "drwxr-xr-x"],
    [["file", undefined], "-?????????"],
  ];
  for (const [args, expected] of cases) assert.equal(modeString(...args), expected, expected);
});

Deno.test("displayWidth() counts terminal columns", () => {
  assert.equal(displayWidth("abc"), 3);
  assert.equal(displayWidth(""), 0);
  assert.equal(displayWidth("café"), 4);
  assert.equal(displayWidth("cafe\u0301"), 4);
  assert.equal(displayWidth("日本"), 4);
  assert.equal(displayWidth("ｶ"), 1);
  assert.equal(displayWidth("Ａ"), 2);
  assert.equal(displayWidth("😀"), 2);
  assert.equal(displayWidth("a\u200bb"), 2);
});

const NAMES = [
  "a",
  "bb",
  "ccc",
  "dddd",
  "eeeee",
  "ffffff",
  "g",
  "hh",
  "iii",
  "jjjjjjjjjjjj",
  "k",
  "l",
  "m",
  "n",
  "oo",
  "p",
];

Deno.test("layoutColumns() matches ls -C at several widths", () => {
  assert.deepEqual(layoutColumns(NAMES, 80), [
    "a  bb  ccc  dddd  eeeee  ffffff  g  hh  iii  jjjjjjjjjjjj  k  l  m  n  oo  p",
  ]);
  assert.deepEqual(layoutColumns(NAMES, 40), [
    "a    dddd    g    jjjjjjjjjjjj  m   p",
    "bb   eeeee   hh   k             n",
    "ccc  ffffff  iii  l             oo",
  ]);
  assert.deepEqual(layoutColumns(NAMES, 30), [
    "a       g             m",
    "bb      hh            n",
    "ccc     iii           oo",
    "dddd    jjjjjjjjjjjj  p",
    "eeeee   k",
    "ffffff  l",
  ]);
  for (const width of [12, 3, 1]) assert.deepEqual(layoutColumns(NAMES, width), NAMES);
});

Deno.test("layoutColumns() handles edge cases", () => {
  assert.deepEqual(layoutColumns([], 80), []);
  assert.deepEqual(layoutColumns(["only"], 80), ["only"]);
  // A line must be shorter than the width, a column counting at least 3:
  // "ab  " + "cd" counts 4 + 3, so it fits 8, not 7 (coreutils, -w7 and -w8).
  assert.deepEqual(layoutColumns(["ab", "cd"], 8), ["ab  cd"]);
  assert.deepEqual(layoutColumns(["ab", "cd"], 7), ["ab", "cd"]);
  // Width 0: no limit.
  assert.deepEqual(layoutColumns(["a", "b", "c"], 0), ["a  b  c"]);
  // Wide characters count twice.
  assert.deepEqual(layoutColumns(["日本", "x", "y"], 10), ["日本  y", "x"]);
  assert.deepEqual(layoutColumns(["日本", "x", "y"], 9), ["日本", "x", "y"]);
});

Deno.test("formatLongRows() aligns columns over all entries like ls -l", () => {
  const rows = formatLongRows(
    [
      {
        name: ".",
        info: info({
          name: "d",
          kind: "directory",
          mode: 0o755,
          nlink: 2,
          size: 4096n,
          mtime: new Date("2024-11-21T10:48:00Z"),
        }),
      },
      {
        name: "a",
        info: info({ name: "a", mode: 0o4644, mtime: new Date("2024-11-21T10:48:00Z") }),
      },
      {
        name: "old",
        info: info({
          name: "old",
          owner: "alice@example.com",
          group: "1000",
          size: 12345n,
          nlink: 12,
          mtime: new Date("2001-02-03T04:05:00Z"),
        }),
      },
      {
        name: "link",
        target: "a",
        info: info({
          name: "link",
          kind: "symlink",
          mode: 0o777,
          size: 1n,
          mtime: new Date("2024-11-01T00:00:00Z"),
        }),
      },
    ],
    { now: new Date("2024-11-21T11:00:00Z"), timeZone: "UTC" },
  );
  assert.deepEqual(rows, [
    "drwxr-xr-x  2 root              root  4096 Nov 21 10:48 .",
    "-rwSr--r--  1 root              root     0 Nov 21 10:48 a",
    "-rw-r--r-- 12 alice@example.com 1000 12345 Feb  3  2001 old",
    "lrwxrwxrwx  1 root              root     1 Nov  1 00:00 link -> a",
  ]);
});

Deno.test("formatLongRows() prints devices as major, minor", () => {
  // coreutils: `ls -l /dev/loop0 /dev/null /etc/hostname`
  const mtime = new Date("2024-11-20T22:58:00Z");
  const rows = formatLongRows(
    [
      {
        name: "/dev/loop0",
        info: info({
          name: "loop0",
          kind: "block",
          mode: 0o600,
          rdev: { major: 7, minor: 0 },
          mtime,
        }),
      },
      {
        name: "/dev/null",
        info: info({
          name: "null",
          kind: "char",
          mode: 0o666,
          rdev: { major: 1, minor: 3 },
          mtime,
        }),
      },
      { name: "/etc/hostname", info: info({ name: "hostname", mode: 0o755, size: 3n, mtime }) },
    ],
    { now: NOW, timeZone: "UTC" },
  );
  assert.deepEqual(rows, [
    "brw------- 1 root root 7, 0 Nov 20 22:58 /dev/loop0",
    "crw-rw-rw- 1 root root 1, 3 Nov 20 22:58 /dev/null",
    "-rwxr-xr-x 1 root root    3 Nov 20 22:58 /etc/hostname",
  ]);

  const wide = formatLongRows(
    [
      { name: "big", info: info({ name: "big", size: 123456789n, mtime }) },
      {
        name: "dev",
        info: info({ name: "dev", kind: "char", rdev: { major: 10, minor: 200 }, mtime }),
      },
    ],
    { now: NOW, timeZone: "UTC" },
  );
  assert.deepEqual(wide, [
    "-rw-r--r-- 1 root root 123456789 Nov 20 22:58 big",
    "crw-r--r-- 1 root root   10, 200 Nov 20 22:58 dev",
  ]);
});

Deno.test("formatLongRows() prints unknown attributes as ?", () => {
  const rows = formatLongRows(
    [
      {
        name: "x",
        info: info({
          name: "x",
          mode: undefined,
          nlink: undefined,
          owner: undefined,
          group: undefined,
          size: undefined,
        }),
      },
      { name: "y", info: info({ name: "y", mtime: new Date("2024-11-21T10:00:00Z") }) },
    ],
    { now: NOW, timeZone: "UTC" },
  );
  assert.deepEqual(rows, [
    "-????????? ? ?    ?    ?            ? x",
    "-rw-r--r-- 1 root root 0 Nov 21 10:00 y",
  ]);
});

Deno.test("formatLongRows() pads names by display width", () => {
  const mtime = new Date("2024-11-21T10:00:00Z");
  const rows = formatLongRows(
    [
      { name: "a", info: info({ name: "a", owner: "日本", mtime }) },
      { name: "b", info: info({ name: "b", owner: "abcde", mtime }) },
    ],
    { now: NOW, timeZone: "UTC" },
  );
  assert.deepEqual(rows, [
    "-rw-r--r-- 1 日本  root 0 Nov 21 10:00 a",
    "-rw-r--r-- 1 abcde root 0 Nov 21 10:00 b",
  ]);
});

Deno.test("totalBlocks() sums space used in 1K blocks, rounding up", () => {
  assert.equal(totalBlocks([]), 0n);
  assert.equal(totalBlocks([info({ name: "a", spaceUsed: 4096n })]), 4n);
  assert.equal(
    totalBlocks([info({ name: "a", spaceUsed: 4096n }), info({ name: "b", spaceUsed: 512n })]),
    5n,
  );
  // Partial 512-byte blocks count whole; unknown counts nothing.
  assert.equal(
    totalBlocks([info({ name: "a", spaceUsed: 1n }), info({ name: "b", spaceUsed: undefined })]),
    1n,
  );
  assert.equal(totalBlocks([info({ name: "a", spaceUsed: 2048n * 1024n * 1024n })]), 2097152n);
});

Deno.test("jsonRecord() writes every field, bigints safely", () => {
  const record = jsonRecord(
    info({
      name: "f",
      mode: 0o640,
      size: 2n ** 60n + 1n,
      spaceUsed: 8192n,
      mtime: new Date("2024-01-02T03:04:05.678Z"),
      ctime: new Date("2024-01-02T03:04:05.678Z"),
      ctimeNs: 1704164645_678901234n,
      fileid: 18446744073709551615n,
    }),
    "nfs://h/vfs/f",
  );
  // cli/json_values.ts: a size is a number (all its digits above 2^53 - 1),
  // a fileid a decimal string, a time {seconds, nseconds} to the nanosecond.
  const text = JSON.stringify(record);
  assert.ok(text.includes(`"size":1152921504606846977,`), text);
  assert.deepEqual(JSON.parse(text), {
    name: "f",
    path: "/vfs/f",
    url: "nfs://h/vfs/f",
    type: "file",
    mode: 0o640,
    modeString: "-rw-r-----",
    nlink: 1,
    owner: "root",
    group: "root",
    size: 2 ** 60,
    spaceUsed: 8192,
    atime: null,
    mtime: { seconds: 1704164645, nseconds: 678000000 },
    ctime: { seconds: 1704164645, nseconds: 678901234 },
    fileid: "18446744073709551615",
  });
  // Before 1970: seconds rounded down, nseconds 0 to 999,999,999 (nfstime4's form).
  const old = jsonRecord(info({ name: "o", mtimeNs: -250_000_000n }), "u");
  assert.deepEqual(old.mtime, { seconds: -1, nseconds: 750_000_000 });
  // A small fileid is a string too: one type, whatever the value.
  assert.equal(jsonRecord(info({ name: "s", fileid: 7n }), "u").fileid, "7");
  const link = jsonRecord(info({ name: "l", kind: "symlink", linkTarget: "t" }), "u");
  assert.equal(link.target, "t");
  assert.equal(jsonRecord(info({ name: "l", kind: "symlink" }), "u", "given").target, "given");
  const dev = jsonRecord(info({ name: "d", kind: "char", rdev: { major: 1, minor: 3 } }), "u");
  assert.deepEqual(dev.rdev, { major: 1, minor: 3 });
  assert.equal("target" in dev, false);
  // Device numbers only for devices (servers send 0, 0 for everything else).
  const fifo = jsonRecord(info({ name: "p", kind: "fifo", rdev: { major: 0, minor: 0 } }), "u");
  assert.equal("rdev" in fifo, false);
});

Deno.test("compareNames() orders names holding bytes that are not UTF-8 by their bytes", () => {
  const names = [
    nameOf("l", 0xe9),
    "lé",
    "l日",
    "l😀",
    nameOf("l", 0xc3),
    nameOf("l", 0xff),
    "l",
    "lz",
    nameOf("l", 0x80),
  ];
  const byBytes = [...names].sort((x, y) => {
    const a = bytesOf(x);
    const b = bytesOf(y);
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (a[i] !== b[i]) return a[i]! - b[i]!;
    }
    return a.length - b.length;
  });
  assert.deepEqual([...names].sort(compareNames), byBytes);
  assert.deepEqual(byBytes.map((n) => [...bytesOf(n)].slice(1)), [
    [],
    [0x7a],
    [0x80],
    [0xc3],
    [0xc3, 0xa9],
    [0xe6, 0x97, 0xa5],
    [0xe9],
    [0xf0, 0x9f, 0x98, 0x80],
    [0xff],
  ]);
});

Deno.test("humanSize() rounds as ls -lh does (powers of 1024, up, one decimal below 10)", async () => {
  const sizes = [
    0n,
    1n,
    999n,
    1023n,
    1024n,
    1025n,
    1126n,
    1127n,
    1536n,
    10239n,
    10240n,
    10241n,
    102399n,
    1048575n,
    1048576n,
    1048577n,
    10n * 2n ** 20n - 1n,
    1023n * 2n ** 20n + 1n,
    2n ** 30n - 1n,
    2n ** 30n,
    5n * 2n ** 30n + 3n,
    2n ** 40n + 1n,
    9n * 2n ** 40n,
  ];
  const folder = await Deno.makeTempDir({ prefix: "nfs4-human-" });
  try {
    for (const [i, size] of sizes.entries()) {
      const path = `${folder}/${String(i).padStart(2, "0")}`;
      await Deno.writeFile(path, new Uint8Array(0));
      await Deno.truncate(path, Number(size));
    }
    const rows = outputLines(await coreutilsLs(["-lh", "-n"], folder)).slice(1);
    const expected = rows.map((row) => row.split(/ +/)[4]);
    assert.deepEqual(sizes.map(humanSize), expected);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
  assert.equal(humanSize(1025n), "1.1K");
  assert.equal(humanSize(23n * 2n ** 20n), "23M");
  assert.equal(humanSize(2n ** 90n), "1.0R");
  assert.equal(humanSize(2n ** 100n), "1.0Q");
  assert.equal(humanSize(2n ** 110n), "1024Q");
});

Deno.test("formatLongRows() adds -i, -h, -F indicators and aligns ids as ls does", () => {
  const mtime = new Date("2024-11-21T10:00:00Z");
  const rows = formatLongRows(
    [
      {
        name: "big",
        owner: "root",
        group: "0",
        info: info({ name: "big", size: 5n * 2n ** 30n + 3n, fileid: 7n, mtime }),
      },
      {
        name: "run.sh",
        indicator: "*",
        owner: "1234",
        group: "5678",
        info: info({ name: "run.sh", mode: 0o755, size: 10n, fileid: 123456n, mtime }),
      },
      {
        name: "ln",
        target: "d",
        indicator: "/",
        owner: "alice",
        group: "5",
        info: info({ name: "ln", kind: "symlink", mode: 0o777, size: 1n, fileid: 9n, mtime }),
      },
    ],
    { now: NOW, timeZone: "UTC", human: true, inode: true },
  );
  // User and group names are left-aligned, numbers right-aligned (coreutils format_user).
  assert.deepEqual(rows, [
    "     7 -rw-r--r-- 1 root     0 5.1G Nov 21 10:00 big",
    "123456 -rwxr-xr-x 1  1234 5678   10 Nov 21 10:00 run.sh*",
    "     9 lrwxrwxrwx 1 alice    5    1 Nov 21 10:00 ln -> d/",
  ]);
});

Deno.test("formatLongRows() shows the time -u/-c choose, in the --time-style asked for", () => {
  const entry = {
    name: "f",
    info: info({
      name: "f",
      mtime: new Date("2024-11-21T10:00:00Z"),
      atime: new Date("2001-02-03T04:05:06Z"),
      ctimeNs: 1732183200_123456789n,
    }),
  };
  const rows = (options: object) =>
    formatLongRows([entry], { now: NOW, timeZone: "UTC", ...options })[0]!;
  assert.equal(rows({}), "-rw-r--r-- 1 root root 0 Nov 21 10:00 f");
  assert.equal(rows({ time: "atime" }), "-rw-r--r-- 1 root root 0 Feb  3  2001 f");
  assert.equal(
    rows({ time: "ctime", style: parseTimeStyle("full-iso") }),
    "-rw-r--r-- 1 root root 0 2024-11-21 10:00:00.123456789 +0000 f",
  );
  assert.equal(
    rows({ time: "atime", style: parseTimeStyle("iso") }),
    "-rw-r--r-- 1 root root 0 2001-02-03  f",
  );
});

Deno.test("totalLine() prints 1K blocks, or -h units", () => {
  const infos = [info({ name: "a", spaceUsed: 4096n }), info({ name: "b", spaceUsed: 512n })];
  assert.equal(totalLine(infos, false), "total 5");
  assert.equal(totalLine(infos, true), "total 4.5K");
  assert.equal(totalLine([], true), "total 0");
  assert.equal(totalLine([info({ name: "a", spaceUsed: 2n ** 30n })], true), "total 1.0G");
});

Deno.test("jsonRecord() adds name_bytes, path_bytes and target_bytes for bytes that are not UTF-8", () => {
  const name = nameOf("lat", 0xe9, "in1");
  const record = jsonRecord(
    info({ name, path: `/vfs/${name}`, kind: "symlink", linkTarget: nameOf(0xff) }),
    "nfs://h/vfs/lat%E9in1",
  );
  assert.equal(record.name, "lat\ufffdin1");
  assert.equal(record.name_bytes, "bGF06WluMQ==");
  assert.deepEqual(
    bytesOf(
      decodeByteString(Uint8Array.from(atob(record.name_bytes as string), (c) => c.charCodeAt(0))),
    ),
    bytesOf("lat", 0xe9, "in1"),
  );
  assert.equal(record.path, "/vfs/lat\ufffdin1");
  assert.equal(record.path_bytes, btoa("/vfs/lat\xe9in1"));
  assert.equal(record.target, "\ufffd");
  assert.equal(record.target_bytes, "/w==");
  // Valid UTF-8 needs no bytes.
  const plain = jsonRecord(info({ name: "café", kind: "symlink", linkTarget: "日本" }), "u");
  assert.equal("name_bytes" in plain, false);
  assert.equal("path_bytes" in plain, false);
  assert.equal("target_bytes" in plain, false);
  // The record is valid JSON text: no lone surrogates.
  assert.ok(JSON.stringify(record).isWellFormed());
  assert.doesNotMatch(JSON.stringify(record), /\\ud[c-f]/);
});

Deno.test("layoutColumns() matches ls -C on a local folder at many widths", async () => {
  const folder = await Deno.makeTempDir({ prefix: "nfs4-columns-" });
  try {
    const names = ["a", "b", "c", "dd", "eeeeeeeee", "f", "日本", "g", "hhhhhhhhhhhhhhhhhhhh", "i"];
    for (let i = 0; i < 30; i++) names.push("x".repeat(i % 7 + 1) + i);
    for (const name of names) createFile([folder, "/", name]);
    const sorted = outputLines(await coreutilsLs(["-1"], folder));
    for (const width of [0, 1, 2, 3, 7, 20, 33, 50, 79, 80, 81, 120, 500]) {
      const expected = outputLines(await coreutilsLs(["-C", "-T0", `-w${width}`], folder));
      assert.deepEqual(layoutColumns(sorted, width), expected, `width ${width}`);
    }
    // Few one-letter names: columns are at least 3 wide.
    const few = await Deno.makeTempDir({ prefix: "nfs4-columns-" });
    try {
      for (const name of ["a", "b", "c", "d", "e", "f", "g"]) createFile([few, "/", name]);
      for (const width of [4, 5, 6, 7, 8, 9, 10, 20]) {
        assert.deepEqual(
          layoutColumns(["a", "b", "c", "d", "e", "f", "g"], width),
          outputLines(await coreutilsLs(["-C", "-T0", `-w${width}`], few)),
          `width ${width}`,
        );
      }
    } finally {
      await Deno.remove(few, { recursive: true });
    }
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});
