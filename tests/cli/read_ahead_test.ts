/**
 * How far a streaming read runs ahead (lib/client/byte_range.ts,
 * `READ_AHEAD_BYTES`, 4 MiB): `cat` and `cp` from the server keep at most
 * that many bytes of READs in flight, four READs of 1 MiB
 * (lib/state/procs.ts, `LARGEST_READ`), and more than one, so the server
 * has the next one. Counted by the fault proxy, which sees each
 * COMPOUND go out and its reply come back, against Ganesha. (`cp` counted
 * READs rather than bytes until READs of 2 MiB were tried: 8 MiB ahead.)
 */

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { type CompoundCall, FaultProxy } from "../_fault_proxy.ts";
import { nfs4 } from "./_spawn.ts";
import { VERSIONS } from "./_clean_exit.ts";
import { LARGEST_READ } from "../../lib/state/procs.ts";
import { READ_AHEAD_BYTES } from "../../lib/client/byte_range.ts";

const SIZE = 24 << 20;

/** The most READ COMPOUNDs of one connection that were sent and not yet answered at once. */
function mostReadsInFlight(compounds: readonly CompoundCall[]): number {
  const edges: [number, number][] = [];
  for (const c of compounds) {
    if (!c.ops.includes("READ") || !c.reply) continue;
    edges.push([c.at, 1], [c.reply.at, -1]);
  }
  // At the same moment an answer comes before a send: it was answered first.
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0, most = 0;
  for (const [, step] of edges) most = Math.max(most, now += step);
  return most;
}

for (const vers of VERSIONS) {
  serverTest(
    `cat and cp keep up to four READs of 1 MiB in flight, no more (NFSv${vers})`,
    async (server) => {
      const data = new Uint8Array(SIZE);
      for (let i = 0; i < SIZE; i += 512) data[i] = (i >> 9) & 0xff;
      writeFileSync(join(server.exportDir, "big"), data);
      const local = mkdtempSync(join(tmpdir(), "nfs4-read-ahead-"));
      try {
        for (const command of ["cat", "cp"]) {
          await using proxy = await FaultProxy.start({ target: server, log: () => {} });
          const url = `${proxy.url}/vfs/big`;
          const r = await nfs4(
            command === "cat"
              ? ["--vers", vers, "cat", url]
              : ["--vers", vers, "cp", url, join(local, "big")],
          );
          assert.equal(r.code, 0, r.stderr);
          if (command === "cat") assert.equal(r.bytes.length, SIZE);
          else assert.ok(readFileSync(join(local, "big")).equals(data));
          const reads = proxy.compounds.filter((c) => c.ops.includes("READ"));
          assert.equal(LARGEST_READ, 1 << 20);
          assert.equal(reads.length, SIZE / LARGEST_READ, `${command}: READs of 1 MiB`);
          // At most the read ahead's bytes; more than one, so the server has the next.
          const most = mostReadsInFlight(proxy.compounds);
          assert.ok(
            most >= 2 && most <= READ_AHEAD_BYTES / LARGEST_READ,
            `${command}: ${most} READs in flight`,
          );
        }
      } finally {
        rmSync(local, { recursive: true, force: true });
      }
    },
  );
}
