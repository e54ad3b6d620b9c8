/**
 * A command whose work is done but whose goodbye goes unanswered (a CLOSE,
 * DESTROY_SESSION: RFC 8881 §18.37) has not left the server clean: it says
 * what is left, in one line, and exits 1, so that no script takes state
 * still held (a lock, an open with its share reservation) for released.
 */

import assert from "node:assert/strict";
import { FaultProxy } from "../_fault_proxy.ts";
import { serverTest } from "../_server.ts";
import { messageLines, nfs4 } from "./_spawn.ts";
import { writeFileSync } from "node:fs";

serverTest(
  "nfs4 cat whose DESTROY_SESSION goes unanswered (RFC 8881 §18.37): the data is printed, one line says what was not released, exit 1",
  async (server) => {
    writeFileSync(`${server.exportDir}/f`, "data\n");
    await using proxy = await FaultProxy.start({ target: server, log: () => {} });
    // The server silent from the DESTROY_SESSION on: over TCP a reply alone
    // is not lost while the connection stands and RPC NULL is answered (RFC
    // 7530 §3.1.1: the client waits on, and the DESTROY_CLIENTID after it
    // would be answered).
    const destroy = proxy.dropReply("DESTROY_SESSION", { times: 1_000 });
    void destroy.firstFired.then(() => proxy.setMode("silent"));
    const host = `127.0.0.1:${proxy.port}`;
    const r = await nfs4(["--vers", "4.1", "--timeout", "1", "cat", `${proxy.url}/vfs/f`]);
    assert.equal(r.stdout, "data\n");
    assert.equal(r.code, 1, r.stderr);
    const lines = messageLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0]!,
      new RegExp(
        `^nfs4: ${host.replaceAll(".", "\\.")}: not released: DESTROY_SESSION, DESTROY_CLIENTID ` +
          `\\(server not responding: .*\\); the server frees it when this client's lease ends$`,
      ),
    );
  },
);
