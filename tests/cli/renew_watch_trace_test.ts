/**
 * `nfs4 renew-watch`'s report (stdout: what it watches, the renewals, the
 * recovery, the verdict) is the same whatever `--trace` says; `--trace`
 * and `--trace-file` add the trace they ask for on stderr or in the file.
 * Before, any `--trace` took the events off stdout: `--trace=lease` moved
 * the renewal lines to stderr, `--trace=ops` left them nowhere, and
 * `--trace-file` left stdout its first and last line.
 */

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { nfs4 } from "./_spawn.ts";

/** A lease of 2 s is renewed after about 1.3 s: a 2 s watch sees one renewal at least. */
const LEASE = 2;

/** The report's lines with their time column (and ids) kept apart: what they say. */
function reportShape(stdout: string): string[] {
  return stdout.split("\n").filter((l) => l !== "").map((l) =>
    l.replace(/^ *[0-9]+\.[0-9]{3} /, "T ").replace(/[0-9a-f]{8,}/g, "ID")
  );
}

function assertFullReport(stdout: string, what: string): void {
  const lines = reportShape(stdout);
  const has = (re: RegExp) =>
    assert.ok(lines.some((l) => re.test(l)), `${what}: no line ${re} on stdout:\n${stdout}`);
  has(/^T conn +connected/);
  has(/^T state \+LEASE_EXPIRED/);
  has(/^watching nfs:\/\//);
  has(/^T lease (SEQUENCE|RENEW) ok /);
  has(/^ok: lease kept: /);
  assert.ok(!lines.some((l) => / ops /.test(l)), `${what}: ops on stdout:\n${stdout}`);
}

for (const vers of ["4.0", "4.1"]) {
  serverTest(
    `renew-watch on NFSv${vers}: stdout carries the whole report with and without --trace, --trace=lease, --trace=ops, --trace-file; the trace goes to stderr or the file besides`,
    async (server) => {
      const dir = mkdtempSync(join(tmpdir(), "nfs4-renew-trace-"));
      try {
        const url = `${server.url}/vfs`;
        const file = join(dir, "trace");
        const watch = (...trace: string[]) =>
          nfs4(["--vers", vers, ...trace, "renew-watch", "--duration", "2", url]);
        const [plain, lease, ops, toFile, json] = await Promise.all([
          watch(),
          watch("--trace=lease"),
          watch("--trace=ops"),
          watch("--trace-file", file),
          nfs4(["--vers", vers, "--trace=ops", "renew-watch", "--json", "--duration", "2", url]),
        ]);
        for (const [what, r] of Object.entries({ plain, lease, ops, toFile, json })) {
          assert.equal(r.code, 0, `${what}: ${r.stderr}`);
        }
        assertFullReport(plain.stdout, "without --trace");
        assert.equal(plain.stderr, "");
        assertFullReport(lease.stdout, "--trace=lease");
        assert.match(lease.stderr, /^ *[0-9.]+ lease (SEQUENCE|RENEW) ok /m);
        assert.doesNotMatch(lease.stderr, / conn | ops /);
        assertFullReport(ops.stdout, "--trace=ops");
        assert.match(ops.stderr, /^ *[0-9.]+ ops +xid=0x[0-9a-f]+ .*(SEQUENCE|RENEW) ok/m);
        assert.doesNotMatch(ops.stderr, / lease /);
        assertFullReport(toFile.stdout, "--trace-file");
        assert.equal(toFile.stderr, "");
        assert.match(readFileSync(file, "utf8"), /^ *[0-9.]+ lease (SEQUENCE|RENEW) ok /m);

        // --json: the same events on stdout, and never the trace's ops there.
        const events = json.stdout.split("\n").filter((l) => l !== "").map((l) =>
          JSON.parse(l) as { cat?: string; event: string; kept?: boolean }
        );
        assert.ok(events.some((e) => e.cat === "lease" && / ok$/.test(e.event)), json.stdout);
        assert.ok(events.some((e) => e.cat === "conn"), json.stdout);
        assert.ok(!events.some((e) => e.cat === "ops"), json.stdout);
        assert.equal(events.find((e) => e.event === "verdict")?.kept, true, json.stdout);
        assert.match(json.stderr, / ops +xid=/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    { leaseSeconds: LEASE },
  );
}
