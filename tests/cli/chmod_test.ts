/**
 * `nfs4 chmod` against GNU chmod: each row runs `chmod` on a local copy of
 * the sample tree and `nfs4 chmod` on another behind Ganesha, on NFSv4.0
 * and 4.1, and compares the trees (modes, owners, links, kinds, mtimes,
 * contents), the -v/-c lines, the files that failed and the exit codes.
 */

import assert from "node:assert/strict";
import { VERSIONS } from "./_cp.ts";
import { BASE_FIELDS, compareRows, fixtureTest, type Row, runNfs4 } from "./_setattr.ts";

/** chmod does not change mtimes: any change shows. */
const FIELDS = `${BASE_FIELDS} %T@ %s`;

const ROWS: readonly Row[] = [
  { name: "octal on files", args: ["-v", "640", "@a", "@b", "@s"] },
  { name: "symbolic with who", args: ["-v", "u+x,go-w", "@a", "@big"] },
  { name: "without who: the umask limits", args: ["-v", "+w", "@d/sub/y"] },
  { name: "without who, umask 077", args: ["-v", "+rwx", "@a"], as: { umask: 0o077 } },
  { name: "= without who", args: ["-v", "=", "@a", "@d"] },
  { name: "X on files and directories", args: ["-R", "-v", "a+rX", "@d"] },
  { name: "-R: directories before contents, symlinks left", args: ["-Rv", "go-rwx", "@d"] },
  { name: "-c prints changes only", args: ["-c", "755", "@b", "@a"] },
  { name: "short octal keeps a directory's set-gid", args: ["-v", "755", "@d"] },
  { name: "5 octal digits clear it", args: ["-v", "00755", "@d"] },
  { name: "set-id and sticky", args: ["-v", "u+s,g+s,+t", "@a", "@d"] },
  { name: "copy from another class", args: ["-v", "g=u,o=g", "@s", "@d/x"] },
  { name: "a symlink on the command line is followed", args: ["-v", "700", "@l"] },
  { name: "-R through a symlink named on the command line", args: ["-Rv", "u-w", "@ld"] },
  { name: "--reference", args: ["-v", "--reference", "@d/x", "@a", "@b"] },
  { name: "a missing file: exit 1, the rest changed", args: ["-v", "600", "@missing", "@a"] },
  { name: "-f: no message, still exit 1", args: ["-fv", "600", "@missing", "@a"] },
  { name: "a dangling symlink", args: ["-v", "600", "@dang"] },
  { name: "a file named as a directory", args: ["-v", "600", "@a/"] },
  { name: "-R into a directory, one entry unchanged", args: ["-Rc", "u=rwX,go=rX", "@d"] },
  { name: "a mode starting with - after --", args: ["-v", "--", "-w", "@a", "@b"] },
  {
    name: "-R as uid 1000: a directory it may neither change nor read",
    args: ["-Rv", "go-rx", "@u"],
    as: { uid: 1000 },
  },
  {
    name: "an invalid mode is a usage error (coreutils: 1)",
    args: ["u+q", "@a"],
    code: 2,
    stderr: [/^nfs4: invalid mode: 'u\+q'$/],
  },
];

fixtureTest("nfs4 chmod matches GNU chmod through Ganesha (4.0 and 4.1)", async (fixture, t) => {
  await compareRows(fixture, t, "chmod", ROWS, FIELDS);
});

fixtureTest("nfs4 chmod: errors, order and permission (4.0 and 4.1)", async (fixture) => {
  for (const version of VERSIONS) {
    const sides = await fixture.sides();
    const url = sides.url;
    // Messages: one line each, naming the URL and the NFS status.
    const missing = await runNfs4(["--vers", version, "chmod", "600", `${url}/missing`]);
    assert.equal(missing.code, 1);
    assert.equal(
      missing.stderr,
      `nfs4: ${url}/missing: No such file or directory (NFS4ERR_NOENT)\n`,
    );
    const dang = await runNfs4(["--vers", version, "chmod", "600", `${url}/dang`]);
    assert.equal(dang.stderr, `nfs4: ${url}/dang: cannot operate on dangling symlink\n`);
    // -R: a directory is changed before its contents (as fts's pre-order).
    const walk = await runNfs4(["--vers", version, "chmod", "-Rv", "u+w", `${url}/d`]);
    assert.equal(walk.code, 0, walk.stderr);
    const named = walk.stdout.split("\n").filter((l) => l !== "").map((l) =>
      /'([^']*)'/.exec(l)![1]!.slice(url.length + 1)
    );
    assert.equal(named[0], "d");
    assert.ok(named.indexOf("d/sub") < named.indexOf("d/sub/y"), walk.stdout);
    // Not the owner: the server refuses, the mode stays.
    const before = (await Deno.stat(`${sides.remote}/r/f`)).mode! & 0o7777;
    const denied = await runNfs4(["--vers", version, "chmod", "600", `${url}/r/f`], {
      uid: 1000,
    });
    assert.equal(denied.code, 1);
    assert.equal(denied.stderr, `nfs4: ${url}/r/f: Operation not permitted (NFS4ERR_PERM)\n`);
    assert.equal((await Deno.stat(`${sides.remote}/r/f`)).mode! & 0o7777, before);
    // Its own file: allowed.
    const own = await runNfs4(["--vers", version, "chmod", "600", `${url}/u/mine`], {
      uid: 1000,
    });
    assert.equal(own.code, 0, own.stderr);
    assert.equal((await Deno.stat(`${sides.remote}/u/mine`)).mode! & 0o7777, 0o600);
    // -v names a file by its URL, percent-encoded as needed, in quotes.
    await Deno.writeTextFile(`${sides.remote}/a b`, "");
    const spaced = await runNfs4(["--vers", version, "chmod", "-v", "600", `${url}/a%20b`]);
    assert.equal(
      spaced.stdout,
      `mode of '${url}/a%20b' changed from 0644 (rw-r--r--) to 0600 (rw-------)\n`,
    );
    // Usage errors: exit 2, nothing changed.
    for (const args of [["chmod", "755"], ["chmod", "8", `${url}/a`], ["chmod", "a+", "x"]]) {
      const r = await runNfs4(["--vers", version, ...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr.split("\n").filter((l) => l !== "").length, 1, r.stderr);
    }
  }
});
