/**
 * `nfs4 lock URL -- COMMAND` killed with SIGKILL, which it cannot pass on:
 * COMMAND runs on, and the next nfs4 process on the host must not take the
 * lock from under it. Each process presents a client owner of its own
 * instance (lib/state/client_owner.ts); the dead one's instance, handed to
 * the next process, would come with a new verifier, and the server drops
 * the old incarnation's lock at once (RFC 7530 §9.1.1, RFC 8881 §2.4.1):
 * a second holder ran while COMMAND was inside its critical section.
 * COMMAND now keeps the instance's descriptor (as flock(1)'s COMMAND keeps
 * the lock's), so the next process takes another instance and is refused.
 * Under `deno run` and under the built binary (Bun), whose spawn differs.
 */

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { sleep, startNfs4 } from "./_lock.ts";
import { VERSIONS } from "./_clean_exit.ts";
import { builtBinary } from "./_binary.ts";

const binary = builtBinary;

for (const runner of ["deno", "binary"] as const) {
  for (const vers of VERSIONS) {
    serverTest(
      `nfs4 lock: after SIGKILL of the holder, COMMAND still runs and the next process on the host ` +
        `is refused, not handed the dead client's owner (RFC 7530 §9.1.1) (NFSv${vers}, ${runner})`,
      async (server) => {
        writeFileSync(join(server.exportDir, "f"), "data\n");
        const url = `${server.url}/vfs/f`;
        const options = runner === "binary" ? { binary: binary() } : {};
        const marks = mkdtempSync(join(tmpdir(), "nfs4-lock-kill-"));
        const started = join(marks, "started");
        const finish = join(marks, "finish");
        try {
          // COMMAND lets go of nfs4's output pipes (the test waits for them
          // to close) and runs until told to finish.
          const holder = startNfs4(
            [
              "--vers",
              vers,
              "lock",
              url,
              "--",
              "sh",
              "-c",
              `exec >/dev/null 2>&1; : > ${started}; ` +
              `while [ ! -e ${finish} ]; do sleep 0.05; done`,
            ],
            {},
            options,
          );
          while (!existsSync(started)) {
            assert.equal(holder.text("stderr"), "", "the holder runs");
            await sleep(20);
          }
          holder.kill("SIGKILL");
          assert.equal((await holder.done).signal, "SIGKILL");
          const next = await startNfs4(
            ["--vers", vers, "lock", "-n", url, "--", "echo", "got it"],
            {},
            options,
          ).done;
          assert.equal(next.stdout, "", `a second holder ran beside COMMAND: ${next.stderr}`);
          assert.equal(next.code, 1, next.stderr);
          assert.match(next.stderr, /locked: .*NFS4ERR_DENIED/);
        } finally {
          writeFileSync(finish, "");
          await sleep(200); // COMMAND sees it and exits
          rmSync(marks, { recursive: true, force: true });
        }
      },
    );
  }
}
