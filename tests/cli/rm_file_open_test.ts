/**
 * `nfs4 rm` of a file the server will not remove while it is open: REMOVE
 * answered NFS4ERR_FILE_OPEN (RFC 7530 §16.25, RFC 8881 §18.25; Windows
 * Server, for a file another client holds open). As on a kernel mount
 * (nfs4_do_handle_exception: a short wait, then EBUSY), the command fails
 * after about 1.5 s with one line naming the file, in the words of EBUSY
 * and with the status, and exits 1; the other operands are still removed.
 * It used to wait the whole per-operation deadline (4 × `--timeout`) per
 * file.
 */

import assert from "node:assert/strict";
import { describeError, exitCodeFor } from "../../cli/errors.ts";
import { parseNfsUrl } from "../../lib/client/url.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { startScriptedNfsServer } from "../_nfs4_server.ts";
import { ScriptedServer } from "../state/_scripted.ts";
import { messageLines, nfs4 } from "./_spawn.ts";

Deno.test("describeError() words NFS4ERR_FILE_OPEN as the kernel's EBUSY, the status still named; exit 1 (fs/nfs/nfs4proc.c nfs4_map_errors)", () => {
  const url = parseNfsUrl("nfs://127.0.0.1:2049/vfs/x");
  const busy = new NfsError(S.NFS4ERR_FILE_OPEN, "REMOVE", { path: "/vfs/x" });
  assert.equal(
    describeError(busy, false, { url }),
    "nfs://127.0.0.1:2049/vfs/x: Device or resource busy (NFS4ERR_FILE_OPEN)",
  );
  assert.equal(
    describeError(new NfsError(S.NFS4ERR_FILE_OPEN, "RENAME"), false),
    "RENAME: Device or resource busy (NFS4ERR_FILE_OPEN)",
  );
  assert.equal(exitCodeFor(busy), 1);
});

Deno.test({
  name:
    "nfs4 rm: REMOVE answered NFS4ERR_FILE_OPEN fails that file within seconds, not 4 × --timeout: `Device or resource busy (NFS4ERR_FILE_OPEN)`, exit 1; the next operand is removed (RFC 8881 §18.25)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = new ScriptedServer({ now: () => performance.now() });
    const nfs = await startScriptedNfsServer(server);
    try {
      // The first REMOVE of each COMPOUND try: /vfs/file, every time.
      server.intercept(
        "REMOVE",
        (name) => (name === "file" ? S.NFS4ERR_FILE_OPEN : undefined),
        { times: 1000 },
      );
      // --timeout 5: an operation may go on for 20 s.
      const result = await nfs4([
        "--vers",
        "4.1",
        "--timeout",
        "5",
        "rm",
        `${nfs.url}/vfs/file`,
        `${nfs.url}/vfs/other`,
      ]);
      assert.deepEqual(messageLines(result.stderr), [
        `nfs4: ${nfs.url}/vfs/file: Device or resource busy (NFS4ERR_FILE_OPEN)`,
      ]);
      assert.equal(result.code, 1);
      // 1.5 s of waiting, plus the start of a Deno process.
      assert.ok(result.ms < 10_000, `took ${Math.round(result.ms)} ms`);
      const removes = server.log.filter((e) => e.ops.includes("REMOVE"));
      assert.equal(removes.filter((e) => e.status === S.NFS4ERR_FILE_OPEN).length, 5);
      assert.ok(server.root.children.get("vfs")?.children.has("file"));
      assert.ok(!server.root.children.get("vfs")?.children.has("other"));
      assert.deepEqual(nfs.errors, []);
    } finally {
      await nfs.close();
    }
  },
});
