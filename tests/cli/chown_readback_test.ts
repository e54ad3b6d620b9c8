/**
 * `nfs4 chown` reads back what the server set: a server that maps owner
 * strings may answer NFS4_OK to a SETATTR of `bob@nowhere` and give the
 * file its anonymous owner (Ganesha: uid 4294967294). That is a failure
 * naming what the server set, exit 1, and `-v`/`-c` tell changed from
 * retained by the owner read back. Against Ganesha, then the comparison
 * rules on their own.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { cpServerTest } from "./_cp.ts";
import { messageLines, nfs4 } from "./_spawn.ts";
import { ownerNotSet, sameOwner } from "../../cli/chown.ts";
import { parseIdDatabase } from "../../cli/ls_owners.ts";

cpServerTest("nfs4 chown fails when the server set another owner than asked", async (server) => {
  const exported = `${server.exportDir}/own`;
  const vfs = `${server.url}/vfs/own`;
  await fs.mkdir(exported);
  await fs.writeFile(`${exported}/a`, "a\n");
  await fs.writeFile(`${exported}/b`, "b\n");

  // Ganesha maps the name it does not know to its anonymous uid, and says NFS4_OK.
  const unknown = await nfs4(["chown", "-v", "bob@nowhere", `${vfs}/a`]);
  const anonymous = (await fs.stat(`${exported}/a`)).uid!;
  assert.notEqual(anonymous, 0, "Ganesha changed the owner");
  assert.equal(unknown.code, 1, unknown.stderr);
  assert.deepEqual(messageLines(unknown.stderr), [
    `nfs4: failed to change ownership of '${vfs}/a': the server set owner to '${anonymous}', not 'bob@nowhere'`,
  ]);
  assert.equal(
    unknown.stdout,
    `failed to change ownership of '${vfs}/a' from root to bob@nowhere\n`,
  );

  // Already the anonymous owner: still not what was asked, never "changed".
  const again = await nfs4(["chown", "-c", "nobody@x", `${vfs}/a`]);
  assert.equal(again.code, 1, again.stderr);
  assert.deepEqual(messageLines(again.stderr), [
    `nfs4: failed to change ownership of '${vfs}/a': the server set owner to '${anonymous}', not 'nobody@x'`,
  ]);
  assert.doesNotMatch(again.stdout, /^changed/);

  // The group alone.
  const group = await nfs4(["chown", ":staff@nowhere", `${vfs}/b`]);
  assert.equal(group.code, 1, group.stderr);
  assert.deepEqual(messageLines(group.stderr), [
    `nfs4: failed to change group of '${vfs}/b': the server set group to '${
      (await fs.stat(`${exported}/b`)).gid
    }', not 'staff@nowhere'`,
  ]);

  // Numbers come back as sent: changed, then retained (nothing printed with -c).
  const numeric = await nfs4(["chown", "-c", "4242:4343", `${vfs}/a`]);
  assert.equal(numeric.code, 0, numeric.stderr);
  assert.match(numeric.stdout, /^changed ownership of '.*' from .* to 4242:4343\n$/);
  const st = await fs.stat(`${exported}/a`);
  assert.deepEqual([st.uid, st.gid], [4242, 4343]);
  const retained = await nfs4(["chown", "-c", "4242:4343", `${vfs}/a`]);
  assert.equal(retained.code, 0, retained.stderr);
  assert.equal(retained.stdout, "");
});

Deno.test("sameOwner() and ownerNotSet() compare owners as this host names them", () => {
  const ids = parseIdDatabase(
    "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n",
    "root:x:0:\nalices:x:1000:\n",
  );
  assert.equal(sameOwner("1000", "alice@example.org", "user", ids), true);
  assert.equal(sameOwner("1000", "1000", "user", ids), true);
  assert.equal(sameOwner("1001", "alice@example.org", "user", ids), false);
  assert.equal(sameOwner("bob@EXAMPLE.org", "bob@example.org", "user", ids), true);
  assert.equal(sameOwner("bob@example.org", "carol@example.org", "user", ids), false);
  // A number against a name this host does not know: the server's database decides.
  assert.equal(sameOwner("1005", "bob@example.org", "user", ids), undefined);

  // What the server set, by what it answered.
  assert.equal(ownerNotSet({ owner: "1000", group: "1000" }, { owner: "1000" }, ids), undefined);
  assert.equal(ownerNotSet({ owner: "alice@x", group: "0" }, { owner: "1000" }, ids), undefined);
  assert.deepEqual(
    ownerNotSet({ owner: "4294967294", group: "0" }, { owner: "bob@nowhere" }, ids),
    {
      owner: ["4294967294", "bob@nowhere"],
    },
  );
  // Cannot be compared here, and not the anonymous owner: taken as set.
  assert.equal(
    ownerNotSet({ owner: "1005", group: "0" }, { owner: "bob@example.org" }, ids),
    undefined,
  );
  // A number asked for, the server's nobody answered.
  assert.deepEqual(
    ownerNotSet({ owner: "0", group: "nogroup@example.org" }, { group: "4242" }, ids),
    { group: ["nogroup@example.org", "4242"] },
  );
  // Named as typed: `alice` was sent as 1000.
  assert.deepEqual(
    ownerNotSet({ owner: "7", group: "0" }, { owner: "1000", userName: "alice" }, ids),
    { owner: ["7", "alice"] },
  );
});
