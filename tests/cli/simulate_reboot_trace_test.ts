/**
 * `nfs4 simulate-reboot`'s report on stdout is the same whatever `--trace`
 * says, and `--trace=ops` adds the COMPOUNDs of its clients to the trace
 * (stderr), as for every command. Before, `--trace=ops` printed no `ops`
 * line at all (its clients' sinks asked for the default categories only).
 */

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { nfs4 } from "./_spawn.ts";

/** The report with what changes from run to run (ids, times, counts) made alike. */
function shape(stdout: string): string {
  return stdout.replace(/[0-9a-f]{6,}/g, "H").replace(/[0-9]+(\.[0-9]+)?/g, "N");
}

serverTest(
  "simulate-reboot --client: the same report with and without --trace=ops or --trace-file; --trace=ops adds every client's COMPOUNDs",
  async (server) => {
    const dir = mkdtempSync(join(tmpdir(), "nfs4-drill-trace-"));
    try {
      const url = `${server.url}/vfs/drill`;
      const file = join(dir, "trace");
      const plain = await nfs4(["simulate-reboot", "--client", url]);
      const ops = await nfs4(["--trace=ops", "simulate-reboot", "--client", url]);
      const toFile = await nfs4(["--trace-file", file, "simulate-reboot", "--client", url]);
      for (const [what, r] of Object.entries({ plain, ops, toFile })) {
        assert.equal(r.code, 0, `${what}: ${r.stderr}`);
      }
      assert.match(plain.stdout, /^ok: /m);
      assert.equal(plain.stderr, "");
      assert.equal(shape(ops.stdout), shape(plain.stdout));
      assert.equal(shape(toFile.stdout), shape(plain.stdout));
      assert.doesNotMatch(ops.stdout, / ops +xid=/);
      assert.match(ops.stderr, /^ *[0-9.]+ ops +xid=0x[0-9a-f]{8} .*OPEN ok/m);
      assert.match(ops.stderr, / ops +xid=.*\[observer\]$/m);
      assert.doesNotMatch(ops.stderr, / state +[+-]/, "only the categories asked for");
      assert.equal(toFile.stderr, "");
      assert.match(readFileSync(file, "utf8"), / state +\+LEASE_EXPIRED/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
