/**
 * `ls`, `stat` and `cat` against a server whose listings, attributes and
 * symlink targets are out of range (tests/client/_hostile_listing.ts), as a
 * black box: a value no one can believe shows as unknown (`?`), never ends
 * the command with a bare "Invalid time value"; a symlink target that is no
 * path is one error line naming the link.
 */

import assert from "node:assert/strict";
import type { FileAttributes } from "../../lib/nfs4/attrs.ts";
import { FileType } from "../../lib/nfs4/constants.ts";
import { dirEntry } from "../../lib/nfs4/ops/readdir.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { type Hostility, withHostileServer } from "../client/_hostile_listing.ts";
import { nfs4 } from "./_spawn.ts";

const FILES = { "/vfs/file": "x", "/vfs/link": "" };
const TIME = { seconds: 1_700_000_000n, nseconds: 0 };
const BASE: FileAttributes = {
  type: FileType.NF4REG,
  mode: 0o644,
  numlinks: 1,
  owner: "u",
  ownerGroup: "g",
  size: 5n,
  spaceUsed: 4096n,
  timeAccess: TIME,
  timeModify: TIME,
  timeMetadata: TIME,
};

async function run(hostility: Hostility, args: (url: string) => string[]) {
  let result: Awaited<ReturnType<typeof nfs4>> | undefined;
  await withHostileServer(hostility, async ({ url }) => {
    result = await nfs4(["--vers", "4.1", "--timeout", "10", ...args(url)], { TZ: "UTC" });
  }, { files: FILES });
  return result!;
}

function assertOneErrorLine(stderr: string, what: RegExp): void {
  const lines = stderr.split("\n").filter((line) => line.length > 0);
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, /^nfs4: /);
  assert.match(lines[0]!, what);
}

const listed: Hostility = {
  readdir: () => ({
    status: S.NFS4_OK,
    value: {
      cookieverf: new Uint8Array(8),
      entries: [
        dirEntry(10n, "good", BASE),
        dirEntry(11n, "nsec", {
          ...BASE,
          timeModify: { seconds: 1_700_000_000n, nseconds: 4_000_000_000 },
        }),
        dirEntry(12n, "huge", { ...BASE, timeModify: { seconds: 1n << 62n, nseconds: 0 } }),
        dirEntry(13n, "owner", { ...BASE, owner: "o".repeat(1024), ownerGroup: "g".repeat(300) }),
      ],
      eof: true,
    },
  }),
  attrs: (path, attrs) =>
    path === "/vfs/file"
      ? { ...attrs, ...BASE, timeModify: { seconds: -(1n << 63n), nseconds: 0 } }
      : attrs,
};

Deno.test("RFC 7530 §3.3.1: ls -l shows a time with nseconds past 999,999,999 or past any date as '?'", async () => {
  for (const flags of [["-l"], ["-l", "--full-time"], ["-lt"], ["-lu"]]) {
    const r = await run(listed, (url) => ["ls", ...flags, `${url}/vfs`]);
    assert.equal(r.code, 0, `${flags}: ${r.stderr}`);
    assert.equal(r.stderr, "");
    const lines = r.stdout.split("\n").filter((l) => l.length > 0 && !l.startsWith("total"));
    assert.equal(lines.length, 4, r.stdout);
    for (const line of lines) {
      const name = line.split(" ").at(-1)!;
      const unknown = / \? (nsec|huge)$/.test(line);
      if (flags.includes("-lu")) assert.ok(!unknown, line); // their atime is good
      else assert.equal(unknown, name === "nsec" || name === "huge", `${flags}: ${line}`);
    }
    // Every name starts in the same column, a 1024-byte owner or not.
    const starts = lines.map((l) => l.lastIndexOf(" ") + 1);
    assert.equal(new Set(starts).size, 1, r.stdout);
  }
});

Deno.test("RFC 7530 §3.3.1: stat shows a time before any date as unknown, the rest as sent", async () => {
  const r = await run(listed, (url) => ["stat", `${url}/vfs/file`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ {2}time_modify {10}unknown$/m);
  assert.match(r.stdout, /^ {2}time_access {10}1700000000\.000000000 \(2023-11-14/m);
  const format = await run(listed, (url) => ["stat", "--format", "%Y %X %n", `${url}/vfs/file`]);
  assert.equal(format.code, 0, format.stderr);
  assert.match(format.stdout, /^\? 1700000000 /);
});

const emptyLink: Hostility = {
  attrs: (path, attrs) => path === "/vfs/link" ? { ...attrs, type: FileType.NF4LNK } : attrs,
  readlink: (path) =>
    path === "/vfs/link" ? { status: S.NFS4_OK, value: "" } : { status: S.NFS4ERR_INVAL },
};

Deno.test("RFC 7530 §16.25, RFC 8881 §18.24: a symlink with an empty target is one error line, never the directory holding it", async () => {
  for (
    const args of [
      (url: string) => ["ls", `${url}/vfs/link/`],
      (url: string) => ["stat", "-L", `${url}/vfs/link`],
      (url: string) => ["cat", `${url}/vfs/link`],
    ]
  ) {
    const r = await run(emptyLink, args);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, "");
    assertOneErrorLine(
      r.stderr,
      /\/vfs\/link\/?: the server returned an empty symlink target \(I\/O error\)$/,
    );
  }
});
