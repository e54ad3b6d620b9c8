/**
 * A 4.1 server whose CREATE_SESSION grants a fore channel too small to
 * work in (RFC 8881 §18.36.3 lets it lower every attribute asked for):
 * `ca_maxoperations` 4, where nfs4's COMPOUNDs take up to 8 (as the Linux
 * client's do, which refuses such a session: nfs4_verify_fore_channel_attrs).
 * Ganesha's grant rewritten by the fault proxy. With `--vers 4.1` the
 * command fails with one line naming the server and the grant, and the
 * session and client ID are destroyed; with the default (`auto`), 4.0 is
 * used. Before, COMPOUNDs of 5 operations and more were sent past the grant.
 */

import assert from "node:assert/strict";
import { serverTest } from "../_server.ts";
import { runNfs4, startProxy } from "./_faults.ts";
import { messageLines } from "./_spawn.ts";

const CREATE_SESSION = 43;

/** The CREATE_SESSION reply with its fore channel's ca_maxoperations set to `ops`. */
function grantOps(record: Uint8Array, ops: number): Uint8Array {
  const out = record.slice();
  const view = new DataView(out.buffer);
  // Record mark, xid, REPLY, MSG_ACCEPTED, verifier (flavor, length, body), SUCCESS.
  let at = 24 + ((view.getUint32(20) + 3) & ~3) + 4;
  at += 4; // COMPOUND status
  at += 4 + ((view.getUint32(at) + 3) & ~3); // tag
  at += 4; // result count
  assert.equal(view.getUint32(at), CREATE_SESSION);
  assert.equal(view.getUint32(at + 4), 0, "CREATE_SESSION ok");
  // sessionid (16), sequence, flags; then headerpadsize, maxrequestsize,
  // maxresponsesize, maxresponsesize_cached, maxoperations.
  const maxOperationsAt = at + 8 + 16 + 4 + 4 + 16;
  view.setUint32(maxOperationsAt, ops);
  return out;
}

serverTest(
  "nfs4 --vers 4.1 ls: a session granting 4 operations per COMPOUND is refused with one line, " +
    "and destroyed with the client ID (RFC 8881 §18.36.3)",
  async (server) => {
    await Deno.writeTextFile(`${server.exportDir}/f`, "x");
    await using f = await startProxy(server);
    const rewrite = f.proxy.onReply({
      op: "CREATE_SESSION",
      action: "rewrite",
      rewrite: (record) => grantOps(record, 4),
    });
    const r = await runNfs4(["--vers", "4.1", "ls", f.vfs]);
    assert.equal(rewrite.fired, 1);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(messageLines(r.stderr), [
      `nfs4: 127.0.0.1:${f.proxy.port}: the server's NFSv4.1 session is too small to use: ` +
      "4 operations per COMPOUND (ca_maxoperations; nfs4 needs 8)",
    ]);
    assert.equal(r.stdout, "");
    assert.equal(f.proxy.opCount("DESTROY_SESSION"), 1);
    assert.equal(f.proxy.opCount("DESTROY_CLIENTID"), 1);
    assert.equal(f.proxy.opCount("PUTROOTFH") + f.proxy.opCount("LOOKUP"), 0, "nothing else sent");
  },
);

serverTest(
  "nfs4 ls (auto): a 4.2 session granting 4 operations per COMPOUND: NFSv4.0 is used instead",
  async (server) => {
    await Deno.writeTextFile(`${server.exportDir}/f`, "x");
    await using f = await startProxy(server);
    f.proxy.onReply({
      op: "CREATE_SESSION",
      action: "rewrite",
      rewrite: (record) => grantOps(record, 4),
    });
    const r = await runNfs4(["--trace=clid", "ls", f.vfs]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "f\n");
    assert.match(r.stderr, /NFSv4\.2 session too small.*trying NFSv4\.0/);
    assert.equal(f.proxy.opCount("DESTROY_CLIENTID"), 1, "the 4.2 client ID destroyed");
    assert.equal(f.proxy.opCount("SETCLIENTID"), 1);
  },
);
