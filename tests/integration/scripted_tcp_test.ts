/**
 * The scripted server's TCP wrapper itself (tests/_nfs4_server.ts): ONC RPC
 * over TCP as RFC 5531 has it (record marking §11, accept and reject
 * statuses §9), NFSv4 NULL and COMPOUND (RFC 7530 §16.1-16.2), AUTH_NONE
 * and AUTH_SYS only, and universal addresses (RFC 5665 §5.2.3.4).
 */

import assert from "node:assert/strict";
import { RpcTransport } from "../../lib/rpc/transport.ts";
import { RpcAcceptedError, RpcDeniedError } from "../../lib/rpc/errors.ts";
import { authSys } from "../../lib/rpc/auth.ts";
import { AUTH_ERROR, GARBAGE_ARGS, PROG_MISMATCH, PROG_UNAVAIL } from "../../lib/rpc/message.ts";
import { RpcCompoundChannel } from "../../lib/nfs4/channel.ts";
import { compoundResults } from "../../lib/nfs4/compound.ts";
import { NFS4_PROGRAM, NFSPROC4_COMPOUND } from "../../lib/nfs4/constants.ts";
import { getfh } from "../../lib/nfs4/ops/getfh.ts";
import { lookup } from "../../lib/nfs4/ops/lookup.ts";
import { putrootfh } from "../../lib/nfs4/ops/putrootfh.ts";
import { universalAddress } from "../../lib/state/procs.ts";
import { ScriptedServer } from "../state/_scripted.ts";
import { parseUniversalAddress, startScriptedNfsServer } from "../_nfs4_server.ts";

Deno.test("startScriptedNfsServer(): NULL and a COMPOUND over TCP with AUTH_SYS; other programs, versions and flavors refused; garbage is GARBAGE_ARGS (RFC 5531 §9)", async () => {
  const server = new ScriptedServer();
  const nfs = await startScriptedNfsServer(server);
  const transport = new RpcTransport({ host: nfs.host, port: nfs.port, callTimeoutMs: 5000 });
  try {
    const channel = new RpcCompoundChannel(transport);
    await channel.ping();
    const ops = [putrootfh(), lookup("vfs"), lookup("file"), getfh()] as const;
    const credential = authSys({ machineName: "t", uid: 1, gid: 1, gids: [] });
    const [, , , fh] = compoundResults(
      await channel.compound({ minorVersion: 0, ops }, { credential }),
      ops,
    );
    assert.deepEqual(fh, server.file("/vfs/file")!.fh);
    assert.deepEqual(server.log.at(-1)?.ops, ["PUTROOTFH", "LOOKUP", "LOOKUP", "GETFH"]);

    const refused = async (options: Parameters<RpcTransport["call"]>[0]) => {
      try {
        await transport.call(options);
      } catch (e) {
        return e;
      }
      assert.fail("the call succeeded");
    };
    const mount = await refused({ program: 100005, version: 3, procedure: 0 });
    assert.ok(mount instanceof RpcAcceptedError && mount.acceptStat === PROG_UNAVAIL);
    const v3 = await refused({ program: NFS4_PROGRAM, version: 3, procedure: 0 });
    assert.ok(v3 instanceof RpcAcceptedError && v3.acceptStat === PROG_MISMATCH);
    assert.deepEqual(v3.mismatch, { low: 4, high: 4 });
    const gss = await refused({
      program: NFS4_PROGRAM,
      version: 4,
      procedure: 0,
      credential: { flavor: 6, body: new Uint8Array(8) },
    });
    assert.ok(gss instanceof RpcDeniedError && gss.rejectStat === AUTH_ERROR);
    const garbage = await refused({
      program: NFS4_PROGRAM,
      version: 4,
      procedure: NFSPROC4_COMPOUND,
      args: (w) => void w.writeUint(0xffff_ffff),
    });
    assert.ok(garbage instanceof RpcAcceptedError && garbage.acceptStat === GARBAGE_ARGS);
    // Still serving after all that.
    await channel.ping();
    assert.equal(nfs.accepted, 1);
    assert.deepEqual(nfs.errors, []);
  } finally {
    await transport.close();
    await nfs.close();
  }
  assert.equal(nfs.openSockets, 0);
});

Deno.test("parseUniversalAddress() reads back what the client announces (RFC 5665 §5.2.3.4)", () => {
  for (const [host, port] of [["127.0.0.1", 2049], ["10.1.2.3", 65535], ["::1", 1]] as const) {
    assert.deepEqual(parseUniversalAddress(universalAddress(host, port).addr), { host, port });
  }
  assert.deepEqual(parseUniversalAddress("0.0.0.0.0.0"), { host: "0.0.0.0", port: 0 });
  assert.equal(parseUniversalAddress("1.2.3.4.256.1"), undefined);
  assert.equal(parseUniversalAddress("x"), undefined);
});
