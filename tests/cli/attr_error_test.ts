/**
 * A listed entry whose attributes the server could not get: READDIR's
 * rdattr_error (RFC 7530 §5.8.1.12, RFC 8881 §5.8.1.12; Linux nfsd sends
 * NFS4ERR_MOVED for a referral, NFS4ERR_ACCESS or an I/O error for an
 * entry it cannot stat). It is a failure to report, naming the entry and
 * the status, with exit 1, as coreutils reports a file it cannot stat: `ls
 * -l`, `du`, `find` and `cp -r` used to take it as a file of unknown kind
 * (cp skipped it with a warning and exit 0, an incomplete copy). A plain
 * `ls`, which asks nothing but the type, lists it as ls does from d_type.
 * Also: a server without space_used (RECOMMENDED, RFC 7530 §5.7) gets its
 * files counted by size in `du`, not as 0. Through the in-memory client
 * (tests/cli/_fake.ts).
 */

import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { dir, file, runFake } from "./_fake.ts";

const servers = () => ({
  "srv:2049": dir({
    vfs: dir({
      d: dir({
        a: file("aaaa"),
        moved: file("", { attrError: S.NFS4ERR_MOVED }),
        z: file("zz"),
      }),
    }),
  }),
});

const MOVED_LINE = "nfs4: nfs://srv/vfs/d/moved: File system moved (NFS4ERR_MOVED)";

Deno.test("ls -l: an entry listed with rdattr_error is reported, still shown, exit 1; plain ls lists it", async () => {
  const long = await runFake(["ls", "-l", "nfs://srv/vfs/d"], { servers: servers() });
  assert.equal(long.code, 1, long.stderr);
  assert.equal(long.stderr, `${MOVED_LINE}\n`);
  assert.match(long.stdout, / a\n/);
  assert.match(long.stdout, /\? moved\n/);
  assert.match(long.stdout, / z\n/);
  const plain = await runFake(["ls", "-1", "nfs://srv/vfs/d"], { servers: servers() });
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.stdout, "a\nmoved\nz\n");
});

Deno.test("du and find: an entry listed with rdattr_error is reported, the rest counted, exit 1", async () => {
  const du = await runFake(["du", "-a", "-b", "nfs://srv/vfs/d"], { servers: servers() });
  assert.equal(du.code, 1, du.stderr);
  assert.equal(du.stderr, `${MOVED_LINE}\n`);
  assert.match(du.stdout, /^4\tnfs:\/\/srv\/vfs\/d\/a$/m);
  assert.match(du.stdout, /^2\tnfs:\/\/srv\/vfs\/d\/z$/m);
  assert.doesNotMatch(du.stdout, /moved/);
  const find = await runFake(["find", "nfs://srv/vfs/d"], { servers: servers() });
  assert.equal(find.code, 1, find.stderr);
  assert.equal(find.stderr, `${MOVED_LINE}\n`);
  assert.deepEqual(find.stdout.split("\n").filter((l) => l !== "").sort(), [
    "nfs://srv/vfs/d",
    "nfs://srv/vfs/d/a",
    "nfs://srv/vfs/d/z",
  ]);
});

Deno.test("cp -r: an entry listed with rdattr_error fails the copy (exit 1, named), where it was skipped as a special file", async () => {
  const local = await mkdtemp(join(tmpdir(), "nfs4-attr-error-"));
  try {
    const r = await runFake(["cp", "-r", "nfs://srv/vfs/d", join(local, "d")], {
      servers: servers(),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /nfs:\/\/srv\/vfs\/d\/moved: File system moved \(NFS4ERR_MOVED\)/);
    assert.doesNotMatch(r.stderr, /skipped/);
    assert.deepEqual((await readdir(join(local, "d"))).sort(), ["a", "z"]);
    assert.equal(await readFile(join(local, "d", "a"), "utf8"), "aaaa");
  } finally {
    await rm(local, { recursive: true, force: true });
  }
});

Deno.test("du: a server without space_used has its files counted by size, not as 0", async () => {
  const world = {
    servers: {
      "srv:2049": dir({
        vfs: dir({
          d: dir({ f: file("x".repeat(5000), { noSpaceUsed: true }) }, { noSpaceUsed: true }),
        }),
      }),
    },
  };
  const r = await runFake(["du", "-a", "-B1", "nfs://srv/vfs/d"], world);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^5000\tnfs:\/\/srv\/vfs\/d\/f$/m);
});
