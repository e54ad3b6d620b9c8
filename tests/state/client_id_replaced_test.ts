/**
 * State of a client ID the server no longer has (audit C, items 1 and 2).
 *
 * After the lease expired (the server purged the client, as Ganesha 4.3's
 * reaper does) or the server restarted, recovery makes a new client ID.
 * What is left of the old one's state is gone from the server with it
 * (RFC 8881 §8.4.2, §8.4.3; RFC 7530 §9.6.2, §9.6.3): its releases
 * (CLOSE, LOCKU, DELEGRETURN, FREE_STATEID) are not sent; the state is
 * dropped locally, traced once with why. FREE_STATEID frees only stateids
 * of the current client (RFC 8881 §8.2.4, §18.38) and its NFS4ERR_EXPIRED
 * never starts a lease check. A recovery the server said was a lease expiry
 * (SEQUENCE NFS4ERR_EXPIRED) takes no reboot reclaim, and every state not
 * reclaimed is traced with its reason.
 */

import assert from "node:assert/strict";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { closeFile } from "../../lib/state/files.ts";
import type { OpenState } from "../../lib/state/open_state.ts";
import { type Harness, harness } from "./_harness.ts";

/** The ops sent since the first EXCHANGE_ID or SETCLIENTID of the mark on. */
function afterNewClientId(ops: readonly string[]): string[] {
  const at = ops.findIndex((o) => /^(EXCHANGE_ID|SETCLIENTID)\b/.test(o));
  assert.ok(at >= 0, `a new client ID was made: ${ops.join(" | ")}`);
  return ops.slice(at);
}

/** Any op among `names` in the COMPOUNDs `ops`. */
function sent(ops: readonly string[], ...names: string[]): string[] {
  return ops.filter((o) => o.split(/[ ,]/).some((n) => names.includes(n)));
}

/**
 * What the client ID holds as a scenario starts: /vfs/file open for
 * reading and writing, its bytes 0-9 write-locked.
 */
async function openAndLock(h: Harness): Promise<OpenState> {
  const file = await h.open("file", 3);
  await h.lock(file, { offset: 0n, length: 10n });
  return file;
}

/** From a new mark: the user's close of `file`, and the recovery it meets, to its end. */
async function closeThroughRecovery(h: Harness, file: OpenState): Promise<void> {
  h.mark();
  await h.drive(closeFile(h.m, file), 100);
  await h.drive(h.m.waitForRecovery(), 100);
}

Deno.test("4.1: a lock lost to a partition past the lease, then the client purged by the server: after the new client ID the file's close sends no LOCKU, CLOSE or FREE_STATEID of the old stateids, checks no lease, and traces each state dropped (RFC 8881 §8.4.3, §8.2.4, §18.38)", async () => {
  await using h = await harness(1, { leaseTime: 10 });
  const file = await openAndLock(h);
  const oldClientId = h.m.client.clientIdText;
  // A partition longer than the lease: the lock is lost by this client's clock.
  h.channel.dropReplies("SEQUENCE", { times: 10_000, beforeServer: true });
  h.channel.silent = true;
  await h.tick(10_500, 100);
  assert.ok(h.trace.some((e) => e.event === "lock lost"), "the lock is lost locally");
  // The server expired the client meanwhile and forgot it (Ganesha's reaper).
  h.server.purgeClient();
  h.channel.clearDrops();
  h.channel.silent = false;
  // The user's close (nfs4 lock: the holder ended).
  await closeThroughRecovery(h, file);
  const after = afterNewClientId(h.ops());
  assert.deepEqual(
    sent(after, "CLOSE", "LOCKU", "FREE_STATEID", "DELEGRETURN", "TEST_STATEID"),
    [],
    after.join(" | "),
  );
  // No lease check: nothing answered a stateid with NFS4ERR_EXPIRED.
  assert.ok(!h.steps().includes("+CHECK_LEASE"), h.steps().join("\n"));
  // The open was being closed when the server's loss of the client ID was
  // found: not re-made only to be closed. The lost lock is not reclaimed.
  const details = h.details(["open", "lock", "state"]);
  assert.ok(
    details.includes("not reclaimed (/vfs/file: being closed)"),
    details.join("\n"),
  );
  assert.ok(
    details.includes(
      "+RECLAIM_REBOOT (CREATE_SESSION -> NFS4ERR_STALE_CLIENTID; nothing to reclaim: 1 open(s) being closed)",
    ),
    details.join("\n"),
  );
  assert.ok(
    details.some((d) =>
      d.startsWith("dropped (/vfs/file write 0-9: ") &&
      d.includes(`its client ID ${oldClientId} was replaced after CREATE_SESSION -> `) &&
      d.endsWith("; no LOCKU sent)")
    ),
    details.join("\n"),
  );
  assert.ok(
    details.some((d) =>
      d.startsWith("dropped (/vfs/file ") &&
      d.includes(`its client ID ${oldClientId} was replaced`) && d.endsWith("; no CLOSE sent)")
    ),
    details.join("\n"),
  );
  assert.equal(h.m.opens.size, 0, "the open is forgotten");
});

Deno.test("4.1: SEQUENCE answered NFS4ERR_EXPIRED on a release is a lease expiry, not the release's answer: a new client ID, no RECLAIM_REBOOT (nothing is reclaimed in grace after an expiry), RECLAIM_COMPLETE all the same, and the LOCKU and CLOSE of the old client ID are dropped, not sent (RFC 8881 §8.4.3, §18.51.3)", async () => {
  await using h = await harness(1);
  const file = await openAndLock(h);
  // Ganesha 4.3 answers the first request after the lease expired
  // SEQUENCE NFS4ERR_EXPIRED, and has purged the client by the next.
  h.server.failNext("SEQUENCE", S.NFS4ERR_EXPIRED);
  h.server.purgeClient();
  await closeThroughRecovery(h, file);
  const ops = h.ops();
  assert.equal(ops[0], "SEQUENCE,PUTFH,LOCKU -> NFS4ERR_EXPIRED", ops.join(" | "));
  assert.deepEqual(afterNewClientId(ops), [
    "EXCHANGE_ID",
    "CREATE_SESSION",
    "SEQUENCE,PUTROOTFH,GETATTR",
    "SEQUENCE,RECLAIM_COMPLETE",
  ]);
  const steps = h.steps();
  assert.ok(!steps.includes("+RECLAIM_REBOOT"), steps.join("\n"));
  assert.ok(steps.includes("+LEASE_EXPIRED"), steps.join("\n"));
  assert.ok(!steps.includes("+CHECK_LEASE"), steps.join("\n"));
  const details = h.details(["state", "step", "open", "lock"]);
  assert.ok(
    details.includes(
      "+RECLAIM_NOGRACE (SEQUENCE -> NFS4ERR_EXPIRED; nothing to recover: 1 open(s) being closed)",
    ),
    details.join("\n"),
  );
  assert.ok(details.includes("not reclaimed (/vfs/file: being closed)"), details.join("\n"));
  assert.ok(
    details.includes(
      "RECLAIM_COMPLETE ok (new client ID after the lease expired: nothing reclaimed in grace)",
    ),
    details.join("\n"),
  );
  assert.ok(
    details.some((d) =>
      d.startsWith("dropped (/vfs/file write 0-9: its client ID ") &&
      d.includes("was replaced after SEQUENCE -> NFS4ERR_EXPIRED (the lease expired)")
    ),
    details.join("\n"),
  );
  assert.ok(details.some((d) => /^dropped \(\/vfs\/file .*; no CLOSE sent\)$/.test(d)));
  assert.equal(h.m.opens.size, 0);
});

Deno.test("4.1: a CLOSE that meets a server restart is not sent again with the old stateid after the new client ID: the open being closed is not reclaimed, and is dropped (RFC 8881 §8.4.2.1)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  h.server.reboot();
  await closeThroughRecovery(h, file);
  const after = afterNewClientId(h.ops());
  assert.deepEqual(sent(after, "CLOSE", "OPEN", "FREE_STATEID"), [], after.join(" | "));
  const details = h.details(["open", "state"]);
  assert.ok(details.includes("not reclaimed (/vfs/file: being closed)"), details.join("\n"));
  assert.ok(
    details.includes(
      "+RECLAIM_REBOOT (CREATE_SESSION -> NFS4ERR_STALE_CLIENTID; nothing to reclaim: 1 open(s) being closed)",
    ),
    details.join("\n"),
  );
  assert.ok(
    details.some((d) =>
      /^dropped \(\/vfs\/file \S+: its client ID 0x[0-9a-f]{16} was replaced after CREATE_SESSION -> NFS4ERR_STALE_CLIENTID \(the server no longer knew it\); no CLOSE sent\)$/
        .test(d)
    ),
    details.join("\n"),
  );
  assert.equal(h.m.opens.size, 0);
});

for (const minor of [0, 1] as const) {
  Deno.test(`4.${minor}: a lock lost to a partition is traced 'not reclaimed' with when and why when the server restarts; the open is reclaimed, the lock is not (RFC 7530 §9.6.3, RFC 8881 §8.4.3)`, async () => {
    await using h = await harness(minor, { leaseTime: 10 });
    const file = await openAndLock(h);
    h.m.keepLease(true);
    const renewal = minor === 1 ? "SEQUENCE" : "RENEW";
    h.channel.dropReplies(renewal, { times: 10_000, beforeServer: true });
    h.channel.silent = true;
    await h.tick(10_500, 100);
    h.server.reboot();
    h.channel.clearDrops();
    h.channel.silent = false;
    h.mark();
    assert.equal(await h.drive(h.readText(file), 100), "hello, world\n");
    await h.drive(h.m.waitForRecovery(), 100);
    const lock = h.details(["lock"]).find((d) => d.startsWith("not reclaimed"));
    assert.match(
      lock ?? h.details(["lock"]).join("\n"),
      /^not reclaimed \(\/vfs\/file write 0-9: lease ended at \d+\.\d{3} s, noticed at \d+\.\d{3} s \(lease ran out locally: no renewal answered for [0-9.]+ m?s with a 10 s lease; [^()]+\)\)$/,
    );
    assert.equal(h.server.locksOf("/vfs/file").length, 0, "the lost lock is not taken again");
    // Not counted among the opens to reclaim, which the open is.
    const reclaim = h.details(["state"]).find((d) => d.startsWith("+RECLAIM_REBOOT"));
    assert.match(reclaim ?? "", /; 1 open\(s\) to reclaim\)$/);
  });
}

Deno.test("4.1: FREE_STATEID answered NFS4ERR_EXPIRED is the answer: sent once, no lease check, not again for the same stateid (RFC 8881 §8.2.4, §18.38)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  // The open was revoked (its lease expired for it); the server answers
  // FREE_STATEID of it NFS4ERR_EXPIRED, as Ganesha 4.3 does.
  h.server.revoke(file.stateid, S.NFS4ERR_EXPIRED, { flag: false });
  h.server.failNext("FREE_STATEID", S.NFS4ERR_EXPIRED, { times: 20 });
  h.mark();
  await h.drive(closeFile(h.m, file), 100);
  assert.deepEqual(h.ops(), [
    "SEQUENCE,PUTFH,CLOSE -> NFS4ERR_EXPIRED",
    "SEQUENCE,FREE_STATEID -> NFS4ERR_EXPIRED",
  ]);
  assert.ok(!h.steps().includes("+CHECK_LEASE"), h.steps().join("\n"));
  assert.ok(
    h.details(["state"]).some((d) =>
      /^FREE_STATEID -> NFS4ERR_EXPIRED \(\S+; not freed\)$/.test(d)
    ),
    h.details(["state"]).join("\n"),
  );
});

Deno.test("4.1: a renewal sent on the session a lease expiry replaced, answered NFS4ERR_BADSESSION after the new session was made, does not reset the new session: it is sent again on it (RFC 8881 §2.10.6, §8.4.3)", async () => {
  await using h = await harness(1);
  const file = await h.open();
  // The renewal's request is slow to reach the server (latency on the
  // first request only); meanwhile the lease is found expired.
  let letThrough!: () => void;
  const gate = new Promise<void>((resolve) => (letThrough = resolve));
  let first = true;
  h.channel.latency = () => {
    if (!first) return Promise.resolve();
    first = false;
    return gate;
  };
  h.mark();
  const renewal = h.m.renewNow();
  h.server.failNext("SEQUENCE", S.NFS4ERR_EXPIRED);
  h.server.purgeClient();
  // A READ meets SEQUENCE NFS4ERR_EXPIRED: a new client ID and session,
  // the open re-made without grace, the READ sent again.
  assert.equal(await h.drive(h.readText(file), 50), "hello, world\n");
  const session = h.m.client.sessionIdText;
  h.mark();
  letThrough();
  assert.equal(await h.drive(renewal, 50), S.NFS4_OK);
  await h.drive(h.m.waitForRecovery(), 50);
  assert.deepEqual(h.ops(), ["SEQUENCE -> NFS4ERR_BADSESSION", "SEQUENCE"]);
  assert.ok(!h.steps().includes("+SESSION_RESET"), h.steps().join("\n"));
  assert.equal(h.m.client.sessionIdText, session, "the new session stands");
  assert.ok(
    h.details(["lease"]).includes(
      "SEQUENCE -> NFS4ERR_BADSESSION (lease probe: rtt 0.0 ms; sent on a session replaced since: again on the current one)",
    ),
    h.details(["lease"]).join("\n"),
  );
});

Deno.test("4.1: SEQUENCE NFS4ERR_EXPIRED, then EXCHANGE_ID gives the same client ID back (the server kept its record, RFC 8881 §18.35.4): its state is not dropped but released, and its old session is destroyed at exit, so DESTROY_CLIENTID is not refused NFS4ERR_CLIENTID_BUSY (§18.50.3)", async () => {
  await using h = await harness(1);
  const file = await openAndLock(h);
  const clientId = h.m.client.clientId;
  const oldSession = h.m.client.sessionIdText;
  // Expired by the server's word, but not forgotten (Ganesha 4.3 before
  // its reaper runs): every SEQUENCE is answered NFS4ERR_EXPIRED until the
  // client makes its client ID again, which revives the record.
  let expired = true;
  h.server.intercept("SEQUENCE", () => expired ? S.NFS4ERR_EXPIRED : undefined, {
    times: 1_000,
  });
  h.server.intercept("EXCHANGE_ID", () => {
    expired = false;
  });
  h.mark();
  await h.drive(closeFile(h.m, file), 100);
  await h.drive(h.m.shutdown(), 100);
  assert.equal(h.m.client.clientId, undefined);
  const ops = h.ops();
  assert.deepEqual(afterNewClientId(ops), [
    "EXCHANGE_ID",
    "CREATE_SESSION",
    "SEQUENCE,PUTROOTFH,GETATTR",
    "SEQUENCE,RECLAIM_COMPLETE -> NFS4ERR_COMPLETE_ALREADY",
    "SEQUENCE,PUTFH,LOCKU",
    "SEQUENCE,PUTFH,CLOSE",
    "DESTROY_SESSION",
    "DESTROY_SESSION",
    "DESTROY_CLIENTID",
  ]);
  assert.ok(
    h.details(["sess"]).includes(`DESTROY_SESSION ok (session ${oldSession})`),
    h.details(["sess"]).join("\n"),
  );
  assert.ok(h.trace.some((e) => e.data?.["clientid"] === clientId && e.event === "EXCHANGE_ID ok"));
  assert.deepEqual(h.m.notReleased, []);
  assert.ok(!h.events(["open", "lock"]).includes("dropped"));
});
