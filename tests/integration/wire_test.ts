/**
 * Proof against the real server (issue: foundation): NFSPROC4_NULL and a
 * COMPOUND of PUTROOTFH, GETFH, GETATTR on minor versions 0 and 1, captured
 * with tshark, which must decode every packet (zero malformed) and see the
 * operations we sent.
 */

import assert from "node:assert/strict";
import { RpcTransport } from "../../lib/rpc/transport.ts";
import { RpcCompoundChannel } from "../../lib/nfs4/channel.ts";
import { compoundResults } from "../../lib/nfs4/compound.ts";
import { Attr } from "../../lib/nfs4/attrs.ts";
import { FileType } from "../../lib/nfs4/constants.ts";
import { getattr } from "../../lib/nfs4/ops/getattr.ts";
import { getfh } from "../../lib/nfs4/ops/getfh.ts";
import { putrootfh } from "../../lib/nfs4/ops/putrootfh.ts";
import { StateManager } from "../../lib/state/manager.ts";
import { newBootVerifier } from "../../lib/state/client_owner.ts";
import { serverTest } from "../_server.ts";
import { decodeNfs, startCapture } from "../_tshark.ts";

const ATTRS = [Attr.TYPE, Attr.FILEID, Attr.LEASE_TIME, Attr.SUPPORTED_ATTRS];

serverTest(
  "NULL and PUTROOTFH+GETFH+GETATTR on NFSv4.0 decode cleanly in tshark (RFC 7530 §16.1-16.2)",
  async (server) => {
    const capture = await startCapture(server.port);
    const transport = new RpcTransport({ host: server.host, port: server.port });
    const channel = new RpcCompoundChannel(transport);
    try {
      await channel.ping();
      const ops = [putrootfh(), getfh(), getattr(ATTRS)] as const;
      const reply = await channel.compound({ minorVersion: 0, ops });
      const [, fh, attrs] = compoundResults(reply, ops);
      assert.ok(fh.length > 0 && fh.length <= 128);
      assert.equal(attrs.attrs.type, FileType.NF4DIR);
      assert.equal(attrs.attrs.leaseTime, server.leaseSeconds);
      assert.ok(attrs.attrs.supportedAttrs?.has(Attr.TYPE));
    } finally {
      await transport.close();
      await capture.stop();
    }
    const decoded = await decodeNfs(capture.file, server.port);
    assert.equal(decoded.malformed, 0);
    assert.equal(decoded.expertErrors, 0);
    const calls = decoded.frames.filter((f) => !f.isReply && f.ops.length > 0);
    assert.deepEqual(calls.map((f) => f.ops), [["PUTROOTFH", "GETFH", "GETATTR"]]);
  },
);

serverTest(
  "EXCHANGE_ID, CREATE_SESSION and SEQUENCE+PUTROOTFH+GETFH+GETATTR on NFSv4.1 decode cleanly (RFC 8881 §18.35-18.46)",
  async (server) => {
    const capture = await startCapture(server.port);
    const transport = new RpcTransport({ host: server.host, port: server.port });
    const manager = new StateManager({
      channel: new RpcCompoundChannel(transport),
      minorVersion: 1,
      identity: { uid: 0, gid: 0, gids: [0], machineName: "wire-test" },
      owner: { id: `wire-test-${crypto.randomUUID()}`, verifier: newBootVerifier() },
      server: `${server.host}:${server.port}`,
    });
    try {
      await manager.start();
      const ops = [putrootfh(), getfh(), getattr(ATTRS)] as const;
      const [, fh, attrs] = await manager.run(() => ops);
      assert.ok(fh.length > 0);
      assert.equal(attrs.attrs.type, FileType.NF4DIR);
      await manager.shutdown();
    } finally {
      manager.abandon();
      await transport.close();
      await capture.stop();
    }
    const decoded = await decodeNfs(capture.file, server.port);
    assert.equal(decoded.malformed, 0);
    assert.equal(decoded.expertErrors, 0);
    const calls = decoded.frames.filter((f) => !f.isReply && f.ops.length > 0).map((f) => f.ops);
    assert.deepEqual(calls[0], ["EXCHANGE_ID"]);
    assert.deepEqual(calls[1], ["CREATE_SESSION"]);
    assert.ok(calls.some((ops) => ops.join(",") === "SEQUENCE,PUTROOTFH,GETFH,GETATTR"));
    assert.ok(calls.some((ops) => ops.join(",") === "SEQUENCE,RECLAIM_COMPLETE"));
    assert.deepEqual(calls.at(-2), ["DESTROY_SESSION"]);
    assert.deepEqual(calls.at(-1), ["DESTROY_CLIENTID"]);
  },
);
