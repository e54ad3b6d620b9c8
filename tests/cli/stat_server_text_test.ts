/**
 * `nfs4 stat` prints no text a server sent raw: a symlink target holding
 * an escape sequence is quoted in the default block's `File:` line as
 * `%N` quotes it (Ganesha, the link made in the folder behind the export),
 * the path a followed symlink gives is quoted too, and an owner or group
 * string that maps to no local user shows its control characters as `?`
 * in the block, in `%u %g` and in `-t`, as `ls -l` shows it. Ganesha maps
 * owners to numbers, so the owner strings come from the in-memory client,
 * standing in for a server that sends them (owner and owner_group are
 * UTF-8 strings of the server's choosing, RFC 7530 §5.9, RFC 8881 §5.9).
 */

import assert from "node:assert/strict";
import * as path from "node:path";
import type { AttributeReport } from "../../lib/client/types.ts";
import { serverTest } from "../_server.ts";
import { dir, type FakeClient, file, runFake } from "./_fake.ts";
import { messageLines, nfs4 } from "./_spawn.ts";

/** A target that would turn a terminal's text red. */
const RED = "\x1b[31mtgt";
/** An owner that would retitle a terminal window. */
const OWNER = "\x1b]0;PWN\x07evil@x";
const GROUP = "\x9b2J\x1b[2Jstaff@x";

/** No C0, DEL or C1 control character. */
function assertNoControls(text: string): void {
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(text, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/, JSON.stringify(text));
}

serverTest(
  "stat: a symlink target and a followed path are quoted as %N quotes them",
  async (server) => {
    await Deno.writeTextFile(path.join(server.exportDir, RED), "red\n");
    await Deno.symlink(RED, path.join(server.exportDir, "esc"));
    const url = `${server.url}/vfs/esc`;
    const quoted = "''$'\\033''[31mtgt'";

    const block = await nfs4(["stat", url]);
    assert.equal(block.code, 0, block.stderr);
    assertNoControls(block.stdout);
    assert.ok(block.stdout.startsWith(`File: ${url} -> ${quoted}\nPath: /vfs/esc\n`), block.stdout);

    // The same quoting as `stat -c %N`.
    const n = await nfs4(["stat", "-c", "%N", url]);
    assert.equal(n.stdout, `'${url}' -> ${quoted}\n`);

    // Followed, the path is the server's: quoted when it needs it, as `ls` does.
    const followed = await nfs4(["stat", "-L", url]);
    assert.equal(followed.code, 0, followed.stderr);
    assertNoControls(followed.stdout);
    assert.ok(
      followed.stdout.startsWith(`File: ${url}\nPath: '/vfs/'$'\\033''[31mtgt'\nObject:\n`),
      followed.stdout,
    );

    // $QUOTING_STYLE chooses the style, as for %N.
    const c = await nfs4(["stat", url], { QUOTING_STYLE: "c" });
    assert.equal(c.code, 0, c.stderr);
    assert.ok(c.stdout.startsWith(`File: ${url} -> "\\033[31mtgt"\nPath: "/vfs/esc"\n`), c.stdout);
    assert.deepEqual(messageLines(c.stderr), []);
  },
);

/** The in-memory server, its `/vfs/a` owned by `OWNER` and `GROUP`, with an ACE for `OWNER`. */
const world = {
  servers: { "srv:2049": dir({ vfs: dir({ a: file("abc") }) }) },
  setup: (client: FakeClient) => {
    const plain = client.attributes.bind(client);
    client.attributes = async (p, o): Promise<AttributeReport> => {
      const report = await plain(p, o);
      const ace = { type: 0, flag: 0, accessMask: 1, who: OWNER };
      const added = [
        { id: 12, name: "acl", value: [ace] },
        { id: 36, name: "owner", value: OWNER },
        { id: 37, name: "owner_group", value: GROUP },
      ];
      const returned = [...report.returned, ...added].sort((x, y) => x.id - y.id);
      return {
        ...report,
        values: { ...report.values, acl: [ace], owner: OWNER, ownerGroup: GROUP },
        returned,
        supported: returned.map((r) => r.name),
      };
    };
  },
};

Deno.test("stat: an owner and group that map to no local user show control characters as ?", async () => {
  const owner = "?]0;PWN?evil@x";
  const group = "?2J?[2Jstaff@x";
  const block = await runFake(["stat", "nfs://srv/vfs/a"], world);
  assert.equal(block.code, 0, block.stderr);
  assertNoControls(block.stdout);
  assert.match(block.stdout, /\n {2}owner {16}\?\]0;PWN\?evil@x \(no local user\)\n/);
  assert.match(block.stdout, /\n {2}owner_group {10}\?2J\?\[2Jstaff@x \(no local group\)\n/);
  assert.match(block.stdout, /\n {2}acl {18}ALLOW:\?\]0;PWN\?evil@x:0x1\n/);

  const format = await runFake(["stat", "-c", "%u|%g|%U|%G|%5.3u", "nfs://srv/vfs/a"], world);
  assert.equal(format.code, 0, format.stderr);
  assert.equal(format.stdout, `${owner}|${group}|UNKNOWN|UNKNOWN|  ?]0\n`);

  const terse = await runFake(["stat", "-t", "nfs://srv/vfs/a"], world);
  assert.equal(terse.code, 0, terse.stderr);
  assertNoControls(terse.stdout.slice(0, -1));
  assert.deepEqual(terse.stdout.split(" ").slice(4, 6), [owner, group]);

  // --json carries the strings as sent: JSON escapes them.
  const json = await runFake(["stat", "--json", "nfs://srv/vfs/a"], world);
  assert.equal(JSON.parse(json.stdout).attributes.owner, OWNER);
  assert.ok(json.stdout.includes("\\u001b]0;PWN\\u0007evil@x"));
});
