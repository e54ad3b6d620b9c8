/**
 * `--trace=ops` against a server that serves NFSv4.0 only: the EXCHANGE_ID
 * of each minor version tried first (4.2, 4.1), answered
 * NFS4ERR_MINOR_VERS_MISMATCH with no results, is told with the op sent
 * (README: a COMPOUND that failed is always shown). Before, its line had
 * no operation at all (`xid=0x327c4126    (180 B -> 36 B, 0.68 ms)`,
 * `"ops":[]`).
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { nfs4, traceEvents } from "./_spawn.ts";

serverTest(
  "--trace=ops on a 4.0-only server: the refused EXCHANGE_IDs show the op sent",
  async (server) => {
    writeFileSync(join(server.exportDir, "f.txt"), "hello\n");
    const url = `${server.url}/vfs/f.txt`;

    const text = await nfs4(["--trace=ops", "cat", url]);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, "hello\n");
    const refused = text.stderr.split("\n").filter((l) =>
      / ops +xid=0x[0-9a-f]{8} {2}EXCHANGE_ID not run: /.test(l)
    );
    assert.equal(refused.length, 2, text.stderr);
    assert.ok(
      refused.every((l) => / EXCHANGE_ID not run: COMPOUND NFS4ERR_MINOR_VERS_MISMATCH\b/.test(l)),
      text.stderr,
    );
    assert.doesNotMatch(text.stderr, / ops +xid=0x[0-9a-f]{8} +\(/, "an ops line without ops");

    const json = await nfs4(["--trace=json,ops", "cat", url]);
    assert.equal(json.code, 0, json.stderr);
    const ops = traceEvents(json.stderr).filter((e) => e.cat === "ops");
    const first = ops.slice(0, 2).map((e) => e["ops"]);
    assert.deepEqual(first, [[{ op: "EXCHANGE_ID" }], [{ op: "EXCHANGE_ID" }]], json.stderr);
    assert.deepEqual(
      ops.slice(0, 2).map((e) => e["status"]),
      ["NFS4ERR_MINOR_VERS_MISMATCH", "NFS4ERR_MINOR_VERS_MISMATCH"],
      json.stderr,
    );
    assert.ok(ops.every((e) => (e["ops"] as unknown[]).length > 0), json.stderr);
  },
  { minorVersions: [0] },
);
