/**
 * The shell's `lock` refused by another client's lock says so as `nfs4
 * lock` does (cli/lock.ts, `lockConflictText`): `locked:` and the holder the
 * server named (RFC 7530 §16.10.5, LOCK4denied), once; with -w, when no
 * later answer came before the deadline, the time of the refusal given,
 * and how long it waited before it gave up.
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { escape, heldBy, nfs4, startHolder, stopHolder } from "./_lock.ts";

for (const vers of ["4.0", "4.1"] as const) {
  const v = ["--vers", vers];
  serverTest(
    `nfs4 shell: lock -n and lock -w on a file another client has locked say "locked:" and the holder, as nfs4 lock does (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;
      const holder = await startHolder([...v, "lock", url], url, "exclusive", "0-");
      try {
        const holderText = heldBy("exclusive", "0-", holder.owner);
        const asOf = "(?: \\(as the server said at \\d+\\.\\d s; " +
          "no later answer came before the deadline\\))?";
        for (const wait of [["-n"], ["-w", "0.5"]]) {
          const r = await nfs4([
            ...v,
            "shell",
            `${server.url}/vfs`,
            "-c",
            `lock ${wait.join(" ")} f`,
          ]);
          assert.equal(r.code, 1, r.stderr);
          const line = new RegExp(
            `^nfs4: lock: ${escape(url)}: locked: ${holderText}${
              wait[0] === "-w" ? `${asOf}; gave up after \\d+\\.\\d s` : ""
            } \\(NFS4ERR_DENIED\\)$`,
            "m",
          );
          assert.match(r.stderr, line);
          assert.equal(r.stderr.match(/locked:/g)?.length, 1, r.stderr);
          assert.doesNotMatch(r.stderr, /held by .* held by/, r.stderr);
        }
      } finally {
        await stopHolder(holder);
      }
    },
  );
}
