/**
 * A soft stop (lib/state/operation_scope.ts) beside a caller's own signal:
 * the state manager honours both. `lockWithWait` gives each LOCK the -w
 * deadline as its signal and runs it in the scope of a verb of `nfs4 shell`,
 * whose Ctrl-C must still end the state manager's waits (DELAY, GRACE) at
 * once. Before, a signal given with the call hid the scope's stop.
 */

import assert from "node:assert/strict";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { putfh } from "../../lib/nfs4/ops/putfh.ts";
import { read } from "../../lib/nfs4/ops/read.ts";
import { withAddedOperationSignal, withOperationSignal } from "../../lib/state/operation_scope.ts";
import { harness } from "./_harness.ts";
import { closeOpen } from "../../lib/state/procs.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";

for (const vers of [0, 1] as const) {
  Deno.test(`NFSv4.${vers}: a soft stop ends a DELAY wait (RFC 8881 §15.1.1.3) of a call given its own signal`, async () => {
    await using h = await harness(vers);
    const file = await h.open();
    h.mark();
    h.server.failNext("READ", S.NFS4ERR_DELAY, { times: 1000 });
    const verb = new AbortController();
    const own = new AbortController();
    const reading = withOperationSignal(verb.signal, () =>
      h.m.run(
        () => [putfh(file.fh), read({ stateid: file.stateid, offset: 0n, count: 64 })] as const,
        { states: [file], signal: own.signal },
      ));
    reading.catch(() => {});
    await h.tick(300, 50);
    const sent = h.ops().length;
    assert.ok(sent >= 2, `READs so far: ${sent}`);
    verb.abort(new Error("verb stopped"));
    // Stopped while waiting out DELAY: the status is the answer, the stop its cause.
    await assert.rejects(h.drive(reading, 50, 5_000), (e: unknown) => {
      assert.ok(e instanceof NfsError, String(e));
      assert.equal(e.status, S.NFS4ERR_DELAY);
      assert.equal((e.cause as Error).message, "verb stopped");
      return true;
    });
    assert.equal(h.ops().length, sent, "no READ after the stop");
  });
}

Deno.test("withAddedOperationSignal(): a command run as a shell verb stops at its own stop or the verb's", async () => {
  await using h = await harness(1);
  const file = await h.open();
  for (const which of ["verb", "command"] as const) {
    const verb = new AbortController();
    const command = new AbortController();
    h.server.failNext("READ", S.NFS4ERR_DELAY, { times: 1000 });
    const reading = withOperationSignal(
      verb.signal,
      () =>
        withAddedOperationSignal(command.signal, () =>
          h.m.run(
            () => [putfh(file.fh), read({ stateid: file.stateid, offset: 0n, count: 64 })] as const,
            { states: [file] },
          )),
    );
    reading.catch(() => {});
    await h.tick(300, 50);
    (which === "verb" ? verb : command).abort(new Error(`${which} stopped`));
    await assert.rejects(h.drive(reading, 50, 5_000), (e: unknown) => {
      assert.equal(((e as Error).cause as Error | undefined)?.message, `${which} stopped`);
      return true;
    });
    h.server.clearFaults();
  }
});

for (const vers of [0, 1] as const) {
  Deno.test(`NFSv4.${vers}: a soft stop leaves a READ in flight behind (its slot freed by its answer), never a state change (a shell's Ctrl-C to a server that stopped answering)`, async () => {
    await using h = await harness(vers);
    const file = await h.open();
    h.mark();
    const verb = new AbortController();
    h.channel.hold();
    const reading = withOperationSignal(verb.signal, () =>
      h.m.run(
        () => [putfh(file.fh), read({ stateid: file.stateid, offset: 0n, count: 64 })] as const,
        { states: [file] },
      ));
    reading.catch(() => {});
    const closing = withOperationSignal(verb.signal, () => closeOpen(h.m, file));
    closing.catch(() => {});
    await h.tick(300, 50);
    verb.abort(new Error("verb stopped"));
    // The READ changes nothing: its caller stops waiting at once.
    await assert.rejects(h.drive(reading, 50, 1_000), (e: unknown) => {
      assert.equal((e as Error).message, "verb stopped");
      return true;
    });
    // The CLOSE, sent, is answered (released) and its result kept.
    let closed = false;
    closing.then(() => closed = true, () => {});
    await h.tick(500, 50);
    assert.equal(closed, false, "a state change in flight is not abandoned");
    h.channel.release();
    await h.drive(closing, 50, 5_000);
    assert.equal(h.server.opensOf("/vfs/file").length, 0);
    // The READ left behind went on to its answer, which freed its slot: no
    // slot is left uncertain by a Ctrl-C (4.1).
    await h.tick(200, 50);
    const slots = h.m.client.session?.slots;
    if (slots) assert.equal(slots.uncertainCount, 0, "slots left uncertain");
    assert.ok(h.ops().filter((o) => o.includes("READ")).length === 1, h.ops().join("\n"));
  });
}
