/**
 * Twenty handles of one file through one client, opened at once, half of
 * them reading it with chunks() and half writing to it (a web service's
 * popular download, tasks appending to one log), against NFS-Ganesha.
 * Every handle shares the client's one open of the file (RFC 7530 §9.11),
 * and each OPEN of it is an upgrade that bumps the open stateid's seqid
 * while READs and WRITEs of the handles opened before are in flight. On
 * NFSv4.1 they carry seqid 0, the current one (RFC 8881 §8.2.2), and the
 * server never refuses them as old; on NFSv4.0 one refused
 * NFS4ERR_OLD_STATEID for a stateid the client has since replaced is sent
 * again with the new one (RFC 7530 §9.1.4.2). Every handle succeeds, and
 * the bytes read and written are the right ones.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import { filteredSink, type TraceEvent } from "../../lib/state/trace.ts";
import { serverTest } from "../_server.ts";

const HANDLES = 20;
/** The file the readers read: larger than a READ, so each sends several. */
const SIZE = 8 << 20;
/** What each writer writes past SIZE, in write() calls of WRITE_SIZE. */
const REGION = 256 << 10;
const WRITE_SIZE = 64 << 10;

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

for (const version of ["4.0", "4.1"] as const) {
  serverTest(
    `NFSv${version}: ${HANDLES} handles of one file opened at once through one client, half reading it with chunks(), half writing, all succeed with the right bytes (RFC 8881 §8.2.2, RFC 7530 §9.1.4.2)`,
    async (server) => {
      const original = pattern(SIZE, 1);
      await Deno.writeFile(`${server.exportDir}/popular.bin`, original);
      const events: TraceEvent[] = [];
      const client = await Nfs4Client.connect({
        host: "127.0.0.1",
        port: server.port,
        version,
        uid: 0,
        gid: 0,
        clientId: `same-file-${version}-${crypto.randomUUID()}`,
        onTrace: filteredSink((e) => events.push(e), { categories: ["ops", "retry"] }),
      });
      try {
        const results = await Promise.allSettled(
          Array.from({ length: HANDLES }, async (_, i) => {
            if (i % 2 === 0) {
              const file = await client.openRead("/vfs/popular.bin");
              try {
                const parts: Uint8Array[] = [];
                let n = 0;
                for await (const chunk of file.chunks()) {
                  const take = chunk.subarray(0, Math.max(0, Math.min(chunk.length, SIZE - n)));
                  parts.push(take.slice());
                  n += take.length;
                  if (n >= SIZE) break;
                }
                const read = new Uint8Array(n);
                let at = 0;
                for (const p of parts) {
                  read.set(p, at);
                  at += p.length;
                }
                assert.equal(firstDifference(read, original), -1, `reader ${i}: bytes differ`);
              } finally {
                await file.close();
              }
            } else {
              const file = await client.open("/vfs/popular.bin", { access: "write" });
              try {
                const data = pattern(REGION, i);
                const base = BigInt(SIZE + (i >> 1) * REGION);
                for (let at = 0; at < REGION; at += WRITE_SIZE) {
                  await file.write(base + BigInt(at), data.subarray(at, at + WRITE_SIZE));
                }
              } finally {
                await file.close();
              }
            }
          }),
        );
        const failed = results.flatMap((r, i) =>
          r.status === "rejected" ? [`handle ${i}: ${(r.reason as Error).message}`] : []
        );
        assert.deepEqual(failed, [], `${failed.length} of ${HANDLES} handles failed`);
        assert.equal(client.describeState().opens.length, 0, "every handle closed");
        if (version === "4.1") {
          // Seqid 0: the server never took a READ or WRITE stateid as old.
          const old = events.filter((e) => e.event.includes("NFS4ERR_OLD_STATEID"));
          assert.deepEqual(old.map((e) => e.event), []);
        }
      } finally {
        await client.close();
      }
      const onDisk = await Deno.readFile(`${server.exportDir}/popular.bin`);
      assert.equal(onDisk.length, SIZE + (HANDLES / 2) * REGION);
      assert.equal(firstDifference(onDisk.subarray(0, SIZE), original), -1, "the readers' part");
      for (let w = 1; w < HANDLES; w += 2) {
        const at = SIZE + (w >> 1) * REGION;
        assert.equal(
          firstDifference(onDisk.subarray(at, at + REGION), pattern(REGION, w)),
          -1,
          `writer ${w}'s region`,
        );
      }
    },
  );
}
