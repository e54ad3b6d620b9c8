/**
 * `nfs4 cp -p` and `cp -a` to a server that maps owner strings to names and
 * refuses numbers (RFC 7530 §5.9: Ganesha with `Only_Numeric_Owners = false;
 * Allow_Numeric_Owners = false;`, knfsd with idmapping answer a numeric
 * string NFS4ERR_BADOWNER): the scripted NFSv4 server's "name@domain only"
 * mode, over TCP, in-process, on 4.0 and 4.1.
 *
 * The copy does not know at first that the destination wants names (a new
 * file has no owner strings to learn the domain from), so its first owner
 * goes as numbers. Refused NFS4ERR_BADOWNER, it goes once more as
 * `name@domain`, the domain the destination directory's strings carry, as
 * `nfs4 chown` does; later files go by name at once. No warning, and the
 * files are owned as the source: a file made in one COMPOUND (4.1) or by
 * OPEN then SETATTR (4.0), and a file from the same server, whose
 * `name@domain` the copy had turned into a number. The SETATTR by path
 * that directories, symlinks and special files get (NfsSide.setOwner) is
 * held to the same through the copy's NFS side (the scripted server makes
 * no directories).
 *
 * The `cp` runs need root (the local sources are given to daemon); all
 * need this host to name uid and gid 1 `daemon`.
 */

import assert from "node:assert/strict";
import type { SetattrArgs } from "../../lib/nfs4/ops/setattr.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { ScriptedServer } from "../state/_scripted.ts";
import { runScripted } from "./_scripted_cli.ts";
import { NfsSide } from "../../lib/client/copy/nfs_side.ts";
import { DEFAULT_TUNING } from "../../lib/client/copy/options.ts";
import { parseNfsUrl } from "../../lib/client/url.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { withScriptedClient } from "../client/_scripted_client.ts";

const DAEMON = "daemon@example.org";

/** Whether this host names uid and gid 1 `daemon`. */
function hasDaemon(): boolean {
  try {
    const passwd = Deno.readTextFileSync("/etc/passwd");
    const group = Deno.readTextFileSync("/etc/group");
    return /^daemon:[^:]*:1:1:/m.test(passwd) && /^daemon:[^:]*:1:/m.test(group);
  } catch {
    return false;
  }
}

/** A server that knows root and daemon at example.org; /vfs/src is daemon's, /vfs/sub an unmapped id's. */
function namesOnly(): ScriptedServer {
  return new ScriptedServer({
    now: () => performance.now(),
    files: {
      "/vfs/file": "file\n",
      "/vfs/src": "from the same server\n",
      "/vfs/sub/x": "x\n",
    },
    owners: {
      domain: "example.org",
      names: ["root", "daemon"],
      // /vfs/sub shows an id the server cannot map: no domain to learn there.
      of: { "/vfs/src": [DAEMON, DAEMON], "/vfs/sub": ["4242", "4242"] },
    },
  });
}

/** The owner strings of each SETATTR of an owner that ran (alone or in OPEN's COMPOUND), and whether it was taken. */
function ownerSetattrs(server: ScriptedServer): string[] {
  return server.log.flatMap((entry) =>
    entry.ops.flatMap((op, i) => {
      if (op !== "SETATTR") return [];
      const { attrs } = entry.args[i] as SetattrArgs;
      if (attrs.owner === undefined && attrs.ownerGroup === undefined) return [];
      const sent = [attrs.owner, attrs.ownerGroup].map((s) => s ?? "-").join(":");
      const status = entry.statuses[i];
      if (status === undefined) return []; // not reached
      return [`${sent} ${status === S.NFS4_OK ? "ok" : "refused"}`];
    })
  );
}

for (const version of ["4.0", "4.1"] as const) {
  Deno.test({
    name:
      `nfs4 cp -p ${version}: owners refused as numbers (NFS4ERR_BADOWNER, RFC 7530 §5.9) go once more as name@domain, no warning`,
    ignore: Deno.uid() !== 0 || !hasDaemon(),
    fn: async () => {
      const dir = await Deno.makeTempDir({ prefix: "nfs4-cp-owner-" });
      try {
        for (const name of ["one", "two"]) {
          await Deno.writeTextFile(`${dir}/${name}`, `${name}\n`);
          await Deno.chown(`${dir}/${name}`, 1, 1);
        }
        const server = namesOnly();
        const [file, intoDir, same] = await runScripted(server, [
          // A new name: nothing of the destination seen before its owner goes.
          ["--vers", version, "cp", "-p", `${dir}/one`, "@/vfs/one"],
          // Into a directory, whose owner strings the copy sees first.
          ["--vers", version, "cp", "-p", `${dir}/two`, "@/vfs/"],
          ["--vers", version, "cp", "--preserve=ownership", "@/vfs/src", "@/vfs/copy"],
        ]);
        for (const run of [file, intoDir]) {
          assert.equal(run!.code, 0, run!.stderr);
          assert.equal(run!.stderr, "");
        }
        assert.equal(same!.code, 0, same!.stderr);
        assert.equal(same!.stderr, "");
        for (const path of ["/vfs/one", "/vfs/two", "/vfs/copy"]) {
          assert.deepEqual(server.ownerStringsOf(path), [DAEMON, DAEMON], path);
        }
        // Numbers refused once where the copy could not know, then names.
        assert.deepEqual(ownerSetattrs(server), [
          "1:1 refused",
          `${DAEMON}:${DAEMON} ok`,
          `${DAEMON}:${DAEMON} ok`,
          "1:1 refused",
          `${DAEMON}:${DAEMON} ok`,
        ]);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });

  Deno.test({
    name:
      `NfsSide.setOwner ${version} (directories, symlinks, special files): numbers refused NFS4ERR_BADOWNER go once more as name@domain; under a directory with no domain the refusal is the answer`,
    ignore: !hasDaemon(),
    fn: async () => {
      await withScriptedClient(namesOnly(), version, "set-owner", async (client, server) => {
        const url = parseNfsUrl("nfs://127.0.0.1/vfs");
        // No domain to be had (/vfs/sub shows numbers): refused.
        const first = new NfsSide(client, url, DEFAULT_TUNING, () => {});
        await assert.rejects(
          first.setOwner("/vfs/sub/x", "1", "1", true),
          (e) => e instanceof NfsError && e.status === S.NFS4ERR_BADOWNER,
        );
        // /vfs shows root@example.org: by name, and the next goes so at once.
        const side = new NfsSide(client, url, DEFAULT_TUNING, () => {});
        await side.setOwner("/vfs/file", "1", "1", true);
        assert.deepEqual(server.ownerStringsOf("/vfs/file"), [DAEMON, DAEMON]);
        await side.setOwner("/vfs/src", "0", undefined, true);
        assert.deepEqual(server.ownerStringsOf("/vfs/src"), ["root@example.org", DAEMON]);
        assert.deepEqual(ownerSetattrs(server), [
          "1:1 refused",
          "1:1 refused",
          `${DAEMON}:${DAEMON} ok`,
          "root@example.org:- ok",
        ]);
      });
    },
  });
}
