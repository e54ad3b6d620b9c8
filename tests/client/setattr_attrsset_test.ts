/**
 * SETATTR's attrsset is what the server set (RFC 7530 §16.32.4, RFC 8881
 * §18.30.4: "the server will return the attrsset bitmask to represent what
 * (if any) attributes were successfully set"). A server that answers
 * NFS4_OK with an attribute asked for missing from it did not set that
 * attribute: the call fails with AttributesNotSetError naming the path and
 * the attribute, rather than counting as done (chmod, chown, touch,
 * truncate and cp -p would report success). Against NFS-Ganesha behind a
 * fault proxy that clears bits of the attrsset in SETATTR's reply; Ganesha
 * itself answers with the bits asked for, TIME_MODIFY_SET of a time set to
 * the server's included.
 */

import assert from "node:assert/strict";
import { Attr } from "../../lib/nfs4/attrs.ts";
import { Op } from "../../lib/nfs4/constants.ts";
import { Nfs4Client } from "../../mod.ts";
import { FaultProxy } from "../_fault_proxy.ts";
import { readRpcMessage } from "../_fault_proxy_wire.ts";
import { serverTest } from "../_server.ts";

/** Bytes of a SEQUENCE4resok (RFC 8881 §18.46.2): sessionid, 4 uint32s and the status flags. */
const SEQUENCE_RESOK_BYTES = 16 + 5 * 4;

/**
 * The record (one fragment, its mark included) of a successful
 * `[SEQUENCE,] PUTFH, SETATTR` reply with the bits of `ids` cleared in
 * SETATTR's attrsset; anything else as it came.
 */
function withoutAttrs(record: Uint8Array, ids: readonly number[]): Uint8Array {
  const out = record.slice();
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const payload = out.subarray(4);
  const message = readRpcMessage(payload);
  if (message.kind !== "reply" || message.results.length === 0) return out;
  let at = 4 + message.results.byteOffset - payload.byteOffset;
  const next = () => {
    const value = view.getUint32(at);
    at += 4;
    return value;
  };
  if (next() !== 0) return out; // COMPOUND status
  const tagBytes = next();
  at += (tagBytes + 3) & ~3;
  const count = next();
  for (let i = 0; i < count; i++) {
    const opnum = next();
    if (next() !== 0) return out;
    if (opnum === Op.SEQUENCE) at += SEQUENCE_RESOK_BYTES;
    else if (opnum === Op.SETATTR) {
      const words = next();
      for (const id of ids) {
        if (id >>> 5 >= words) continue;
        const word = at + 4 * (id >>> 5);
        view.setUint32(word, (view.getUint32(word) & ~(1 << (id & 31))) >>> 0);
      }
      return out;
    } else if (opnum !== Op.PUTFH) return out;
  }
  return out;
}

function isNotSet(e: unknown, path: string, names: string): boolean {
  return e instanceof Error && e.name === "AttributesNotSetError" &&
    e.message === `${path}: the server did not set ${names} (SETATTR attrsset)` &&
    (e as { path?: string }).path === path;
}

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `Nfs4Client --vers ${vers}: a SETATTR answered NFS4_OK without an attribute asked for in its attrsset fails, naming the path and the attribute (RFC 7530 §16.32.4, RFC 8881 §18.30.4)`,
    async (server) => {
      await Deno.writeFile(`${server.exportDir}/f`, new Uint8Array(100));
      await using proxy = await FaultProxy.start({ target: server, log: () => {} });
      const client = await Nfs4Client.connect({
        host: "127.0.0.1",
        port: proxy.port,
        version: vers,
        uid: 0,
        gid: 0,
        clientId: `nfs4-attrsset-${crypto.randomUUID()}`,
      });
      try {
        // Ganesha's own answer: the bits asked for, a time set to the server's too.
        await client.setattrPath("/vfs/f", {
          mode: 0o640,
          timeModifySet: "server",
          timeAccessSet: { seconds: 1_000_000n, nseconds: 0 },
        });
        assert.equal((await client.stat("/vfs/f")).mode, 0o640);

        const rewrite = proxy.onReply({
          op: "SETATTR",
          action: "rewrite",
          times: 1_000,
          rewrite: (record) => withoutAttrs(record, [Attr.MODE, Attr.SIZE]),
        });
        await assert.rejects(
          client.setattrPath("/vfs/f", { mode: 0o600, timeModifySet: "server" }),
          (e) => isNotSet(e, "/vfs/f", "mode"),
        );
        // Through an open file: its SETATTR carries the open's stateid.
        const file = await client.open("/vfs/f", { access: "write" });
        await assert.rejects(file.setattr({ size: 0n }), (e) => isNotSet(e, "/vfs/f", "size"));
        await file.close();
        // open() with truncate: the truncate is its SETATTR; nothing is left
        // open. (The server did truncate it above: it has data again.)
        await Deno.writeFile(`${server.exportDir}/f`, new Uint8Array(100));
        await assert.rejects(
          client.open("/vfs/f", { access: "write", truncate: true }),
          (e) => isNotSet(e, "/vfs/f", "size"),
        );
        assert.deepEqual(client.describeState().opens, []);
        assert.ok(rewrite.fired >= 3, `the proxy rewrote ${rewrite.fired} replies`);
        // Bits not asked for are no concern: the owner's SETATTR is whole.
        await client.setattrPath("/vfs/f", { owner: "0" });
      } finally {
        await client.close();
      }
    },
  );
}
