/**
 * NFSv4.0: a READ refused NFS4ERR_OLD_STATEID for the newest stateid the
 * client holds waits briefly (500 ms at most) for the OPEN or LOCK reply on
 * its way that would move the stateid on (RFC 7530 §9.1.4.2; manager.ts
 * run(), case "retry"). Interrupted during that wait (Ctrl-C), the call ends
 * with the interrupt, as a wait for recovery does: the status is no answer
 * of the server's to the READ but a race with the client's own state, and
 * the user is told `interrupted` (exit 130), not NFS4ERR_OLD_STATEID.
 * Nothing is sent for it after the interrupt.
 */

import assert from "node:assert/strict";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { describeError, exitCodeFor } from "../../cli/errors.ts";
import { Interrupted } from "../../cli/context.ts";
import { harness } from "./_harness.ts";

Deno.test("NFSv4.0: Ctrl-C during the wait after a READ refused NFS4ERR_OLD_STATEID ends the READ with the interrupt, not the status (RFC 7530 §9.1.4.2, §15.2)", async () => {
  await using a = await harness(0);
  const file = await a.open("file");
  a.server.failNext("READ", S.NFS4ERR_OLD_STATEID, { times: 1_000 });
  a.mark();
  const reading = a.read(file);
  const outcome = reading.then(() => undefined, (e: unknown) => e);
  // Refused, and waiting for a newer stateid that never comes.
  await a.tick(100, 10);
  const readsBefore = a.ops().filter((o) => o.includes("READ")).length;
  assert.equal(readsBefore, 1, a.ops().join("\n"));
  const interrupt = new Interrupted("SIGINT");
  a.m.interrupt(interrupt);
  await a.tick(20, 10);
  const error = await outcome;
  assert.equal(error, interrupt, `ended with ${error}`);
  assert.equal(exitCodeFor(error), 130);
  assert.equal(describeError(error, false), "interrupted by SIGINT");
  assert.equal(a.ops().filter((o) => o.includes("READ")).length, 1, a.ops().join("\n"));
  a.server.clearFaults();
});
