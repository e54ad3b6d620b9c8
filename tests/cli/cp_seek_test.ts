/**
 * `nfs4 --vers 4.2 cp` finds a sparse NFS source's holes with SEEK (RFC 7862
 * §15.11) instead of reading them, against Ganesha's VFS export: a 1 GiB
 * file with 8 KiB of data is copied down and NFS→NFS reading only its data
 * (the fault proxy counts the READs), stays sparse and byte-identical.
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  closeSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FaultProxy } from "../_fault_proxy.ts";
import { serverTest } from "../_server.ts";
import { nfs4 } from "./_spawn.ts";

function makeSparse(path: string): void {
  const fd = openSync(path, "w");
  ftruncateSync(fd, 1 << 30);
  writeSync(fd, new Uint8Array(4096).fill(0x41), 0, 4096, 4096 * 1000);
  writeSync(fd, new Uint8Array(4096).fill(0x42), 0, 4096, 4096 * 200_000);
  closeSync(fd);
}

const same = (a: string, b: string) => spawnSync("cmp", [a, b]).status === 0;

serverTest(
  "nfs4 --vers 4.2 cp: a sparse source's holes found with SEEK, never read; the copy stays sparse",
  async (server) => {
    const source = join(server.exportDir, "sparse");
    makeSparse(source);
    assert.ok(statSync(source).blocks <= 64, "the source is sparse");
    const local = mkdtempSync(join(tmpdir(), "nfs4-seek-"));
    await using proxy = await FaultProxy.start({ target: server, log: () => {} });
    try {
      const down = await nfs4(["--vers", "4.2", "cp", `${proxy.url}/vfs/sparse`, `${local}/copy`]);
      assert.equal(down.code, 0, down.stderr);
      assert.ok(proxy.opCount("SEEK") >= 4, `SEEKs: ${proxy.opCount("SEEK")}`);
      assert.ok(proxy.opCount("READ") <= 4, `READs: ${proxy.opCount("READ")} (only the data)`);
      assert.ok(
        statSync(`${local}/copy`).blocks <= 64,
        `${statSync(`${local}/copy`).blocks} blocks`,
      );
      assert.ok(same(source, `${local}/copy`));

      const across = await nfs4([
        "--vers",
        "4.2",
        "cp",
        `${proxy.url}/vfs/sparse`,
        `${proxy.url}/vfs/again`,
      ]);
      assert.equal(across.code, 0, across.stderr);
      const again = join(server.exportDir, "again");
      assert.ok(statSync(again).blocks <= 64, `${statSync(again).blocks} blocks`);
      assert.ok(same(source, again));
      assert.ok(proxy.opCount("READ") <= 8);
      proxy.assertSlotSeqidsUnique();

      // --sparse=always still reads everything (zero runs in the data count too).
      const all = await nfs4([
        "--vers",
        "4.2",
        "cp",
        "--sparse=always",
        `${server.url}/vfs/sparse`,
        `${local}/always`,
      ]);
      assert.equal(all.code, 0, all.stderr);
      assert.ok(same(source, `${local}/always`));
    } finally {
      rmSync(local, { recursive: true, force: true });
    }
  },
);
