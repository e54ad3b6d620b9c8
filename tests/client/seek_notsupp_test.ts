/**
 * OpenFile.seek is undefined once the server answered a SEEK with
 * NFS4ERR_NOTSUPP (api.ts: "Undefined when the server cannot be asked (4.0,
 * 4.1, or it answered NFS4ERR_NOTSUPP before)"), on that handle and on those
 * opened after it. Ganesha over NFSv4.2, its SEEK reply rewritten to
 * NFS4ERR_NOTSUPP by the fault proxy (tests/_fault_proxy.ts).
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { FaultProxy } from "../_fault_proxy.ts";
import { serverTest } from "../_server.ts";

/**
 * A SEEK COMPOUND's reply (SEQUENCE, PUTFH, SEEK, all NFS4_OK) made the
 * reply of a server without SEEK: the COMPOUND's and SEEK's status
 * NFS4ERR_NOTSUPP, SEEK's result (sr_eof, sr_offset: 12 bytes) gone.
 */
function seekNotSupported(record: Uint8Array, status: number = S.NFS4ERR_NOTSUPP): Uint8Array {
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  // Record mark, xid, REPLY, MSG_ACCEPTED, verifier (flavor, length, body), SUCCESS.
  const verifierLength = view.getUint32(20);
  const statusAt = 28 + ((verifierLength + 3) & ~3);
  const out = record.slice(0, record.length - 12);
  const outView = new DataView(out.buffer);
  assert.equal(outView.getUint32(statusAt), S.NFS4_OK);
  outView.setUint32(statusAt, status);
  // SEEK4res is last: its resop (69), then its status.
  assert.equal(outView.getUint32(out.length - 8), 69);
  outView.setUint32(out.length - 4, status);
  outView.setUint32(0, (0x80000000 | (out.length - 4)) >>> 0);
  return out;
}

serverTest(
  "OpenFile.seek (NFSv4.2): undefined once the server answered SEEK with NFS4ERR_NOTSUPP, " +
    "on that handle and on a later one",
  async (server) => {
    await Deno.writeTextFile(`${server.exportDir}/data.txt`, "hello, world\n");
    await using proxy = await FaultProxy.start({ target: server, log: () => {} });
    const rewrite = proxy.onReply({ op: "SEEK", action: "rewrite", rewrite: seekNotSupported });
    const client = await Nfs4Client.connect({
      host: proxy.host,
      port: proxy.port,
      version: "4.2",
      callback: false,
    });
    try {
      const file = await client.openRead("/vfs/data.txt");
      const seek = file.seek;
      assert.equal(typeof seek, "function", "a 4.2 server may be asked");
      await assert.rejects(
        seek!(0n, "data"),
        (e) => e instanceof NfsError && e.status === S.NFS4ERR_NOTSUPP && e.op === "SEEK",
      );
      assert.equal(rewrite.fired, 1);
      assert.equal(file.seek, undefined, "not offered after NFS4ERR_NOTSUPP");
      const again = await client.openRead("/vfs/data.txt");
      assert.equal(again.seek, undefined, "nor on a file opened later");
      await again.close();
      await file.close();
      assert.equal(proxy.opCount("SEEK"), 1, "SEEK was asked once");
    } finally {
      await client.close();
    }
  },
);

serverTest(
  "OpenFile.seek (NFSv4.2): undefined once the server answered SEEK with NFS4ERR_UNION_NOTSUPP " +
    "(supported, but not for that sa_what: RFC 7862 §11), whose status the caller is told",
  async (server) => {
    await Deno.writeTextFile(`${server.exportDir}/data.txt`, "hello, world\n");
    await using proxy = await FaultProxy.start({ target: server, log: () => {} });
    const rewrite = proxy.onReply({
      op: "SEEK",
      action: "rewrite",
      rewrite: (record) => seekNotSupported(record, S.NFS4ERR_UNION_NOTSUPP),
    });
    const client = await Nfs4Client.connect({
      host: proxy.host,
      port: proxy.port,
      version: "4.2",
      callback: false,
    });
    try {
      const file = await client.openRead("/vfs/data.txt");
      await assert.rejects(
        file.seek!(0n, "hole"),
        (e) => e instanceof NfsError && e.status === S.NFS4ERR_UNION_NOTSUPP && e.op === "SEEK",
      );
      assert.equal(rewrite.fired, 1);
      assert.equal(file.seek, undefined, "not offered after NFS4ERR_UNION_NOTSUPP");
      await file.close();
      assert.equal(proxy.opCount("SEEK"), 1, "SEEK was asked once");
    } finally {
      await client.close();
    }
  },
);
