/**
 * `nfs4 info --write-probe` leaves no probe file behind, or names it:
 * faults from the fault proxy (tests/_fault_proxy.ts) in front of Ganesha,
 * on NFSv4.0 and 4.1.
 *
 * - The OPEN's reply lost with its connection: the client reconnects and
 *   sends the OPEN again, byte for byte. On 4.1 the session's reply cache
 *   answers it (RFC 8881 §2.10.6.1); on 4.0 Ganesha's duplicate request
 *   cache is per connection (RFC 7530 §9.1.9 leaves it to the server) and
 *   runs the resend again: a GUARDED4 create met its own file
 *   (NFS4ERR_EXIST) and left it. Created EXCLUSIVE4 (RFC 7530 §16.16.5) or
 *   EXCLUSIVE4_1 (RFC 8881 §18.16.3) with its verifier, the resend finds
 *   the file it made: measured, removed, exit 0.
 * - SIGINT while the OPEN is in flight, its reply held past the release
 *   window (1.5 s): whether the server made the file is not known, and
 *   nothing can be sent any more; the file (which Ganesha made) is named on
 *   stderr, exit 130. Held for less, the reply comes in the window: the
 *   file is removed, nothing said.
 * - The OPEN never answered (`--timeout 1`, every reply dropped): the
 *   command fails as before, and names the file that may be left.
 * - The REMOVE refused (the directory made read-only for our uid once the
 *   file is made): the skew is still reported, one line names the file's
 *   URL and the REMOVE's status, exit 1.
 */

import assert from "node:assert/strict";
import type { ServerProbe } from "../../lib/client/probe.ts";
import { FaultProxy } from "../_fault_proxy.ts";
import { serverTest, type TestServer } from "../_server.ts";
import { runNfs4, startProxy, VERSIONS } from "./_faults.ts";
import { sleep, startNfs4 } from "./_lock.ts";
import { messageLines } from "./_spawn.ts";

const PROBE_FILE = /^\.nfs4-probe-[a-z0-9]{6}$/;

/** The probe files in `dir` of the server's export (`""`: its root). */
function probeFiles(server: TestServer, dir = ""): string[] {
  return [...Deno.readDirSync(`${server.exportDir}${dir}`)]
    .map((e) => e.name)
    .filter((name) => PROBE_FILE.test(name));
}

/** `nfs4 --vers VERS info --write-probe URL`, SIGINT once the OPEN is at the server. */
async function interruptedOpen(server: TestServer, vers: string, holdMs: number) {
  await using proxy = await FaultProxy.start({ target: server, log: () => {} });
  proxy.delayReply("OPEN", holdMs);
  const running = startNfs4(["--vers", vers, "info", "--write-probe", `${proxy.url}/vfs/`]);
  for (let i = 0; i < 1000 && proxy.opCount("OPEN") === 0; i++) await sleep(10);
  assert.equal(proxy.opCount("OPEN"), 1, `the OPEN went out:\n${running.text("stderr")}`);
  // Ganesha has answered it by now; the proxy holds the reply.
  await sleep(200);
  running.kill("SIGINT");
  const ended = await running.done;
  return { ended, url: proxy.url, port: proxy.port };
}

for (const vers of VERSIONS) {
  serverTest(
    `nfs4 info --write-probe (NFSv${vers}): the OPEN's reply lost with its connection: ` +
      "the resent OPEN finds the file it made, measured and removed",
    async (server) => {
      await using f = await startProxy(server);
      const cut = f.proxy.dropReplyAndCut("OPEN");
      const r = await runNfs4(["--vers", vers, "info", "--json", "--write-probe", `${f.vfs}/`]);
      if (r.code !== 0) f.dump();
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(messageLines(r.stderr), []);
      assert.equal(cut.fired, 1);
      // Sent again as itself, on a new connection.
      const opens = f.proxy.compoundsWith("OPEN");
      assert.equal(opens.length, 2);
      assert.equal(opens[0]!.xid, opens[1]!.xid);
      assert.notEqual(opens[0]!.connection, opens[1]!.connection);
      const probe = JSON.parse(r.stdout) as ServerProbe;
      assert.deepEqual(probe.notLearned, []);
      assert.ok(Math.abs(probe.clock!.skewMs!) < 2000, String(probe.clock!.skewMs));
      assert.deepEqual(probeFiles(server), []);
    },
  );

  serverTest(
    `nfs4 info --write-probe (NFSv${vers}): SIGINT with the OPEN's reply held past the ` +
      "release window: the file that may be left is named, exit 130",
    async (server) => {
      const { ended, url, port } = await interruptedOpen(server, vers, 5_000);
      assert.equal(ended.code, 130, ended.stderr);
      const left = probeFiles(server);
      assert.equal(left.length, 1, "Ganesha ran the OPEN");
      assert.deepEqual(messageLines(ended.stderr), [
        `nfs4: ${url}/vfs/${
          left[0]
        }: its OPEN's outcome is unknown and it could not be looked up ` +
        `(127.0.0.1:${port}: stopped 1.5 s after the ` +
        "interrupt): the --write-probe file may be left behind, remove it by hand if it is there",
      ]);
    },
  );

  serverTest(
    `nfs4 info --write-probe (NFSv${vers}): SIGINT with the OPEN's reply held into the ` +
      "release window: the file is removed, exit 130",
    async (server) => {
      const { ended } = await interruptedOpen(server, vers, 600);
      assert.equal(ended.code, 130, ended.stderr);
      assert.deepEqual(messageLines(ended.stderr), []);
      assert.deepEqual(probeFiles(server), []);
    },
  );

  serverTest(
    `nfs4 info --write-probe (NFSv${vers}): the OPEN never answered: the command fails ` +
      "and names the file that may be left",
    async (server) => {
      await using f = await startProxy(server);
      // The server silent from the OPEN on (RFC 7530 §3.1.1: a reply alone
      // is not lost on a connection that stands and answers RPC NULL; the
      // client would wait on for it, and its REMOVE would be answered).
      const open = f.proxy.dropReply("OPEN", { times: 100 });
      void open.firstFired.then(() => f.proxy.setMode("silent"));
      const r = await runNfs4([
        "--vers",
        vers,
        "--timeout",
        "1",
        "info",
        "--write-probe",
        `${f.vfs}/`,
      ]);
      assert.equal(r.code, 1, r.stderr);
      const left = probeFiles(server);
      assert.equal(left.length, 1, "Ganesha ran the OPEN");
      const [named = "", failed = "", ...more] = messageLines(r.stderr);
      assert.deepEqual(more, [], r.stderr);
      assert.ok(
        named.startsWith(`nfs4: ${f.vfs}/${left[0]}: its OPEN's outcome is unknown`),
        named,
      );
      assert.ok(
        named.endsWith(
          ": the --write-probe file may be left behind, remove it by hand if it is there",
        ),
        named,
      );
      assert.match(failed, /^nfs4: 127\.0\.0\.1:\d+: server not responding: /);
    },
  );

  serverTest(
    `nfs4 info --write-probe (NFSv${vers}): the REMOVE refused: the skew is reported, ` +
      "the file named with the REMOVE's status, exit 1",
    async (server) => {
      const dir = `${server.exportDir}/pub`;
      Deno.mkdirSync(dir);
      Deno.chmodSync(dir, 0o777);
      await using f = await startProxy(server);
      // Once the file is made and closed, uid 1000 may no longer remove names in pub.
      f.proxy.onReply({
        op: "CLOSE",
        action: "rewrite",
        rewrite: (record) => {
          Deno.chmodSync(dir, 0o755);
          return record;
        },
      });
      const r = await runNfs4([
        "--vers",
        vers,
        "--uid",
        "1000",
        "--gid",
        "1000",
        "info",
        "--json",
        "--write-probe",
        `${f.vfs}/pub/`,
      ]);
      assert.equal(r.code, 1, r.stderr);
      const left = probeFiles(server, "/pub");
      assert.equal(left.length, 1);
      assert.deepEqual(messageLines(r.stderr), [
        `nfs4: ${f.vfs}/pub/${left[0]}: Permission denied (NFS4ERR_ACCESS) ` +
        "(the --write-probe file was not removed: remove it by hand)",
      ]);
      const probe = JSON.parse(r.stdout) as ServerProbe;
      assert.deepEqual(probe.notLearned, []);
      assert.ok(Math.abs(probe.clock!.skewMs!) < 2000, String(probe.clock!.skewMs));
    },
  );
}
