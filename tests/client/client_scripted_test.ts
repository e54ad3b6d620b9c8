/**
 * Nfs4Client walks a path once more when a handle goes stale under it
 * (NFS4ERR_STALE, RFC 7530 §13.1.2.7: a directory replaced behind the
 * server's cache), as the Linux VFS does on ESTALE; a second STALE is the
 * answer. Through the scripted NFSv4 server over TCP, on 4.0 and 4.1.
 */

import { LARGEST_READ, LARGEST_WRITE } from "../../lib/state/procs.ts";
import assert from "node:assert/strict";
import { withScriptedClient } from "./_scripted_client.ts";
import { Nfs4Client } from "../../lib/client/client.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { startScriptedNfsServer } from "../_nfs4_server.ts";
import { ScriptedServer } from "../state/_scripted.ts";
import { FaultProxy } from "../_fault_proxy.ts";

for (const version of ["4.0", "4.1"] as const) {
  Deno.test(`Nfs4Client ${version}: a transient NFS4ERR_STALE during a path walk is walked again once; twice is the answer`, async () => {
    await withScriptedClient({}, version, "stale-walk", async (client, server, events) => {
      server.failNext("LOOKUP", S.NFS4ERR_STALE);
      assert.equal((await client.stat("/vfs/file")).kind, "file");
      assert.ok(events.some((e) => e.startsWith("path walk again (/vfs/file:")), events.join("\n"));
      server.failNext("LOOKUP", S.NFS4ERR_STALE, { times: 2 });
      await assert.rejects(
        client.stat("/vfs/file"),
        (e) => e instanceof NfsError && e.status === S.NFS4ERR_STALE && e.path === "/vfs/file",
      );
    });
  });
}

Deno.test("Nfs4Client: READ size comes from the file system's maxread, else the session's limit, never the pseudo-root's (issue 14 item 8)", async () => {
  // The pseudo-root says 4096; the export says nothing.
  const server = new ScriptedServer({
    now: () => performance.now(),
    maxread: (path) => (path === "/" ? 4096n : undefined),
  });
  const nfs = await startScriptedNfsServer(server);
  const client = await Nfs4Client.connect({
    host: nfs.host,
    port: nfs.port,
    version: "4.1",
    clientId: `maxread-${crypto.randomUUID()}`,
  });
  try {
    const file = await client.open("/vfs/file", { access: "read" }) as unknown as {
      rsize: number;
      wsize: number;
      close(): Promise<void>;
    };
    // The largest the client asks for, which the session (granted as asked) holds.
    assert.equal(file.rsize, LARGEST_READ, `rsize ${file.rsize}`);
    assert.equal(file.wsize, LARGEST_WRITE, `wsize ${file.wsize}`);
    await file.close();
  } finally {
    await client.close();
    await nfs.close();
  }
});

Deno.test(`Nfs4Client 4.1: a RENAME or REMOVE whose reply was lost on a server that caches none (RETRY_UNCACHED_REP) is looked up, not run again (RFC 8881 §2.10.6.1.3)`, async () => {
  const server = new ScriptedServer({
    now: () => performance.now(),
    replyCache: false,
  });
  const nfs = await startScriptedNfsServer(server);
  await using proxy = await FaultProxy.start({ target: nfs, log: () => {} });
  const events: string[] = [];
  const client = await Nfs4Client.connect({
    host: "127.0.0.1",
    port: proxy.port,
    version: "4.1",
    timeoutMs: 500,
    clientId: `lookup-${crypto.randomUUID()}`,
    onTrace: (e) => events.push(`${e.event} (${e.detail ?? ""})`),
  });
  try {
    proxy.dropReplyAndCut("RENAME");
    await client.rename("/vfs/file", "/vfs/moved");
    assert.equal(proxy.opCount("RENAME"), 2, "sent, then resent as itself");
    assert.ok(
      events.includes("RENAME outcome looked up (/vfs/file: it was done)"),
      events.join("\n"),
    );
    assert.equal((await client.stat("/vfs/moved")).kind, "file");
    proxy.dropReplyAndCut("REMOVE");
    await client.remove("/vfs/moved");
    assert.ok(events.includes("REMOVE outcome looked up (/vfs/moved: it was done)"));
    await assert.rejects(client.stat("/vfs/moved"), (e) => e instanceof NfsError);
    proxy.assertSlotSeqidsUnique();
  } finally {
    await client.close();
    await nfs.close();
  }
});

for (const version of ["4.0", "4.1"] as const) {
  Deno.test(`Nfs4Client ${version}: a LINK whose reply was lost and whose resend fails is looked up by fileid, not reported as failed (RFC 7530 §16.9, RFC 8881 §2.10.6.1.3)`, async () => {
    // No reply cache: on 4.1 the resend answers RETRY_UNCACHED_REP; on 4.0,
    // after the reconnect, it runs again and answers NFS4ERR_EXIST.
    const server = new ScriptedServer({ now: () => performance.now(), replyCache: false });
    const nfs = await startScriptedNfsServer(server);
    await using proxy = await FaultProxy.start({ target: nfs, log: () => {} });
    const events: string[] = [];
    const client = await Nfs4Client.connect({
      host: "127.0.0.1",
      port: proxy.port,
      version,
      timeoutMs: 500,
      clientId: `link-lookup-${crypto.randomUUID()}`,
      onTrace: (e) => events.push(`${e.event} (${e.detail ?? ""})`),
    });
    try {
      proxy.dropReplyAndCut("LINK");
      await client.link("/vfs/file", "/vfs/hard");
      assert.equal(proxy.opCount("LINK"), 2, "sent, then resent as itself");
      assert.ok(
        events.includes("LINK outcome looked up (/vfs/hard: it was done)"),
        events.join("\n"),
      );
      const [made, file] = [await client.stat("/vfs/hard"), await client.stat("/vfs/file")];
      assert.equal(made.fileid, file.fileid);
      // Another file by the name is not ours: the failure stands.
      proxy.dropReplyAndCut("LINK");
      await assert.rejects(
        client.link("/vfs/file", "/vfs/other"),
        (e) => e instanceof NfsError && e.status !== S.NFS4_OK,
      );
    } finally {
      await client.close();
      await nfs.close();
    }
  });
}
