/**
 * Replies to concurrent requests on one state may come back out of order:
 * the state keeps the stateid with the newest seqid, never an older one
 * (RFC 8881 §8.2.2, §9.10; the kernel's nfs4_stateid_is_newer).
 */

import assert from "node:assert/strict";
import type { CompoundCallOptions } from "../../lib/nfs4/channel.ts";
import type { CompoundReply, CompoundRequest } from "../../lib/nfs4/compound.ts";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import { getfh } from "../../lib/nfs4/ops/getfh.ts";
import { lookup } from "../../lib/nfs4/ops/lookup.ts";
import { putfh } from "../../lib/nfs4/ops/putfh.ts";
import { putrootfh } from "../../lib/nfs4/ops/putrootfh.ts";
import { read } from "../../lib/nfs4/ops/read.ts";
import { newerStateid, type Stateid } from "../../lib/nfs4/types.ts";
import { FakeClock } from "../../lib/state/clock.ts";
import { closeFile, openFile } from "../../lib/state/files.ts";
import { StateManager } from "../../lib/state/manager.ts";
import { Tracer } from "../../lib/state/trace.ts";
import { ScriptedChannel, ScriptedServer } from "./_scripted.ts";

const stateid = (seqid: number, other = 1): Stateid => ({
  seqid,
  other: new Uint8Array(12).fill(other),
});

Deno.test("newerStateid: the higher seqid of one state, modulo 2^32; another state's is taken as it is (RFC 8881 §8.2.2)", () => {
  assert.equal(newerStateid(undefined, stateid(3)).seqid, 3);
  assert.equal(newerStateid(stateid(2), stateid(3)).seqid, 3);
  assert.equal(newerStateid(stateid(3), stateid(2)).seqid, 3);
  assert.equal(newerStateid(stateid(0xffffffff), stateid(1)).seqid, 1);
  assert.equal(newerStateid(stateid(1), stateid(0xffffffff)).seqid, 1);
  assert.equal(newerStateid(stateid(5), stateid(2, 9)).seqid, 2);
});

/** The first OPEN is run at once, but its reply comes after the second's. */
class SecondOpenAnsweredFirst extends ScriptedChannel {
  armed = false;
  #releaseFirst: (() => void) | undefined;
  #firstHeld: Promise<void> | undefined;

  override async compound(
    request: CompoundRequest,
    options: CompoundCallOptions = {},
  ): Promise<CompoundReply> {
    if (!this.armed || !request.ops.some((op) => op.name === "OPEN")) {
      return super.compound(request, options);
    }
    if (!this.#firstHeld) {
      this.#firstHeld = new Promise((resolve) => (this.#releaseFirst = resolve));
      const reply = await super.compound(request, options);
      await this.#firstHeld;
      return reply;
    }
    const reply = await super.compound(request, options);
    setTimeout(() => this.#releaseFirst!(), 1);
    return reply;
  }
}

Deno.test("4.1: two OPENs of one file by one owner answered out of order: the open keeps the upgrade's newer stateid, so READ and CLOSE go through (RFC 8881 §9.10)", async () => {
  const clock = new FakeClock();
  const server = new ScriptedServer({ now: () => clock.now() });
  const channel = new SecondOpenAnsweredFirst(server);
  const m = new StateManager({
    channel,
    minorVersion: 1,
    identity: { uid: 1000, gid: 1000, gids: [], machineName: "test" },
    owner: { id: "test-client", verifier: new Uint8Array(8).fill(7) },
    server: "scripted",
    clock,
    tracer: new Tracer(() => clock.now(), () => {}),
  });
  try {
    await m.start();
    const [, , dirFh] = await m.run(() => [putrootfh(), lookup("vfs"), getfh()] as const);
    channel.armed = true;
    const request = {
      dirFh,
      name: "file",
      path: "/vfs/file",
      access: ShareAccess.OPEN4_SHARE_ACCESS_READ,
    };
    const [a, b] = await Promise.all([openFile(m, request), openFile(m, request)]);
    channel.armed = false;
    assert.equal(a.state, b.state);
    assert.equal(a.state.stateid.seqid, server.opensOf("/vfs/file")[0]!.seqid);
    const [, got] = await m.run(
      () =>
        [putfh(a.state.fh), read({ stateid: a.state.stateid, offset: 0n, count: 100 })] as const,
      { states: [a.state] },
    );
    assert.equal(new TextDecoder().decode(got.data), "hello, world\n");
    await closeFile(m, a.state);
    await closeFile(m, b.state);
    assert.equal(server.opensOf("/vfs/file").length, 0);
  } finally {
    m.abandon();
  }
});
