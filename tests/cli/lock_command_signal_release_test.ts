/**
 * `nfs4 lock URL COMMAND` stopped by SIGTERM while COMMAND runs and the
 * server has stopped answering (the fault proxy holds both directions): the
 * signal goes on to COMMAND, and once COMMAND exits the release (LOCKU,
 * CLOSE, the goodbye) gets the 1.5 s release window every stop signal gives
 * (README, "Deadlines and signals"), then nfs4 exits with COMMAND's status
 * (143: SIGTERM ended it). Before, the signal passed on was not recorded,
 * and the LOCKU after COMMAND's exit got the whole operation deadline
 * (4 × --timeout), so `timeout 40 nfs4 lock URL sleep 100` lingered minutes
 * past its SIGTERM against a server that had gone.
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { FaultProxy } from "../_fault_proxy.ts";
import { serverTest } from "../_server.ts";
import { startNfs4 } from "./_lock.ts";
import { VERSIONS } from "./_clean_exit.ts";

/**
 * Far more than the release window, far less than the operation deadline
 * (4 × --timeout, 120 s here): a guard against hanging, not a timing check.
 */
const HANG_GUARD_MS = 40_000;

for (const vers of VERSIONS) {
  serverTest(
    `nfs4 lock -- COMMAND: SIGTERM passed on to COMMAND bounds the release after it to the release window, exit 143 (NFSv${vers}, RFC 7530 §16.12 LOCKU unanswered)`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      await using proxy = await FaultProxy.start({ target: server, log: () => {} });
      const locker = startNfs4([
        "--vers",
        vers,
        "--timeout",
        "30",
        "--trace=lock,error",
        "lock",
        `${proxy.url}/vfs/f`,
        "--",
        "sh",
        "-c",
        "echo running; exec sleep 100",
      ]);
      await locker.waitFor("stdout", /^running$/m, 15_000);
      // The server goes silent: nothing the client sends is answered.
      proxy.stall({ direction: "both", seconds: Infinity });
      const locksBefore = proxy.opCount("LOCKU");
      locker.kill("SIGTERM");
      const guard = setTimeout(() => locker.kill("SIGKILL"), HANG_GUARD_MS);
      const ended = await locker.done.finally(() => clearTimeout(guard));
      assert.notEqual(ended.signal, "SIGKILL", `still running after the guard:\n${ended.stderr}`);
      assert.equal(ended.code, 143, ended.stderr);
      assert.match(
        ended.stderr,
        /releasing the lock failed \(the server frees it when the lease expires\): [^\n]*stopped 1\.5 s after the interrupt/,
      );
      // The LOCKU was sent (once) and given the window, not skipped.
      assert.equal(proxy.opCount("LOCKU") - locksBefore, 1, ended.stderr);
    },
  );
}
