/**
 * `nfs4 info` lists the exports of a pseudo file system with directories of
 * its own between the root and the exports (RFC 7530 §7), as knfsd's
 * `/srv/nfs/home` or Ganesha's `Pseudo = /exports/a`: Ganesha with its
 * exports at `/top/nested/vfs` and `/top/mem` (the test server's
 * `pseudoPaths`). Its pseudo directories have the pseudo-root's fsid
 * (152:152), its exports their own: `info` walks down through the first
 * and lists the second with their full paths, not `/top`; on 4.0 and 4.1,
 * text and `--json`. A pseudo file system deeper than the walk goes (8
 * levels) is cut there, and the output says so.
 */

import assert from "node:assert/strict";
import type { ServerProbe } from "../../lib/client/probe.ts";
import { serverTest } from "../_server.ts";
import { nfs4 } from "./_spawn.ts";

const NESTED = { vfs: "/top/nested/vfs", mem: "/top/mem" };

/** `path  fsid N:N (export)` in the "Under /" section. */
function exportLine(path: string): RegExp {
  return new RegExp(`^ {2}${path.replaceAll("/", "\\/")} +fsid [0-9]+:[0-9]+ \\(export\\)$`, "m");
}

serverTest(
  "nfs4 info: exports below pseudo-fs directories are listed with their full paths",
  async (server) => {
    for (const vers of ["4.0", "4.1"]) {
      const json = await nfs4(["--vers", vers, "info", "--json", `${server.url}${NESTED.vfs}`]);
      assert.equal(json.code, 0, json.stderr);
      const probe = JSON.parse(json.stdout) as ServerProbe;
      assert.equal(probe.detailsVersion, Number(vers.slice(2)));
      const exports = [...probe.exports!].sort((a, b) => a.path.localeCompare(b.path));
      assert.deepEqual(
        exports.map((e) => [e.path, e.separateFs]),
        [["/top/mem", true], ["/top/nested/vfs", true]],
        `${vers}: ${JSON.stringify(probe.exports)}`,
      );
      // The URL's path is the VFS export: the same file system.
      assert.equal(exports[1]!.fsid, probe.fileSystem!.fsid);
      assert.notEqual(exports[0]!.fsid, exports[1]!.fsid);
      assert.deepEqual(probe.notLearned, ["clock skew: needs --write-probe (creates a file)"]);

      const text = await nfs4(["--vers", vers, "info", `${server.url}${NESTED.vfs}`]);
      assert.equal(text.code, 0, text.stderr);
      const under = text.stdout.slice(text.stdout.indexOf("Under / (pseudo file system)\n"));
      assert.ok(under.length < text.stdout.length, text.stdout);
      const section = under.slice(0, under.indexOf("\n\n"));
      assert.match(section, exportLine("/top/mem"));
      assert.match(section, exportLine("/top/nested/vfs"));
      // Two exports, and no pseudo-fs directory (`/top`, `/top/nested`).
      assert.equal(section.split("\n").length, 3, section);
    }
  },
  { pseudoPaths: NESTED },
);

serverTest(
  "nfs4 info: a pseudo file system deeper than 8 levels is cut there, and says so",
  async (server) => {
    for (const vers of ["4.0", "4.1"]) {
      const json = await nfs4(["--vers", vers, "info", "--json", `${server.url}/deep/mem`]);
      assert.equal(json.code, 0, json.stderr);
      const probe = JSON.parse(json.stdout) as ServerProbe;
      const deepest = "/deep/b/c/d/e/f/g/h";
      assert.deepEqual(
        probe.exports!.map((e) => [e.path, e.separateFs]),
        [["/deep/mem", true], [deepest, false]],
        JSON.stringify(probe.exports),
      );
      assert.deepEqual(probe.notLearned, [
        `exports more than 8 levels below /: not looked for (${deepest} not read)`,
        "clock skew: needs --write-probe (creates a file)",
      ]);
      const text = await nfs4(["--vers", vers, "info", `${server.url}/deep/mem`]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, exportLine("/deep/mem"));
      assert.match(text.stdout, /^ {2}\/deep\/b\/c\/d\/e\/f\/g\/h +fsid [0-9]+:[0-9]+$/m);
      assert.match(
        text.stdout,
        /^Not learned\n {2}- exports more than 8 levels below \/: not looked for \(\/deep\/b\/c\/d\/e\/f\/g\/h not read\)$/m,
      );
    }
  },
  { pseudoPaths: { vfs: "/deep/b/c/d/e/f/g/h/i/vfs", mem: "/deep/mem" } },
);
