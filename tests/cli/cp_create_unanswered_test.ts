/**
 * `nfs4 cp` up whose create OPEN of the temporary is never answered (every
 * reply to a COMPOUND with OPEN dropped by the fault proxy, `--timeout 1`):
 * Ganesha ran it and made the temporary, whose random name is this copy's
 * alone. The copy fails, and names the temporary that may be left, as it
 * does when the server goes away later in the copy (faults_deadline_test):
 * the outcome of the OPEN is unknown (RFC 7530 §9.1.9 / RFC 8881 §2.10.6:
 * no reply, no knowing whether it ran), so its REMOVE is tried and, the
 * server not answering, what may be left is said. Before, the copy failed
 * with the server's silence alone and the temporary stayed unmentioned.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { serverTest, type TestServer } from "../_server.ts";
import { runNfs4, startProxy, VERSIONS } from "./_faults.ts";
import { tempDir, writeRandom } from "./_cp.ts";
import { messageLines } from "./_spawn.ts";

/** The copy's temporaries (`.NAME.nfs4-XXXXXX`) in the export's root. */
function temporaries(server: TestServer, name: string): string[] {
  const pattern = new RegExp(`^\\.${name}\\.nfs4-\\w{6}$`);
  return [...Deno.readDirSync(server.exportDir)].map((e) => e.name).filter((n) => pattern.test(n));
}

for (const vers of VERSIONS) {
  serverTest(
    `nfs4 cp up (NFSv${vers}): the temporary's create OPEN never answered: the copy fails ` +
      "and names the temporary that may be left",
    async (server) => {
      const local = await tempDir("nfs4-cp-create-");
      try {
        await writeRandom(join(local, "up"), 4 << 20);
        await using f = await startProxy(server);
        // Over TCP a reply is never just lost while the connection stands
        // and the server answers (RFC 7530 §3.1.1: the client waits on, it
        // does not send the OPEN again there): the server goes silent from
        // the OPEN on, RPC NULL and the copy's REMOVE unanswered too.
        const open = f.proxy.dropReply("OPEN", { times: 100 });
        void open.firstFired.then(() => f.proxy.setMode("silent"));
        const r = await runNfs4([
          "--vers",
          vers,
          "--timeout",
          "1",
          "cp",
          join(local, "up"),
          `${f.vfs}/up`,
        ]);
        assert.equal(r.code, 1, r.stderr);
        const left = temporaries(server, "up");
        assert.equal(left.length, 1, "Ganesha ran the OPEN");
        const lines = messageLines(r.stderr);
        assert.equal(lines.length, 1, r.stderr);
        assert.match(
          lines[0]!,
          new RegExp(
            `^nfs4: ${f.vfs.replaceAll(".", "\\.")}/up: .*server not responding.*; its temporary ` +
              `${f.vfs.replaceAll(".", "\\.")}/${left[0]!.replaceAll(".", "\\.")} may be left ` +
              "on the server",
          ),
        );
        assert.throws(() => Deno.statSync(join(server.exportDir, "up")));
      } finally {
        await Deno.remove(local, { recursive: true });
      }
    },
  );
}
