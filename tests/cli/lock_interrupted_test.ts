/**
 * `nfs4 lock` interrupted while its LOCK is in flight (the reply held back
 * by the fault proxy): the LOCK is answered within the state manager's
 * release window, the lock it took is released (LOCKU) and the file closed
 * before the exit, COMMAND never runs, and on 4.1 the session and client ID
 * are destroyed. Before, the interrupt abandoned the LOCK: the server kept a
 * lock nfs4 did not know of until the lease ended (kernel nfs4_lock_release
 * lets an interrupted LOCK finish and unlocks it the same way).
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { FaultProxy } from "../_fault_proxy.ts";
import { nfs4, sleep, startNfs4, startWithLockInFlight } from "./_lock.ts";
import { assertClean, VERSIONS } from "./_clean_exit.ts";

for (const vers of VERSIONS) {
  serverTest(
    `nfs4 lock: SIGINT while the LOCK is in flight: it is answered, released and the file closed (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      await using proxy = await FaultProxy.start({ target: server, log: () => {} });
      const locker = await startWithLockInFlight(proxy, ["--vers", vers], 1_000);
      locker.kill("SIGINT");
      const ended = await locker.done;
      assert.equal(ended.code, 130, ended.stderr);
      assert.equal(ended.stdout, "", "COMMAND never ran");
      assert.equal(proxy.opCount("LOCKU"), 1, ended.stderr);
      await assertClean(server, vers, ended.stderr, `${vers} lock, SIGINT with LOCK in flight`, {
        files: ["/vfs/f"],
      });
      // Nothing is left to the lease: the lock is free at once.
      const again = await nfs4(["--vers", vers, "lock", "-n", `${server.url}/vfs/f`, "--", "true"]);
      assert.equal(again.code, 0, again.stderr);
    },
  );
}

// Without that, it waited for the release window's end (1.4 s after the second).
serverTest(
  "nfs4 lock: a second SIGINT while the LOCK in flight is still unanswered exits at once",
  async (server) => {
    writeFileSync(join(server.exportDir, "f"), "data\n");
    await using proxy = await FaultProxy.start({ target: server, log: () => {} });
    proxy.delayReply("LOCK", 10_000);
    const locker = startNfs4(["--trace=json", "lock", `${proxy.url}/vfs/f`, "--", "echo", "ran"]);
    await locker.waitFor("stderr", /"event":"OPEN"/);
    await sleep(250);
    locker.kill("SIGINT");
    await sleep(100);
    const second = performance.now();
    locker.kill("SIGINT");
    const ended = await locker.done;
    assert.equal(ended.code, 130, ended.stderr);
    assert.equal(ended.stdout, "", "COMMAND never ran");
    assert.ok(
      ended.endedAt - second < 1_000,
      `exited ${Math.round(ended.endedAt - second)} ms after the second SIGINT`,
    );
  },
);
