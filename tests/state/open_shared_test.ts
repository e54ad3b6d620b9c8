/**
 * Shared opens (lib/state/files.ts openFile) against the scripted server:
 * an openFile() that knows the file's handle, asking for no more than this
 * owner's open of it holds, while that open denies some of its own access,
 * sends no OPEN (the server would check it against that deny, RFC 7530
 * §9.9, §16.16.5; RFC 8881 §9.7) and becomes one more user of the state,
 * with a GETATTR for the attributes. Not for a create, a truncate, an open
 * being released or given up by recovery, nor an upgrade, nor an open
 * whose deny meets none of its access; what the OPEN_DOWNGRADE of such a
 * state may ask for (OpenState sharesInUse).
 */

import assert from "node:assert/strict";
import { ShareAccess, ShareDeny } from "../../lib/nfs4/constants.ts";
import { getfh } from "../../lib/nfs4/ops/getfh.ts";
import { lookup } from "../../lib/nfs4/ops/lookup.ts";
import { putfh } from "../../lib/nfs4/ops/putfh.ts";
import type { OpenDowngradeArgs } from "../../lib/nfs4/ops/open_downgrade.ts";
import { closeFile, type OpenedFile, openFile, type OpenRequest } from "../../lib/state/files.ts";
import { OpenState, type ShareModes } from "../../lib/state/open_state.ts";
import { OpenOwner } from "../../lib/state/owners.ts";
import { drain, type Harness, harness } from "./_harness.ts";

const READ = ShareAccess.OPEN4_SHARE_ACCESS_READ;
const WRITE = ShareAccess.OPEN4_SHARE_ACCESS_WRITE;
const BOTH = ShareAccess.OPEN4_SHARE_ACCESS_BOTH;
const NONE = ShareDeny.OPEN4_SHARE_DENY_NONE;
const DENY_READ = ShareDeny.OPEN4_SHARE_DENY_READ;
const DENY_WRITE = ShareDeny.OPEN4_SHARE_DENY_WRITE;

/** `PUTFH,GETATTR` for `SEQUENCE,PUTFH,GETATTR`: 4.0 and 4.1 read alike. */
function bare(h: Harness): string[] {
  return h.ops().map((o) => o.replace(/^SEQUENCE,/, ""));
}

/** The COMPOUNDs since the mark that hold an OPEN. */
function opens(h: Harness): string[] {
  return bare(h).filter((o) => o.split(",").some((op) => op.split(" ")[0] === "OPEN"));
}

/** What a request adds to the share: `withoutFh` leaves the file's handle out. */
type More = Partial<OpenRequest> & { readonly withoutFh?: boolean };

/** openFile()'s request of /vfs/file for `share`, with the file's handle as a walk finds it. */
async function request(h: Harness, share: ShareModes, more: More = {}): Promise<OpenRequest> {
  const { withoutFh, ...rest } = more;
  const dirFh = await h.vfs();
  const [, , fh] = await h.m.run(() => [putfh(dirFh), lookup("file"), getfh()] as const);
  return {
    dirFh,
    name: "file",
    path: "/vfs/file",
    ...(withoutFh ? {} : { fh }),
    ...share,
    ...rest,
  };
}

const open = async (h: Harness, share: ShareModes, more: More = {}) =>
  await openFile(h.m, await request(h, share, more));

const sharedEvents = (h: Harness) =>
  h.events(["open"]).filter((e) => e === "OPEN not sent (shared)");

for (const vers of [0, 1] as const) {
  const v = `NFSv4.${vers}`;

  Deno.test(`${v}: openFile() with the file's handle, asking for read under this owner's read+write deny write, sends no OPEN: one more user of the state, attributes from a GETATTR`, async () => {
    await using h = await harness(vers);
    const first = await open(h, { access: BOTH, deny: DENY_WRITE });
    h.server.file("/vfs/file")!.data = new TextEncoder().encode("grown by another client\n");
    h.mark();
    const second = await open(h, { access: READ, deny: NONE });
    assert.deepEqual(bare(h).filter((o) => !o.endsWith("LOOKUP,GETFH")), ["PUTFH,GETATTR"]);
    assert.equal(second.state, first.state);
    assert.equal(second.result, undefined, "no OPEN, no OPEN result");
    assert.equal(second.state.users, 2);
    assert.equal(second.attrs.attrs.size, 24n, "the size as the server has it now");
    assert.deepEqual(sharedEvents(h), ["OPEN not sent (shared)"]);
    assert.equal(h.server.opensOf("/vfs/file").length, 1);

    // The first user closes: the second's share (read) was never an OPEN
    // the server saw, so no OPEN_DOWNGRADE may narrow to it (RFC 7530
    // §16.19.4): none is sent, the open keeps read+write deny write.
    h.mark();
    await closeFile(h.m, first.state, { access: BOTH, deny: DENY_WRITE });
    assert.deepEqual(bare(h), []);
    assert.equal(first.state.users, 1);
    assert.equal(await h.readText(second.state), "grown by another client\n");
    h.mark();
    await closeFile(h.m, second.state, { access: READ, deny: NONE });
    assert.deepEqual(bare(h), ["PUTFH,CLOSE"]);
    assert.equal(h.server.states.size, 0);
  });

  for (
    const [held, asked] of [
      [{ access: READ, deny: DENY_READ }, { access: READ, deny: NONE }],
      [{ access: BOTH, deny: DENY_WRITE }, { access: WRITE, deny: NONE }],
      [{ access: BOTH, deny: DENY_WRITE }, { access: READ, deny: DENY_WRITE }],
      [{ access: BOTH, deny: DENY_WRITE }, { access: BOTH, deny: DENY_WRITE }],
    ] as const
  ) {
    Deno.test(`${v}: openFile() asking for access ${asked.access} deny ${asked.deny} under access ${held.access} deny ${held.deny} is a shared open`, async () => {
      await using h = await harness(vers);
      const first = await open(h, held);
      h.mark();
      const second = await open(h, asked);
      assert.deepEqual(opens(h), []);
      assert.equal(second.state, first.state);
      assert.equal(first.state.users, 2);
    });
  }

  for (
    const [what, more] of [
      ["a create (UNCHECKED4)", { create: { mode: "unchecked" } }],
      ["a truncate", { truncate: true }],
      ["a caller that does not know the file's handle", { withoutFh: true }],
    ] as const
  ) {
    Deno.test(`${v}: openFile() of ${what} sends the OPEN under an open that would take it`, async () => {
      await using h = await harness(vers);
      const first = await open(h, { access: BOTH, deny: DENY_WRITE });
      h.mark();
      const second = await open(h, { access: READ, deny: NONE }, more);
      assert.equal(opens(h).length, 1, bare(h).join("\n"));
      assert.deepEqual(sharedEvents(h), []);
      // The scripted server lets an owner's OPEN past its own deny (Ganesha
      // does not): the upgrade joins the state.
      assert.equal(second.state, first.state);
      assert.ok(second.result !== undefined);
    });
  }

  Deno.test(`${v}: openFile() asking for more than the open holds (write under read deny write) sends the OPEN: an upgrade`, async () => {
    await using h = await harness(vers);
    const first = await open(h, { access: READ, deny: DENY_WRITE });
    h.mark();
    const second = await open(h, { access: WRITE, deny: NONE });
    assert.equal(opens(h).length, 1, bare(h).join("\n"));
    assert.deepEqual(sharedEvents(h), []);
    assert.equal(second.state, first.state);
    assert.equal(first.state.access, BOTH);
  });

  Deno.test(`${v}: openFile() under an open whose deny meets none of its access (read deny write, then read) sends the OPEN, so its share is one a later OPEN_DOWNGRADE may narrow to`, async () => {
    await using h = await harness(vers);
    const first = await open(h, { access: READ, deny: DENY_WRITE });
    h.mark();
    const second = await open(h, { access: READ, deny: NONE });
    assert.equal(opens(h).length, 1, bare(h).join("\n"));
    assert.equal(second.state, first.state);
    h.mark();
    await closeFile(h.m, first.state, { access: READ, deny: DENY_WRITE });
    assert.deepEqual(bare(h), ["PUTFH,OPEN_DOWNGRADE"]);
    assert.equal(first.state.deny, NONE);
  });

  Deno.test(`${v}: openFile() under an open that recovery gave up (BadStateError) sends the OPEN and opens afresh`, async () => {
    await using h = await harness(vers);
    const first = await open(h, { access: BOTH, deny: DENY_WRITE });
    first.state.bad = "lost in a test";
    h.mark();
    const second = await open(h, { access: READ, deny: NONE });
    assert.equal(opens(h).length, 1, bare(h).join("\n"));
    assert.deepEqual(sharedEvents(h), []);
    assert.notEqual(second.state, first.state);
    assert.equal(second.state.bad, undefined);
  });

  Deno.test(`${v}: openFile() while an OPEN_DOWNGRADE of the open is on its way waits for it and decides on what it left: an OPEN, the open no longer denying its own access`, async () => {
    await using h = await harness(vers);
    const wide = await open(h, { access: BOTH, deny: DENY_WRITE });
    // A second user by OPEN (no handle given): the scripted server lets it past the deny.
    const narrow = await open(h, { access: READ, deny: NONE }, { withoutFh: true });
    assert.equal(narrow.state, wide.state);
    h.channel.holdReplies("OPEN_DOWNGRADE");
    const closing = closeFile(h.m, wide.state, { access: BOTH, deny: DENY_WRITE });
    for (let i = 0; i < 5; i++) await drain();
    assert.equal(h.channel.heldReplies("OPEN_DOWNGRADE"), 1);
    h.mark();
    let settled = false;
    const opening = open(h, { access: READ, deny: NONE }).finally(() => (settled = true));
    for (let i = 0; i < 5; i++) await drain();
    assert.equal(settled, false, "waits for the release");
    assert.deepEqual(opens(h), []);
    h.channel.releaseReplies("OPEN_DOWNGRADE");
    await closing;
    const third = await opening;
    assert.equal(wide.state.access, READ);
    assert.equal(wide.state.deny, NONE);
    assert.equal(opens(h).length, 1, bare(h).join("\n"));
    assert.deepEqual(sharedEvents(h), []);
    assert.equal(third.state, wide.state);
    assert.equal(wide.state.users, 2);
  });

  Deno.test(`${v}: openFile() while the open's CLOSE is on its way waits for it and opens afresh`, async () => {
    await using h = await harness(vers);
    const first = await open(h, { access: BOTH, deny: DENY_WRITE });
    h.channel.holdReplies("CLOSE");
    const closing = closeFile(h.m, first.state, { access: BOTH, deny: DENY_WRITE });
    for (let i = 0; i < 5; i++) await drain();
    h.mark();
    const opening = open(h, { access: READ, deny: NONE });
    for (let i = 0; i < 5; i++) await drain();
    h.channel.releaseReplies("CLOSE");
    await closing;
    const second = await opening;
    assert.equal(first.state.closed, true);
    assert.notEqual(second.state, first.state);
    assert.equal(opens(h).length, 1, bare(h).join("\n"));
    assert.deepEqual(sharedEvents(h), []);
  });

  Deno.test(`${v}: two openFile()s of the file at once, the second with its handle: it waits for the first's OPEN and shares the open it made`, async () => {
    await using h = await harness(vers);
    const req = await request(h, { access: BOTH, deny: DENY_WRITE });
    h.mark();
    const [first, second] = await Promise.all([
      openFile(h.m, req),
      openFile(h.m, { ...req, access: READ, deny: NONE }),
    ]) as [OpenedFile, OpenedFile];
    assert.equal(opens(h).length, 1, bare(h).join("\n"));
    assert.equal(second.state, first.state);
    assert.equal(first.state.users, 2);
    assert.deepEqual(sharedEvents(h), ["OPEN not sent (shared)"]);
  });

  Deno.test(`${v}: the OPEN_DOWNGRADE after a shared open's user leaves asks for what OPENs asked for (RFC 7530 §16.19.4)`, async () => {
    await using h = await harness(vers);
    // OPENs: read deny write, then read+write deny write (an upgrade).
    const reader = await open(h, { access: READ, deny: DENY_WRITE });
    const both = await open(h, { access: BOTH, deny: DENY_WRITE });
    // Shared: read+write deny write denies its own write.
    const shared = await open(h, { access: WRITE, deny: NONE });
    assert.equal(shared.state, reader.state);
    assert.equal(both.state, reader.state);
    h.mark();
    // Left: read deny write (an OPEN's) and write (shared): the narrowest
    // share both rules allow is read+write deny write; nothing to send.
    await closeFile(h.m, both.state, { access: BOTH, deny: DENY_WRITE });
    assert.deepEqual(bare(h), []);
    // Left: read deny write, an OPEN's own share.
    await closeFile(h.m, shared.state, { access: WRITE, deny: NONE });
    assert.deepEqual(bare(h), ["PUTFH,OPEN_DOWNGRADE"]);
    const sent = h.entries().flatMap((e) =>
      e.ops.flatMap((op, i) => op === "OPEN_DOWNGRADE" ? [e.args[i] as OpenDowngradeArgs] : [])
    );
    assert.equal(sent[0]!.shareAccess, READ);
    assert.equal(sent[0]!.shareDeny, DENY_WRITE);
  });
}

Deno.test("OpenState.sharesInUse(): a re-opened state (a new stateid other) has seen one OPEN, of what it holds", () => {
  const other = (n: number) => new Uint8Array(12).fill(n);
  const state = new OpenState({
    owner: new OpenOwner(1000, "t"),
    fh: new Uint8Array([1]),
    path: "/vfs/file",
    stateid: { seqid: 1, other: other(1) },
    access: BOTH,
    deny: NONE,
  });
  state.noteOpened({ access: READ, deny: NONE });
  state.addUser({ access: READ, deny: NONE });
  state.dropUser({ access: BOTH, deny: NONE });
  assert.deepEqual(state.sharesInUse(), { access: READ, deny: NONE });
  // Reclaimed: the server's open is a new one, opened read+write once.
  state.stateid = { seqid: 1, other: other(2) };
  assert.deepEqual(state.sharesInUse(), { access: BOTH, deny: NONE });
});

Deno.test("OpenState.sharesInUse(): an access only a union of OPENs made is not asked for (Ganesha and knfsd check values)", () => {
  const state = new OpenState({
    owner: new OpenOwner(1000, "t"),
    fh: new Uint8Array([1]),
    path: "/vfs/file",
    stateid: { seqid: 1, other: new Uint8Array(12) },
    access: READ,
    deny: NONE,
  });
  state.access = BOTH;
  state.deny = DENY_WRITE;
  state.noteOpened({ access: WRITE, deny: NONE });
  state.addUser({ access: WRITE, deny: NONE });
  state.noteOpened({ access: READ, deny: DENY_WRITE });
  state.addUser({ access: READ, deny: DENY_WRITE });
  // Users: read, write, read deny write. The one denying write leaves:
  // read+write would be the union of two OPENs, but no OPEN asked for it.
  state.dropUser({ access: READ, deny: DENY_WRITE });
  assert.deepEqual(state.sharesInUse(), { access: BOTH, deny: DENY_WRITE });
});
