/**
 * `nfs4 chown` against a server that maps owner strings to names and takes
 * nothing else (RFC 7530 §5.9: knfsd with ID mapping, NetApp, FreeBSD
 * nfsuserd, Windows answer a numeric string with NFS4ERR_BADOWNER): the
 * scripted NFSv4 server's "name@domain only" mode, over TCP, in-process
 * with this host's users and groups given.
 *
 * - A file whose owner or group string carries `@domain` gets `name@domain`
 *   (this host's name for the id, or the name typed).
 * - A file whose strings are numbers (an id the server cannot map) gets the
 *   number; refused with NFS4ERR_BADOWNER, once more as `name@domain`, the
 *   domain from this command's earlier files or the file's directory.
 * - The owner read back (`name@domain`) is the user asked for: no
 *   "the server set owner to ..." failure.
 */

import assert from "node:assert/strict";
import { parseIdDatabase } from "../../cli/ls_owners.ts";
import { ownerStrings, parseOwnerSpec } from "../../cli/chown.ts";
import type { SetattrArgs } from "../../lib/nfs4/ops/setattr.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { ScriptedServer } from "../state/_scripted.ts";
import { runScripted } from "./_scripted_cli.ts";

const IDS = parseIdDatabase(
  "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n" +
    "carol:x:1002:1002::/home/carol:/bin/sh\n",
  "root:x:0:\nstaff:x:50:\n",
);

/** A server that knows root, alice and staff at example.org; /vfs/sub and its x are owned by an id it cannot map. */
function namesOnly(): ScriptedServer {
  return new ScriptedServer({
    now: () => performance.now(),
    files: { "/vfs/file": "file\n", "/vfs/other": "other\n", "/vfs/sub/x": "x\n" },
    owners: {
      domain: "example.org",
      names: ["root", "alice", "staff"],
      of: {
        "/vfs/other": ["4242", "4242"],
        "/vfs/sub": ["4242", "4242"],
        "/vfs/sub/x": ["4242", "4242"],
      },
    },
  });
}

/** The owner strings of each SETATTR the server answered, and its status. */
function setattrs(server: ScriptedServer): string[] {
  return server.log.flatMap((entry) =>
    entry.ops.flatMap((op, i) => {
      if (op !== "SETATTR") return [];
      const { attrs } = entry.args[i] as SetattrArgs;
      const sent = [attrs.owner, attrs.ownerGroup].map((s) => s ?? "-").join(":");
      return [`${sent} ${entry.statuses[i] === S.NFS4_OK ? "ok" : "refused"}`];
    })
  );
}

for (const version of ["4.0", "4.1"] as const) {
  Deno.test(`nfs4 chown ${version}: name@domain to a server whose owner strings carry a domain, and after NFS4ERR_BADOWNER`, async () => {
    const server = namesOnly();
    const [named, numeric, group, refused] = await runScripted(server, [
      ["--vers", version, "chown", "-v", "alice:staff", "@/vfs/file"],
      // 4242: no domain in the file's strings; the directory's say it.
      ["--vers", version, "chown", "-v", "1000", "@/vfs/other"],
      // Now alice@example.org: the group goes as a name at once.
      ["--vers", version, "chown", "-c", ":50", "@/vfs/other"],
      // A name the server does not know: its refusal is the answer.
      ["--vers", version, "chown", "carol", "@/vfs/file"],
    ], IDS);
    assert.equal(named!.code, 0, named!.stderr);
    assert.equal(named!.stderr, "");
    assert.equal(
      named!.stdout,
      "changed ownership of '@/vfs/file' from root:root to alice:staff\n",
    );
    assert.equal(numeric!.code, 0, numeric!.stderr);
    assert.equal(numeric!.stdout, "changed ownership of '@/vfs/other' from 4242 to 1000\n");
    assert.equal(group!.code, 0, group!.stderr);
    assert.equal(group!.stdout, "changed group of '@/vfs/other' from 4242 to 50\n");
    assert.equal(refused!.code, 1);
    assert.equal(refused!.stderr, "nfs4: @/vfs/file: Bad owner (NFS4ERR_BADOWNER)\n");
    assert.deepEqual(setattrs(server), [
      "alice@example.org:staff@example.org ok",
      "1000:- refused",
      "alice@example.org:- ok",
      "-:staff@example.org ok",
      "carol@example.org:- refused",
    ]);
    assert.deepEqual(server.ownerStringsOf("/vfs/file"), [
      "alice@example.org",
      "staff@example.org",
    ]);
    assert.deepEqual(server.ownerStringsOf("/vfs/other"), [
      "alice@example.org",
      "staff@example.org",
    ]);
  });

  Deno.test(`nfs4 chown ${version}: the domain of an earlier file serves the next; unknown, NFS4ERR_BADOWNER is the answer`, async () => {
    const server = namesOnly();
    const [alone, after] = await runScripted(server, [
      // /vfs/sub/x and /vfs/sub show numbers only: no domain to retry with.
      ["--vers", version, "chown", "alice", "@/vfs/sub/x"],
      ["--vers", version, "chown", "alice", "@/vfs/file", "@/vfs/sub/x"],
    ], IDS);
    assert.equal(alone!.code, 1);
    assert.equal(alone!.stderr, "nfs4: @/vfs/sub/x: Bad owner (NFS4ERR_BADOWNER)\n");
    assert.equal(after!.code, 0, after!.stderr);
    assert.deepEqual(setattrs(server), [
      "1000:- refused",
      "alice@example.org:- ok",
      "1000:- refused",
      "alice@example.org:- ok",
    ]);
  });
}

Deno.test("ownerStrings(): name@domain for what this host names, given a domain", () => {
  const spec = parseOwnerSpec("alice:staff", IDS);
  assert.deepEqual(ownerStrings(spec, undefined, IDS), { owner: "1000", ownerGroup: "50" });
  assert.deepEqual(ownerStrings(spec, "example.org", IDS), {
    owner: "alice@example.org",
    ownerGroup: "staff@example.org",
  });
  // A number this host has a name for; one it has none for stays a number.
  assert.deepEqual(ownerStrings(parseOwnerSpec("1000:4343", IDS), "d", IDS), {
    owner: "alice@d",
    ownerGroup: "4343",
  });
  // OWNER: gives the login group, by this host's name.
  const login = parseOwnerSpec("alice:", IDS, () => 50);
  assert.deepEqual(ownerStrings(login, "d", IDS), { owner: "alice@d", ownerGroup: "staff@d" });
  // name@domain typed goes as it is.
  assert.deepEqual(ownerStrings(parseOwnerSpec("bob@x", IDS), "d", IDS), { owner: "bob@x" });
});
