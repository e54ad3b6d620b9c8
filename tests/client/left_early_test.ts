/**
 * Leaving a listing or a read early (`break` out of `for await` over
 * readdir() or chunks()) while the next READDIR page, or READs asked for
 * ahead, are still unanswered: against NFS-Ganesha behind a fault proxy that
 * never forwards their replies (a server that stopped answering them).
 * READDIR and READ change no state (RFC 7530 §16.24, §16.23; RFC 8881
 * §18.23, §18.22), so the loop ends within a bound instead of waiting for
 * every resend up to the recovery deadline (2 minutes with the default 30 s
 * timeout), and their late failures surface nowhere: no unhandled
 * rejection, the client closes as usual.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../mod.ts";
import { FaultProxy } from "../_fault_proxy.ts";
import { serverTest } from "../_server.ts";

/** The longest a break may take here: the client's bound (1 s) and room for a slow machine. */
const BREAK_WITHIN_MS = 5_000;

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `Nfs4Client --vers ${vers}: a break out of readdir() while the next page is unanswered returns within a bound, not after the page's resends (default timeout)`,
    async (server) => {
      await Deno.mkdir(`${server.exportDir}/d`);
      // More than the first page's 32 KiB of entries.
      for (let i = 0; i < 2_000; i++) {
        await Deno.writeFile(
          `${server.exportDir}/d/file-with-a-longish-name-${i}`,
          new Uint8Array(),
        );
      }
      await using proxy = await FaultProxy.start({ target: server, log: () => {} });
      const client = await Nfs4Client.connect({
        host: "127.0.0.1",
        port: proxy.port,
        version: vers,
        uid: 0,
        gid: 0,
        clientId: `nfs4-left-early-${crypto.randomUUID()}`,
      });
      try {
        // The first page is answered; no later one ever is.
        proxy.onReply({ op: "READDIR", action: "drop", nth: 2, times: 1_000 });
        let seen = 0;
        let broke = 0;
        for await (const _ of client.readdir("/vfs/d", { fields: ["size"] })) {
          if (++seen === 1) {
            // Give the second page time to go out.
            while (proxy.opCount("READDIR") < 2) await new Promise((r) => setTimeout(r, 5));
            broke = performance.now();
            break;
          }
        }
        const ms = performance.now() - broke;
        assert.ok(ms < BREAK_WITHIN_MS, `break took ${ms.toFixed(0)} ms`);
        // The client goes on: another call is answered.
        assert.equal((await client.stat("/vfs/d")).kind, "directory");
      } finally {
        await client.close();
      }
      assert.equal(client.leftOnServer, undefined);
    },
  );

  serverTest(
    `Nfs4Client --vers ${vers}: a break out of chunks() while READs asked for ahead are unanswered returns within a bound; the file then closes`,
    async (server) => {
      await Deno.writeFile(`${server.exportDir}/big`, new Uint8Array(16 * 1024 * 1024).fill(7));
      await using proxy = await FaultProxy.start({ target: server, log: () => {} });
      const client = await Nfs4Client.connect({
        host: "127.0.0.1",
        port: proxy.port,
        version: vers,
        uid: 0,
        gid: 0,
        clientId: `nfs4-left-early-${crypto.randomUUID()}`,
      });
      try {
        const file = await client.openRead("/vfs/big");
        // The first READ is answered; the ones asked for ahead never are.
        proxy.onReply({ op: "READ", action: "drop", nth: 2, times: 1_000 });
        let broke = 0;
        for await (const chunk of file.chunks()) {
          assert.ok(chunk.length > 0);
          assert.ok(proxy.opCount("READ") >= 2, "READs were asked for ahead");
          broke = performance.now();
          break;
        }
        const ms = performance.now() - broke;
        assert.ok(ms < BREAK_WITHIN_MS, `break took ${ms.toFixed(0)} ms`);
        await file.close();
        assert.deepEqual(client.describeState().opens, []);
      } finally {
        await client.close();
      }
    },
  );
}
