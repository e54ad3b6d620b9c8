/**
 * Every nfs4 process is its own NFSv4 client (issue 15 item 3): 30 `lock -x`
 * and 30 `cat` at once, under several TMPDIRs, against Ganesha on 4.0 and
 * 4.1: all client owners distinct, every lock held, every cat exact.
 */

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { nfs4 } from "./_lock.ts";

const N = 30;

function owners(stderr: string): string[] {
  return [...stderr.matchAll(/(?:SETCLIENTID|EXCHANGE_ID) ok\s+\(clientid \S+ owner (\S+)/g)]
    .map((m) => m[1]!);
}

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `${N} parallel nfs4 lock -x and ${N} parallel nfs4 cat under different TMPDIRs: distinct owners, every lock held, every cat exact (NFSv${vers})`,
    async (server) => {
      for (let i = 0; i < N; i++) {
        writeFileSync(join(server.exportDir, `f${i}`), `file ${i}\n`.repeat(100 + i));
      }
      // Each COMMAND says it holds its lock, then waits for the go: all 30
      // holders are alive at once, so none may share an owner.
      const marks = mkdtempSync(join(tmpdir(), "nfs4-owners-marks-"));
      const runs = [];
      for (let i = 0; i < N; i++) {
        const env = { TMPDIR: `/tmp/nfs4-owners-tmpdir-${i % 4}` };
        const url = `${server.url}/vfs/f${i}`;
        const command = `touch ${marks}/held-${i}; ` +
          `while [ ! -e ${marks}/go ]; do sleep 0.1; done`;
        runs.push(
          nfs4(["--vers", vers, "--trace", "lock", "-x", "-n", url, "--", "sh", "-c", command], env)
            .then((r) => ({ kind: "lock", i, ...r })),
        );
        runs.push(
          nfs4(["--vers", vers, "--trace", "cat", url], env).then((r) => ({
            kind: "cat",
            i,
            ...r,
          })),
        );
      }
      const deadline = Date.now() + 120_000;
      while (![...Array(N).keys()].every((i) => existsSync(join(marks, `held-${i}`)))) {
        if (Date.now() > deadline) {
          writeFileSync(join(marks, "go"), "");
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      const allHeld = [...Array(N).keys()].every((i) => existsSync(join(marks, `held-${i}`)));
      writeFileSync(join(marks, "go"), "");
      const ended = await Promise.all(runs);
      rmSync(marks, { recursive: true });
      assert.ok(allHeld, "every lock held at the same time");
      const seen: string[] = [];
      for (const r of ended) {
        assert.equal(r.code, 0, `${r.kind} f${r.i}: ${r.stderr.slice(-600)}`);
        if (r.kind === "cat") assert.equal(r.stdout, `file ${r.i}\n`.repeat(100 + r.i));
        const mine = owners(r.stderr);
        assert.equal(mine.length, 1, `${r.kind} f${r.i} established once: ${mine}`);
        seen.push(mine[0]!);
      }
      // The 30 lock holders were alive together: 30 owners. (A cat may get
      // an owner handed on from a process that had ended: that is the point.)
      const lockOwners = ended.filter((r) => r.kind === "lock").map((r) => owners(r.stderr)[0]);
      assert.equal(new Set(lockOwners).size, N, lockOwners.join("\n"));
      assert.equal(seen.length, 2 * N);
    },
  );
}
