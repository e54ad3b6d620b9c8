/**
 * OPEN_DOWNGRADE (RFC 7530 §16.19, RFC 8881 §18.18) against the scripted
 * server: one owner's opens of a file share one server open whose share is
 * the union of theirs (RFC 7530 §9.11), so when one of them closes and the
 * others hold less, the client narrows the open to what they hold, as the
 * kernel's nfs4_close_prepare does, instead of keeping the wider share until
 * the last CLOSE.
 */

import assert from "node:assert/strict";
import { ShareAccess, ShareDeny } from "../../lib/nfs4/constants.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { formatStateid, type Stateid } from "../../lib/nfs4/types.ts";
import type { CloseArgs } from "../../lib/nfs4/ops/close.ts";
import type { OpenArgs } from "../../lib/nfs4/ops/open.ts";
import type { OpenDowngradeArgs } from "../../lib/nfs4/ops/open_downgrade.ts";
import { closeFile, openFile } from "../../lib/state/files.ts";
import { drain, type Harness, harness } from "./_harness.ts";

const READ = ShareAccess.OPEN4_SHARE_ACCESS_READ;
const WRITE = ShareAccess.OPEN4_SHARE_ACCESS_WRITE;
const BOTH = ShareAccess.OPEN4_SHARE_ACCESS_BOTH;
const NONE = ShareDeny.OPEN4_SHARE_DENY_NONE;

/** The arguments of every `op` sent since the mark, in order. */
function argsOf<T>(h: Harness, op: string): T[] {
  return h.entries().flatMap((e) =>
    e.ops.flatMap((name, i) => name === op ? [e.args[i] as T] : [])
  );
}

/** `PUTFH,OPEN_DOWNGRADE` for `SEQUENCE,PUTFH,OPEN_DOWNGRADE`: 4.0 and 4.1 read alike. */
function bare(h: Harness): string[] {
  return h.ops().map((o) => o.replace(/^SEQUENCE,/, ""));
}

/** The server's open of /vfs/file (one per owner and file). */
function serverOpen(h: Harness) {
  const opens = h.server.opensOf("/vfs/file");
  assert.equal(opens.length, 1, "one open on the server");
  return opens[0]!;
}

/** The file opened for reading and writing, then for reading, by one owner: one state. */
async function bothThenRead(h: Harness) {
  const state = await h.open("file", BOTH);
  const again = await h.open("file", READ);
  assert.equal(again, state, "one open state, two users");
  assert.equal(state.users, 2);
  h.mark();
  return state;
}

function sameStateid(a: Stateid, b: Stateid): boolean {
  return formatStateid(a) === formatStateid(b);
}

for (const vers of [0, 1] as const) {
  const v = `NFSv4.${vers}`;
  const rfc = vers === 0 ? "RFC 7530 §16.19" : "RFC 8881 §18.18";
  const revoked = vers === 0 ? "RFC 7530 §9.8" : "RFC 8881 §8.2.4, TEST_STATEID";

  Deno.test(`${v}: the close of the read-write user while a read-only one remains sends OPEN_DOWNGRADE to read; another client's OPEN denying WRITE, refused before, is granted after (${rfc}, RFC 7530 §9.11)`, async () => {
    await using a = await harness(vers);
    await using b = await harness(vers, { server: a.server, ownerId: "client-b" });
    const state = await bothThenRead(a);
    const denyWrite = async () =>
      openFile(b.m, {
        dirFh: await b.vfs(),
        name: "file",
        path: "/vfs/file",
        access: READ,
        deny: ShareDeny.OPEN4_SHARE_DENY_WRITE,
      });
    await assert.rejects(
      denyWrite(),
      (e) => e instanceof NfsError && e.status === S.NFS4ERR_SHARE_DENIED,
    );
    await closeFile(a.m, state, { access: BOTH, deny: NONE });
    assert.deepEqual(bare(a), ["PUTFH,OPEN_DOWNGRADE"]);
    const [sent] = argsOf<OpenDowngradeArgs>(a, "OPEN_DOWNGRADE");
    assert.equal(sent!.shareAccess, READ);
    assert.equal(sent!.shareDeny, NONE);
    assert.equal(state.access, READ);
    assert.equal(state.users, 1);
    assert.equal(serverOpen(a).access, READ);
    assert.ok(
      a.details(["open"]).some((e) => e.startsWith("OPEN_DOWNGRADE (/vfs/file ")),
      a.details(["open"]).join("\n"),
    );
    const granted = await denyWrite();
    assert.equal(await a.readText(state), "hello, world\n");
    await closeFile(b.m, granted.state);
    await closeFile(a.m, state, { access: READ, deny: NONE });
    assert.equal(a.server.states.size, 0, "everything closed");
  });

  Deno.test(`${v}: OPEN_DOWNGRADE answered NFS4ERR_INVAL (RFC 7530 §16.19.4): the state keeps its wider access, the close succeeds, and the last CLOSE releases the open`, async () => {
    await using h = await harness(vers);
    const state = await bothThenRead(h);
    const stateid = formatStateid(state.stateid);
    h.server.failNext("OPEN_DOWNGRADE", S.NFS4ERR_INVAL);
    await closeFile(h.m, state, { access: BOTH, deny: NONE });
    assert.deepEqual(bare(h), ["PUTFH,OPEN_DOWNGRADE -> NFS4ERR_INVAL"]);
    assert.equal(state.access, BOTH, "the wider access kept");
    assert.equal(formatStateid(state.stateid), stateid);
    assert.equal(state.users, 1);
    assert.equal(serverOpen(h).access, BOTH);
    assert.ok(
      h.details(["open"]).some((e) =>
        e.startsWith("OPEN_DOWNGRADE -> NFS4ERR_INVAL (/vfs/file; keeps read+write")
      ),
      h.details(["open"]).join("\n"),
    );
    assert.equal(await h.readText(state), "hello, world\n");
    h.mark();
    await closeFile(h.m, state, { access: READ, deny: NONE });
    // On 4.0 the refused OPEN_DOWNGRADE used its seqid (RFC 7530 §9.1.7):
    // the CLOSE after it is in step.
    assert.deepEqual(bare(h), ["PUTFH,CLOSE"]);
    assert.equal(h.server.states.size, 0);
  });

  Deno.test(`${v}: OPEN_DOWNGRADE answered NFS4ERR_DELAY is sent again after the wait (${rfc}; RFC 8881 §15.1.1.3)`, async () => {
    await using h = await harness(vers);
    const state = await bothThenRead(h);
    h.server.failNext("OPEN_DOWNGRADE", S.NFS4ERR_DELAY);
    await h.drive(closeFile(h.m, state, { access: BOTH, deny: NONE }));
    assert.deepEqual(bare(h), ["PUTFH,OPEN_DOWNGRADE -> NFS4ERR_DELAY", "PUTFH,OPEN_DOWNGRADE"]);
    assert.equal(state.access, READ);
    assert.equal(serverOpen(h).access, READ);
  });

  Deno.test(`${v}: shutdown() while an OPEN_DOWNGRADE waits out NFS4ERR_DELAY: the release CLOSEs the open without waiting for it, and it is not sent again`, async () => {
    await using h = await harness(vers);
    const state = await bothThenRead(h);
    h.server.failNext("OPEN_DOWNGRADE", S.NFS4ERR_DELAY);
    const closing = closeFile(h.m, state, { access: BOTH, deny: NONE });
    for (let i = 0; i < 10; i++) await drain();
    assert.deepEqual(bare(h), ["PUTFH,OPEN_DOWNGRADE -> NFS4ERR_DELAY"]);
    const released = h.m.shutdown();
    let done = false;
    void released.then(() => done = true);
    for (let i = 0; i < 50 && !done; i++) await drain();
    assert.ok(done, "released before the DELAY wait ended");
    assert.equal(h.server.states.size, 0);
    await h.drive(closing);
    const sent = bare(h).filter((o) => !o.startsWith("DESTROY_"));
    assert.deepEqual(sent, ["PUTFH,OPEN_DOWNGRADE -> NFS4ERR_DELAY", "PUTFH,CLOSE"]);
    assert.ok(state.closed);
  });

  Deno.test(`${v}: an OPEN issued while an OPEN_DOWNGRADE is in flight waits for it, so the access it adds is not taken away (${rfc}: the downgrade replaces the open's share)`, async () => {
    await using h = await harness(vers);
    const state = await bothThenRead(h);
    h.channel.holdReplies("OPEN_DOWNGRADE");
    const closing = closeFile(h.m, state, { access: BOTH, deny: NONE });
    for (let i = 0; i < 10; i++) await drain();
    assert.equal(h.channel.heldReplies("OPEN_DOWNGRADE"), 1, bare(h).join("\n"));
    const opening = h.open("file", WRITE);
    for (let i = 0; i < 10; i++) await drain();
    assert.deepEqual(bare(h), ["PUTFH,OPEN_DOWNGRADE"], "the OPEN waits");
    h.channel.releaseReplies();
    await closing;
    const upgraded = await opening;
    assert.equal(upgraded, state);
    assert.deepEqual(bare(h), ["PUTFH,OPEN_DOWNGRADE", "PUTFH,OPEN,GETFH,GETATTR"]);
    assert.equal(state.access, BOTH);
    assert.equal(state.users, 2);
    assert.equal(serverOpen(h).access, BOTH, "the server's open has the new user's WRITE");
    // The stateid is the OPEN's, newer than the downgrade's.
    assert.equal(state.stateid.seqid, serverOpen(h).seqid);
  });

  Deno.test(`${v}: the last close after an OPEN_DOWNGRADE sends CLOSE with the stateid the downgrade returned (${rfc}, RFC 7530 §9.1.4)`, async () => {
    await using h = await harness(vers);
    const state = await bothThenRead(h);
    const opened = { ...state.stateid };
    await closeFile(h.m, state, { access: BOTH, deny: NONE });
    const downgraded = { ...state.stateid };
    assert.equal(downgraded.seqid, opened.seqid + 1, "the downgrade's stateid is the next");
    h.mark();
    await closeFile(h.m, state, { access: READ, deny: NONE });
    assert.deepEqual(bare(h), ["PUTFH,CLOSE"], "no OLD_STATEID to retry after");
    const [close] = argsOf<CloseArgs>(h, "CLOSE");
    assert.ok(sameStateid(close!.stateid, downgraded), formatStateid(close!.stateid));
    assert.equal(h.server.states.size, 0);
    assert.ok(state.closed);
  });

  Deno.test(`${v}: a reboot after an OPEN_DOWNGRADE reclaims the open with the narrowed access (OPEN CLAIM_PREVIOUS, RFC 7530 §9.6.2, RFC 8881 §8.4.2.1)`, async () => {
    await using h = await harness(vers);
    const state = await bothThenRead(h);
    await closeFile(h.m, state, { access: BOTH, deny: NONE });
    h.mark();
    h.server.reboot();
    assert.equal(await h.readText(state), "hello, world\n");
    const opens = argsOf<OpenArgs>(h, "OPEN");
    assert.equal(opens.length, 1, bare(h).join("\n"));
    assert.equal(opens[0]!.shareAccess & BOTH, READ);
    assert.equal(opens[0]!.shareDeny, NONE);
    assert.equal(serverOpen(h).access, READ);
    assert.equal(state.access, READ);
  });

  Deno.test(`${v}: an open revoked after an OPEN_DOWNGRADE is opened again without grace with the narrowed access (${revoked})`, async () => {
    await using h = await harness(vers);
    const state = await bothThenRead(h);
    await closeFile(h.m, state, { access: BOTH, deny: NONE });
    h.mark();
    h.server.revoke(state.stateid, S.NFS4ERR_ADMIN_REVOKED);
    assert.equal(await h.drive(h.readText(state)), "hello, world\n");
    const opens = argsOf<OpenArgs>(h, "OPEN");
    assert.equal(opens.length, 1, bare(h).join("\n"));
    assert.equal(opens[0]!.shareAccess & BOTH, READ);
    assert.equal(serverOpen(h).access, READ);
  });

  Deno.test(`${v}: OPEN_DOWNGRADE only once the union of the users left is narrower: not while another read-write user remains, nor after a close that does not say what it held (${rfc})`, async () => {
    await using h = await harness(vers);
    const state = await h.open("file", BOTH);
    await h.open("file", BOTH);
    await h.open("file", READ);
    await h.open("file", READ);
    h.mark();
    // The other read-write user remains: the union is what it was.
    await closeFile(h.m, state, { access: BOTH, deny: NONE });
    // Not said: the one that closed may have been the read-write user, or not.
    await closeFile(h.m, state);
    assert.deepEqual(bare(h), []);
    assert.equal(state.users, 2);
    assert.equal(state.access, BOTH);
    // The read-write user closes: read is all that is left.
    await closeFile(h.m, state, { access: BOTH, deny: NONE });
    assert.deepEqual(bare(h), ["PUTFH,OPEN_DOWNGRADE"]);
    assert.equal(state.access, READ);
    assert.equal(serverOpen(h).access, READ);
    await closeFile(h.m, state, { access: READ, deny: NONE });
    assert.deepEqual(bare(h), ["PUTFH,OPEN_DOWNGRADE", "PUTFH,CLOSE"]);
    assert.equal(h.server.states.size, 0);
  });
}

Deno.test("NFSv4.0: OPEN_DOWNGRADE carries the open owner's seqid and advances it, so the CLOSE after it is in step (RFC 7530 §9.1.7, §16.19)", async () => {
  await using h = await harness(0);
  const state = await bothThenRead(h);
  const seqid = state.owner.seqid;
  await closeFile(h.m, state, { access: BOTH, deny: NONE });
  const [sent] = argsOf<OpenDowngradeArgs>(h, "OPEN_DOWNGRADE");
  assert.equal(sent!.seqid, seqid);
  assert.equal(state.owner.seqid, seqid + 1);
  await closeFile(h.m, state, { access: READ, deny: NONE });
  const [close] = argsOf<CloseArgs>(h, "CLOSE");
  assert.equal(close!.seqid, seqid + 1);
  assert.deepEqual(h.ops(), ["PUTFH,OPEN_DOWNGRADE", "PUTFH,CLOSE"]);
  assert.equal(h.server.states.size, 0);
});

Deno.test("NFSv4.1 without a callback channel: OPEN asks for no delegation, OPEN_DOWNGRADE carries the share bits alone, no OPEN4_SHARE_ACCESS_WANT_* (RFC 8881 §18.18.3, §18.16.3)", async () => {
  await using h = await harness(1, { callback: { enabled: false } });
  const state = await bothThenRead(h);
  const opens = h.channel.log.flatMap((e) =>
    e.ops.flatMap((name, i) => name === "OPEN" ? [e.args[i] as OpenArgs] : [])
  );
  assert.deepEqual(
    opens.map((o) => o.shareAccess),
    [BOTH, READ].map((a) => a | ShareAccess.OPEN4_SHARE_ACCESS_WANT_NO_DELEG),
  );
  await closeFile(h.m, state, { access: BOTH, deny: NONE });
  assert.deepEqual(h.ops(), ["SEQUENCE,PUTFH,OPEN_DOWNGRADE"]);
  const [sent] = argsOf<OpenDowngradeArgs>(h, "OPEN_DOWNGRADE");
  assert.equal(sent!.shareAccess, READ);
  assert.equal(state.access, READ);
  assert.equal(serverOpen(h).access, READ);
});

Deno.test("NFSv4.1: OPEN_DOWNGRADE narrows the deny too: a read-only user denying nothing left after one that denied WRITE (RFC 8881 §18.18.3)", async () => {
  await using h = await harness(1);
  const dirFh = await h.vfs();
  const denying = await openFile(h.m, {
    dirFh,
    name: "file",
    path: "/vfs/file",
    access: BOTH,
    deny: ShareDeny.OPEN4_SHARE_DENY_WRITE,
  });
  const state = denying.state;
  assert.equal(await h.open("file", READ), state);
  assert.equal(state.deny, ShareDeny.OPEN4_SHARE_DENY_WRITE);
  h.mark();
  await closeFile(h.m, state, { access: BOTH, deny: ShareDeny.OPEN4_SHARE_DENY_WRITE });
  const [sent] = argsOf<OpenDowngradeArgs>(h, "OPEN_DOWNGRADE");
  assert.deepEqual([sent!.shareAccess, sent!.shareDeny], [READ, NONE]);
  assert.deepEqual([state.access, state.deny], [READ, NONE]);
  assert.deepEqual([serverOpen(h).access, serverOpen(h).deny], [READ, NONE]);
});

for (const vers of [0, 1] as const) {
  Deno.test(`v4.${vers}: the server restarts after running an OPEN_DOWNGRADE whose reply is lost: the reclaim re-opens with the narrowed share the users hold, not the wide one (RFC 7530 §9.11, §9.6.2; RFC 8881 §8.4.2.1)`, async () => {
    await using h = await harness(vers, { callTimeoutMs: 1000, recoveryTimeoutMs: 20000 });
    const state = await bothThenRead(h);
    h.channel.dropReplies("OPEN_DOWNGRADE");
    h.server.intercept("OPEN_DOWNGRADE", () => {
      queueMicrotask(() => h.server.reboot());
    });
    await h.drive(closeFile(h.m, state, { access: BOTH, deny: NONE }));
    await h.drive(h.m.waitForRecovery());
    const opens = h.server.opensOf("/vfs/file");
    assert.equal(opens.length, 1, bare(h).join("\n"));
    assert.equal(opens[0]!.access, READ, bare(h).join("\n"));
    assert.equal(state.access, READ);
    assert.equal(await h.drive(h.readText(state)), "hello, world\n");
    await h.drive(closeFile(h.m, state, { access: READ, deny: NONE }));
    assert.equal(h.server.states.size, 0, bare(h).join("\n"));
  });
}
