/**
 * `nfs4 cp` interrupted while the OPEN of its source is in flight (the
 * reply held back by the fault proxy): cp gives up on the OPEN at once, but
 * the OPEN is answered within the state manager's release window, and the
 * clients' shutdown waits for it and closes the file it opened. Before, the
 * shutdown closed what was open when it began, and the OPEN answered after
 * that stayed open on the server until the lease ended.
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { FaultProxy } from "../_fault_proxy.ts";
import { sleep, startNfs4 } from "./_lock.ts";
import { assertClean, VERSIONS } from "./_clean_exit.ts";
import { tempDir, temporaries } from "./_cp.ts";

for (const vers of VERSIONS) {
  serverTest(
    `nfs4 cp: SIGINT while the source's OPEN is in flight: it is answered and closed (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "src"), new Uint8Array(8 << 20).fill(0x61));
      const local = await tempDir("nfs4-cp-open-");
      await using proxy = await FaultProxy.start({ target: server, log: () => {} });
      // Answered some 1.2 s after the SIGINT: after cp has stopped waiting for
      // what it abandoned (1 s) and closes its clients, within the 1.5 s window.
      proxy.delayReply("OPEN", 1_350);
      const copying = startNfs4([
        "--vers",
        vers,
        "--trace=json",
        "cp",
        `${proxy.url}/vfs/src`,
        `${local}/dst`,
      ]);
      await copying.waitFor("stderr", /"RECLAIM_REBOOT done"/);
      for (let i = 0; i < 100 && proxy.opCount("OPEN") === 0; i++) await sleep(10);
      await sleep(150);
      assert.equal(proxy.opCount("OPEN"), 1, "the OPEN is in flight");
      copying.kill("SIGINT");
      const ended = await copying.done;
      assert.equal(ended.code, 130, ended.stderr);
      await assertClean(server, vers, ended.stderr, `${vers} cp, SIGINT with OPEN in flight`, {
        files: ["/vfs/src"],
      });
      assert.deepEqual(await temporaries(local), []);
    },
  );
}
