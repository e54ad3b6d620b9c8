/**
 * `nfs4 lock -w` against a lock another `nfs4` holds, on Ganesha, read off
 * the wire (`--pcap`, tshark): every try of the wait keeps the lock owner of
 * the first (lib/state/files.ts lockFile), as the kernel's nfs4_retry_setlk
 * does. On NFSv4.0 each open_to_lock_owner4 carries the lock_seqid the
 * refusal before it stepped on (RFC 7530 §9.1.7, §16.10.5), and that owner
 * gets RELEASE_LOCKOWNER at exit (§16.37), answered NFS4_OK, whether the
 * wait got the lock or gave up. Before, each 4.0 try took a new lock owner
 * (seven owners in a 6 s wait) and only a granted one was released: the
 * refused ones stayed on the server with the client ID.
 */

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { tsharkFields, tsharkPath } from "../_tshark.ts";
import { nfs4, startHolder, startNfs4 } from "./_lock.ts";

const LOCK = "12";
const RELEASE_LOCKOWNER = "39";

interface Wire {
  /** Each LOCK call: its lock owner (hex) and lock_seqid (4.0). */
  locks: { owner: string; lockSeqid: number | undefined }[];
  /** Each RELEASE_LOCKOWNER call's owner (hex). */
  released: string[];
  /** The statuses of the RELEASE_LOCKOWNER replies (COMPOUND and op). */
  releaseStatuses: string[];
}

async function wireOf(pcap: string, port: number): Promise<Wire> {
  const rows = await tsharkFields(pcap, ["-d", `tcp.port==${port},rpc`], [
    "rpc.msgtyp",
    "nfs.opcode",
    "nfs.lock_owner4",
    "nfs.lock_seqid",
    "nfs.nfsstat4",
  ]);
  const wire: Wire = { locks: [], released: [], releaseStatuses: [] };
  for (const [type, opcodes = "", owner = "", lockSeqid = "", status = ""] of rows) {
    const ops = opcodes.split(",");
    if (type === "0" && ops.includes(LOCK)) {
      wire.locks.push({
        owner,
        lockSeqid: lockSeqid === "" ? undefined : Number(lockSeqid),
      });
    } else if (type === "0" && ops.includes(RELEASE_LOCKOWNER)) {
      wire.released.push(owner);
    } else if (type === "1" && ops.includes(RELEASE_LOCKOWNER)) {
      wire.releaseStatuses.push(status);
    }
  }
  return wire;
}

for (const vers of ["4.0", "4.1"] as const) {
  const v = ["--vers", vers];

  serverTest(
    `nfs4 lock -w: every try of the wait keeps one lock owner${
      vers === "4.0" ? ", released at exit whether granted or not (RFC 7530 §16.37)" : ""
    } (NFSv${vers}, tshark)`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;
      const dir = mkdtempSync(join(tmpdir(), "nfs4-lock-owner-"));
      try {
        // Gives up: the holder keeps the lock past -w.
        const holder = await startHolder([...v, "lock", url], url, "exclusive", "0-");
        const gaveUp = join(dir, "gave-up.pcap");
        const refused = await nfs4([...v, "--pcap", gaveUp, "lock", "-w", "1.5", url, "true"]);
        assert.equal(refused.code, 1, refused.stderr);
        // Granted: the holder lets go while the waiter waits.
        const granted = join(dir, "granted.pcap");
        const waiter = startNfs4([...v, "--pcap", granted, "lock", "-w", "20", url, "true"]);
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        holder.kill("SIGTERM");
        assert.equal((await holder.done).code, 0);
        const got = await waiter.done;
        assert.equal(got.code, 0, got.stderr);

        for (const [pcap, tries] of [[gaveUp, 3], [granted, 4]] as const) {
          const wire = await wireOf(pcap, server.port);
          const owners = new Set(wire.locks.map((l) => l.owner));
          assert.ok(wire.locks.length >= tries, `${pcap}: ${JSON.stringify(wire)}`);
          assert.equal(owners.size, 1, `${pcap}: ${JSON.stringify(wire)}`);
          if (vers === "4.0") {
            // Each refusal stepped the owner's seqid on (RFC 7530 §9.1.7).
            assert.deepEqual(
              wire.locks.map((l) => l.lockSeqid),
              wire.locks.map((_, i) => i),
              `${pcap}: ${JSON.stringify(wire)}`,
            );
            assert.deepEqual(wire.released, [...owners], `${pcap}: ${JSON.stringify(wire)}`);
            assert.deepEqual(wire.releaseStatuses, ["0,0"], `${pcap}: ${JSON.stringify(wire)}`);
          } else {
            assert.deepEqual(wire.released, []);
          }
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    { ignore: tsharkPath === undefined },
  );
}
