/**
 * READ and WRITE against a stateid whose seqid moves on while they are in
 * flight: another handle's OPEN of the same file upgrades the one open the
 * owner has of it, and bumps its seqid (RFC 7530 §9.1.4.2, RFC 8881
 * §8.2.2). On NFSv4.1 READ and WRITE carry seqid 0, "the current seqid"
 * (RFC 8881 §8.2.2), so an upgrade cannot make them old; CLOSE keeps the
 * real seqid. On NFSv4.0 a READ or WRITE refused NFS4ERR_OLD_STATEID for a
 * stateid the client has since replaced is sent again with the new one,
 * not counted as a spin (the kernel's nfs4_read_stateid_changed); and the
 * resends are bounded: a server refusing the current stateid, or a stateid
 * that never stops moving, still ends in the status. Through the scripted
 * server over TCP; an upgrade is played by bumping the server's seqid and
 * the client's stateid as its OPEN reply would.
 */

import assert from "node:assert/strict";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import type { ReadArgs } from "../../lib/nfs4/ops/read.ts";
import type { WriteArgs } from "../../lib/nfs4/ops/write.ts";
import type { CloseArgs } from "../../lib/nfs4/ops/close.ts";
import type { SetattrArgs } from "../../lib/nfs4/ops/setattr.ts";
import type { Stateid } from "../../lib/nfs4/types.ts";
import type { NfsFile } from "../../lib/client/client.ts";
import type { ScriptedServer } from "./_scripted.ts";
import { withScriptedClient } from "../client/_scripted_client.ts";

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * An OPEN upgrade of `file`'s state while a call is in flight: the
 * server's seqid goes up, and so does the client's, as the OPEN's reply
 * would make it, after the server has seen the call.
 */
function upgradeUnder(server: ScriptedServer, file: NfsFile, sent: Stateid): void {
  const rec = server.states.get(hex(sent.other));
  assert.ok(rec, "the open is the server's");
  rec.seqid++;
  file.state.stateid = { seqid: rec.seqid, other: file.state.stateid.other };
}

/** The COMPOUNDs holding `op` the server saw, with that op's arguments. */
function argsOf<T>(server: ScriptedServer, op: string): { args: T; status: number }[] {
  return server.log.flatMap((e) => {
    const i = e.ops.indexOf(op);
    return i < 0 ? [] : [{ args: e.args[i] as T, status: e.statuses[i] ?? e.status }];
  });
}

Deno.test("4.0 READ refused NFS4ERR_OLD_STATEID 20 times, each for a stateid an OPEN upgrade replaced meanwhile, is sent again each time with the new one, not counted (RFC 7530 §9.1.4.2)", async () => {
  await withScriptedClient({}, "4.0", "old-stateid-read", async (client, server, events) => {
    const file = await client.open("/vfs/file", { access: "read" });
    const other = hex(file.state.stateid.other);
    server.intercept("READ", (args) => upgradeUnder(server, file, (args as ReadArgs).stateid), {
      times: 20,
    });
    const { data } = await file.read(0n, 100);
    assert.equal(new TextDecoder().decode(data), "hello, world\n");
    const reads = argsOf<ReadArgs>(server, "READ");
    assert.equal(reads.length, 21);
    // Each resend carried the seqid the refusal's upgrade made.
    const first = reads[0]!.args.stateid.seqid;
    assert.deepEqual(
      reads.map((r) => r.args.stateid.seqid),
      [...Array(21).keys()].map((i) => first + i),
    );
    const resends = events.filter((e) => e.startsWith("READ -> NFS4ERR_OLD_STATEID ("));
    assert.equal(resends.length, 20);
    assert.ok(
      resends[0]!.includes(
        `:${first} moved on to ${other}:${
          first + 1
        } while in flight: sending again with it (not counted)`,
      ),
      resends[0]!,
    );
    await file.close();
  });
});

Deno.test("4.0 WRITE refused NFS4ERR_OLD_STATEID for a replaced stateid is sent again with the new one; the refused ones wrote nothing (RFC 7530 §9.1.4.2, §15.2)", async () => {
  await withScriptedClient({}, "4.0", "old-stateid-write", async (client, server, events) => {
    const file = await client.open("/vfs/file", { access: "write" });
    server.intercept("WRITE", (args) => upgradeUnder(server, file, (args as WriteArgs).stateid), {
      times: 12,
    });
    await file.write(0n, new TextEncoder().encode("HELLO"), "file");
    const writes = argsOf<WriteArgs>(server, "WRITE");
    assert.equal(writes.length, 13);
    assert.deepEqual(writes.map((w) => w.status), [
      ...Array(12).fill(S.NFS4ERR_OLD_STATEID),
      S.NFS4_OK,
    ]);
    const node = server.root.children.get("vfs")!.children.get("file")!;
    assert.equal(new TextDecoder().decode(node.data), "HELLO, world\n");
    assert.equal(events.filter((e) => e.includes("(not counted)")).length, 12);
    await file.close();
  });
});

Deno.test("4.0 READ refused NFS4ERR_OLD_STATEID for the newest stateid the client holds ends in the status after 8 retries, each after a wait for a newer one (RFC 7530 §9.1.4.2)", async () => {
  await withScriptedClient({}, "4.0", "old-stateid-stuck", async (client, server, events) => {
    const file = await client.open("/vfs/file", { access: "read" });
    server.failNext("READ", S.NFS4ERR_OLD_STATEID, { times: 1_000 });
    const started = performance.now();
    await assert.rejects(
      file.read(0n, 100),
      (e) => e instanceof NfsError && e.status === S.NFS4ERR_OLD_STATEID,
    );
    const took = performance.now() - started;
    assert.equal(argsOf(server, "READ").length, 9);
    assert.equal(events.filter((e) => /is the newest held; none newer came in/.test(e)).length, 9);
    // Nine waits of 500 ms for a reply that never comes: bounded, not a spin.
    assert.ok(took >= 9 * 500 && took < 20_000, `took ${took} ms`);
    server.clearFaults();
    await file.close();
  });
});

Deno.test("4.0 READ whose stateid moves on at every try still ends in NFS4ERR_OLD_STATEID: 256 uncounted resends, then 8 counted retries (RFC 7530 §9.1.4.2)", async () => {
  await withScriptedClient({}, "4.0", "old-stateid-moving", async (client, server) => {
    const file = await client.open("/vfs/file", { access: "read" });
    server.intercept("READ", (args) => upgradeUnder(server, file, (args as ReadArgs).stateid), {
      times: 1_000_000,
    });
    await assert.rejects(
      file.read(0n, 100),
      (e) => e instanceof NfsError && e.status === S.NFS4ERR_OLD_STATEID,
    );
    assert.equal(argsOf(server, "READ").length, 256 + 9);
    server.clearFaults();
    await file.close().catch(() => {});
  });
});

Deno.test("4.1 READ and WRITE carry the open stateid with seqid 0, the current one, and CLOSE its real seqid (RFC 8881 §8.2.2)", async () => {
  await withScriptedClient({}, "4.1", "seqid-zero", async (client, server) => {
    const file = await client.open("/vfs/file", { access: "both" });
    const other = hex(file.state.stateid.other);
    // An OPEN upgrade while the READ and the WRITE are in flight makes no
    // difference to them: the server uses the current seqid.
    server.intercept("READ", (args) => upgradeUnder(server, file, (args as ReadArgs).stateid));
    server.intercept("WRITE", (args) => upgradeUnder(server, file, (args as WriteArgs).stateid));
    assert.equal(new TextDecoder().decode((await file.read(0n, 100)).data), "hello, world\n");
    await file.write(0n, new TextEncoder().encode("HELLO"), "file");
    await file.close();
    const io = [...argsOf<ReadArgs>(server, "READ"), ...argsOf<WriteArgs>(server, "WRITE")];
    assert.equal(io.length, 2, "each sent once");
    for (const { args, status } of io) {
      assert.equal(status, S.NFS4_OK);
      assert.equal(args.stateid.seqid, 0);
      assert.equal(hex(args.stateid.other), other);
    }
    const [close] = argsOf<CloseArgs>(server, "CLOSE");
    assert.equal(close?.args.stateid.seqid, 3, "CLOSE names the seqid the two upgrades left");
  });
});

Deno.test("4.1 SETATTR through an open file carries the open stateid with seqid 0, so an upgrade in flight does not make it old; 4.0 the real seqid (RFC 8881 §8.2.2, RFC 7530 §9.1.4)", async () => {
  for (const version of ["4.1", "4.0"] as const) {
    await withScriptedClient(
      {},
      version,
      `seqid-zero-setattr-${version}`,
      async (client, server) => {
        const file = await client.open("/vfs/file", { access: "both" });
        const other = hex(file.state.stateid.other);
        const real = file.state.stateid.seqid;
        if (version === "4.1") {
          server.intercept(
            "SETATTR",
            (args) => upgradeUnder(server, file, (args as SetattrArgs).stateid),
          );
        }
        await file.setattr({ size: 5n });
        await file.close();
        const setattrs = argsOf<SetattrArgs>(server, "SETATTR");
        assert.equal(setattrs.length, 1, "sent once");
        assert.equal(setattrs[0]!.status, S.NFS4_OK);
        assert.equal(hex(setattrs[0]!.args.stateid.other), other);
        assert.equal(setattrs[0]!.args.stateid.seqid, version === "4.1" ? 0 : real);
      },
    );
  }
});
