/**
 * cli/json_values.ts: one JSON type per kind of value, whatever the value.
 * Identifiers are decimal strings, sizes and counts numbers (all their
 * digits above 2^53 - 1), times nfstime4's `{ seconds, nseconds }` (RFC
 * 7530 §3.3.1); `stat --json` (statJson()) writes its attributes so.
 */

import assert from "node:assert/strict";
import {
  jsonCount,
  jsonCountOrNull,
  jsonId,
  jsonPair,
  jsonTime,
  jsonTimeNs,
} from "../../cli/json_values.ts";
import { statJson } from "../../cli/stat.ts";
import { NO_IDS } from "../../cli/ls_owners.ts";
import type { AttributeReport, FileInfo } from "../../lib/client/types.ts";
import { parseNfsUrl } from "../../lib/client/url.ts";

Deno.test("jsonId() is a decimal string for small and large identifiers alike", () => {
  assert.equal(jsonId(0n), "0");
  assert.equal(jsonId(7n), "7");
  assert.equal(jsonId(2n ** 64n - 1n), "18446744073709551615");
});

Deno.test("jsonPair() writes an fsid as major:minor", () => {
  assert.equal(
    jsonPair({ major: 2346523128n, minor: 2n ** 64n - 1n }),
    "2346523128:18446744073709551615",
  );
});

Deno.test("jsonCount() is a number, written with all its digits above 2^53 - 1", () => {
  assert.equal(jsonCount(0n), 0);
  assert.equal(jsonCount(BigInt(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  assert.equal(jsonCount(-5n), -5);
  assert.equal(JSON.stringify({ n: jsonCount(2n ** 53n + 1n) }), '{"n":9007199254740993}');
  assert.equal(
    JSON.stringify([jsonCount(2n ** 63n - 1n), jsonCount(-(2n ** 63n))], null, 1),
    "[\n 9223372036854775807,\n -9223372036854775808\n]",
  );
  // Read back by a reader of doubles: a number, the nearest double.
  assert.equal(JSON.parse(JSON.stringify(jsonCount(2n ** 63n - 1n))), 2 ** 63);
  assert.equal(jsonCountOrNull(undefined), null);
  assert.equal(jsonCountOrNull(3n), 3);
});

Deno.test("jsonTime() and jsonTimeNs() give nfstime4's {seconds, nseconds}", () => {
  assert.deepEqual(jsonTime({ seconds: 981173106n, nseconds: 7008009 }), {
    seconds: 981173106,
    nseconds: 7008009,
  });
  assert.deepEqual(jsonTimeNs(981173106_007008009n), { seconds: 981173106, nseconds: 7008009 });
  assert.deepEqual(jsonTimeNs(0n), { seconds: 0, nseconds: 0 });
  // Before 1970 the seconds round down and the nanoseconds stay 0 to 999,999,999.
  assert.deepEqual(jsonTimeNs(-1n), { seconds: -1, nseconds: 999_999_999 });
  assert.deepEqual(jsonTimeNs(-1_000_000_000n), { seconds: -1, nseconds: 0 });
  assert.deepEqual(jsonTime({ seconds: -1n, nseconds: 750_000_000 }), jsonTimeNs(-250_000_000n));
});

Deno.test("statJson(): fileid and change are strings, sizes numbers, fsid major:minor, times {seconds, nseconds}", () => {
  const values = {
    change: 3n,
    size: 2n ** 60n + 1n,
    fsid: { major: 1n, minor: 2n ** 64n - 1n },
    fileid: 12n,
    maxfilesize: 2n ** 63n - 1n,
    timeModify: { seconds: 981173106n, nseconds: 7008009 },
    mountedOnFileid: 2n ** 63n + 5n,
  };
  const returned = [
    { id: 3, name: "change", value: values.change },
    { id: 4, name: "size", value: values.size },
    { id: 8, name: "fsid", value: values.fsid },
    { id: 20, name: "fileid", value: values.fileid },
    { id: 27, name: "maxfilesize", value: values.maxfilesize },
    { id: 53, name: "time_modify", value: values.timeModify },
    { id: 55, name: "mounted_on_fileid", value: values.mountedOnFileid },
  ];
  const info: FileInfo = {
    name: "f",
    path: "/vfs/f",
    kind: "file",
    mode: undefined,
    nlink: undefined,
    owner: undefined,
    group: undefined,
    size: values.size,
    spaceUsed: undefined,
    atime: undefined,
    mtime: undefined,
    ctime: undefined,
    fileid: values.fileid,
  };
  const report: AttributeReport = {
    info,
    filehandle: new Uint8Array([1, 2]),
    values,
    returned,
    supported: returned.map((r) => r.name),
    unknown: [],
  };
  const json = statJson(parseNfsUrl("nfs://srv/vfs/f"), report, NO_IDS);
  const text = JSON.stringify(json);
  const a = JSON.parse(text).attributes;
  assert.equal(a.change, "3");
  assert.equal(a.fileid, "12");
  assert.equal(a.mounted_on_fileid, "9223372036854775813");
  assert.equal(a.fsid, "1:18446744073709551615");
  assert.deepEqual(a.time_modify, { seconds: 981173106, nseconds: 7008009 });
  assert.ok(text.includes('"size":1152921504606846977,'), text);
  assert.ok(text.includes('"maxfilesize":9223372036854775807,'), text);
});
