/**
 * An operation that gives up on the recovery its status called for names
 * both what started the recovery (its own status) and what defeated it (the
 * recovery step's failure), on one line (audit a7 F4).
 */
import assert from "node:assert/strict";
import { harness } from "./_harness.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";

Deno.test("4.1: a READ whose session reset meets CREATE_SESSION NFS4ERR_DELAY for ever fails naming both NFS4ERR_BADSESSION and CREATE_SESSION's NFS4ERR_DELAY, on one line (RFC 8881 §18.36.3, §15.1.1.3)", async () => {
  await using h = await harness(1);
  const file = await h.open("file");
  h.mark();
  h.channel.maxCompounds = 100_000;
  h.server.failNext("SEQUENCE", S.NFS4ERR_BADSESSION);
  h.server.failNext("CREATE_SESSION", S.NFS4ERR_DELAY, { times: 100_000 });
  let error: unknown;
  const read = h.readText(file).then(() => undefined, (e) => (error = e));
  for (let i = 0; i < 3000 && error === undefined; i++) await h.tick(100);
  await read;
  assert.ok(error instanceof NfsError, String(error));
  // Still the status that started it, for callers that look at it.
  assert.equal(error.status, S.NFS4ERR_BADSESSION);
  assert.match(
    error.message,
    /^SEQUENCE: Bad session \(NFS4ERR_BADSESSION\); recovery failed: SESSION_RESET: CREATE_SESSION kept answering NFS4ERR_DELAY \(\d+ times\)$/,
  );
  // The client layer's path keeps it.
  const named = error.withPath("/vfs/file");
  assert.match(
    named.message,
    /^\/vfs\/file: Bad session \(NFS4ERR_BADSESSION\); recovery failed: /,
  );
  h.server.clearFaults();
});
