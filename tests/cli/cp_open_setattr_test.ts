/**
 * `nfs4 cp` against Ganesha through the fault proxy (tests/_fault_proxy.ts)
 * when the SETATTR that follows an OPEN is slow, unanswered or stopped:
 *
 * - NFSv4.0 EXCLUSIVE4 carries no attributes, so a new temporary's mode
 *   follows in a SETATTR (RFC 7530 §16.16.5). A Ctrl-C while the OPEN is
 *   in flight keeps that SETATTR from being sent; a SETATTR that gets no
 *   answer ends in "server not responding". Either way the temporary the
 *   OPEN made is removed, or the message names it.
 * - `cp --inplace` opens the file without create and empties it with a
 *   SETATTR of size 0 (RFC 7530 §16.32, RFC 8881 §18.30), which the server
 *   runs whether or not its answer is waited for: a Ctrl-C while it is in
 *   flight says the destination is incomplete.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { FaultProxy } from "../_fault_proxy.ts";
import { cpServerTest, finish, spawnNfs4, tempDir, temporaries, VERSIONS, waitFor } from "./_cp.ts";
import { messageLines } from "./_spawn.ts";
import { escape } from "./_lock.ts";

/** Waits until the proxy has seen a COMPOUND with `op`. */
function sent(proxy: FaultProxy, op: "OPEN" | "SETATTR"): Promise<true> {
  return waitFor(() => Promise.resolve(proxy.opCount(op) > 0 || undefined), 30_000, `an ${op}`);
}

for (const vers of VERSIONS) {
  cpServerTest(
    `nfs4 cp --inplace (NFSv${vers}): Ctrl-C while the SETATTR of size 0 that empties the file is in flight (RFC 7530 §16.32, RFC 8881 §18.30) says the destination is incomplete`,
    async (server) => {
      const local = await tempDir();
      try {
        await fs.writeFile(`${local}/f`, "ours\n");
        await fs.writeFile(`${server.exportDir}/victim`, new Uint8Array(22_000).fill(0x61));
        await using proxy = await FaultProxy.start({ target: server, log: () => {} });
        // Answered some 1.2 s after the Ctrl-C, within the client's release window.
        proxy.delayReply("SETATTR", 1_500);
        const child = spawnNfs4([
          "--vers",
          vers,
          "cp",
          "--inplace",
          `${local}/f`,
          `${proxy.url}/vfs/victim`,
        ]);
        const result = finish(child);
        await sent(proxy, "SETATTR");
        await new Promise((resolve) => setTimeout(resolve, 300));
        child.kill("SIGINT");
        const r = await result;
        assert.equal(r.code, 130, r.stderr);
        assert.equal((await fs.stat(`${server.exportDir}/victim`)).size, 0, "emptied");
        assert.deepEqual(messageLines(r.stderr), [
          `nfs4: ${proxy.url}/vfs/victim: copy failed part-way, destination is incomplete: interrupted by SIGINT`,
        ]);
      } finally {
        await fs.rm(local, { recursive: true, force: true });
      }
    },
  );
}

cpServerTest(
  "nfs4 --vers 4.0 cp: Ctrl-C while the EXCLUSIVE4 OPEN that makes the temporary is in flight (RFC 7530 §16.16.5): the SETATTR of its mode is not sent, and the temporary is removed (§16.26)",
  async (server) => {
    const local = await tempDir();
    try {
      await fs.writeFile(`${local}/f`, "ours\n");
      await using proxy = await FaultProxy.start({ target: server, log: () => {} });
      proxy.delayReply("OPEN", 800);
      const child = spawnNfs4(["--vers", "4.0", "cp", `${local}/f`, `${proxy.url}/vfs/new`]);
      const result = finish(child);
      await sent(proxy, "OPEN");
      await new Promise((resolve) => setTimeout(resolve, 200));
      child.kill("SIGINT");
      const r = await result;
      assert.equal(r.code, 130, r.stderr);
      assert.deepEqual(messageLines(r.stderr), []);
      assert.equal(proxy.opCount("SETATTR"), 0, "no SETATTR after the stop");
      assert.deepEqual(await temporaries(server.exportDir), [], "no temporary left");
      await assert.rejects(fs.stat(`${server.exportDir}/new`), { code: "ENOENT" });
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  },
);

cpServerTest(
  "nfs4 --vers 4.0 --timeout 1 cp: the SETATTR of a new temporary's mode (RFC 7530 §16.16.5, §16.32) gets no answer: server not responding, and the temporary is removed; with its REMOVE unanswered too, the message names the temporary",
  async (server, t) => {
    const local = await tempDir();
    try {
      await fs.writeFile(`${local}/f`, "ours\n");
      await t.step("the REMOVE answered: removed", async () => {
        await using proxy = await FaultProxy.start({ target: server, log: () => {} });
        proxy.dropReply("SETATTR", { times: 1_000 });
        const r = await finish(
          spawnNfs4(["--vers", "4.0", "--timeout", "1", "cp", `${local}/f`, `${proxy.url}/vfs/a`]),
        );
        assert.equal(r.code, 1, r.stderr);
        const lines = messageLines(r.stderr);
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0]!, /: server not responding: no reply in /);
        assert.deepEqual(await temporaries(server.exportDir), [], "no temporary left");
      });
      await t.step("the REMOVE unanswered: named", async () => {
        await using proxy = await FaultProxy.start({ target: server, log: () => {} });
        proxy.dropReply("SETATTR", { times: 1_000 });
        proxy.dropReply("REMOVE", { times: 1_000 });
        const r = await finish(
          spawnNfs4(["--vers", "4.0", "--timeout", "1", "cp", `${local}/f`, `${proxy.url}/vfs/b`]),
        );
        assert.equal(r.code, 1, r.stderr);
        const lines = messageLines(r.stderr);
        assert.equal(lines.length, 1, r.stderr);
        assert.match(
          lines[0]!,
          new RegExp(
            `^nfs4: ${escape(proxy.url)}/vfs/b: .*server not responding: no reply in .*; ` +
              `its temporary ${escape(proxy.url)}/vfs/\\.b\\.nfs4-[A-Za-z0-9]{6} may be left ` +
              `on the server \\(not removed`,
          ),
        );
      });
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  },
);
