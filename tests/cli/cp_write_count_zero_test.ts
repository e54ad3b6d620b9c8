/**
 * A server that answers a WRITE NFS4_OK with a count of 0 (no progress, no
 * error: sent again it would answer the same): the copy fails, and its one
 * line is about the destination as the user named it, as every other
 * failure of the temporary is (README "Exit codes": a path as the URL the
 * user gave), told as an I/O error as the kernel's client tells it (EIO,
 * fs/nfs/write.c nfs_writeback_result): `nfs4: URL: server accepted no data
 * at offset 0 (I/O error)`; the temporary is removed. Before, the line was
 * the client's own message about the temporary's path on the server:
 * `nfs4: /vfs/.wc.bin.nfs4-sFBStj: server accepted no data at offset 0`.
 *
 * The fault proxy rewrites the count of the first WRITE's reply (the one at
 * offset 0) to 0; Ganesha wrote the data, the client is told it did not.
 * `nfs4 mv` of the same file names its destination too (its copy goes to
 * its own temporary name), then keeps the source.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { FaultProxy } from "../_fault_proxy.ts";
import { frameRecord, isPlainCompound, payloadOf, plainResultAt } from "../_fault_proxy_wire.ts";
import { serverTest, type TestServer } from "../_server.ts";
import { runNfs4, startProxy, VERSIONS } from "./_faults.ts";
import { tempDir, writeRandom } from "./_cp.ts";
import { messageLines } from "./_spawn.ts";

const WRITE = 38;

/**
 * The reply to `[SEQUENCE] PUTFH WRITE` with the WRITE's count set to 0;
 * as it was when any op failed.
 */
function countZero(record: Uint8Array): Uint8Array {
  const payload = payloadOf(record);
  const at = plainResultAt(payload, WRITE);
  if (at === undefined) return record;
  new DataView(payload.buffer).setUint32(at, 0); // WRITE4resok.count
  return frameRecord(payload);
}

/** Rewrites the reply to the first plain WRITE COMPOUND (offset 0) to a count of 0. */
function firstWriteAcceptsNothing(proxy: FaultProxy) {
  return proxy.onReply({
    op: "WRITE",
    match: (call) => isPlainCompound(call.ops, "WRITE"),
    action: "rewrite",
    rewrite: countZero,
  });
}

/** Every `.nfs4-` name in the export's root. */
function temporaries(server: TestServer): string[] {
  return [...Deno.readDirSync(server.exportDir)].map((e) => e.name).filter((n) =>
    n.includes(".nfs4-")
  );
}

for (const vers of VERSIONS) {
  serverTest(
    `nfs4 cp up (NFSv${vers}): a WRITE answered with a count of 0 fails the copy, named by ` +
      "the destination's URL as an I/O error; the temporary is removed",
    async (server) => {
      const local = await tempDir("nfs4-cp-count0-");
      try {
        await writeRandom(join(local, "wc.bin"), 4 << 20);
        await using f = await startProxy(server);
        const fault = firstWriteAcceptsNothing(f.proxy);
        const r = await runNfs4(["--vers", vers, "cp", join(local, "wc.bin"), `${f.vfs}/wc.bin`], {
          killAfterMs: 60_000,
        });
        assert.equal(fault.fired, 1, "the first WRITE's reply was rewritten");
        assert.equal(r.code, 1, r.stderr);
        assert.deepEqual(messageLines(r.stderr), [
          `nfs4: ${f.vfs}/wc.bin: server accepted no data at offset 0 (I/O error)`,
        ]);
        assert.deepEqual(temporaries(server), []);
        assert.throws(() => Deno.statSync(join(server.exportDir, "wc.bin")));
      } finally {
        await Deno.remove(local, { recursive: true });
      }
    },
  );

  serverTest(
    `nfs4 mv local→NFS (NFSv${vers}): a WRITE answered with a count of 0 fails the move, ` +
      "named by the destination's URL; the source kept, no temporary left",
    async (server) => {
      const local = await tempDir("nfs4-mv-count0-");
      try {
        const source = join(local, "wm.bin");
        await writeRandom(source, 4 << 20);
        await using f = await startProxy(server);
        const fault = firstWriteAcceptsNothing(f.proxy);
        const r = await runNfs4(["--vers", vers, "mv", source, `${f.vfs}/wm.bin`], {
          killAfterMs: 60_000,
        });
        assert.equal(fault.fired, 1, "the first WRITE's reply was rewritten");
        assert.equal(r.code, 1, r.stderr);
        assert.deepEqual(messageLines(r.stderr), [
          `nfs4: ${f.vfs}/wm.bin: server accepted no data at offset 0 (I/O error)`,
          `nfs4: cannot move '${source}' to '${f.vfs}/wm.bin': the copy failed; '${source}' is kept`,
        ]);
        assert.equal(Deno.statSync(source).size, 4 << 20);
        assert.deepEqual(temporaries(server), []);
        assert.throws(() => Deno.statSync(join(server.exportDir, "wm.bin")));
      } finally {
        await Deno.remove(local, { recursive: true });
      }
    },
  );
}
