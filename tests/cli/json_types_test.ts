/**
 * Every `--json` output writes the same attribute with the same JSON type
 * and value (cli/json_values.ts): `ls`, `stat`, `du`, `df` and `info` on
 * one file behind a Ganesha export, over NFSv4.0 and 4.1. Identifiers
 * (fileid, change, fsid) are strings, sizes and counts numbers (with all
 * their digits above 2^53 - 1: Ganesha's maxfilesize is 2^63 - 1), times
 * `{ seconds, nseconds }` to the nanosecond (RFC 7530 §3.3.1 nfstime4).
 * Before, `ls` wrote the fileid as a string and `stat` as a number, `ls`
 * its times as milliseconds in ISO 8601, `stat` as `{ seconds, nseconds }`,
 * `info` its limits as strings and `stat` as numbers.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { serverTest } from "../_server.ts";
import { nfs4, type Result } from "./_spawn.ts";

const VERSIONS = ["4.0", "4.1"] as const;

function ok(r: Result, what: string): string {
  assert.equal(r.code, 0, `${what}: exit ${r.code}: ${r.stderr}`);
  assert.equal(r.stderr, "", what);
  return r.stdout;
}

/** Equal in type and value (strict deep equality), named in the message. */
function same(a: unknown, b: unknown, what: string): void {
  assert.deepStrictEqual(a, b, `${what}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
}

serverTest(
  "ls, stat, du, df and info --json write the attributes they share with the same type and value",
  async (server) => {
    const root = server.exportDir;
    fs.mkdirSync(path.join(root, "d"));
    const local = path.join(root, "d", "f");
    fs.writeFileSync(local, "x".repeat(5000));
    // Times to the nanosecond, in the past: nothing moves them while the commands run.
    const touch = new Deno.Command("touch", {
      args: ["-d", "2001-02-03 04:05:06.007008009", local],
    })
      .outputSync();
    assert.equal(touch.code, 0);
    const dirUrl = `${server.url}/vfs/d`;
    const url = `${dirUrl}/f`;

    for (const vers of VERSIONS) {
      const v = ["--vers", vers];
      const statText = ok(await nfs4([...v, "stat", "--json", url]), `${vers} stat`);
      const stat = JSON.parse(statText);
      const a = stat.attributes;
      const [ls] = ok(await nfs4([...v, "ls", "--json", dirUrl]), `${vers} ls`)
        .trimEnd().split("\n").map((line) => JSON.parse(line));
      const du = JSON.parse(ok(await nfs4([...v, "du", "--json", url]), `${vers} du`));
      const apparent = JSON.parse(
        ok(await nfs4([...v, "du", "--json", "--apparent-size", url]), `${vers} du -b`),
      );
      const dfText = ok(await nfs4([...v, "df", "--json", url]), `${vers} df`);
      const df = JSON.parse(dfText);
      const infoText = ok(await nfs4([...v, "info", "--json", url]), `${vers} info`);
      const info = JSON.parse(infoText);

      // The object: ls and stat (and du's bytes).
      same(ls.url, stat.url, `${vers} url`);
      same(ls.path, stat.path, `${vers} path`);
      same(ls.type, stat.type, `${vers} type`);
      same(ls.fileid, a.fileid, `${vers} fileid`);
      same(ls.fileid, String(fs.statSync(local).ino), `${vers} fileid is the inode`);
      same(ls.size, a.size, `${vers} size`);
      same(ls.size, 5000, `${vers} size is a number`);
      same(ls.spaceUsed, a.space_used, `${vers} space_used`);
      same(du.bytes, a.space_used, `${vers} du bytes`);
      same(apparent.bytes, a.size, `${vers} du --apparent-size bytes`);
      same(ls.mode, a.mode, `${vers} mode`);
      same(ls.nlink, a.numlinks, `${vers} numlinks`);
      same(ls.owner, a.owner, `${vers} owner`);
      same(ls.group, a.owner_group, `${vers} owner_group`);
      same(ls.mtime, a.time_modify, `${vers} time_modify`);
      same(ls.mtime, { seconds: 981173106, nseconds: 7008009 }, `${vers} mtime to the ns`);
      same(ls.atime, a.time_access, `${vers} time_access`);
      same(ls.ctime, a.time_metadata, `${vers} time_metadata`);
      // change: an identifier, a string whatever its value (Ganesha's are above 2^53).
      assert.equal(typeof a.change, "string", `${vers} change`);
      assert.match(a.change, /^[0-9]+$/);
      assert.equal(typeof a.mounted_on_fileid, "string", `${vers} mounted_on_fileid`);

      // The file system: stat, df and info.
      for (const name of ["space_total", "space_free", "space_avail", "files_total"]) {
        assert.equal(typeof df[name], typeof a[name], `${vers} df ${name}`);
        assert.equal(typeof df[name], "number", `${vers} df ${name}`);
      }
      // Totals do not move while other tests write the disk.
      same(df.space_total, a.space_total, `${vers} df space_total`);
      same(df.files_total, a.files_total, `${vers} df files_total`);
      const fsInfo = info.fileSystem;
      same(fsInfo.fsid, a.fsid, `${vers} fsid`);
      assert.match(fsInfo.fsid, /^[0-9]+:[0-9]+$/);
      for (const name of ["maxread", "maxwrite", "maxfilesize", "maxname"]) {
        same(fsInfo[name], a[name], `${vers} info ${name}`);
        assert.equal(typeof fsInfo[name], "number", `${vers} info ${name}`);
      }
      // 2^63 - 1 written with all its digits, the same in both.
      const maxfilesize = /"maxfilesize": ([0-9]+),/.exec(statText)?.[1];
      assert.ok(maxfilesize !== undefined, statText);
      assert.ok(infoText.includes(`"maxfilesize": ${maxfilesize},`), infoText);
      assert.equal(maxfilesize, "9223372036854775807");
      same(info.leaseSeconds, a.lease_time, `${vers} lease_time`);
      const delta = a.time_delta as { seconds: number; nseconds: number };
      same(info.clock.timeDeltaNs, delta.seconds * 1e9 + delta.nseconds, `${vers} time_delta`);
    }
  },
);
