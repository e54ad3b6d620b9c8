/**
 * cli/ls_format.ts against what GNU coreutils `ls` prints in the C locale
 * (expected outputs captured from coreutils 9.1, `-T0` for spaces).
 */

import assert from "node:assert/strict";
import {
  calendarFields,
  compareNames,
  displayWidth,
  escapeForTerminal,
  formatLongRows,
  formatLsTime,
  jsonRecord,
  layoutColumns,
  modeString,
  SIX_MONTHS_MS,
  totalBlocks,
} from "../../cli/ls_format.ts";
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
const UTC = { now: NOW, timeZone: "UTC" };

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

Deno.test("formatLsTime() uses the six-months rule of coreutils", () => {
  const now = NOW.getTime();
  const at = (ms: number) => formatLsTime(new Date(ms), UTC);
  assert.equal(at(now - 60_000), "Nov 21 10:47");
  assert.equal(formatLsTime(new Date("2024-11-01T03:04:00Z"), UTC), "Nov  1 03:04");
  assert.equal(formatLsTime(new Date("2001-02-03T04:05:00Z"), UTC), "Feb  3  2001");
  assert.equal(formatLsTime(new Date("2024-06-01T00:00:00Z"), UTC), "Jun  1 00:00");
  // The window is open at both ends: exactly six months ago, and now, are "old".
  assert.equal(at(now - SIX_MONTHS_MS), "May 22  2024");
  assert.match(at(now - SIX_MONTHS_MS + 60_000), /^May 22 \d\d:\d\d$/);
  assert.equal(at(now), "Nov 21  2024");
  // Future times print the year.
  assert.equal(formatLsTime(new Date("2025-01-02T00:00:00Z"), UTC), "Jan  2  2025");
  assert.equal(formatLsTime(undefined, UTC), "?");
  assert.equal(formatLsTime(new Date(NaN), UTC), "?");
});

Deno.test("formatLsTime() applies the time zone", () => {
  const when = new Date("2024-11-21T01:30:00Z");
  assert.equal(formatLsTime(when, UTC), "Nov 21 01:30");
  assert.equal(formatLsTime(when, { now: NOW, timeZone: "America/New_York" }), "Nov 20 20:30");
  assert.equal(formatLsTime(when, { now: NOW, timeZone: "Asia/Kolkata" }), "Nov 21 07:00");
  // Midnight is 00, not 24.
  assert.equal(formatLsTime(new Date("2024-11-20T00:05:00Z"), UTC), "Nov 20 00:05");
  // The default is the process's zone, as Date's local getters see it.
  const local = calendarFields(when);
  assert.deepEqual(local, {
    year: when.getFullYear(),
    month: when.getMonth() + 1,
    day: when.getDate(),
    hour: when.getHours(),
    minute: when.getMinutes(),
  });
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

Deno.test("escapeForTerminal() replaces control characters with ?", () => {
  assert.equal(escapeForTerminal("a\nb\tc\u001b[31m\u007f\u0085"), "a?b?c?[31m??");
  assert.equal(escapeForTerminal("plain é 日本"), "plain é 日本");
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
  // A line must be shorter than the width: "ab  cd" (6) fits 7, not 6.
  assert.deepEqual(layoutColumns(["ab", "cd"], 7), ["ab  cd"]);
  assert.deepEqual(layoutColumns(["ab", "cd"], 6), ["ab", "cd"]);
  // Width 0: no limit.
  assert.deepEqual(layoutColumns(["a", "b", "c"], 0), ["a  b  c"]);
  // Wide characters count twice.
  assert.deepEqual(layoutColumns(["日本", "x", "y"], 9), ["日本  y", "x"]);
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
      size: 2n ** 60n,
      spaceUsed: 8192n,
      mtime: new Date("2024-01-02T03:04:05.678Z"),
      fileid: 18446744073709551615n,
    }),
    "nfs://h/vfs/f",
  );
  assert.deepEqual(record, {
    name: "f",
    path: "/vfs/f",
    url: "nfs://h/vfs/f",
    type: "file",
    mode: 0o640,
    modeString: "-rw-r-----",
    nlink: 1,
    owner: "root",
    group: "root",
    size: "1152921504606846976",
    spaceUsed: 8192,
    atime: null,
    mtime: "2024-01-02T03:04:05.678Z",
    ctime: null,
    fileid: "18446744073709551615",
  });
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
