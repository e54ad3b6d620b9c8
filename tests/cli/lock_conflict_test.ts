/**
 * `nfs4 lock` against Ganesha on NFSv4.0 and NFSv4.1: which locks conflict
 * (RFC 7530 §9.2, §16.10), each taken by a separate `nfs4` process, so a
 * separate NFSv4 client with its own lock owner; and `--test` (LOCKT).
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { conflictLine, escape, heldBy, nfs4, startHolder, stopHolder } from "./_lock.ts";

for (const vers of ["4.0", "4.1"] as const) {
  const v = ["--vers", vers];

  serverTest(
    `nfs4 lock: exclusive conflicts with exclusive and shared, shared goes with shared (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;

      const exclusive = await startHolder([...v, "lock", url], url, "exclusive", "0-");
      for (const kind of [[], ["-s"], ["-x"]]) {
        const other = await nfs4([...v, "lock", "-n", ...kind, url, "--", "echo", "ran"]);
        assert.equal(other.code, 1, other.stderr);
        assert.equal(other.stdout, "", "COMMAND did not run");
        assert.match(other.stderr, conflictLine(url, heldBy("exclusive", "0-", exclusive.owner)));
      }
      await stopHolder(exclusive);

      const shared = await startHolder([...v, "lock", "-s", url], url, "shared", "0-");
      const alsoShared = await nfs4([...v, "lock", "-n", "-s", url, "--", "echo", "shared too"]);
      assert.equal(alsoShared.code, 0, alsoShared.stderr);
      assert.equal(alsoShared.stdout, "shared too\n");
      assert.equal(alsoShared.stderr, "");
      const writer = await nfs4([...v, "lock", "-n", url, "--", "echo", "ran"]);
      assert.equal(writer.code, 1);
      assert.equal(writer.stdout, "");
      assert.match(writer.stderr, conflictLine(url, heldBy("shared", "0-", shared.owner)));
      await stopHolder(shared);

      // Released: an exclusive lock is free again at once.
      const after = await nfs4([...v, "lock", "-n", url, "--", "echo", "free"]);
      assert.equal(after.code, 0, after.stderr);
      assert.equal(after.stdout, "free\n");
    },
  );

  serverTest(
    `nfs4 lock: byte ranges conflict only where they overlap; --test names the holder (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;

      const low = await startHolder(
        [...v, "lock", "--range", "0:100", url],
        url,
        "exclusive",
        "0-99",
      );
      // Bytes 100- do not overlap 0-99: a second exclusive lock is granted.
      const high = await startHolder(
        [...v, "lock", "--range", "100", url],
        url,
        "exclusive",
        "100-",
      );
      for (const range of ["50:51", "99:1", "0"]) {
        const overlapping = await nfs4([...v, "lock", "-n", "--range", range, url, "--", "true"]);
        assert.equal(overlapping.code, 1, `${range}: ${overlapping.stderr}`);
        assert.match(
          overlapping.stderr,
          new RegExp(
            `^nfs4: ${escape(url)}: locked: (${heldBy("exclusive", "0-99", low.owner)}|${
              heldBy("exclusive", "100-", high.owner)
            }) \\(NFS4ERR_DENIED\\)\\n$`,
          ),
        );
      }
      const inHigh = await nfs4([...v, "lock", "-n", "--range", "5000:10", url, "--", "true"]);
      assert.equal(inHigh.code, 1);
      assert.match(inHigh.stderr, conflictLine(url, heldBy("exclusive", "100-", high.owner)));

      // --test: LOCKT, nothing taken; the holder and its range on stdout.
      const held = await nfs4([...v, "lock", "--test", "--range", "10:5", url]);
      assert.equal(held.code, 1, held.stderr);
      assert.equal(held.stderr, "");
      assert.match(
        held.stdout,
        new RegExp(`^${escape(url)}: locked: ${heldBy("exclusive", "0-99", low.owner)}\\n$`),
      );
      const heldE = await nfs4([...v, "lock", "--test", "-E", "3", "-s", "--range", "150:1", url]);
      assert.equal(heldE.code, 3);
      assert.match(heldE.stdout, new RegExp(heldBy("exclusive", "100-", high.owner)));

      await stopHolder(high, "SIGINT");
      const free = await nfs4([...v, "lock", "--test", "--range", "100", url]);
      assert.equal(free.code, 0, free.stderr);
      assert.equal(
        free.stdout,
        `${url}: free: no lock conflicts with an exclusive lock on bytes 100-\n`,
      );
      assert.equal(free.stderr, "");
      await stopHolder(low);
    },
  );
}
