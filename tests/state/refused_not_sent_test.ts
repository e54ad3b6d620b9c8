/**
 * A try whose connection was refused sent nothing: the answer to the next
 * try is its first transmission's, not a resend's. RFC 7530 §9.1.9 (4.0:
 * a resend may be run again by a server whose duplicate request cache lost
 * it) and RFC 8881 §2.10.6.1 (4.1: a resend on a slot) concern requests the
 * server may have received; the state manager marks an answer that came
 * after more than one transmission as answering a resend
 * (NfsError.answeredResend, lib/state/exactly_once.ts), which makes callers
 * look an effect up rather than take the status at its word (an EXIST then
 * may be "made by our first try"). It counted every try, a refused one too
 * (a server restarting); now it counts what the channel wrote
 * (RpcAttempt.sends, as RpcTransport counts them).
 */

import assert from "node:assert/strict";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import type { CompoundReply, CompoundRequest } from "../../lib/nfs4/compound.ts";
import type { CompoundCallOptions } from "../../lib/nfs4/channel.ts";
import { putfh } from "../../lib/nfs4/ops/putfh.ts";
import { remove } from "../../lib/nfs4/ops/remove.ts";
import { RpcConnectionError } from "../../lib/rpc/errors.ts";
import { ScriptedChannel, type ScriptedServer } from "./_scripted.ts";
import { harness } from "./_harness.ts";

/** A channel whose next `refusals` COMPOUNDs holding `op` meet a refused connection: nothing written. */
class RefusingChannel extends ScriptedChannel {
  refusals = 0;
  op = "REMOVE";

  constructor(server: ScriptedServer) {
    super(server);
  }

  override compound(request: CompoundRequest, options: CompoundCallOptions = {}) {
    if (this.refusals > 0 && request.ops.some((o) => o.name === this.op)) {
      this.refusals--;
      return Promise.reject<CompoundReply>(
        new RpcConnectionError("connection refused by scripted:2049", {
          host: "scripted",
          port: 2049,
          code: "ECONNREFUSED",
        }),
      );
    }
    return super.compound(request, options);
  }
}

for (const minor of [0, 1] as const) {
  Deno.test(`4.${minor}: a REMOVE whose first try met a refused connection is answered NFS4ERR_NOENT as its first transmission's answer, not a resend's (RFC 7530 §9.1.9, RFC 8881 §2.10.6.1)`, async () => {
    let channel!: RefusingChannel;
    await using h = await harness(minor, {
      callTimeoutMs: 2_000,
      recoveryTimeoutMs: 8_000,
      channel: (server) => (channel = new RefusingChannel(server)),
    });
    const dir = await h.vfs();
    channel.refusals = 1;
    const failure = await h.drive(
      h.m.run(() => [putfh(dir), remove("no-such-file")] as const).then(
        () => assert.fail("removed"),
        (e: unknown) => e,
      ),
    );
    assert.ok(failure instanceof NfsError, String(failure));
    assert.equal(failure.status, S.NFS4ERR_NOENT);
    assert.equal(failure.answeredResend, false);
    assert.equal(channel.refusals, 0);
  });

  Deno.test(`4.${minor}: a REMOVE sent twice (its first reply lost) and answered NFS4ERR_NOENT is still marked as answering a resend (RFC 7530 §9.1.9, RFC 8881 §2.10.6.1)`, async () => {
    await using h = await harness(minor, { callTimeoutMs: 2_000, recoveryTimeoutMs: 8_000 });
    const dir = await h.vfs();
    h.channel.dropReplies("REMOVE");
    const failure = await h.drive(
      h.m.run(() => [putfh(dir), remove("no-such-file")] as const).then(
        () => assert.fail("removed"),
        (e: unknown) => e,
      ),
    );
    assert.ok(failure instanceof NfsError, String(failure));
    assert.equal(failure.status, S.NFS4ERR_NOENT);
    // On 4.1 the reply cache answers the resend with the first run's reply:
    // nothing unknown (RFC 8881 §2.10.6.1); on 4.0 it may have been run twice.
    assert.equal(failure.answeredResend, minor === 0);
  });
}
