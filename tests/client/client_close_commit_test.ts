/**
 * Nfs4Client.close() with open files that wrote UNSTABLE4 (write()'s
 * default) and were never closed: their writes are committed before the
 * client's releases, as each file's close() would (COMMIT, then its
 * verifier compared with the WRITEs': RFC 7530 §16.3.4, §16.36.4; RFC 8881
 * §18.3.3, §18.32.3). When a verifier differs (the server restarted), the
 * COMMIT fails, or the client was interrupted (no COMMIT then), everything
 * is released all the same and close() rejects with WriteNotCommittedError
 * naming the path (an AggregateError of them for several files). Against
 * NFS-Ganesha (what is sent, and in which order) and the scripted server
 * (a verifier that changes, a COMMIT that fails, an interrupt).
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import { WriteNotCommittedError } from "../../lib/client/errors.ts";
import { StableHow } from "../../lib/nfs4/constants.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { ClientClosedError } from "../../lib/state/manager.ts";
import { startScriptedNfsServer } from "../_nfs4_server.ts";
import { serverTest } from "../_server.ts";
import { ScriptedServer } from "../state/_scripted.ts";
import { bytes, connectTraced, fileOps, rejectionOf, serverOps } from "./_commit_scenarios.ts";

/**
 * A scripted server writing UNSTABLE4 and a client of it, both closed
 * after `fn`; `fn` closes the client itself (its close() may reject).
 */
async function withScripted(
  version: "4.0" | "4.1",
  label: string,
  fn: (client: Nfs4Client, server: ScriptedServer, abort: AbortController) => Promise<void>,
): Promise<void> {
  const server = new ScriptedServer({ now: () => performance.now() });
  server.writeCommitted = StableHow.UNSTABLE4;
  const nfs = await startScriptedNfsServer(server);
  const abort = new AbortController();
  try {
    const client = await Nfs4Client.connect({
      host: nfs.host,
      port: nfs.port,
      version,
      clientId: `${label}-${crypto.randomUUID()}`,
      signal: abort.signal,
    });
    try {
      await fn(client, server, abort);
    } finally {
      await client.close().catch(() => {});
    }
  } finally {
    await nfs.close();
  }
}

for (const version of ["4.0", "4.1"] as const) {
  serverTest(
    `NFSv${version}: Nfs4Client.close() with open files that wrote UNSTABLE4 sends a COMMIT for each before any CLOSE, none for one that wrote FILE_SYNC4, and resolves (RFC 7530 §16.3, RFC 8881 §18.3)`,
    async (server) => {
      const { client, events } = await connectTraced(server, version, "client-close-commit");
      let closed = false;
      try {
        const a = await client.open("/vfs/a.txt", { access: "write", create: "unchecked" });
        const b = await client.open("/vfs/b.txt", { access: "write", create: "unchecked" });
        const c = await client.open("/vfs/c.txt", { access: "write", create: "unchecked" });
        const written = await a.write(0n, bytes("unstable a\n"));
        assert.notEqual(written.committed, StableHow.FILE_SYNC4, "Ganesha answers UNSTABLE4");
        await b.write(0n, bytes("unstable b\n"));
        await c.write(0n, bytes("stable c\n"), "file");
        events.length = 0;
        // a, b and c never closed: the client's close() must commit a and b.
        await client.close();
        closed = true;
        const ops = fileOps(events);
        assert.deepEqual(ops, ["COMMIT", "COMMIT", "CLOSE", "CLOSE", "CLOSE"]);
        assert.equal(client.leftOnServer, undefined);
        // The handles' own close() afterwards: resolved (nothing left to say).
        await a.close();
        await c.close();
        assert.equal(await Deno.readTextFile(`${server.exportDir}/a.txt`), "unstable a\n");
        assert.equal(await Deno.readTextFile(`${server.exportDir}/b.txt`), "unstable b\n");
      } finally {
        if (!closed) await client.close().catch(() => {});
      }
    },
  );
}

for (const version of ["4.0", "4.1"] as const) {
  Deno.test(`NFSv${version}: Nfs4Client.close() with an open file whose UNSTABLE4 writes the COMMIT does not vouch for (another verifier: a server restart) releases everything and rejects with WriteNotCommittedError naming the path (RFC 8881 §18.3.3, RFC 7530 §16.3.4)`, async () => {
    await withScripted(version, "client-close-lost", async (client, server) => {
      const file = await client.open("/vfs/file", { access: "write" });
      await file.write(0n, bytes("HELLO"));
      server.writeVerifier = new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9]);
      const error = await rejectionOf(client.close(), "client.close() resolved");
      assert.ok(error instanceof WriteNotCommittedError, String(error));
      assert.equal(error.path, "/vfs/file");
      assert.deepEqual(error.ranges, [{ offset: 0n, length: 5n }]);
      assert.equal(
        error.message,
        "/vfs/file: 5 bytes written unstable at offset 0 not committed: COMMIT returned write " +
          "verifier 0909090909090909, the WRITEs 0102030405060708 (the server restarted); " +
          "they may be lost (write them again)",
      );
      // COMMIT before the CLOSE, and the open released all the same.
      assert.deepEqual(serverOps(server).slice(-3), ["WRITE", "COMMIT", "CLOSE"]);
      assert.equal(client.leftOnServer, undefined);
      // The file's own close() gives the same answer; close() again too.
      await assert.rejects(file.close(), (e) => e === error);
      await assert.rejects(client.close(), (e) => e === error);
    });
  });
}

Deno.test("NFSv4.1: Nfs4Client.close() with two open files whose writes are not vouched for rejects with an AggregateError of both WriteNotCommittedErrors, after releasing both (RFC 8881 §18.3.3)", async () => {
  await withScripted("4.1", "client-close-two", async (client, server) => {
    const one = await client.open("/vfs/file", { access: "write" });
    const two = await client.open("/vfs/other", { access: "write" });
    await one.write(0n, bytes("ONE"));
    await two.write(4n, bytes("TWO"));
    server.writeVerifier = new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9]);
    const error = await rejectionOf(client.close(), "client.close() resolved");
    assert.ok(error instanceof AggregateError, String(error));
    assert.match(
      error.message,
      /: the writes of 2 open files are not known committed \(\/vfs\/file, \/vfs\/other\)$/,
    );
    assert.deepEqual(
      error.errors.map((
        e: WriteNotCommittedError,
      ) => [e instanceof WriteNotCommittedError, e.path]),
      [[true, "/vfs/file"], [true, "/vfs/other"]],
    );
    const ops = serverOps(server);
    assert.deepEqual(ops.slice(-4).sort(), ["CLOSE", "CLOSE", "COMMIT", "COMMIT"]);
    assert.ok(ops.lastIndexOf("COMMIT") < ops.indexOf("CLOSE"), `COMMITs first: ${ops}`);
  });
});

Deno.test("NFSv4.1: Nfs4Client.close() whose COMMIT for an open file fails (NFS4ERR_IO) releases it and rejects with WriteNotCommittedError, the NfsError its cause (RFC 8881 §18.3.3)", async () => {
  await withScripted("4.1", "client-close-commit-fails", async (client, server) => {
    const file = await client.open("/vfs/file", { access: "write" });
    await file.write(6n, bytes("WORLD"));
    server.failNext("COMMIT", S.NFS4ERR_IO);
    const error = await rejectionOf(client.close());
    assert.ok(error instanceof WriteNotCommittedError, String(error));
    assert.ok(error.cause instanceof NfsError && error.cause.status === S.NFS4ERR_IO);
    assert.match(
      error.message,
      /^\/vfs\/file: 5 bytes written unstable at offset 6 not committed: COMMIT failed \(NFS4ERR_IO\)/,
    );
    assert.deepEqual(serverOps(server).slice(-3), ["WRITE", "COMMIT", "CLOSE"]);
  });
});

for (const version of ["4.0", "4.1"] as const) {
  Deno.test(`NFSv${version}: Nfs4Client.close() after an interrupt (ConnectOptions.signal) sends no COMMIT, releases the open, and rejects with WriteNotCommittedError naming what is not known committed`, async () => {
    await withScripted(version, "client-close-interrupted", async (client, server, abort) => {
      const file = await client.open("/vfs/file", { access: "write" });
      await file.write(0n, bytes("HELLO"));
      abort.abort(new Error("interrupted by the test"));
      const error = await rejectionOf(client.close());
      assert.ok(error instanceof WriteNotCommittedError, String(error));
      assert.equal(error.path, "/vfs/file");
      assert.deepEqual(error.ranges, [{ offset: 0n, length: 5n }]);
      assert.match(error.message, /no COMMIT sent \(the client was interrupted first\)/);
      const ops = serverOps(server);
      assert.ok(!ops.includes("COMMIT"), `no COMMIT after the interrupt: ${ops}`);
      assert.equal(ops.at(-1), "CLOSE");
    });
  });
}

Deno.test("NFSv4.1: once Nfs4Client.close() began committing, the open files' calls are refused (ClientClosedError) and a file's close() waits for the client's and gives its answer (RFC 8881 §18.3.3)", async () => {
  await withScripted("4.1", "client-close-race", async (client, server) => {
    const file = await client.open("/vfs/file", { access: "write" });
    const idle = await client.open("/vfs/other", { access: "read" });
    await file.write(0n, bytes("HELLO"));
    server.writeVerifier = new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9]);
    const closing = client.close();
    closing.catch(() => {});
    await assert.rejects(file.write(5n, bytes("!")), ClientClosedError);
    await assert.rejects(file.commit(), ClientClosedError);
    await assert.rejects(client.stat("/vfs/file"), ClientClosedError);
    const fileClosed = file.close();
    const idleClosed = idle.close();
    const error = await rejectionOf(closing);
    assert.ok(error instanceof WriteNotCommittedError, String(error));
    await assert.rejects(fileClosed, (e) => e === error);
    await idleClosed;
    // One COMMIT (the client's), then the releases: no CLOSE raced it.
    const ops = serverOps(server);
    assert.deepEqual(ops.slice(ops.indexOf("COMMIT")), ["COMMIT", "CLOSE", "CLOSE"]);
  });
});
