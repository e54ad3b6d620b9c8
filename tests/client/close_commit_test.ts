/**
 * NfsFile.close() commits what the handle wrote UNSTABLE4 (write()'s
 * default) before its CLOSE, and checks the COMMIT's verifier against the
 * WRITEs' (RFC 7530 §16.3.4, §16.36.4; RFC 8881 §18.3.3, §18.32.3): a
 * different one means the server restarted and may have lost the data,
 * and close() then rejects with WriteNotCommittedError naming the path,
 * after closing the open all the same. Nothing more is sent when the
 * WRITEs were FILE_SYNC4 or a commit() already covered them. Against
 * NFS-Ganesha (what is sent) and the scripted server (a verifier that
 * changes, a COMMIT that fails).
 */

import assert from "node:assert/strict";
import { WriteNotCommittedError } from "../../lib/client/errors.ts";
import { StableHow } from "../../lib/nfs4/constants.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { serverTest } from "../_server.ts";
import { bytes, connectTraced, fileOps, rejectionOf, serverOps } from "./_commit_scenarios.ts";
import { withScriptedClient } from "./_scripted_client.ts";

for (const version of ["4.0", "4.1"] as const) {
  serverTest(
    `NFSv${version}: close() of a handle that wrote UNSTABLE4 sends COMMIT before CLOSE; after FILE_SYNC4 writes or a commit() that covered them, none (RFC 7530 §16.3, RFC 8881 §18.3)`,
    async (server) => {
      const { client, events } = await connectTraced(server, version, "close-commit");
      try {
        const path = "/vfs/unstable.txt";
        // Unstable (the default), then close: COMMIT, then CLOSE.
        let file = await client.open(path, { access: "write", create: "unchecked" });
        const written = await file.write(0n, bytes("unstable data\n"));
        assert.notEqual(written.committed, StableHow.FILE_SYNC4, "Ganesha answers UNSTABLE4");
        events.length = 0;
        await file.close();
        assert.deepEqual(fileOps(events), ["COMMIT", "CLOSE"]);
        assert.equal(
          await Deno.readTextFile(`${server.exportDir}/unstable.txt`),
          "unstable data\n",
        );

        // FILE_SYNC4: nothing to commit.
        file = await client.open(path, { access: "write" });
        await file.write(0n, bytes("stable data!!\n"), "file");
        events.length = 0;
        await file.close();
        assert.deepEqual(fileOps(events), ["CLOSE"]);

        // commit() already covered the writes: close() sends no second COMMIT.
        file = await client.open(path, { access: "write" });
        const w = await file.write(0n, bytes("committed...\n"));
        assert.deepEqual(await file.commit(), w.verifier);
        events.length = 0;
        await file.close();
        assert.deepEqual(fileOps(events), ["CLOSE"]);

        // A write() still on its way when close() is called: its WRITE is
        // answered before the COMMIT, which covers it.
        file = await client.open(path, { access: "write" });
        events.length = 0;
        const writing = file.write(0n, bytes("in flight...\n"));
        const closing = file.close();
        await writing;
        await closing;
        assert.deepEqual(fileOps(events), ["WRITE", "COMMIT", "CLOSE"]);
        assert.equal(
          await Deno.readTextFile(`${server.exportDir}/unstable.txt`),
          "in flight...\n\n",
        );
      } finally {
        await client.close();
      }
    },
  );
}

for (const version of ["4.0", "4.1"] as const) {
  Deno.test(`NFSv${version}: close() after UNSTABLE4 writes whose verifier the COMMIT does not return (a server restart) closes the open and rejects with WriteNotCommittedError naming the path (RFC 8881 §18.32.3, §18.3.3; RFC 7530 §16.3.4)`, async () => {
    await withScriptedClient({}, version, "close-commit-lost", async (client, server) => {
      server.writeCommitted = StableHow.UNSTABLE4;
      const file = await client.open("/vfs/file", { access: "write" });
      const w = await file.write(0n, bytes("HELLO"));
      assert.equal(w.committed, StableHow.UNSTABLE4);
      // The server restarts: a new verifier, what was not committed lost.
      server.writeVerifier = new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9]);
      const error = await rejectionOf(file.close(), "close() resolved");
      assert.ok(error instanceof WriteNotCommittedError, String(error));
      assert.equal(error.path, "/vfs/file");
      assert.deepEqual(error.ranges, [{ offset: 0n, length: 5n }]);
      assert.equal(
        error.message,
        "/vfs/file: 5 bytes written unstable at offset 0 not committed: COMMIT returned write " +
          "verifier 0909090909090909, the WRITEs 0102030405060708 (the server restarted); " +
          "they may be lost (write them again)",
      );
      // The open was closed all the same: the server is left clean.
      assert.deepEqual(serverOps(server).slice(-3), ["WRITE", "COMMIT", "CLOSE"]);
      assert.equal(client.describeState().opens.length, 0);
      // Called again, the same answer (close() runs once).
      await assert.rejects(file.close(), (e) => e === error);
    });
  });
}

Deno.test("NFSv4.1: close() whose COMMIT fails (NFS4ERR_IO) closes the open and rejects with WriteNotCommittedError, the NfsError its cause (RFC 8881 §18.3.3)", async () => {
  await withScriptedClient({}, "4.1", "close-commit-fails", async (client, server) => {
    server.writeCommitted = StableHow.UNSTABLE4;
    const file = await client.open("/vfs/file", { access: "write" });
    await file.write(6n, bytes("WORLD"));
    server.failNext("COMMIT", S.NFS4ERR_IO);
    const error = await rejectionOf(file.close(), "close() resolved");
    assert.ok(error instanceof WriteNotCommittedError, String(error));
    assert.ok(error.cause instanceof NfsError && error.cause.status === S.NFS4ERR_IO);
    assert.match(
      error.message,
      /^\/vfs\/file: 5 bytes written unstable at offset 6 not committed: COMMIT failed \(NFS4ERR_IO\)/,
    );
    assert.deepEqual(serverOps(server).slice(-3), ["WRITE", "COMMIT", "CLOSE"]);
    assert.equal(client.describeState().opens.length, 0);
  });
});

Deno.test("NFSv4.1: commit() returning a new verifier hands it to the caller; the range written again is what close() commits, and close() resolves (RFC 8881 §18.3.3)", async () => {
  await withScriptedClient({}, "4.1", "close-commit-rewrite", async (client, server) => {
    server.writeCommitted = StableHow.UNSTABLE4;
    const file = await client.open("/vfs/file", { access: "write" });
    const first = await file.write(0n, bytes("HELLO"));
    await file.write(5n, bytes(", WORLD"));
    server.writeVerifier = new Uint8Array([7, 7, 7, 7, 7, 7, 7, 7]);
    const verifier = await file.commit();
    assert.notDeepEqual(verifier, first.verifier, "the caller sees the restart");
    // Written again as the copy does after a restart: the whole of it.
    await file.write(0n, bytes("HELLO, WORLD"));
    await file.close();
    assert.deepEqual(serverOps(server).slice(-6), [
      "WRITE",
      "WRITE",
      "COMMIT",
      "WRITE",
      "COMMIT",
      "CLOSE",
    ]);
    const node = server.root.children.get("vfs")!.children.get("file")!;
    assert.equal(new TextDecoder().decode(node.data), "HELLO, WORLD\n");
  });
});

Deno.test("NFSv4.1: close() after only part of a lost range was written again still rejects, naming what is left (RFC 8881 §18.3.3)", async () => {
  await withScriptedClient({}, "4.1", "close-commit-partial", async (client, server) => {
    server.writeCommitted = StableHow.UNSTABLE4;
    const file = await client.open("/vfs/file", { access: "write" });
    await file.write(0n, bytes("HELLO, WORLD"));
    server.writeVerifier = new Uint8Array([7, 7, 7, 7, 7, 7, 7, 7]);
    await file.commit();
    await file.write(0n, bytes("HELLO"));
    await assert.rejects(file.close(), (e) => {
      assert.ok(e instanceof WriteNotCommittedError, String(e));
      assert.deepEqual(e.ranges, [{ offset: 5n, length: 7n }]);
      return true;
    });
    assert.equal(client.describeState().opens.length, 0);
  });
});

Deno.test("NFSv4.1: a commit() answers for the writes answered before it was sent, not for a neighbour answered after: after a restart only that one is lost, written again, and close() resolves (RFC 8881 §18.3.3)", async () => {
  await withScriptedClient({}, "4.1", "close-commit-window", async (client, server) => {
    server.writeCommitted = StableHow.UNSTABLE4;
    const file = await client.open("/vfs/file", { access: "write" });
    const first = await file.write(0n, bytes("HELLO"));
    // The copy's shape: one window's COMMIT while the next one's WRITEs go on.
    const committing = file.commit();
    await file.write(5n, bytes(", WORLD"));
    assert.deepEqual(await committing, first.verifier);
    server.writeVerifier = new Uint8Array([7, 7, 7, 7, 7, 7, 7, 7]);
    assert.notDeepEqual(await file.commit(), first.verifier, "the second WRITE may be lost");
    await file.write(5n, bytes(", WORLD"));
    await file.close();
    assert.deepEqual(serverOps(server).slice(-4), ["COMMIT", "WRITE", "COMMIT", "CLOSE"]);
  });
});
