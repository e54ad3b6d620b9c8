/**
 * `nfs4 chown` against GNU chown: each row runs `chown` on a local copy of
 * the sample tree and `nfs4 chown` on another behind Ganesha, on NFSv4.0
 * and 4.1, and compares the trees (owners and groups by name, modes, links,
 * mtimes, contents), the -v/-c lines, the files that failed and the exit
 * codes. Names are this host's (/etc/passwd, /etc/group: root, daemon, bin).
 */

import assert from "node:assert/strict";
import { VERSIONS } from "./_cp.ts";
import { BASE_FIELDS, compareRows, fixtureTest, type Row, runNfs4 } from "./_setattr.ts";
import { parseOwnerSpec } from "../../cli/chown.ts";
import { parseIdDatabase } from "../../cli/ls_owners.ts";
import { UsageError } from "../../lib/client/url.ts";

/** chown changes no mtime (and a symlink's own owner shows in %u %g). */
const FIELDS = `${BASE_FIELDS} %T@ %s`;

const ROWS: readonly Row[] = [
  { name: "a number", args: ["-v", "1000", "@a"] },
  { name: "names", args: ["-v", "daemon:bin", "@a", "@b"] },
  { name: "only the group", args: ["-v", ":bin", "@a"] },
  { name: "the login group", args: ["-v", "daemon:", "@a"] },
  { name: "numbers unknown here", args: ["-v", "4242:4343", "@a"] },
  { name: "a number and a group name", args: ["-v", "4242:bin", "@a"] },
  { name: "only a group number", args: ["-v", ":2", "@a"] },
  { name: "numbers with +", args: ["-v", "+0:+2", "@a"] },
  { name: "-c: only changes", args: ["-c", "0:0", "@a", "@u/mine"] },
  { name: "nothing asked", args: ["-v", ":", "@a"] },
  { name: "-R: contents, then the directory; symlinks themselves", args: ["-Rv", "1:1", "@d"] },
  { name: "a symlink is followed", args: ["-v", "2", "@l"] },
  { name: "-h: the symlink itself", args: ["-hv", "3", "@l"] },
  { name: "-R: a symlink named is not followed", args: ["-Rv", "4", "@l"] },
  { name: "-R -H follows the one named", args: ["-RHv", "5:5", "@ld"] },
  { name: "-R -L follows every symlink", args: ["-RLv", "6", "@d"] },
  // coreutils 9.1 -v names the owner from a stat buffer it never filled
  // (`from 437918234 to 7`); nfs4's line is checked below.
  { name: "a dangling symlink", args: ["-v", "7", "@dang"], skipStdout: true },
  { name: "-h on a dangling symlink", args: ["-hv", "7", "@dang"] },
  { name: "a missing file: exit 1, the rest changed", args: ["-v", "8", "@missing", "@a"] },
  { name: "-f: no message, still exit 1", args: ["-f", "8", "@missing", "@a"] },
  { name: "a set-uid file loses the bit", args: ["-v", "daemon", "@s"] },
  {
    name: "an unknown user is a usage error (coreutils: 1)",
    args: ["nosuchuser", "@a"],
    code: 2,
    stderr: [/^nfs4: invalid user: 'nosuchuser'$/],
  },
  {
    name: "an unknown group",
    args: ["root:nosuchgroup", "@a"],
    code: 2,
    stderr: [/^nfs4: invalid group: 'root:nosuchgroup'$/],
  },
  {
    name: "OWNER: of an unknown user",
    args: ["4242:", "@a"],
    code: 2,
    stderr: [/^nfs4: invalid spec: '4242:'$/],
  },
  {
    name: "-R as uid 1000: refused, an unreadable directory reported",
    args: ["-Rv", ":1000", "@u"],
    as: { uid: 1000 },
  },
  {
    name: "not root: refused per file, the others go on",
    args: ["-v", "1000", "@r/f", "@u/mine"],
    as: { uid: 1000 },
    // coreutils: "changing ownership of 'r/f': Operation not permitted"
  },
];

fixtureTest("nfs4 chown matches GNU chown through Ganesha (4.0 and 4.1)", async (fixture, t) => {
  await compareRows(fixture, t, "chown", ROWS, FIELDS);
});

fixtureTest(
  "nfs4 chown: messages, order, local names and name@domain (4.0 and 4.1)",
  async (fixture) => {
    for (const version of VERSIONS) {
      const { url, remote } = await fixture.sides();
      const denied = await runNfs4(["--vers", version, "chown", "1000", `${url}/r/f`], {
        uid: 1000,
      });
      assert.equal(denied.code, 1);
      assert.equal(denied.stderr, `nfs4: ${url}/r/f: Operation not permitted (NFS4ERR_PERM)\n`);
      const dang = await runNfs4(["--vers", version, "chown", "-v", "1", `${url}/dang`]);
      assert.equal(dang.code, 1);
      assert.equal(
        dang.stderr,
        `nfs4: ${url}/dang: cannot dereference: No such file or directory (NFS4ERR_NOENT)\n`,
      );
      assert.equal(dang.stdout, `failed to change ownership of '${url}/dang' from root to 1\n`);
      // -R: each directory after everything in it (GNU chown's post-order).
      const walk = await runNfs4(["--vers", version, "chown", "-Rv", "2", `${url}/d`]);
      assert.equal(walk.code, 0, walk.stderr);
      const named = walk.stdout.split("\n").filter((l) => l !== "").map((l) =>
        /'([^']*)'/.exec(l)![1]!.slice(url.length + 1)
      );
      assert.equal(named.at(-1), "d");
      assert.ok(named.indexOf("d/sub/y") < named.indexOf("d/sub"), walk.stdout);
      // Names are this host's, sent as numbers (works with --trace too).
      const traced = await runNfs4([
        "--vers",
        version,
        "--trace=json",
        "chown",
        "daemon:bin",
        `${url}/a`,
      ]);
      assert.equal(traced.code, 0, traced.stderr);
      const st = await Deno.stat(`${remote}/a`);
      assert.deepEqual([st.uid, st.gid], [1, 2]);
      // name@domain given explicitly is sent as it is: Ganesha maps a
      // name it does not know to its anonymous uid and answers NFS4_OK;
      // the owner read back says so (exit 1, nothing "changed").
      const domain = await runNfs4([
        "--vers",
        version,
        "chown",
        "-v",
        "nobody-here@example.org",
        `${url}/b`,
      ]);
      const anonymous = (await Deno.stat(`${remote}/b`)).uid!;
      assert.ok([65534, 4294967294].includes(anonymous));
      assert.equal(domain.code, 1, domain.stderr);
      assert.equal(
        domain.stderr,
        `nfs4: failed to change ownership of '${url}/b': the server set owner to '${anonymous}', not 'nobody-here@example.org'\n`,
      );
      assert.equal(
        domain.stdout,
        `failed to change ownership of '${url}/b' from root to nobody-here@example.org\n`,
      );
    }
  },
);

Deno.test("parseOwnerSpec() reads OWNER[:GROUP] as gnulib's parse_user_spec", () => {
  const ids = parseIdDatabase(
    "root:x:0:0::/root:/bin/sh\nalice:x:1000:1001::/home/alice:/bin/sh\n42:x:7:7::/:/bin/sh\n",
    "root:x:0:\nstaff:x:50:\nalices:x:1001:\n",
  );
  const login = (u: string) => ({ root: 0, alice: 1001, "42": 7 } as Record<string, number>)[u];
  const parse = (text: string) => ({ ...parseOwnerSpec(text, ids, login) });
  assert.deepEqual(parse("alice"), {
    owner: "1000",
    group: undefined,
    userName: "alice",
    groupName: undefined,
  });
  assert.deepEqual(parse("alice:staff"), {
    owner: "1000",
    group: "50",
    userName: "alice",
    groupName: "staff",
  });
  assert.deepEqual(parse("alice:"), {
    owner: "1000",
    group: "1001",
    userName: "alice",
    groupName: "alices",
  });
  assert.deepEqual(parse(":staff"), {
    owner: undefined,
    group: "50",
    userName: "",
    groupName: "staff",
  });
  // Numbers are no names: messages print them as numbers (and a group
  // name after a number makes them say "ownership … to :staff", as chown).
  assert.deepEqual(parse("4242:4343"), {
    owner: "4242",
    group: "4343",
    userName: undefined,
    groupName: undefined,
  });
  assert.deepEqual(parse("4242:staff"), {
    owner: "4242",
    group: "50",
    userName: "",
    groupName: "staff",
  });
  assert.deepEqual(parse(":4343"), {
    owner: undefined,
    group: "4343",
    userName: undefined,
    groupName: undefined,
  });
  // A name that looks like a number is a name first, as getpwnam() finds it.
  assert.equal(parse("42").owner, "7");
  // `+N` is a number, never looked up.
  assert.equal(parse("+42").owner, "42");
  assert.deepEqual(parse("bob@example.org:staff@example.org"), {
    owner: "bob@example.org",
    group: "staff@example.org",
    userName: "bob@example.org",
    groupName: "staff@example.org",
  });
  assert.deepEqual(parse(""), {
    owner: undefined,
    group: undefined,
    userName: undefined,
    groupName: undefined,
  });
  assert.deepEqual(parse(":"), parse(""));
  for (
    const [bad, message] of [
      ["nobody", "invalid user: 'nobody'"],
      ["alice:nogroup", "invalid group: 'alice:nogroup'"],
      ["4242:", "invalid spec: '4242:'"],
      ["-1", "invalid user: '-1'"],
      ["4294967295", "invalid user: '4294967295'"],
      [":x y", "invalid group: ':x y'"],
    ]
  ) {
    assert.throws(
      () => parse(bad!),
      (e: unknown) => e instanceof UsageError && e.message === message,
      bad,
    );
  }
});
