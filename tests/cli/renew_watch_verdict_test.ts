/**
 * `nfs4 renew-watch`'s verdict against Ganesha: it names the stateid its
 * READ went through (the lock's under --lock, RFC 7530 §9.1.4.4), and its
 * count of renewals leaves out the verdict's own RENEW or SEQUENCE.
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { nfs4 } from "./_spawn.ts";

interface WatchEvent {
  readonly event: string;
  readonly cat?: string;
  readonly detail?: string;
  readonly renewals?: number;
  readonly [key: string]: unknown;
}

function events(stdout: string): WatchEvent[] {
  return stdout.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as WatchEvent);
}

for (const vers of ["4.0", "4.1"]) {
  serverTest(
    `renew-watch --lock names the lock stateid its verdict's READ went through on NFSv${vers}`,
    async (server) => {
      writeFileSync(join(server.exportDir, "watched"), "watched file\n");
      const url = `${server.url}/vfs/watched`;
      const locked = await nfs4([
        "--vers",
        vers,
        "renew-watch",
        "--open",
        "--lock",
        "--duration",
        "0.5",
        url,
      ]);
      assert.equal(locked.code, 0, locked.stderr);
      assert.match(
        locked.stdout,
        /^ok: state valid: READ with the lock stateid ok, 1 lock\(s\) held; \d+ renewal\(s\)$/m,
      );
      const opened = await nfs4([
        "--vers",
        vers,
        "renew-watch",
        "--open",
        "--duration",
        "0.5",
        url,
      ]);
      assert.equal(opened.code, 0, opened.stderr);
      assert.match(opened.stdout, /^ok: state valid: READ with the open stateid ok; \d+ renewal/m);
    },
  );

  serverTest(
    `renew-watch counts renewals, not the verdict's own probe, on NFSv${vers}`,
    async (server) => {
      const r = await nfs4([
        "--vers",
        vers,
        "renew-watch",
        "--json",
        "--duration",
        "2",
        `${server.url}/vfs`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const all = events(r.stdout);
      const at = all.findIndex((e) => e.event === "verdict");
      assert.ok(at > 0, r.stdout);
      const verdict = all[at]!;
      assert.match(String(verdict.detail), /lease kept/);
      // The verdict's probe is the last renewal-looking event before it.
      const ok = all.slice(0, at).filter((e) => e.cat === "lease" && / ok$/.test(e.event));
      assert.ok(ok.length >= 2, r.stdout); // 1.5 s into a 3 s lease, and the probe
      assert.equal(verdict.renewals, ok.length - 1, r.stdout);
      const text = await nfs4(["--vers", vers, "renew-watch", "--duration", "0.5", server.url]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^ok: lease kept: .*; 0 renewal\(s\)$/m);
    },
    { leaseSeconds: 3, graceSeconds: 3 },
  );
}
